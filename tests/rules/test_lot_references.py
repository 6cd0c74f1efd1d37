"""Lot ids named in YAML resolve to lots.csv exactly; a near miss is reported, never dropped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cmcflex.cli import app
from cmcflex.dossier.ids import IdIndex, describe_miss, id_key, visible
from tests.helpers import base_dossier_yaml, findings_for, lot_rows
from tests.rules.test_comparability import POST_LOW, POST_OK, PRE, change, dossier, lots

# the one out-of-range post-change lot (L-202 = 70) written as a near miss of its id
NEAR_MISSES = ["l-202", "L-202\u200b", "\u200bL-202", "L-202\u00a0", "\ufeffL-202", "L-202 ", "L\u2013202"]


def study(post_ids: list[str], conclusion: str = "comparable") -> dict[str, Any]:
    return change(comparability={"pre_lots": list(PRE), "post_lots": post_ids, "conclusion": conclusion})


@pytest.mark.parametrize("near", NEAR_MISSES)
def test_cmp004_fires_when_the_out_of_range_lot_is_misspelt(dossier_dir, near: str) -> None:
    post = ["L-201", near, "L-203", "L-204"]
    path = dossier(dossier_dir, study(post), rows=lots(PRE, POST_LOW), phase="bla")
    (f,) = findings_for(path, "CMP-004")
    assert f.severity.value == "blocker"
    assert f"'{visible(near)}' (did you mean 'L-202'?" in f.message
    assert "lots.csv does not hold" in f.message and "post-change" in f.message
    assert f.file == "changes.yaml" and f.line
    assert f.data is not None and f.data["suggestions"] == {near: "L-202"}


def test_cmp004_zero_width_space_shows_the_invisible_character(dossier_dir) -> None:
    path = dossier(dossier_dir, study(["L-201", "L-202\u200b", "L-203", "L-204"]), rows=lots(PRE, POST_LOW),
                   phase="bla")
    (f,) = findings_for(path, "CMP-004")
    assert "'L-202<U+200B>'" in f.message and "\u200b" not in f.message


def test_cmp004_silent_when_every_listed_lot_resolves(dossier_dir) -> None:
    path = dossier(dossier_dir, study(list(POST_OK)), rows=lots(PRE, POST_OK), phase="bla")
    assert findings_for(path, "CMP-004") == []


def test_cmp004_exact_ids_still_catch_the_out_of_range_lot(dossier_dir) -> None:
    path = dossier(dossier_dir, study(list(POST_LOW)), rows=lots(PRE, POST_LOW), phase="bla")
    (f,) = findings_for(path, "CMP-004")
    assert "L-202 = 70" in f.message


def test_cmp004_leaves_a_study_not_claiming_comparability_to_spec013(dossier_dir) -> None:
    path = dossier(dossier_dir, study(["L-201", "l-202", "L-203"], conclusion="not_comparable"),
                   rows=lots(PRE, POST_LOW), phase="bla")
    assert findings_for(path, "CMP-004") == []
    (f,) = findings_for(path, "SPEC-013")
    assert "post_lots of change CHG-001" in f.message and "'l-202' (did you mean 'L-202'?" in f.message


def test_spec013_reports_unresolved_lots_in_every_file(dossier_dir) -> None:
    rows = lots(PRE, POST_OK)
    tests = [{"attribute": "potency", "method": "M-POT", "criterion": ">= 50",
              "justification": {"basis": "clinical_lots", "text": "t", "lots": ["L-101", "L-1O2"]}},
             {"attribute": "viability", "method": "M-VIA", "criterion": ">= 70 %"}]
    files = {
        "changes.yaml": {"changes": [change(comparability={"pre_lots": ["L-101", "L-102", "L-103"],
                                                           "post_lots": ["L-201", "L-2O2\ufeff"]})]},
        "lots.csv": rows,
        "specifications.yaml": {"specifications": [{"material": "drug_product", "tests": tests}]},
        "methods.yaml": {"methods": [{"id": "M-POT", "status": "validated"}, {"id": "M-VIA", "status": "validated"}]},
        "gmp.yaml": {"donors": [{"id": "D-1", "eligibility_determined": True, "lots": ["L-101", "L-999X"]}]},
    }
    found = findings_for(dossier_dir(files), "SPEC-013", phase="bla")
    by_record = {f.record: f for f in found if "absent from lots.csv" in f.message}
    assert set(by_record) == {"change CHG-001", "test drug_product/potency", "donor D-1"}
    assert "'L-2O2<U+FEFF>' (did you mean 'L-202'?)" in by_record["change CHG-001"].message
    assert "'L-1O2' (did you mean 'L-102'?)" in by_record["test drug_product/potency"].message
    assert by_record["donor D-1"].file == "gmp.yaml" and by_record["donor D-1"].line
    assert by_record["test drug_product/potency"].file == "specifications.yaml"


def test_spec013_silent_when_every_yaml_lot_resolves(dossier_dir) -> None:
    path = dossier(dossier_dir, study(list(POST_OK)), rows=lots(PRE, POST_OK), phase="bla")
    assert not [f for f in findings_for(path, "SPEC-013") if "absent from lots.csv" in f.message]


# ------------------------------------------------------------------ lot ids are text

runner = CliRunner()


@pytest.mark.parametrize("written, became", [("0106", "70"), ("1.10", "1.1"), ("12", None), ("1_5", "15")])
def test_numeric_lot_id_is_a_located_error_asking_for_quotes(tmp_path: Path, written: str,
                                                             became: str | None) -> None:
    from tests.helpers import write_dossier

    changes = (f"changes:\n  - id: CHG-001\n    kind: process\n    phase: phase_2\n    risk: major\n"
               f"    comparability:\n      post_lots: [L-201, {written}]\n")
    root = write_dossier(tmp_path / "d", {"changes.yaml": changes, "lots.csv": lot_rows("L-201", "phase_2", {"x": 1})})
    result = runner.invoke(app, ["check", str(root)])
    assert result.exit_code == 2
    assert "changes.yaml:7:26: changes[0].comparability.post_lots[1]:" in result.output
    # the YAML reader refuses numbers that YAML 1.1 misreads (leading 0, '_') wherever they stand;
    # an identifier refuses any other number
    if written.startswith("0") or "_" in written:
        assert f"YAML reads '{written}' as {became}" in result.output and f"quote it ('{written}')" in result.output
    else:
        assert f"put it in quotes: '{written}'" in result.output
        assert (f"({written} becomes {became})" in result.output) if became else "becomes" not in result.output


@pytest.mark.parametrize("field, yaml_text", [
    ("sites[0].id", "cmcflex: 1\nproduct: {name: P, modality: aav}\nphase: phase_1\nsites:\n  - id: 17\n"),
    ("commercial_process", "cmcflex: 1\nproduct: {name: P, modality: aav}\nphase: phase_1\ncommercial_process: 2.0\n"),
])
def test_other_numeric_identifiers_are_located_errors(tmp_path: Path, field: str, yaml_text: str) -> None:
    from tests.helpers import write_dossier

    root = write_dossier(tmp_path / "d", {"dossier.yaml": yaml_text})
    result = runner.invoke(app, ["check", str(root)])
    assert result.exit_code == 2 and f"{field}: an identifier is text" in result.output


def test_a_numeric_document_id_is_a_located_error(tmp_path: Path) -> None:
    from tests.helpers import write_dossier

    changes = "changes:\n  - {id: CHG-1, kind: process, phase: phase_1, risk: minor, risk_assessment: 4.20}\n"
    root = write_dossier(tmp_path / "d", {"changes.yaml": changes})
    result = runner.invoke(app, ["check", str(root)])
    assert result.exit_code == 2
    assert ("changes.yaml:2:78: changes[0].risk_assessment: an identifier is text, but YAML reads the unquoted "
            "4.20 as a number (4.20 becomes 4.2); put it in quotes: '4.20'") in result.output


def test_quoted_numeric_ids_are_accepted(tmp_path: Path) -> None:
    from tests.helpers import write_dossier

    text = "cmcflex: 1\nproduct: {name: P, modality: aav}\nphase: phase_1\ncommercial_process: '2.0'\n"
    root = write_dossier(tmp_path / "d", {"dossier.yaml": text})
    assert runner.invoke(app, ["check", str(root)]).exit_code in (0, 1)


# ------------------------------------------------------------------ generators

IDS = st.from_regex(r"[A-Z]{1,3}-[0-9]{2,4}", fullmatch=True)
INVISIBLE = st.sampled_from(["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00a0", "\u202f", "\u200e",
                             "\u202e", "\u00ad", " ", "\t"])


@st.composite
def near_misses(draw: st.DrawFn) -> tuple[str, str]:
    """A lot id and a spelling of it that differs only in case and invisible characters."""
    lot_id = draw(IDS)
    chars = [c.lower() if draw(st.booleans()) else c for c in lot_id]
    for _ in range(draw(st.integers(1, 3))):
        chars.insert(draw(st.integers(0, len(chars))), draw(INVISIBLE))
    return lot_id, "".join(chars)


@given(near_misses(), st.lists(IDS, max_size=30))
def test_a_near_miss_suggests_its_lot(pair: tuple[str, str], others: list[str]) -> None:
    lot_id, near = pair
    known = [i for i in others if id_key(i) != id_key(lot_id)] + [lot_id]
    if near in known:
        return  # only the case changed back to the original: nothing to suggest
    assert IdIndex(known).suggest([near]) == {near: lot_id}
    shown = describe_miss(near, lot_id)
    assert shown.isprintable() and "did you mean" in shown


@given(st.text(max_size=40))
def test_visible_shows_every_character_one_cannot_see(text: str) -> None:
    shown = visible(text)
    assert shown.isprintable() and shown == shown.strip()
    assert (shown == text) == (text.isprintable() and text == text.strip(" "))


def test_spec013_reports_a_stability_lot_spelt_otherwise_but_not_a_stability_only_lot(dossier_dir) -> None:
    stability = ("lot_id,material,condition,time,time_unit,attribute,value,unit\n"
                 "l-201,drug_product,long_term,3,months,potency,90,%\n"
                 "S-1,drug_product,long_term,3,months,potency,90,%\n"
                 "L-202,drug_product,long_term,3,months,potency,90,%\n")
    path = dossier_dir({"lots.csv": lots(PRE, POST_OK), "stability.csv": stability})
    found = [f for f in findings_for(path, "SPEC-013") if f.file == "stability.csv"]
    assert [(f.line, f.record) for f in found] == [(2, "lot l-201")]
    assert "'l-201' (did you mean 'L-201'?" in found[0].message


def test_spec013_a_stability_attribute_no_test_covers(dossier_dir) -> None:
    """A slip of a test's attribute drops the results from every stability judgement; another
    attribute may be stability-only and is only noted."""
    from cmcflex.vocabulary import Severity

    stability = ("lot_id,material,condition,time,time_unit,attribute,value,unit\n"
                 "L-201,drug_product,long_term,3,months,potency,90,%\n"
                 "L-201,drug_product,long_term,3,months,viabilty,88,%\n"
                 "L-201,drug_product,long_term,6,months,viabilty,86,%\n"
                 "L-201,drug_product,long_term,3,months,container_closure_integrity,Pass,\n")
    specs = {"specifications": [{"material": "drug_product", "tests": [
        {"attribute": a, "criterion": c, "method": "M-1"} for a, c in (("potency", ">= 50 %"), ("viability", ">= 70 %"))]}]}
    path = dossier_dir({"lots.csv": lots(PRE, POST_OK), "stability.csv": stability, "specifications.yaml": specs})
    found = [f for f in findings_for(path, "SPEC-013") if f.file == "stability.csv"]
    assert [(f.line, f.record, f.severity) for f in found] == [
        (3, "test drug_product/viabilty", Severity.MAJOR),
        (5, "test drug_product/container_closure_integrity", Severity.INFO)]
    assert "(did you mean 'viability'?), so no stability rule judges them" in found[0].message
    clean = dossier_dir({"lots.csv": lots(PRE, POST_OK), "specifications.yaml": specs,
                         "stability.csv": stability.replace("viabilty", "viability")
                         .replace("container_closure_integrity", "potency").replace("Pass", "90")})
    assert [f for f in findings_for(clean, "SPEC-013") if f.file == "stability.csv"] == []


def test_spec013_a_stability_method_methods_yaml_does_not_list(dossier_dir) -> None:
    stability = ("lot_id,material,condition,time,time_unit,attribute,value,unit,method\n"
                 "L-201,drug_product,long_term,3,months,potency,90,%,M-POT-O2\n"
                 "L-201,drug_product,long_term,6,months,potency,88,%,M-POT-O2\n"
                 "L-201,drug_product,long_term,9,months,potency,87,%,M-POT-02\n")
    specs = {"specifications": [{"material": "drug_product", "tests": [
        {"attribute": "potency", "criterion": ">= 50 %", "method": "M-POT-02"}]}]}
    methods = {"methods": [{"id": "M-POT-02", "status": "validated"}]}
    path = dossier_dir({"stability.csv": stability, "specifications.yaml": specs, "methods.yaml": methods})
    found = [f for f in findings_for(path, "SPEC-013") if f.file == "stability.csv"]
    assert [(f.line, f.record) for f in found] == [(2, "method M-POT-O2")]
    assert "(did you mean 'M-POT-02'?)" in found[0].message


def test_many_lots_are_searched_by_single_edits_only(monkeypatch: pytest.MonkeyPatch) -> None:
    import cmcflex.dossier.ids as ids

    def no_scan(*_: object) -> None:
        raise AssertionError("a similarity scan over every lot id")

    monkeypatch.setattr(ids, "closest", no_scan)
    index = IdIndex([f"LOT-{k:06d}" for k in range(ids.MAX_FUZZY_IDS + 1)] + ["DS-2006"])
    assert index.suggest(["ds-206", "lot-000012\u200b", "QQ-1", "LOT-0000O1"]) == {
        "ds-206": "DS-2006", "lot-000012\u200b": "LOT-000012", "QQ-1": None,
        "LOT-0000O1": None,  # LOT-000001 ... LOT-000091 are all one edit away: no single suggestion
    }


@settings(max_examples=15)
@given(st.data())
def test_any_near_miss_of_a_study_lot_is_reported_by_cmp004(data: st.DataObject) -> None:
    """Whichever post-change lot is misspelt (case, invisible characters), the study is reported."""
    import tempfile

    from tests.helpers import write_dossier

    lot = data.draw(st.sampled_from(list(POST_LOW)))
    chars = [c.lower() if data.draw(st.booleans()) else c for c in lot]
    chars.insert(data.draw(st.integers(0, len(chars))), data.draw(INVISIBLE))
    near = "".join(chars)
    post = [near if x == lot else x for x in POST_LOW]
    with tempfile.TemporaryDirectory() as folder:
        path = write_dossier(Path(folder) / "d", {"changes.yaml": {"changes": [study(post)]},
                                                 "lots.csv": lots(PRE, POST_LOW),
                                                 "dossier.yaml": base_dossier_yaml(phase="bla")})
        found = findings_for(path, "CMP-004")
    misses = [f for f in found if "lots.csv does not hold" in f.message]
    assert len(misses) == 1 and misses[0].data["suggestions"] == {near: lot}
    assert (lot == "L-202") or any("L-202 = 70" in f.message for f in found)


def test_spec013_shows_invisible_characters_in_site_and_method_ids(dossier_dir) -> None:
    rows = lot_rows("L-1", "phase_2", {"potency": 60}, site="SITE-A\u200b", method="m-pot")
    files = {"lots.csv": rows,
             "specifications.yaml": {"specifications": [{"material": "drug_product", "tests": [
                 {"attribute": "potency", "method": "M-POT\u00a0", "criterion": ">= 50"}]}]},
             "methods.yaml": {"methods": [{"id": "M-POT", "status": "validated"}]}}
    messages = [f.message for f in findings_for(dossier_dir(files), "SPEC-013")]
    assert "lots.csv names site 'SITE-A<U+200B>', which dossier.yaml does not list (did you mean 'SITE-A'?)." in messages
    assert "lots.csv names method 'm-pot', which methods.yaml does not list (did you mean 'M-POT'?)." in messages
    assert any("names method 'M-POT<U+00A0>'" in m and "(did you mean 'M-POT'?)" in m for m in messages)
    assert all(m.isprintable() for m in messages)


@pytest.mark.parametrize("near", ["DS-2006\u200b", "ds-2006"])
def test_the_bundled_blocker_survives_a_misspelt_lot(tmp_path: Path, near: str) -> None:
    """aav-bla: CHG-002's out-of-range post-change lot DS-2006, written otherwise, still blocks."""
    import shutil

    root = tmp_path / "aav-bla"
    shutil.copytree(Path(__file__).resolve().parents[2] / "sample_dossiers" / "aav-bla", root)
    changes = root / "changes.yaml"
    text = changes.read_text(encoding="utf-8")
    assert "post_lots: [DS-2005, DS-2006, DS-2007]" in text
    changes.write_text(text.replace("DS-2006,", f'"{near}",', 1), encoding="utf-8")
    (f,) = findings_for(root, "CMP-004")
    assert f.severity.value == "blocker" and f.record == "change CHG-002"
    assert f"'{visible(near)}' (did you mean 'DS-2006'?" in f.message
    result = runner.invoke(app, ["check", str(root), "--as-of", "2026-11-25"])
    assert result.exit_code == 1 and "CMP-004" in result.output


def test_findings_name_the_lots_folder_when_it_alone_holds_the_lot_data(tmp_path: Path) -> None:
    import shutil

    from cmcflex.dossier.loader import load_dossier

    d = tmp_path / "d"
    shutil.copytree(Path(__file__).resolve().parents[2] / "sample_dossiers" / "cart-phase2", d)
    (d / "lots").mkdir()
    (d / "lots.csv").rename(d / "lots" / "site-a.csv")
    assert load_dossier(d).lots_file == "lots/*.csv"
    (f,) = [f for f in findings_for(d, "SPEC-009") if f.record == "lot CRX19-021"]
    assert "lots/*.csv records neither" in f.message and f.file == "lots/site-a.csv"
