"""GMP rules (GMP-001 … GMP-018): each fires with its phase severity and stays silent when met."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import base_dossier_yaml, findings_for, lot_rows, not_evaluated_for, report_for

P1, P2, P3, BLA, PA = "phase_1", "phase_2", "phase_3", "bla", "post_approval"
B, MA, MI, I = "blocker", "major", "minor", "info"

CONTROL_NAMES = (
    "written_procedures", "batch_records", "personnel_training", "deviation_management",
    "oos_investigation", "change_control", "equipment_qualification", "supplier_qualification",
    "chain_of_identity", "reserve_samples",
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
    ("GMP-018", control("reserve_samples", status="partial"), {P2: MI, P3: MA, BLA: MA, PA: MA}),
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
        ({"commercial": False}, None, I),              # no lot on record: what it makes is not shown
        ({"commercial": False}, "phase_2", B),         # made phase 2 material under the Phase 1 guidance
    ],
)
def test_gmp_001_phase_1_guidance_site_without_later_lots(dossier_dir, site_fields, lot_use, fires) -> None:
    def setup(files: dict[str, Any]) -> None:
        files["dossier.yaml"]["sites"].append({"id": "SITE-C", "gmp_regime": "phase_1_guidance", **site_fields})
        if lot_use:
            files["lots.csv"] += lot_rows("L-900", lot_use, {"viability": 80}, site="SITE-C")
    path = build(dossier_dir, setup)
    found = findings_for(path, "GMP-001", phase=P2)
    severity = B if fires is True else fires
    assert [(f.record, f.severity.value) for f in found] == ([("site SITE-C", severity)] if fires else [])
    if fires:
        assert found[0].file == "dossier.yaml" or found[0].file == "lots.csv"
        assert found[0].line
    if fires == I:
        assert "whether it makes phase 2/3 material is not shown" in found[0].message
        assert found[0].remedy.startswith("Record gmp_regime: part_211 for site SITE-C")


def test_gmp_001_without_lots_csv_a_phase_1_site_is_not_shown_not_failed(dossier_dir) -> None:
    def setup(files: dict[str, Any]) -> None:
        files["dossier.yaml"]["sites"].append({"id": "SITE-C", "gmp_regime": "phase_1_guidance"})
        del files["lots.csv"]
    (f,) = findings_for(build(dossier_dir, setup), "GMP-001", phase=BLA)
    assert (f.record, f.severity.value) == ("site SITE-C", I) and "there is no lots.csv" in f.message


# ---------------------------------------------------------------------------- control mapping


def test_gmp_yaml_missing_is_not_evaluated(dossier_dir) -> None:
    path = build(dossier_dir, lambda files: files.pop("gmp.yaml"))
    for rule_id in ("GMP-002", "GMP-003", "GMP-006", "GMP-009", "GMP-011", "GMP-015"):
        assert findings_for(path, rule_id, phase=BLA) == []
        (reason,) = not_evaluated_for(path, rule_id, phase=BLA)
        assert "gmp.yaml is missing" in reason


@pytest.mark.parametrize(
    ("change", "expect", "severity"),
    [
        # left out: not shown (info), never graded as a failed control
        (None, "no change control is shown: gmp.yaml does not record controls.change_control", I),
        ({"status": "partial"}, "only partly in place", B),
        ({"status": "planned"}, "planned", B),
        ({"status": "absent"}, "absent", B),
        ({"status": "in_place"}, None, None),
    ],
)
def test_control_status_mapping(dossier_dir, change, expect, severity) -> None:
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
        assert expect in f.message.lower() and f.severity.value == severity
        if change is None:
            assert "Record controls.change_control with its status" in f.remedy


CONTROL_RULES = [("GMP-003", "written_procedures"), ("GMP-003", "batch_records"),
                 ("GMP-004", "personnel_training"), ("GMP-005", "deviation_management"),
                 ("GMP-005", "oos_investigation"), ("GMP-006", "change_control"),
                 ("GMP-007", "equipment_qualification"), ("GMP-008", "environmental_monitoring"),
                 ("GMP-010", "data_integrity"), ("GMP-015", "chain_of_identity")]


@pytest.mark.parametrize(("rule_id", "name"), CONTROL_RULES, ids=[n for _, n in CONTROL_RULES])
def test_control_left_out_is_not_shown_at_info_and_absent_is_graded(dossier_dir, rule_id, name) -> None:
    left_out = build(dossier_dir, lambda files: files["gmp.yaml"]["controls"].pop(name))
    for phase in (P3, BLA):
        (f,) = findings_for(left_out, rule_id, phase=phase)
        assert (f.severity.value, f.record) == (I, f"control {name}")
        assert f"does not record controls.{name}" in f.message and f"controls.{name}" in f.remedy
    absent = build(dossier_dir, control(name, status="absent"))
    (f,) = findings_for(absent, rule_id, phase=BLA)
    assert f.severity.value == B and "is recorded as absent" in f.message


def test_gmp_yaml_without_controls_is_not_evaluated(dossier_dir) -> None:
    path = build(dossier_dir, lambda files: files["gmp.yaml"].pop("controls"))
    for rule_id, name in CONTROL_RULES:
        assert findings_for(path, rule_id, phase=BLA) == []
        (reason,) = not_evaluated_for(path, rule_id, phase=BLA)
        assert reason.startswith("gmp.yaml records no controls; add ") and f"controls.{name}" in reason
    # a supplier qualification program left out with the rest: the materials are still checked
    assert not_evaluated_for(path, "GMP-013", phase=BLA) == []


def test_gmp_002_qc_function_wording_at_phase_1(dossier_dir) -> None:
    def mutate(files: dict[str, Any]) -> None:
        files["gmp.yaml"]["quality_unit"] = {"independent": True, "responsibilities_written": False}
    path = build(dossier_dir, mutate)
    (f1,) = findings_for(path, "GMP-002", phase=P1)
    assert "QC function" in f1.message and "written responsibilities" in f1.message
    (f3,) = findings_for(path, "GMP-002", phase=P3)
    assert "quality unit" in f3.message
    # left out entirely: not shown (info), with the fields to record
    missing = build(dossier_dir, lambda files: files["gmp.yaml"].pop("quality_unit"))
    (f,) = findings_for(missing, "GMP-002", phase=BLA)
    assert f.severity.value == I and "No quality unit is shown" in f.message
    assert "independent and responsibilities_written" in f.remedy


@pytest.mark.parametrize(
    ("quality_unit", "severity", "words"),
    [
        ({"independent": True}, I, "that its responsibilities are written is not shown (responsibilities_written)"),
        ({}, I, "its independence from production and that its responsibilities are written are not shown"),
        ({"responsibilities_written": True, "independent": False}, B, "is not independent of production"),
        ({"independent": True, "responsibilities_written": True}, None, None),
    ],
)
def test_gmp_002_unrecorded_flags_are_not_shown_false_is_a_blocker(dossier_dir, quality_unit, severity, words) -> None:
    path = build(dossier_dir, lambda files: files["gmp.yaml"].__setitem__("quality_unit", quality_unit))
    found = findings_for(path, "GMP-002", phase=BLA)
    assert [f.severity.value for f in found] == ([severity] if severity else [])
    if words:
        assert words in found[0].message


def test_gmp_008_uninvestigated_excursions(dossier_dir) -> None:
    path = build(dossier_dir, control("environmental_monitoring", uninvestigated_excursions=2))
    (f,) = findings_for(path, "GMP-008", phase=P3)
    assert "2 excursions are not investigated" in f.message and f.severity.value == B
    assert "complete the investigation of the 2 open excursions" in f.remedy.lower()


def _em(**value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(files: dict[str, Any]) -> None:
        files["gmp.yaml"]["controls"]["environmental_monitoring"] = {"status": "in_place", **value}
    return mutate


def test_gmp_008_in_place_without_trending_or_excursions_is_not_shown_at_info(dossier_dir) -> None:
    for phase in (P3, BLA, PA):
        (f,) = findings_for(build(dossier_dir, _em()), "GMP-008", phase=phase)
        assert f.severity.value == I
        assert "is in place" in f.message and "not shown" in f.message
        assert "number of uninvestigated excursions is not shown" in f.message
        assert "record the number of uninvestigated excursions" in f.remedy
        assert "record whether the em results are trended" in f.remedy.lower()
        assert "Run an environmental monitoring program" not in f.remedy  # the program exists
    (f,) = findings_for(build(dossier_dir, _em(trending=True)), "GMP-008", phase=BLA)
    assert f.severity.value == I and "trended" not in f.message
    (f,) = findings_for(build(dossier_dir, _em(uninvestigated_excursions=0)), "GMP-008", phase=BLA)
    assert f.severity.value == I and "excursions" not in f.message
    assert findings_for(build(dossier_dir, _em(trending=True, uninvestigated_excursions=0)), "GMP-008",
                        phase=BLA) == []


def test_gmp_008_trending_false_is_graded_even_with_excursions_not_shown(dossier_dir) -> None:
    (f,) = findings_for(build(dossier_dir, _em(trending=False)), "GMP-008", phase=P2)
    assert f.severity.value == MA
    assert "results are not trended" in f.message
    assert "uninvestigated excursions is not shown" in f.message
    assert "trend the em results" in f.remedy.lower() and "record the number of" in f.remedy
    # a program not in place is graded whatever its flags
    (f,) = findings_for(build(dossier_dir, _em(status="partial")), "GMP-008", phase=BLA)
    assert f.severity.value == B and "only partly in place" in f.message


# ---------------------------------------------------------------------------- GMP-009


def aps(*runs: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def mutate(files: dict[str, Any]) -> None:
        files["gmp.yaml"]["aseptic_process_simulation"] = [
            {"site": "SITE-A", "suite": "SUITE-1", "units": 100, "worst_case": True, **r} for r in runs]
    return mutate


INITIAL3 = [{"date": d, "purpose": "initial", "contaminated": 0} for d in ("2026-06-01", "2026-06-08", "2026-06-15")]


@pytest.mark.parametrize(
    ("runs", "phase", "records", "severity"),
    [
        (INITIAL3, BLA, [], None),
        (INITIAL3 + [{"date": "2026-07-01", "purpose": "periodic", "contaminated": 1}], P3,
         ["aps 2026-07-01 SITE-A/SUITE-1"], B),
        # worst_case not recorded: not shown (info), not a failed control
        (INITIAL3 + [{"date": "2026-07-01", "purpose": "periodic", "worst_case": None}], P3,
         ["aps 2026-07-01 SITE-A/SUITE-1"], I),
        (INITIAL3 + [{"date": "2026-07-01", "purpose": "periodic", "worst_case": False}], P3,
         ["aps 2026-07-01 SITE-A/SUITE-1"], B),
        (INITIAL3[:2], BLA, ["aps initial SITE-A/SUITE-1"], B),
        (INITIAL3[:2], P3, [], None),  # the initial-qualification check applies from BLA
        ([INITIAL3[0], {**INITIAL3[1], "contaminated": 1}, INITIAL3[2],
          {"date": "2026-06-22", "purpose": "initial", "contaminated": 0}], BLA,
         ["aps initial SITE-A/SUITE-1"], B),  # three clean runs, but not consecutive
        ([], P3, ["aps"], B),  # aseptic_process_simulation: [] says no run was made
    ],
)
def test_gmp_009_cases(dossier_dir, runs, phase, records, severity) -> None:
    def mutate(files: dict[str, Any]) -> None:
        aps(*runs)(files)
        for r in files["gmp.yaml"]["aseptic_process_simulation"]:
            if r.get("worst_case", True) is None:
                del r["worst_case"]
    found = findings_for(build(dossier_dir, mutate), "GMP-009", phase=phase)
    assert sorted(f.record for f in found) == records
    assert all(f.severity.value == severity for f in found)


def test_gmp_009_worst_case_not_recorded_is_info_with_a_record_remedy(dossier_dir) -> None:
    path = build(dossier_dir, aps(*INITIAL3, {"date": "2026-09-01", "purpose": "periodic", "worst_case": None}),
                 lambda files: files["gmp.yaml"]["aseptic_process_simulation"][-1].pop("worst_case"))
    (f,) = findings_for(path, "GMP-009", phase=BLA)
    assert f.severity.value == I and "whether it covers the worst case is not shown (worst_case)" in f.message
    assert f.remedy.startswith("Record worst_case on the 2026-09-01 run of SITE-A/SUITE-1")
    # a stale run that does not record worst_case is graded for being stale, the note rides along
    path = build(dossier_dir, aps({"date": "2026-01-01", "purpose": "periodic"}),
                 lambda files: files["gmp.yaml"]["aseptic_process_simulation"][-1].pop("worst_case"))
    (f,) = findings_for(path, "GMP-009", phase=P3)
    assert f.severity.value == B and "older than 6 months" in f.message and "not shown" in f.message


def _no_purpose(*runs: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    return aps(*({"contaminated": 0, **r} for r in runs))


EARLIEST3 = [{"date": d} for d in ("2025-01-06", "2025-01-13", "2025-01-20")]


@pytest.mark.parametrize(
    ("runs", "severity"),
    [
        (EARLIEST3 + [{"date": "2026-09-01"}], None),            # no purpose anywhere: earliest 3 qualify
        (EARLIEST3 + [{"date": "2026-09-01", "purpose": "periodic"}], None),
        ([{"date": "2025-01-06", "contaminated": 1}] + EARLIEST3[1:] + [{"date": "2025-01-27"},
                                                                     {"date": "2026-09-01"}], None),
        (EARLIEST3[:2] + [{"date": "2026-09-01"}], None),        # three runs in all, clean: qualified
        ([{"date": "2026-09-01"}], I),                            # only the latest run on record
        ([{"date": "2025-01-06", "purpose": "periodic"}, {"date": "2026-09-01", "purpose": "periodic"}], I),
        ([EARLIEST3[0], {**EARLIEST3[1], "contaminated": 1}, EARLIEST3[2], {"date": "2026-09-01"}], I),
        ([{**r, "purpose": "initial"} for r in EARLIEST3[:2]] + [{"date": "2026-09-01"}], B),  # recorded: graded
    ],
    ids=["earliest-3", "earliest-3-then-periodic", "failed-then-3-clean", "three-in-all", "latest-only",
         "periodic-only", "earliest-not-consecutive", "two-recorded-initial"],
)
def test_gmp_009_runs_without_purpose_read_the_earliest_as_initial(dossier_dir, runs, severity) -> None:
    found = findings_for(build(dossier_dir, _no_purpose(*runs)), "GMP-009", phase=BLA)
    assert [(f.record, f.severity.value) for f in found] == (
        [("aps initial SITE-A/SUITE-1", severity)] if severity else [])
    if severity == I:
        assert "is not shown: no run records purpose: initial" in found[0].message
        assert "with purpose: initial" in found[0].remedy
    if severity == B:
        assert "2 consecutive successful" in found[0].message


def test_gmp_009_site_recorded_on_some_runs_only_is_one_suite(dossier_dir) -> None:
    def sparse_sites(files: dict[str, Any]) -> None:
        _no_purpose(*EARLIEST3, {"date": "2026-09-01"})(files)
        for run in files["gmp.yaml"]["aseptic_process_simulation"][1:]:
            del run["site"]
    found = findings_for(build(dossier_dir, sparse_sites), "GMP-009", phase=BLA)
    assert found == []

    def two_sites(files: dict[str, Any]) -> None:  # the same suite id at two sites: two suites
        _no_purpose(*EARLIEST3, {"date": "2026-09-01"})(files)
        files["gmp.yaml"]["aseptic_process_simulation"][-1]["site"] = "SITE-B"
    found = findings_for(build(dossier_dir, two_sites), "GMP-009", phase=BLA)
    assert [(f.record, f.severity.value) for f in found] == [
        ("aps 2025-01-20 SITE-A/SUITE-1", B),      # SITE-A's latest run is stale
        ("aps initial SITE-B/SUITE-1", I),          # SITE-B's qualification is not on record
    ]


def test_gmp_009_runs_left_out_are_not_evaluated(dossier_dir) -> None:
    path = build(dossier_dir, lambda files: files["gmp.yaml"].pop("aseptic_process_simulation"))
    assert findings_for(path, "GMP-009", phase=BLA) == []
    (reason,) = not_evaluated_for(path, "GMP-009", phase=BLA)
    assert "records no aseptic process simulation; add the media fill runs" in reason


@pytest.mark.parametrize(
    ("run", "words"),
    [
        ({"date": "2026-01-05"}, "Run the next aseptic process simulation of SITE-A/SUITE-1 now and every 6 months"),
        ({"date": "2026-09-01", "contaminated": 2}, "Investigate the contamination of the 2026-09-01 run"),
        ({"date": "2026-09-01", "worst_case": False}, "Run the next simulation of SITE-A/SUITE-1 under the worst case"),
    ],
    ids=["stale", "contaminated", "not-worst-case"],
)
def test_gmp_009_remedy_names_what_the_run_lacks(dossier_dir, run, words) -> None:
    qualified = [{**r, "purpose": "initial", "contaminated": 0} for r in EARLIEST3]  # January 2025
    (f,) = findings_for(build(dossier_dir, aps(*qualified, {"purpose": "periodic", **run})), "GMP-009", phase=BLA)
    assert f.severity.value == B and f.remedy.startswith(words), f.remedy
    assert "qualify each new suite" not in f.remedy  # the suite is qualified: not the remedy here
    (f,) = findings_for(build(dossier_dir, aps(*INITIAL3[:2])), "GMP-009", phase=BLA)
    assert f.remedy.startswith("Complete the initial qualification of SITE-A/SUITE-1 with 3 consecutive")


def test_gmp_009_current_means_within_six_months(dossier_dir) -> None:
    path = build(dossier_dir, aps({"date": "2026-05-25", "purpose": "periodic", "contaminated": 0}))
    assert findings_for(path, "GMP-009", phase=P3) == []  # exactly 6 months before 2026-11-25
    path = build(dossier_dir, aps({"date": "2026-05-24", "purpose": "periodic", "contaminated": 0}))
    (f,) = findings_for(path, "GMP-009", phase=P3)
    assert "older than 6 months" in f.message


# ---------------------------------------------------------------------------- GMP-010 … GMP-013


def test_gmp_010_names_each_missing_safeguard(dossier_dir) -> None:
    def mutate(files: dict[str, Any]) -> None:
        di = files["gmp.yaml"]["controls"]["data_integrity"]
        di["audit_trail"] = False
        del di["systems_validated"]
    (f,) = findings_for(build(dossier_dir, mutate), "GMP-010", phase=P3)
    assert f.severity.value == B  # audit_trail: false is a failed control
    assert "recorded as missing: audit trails on" in f.message
    assert "not shown: computerized systems validated (systems_validated)" in f.message
    assert "unique" not in f.message
    assert f.data["missing"] == ["audit_trail", "systems_validated"]
    assert f.remedy.startswith("Switch on the audit trails") and "; record systems_validated" in f.remedy


def test_gmp_010_in_place_without_its_flags_is_not_shown_at_info(dossier_dir) -> None:
    def bare(files: dict[str, Any]) -> None:
        files["gmp.yaml"]["controls"]["data_integrity"] = {"status": "in_place"}
    for phase in (P3, BLA, PA):
        (f,) = findings_for(build(dossier_dir, bare), "GMP-010", phase=phase)
        assert f.severity.value == I
        assert ("not shown: audit trails on, computerized systems validated and unique user logins"
                in f.message)
        assert f.remedy.startswith("Record audit_trail, systems_validated and unique_logins (true or false)")
    (f,) = findings_for(build(dossier_dir, control("data_integrity", unique_logins=False)), "GMP-010", phase=P2)
    assert f.severity.value == MA and "recorded as missing: unique user logins" in f.message


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
    # supplier_qualified left out: under a program in place a reviewer reads the supplier as qualified
    assert findings_for(build(dossier_dir, material(1, supplier_qualified=None)), "GMP-013", phase=P3) == []
    # ... without a program on record it is not shown (info), never a failed control
    path = build(dossier_dir, material(1, supplier_qualified=None),
                 lambda files: files["gmp.yaml"]["controls"].pop("supplier_qualification"))
    (f,) = findings_for(path, "GMP-013", phase=BLA)
    assert (f.record, f.severity.value) == ("material Human AB serum", I)
    assert "is not shown" in f.message and f.remedy.startswith("Record supplier_qualified (true or false)")
    # recorded false: graded
    (f,) = findings_for(build(dossier_dir, material(1, supplier_qualified=False)), "GMP-013", phase=BLA)
    assert (f.severity.value, f.message) == (
        B, "The supplier of critical material Human AB serum (ancillary) is not qualified (supplier_qualified).")
    path = build(dossier_dir, control("supplier_qualification", status="planned"))
    (f,) = findings_for(path, "GMP-013", phase=P3)
    assert f.record == "control supplier_qualification" and f.severity.value == B


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


@pytest.mark.parametrize(("modality", "autologous", "fires"), [
    ("gene_modified_cells", False, True),  # allogeneic CAR-NK from cord blood
    ("gene_edited_cells", False, True),
    ("gene_modified_cells", None, False),  # patient-derived: no donor to determine
    ("aav", False, False),                 # not a cell product
])
def test_gmp_014_a_cell_product_recorded_as_not_patient_derived_is_allogeneic(
        dossier_dir, modality, autologous, fires) -> None:
    def donor_derived(files: dict[str, Any]) -> None:
        files["dossier.yaml"]["product"].update(modality=modality, autologous=autologous)
        files["gmp.yaml"]["donors"] = [{"id": "CBU-7713", "eligibility_determined": False, "tests_complete": False,
                                        "released_from_quarantine": True, "lots": ["L-101"]}]
    found = findings_for(build(dossier_dir, donor_derived), "GMP-014", phase=P1)
    assert [(f.record, f.severity.value) for f in found] == ([("donor CBU-7713", B)] if fires else [])


def test_gmp_014_a_patient_lot_with_no_disposition_was_released(dossier_dir) -> None:
    """lots.csv leaving disposition blank on a patient lot means released (as SPEC-009 reads it): the
    lots of a donor never found eligible went to patients."""
    def blank(files: dict[str, Any]) -> None:
        files["lots.csv"] = (lot_rows("L-D1", "development", {"viability": 80}, disposition="not_applicable")
                             + lot_rows("L-101", "phase_1", {"viability": 80}, disposition=""))
    path = build(dossier_dir, _donor(**INCOMPLETE, lots=["L-101"]), blank)
    (f,) = findings_for(path, "GMP-014", phase=P1)
    assert f.severity.value == B and "given to patients (L-101: phase 1" in f.message


def test_gmp_014_an_engineering_run_no_donor_lists_is_not_untraced(dossier_dir) -> None:
    """An engineering run from a research leukopak reached no patient: its donor is not asked for."""
    def engineering(files: dict[str, Any]) -> None:
        allogeneic(files)
        files["lots.csv"] = (lot_rows("L-101", "phase_2", {"viability": 80}, starting_material="healthy_donor")
                             + lot_rows("ENG-01", "engineering", {"viability": 80}, starting_material="healthy_donor",
                                        disposition="not_applicable"))
    assert findings_for(build(dossier_dir, engineering), "GMP-014", phase=P2) == []


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
    assert (f.record, f.file, f.line, f.severity.value) == ("lot L-102", "lots.csv", 3, B)

    def one_donor_without_lots(files: dict[str, Any]) -> None:  # L-102 may be D-0002's: not shown
        unlinked(files)
        files["gmp.yaml"]["donors"].append({"id": "D-0002", "eligibility_determined": True})
    (f,) = findings_for(build(dossier_dir, one_donor_without_lots), "GMP-014", phase=P2)
    assert (f.record, f.severity.value) == ("lot L-102", I)
    assert "donor D-0002 records no lots, so which donor it came from is not shown" in f.message


def test_gmp_014_and_015_do_not_apply_to_other_modalities(dossier_dir) -> None:
    def aav(files: dict[str, Any]) -> None:
        files["dossier.yaml"]["product"]["modality"] = "aav"
        del files["gmp.yaml"]["controls"]["chain_of_identity"]
    path = build(dossier_dir, aav)
    for rule_id in ("GMP-014", "GMP-015"):
        assert findings_for(path, rule_id, phase=BLA) == []
        assert not_evaluated_for(path, rule_id, phase=BLA) == []
    # an autologous dossier that leaves chain_of_identity out: not shown (info); recorded planned: graded
    path = build(dossier_dir, lambda files: files["gmp.yaml"]["controls"].pop("chain_of_identity"))
    (f,) = findings_for(path, "GMP-015", phase=P1)
    assert f.severity.value == I and "no chain of identity control is shown" in f.message.lower()
    (f,) = findings_for(build(dossier_dir, control("chain_of_identity", status="planned")), "GMP-015", phase=P1)
    assert f.severity.value == MA and "planned, not yet in place" in f.message


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


def test_gmp_017_commercial_site_without_inspection_gets_a_readiness_note_from_bla(dossier_dir) -> None:
    path = build(dossier_dir, site(0, inspections=[]))
    (f,) = findings_for(path, "GMP-017", phase=BLA)
    assert (f.severity.value, f.record, f.file) == (I, "site SITE-A", "dossier.yaml")
    assert "Commercial site SITE-A has no FDA inspection on record" in f.message
    assert "21 CFR 601.20(d)" in f.message and "21 CFR 600.21" in f.message
    assert "pre-license inspection" in f.message and "CRL" not in f.message
    assert f.remedy.startswith("Prepare site SITE-A for the pre-license inspection")
    assert "SITE-A" in (path / "dossier.yaml").read_text().splitlines()[f.line - 1]
    (f,) = findings_for(path, "GMP-017", phase=PA)
    assert f.severity.value == I and "is inspected before licensure (21 CFR 601.20(d))" in f.message
    assert f.remedy.startswith("Record the pre-license (or pre-approval) inspection of site SITE-A")
    # before the BLA, and for a site not named as commercial, nothing to say
    assert findings_for(path, "GMP-017", phase=P3) == []
    assert findings_for(build(dossier_dir, site(0, inspections=[], commercial=False)), "GMP-017", phase=BLA) == []


def test_gmp_017_a_recorded_inspection_replaces_the_note(dossier_dir) -> None:
    pending = [{"date": "2026-10-01", "type": "pre_license", "outcome": "pending"}]
    assert findings_for(build(dossier_dir, site(0, inspections=pending)), "GMP-017", phase=BLA) == []


# ---------------------------------------------------------------------------- absent donor fields


@pytest.mark.parametrize(
    ("donor", "expect"),
    [
        ({"id": "D-0001", "eligibility_determined": True, "lots": ["L-101"]}, None),
        ({"id": "D-0001", "eligibility_determined": True}, None),
        ({"id": "D-0001", "eligibility_determined": False},
         (I, "has no eligibility determination and is held in quarantine")),
        ({"id": "D-0001", "eligibility_determined": True, "tests_complete": False, "lots": ["L-101"]},
         (B, "has incomplete donor testing, yet a lot made from it was given to patients")),
        ({"id": "D-0001", "eligibility_determined": False, "lots": ["L-101"]},
         (B, "Donor D-0001 has no eligibility determination, yet a lot made from it was given to patients")),
    ],
    ids=["eligible-lots", "eligible-only", "pending-held", "tests-false", "pending-lot-released"],
)
def test_gmp_014_unrecorded_donor_flags_follow_the_determination(dossier_dir, donor, expect) -> None:
    def mutate(files: dict[str, Any]) -> None:
        allogeneic(files)
        files["gmp.yaml"]["donors"] = [donor]
    found = findings_for(build(dossier_dir, mutate), "GMP-014", phase=BLA)
    if expect is None:
        assert found == []
    else:
        (f,) = found
        assert f.severity.value == expect[0] and expect[1] in f.message, f.message
        assert "incomplete donor testing" not in f.message or donor.get("tests_complete") is False
        assert "no release from quarantine" not in f.message  # not recorded, so not claimed


def test_gmp_014_donor_without_a_determination_field_is_a_located_load_error(dossier_dir) -> None:
    from typer.testing import CliRunner

    from cmcflex.cli import app

    def mutate(files: dict[str, Any]) -> None:
        allogeneic(files)
        files["gmp.yaml"]["donors"] = [{"id": "D-0001", "tests_complete": True, "lots": ["L-101"]}]
    path = build(dossier_dir, mutate)
    result = CliRunner().invoke(app, ["check", str(path)])
    assert result.exit_code == 2
    assert "gmp.yaml:" in result.output and "eligibility_determined" in result.output
    assert "add it, e.g. eligibility_determined: true" in result.output
    assert "Traceback" not in result.output


def test_gmp_014_donors_left_out_are_not_evaluated(dossier_dir) -> None:
    def mutate(files: dict[str, Any]) -> None:
        allogeneic(files)
        del files["gmp.yaml"]["donors"]
    path = build(dossier_dir, mutate)
    assert findings_for(path, "GMP-014", phase=BLA) == []
    (reason,) = not_evaluated_for(path, "GMP-014", phase=BLA)
    assert "records no donors" in reason and "add each donor" in reason


# ---------------------------------------------------------------------------- GMP-018

WHOLE_LOT = {"justification": "Each autologous lot is one patient's dose and is administered whole.",
             "scope": "autologous drug product lots",
             "alternative": "a cryopreserved retention vial of the transduced cells (intermediate)"}


def reserve(**value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(files: dict[str, Any]) -> None:
        files["gmp.yaml"]["controls"]["reserve_samples"] = value
    return mutate


@pytest.mark.parametrize("status", ["absent", "partial", "in_place"])
def test_gmp_018_exception_with_its_justification_is_the_flexibility_at_info(dossier_dir, status) -> None:
    path = build(dossier_dir, reserve(status=status, exception=WHOLE_LOT))
    for phase in (P2, P3, BLA, PA):
        (f,) = findings_for(path, "GMP-018", phase=phase)
        assert f.severity.value == I, phase
        assert f.message.startswith("No reserve sample is kept of autologous drug product lots under a "
                                    "documented exception, with its justification, and what is retained instead "
                                    "on record (controls.reserve_samples.exception)")
        assert f.data["exception"]["alternative"].startswith("a cryopreserved retention vial")
        assert "exceptions to reserve-sample retention" in f.message and "Not shown" not in f.message
        assert "exception" in (path / "gmp.yaml").read_text().splitlines()[f.line - 1]
    (f,) = findings_for(path, "GMP-018", phase=BLA)
    assert any("600.13" in c for c in f.cites) and any("May 5, 2026" in c for c in f.cites)
    (f,) = findings_for(path, "GMP-018", phase=P2)
    assert not any("600.13" in c for c in f.cites)  # not yet a licensed product


def test_gmp_018_keeps_the_product_name_the_scope_begins_with(dossier_dir) -> None:
    path = build(dossier_dir, reserve(status="absent", exception={**WHOLE_LOT, "scope": "TX-144 drug product lots"}))
    (f,) = findings_for(path, "GMP-018", phase=BLA)
    assert f.message.startswith("No reserve sample is kept of TX-144 drug product lots under")


def test_gmp_018_exception_without_scope_or_alternative_names_them_at_info(dossier_dir) -> None:
    path = build(dossier_dir, reserve(status="absent", exception={"justification": WHOLE_LOT["justification"]}))
    (f,) = findings_for(path, "GMP-018", phase=BLA)
    assert f.severity.value == I
    assert ("Not shown: which lots it covers (exception.scope) and what is retained instead "
            "(exception.alternative).") in f.message
    assert "exception.scope" in f.remedy


@pytest.mark.parametrize("status", ["absent", "in_place"])
def test_gmp_018_exception_without_justification_is_a_gap_naming_it(dossier_dir, status) -> None:
    path = build(dossier_dir, reserve(status=status, exception={"scope": "autologous drug product lots"}))
    for phase, severity in ((P2, MI), (P3, MA), (BLA, MA), (PA, MA)):
        (f,) = findings_for(path, "GMP-018", phase=phase)
        assert f.severity.value == severity
        assert "exception to reserve-sample retention for autologous drug product lots without its " \
            "justification (exception.justification)" in f.message
    blank = build(dossier_dir, reserve(status="absent", exception={"justification": "  "}))
    assert [f.severity.value for f in findings_for(blank, "GMP-018", phase=BLA)] == [MA]


def test_gmp_018_planned_control_is_a_gap_even_with_an_exception(dossier_dir) -> None:
    path = build(dossier_dir, reserve(status="planned", exception=WHOLE_LOT))
    (f,) = findings_for(path, "GMP-018", phase=BLA)
    assert f.severity.value == MA and "is planned, not yet in place" in f.message


def test_gmp_018_control_left_out_is_not_shown_and_phase_1_is_out_of_scope(dossier_dir) -> None:
    def left_out(files: dict[str, Any]) -> None:
        del files["gmp.yaml"]["controls"]["reserve_samples"]
    path = build(dossier_dir, left_out)
    for phase in (P2, P3, BLA, PA):
        (f,) = findings_for(path, "GMP-018", phase=phase)
        assert f.severity.value == I and "does not record controls.reserve_samples" in f.message
        assert "exception" in f.remedy
    assert "GMP-018" not in report_for(path, phase=P1).rules_evaluated  # part 211 does not apply (210.2(c))
    absent = build(dossier_dir, control("reserve_samples", status="absent"))
    assert "GMP-018" not in report_for(absent, phase=P1).rules_evaluated
    (f,) = findings_for(absent, "GMP-018", phase=BLA)
    assert f.severity.value == MA and "recorded as absent" in f.message


def test_gmp_018_not_evaluated_without_controls(dossier_dir) -> None:
    def no_controls(files: dict[str, Any]) -> None:
        del files["gmp.yaml"]["controls"]
    path = build(dossier_dir, no_controls)
    assert findings_for(path, "GMP-018", phase=BLA) == []
    (reason,) = not_evaluated_for(path, "GMP-018", phase=BLA)
    assert "controls.reserve_samples" in reason


# ---------------------------------------------------------------------------- metadata


@pytest.mark.parametrize("rule_id", ["GMP-001", "GMP-002", "GMP-003", "GMP-004", "GMP-005", "GMP-006", "GMP-007",
                                     "GMP-008", "GMP-009", "GMP-010", "GMP-013", "GMP-015", "GMP-018"])
def test_rules_with_info_parts_declare_their_grading(rule_id) -> None:
    from cmcflex.rules import REGISTRY

    rule = REGISTRY.get(rule_id)
    assert "info" in rule.grading and not rule.partial, rule_id


def test_gmp017_declares_the_minor_grade_of_a_licensed_sites_capa() -> None:
    from cmcflex.phases import Phase
    from cmcflex.rules import REGISTRY
    from cmcflex.vocabulary import Severity

    rule = REGISTRY.get("GMP-017")
    assert "info" in rule.grading and "minor" in rule.grading
    assert dict(rule.partial) == {Phase.POST_APPROVAL: Severity.MINOR}
