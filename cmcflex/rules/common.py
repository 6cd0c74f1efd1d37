"""Views of a dossier that several rules share, computed once per dossier.

The specification index and the out-of-specification check live here so that SPEC, PPQ and
STAB rules judge lot results by the one criterion logic.
"""

from __future__ import annotations

from typing import Iterable, NamedTuple

from cmcflex.dossier.criteria import Criterion, NumericCriterion
from cmcflex.dossier.loader import Dossier, Location
from cmcflex.dossier.lots import LotResult, StabilityPoint
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
        for res in dossier.lots.results(material, attribute, wanted):
            if criterion.accepts(res.result) is False:
                out.append(OutOfSpec(res.lot_id, res, criterion, ref))
    return out


class StabilityJudgement(NamedTuple):
    """A stability result against its specification: accepted True/False/None (cannot tell)."""

    point: StabilityPoint
    criterion: Criterion
    accepted: bool | None


def judge_stability(dossier: Dossier, points: Iterable[StabilityPoint]) -> list[StabilityJudgement]:
    """Stability points with a specification test, judged by the shelf-life criterion
    (else the release criterion); points whose (material, attribute) has no test are left out."""
    index = spec_index(dossier)
    out = []
    for point in points:
        ref = index.get((point.material, point.attribute))
        if ref is None:
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
