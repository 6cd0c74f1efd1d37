"""The dossier's derived views: built once per evaluation, handed to rules, the dossier untouched."""

from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from cmcflex import views as views_module
from cmcflex.api import build_report
from cmcflex.authoring.plan import build_plan
from cmcflex.dossier.loader import load_dossier
from cmcflex.views import DossierViews

SAMPLE = Path(__file__).resolve().parents[1] / "sample_dossiers" / "cart-phase2"
AS_OF = dt.date(2026, 12, 1)


def test_the_loaded_dossier_is_immutable() -> None:
    d = load_dossier(SAMPLE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.lots = None  # type: ignore[misc]
    assert not hasattr(d, "cache")


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = views_module.build_spec_index

    def counted(dossier):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(dossier)

    monkeypatch.setattr(views_module, "build_spec_index", counted)
    return calls


def test_a_view_is_built_once_per_evaluation_and_shared_by_every_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counting(monkeypatch)
    d = load_dossier(SAMPLE)
    build_report(d, as_of=AS_OF)
    assert calls == [1]  # read by SPEC, PPQ, STAB, CMP rules and the chart series
    build_report(d, as_of=AS_OF)
    assert calls == [1, 1]  # a new evaluation builds its own views


def test_a_plan_shares_one_set_of_views_across_its_milestones(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counting(monkeypatch)
    plan = build_plan(load_dossier(SAMPLE), as_of=AS_OF)
    assert len(plan.milestones) >= 2 and calls == [1]


def test_views_belong_to_the_dossier_they_were_built_from() -> None:
    d, other = load_dossier(SAMPLE), load_dossier(SAMPLE)
    with pytest.raises(AssertionError):
        build_report(d, as_of=AS_OF, views=DossierViews(other))


def test_the_ppq_summary_is_typed_and_fills_the_report_digest() -> None:
    d = load_dossier(SAMPLE)
    views = DossierViews(d)
    report = build_report(d, as_of=AS_OF, views=views)
    summary = views.ppq_summary
    assert summary is not None and report.summaries["ppq"] == summary._asdict()
    assert list(report.summaries["ppq"]) == ["protocol", "lots_planned", "lots_executed", "lots_passing",
                                             "concurrent_release", "justification", "report_status",
                                             "report_conclusion"]


def test_the_views_module_loads_no_rule_or_report_module() -> None:
    """Views sit between loading and the rules: the rule modules that compute them load on first use."""
    code = ("import sys, cmcflex.views; "
            "print([m for m in sys.modules if m.startswith(('cmcflex.rules', 'cmcflex.report'))])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "[]"
