"""lots.xlsx and stability.xlsx: read like their CSV twins, problems located at the cell."""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from cmcflex.dossier.errors import DossierError
from cmcflex.dossier.loader import load_dossier
from cmcflex.dossier.workbook import cell_text, column_letters
from tests.helpers import lot_rows, report_for, write_dossier

xlsxwriter = pytest.importorskip("xlsxwriter")
pytest.importorskip("python_calamine")

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dossiers" / "cart-phase2"


def write_sheet(path: Path, rows: list[list[Any]], sheet: str = "Sheet1", first: tuple[int, int] = (0, 0),
                before: list[str] = ()) -> None:
    """A workbook whose sheet holds ``rows`` from cell ``first``: ISO dates as date cells, numbers as numbers."""
    book = xlsxwriter.Workbook(str(path))
    for name in before:
        book.add_worksheet(name).write_string(0, 0, "not this sheet")
    ws = book.add_worksheet(sheet)
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            r, c = first[0] + i, first[1] + j
            if value is None or value == "":
                continue
            if isinstance(value, (int, float)):
                ws.write_number(r, c, value)
            elif i and isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\d", value):
                ws.write_datetime(r, c, dt.datetime.fromisoformat(value), date)
            elif isinstance(value, str) and value.startswith("#"):
                ws.write_formula(r, c, "=NA()", None, value)
            else:
                ws.write_string(r, c, value)
    book.close()


def csv_rows(path: Path) -> list[list[Any]]:
    """A CSV file's rows, numbers as numbers (as a spreadsheet would hold them)."""
    out: list[list[Any]] = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for i, row in enumerate(csv.reader(handle)):
            out.append([float(v) if i and re.fullmatch(r"-?\d+(\.\d+)?", v) else v for v in row])
    return out


AS_OF = dt.date(2026, 11, 1)
CSV_NAMES = ("lots.csv", "stability.csv")


def _as_workbooks(source: Path, twin: Path) -> Path:
    """A copy of the dossier at ``source`` with its lots and stability tables as workbooks."""
    shutil.copytree(source, twin)
    for name in ("lots", "stability"):
        write_sheet(twin / f"{name}.xlsx", csv_rows(twin / f"{name}.csv"))
        (twin / f"{name}.csv").unlink()
    return twin


def _said(path: Path) -> list[tuple[Any, ...]]:
    """Everything a report says of its findings and unevaluated rules, in order."""
    report = report_for(path, as_of=AS_OF)
    return ([(f.rule, f.severity, f.message, f.remedy, f.file, f.line, f.record) for f in report.findings]
            + [(n.rule, n.reason) for n in report.not_evaluated])


def _in_workbook_words(item: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(v.replace("lots.csv", "lots.xlsx").replace("stability.csv", "stability.xlsx")
                 if isinstance(v, str) else v for v in item)


def test_the_sample_dossier_as_workbooks_gives_the_same_findings_naming_the_workbooks(tmp_path: Path) -> None:
    twin = _as_workbooks(SAMPLE, tmp_path / "xlsx")
    expected = _said(SAMPLE)
    assert any("lots.csv" in str(item) for item in expected)  # the CSV dossier names its own files
    said = _said(twin)
    assert said == [_in_workbook_words(item) for item in expected]
    assert not [item for item in said if any(name in str(item) for name in CSV_NAMES)]
    files = {f.file for f in report_for(twin, as_of=AS_OF).findings}
    assert "lots.xlsx" in files and not any(f.endswith(".csv") for f in files)
    loaded = load_dossier(twin)
    assert {i.file for i in loaded.inputs} >= {"lots.xlsx", "stability.xlsx"}
    assert (loaded.lots_file, loaded.stability_file) == ("lots.xlsx", "stability.xlsx")
    assert loaded.lots is not None and loaded.lots.lot_column("manufacture_date")[0] == \
        load_dossier(SAMPLE).lots.lot_column("manufacture_date")[0]  # type: ignore[union-attr]


def test_spec_findings_name_the_file_the_lots_came_from(tmp_path: Path) -> None:
    """SPEC-009 (a lot released under exception, nothing on record) and SPEC-013 (a stability lot
    id spelt unlike its lot) name lots.xlsx and stability.xlsx, in message, remedy and location;
    the CSV dossier they were made from names lots.csv and stability.csv."""
    source = shutil.copytree(SAMPLE, tmp_path / "csv")
    stability = (source / "stability.csv").read_text(encoding="utf-8")
    (source / "stability.csv").write_text(stability.replace("\nENG-04,", "\neng-04,", 1), encoding="utf-8")
    twin = _as_workbooks(source, tmp_path / "xlsx")
    for root, lots, stab in ((source, "lots.csv", "stability.csv"), (twin, "lots.xlsx", "stability.xlsx")):
        found = report_for(root, as_of=AS_OF).findings
        exception = next(f for f in found if f.rule == "SPEC-009" and "released under exception" in f.message)
        assert f"{lots} records neither" in exception.message and f"the {lots} columns" in (exception.remedy or "")
        assert exception.file == lots and exception.line
        spelling = next(f for f in found if f.rule == "SPEC-013" and "eng-04" in f.message)
        assert spelling.message.startswith(f"{stab} names lot 'eng-04'")
        assert f"which {lots} does not hold" in spelling.message
        assert spelling.remedy == f"Write the lot id in {stab} exactly as {lots} has it."
        assert (spelling.file, spelling.line) == (stab, 2)
        other = {"lots.csv", "stability.csv", "lots.xlsx", "stability.xlsx"} - {lots, stab}
        assert not any(name in f"{f.message} {f.remedy}" for f in (exception, spelling) for name in other)


def test_an_empty_stability_workbook_is_named_in_the_reasons(tmp_path: Path) -> None:
    root = write_dossier(tmp_path / "d", {"lots.csv": lot_rows("L-1", "phase_2", {"viability": 80})})
    write_sheet(root / "stability.xlsx", [["lot_id", "material", "condition", "time", "time_unit", "attribute",
                                           "value", "unit"]])
    reasons = [n.reason for n in report_for(root, as_of=AS_OF).not_evaluated if n.rule.startswith("STAB")]
    assert "stability.xlsx holds no results" in reasons and "stability.csv" not in str(reasons)


HEADER = ["lot_id", "material", "use", "process_version", "site", "manufacture_date", "starting_material",
          "attribute", "value", "unit", "method", "disposition"]


def _lots(values: list[Any]) -> list[list[Any]]:
    rows = [HEADER]
    for i, value in enumerate(values):
        row = lot_rows(f"L-{i}", "phase_2", {"viability": value})[0]
        rows.append([row.get(c, "") for c in HEADER])
    return rows


def _problems(root: Path) -> list[str]:
    with pytest.raises(DossierError) as caught:
        load_dossier(root)
    return [str(p) for p in caught.value.problems]


def test_a_bad_value_is_located_at_its_cell(tmp_path: Path) -> None:
    root = write_dossier(tmp_path / "d", {})
    rows = _lots([82.4, 80, "eighty"])
    write_sheet(root / "lots.xlsx", rows)
    assert any(p.startswith("lots.xlsx!Sheet1!I4: value:") for p in _problems(root))
    write_sheet(root / "lots.xlsx", rows[:2] + [[]] * 2 + rows[2:], sheet="Batch data", first=(2, 1))
    assert any(p.startswith("lots.xlsx!'Batch data'!J8: value:") for p in _problems(root))


def test_an_excel_error_is_an_error_not_an_empty_value(tmp_path: Path) -> None:
    root = write_dossier(tmp_path / "d", {})
    rows = _lots([82.4, 80])
    rows[2][HEADER.index("disposition")] = "#N/A"
    write_sheet(root / "lots.xlsx", rows)
    assert any(p.startswith("lots.xlsx!Sheet1!L3: -: the cell holds the Excel error #N/A") for p in _problems(root))


def test_an_empty_sheet_is_an_empty_table(tmp_path: Path) -> None:
    root = write_dossier(tmp_path / "d", {})
    write_sheet(root / "lots.xlsx", [])
    assert any(p.startswith("lots.xlsx!Sheet1:0:0: -: empty file") for p in _problems(root))


def test_the_sheet_named_like_the_table_wins(tmp_path: Path) -> None:
    root = write_dossier(tmp_path / "d", {})
    write_sheet(root / "lots.xlsx", _lots([82.4, 91.0]), sheet="LOTS", before=["Notes"])
    lots = load_dossier(root).lots
    assert lots is not None and lots.numeric_values("drug_product", "viability") == [("L-0", 82.4), ("L-1", 91.0)]
    write_sheet(root / "lots.xlsx", _lots([82.4, 91.0]), sheet="Results", before=["Notes"])
    assert "lots.xlsx!Notes!A1: lot_id: required column 'lot_id' is missing" in _problems(root)  # the first sheet


def test_both_the_csv_and_the_workbook_of_one_table_is_an_error(tmp_path: Path) -> None:
    root = write_dossier(tmp_path / "d", {"lots.csv": lot_rows("L-1", "phase_2", {"viability": 80})})
    write_sheet(root / "lots.xlsx", _lots([80]))
    assert any(p.startswith("lots.xlsx:0:0: -: both lots.csv and lots.xlsx") for p in _problems(root))


def test_rows_after_a_blank_row_keep_their_sheet_row_in_findings(tmp_path: Path) -> None:
    root = write_dossier(tmp_path / "d", {"specifications.yaml": {"specifications": [
        {"material": "drug_product", "tests": [{"attribute": "viability", "unit": "%", "criterion": ">= 70"}]}]}})
    rows = _lots([82.4, 64.0])
    write_sheet(root / "lots.xlsx", rows[:2] + [[], []] + rows[2:])
    lots = load_dossier(root).lots
    assert lots is not None
    assert [r.line for r in lots.results("drug_product", "viability")] == [2, 5]


def test_without_the_extra_an_xlsx_table_is_a_located_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_dossier(tmp_path / "d", {})
    write_sheet(root / "lots.xlsx", _lots([80]))
    monkeypatch.setitem(sys.modules, "python_calamine", None)
    assert any(p.startswith("lots.xlsx:0:0: -:") and "cmcflex[excel]" in p for p in _problems(root))


@pytest.mark.parametrize(("value", "text"), [
    (82.4, "82.4"), (0.1 + 0.2, "0.3"), (80.0, "80"), (1.2e12, "1200000000000"), (3.5e-05, "3.5e-05"),
    (7, "7"), (True, "TRUE"), (dt.date(2026, 3, 16), "2026-03-16"), (dt.datetime(2026, 3, 16), "2026-03-16"),
    (dt.datetime(2026, 3, 16, 10, 30), "2026-03-16 10:30:00"), ("=A1", "=A1"),
])
def test_cells_are_written_as_the_sheet_shows_them(value: Any, text: str) -> None:
    assert cell_text(value) == text


def test_column_letters() -> None:
    assert [column_letters(c) for c in (1, 3, 26, 27, 52, 703)] == ["A", "C", "Z", "AA", "AZ", "AAA"]


def test_number_formats_that_change_a_cell_are_read_as_excel_shows_them(tmp_path: Path) -> None:
    """A percent cell is its percent; an identifier keeps the zero padding and decimals it shows."""
    root = write_dossier(tmp_path / "d", {})
    book = xlsxwriter.Workbook(str(root / "lots.xlsx"))
    ws = book.add_worksheet("lots")
    percent, one_decimal, padded = (book.add_format({"num_format": f}) for f in ("0.0%", "0.0", "0000000"))
    ws.write_row(0, 0, HEADER)
    for r, (lot, version, viability) in enumerate(((100198, 2.0, 0.9123), (100199, 2.0, 0.88)), start=1):
        row = lot_rows(str(lot), "phase_2", {"viability": 0})[0]
        for c, name in enumerate(HEADER):
            if name == "lot_id":
                ws.write_number(r, c, lot, padded)
            elif name == "process_version":
                ws.write_number(r, c, version, one_decimal)
            elif name == "value":
                ws.write_number(r, c, viability, percent)
            elif name == "unit":
                ws.write_string(r, c, "%")
            elif name == "manufacture_date":
                ws.write_string(r, c, "2025-06-01")
            elif row.get(name, "") != "":
                ws.write_string(r, c, str(row[name]))
    book.close()
    lots = load_dossier(root).lots
    assert lots is not None
    assert [(lot.id, lot.process_version) for lot in lots.lots()] == [("0100198", "2.0"), ("0100199", "2.0")]
    assert [r.result.value for r in lots.results("drug_product", "viability")] == [91.23, 88.0]


def test_a_format_changes_nothing_in_a_value_column_but_a_percent() -> None:
    from cmcflex.dossier.workbook import CellFormat, shown_text

    assert shown_text(82.456, CellFormat(1, 1, False), identifier=False) == "82.456"  # full precision
    assert shown_text(7.0, CellFormat(3, 0, False), identifier=True) == "007"
    assert shown_text(0.125, CellFormat(1, 1, True), identifier=False) == "12.5%"


def test_title_rows_above_the_header_are_not_the_table(tmp_path: Path) -> None:
    root = write_dossier(tmp_path / "d", {})
    rows = _lots([82.4, 80.0])
    write_sheet(root / "lots.xlsx", [["HX-1101 batch analysis, exported 2026-11-20"], ["Confidential"], [], *rows])
    lots = load_dossier(root).lots
    assert lots is not None and [lot.id for lot in lots.lots()] == ["L-0", "L-1"]
    assert [lot.line for lot in lots.lots()] == [5, 6]  # their sheet rows
