"""``lots.xlsx`` and ``stability.xlsx``: one worksheet read exactly as its CSV twin.

The sheet is the one named like the table (``lots``, ``stability``; case aside), else the first
sheet. Its rows become the CSV reader's input, so the columns, values and rules are those of
``lots.csv`` and ``stability.csv``, checked in one place. Cells keep their type's meaning: a date
cell is written as an ISO date (``2026-03-16``; a date with a time of day keeps it, and is then
an error where a date is expected), a number as the number Excel shows at full precision
(15 significant digits: ``82.4`` stays ``82.4``), text as it is. A cell holding an Excel error
(``#N/A``, ``#DIV/0!``) is an error, never an empty value. Problems are located at the cell
(``lots.xlsx!Sheet1!C14``); findings name the file and the sheet row (``lots.xlsx:14``).

Read with python-calamine (Rust; 100,000 rows in about 3 s here, ten times openpyxl's read-only
mode), the optional extra ``cmcflex[excel]``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable
from typing import Any, NamedTuple
from xml.etree import ElementTree

from cmcflex.dossier.errors import Problem

EXTRA_HINT = ("reading .xlsx files needs python-calamine, in the optional extra cmcflex[excel]: "
              "pip install '.[excel]' in the cmcflex sources")
MAX_ERRORS = 50
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_ERROR_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*\bt=[\"']e[\"'][^>]*)>(.*?)</(?:\w+:)?c>", re.DOTALL)
_CELL_REF = re.compile(rb"\br=[\"']([A-Z]{1,3})([0-9]+)[\"']")
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)<")


def column_letters(col: int) -> str:
    """``1`` → ``A``, ``27`` → ``AA``."""
    out = ""
    while col > 0:
        col, rest = divmod(col - 1, 26)
        out = chr(65 + rest) + out
    return out


def _sheet_label(file: str, sheet: str) -> str:
    quoted = sheet if re.fullmatch(r"\w+", sheet) else "'" + sheet.replace("'", "''") + "'"
    return f"{file}!{quoted}"


class CellProblem(Problem):
    """A problem at a workbook cell: ``file`` is ``lots.xlsx!Sheet1``, ``line`` the sheet row and
    ``col`` the sheet column, shown as ``lots.xlsx!Sheet1!C14``."""

    __slots__ = ()

    def __str__(self) -> str:
        if self.line <= 0 or self.col <= 0:
            return super().__str__()
        from cmcflex.report.text import clean

        message = clean(" ".join(self.message.split()))
        return f"{clean(self.file)}!{column_letters(self.col)}{self.line}: {clean(self.field or '-')}: {message}"


class Sheet(NamedTuple):
    """A worksheet as CSV text, with where each CSV line and column came from."""

    name: str
    text: str
    rows: list[int]  # rows[csv line] = sheet row (1-based); rows[0] unused
    col_offset: int  # sheet columns left of the first CSV column

    def identity(self) -> bool:
        return self.col_offset == 0 and all(r == i for i, r in enumerate(self.rows) if i)


def cell_text(value: object) -> str:
    """One cell as the CSV reader expects it (see the module docstring)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        shown = float(f"{value:.15g}")  # what Excel shows at full precision; no binary noise
        return str(int(shown)) if shown.is_integer() and abs(shown) < 1e15 else repr(shown)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def choose_sheet(names: list[str], table: str) -> str:
    """The sheet named like the table (case aside), else the first."""
    return next((n for n in names if n.strip().lower() == table), names[0])


def to_csv(rows: Any, col_offset: int) -> tuple[str, list[int]]:
    """CSV text of the non-empty rows, trailing empty columns dropped, and each line's sheet row."""
    kept: list[tuple[int, list[str]]] = []
    width = 0
    memo: dict[tuple[type, Any], str] = {}  # dates and values repeat down a column

    def text(v: Any) -> str:
        key = (type(v), v)
        found = memo.get(key)
        if found is None:
            found = memo[key] = cell_text(v)
        return found

    for number, row in enumerate(rows, start=1):
        cells = [v if type(v) is str else text(v) for v in row]  # most cells are text: no call
        if not "".join(cells).strip():
            continue
        last = len(cells)
        while not cells[last - 1].strip():
            last -= 1
        kept.append((number, cells))
        width = max(width, last)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    lines = [0]
    for number, cells in kept:
        if len(cells) != width:
            cells = cells[:width] + [""] * (width - len(cells))
        writer.writerow(cells)
        lines.append(number)
        joined = "".join(cells)
        if "\n" in joined or "\r" in joined:  # a quoted line break: the row spans several CSV lines
            lines.extend([number] * (joined.count("\n") + joined.count("\r")))
    return out.getvalue(), lines


def error_cells(data: bytes, sheet_index: int) -> list[tuple[str, int, int]]:
    """(error text, row, column) of each cell holding an Excel error value in a sheet of an
    .xlsx workbook (calamine reads those as empty). Sheets are found through the workbook's own
    relationships; a part it cannot find is left alone (calamine has already read the sheet)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            book = ElementTree.fromstring(z.read("xl/workbook.xml"))
            rels = ElementTree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
            sheets = book.findall(f"{_MAIN}sheets/{_MAIN}sheet")
            rid = sheets[sheet_index].get(f"{_REL}id")
            target = next(r.get("Target", "") for r in rels if r.get("Id") == rid)
            part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            xml = z.read(part)
    except (KeyError, IndexError, StopIteration, zipfile.BadZipFile, ElementTree.ParseError, OSError):
        return []
    if b't="e"' not in xml and b"t='e'" not in xml:
        return []
    out = []
    for match in _ERROR_CELL.finditer(xml):
        ref, value = _CELL_REF.search(match.group(1)), _VALUE.search(match.group(2))
        text = value.group(1).decode("utf-8", "replace") if value else "an error"
        if ref is None:
            out.append((text, 0, 0))
            continue
        letters, row = ref.group(1).decode(), int(ref.group(2))
        col = 0
        for ch in letters:
            col = col * 26 + ord(ch) - 64
        out.append((text, row, col))
    return out


def read_sheet(data: bytes, rel: str, table: str, problems: list[Problem]) -> Sheet | None:
    """The table's sheet of the workbook ``data`` as CSV, or None after a located problem."""
    try:
        from python_calamine import CalamineWorkbook
    except ImportError:
        problems.append(Problem(rel, 0, 0, "", EXTRA_HINT))
        return None
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        names = list(book.sheet_names)
        if not names:
            problems.append(Problem(rel, 0, 0, "", "the workbook has no sheet"))
            return None
        name = choose_sheet(names, table)
        sheet = book.get_sheet_by_name(name)
        col_offset = sheet.start[1] if sheet.start is not None else 0
        text, lines = to_csv(sheet.iter_rows(), col_offset)
    except Exception as exc:  # noqa: BLE001 - calamine raises its own errors for damaged files
        problems.append(Problem(rel, 0, 0, "", f"not a readable .xlsx workbook ({type(exc).__name__}: "
                                f"{' '.join(str(exc).split())[:200]})"))
        return None
    label = _sheet_label(rel, name)
    errors = error_cells(data, names.index(name))
    for value, row, col in errors[:MAX_ERRORS]:
        problems.append(CellProblem(label, row, col, "", f"the cell holds the Excel error {value}; "
                                    "enter the value itself (cmcflex reads no formula errors)"))
    if errors:
        return None
    return Sheet(name, text, lines, col_offset)


def located(problem: Problem, rel: str, sheet: Sheet) -> Problem:
    """A problem the CSV reader found in the sheet's CSV, moved to the sheet's cell."""
    if problem.file != rel or problem.line <= 0:
        return problem
    label = _sheet_label(rel, sheet.name)
    if len(sheet.rows) < 2:  # an empty sheet: the problem is the sheet's
        return Problem(label, 0, 0, problem.field, problem.message)
    row = sheet.rows[min(problem.line, len(sheet.rows) - 1)]
    col = problem.col + sheet.col_offset if problem.col > 0 else 0
    return CellProblem(label, row, col, problem.field, problem.message)


def read_table(data: bytes, rel: str, table: str, problems: list[Problem],
               read: Callable[[io.StringIO, str], Any], lots: Any = None) -> Any:
    """Read the table's sheet with ``read`` (the CSV twin's reader: text stream, file name) and
    give back what it returns. Problems are located at sheet cells; the lines kept for findings
    (stability points, or the rows of ``lots``, the lot table being filled) become sheet rows."""
    sheet = read_sheet(data, rel, table, problems)
    if sheet is None:
        return None
    start = len(problems)
    result = read(io.StringIO(sheet.text, newline=""), rel)
    problems[start:] = [located(p, rel, sheet) for p in problems[start:]]
    if sheet.identity():
        return result
    row = lambda line: sheet.rows[line] if 0 < line < len(sheet.rows) else line  # noqa: E731
    if isinstance(result, list):  # stability points
        result = [p._replace(line=row(p.line)) if p.file == rel else p for p in result]
    if lots is not None and rel in lots.files:
        lots.relocate(rel, row)
    return result
