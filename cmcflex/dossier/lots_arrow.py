"""The fast path for large lots CSV files: Apache Arrow's multi-threaded CSV reader, then NumPy.

:func:`read_lots_fast` builds exactly the table :func:`cmcflex.dossier.lots.read_lots_csv` builds,
or declines, leaving the table untouched, whenever the file holds anything that reader treats
with care: quotes, lone carriage returns, blank lines, header problems, values it would report,
lots whose rows disagree, keys with surrounding spaces, over-long fields. The exact reader then
reads the file and says what is wrong and where. Arrow parses on every core and encodes every
column as a dictionary; the work per row is NumPy's, so Python runs once per distinct lot,
attribute and value.

This module imports pyarrow and NumPy; :mod:`cmcflex.dossier.loader` imports it only for files
of :data:`cmcflex.dossier.plain_csv.FAST_MIN_BYTES` or more, so small dossiers never pay for those imports.
"""

from __future__ import annotations

import codecs
import hashlib
import importlib.util
import io
import math
import sys
import threading
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.csv as pcsv

from cmcflex.dossier.dates import date_text, is_iso_date
from cmcflex.dossier.errors import Problem
from cmcflex.dossier.lots import (
    CONTROLLED,
    LOT_LEVEL,
    MAX_FIELD,
    OPTIONAL,
    REQUIRED,
    AttributeColumn,
    LotTable,
    _parse_value,
    _read_header,
    dot_grouped,
)
from cmcflex.dossier.plain_csv import FileDigest, PlainCheck

if TYPE_CHECKING:
    import numpy as np
else:
    np = None  # imported on the scan thread, while Arrow parses (see _Scan.run)
    # NumPy is imported later, but a missing one fails this import, as a missing pyarrow does
    if (sys.modules["numpy"] is None) if "numpy" in sys.modules else importlib.util.find_spec("numpy") is None:
        raise ImportError("the fast path needs NumPy beside pyarrow")

_DICTIONARY = pa.dictionary(pa.int32(), pa.string())
_TAIL = 1 << 16  # bytes read to find a header line, or the blank lines that end a file
_POOL = pa.system_memory_pool()  # gives large blocks back when freed: peak memory stays the table's
_INT_TYPE = f"i{array('i').itemsize}"  # NumPy's name for the table's int arrays (typecode i)
_BYTE_TYPE = "i1"                       # and for its byte arrays (typecode b)


class _Decline(Exception):
    """The file needs the exact reader."""


def read_lots_fast(path: Path, file: str, table: LotTable) -> FileDigest | None:
    """Add a whole lots CSV to an empty ``table`` and return the file's digest; None, changing
    nothing, to decline.

    Arrow reads and parses the file in blocks on every core while another thread reads it again
    (from the page cache) to hash it and to look for quotes and lone carriage returns; hashlib and
    file reads let go of the GIL, so the two overlap and the file is never held in memory whole.
    """
    if len(table.lot_ids) or table._columns:
        return None  # a second lots file meets lots already known: the exact reader compares them
    scan = _Scan(path)
    scan.start()
    try:
        reader = _Reader(path, file)
    except (_Decline, pa.ArrowException, UnicodeDecodeError, OSError):
        return None
    finally:
        scan.join()
    if scan.failed or not scan.check.plain or not scan.utf8 or not _numpy_imported():
        return None  # quoted fields and lone CRs follow the csv module's rules; the loader locates a bad byte
    try:
        reader.add_to(table)
    except _Decline:
        return None
    finally:
        del reader
        _give_back_freed_memory()
    return FileDigest(scan.digest.hexdigest(), scan.size)


def _numpy_imported() -> bool:
    """Bind ``np`` to NumPy, which the scan thread imported (False where NumPy is missing: pyarrow
    runs without it, the table is then built by the exact reader)."""
    global np
    try:
        import numpy
    except ImportError:
        return False
    np = numpy
    return True


def _give_back_freed_memory() -> None:
    """Return the heap that Arrow's parse freed to the system (glibc keeps it otherwise, and the
    rules' allocations would then come on top: about 55 MiB less peak memory at 1M rows).
    Nothing happens where the C library has no ``malloc_trim``."""
    try:
        import ctypes

        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError, TypeError):
        pass


class _Scan(threading.Thread):
    """Reads a file once in blocks: its SHA-256, whether it holds a quote or a lone CR (``check``), and
    whether it is UTF-8 (checked here, beside the parse, rather than by Arrow for every value)."""

    def __init__(self, path: Path) -> None:
        super().__init__(name="cmcflex-lots-scan", daemon=True)
        self.path = path
        self.digest = hashlib.sha256()
        self.size = 0
        self.check = PlainCheck()
        self.failed = False
        self.utf8 = True

    def run(self) -> None:
        try:  # NumPy's import (~0.1 s) runs here, beside Arrow's parse, which holds no lock of Python's
            import numpy  # noqa: F401
        except ImportError:
            pass
        utf8 = codecs.getincrementaldecoder("utf-8")()  # a character may straddle two blocks
        try:
            with open(self.path, "rb") as f:
                while block := f.read(1 << 20):
                    self.digest.update(block)
                    self.size += len(block)
                    if self.utf8 and (not block.isascii() or utf8.getstate()[0]):  # ASCII needs no decoding
                        try:
                            utf8.decode(block)
                        except UnicodeDecodeError:
                            self.utf8 = False
                    self.check.see(block)
            utf8.decode(b"", final=True)  # the file ends mid-character
        except UnicodeDecodeError:
            self.utf8 = False
        except Exception:  # noqa: BLE001 - any failure here hands the file to the exact reader
            self.failed = True


def _quiet_undecodable_rows(hook: Callable[[Any], object]) -> Callable[[Any], object]:
    """``hook`` but silent on a short row that is not UTF-8: pyarrow cannot decode it for the
    invalid-row handler and reports that on standard error; the read stops, the file is declined,
    and the exact reader says where the bad byte is."""
    def quiet(unraisable: Any) -> None:
        if not isinstance(unraisable.exc_value, UnicodeDecodeError):
            hook(unraisable)
    return quiet


def _trailing_blank_lines(path: Path, size: int) -> int | None:
    """How many blank (whitespace-only) lines end the file, after its last row; None if too many to tell."""
    with open(path, "rb") as f:
        f.seek(max(0, size - _TAIL))
        tail = f.read()
    last = tail.rstrip(b" \t\r\n")
    if not last and size > _TAIL:
        return None
    lines = tail[len(last):].split(b"\n")[1:]  # the first piece ends the last row
    if lines and lines[-1] == b"":
        lines.pop()  # after the final line break
    return len(lines)


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, list[str]]:
    """A dictionary-encoded column: per-row codes and the values they stand for (each used)."""
    chunks = column.chunks
    if not chunks:
        return np.empty(0, _INT_TYPE), []
    dictionary = chunks[0].dictionary.to_pylist()
    if max(map(len, dictionary), default=0) > MAX_FIELD:  # a C loop over the distinct values
        raise _Decline
    codes = np.concatenate([c.indices.to_numpy() for c in chunks]) if len(chunks) > 1 else chunks[0].indices.to_numpy()
    used = np.bincount(codes, minlength=len(dictionary)) > 0
    if not used.all():  # values only in rows sliced off (blank lines at the end): drop them
        kept = np.flatnonzero(used)
        renumber = np.zeros(len(dictionary), codes.dtype)
        renumber[kept] = np.arange(len(kept), dtype=codes.dtype)
        codes, dictionary = renumber[codes], [dictionary[i] for i in kept.tolist()]
    return codes, dictionary


def _decline() -> str:
    raise _Decline


def _first_seen(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct codes (small non-negative integers) in order of first appearance, and the row
    where each first appears. Codes usually all show up early, so growing prefixes are searched
    before the whole column is sorted."""
    wanted = np.count_nonzero(np.bincount(codes)) if len(codes) else 0
    m = 4096
    while True:
        distinct, first = np.unique(codes[:m], return_index=True)
        if len(distinct) == wanted or m >= len(codes):
            break
        m *= 8
    order = np.argsort(first, kind="stable")
    return distinct[order], first[order]


def _raw(a: np.ndarray) -> memoryview:
    """A contiguous array as bytes, for ``array.frombytes`` (one copy, no temporary)."""
    # numpy's stubs declare the buffer protocol (__buffer__) for Python 3.12 on only
    return memoryview(np.ascontiguousarray(a).view(np.uint8))  # type: ignore[arg-type]


def _stripped_keys(values: list[str]) -> list[str]:
    """Key values stripped as the exact reader strips them; declines on an empty or merged key."""
    keys = list(map(str.strip, values))
    if "" in keys or len(set(keys)) != len(keys):
        raise _Decline
    return keys


class _Reader:
    def __init__(self, path: Path, file: str) -> None:
        self.file = file
        with open(path, "rb") as f:
            first = f.readline(_TAIL)
        if not first.endswith(b"\n"):
            raise _Decline
        self._header(first.decode("utf-8-sig"))
        self.blank: list[int | None] = []  # whitespace-only lines Arrow skipped (appended from its threads)
        hook = sys.unraisablehook
        sys.unraisablehook = _quiet_undecodable_rows(hook)
        try:
            self.t = self._read(path)
        finally:
            sys.unraisablehook = hook
        self._drop_trailing_blank_lines(path)
        self.n = self.t.num_rows
        if self.n == 0:
            raise _Decline
        # each column is taken once (see column()): its Arrow buffers go as soon as it is read
        self.columns = {name: self.t.column(j) for name, j in self.pos.items()}
        del self.t
        _give_back_freed_memory()  # the parse's buffers, freed on Arrow's threads: the columns come next

    def _read(self, path: Path) -> pa.Table:
        """The whole file as a table of dictionary-encoded columns, parsed on every core."""
        return pcsv.read_csv(
            str(path),
            read_options=pcsv.ReadOptions(skip_rows=1, column_names=self.names, use_threads=True),
            parse_options=pcsv.ParseOptions(delimiter=self.delimiter, quote_char=False, double_quote=False,
                                            escape_char=False, newlines_in_values=False,
                                            ignore_empty_lines=False, invalid_row_handler=self._invalid_row),
            convert_options=pcsv.ConvertOptions(
                column_types=dict.fromkeys(self.names, _DICTIONARY),
                strings_can_be_null=False, null_values=[], check_utf8=False,  # _Scan checks it
            ),
            memory_pool=_POOL,
        ).unify_dictionaries(memory_pool=_POOL)

    def _invalid_row(self, row: pcsv.InvalidRow) -> str:
        """Whitespace-only lines are skipped and counted; any other short or long row stops the read."""
        if row.text.strip():
            return "error"
        self.blank.append(row.number)  # list.append is atomic: the handler runs on several threads
        return "skip"

    def _drop_trailing_blank_lines(self, path: Path) -> None:
        """Blank lines are skipped by the exact reader; here only those ending the file are, or
        row numbers would no longer be line numbers. Arrow reads an empty line as a row of empty
        fields and a whitespace-only one as a short row (skipped, counted): the empty rows at the
        end are dropped, and an empty row left anywhere has an empty lot id, which declines."""
        trailing = _trailing_blank_lines(path, path.stat().st_size)
        if trailing is None or len(self.blank) > trailing:
            raise _Decline
        empty = trailing - len(self.blank)
        if empty:
            end = self.t.num_rows - empty
            if end < 0 or any(v for column in self.t.slice(end).columns for v in column.to_pylist()):
                raise _Decline
            self.t = self.t.slice(0, end)

    def _header(self, line: str) -> None:
        problems: list[Problem] = []
        read = _read_header(io.StringIO(line), REQUIRED, REQUIRED + OPTIONAL, "",
                            lambda *args: problems.append(Problem("", *args)))
        if read is None or problems:
            raise _Decline
        self.delimiter, header, self.pos = read
        self.names = [f"c{j}" for j in range(len(header))]

    def column(self, name: str) -> pa.ChunkedArray | None:
        """A column of the file, handed over once (None when the file has no such column)."""
        return self.columns.pop(name, None)

    # ------------------------------------------------------------------ building

    def add_to(self, table: LotTable) -> None:
        n = self.n
        lot_codes, lot_dictionary = _codes(self.column("lot_id"))
        ids = _stripped_keys(lot_dictionary)
        if not all(map(str.isprintable, ids)):
            raise _Decline  # an invisible character in a lot id: the exact reader reports it
        lots, first_rows = _first_seen(lot_codes)
        rank = np.zeros(len(lot_dictionary), _INT_TYPE)
        rank[lots] = np.arange(len(lots), dtype=_INT_TYPE)
        lot_of_row = rank[lot_codes]
        level = {name: self._lot_level(name, lot_of_row, first_rows) for name in LOT_LEVEL}
        groups = self._groups(*self._material)
        values, censors, words = self._values()
        methods = self._methods(table)
        units = self._units(table)
        del self.columns, self._material, lot_codes, rank  # everything is read: free what is left
        # -- commit; nothing below can decline
        file_index = len(table.files)
        table.files.append(self.file)
        base = len(table.lot_ids)
        new_ids = [ids[c] for c in lots.tolist()]
        table.lot_ids.extend(new_ids)
        table.index.update(zip(new_ids, range(base, base + len(new_ids))))
        for name, per_lot in level.items():
            table._lot_values[name].extend(per_lot)
        table._lot_file.extend(array("i", [file_index]) * len(new_ids))
        table._lot_line.frombytes(_raw((first_rows + 2).astype(_INT_TYPE)))
        lot_of_row += base
        files = array("i", [file_index])
        for key, rows in groups.columns:
            col = table._columns[key] = AttributeColumn(*key)
            col.lot.frombytes(_raw(lot_of_row[rows]))
            col.value.frombytes(_raw(values[rows]))
            col.censor.frombytes(_raw(censors[rows]))
            col.word.frombytes(_raw(words[rows]))
            col.method.frombytes(_raw(methods[rows]))
            col.line.frombytes(_raw(rows + 2))  # no blank line inside: row k is line k + 2
            col.file.extend(files * len(rows))
            col.unit.frombytes(_raw(units[rows]))
            col.units.update(table.units[c] for c in np.unique(units[rows]).tolist() if c >= 0)
        table.rows += n

    def _lot_level(self, name: str, lot_of_row: np.ndarray, first_rows: np.ndarray) -> list[str | None]:
        """One lot-level column, a value per lot; declines when a lot's rows disagree or a value is unknown."""
        column = self.column(name)
        if column is None:
            return [None] * len(first_rows)
        codes, dictionary = _codes(column)
        per_lot = codes[first_rows]
        if not np.array_equal(codes, per_lot[lot_of_row]):
            raise _Decline  # the exact reader names the lot and the differing column
        used = np.unique(per_lot).tolist()
        stripped: list[str | None] = [s.strip() or None for s in dictionary]
        if name in ("material", "use") and any(stripped[c] is None for c in used):
            raise _Decline
        vocabulary = CONTROLLED.get(name)
        if vocabulary is not None:
            for c in used:  # per distinct value: a case variant is read as its allowed value
                if stripped[c] is not None:
                    stripped[c] = vocabulary.canonical(stripped[c]) or _decline()
        if name == "manufacture_date":
            if not all(is_iso_date(stripped[c]) for c in used if stripped[c] is not None):
                raise _Decline
            for c in used:  # a date exported with its midnight is that date
                if stripped[c] is not None:
                    stripped[c] = date_text(stripped[c])
        if name == "material":
            self._material = (codes, _stripped_keys(dictionary))
        return list(map(stripped.__getitem__, per_lot.tolist()))

    def _groups(self, material_codes: np.ndarray, materials: list[str]) -> _Groups:
        """Rows by (material, attribute) column; the material of a row is its lot's."""
        attribute_codes, dictionary = _codes(self.column("attribute"))
        attributes = _stripped_keys(dictionary)
        wide = np.int64 if len(materials) * len(attributes) >= 1 << 31 else np.int32
        key = material_codes.astype(wide) * len(attributes) + attribute_codes
        keys, _ = _first_seen(key)
        rank = np.zeros(len(materials) * len(attributes), np.int64)
        rank[keys] = np.arange(len(keys))
        # few columns: 16-bit group numbers, which NumPy's stable sort orders by radix in one pass
        group_of_row = rank[key].astype(np.int16 if len(keys) < 1 << 15 else np.int64)
        rows_in_order = np.argsort(group_of_row, kind="stable").astype(_INT_TYPE)  # file order within each group
        bounds = np.concatenate(([0], np.cumsum(np.bincount(group_of_row, minlength=len(keys)))))
        columns = []
        for g, k in enumerate(keys.tolist()):
            m, a = divmod(k, len(attributes))
            columns.append(((materials[m], attributes[a]), rows_in_order[bounds[g]:bounds[g + 1]]))
        return _Groups(columns, group_of_row)

    def _values(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Value, censor code and word index of every row; declines on a value to report.

        Each distinct value is read once, by the exact reader's own parser: results repeat (words,
        censored limits, rounded numbers), so a column of a million rows holds far fewer.
        """
        codes, dictionary = _codes(self.column("value"))
        try:
            numbers = array("d", map(float, dictionary))
            if (not all(map(math.isfinite, numbers)) or "_" in "".join(dictionary)
                    or (self.delimiter == ";" and dot_grouped(dictionary))):
                raise ValueError("not finite, an underscore float() would skip, or 6.500 among decimal commas")
            table = np.frombuffer(numbers, np.float64), np.zeros(len(numbers), _BYTE_TYPE), np.full(len(numbers), -1, _BYTE_TYPE)
        except ValueError:
            try:
                parsed = [_parse_value(s, self.delimiter == ";") for s in dictionary]
            except ValueError:
                raise _Decline from None
            table = (np.array([p[0] for p in parsed], np.float64), np.array([p[1] for p in parsed], _BYTE_TYPE),
                     np.array([p[2] for p in parsed], _BYTE_TYPE))
        return table[0][codes], table[1][codes], table[2][codes]

    def _methods(self, table: LotTable) -> np.ndarray:
        """The table's method index of every row (-1 for none), numbered in order of first appearance."""
        column = self.column("method")
        if column is None:
            return np.full(self.n, -1, _INT_TYPE)
        codes, dictionary = _codes(column)
        ids = np.full(len(dictionary), -1, _INT_TYPE)
        for c in _first_seen(codes)[0].tolist():
            ids[c] = table._method_id(dictionary[c].strip())
        return ids[codes]

    def _units(self, table: LotTable) -> np.ndarray:
        """The table's unit index of every row (-1 for none), numbered in order of first appearance."""
        column = self.column("unit")
        if column is None:
            return np.full(self.n, -1, _INT_TYPE)
        codes, dictionary = _codes(column)
        ids = np.full(len(dictionary), -1, _INT_TYPE)
        for c in _first_seen(codes)[0].tolist():
            ids[c] = table._unit_id(dictionary[c].strip())
        return ids[codes]


class _Groups:
    """The (material, attribute) columns in order of first appearance, each with its rows in file order."""

    def __init__(self, columns: list[tuple[tuple[str, str], np.ndarray]], of_row: np.ndarray) -> None:
        self.columns, self.of_row = columns, of_row
