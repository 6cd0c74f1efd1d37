"""Loading: positions, unknown keys with suggestions, all problems together, lots table."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cmcflex.dossier.errors import DossierError
from cmcflex.dossier.loader import load_dossier
from tests.helpers import lot_rows


def _problems(path: Path) -> list[str]:
    with pytest.raises(DossierError) as info:
        load_dossier(path)
    return [str(p) for p in info.value.problems]


def test_minimal_dossier_loads(dossier_dir):
    d = load_dossier(dossier_dir())
    assert d.info.product.name == "TEST-1"
    assert d.autologous
    assert [i.file for i in d.inputs] == ["dossier.yaml"]


def test_unknown_key_suggests_closest(dossier_dir):
    path = dossier_dir({"specifications.yaml": (
        "specifications:\n"
        "  - material: drug_product\n"
        "    tests:\n"
        "      - attribute: viability\n"
        "        criterion: '>= 70'\n"
        "        justifcation: {basis: clinical_lots}\n")})
    problems = _problems(path)
    assert problems == [
        "specifications.yaml:6:9: specifications[0].tests[0].justifcation: "
        "unknown key 'justifcation' (did you mean 'justification'?)"
    ]


def test_all_problems_of_all_files_are_collected(dossier_dir):
    path = dossier_dir({
        "gmp.yaml": "controls:\n  batch_records: {status: done}\n",
        "methods.yaml": "methods:\n  - name: Potency\n",
        "lots.csv": "lot_id,material,use,attribute,value\nL1,drug_product,phase_9,viability,80\n",
    })
    problems = _problems(path)
    assert any(p.startswith("gmp.yaml:2:") and "controls.batch_records.status" in p for p in problems)
    assert any(p.startswith("methods.yaml:2:") and ".id" in p and "missing" in p for p in problems)
    assert any(p.startswith("lots.csv:2:3: use: unknown use 'phase_9'") for p in problems)


def test_bad_criterion_is_located(dossier_dir):
    path = dossier_dir({"specifications.yaml": (
        "specifications:\n  - material: drug_product\n    tests:\n"
        "      - {attribute: potency, criterion: 'lots of it'}\n")})
    (problem,) = _problems(path)
    assert problem.startswith("specifications.yaml:4:")
    assert "criterion" in problem and "cannot read criterion 'lots of it'" in problem


def test_missing_dossier_yaml(tmp_path):
    (tmp_path / "gmp.yaml").write_text("{}\n")
    problems = _problems(tmp_path)
    assert problems[0].startswith(f"dossier.yaml:0:0: -: not a dossier: no dossier.yaml in {tmp_path}")


def test_not_a_folder(tmp_path):
    f = tmp_path / "file.txt"
    f.write_text("x")
    assert "not a folder" in _problems(f)[0]
    assert "no such dossier folder" in _problems(tmp_path / "nope")[0]


def test_lots_columnar_and_conflicting_lot_values(dossier_dir):
    rows = lot_rows("L1", "phase_2", {"viability": "82.4", "endotoxin": "<0.50", "sterility": "No growth"})
    rows += lot_rows("L2", "phase_2", {"viability": "79"}, site="SITE-B")
    rows += lot_rows("L2", "phase_2", {"potency": "120"}, site="SITE-A")
    path = dossier_dir({"lots.csv": rows})
    problems = _problems(path)
    assert len(problems) == 1
    assert problems[0].startswith("lots.csv:6:5: site: lot L2 has site 'SITE-A' here but 'SITE-B'")


def test_lots_table_keeps_censoring_and_words(dossier_dir):
    rows = lot_rows("L1", "phase_2", {"viability": "82.4", "endotoxin": "<0.50", "sterility": "No growth"})
    d = load_dossier(dossier_dir({"lots.csv": rows}))
    (endo,) = list(d.lots.results("drug_product", "endotoxin"))
    assert endo.result.censor == "<" and endo.result.value == 0.5 and endo.line == 3
    (ster,) = list(d.lots.results("drug_product", "sterility"))
    assert ster.result.word == "no growth"
    assert d.lots.numeric_values("drug_product", "viability") == [("L1", 82.4)]
    assert d.lots.numeric_values("drug_product", "endotoxin") == []


def test_semicolon_and_bom_csv_accepted(dossier_dir):
    text = "\ufefflot_id;material;use;attribute;value\nL1;drug_product;phase_2;viability;80\n"
    path = dossier_dir()
    (path / "lots.csv").write_text(text, encoding="utf-8")
    d = load_dossier(path)
    assert d.lots.lot("L1").use == "phase_2"


def test_loading_never_writes_into_the_dossier(dossier_dir):
    path = dossier_dir({"lots.csv": lot_rows("L1", "phase_2", {"viability": "80"})})
    before = {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in path.rglob("*")}
    load_dossier(path)
    after = {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in path.rglob("*")}
    assert before == after


def test_link_outside_the_dossier_is_refused(dossier_dir, tmp_path):
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text("methods: []\n")
    path = dossier_dir()
    os.symlink(outside, path / "methods.yaml")
    assert "symbolic link leads outside the dossier folder" in _problems(path)[0]
    assert load_dossier(path, follow_links=True).methods is not None


def test_object_tags_are_refused(dossier_dir):
    path = dossier_dir({"gmp.yaml": "quality_unit: !!python/object/apply:os.system ['echo hi']\n"})
    (problem,) = _problems(path)
    assert problem.startswith("gmp.yaml:1:15: quality_unit: tag") and "not allowed" in problem


def test_duplicate_keys_are_errors(dossier_dir):
    path = dossier_dir({"gmp.yaml": "quality_unit: {independent: true}\nquality_unit: {}\n"})
    (problem,) = _problems(path)
    assert problem.startswith("gmp.yaml:2:1: quality_unit: duplicate key 'quality_unit' (first at line 1)")


def test_lots_where_and_pivotal_lots(dossier_dir):
    rows = (lot_rows("L1", "phase_2", {"viability": "80"}, site="SITE-A")
            + lot_rows("L2", "phase_3", {"viability": "81"}, site="SITE-B")
            + lot_rows("L3", "ppq", {"viability": "82"}, site="SITE-A", material="drug_substance"))
    d = load_dossier(dossier_dir({"lots.csv": rows}, pivotal_phase="phase_2"))
    assert [lot.id for lot in d.lots.lots_where(site="SITE-A")] == ["L1", "L3"]
    assert [lot.id for lot in d.lots.lots_where(use=("phase_3", "ppq"), site="SITE-A")] == ["L3"]
    assert d.lots.lots_where(use="commercial") == []
    assert d.lots.lots_where(site="SITE-B")[0].line == 3
    assert d.pivotal_lot_ids() == ["L1"]
    assert d.pivotal_lot_ids("drug_substance") == []


def test_every_conflicting_lot_level_column_is_named(dossier_dir):
    rows = lot_rows("L1", "phase_2", {"viability": "80"}) + lot_rows(
        "L1", "phase_3", {"potency": "120"}, site="SITE-B", manufacture_date="2025-07-01")
    problems = _problems(dossier_dir({"lots.csv": rows}))
    assert len(problems) == 1
    assert problems[0].startswith("lots.csv:3:3: use: lot L1 has use 'phase_3' here but 'phase_2', "
                                  "and site 'SITE-B' here but 'SITE-A', and manufacture_date "
                                  "'2025-07-01' here but '2025-06-01' at lots.csv line 2;")


@pytest.mark.parametrize("chunks, where", [
    ([b"ok\nd\xc3\xa9f\xe9g\n"], (2, 4, 7)),            # after a two-byte character: column in characters
    ([b"ok\nd\xc3", b"\xa9f\nx\n", b"\xff"], (4, 1, 10)),  # a character split between reads is fine
    ([b"ok\n", b"\xc3\xa9\xc3"], (2, 2, 5)),             # a character cut off by the end of the file
    ([b"\xef\xbb\xbfa\n", b"b\x80\n"], (2, 2, 6)),        # after a byte-order mark
])
def test_not_utf8_names_the_first_bad_byte(chunks: list[bytes], where: tuple[int, int, int]) -> None:
    from cmcflex.dossier.errors import not_utf8

    problem = not_utf8("f.csv", chunks)
    assert problem is not None and (problem.line, problem.col) == where[:2]
    assert f"at offset {where[2]}" in problem.message


def test_not_utf8_is_none_for_utf8() -> None:
    from cmcflex.dossier.errors import not_utf8

    assert not_utf8("f.csv", [b"caf\xc3", b"\xa9\n", b"\xe2\x82\xac"]) is None
