"""Controlled values: case variants read as meant, other values reported once with a suggestion."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from cmcflex.cli import app
from cmcflex.dossier.controlled import ControlledValue, Vocabulary
from cmcflex.dossier.errors import DossierError
from cmcflex.dossier.loader import load_dossier
from cmcflex.dossier.lots import USES
from cmcflex.dossier.models import MethodStatus, Modality, SiteRole
from cmcflex.phases import Phase
from tests.helpers import base_dossier_yaml, lot_rows, write_dossier

runner = CliRunner()


class _Clash(ControlledValue):
    LOWER = "a"
    UPPER = "A"


def test_case_variants_name_their_value_only_when_unambiguous() -> None:
    assert Phase("Phase_2") is Phase.PHASE_2 and Phase("BLA") is Phase.BLA
    assert Modality("CAR_T_Autologous") is Modality.CAR_T_AUTOLOGOUS
    assert _Clash("a") is _Clash.LOWER and _Clash("A") is _Clash.UPPER
    with pytest.raises(ValueError):
        Phase("phase two")  # spelling (case, spaces, hyphens, underscores) is forgiven, not words
    assert Vocabulary(["x", "X"]).canonical("x") == "x" and Vocabulary(["x", "X"]).canonical("X") == "X"
    assert Vocabulary(["ab", "AB"]).canonical("Ab") is None


@given(st.sampled_from(USES), st.lists(st.booleans(), min_size=12, max_size=12))
def test_any_case_of_a_use_is_that_use(use: str, upper: list[bool]) -> None:
    variant = "".join(c.upper() if u else c for c, u in zip(use, upper))
    assert Vocabulary(USES).canonical(variant) == use


@pytest.mark.parametrize(("enum", "written", "meant"), [
    ("Phase", "Phase 2", "phase_2"),
    ("Phase", "post-approval", "post_approval"),
    ("InteractionType", "pre-BLA", "pre_BLA"),
    ("InteractionType", "Pre BLA", "pre_BLA"),
    ("InteractionType", "Type B", "type_B"),
    ("InteractionType", "Type B EOP", "type_B_EOP"),
    ("InteractionType", "pre-IND", "pre_IND"),
    ("ReportingCategory", "CBE 30", "CBE-30"),
    ("ReportingCategory", "cbe30", "CBE-30"),
    ("ReportingCategory", "Annual Report", "annual_report"),
    ("ReportingCategory", "Prior Approval Supplement", "PAS"),
    ("ReevaluationRoute", "PAS", "prior_approval_supplement"),
    ("ReevaluationRoute", "CBE-30", "CBE-30"),
    ("TimeUnit", "Month", "months"),
    ("TimeUnit", "day", "days"),
    ("TimeUnit", "min", "minutes"),
    ("TimeUnit", "Minutes", "minutes"),
    ("GmpRegime", "Part 211", "part_211"),
    ("StudyDesign", "side-by-side", "side_by_side"),
])
def test_spelling_variants_name_their_value(enum: str, written: str, meant: str) -> None:
    import cmcflex.dossier.models as models

    cls = getattr(models, enum)
    assert cls(written).value == meant


@pytest.mark.parametrize(("enum", "written"), [
    ("Phase", "phase two"), ("Phase", "p2"), ("InteractionType", "Type E"), ("InteractionType", "EOP2"),
    ("ReportingCategory", "CBE"), ("TimeUnit", "mo"), ("TimeUnit", "weeks"), ("Conclusion", "comparible"),
])
def test_other_values_are_not_guessed(enum: str, written: str) -> None:
    import cmcflex.dossier.models as models

    cls = getattr(models, enum)
    with pytest.raises(ValueError):
        cls(written)


def test_yaml_enums_accept_case_variants(tmp_path: Path) -> None:
    info = base_dossier_yaml(phase="Phase 2", product={"name": "P", "modality": "CAR-T autologous"})
    info["sites"][0]["roles"] = ["Drug_Product", "TESTING"]
    methods = {"methods": [{"id": "M-1", "status": "Validated"}]}
    d = load_dossier(write_dossier(tmp_path / "d", {"dossier.yaml": info, "methods.yaml": methods}))
    assert d.info.phase is Phase.PHASE_2 and d.modality is Modality.CAR_T_AUTOLOGOUS
    assert d.info.sites[0].roles == [SiteRole.DRUG_PRODUCT, SiteRole.TESTING]
    assert d.methods is not None and d.methods.methods[0].status is MethodStatus.VALIDATED


def test_lots_csv_accepts_case_variants(tmp_path: Path) -> None:
    rows = lot_rows("L-1", "PPQ", {"potency": 1}, disposition="Released", starting_material="Patient")
    rows += lot_rows("L-2", "Phase 2", {"potency": 2}, disposition="RELEASED")
    d = load_dossier(write_dossier(tmp_path / "d", {"lots.csv": rows}))
    assert d.lots is not None
    lot = d.lots.lot("L-1")
    assert lot is not None and (lot.use, lot.disposition, lot.starting_material) == ("ppq", "released", "patient")
    assert [x.id for x in d.lots.lots_where(use="phase_2")] == ["L-2"]


def test_a_bad_yaml_value_repeated_is_one_problem(tmp_path: Path) -> None:
    methods = {"methods": [{"id": f"M-{k}", "status": "valdated"} for k in range(10)]
               + [{"id": "M-X", "status": "qualifed"}]}
    with pytest.raises(DossierError) as caught:
        load_dossier(write_dossier(tmp_path / "d", {"methods.yaml": methods}))
    problems = [str(p) for p in caught.value.problems]
    assert len(problems) == 2, problems
    (valdated,) = [p for p in problems if "'valdated'" in p]
    assert "(did you mean 'validated'?)" in valdated and "(10 places: here and at lines" in valdated
    (qualifed,) = [p for p in problems if "'qualifed'" in p]
    assert "places" not in qualifed


def test_a_bad_lots_value_repeated_is_one_problem_with_its_row_count(tmp_path: Path) -> None:
    rows = [r for k in range(10) for r in lot_rows(f"L-{k}", "pivotal", {"potency": 1, "viability": 80})]
    rows += lot_rows("L-X", "phase_2", {"potency": 1}, disposition="relased")
    root = write_dossier(tmp_path / "d", {"lots.csv": rows})
    result = runner.invoke(app, ["check", str(root)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.startswith("lots.csv:")]
    assert len(lines) == 2, result.output
    assert lines[0].startswith("lots.csv:2:3: use: unknown use 'pivotal' (20 rows, the first here)")
    assert lines[1].startswith("lots.csv:22:12: disposition: unknown disposition 'relased' (did you mean 'released'?)")


STABILITY_HEADER = "lot_id,material,condition,time,time_unit,attribute,value,unit\n"


def test_stability_csv_accepts_case_variants(tmp_path: Path) -> None:
    text = STABILITY_HEADER + "L-1,drug_product,Long_Term,3,Months,potency,90,%\n"
    d = load_dossier(write_dossier(tmp_path / "d", {"stability.csv": text}))
    assert d.stability is not None
    (point,) = d.stability
    assert (point.condition, point.time_unit, point.months) == ("long_term", "months", 3)


def test_stability_csv_accepts_spelling_variants(tmp_path: Path) -> None:
    text = STABILITY_HEADER + "L-1,drug_product,long-term,3,month,potency,90,%\nL-1,drug_product,In Use,6,hours,potency,88,%\n"
    d = load_dossier(write_dossier(tmp_path / "d", {"stability.csv": text}))
    assert d.stability is not None
    assert [(p.condition, p.time_unit) for p in d.stability] == [("long_term", "months"), ("in_use", "hours")]


def test_an_in_use_period_in_minutes_is_read_as_minutes(tmp_path: Path) -> None:
    """'Infuse within 20 minutes of thaw': minutes are a unit of their own, never read as months."""
    text = STABILITY_HEADER + "L-1,drug_product,in_use,20,minutes,viability,90,%\n"
    info = base_dossier_yaml(in_use={"value": 20, "unit": "minutes"})
    d = load_dossier(write_dossier(tmp_path / "d", {"dossier.yaml": info, "stability.csv": text}))
    assert d.stability is not None and d.info.in_use is not None
    assert d.stability[0].months == pytest.approx(20 / (60 * 24 * 30.4375))
    assert d.info.in_use.months == pytest.approx(d.stability[0].months)


def test_stability_csv_reads_a_value_written_with_its_percent_sign(tmp_path: Path) -> None:
    text = (STABILITY_HEADER + "L-1,drug_product,long_term,3,months,viability,91.0%,\n"
            "L-1,drug_product,long_term,6,months,viability,88 %,%\n")
    d = load_dossier(write_dossier(tmp_path / "d", {"stability.csv": text}))
    assert d.stability is not None
    assert [(p.result.value, p.unit) for p in d.stability] == [(91.0, "%"), (88.0, "%")]


def test_stability_csv_skips_rows_of_empty_cells(tmp_path: Path) -> None:
    text = STABILITY_HEADER + "L-1,drug_product,long_term,3,months,potency,90,%\n,,,,,,,\n;;\n"
    d = load_dossier(write_dossier(tmp_path / "d", {"stability.csv": text.replace(";;", ",,")}))
    assert d.stability is not None and len(d.stability) == 1


def test_stability_csv_reports_each_bad_value_and_invisible_lot_id_once(tmp_path: Path) -> None:
    rows = [f"L-{k},drug_product,long trm,{k},months,potency,90,%\n" for k in range(6)]
    rows += ["L-9\u200b,drug_product,long_term,1,months,potency,90,%\n"] * 2
    root = write_dossier(tmp_path / "d", {"stability.csv": STABILITY_HEADER + "".join(rows)})
    result = runner.invoke(app, ["check", str(root)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.startswith("stability.csv:")]
    assert lines == [
        "stability.csv:2:3: condition: unknown condition 'long trm' (6 rows, the first here) (did you mean "
        "'long_term'?); expected one of: long_term, accelerated, in_use, shipping",
        "stability.csv:8:1: lot_id: lot_id 'L-9<U+200B>' (2 rows, the first here) holds an invisible or control "
        "character; a lot id must be plain text that dossier files can name exactly: remove the character",
    ]


def test_interval_method_accepts_case_variants_only() -> None:
    from cmcflex.dossier.models import StatisticalInterval

    assert StatisticalInterval.model_validate({"method": "Tolerance_Interval"}).method == "tolerance_interval"
    with pytest.raises(ValueError, match="'Tolerance'"):
        StatisticalInterval.model_validate({"method": "Tolerance"})


def test_a_bad_value_on_a_later_row_of_a_known_lot_is_named_as_written(tmp_path: Path) -> None:
    rows = lot_rows("L-1", "phase_2", {"potency": 1, "viability": 80, "ph": 7})
    rows[1]["disposition"] = "relased"
    rows[2]["disposition"] = "Released"  # a case variant agrees with the lot's 'released'
    with pytest.raises(DossierError) as caught:
        load_dossier(write_dossier(tmp_path / "d", {"lots.csv": rows}))
    assert [str(p) for p in caught.value.problems] == [
        "lots.csv:3:12: disposition: unknown disposition 'relased' (did you mean 'released'?); expected one of: "
        "released, rejected, released_under_exception, pending, not_applicable"]
