"""Batch analysis (lots.csv) streamed into a compact columnar table.

One row per lot and attribute goes in; what is kept is, per (material, attribute), parallel
arrays of lot index, value, censoring and source line — no Python object per row. Lot-level
columns (use, site, dates, disposition, ...) are stored once per lot; a lot whose rows disagree
on them is an error.
"""

from __future__ import annotations

import csv
import math
from array import array
from dataclasses import dataclass, field
from typing import IO, Iterator, NamedTuple

from cmcflex.dossier.criteria import RESULT_WORDS, Result, parse_number, parse_result
from cmcflex.dossier.errors import Problem

USES = ("development", "engineering", "phase_1", "phase_2", "phase_3", "ppq", "commercial")
STARTING_MATERIALS = ("patient", "healthy_donor", "cell_bank", "not_applicable")
DISPOSITIONS = ("released", "rejected", "released_under_exception", "pending", "not_applicable")
LOT_LEVEL = ("material", "use", "process_version", "site", "manufacture_date", "starting_material", "disposition")
REQUIRED = ("lot_id", "material", "use", "attribute", "value")
OPTIONAL = ("process_version", "site", "manufacture_date", "starting_material", "disposition", "unit", "method")
VOCABULARY = {"use": USES, "starting_material": STARTING_MATERIALS, "disposition": DISPOSITIONS}
MAX_FIELD = 10_000  # characters in one CSV field; larger fields are errors
MAX_PROBLEMS = 50   # per file: past this, one summary line

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
    file: array = field(default_factory=lambda: array("h"))
    units: set[str] = field(default_factory=set)

    def __len__(self) -> int:
        return len(self.lot)


class LotTable:
    """The lot data of a dossier: per-lot facts and per-attribute result columns."""

    def __init__(self) -> None:
        self.files: list[str] = []
        self.lot_ids: list[str] = []
        self.index: dict[str, int] = {}
        self.lot_values: dict[str, list[str | None]] = {c: [] for c in LOT_LEVEL}
        self.lot_file: array = array("h")
        self.lot_line: array = array("i")
        self.columns: dict[tuple[str, str], AttributeColumn] = {}
        self.methods: list[str] = []
        self._method_index: dict[str, int] = {}
        self.rows = 0

    # -------------------------------------------------------------- queries

    def __len__(self) -> int:
        return len(self.lot_ids)

    def lot(self, lot_id: str) -> Lot | None:
        i = self.index.get(lot_id)
        return None if i is None else self._lot(i)

    def _lot(self, i: int) -> Lot:
        v = self.lot_values
        return Lot(
            self.lot_ids[i], v["material"][i] or "", v["use"][i] or "", v["process_version"][i],
            v["site"][i], v["manufacture_date"][i], v["starting_material"][i], v["disposition"][i],
            self.files[self.lot_file[i]], self.lot_line[i],
        )

    def lots(self) -> Iterator[Lot]:
        for i in range(len(self.lot_ids)):
            yield self._lot(i)

    def lots_where(self, **criteria: str | tuple[str, ...] | None) -> list[Lot]:
        """Lots whose lot-level columns equal (or are among) the given values."""
        out = []
        for lot in self.lots():
            ok = True
            for key, wanted in criteria.items():
                have = getattr(lot, key)
                if isinstance(wanted, tuple):
                    ok = have in wanted
                else:
                    ok = have == wanted
                if not ok:
                    break
            if ok:
                out.append(lot)
        return out

    def attributes(self, material: str | None = None) -> list[tuple[str, str]]:
        """(material, attribute) keys present, optionally for one material."""
        return [k for k in self.columns if material is None or k[0] == material]

    def results(
        self, material: str, attribute: str, lots: set[str] | frozenset[str] | None = None
    ) -> Iterator[LotResult]:
        """Every result of an attribute, optionally only of the given lots, in file order."""
        col = self.columns.get((material, attribute))
        if col is None:
            return
        ids, files, methods = self.lot_ids, self.files, self.methods
        for k in range(len(col.lot)):
            lot_id = ids[col.lot[k]]
            if lots is not None and lot_id not in lots:
                continue
            c = col.censor[k]
            if c == WORD:
                result = Result(word=WORDS[col.word[k]])
            else:
                result = Result(value=col.value[k], censor=_CENSOR_CHAR[c])
            m = col.method[k]
            yield LotResult(lot_id, result, files[col.file[k]], col.line[k], methods[m] if m >= 0 else None)

    def numeric_values(
        self, material: str, attribute: str, lots: set[str] | frozenset[str] | None = None
    ) -> list[tuple[str, float]]:
        """(lot id, value) for uncensored numeric results only."""
        col = self.columns.get((material, attribute))
        if col is None:
            return []
        ids = self.lot_ids
        out = []
        for k in range(len(col.lot)):
            if col.censor[k] != NO_CENSOR:
                continue
            lot_id = ids[col.lot[k]]
            if lots is None or lot_id in lots:
                out.append((lot_id, col.value[k]))
        return out

    # -------------------------------------------------------------- building

    def _method_id(self, name: str) -> int:
        if not name:
            return -1
        i = self._method_index.get(name)
        if i is None:
            i = self._method_index[name] = len(self.methods)
            self.methods.append(name)
        return i


def _sniff_delimiter(header_line: str) -> str:
    return ";" if header_line.count(";") > header_line.count(",") else ","


def read_lots_csv(stream: IO[str], file: str, table: LotTable, problems: list[Problem]) -> None:
    """Stream one lots CSV into ``table``; located problems go to ``problems``."""
    start = len(problems)

    def problem(line: int, col: int, fld: str, message: str) -> None:
        if len(problems) - start < MAX_PROBLEMS:
            problems.append(Problem(file, line, col, fld, message))

    first = stream.readline()
    if not first.strip():
        problem(1, 1, "", "empty file: expected a header row naming the columns "
                "(lot_id, material, use, attribute, value, ...)")
        return
    delimiter = _sniff_delimiter(first)
    header = next(csv.reader([first], delimiter=delimiter))
    header = [h.strip().lstrip("\ufeff").lower() for h in header]
    pos = {}
    for i, name in enumerate(header):
        if name in pos:
            problem(1, i + 1, name, f"column '{name}' appears twice in the header")
        pos.setdefault(name, i)
    missing = [c for c in REQUIRED if c not in pos]
    if missing:
        from cmcflex.dossier.errors import did_you_mean

        for c in missing:
            extra = [h for h in header if h not in REQUIRED and h not in OPTIONAL]
            problem(1, 1, c, f"required column '{c}' is missing{did_you_mean(c, extra)}")
        return
    file_index = len(table.files)
    table.files.append(file)
    width = len(header)
    i_lot, i_attr, i_value = pos["lot_id"], pos["attribute"], pos["value"]
    lot_cols = [(c, pos.get(c, -1)) for c in LOT_LEVEL]
    i_unit, i_method = pos.get("unit", -1), pos.get("method", -1)
    index, lot_values, columns = table.index, table.lot_values, table.columns
    lot_keys: dict[int, tuple] = {}
    for i in range(len(table.lot_ids)):
        lot_keys[i] = tuple(lot_values[c][i] for c, _ in lot_cols)
    reader = csv.reader(stream, delimiter=delimiter)
    line = 1
    try:
        for row in reader:
            line = reader.line_num + 0  # counts physical lines read so far, header excluded
            line += 1
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != width:
                problem(line, min(len(row), width) + 1, "",
                        f"row has {len(row)} fields, the header has {width}")
                continue
            lot_id = row[i_lot].strip()
            if not lot_id:
                problem(line, i_lot + 1, "lot_id", "empty lot_id")
                continue
            key = tuple((row[j].strip() or None) if j >= 0 else None for _, j in lot_cols)
            li = index.get(lot_id)
            if li is None:
                bad = False
                for (name, j), v in zip(lot_cols, key):
                    allowed = VOCABULARY.get(name)
                    if allowed and v is not None and v not in allowed:
                        problem(line, j + 1, name, f"unknown {name} '{v}'; expected one of: {', '.join(allowed)}")
                        bad = True
                if key[0] is None or key[1] is None:
                    problem(line, 1, "material" if key[0] is None else "use", "required lot-level value is empty")
                    bad = True
                if bad:
                    continue
                li = index[lot_id] = len(table.lot_ids)
                table.lot_ids.append(lot_id)
                for (name, _), v in zip(lot_cols, key):
                    lot_values[name].append(v)
                table.lot_file.append(file_index)
                table.lot_line.append(line)
                lot_keys[li] = key
            elif lot_keys[li] != key:
                old = lot_keys[li]
                for (name, j), a, b in zip(lot_cols, old, key):
                    if a != b:
                        problem(line, j + 1, name,
                                f"lot {lot_id} has {name} '{b}' here but '{a}' at "
                                f"{table.files[table.lot_file[li]]} line {table.lot_line[li]}; "
                                "lot-level columns must agree on every row of a lot")
                        break
                continue
            attribute = row[i_attr].strip()
            if not attribute:
                problem(line, i_attr + 1, "attribute", "empty attribute")
                continue
            raw = row[i_value]
            if len(raw) > MAX_FIELD:
                problem(line, i_value + 1, "value", f"value longer than {MAX_FIELD} characters")
                continue
            material = key[0] or ""
            col = columns.get((material, attribute))
            if col is None:
                col = columns[(material, attribute)] = AttributeColumn(material, attribute)
            try:
                value = float(raw)
                if math.isnan(value) or math.isinf(value):
                    raise ValueError
                censor, word = NO_CENSOR, -1
            except ValueError:
                try:
                    result = parse_result(raw)
                except ValueError as exc:
                    problem(line, i_value + 1, "value", str(exc))
                    continue
                if result.word is not None:
                    value, censor, word = math.nan, WORD, _WORD_INDEX[result.word]
                else:
                    value, word = result.value, -1
                    censor = BELOW if result.censor == "<" else ABOVE if result.censor == ">" else NO_CENSOR
            col.lot.append(li)
            col.value.append(value)
            col.censor.append(censor)
            col.word.append(word)
            col.line.append(line)
            col.file.append(file_index)
            col.method.append(table._method_id(row[i_method].strip()) if i_method >= 0 else -1)
            if i_unit >= 0:
                unit = row[i_unit].strip()
                if unit and len(col.units) < 8:
                    col.units.add(unit)
            table.rows += 1
    except csv.Error as exc:
        problem(line + 1, 1, "", f"unreadable CSV: {exc}")
    except UnicodeDecodeError as exc:
        problem(line + 1, 1, "", f"not UTF-8 text ({exc.reason} at byte {exc.start} of a read block)")
    if len(problems) - start >= MAX_PROBLEMS:
        problems.append(Problem(file, line, 1, "", f"more problems in this file; only the first {MAX_PROBLEMS} are shown"))


# ---------------------------------------------------------------------------- stability.csv

STABILITY_REQUIRED = ("lot_id", "material", "condition", "time", "time_unit", "attribute", "value")
CONDITIONS = ("long_term", "accelerated", "in_use", "shipping")
TIME_UNITS = ("hours", "days", "months")


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

    @property
    def months(self) -> float:
        if self.time_unit == "months":
            return self.time
        days = self.time if self.time_unit == "days" else self.time / 24.0
        return days / 30.4375


def read_stability_csv(stream: IO[str], file: str, problems: list[Problem]) -> list[StabilityPoint]:
    """Read stability.csv (small: one row per lot, condition, time point and attribute)."""
    out: list[StabilityPoint] = []
    start = len(problems)

    def problem(line: int, col: int, fld: str, message: str) -> None:
        if len(problems) - start < MAX_PROBLEMS:
            problems.append(Problem(file, line, col, fld, message))

    first = stream.readline()
    if not first.strip():
        problem(1, 1, "", "empty file: expected a header row (lot_id, material, condition, time, "
                "time_unit, attribute, value, unit)")
        return out
    delimiter = _sniff_delimiter(first)
    header = [h.strip().lstrip("\ufeff").lower() for h in next(csv.reader([first], delimiter=delimiter))]
    pos: dict[str, int] = {}
    for i, name in enumerate(header):
        pos.setdefault(name, i)
    missing = [c for c in STABILITY_REQUIRED if c not in pos]
    if missing:
        from cmcflex.dossier.errors import did_you_mean

        for c in missing:
            problem(1, 1, c, f"required column '{c}' is missing{did_you_mean(c, header)}")
        return out
    reader = csv.reader(stream, delimiter=delimiter)
    line = 1
    try:
        for row in reader:
            line = reader.line_num + 1
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != len(header):
                problem(line, 1, "", f"row has {len(row)} fields, the header has {len(header)}")
                continue
            get = lambda c: row[pos[c]].strip() if c in pos else ""  # noqa: E731
            condition, unit_t = get("condition"), get("time_unit")
            if condition not in CONDITIONS:
                problem(line, pos["condition"] + 1, "condition",
                        f"unknown condition '{condition}'; expected one of: {', '.join(CONDITIONS)}")
                continue
            if unit_t not in TIME_UNITS:
                problem(line, pos["time_unit"] + 1, "time_unit",
                        f"unknown time_unit '{unit_t}'; expected one of: {', '.join(TIME_UNITS)}")
                continue
            try:
                time = parse_number(get("time"))
                if time < 0:
                    raise ValueError("negative")
            except ValueError:
                problem(line, pos["time"] + 1, "time", f"time '{get('time')}' is not a number >= 0")
                continue
            try:
                result = parse_result(get("value"))
            except ValueError as exc:
                problem(line, pos["value"] + 1, "value", str(exc))
                continue
            if not get("lot_id") or not get("attribute"):
                problem(line, 1, "lot_id" if not get("lot_id") else "attribute", "empty required value")
                continue
            out.append(StabilityPoint(get("lot_id"), get("material"), condition, time, unit_t,
                                      get("attribute"), result, get("unit") or None, file, line))
    except csv.Error as exc:
        problem(line + 1, 1, "", f"unreadable CSV: {exc}")
    except UnicodeDecodeError as exc:
        problem(line + 1, 1, "", f"not UTF-8 text ({exc.reason})")
    return out
