"""``lots.xlsx`` and ``stability.xlsx``: one worksheet read exactly as its CSV twin.

The sheet is the one named like the table (``lots``, ``stability``; case aside), else the first
sheet. Its rows become the CSV reader's input, so the columns, values and rules are those of
``lots.csv`` and ``stability.csv``, checked in one place. Cells keep their type's meaning: a date
cell is written as an ISO date (``2026-03-16``; a date with a time of day keeps it, and is then
an error where a date is expected), a number as the number Excel shows at full precision
(15 significant digits: ``82.4`` stays ``82.4``), text as it is. A cell holding an Excel error
(``#N/A``, ``#DIV/0!``) is an error, never an empty value. A cell's number format is read where
it changes what the number is: a percent cell (``0.0%``) is its percent (0.912 shown as 91.2 %
is ``91.2%``, full precision), and an identifier column (``lot_id``, ``process_version``,
``spec_version``, ``site``, ``method``) shows zero padding and fixed decimals as Excel does
(``0100198``, ``2.0``). Problems are located at the cell (``lots.xlsx!Sheet1!C14``); findings
name the file and the sheet row (``lots.xlsx:14``).

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


_CELL_TAG = re.compile(rb"<(?:\w+:)?c\b([^>]*)>")
_STYLE = re.compile(rb"\bs=[\"']([0-9]+)[\"']")
_TYPE = re.compile(rb"\bt=[\"']([a-zA-Z]+)[\"']")
_REF = re.compile(rb"\br=[\"']([A-Z]{1,3})([0-9]+)[\"']")
_SHOWN = re.compile(r"(0+)(?:\.(0+))?(%)?")  # formats that pad, fix decimals or show a percent
_BUILTIN_FORMATS = {1: "0", 2: "0.00", 9: "0%", 10: "0.00%"}
IDENTIFIER_COLUMNS = frozenset({"lot_id", "process_version", "spec_version", "site", "method"})


class CellFormat(NamedTuple):
    """What a number format changes in a number: zero padding, fixed decimals, a percent."""

    width: int
    decimals: int
    percent: bool


def _cell_format(code: str) -> CellFormat | None:
    """The parts of an Excel number format cmcflex reads; None for any other format (General,
    thousands separators, dates, text): the number is then read as stored."""
    m = _SHOWN.fullmatch(code.strip())
    if m is None:
        return None
    return CellFormat(len(m.group(1)), len(m.group(2) or ""), bool(m.group(3)))


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


def shown_text(value: float, fmt: CellFormat, identifier: bool) -> str:
    """A number cell as its format shows it: a percent as ``91.2%`` at full precision; in an
    identifier column, zero padding and fixed decimals as Excel draws them."""
    if fmt.percent:
        return cell_text(value * 100) + "%"
    if not identifier:
        return cell_text(value)
    text = f"{value:.{fmt.decimals}f}"
    whole, _, part = text.partition(".")
    sign = "-" if whole.startswith("-") else ""
    whole = whole.lstrip("-").rjust(fmt.width, "0")
    return sign + whole + (f".{part}" if part else "")


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


def to_csv(rows: Any, col_offset: int,
           formats: dict[tuple[int, int], CellFormat] | None = None) -> tuple[str, list[int]]:
    """CSV text of the non-empty rows, trailing empty columns dropped, and each line's sheet row;
    ``formats``: the number formats that change a cell, by (sheet row, sheet column)."""
    kept: list[tuple[int, list[str]]] = []
    width = 0
    memo: dict[tuple[type, Any], str] = {}  # dates and values repeat down a column
    formatted_rows = {r for r, _ in formats} if formats else set()
    names: list[str] = []  # the header's column names (the first row kept)

    def text(v: Any) -> str:
        key = (type(v), v)
        found = memo.get(key)
        if found is None:
            found = memo[key] = cell_text(v)
        return found

    for number, row in enumerate(rows, start=1):
        cells = [v if type(v) is str else text(v) for v in row]  # most cells are text: no call
        if number in formatted_rows:
            assert formats is not None
            for j, v in enumerate(row):
                fmt = formats.get((number, j + 1 + col_offset))
                if fmt is not None and isinstance(v, (int, float)) and not isinstance(v, bool):
                    name = names[j].strip().lower() if j < len(names) else ""
                    cells[j] = shown_text(float(v), fmt, name in IDENTIFIER_COLUMNS)
        if not "".join(cells).strip():
            continue
        if not names and any(c.strip().lower() == "lot_id" for c in cells):
            names = cells
            kept.clear()  # title rows above the header (a sheet's heading) are not the table
            width = 0
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


def _parts(data: bytes, sheet_index: int) -> tuple[bytes, bytes]:
    """The XML of a sheet of an .xlsx workbook, found through the workbook's own relationships, and
    of its styles (empty where absent); both empty where a part cannot be found (calamine has
    already read the sheet, so nothing more is learnt from it)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            book = ElementTree.fromstring(z.read("xl/workbook.xml"))
            rels = ElementTree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
            sheets = book.findall(f"{_MAIN}sheets/{_MAIN}sheet")
            rid = sheets[sheet_index].get(f"{_REL}id")
            target = next(r.get("Target", "") for r in rels if r.get("Id") == rid)
            part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            xml = z.read(part)
            styles = z.read("xl/styles.xml") if "xl/styles.xml" in z.namelist() else b""
    except (KeyError, IndexError, StopIteration, zipfile.BadZipFile, ElementTree.ParseError, OSError):
        return b"", b""
    return xml, styles


def _style_formats(styles: bytes) -> dict[int, CellFormat]:
    """Cell style index -> the number format cmcflex reads (see :func:`_cell_format`)."""
    if not styles:
        return {}
    try:
        root = ElementTree.fromstring(styles)
    except ElementTree.ParseError:
        return {}
    codes = dict(_BUILTIN_FORMATS)
    for fmt in root.iter(f"{_MAIN}numFmt"):
        try:
            codes[int(fmt.get("numFmtId", "-1"))] = fmt.get("formatCode", "")
        except ValueError:
            continue
    xfs = root.find(f"{_MAIN}cellXfs")
    out: dict[int, CellFormat] = {}
    for index, xf in enumerate(xfs if xfs is not None else ()):
        try:
            code = codes.get(int(xf.get("numFmtId", "0")))
        except ValueError:
            continue
        found = _cell_format(code) if code else None
        if found is not None:
            out[index] = found
    return out


def number_formats(data: bytes, sheet_index: int) -> dict[tuple[int, int], CellFormat]:
    """(row, column) -> format, for each number cell of a sheet whose format changes it."""
    xml, styles = _parts(data, sheet_index)
    by_style = _style_formats(styles)
    if not by_style or not xml:
        return {}
    out: dict[tuple[int, int], CellFormat] = {}
    for match in _CELL_TAG.finditer(xml):
        attributes = match.group(1)
        style = _STYLE.search(attributes)
        if style is None or int(style.group(1)) not in by_style:
            continue
        kind, ref = _TYPE.search(attributes), _REF.search(attributes)
        if (kind is not None and kind.group(1) != b"n") or ref is None:
            continue  # text, a boolean, an error or a formula's string: not a number
        col = 0
        for ch in ref.group(1).decode():
            col = col * 26 + ord(ch) - 64
        out[(int(ref.group(2)), col)] = by_style[int(style.group(1))]
    return out


def error_cells(data: bytes, sheet_index: int) -> list[tuple[str, int, int]]:
    """(error text, row, column) of each cell holding an Excel error value in a sheet of an
    .xlsx workbook (calamine reads those as empty)."""
    xml, _ = _parts(data, sheet_index)
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
        text, lines = to_csv(sheet.iter_rows(), col_offset, number_formats(data, names.index(name)))
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
