"""A small dossier with gaps, a waiver, an expired and an unused waiver, and numeric lot data;
and a few test rules (in their own registry) that report on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from cmcflex.dossier.loader import Dossier, Location
from cmcflex.rules.base import MA, MI, Area, B, Context, Gap, I, NotEvaluated, Registry, by_phase, rule
from tests.helpers import base_dossier_yaml, lot_rows, write_dossier

HOSTILE = '<script>alert("x")</script> & </testcase> ]]> \x1b[31m'


def sample_files(product: str = "CAR-T <one> & \"two\"") -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for i, (viability, endotoxin) in enumerate([(82.0, "<0.5"), (91.5, "1.2"), (64.0, "0.8")]):
        rows += lot_rows(f"L-10{i}", "phase_2", {"viability": viability, "endotoxin": endotoxin,
                                                  "sterility": "No growth"})
    return {
        "dossier.yaml": base_dossier_yaml(product={"name": product, "modality": "car_t_autologous"}),
        "specifications.yaml": {"specifications": [{"material": "drug_product", "tests": [
            {"attribute": "viability", "unit": "%", "criterion": ">= 70"},
            {"attribute": "endotoxin", "unit": "EU/mL", "criterion": "<= 5.0 EU/mL"},
            {"attribute": "sterility", "criterion": "No growth"},
        ]}]},
        "lots.csv": rows,
        "waivers.yaml": {"waivers": [
            {"rule": "GMP-002", "justification": f"Agreed at Type B meeting {HOSTILE}",
             "approved_by": "Head of RA", "expires": "2027-01-31"},
            {"rule": "GMP-003", "justification": "Old agreement", "expires": "2026-01-01"},
            {"rule": "STAB-001", "scope": "change CHG-999", "justification": "Nothing matches"},
        ]},
    }


def sample_dossier(root: Path, **kwargs: Any) -> Path:
    return write_dossier(root, sample_files(**kwargs))


# ---------------------------------------------------------------------------- rules for tests

RULES = Registry()


@rule(id="GMP-002", slug="t-quality-unit", title="Quality unit", area=Area.GMP,
      severity=by_phase(B, B, B, B, B), cites=("21 CFR 211.22",), remedy="Name the quality unit.",
      why="Test rule.", registry=RULES)
def _t_quality(d: Dossier, ctx: Context) -> Iterator[Gap]:
    yield Gap(f"Site SITE-A of {d.info.product.name} has no quality unit.", Location("dossier.yaml", 5),
              record="site SITE-A")


@rule(id="GMP-003", slug="t-procedures", title="Written procedures", area=Area.GMP,
      severity=by_phase(B, MA, B, B, B), cites=("21 CFR 211.100",), remedy="Write procedures.",
      why="Test rule.", registry=RULES)
def _t_procedures(d: Dossier, ctx: Context) -> Iterator[Gap]:
    yield Gap("No batch records are listed.", Location("dossier.yaml", 2), record="control batch_records")


@rule(id="SPEC-005", slug="t-limits", title="Limits within lots", area=Area.SPEC,
      severity=by_phase(MI, MI, MA, MA, MA), cites=("ICH Q6B",), remedy="Investigate the lot.",
      why="Test rule.", grading="A trend note is info.", registry=RULES)
def _t_limits(d: Dossier, ctx: Context) -> Iterator[Gap]:
    yield Gap("Lot L-102 viability 64 % is below the limit >= 70 %.", Location("lots.csv", 8), record="lot L-102")
    yield Gap("Note on endotoxin trend.", Location("specifications.yaml", 6), severity=I,
              record="test drug_product/endotoxin")


@rule(id="STAB-001", slug="t-stability", title="Stability data", area=Area.STAB,
      severity=by_phase(MI, MI, MA, B, B), cites=("ICH Q5C",), remedy="Add stability data.",
      why="Test rule.", registry=RULES)
def _t_stability(d: Dossier, ctx: Context) -> Iterator[NotEvaluated]:
    yield NotEvaluated("stability.csv is absent")


@rule(id="PPQ-001", slug="t-ppq", title="PPQ protocol", area=Area.PPQ,
      severity=by_phase(None, None, MI, B, B), cites=("FDA PV guidance (2011)",), remedy="Write one.",
      why="Test rule.", registry=RULES)
def _t_ppq(d: Dossier, ctx: Context) -> Iterator[Gap]:
    return iter(())


class RulesRunner(CliRunner):
    """A CliRunner whose commands run the test rules above: the registry is passed in as the
    command's ``obj`` (see cmcflex.cli._registry), the global one is left alone."""

    def invoke(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs.setdefault("obj", RULES)
        return super().invoke(*args, **kwargs)
