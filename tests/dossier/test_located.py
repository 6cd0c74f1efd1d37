"""Load errors are located where the problem is: YAML syntax, missing keys and files, over-long lines."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cmcflex.cli import app
from cmcflex.dossier.errors import DossierError
from cmcflex.dossier.loader import load_dossier
from tests.helpers import LOT_COLUMNS

runner = CliRunner()
GMP = "\n".join([
    "quality_unit: {independent: true}",                        # 1
    "controls:",                                                # 2
    "  written_procedures: {status: in_place, evidence: SOP-1}",  # 3
    "  batch_records: {status: in_place, evidence: MBR-1}",     # 4
]) + "\n" + "# filler\n" * 40


def problems_of(path: Path) -> list[str]:
    with pytest.raises(DossierError) as caught:
        load_dossier(path)
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize(("edit", "expected"), [
    (('evidence: SOP-1}', 'evidence: "SOP-1}'),
     'gmp.yaml:3:52: -: invalid YAML: while scanning a quoted scalar found unexpected end of stream (at line 45, '
     'the end of the file: it is never closed)'),
    (('evidence: SOP-1}', 'evidence: SOP-1'),
     "gmp.yaml:4:16: -: invalid YAML: while parsing a flow mapping did not find expected ',' or '}' (the flow "
     "mapping begins at line 3, column 23)"),
    (("  batch_records", " batch_records"),
     "gmp.yaml:4:2: -: invalid YAML: while parsing a block mapping did not find expected key (the block mapping "
     "begins at line 1, column 1)"),
])
def test_invalid_yaml_is_located_where_the_parser_found_it(dossier_dir: Callable[..., Path],
                                                           edit: tuple[str, str], expected: str) -> None:
    text = GMP.replace(*edit)
    assert problems_of(dossier_dir({"gmp.yaml": text})) == [expected]


def test_a_missing_required_field_shows_a_valid_value(tmp_path: Path) -> None:
    (tmp_path / "dossier.yaml").write_text(
        "product: {name: X, modality: aav}\nphase: phase_1\nsites: [{id: SITE-A, name: A, roles: [testing]}]\n",
        encoding="utf-8")
    problems = problems_of(tmp_path)
    assert problems == ["dossier.yaml:1:1: cmcflex: required field 'cmcflex' is missing; add it, e.g. cmcflex: 1"]


def test_an_empty_folder_is_not_a_dossier(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", str(tmp_path), "--as-of", "2026-11-25"])
    assert result.exit_code == 2
    assert f"dossier.yaml:0:0: -: not a dossier: no dossier.yaml in {tmp_path}" in result.output


def test_a_folder_of_other_files_is_not_a_dossier_either(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello\n", encoding="utf-8")
    assert problems_of(tmp_path)[0].startswith(f"dossier.yaml:0:0: -: not a dossier: no dossier.yaml in {tmp_path}")


def _lots_with_line(dossier_dir: Callable[..., Path], at: int, line: str) -> Path:
    rows = [f"L{k},drug_product,phase_2,v1,SITE-A,2025-06-01,patient,viability,8{k % 10},%,M-1,released"
            for k in range(20)]
    rows[at] = line
    return dossier_dir({"lots.csv": ",".join(LOT_COLUMNS) + "\n" + "\n".join(rows) + "\n"})


def test_a_50_mb_line_is_located_on_its_own_line(dossier_dir: Callable[..., Path]) -> None:
    path = _lots_with_line(dossier_dir, 9, "x" * 50_000_000)
    start = time.perf_counter()
    problems = problems_of(path)
    assert time.perf_counter() - start < 30
    assert problems == ["lots.csv:11:2: -: row has 1 fields, the header has 12 (a line of 50,000,000 characters)"]


@pytest.mark.parametrize(("field", "column"), [("value", 9), ("lot_id", 1), ("method", 11)])
def test_an_over_long_field_is_located_on_its_line_and_column(dossier_dir: Callable[..., Path], field: str,
                                                              column: int) -> None:
    fields = "L9,drug_product,phase_2,v1,SITE-A,2025-06-01,patient,viability,89,%,M-1,released".split(",")
    fields[column - 1] = "9" * 5_000_000
    problems = problems_of(_lots_with_line(dossier_dir, 9, ",".join(fields)))
    assert problems == [f"lots.csv:11:{column}: {field}: {field} is 5,000,000 characters long; "
                        "a field holds at most 10,000"]


def test_an_over_long_quoted_field_is_located_on_its_line(dossier_dir: Callable[..., Path]) -> None:
    fields = "L9,drug_product,phase_2,v1,SITE-A,2025-06-01,patient,viability,89,%,M-1,released".split(",")
    fields[8] = '"' + "9" * 5_000_000 + '"'
    problems = problems_of(_lots_with_line(dossier_dir, 9, ",".join(fields)))
    assert problems == ["lots.csv:11:1: -: unreadable CSV: a field is longer than 131,072 characters; "
                        "a field holds at most 10,000"]


def test_a_missing_specification_material_shows_a_valid_value(dossier_dir: Callable[..., Path]) -> None:
    text = "specifications:\n  - tests: [{attribute: viability, criterion: '>= 70 %'}]\n"
    problems = problems_of(dossier_dir({"specifications.yaml": text}))
    assert len(problems) == 1 and problems[0].endswith(
        "required field 'material' is missing; add it, e.g. material: drug_product"), problems
