"""Views of a dossier that several rules share, computed once per dossier.

The specification index and the out-of-specification check live here so that SPEC, PPQ and
STAB rules judge lot results by the one criterion logic.
"""

from __future__ import annotations

from typing import Iterable, NamedTuple

from cmcflex.dossier.criteria import Criterion, NumericCriterion
from cmcflex.dossier.loader import Dossier, Location
from cmcflex.dossier.lots import LotResult
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


class OutOfSpec(NamedTuple):
    lot_id: str
    result: LotResult
    criterion: Criterion


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
        criterion = ref.test.criterion
        if shelf_life and ref.test.shelf_life_criterion is not None:
            criterion = ref.test.shelf_life_criterion
        for res in dossier.lots.results(material, attribute, wanted):
            if criterion.accepts(res.result) is False:
                out.append(OutOfSpec(res.lot_id, res, criterion))
    return out


def is_numeric(criterion: Criterion) -> bool:
    return isinstance(criterion, NumericCriterion)
