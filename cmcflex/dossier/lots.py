"""Batch analysis (lots.csv) streamed into a compact columnar table.

One row per lot and attribute goes in; what is kept is, per (material, attribute), parallel
arrays of lot index, value, censoring, unit and source line — no Python object per row. Lot-level
columns (use, site, dates, disposition, ...) are stored once per lot; a lot whose rows disagree
on them is an error. A manufacture date is an ISO date (YYYY-MM-DD, see
:mod:`cmcflex.dossier.dates`), so ordering the stored text orders the dates.
"""

from __future__ import annotations

import csv
import gc
import io
import itertools
import math
import operator
import re
from array import array
from collections import Counter
from collections.abc import Callable, Collection, Container, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, NamedTuple, cast

from cmcflex.dossier.controlled import Vocabulary
from cmcflex.dossier.criteria import (
    DOT_GROUPED,
    QUALITATIVE,
    RESULT_WORDS,
    Criterion,
    NumberError,
    NumericCriterion,
    QualitativeCriterion,
    Result,
    parse_number,
    parse_result,
)
from cmcflex.dossier.dates import DAYS_IN, date_text, is_iso_date, months_of, parse_iso_date
from cmcflex.dossier.errors import Problem, did_you_mean
from cmcflex.dossier.ids import visible
from cmcflex.vocabulary import Disposition, LotUse, StartingMaterial

USES: tuple[str, ...] = tuple(m.value for m in LotUse)
STARTING_MATERIALS: tuple[str, ...] = tuple(m.value for m in StartingMaterial)
DISPOSITIONS: tuple[str, ...] = tuple(m.value for m in Disposition)
RELEASE_RECORD = ("spec_version", "exception_pathway", "investigation")  # what the lot was released under
LOT_LEVEL = ("material", "use", "process_version", "site", "manufacture_date", "starting_material", "disposition",
             *RELEASE_RECORD)
REQUIRED = ("lot_id", "material", "use", "attribute", "value")
OPTIONAL = ("process_version", "site", "manufacture_date", "starting_material", "disposition", "unit", "method",
            *RELEASE_RECORD)
VOCABULARY = {"use": USES, "starting_material": STARTING_MATERIALS, "disposition": DISPOSITIONS}
_DATE = LOT_LEVEL.index("manufacture_date")
CONTROLLED = {name: Vocabulary(allowed) for name, allowed in VOCABULARY.items()}  # case variants read as meant
MAX_FIELD = 10_000  # characters in one CSV field; larger fields are errors
MAX_PROBLEMS = 50   # per file: past this, one summary line
MAX_COLUMNS = 10_000  # a header wider than this is not a table of results, and would cost memory per name
MAX_SUGGEST_NAMES, MAX_SUGGEST_CHARS = 1_000, 64  # bounds of the "did you mean" search in a header

WORDS: tuple[str, ...] = tuple(sorted(RESULT_WORDS))
_WORD_INDEX = {w: i for i, w in enumerate(WORDS)}
NO_CENSOR, BELOW, ABOVE, WORD = 0, 1, 2, 3
_CENSOR_CHAR = {NO_CENSOR: "", BELOW: "<", ABOVE: ">"}


class Lot(NamedTuple):
    """Lot-level facts, built on demand from the per-lot columns."""

    id: str
    material: str
    use: str
    process_version: str | None
    site: str | None
    manufacture_date: str | None
    starting_material: str | None
    disposition: str | None
    spec_version: str | None
    exception_pathway: str | None
    investigation: str | None
    file: str
    line: int


class LotResult(NamedTuple):
    lot_id: str
    result: Result
    file: str
    line: int
    method: str | None


@dataclass
class AttributeColumn:
    """All results of one attribute of one material, as parallel arrays."""

    material: str
    attribute: str
    lot: array = field(default_factory=lambda: array("i"))
    value: array = field(default_factory=lambda: array("d"))
    censor: array = field(default_factory=lambda: array("b"))
    word: array = field(default_factory=lambda: array("b"))
    method: array = field(default_factory=lambda: array("i"))
    line: array = field(default_factory=lambda: array("i"))
    file: array = field(default_factory=lambda: array("i"))
    unit: array = field(default_factory=lambda: array("i"))  # index into LotTable.units, -1 for none
    units: set[str] = field(default_factory=set)  # every distinct unit written (stripped, non-empty)

    def __len__(self) -> int:
        return len(self.lot)


class LotTable:
    """The lot data of a dossier: per-lot facts and per-attribute result columns."""

    def __init__(self) -> None:
        self.files: list[str] = []
        self.lot_ids: list[str] = []
        self.index: dict[str, int] = {}
        self._lot_values: dict[str, list[str | None]] = {c: [] for c in LOT_LEVEL}
        self._lot_file: array = array("i")
        self._lot_line: array = array("i")
        self._columns: dict[tuple[str, str], AttributeColumn] = {}
        self.methods: list[str] = []
        self._method_index: dict[str, int] = {}
        self.units: list[str] = []
        self._unit_index: dict[str, int] = {}
        self.rows = 0
        # lots_with_results, by its column's lot array: (rows, first lot) -> [(lot array, lot set)]
        self._lot_sets: dict[tuple[int, bytes], list[tuple[array, frozenset[int]]]] = {}

    # -------------------------------------------------------------- queries

    def __len__(self) -> int:
        return len(self.lot_ids)

    def lot(self, lot_id: str) -> Lot | None:
        i = self.index.get(lot_id)
        return None if i is None else self._lot(i)

    def _lot(self, i: int) -> Lot:
        v = self._lot_values
        return Lot(
            self.lot_ids[i], v["material"][i] or "", v["use"][i] or "", v["process_version"][i],
            v["site"][i], v["manufacture_date"][i], v["starting_material"][i], v["disposition"][i],
            v["spec_version"][i], v["exception_pathway"][i], v["investigation"][i],
            self.files[self._lot_file[i]], self._lot_line[i],
        )

    def lots(self) -> Iterator[Lot]:
        """Every lot in order of first appearance (tuples built by C loops, not one call per lot)."""
        v = self._lot_values
        material, use = v["material"], v["use"]
        if None in material or None in use:  # never from read_lots_csv; kept for tables built by hand
            material, use = [m or "" for m in material], [u or "" for u in use]
        return map(Lot._make, zip(
            self.lot_ids, material, use, v["process_version"], v["site"], v["manufacture_date"],
            v["starting_material"], v["disposition"], v["spec_version"], v["exception_pathway"], v["investigation"],
            map(self.files.__getitem__, self._lot_file), self._lot_line,
        ))

    def lots_where(self, **criteria: str | tuple[str, ...] | None) -> list[Lot]:
        """Lots whose lot-level columns equal (or are among) the given values.

        Matching reads the per-lot columns; a Lot tuple is built only for the lots that match.
        """
        keep: list[int] = list(range(len(self.lot_ids)))
        for key, wanted in criteria.items():
            if key == "id":
                column: list[str | None] = list(self.lot_ids)
            else:
                column = self._lot_values[key]
                if key in ("material", "use"):
                    column = [c or "" for c in column]
            if isinstance(wanted, tuple):
                allowed = set(wanted)
                keep = [i for i in keep if column[i] in allowed]
            else:
                keep = [i for i in keep if column[i] == wanted]
        return [self._lot(i) for i in keep]

    def attributes(self, material: str | None = None) -> list[tuple[str, str]]:
        """(material, attribute) keys present, optionally for one material."""
        return [k for k in self._columns if material is None or k[0] == material]

    def results(
        self, material: str, attribute: str, lots: set[str] | frozenset[str] | None = None
    ) -> Iterator[LotResult]:
        """Every result of an attribute, optionally only of the given lots, in file order."""
        col = self._columns.get((material, attribute))
        if col is None:
            return
        ids, files, methods = self.lot_ids, self.files, self.methods
        made: dict[tuple[int, float], Result] = {}  # equal results share one (immutable) object
        for k in range(len(col.lot)):
            lot_id = ids[col.lot[k]]
            if lots is not None and lot_id not in lots:
                continue
            c = col.censor[k]
            key = (c, col.word[k] if c == WORD else col.value[k])
            result = made.get(key) if key[1] != 0 else None  # 0.0 and -0.0 are equal keys but print apart
            if result is None:
                if c == WORD:
                    result = made[key] = Result(word=WORDS[col.word[k]])
                else:
                    result = made[key] = Result(value=col.value[k], censor=_CENSOR_CHAR[c])
            m = col.method[k]
            yield LotResult(lot_id, result, files[col.file[k]], col.line[k], methods[m] if m >= 0 else None)

    def rows_of_lots(self, material: str, attribute: str, lots: Collection[int]) -> dict[int, list[int]]:
        """Lot index -> its rows in a test's column, in file order, for the lots at ``lots`` that
        have any: the column is searched once by a C loop, whatever the number of lots."""
        col = self._columns.get((material, attribute))
        out: dict[int, list[int]] = {}
        if col is None or not lots:
            return out
        wanted = lots if isinstance(lots, (set, frozenset)) else set(lots)
        for k in itertools.compress(range(len(col.lot)), map(wanted.__contains__, col.lot)):
            out.setdefault(col.lot[k], []).append(k)
        return out

    def numeric_values(
        self, material: str, attribute: str, lots: set[str] | frozenset[str] | None = None
    ) -> list[tuple[str, float]]:
        """(lot id, value) for uncensored numeric results only."""
        col = self._columns.get((material, attribute))
        if col is None:
            return []
        keep: Iterable[bool] = map(operator.not_, col.censor)  # NO_CENSOR is 0
        if lots is not None:
            wanted = set(map(self.index.get, lots))
            keep = map(operator.and_, keep, map(wanted.__contains__, col.lot))
        keep = list(keep)
        return list(zip(map(self.lot_ids.__getitem__, itertools.compress(col.lot, keep)),
                        itertools.compress(col.value, keep)))

    def indices_of(self, lot_ids: Iterable[str]) -> frozenset[int]:
        """The table indices of the given lot ids; ids not in the table are left out."""
        known = set(map(self.index.get, lot_ids))  # a C loop; ids not in the table give None
        known.discard(None)
        return cast("frozenset[int]", frozenset(known))

    def candidate_rows(self, material: str, attribute: str, criterion: Criterion) -> list[int] | range:
        """Rows of a test's column that ``criterion`` might not accept, in order: a superset,
        found without a Python step per accepted row where the criterion is a numeric range or
        a qualitative word.

        Plain numbers strictly inside the range are accepted whatever the bounds' inclusiveness, so
        only numbers at or beyond a bound, and every censored result or word, need judging.
        """
        col = self._columns.get((material, attribute))
        if col is None:
            return []
        if isinstance(criterion, QualitativeCriterion):
            return _qualitative_candidates(col, criterion)
        if not isinstance(criterion, NumericCriterion):
            return range(len(col.lot))
        values = col.value
        lo, hi = criterion.min, criterion.max
        censors = col.censor.tobytes()
        flagged = [m.start() for m in _NONZERO.finditer(censors)]  # censored results and words (NaN)
        if WORD not in censors and (lo is None or min(values) > lo) and (hi is None or max(values) < hi):
            outside: list[int] = []  # every number strictly inside the range: the common case
        else:  # rows at or beyond a bound, picked by C loops (``lo >= v`` is ``v <= lo``)
            rows = range(len(values))
            low = map(float(lo).__ge__, values) if lo is not None else None
            high = map(float(hi).__le__, values) if hi is not None else None
            beyond = map(operator.or_, low, high) if low is not None and high is not None else low or high
            outside = list(itertools.compress(rows, beyond)) if beyond is not None else []
        if not flagged:
            return outside
        return sorted(set(outside).union(flagged))

    def lot_column(self, name: str) -> Sequence[str | None]:
        """A lot-level column (``use``, ``disposition``, ...), by lot index (read only)."""
        return self._lot_values[name]

    def lot_location(self, i: int) -> tuple[str, int]:
        """The file and line where the lot at index ``i`` first appears."""
        return self.files[self._lot_file[i]], self._lot_line[i]

    def lots_in(self, name: str, allowed: Container[str | None]) -> list[int]:
        """Indices of the lots whose lot-level column ``name`` is among ``allowed`` (a C loop)."""
        return list(itertools.compress(range(len(self.lot_ids)), map(allowed.__contains__, self._lot_values[name])))

    def has_results(self, material: str, attribute: str) -> bool:
        return (material, attribute) in self._columns

    def units_of(self, material: str, attribute: str) -> set[str]:
        """Every distinct unit written for a test's results (empty without results)."""
        col = self._columns.get((material, attribute))
        return set(col.units) if col is not None else set()

    def tested(self) -> Iterator[tuple[str, str, int, tuple[str, int]]]:
        """(material, attribute, result rows, file and line of the first row) of every test with
        results, in order of first appearance."""
        for (material, attribute), col in self._columns.items():
            if len(col):
                yield material, attribute, len(col), (self.files[col.file[0]], col.line[0])

    def methods_not_in(self, known: Container[str]) -> dict[str, tuple[str, int]]:
        """The method names written in the results but not in ``known``, each with the file and
        line of its earliest row."""
        wanted = [i for i, m in enumerate(self.methods) if m not in known]
        first: dict[int, tuple[str, int]] = {}
        for col in self._columns.values() if wanted else ():
            for mi in wanted:  # a column's rows are in reading order: its first use is its earliest
                try:
                    k = col.method.index(mi)
                except ValueError:
                    continue
                where = (self.files[col.file[k]], col.line[k])
                if mi not in first or where < first[mi]:
                    first[mi] = where
        return {self.methods[mi]: where for mi, where in first.items()}

    def lots_with_results(self, material: str, attribute: str) -> frozenset[int]:
        """Indices of the lots with at least one result row for (material, attribute)."""
        col = self._columns.get((material, attribute))
        if col is None:
            return frozenset()
        # tests every lot has list the same lots: one set for all (compared by memcmp, not rebuilt)
        same = self._lot_sets.setdefault((len(col.lot), col.lot[:1].tobytes()), [])
        for lots, found in same:
            if lots == col.lot:
                return found
        found = frozenset(col.lot)
        same.append((col.lot, found))
        return found

    def result_at(self, material: str, attribute: str, k: int) -> LotResult:
        """The ``k``-th result row of a test's column as a LotResult."""
        col = self._columns[(material, attribute)]
        c = col.censor[k]
        result = Result(word=WORDS[col.word[k]]) if c == WORD else Result(value=col.value[k], censor=_CENSOR_CHAR[c])
        m = col.method[k]
        return LotResult(self.lot_ids[col.lot[k]], result, self.files[col.file[k]], col.line[k],
                         self.methods[m] if m >= 0 else None)

    def judge(self, material: str, attribute: str, criterion: Criterion, rows: Iterable[int],
              lots: frozenset[int] | None = None) -> Iterator[tuple[LotResult, bool | None]]:
        """Of the given result rows (of the lots at ``lots``, else all), those ``criterion.accepts``
        does not accept: False (rejected) or None (cannot tell), in order. Each distinct result is
        judged once, so that a million rows cost no Python object per accepted row."""
        col = self._columns.get((material, attribute))
        if col is None:
            return
        memo: dict[tuple[int, float, int], bool | None] = {}
        lot, values, censors, words = col.lot, col.value, col.censor, col.word
        for k in rows:
            if lots is not None and lot[k] not in lots:
                continue
            c = censors[k]
            key = (c, 0.0, words[k]) if c == WORD else (c, values[k], -1)
            if key in memo:
                verdict = memo[key]
            else:
                verdict = memo[key] = criterion.accepts(_key_result(key))
            if verdict is True:
                continue
            m = col.method[k]
            yield (LotResult(self.lot_ids[lot[k]], _key_result(key), self.files[col.file[k]], col.line[k],
                             self.methods[m] if m >= 0 else None), verdict)

    def distinct_rows(self, material: str, attribute: str, lots: frozenset[int] | None,
                      method: str | None) -> list[int]:
        """The rows that are results of the given lots (else all), in file order: a lot's rows by
        ``method`` where it has any, else all its rows; of identical rows (same lot and result)
        the first. C loops only: no Python step per row."""
        col = self._columns.get((material, attribute))
        if col is None:
            return []
        if len(self.lots_with_results(material, attribute)) == len(col.lot):
            # one row per lot: no lot has rows to choose between, so every row of the lots stays
            if lots is None:
                return list(range(len(col.lot)))
            return list(itertools.compress(range(len(col.lot)), map(lots.__contains__, col.lot)))
        m_idx = self.methods.index(method) if method and method in self.methods else -2
        bits = array("q")
        bits.frombytes(col.value.tobytes())  # values compared by their bits: NaN (a word) equals itself
        columns: list[Sequence[Any]] = [range(len(col.lot)), col.lot, col.method, col.censor, col.word, bits]
        if lots is not None:
            keep = list(map(lots.__contains__, col.lot))
            columns = [list(itertools.compress(c, keep)) for c in columns]
        if m_idx >= 0:
            by_method = list(map(m_idx.__eq__, columns[2]))
            method_lots = set(itertools.compress(columns[1], by_method))
            if method_lots:  # a lot with rows by the method: only those rows
                keep = list(map(operator.or_, by_method,
                                map(operator.not_, map(method_lots.__contains__, columns[1]))))
                columns = [list(itertools.compress(c, keep)) for c in columns]
        rows, lot_col, _, censors, words, values = columns
        keys = zip(reversed(lot_col), reversed(censors), reversed(words), reversed(values))
        first = dict(zip(keys, reversed(rows)))  # from the end: of identical results, the first row stays
        return sorted(first.values())

    def rows_digest(self, material: str, attribute: str, rows: Sequence[int]) -> RowsDigest:
        """Counts and uncensored values of the given rows of a test's column (C loops)."""
        col = self._columns[(material, attribute)]
        censors = list(map(col.censor.__getitem__, rows))
        values = list(itertools.compress(map(col.value.__getitem__, rows), map(NO_CENSOR.__eq__, censors)))
        per_lot = Counter(map(col.lot.__getitem__, rows))
        return RowsDigest(per_lot, values, censors.count(BELOW) + censors.count(ABOVE), censors.count(WORD))

    def chart_rows(self, material: str, attribute: str, cap: int) -> tuple[int, list[tuple[int, float, str]]]:
        """The numeric results of a test for a chart: their total (words are not charted) and the
        last ``cap`` of them in file order, as (lot index, value, censor: '', '<' or '>')."""
        col = self._columns.get((material, attribute))
        if col is None:
            return 0, []
        total = len(col.lot) - col.censor.tobytes().count(bytes([WORD]))
        latest: list[int] = []  # the last `cap` numeric rows, found from the end
        for k in range(len(col.lot) - 1, -1, -1) if total else ():
            if col.censor[k] != WORD:
                latest.append(k)
                if len(latest) == cap:
                    break
        return total, [(col.lot[k], float(col.value[k]), _CENSOR_CHAR[col.censor[k]]) for k in reversed(latest)]

    def numeric_summary(self, material: str, attribute: str, criterion: Criterion) -> NumericSummary:
        """Every numeric result of a test: the uncensored values, the count of censored ones, the
        lots with a numeric result, and those with a result the criterion rejects. Each distinct
        result is judged once and rows are picked by C loops: no Python call per row."""
        col = self._columns.get((material, attribute))
        if col is None:
            return NumericSummary([], 0, 0, 0)
        codes = col.censor.tobytes()
        numeric: list[float] = []
        lots: set[int] = set()
        every_row = False  # one kind of result on every row: its lots are the column's
        outside: set[int] = set()
        censored = 0
        for kind in (NO_CENSOR, BELOW, ABOVE):
            count = codes.count(bytes([kind]))
            if not count:
                continue
            every_row = count == len(codes)
            values = list(col.value) if every_row else list(itertools.compress(col.value, map(kind.__eq__, col.censor)))
            rows: Sequence[int] = (col.lot if every_row
                                   else list(itertools.compress(col.lot, map(kind.__eq__, col.censor))))
            if not every_row:
                lots.update(rows)
            if kind == NO_CENSOR:
                numeric = values
            else:
                censored += count
            censor = _CENSOR_CHAR[kind]
            rejected = {v for v in set(values) if criterion.accepts(Result(value=v, censor=censor)) is False}
            if rejected:
                outside.update(itertools.compress(rows, map(rejected.__contains__, values)))
        with_result = len(self.lots_with_results(material, attribute)) if every_row else len(lots)
        return NumericSummary(numeric, censored, with_result, len(outside))

    def relocate(self, file: str, line_of: Callable[[int], int]) -> None:
        """Give the lots and results read from ``file`` the lines ``line_of`` maps theirs to (a
        workbook read as CSV text: its CSV lines become the sheet's rows)."""
        index = self.files.index(file)
        for i, f in enumerate(self._lot_file):
            if f == index:
                self._lot_line[i] = line_of(self._lot_line[i])
        for col in self._columns.values():
            for k, f in enumerate(col.file):
                if f == index:
                    col.line[k] = line_of(col.line[k])

    # -------------------------------------------------------------- building

    def _method_id(self, name: str) -> int:
        if not name:
            return -1
        i = self._method_index.get(name)
        if i is None:
            i = self._method_index[name] = len(self.methods)
            self.methods.append(name)
        return i

    def _unit_id(self, name: str) -> int:
        """The index of a unit as written (stripped) in :attr:`units`; -1 for none."""
        if not name:
            return -1
        i = self._unit_index.get(name)
        if i is None:
            i = self._unit_index[name] = len(self.units)
            self.units.append(name)
        return i


class NumericSummary(NamedTuple):
    """The numeric results of a test (see :meth:`LotTable.numeric_summary`)."""

    values: list[float]
    censored: int
    lots: int
    outside: int


class RowsDigest(NamedTuple):
    """Some result rows of one test in figures: rows per lot index, the uncensored values, and
    how many rows are censored numbers and words."""

    per_lot: Counter[int]
    values: list[float]
    censored: int
    words: int


def _key_result(key: tuple[int, float, int]) -> Result:
    c, value, word = key
    return Result(word=WORDS[word]) if c == WORD else Result(value=value, censor=_CENSOR_CHAR[c])


_NONZERO = re.compile(rb"[^\x00]")
_WORD_CODE = {w: i for i, w in enumerate(WORDS)}


def _qualitative_candidates(col: AttributeColumn, criterion: QualitativeCriterion) -> list[int]:
    """Rows whose result is not a word the criterion passes (numbers, other words), found in the
    word column's bytes; an all-passing column costs no Python step per row."""
    passing = QUALITATIVE.get(criterion.expected, (frozenset({criterion.expected}), frozenset()))[0]
    codes = bytes(sorted(_WORD_CODE[w] for w in passing if w in _WORD_CODE))
    words = col.word.tobytes()  # -1 (0xff) for rows that hold no word
    if codes and not words.translate(None, codes):
        return []
    other = re.compile(b"[^" + re.escape(codes) + b"]", re.DOTALL) if codes else re.compile(b".", re.DOTALL)
    return [m.start() for m in other.finditer(words)]


def _sniff_delimiter(header_line: str) -> str:
    return ";" if header_line.count(";") > header_line.count(",") else ","


def _read_header(
    stream: IO[str], required: tuple[str, ...], known: tuple[str, ...], empty_hint: str,
    problem: Callable[[int, int, str, str], None],
) -> tuple[str, list[str], dict[str, int]] | None:
    """Read a CSV header row: (delimiter, lower-cased names, position of each name), or None
    after reporting an empty file, a repeated column or a missing required column."""
    first = stream.readline()
    if not first.strip():
        problem(1, 1, "", f"empty file: expected a header row naming the columns ({empty_hint})")
        return None
    delimiter = _sniff_delimiter(first)
    if first.count(delimiter) >= MAX_COLUMNS:
        problem(1, 1, "", f"the header has more than {MAX_COLUMNS:,} columns; a lots or stability file has "
                f"one result per row ({empty_hint})")
        return None
    header = [h.strip().lstrip("\ufeff").lower() for h in next(csv.reader([first], delimiter=delimiter))]
    pos: dict[str, int] = {}
    for i, name in enumerate(header):
        if name in pos:
            problem(1, i + 1, name, f"column '{name}' appears twice in the header")
        pos.setdefault(name, i)
    missing = [c for c in required if c not in pos]
    if missing:
        from cmcflex.dossier.errors import did_you_mean

        # the closest-name search looks at a bounded number of short names, whatever the header holds
        extra = list(itertools.islice((h for h in header if h not in known and len(h) <= MAX_SUGGEST_CHARS),
                                      MAX_SUGGEST_NAMES))
        for c in missing:
            problem(1, 1, c, f"required column '{c}' is missing{did_you_mean(c, extra)}")
        return None
    return delimiter, header, pos


def read_lots_csv(stream: IO[str], file: str, table: LotTable, problems: list[Problem]) -> None:
    """Stream one lots CSV into ``table``; located problems go to ``problems``.

    Rows arrive in batches (see :func:`_batches`). A batch whose rows are all clean is added
    column by column (:meth:`_LotReader.add_columns`); any batch with something to report goes
    through the row-by-row path (:meth:`_LotReader.add_row`), which says what is wrong and where.
    This is the one text reader of lots files; the other is the Arrow path for large files
    (:mod:`cmcflex.dossier.lots_arrow`, behind its optional extra), which declines a file with
    anything to report and leaves it to this one.
    """
    start = len(problems)

    def problem(line: int, col: int, fld: str, message: str) -> None:
        if len(problems) - start < MAX_PROBLEMS:
            problems.append(Problem(file, line, col, fld, message))

    read = _read_header(stream, REQUIRED, REQUIRED + OPTIONAL, "lot_id, material, use, attribute, value, ...", problem)
    if read is None:
        return
    delimiter, header, pos = read
    reader = _LotReader(file, table, pos, len(header), problem, decimal_comma=delimiter == ";")
    position = _Position()
    collecting = gc.isenabled()
    gc.disable()  # millions of short-lived fields, no cycles: collections would only cost time
    try:
        for batch in _batches(stream, delimiter, len(header), pos["lot_id"], position):
            if batch.columns is None or not reader.add_columns(batch.columns, batch.lines):
                for line, row in zip(batch.lines, batch.rows()):
                    reader.add_row(row, line)
            del batch  # free its fields before the next batch is split: memory stays warm
    except csv.Error as exc:
        problem(position.line + 1, 1, "", f"unreadable CSV: {_csv_error(exc)}")
    finally:  # a UnicodeDecodeError goes on to the loader, which finds the bad byte in the file
        reader.lot_keys.clear()  # a tuple per lot: freed now, the collector need not walk them
        if collecting:
            gc.enable()
    reader.report_tally()
    if len(problems) - start >= MAX_PROBLEMS:
        problems.append(Problem(file, position.line, 1, "",
                                f"more problems in this file; only the first {MAX_PROBLEMS} are shown"))


def _csv_error(exc: csv.Error) -> str:
    """What csv.reader found wrong, in the file's terms."""
    if "field larger than field limit" in str(exc):
        return f"a field is longer than {csv.field_size_limit():,} characters; a field holds at most {MAX_FIELD:,}"
    return str(exc)


def percent_value(raw: str, unit: str) -> tuple[str, str]:
    """A value written with its percent sign, as a spreadsheet exports a percent-formatted cell
    ('91.0%', '<0.5 %'): the number, and its unit ('%' where the unit column is empty). ValueError
    when the unit column names another unit: which of the two is meant cannot be told."""
    number = raw.rstrip()[:-1].rstrip()
    if unit and not unit.startswith("%"):
        raise ValueError(f"'{raw.strip()}' is written with '%' but its unit is '{unit}': write the number "
                         f"alone in '{unit}', or correct the unit")
    return number, unit or "%"


def _parse_value(raw: str, decimal_comma: bool = False) -> tuple[float, int, int]:
    """(value, censor code, word index) of one lots.csv value; ValueError says what is wrong.

    ``decimal_comma``: the file is semicolon-delimited, so a comma is a decimal mark (see
    :func:`cmcflex.dossier.criteria.parse_number`).
    """
    try:
        if "_" in raw or (decimal_comma and "." in raw):
            raise ValueError  # float() reads 1_5 as 15, and 6.500 as 6.5: parse_number says why
        value = float(raw)
        if math.isnan(value) or math.isinf(value):
            raise ValueError
        return value, NO_CENSOR, -1
    except ValueError:
        result = parse_result(raw, decimal_comma)
    if result.word is not None:
        return math.nan, WORD, _WORD_INDEX[result.word]
    return result.value, BELOW if result.censor == "<" else ABOVE if result.censor == ">" else NO_CENSOR, -1


class _Tally:
    """Bad values counted, so that each distinct one is reported once, at its first row, with the
    number of rows holding it (never the same error on every row)."""

    def __init__(self, problem: Callable[[int, int, str, str], None]) -> None:
        self.problem = problem
        self.bad: dict[tuple[str, str], list[Any]] = {}  # (column, value) -> [line, col, message, rows]

    def add(self, line: int, col: int, name: str, value: str, message: tuple[str, str]) -> None:
        """Count a bad value; ``message`` is what the value is and what is wrong, the count goes between."""
        seen = self.bad.get((name, value))
        if seen is None:
            self.bad[(name, value)] = [line, col, message, 1]
        else:
            seen[3] += 1

    def report(self) -> None:
        """One problem per distinct bad value, in order of first appearance."""
        for (name, _), (line, col, (what, wrong), count) in sorted(self.bad.items(), key=lambda kv: kv[1][:2]):
            rows = f" ({count} rows, the first here)" if count > 1 else ""
            self.problem(line, col, name, f"{what}{rows}{wrong}")


_UNKNOWN = "\x00unknown"  # a lot-level value outside its column's vocabulary (never a real field)


def _unknown_message(name: str, value: str) -> tuple[str, str]:
    allowed = VOCABULARY[name]
    return (f"unknown {name} '{visible(value)}'",
            f"{did_you_mean(value, allowed)}; expected one of: {', '.join(allowed)}")


def _invisible_id_message(lot_id: str) -> tuple[str, str]:
    return (f"lot_id '{visible(lot_id)}'", " holds an invisible or control character; a lot id must be plain "
            "text that dossier files can name exactly: remove the character")


class _LotKeys(dict):
    """Lot index -> the lot's lot-level values (in LOT_LEVEL order), read from the table when first asked."""

    def __init__(self, table: LotTable) -> None:
        super().__init__()
        self.table = table

    def __missing__(self, li: int) -> tuple[str | None, ...]:
        values = self.table._lot_values
        key = self[li] = tuple(values[c][li] for c in LOT_LEVEL)
        return key


class _LotReader:
    """Adds the rows of one lots CSV to a :class:`LotTable`: row by row, or a clean batch at once."""

    def __init__(self, file: str, table: LotTable, pos: dict[str, int], width: int,
                 problem: Callable[[int, int, str, str], None], decimal_comma: bool = False) -> None:
        self.file, self.table, self.width, self.problem = file, table, width, problem
        self.decimal_comma = decimal_comma
        self.file_index = len(table.files)
        table.files.append(file)
        self.i_lot, self.i_attr, self.i_value = pos["lot_id"], pos["attribute"], pos["value"]
        self.lot_cols = [(c, pos.get(c, -1)) for c in LOT_LEVEL]
        self.i_unit, self.i_method = pos.get("unit", -1), pos.get("method", -1)
        self.names = {j: name for name, j in pos.items()}
        used = {self.i_lot, self.i_attr, self.i_value, *(j for _, j in self.lot_cols)}
        self.tally = _Tally(problem)
        self.other_cols = [j for j in range(width) if j not in used]
        # lot-level values of the lots known so far, as compared between rows (read on first use:
        # building them all here would make a dossier of many lots files quadratic)
        self.lot_keys: dict[int, tuple[str | None, ...]] = _LotKeys(table)
        self.dates: set[str | None] = {None}  # manufacture dates checked (valid) so far
        self.bad_dates: set[str] = set()      # and those reported, once each

    # ------------------------------------------------------------ the row-by-row path

    def add_row(self, row: list[str], line: int) -> None:
        """Add one row, or report what is wrong with it."""
        table, problem, width = self.table, self.problem, self.width
        if not row or not "".join(row).strip():  # a blank line, or a row of empty cells as spreadsheets export it
            return
        if len(row) != width:
            size = sum(map(len, row))
            problem(line, min(len(row), width) + 1, "", f"row has {len(row)} fields, the header has {width}"
                    + (f" (a line of {size:,} characters)" if size > MAX_FIELD else ""))
            return
        longest = max(map(len, row))
        if longest > MAX_FIELD:  # csv.reader's own limit is larger; plain lines are split without it
            j = list(map(len, row)).index(longest)
            name = self.names.get(j, "")
            problem(line, j + 1, name, f"{name or 'field'} is {longest:,} characters long; "
                    f"a field holds at most {MAX_FIELD:,}")
            return
        lot_id = row[self.i_lot].strip()
        if not lot_id:
            problem(line, self.i_lot + 1, "lot_id", "empty lot_id")
            return
        if not lot_id.isprintable():
            self.tally.add(line, self.i_lot + 1, "lot_id", lot_id, _invisible_id_message(lot_id))
            return
        key = tuple(self._canonical(name, row[j].strip() or None) if j >= 0 else None for name, j in self.lot_cols)
        if _UNKNOWN in key:  # a value outside its column's vocabulary, whether the lot is new or not
            for (name, j), v in zip(self.lot_cols, key):
                if v is _UNKNOWN:
                    raw = row[j].strip()
                    self.tally.add(line, j + 1, name, raw, _unknown_message(name, raw))
            return
        li = table.index.get(lot_id)
        if li is None:
            bad = False
            if key[0] is None or key[1] is None:
                problem(line, 1, "material" if key[0] is None else "use", "required lot-level value is empty")
                bad = True
            if not self._dates_ok([key[_DATE]]):
                self._date_problem(key[_DATE], line)  # type: ignore[arg-type]
                bad = True
            if bad:
                return
            li = self._new_lot(lot_id, key, line)
        elif self.lot_keys[li] != key:
            old = self.lot_keys[li]
            diffs = [(name, j, a, b) for (name, j), a, b in zip(self.lot_cols, old, key) if a != b]
            name, j = diffs[0][0], diffs[0][1]
            says = ", and ".join(f"{n} '{b}' here but '{a}'" for n, _, a, b in diffs)
            problem(line, j + 1, name,
                    f"lot {lot_id} has {says} at "
                    f"{table.files[table._lot_file[li]]} line {table._lot_line[li]}; "
                    "lot-level columns must agree on every row of a lot")
            return
        attribute = row[self.i_attr].strip()
        if not attribute:
            problem(line, self.i_attr + 1, "attribute", "empty attribute")
            return
        raw = row[self.i_value]
        unit = row[self.i_unit].strip() if self.i_unit >= 0 else ""
        try:
            if raw.rstrip().endswith("%"):
                raw, unit = percent_value(raw, unit)
            value, censor, word = _parse_value(raw, self.decimal_comma)
        except ValueError as exc:
            problem(line, self.i_value + 1, "value", str(exc))
            return
        col = self._column(key[0] or "", attribute)
        col.lot.append(li)
        col.value.append(value)
        col.censor.append(censor)
        col.word.append(word)
        col.line.append(line)
        col.file.append(self.file_index)
        col.method.append(table._method_id(row[self.i_method].strip()) if self.i_method >= 0 else -1)
        col.unit.append(table._unit_id(unit))
        if unit:
            col.units.add(unit)
        table.rows += 1

    def _dates_ok(self, values: Iterable[str | None]) -> bool:
        """Whether every manufacture date given is an ISO date; each distinct one is checked once."""
        new = set(values) - self.dates
        if all(map(is_iso_date, new)):  # type: ignore[arg-type]
            self.dates |= new
            return True
        return False

    def _date_problem(self, value: str, line: int) -> None:
        """Report a manufacture date that is not an ISO date, once per distinct value in the file."""
        if value in self.bad_dates:
            return
        self.bad_dates.add(value)
        try:
            parse_iso_date(value)
        except ValueError as exc:
            self.problem(line, self.lot_cols[_DATE][1] + 1, "manufacture_date", f"manufacture_date {exc}")

    @staticmethod
    def _canonical(name: str, value: str | None) -> str | None:
        """A lot-level value as meant: a vocabulary's value for a case variant of it; _UNKNOWN when
        the column has a vocabulary and the value is not in it."""
        if name == "manufacture_date":
            return _date_meant(value)
        vocabulary = CONTROLLED.get(name)
        if vocabulary is None or value is None:
            return value
        return vocabulary.canonical(value) or _UNKNOWN

    def report_tally(self) -> None:
        self.tally.report()

    def _new_lot(self, lot_id: str, key: tuple[str | None, ...], line: int) -> int:
        table = self.table
        li = table.index[lot_id] = len(table.lot_ids)
        table.lot_ids.append(lot_id)
        for (name, _), v in zip(self.lot_cols, key):
            table._lot_values[name].append(v)
        table._lot_file.append(self.file_index)
        table._lot_line.append(line)
        self.lot_keys[li] = key
        return li

    def _column(self, material: str, attribute: str) -> AttributeColumn:
        col = self.table._columns.get((material, attribute))
        if col is None:
            col = self.table._columns[(material, attribute)] = AttributeColumn(material, attribute)
        return col

    # ------------------------------------------------------------ the columnar path

    def add_columns(self, columns: Sequence[Sequence[str]], lines: Sequence[int]) -> bool:
        """Add a batch given as columns of fields, when every row of it is clean.

        Returns False, having changed nothing, when any row needs a closer look (a problem to
        report, lot-level values to compare); the caller then adds the batch row by row. Work
        per row is done by C loops (slices, dict lookups, ``map``); Python code runs once per
        distinct lot, attribute and value. The table ends up as the row-by-row path leaves it.
        """
        table, n = self.table, len(lines)
        if n == 0:
            return True
        lot_col, attr_col, value_col = columns[self.i_lot], columns[self.i_attr], columns[self.i_value]
        level = [columns[j] for _, j in self.lot_cols if j >= 0]
        stride = _stride(lot_col, attr_col, level)
        # 1. each distinct lot: valid lot-level values that agree with its earlier rows
        raw_level: Sequence[Sequence[str]]
        if stride:
            raw_ids, raw_level = lot_col[::stride], [c[::stride] for c in level]
        else:
            raw_ids, *raw_level = map(list, zip(*dict.fromkeys(zip(lot_col, *level))))
        lots = self._batch_lots(raw_ids, raw_level)
        if lots is None:
            return False
        # material is a required column and _batch_lots declines a blank one: no None here
        material_of = dict(zip(raw_ids, cast("Sequence[str]", lots.keys[0])))
        # 2. each distinct (material, attribute) names a column; which rows go to each
        selected = self._select(stride, lot_col, attr_col, material_of)
        if selected is None:
            return False
        for j in self.other_cols:  # fields kept (unit, method) or ignored: csv.reader's size limit
            if max(map(len, columns[j])) > MAX_FIELD:
                return False
        # 3. the values of each column
        parsed = []
        for _, rows in selected:
            result = _parse_values(_take(value_col, rows), self.decimal_comma)
            if result is None:
                return False
            parsed.append(result)
        # -- commit; nothing below can fail
        lot_of = self._commit_lots(lots, raw_ids, lot_col, stride, lines)
        method_col = columns[self.i_method] if self.i_method >= 0 else None
        if method_col is not None:
            method_of = {raw: table._method_id(raw.strip()) for raw in dict.fromkeys(method_col)}
        unit_col = columns[self.i_unit] if self.i_unit >= 0 else None
        if unit_col is not None:
            unit_of = {raw: table._unit_id(raw.strip()) for raw in dict.fromkeys(unit_col)}
        # whole lots of ``stride`` rows: every column lists the batch's lots in the same order
        lot_seq = array("i", map(lot_of.__getitem__, raw_ids)) if stride else None
        for (key2, rows), (values, censors, words) in zip(selected, parsed):
            col = self._column(*key2)
            m = len(values)
            if lot_seq is not None and isinstance(rows, slice):
                col.lot.extend(lot_seq)
            else:
                col.lot.extend(map(lot_of.__getitem__, _take(lot_col, rows)))
            col.value.extend(values)
            col.censor.extend(censors)
            col.word.extend(words)
            col.line.extend(_take(lines, rows))
            col.file.extend(array("i", [self.file_index]) * m)
            if method_col is not None:
                col.method.extend(map(method_of.__getitem__, _take(method_col, rows)))
            else:
                col.method.extend(_MINUS_ONE_I * m)
            if unit_col is not None:
                codes = list(map(unit_of.__getitem__, _take(unit_col, rows)))
                col.unit.extend(codes)
                col.units.update(table.units[c] for c in set(codes) if c >= 0)
            else:
                col.unit.extend(_MINUS_ONE_I * m)
        table.rows += n
        return True

    def _batch_lots(self, raw_ids: Sequence[str], raw_level: Sequence[Sequence[str]]) -> _BatchLots | None:
        """The distinct lots of a batch (raw lot_id fields and their lot-level fields), checked
        column by column; None when any of them needs the row-by-row path."""
        if len(set(raw_ids)) != len(raw_ids) or max(map(len, raw_ids)) > MAX_FIELD:
            return None
        ids = list(map(str.strip, raw_ids))
        if "" in ids or len(set(ids)) != len(ids) or not all(map(str.isprintable, ids)):
            return None
        m = len(ids)
        keys: list[Sequence[str | None]] = [[None] * m] * len(self.lot_cols)
        present = [k for k, (_, j) in enumerate(self.lot_cols) if j >= 0]
        for k, raw in zip(present, raw_level):
            if max(map(len, raw)) > MAX_FIELD:
                return None
            values: list[str | None] = list(map(str.strip, raw))
            if "" in values:
                if LOT_LEVEL[k] in ("material", "use"):
                    return None
                values = [v or None for v in values]
            vocabulary = CONTROLLED.get(LOT_LEVEL[k])
            if vocabulary is not None and not set(values) <= {*vocabulary.exact, None}:
                meant: dict[str | None, str | None] = {v: vocabulary.canonical(v) for v in set(values) if v is not None}
                if None in meant.values():
                    return None
                meant[None] = None
                values = list(map(meant.__getitem__, values))  # case variants: per distinct value, C loop per row
            keys[k] = values
        exported = {v for v in set(keys[_DATE]) if v is not None and len(v) > 10}
        if exported:  # dates exported with their midnight, read per distinct value
            meant_dates = {v: _date_meant(v) for v in exported}
            keys[_DATE] = [meant_dates.get(v, v) if v else v for v in keys[_DATE]]
        if not self._dates_ok(keys[_DATE]):
            return None
        known = list(map(self.table.index.get, ids))
        if known.count(None) != m:
            rows = list(zip(*keys))
            if any(li is not None and self.lot_keys[li] != key for li, key in zip(known, rows)):
                return None
        return _BatchLots(ids, keys, known)

    def _commit_lots(self, lots: _BatchLots, raw_ids: Sequence[str], lot_col: Sequence[str],
                     stride: int, lines: Sequence[int]) -> dict[str, int]:
        """Add the new lots of a checked batch; raw lot_id field -> lot index."""
        table = self.table
        new = [p for p, li in enumerate(lots.known) if li is None]
        if new:
            if stride:
                first_rows: Iterable[int] = (p * stride for p in new)
            else:
                first_rows, at = [], 0
                for p in new:
                    at = lot_col.index(raw_ids[p], at)
                    first_rows.append(at)
            everything = len(new) == len(lots.ids)
            pick = (lambda seq: seq) if everything else (lambda seq: [seq[p] for p in new])
            base = len(table.lot_ids)
            new_ids = pick(lots.ids)
            table.lot_ids.extend(new_ids)
            table.index.update(zip(new_ids, itertools.count(base)))
            new_keys = [pick(values) for values in lots.keys]
            for (name, _), values in zip(self.lot_cols, new_keys):
                table._lot_values[name].extend(values)
            table._lot_file.extend(array("i", [self.file_index]) * len(new))
            table._lot_line.extend(map(lines.__getitem__, first_rows))
            self.lot_keys.update(zip(itertools.count(base), zip(*new_keys)))
            known = list(lots.known)
            for offset, p in enumerate(new):
                known[p] = base + offset
        else:
            known = lots.known
        return dict(zip(raw_ids, known))  # type: ignore[arg-type]

    @staticmethod
    def _select(
        stride: int, lot_col: Sequence[str], attr_col: Sequence[str], material_of: dict[str, str]
    ) -> list[tuple[tuple[str, str], slice | list[int]]] | None:
        """The columns a batch feeds, in order of first appearance, each with its rows in file order."""
        materials = set(material_of.values())
        if stride and len(materials) == 1:
            (material,) = materials
            keys = [(material, a.strip()) for a in attr_col[:stride]]
            if all(a for _, a in keys) and len(set(keys)) == stride:
                return [(key, slice(k, len(lot_col), stride)) for k, key in enumerate(keys)]
        row_keys: Sequence[Any] = (
            attr_col if len(materials) == 1 else list(zip(map(material_of.__getitem__, lot_col), attr_col))
        )
        kid_of: dict[Any, int] = {}
        keys_seen: dict[tuple[str, str], int] = {}
        for raw_key in dict.fromkeys(row_keys):
            material, raw_attr = (next(iter(materials)), raw_key) if len(materials) == 1 else raw_key
            attribute = raw_attr.strip()
            if not attribute or len(raw_attr) > MAX_FIELD:
                return None
            kid_of[raw_key] = keys_seen.setdefault((material, attribute), len(keys_seen))
        kids = list(map(kid_of.__getitem__, row_keys))
        order = sorted(range(len(kids)), key=kids.__getitem__)  # stable: file order within a column
        counts = Counter(kids)
        out: list[tuple[tuple[str, str], slice | list[int]]] = []
        at = 0
        for key, k in keys_seen.items():
            out.append((key, order[at:at + counts[k]]))
            at += counts[k]
        return out


def _parse_values(raw: Sequence[str], decimal_comma: bool = False) -> tuple[array, array, array] | None:
    """Values, censor codes and word indices of a column's fields; None if any is not a result.

    Plain numbers go through ``float`` in one C loop; a column holding anything else (a
    censored value, a word, an underscore that ``float`` would skip) is parsed once per
    distinct field.
    """
    m = len(raw)
    try:
        values = array("d", map(float, raw))
    except ValueError:
        values = None
    joined = "".join(raw) if values is not None else ""
    if (values is not None and math.isfinite(sum(values)) and "_" not in joined
            and (len(joined) <= MAX_FIELD or max(map(len, raw)) <= MAX_FIELD)  # no field longer than all
            and not (decimal_comma and dot_grouped(raw))):
        return values, array("b", bytes(m)), _MINUS_ONE_B * m
    parsed: dict[str, tuple[float, int, int]] = {}
    for text in set(raw):
        if len(text) > MAX_FIELD:
            return None
        try:
            parsed[text] = _parse_value(text, decimal_comma)
        except ValueError:
            return None
    if len(parsed) == 1:  # e.g. "No growth" on every row
        ((value, censor, word),) = parsed.values()
        return array("d", [value]) * m, array("b", [censor]) * m, array("b", [word]) * m
    triples = list(map(parsed.__getitem__, raw))
    first, second, third = operator.itemgetter(0), operator.itemgetter(1), operator.itemgetter(2)
    return (array("d", map(first, triples)), array("b", map(second, triples)), array("b", map(third, triples)))


_DOT_GROUPED_FIELD = re.compile(rf"^\s*{DOT_GROUPED.pattern}\s*$", re.MULTILINE)


def dot_grouped(fields: Sequence[str]) -> bool:
    """Whether a field reads as 6.500, which a file of decimal commas may mean as 6500 (one
    regular-expression search over the fields, not a Python step per field)."""
    return _DOT_GROUPED_FIELD.search("\n".join(fields)) is not None


def _stride(lot_col: Sequence[str], attr_col: Sequence[str], level: list[Sequence[str]]) -> int:
    """k when the batch is whole lots of k rows each, every lot listing the same attributes in
    the same order and repeating its lot-level values on each row (the usual export); else 0."""
    n, first = len(lot_col), lot_col[0]
    k = 1
    while k < n and lot_col[k] == first:
        k += 1
    if n % k:
        return 0
    for col in (lot_col, *level):
        head = col[0::k]
        for j in range(1, k):
            if col[j::k] != head:
                return 0
    for j in range(k):
        if attr_col[j::k].count(attr_col[j]) != n // k:
            return 0
    return k


def _take(column: Sequence[Any], rows: slice | list[int]) -> Sequence[Any]:
    """The fields of the given rows of a column."""
    if isinstance(rows, slice):
        return column[rows]
    return list(map(column.__getitem__, rows))


_MINUS_ONE_B = array("b", [-1])
_MINUS_ONE_I = array("i", [-1])


class _BatchLots(NamedTuple):
    ids: list[str]                          # lot ids, in order of first appearance
    keys: list[Sequence[str | None]]        # lot-level values by column (LOT_LEVEL order)
    known: list[int | None]                 # index of each lot in the table, None when new


class _Batch(NamedTuple):
    lines: Sequence[int]                    # the line number of each row
    columns: Sequence[Sequence[str]] | None  # fields by column, when every row has the header's width
    rows: Callable[[], Iterable[list[str]]]  # the rows as lists of fields


class _Position:
    """The last line read so far (for problems raised while reading)."""

    line = 1


BLOCK_CHARS = 1 << 17  # characters read at once on the plain path (small enough to stay in cache)
BATCH_ROWS = 20_000    # rows per batch on the csv-module path


def _batches(
    stream: IO[str], delimiter: str, width: int, i_lot: int, position: _Position
) -> Iterator[_Batch]:
    """The data rows after the header, in batches.

    Plain text (no quotes, no lone carriage returns) is split with ``str.split`` a block at a
    time, each block ending with a whole lot where it can (the lines of the last lot read are
    carried over to the next block). Once a quote or a lone carriage return appears, the rest
    goes through ``csv.reader``, which knows quoted fields and line breaks inside them.
    """
    carry = ""
    while True:
        block = stream.read(BLOCK_CHARS)
        if block.endswith("\r"):
            block += stream.read(1)  # the "\n" of a "\r\n" split between two reads
        if block and not block.endswith(("\n", "\r")):
            block += stream.readline()  # end the block at the end of a line
        text = block.replace("\r\n", "\n") if "\r" in block else block
        if '"' in text or "\r" in text:
            if carry:
                yield _plain_batch(carry, delimiter, width, position)
            yield from _csv_batches(itertools.chain(io.StringIO(block, newline=""), stream),
                                    delimiter, width, position)
            return
        if not text:
            if carry:
                yield _plain_batch(carry, delimiter, width, position)
            return
        if not text.endswith("\n"):
            text += "\n"  # the last line of a file without a final line break
        text = carry + text
        cut = _last_lot_start(text, delimiter, i_lot)
        if cut == 0 and len(text) > 4 * BLOCK_CHARS:
            cut = len(text)  # one lot that long: no need to keep it whole
        carry = text[cut:]
        if cut:
            yield _plain_batch(text[:cut], delimiter, width, position)


def _last_lot_start(text: str, delimiter: str, i_lot: int) -> int:
    """Offset of the first line of the last lot's run of lines in ``text`` (whole lines)."""
    def lot_at(start: int) -> str | None:
        fields = text[start:text.index("\n", start)].split(delimiter, i_lot + 1)
        return fields[i_lot] if len(fields) > i_lot else None

    start = text.rfind("\n", 0, len(text) - 1) + 1
    last = lot_at(start)
    while start > 0 and last is not None:
        before = text.rfind("\n", 0, start - 1) + 1
        if lot_at(before) != last:
            break
        start = before
    return start


def _plain_batch(text: str, delimiter: str, width: int, position: _Position) -> _Batch:
    """A batch of whole lines without quotes, split into columns when every line has ``width`` fields.

    Each line break becomes a field of its own, so one ``split`` gives every field and a check
    that each of those marker fields sits where it should proves every line has ``width`` fields.
    """
    n = text.count("\n")
    first = position.line + 1
    position.line += n
    fields = text.replace("\n", f"{delimiter}\n{delimiter}").split(delimiter)
    stride = width + 1
    columns: list[Sequence[str]] | None = None
    if len(fields) == n * stride + 1 and fields[width::stride].count("\n") == n:
        fields.pop()  # the empty field after the last line break
        columns = [fields[j::stride] for j in range(width)]
    del fields
    # no quotes: csv.reader would split each line just so, but stop at its field size limit unlocated
    return _Batch(range(first, first + n), columns,
                  lambda: (line.split(delimiter) if line else [] for line in text.split("\n")[:n]))


def _given(rows: list[list[str]]) -> Callable[[], list[list[str]]]:
    """A callable returning the rows read for this batch (bound now, not at call time)."""
    return lambda: rows


def _csv_batches(source: Iterable[str], delimiter: str, width: int, position: _Position) -> Iterator[_Batch]:
    base = position.line
    reader = csv.reader(source, delimiter=delimiter)
    while True:
        rows: list[list[str]] = []
        numbers: list[int] = []
        failure: csv.Error | None = None
        try:
            for row in reader:
                rows.append(row)
                numbers.append(base + reader.line_num)
                position.line = base + reader.line_num
                if len(rows) >= BATCH_ROWS:
                    break
        except csv.Error as exc:
            failure = exc
        if rows:
            uniform = all(len(r) == width for r in rows)
            columns = [list(c) for c in zip(*rows)] if uniform else None
            yield _Batch(numbers, columns, _given(rows))
        if failure is not None:
            raise failure
        if len(rows) < BATCH_ROWS:
            return


# ---------------------------------------------------------------------------- stability.csv

STABILITY_REQUIRED = ("lot_id", "material", "condition", "time", "time_unit", "attribute", "value")
STABILITY_OPTIONAL = ("unit", "method")
CONDITIONS = ("long_term", "accelerated", "in_use", "shipping")
TIME_UNITS = tuple(DAYS_IN)
STABILITY_CONTROLLED = {"condition": Vocabulary(CONDITIONS), "time_unit": Vocabulary(TIME_UNITS)}


class StabilityPoint(NamedTuple):
    lot_id: str
    material: str
    condition: str
    time: float
    time_unit: str
    attribute: str
    result: Result
    unit: str | None
    file: str
    line: int
    method: str | None = None  # the method id that produced the value, where written

    @property
    def months(self) -> float:
        return months_of(self.time, self.time_unit)


def read_stability_csv(stream: IO[str], file: str, problems: list[Problem]) -> list[StabilityPoint]:
    """Read stability.csv (small: one row per lot, condition, time point and attribute)."""
    out: list[StabilityPoint] = []
    start = len(problems)

    def problem(line: int, col: int, fld: str, message: str) -> None:
        if len(problems) - start < MAX_PROBLEMS:
            problems.append(Problem(file, line, col, fld, message))

    read = _read_header(stream, STABILITY_REQUIRED, STABILITY_REQUIRED + STABILITY_OPTIONAL,
                        "lot_id, material, condition, time, time_unit, attribute, value, unit, method", problem)
    if read is None:
        return out
    delimiter, header, pos = read
    decimal_comma = delimiter == ";"
    reader = csv.reader(stream, delimiter=delimiter)
    seen = _Tally(problem)
    line = 1
    try:
        for row in reader:
            line = reader.line_num + 1
            if not row or not "".join(row).strip():  # a blank line, or a row of empty cells
                continue
            if len(row) != len(header):
                problem(line, 1, "", f"row has {len(row)} fields, the header has {len(header)}")
                continue
            get = lambda c: row[pos[c]].strip() if c in pos else ""  # noqa: E731, B023  used in this iteration only
            if not get("lot_id").isprintable():
                seen.add(line, pos["lot_id"] + 1, "lot_id", get("lot_id"), _invisible_id_message(get("lot_id")))
                continue
            condition = STABILITY_CONTROLLED["condition"].canonical(get("condition"))
            unit_t = STABILITY_CONTROLLED["time_unit"].canonical(get("time_unit"))
            if condition is None or unit_t is None:
                name = "condition" if condition is None else "time_unit"
                allowed = STABILITY_CONTROLLED[name].allowed
                seen.add(line, pos[name] + 1, name, get(name),
                           (f"unknown {name} '{visible(get(name))}'",
                            f"{did_you_mean(get(name), allowed)}; expected one of: {', '.join(allowed)}"))
                continue
            try:
                time = parse_number(get("time"), decimal_comma)
                if time < 0:
                    raise ValueError("negative")
            except NumberError as exc:
                problem(line, pos["time"] + 1, "time", f"time {exc}")
                continue
            except ValueError:
                problem(line, pos["time"] + 1, "time", f"time '{get('time')}' is not a number >= 0")
                continue
            value, unit = get("value"), get("unit")
            try:
                if value.rstrip().endswith("%"):
                    value, unit = percent_value(value, unit)
                result = parse_result(value, decimal_comma)
            except ValueError as exc:
                problem(line, pos["value"] + 1, "value", str(exc))
                continue
            if not get("lot_id") or not get("attribute"):
                problem(line, 1, "lot_id" if not get("lot_id") else "attribute", "empty required value")
                continue
            out.append(StabilityPoint(get("lot_id"), get("material"), condition, time, unit_t,
                                      get("attribute"), result, unit or None, file, line,
                                      get("method") or None))
    except csv.Error as exc:
        problem(line + 1, 1, "", f"unreadable CSV: {_csv_error(exc)}")
    seen.report()
    return out  # a UnicodeDecodeError goes on to the loader, which finds the bad byte in the file


def _date_meant(value: str | None) -> str | None:
    """A manufacture date as compared: ``2026-03-16 00:00:00`` (a date cell exported with its
    midnight) is ``2026-03-16``; anything else stays as written, for the date check to judge."""
    if value is None or len(value) <= 10 or not is_iso_date(value):
        return value
    return date_text(value)
