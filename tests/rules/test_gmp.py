"""GMP rules (GMP-001 … GMP-017): each fires with its phase severity and stays silent when met."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.helpers import base_dossier_yaml, findings_for, lot_rows, not_evaluated_for, report_for

P1, P2, P3, BLA, PA = "phase_1", "phase_2", "phase_3", "bla", "post_approval"
B, MA, MI, I = "blocker", "major", "minor", "info"

CONTROL_NAMES = (
    "written_procedures", "batch_records", "personnel_training", "deviation_management",
    "oos_investigation", "change_control", "equipment_qualification", "supplier_qualification",
    "chain_of_identity",
)


def good_files() -> dict[str, Any]:
    """An autologous CAR-T dossier that meets every GMP rule at every phase."""
    controls: dict[str, Any] = {n: {"status": "in_place", "evidence": f"DOC-{n}"} for n in CONTROL_NAMES}
    controls["environmental_monitoring"] = {"status": "in_place", "trending": True, "uninvestigated_excursions": 0}
    controls["data_integrity"] = {"status": "in_place", "audit_trail": True, "systems_validated": True,
                                  "unique_logins": True}
    aps = [{"date": d, "site": "SITE-A", "suite": "SUITE-1", "purpose": "initial", "units": 100,
            "contaminated": 0, "worst_case": True} for d in ("2024-01-10", "2024-01-17", "2024-01-24")]
    aps.append({"date": "2026-09-01", "site": "SITE-A", "suite": "SUITE-1", "purpose": "periodic",
                "units": 100, "contaminated": 0, "worst_case": True})
    gmp = {
        "quality_unit": {"independent": True, "responsibilities_written": True},
        "controls": controls,
        "aseptic_process_simulation": aps,
        "materials": [
            {"name": "Patient leukapheresis", "role": "starting_material", "origin": "human",
             "grade": "not_applicable"},
            {"name": "Human AB serum", "role": "ancillary", "origin": "human", "grade": "gmp",
             "supplier_qualified": True, "risk_assessment": "RA-001"},
            {"name": "IL-2", "role": "ancillary", "origin": "recombinant", "grade": "research",
             "supplier_qualified": True, "qualification": "QUAL-IL2", "justification": "JUST-IL2"},
        ],
    }
    dossier = base_dossier_yaml(sites=[
        {"id": "SITE-A", "roles": ["drug_product"], "gmp_regime": "part_211", "commercial": True,
         "inspections": [{"date": "2026-03-10", "type": "pre_license", "outcome": "NAI"}]},
        {"id": "SITE-B", "roles": ["testing"], "third_party": True, "quality_agreement": "QA-1",
         "gmp_regime": "part_211"},
    ])
    lots = lot_rows("L-101", "phase_2", {"viability": 80}) + lot_rows("L-102", "phase_3", {"viability": 81})
    return {"dossier.yaml": dossier, "gmp.yaml": gmp, "lots.csv": lots}


def allogeneic(files: dict[str, Any]) -> None:
    files["dossier.yaml"]["product"]["modality"] = "allogeneic_cell"
    files["gmp.yaml"]["donors"] = [{"id": "D-0001", "eligibility_determined": True, "tests_complete": True,
                                    "released_from_quarantine": True, "lots": ["L-101"]}]


def control(name: str, **value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(files: dict[str, Any]) -> None:
        files["gmp.yaml"]["controls"][name].update(value)
    return mutate


def material(index: int, **value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(files: dict[str, Any]) -> None:
        m = files["gmp.yaml"]["materials"][index]
        m.update(value)
        for key in [k for k, v in value.items() if v is None]:
            m.pop(key)
    return mutate


def site(index: int, **value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(files: dict[str, Any]) -> None:
        files["dossier.yaml"]["sites"][index].update(value)
    return mutate


def p1_site_made_phase_2(files: dict[str, Any]) -> None:
    files["dossier.yaml"]["sites"][0]["gmp_regime"] = "phase_1_guidance"


def qu_not_independent(files: dict[str, Any]) -> None:
    files["gmp.yaml"]["quality_unit"]["independent"] = False


def stale_aps(files: dict[str, Any]) -> None:
    files["gmp.yaml"]["aseptic_process_simulation"][-1]["date"] = "2026-05-01"


def donor_not_tested(files: dict[str, Any]) -> None:
    allogeneic(files)
    files["gmp.yaml"]["donors"][0]["tests_complete"] = False


def with_files(*mutations: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def mutate(files: dict[str, Any]) -> None:
        for m in mutations:
            m(files)
    return mutate


def nothing(files: dict[str, Any]) -> None:
    pass


# rule, how to break it, the expected severity at each phase where the catalogue differs
FIRING = [
    ("GMP-001", p1_site_made_phase_2, {P1: I, P2: B, BLA: B}),
    ("GMP-002", qu_not_independent, {P1: B, BLA: B}),
    ("GMP-003", control("batch_records", status="partial"), {P1: B, P2: MA, P3: B}),
    ("GMP-004", control("personnel_training", status="planned"), {P1: MA, P3: MA, BLA: B}),
    ("GMP-005", control("oos_investigation", status="absent"), {P1: MA, P2: B}),
    ("GMP-006", control("change_control", status="partial"), {P1: MI, P2: MA, P3: B}),
    ("GMP-007", control("equipment_qualification", status="planned"), {P1: MA, P3: MA, BLA: B}),
    ("GMP-008", control("environmental_monitoring", trending=False), {P1: MI, P2: MA, P3: B}),
    ("GMP-009", stale_aps, {P1: MI, P2: MA, P3: B}),
    ("GMP-010", control("data_integrity", unique_logins=False), {P1: MI, P2: MA, P3: B}),
    ("GMP-011", material(1, risk_assessment=None), {P1: MA, P2: MA, P3: B}),
    ("GMP-012", material(2, qualification=None), {P1: MI, P2: MA, P3: B}),
    ("GMP-013", material(1, supplier_qualified=False), {P1: MI, P2: MA, P3: B}),
    ("GMP-014", donor_not_tested, {P1: B, BLA: B}),
    ("GMP-015", control("chain_of_identity", status="partial"), {P1: MA, P2: B}),
    ("GMP-016", site(1, quality_agreement=None), {P1: MI, P2: MA, P3: MA, BLA: B}),
    ("GMP-017", site(0, inspections=[{"date": "2026-03-10", "type": "pre_license", "outcome": "VAI",
                                      "open_observations": 2}]), {P2: MI, P3: MA, BLA: B}),
]

# rule, a setting in which it has nothing to report (the good dossier unless stated)
SILENT = [(rule, nothing) for rule, _, _ in FIRING if rule != "GMP-014"] + [("GMP-014", allogeneic)]
ALL_PHASES = (P1, P2, P3, BLA, PA)


def build(dossier_dir: Callable[..., Path], *mutations: Callable[[dict[str, Any]], None]) -> Path:
    files = copy.deepcopy(good_files())
    for m in mutations:
        m(files)
    return dossier_dir(files)


@pytest.mark.parametrize(("rule_id", "mutate", "severities"), FIRING, ids=[c[0] for c in FIRING])
def test_rule_fires_with_phase_severity(dossier_dir, rule_id, mutate, severities) -> None:
    path = build(dossier_dir, mutate)
    for phase, severity in severities.items():
        found = [f for f in findings_for(path, rule_id, phase=phase) if f.record is not None]
        assert [f.severity.value for f in found] == [severity], (phase, found)
        assert found[0].file and found[0].line


@pytest.mark.parametrize(("rule_id", "setting"), SILENT, ids=[c[0] for c in SILENT])
def test_rule_silent_when_met(dossier_dir, rule_id, setting) -> None:
    path = build(dossier_dir, setting)
    for phase in ALL_PHASES:
        found = findings_for(path, rule_id, phase=phase)
        if rule_id == "GMP-001" and phase == P1:  # the phase 1 regime note, nothing else
            assert [(f.severity.value, f.record) for f in found] == [(I, None)]
        else:
            assert found == [], (phase, found)
        assert not_evaluated_for(path, rule_id, phase=phase) == []


def test_gmp_001_phase_1_note_names_and_points_at_the_site(dossier_dir) -> None:
    def p1_only(files: dict[str, Any]) -> None:
        p1_site_made_phase_2(files)
        files["lots.csv"] = lot_rows("L-101", "phase_1", {"viability": 80})
    path = build(dossier_dir, p1_only)
    (f,) = findings_for(path, "GMP-001", phase=P1)
    assert (f.severity.value, f.record, f.file) == (I, "site SITE-A", "dossier.yaml")
    assert "gmp_regime" in (path / "dossier.yaml").read_text().splitlines()[f.line - 1]
    assert "site SITE-A may follow the FDA guidance CGMP for Phase 1" in f.message
    assert f.remedy.startswith("Nothing to do at phase 1")
    # a phase 1 site that made phase 2 lots gets the gap only, not the note as well
    (f,) = findings_for(build(dossier_dir, p1_site_made_phase_2), "GMP-001", phase=P1)
    assert f.record == "site SITE-A" and "but made phase 2 and phase 3 lots: L-101, L-102" in f.message


def test_gmp_017_not_applied_at_phase_1(dossier_dir) -> None:
    path = build(dossier_dir, site(0, inspections=[{"date": "2026-03-10", "type": "pre_license",
                                                    "outcome": "OAI", "open_observations": 3}]))
    report = report_for(path, phase=P1)
    assert "GMP-017" not in report.rules_evaluated
    assert [f.severity.value for f in findings_for(path, "GMP-017", phase=BLA)] == [B]


def test_findings_carry_file_line_and_record(dossier_dir) -> None:
    path = build(dossier_dir, control("change_control", status="planned"), site(1, quality_agreement=None),
                 material(1, risk_assessment=None))
    (cc,) = findings_for(path, "GMP-006", phase=BLA)
    text = (path / "gmp.yaml").read_text().splitlines()
    assert (cc.file, cc.record) == ("gmp.yaml", "control change_control")
    assert "change_control" in text[cc.line - 1]
    (qa,) = findings_for(path, "GMP-016", phase=BLA)
    assert (qa.file, qa.record) == ("dossier.yaml", "site SITE-B")
    assert "SITE-B" in (path / "dossier.yaml").read_text().splitlines()[qa.line - 1]
    (ra,) = findings_for(path, "GMP-011", phase=BLA)
    assert (ra.file, ra.record) == ("gmp.yaml", "material Human AB serum")
    assert "Human AB serum" in text[ra.line - 1]
    assert ra.cites and ra.remedy


# ---------------------------------------------------------------------------- GMP-001


def test_gmp_001_names_site_and_lots_at_first_lot_line(dossier_dir) -> None:
    def lots(files: dict[str, Any]) -> None:
        files["lots.csv"] = (lot_rows("L-001", "phase_1", {"viability": 80})
                             + lot_rows("L-101", "phase_2", {"viability": 80, "potency": 1})
                             + lot_rows("L-201", "ppq", {"viability": 80}))
    path = build(dossier_dir, p1_site_made_phase_2, lots)
    (f,) = findings_for(path, "GMP-001", phase=BLA)
    assert (f.file, f.line, f.record) == ("lots.csv", 3, "site SITE-A")
    assert "L-101, L-201" in f.message and "L-001" not in f.message
    assert "phase 2 and PPQ lots" in f.message


def test_gmp_001_phase_1_note_says_part_211_not_yet_required(dossier_dir) -> None:
    path = build(dossier_dir)
    (note,) = findings_for(path, "GMP-001", phase=P1)
    assert note.severity.value == I and note.file == "dossier.yaml" and note.line
    assert "part 211" in note.message and "210.2(c)" in note.message and "phase 2/3" in note.message


@pytest.mark.parametrize(
    ("site_fields", "lot_use", "fires"),
    [
        ({"commercial": True}, "phase_1", True),       # commercial site must be part 211
        ({"commercial": False}, "phase_1", False),     # historical phase 1 site: fine
        ({"commercial": False}, None, True),           # no lots yet while the product is at phase 2+
    ],
)
def test_gmp_001_phase_1_guidance_site_without_later_lots(dossier_dir, site_fields, lot_use, fires) -> None:
    def setup(files: dict[str, Any]) -> None:
        files["dossier.yaml"]["sites"].append({"id": "SITE-C", "gmp_regime": "phase_1_guidance", **site_fields})
        if lot_use:
            files["lots.csv"] += lot_rows("L-900", lot_use, {"viability": 80}, site="SITE-C")
    path = build(dossier_dir, setup)
    found = findings_for(path, "GMP-001", phase=P2)
    assert [(f.record, f.severity.value) for f in found] == ([("site SITE-C", B)] if fires else [])
    if fires:
        assert found[0].file == "dossier.yaml" and found[0].line


# ---------------------------------------------------------------------------- control mapping


def test_gmp_yaml_missing_is_not_evaluated(dossier_dir) -> None:
    path = build(dossier_dir, lambda files: files.pop("gmp.yaml"))
    for rule_id in ("GMP-002", "GMP-003", "GMP-006", "GMP-009", "GMP-011", "GMP-015"):
        assert findings_for(path, rule_id, phase=BLA) == []
        (reason,) = not_evaluated_for(path, rule_id, phase=BLA)
        assert "gmp.yaml is missing" in reason


@pytest.mark.parametrize(
    ("change", "expect"),
    [
        (None, "no change control recorded"),
        ({"status": "partial"}, "only partly in place"),
        ({"status": "planned"}, "planned"),
        ({"status": "absent"}, "absent"),
        ({"status": "in_place"}, None),
    ],
)
def test_control_status_mapping(dossier_dir, change, expect) -> None:
    def mutate(files: dict[str, Any]) -> None:
        if change is None:
            del files["gmp.yaml"]["controls"]["change_control"]
        else:
            files["gmp.yaml"]["controls"]["change_control"] = change
    found = findings_for(build(dossier_dir, mutate), "GMP-006", phase=P3)
    if expect is None:
        assert found == []
    else:
        (f,) = found
        assert expect in f.message.lower() and f.severity.value == B


def test_gmp_002_qc_function_wording_at_phase_1(dossier_dir) -> None:
    def mutate(files: dict[str, Any]) -> None:
        files["gmp.yaml"]["quality_unit"] = {"independent": True, "responsibilities_written": False}
    path = build(dossier_dir, mutate)
    (f1,) = findings_for(path, "GMP-002", phase=P1)
    assert "QC function" in f1.message and "written responsibilities" in f1.message
    (f3,) = findings_for(path, "GMP-002", phase=P3)
    assert "quality unit" in f3.message
    missing = build(dossier_dir, lambda files: files["gmp.yaml"].pop("quality_unit"))
    assert [f.severity.value for f in findings_for(missing, "GMP-002", phase=P1)] == [B]


def test_gmp_008_uninvestigated_excursions(dossier_dir) -> None:
    path = build(dossier_dir, control("environmental_monitoring", uninvestigated_excursions=2))
    (f,) = findings_for(path, "GMP-008", phase=P3)
    assert "2 excursions are not investigated" in f.message


# ---------------------------------------------------------------------------- GMP-009


def aps(*runs: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def mutate(files: dict[str, Any]) -> None:
        files["gmp.yaml"]["aseptic_process_simulation"] = [
            {"site": "SITE-A", "suite": "SUITE-1", "units": 100, "worst_case": True, **r} for r in runs]
    return mutate


INITIAL3 = [{"date": d, "purpose": "initial", "contaminated": 0} for d in ("2026-06-01", "2026-06-08", "2026-06-15")]


@pytest.mark.parametrize(
    ("runs", "phase", "records"),
    [
        (INITIAL3, BLA, []),
        (INITIAL3 + [{"date": "2026-07-01", "purpose": "periodic", "contaminated": 1}], P3,
         ["aps 2026-07-01 SITE-A/SUITE-1"]),
        (INITIAL3 + [{"date": "2026-07-01", "purpose": "periodic", "worst_case": None}], P3,
         ["aps 2026-07-01 SITE-A/SUITE-1"]),
        (INITIAL3[:2], BLA, ["aps initial SITE-A/SUITE-1"]),
        (INITIAL3[:2], P3, []),  # the initial-qualification check applies from BLA
        ([INITIAL3[0], {**INITIAL3[1], "contaminated": 1}, INITIAL3[2],
          {"date": "2026-06-22", "purpose": "initial", "contaminated": 0}], BLA,
         ["aps initial SITE-A/SUITE-1"]),  # three clean runs, but not consecutive
        ([], P3, ["aps"]),
    ],
)
def test_gmp_009_cases(dossier_dir, runs, phase, records) -> None:
    def mutate(files: dict[str, Any]) -> None:
        aps(*runs)(files)
        for r in files["gmp.yaml"]["aseptic_process_simulation"]:
            if r.get("worst_case", True) is None:
                del r["worst_case"]
    found = findings_for(build(dossier_dir, mutate), "GMP-009", phase=phase)
    assert sorted(f.record for f in found) == records
    assert all(f.severity.value == B for f in found)


def test_gmp_009_current_means_within_six_months(dossier_dir) -> None:
    path = build(dossier_dir, aps({"date": "2026-05-25", "purpose": "periodic", "contaminated": 0}))
    assert findings_for(path, "GMP-009", phase=P3) == []  # exactly 6 months before 2026-11-25
    path = build(dossier_dir, aps({"date": "2026-05-24", "purpose": "periodic", "contaminated": 0}))
    (f,) = findings_for(path, "GMP-009", phase=P3)
    assert "older than 6 months" in f.message


# ---------------------------------------------------------------------------- GMP-010 … GMP-013


def test_gmp_010_names_each_missing_safeguard(dossier_dir) -> None:
    path = build(dossier_dir, control("data_integrity", audit_trail=False, systems_validated=None))
    (f,) = findings_for(path, "GMP-010", phase=P3)
    assert "audit trails" in f.message and "systems validated" in f.message
    assert "unique" not in f.message
    assert f.data["missing"] == ["audit_trail", "systems_validated"]


def test_gmp_011_patient_cells_and_non_biological_materials_exempt(dossier_dir) -> None:
    path = build(dossier_dir, material(0, risk_assessment=None), material(2, risk_assessment=None))
    assert findings_for(path, "GMP-011", phase=BLA) == []
    path = build(dossier_dir, material(1, origin="animal", risk_assessment=None))
    (f,) = findings_for(path, "GMP-011", phase=BLA)
    assert f.record == "material Human AB serum" and "animal" in f.message


def test_gmp_011_no_materials_not_evaluated(dossier_dir) -> None:
    path = build(dossier_dir, lambda files: files["gmp.yaml"].__setitem__("materials", []))
    for rule_id in ("GMP-011", "GMP-012", "GMP-013"):
        assert findings_for(path, rule_id, phase=P3) == []
        assert any("no materials" in r for r in not_evaluated_for(path, rule_id, phase=P3))


@pytest.mark.parametrize(
    ("fields", "phase", "fires"),
    [
        ({"justification": None}, P1, False),   # qualified research grade is fine early
        ({"justification": None}, P2, False),
        ({"justification": None}, P3, True),    # before pivotal manufacture: replace or justify
        ({"justification": None}, BLA, True),
        ({"qualification": None}, P1, True),
        ({"grade": "gmp", "qualification": None, "justification": None}, BLA, False),  # replaced
    ],
)
def test_gmp_012_research_grade(dossier_dir, fields, phase, fires) -> None:
    found = findings_for(build(dossier_dir, material(2, **fields)), "GMP-012", phase=phase)
    assert [f.record for f in found] == (["material IL-2"] if fires else [])


def test_gmp_013_patient_material_exempt_and_program_status(dossier_dir) -> None:
    path = build(dossier_dir, material(1, supplier_qualified=None))
    (f,) = findings_for(path, "GMP-013", phase=P3)
    assert f.record == "material Human AB serum"
    path = build(dossier_dir, control("supplier_qualification", status="planned"))
    (f,) = findings_for(path, "GMP-013", phase=P3)
    assert f.record == "control supplier_qualification"


# ---------------------------------------------------------------------------- GMP-014, GMP-015


def test_gmp_014_one_finding_per_donor_listing_what_is_missing(dossier_dir) -> None:
    def donors(files: dict[str, Any]) -> None:
        allogeneic(files)
        files["gmp.yaml"]["donors"] += [
            {"id": "D-0002", "eligibility_determined": False, "tests_complete": True,
             "released_from_quarantine": False, "lots": ["L-102"]},
            {"id": "D-0003", "tests_complete": True, "eligibility_determined": True,
             "released_from_quarantine": False},
        ]
    found = findings_for(build(dossier_dir, donors), "GMP-014", phase=P1)
    assert [f.record for f in found] == ["donor D-0002", "donor D-0003"]
    assert "no eligibility determination and no release from quarantine" in found[0].message
    assert "given to patients (L-102: phase 3, released)" in found[0].message
    assert [f.severity.value for f in found] == [B, I]  # D-0003 is eligible, held, and made no lot
    assert "determined eligible and fully tested but still held in quarantine" in found[1].message
    assert all(f.file == "gmp.yaml" and f.line for f in found)


def _donor(**fields: Any) -> Callable[[dict[str, Any]], None]:
    """An allogeneic dossier whose one donor (D-0001) has these fields, and lots L-D1 and L-101."""
    def mutate(files: dict[str, Any]) -> None:
        allogeneic(files)
        files["lots.csv"] = (lot_rows("L-D1", "development", {"viability": 80}, disposition="not_applicable")
                             + lot_rows("L-101", "phase_1", {"viability": 80}, disposition="pending"))
        files["gmp.yaml"]["donors"][0].update(fields)
    return mutate


INCOMPLETE = {"eligibility_determined": False, "tests_complete": False, "released_from_quarantine": False}


@pytest.mark.parametrize("lots", [["L-D1"], ["L-D1", "L-101"], []], ids=["development", "pending", "none"])
def test_gmp_014_donor_held_in_quarantine_is_info(dossier_dir, lots) -> None:
    """21 CFR 1271.60: quarantine until the determination is the compliant state, not a blocker."""
    path = build(dossier_dir, _donor(**INCOMPLETE, lots=lots))
    for phase in (P1, BLA):
        (f,) = findings_for(path, "GMP-014", phase=phase)
        assert (f.severity.value, f.record) == (I, "donor D-0001")
        assert "held in quarantine, as 21 CFR 1271.60 requires" in f.message
        assert "complete the determination before any lot from it is released" in f.message
        assert f.data["held_in_quarantine"] is True and f.data["lots_to_patients"] == []
    if lots:
        assert "(L-D1: development" in f.message
    if "L-101" in lots:
        assert "L-101: phase 1)" in f.message


def test_gmp_014_declares_its_info_grade_in_metadata() -> None:
    from cmcflex.rules import REGISTRY

    rule = REGISTRY.get("GMP-014")
    assert "quarantine" in rule.grading and "info" in rule.grading and not rule.partial


@pytest.mark.parametrize(("fields", "lots", "words"), [
    ({}, ["L-D1", "L-101"], ("yet a lot made from it was given to patients (L-D1: development; L-101: "
                             "phase 1, released under exception)")),
    ({"released_from_quarantine": True}, [], "yet its material was released from quarantine"),
    ({}, ["L-999"], "yet its lot is not in lots.csv"),
    ({}, ["l-101\u200b"], "l-101<U+200B>: not in lots.csv (did you mean 'L-101'?)"),
], ids=["released-phase-1-lot", "out-of-quarantine", "unknown-lot", "lot-spelt-otherwise"])
def test_gmp_014_donor_whose_material_left_quarantine_is_a_blocker(dossier_dir, fields, lots, words) -> None:
    def released(files: dict[str, Any]) -> None:
        for row in files["lots.csv"]:
            if row["lot_id"] == "L-101":
                row["disposition"] = "released_under_exception"
    path = build(dossier_dir, _donor(**{**INCOMPLETE, **fields}, lots=lots), released)
    for phase in (P1, BLA):
        (f,) = findings_for(path, "GMP-014", phase=phase)
        assert (f.severity.value, f.record) == (B, "donor D-0001") and words in f.message, f.message
        assert f.data["held_in_quarantine"] is False


def test_gmp_014_no_donors_and_untraced_donor_lots(dossier_dir) -> None:
    def no_donors(files: dict[str, Any]) -> None:
        allogeneic(files)
        files["gmp.yaml"]["donors"] = []
    (f,) = findings_for(build(dossier_dir, no_donors), "GMP-014", phase=P2)
    assert f.record == "donors" and f.severity.value == B

    def unlinked(files: dict[str, Any]) -> None:
        allogeneic(files)
        files["lots.csv"] = (lot_rows("L-101", "phase_2", {"viability": 80}, starting_material="healthy_donor")
                             + lot_rows("L-102", "phase_2", {"viability": 80}, starting_material="healthy_donor"))
    (f,) = findings_for(build(dossier_dir, unlinked), "GMP-014", phase=P2)
    assert (f.record, f.file, f.line) == ("lot L-102", "lots.csv", 3)


def test_gmp_014_and_015_do_not_apply_to_other_modalities(dossier_dir) -> None:
    def aav(files: dict[str, Any]) -> None:
        files["dossier.yaml"]["product"]["modality"] = "aav"
        del files["gmp.yaml"]["controls"]["chain_of_identity"]
    path = build(dossier_dir, aav)
    for rule_id in ("GMP-014", "GMP-015"):
        assert findings_for(path, rule_id, phase=BLA) == []
        assert not_evaluated_for(path, rule_id, phase=BLA) == []
    path = build(dossier_dir, lambda files: files["gmp.yaml"]["controls"].pop("chain_of_identity"))
    (f,) = findings_for(path, "GMP-015", phase=P1)
    assert f.severity.value == MA and "no chain of identity control recorded" in f.message.lower()


# ---------------------------------------------------------------------------- GMP-016, GMP-017


def test_gmp_016_own_sites_need_no_agreement(dossier_dir) -> None:
    path = build(dossier_dir, site(0, quality_agreement=None), site(1, third_party=False, quality_agreement=None))
    assert findings_for(path, "GMP-016", phase=BLA) == []


@pytest.mark.parametrize(
    ("commercial", "inspections", "fires"),
    [
        (True, [{"date": "2025-01-01", "outcome": "OAI"}], True),
        (True, [{"date": "2025-01-01", "outcome": "OAI"}, {"date": "2026-01-01", "outcome": "NAI"}], False),
        (True, [{"date": "2025-01-01", "outcome": "OAI"}, {"date": "2026-01-01", "outcome": "pending"}], True),
        (False, [{"date": "2025-01-01", "outcome": "OAI"}], False),  # OAI matters for commercial sites
        (False, [{"date": "2025-01-01", "outcome": "VAI", "open_observations": 1}], True),
    ],
)
def test_gmp_017_cases(dossier_dir, commercial, inspections, fires) -> None:
    recorded = [{"type": "surveillance", **x} for x in inspections]
    path = build(dossier_dir, site(0, commercial=commercial, inspections=recorded))
    found = findings_for(path, "GMP-017", phase=BLA)
    assert [f.record for f in found] == (["site SITE-A"] if fires else [])
