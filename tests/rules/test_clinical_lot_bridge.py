"""STAB-002/003: which changes bridge clinical lots of an earlier process to the commercial one."""

from __future__ import annotations

from tests.helpers import findings_for
from tests.rules.test_stability import JUSTIFIED, change, clinical_dossier

SUMMARY = "New serum lot supplier; release data of the first two lots within history; no impact on quality (RA-2)"


def minor(**extra):
    return change("CHG-2", conclusion=None, **{"risk": "minor", "summary": SUMMARY, **extra})


def test_a_minor_change_assessed_proportionately_bridges_the_clinical_lots(dossier_dir):
    """CMP-002 accepts a minor change on its risk assessment and summary; so does the shelf life."""
    path = clinical_dossier(dossier_dir, changes=[minor()], clinical_lot_stability=JUSTIFIED)
    (f,) = findings_for(path, "STAB-002")
    assert f.severity.value == "info" and f.data["changes"] == ["CHG-2"]
    assert all(g.severity.value == "info" for g in findings_for(path, "CMP-002"))


def test_a_minor_change_without_its_summary_or_risk_assessment_does_not(dossier_dir):
    for record in (minor(summary=None), minor(risk_assessment=None), change("CHG-2", conclusion=None)):
        record = {k: v for k, v in record.items() if v is not None}
        path = clinical_dossier(dossier_dir, changes=[record], clinical_lot_stability=JUSTIFIED)
        (f,) = findings_for(path, "STAB-002")
        assert f.severity.value != "info" and "comparability conclusion on change CHG-2" in f.message, f.message


def test_a_minor_change_whose_study_is_pending_does_not(dossier_dir):
    record = {**minor(), **{k: v for k, v in change("CHG-2", conclusion="pending").items() if k == "comparability"}}
    path = clinical_dossier(dossier_dir, changes=[record], clinical_lot_stability=JUSTIFIED)
    (f,) = findings_for(path, "STAB-002")
    assert f.severity.value != "info"


def test_an_engineering_run_of_an_earlier_process_is_no_clinical_lot(dossier_dir):
    """The flexibility rests on representative clinical lots; an engineering run carries no shelf life."""
    from tests.rules.test_stability import SPECS, lots, stable

    path = dossier_dir({"specifications.yaml": SPECS,
                        "stability.csv": stable(("L-1",), months=(0, 3, 6)) + stable(("E-1",), months=(0, 6, 12, 24)),
                        "lots.csv": lots("L-1") + lots("E-1", version="v1", use="engineering"),
                        "changes.yaml": {"changes": [change()]}},
                       phase="bla", shelf_life={"value": 12, "unit": "months"}, commercial_process="v2",
                       clinical_lot_stability=JUSTIFIED)
    (f,) = findings_for(path, "STAB-002")
    assert f.severity.value == "blocker" and "E-1" not in f.data.get("clinical_lots_counted", [])
