"""PPQ rules: each fires and stays silent at the phases where its severity differs."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from cmcflex.dossier.loader import load_dossier
from cmcflex.rules.base import Severity
from cmcflex.views import DossierViews
from tests.helpers import findings_for, lot_rows, not_evaluated_for, report_for

B, MA, MI, I = Severity.BLOCKER, Severity.MAJOR, Severity.MINOR, Severity.INFO
MISSING = object()

PPQ: dict[str, Any] = {
    "protocol": {
        "id": "PPQ-PROT-001",
        "approved_by_quality_unit": True,
        "site": "SITE-A",
        "scale": "commercial",
        "lots_planned": 2,
        "lot_count_justification": {
            "approach": "process_knowledge",
            "text": "Stage 1 studies and 31 clinical lots of the commercial process show low variability.",
            "evidence": ["PD-RPT-007", "CLIN-MFG-SUMMARY-2"],
            "control_strategy": "Every lot is release-tested; CPV-PLAN-01 trends every commercial lot.",
        },
        "starting_material": "patient",
        "concurrent_release": {
            "planned": True,
            "rationale": "Autologous product; each lot is one patient's only dose.",
            "lots_meet_release_criteria": True,
            "failure_plan": "If PPQ fails, distributed lots are assessed under CAPA-PLAN-9.",
        },
        "elements": {
            "operating_conditions": "s5", "data_to_collect": "s6", "tests_and_criteria": "s7",
            "sampling_plan": "s8", "statistical_methods": "s9", "deviation_handling": "s10",
        },
        "prerequisites": {
            "facility_equipment_qualified": True, "personnel_trained": True,
            "material_sources_verified": True, "analytical_methods_validated": "VAL-SUM-1",
            "aseptic_simulation_current": True, "hold_times_validated": True,
            "shipping_validated": True, "vector_process_validated": "VAL-LVV-PPQ-2",
        },
    },
    "report": {"id": "PPQ-RPT-001", "status": "complete", "conclusion": "validated", "open_deviations": 0},
    "continued_process_verification": "CPV-PLAN-01",
}

SPECS = {"specifications": [{"material": "drug_product", "tests": [
    {"attribute": "sterility", "criterion": "No growth"},
    {"attribute": "viability", "unit": "%", "criterion": ">= 70"},
]}]}

SITES = [
    {"id": "SITE-A", "roles": ["drug_product"], "commercial": True},
    {"id": "SITE-B", "roles": ["drug_product"], "commercial": False},
]


def ppq_summary(d: Any) -> Any:
    """The report's PPQ digest of a loaded dossier (its ``ppq_summary`` view)."""
    return DossierViews(d).ppq_summary


def ppq(**changes: Any) -> dict[str, Any]:
    """The complete PPQ above with changes at dotted paths (``MISSING`` removes a key)."""
    data = copy.deepcopy(PPQ)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = data
        for key in parents:
            node = node[key]
        if value is MISSING:
            node.pop(last, None)
        else:
            node[last] = value
    return data


def lots(*specs: tuple[str, dict[str, Any]], use: str = "ppq", **lot: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for lot_id, values in specs:
        rows += lot_rows(lot_id, use, values, **lot)
    return rows


# PPQ not yet executed: nothing the protocol record leaves out can be inferred from a validated report.
UNEXECUTED = {"report__status": "in_progress", "report__conclusion": "pending"}

GOOD_LOTS = lots(("PPQ-1", {"sterility": "No growth", "viability": 88.0}),
                 ("PPQ-2", {"sterility": "No growth", "viability": 91.5}))


@pytest.fixture
def make(dossier_dir: Callable[..., Path]) -> Callable[..., Path]:
    """make(phase, ppq=..., lots=..., **dossier keys): a dossier with specs and two sites."""

    def build(phase: str = "bla", ppq_data: Any = PPQ, lot_data: Any = GOOD_LOTS, **overrides: Any) -> Path:
        files: dict[str, Any] = {"specifications.yaml": SPECS}
        if ppq_data is not None:
            files["ppq.yaml"] = ppq_data
        if lot_data is not None:
            files["lots.csv"] = lot_data
        overrides.setdefault("sites", SITES)
        return dossier_dir(files, phase=phase, **overrides)

    return build


def one(path: Path, rule_id: str, phase: str | None = None, target: str | None = None):  # type: ignore[no-untyped-def]
    found = findings_for(path, rule_id, phase=phase, target=target)
    assert len(found) == 1, [f.message for f in found]
    return found[0]


# ---------------------------------------------------------------------------- the done-when case


def test_justified_two_lot_ppq_with_concurrent_release_has_no_gap_above_info(make):
    report = report_for(make("bla"))
    ppq_findings = [f for f in report.findings if f.area == "PPQ"]
    assert [(f.rule, f.severity) for f in ppq_findings] == [("PPQ-002", I)]
    assert "flexibility" in ppq_findings[0].message and "process knowledge" in ppq_findings[0].message
    assert not [n for n in report.not_evaluated if n.rule.startswith("PPQ")]


def test_same_ppq_without_justification_or_failure_plan_gets_catalogue_gaps(make):
    path = make("bla", ppq(protocol__lot_count_justification=MISSING,
                           protocol__concurrent_release__failure_plan=MISSING))
    report = report_for(path)
    got = sorted((f.rule, f.severity) for f in report.findings if f.area == "PPQ")
    assert got == [("PPQ-002", MA), ("PPQ-005", MA)]


def test_ppq_rules_do_not_apply_before_phase_3(make):
    report = report_for(make("phase_2", ppq_data=None))
    assert not [r for r in report.rules_evaluated if r.startswith("PPQ")]


# ---------------------------------------------------------------------------- PPQ-001


@pytest.mark.parametrize("phase,severity", [("phase_3", MI), ("bla", B), ("post_approval", B)])
def test_ppq001_fires_without_protocol(make, phase, severity):
    f = one(make(phase, ppq_data=None), "PPQ-001")
    assert f.severity is severity and f.file == "ppq.yaml"
    assert ("needed by BLA" in f.message) == (phase == "phase_3")


def test_ppq001_fires_on_ppq_file_without_protocol(make):
    f = one(make("bla", ppq(protocol=MISSING)), "PPQ-001")
    assert "no protocol" in f.message


@pytest.mark.parametrize("phase", ["phase_3", "bla"])
def test_ppq001_silent_with_protocol(make, phase):
    assert findings_for(make(phase), "PPQ-001") == []


def test_target_bla_from_phase_3_shows_bla_view(make):
    path = make("phase_3", ppq_data=None)
    f = one(path, "PPQ-001", target="bla")
    assert f.severity is B and "(needed by BLA)" in f.message
    assert "— needed by BLA" not in f.message


def test_pivotal_phase_2_dossier_gets_phase_3_advice(make):
    path = make("phase_2", ppq_data=None, pivotal_phase="phase_2")
    f = one(path, "PPQ-001")
    assert f.severity is MI and f.message.endswith(" (needed by BLA).")


# ---------------------------------------------------------------------------- PPQ-002


@pytest.mark.parametrize("phase", ["phase_3", "bla"])
def test_ppq002_two_justified_lots_is_info_naming_the_flexibility(make, phase):
    f = one(make(phase), "PPQ-002")
    assert f.severity is I
    assert "2026 CBER flexibility" in f.message and f.data["flexibility"] == "fewer_ppq_lots"
    assert f.data["on_record"] == ["control_strategy"]
    assert f.data["in_text"] == ["process_understanding", "process_complexity"]
    assert "(product and process understanding and process complexity read from its text)" in f.message
    assert "with evidence PD-RPT-007, CLIN-MFG-SUMMARY-2" in f.message


@pytest.mark.parametrize("phase,severity", [("phase_3", MI), ("bla", MA), ("post_approval", MA)])
def test_ppq002_two_lots_without_justification_is_the_gap(make, phase, severity):
    f = one(make(phase, ppq(protocol__lot_count_justification=MISSING)), "PPQ-002")
    assert f.severity is severity
    assert "2 PPQ lots" in f.message and "flexibility" in f.message
    assert f.record == "protocol PPQ-PROT-001" and f.line
    assert f.data["missing"] == ["process_understanding", "process_complexity", "control_strategy", "evidence"]


FACTOR_FIELDS = {
    "process_understanding": "Stage 1 characterisation of 31 clinical lots (PC-RPT-5).",
    "process_complexity": "Patient apheresis drives the variability; eight unit operations.",
    "control_strategy": "Release testing of every lot and CPV of each commercial lot.",
}


def test_ppq002_structured_factors_justify_two_lots_without_any_text(make):
    just = {**FACTOR_FIELDS, "evidence": ["PC-RPT-5"]}
    f = one(make("bla", ppq(protocol__lot_count_justification=just)), "PPQ-002")
    assert f.severity is I and f.data["flexibility"] == "fewer_ppq_lots" and f.data["approach"] is None
    assert f.data["on_record"] == list(FACTOR_FIELDS) and f.data["in_text"] == []
    assert "read from the text" not in f.message


@pytest.mark.parametrize("factor", list(FACTOR_FIELDS))
@pytest.mark.parametrize("phase,severity", [("phase_3", I), ("bla", MI), ("post_approval", MI)])
def test_ppq002_a_missing_factor_is_named_and_graded_below_a_missing_justification(make, factor, phase, severity):
    just = {k: v for k, v in FACTOR_FIELDS.items() if k != factor} | {"evidence": ["PC-RPT-5"]}
    f = one(make(phase, ppq(protocol__lot_count_justification=just)), "PPQ-002")
    assert f.severity is severity and f.data["missing"] == [factor]
    assert f"(no {factor} field)" in f.message and "does not show" in f.message
    assert f"{factor} (" in f.remedy and "flexibility" in f.message


def test_ppq002_text_that_misses_a_factor_says_it_was_not_found_in_the_text(make):
    just = {"approach": "process_knowledge", "evidence": ["PD-RPT-007"],
            "text": "Stage 1 studies and 31 clinical lots of the commercial process show low variability."}
    f = one(make("bla", ppq(protocol__lot_count_justification=just)), "PPQ-002")
    assert f.severity is MI and f.data["missing"] == ["control_strategy"]
    assert "the control strategy (no control_strategy field, and not found in the text)" in f.message
    assert "product and process understanding and process complexity in its text" in f.message
    assert f.data["in_text"] == ["process_understanding", "process_complexity"]


def test_ppq002_a_text_covering_every_factor_justifies_two_lots(make):
    text = ("Stage 1 characterisation (PC-RPT-CRX-005) of 15 lots of the commercial process shows patient "
            "variability, not the process, dominates; continued process verification of every lot follows.")
    f = one(make("bla", ppq(protocol__lot_count_justification={"text": text})), "PPQ-002")
    assert f.severity is I and f.data["flexibility"] == "fewer_ppq_lots"
    assert f.data["evidence"] == ["PC-RPT-CRX-005"]  # the document the text cites is its evidence


def test_ppq002_understanding_without_any_evidence_is_named(make):
    just = {**FACTOR_FIELDS, "process_understanding": "Stage 1 characterisation of 31 clinical lots."}
    f = one(make("bla", ppq(protocol__lot_count_justification=just)), "PPQ-002")
    assert f.severity is MI and f.data["missing"] == ["evidence"]
    assert "evidence (no evidence list)" in f.message and "evidence (the documents" in f.remedy


@pytest.mark.parametrize("text,convention", [
    ("Three PPQ lots is customary.", "customary"),
    ("3 lots, the industry standard.", "industry standard"),
    ("Two lots per FDA expectation for cell therapies.", "per FDA"),
])
def test_ppq002_a_bare_convention_is_no_justification(make, text, convention):
    f = one(make("bla", ppq(protocol__lot_count_justification={"text": text})), "PPQ-002")
    assert f.severity is MA and f.data["convention"] == convention
    assert f"only by convention ('{convention}')" in f.message


def test_ppq002_a_convention_citing_a_document_is_still_no_justification(make):
    just = {"approach": "statistical", "text": "Three lots are standard practice (SOP-VAL-001).",
            "evidence": ["SOP-VAL-001"]}
    f = one(make("bla", ppq(protocol__lots_planned=3, protocol__lot_count_justification=just)), "PPQ-002")
    assert f.severity is MI and "standard practice" in f.message


def test_ppq002_convention_beside_a_factor_is_read_by_the_factor(make):
    text = "Three lots is customary; they cover both operator shifts (RA-PPQ-9)."
    f = one(make("bla", ppq(protocol__lots_planned=3, protocol__lot_count_justification={"text": text})),
            "PPQ-002")
    assert f.severity is I and "convention" not in f.message and "convention" not in f.data
    assert f.data["in_text"] == ["process_complexity"]


def test_ppq002_text_speaking_of_no_factor_without_evidence_is_no_justification(make):
    f = one(make("bla", ppq(protocol__lot_count_justification={"text": "See protocol section 4."})), "PPQ-002")
    assert f.severity is MA and "speaks of none of" in f.message


def test_ppq002_text_citing_a_document_but_no_factor_is_partial(make):
    just = {"text": "See PD-RPT-007.", "approach": "process_knowledge"}
    f = one(make("bla", ppq(protocol__lot_count_justification=just)), "PPQ-002")
    assert f.severity is MI and "evidence" not in f.data["missing"]


def test_ppq002_approach_alone_is_no_justification(make):
    f = one(make("bla", ppq(protocol__lot_count_justification={"approach": "statistical"})), "PPQ-002")
    assert f.severity is MA and "names only an approach (statistical)" in f.message


def test_ppq002_three_justified_lots_silent(make):
    assert findings_for(make("bla", ppq(protocol__lots_planned=3)), "PPQ-002") == []


@pytest.mark.parametrize("phase,severity", [("phase_3", I), ("bla", MI), ("post_approval", MI)])
def test_ppq002_three_lots_without_justification_is_minor_at_bla(make, phase, severity):
    path = make(phase, ppq(protocol__lots_planned=3, protocol__lot_count_justification=MISSING))
    f = one(path, "PPQ-002")
    assert f.severity is severity and "(3)" in f.message and "has no lot-count justification" in f.message
    assert "flexibility" not in f.message


@pytest.mark.parametrize("phase", ["phase_3", "bla", "post_approval"])
def test_ppq002_three_lots_with_a_factor_left_out_is_info(make, phase):
    just = {"text": "3 patient lots span both operator teams and two vector lots (RA-PPQ-BGT)."}
    f = one(make(phase, ppq(protocol__lots_planned=3, protocol__lot_count_justification=just)), "PPQ-002")
    assert f.severity is I and f.data["missing"] == ["process_understanding", "control_strategy"]
    assert "flexibility" not in f.message


def test_ppq002_declares_its_grades_in_metadata():
    from cmcflex.rules import REGISTRY

    rule = REGISTRY.get("PPQ-002")
    assert "info" in rule.grading and "flexibility" in rule.grading and "convention" in rule.grading
    assert {p.value: s for p, s in rule.partial.items()} == {"bla": MI, "post_approval": MI}
    assert rule.flexibilities == ("PV1", "PV2") and "secondary source" in rule.why


def test_ppq002_no_justification_at_all_says_so(make):
    f = one(make("bla", ppq(protocol__lot_count_justification=MISSING)), "PPQ-002")
    assert "has no lot-count justification" in f.message and "does not show" not in f.message
    f3 = one(make("bla", ppq(protocol__lot_count_justification=MISSING, protocol__lots_planned=3)), "PPQ-002")
    assert "has no lot-count justification" in f3.message and "does not show" not in f3.message

def test_ppq002_lot_count_left_out_is_read_from_the_executed_lots(make):
    f = one(make("bla", ppq(protocol__lots_planned=MISSING)), "PPQ-002")
    assert f.severity is I and "records no lots_planned; lots.csv holds 2 PPQ lots" in f.message
    unjustified = make("bla", ppq(protocol__lots_planned=MISSING, protocol__lot_count_justification=MISSING))
    f = one(unjustified, "PPQ-002")
    assert f.severity is MA and "has no lot-count justification" in f.message


def test_ppq002_lot_count_left_out_without_ppq_lots_is_not_shown(make):
    f = one(make("bla", ppq(protocol__lots_planned=MISSING), lot_data=None), "PPQ-002")
    assert f.severity is I and "not shown" in f.message and "lots_planned" in f.remedy
    assert one(make("bla", ppq(protocol__lots_planned=0)), "PPQ-002").severity is MA


def test_ppq002_not_evaluated_without_protocol(make):
    path = make("bla", ppq_data=None)
    assert findings_for(path, "PPQ-002") == []
    assert not_evaluated_for(path, "PPQ-002") == []  # one line for all PPQ rules instead


@pytest.mark.parametrize("ppq_data", [None, {"continued_process_verification": "CPV-1"}])
def test_without_a_protocol_the_ppq_rules_wait_on_ppq001_in_one_line(make, ppq_data):
    report = report_for(make("bla", ppq_data=ppq_data))
    assert [f.severity for f in report.findings if f.rule == "PPQ-001"] == [B]
    assert not [n for n in report.not_evaluated if n.rule.startswith("PPQ")]
    (entry,) = [n for n in report.no_records if n.file == "ppq.yaml"]
    assert entry.file == "ppq.yaml" and entry.note.startswith("ppq.yaml: no PPQ protocol on record; PPQ-")
    assert entry.note.endswith("wait on it (see PPQ-001)") and "PPQ-001" not in entry.rules
    assert "PPQ-002" in entry.rules and ("PPQ-009" in entry.rules) is (ppq_data is None)


# ---------------------------------------------------------------------------- PPQ-003


def test_ppq003_elements_left_out_entirely_are_not_shown(make):
    f = one(make("bla", ppq(**UNEXECUTED, protocol__elements=MISSING)), "PPQ-003")
    assert f.severity is I and "not shown" in f.message and f.data["missing"] == [
        "operating_conditions", "data_to_collect", "tests_and_criteria", "sampling_plan",
        "statistical_methods", "deviation_handling"]
    assert "Record protocol.elements" in f.remedy


@pytest.mark.parametrize("phase,severity", [("phase_3", I), ("bla", B)])
def test_ppq003_names_each_missing_element(make, phase, severity):
    path = make(phase, ppq(**UNEXECUTED, protocol__elements__sampling_plan=MISSING,
                           protocol__elements__statistical_methods=""))
    f = one(path, "PPQ-003")
    assert f.severity is severity
    assert f.data["missing"] == ["sampling_plan", "statistical_methods"]
    assert "sampling_plan and statistical_methods" in f.message


@pytest.mark.parametrize("phase", ["phase_3", "bla"])
def test_ppq003_silent_with_all_elements(make, phase):
    assert findings_for(make(phase), "PPQ-003") == []


# ---------------------------------------------------------------------------- PPQ-004


@pytest.mark.parametrize("phase,severity", [("phase_3", I), ("bla", B)])
def test_ppq004_fires_when_not_approved(make, phase, severity):
    f = one(make(phase, ppq(protocol__approved_by_quality_unit=False)), "PPQ-004")
    assert f.severity is severity and "quality unit" in f.message


def test_ppq004_approval_left_out_is_not_shown(make):
    f = one(make("bla", ppq(**UNEXECUTED, protocol__approved_by_quality_unit=MISSING)), "PPQ-004")
    assert f.severity is I and "not shown (approved_by_quality_unit)" in f.message
    assert "approved_by_quality_unit: true" in f.remedy


def test_ppq004_silent_when_approved(make):
    assert findings_for(make("bla"), "PPQ-004") == []


# ---------------------------------------------------------------------------- PPQ-005


@pytest.mark.parametrize("part,bla_severity,p3_severity", [
    ("rationale", MA, MI), ("lots_meet_release_criteria", I, I), ("failure_plan", MA, MI)])
def test_ppq005_checks_each_part_separately(make, part, bla_severity, p3_severity):
    changed = ppq(**{f"protocol__concurrent_release__{part}": MISSING})
    f = one(make("bla", changed), "PPQ-005")
    assert f.severity is bla_severity and f.data["part"] == part
    f3 = one(make("phase_3", changed), "PPQ-005")
    assert f3.severity is p3_severity and f3.message.endswith(" (needed by BLA).")


def test_ppq005_commitment_left_out_is_not_shown(make):
    f = one(make("bla", ppq(protocol__concurrent_release__lots_meet_release_criteria=MISSING)), "PPQ-005")
    assert f.severity is I and "is not shown (lots_meet_release_criteria)" in f.message
    assert "lots_meet_release_criteria: true" in f.remedy


def test_ppq005_commitment_false_is_a_blocker(make):
    path = make("bla", ppq(protocol__concurrent_release__lots_meet_release_criteria=False))
    assert one(path, "PPQ-005").severity is B


def test_ppq005_all_parts_missing_gives_three_gaps(make):
    path = make("bla", ppq(protocol__concurrent_release={"planned": True}))
    found = findings_for(path, "PPQ-005")
    assert sorted(f.data["part"] for f in found) == ["failure_plan", "lots_meet_release_criteria", "rationale"]


def test_ppq005_a_stated_production_limitation_stands_for_the_rationale(make):
    limited = ppq(protocol__concurrent_release__rationale=MISSING,
                  protocol__concurrent_release__production_limitation="One patient's apheresis per lot.")
    assert findings_for(make("bla", limited), "PPQ-005") == []
    f = one(make("bla", ppq(protocol__concurrent_release__rationale=MISSING)), "PPQ-005")
    assert f.severity is MA and "without a rationale" in f.message


def test_ppq005_models_concurrent_release_as_pv3():
    from cmcflex.rules import REGISTRY
    from cmcflex.rules.citations import FLEX_2026

    rule = REGISTRY.get("PPQ-005")
    assert rule.flexibilities == ("PV3",) and FLEX_2026 in rule.cites
    assert any("section V" in c for c in rule.cites)


@pytest.mark.parametrize("phase", ["phase_3", "bla"])
def test_ppq005_silent_when_complete_or_not_planned(make, phase):
    assert findings_for(make(phase), "PPQ-005") == []
    assert findings_for(make(phase, ppq(protocol__concurrent_release={"planned": False})), "PPQ-005") == []


def test_ppq005_fires_on_released_ppq_lots_without_planned_concurrent_release(make):
    data = ppq(protocol__concurrent_release=MISSING, report__status="in_progress",
               report__conclusion="pending")
    f = one(make("bla", data), "PPQ-005")
    assert f.severity is B and "PPQ-1, PPQ-2" in f.message and "in_progress" in f.message
    pending = lots(("PPQ-1", {"viability": 88.0}), disposition="pending")
    assert findings_for(make("bla", data, pending), "PPQ-005") == []


def test_ppq005_released_lots_and_a_report_without_status_are_not_shown(make):
    data = ppq(protocol__concurrent_release=MISSING, report={"id": "PPQ-RPT-001"})
    f = one(make("bla", data), "PPQ-005")
    assert f.severity is I and "whether the PPQ report was complete first is not shown" in f.message
    assert "report.status" in f.remedy
    concluded = ppq(protocol__concurrent_release=MISSING, report__status=MISSING)  # validated: complete
    assert findings_for(make("bla", concluded), "PPQ-005") == []


# ---------------------------------------------------------------------------- PPQ-006


def test_ppq006_starting_material_left_out_is_read_from_the_lots_else_not_shown(make):
    data = ppq(protocol__starting_material=MISSING)
    assert findings_for(make("bla", data), "PPQ-006") == []  # the PPQ lots record patient material
    f = one(make("bla", data, lots(("PPQ-1", {"viability": 88.0}), starting_material="")), "PPQ-006")
    assert f.severity is I and "not shown" in f.message and "starting_material" in f.remedy
    donor = lots(("PPQ-1", {"viability": 88.0}), starting_material="healthy_donor")
    assert one(make("bla", data, donor), "PPQ-006").severity is MA


@pytest.mark.parametrize("phase,severity", [("phase_3", MI), ("bla", MA)])
def test_ppq006_healthy_donor_without_justification_fires(make, phase, severity):
    path = make(phase, ppq(protocol__starting_material="healthy_donor"))
    f = one(path, "PPQ-006")
    assert f.severity is severity and "healthy-donor starting material" in f.message
    assert "healthy_donor" not in f.message


def test_ppq006_healthy_donor_with_justification_silent(make):
    path = make("bla", ppq(protocol__starting_material="healthy_donor",
                           protocol__starting_material_justification="Donor vs patient study DPS-3."),
                lots(("PPQ-1", {"viability": 88.0}), ("PPQ-2", {"viability": 90.0}),
                     starting_material="healthy_donor"))
    assert findings_for(path, "PPQ-006") == []


def test_ppq006_lots_all_healthy_donor_contradict_patient_protocol(make):
    path = make("bla", ppq(), lots(("PPQ-1", {"viability": 88.0}), ("PPQ-2", {"viability": 90.0}),
                                   starting_material="healthy_donor"))
    f = one(path, "PPQ-006")
    assert f.severity is MA and f.file == "lots.csv" and "PPQ-1, PPQ-2" in f.message


def test_ppq006_patient_material_silent(make):
    assert findings_for(make("bla"), "PPQ-006") == []


def test_ppq006_not_applied_to_allogeneic_products(make):
    path = make("bla", ppq(protocol__starting_material="healthy_donor"),
                product={"name": "ALLO-1", "modality": "car_t_allogeneic"})
    assert findings_for(path, "PPQ-006") == []


# ---------------------------------------------------------------------------- PPQ-007


@pytest.mark.parametrize("phase,severity", [("phase_3", I), ("bla", B)])
def test_ppq007_names_each_unmet_prerequisite(make, phase, severity):
    path = make(phase, ppq(**UNEXECUTED, protocol__prerequisites__hold_times_validated=False,
                           protocol__prerequisites__shipping_validated="",
                           protocol__prerequisites__personnel_trained=MISSING))
    f = one(path, "PPQ-007")
    assert f.severity is severity
    assert f.data["failed"] == ["hold_times_validated"]
    assert f.data["not_shown"] == ["personnel_trained", "shipping_validated"]
    assert "not met: hold_times_validated; personnel_trained and shipping_validated are not shown" in f.message
    assert f.message.endswith(" (needed by BLA).") == (phase == "phase_3")
    assert "—" not in f.message


def test_ppq007_prerequisites_left_out_are_not_shown_not_unmet(make):
    f = one(make("bla", ppq(**UNEXECUTED, protocol__prerequisites__personnel_trained=MISSING,
                            protocol__prerequisites__shipping_validated=None)), "PPQ-007")
    assert f.severity is I and f.data["failed"] == []
    assert "not shown: personnel_trained and shipping_validated" in f.message
    assert "for personnel_trained and shipping_validated, true or the id" in f.remedy
    whole = one(make("bla", ppq(**UNEXECUTED, protocol__prerequisites=MISSING)), "PPQ-007")
    assert whole.severity is I and len(whole.data["not_shown"]) == 8


def test_ppq007_points_at_the_first_unmet_prerequisite(make):
    path = make("bla", ppq(protocol__prerequisites__analytical_methods_validated=False,
                           protocol__prerequisites__shipping_validated=False))
    f = one(path, "PPQ-007")
    assert (path / "ppq.yaml").read_text().splitlines()[f.line - 1].strip().startswith(
        "analytical_methods_validated:")
    absent = make("bla", ppq(**UNEXECUTED, protocol__prerequisites__personnel_trained=MISSING))
    f = one(absent, "PPQ-007")  # not written at all: the prerequisites key itself
    assert (absent / "ppq.yaml").read_text().splitlines()[f.line - 1].strip() == "prerequisites:"


@pytest.mark.parametrize("unmet, aseptic", [("aseptic_simulation_current", True), ("shipping_validated", False)])
def test_ppq007_cites_the_aseptic_regulation_only_for_an_aseptic_prerequisite(make, unmet, aseptic):
    f = one(make("bla", ppq(**{f"protocol__prerequisites__{unmet}": False})), "PPQ-007")
    assert f.data["missing"] == [unmet]
    assert any("211.113(b)" in c for c in f.cites) is aseptic
    assert any("Process Validation" in c for c in f.cites)


def test_ppq007_vector_process_only_for_ex_vivo_modified_cells(make):
    data = ppq(protocol__prerequisites__vector_process_validated=False)
    f = one(make("bla", data), "PPQ-007")
    assert f.data["missing"] == ["vector_process_validated"]
    aav = make("bla", data, product={"name": "AAV-1", "modality": "aav"})
    assert findings_for(aav, "PPQ-007") == []


def test_ppq007_gene_edited_cells_need_the_vector_prerequisite_only_with_a_vector_on_record(make):
    """Editing with a Cas9 ribonucleoprotein needs no vector; an edit delivered by a vector does."""
    data = ppq(**UNEXECUTED, protocol__prerequisites__vector_process_validated=MISSING)
    edited = {"name": "EDIT-1", "modality": "gene_edited_cells"}
    assert findings_for(make("bla", data, product=edited), "PPQ-007") == []
    vector_site = [*SITES, {"id": "SITE-V", "roles": ["vector"], "commercial": True}]
    f = one(make("bla", data, product=edited, sites=vector_site), "PPQ-007")
    assert f.data["missing"] == ["vector_process_validated"]
    vcn = {"specifications": [{"material": "drug_product", "tests": [
        *SPECS["specifications"][0]["tests"],
        {"attribute": "vector_copy_number", "unit": "copies/cell", "criterion": "<= 5"}]}]}
    with_vcn = make("bla", data, product=edited)
    (with_vcn / "specifications.yaml").write_text(yaml.safe_dump(vcn), encoding="utf-8")
    assert one(with_vcn, "PPQ-007").data["missing"] == ["vector_process_validated"]


def test_ppq_protocol_omissions_are_inferred_from_a_validated_report(make):
    """A complete PPQ report concluding 'validated' shows the protocol was approved and executed
    with its prerequisites; what the protocol record leaves out is not a gap, what it records as
    not done still is."""
    sparse = ppq(protocol__elements=MISSING, protocol__prerequisites=MISSING,
                 protocol__approved_by_quality_unit=MISSING)
    done = make("bla", sparse)
    assert [f.rule for f in report_for(done).findings if f.rule in ("PPQ-003", "PPQ-004", "PPQ-007")] == []
    open_ppq = make("bla", ppq(**UNEXECUTED, protocol__elements=MISSING, protocol__prerequisites=MISSING,
                               protocol__approved_by_quality_unit=MISSING))
    got = {f.rule: f for f in report_for(open_ppq).findings if f.rule in ("PPQ-003", "PPQ-004", "PPQ-007")}
    assert sorted(got) == ["PPQ-003", "PPQ-004", "PPQ-007"]
    assert "is approved by the quality unit is not shown" in got["PPQ-004"].message
    assert {f.severity for f in got.values()} == {I}  # not done yet: not shown, never failed
    recorded_false = make("bla", ppq(protocol__prerequisites__shipping_validated=False))
    assert one(recorded_false, "PPQ-007").data["missing"] == ["shipping_validated"]


def test_ppq004_unrecorded_approval_is_not_called_unapproved(make):
    f = one(make("bla", ppq(**UNEXECUTED, protocol__approved_by_quality_unit=MISSING)), "PPQ-004")
    assert f.severity is I and "is not approved" not in f.message and "approved_by_quality_unit" in f.message


def test_ppq007_silent_when_all_met(make):
    assert findings_for(make("bla"), "PPQ-007") == []


# ---------------------------------------------------------------------------- PPQ-008


def test_ppq008_not_applied_at_phase_3(make):
    report = report_for(make("phase_3", lot_data=None))
    assert "PPQ-008" not in report.rules_evaluated


@pytest.mark.parametrize("phase", ["bla", "post_approval"])
def test_ppq008_silent_when_lots_pass_and_report_validated(make, phase):
    assert findings_for(make(phase), "PPQ-008") == []


def test_ppq008_not_evaluated_without_lots_csv(make):
    path = make("bla", lot_data=None)
    assert findings_for(path, "PPQ-008") == []
    assert any("lots.csv" in r for r in not_evaluated_for(path, "PPQ-008"))


def test_ppq008_no_ppq_lots_is_a_gap(make):
    f = one(make("bla", lot_data=lots(("P3-1", {"viability": 80.0}), use="phase_3")), "PPQ-008")
    assert f.severity is B and "no PPQ lots" in f.message and f.file == "lots.csv"
    assert f.record == "ppq lots"
    no_protocol = make("bla", ppq(protocol=MISSING), lot_data=lots(("P3-1", {"viability": 80.0}), use="phase_3"))
    (f,) = [f for f in findings_for(no_protocol, "PPQ-008") if f.file == "lots.csv"]
    assert f.record == "ppq lots"


def test_ppq008_fewer_lots_than_planned(make):
    f = one(make("bla", lot_data=GOOD_LOTS[:2]), "PPQ-008")
    assert "1 of the 2" in f.message and f.data["lots_executed"] == 1 and f.record == "ppq lots"


def test_ppq008_lot_out_of_spec_named_with_its_result(make):
    bad = lots(("PPQ-1", {"sterility": "No growth", "viability": 88.0}),
               ("PPQ-2", {"sterility": "Growth", "viability": 64.0}))
    f = one(make("post_approval", lot_data=bad), "PPQ-008")
    assert f.severity is B and f.record == "lot PPQ-2" and f.file == "lots.csv" and f.line
    assert "drug_product/sterility = growth (criterion: No growth)" in f.message
    assert "drug_product/viability = 64 (criterion: >= 70)" in f.message
    assert [x["test"] for x in f.data["failures"]] == ["drug_product/sterility", "drug_product/viability"]


def test_ppq008_rejected_lot_fails(make):
    rows = GOOD_LOTS[:2] + lots(("PPQ-2", {"viability": 90.0}), disposition="rejected")
    f = one(make("bla", lot_data=rows), "PPQ-008")
    assert f.record == "lot PPQ-2" and "rejected" in f.message


def test_ppq008_report_not_complete(make):
    path = make("bla", ppq(report__status="in_progress", report__conclusion="pending",
                           report__open_deviations=2))
    f = one(path, "PPQ-008")
    assert f.record == "report PPQ-RPT-001"
    assert "in progress" in f.message and "pending" in f.message and "2 open deviations" in f.message


def test_ppq008_report_without_status_or_conclusion_is_not_shown(make):
    f = one(make("bla", ppq(report={"id": "PPQ-RPT-001"})), "PPQ-008")
    assert f.severity is I and "records neither its status nor its conclusion" in f.message
    assert "report.status" in f.remedy
    assert findings_for(make("bla", ppq(report__status=MISSING)), "PPQ-008") == []  # validated: complete
    summary = ppq_summary(load_dossier(make("bla", ppq(report__status=MISSING))))
    assert summary is not None and summary.report_status == "complete"
    bare = ppq_summary(load_dossier(make("bla", ppq(report={"id": "PPQ-RPT-001"}))))
    assert bare is not None and (bare.report_status, bare.report_conclusion) == ("not_recorded", "not_recorded")
    f = one(make("bla", ppq(report__status=MISSING, report__conclusion="not_validated")), "PPQ-008")
    assert f.severity is B and "concludes not validated" in f.message
    f = one(make("bla", ppq(report__conclusion=MISSING)), "PPQ-008")
    assert f.severity is B and "records no conclusion" in f.message


def test_ppq008_missing_report(make):
    f = one(make("bla", ppq(report=MISSING)), "PPQ-008")
    assert "No PPQ report" in f.message


def test_ppq008_without_ppq_yaml_reports_lots_only_and_defers_report_to_ppq001(make):
    path = make("bla", ppq_data=None)
    assert findings_for(path, "PPQ-008") == []
    assert "PPQ-008" in next(n for n in report_for(path).no_records if n.file == "ppq.yaml").rules
    assert len(findings_for(path, "PPQ-001")) == 1
    # no PPQ on record at all: PPQ-001's one gap, not a second blocker for the lots never made
    short = make("bla", ppq_data=None, lot_data=lots(("P3-1", {"viability": 80.0}), use="phase_3"))
    assert findings_for(short, "PPQ-008") == [] and len(findings_for(short, "PPQ-001")) == 1
    assert "PPQ-008" in next(n for n in report_for(short).no_records if n.file == "ppq.yaml").rules
    # PPQ lots made without ppq.yaml are still judged
    failing = make("bla", ppq_data=None, lot_data=lots(("PPQ-1", {"viability": 40.0}), use="ppq"))
    assert [f.record for f in findings_for(failing, "PPQ-008")] == ["lot PPQ-1"]


def test_ppq008_lot_missing_a_specification_result_is_a_gap_naming_it(make):
    rows = GOOD_LOTS[:2] + lots(("PPQ-2", {"viability": 90.0}))
    f = one(make("bla", lot_data=rows), "PPQ-008")
    assert f.severity is B and f.record == "lot PPQ-2" and f.file == "lots.csv" and f.line
    assert "no result for drug_product/sterility" in f.message
    assert f.data["missing"] == ["drug_product/sterility"]
    summary = ppq_summary(load_dossier(make("bla", lot_data=rows)))
    assert summary is not None and summary.lots_executed == 2 and summary.lots_passing == 1


def test_ppq008_failing_lot_also_names_its_missing_results(make):
    rows = GOOD_LOTS[:2] + lots(("PPQ-2", {"viability": 50.0}))
    f = one(make("bla", lot_data=rows), "PPQ-008")
    assert "fails its specification" in f.message and "no result for drug_product/sterility" in f.message
    assert f.data["missing"] == ["drug_product/sterility"]


LIMITATION = "Each lot needs one patient's apheresis; few patients are treated before licensure."
PLAN = {"plan": "PPQ-PLC-01", "text": "The third PPQ lot is made and reported after licensure.",
        "lots_remaining": 1, "complete_by": "2027-06-30"}
LATER = {"protocol__lots_planned": 3, "protocol__concurrent_release__production_limitation": LIMITATION,
         "post_licensure_completion": PLAN, **UNEXECUTED}


@pytest.mark.parametrize("phase", ["bla", "post_approval"])
def test_ppq008_ppq_completing_after_licensure_with_its_conditions_is_info_naming_the_plan(make, phase):
    found = findings_for(make(phase, ppq(**LATER)), "PPQ-008")
    assert [(f.record, f.severity) for f in found] == [("ppq lots", I), ("report PPQ-RPT-001", I)]
    for f in found:
        assert "post-licensure completion plan PPQ-PLC-01 (1 lot remaining, complete by 2027-06-30)" in f.message
        assert "one secondary source" in f.message and f.data["flexibility"] == "post_licensure_ppq"
    assert "Only 2 of the 3 planned PPQ lots" in found[0].message
    assert "is in progress and concludes pending" in found[1].message


@pytest.mark.parametrize("phase", ["bla", "post_approval"])
def test_ppq008_without_the_production_limitation_the_gap_stands_naming_it(make, phase):
    found = findings_for(make(phase, ppq(**{**LATER, "protocol__concurrent_release__production_limitation":
                                            MISSING})), "PPQ-008")
    assert [f.severity for f in found] == [B, B]
    for f in found:
        assert "needs the PPQ production limitation" in f.message and "production_limitation" in f.remedy
        assert "post_licensure_completion" not in " ".join(f.data["missing"])


def test_ppq008_without_the_completion_plan_the_gap_stands_naming_it(make):
    found = findings_for(make("bla", ppq(**{**LATER, "post_licensure_completion": MISSING})), "PPQ-008")
    assert [f.severity for f in found] == [B, B]
    assert all("needs a post-licensure PPQ completion plan" in f.message for f in found)
    empty = findings_for(make("bla", ppq(**{**LATER, "post_licensure_completion": {"lots_remaining": 1}})),
                         "PPQ-008")
    assert [f.severity for f in empty] == [B, B] and "completion plan" in empty[0].message


def test_ppq008_limitation_without_concurrent_release_planned_is_named(make):
    f = findings_for(make("bla", ppq(**{**LATER, "protocol__concurrent_release__planned": False})), "PPQ-008")[0]
    assert f.severity is B and "concurrent release planned in the protocol" in f.message


def test_ppq008_a_plan_past_its_completion_date_no_longer_covers_the_gap(make):
    path = make("post_approval", ppq(**{**LATER, "post_licensure_completion": {**PLAN, "complete_by": "2026-01-31"}}))
    found = findings_for(path, "PPQ-008")
    assert [f.severity for f in found] == [B, B]
    assert "a completion date not yet passed (post_licensure_completion.complete_by: 2026-01-31)" in found[0].message


def test_ppq008_the_plan_covers_neither_failing_lots_nor_a_failed_report_nor_no_lot(make):
    bad = GOOD_LOTS[:2] + lots(("PPQ-2", {"sterility": "No growth", "viability": 50.0}))
    path = make("bla", ppq(**{**LATER, "report__conclusion": "not_validated"}), lot_data=bad)
    by_record = {f.record: f.severity for f in findings_for(path, "PPQ-008")}
    assert by_record == {"ppq lots": I, "lot PPQ-2": B, "report PPQ-RPT-001": B}
    deviations = one(make("bla", ppq(**{**LATER, "protocol__lots_planned": 2, "report__open_deviations": 1})),
                     "PPQ-008")
    assert deviations.severity is B and "1 open deviation" in deviations.message
    none_made = make("bla", ppq(**LATER), lot_data=lots(("P3-1", {"viability": 80.0}), use="phase_3"))
    (f,) = [f for f in findings_for(none_made, "PPQ-008") if f.record == "ppq lots"]
    assert f.severity is B and "presupposes PPQ lots made" in f.message


def test_ppq008_without_either_condition_reads_as_before(make):
    found = findings_for(make("bla", ppq(protocol__lots_planned=3, **UNEXECUTED)), "PPQ-008")
    assert [f.severity for f in found] == [B, B]
    assert all("post-licensure" not in f.message and "missing" not in (f.data or {}) for f in found)


def test_ppq008_declares_the_flexibility_and_its_single_source():
    from cmcflex.rules import REGISTRY
    from cmcflex.rules.citations import FLEX_2026

    rule = REGISTRY.get("PPQ-008")
    assert rule.flexibilities == ("PV4",) and FLEX_2026 in rule.cites
    assert "one secondary source" in rule.why and "post-licensure" in rule.grading


# ---------------------------------------------------------------------------- PPQ-009


@pytest.mark.parametrize("phase,severity", [("bla", MA), ("post_approval", B)])
def test_ppq009_fires_without_cpv_plan(make, phase, severity):
    f = one(make(phase, ppq(continued_process_verification=MISSING)), "PPQ-009")
    assert f.severity is severity


def test_ppq009_silent_with_plan_and_not_applied_at_phase_3(make):
    assert findings_for(make("bla"), "PPQ-009") == []
    assert "PPQ-009" not in report_for(make("phase_3", ppq_data=None)).rules_evaluated


# ---------------------------------------------------------------------------- PPQ-010


@pytest.mark.parametrize("phase,severity", [("phase_3", I), ("bla", MA)])
def test_ppq010_non_commercial_site_and_scale(make, phase, severity):
    path = make(phase, ppq(protocol__site="SITE-B", protocol__scale="pilot"),
                lots(("PPQ-1", {"viability": 88.0}), ("PPQ-2", {"viability": 90.0}), site="SITE-B"))
    found = findings_for(path, "PPQ-010")
    assert {f.severity for f in found} == {severity}
    messages = " | ".join(f.message for f in found)
    assert "site SITE-B" in messages and "pilot scale" in messages
    assert len(found) == 2  # lots at the protocol's own site are not reported twice


def test_ppq010_site_and_scale_left_out(make):
    path = make("bla", ppq(**UNEXECUTED, protocol__site=MISSING, protocol__scale=MISSING))
    (f,) = findings_for(path, "PPQ-010")  # the site is read from the PPQ lots (SITE-A, commercial)
    assert f.severity is I and "scale" in f.message and "not shown" in f.message
    path = make("bla", ppq(**UNEXECUTED, protocol__site=MISSING, protocol__scale=MISSING),
                lots(("PPQ-1", {"viability": 88.0}), site=""))
    assert sorted(f.severity for f in findings_for(path, "PPQ-010")) == [I, I]
    path = make("bla", ppq(protocol__site=MISSING),
                lots(("PPQ-1", {"viability": 88.0}), site="SITE-B"))
    assert [f.severity for f in findings_for(path, "PPQ-010")] == [MA]


@pytest.mark.parametrize("scale, severity", [("500 L", I), ("commercial, 500 L", None),
                                             ("engineering", MA), ("reduced-scale pilot", MA)])
def test_ppq010_scale_that_does_not_say_commercial_is_not_shown(make, scale, severity):
    found = findings_for(make("bla", ppq(protocol__scale=scale)), "PPQ-010")
    assert [f.severity for f in found] == ([severity] if severity else [])
    if severity is I:
        assert "does not say whether it is the commercial scale" in found[0].message
        assert "protocol.scale as commercial" in found[0].remedy


def test_ppq010_unknown_protocol_site(make):
    f = one(make("bla", ppq(protocol__site="SITE-Z")), "PPQ-010")
    assert f.record == "site SITE-Z" and "not among the sites" in f.message


def test_ppq010_lots_made_at_another_non_commercial_site(make):
    rows = GOOD_LOTS[:2] + lots(("PPQ-2", {"viability": 90.0}), site="SITE-B")
    f = one(make("bla", lot_data=rows), "PPQ-010")
    assert f.record == "site SITE-B" and "PPQ-2" in f.message and f.file == "lots.csv"


@pytest.mark.parametrize("phase", ["phase_3", "bla"])
def test_ppq010_silent_at_commercial_site_and_scale(make, phase):
    assert findings_for(make(phase), "PPQ-010") == []


# ---------------------------------------------------------------------------- summary


def test_summary_of_a_complete_two_lot_ppq(make):
    summary = ppq_summary(load_dossier(make("bla")))
    assert summary is not None and summary._asdict() == {
        "protocol": "PPQ-PROT-001", "lots_planned": 2, "lots_executed": 2, "lots_passing": 2,
        "concurrent_release": True, "justification": "process_knowledge",
        "report_status": "complete", "report_conclusion": "validated",
    }


def test_summary_counts_failing_lots_and_is_none_without_ppq(make):
    bad = lots(("PPQ-1", {"sterility": "No growth", "viability": 88.0}),
               ("PPQ-2", {"sterility": "No growth", "viability": 50.0}))
    summary = ppq_summary(load_dossier(make("bla", lot_data=bad)))
    assert summary is not None and summary.lots_executed == 2 and summary.lots_passing == 1
    assert ppq_summary(load_dossier(make("bla", ppq_data=None, lot_data=None))) is None


def test_summary_counts_drug_product_lots_once_per_run(make):
    rows = GOOD_LOTS + lots(("DS-1", {"viability": 95.0}), ("DS-2", {"viability": 96.0}),
                            material="drug_substance")
    summary = ppq_summary(load_dossier(make("bla", lot_data=rows)))
    assert summary is not None and summary.lots_executed == 2


def test_console_shows_the_ppq_summary_in_the_ppq_section(make):
    from cmcflex.report.common import ppq_summary_line
    from cmcflex.report.console import render

    report = report_for(make("bla"))
    assert report.summaries["ppq"]["lots_passing"] == 2
    line = ppq_summary_line(report.summaries["ppq"])
    assert line == ("PPQ: 2 planned · 2 executed · 2 passing · concurrent release: yes · "
                    "justification: process_knowledge · report: complete/validated")
    text = render(report)
    section = text.index("PPQ — Process performance qualification")
    assert text.index("PPQ: 2 planned", section) > section
    assert "PPQ:" not in render(report_for(make("bla", ppq_data=None, lot_data=None)))


def test_ppq010_site_left_out_is_read_from_the_ppq_lots(make):
    assert findings_for(make("bla", ppq(protocol__site=MISSING)), "PPQ-010") == []  # lots made at SITE-A
    at_b = make("bla", ppq(protocol__site=MISSING), lots(("PPQ-1", {"viability": 88.0}), site="SITE-B"))
    assert [f.record for f in findings_for(at_b, "PPQ-010")] == ["site SITE-B"]
    no_lots = make("bla", ppq(protocol__site=MISSING), lot_data=None)
    assert "does not record its manufacturing site" in one(no_lots, "PPQ-010").message


def test_ppq010_scale_left_out_is_inferred_from_a_validated_ppq_only(make):
    assert findings_for(make("bla", ppq(protocol__scale=MISSING)), "PPQ-010") == []
    f = one(make("bla", ppq(**UNEXECUTED, protocol__scale=MISSING)), "PPQ-010")
    assert "does not record its scale" in f.message and f.severity is I


@pytest.mark.parametrize("scale", [
    "Commercial (50 L)",
    "commercial (one patient per lot, identical to the pivotal clinical lots)",
    "full commercial scale; not a reduced or engineering scale",
    "Full-scale commercial - one apheresis per lot, as in the pivotal clinical study",
])
def test_ppq010_scale_may_describe_the_commercial_scale(make, scale):
    """For an autologous product one lot is one patient: the clinical scale is the commercial one."""
    assert findings_for(make("bla", ppq(protocol__scale=scale)), "PPQ-010") == []


@pytest.mark.parametrize("scale", ["commercial scale-down model (2 L)", "reduced commercial scale, 50 L",
                                   "engineering (commercial equipment)"])
def test_ppq010_a_small_scale_stated_before_its_description_is_a_gap(make, scale):
    (f,) = findings_for(make("bla", ppq(protocol__scale=scale)), "PPQ-010")
    assert f.severity is MA and "not commercial scale" in f.message


# ---------------------------------------------------------------------------- sample dossiers

SAMPLES = Path(__file__).resolve().parents[2] / "sample_dossiers"


def _sample(name: str) -> Path:
    path = SAMPLES / name
    if not (path / "dossier.yaml").is_file():
        pytest.skip(f"sample dossier {name} not present")
    return path


def test_sample_justified_two_lot_ppq_passes():
    report = report_for(_sample("cart-phase2"))
    ppq_findings = {(f.rule, f.severity) for f in report.findings if f.area == "PPQ"}
    assert ("PPQ-002", I) in ppq_findings
    assert all(sev is I for _, sev in ppq_findings)
    assert report.summaries["ppq"]["concurrent_release"] is True


def test_sample_unjustified_two_lot_ppq_gets_the_catalogue_gaps():
    report = report_for(_sample("cart-ppq-unjustified"))
    got = sorted((f.rule, f.severity, (f.data or {}).get("part")) for f in report.findings if f.area == "PPQ")
    assert got == [("PPQ-002", MA, None), ("PPQ-005", MA, "failure_plan")]
    assert report.summaries["ppq"] == {
        "protocol": "PPQ-PROT-CRX19-001", "lots_planned": 2, "lots_executed": 2, "lots_passing": 2,
        "concurrent_release": True, "justification": None,
        "report_status": "complete", "report_conclusion": "validated",
    }


@pytest.mark.parametrize(("starting_material", "missing"), [("healthy_donor", []), ("patient", ["lot PPQ-1"])])
def test_ppq008_a_per_kilogram_dose_is_not_asked_of_a_healthy_donor_lot(make, starting_material, missing):
    """A healthy-donor PPQ lot has no patient weight to dose by: its dose in cells/kg is not recorded."""
    dosed = {"specifications": [{"material": "drug_product", "tests": [
        *SPECS["specifications"][0]["tests"],
        {"attribute": "car_t_dose", "test": "viable_cell_dose", "unit": "x10^6 CAR+ viable T cells / kg",
         "criterion": "0.5 - 1.0"}]}]}
    rows = lots(("PPQ-1", {"sterility": "No growth", "viability": 88.0}), starting_material=starting_material)
    rows += lots(("PPQ-2", {"sterility": "No growth", "viability": 91.5, "car_t_dose": 0.8}),
                 starting_material="patient")
    path = make("bla", lot_data=rows)
    (path / "specifications.yaml").write_text(yaml.safe_dump(dosed), encoding="utf-8")
    assert [f.record for f in findings_for(path, "PPQ-008") if "car_t_dose" in f.message] == missing
    assert [f.record for f in findings_for(path, "SPEC-009") if "car_t_dose" in f.message] == missing


def test_ppq008_judges_a_ppq_lot_by_the_version_it_was_released_under(make):
    """A limit tightened after approval from commercial experience does not fail the PPQ it followed."""
    tightened = {"specifications": [{"material": "drug_product", "version": "3.0", "effective_from": "2026-01-01",
                                     "tests": [{"attribute": "sterility", "criterion": "No growth"},
                                               {"attribute": "viability", "unit": "%", "criterion": ">= 90"}],
                                     "previous_versions": [{"version": "2.0", "effective_from": "2024-01-01",
                                                            "tests": [{"attribute": "viability",
                                                                       "criterion": ">= 70"}]}]}]}
    path = make("post_approval")  # PPQ-1 at 88.0 % made 2025-06-01, under version 2.0
    (path / "specifications.yaml").write_text(yaml.safe_dump(tightened), encoding="utf-8")
    assert findings_for(path, "PPQ-008") == []
    # before approval PPQ shows the process meets the specification the BLA proposes: today's
    proposed = make("bla")
    (proposed / "specifications.yaml").write_text(yaml.safe_dump(tightened), encoding="utf-8")
    assert [f.record for f in findings_for(proposed, "PPQ-008")] == ["lot PPQ-1"]
    today_only = {"specifications": [{**tightened["specifications"][0], "previous_versions": []}]}
    (path / "specifications.yaml").write_text(yaml.safe_dump(today_only), encoding="utf-8")
    assert [f.record for f in findings_for(path, "PPQ-008")] == ["lot PPQ-1"]


def test_ppq008_a_result_in_a_unit_its_test_cannot_take_does_not_show_the_lot_passes(make):
    """A PPQ lot whose only dose result is in an unconvertible unit is not shown to pass (and is not
    counted as passing), rather than passing unseen."""
    rows = lots(("PPQ-1", {"sterility": "No growth", "viability": 88.0}),
                ("PPQ-2", {"sterility": "No growth"}))
    rows += lot_rows("PPQ-2", "ppq", {"viability": 60.0}, unit="x10^6 cells")  # a failing value, unreadable
    (f,) = findings_for(make("bla", lot_data=rows), "PPQ-008")
    assert f.record == "lot PPQ-2"
    assert "drug_product/viability (in a unit its test's cannot take: SPEC-013)" in f.message


def test_ppq008_a_ppq_lot_with_a_pending_result_is_not_shown_to_pass(make):
    rows = lots(("PPQ-1", {"sterility": "No growth", "viability": 88.0}),
                ("PPQ-2", {"sterility": "Pending", "viability": 91.5}))
    (f,) = findings_for(make("bla", lot_data=rows), "PPQ-008")
    assert f.record == "lot PPQ-2" and "drug_product/sterility (pending)" in f.message
