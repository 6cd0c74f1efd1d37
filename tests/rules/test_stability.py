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


def test_stab003_justified_shortfall_is_info_without_crediting_the_guidance(dossier_dir):
    """Fewer lots with a justification is cmcflex's reading, not a point of the May 2026 guidance
    (whose stability point is representative clinical lots): the note does not attribute it."""
    path = dossier(dossier_dir, stable(("L-1", "L-2")), phase="bla",
                   stability_lot_justification="Patient material is scarce; platform lots show no trend.")
    (f,) = findings_for(path, "STAB-003")
    assert f.severity.value == "info" and "with a justification (stability_lot_justification)" in f.message
    assert "guidance" not in f.message


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


# ------------------------------------------------------------------------ CS6: clinical-lot stability

JUSTIFIED = {"justification": "Process v1 and v2 lots share the formulation, container closure and "
                              "cryopreservation; CHG-2 shows v2 comparable.",
             "commitment": "The first 3 commercial lots go on long-term stability through 24 months."}


def change(cid: str = "CHG-2", conclusion: str | None = "comparable", frm: str = "v1", to: str = "v2",
           **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"id": cid, "kind": "process", "phase": "phase_3", "risk": "moderate",
                              "risk_assessment": "RA-2", "from_version": frm, "to_version": to, **extra}
    if conclusion is not None:
        record["comparability"] = {"design": "side_by_side", "pre_lots": ["D-1"], "post_lots": ["L-1"],
                                   "attributes": ["viability"], "method": "quality_range",
                                   "criteria_predefined": True, "conclusion": conclusion}
    return record


def clinical_dossier(dossier_dir, phase="bla", changes: list | None = None, commercial=("L-1",),
                     clinical=("D-1", "D-2"), commercial_months=(0, 3, 6), clinical_months=(0, 6, 12, 24),
                     **extra: Any):
    """Commercial-process (v2) lots short of the 12-month claim; clinical lots of process v1 beyond it."""
    rows = stable(commercial, months=commercial_months) + stable(clinical, months=clinical_months)
    files: dict[str, Any] = {"specifications.yaml": SPECS, "stability.csv": rows,
                             "lots.csv": lots(*commercial) + lots(*clinical, version="v1", use="phase_2")}
    if changes is not None:
        files["changes.yaml"] = {"changes": changes}
    extra.setdefault("shelf_life", SHELF)
    extra.setdefault("commercial_process", "v2")
    return dossier_dir(files, phase=phase, **extra)


@pytest.mark.parametrize("phase", ["phase_3", "bla", "post_approval"])
def test_cs6_clinical_lots_with_their_conditions_support_the_shelf_life(dossier_dir, phase):
    path = clinical_dossier(dossier_dir, phase, changes=[change()], clinical_lot_stability=JUSTIFIED)
    (f,) = findings_for(path, "STAB-002")
    assert f.severity.value == "info" and f.data["flexibility"] == "CS6"
    assert "D-1, D-2 of process v1" in f.message and "change CHG-2 concludes the processes comparable" in f.message
    assert "representative clinical lots" in f.message and f.data["changes"] == ["CHG-2"]
    if phase != "phase_3":  # STAB-003 applies from BLA
        (g,) = findings_for(path, "STAB-003")
        assert g.severity.value == "info" and "3 lots are on long-term stability" in g.message and "CHG-2" in g.message
        assert g.data["clinical_lots_counted"] == ["D-1", "D-2"]


def test_cs6_the_named_change_is_used(dossier_dir):
    """clinical_lot_stability.change names the bridge; a change it does not name is not needed."""
    named = {**JUSTIFIED, "change": "CHG-7"}
    path = clinical_dossier(dossier_dir, changes=[change("CHG-7", frm="v1", to="v2")], clinical_lot_stability=named)
    (f,) = findings_for(path, "STAB-002")
    assert f.severity.value == "info" and "change CHG-7 concludes" in f.message
    missing = clinical_dossier(dossier_dir, changes=[change()], clinical_lot_stability={**JUSTIFIED, "change": "CHG-9"})
    (f,) = findings_for(missing, "STAB-002")
    assert f.severity.value == "blocker"
    assert "the change that clinical_lot_stability.change names (CHG-9; changes.yaml does not record it)" in f.message


def test_cs6_a_chain_of_comparable_changes_bridges_the_processes(dossier_dir):
    chain = [change("CHG-1", frm="v1", to="v1.5"), change("CHG-2", frm="v1.5", to="v2")]
    path = clinical_dossier(dossier_dir, changes=chain, clinical_lot_stability=JUSTIFIED)
    (f,) = findings_for(path, "STAB-002")
    assert f.severity.value == "info" and "changes CHG-1, CHG-2 conclude" in f.message


@pytest.mark.parametrize("phase, severity", [("phase_3", "minor"), ("bla", "blocker"), ("post_approval", "blocker")])
def test_cs6_without_its_conditions_the_gap_stands_naming_each(dossier_dir, phase, severity):
    path = clinical_dossier(dossier_dir, phase)
    (f,) = findings_for(path, "STAB-002")
    assert f.severity.value == severity
    assert "lots of an earlier process reach 24 months (D-1, D-2 of process v1)" in f.message
    for field in ("from_version v1, to_version v2, comparability.conclusion: comparable",
                  "clinical_lot_stability.justification", "clinical_lot_stability.commitment"):
        assert field in f.message and field in f.remedy
    assert f.data["clinical_lot_conditions_missing"] and f.data["longest_by_lot_months"] == {"L-1": 6}


def test_cs6_each_missing_condition_alone_is_named(dossier_dir):
    no_commitment = clinical_dossier(dossier_dir, changes=[change()],
                                     clinical_lot_stability={"justification": JUSTIFIED["justification"]})
    (f,) = findings_for(no_commitment, "STAB-002")
    assert f.severity.value == "blocker" and "only with a post-approval stability commitment " \
        "(dossier.yaml clinical_lot_stability.commitment)" in f.message
    assert "justification (dossier.yaml" not in f.message and "changes.yaml" not in f.message
    (g,) = findings_for(no_commitment, "STAB-003")
    assert g.severity.value == "major" and "clinical_lot_stability.commitment" in g.message
    no_change = clinical_dossier(dossier_dir, clinical_lot_stability=JUSTIFIED)
    (f,) = findings_for(no_change, "STAB-002")
    assert "a change record concluding process v1 comparable to the commercial process v2" in f.message
    assert "commitment" not in f.message
    no_study = clinical_dossier(dossier_dir, changes=[change(conclusion=None)], clinical_lot_stability=JUSTIFIED)
    (f,) = findings_for(no_study, "STAB-002")
    assert "a comparability conclusion on change CHG-2" in f.message and f.severity.value == "blocker"


@pytest.mark.parametrize("conclusion", ["not_comparable", "inconclusive", "pending"])
def test_cs6_lots_of_a_process_not_shown_comparable_do_not_count(dossier_dir, conclusion):
    path = clinical_dossier(dossier_dir, changes=[change(conclusion=conclusion)], clinical_lot_stability=JUSTIFIED)
    (f,) = findings_for(path, "STAB-002")
    said = {"not_comparable": "concludes the processes not comparable",
            "inconclusive": "is inconclusive on whether the processes are comparable",
            "pending": "has no comparability conclusion yet"}[conclusion]
    assert f.severity.value == "blocker"
    assert f"change CHG-2 {said} (comparability.conclusion: {conclusion}), so lots of " \
        "process v1 do not count toward the shelf life of process v2" in f.message
    (g,) = findings_for(path, "STAB-003")
    assert g.severity.value == "major" and "do not count" in g.message


def test_cs6_a_comparable_change_is_preferred_over_an_earlier_inconclusive_one(dossier_dir):
    changes = [change("CHG-1", conclusion="inconclusive"), change("CHG-2")]
    path = clinical_dossier(dossier_dir, changes=changes, clinical_lot_stability=JUSTIFIED)
    (f,) = findings_for(path, "STAB-002")
    assert f.severity.value == "info" and "CHG-2" in f.message and "CHG-1" not in f.message


def test_cs6_clinical_lots_that_do_not_reach_the_claim_leave_the_gap(dossier_dir):
    path = clinical_dossier(dossier_dir, changes=[change()], clinical_lot_stability=JUSTIFIED,
                            clinical_months=(0, 3, 9))
    (f,) = findings_for(path, "STAB-002")
    assert f.severity.value == "blocker"
    assert "counting the clinical lots of an earlier process under clinical_lot_stability (D-1, D-2 of " \
        "process v1), the longest point is 9 months" in f.message
    short = clinical_dossier(dossier_dir, clinical_months=(0, 3, 9))  # no record, data short anyway: nothing to add
    (f,) = findings_for(short, "STAB-002")
    assert "earlier process" not in f.message
    claimed = clinical_dossier(dossier_dir, changes=[change(conclusion="pending")], clinical_months=(0, 3, 9),
                               clinical_lot_stability=JUSTIFIED)  # the dossier leans on them: say why they fail
    (f,) = findings_for(claimed, "STAB-002")
    assert "lots of an earlier process reach 9 months" in f.message and "has no comparability conclusion yet" in f.message
    one = clinical_dossier(dossier_dir, changes=[change(conclusion="pending")], clinical=("D-1",),
                           clinical_lot_stability=JUSTIFIED)
    (g,) = findings_for(one, "STAB-003")
    assert g.severity.value == "major" and "do not count" in g.message


def test_cs6_counted_lots_short_of_three_still_need_a_justification(dossier_dir):
    path = clinical_dossier(dossier_dir, changes=[change()], clinical_lot_stability=JUSTIFIED, clinical=("D-1",))
    (g,) = findings_for(path, "STAB-003")
    assert g.severity.value == "major" and "(D-1 of process v1) 2 are, fewer than 3" in g.message
    justified = clinical_dossier(dossier_dir, changes=[change()], clinical_lot_stability=JUSTIFIED, clinical=("D-1",),
                                 stability_lot_justification="Patient material is scarce.")
    (g,) = findings_for(justified, "STAB-003")
    assert g.severity.value == "info"


def test_cs6_silent_when_commercial_lots_cover_the_claim(dossier_dir):
    """The flexibility is only read when the commercial-process data fall short."""
    path = clinical_dossier(dossier_dir, commercial=("L-1", "L-2", "L-3"), commercial_months=(0, 6, 12))
    assert findings_for(path, "STAB-002") == [] and findings_for(path, "STAB-003") == []


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
    assert "L-4 62 % at 12 months" in f.message and "65" in f.message
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


AAV_SPECS = {"specifications": [{"material": "drug_product", "tests": [
    {"attribute": "vector_genome_titer", "unit": "gc/mL", "criterion": "0.88 - 1.17 x 10^13 gc/mL"}]}]}
INFUSION_BAG = {"value": 4, "unit": "hours", "condition": "diluted in 0.9 % NaCl infusion bag"}


def titres(lot: str, times: list[float], value: float, condition: str = "long_term",
           unit: str = "months") -> list[dict[str, Any]]:
    return [{"lot_id": lot, "material": "drug_product", "condition": condition, "time": t, "time_unit": unit,
             "attribute": "vector_genome_titer", "value": value, "unit": "gc/mL"} for t in times]


def test_stab005_does_not_hold_in_use_points_to_the_vial_release_range(dossier_dir):
    # diluted into the infusion bag, the titre is far below the vial's release range by design
    rows = [r for lot in ("L-1", "L-2", "L-3") for r in titres(lot, [0, 6, 12, 24], 1.02e13)]
    rows += titres("L-1", [0, 2, 4], 2.1e11, condition="in_use", unit="hours")
    path = dossier(dossier_dir, rows, specs=AAV_SPECS, in_use=INFUSION_BAG,
                   shelf_life={"value": 24, "unit": "months", "storage": "<= -60 C"})
    assert findings_for(path, "STAB-005") == []
    assert findings_for(path, "STAB-001", phase="phase_3") == []  # the in-use period is still covered


def test_stab005_judges_the_storage_condition_within_the_shelf_life(dossier_dir):
    rows = [r for lot in ("L-1", "L-2") for r in titres(lot, [0, 6, 12, 24], 1.02e13)]
    rows += titres("L-3", [0, 12], 1.02e13) + titres("L-3", [24], 0.85e13)
    rows += titres("L-1", [0, 4], 2.1e11, condition="in_use", unit="hours")
    rows += titres("L-2", [1], 0.5e13, condition="accelerated") + titres("L-2", [3], 0.6e13, condition="shipping",
                                                                           unit="days")
    path = dossier(dossier_dir, rows, specs=AAV_SPECS, in_use=INFUSION_BAG,
                   shelf_life={"value": 24, "unit": "months", "storage": "<= -60 C"})
    (f,) = findings_for(path, "STAB-005")
    assert f.severity.value == "blocker"
    assert f.message == ("Stability results of drug_product/vector_genome_titer within the claimed shelf life of "
                         "24 months fall outside '0.88 - 1.17 x 10^13 gc/mL': L-3 8.5E12 gc/mL at 24 months "
                         "(long_term).")
    assert [r["condition"] for r in f.data["results"]] == ["long_term"]


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


def test_stab002_a_drug_substance_hold_does_not_cover_the_drug_product_shelf_life(dossier_dir):
    """Long-term data of the drug substance (a frozen bulk hold) to 36 months do not support a
    36-month drug product shelf life whose own data reach 12 months."""
    rows = stable(months=(0, 3, 6, 12))
    rows += [dict(r, material="drug_substance", time=t) for r in points("L-1", [0]) for t in (0, 12, 24, 36)]
    path = dossier(dossier_dir, rows, shelf_life={"value": 36, "unit": "months", "storage": "-70 C"})
    (f,) = findings_for(path, "STAB-002")
    assert "12 months" in f.message
    only_ds = [dict(r, material="drug_substance") for r in stable(months=(0, 12, 24, 36))]
    assert findings_for(dossier(dossier_dir, only_ds, shelf_life={"value": 36, "unit": "months"}), "STAB-002") == []
