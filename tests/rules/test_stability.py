"""STAB rules: firing and silent cases at the phases where their severity differs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import findings_for, lot_rows, not_evaluated_for

SPECS = {"specifications": [{"material": "drug_product", "tests": [
    {"attribute": "viability", "unit": "%", "criterion": ">= 70", "shelf_life_criterion": ">= 65"},
    {"attribute": "potency", "criterion": ">= 50"},
    {"attribute": "sterility", "criterion": "No growth"},
]}]}
SHELF = {"value": 12, "unit": "months", "storage": "vapor phase of liquid nitrogen"}
IN_USE = {"value": 4, "unit": "hours", "condition": "after thaw, room temperature"}


def points(lot: str, times: list[float], unit: str = "months", condition: str = "long_term",
           viability: float = 80.0, potency: float | None = 90.0) -> list[dict[str, Any]]:
    rows = []
    for t in times:
        rows.append({"lot_id": lot, "material": "drug_product", "condition": condition, "time": t,
                     "time_unit": unit, "attribute": "viability", "value": viability, "unit": "%"})
        if potency is not None:
            rows.append({"lot_id": lot, "material": "drug_product", "condition": condition, "time": t,
                         "time_unit": unit, "attribute": "potency", "value": potency, "unit": "%"})
    return rows


def lots(*ids: str, version: str = "v2", use: str = "ppq") -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for lot in ids:
        rows += lot_rows(lot, use, {"viability": 85}, process_version=version)
    return rows


def stable(lot_ids=("L-1", "L-2", "L-3"), months=(0, 3, 6, 12)) -> list[dict[str, Any]]:
    rows = []
    for lot in lot_ids:
        rows += points(lot, list(months))
    return rows


def dossier(dossier_dir, stability: list | None, lot_ids=("L-1", "L-2", "L-3"), phase="bla",
            specs=SPECS, **extra: Any):
    files: dict[str, Any] = {"specifications.yaml": specs, "lots.csv": lots(*lot_ids)}
    if stability is not None:
        files["stability.csv"] = stability
    extra.setdefault("shelf_life", SHELF)
    return dossier_dir(files, phase=phase, **extra)


# ------------------------------------------------------------------------ STAB-001


@pytest.mark.parametrize("phase", ["phase_1", "phase_2", "phase_3"])
def test_stab001_fires_without_long_term_data(dossier_dir, phase):
    path = dossier(dossier_dir, points("L-1", [0, 1, 2], condition="accelerated"), phase=phase)
    (f,) = findings_for(path, "STAB-001")
    assert f.severity.value == "major" and "long_term" in f.message and f.file == "dossier.yaml"


def test_stab001_fires_when_in_use_claim_not_covered(dossier_dir):
    rows = stable() + points("L-1", [0, 2], unit="hours", condition="in_use")
    path = dossier(dossier_dir, rows, phase="phase_1", in_use=IN_USE)
    (f,) = findings_for(path, "STAB-001")
    assert "4 hours" in f.message and f.data["longest_in_use_months"] == pytest.approx(2 / 24 / 30.4375, rel=1e-4)


def test_stab001_silent_when_covered_and_not_applied_at_bla(dossier_dir):
    rows = stable() + points("L-1", [0, 4], unit="hours", condition="in_use")
    path = dossier(dossier_dir, rows, phase="phase_2", in_use=IN_USE)
    assert findings_for(path, "STAB-001") == []
    bla = dossier(dossier_dir, None, phase="bla")
    assert findings_for(bla, "STAB-001") == []


# ------------------------------------------------------------------------ STAB-002


@pytest.mark.parametrize("phase, severity", [("phase_3", "minor"), ("bla", "blocker"), ("post_approval", "blocker")])
def test_stab002_fires_when_real_time_data_fall_short_of_the_claim(dossier_dir, phase, severity):
    path = dossier(dossier_dir, stable(months=(0, 3, 6)), phase=phase)
    (f,) = findings_for(path, "STAB-002")
    assert f.severity.value == severity
    assert "12 months" in f.message and "6 months" in f.message and "process v2" in f.message
    assert f.data["longest_by_lot_months"] == {"L-1": 6, "L-2": 6, "L-3": 6}


def test_stab002_counts_only_commercial_process_lots(dossier_dir):
    rows = stable(("L-1", "L-2", "L-3"), months=(0, 6)) + stable(("D-1",), months=(0, 12, 24))
    files_lots = lots("L-1", "L-2", "L-3") + lots("D-1", version="v1", use="phase_2")
    path = dossier_dir({"specifications.yaml": SPECS, "lots.csv": files_lots, "stability.csv": rows},
                       phase="bla", shelf_life=SHELF)
    (f,) = findings_for(path, "STAB-002")
    assert "D-1" not in f.data["longest_by_lot_months"]
    explicit = dossier_dir({"specifications.yaml": SPECS, "lots.csv": files_lots, "stability.csv": rows},
                           phase="bla", shelf_life=SHELF, commercial_process="v1")
    assert findings_for(explicit, "STAB-002") == []


def test_stab_lots_of_unrecorded_process_are_not_shown_rather_than_missing(dossier_dir):
    """Dedicated stability lots absent from lots.csv: their data cannot be counted for the commercial
    process, so the findings ask for their process at info instead of calling the claim unsupported."""
    rows = stable(("L-1",), months=(0, 6)) + stable(("STB-1", "STB-2", "STB-3"), months=(0, 6, 12, 18))
    path = dossier(dossier_dir, rows, lot_ids=("L-1",), phase="bla")
    (f2,) = findings_for(path, "STAB-002")
    assert f2.severity.value == "info" and "STB-1, STB-2, STB-3" in f2.message and "lots.csv" in f2.remedy
    (f3,) = findings_for(path, "STAB-003")
    assert f3.severity.value == "info" and "4 lots are on long-term stability" in f3.message
    short = stable(("L-1",), months=(0, 6)) + stable(("STB-1",), months=(0, 6))  # unknown lots do not cover
    path = dossier(dossier_dir, short, lot_ids=("L-1",), phase="bla")
    assert [f.severity.value for f in findings_for(path, "STAB-002")] == ["blocker"]
    assert [f.severity.value for f in findings_for(path, "STAB-003")] == ["major"]


def test_stab002_silent_when_covered_and_not_applied_at_phase_2(dossier_dir):
    path = dossier(dossier_dir, stable(months=(0, 6, 12)), phase="bla")
    assert findings_for(path, "STAB-002") == []
    p2 = dossier(dossier_dir, stable(months=(0, 3)), phase="phase_2")
    assert findings_for(p2, "STAB-002") == []


def test_stab002_days_cover_months(dossier_dir):
    rows = []
    for lot in ("L-1", "L-2", "L-3"):
        rows += points(lot, [0, 182, 365], unit="days")
    path = dossier(dossier_dir, rows, phase="bla")
    assert findings_for(path, "STAB-002") == []


def test_stab002_claim_left_out_is_not_shown(dossier_dir):
    path = dossier(dossier_dir, stable(), phase="bla", shelf_life=None)
    (f,) = findings_for(path, "STAB-002")
    assert f.severity.value == "info" and "does not record the claimed shelf life" in f.message
    assert "shelf_life: {value: 12" in f.remedy


def test_stab002_and_003_lots_of_unrecorded_process_are_not_shown(dossier_dir):
    rows = stable(("L-1", "X-1", "X-2"), months=(0, 6, 12))
    path = dossier_dir({"specifications.yaml": SPECS, "lots.csv": lots("L-1"), "stability.csv": rows},
                       phase="bla", shelf_life=SHELF)
    (f,) = findings_for(path, "STAB-003")
    assert f.severity.value == "info" and "whose process is not recorded (X-1, X-2" in f.message
    assert "process_version" in f.remedy
    assert findings_for(path, "STAB-002") == []  # L-1 (v2) reaches 12 months
    short = stable(("L-1",), months=(0, 6)) + stable(("X-1",), months=(0, 12))
    path = dossier_dir({"specifications.yaml": SPECS, "lots.csv": lots("L-1"), "stability.csv": short},
                       phase="bla", shelf_life=SHELF)
    (f,) = findings_for(path, "STAB-002")
    assert f.severity.value == "info" and "only on lots whose process is not recorded (X-1" in f.message
    assert [g.severity.value for g in findings_for(path, "STAB-003")] == ["major"]  # 2 lots even if X-1 counts


# ------------------------------------------------------------------------ STAB-003


@pytest.mark.parametrize("phase", ["bla", "post_approval"])
def test_stab003_fires_with_two_lots_and_no_justification(dossier_dir, phase):
    path = dossier(dossier_dir, stable(("L-1", "L-2")), phase=phase)
    (f,) = findings_for(path, "STAB-003")
    assert f.severity.value == "major" and "Only 2 lots (L-1, L-2)" in f.message


def test_stab003_justified_shortfall_is_info_naming_flexibility(dossier_dir):
    path = dossier(dossier_dir, stable(("L-1", "L-2")), phase="bla",
                   stability_lot_justification="Patient material is scarce; platform lots show no trend.")
    (f,) = findings_for(path, "STAB-003")
    assert f.severity.value == "info" and "flexibilities" in f.message


def test_stab003_silent_with_three_lots_and_not_applied_at_phase_3(dossier_dir):
    assert findings_for(dossier(dossier_dir, stable(), phase="bla"), "STAB-003") == []
    assert findings_for(dossier(dossier_dir, stable(("L-1",)), phase="phase_3"), "STAB-003") == []


EMPTY_STABILITY = "lot_id,material,condition,time,time_unit,attribute,value,unit\n"


def test_stab003_sentence_when_no_process_version_is_known(dossier_dir):
    unversioned = [{**row, "process_version": ""} for row in lots("L-1", "L-2")]
    path = dossier_dir({"specifications.yaml": SPECS, "lots.csv": unversioned,
                        "stability.csv": stable(("L-1", "L-2"), months=(0, 3, 6))}, phase="bla",
                       shelf_life=SHELF)
    (f,) = findings_for(path, "STAB-003")
    assert f.message == ("Only 2 lots (L-1, L-2) are on long-term stability, counting every lot since no "
                         "process version is known, fewer than 3, and no justification is given.")
    (f,) = findings_for(path, "STAB-002")
    assert "every lot counts" in f.message and "commercial every lot" not in f.message


def test_stab003_sentence_when_no_lot_is_on_stability(dossier_dir):
    path = dossier(dossier_dir, EMPTY_STABILITY, phase="bla")
    (f,) = findings_for(path, "STAB-003")
    assert f.message == ("No lot of the commercial process v2 (process_version of the PPQ lots) is on "
                         "long-term stability (stability.csv holds no long_term points), and no "
                         "justification is given.")
    (f,) = findings_for(path, "STAB-002")
    assert f.message.endswith("not covered by real-time data: stability.csv holds no long_term points.")
    one = dossier(dossier_dir, stable(("L-1",)), phase="bla")
    (f,) = findings_for(one, "STAB-003")
    assert f.message.startswith("Only 1 lot (L-1) of the commercial process v2 (process_version of the PPQ "
                                "lots) is on long-term stability, fewer than 3,")


# ------------------------------------------------------------------------ STAB-004


@pytest.mark.parametrize("phase, severity", [("phase_2", "minor"), ("phase_3", "major"), ("bla", "major")])
def test_stab004_fires_without_potency(dossier_dir, phase, severity):
    rows = []
    for lot in ("L-1", "L-2", "L-3"):
        rows += points(lot, [0, 6, 12], potency=None)
    (f,) = findings_for(dossier(dossier_dir, rows, phase=phase), "STAB-004")
    assert f.severity.value == severity and "viability" in f.message


def test_stab004_silent_with_potency_and_not_evaluated_without_data(dossier_dir):
    assert findings_for(dossier(dossier_dir, stable(), phase="bla"), "STAB-004") == []
    assert findings_for(dossier(dossier_dir, stable(), phase="phase_1"), "STAB-004") == []
    assert not_evaluated_for(dossier(dossier_dir, None, phase="bla"), "STAB-004")


# ------------------------------------------------------------------------ STAB-005


@pytest.mark.parametrize("phase, severity", [("phase_1", "minor"), ("phase_2", "major"), ("bla", "blocker")])
def test_stab005_fires_on_result_below_shelf_life_criterion(dossier_dir, phase, severity):
    rows = stable() + points("L-4", [12], viability=62.0)
    path = dossier(dossier_dir, rows, lot_ids=("L-1", "L-2", "L-3", "L-4"), phase=phase)
    (f,) = findings_for(path, "STAB-005")
    assert f.severity.value == severity and f.record == "test drug_product/viability"
    assert "L-4 62 at 12 months" in f.message and "65" in f.message
    assert f.file == "stability.csv" and f.line


def test_stab005_uses_shelf_life_criterion_and_ignores_points_beyond_the_claim(dossier_dir):
    rows = stable() + points("L-4", [12], viability=67.0) + points("L-5", [24], viability=40.0)
    path = dossier(dossier_dir, rows, lot_ids=("L-1", "L-2", "L-3", "L-4", "L-5"), phase="bla")
    assert findings_for(path, "STAB-005") == []  # 67 meets >= 65 (not release >= 70); 24 m is past 12 m


def test_stab005_not_evaluated_without_stability(dossier_dir):
    path = dossier(dossier_dir, None, phase="bla")
    assert findings_for(path, "STAB-005") == []
    assert not_evaluated_for(path, "STAB-005")


def test_stab005_not_evaluated_reason_for_an_empty_stability_file(dossier_dir):
    path = dossier(dossier_dir, EMPTY_STABILITY, phase="bla")
    assert not_evaluated_for(path, "STAB-005") == ["stability.csv holds no results"]
    assert not_evaluated_for(path, "STAB-004") == ["stability.csv holds no results"]


def test_stab_numbers_use_the_one_number_format(dossier_dir):
    rows = stable() + points("L-4", [0.123456], viability=62.0)
    path = dossier(dossier_dir, rows, lot_ids=("L-1", "L-2", "L-3", "L-4"), phase="bla",
                   shelf_life={"value": 1.23456, "unit": "months", "storage": "LN2"})
    (f,) = findings_for(path, "STAB-005")
    assert "claimed shelf life of 1.235 months" in f.message and "at 0.1235 months" in f.message


# ------------------------------------------------------------------------ metadata as the catalogue


def test_stab_severities_and_slugs_match_the_catalogue(shared_dir):
    """Every STAB row of rules-catalogue.md: same slug and severities by phase as the registry."""
    from cmcflex.phases import PHASES
    from cmcflex.rules import REGISTRY

    short = {"B": "blocker", "Ma": "major", "Mi": "minor", "I": "info"}
    rows = [line.split("|")[1:-1] for line in (shared_dir / "rules-catalogue.md").read_text().splitlines()
            if line.startswith("| STAB-")]
    assert len(rows) == 5
    for cells in rows:
        rule_id, slug, _, *severities, _ = (c.strip() for c in cells)
        rule = REGISTRY.get(rule_id)
        assert rule is not None and rule.slug == slug, rule_id
        expected = {p: short[s] for p, s in zip(PHASES, severities) if s != "—"}
        assert {p: s.value for p, s in rule.severity.items()} == expected, rule_id
