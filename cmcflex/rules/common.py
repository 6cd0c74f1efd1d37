"""Views of a dossier that several rules share, computed once per dossier.

The specification index and the out-of-specification check live here so that SPEC, PPQ and
STAB rules judge lot results by the one criterion logic.
"""

from __future__ import annotations

import operator
import re
from itertools import compress
from typing import Iterable, NamedTuple

from cmcflex.dossier.criteria import (
    QUALITATIVE,
    Criterion,
    NumericCriterion,
    QualitativeCriterion,
    ReportOnlyCriterion,
    Result,
)
from cmcflex.dossier.loader import Dossier, Location
from cmcflex.dossier.lots import ABOVE, BELOW, WORD, WORDS, AttributeColumn, LotResult, StabilityPoint
from cmcflex.dossier.models import Specification, SpecTest


class SpecRef(NamedTuple):
    """One specification test with where it is written."""

    spec: Specification
    test: SpecTest
    at: Location

    @property
    def record(self) -> str:
        return test_record(self.spec.material, self.test.attribute)


def test_record(material: str, attribute: str) -> str:
    """The record name of a specification test, as used in findings and waiver scopes."""
    return f"test {material}/{attribute}"


def spec_index(dossier: Dossier) -> dict[tuple[str, str], SpecRef]:
    """(material, attribute) → the specification test; computed once per dossier."""
    cached = dossier.cache.get("spec_index")
    if cached is None:
        cached = {}
        for i, j, spec, test in dossier.spec_tests():
            key = (spec.material, test.attribute)
            cached.setdefault(key, SpecRef(spec, test, dossier.where(
                "specifications.yaml", "specifications", i, "tests", j)))
        dossier.cache["spec_index"] = cached
    return cached  # type: ignore[no-any-return]


def criterion_for(ref: SpecRef, shelf_life: bool = False) -> Criterion:
    """The criterion a result is judged by: for stability (``shelf_life``) the
    ``shelf_life_criterion`` where given, else the release criterion."""
    if shelf_life and ref.test.shelf_life_criterion is not None:
        return ref.test.shelf_life_criterion
    return ref.test.criterion


class OutOfSpec(NamedTuple):
    lot_id: str
    result: LotResult
    criterion: Criterion
    ref: SpecRef | None = None  # the specification test whose criterion rejects the result


def out_of_spec(
    dossier: Dossier, lot_ids: Iterable[str] | None = None, shelf_life: bool = False
) -> list[OutOfSpec]:
    """Lot results (of the given lots, else all) that their specification criterion rejects.

    Results the criterion cannot judge (a word against a range, a censored value straddling a
    limit, report-only criteria) are not counted as failures.
    """
    if dossier.lots is None:
        return []
    wanted = None if lot_ids is None else frozenset(lot_ids)
    out = []
    for (material, attribute), ref in spec_index(dossier).items():
        criterion = criterion_for(ref, shelf_life)
        if isinstance(criterion, ReportOnlyCriterion):
            continue  # accepts nothing and rejects nothing
        for res, verdict in not_accepted(dossier, material, attribute, criterion, wanted):
            if verdict is False:
                out.append(OutOfSpec(res.lot_id, res, criterion, ref))
    return out


_CENSOR = {BELOW: "<", ABOVE: ">"}


def not_accepted(
    dossier: Dossier, material: str, attribute: str, criterion: Criterion,
    lot_ids: Iterable[str] | None = None,
) -> Iterable[tuple[LotResult, bool | None]]:
    """Results of an attribute (of the given lots, else all) that ``criterion.accepts`` does not
    accept: False (rejected) or None (cannot tell), in file order.

    Reads the lot table's columns directly and judges each distinct result once, so that a
    million rows cost no Python object per accepted row.
    """
    table = dossier.lots
    col = table.columns.get((material, attribute)) if table is not None else None
    if table is None or col is None:
        return
    wanted = None if lot_ids is None else lot_indices(dossier, lot_ids)
    memo: dict[tuple[int, float, int], bool | None] = {}
    lots, values, censors, words = col.lot, col.value, col.censor, col.word
    candidates = dossier.cache.setdefault("candidate_rows", {})
    rows = candidates.get((material, attribute, criterion))
    if rows is None:  # the same column and criterion are judged by several rules
        rows = candidates[(material, attribute, criterion)] = _candidate_rows(col, criterion)
    for k in rows:
        if wanted is not None and lots[k] not in wanted:
            continue
        c = censors[k]
        key = (c, 0.0, words[k]) if c == WORD else (c, values[k], -1)
        if key in memo:
            verdict = memo[key]
        else:
            verdict = memo[key] = criterion.accepts(_result(key))
        if verdict is True:
            continue
        m = col.method[k]
        yield (LotResult(table.lot_ids[lots[k]], _result(key), table.files[col.file[k]], col.line[k],
                         table.methods[m] if m >= 0 else None), verdict)  # type: ignore[misc]


_NONZERO = re.compile(rb"[^\x00]")


def _candidate_rows(col: AttributeColumn, criterion: Criterion) -> Iterable[int]:
    """Rows that the criterion might not accept, in order: a superset, found without a Python
    step per accepted row where the criterion is a numeric range.

    Plain numbers strictly inside the range are accepted whatever the bounds' inclusiveness, so
    only numbers at or beyond a bound, and every censored result or word, need judging.
    """
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
        outside = list(compress(rows, beyond)) if beyond is not None else []
    if not flagged:
        return outside
    return sorted(set(outside).union(flagged))


def _qualitative_candidates(col: AttributeColumn, criterion: QualitativeCriterion) -> Iterable[int]:
    """Rows whose result is not a word the criterion passes (numbers, other words), found in the
    word column's bytes; an all-passing column costs no Python step per row."""
    passing = QUALITATIVE.get(criterion.expected, (frozenset({criterion.expected}), frozenset()))[0]
    codes = bytes(sorted(_WORD_CODE[w] for w in passing if w in _WORD_CODE))
    words = col.word.tobytes()  # -1 (0xff) for rows that hold no word
    if codes and not words.translate(None, codes):
        return []
    other = re.compile(b"[^" + re.escape(codes) + b"]", re.DOTALL) if codes else re.compile(b".", re.DOTALL)
    return [m.start() for m in other.finditer(words)]


_WORD_CODE = {w: i for i, w in enumerate(WORDS)}


def lot_indices(dossier: Dossier, lot_ids: Iterable[str]) -> frozenset[int]:
    """The lot table's row indices of the given lot ids (cached for the last few id sets)."""
    table = dossier.lots
    if table is None:
        return frozenset()
    ids = lot_ids if isinstance(lot_ids, frozenset) else frozenset(lot_ids)
    cache = dossier.cache.setdefault("lot_indices", {})
    found = cache.get(ids)
    if found is None:
        known = set(map(table.index.get, ids))  # a C loop; ids not in the table give None
        known.discard(None)
        found = frozenset(known)
        if len(cache) >= 8:
            cache.clear()
        cache[ids] = found
    return found  # type: ignore[no-any-return]


def lots_with_results(dossier: Dossier, material: str, attribute: str) -> frozenset[int]:
    """The lot table's indices of the lots with at least one result row for (material, attribute),
    counting rows left out for their unit (SPEC-013 reports those); built once per column and cached."""
    table = dossier.lots
    if table is None:
        return frozenset()
    cache = dossier.cache.setdefault("lots_with_results", {})
    found = cache.get((material, attribute))
    if found is None:
        col = table.columns.get((material, attribute))
        found = frozenset(col.lot) if col is not None else frozenset()
        excluded = {table.index[lot] for ex in dossier.unit_exclusions  # in a unit SPEC-013 reports
                    if ex.source == "lots" and (ex.material, ex.attribute) == (material, attribute)
                    for _, _, lot in ex.rows}
        found = cache[(material, attribute)] = found | excluded
    return found  # type: ignore[no-any-return]


def _result(key: tuple[int, float, int]) -> Result:
    c, value, word = key
    if c == WORD:
        return Result(word=WORDS[word])
    return Result(value=value, censor=_CENSOR.get(c, ""))


class StabilityJudgement(NamedTuple):
    """A stability result against its specification: accepted True/False/None (cannot tell)."""

    point: StabilityPoint
    criterion: Criterion
    accepted: bool | None


def judge_stability(dossier: Dossier, points: Iterable[StabilityPoint]) -> list[StabilityJudgement]:
    """Stability points with a specification test, judged by the shelf-life criterion
    (else the release criterion); points whose (material, attribute) has no test, or whose unit
    cannot be converted to the test's, are left out."""
    index = spec_index(dossier)
    unconvertible = {(f, line) for ex in dossier.unit_exclusions if ex.source == "stability"
                     for f, line, _ in ex.rows}  # reported by SPEC-013, never judged
    out = []
    for point in points:
        ref = index.get((point.material, point.attribute))
        if ref is None or (point.file, point.line) in unconvertible:
            continue
        criterion = criterion_for(ref, shelf_life=True)
        out.append(StabilityJudgement(point, criterion, criterion.accepts(point.result)))
    return out


class ProcessRef(NamedTuple):
    """The commercial process version and how it was determined (None: no version known)."""

    version: str | None
    basis: str


def commercial_process(dossier: Dossier) -> ProcessRef:
    """The intended commercial process: dossier.yaml ``commercial_process``, else the
    process_version of the PPQ lots (the latest-made one if they differ), else the
    process_version of the latest-made lot in lots.csv."""
    cached = dossier.cache.get("commercial_process")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    ref = ProcessRef(None, "no process_version in lots.csv and no commercial_process in dossier.yaml")
    if dossier.info.commercial_process:
        ref = ProcessRef(dossier.info.commercial_process, "commercial_process in dossier.yaml")
    elif dossier.lots is not None:
        versioned = [lot for lot in dossier.lots.lots() if lot.process_version]
        ppq = [lot for lot in versioned if lot.use == "ppq"]
        pool, basis = (ppq, "process_version of the PPQ lots") if ppq else (
            versioned, "process_version of the latest-made lot")
        if pool:
            latest = max(pool, key=lambda lot: (lot.manufacture_date or "", lot.process_version or ""))
            ref = ProcessRef(latest.process_version, basis)
    dossier.cache["commercial_process"] = ref
    return ref


def is_numeric(criterion: Criterion) -> bool:
    return isinstance(criterion, NumericCriterion)
