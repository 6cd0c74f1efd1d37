"""What several rules share: the specification index, criterion logic and lot references.

The derived views built here (``build_*``) are read through :class:`cmcflex.views.DossierViews`
(``ctx.views``), which builds each once per evaluation.

The specification index and the out-of-specification check live here so that SPEC, PPQ and
STAB rules judge lot results by the one criterion logic.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

from cmcflex.dossier.criteria import Criterion, NumericCriterion, ReportOnlyCriterion
from cmcflex.dossier.ids import describe_miss
from cmcflex.dossier.loader import Dossier
from cmcflex.dossier.lots import LotResult, StabilityPoint
from cmcflex.dossier.models import PreviousVersion, Specification
from cmcflex.dossier.spec_units import test_unit
from cmcflex.dossier.units import factor, normalise
from cmcflex.phases import Phase
from cmcflex.views import SpecRef, material_of, test_record  # noqa: F401 (re-exported)
from cmcflex.vocabulary import LotUse, StartingMaterial

if TYPE_CHECKING:
    from cmcflex.views import DossierViews


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
    views: DossierViews, lot_ids: Iterable[str] | None = None, shelf_life: bool = False
) -> list[OutOfSpec]:
    """Lot results (of the given lots, else all) that their specification criterion rejects.

    Results the criterion cannot judge (a word against a range, a censored value straddling a
    limit, report-only criteria) are not counted as failures.
    """
    if views.dossier.lots is None:
        return []
    wanted = None if lot_ids is None else frozenset(lot_ids)
    out = []
    for (material, attribute), ref in views.spec_index.items():
        criterion = criterion_for(ref, shelf_life)
        if isinstance(criterion, ReportOnlyCriterion):
            continue  # accepts nothing and rejects nothing
        for res, verdict in not_accepted(views, material, attribute, criterion, wanted):
            if verdict is False:
                out.append(OutOfSpec(res.lot_id, res, criterion, ref))
    return out


def not_accepted(
    views: DossierViews, material: str, attribute: str, criterion: Criterion,
    lot_ids: Iterable[str] | None = None,
) -> Iterable[tuple[LotResult, bool | None]]:
    """Results of an attribute (of the given lots, else all) that ``criterion.accepts`` does not
    accept: False (rejected) or None (cannot tell), in file order.

    Each distinct result is judged once, and only rows the criterion might not accept are read.
    Only results of the specification test count (:func:`of_the_tests_method`).
    """
    table = views.dossier.lots
    if table is None:
        return
    wanted = None if lot_ids is None else views.lot_indices(lot_ids)
    judged = table.judge(material, attribute, criterion, views.candidate_rows(material, attribute, criterion),
                         wanted)
    yield from of_the_tests_method(views, material, attribute, judged)


def of_the_tests_method(
    views: DossierViews, material: str, attribute: str, judged: Iterable[tuple[LotResult, bool | None]]
) -> Iterable[tuple[LotResult, bool | None]]:
    """The judged results that are results of the specification test: where a lot has rows by the
    test's ``method``, its rows by another method (or by none named) are another test's results and
    are left out, as the lot statistics leave them out (:meth:`LotTable.distinct_rows`)."""
    table = views.dossier.lots
    ref = views.spec_index.get((material, attribute))
    method = ref.test.method if ref is not None else None
    if table is None or not method or method not in table.methods:
        yield from judged  # no row names the test's method: every row is the lots' result
        return
    found = list(judged)
    suspects = frozenset(table.index[r.lot_id] for r, _ in found if r.method != method)
    measured = lots_measured_by(views, material, attribute, method, suspects) if suspects else frozenset()
    yield from ((r, v) for r, v in found if r.method == method or table.index[r.lot_id] not in measured)


def lots_measured_by(views: DossierViews, material: str, attribute: str, method: str,
                     lots: frozenset[int]) -> frozenset[int]:
    """Of the lot indices ``lots``, those with a result row for the test by ``method``: the lots
    whose rows :meth:`LotTable.distinct_rows` narrows to that method's."""
    table = views.dossier.lots
    if table is None:
        return frozenset()
    rows = table.distinct_rows(material, attribute, lots, method)
    return frozenset(table.index[r.lot_id] for r in (table.result_at(material, attribute, k) for k in rows)
                     if r.method == method)


def unresolved_lots(views: DossierViews, lot_ids: Iterable[str]) -> dict[str, str | None]:
    """The given lot ids that lots.csv does not hold, in order, each with the closest lot id there
    (matched ignoring case, spaces and invisible characters first); empty without lots.csv."""
    table = views.dossier.lots
    if table is None:
        return {}
    missing = [x for x in dict.fromkeys(lot_ids) if x not in table.index]
    return views.lot_id_index.suggest(missing) if missing else {}


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


def build_lots_with_results(dossier: Dossier, material: str, attribute: str) -> frozenset[int]:
    """The lot table's indices of the lots with at least one result row for (material, attribute),
    counting rows left out for their unit (SPEC-013 reports those); read through
    ``ctx.views.lots_with_results``."""
    table = dossier.lots
    if table is None:
        return frozenset()
    found = table.lots_with_results(material, attribute)
    excluded = {table.index[lot] for ex in dossier.unit_exclusions  # in a unit SPEC-013 reports
                if ex.source == "lots" and (ex.material, ex.attribute) == (material, attribute)
                for _, _, lot in ex.rows}
    return found | excluded if excluded else found


class StabilityJudgement(NamedTuple):
    """A stability result against its specification: accepted True/False/None (cannot tell)."""

    point: StabilityPoint
    criterion: Criterion
    accepted: bool | None


def judge_stability(views: DossierViews, points: Iterable[StabilityPoint]) -> list[StabilityJudgement]:
    """Stability points with a specification test, judged by the shelf-life criterion
    (else the release criterion); points whose (material, attribute) has no test, whose unit
    cannot be converted to the test's, or that name another method than the test's
    (:func:`by_another_method`) are left out."""
    index = views.spec_index
    unconvertible = {(f, line) for ex in views.dossier.unit_exclusions if ex.source == "stability"
                     for f, line, _ in ex.rows}  # reported by SPEC-013, never judged
    out = []
    for point in points:
        ref = index.get((point.material, point.attribute))
        if ref is None or (point.file, point.line) in unconvertible or by_another_method(views, point):
            continue
        criterion = criterion_for(ref, shelf_life=True)
        out.append(StabilityJudgement(point, criterion, criterion.accepts(point.result)))
    return out


def by_another_method(views: DossierViews, point: StabilityPoint) -> str | None:
    """The specification test's method when ``point`` names a different one (a result of a replaced
    assay, not of the test); None when the point or the test names none, or they agree."""
    ref = views.spec_index.get((point.material, point.attribute))
    method = ref.test.method if ref is not None else None
    return method if point.method and method and point.method != method else None


class ProcessRef(NamedTuple):
    """The commercial process version and how it was determined (None: no version known)."""

    version: str | None
    basis: str


def build_commercial_process(dossier: Dossier) -> ProcessRef:
    """The intended commercial process: dossier.yaml ``commercial_process``, else the
    process_version of the PPQ lots (the latest-made one if they differ), else the
    process_version of the latest-made lot in lots.csv (read through ``ctx.views.commercial_process``)."""
    ref = ProcessRef(None, f"no process_version in {dossier.lots_file} and no commercial_process in dossier.yaml")
    if dossier.info.commercial_process:
        ref = ProcessRef(dossier.info.commercial_process, "commercial_process in dossier.yaml")
    elif dossier.lots is not None:
        versioned = [lot for lot in dossier.lots.lots() if lot.process_version]
        ppq = [lot for lot in versioned if lot.use == LotUse.PPQ]
        pool, basis = (ppq, "process_version of the PPQ lots") if ppq else (
            versioned, "process_version of the latest-made lot")
        if pool:
            latest = max(pool, key=lambda lot: (lot.manufacture_date or "", lot.process_version or ""))
            ref = ProcessRef(latest.process_version, basis)
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


def fails_its_release_version(oos: OutOfSpec, release: LotRelease | None) -> bool:
    """Whether a result today's criterion rejects also fails the version its lot was released under:
    True unless that version is recorded and its criterion accepts the result, does not judge it, or
    the test was not in it."""
    if release is None or not release.spec.known or release.spec.version is None or oos.ref is None:
        return True
    then = release.spec.criterion(oos.ref)
    if isinstance(then, (str, ReportOnlyCriterion)):
        return False
    if isinstance(then, NumericCriterion) and then.unit and then.unit != test_unit(oos.ref.test):
        return True  # a limit in another unit (a changed method): today's judgement stands
    return then.accepts(oos.result.result) is False


def release_limit(release: LotRelease | None, ref: SpecRef | None, unit: str) -> tuple[str, NumericCriterion, float] | None:
    """For a lot result written in ``unit`` that today's test cannot take: the known previous
    version its lot was released under, that version's limit, and the factor into the limit's
    unit, when the limit is written in a unit ``unit`` converts to (a method whose unit changed);
    else None."""
    if release is None or ref is None or not release.spec.known or release.spec.version is None:
        return None
    limit = release.spec.criterion(ref)
    if not isinstance(limit, NumericCriterion) or not limit.unit:
        return None
    f = factor(unit, limit.unit)
    return None if f is None else (release.spec.version, limit, f)


_CLINICAL = {"phase_1": Phase.PHASE_1, "phase_2": Phase.PHASE_2, "phase_3": Phase.PHASE_3}


def build_release_versions(dossier: Dossier, current: Phase) -> dict[str, LotRelease]:
    """Lots judged against a version other than the current specification, by lot id (read
    through ``ctx.views.release_versions``).

    In order: the lot's ``spec_version`` (lots.csv); else, when the current version states
    ``effective_from``, the version in force on the lot's ``manufacture_date`` (unknown when the
    lot predates every recorded version); else the previous version whose ``uses`` name the lot's
    use; else a clinical lot of a phase before ``current`` has an unknown version (today's
    specification may postdate its release). Every other lot is judged against the current version.
    """
    out: dict[str, LotRelease] = {}
    table, specs = dossier.lots, dossier.specifications
    if table is not None and specs is not None:
        by_material: dict[str, Specification] = {}
        for each in specs.specifications:
            by_material.setdefault(each.material, each)
        materials, uses, dates, recorded_versions = (table.lot_column(name) for name in
                                                     ("material", "use", "manufacture_date", "spec_version"))
        rows: Iterable[int] = range(len(table))
        if not any(recorded_versions) and not any(m.effective_from or m.previous_versions
                                                  for m in by_material.values()):
            earlier = {use for use, phase in _CLINICAL.items() if phase < current}  # the only rule left
            rows = table.lots_in("use", earlier)
        for i in rows:
            lot_id, material, use, made, recorded = (table.lot_ids[i], materials[i], uses[i], dates[i],
                                                     recorded_versions[i])
            spec = by_material.get(material or "")
            if spec is None:
                continue
            found = _release_version(spec, use, made, recorded, current, dossier.lots_file)
            if found is not None:
                out[lot_id] = found
    return out


def _release_version(spec: Specification, use: str | None, made: str | None, recorded: str | None,
                     current: Phase, lots_file: str) -> LotRelease | None:
    """A lot's version when it is not the current one (None: the current one); ``lots_file`` names
    the lot data in the reasons."""
    if recorded is not None:
        if recorded == spec.version:
            return None
        old = next((p for p in spec.previous_versions if p.version == recorded), None)
        return None if old is None else LotRelease(_previous(spec, old), f"its spec_version in {lots_file}")
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
                          f"it is a {use} lot, and neither a spec_version in {lots_file} nor effective dates in "
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


def days_since_made(dossier: Dossier, lot_id: str, as_of: dt.date) -> int | None:
    """Days from a lot's manufacture date to ``as_of``; None where the date is not recorded."""
    lot = dossier.lots.lot(lot_id) if dossier.lots is not None else None
    made = _date(lot.manufacture_date) if lot is not None else None
    return None if made is None else (as_of - made).days


def per_body_weight(ref: SpecRef) -> bool:
    """A test whose results are per kilogram of the patient (a dose in cells/kg): a lot made from a
    healthy donor, with no patient behind it, has no such result to record."""
    unit = test_unit(ref.test)
    return unit is not None and normalise(unit).replace(" ", "").lower().endswith("/kg")


def expected_of(lot_starting_material: str | None, ref: SpecRef) -> bool:
    """Whether a lot of this starting material is expected to have a result for the test: every
    test, except a per-kilogram one for a healthy-donor lot (no patient weight to dose by)."""
    return not (lot_starting_material == StartingMaterial.HEALTHY_DONOR and per_body_weight(ref))
