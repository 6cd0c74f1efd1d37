"""stability.csv (and stability.xlsx) `method`: optional, the method id that produced a result."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from cmcflex.dossier.errors import Problem
from cmcflex.dossier.loader import load_dossier
from cmcflex.dossier.lots import read_stability_csv
from tests.helpers import lot_rows, write_dossier

HEADER = "lot_id,material,condition,time,time_unit,attribute,value,unit"
ROWS = ["L-1,drug_product,long_term,0,months,potency,890,pg/mL", "L-1,drug_product,long_term,6,months,potency,1450,pg/mL"]


def _read(text: str) -> tuple[list[tuple[str, str | None]], list[Problem]]:
    problems: list[Problem] = []
    points = read_stability_csv(io.StringIO(text, newline=""), "stability.csv", problems)
    return [(p.result.describe(), p.method) for p in points], problems


def test_the_method_column_is_read_where_written() -> None:
    text = f"{HEADER},method\n{ROWS[0]},QC-POT-01\n{ROWS[1]}, \n"
    assert _read(text) == ([("890", "QC-POT-01"), ("1450", None)], [])


def test_a_file_without_the_method_column_is_read_as_before() -> None:
    assert _read("\n".join([HEADER, *ROWS]) + "\n") == ([("890", None), ("1450", None)], [])


def test_the_workbook_gives_the_method_as_the_csv_does(tmp_path: Path) -> None:
    pytest.importorskip("python_calamine")
    from tests.dossier.test_workbook import write_sheet

    root = write_dossier(tmp_path / "d", {"lots.csv": lot_rows("L-1", "ppq", {"potency": 1400})})
    rows = [[*HEADER.split(","), "method"], ["L-1", "drug_product", "long_term", 0, "months", "potency", 890, "pg/mL",
                                              "QC-POT-01"],
            ["L-1", "drug_product", "long_term", 6, "months", "potency", 1450, "pg/mL"]]
    write_sheet(root / "stability.xlsx", rows)
    points = load_dossier(root).stability
    assert points is not None and [(p.time, p.method) for p in points] == [(0.0, "QC-POT-01"), (6.0, None)]
