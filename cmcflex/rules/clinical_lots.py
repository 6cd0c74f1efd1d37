"""Shelf life from representative clinical lots (point CS6 of the May 2026 CMC flexibilities guidance).

Clinical lots are lots made for patients or for PPQ (``use`` other than development or engineering):
an engineering run of an earlier process carries no shelf life.

Long-term data on lots of an earlier process version count toward the commercial shelf life when
(a) a change record concludes the earlier and the commercial processes comparable (a change in
changes.yaml from that ``from_version`` to the commercial ``to_version``, or a chain of such
changes, each with ``comparability.conclusion: comparable``, or a minor change assessed
proportionately, with its risk assessment and summary and no study, as the comparability rules
accept it; ``clinical_lot_stability.change`` may name it), (b) dossier.yaml records the
justification and (c) a post-approval stability commitment
(``clinical_lot_stability.justification``, ``.commitment``). STAB-002 and STAB-003 read
the outcome; the wording of what is missing lives here once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from cmcflex.dossier.loader import Dossier
from cmcflex.dossier.models import Change, Conclusion
from cmcflex.rules.comparability import proportionate
from cmcflex.vocabulary import LotUse

NOT_CLINICAL = frozenset({LotUse.DEVELOPMENT, LotUse.ENGINEERING})

FLEXIBILITY = ("the May 2026 CMC flexibilities guidance lets stability data from representative clinical "
               "lots support the shelf life")
JUSTIFICATION = "the justification (dossier.yaml clinical_lot_stability.justification)"
COMMITMENT = "a post-approval stability commitment (dossier.yaml clinical_lot_stability.commitment)"


class ClinicalLots(NamedTuple):
    """The earlier-process lots among some stability lots, and whether their data count."""

    earlier: dict[str, str]
    """Each lot of a known process version other than the commercial one, with its version."""
    counted: list[str]
    """The earlier-process lots whose data count: every condition is on record for their version."""
    changes: list[str]
    """The comparable changes that bridge the counted lots to the commercial process."""
    missing: list[str]
    """The conditions not on record, each naming the field that holds it."""
    refused: list[str]
    """Why the lots of a version do not count: its bridging change concludes otherwise."""

    @property
    def earlier_lots(self) -> list[str]:
        return sorted(self.earlier)

    def shortfall(self) -> str:
        """``they count toward the shelf life only with X and Y; change C concludes ...``."""
        parts = []
        if self.missing:
            parts.append(f"they count toward the shelf life only with {join(self.missing)}")
        parts += self.refused
        return "; ".join(parts)


class _Bridge(NamedTuple):
    changes: tuple[str, ...] = ()
    problem: str | None = None
    refused: str | None = None


def join(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


_SAID = {
    Conclusion.NOT_COMPARABLE: "concludes the processes not comparable",
    Conclusion.INCONCLUSIVE: "is inconclusive on whether the processes are comparable",
    Conclusion.PENDING: "has no comparability conclusion yet",
}


def _conclusion(change: Change) -> Conclusion | None:
    """The change's comparability conclusion; comparable for a minor change assessed proportionately
    (risk assessment and summary, no study), as CMP-002 accepts it."""
    if change.comparability is None:
        return Conclusion.COMPARABLE if proportionate(change) else None
    return change.comparability.conclusion


def _verdict(changes: list[Change], version: str, commercial: str) -> _Bridge:
    """A path of changes from ``version`` to ``commercial``: counted when each is comparable."""
    ids = tuple(c.id for c in changes)
    for c in changes:
        conclusion = _conclusion(c)
        if conclusion is None:
            return _Bridge(ids, problem=f"a comparability conclusion on change {c.id} (changes.yaml "
                                        "comparability.conclusion: comparable; it records no comparability study)")
        if conclusion is not Conclusion.COMPARABLE:
            return _Bridge(ids, refused=f"change {c.id} {_SAID[conclusion]} "
                                        f"(comparability.conclusion: {conclusion.value}), so lots of process "
                                        f"{version} do not count toward the shelf life of process {commercial}")
    return _Bridge(ids)


def _path(changes: list[Change], start: str, goal: str, usable: bool) -> list[Change] | None:
    """The shortest chain of changes (from_version -> to_version) from ``start`` to ``goal``; with
    ``usable`` only changes concluded comparable are followed."""
    frontier: list[tuple[str, list[Change]]] = [(start, [])]
    seen = {start}
    while frontier:
        following: list[tuple[str, list[Change]]] = []
        for version, path in frontier:
            for c in changes:
                if c.from_version != version or c.to_version is None or c.to_version in seen:
                    continue
                if usable and _conclusion(c) is not Conclusion.COMPARABLE:
                    continue
                if c.to_version == goal:
                    return [*path, c]
                seen.add(c.to_version)
                following.append((c.to_version, [*path, c]))
        frontier = following
    return None


def _bridge(d: Dossier, version: str, commercial: str) -> _Bridge:
    changes = list(d.changes.changes) if d.changes is not None else []
    named = d.info.clinical_lot_stability.change if d.info.clinical_lot_stability is not None else None
    if named is not None:
        change = next((c for c in changes if c.id == named), None)
        if change is None:
            where = "changes.yaml does not record it" if d.changes is not None else "there is no changes.yaml"
            return _Bridge(problem=f"the change that clinical_lot_stability.change names ({named}; {where})")
        if change.from_version in (None, version):
            if change.to_version not in (None, commercial):
                return _Bridge((change.id,), problem=(
                    f"a change leading to the commercial process {commercial} (clinical_lot_stability.change "
                    f"names {change.id}, which leads to process {change.to_version})"))
            return _verdict([change], version, commercial)
    path = _path(changes, version, commercial, usable=True) or _path(changes, version, commercial, usable=False)
    if path is None:
        return _Bridge(problem=(f"a change record concluding process {version} comparable to the commercial "
                                f"process {commercial} (changes.yaml: from_version {version}, to_version "
                                f"{commercial}, comparability.conclusion: comparable)"))
    return _verdict(path, version, commercial)


def clinical_lots(d: Dossier, commercial: str | None, lot_ids: Iterable[str]) -> ClinicalLots:
    """The earlier-process lots among ``lot_ids`` and whether their long-term data count."""
    earlier: dict[str, str] = {}
    if commercial is not None and d.lots is not None:
        for lot_id in sorted(set(lot_ids)):
            lot = d.lots.lot(lot_id)
            if (lot is not None and lot.process_version is not None and lot.process_version != commercial
                    and lot.use not in NOT_CLINICAL):  # an engineering run is no clinical lot (CS6)
                earlier[lot_id] = lot.process_version
    if not earlier or commercial is None:
        return ClinicalLots(earlier, [], [], [], [])
    record = d.info.clinical_lot_stability
    missing: list[str] = []
    refused: list[str] = []
    bridged: list[str] = []
    changes: list[str] = []
    for version in sorted(set(earlier.values())):
        bridge = _bridge(d, version, commercial)
        if bridge.problem is not None:
            missing.append(bridge.problem)
        elif bridge.refused is not None:
            refused.append(bridge.refused)
        else:
            bridged.append(version)
            changes += [c for c in bridge.changes if c not in changes]
    if record is None or not (record.justification or "").strip():
        missing.append(JUSTIFICATION)
    if record is None or not (record.commitment or "").strip():
        missing.append(COMMITMENT)
    conditions_met = JUSTIFICATION not in missing and COMMITMENT not in missing
    counted = [lot for lot, v in earlier.items() if v in bridged] if conditions_met else []
    return ClinicalLots(earlier, counted, changes if counted else [], list(dict.fromkeys(missing)), refused)
