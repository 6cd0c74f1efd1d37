"""Helpers for tests: write small dossiers, run the rules, pick one rule's findings."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from cmcflex.api import build_report
from cmcflex.dossier.loader import load_dossier
from cmcflex.phases import Phase
from cmcflex.report.model import Finding, Report

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
AS_OF = dt.date(2026, 11, 25)

LOT_COLUMNS = [
    "lot_id", "material", "use", "process_version", "site", "manufacture_date",
    "starting_material", "attribute", "value", "unit", "method", "disposition",
]


def base_dossier_yaml(**overrides: Any) -> dict[str, Any]:
    """A minimal valid dossier.yaml as data; keyword arguments replace top-level keys."""
    data: dict[str, Any] = {
        "cmcflex": 1,
        "product": {"name": "TEST-1", "modality": "car_t_autologous"},
        "phase": "phase_2",
        "sites": [{"id": "SITE-A", "name": "Test site", "roles": ["drug_product", "testing"],
                   "gmp_regime": "part_211", "commercial": True}],
    }
    data.update(overrides)
    return data


def write_dossier(root: Path, files: dict[str, Any]) -> Path:
    """Write a dossier: YAML files from data, CSV files from lists of row dicts, text as is."""
    root.mkdir(parents=True, exist_ok=True)
    files = dict(files)
    files.setdefault("dossier.yaml", base_dossier_yaml())
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            continue
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        elif name.endswith(".csv"):
            rows = list(content)
            columns = LOT_COLUMNS if name.startswith("lots") else list(rows[0]) if rows else LOT_COLUMNS
            for row in rows:
                for key in row:
                    if key not in columns:
                        columns = columns + [key]
            with path.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=columns)
                writer.writeheader()
                for row in rows:
                    writer.writerow(row)
        else:
            path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
    return root


def lot_rows(lot_id: str, use: str, attributes: dict[str, Any], **lot: Any) -> list[dict[str, Any]]:
    """lots.csv rows of one lot: one per attribute, lot-level columns repeated."""
    base = {"material": "drug_product", "process_version": "v1", "site": "SITE-A",
            "manufacture_date": "2025-06-01", "starting_material": "patient",
            "disposition": "released"}
    base.update(lot)
    return [{"lot_id": lot_id, "use": use, "attribute": a, "value": v, **base} for a, v in attributes.items()]


def report_for(path: Path, phase: str | None = None, target: str | None = None,
               as_of: dt.date = AS_OF) -> Report:
    dossier = load_dossier(path)
    return build_report(dossier, phase=Phase(phase) if phase else None,
                        target=Phase(target) if target else None, as_of=as_of)


def findings_for(path: Path, rule_id: str, phase: str | None = None, target: str | None = None,
                 as_of: dt.date = AS_OF) -> list[Finding]:
    """The open findings of one rule on the dossier at ``path``."""
    report = report_for(path, phase=phase, target=target, as_of=as_of)
    return [f for f in report.findings if f.rule == rule_id]


def not_evaluated_for(path: Path, rule_id: str, phase: str | None = None, as_of: dt.date = AS_OF) -> list[str]:
    report = report_for(path, phase=phase, as_of=as_of)
    return [n.reason for n in report.not_evaluated if n.rule == rule_id]



def reference_folder(folder: Path, environ: Mapping[str, str]) -> Path:
    """``folder`` when it exists; else skip the test, or fail it under ``CI=true``, where the
    reference material must be present and a skip would hide the tests that need it."""
    if not folder.is_dir():
        if environ.get("CI", "").strip().lower() == "true":
            pytest.fail(f"CI=true but the reference material is missing: no folder {folder}")
        pytest.skip("../shared is not present (fresh clone); reference-material tests skipped")
    return folder
