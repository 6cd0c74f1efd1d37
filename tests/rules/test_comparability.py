"""CMP rules: firing and silent cases at the phases where their severity differs."""

from __future__ import annotations

import statistics
from typing import Any

import pytest

from tests.helpers import findings_for, lot_rows, not_evaluated_for, report_for

PRE = {"L-101": 100.0, "L-102": 104.0, "L-103": 96.0, "L-104": 101.0}
POST_OK = {"L-201": 99.0, "L-202": 102.0, "L-203": 98.0, "L-204": 100.5}
POST_LOW = {"L-201": 99.0, "L-202": 70.0, "L-203": 98.0, "L-204": 100.5}


def lots(pre: dict[str, float], post: dict[str, float], pre_use: str = "phase_2",
         post_use: str = "phase_3", post_start: str = "patient") -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for k, (lot, v) in enumerate(pre.items()):
        rows += lot_rows(lot, pre_use, {"potency": v, "viability": 85 + k}, process_version="v1",
                         manufacture_date=f"2024-0{k + 1}-01")
    for k, (lot, v) in enumerate(post.items()):
        rows += lot_rows(lot, post_use, {"potency": v, "viability": 86 + k}, process_version="v2",
                         manufacture_date=f"2025-0{k + 1}-01", starting_material=post_start)
    return rows


def change(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "CHG-001", "title": "Closed automated expansion", "kind": "process", "phase": "phase_2",
        "risk": "major", "risk_assessment": "RA-001", "from_version": "v1", "to_version": "v2",
        "affected_attributes": ["potency", "viability"],
        "comparability": {"design": "side_by_side", "attributes": ["potency", "viability"],
                          "method": "quality_range", "criteria_predefined": True,
                          "conclusion": "comparable"},
    }
    study = overrides.pop("comparability", {})
    data.update(overrides)
    if study is None:
        data["comparability"] = None
    else:
        data["comparability"] = {**data["comparability"], **study}
    return {k: v for k, v in data.items() if v is not None}


def dossier(dossier_dir, *changes: dict[str, Any], rows: list | None = None, phase: str = "phase_2",
            **extra: Any):
    files: dict[str, Any] = {"changes.yaml": {"changes": list(changes)}}
    if rows is not None:
        files["lots.csv"] = rows
    return dossier_dir(files, phase=phase, **extra)


MINOR = {"id": "CHG-009", "kind": "raw_material", "phase": "phase_2", "risk": "minor",
         "risk_assessment": "RA-009", "affected_attributes": ["sterility"],
         "summary": "Same membrane and pore rating; bacterial retention validated (FV-19)."}


# ------------------------------------------------------------------------ CMP-001


@pytest.mark.parametrize("phase, severity", [("phase_1", "minor"), ("phase_2", "major"), ("bla", "blocker")])
def test_cmp001_fires_without_risk_assessment(dossier_dir, phase, severity):
    path = dossier(dossier_dir, change(risk_assessment=None, comparability=None), rows=lots(PRE, POST_OK),
                   phase=phase)
    found = findings_for(path, "CMP-001")
    assert [(f.severity.value, f.record) for f in found] == [(severity, "change CHG-001")]
    assert found[0].file == "changes.yaml" and found[0].line and "has no risk assessment" in found[0].message


def test_cmp001_assessed_attributes_without_the_document_id_is_info(dossier_dir):
    path = dossier(dossier_dir, change(risk_assessment=None), rows=lots(PRE, POST_OK), phase="bla")
    (f,) = findings_for(path, "CMP-001")
    assert f.severity.value == "info" and "its risk assessment document is not shown" in f.message
    assert "risk_assessment" in f.remedy


def test_cmp001_study_attributes_count_as_the_affected_attributes(dossier_dir):
    path = dossier(dossier_dir, change(affected_attributes=None), rows=lots(PRE, POST_OK), phase="bla")
    assert findings_for(path, "CMP-001") == []
    bare = change(affected_attributes=None, comparability=None)
    (f,) = findings_for(dossier(dossier_dir, bare, phase="bla"), "CMP-001")
    assert f.severity.value == "blocker" and "records no affected attributes (affected_attributes)" in f.message


def test_cmp001_study_on_record_without_risk_assessment_id_is_not_shown(dossier_dir):
    path = dossier(dossier_dir, change(risk_assessment=None, affected_attributes=None),
                   rows=lots(PRE, POST_OK), phase="bla")
    (f,) = findings_for(path, "CMP-001")
    assert f.severity.value == "info" and "risk assessment document is not shown" in f.message
    assert f.remedy == "Name the risk assessment of change CHG-001 (document id in `risk_assessment`)."


def test_cmp001_minor_change_with_a_summary_but_no_risk_assessment_id_is_not_shown(dossier_dir):
    minor = {k: v for k, v in MINOR.items() if k != "risk_assessment"}
    (f,) = findings_for(dossier(dossier_dir, minor, phase="bla"), "CMP-001")
    assert f.severity.value == "info" and "has a summary, but its risk assessment document is not shown" in f.message
    bare = {k: v for k, v in minor.items() if k != "summary"}
    assert [g.severity.value for g in findings_for(dossier(dossier_dir, bare, phase="bla"), "CMP-001")] == ["blocker"]


def test_cmp001_study_attributes_stand_for_affected_attributes_left_out(dossier_dir):
    path = dossier(dossier_dir, change(affected_attributes=None), rows=lots(PRE, POST_OK), phase="bla")
    assert findings_for(path, "CMP-001") == []
    bare = dossier(dossier_dir, change(affected_attributes=None, comparability={"attributes": []}),
                   rows=lots(PRE, POST_OK), phase="bla")
    assert [f.severity.value for f in findings_for(bare, "CMP-001")] == ["blocker"]


def test_cmp001_silent_with_risk_assessment(dossier_dir):
    path = dossier(dossier_dir, change(), MINOR, rows=lots(PRE, POST_OK), phase="bla")
    assert findings_for(path, "CMP-001") == []


def test_cmp001_minor_proportionate_change_without_attributes_is_info(dossier_dir):
    path = dossier(dossier_dir, {**MINOR, "affected_attributes": []}, phase="bla")
    (f,) = findings_for(path, "CMP-001")
    assert f.severity.value == "info" and "flexibility" in f.message


@pytest.mark.parametrize("phase, span", [("bla", "CMP-001..CMP-007"),
                                         ("post_approval", "CMP-001..CMP-005, CMP-007, CMP-008")])
def test_no_changes_file_is_one_line_not_seven_rules_not_evaluated(dossier_dir, phase, span):
    report = report_for(dossier_dir({}, phase=phase))
    assert not [n for n in report.not_evaluated if n.rule.startswith("CMP-")]
    assert not [f for f in report.findings if f.rule.startswith("CMP-")]
    (entry,) = [n for n in report.no_records if n.file != "ppq.yaml"]  # ppq.yaml: PPQ-001's line
    assert entry.file == "changes.yaml"
    assert entry.rules == [r for r in report.rules_evaluated if r.startswith("CMP-")]
    assert entry.note == f"changes.yaml: no manufacturing changes recorded; {span} have nothing to check"


def test_an_empty_changes_file_is_quiet_too(dossier_dir):
    report = report_for(dossier_dir({"changes.yaml": {"changes": []}}, phase="bla"))
    assert [n.file for n in report.no_records] == ["ppq.yaml"]
    assert not [n for n in report.not_evaluated if n.rule.startswith("CMP-")]


def test_with_changes_the_rules_report_as_before(dossier_dir):
    path = dossier(dossier_dir, change(comparability=None), phase="phase_3")
    assert [n.file for n in report_for(path).no_records] == ["ppq.yaml"] and findings_for(path, "CMP-002")


# ------------------------------------------------------------------------ CMP-002


@pytest.mark.parametrize("phase, severity", [("phase_1", "info"), ("phase_2", "major"), ("phase_3", "blocker")])
def test_cmp002_fires_for_major_change_without_study(dossier_dir, phase, severity):
    path = dossier(dossier_dir, change(comparability=None), phase=phase)
    (f,) = findings_for(path, "CMP-002")
    assert f.severity.value == severity and f.record == "change CHG-001"


def test_cmp002_says_what_is_missing_not_that_no_study_exists(dossier_dir):
    # a company names its study in free text; what the dossier lacks is the study on record
    plain = findings_for(dossier(dossier_dir, change(comparability=None), phase="bla"), "CMP-002")[0].message
    assert plain == "Major change CHG-001 records no comparability study (comparability)."
    named = change(comparability=None, summary="Tech transfer with three comparability lots; report CR-2025-004.")
    (f,) = findings_for(dossier(dossier_dir, named, phase="bla"), "CMP-002")
    assert f.message.endswith("records no comparability study (comparability); its summary is not the study: a "
                              "major change needs the study's design, lots, attributes and conclusion on record.")


def test_cmp002_silent_with_study_and_for_proportionate_minor_change(dossier_dir):
    path = dossier(dossier_dir, change(), MINOR, rows=lots(PRE, POST_OK), phase="bla")
    assert findings_for(path, "CMP-002") == []


def test_cmp002_late_minor_change_with_summary_needs_no_study(dossier_dir):
    from cmcflex.rules import REGISTRY

    path = dossier(dossier_dir, {**MINOR, "phase": "phase_3"}, phase="bla")
    (f,) = findings_for(path, "CMP-002")
    assert f.severity.value == "info" and f.record == "change CHG-009"
    assert "implemented in phase 3 / pivotal, at or after the start of the pivotal study" in f.message
    assert "phase_3" not in f.message and "before the efficacy study" not in f.message
    assert "provided the summary covers the pivotal material" in f.message
    assert f.remedy.startswith("Confirm that the summary of change CHG-009 covers the pivotal material")
    assert "no further study is needed if it does" in f.remedy and "Run a comparability study" not in f.remedy
    assert any("final guidance (May 5, 2026)" in c for c in REGISTRY.get("CMP-002").cites)


def test_cmp002_post_approval_minor_change_refers_to_commercial_lots_and_reporting(dossier_dir):
    path = dossier(dossier_dir, {**MINOR, "phase": "post_approval", "reporting_category": "annual_report"},
                   phase="post_approval")
    (f,) = findings_for(path, "CMP-002")
    assert f.severity.value == "info" and f.record == "change CHG-009"
    assert "implemented post-approval" in f.message and "commercial lots" in f.message
    assert "21 CFR 601.12" in f.message
    assert "pivotal" not in f.message and "pivotal" not in f.remedy
    assert "commercial (licensed) lots" in f.remedy and "21 CFR 601.12" in f.remedy


@pytest.mark.parametrize("phase, severity", [("phase_1", "info"), ("phase_2", "major"), ("phase_3", "major"),
                                             ("bla", "major")])
def test_cmp002_minor_change_without_summary_takes_the_phase_grade_at_most_major(dossier_dir, phase, severity):
    # CD5: a minor change may rest on limited comparability data, not on none
    path = dossier(dossier_dir, {k: v for k, v in MINOR.items() if k != "summary"}, phase=phase)
    (f,) = findings_for(path, "CMP-002")
    assert f.severity.value == severity and f.record == "change CHG-009"
    assert "neither a comparability study nor a proportionate summary of data (summary)" in f.message
    assert "limited data, not none" in f.message and "`summary`" in f.remedy
    assert f.data["missing"] == ["summary"]


@pytest.mark.parametrize("phase", ["phase_1", "phase_2", "phase_3"])
def test_cmp002_minor_change_with_its_summary_is_accepted(dossier_dir, phase):
    # the same change with its summary of data: the flexibility applies, nothing to report before the pivotal study
    assert findings_for(dossier(dossier_dir, MINOR, phase=phase), "CMP-002") == []


POTENCY_ASSAY_CHANGE = {"id": "CHG-POT", "title": "Potency assay replaced", "kind": "method", "phase": "phase_3",
                        "risk": "major", "risk_assessment": "RA-POT", "affected_attributes": ["potency"]}
NEW_POTENCY_ASSAY = {"id": "M-POT-02", "status": "validated", "report": "VAL-POT-02", "replaces": "M-POT-01",
                     "bridging_study": "BR-POT-2025-01"}


def method_change_dossier(dossier_dir, change: dict[str, Any], method: dict[str, Any], phase: str = "bla"):
    spec = {"specifications": [{"material": "drug_product", "tests": [
        {"attribute": "potency", "unit": "pg/mL", "method": "M-POT-02", "criterion": ">= 1000 pg/mL"}]}]}
    return dossier_dir({"changes.yaml": {"changes": [change]}, "specifications.yaml": spec,
                        "methods.yaml": {"methods": [method]}}, phase=phase)


@pytest.mark.parametrize("risk", ["moderate", "major"])
@pytest.mark.parametrize("phase", ["phase_2", "phase_3", "bla", "post_approval"])
def test_cmp002_a_bridged_method_change_needs_no_comparability_study_at_any_risk(dossier_dir, risk, phase):
    # an analytical method replaced: the product is unchanged, its evidence is the bridging study (SPEC-012)
    path = method_change_dossier(dossier_dir, {**POTENCY_ASSAY_CHANGE, "risk": risk}, NEW_POTENCY_ASSAY, phase)
    assert findings_for(path, "CMP-002") == []


@pytest.mark.parametrize("risk", ["moderate", "major"])
def test_cmp002_a_method_change_without_its_bridging_study_stays_a_gap(dossier_dir, risk):
    unbridged = {k: v for k, v in NEW_POTENCY_ASSAY.items() if k != "bridging_study"}
    (f,) = findings_for(method_change_dossier(dossier_dir, {**POTENCY_ASSAY_CHANGE, "risk": risk}, unbridged),
                        "CMP-002")
    assert f.severity.value == "blocker" and f.record == "change CHG-POT"
    assert f.message == (f"{risk.capitalize()} method change CHG-POT records neither a comparability study "
                         "(comparability) nor, for a new method of an affected attribute, the bridging study against "
                         "the method it replaces (methods.yaml bridging_study).")
    assert "`bridging_study`" in f.remedy
    process = method_change_dossier(dossier_dir, {**POTENCY_ASSAY_CHANGE, "kind": "process"}, NEW_POTENCY_ASSAY)
    (g,) = findings_for(process, "CMP-002")  # the bridge of a method is no study of a process change
    assert g.message == "Major change CHG-POT records no comparability study (comparability)."
    # a method change cites the analytical-procedure guidances; a process change does not
    assert any("Q14" in c for c in f.cites) and not any("Q14" in c or "Analytical" in c for c in g.cites)
    assert any("Q5E" in c for c in g.cites)


def test_cmp002_a_minor_method_change_without_bridge_or_summary_says_both_are_missing(dossier_dir):
    unbridged = {k: v for k, v in NEW_POTENCY_ASSAY.items() if k != "bridging_study"}
    minor = {**POTENCY_ASSAY_CHANGE, "risk": "minor", "phase": "phase_2"}
    (f,) = findings_for(method_change_dossier(dossier_dir, minor, unbridged), "CMP-002")
    assert f.severity.value == "major" and "Minor method change CHG-POT" in f.message
    assert "no new method of an affected attribute records its bridging study" in f.message
    assert f.data["missing"] == ["summary", "bridging_study"]
    assert any("Q14" in c for c in f.cites)
    late = {**minor, "phase": "phase_3"}  # at or after the pivotal study, the bridge is still its data
    assert findings_for(method_change_dossier(dossier_dir, late, NEW_POTENCY_ASSAY), "CMP-002") == []


def test_cmp_rules_modelling_proportionate_changes_name_cd5_and_cite_the_may_guidance():
    from cmcflex.rules import REGISTRY
    from cmcflex.rules.citations import FLEX_2026

    for rule_id in ("CMP-001", "CMP-002", "CMP-003", "CMP-007"):
        rule = REGISTRY.get(rule_id)
        assert rule is not None and rule.flexibilities == ("CD5",) and FLEX_2026 in rule.cites, rule_id


# ------------------------------------------------------------------------ CMP-003


@pytest.mark.parametrize("phase, severity", [("phase_2", "minor"), ("phase_3", "major"), ("bla", "blocker")])
def test_cmp003_fires_when_criteria_set_after_the_fact(dossier_dir, phase, severity):
    path = dossier(dossier_dir, change(comparability={"criteria_predefined": False}),
                   rows=lots(PRE, POST_OK), phase=phase)
    (f,) = findings_for(path, "CMP-003")
    assert f.severity.value == severity and "did not set its acceptance criteria in advance" in f.message


@pytest.mark.parametrize("left_out", [("criteria_predefined",), ("method",), ("method", "criteria_predefined")])
def test_cmp003_left_out_method_or_criteria_flag_is_not_shown(dossier_dir, left_out):
    path = dossier(dossier_dir, change(comparability={k: None for k in left_out}),
                   rows=lots(PRE, POST_OK), phase="bla")
    (f,) = findings_for(path, "CMP-003")
    assert f.severity.value == "info" and f.data["not_shown"] == list(left_out)
    assert "not shown" in f.message and all(f"`{k}" in f.remedy for k in left_out)
    recorded = dossier(dossier_dir, change(comparability={"method": None, "criteria_predefined": False}),
                       rows=lots(PRE, POST_OK), phase="bla")
    (f,) = findings_for(recorded, "CMP-003")
    assert f.severity.value == "blocker" and "names no statistical method" in f.message


def test_cmp003_silent_when_predefined_and_not_applied_at_phase_1(dossier_dir):
    ok = dossier(dossier_dir, change(), rows=lots(PRE, POST_OK), phase="bla")
    assert findings_for(ok, "CMP-003") == []
    p1 = dossier(dossier_dir, change(comparability={"criteria_predefined": False}), phase="phase_1")
    assert findings_for(p1, "CMP-003") == []


# ------------------------------------------------------------------------ CMP-004


@pytest.mark.parametrize("phase, severity", [("phase_2", "major"), ("bla", "blocker")])
def test_cmp004_catches_comparable_claim_contradicted_by_lot_data(dossier_dir, phase, severity):
    path = dossier(dossier_dir, change(), rows=lots(PRE, POST_LOW), phase=phase)
    (f,) = findings_for(path, "CMP-004")
    assert f.severity.value == severity
    assert "L-202 = 70" in f.message and "potency" in f.message and "viability" not in f.message
    potency = next(a for a in f.data["attributes"] if a["attribute"] == "potency")
    assert potency["pre"]["mean"] == pytest.approx(100.25)
    sd = statistics.stdev(PRE.values())  # 3.304
    assert potency["pre"]["sd"] == pytest.approx(sd, rel=1e-5)
    assert potency["outside"] == {"L-202": 70.0}
    assert potency["passed"] is False
    assert potency["quality_range"] == pytest.approx([100.25 - 3 * sd, 100.25 + 3 * sd], rel=1e-5)


def test_cmp004_method_left_out_says_the_data_were_recomputed_with_a_quality_range(dossier_dir):
    path = dossier(dossier_dir, change(comparability={"method": None}), rows=lots(PRE, POST_LOW), phase="bla")
    (f,) = findings_for(path, "CMP-004")
    assert f.severity.value == "blocker" and "L-202 = 70" in f.message
    assert f.message.endswith("does not record its method, so the data were recomputed with a quality range "
                              "(pre-change mean ± 3 SD).")
    (g,) = findings_for(dossier(dossier_dir, change(), rows=lots(PRE, POST_LOW), phase="bla"), "CMP-004")
    assert "does not record its method" not in g.message


def test_cmp004_quality_range_written_as_a_range_with_its_unit(dossier_dir):
    rows = [{**row, "unit": "%"} for row in lots(PRE, POST_LOW)]
    path = dossier(dossier_dir, change(), rows=rows, phase="bla")
    (f,) = findings_for(path, "CMP-004")
    assert "pre-change mean 100.2 %, SD 3.304 %, quality range 90.34 to 110.2 %; outside: L-202 = 70 %" \
        in f.message
    assert f.remedy.startswith("Investigate each post-change result outside the quality range")


def test_cmp004_silent_when_data_support_claim(dossier_dir):
    path = dossier(dossier_dir, change(), rows=lots(PRE, POST_OK), phase="bla")
    assert findings_for(path, "CMP-004") == []


def test_cmp004_uses_listed_lot_ids(dossier_dir):
    rows = lots(PRE, POST_LOW)
    study = {"pre_lots": ["L-101", "L-102", "L-103", "L-104"], "post_lots": ["L-201", "L-203", "L-204"]}
    path = dossier(dossier_dir, change(comparability=study), rows=rows, phase="bla")
    assert findings_for(path, "CMP-004") == []  # the low lot L-202 is not in the study


def test_cmp004_few_lots_says_weak_evidence(dossier_dir):
    pre = {"L-101": 100.0, "L-102": 104.0, "L-103": 96.0}
    path = dossier(dossier_dir, change(), rows=lots(pre, {"L-201": 99.0, "L-202": 70.0}), phase="bla")
    (f,) = findings_for(path, "CMP-004")
    assert "24–30 %" in f.message and "87.83 %" in f.message


def test_cmp004_min_max(dossier_dir):
    post = {"L-201": 99.0, "L-202": 105.0, "L-203": 98.0}
    path = dossier(dossier_dir, change(comparability={"method": "min_max"}), rows=lots(PRE, post), phase="bla")
    (f,) = findings_for(path, "CMP-004")
    assert "pre-change range 96 to 104;" in f.message and "L-202 = 105" in f.message
    assert f.remedy.startswith("Investigate each post-change result outside the pre-change minimum to maximum")


def test_cmp004_equivalence_tost(dossier_dir):
    pre = {f"L-1{k:02d}": v for k, v in enumerate([100, 103, 97, 101, 99, 102, 98, 100])}
    shifted = {f"L-2{k:02d}": v + 6 for k, v in enumerate([100, 103, 97, 101, 99, 102, 98, 100])}
    same = {f"L-2{k:02d}": v for k, v in enumerate([100.5, 102, 98, 101, 99.5, 100, 99, 101])}
    study = {"method": "equivalence", "attributes": ["potency"]}
    bad = dossier(dossier_dir, change(comparability=study), rows=lots(pre, shifted), phase="bla")
    (f,) = findings_for(bad, "CMP-004")
    tost = f.data["attributes"][0]["tost"]
    assert tost["equivalent"] is False and tost["margin"] == pytest.approx(1.5 * 2.0, rel=1e-3)
    assert "TOST does not show equivalence" in f.message
    assert f.remedy.startswith("Revise the conclusion to inconclusive or not comparable, or add lots")
    good = dossier(dossier_dir, change(comparability=study), rows=lots(pre, same), phase="bla")
    assert findings_for(good, "CMP-004") == []


def test_cmp004_descriptive_is_info_and_weak(dossier_dir):
    path = dossier(dossier_dir, change(comparability={"method": "descriptive"}), phase="bla")
    (f,) = findings_for(path, "CMP-004")
    assert f.severity.value == "info" and "weak evidence" in f.message
    assert f.remedy.startswith("Set acceptance criteria in an approved protocol")
    assert "outside" not in f.remedy  # a descriptive comparison has no range to fall outside of


def test_cmp004_not_evaluated_with_one_lot_a_side(dossier_dir):
    path = dossier(dossier_dir, change(), rows=lots({"L-101": 100.0}, POST_LOW), phase="bla")
    assert findings_for(path, "CMP-004") == []
    (reason,) = not_evaluated_for(path, "CMP-004")
    assert "1 pre-change" in reason and "at least 2" in reason


def test_cmp004_not_applied_at_phase_1(dossier_dir):
    path = dossier(dossier_dir, change(), rows=lots(PRE, POST_LOW), phase="phase_1")
    assert findings_for(path, "CMP-004") == []


@pytest.mark.parametrize("left_out", ["criteria_predefined", "method"])
def test_cmp003_study_fields_left_out_are_not_shown_at_info(dossier_dir, left_out):
    study = {k: v for k, v in change()["comparability"].items() if k != left_out}
    data = change(comparability=None)
    data["comparability"] = study
    path = dossier(dossier_dir, data, rows=lots(PRE, POST_OK), phase="bla")
    (f,) = findings_for(path, "CMP-003")
    assert f.severity.value == "info" and left_out in f.remedy
    assert ("whether its acceptance criteria were set" in f.message) is (left_out == "criteria_predefined")


def test_cmp003_silent_for_a_study_concluded_not_comparable(dossier_dir):
    """A post hoc criterion can only flatter a 'comparable' claim; a change declared not comparable
    rests on its bridge (CMP-005), not on the criteria."""
    study = {"criteria_predefined": False, "method": "descriptive", "conclusion": "not_comparable",
             "clinical_bridge": "Pivotal study run with post-change product only"}
    path = dossier(dossier_dir, change(comparability=study), rows=lots(PRE, POST_LOW), phase="bla")
    assert findings_for(path, "CMP-003") == [] and findings_for(path, "CMP-005") == []
    claimed = dossier(dossier_dir, change(comparability={**study, "conclusion": "comparable"}),
                      rows=lots(PRE, POST_OK), phase="bla")
    assert [f.severity.value for f in findings_for(claimed, "CMP-003")] == ["blocker"]


# ------------------------------------------------------------------------ CMP-005


@pytest.mark.parametrize("phase, severity", [("phase_2", "major"), ("phase_3", "blocker")])
def test_cmp005_fires_without_bridge(dossier_dir, phase, severity):
    path = dossier(dossier_dir, change(comparability={"conclusion": "inconclusive"}), phase=phase)
    (f,) = findings_for(path, "CMP-005")
    assert f.severity.value == severity and "inconclusive" in f.message


def test_cmp005_silent_with_bridge(dossier_dir):
    study = {"conclusion": "not_comparable", "clinical_bridge": "CLIN-BR-1"}
    path = dossier(dossier_dir, change(comparability=study), phase="bla")
    assert findings_for(path, "CMP-005") == []


# ------------------------------------------------------------------------ CMP-006


@pytest.mark.parametrize("phase, severity", [("phase_3", "major"), ("bla", "blocker")])
def test_cmp006_fires_for_late_major_change_without_pivotal_lots(dossier_dir, phase, severity):
    path = dossier(dossier_dir, change(phase="phase_3"), rows=lots(PRE, POST_OK, pre_use="phase_2",
                                                                   post_use="ppq"), phase=phase)
    (f,) = findings_for(path, "CMP-006")
    assert f.severity.value == severity and "pivotal" in f.message
    assert "implemented in phase 3 / pivotal," in f.message


def test_cmp006_silent_when_pre_lots_are_pivotal_or_change_early(dossier_dir):
    pivotal = dossier(dossier_dir, change(phase="phase_3"),
                      rows=lots(PRE, POST_OK, pre_use="phase_3", post_use="ppq"), phase="bla")
    assert findings_for(pivotal, "CMP-006") == []
    early = dossier(dossier_dir, change(phase="phase_2"), rows=lots(PRE, POST_OK), phase="bla")
    assert findings_for(early, "CMP-006") == []
    post_approval = dossier(dossier_dir, change(phase="phase_3"),
                            rows=lots(PRE, POST_OK, post_use="ppq"), phase="post_approval")
    assert findings_for(post_approval, "CMP-006") == []


def test_cmp006_leaves_a_method_change_to_its_bridging_study(dossier_dir):
    """A potency assay replaced after the pivotal study changes how the product is measured, not the
    product: no pivotal pre-change lot is asked for."""
    method = change(phase="bla", kind="method", comparability=None, from_version=None, to_version=None)
    rows = lots(PRE, POST_OK, pre_use="phase_2", post_use="ppq")
    assert findings_for(dossier(dossier_dir, method, rows=rows, phase="bla"), "CMP-006") == []


def test_cmp006_silent_when_the_pivotal_study_ran_on_the_changed_process(dossier_dir):
    """A change introduced for the pivotal study: every pivotal lot is post-change, so no pivotal
    pre-change lot exists to compare against; phase 2 lots are the right comparator."""
    before = dossier(dossier_dir, change(phase="phase_3"), rows=lots(PRE, POST_OK, pre_use="phase_2",
                                                                     post_use="phase_3"), phase="bla")
    assert findings_for(before, "CMP-006") == []
    # a pivotal lot made by the earlier process, left out of the study: the gap stands
    rows = lots(PRE, POST_OK, pre_use="phase_2", post_use="phase_3")
    rows += lot_rows("L-150", "phase_3", {"potency": 101.0, "viability": 88}, process_version="v1")
    listed = change(phase="phase_3", comparability={"pre_lots": list(PRE)})
    (f,) = findings_for(dossier(dossier_dir, listed, rows=rows, phase="bla"), "CMP-006")
    assert f.severity.value == "blocker"


# ------------------------------------------------------------------------ CMP-007


@pytest.mark.parametrize("phase, severity", [("phase_2", "minor"), ("bla", "major")])
def test_cmp007_fires_for_healthy_donor_study_of_autologous_product(dossier_dir, phase, severity):
    path = dossier(dossier_dir, change(), rows=lots(PRE, POST_OK, post_start="healthy_donor"), phase=phase)
    (f,) = findings_for(path, "CMP-007")
    assert f.severity.value == severity and "healthy_donor" in f.message


def test_cmp007_post_lots_without_starting_material_are_not_shown(dossier_dir):
    path = dossier(dossier_dir, change(), rows=lots(PRE, POST_OK, post_start=""), phase="bla")
    (f,) = findings_for(path, "CMP-007")
    assert f.severity.value == "info" and "do not record their starting material" in f.message
    assert "starting_material column" in f.remedy


def test_cmp007_silent_for_patient_lots_split_source_or_allogeneic(dossier_dir):
    patient = dossier(dossier_dir, change(), rows=lots(PRE, POST_OK), phase="bla")
    assert findings_for(patient, "CMP-007") == []
    split = dossier(dossier_dir, change(comparability={"design": "split_source"}),
                    rows=lots(PRE, POST_OK, post_start="healthy_donor"), phase="bla")
    assert findings_for(split, "CMP-007") == []
    allo = dossier(dossier_dir, change(), rows=lots(PRE, POST_OK, post_start="healthy_donor"), phase="bla",
                   product={"name": "T", "modality": "car_t_allogeneic"})
    assert findings_for(allo, "CMP-007") == []


PLANNED = {"design": "side_by_side", "pre_lots": list(PRE), "method": "quality_range", "criteria_predefined": True,
           "conclusion": "pending"}


def engineering_run() -> list[dict[str, Any]]:
    """The pre-change patient lots and one healthy-donor engineering run of v2, in no study."""
    return lots(PRE, {}) + lot_rows("ENG-201", "engineering", {"potency": 99.0}, process_version="v2",
                                    starting_material="healthy_donor", disposition="not_applicable")


@pytest.mark.parametrize("post_lots", ["left out", []])
def test_cmp007_a_planned_study_without_post_change_lots_is_not_judged_on_inferred_lots(dossier_dir, post_lots):
    study = dict(PLANNED) if post_lots == "left out" else {**PLANNED, "post_lots": post_lots}
    planned = change(comparability=None)
    planned["comparability"] = study
    path = dossier(dossier_dir, planned, rows=engineering_run(), phase="bla")
    assert findings_for(path, "CMP-007") == []
    (reason,) = not_evaluated_for(path, "CMP-007")
    assert reason.startswith("change CHG-001: the comparability study lists no post-change lots yet (post_lots")
    assert "ENG-201" not in reason
    # the rule still fires on post-change lots the study lists, or that a study it has run infers
    listed = change(comparability=None)
    listed["comparability"] = {**PLANNED, "post_lots": ["ENG-201"]}
    (f,) = findings_for(dossier(dossier_dir, listed, rows=engineering_run(), phase="bla"), "CMP-007")
    assert f.severity.value == "major" and "healthy_donor" in f.message and f.data["post_lots"] == ["ENG-201"]
    concluded = change(comparability={"conclusion": "comparable"})  # post_lots left out: the to_version lots
    (g,) = findings_for(dossier(dossier_dir, concluded, rows=engineering_run(), phase="bla"), "CMP-007")
    assert g.data["post_lots"] == ["ENG-201"]


# ------------------------------------------------------------------------ CMP-008


def test_cmp008_fires_post_approval_for_missing_or_wrong_category(dossier_dir):
    missing = dossier(dossier_dir, change(phase="post_approval"), rows=lots(PRE, POST_OK),
                      phase="post_approval")
    (f,) = findings_for(missing, "CMP-008")
    assert f.severity.value == "blocker" and "no reporting category" in f.message
    wrong = dossier(dossier_dir, change(phase="post_approval", reporting_category="CBE-30"),
                    rows=lots(PRE, POST_OK), phase="post_approval")
    (g,) = findings_for(wrong, "CMP-008")
    assert "PAS" in g.message


def test_cmp008_minor_change_without_category_is_a_blocker_with_the_annual_report_hint(dossier_dir):
    path = dossier(dossier_dir, {**MINOR, "phase": "post_approval"}, phase="post_approval")
    (f,) = findings_for(path, "CMP-008")
    assert f.severity.value == "blocker" and f.record == "change CHG-009"
    assert "annual report (21 CFR 601.12(d))" in f.message
    assert "21 CFR 601.12(d)" in f.remedy


def test_cmp_info_grades_are_declared_in_metadata():
    from cmcflex.rules import REGISTRY

    for rule_id in ("CMP-001", "CMP-002", "CMP-003", "CMP-004", "CMP-007"):
        rule = REGISTRY.get(rule_id)
        assert "info" in rule.grading and (not rule.partial or rule_id == "CMP-002"), rule_id
    assert "at most major" in REGISTRY.get("CMP-002").grading
    assert REGISTRY.get("CMP-008").grading == ""


def test_cmp008_silent_with_pas_and_before_approval(dossier_dir):
    pas = dossier(dossier_dir, change(phase="post_approval", reporting_category="PAS"),
                  rows=lots(PRE, POST_OK), phase="post_approval")
    assert findings_for(pas, "CMP-008") == []
    bla = dossier(dossier_dir, change(phase="bla"), rows=lots(PRE, POST_OK), phase="bla")
    assert findings_for(bla, "CMP-008") == []


# ------------------------------------------------------------------------ the proportionate minor change


def test_proportionate_minor_change_is_quiet_in_every_cmp_rule(dossier_dir):
    path = dossier(dossier_dir, MINOR, phase="bla")
    for rule_id in ("CMP-001", "CMP-002", "CMP-003", "CMP-004", "CMP-005", "CMP-006", "CMP-007"):
        assert [f for f in findings_for(path, rule_id) if f.severity.value != "info"] == [], rule_id
    assert all(findings_for(path, r) == [] for r in ("CMP-001", "CMP-002"))


# ------------------------------------------------------------------------ metadata as the catalogue


def test_cmp_severities_and_slugs_match_the_catalogue(shared_dir):
    """Every CMP row of rules-catalogue.md: same slug and severities by phase as the registry."""
    from cmcflex.phases import PHASES
    from cmcflex.rules import REGISTRY

    short = {"B": "blocker", "Ma": "major", "Mi": "minor", "I": "info"}
    rows = [line.split("|")[1:-1] for line in (shared_dir / "rules-catalogue.md").read_text().splitlines()
            if line.startswith("| CMP-")]
    assert len(rows) == 8
    for cells in rows:
        rule_id, slug, _, *severities, _ = (c.strip() for c in cells)
        rule = REGISTRY.get(rule_id)
        assert rule is not None and rule.slug == slug, rule_id
        expected = {p: short[s] for p, s in zip(PHASES, severities) if s != "—"}
        assert {p: s.value for p, s in rule.severity.items()} == expected, rule_id


# ------------------------------------------------------------------------ kind: specification

SPEC_REVISION = {"id": "CHG-012", "title": "Viability limit revised from 30 commercial lots",
                 "kind": "specification", "phase": "post_approval", "risk": "major",
                 "risk_assessment": "RA-061", "affected_attributes": ["viability"]}
PROCESS_LATE = dict(SPEC_REVISION, id="CHG-013", kind="process", title="New expansion bag")


@pytest.mark.parametrize("rule, phase, change_phase", [("CMP-002", "post_approval", "post_approval"),
                                                       ("CMP-006", "bla", "phase_3")])
def test_specification_revision_needs_no_comparability_study(dossier_dir, rule: str, phase: str,
                                                             change_phase: str) -> None:
    # the same change as a process change is reported; as a revision of criteria it is not
    rows = lots(PRE, POST_OK)
    revision = dict(SPEC_REVISION, reporting_category="PAS", phase=change_phase)
    assert findings_for(dossier(dossier_dir, revision, rows=rows, phase=phase), rule) == []
    process = dict(PROCESS_LATE, reporting_category="PAS", phase=change_phase)
    found = findings_for(dossier(dossier_dir, process, rows=rows, phase=phase), rule)
    assert [f.record for f in found] == ["change CHG-013"]


def test_specification_revision_with_a_study_section_is_not_recomputed(dossier_dir) -> None:
    study = {"design": "historical", "attributes": ["potency"], "method": None, "criteria_predefined": None,
             "conclusion": "not_comparable"}
    rows = lots(PRE, POST_LOW, post_start="healthy_donor")
    versions = {"from_version": "v1", "to_version": "v2", "reporting_category": "PAS", "comparability": study}
    path = dossier(dossier_dir, dict(SPEC_REVISION, **versions), rows=rows, phase="post_approval")
    for rule in ("CMP-003", "CMP-004", "CMP-005", "CMP-007"):
        assert findings_for(path, rule) == [], rule
    process = dossier(dossier_dir, dict(PROCESS_LATE, **versions), rows=rows, phase="post_approval")
    assert {f.rule for f in report_findings(process)} >= {"CMP-005", "CMP-007"}
    claimed = dict(versions, comparability={"design": "side_by_side", "attributes": ["potency"],
                                            "method": "quality_range", "criteria_predefined": True,
                                            "conclusion": "comparable"})
    assert findings_for(dossier(dossier_dir, dict(SPEC_REVISION, **claimed), rows=rows, phase="post_approval"),
                        "CMP-004") == []
    assert [f.record for f in findings_for(dossier(dossier_dir, dict(PROCESS_LATE, **claimed), rows=rows,
                                                   phase="post_approval"), "CMP-004")] == ["change CHG-013"]


def report_findings(path):
    from tests.helpers import report_for

    return report_for(path).findings


def test_specification_revision_keeps_its_reporting_category(dossier_dir) -> None:
    path = dossier(dossier_dir, SPEC_REVISION, phase="post_approval")
    found = findings_for(path, "CMP-008")
    assert [f.record for f in found] == ["change CHG-012"]
    assert "601.12(b)(2)(i)" in found[0].message and "prior approval supplement" in found[0].remedy
    filed = dossier(dossier_dir, dict(SPEC_REVISION, reporting_category="PAS"), phase="post_approval")
    assert findings_for(filed, "CMP-008") == []
    cbe = dossier(dossier_dir, dict(SPEC_REVISION, reporting_category="CBE-30"), phase="post_approval")
    assert [f.record for f in findings_for(cbe, "CMP-008")] == ["change CHG-012"]  # major, not PAS
    minor = dossier(dossier_dir, dict(SPEC_REVISION, risk="minor", reporting_category="annual_report"),
                    phase="post_approval")
    assert findings_for(minor, "CMP-008") == []


def test_specification_revision_still_needs_a_risk_assessment(dossier_dir) -> None:
    path = dossier(dossier_dir, dict(SPEC_REVISION, risk_assessment=None, reporting_category="PAS"),
                   phase="post_approval")
    assert [f.record for f in findings_for(path, "CMP-001")] == ["change CHG-012"]
    assert findings_for(dossier(dossier_dir, dict(SPEC_REVISION, reporting_category="PAS"), phase="post_approval"),
                        "CMP-001") == []


def test_cmp004_leaves_rejected_lots_out_of_an_inferred_study(dossier_dir):
    """A rejected isolation failed release and was never product: it is no post-change lot of the study."""
    rows = lots(PRE, POST_OK)
    rows += lot_rows("L-299", "phase_3", {"potency": 40.0, "viability": 60}, process_version="v2",
                     disposition="rejected")
    inferred = change()
    assert findings_for(dossier(dossier_dir, inferred, rows=rows, phase="bla"), "CMP-004") == []
    listed = change(comparability={"post_lots": [*POST_OK, "L-299"]})  # named in the study: judged
    assert [f.record for f in findings_for(dossier(dossier_dir, listed, rows=rows, phase="bla"), "CMP-004")] == [
        "change CHG-001"]


def test_cmp004_lower_impurities_after_a_change_are_not_evidence_against_comparability(dossier_dir):
    """Residual DNA limited from above only: post-change lots below the pre-change range differ on
    the side the limit allows (ICH Q5E); above it, the study's conclusion is contradicted."""
    specs = {"specifications": [{"material": "drug_product", "tests": [
        {"attribute": "residual_host_cell_dna", "unit": "ng/dose", "criterion": "<= 10 ng/dose"}]}]}

    def rows(post: list[float]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for k, v in enumerate([0.88, 1.05, 0.97, 0.92]):
            out += lot_rows(f"L-10{k}", "phase_2", {"residual_host_cell_dna": v}, process_version="v1")
        for k, v in enumerate(post):
            out += lot_rows(f"L-20{k}", "phase_3", {"residual_host_cell_dna": v}, process_version="v2")
        return out

    study = change(affected_attributes=["residual_host_cell_dna"],
                   comparability={"attributes": ["residual_host_cell_dna"]})
    lower = dossier_dir({"changes.yaml": {"changes": [study]}, "lots.csv": rows([0.31, 0.28, 0.35, 0.30]),
                         "specifications.yaml": specs}, phase="bla")
    found = findings_for(lower, "CMP-004")
    assert [f.severity.value for f in found] == ["info"]
    assert "below the pre-change range of attributes limited from above only" in found[0].message
    higher = dossier_dir({"changes.yaml": {"changes": [study]}, "lots.csv": rows([2.1, 2.4, 1.9, 2.2]),
                          "specifications.yaml": specs}, phase="bla")
    assert [f.severity.value for f in findings_for(higher, "CMP-004")] == ["blocker"]


def test_cmp004_a_descriptive_study_the_lot_data_contradict_is_graded(dossier_dir):
    """'Descriptive' sets no criteria, but the data are there: four pre-change lots read with a
    quality range put a post-change lot far outside, as a study without criteria would be read."""
    descriptive = change(comparability={"method": "descriptive"})
    low = dossier(dossier_dir, descriptive, rows=lots(PRE, POST_LOW), phase="bla")
    (f,) = findings_for(low, "CMP-004")
    assert f.severity.value == "blocker" and "read with a quality range" in f.message and "L-202" in f.message
    ok = dossier(dossier_dir, descriptive, rows=lots(PRE, POST_OK), phase="bla")
    (g,) = findings_for(ok, "CMP-004")
    assert g.severity.value == "info" and "weak evidence" in g.message
