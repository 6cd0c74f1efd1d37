"""The `method` column tells results of a replaced method apart (docs/dossier-format.md, lots.csv and
stability.csv): where a lot has rows by its specification test's method, its rows by another method
are another test's results, and no judgement or calculation counts them for that test (SPEC-006,
SPEC-009, the PPQ lots' failures, CMP-004); a stability point naming another method than its test's
is not judged by STAB-005."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cmcflex.dossier.loader import load_dossier
from cmcflex.rules.common import out_of_spec
from cmcflex.views import DossierViews
from tests.helpers import findings_for, lot_rows, not_evaluated_for
from tests.rules import test_specifications
from tests.rules.test_comparability import POST_OK, PRE, change, lots
from tests.rules.test_specifications import base_lots, base_methods, base_tests, with_test

make = test_specifications.make  # the SPEC tests' complete CAR T dossier (phase 3 by default)

NEW, OLD = "QC-POT-02", "QC-POT-01"  # the potency assay today, and the one it replaced
POTENCY_TEST = {"unit": "pg/mL", "method": NEW, "criterion": ">= 1000 pg/mL"}
PIVOTAL = [("W17-0317", 85, 1350), ("W17-0318", 88, 1420), ("W17-0319", 90, 1480)]


def _by_method(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every row by its test's method (potency by the new assay)."""
    return [{**r, "method": r.get("method") or (NEW if r["attribute"] == "potency" else f"M-{r['attribute'].upper()}")}
            for r in rows]


def _old_assay(lot_id: str, value: Any) -> list[dict[str, Any]]:
    """One more potency row of a pivotal lot, measured by the replaced assay."""
    return lot_rows(lot_id, "phase_3", {"potency": value}, method=OLD, unit="pg/mL")


def _potency_dossier(make: Callable[..., Path], rows: list[dict[str, Any]]) -> Path:
    methods = [m for m in base_methods() if m["id"] != "M-POTENCY"]
    methods.append({"id": NEW, "status": "validated", "report": "VAL-POT-2", "quantitative": True,
                    "moa_linked": True, "replaces": OLD, "bridging_study": "BR-POT-2025-01"})
    return make(tests=with_test(base_tests(), "potency", **POTENCY_TEST), lots=rows, methods=methods)


# ------------------------------------------------------------------------ SPEC-006, SPEC-009, PPQ lots


def test_spec006_does_not_count_a_replaced_assays_row_as_a_rejected_pivotal_lot(make: Callable[..., Path]) -> None:
    # W17-0319: 890 pg/mL by the retired QC-POT-01, 1480 pg/mL by QC-POT-02, the test's method
    rows = _by_method(base_lots(PIVOTAL)) + _old_assay("W17-0319", 890)
    path = _potency_dossier(make, rows)
    assert findings_for(path, "SPEC-006", phase="bla") == []
    assert [f for f in findings_for(path, "SPEC-009", phase="bla") if f.record == "lot W17-0319"] == []


def test_spec006_and_spec009_still_judge_the_tests_method_and_a_lot_measured_only_by_the_old_one(
        make: Callable[..., Path]) -> None:
    # W17-0318 by the test's method fails; W17-0320 has no QC-POT-02 row, so its QC-POT-01 row is its result
    pivotal = [*PIVOTAL[:1], ("W17-0318", 88, 950), *PIVOTAL[2:]]
    rows = _by_method(base_lots(pivotal)) + _old_assay("W17-0319", 890)
    rows += [{**r, "method": OLD if r["attribute"] == "potency" else f"M-{r['attribute'].upper()}"}
             for r in base_lots([("W17-0320", 86, 900)])]
    path = _potency_dossier(make, rows)
    (spec006,) = findings_for(path, "SPEC-006", phase="bla")
    assert "would have rejected 2 of 4 released pivotal lots (W17-0318: 950 pg/mL, W17-0320: 900 pg/mL)" \
        in spec006.message
    assert "W17-0319" not in spec006.message
    failing = sorted(f.record for f in findings_for(path, "SPEC-009", phase="bla") if f.record.startswith("lot "))
    assert failing == ["lot W17-0318", "lot W17-0320"]


def test_out_of_spec_leaves_out_a_replaced_assays_row_of_a_lot_measured_by_the_tests_method(
        make: Callable[..., Path]) -> None:
    """The PPQ rules read the PPQ lots' failures through out_of_spec."""
    rows = _by_method(base_lots(PIVOTAL)) + _old_assay("W17-0319", 890) + _old_assay("W17-0319", 870)
    views = DossierViews(load_dossier(_potency_dossier(make, rows)))
    assert out_of_spec(views) == []
    rows = _by_method(base_lots([*PIVOTAL[:2], ("W17-0319", 90, 960)])) + _old_assay("W17-0319", 890)
    views = DossierViews(load_dossier(_potency_dossier(make, rows)))
    assert [(f.lot_id, f.result.result.value, f.result.method) for f in out_of_spec(views)] == [
        ("W17-0319", 960.0, NEW)]


# ------------------------------------------------------------------------ CMP-004

POTENCY_SPEC = {"specifications": [{"material": "drug_product", "tests": [
    {"attribute": "potency", "unit": "%", "method": "M-POT-2", "criterion": ">= 50 %"}]}]}


def _study(dossier_dir: Callable[..., Path], post: dict[str, float], old_rows: dict[str, float]) -> Path:
    """The CMP tests' comparable study, potency measured by M-POT-2; ``old_rows``: one more potency row
    of those lots by the replaced assay M-POT-1 (on another scale)."""
    rows = [{**r, "method": "M-POT-2" if r["attribute"] == "potency" else ""} for r in lots(PRE, post)]
    for lot_id, value in old_rows.items():
        first = next(r for r in rows if r["lot_id"] == lot_id and r["attribute"] == "potency")
        rows.append({**first, "value": value, "method": "M-POT-1"})
    files = {"changes.yaml": {"changes": [change()]}, "lots.csv": rows, "specifications.yaml": POTENCY_SPEC}
    return dossier_dir(files, phase="bla")


def test_cmp004_does_not_pool_a_replaced_assays_results_into_the_comparison(dossier_dir: Callable[..., Path]) -> None:
    # L-202 measured 102 by M-POT-2, the test's method, and 70 by the replaced M-POT-1
    path = _study(dossier_dir, POST_OK, {"L-202": 70.0})
    assert findings_for(path, "CMP-004") == []


def test_cmp004_still_finds_a_post_change_lot_outside_by_the_tests_method(dossier_dir: Callable[..., Path]) -> None:
    # L-101's old-assay row (55) would have widened the pre-change quality range past L-202's 70
    path = _study(dossier_dir, {**POST_OK, "L-202": 70.0}, {"L-202": 101.0, "L-101": 55.0})
    (found,) = findings_for(path, "CMP-004")
    assert "L-202 = 70" in found.message and "several results" not in found.message
    potency = next(a for a in found.data["attributes"] if a["attribute"] == "potency")
    assert potency["post"]["values"]["L-202"] == 70.0 and potency["pre"]["values"]["L-101"] == 100.0
    assert potency["quality_range"] == [pytest.approx(90.338, abs=0.001), pytest.approx(110.162, abs=0.001)]


# ------------------------------------------------------------------------ STAB-005

STAB_SPECS = {"specifications": [{"material": "drug_product", "tests": [
    {"attribute": "potency", "unit": "pg/mL", "method": NEW, "criterion": ">= 1000 pg/mL"}]}]}


def _points(rows: list[tuple[str, float, Any, str]]) -> list[dict[str, Any]]:
    return [{"lot_id": lot, "material": "drug_product", "condition": "long_term", "time": t,
             "time_unit": "months", "attribute": "potency", "value": v, "unit": "pg/mL", "method": m}
            for lot, t, v, m in rows]


def _stability_dossier(dossier_dir: Callable[..., Path], points: list[dict[str, Any]]) -> Path:
    lot_data = [r for lot in ("W17-0319", "W17-0320") for r in lot_rows(lot, "ppq", {"potency": 1400},
                                                                         process_version="v2", method=NEW)]
    return dossier_dir({"specifications.yaml": STAB_SPECS, "lots.csv": lot_data, "stability.csv": points},
                       phase="bla", shelf_life={"value": 24, "unit": "months", "storage": "<= -60 C"})


def test_stab005_does_not_judge_a_retired_assays_points_against_todays_limit(dossier_dir: Callable[..., Path]) -> None:
    points = _points([("W17-0319", 0, 890, OLD), ("W17-0319", 6, 870, OLD), ("W17-0319", 12, 1450, NEW),
                      ("W17-0320", 0, 1500, NEW), ("W17-0320", 12, 1420, "")])
    path = _stability_dossier(dossier_dir, points)
    assert findings_for(path, "STAB-005") == []
    (note,) = not_evaluated_for(path, "STAB-005")
    assert note.startswith("2 long-term stability results by another method than their specification test's are "
                           "not judged against its criterion: ")
    assert "W17-0319 drug_product/potency 890 pg/mL at 0 months (method QC-POT-01; the test's is QC-POT-02)" in note


def test_stab005_judges_the_tests_method_and_points_naming_none(dossier_dir: Callable[..., Path]) -> None:
    points = _points([("W17-0319", 0, 890, OLD), ("W17-0319", 12, 950, NEW), ("W17-0320", 6, 980, "")])
    (found,) = findings_for(_stability_dossier(dossier_dir, points), "STAB-005")
    assert found.severity.value == "blocker"
    assert found.message.endswith("fall outside '>= 1000 pg/mL': W17-0319 950 pg/mL at 12 months (long_term); "
                                  "W17-0320 980 pg/mL at 6 months (long_term).")
    assert "890" not in found.message and found.data["unit"] == "pg/mL"


def test_spec013_notes_a_replaced_assays_results_in_their_own_unit(dossier_dir: Any) -> None:
    """Lot and stability results of the retired potency assay, in its unit, beside today's assay in
    '% inhibition': another method's record (info), and shown in their own unit."""
    specs = {"specifications": [{"material": "drug_product", "tests": [
        {"attribute": "potency", "unit": "% inhibition", "method": "QC-POT-IL2RA", "criterion": ">= 30"}]}]}
    methods = {"methods": [{"id": "QC-POT-TNFR1", "status": "validated"},
                           {"id": "QC-POT-IL2RA", "status": "validated", "replaces": "QC-POT-TNFR1",
                            "bridging_study": "BR-1"}]}
    lots = (lot_rows("P-1", "phase_3", {"potency": 30.6}, unit="pg/10^6 cells", method="QC-POT-TNFR1")
            + lot_rows("P-2", "phase_3", {"potency": 45.0}, unit="% inhibition", method="QC-POT-IL2RA"))
    stability = ("lot_id,material,condition,time,time_unit,attribute,value,unit,method\n"
                 "P-1,drug_product,long_term,0,months,potency,30.6,pg/10^6 cells,QC-POT-TNFR1\n")
    path = dossier_dir({"specifications.yaml": specs, "methods.yaml": methods, "lots.csv": lots,
                        "stability.csv": stability}, phase="bla")
    found = [f for f in findings_for(path, "SPEC-013") if "by method QC-POT-TNFR1" in f.message]
    assert sorted((f.file, f.severity.value) for f in found) == [("lots.csv", "info"), ("stability.csv", "info")]
    assert all("not the test's method QC-POT-IL2RA" in f.message for f in found)
    notes = not_evaluated_for(path, "STAB-005")
    assert any("30.6 pg/10^6 cells at 0 months" in n for n in notes), notes
