"""Views of a dossier that several rules share, computed once per dossier.

The specification index and the out-of-specification check live here so that SPEC, PPQ and
STAB rules judge lot results by the one criterion logic.
"""

from __future__ import annotations

import datetime as dt
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
from cmcflex.dossier.ids import IdIndex, describe_miss
from cmcflex.dossier.loader import Dossier, Location
from cmcflex.dossier.lots import ABOVE, BELOW, WORD, WORDS, AttributeColumn, LotResult, StabilityPoint
from cmcflex.dossier.models import PreviousVersion, Specification, SpecTest
from cmcflex.phases import Phase


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


def material_of(record: str | None) -> str | None:
    """The material of a specification test's record (:func:`test_record`); None for another record."""
    if record is None or not record.startswith("test ") or "/" not in record:
        return None
    return record[len("test "):].split("/", 1)[0]


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


def lot_id_index(dossier: Dossier) -> IdIndex:
    """The lots.csv lot ids, for suggesting what an unresolved reference meant; built once."""
    cached = dossier.cache.get("lot_id_index")
    if cached is None:
        cached = dossier.cache["lot_id_index"] = IdIndex(dossier.lots.lot_ids if dossier.lots is not None else ())
    return cached  # type: ignore[no-any-return]


def unresolved_lots(dossier: Dossier, lot_ids: Iterable[str]) -> dict[str, str | None]:
    """The given lot ids that lots.csv does not hold, in order, each with the closest lot id there
    (matched ignoring case, spaces and invisible characters first); empty without lots.csv."""
    table = dossier.lots
    if table is None:
        return {}
    missing = [x for x in dict.fromkeys(lot_ids) if x not in table.index]
    return lot_id_index(dossier).suggest(missing) if missing else {}


def misses_in_words(misses: dict[str, str | None]) -> str:
    """``'l-301' (closest: 'L-301', ...), 'X'``: unresolved lot ids with their suggestions."""
    shown = [describe_miss(ref, best) for ref, best in list(misses.items())[:10]]
    more = f" and {len(misses) - 10} more" if len(misses) > 10 else ""
    return ", ".join(shown) + more


class LotReference(NamedTuple):
    """Lot ids a YAML record names: the file, the key path of the list, the record and its role."""

    file: str
    path: tuple[str | int, ...]
    record: str
    what: str  # e.g. "The post_lots of change CHG-002's comparability study"
    ids: list[str]


def lot_references(dossier: Dossier) -> list[LotReference]:
    """Every list of lot ids in the YAML files (comparability pre/post lots, justification lots,
    donors' lots), in file order."""
    out: list[LotReference] = []
    if dossier.changes is not None:
        for i, change in enumerate(dossier.changes.changes):
            study = change.comparability
            for side in ("pre_lots", "post_lots"):
                ids = getattr(study, side) if study is not None else []
                if ids:
                    out.append(LotReference("changes.yaml", ("changes", i, "comparability", side),
                                            f"change {change.id}",
                                            f"The {side} of change {change.id}'s comparability study", list(ids)))
    for i, j, spec, test in dossier.spec_tests():
        ids = test.justification.lots if test.justification is not None and test.justification.lots else []
        if ids:
            out.append(LotReference("specifications.yaml",
                                    ("specifications", i, "tests", j, "justification", "lots"),
                                    test_record(spec.material, test.attribute),
                                    f"The justification of {spec.material}/{test.attribute}", list(ids)))
    if dossier.gmp is not None:
        for i, donor in enumerate(dossier.gmp.donors):
            if donor.lots:
                out.append(LotReference("gmp.yaml", ("donors", i, "lots"), f"donor {donor.id}",
                                        f"The lots of donor {donor.id}", list(donor.lots)))
    return out


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


# ---------------------------------------------------------------------------- specification versions

NOT_IN_VERSION = "not in version"  # a test the lot's specification version did not have


class SpecVersion(NamedTuple):
    """A specification version lots are judged against: its criteria where they differ from the
    current version's. ``known`` is False when the version in force at release is not recorded."""

    material: str
    version: str | None
    criteria: tuple[tuple[str, Criterion | None], ...] = ()
    known: bool = True

    def criterion(self, ref: SpecRef) -> Criterion | str:
        """The criterion of ``ref``'s test in this version, or NOT_IN_VERSION."""
        for attribute, criterion in self.criteria:
            if attribute == ref.test.attribute:
                return NOT_IN_VERSION if criterion is None else criterion
        return ref.test.criterion


class LotRelease(NamedTuple):
    """How a lot's specification version was found (``how``) and the version itself."""

    spec: SpecVersion
    how: str


_CLINICAL = {"phase_1": Phase.PHASE_1, "phase_2": Phase.PHASE_2, "phase_3": Phase.PHASE_3}


def release_versions(dossier: Dossier, current: Phase) -> dict[str, LotRelease]:
    """Lots judged against a version other than the current specification, by lot id (cached).

    In order: the lot's ``spec_version`` (lots.csv); else, when the current version states
    ``effective_from``, the version in force on the lot's ``manufacture_date`` (unknown when the
    lot predates every recorded version); else the previous version whose ``uses`` name the lot's
    use; else a clinical lot of a phase before ``current`` has an unknown version (today's
    specification may postdate its release). Every other lot is judged against the current version.
    """
    key = f"release_versions:{current.value}"
    cached = dossier.cache.get(key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    out: dict[str, LotRelease] = {}
    table, specs = dossier.lots, dossier.specifications
    if table is not None and specs is not None:
        by_material: dict[str, Specification] = {}
        for each in specs.specifications:
            by_material.setdefault(each.material, each)
        v = table.lot_values
        rows: Iterable[int] = range(len(table.lot_ids))
        if not any(v["spec_version"]) and not any(m.effective_from or m.previous_versions
                                                  for m in by_material.values()):
            earlier = {use for use, phase in _CLINICAL.items() if phase < current}  # the only rule left
            rows = list(compress(rows, map(earlier.__contains__, v["use"])))  # a C loop over the lots
        for i in rows:
            lot_id, material, use, made, recorded = (table.lot_ids[i], v["material"][i], v["use"][i],
                                                     v["manufacture_date"][i], v["spec_version"][i])
            spec = by_material.get(material or "")
            if spec is None:
                continue
            found = _release_version(spec, use, made, recorded, current)
            if found is not None:
                out[lot_id] = found
    dossier.cache[key] = out
    return out


def _release_version(spec: Specification, use: str | None, made: str | None, recorded: str | None,
                     current: Phase) -> LotRelease | None:
    """A lot's version when it is not the current one (None: the current one)."""
    if recorded is not None:
        if recorded == spec.version:
            return None
        old = next((p for p in spec.previous_versions if p.version == recorded), None)
        return None if old is None else LotRelease(_previous(spec, old), "its spec_version in lots.csv")
    date = _date(made)
    if spec.effective_from is not None and date is not None:
        dated = sorted([(p.effective_from, p) for p in spec.previous_versions if p.effective_from is not None],
                       key=lambda item: item[0])
        if date >= spec.effective_from:
            return None
        in_force = [p for since, p in dated if since <= date]
        if in_force:
            old = in_force[-1]
            return LotRelease(_previous(spec, old), f"in force on its manufacture date {date.isoformat()}")
        first = dated[0][1] if dated else None
        since = (first.version, first.effective_from) if first is not None else (spec.version, spec.effective_from)
        return LotRelease(SpecVersion(spec.material, spec.version, known=False),
                          f"it was made on {date.isoformat()}, before version {since[0]} took effect on "
                          f"{since[1].isoformat() if since[1] else '?'}, and specifications.yaml records no "
                          "earlier version")
    by_use = next((p for p in spec.previous_versions if use in p.uses), None)
    if by_use is not None:
        return LotRelease(_previous(spec, by_use), f"which applies to {use} lots")
    phase = _CLINICAL.get(use or "")
    if phase is not None and phase < current:
        return LotRelease(SpecVersion(spec.material, spec.version, known=False),
                          f"it is a {use} lot, and neither a spec_version in lots.csv nor effective dates in "
                          "specifications.yaml say which version was in force at its release")
    return None


def _previous(spec: Specification, old: PreviousVersion) -> SpecVersion:
    return SpecVersion(spec.material, old.version, tuple((t.attribute, t.criterion) for t in old.tests))


def _date(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return None
