"""Derived views of one loaded dossier, built on first use and shared by the rules and the report.

A :class:`DossierViews` is made once per evaluation (``api.build_report``; one for every
milestone of a plan) and handed to rules as ``ctx.views``. Each view is a typed attribute
(``functools.cached_property``) or, where it depends on an argument, a method with its own
memo; the loaded :class:`~cmcflex.dossier.loader.Dossier` itself is never written to.

The specification index, which rules and the report's charts share, is built here. The other
views are computed by the rule code that owns their meaning (criterion logic and release
versions in ``rules.common``, lot summaries in ``rules.lotstats``, the PPQ digest in
``rules.ppq``); those modules are imported on first use, so importing this module loads no rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from typing import TYPE_CHECKING, NamedTuple

from cmcflex.dossier.criteria import Criterion
from cmcflex.dossier.ids import IdIndex
from cmcflex.dossier.loader import Dossier, Location
from cmcflex.dossier.models import Specification, SpecTest
from cmcflex.phases import Phase

if TYPE_CHECKING:
    from cmcflex.dossier.lots import Lot
    from cmcflex.dossier.models import Change
    from cmcflex.rules.base import Severity
    from cmcflex.rules.common import LotRelease, OutOfSpec, ProcessRef
    from cmcflex.rules.comparability import StudyLots
    from cmcflex.rules.lotstats import SpecLots
    from cmcflex.rules.ppq import PPQSummary


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


def build_spec_index(dossier: Dossier) -> dict[tuple[str, str], SpecRef]:
    """(material, attribute) → the specification test, the first where one is written twice."""
    out: dict[tuple[str, str], SpecRef] = {}
    for i, j, spec, test in dossier.spec_tests():
        out.setdefault((spec.material, test.attribute), SpecRef(spec, test, dossier.where(
            "specifications.yaml", "specifications", i, "tests", j)))
    return out


_MAX_LOT_SETS = 8  # lot-id sets whose table indices are kept (rules ask for the same few)


class DossierViews:
    """The views of ``dossier`` that several rules (and the report) read."""

    def __init__(self, dossier: Dossier) -> None:
        self.dossier = dossier
        self._lot_indices: dict[frozenset[str], frozenset[int]] = {}
        self._lot_indices_of: dict[int, tuple[frozenset[str], frozenset[int]]] = {}  # by id()
        self._lots_with_results: dict[tuple[str, str], frozenset[int]] = {}
        self._lot_sets: dict[frozenset[int], frozenset[int]] = {}  # each distinct one, once
        self._candidate_rows: dict[tuple[str, str, Criterion], Iterable[int]] = {}
        self._release_versions: dict[Phase, dict[str, LotRelease]] = {}
        self._study_lots: dict[tuple[object, ...], StudyLots] = {}
        self.severities_today: dict[tuple[object, ...], dict[str, Severity]] = {}
        """For --target: each gap's severity at the current phase, by evaluation settings
        (see ``api._today``); kept here so that every milestone of a plan runs it once."""

    # ------------------------------------------------------------ specifications

    @cached_property
    def spec_index(self) -> dict[tuple[str, str], SpecRef]:
        """(material, attribute) → the specification test (the first where one is written twice)."""
        return build_spec_index(self.dossier)

    def release_versions(self, current: Phase) -> dict[str, LotRelease]:
        """Lots judged against a specification version other than the current one, by lot id."""
        found = self._release_versions.get(current)
        if found is None:
            from cmcflex.rules.common import build_release_versions

            found = self._release_versions[current] = build_release_versions(self.dossier, current)
        return found

    # ------------------------------------------------------------ lots

    @cached_property
    def released_ids(self) -> frozenset[str]:
        """Ids of the released lots (a clinical lot with no disposition counts as released)."""
        from cmcflex.rules.lotstats import build_released

        ids, indices = build_released(self.dossier)
        self._lot_indices_of[id(ids)] = (ids, indices)  # found with the ids: no look-up per lot later
        return ids

    @cached_property
    def assumed_released(self) -> tuple[str, ...]:
        """Patient lots with no disposition in lots.csv: counted as released."""
        from cmcflex.rules.lotstats import build_assumed_released

        return build_assumed_released(self.dossier)

    @cached_property
    def lots_by_test(self) -> dict[tuple[str, str], SpecLots]:
        """(material, attribute) → its lots, for every specification test."""
        from cmcflex.rules.lotstats import build_lots_by_test

        return build_lots_by_test(self)

    @cached_property
    def lot_id_index(self) -> IdIndex:
        """The lots.csv lot ids, for suggesting what an unresolved reference meant."""
        return IdIndex(self.dossier.lots.lot_ids if self.dossier.lots is not None else ())

    def lot_indices(self, lot_ids: Iterable[str]) -> frozenset[int]:
        """The lot table's indices of the given lot ids (ids not in the table are left out)."""
        table = self.dossier.lots
        if table is None:
            return frozenset()
        same = self._lot_indices_of.get(id(lot_ids))  # the very set asked for before: no comparison
        if same is not None and same[0] is lot_ids:
            return same[1]
        ids = lot_ids if isinstance(lot_ids, frozenset) else frozenset(lot_ids)
        found = self._lot_indices.get(ids)
        if found is None:
            found = table.indices_of(ids)
            if len(self._lot_indices) >= _MAX_LOT_SETS:
                self._lot_indices.clear()
                self._lot_indices_of.clear()
            self._lot_indices[ids] = found
        if ids is lot_ids:  # kept alive by the cache, so its id stays its own
            self._lot_indices_of[id(ids)] = (ids, found)
        return found

    def lots_with_results(self, material: str, attribute: str) -> frozenset[int]:
        """The lot table's indices of the lots with at least one result row for (material,
        attribute), counting rows left out for their unit (SPEC-013 reports those)."""
        key = (material, attribute)
        found = self._lots_with_results.get(key)
        if found is None:
            from cmcflex.rules.common import build_lots_with_results

            found = build_lots_with_results(self.dossier, material, attribute)
            # tests that every lot has share one set: a set of many lots costs ~60 bytes a lot
            found = self._lots_with_results[key] = self._lot_sets.setdefault(found, found)
        return found

    def candidate_rows(self, material: str, attribute: str, criterion: Criterion) -> Iterable[int]:
        """Rows of a test's column that ``criterion`` might not accept (a superset, in order);
        the same column and criterion are judged by several rules."""
        key = (material, attribute, criterion)
        rows = self._candidate_rows.get(key)
        if rows is None:
            table = self.dossier.lots
            rows = self._candidate_rows[key] = (
                table.candidate_rows(material, attribute, criterion) if table is not None else ())
        return rows

    @cached_property
    def commercial_process(self) -> ProcessRef:
        """The intended commercial process version and how it was determined."""
        from cmcflex.rules.common import build_commercial_process

        return build_commercial_process(self.dossier)

    def study_lots(self, change: Change) -> StudyLots:
        """A change's comparability study lots (listed, else by process version; post-change lots a
        study has none of yet are not inferred)."""
        from cmcflex.rules.comparability import build_study_lots, no_post_lots_yet

        study = change.comparability
        key = (change.id, change.from_version, change.to_version,
               tuple(study.pre_lots) if study else (), tuple(study.post_lots) if study else (),
               no_post_lots_yet(change))
        found = self._study_lots.get(key)
        if found is None:
            found = self._study_lots[key] = build_study_lots(self.dossier, change)
        return found

    # ------------------------------------------------------------ PPQ

    @cached_property
    def ppq_lots(self) -> list[Lot]:
        """The executed PPQ lots (``use: ppq``), in file order."""
        from cmcflex.rules.ppq import PPQ_USE

        return [] if self.dossier.lots is None else self.dossier.lots.lots_where(use=PPQ_USE)

    @cached_property
    def ppq_lot_failures(self) -> dict[str, list[OutOfSpec]]:
        """Out-of-specification results of the PPQ lots, by lot id. Before approval, against today's
        (proposed) specification: PPQ shows the process meets the specification of the BLA. After
        approval, against the version in force at each lot's release where it is recorded: a limit
        tightened from commercial experience does not fail the PPQ it followed."""
        from cmcflex.rules.common import fails_its_release_version, out_of_spec

        licensed = self.dossier.info.phase is Phase.POST_APPROVAL
        versions = self.release_versions(self.dossier.info.phase) if licensed else {}
        out: dict[str, list[OutOfSpec]] = {}
        for oos in out_of_spec(self, [lot.id for lot in self.ppq_lots]):
            if not licensed or fails_its_release_version(oos, versions.get(oos.lot_id)):
                out.setdefault(oos.lot_id, []).append(oos)
        return out

    @cached_property
    def ppq_missing_results(self) -> dict[str, list[str]]:
        """Specification tests each PPQ lot has no result for, by lot id (lots missing none absent)."""
        from cmcflex.rules.ppq import build_missing_results

        return build_missing_results(self)

    @cached_property
    def ppq_summary(self) -> PPQSummary | None:
        """The PPQ protocol at a glance, for the report; None when the dossier has no PPQ at all."""
        from cmcflex.rules.ppq import summarize

        return summarize(self)
