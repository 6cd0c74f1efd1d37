"""SPEC-006 and SPEC-009: the lots against the criteria. Would the proposed criteria have rejected
released pivotal lots, and does every released lot meet its specification?

Readings of the catalogue made here:
- SPEC-009 reports every released lot (released or released under exception) that fails its
  specification, pivotal or not: a released out-of-specification lot needs an investigation
  unless its exception pathway and investigation are on record (then info).
  SPEC-006 asks a different question (would the proposed limit have rejected pivotal lots?), so
  a pivotal lot may appear in both.
- SPEC-009 judges each lot against the specification version it was released under
  (:func:`cmcflex.rules.common.release_versions`); an earlier clinical lot whose version is not
  recorded is compared with today's criteria at info, never called a failed release.
- When lots.csv gives no disposition for patient lots, they count as released; SPEC-009 says so
  once (a not-evaluated note) and SPEC-006/SPEC-009 findings that rest on such a lot say so too.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import operator
from collections.abc import Iterator
from typing import Any

from cmcflex.dossier.criteria import PENDING, NumericCriterion, QualitativeCriterion, ReportOnlyCriterion
from cmcflex.dossier.loader import Dossier, Location
from cmcflex.dossier.lots import Lot, LotResult, LotTable
from cmcflex.dossier.models import JustificationBasis, TestCategory
from cmcflex.dossier.spec_units import converted, test_unit
from cmcflex.dossier.vocabulary import category_of
from cmcflex.phases import Phase
from cmcflex.rules.base import MA, MI, Area, B, Context, Gap, I, NotEvaluated, Outcome, by_phase, rule
from cmcflex.rules.citations import CFR_211_165, CFR_211_192_REVIEW, FLEX_2026, PHASE_1_GUIDANCE, Q6B, section
from cmcflex.rules.common import (
    NOT_IN_VERSION,
    LotRelease,
    OutOfSpec,
    SpecRef,
    SpecVersion,
    days_since_made,
    expected_of,
    not_accepted,
    out_of_spec,
    release_limit,
)
from cmcflex.rules.lotstats import LotSet, SpecLots, assumed_released
from cmcflex.rules.specifications.records import FILE
from cmcflex.rules.specifications.wording import (
    _label,
    _listing,
    _lots_called,
    _range_words,
    _several_words,
    _unit,
    _value,
)
from cmcflex.views import DossierViews
from cmcflex.vocabulary import Disposition

# ---------------------------------------------------------------------------- SPEC-006


@rule(
    id="SPEC-006",
    slug="criteria-accept-clinical-lots",
    title="The proposed criteria would not have rejected released pivotal lots",
    area=Area.SPEC,
    severity=by_phase(None, None, MI, MA, MA),
    partial=by_phase(None, None, None, None, I),
    grading="After approval, a criterion revised from post-approval experience that only lots released "
            "under a recorded earlier version would fail is info (the revision route the 2026 "
            "flexibilities describe); otherwise the phase's grade. A safety test (sterility, mycoplasma, "
            "endotoxin, replication-competent virus) is not judged here: a pivotal lot failing it is a "
            "failed release, which SPEC-009 reports, not a criterion to widen.",
    cites=(section(Q6B, "3 and 4 (introduction)"), FLEX_2026),
    remedy="Set the limit so that every released pivotal lot meets it, or explain why the rejected "
    "lots' results are not representative (assay or process change, with data) and what the "
    "clinical outcome of those lots was.",
    why="A criterion that would have failed lots that patients received and that supported efficacy "
    "contradicts the clinical evidence it is meant to protect.",
    ctd=("3.2.S.4.4", "3.2.S.4.5", "3.2.P.5.4", "3.2.P.5.6"),
    flexibilities=("CS2",),
)
def criteria_accept_clinical_lots(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    if d.lots is None:
        yield NotEvaluated("lots.csv is missing, so no pivotal lot can be checked")
        return
    by_test = ctx.views.lots_by_test
    released = ctx.views.released_ids
    released_pivotal = {key: frozenset(sl.pivotal_ids) & released for key, sl in by_test.items()}
    # named lots set the statistics, but the lots patients received stay the pivotal ones: those not
    # named are checked as well (dossier-format.md, justification.lots)
    released_clinical = {key: (frozenset(sl.clinical_ids) - frozenset(sl.pivotal_ids)) & released
                         for key, sl in by_test.items() if sl.pivotal_named}
    wanted = frozenset().union(*released_pivotal.values(), *released_clinical.values())
    if not wanted:
        yield NotEvaluated(f"no released pivotal ({d.pivotal_use}) lots in {d.lots_file}")
        return
    rejected: dict[tuple[str, str], list] = {}
    rejected_clinical: dict[tuple[str, str], list] = {}
    for oos in out_of_spec(ctx.views, wanted):
        key = (oos.ref.spec.material, oos.ref.test.attribute) if oos.ref else None
        if key is None:
            continue
        if oos.lot_id in released_pivotal.get(key, ()):
            rejected.setdefault(key, []).append(oos)
        elif oos.lot_id in released_clinical.get(key, ()):
            rejected_clinical.setdefault(key, []).append(oos)
    for key in sorted(set(rejected) | set(rejected_clinical)):
        sl = by_test[key]
        test = sl.ref.test
        if category_of(test) is TestCategory.SAFETY:
            continue  # a pivotal lot failing sterility or RCA is a failed release (SPEC-009), never a limit to widen
        if key in rejected:
            yield _rejection(d, ctx, sl, rejected[key], released_pivotal[key], _lots_called(d, ctx.views, sl),
                             sl.pivotal)
        if key in rejected_clinical:
            yield _rejection(d, ctx, sl, rejected_clinical[key], released_clinical[key], "pivotal", sl.clinical)


PENDING_DAYS = 45  # a 14-day sterility or 28-day mycoplasma culture, its reading and its report


def _under_exception(d: Dossier, lot_id: str) -> bool:
    """A lot released under exception: the criterion in force rejected it too, which is why the
    exception was needed; what it asks for is the lot's clinical outcome, not a wider limit."""
    lot = d.lots.lot(lot_id) if d.lots is not None else None
    return lot is not None and lot.disposition == Disposition.RELEASED_UNDER_EXCEPTION


FIXED_LIMIT_REMEDY = ("A limit set on safety or by a compendial requirement is not widened for a lot that "
                      "failed it: investigate each rejected lot's release (SPEC-009), record the outcome for "
                      "its patients, and show why the limit stands.")
EXCEPTION_OUTCOME_REMEDY = ("Keep each lot's exception pathway and investigation on record (SPEC-009), and record "
                            "the clinical outcome of the patients who received the lots released under exception "
                            "and why the criterion stands, or revise it on that evidence.")


def _rejection(d: Dossier, ctx: Context, sl: SpecLots, fails: list[OutOfSpec], pool: frozenset[str], called: str,
               lots: LotSet) -> Gap:
    """SPEC-006's finding on the released lots of ``pool`` (called ``called``) the criterion rejects."""
    ref = sl.ref
    key = (ref.spec.material, ref.test.attribute)
    unit = _unit(ref)
    assumed = frozenset(ctx.views.assumed_released)
    n = sum(1 for lot_id in pool if _material_of(d, lot_id) == key[0])  # this material's
    shown = [f"{f.lot_id}: {_value(f.result.result, unit)}" for f in fails]
    message = (f"{_label(ref)} criterion '{ref.test.criterion.describe()}' would have rejected "
               f"{len(fails)} of {n} released {called} lots ({_listing(shown)})")
    data: dict[str, Any] = {"criterion": ref.test.criterion.describe(), "unit": unit,
                            "rejected": {f.lot_id: _value(f.result.result) for f in fails},
                            "pivotal": lots.summary(), "released": sl.released}
    summary = data["pivotal"]
    if summary.get("n", 0) >= 2:
        message += _range_words(summary, "named lots" if called == "named" else f"released {called} lots", unit)
    assumed_here = sorted(f.lot_id for f in fails if f.lot_id in assumed)
    if assumed_here:
        data["disposition_assumed"] = assumed_here
        message += f" ({assumed_released(d.lots_file)})"
    rejected_lots = {f.lot_id for f in fails}
    several = {lot: rs for lot, rs in lots.several.items() if lot in rejected_lots}
    retested = _several_words(several, unit)
    earlier = _released_under_earlier_versions(d, ctx, [f.lot_id for f in fails])
    if earlier:
        data["released_under"] = earlier
        return Gap(f"{message}; {'it was' if len(fails) == 1 else 'they were'} released under "
                   f"version {_listing(sorted(set(earlier.values())))}, and the criterion was revised "
                   f"after approval.{retested}", ref.at, record=ref.record, data=data, severity=I,
                   remedy="Keep the revision's justification (the post-approval lots it rests on) and "
                   "its reporting category on record (changes.yaml, kind: specification).")
    test = ref.test
    if test.justification is not None and {JustificationBasis.SAFETY, JustificationBasis.COMPENDIAL} & set(
            test.justification.basis):
        return Gap(message + "." + retested, ref.at, record=ref.record, data=data, remedy=FIXED_LIMIT_REMEDY)
    if all(_under_exception(d, f.lot_id) for f in fails):
        data["released_under_exception"] = sorted(rejected_lots)
        return Gap(f"{message}; {'it was' if len(fails) == 1 else 'they were'} released under exception."
                   + retested, ref.at, record=ref.record, data=data, remedy=EXCEPTION_OUTCOME_REMEDY)
    return Gap(message + "." + retested, ref.at, record=ref.record, data=data)


def _released_under_earlier_versions(d: Dossier, ctx: Context, lot_ids: list[str]) -> dict[str, str]:
    """After approval: each lot's recorded earlier specification version, when every one has one
    (empty otherwise). A tightening from post-approval experience then leaves them behind."""
    if ctx.phase is not Phase.POST_APPROVAL:
        return {}
    versions = ctx.views.release_versions(ctx.current)
    out: dict[str, str] = {}
    for lot_id in lot_ids:
        found = versions.get(lot_id)
        if found is None or not found.spec.known or found.spec.version is None:
            return {}
        out[lot_id] = found.spec.version
    return out


# ---------------------------------------------------------------------------- SPEC-009


UNRECORDED_REMEDY = (
    "Record the specification version the lot was released against ({lots} column spec_version) "
    "and that version's criteria under previous_versions in specifications.yaml (or effective_from "
    "dates on the versions), so the lot is judged against the specification in force at its release; "
    "if it did not meet that specification either, investigate (21 CFR 211.192) and record the "
    "exception pathway and investigation.")


EXCEPTION_REMEDY = (
    "Record how the lot was released outside its specification and what the investigation found: the "
    "{lots} columns exception_pathway (e.g. expanded_access, physician_request, "
    "quality_unit_exceptional_release) and investigation (the investigation report id, 21 CFR 211.192).")


@rule(
    id="SPEC-009",
    slug="lots-meet-specification",
    title="Released lots meet the specification",
    area=Area.SPEC,
    severity=by_phase(MI, MA, MA, MA, MA),
    partial=by_phase(B, B, B, B, B),
    grading="A released lot that fails a safety test (sterility, mycoplasma, endotoxin, replication-"
            "competent virus), or lacks its result, is a blocker at every phase: a lot released without "
            "them puts every patient dosed at risk, as a safety test without a criterion does (SPEC-002). "
            "Otherwise a released lot judged against the specification version in force at its release takes "
            "the phase's grade; a lot released under a documented exception (pathway and investigation "
            "on record), or a clinical lot outside today's criteria whose release version is not recorded, "
            "is info (a failed safety test with a pass/fail criterion or a limit of absence excepted: it "
            "fails every version; and a lot of a product made for many patients, not autologous, that "
            "fails a safety test is a blocker whatever exception is documented).",
    cites=(CFR_211_165, CFR_211_192_REVIEW),
    remedy="Investigate each out-of-specification result of a released lot (21 CFR 211.192) and "
    "record its outcome; for a lot released under exception, cite the documented pathway (e.g. "
    "physician request under expanded access, quality-unit exceptional release) and the "
    "investigation report; add missing release results, or document why the lot was released "
    "without them (21 CFR 211.165(a)).",
    why="Releasing a lot that fails its specification is acceptable only through a documented "
    "exception; otherwise the specification is not controlling what patients receive.",
    ctd=("3.2.S.4.4", "3.2.P.5.4"),
)
def lots_meet_specification(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    if d.lots is None:
        yield NotEvaluated("lots.csv is missing")
        return
    if not ctx.views.spec_index:
        yield NotEvaluated(f"no specification tests in {FILE}")
        return
    released = ctx.views.released_ids
    if not released:
        yield NotEvaluated(f"no released lots in {d.lots_file}")
        return
    assumed = frozenset(ctx.views.assumed_released)
    if assumed:
        yield NotEvaluated(f"{assumed_released(d.lots_file)} ({len(assumed)} lot{'s' if len(assumed) != 1 else ''}: "
                           f"{_listing(sorted(assumed), 3)})")
    by_test = ctx.views.lots_by_test
    versions = ctx.views.release_versions(ctx.current)
    groups = _version_groups(versions, released)
    failures: dict[str, list[OutOfSpec]] = {}
    table = d.lots
    unjudged: list[str] = []
    pending: list[str] = []  # results recorded 'pending': released before them (a fresh product)
    overdue: list[tuple[LotResult, SpecRef, int]] = []  # ... and still pending long after they were due
    other_units: list[str] = []
    unshown: list[tuple[LotResult, SpecRef, NumericCriterion]] = []
    for (material, attribute), sl in sorted(by_test.items()):
        unit, read_in = _unit(sl.ref), test_unit(sl.ref.test)  # shown with results; results are read in
        for version, lot_ids in groups:
            criterion = version.criterion(sl.ref) if version is not None else sl.ref.test.criterion
            if version is not None and version.material != material:
                continue
            if isinstance(criterion, (str, ReportOnlyCriterion)):
                continue  # not in the lot's version, or report only
            if (version is not None and isinstance(criterion, NumericCriterion) and criterion.unit and read_in
                    and criterion.unit != read_in):
                # an earlier version's limit in a unit today's results cannot be converted to (a changed
                # method; convertible ones were converted on loading): comparing the numbers judges nothing
                lots = sorted(table.lot_ids[k] for k in
                              table.rows_of_lots(material, attribute, {table.index[i] for i in lot_ids}))
                if lots:
                    other_units.append(f"{_label(sl.ref)} of {_listing(lots, 3)} against version "
                                       f"{version.version}'s '{criterion.describe()}' (results in {read_in})")
                continue
            for res, verdict in not_accepted(ctx.views, material, attribute, criterion, lot_ids):  # one pass
                if verdict is None:
                    if res.result.word is None and res.result.censor and isinstance(criterion, NumericCriterion):
                        unshown.append((res, sl.ref, criterion))
                        continue
                    if res.result.word == PENDING:
                        overdue_days = days_since_made(d, res.lot_id, ctx.as_of)
                        if overdue_days is not None and overdue_days > PENDING_DAYS:
                            overdue.append((res, sl.ref, overdue_days))
                        else:
                            pending.append(f"{res.lot_id} {_label(sl.ref)}")
                        continue
                    unjudged.append(f"{res.lot_id} {_label(sl.ref)} '{_value(res.result, unit)}' against "
                                    f"'{criterion.describe()}'")
                    continue
                failures.setdefault(res.lot_id, []).append(OutOfSpec(res.lot_id, res, criterion, sl.ref))
    for res, limit, ref in _in_release_units(d, ctx.views, versions, released):
        verdict = limit.accepts(res.result)
        if verdict is False:
            failures.setdefault(res.lot_id, []).append(OutOfSpec(res.lot_id, res, limit, ref))
        elif verdict is None:
            unshown.append((res, ref, limit))
    exceptions = set(itertools.compress(table.lot_ids, map(operator.eq, table.lot_column("disposition"),
                                                           itertools.repeat(Disposition.RELEASED_UNDER_EXCEPTION))))
    rows = _failing_lots_rows(table, failures)
    for lot_id in sorted(exceptions | set(failures)):
        lot = table.lot(lot_id)
        assert lot is not None
        yield _lot_finding(d, lot, failures.get(lot_id, []), versions.get(lot_id), lot_id in assumed,
                           by_test, rows)._replace(material=lot.material)
    basis = _release_testing(ctx.phase)
    yield from _unshown_conformance(unshown, assumed, versions, d.lots_file, basis)
    yield from _missing_results(d, ctx.views, released, assumed, versions, basis, ctx.as_of)
    if other_units:
        yield NotEvaluated(f"released results cannot be judged against a previous version's limit written in a "
                           f"unit they cannot be converted to: {_listing(other_units, 3)}; record that version's "
                           f"limit in today's unit, or the lots' results in that version's unit")
    for res, ref, days in overdue:
        safety = category_of(ref.test) is TestCategory.SAFETY
        yield Gap(f"Released lot {res.lot_id} records its {_label(ref)} result as pending {days} days after it was "
                  f"made; a release result still pending after {PENDING_DAYS} days (longer than a 14-day sterility "
                  "or 28-day mycoplasma culture and its report) is overdue, and the lot is released without it.",
                  Location(res.file, res.line), record=f"lot {res.lot_id}", severity=B if safety else None,
                  remedy=f"Record the {_label(ref)} result of lot {res.lot_id}, or the investigation of why it "
                         "is missing, and the notification of the treating physician where it failed.",
                  data={"test": _label(ref), "pending_days": days}, material=ref.spec.material)
    if pending:
        many = len(pending) != 1
        yield NotEvaluated(f"{len(pending)} release result{'s' if many else ''} of released lots "
                           f"{'are' if many else 'is'} recorded as pending (a lot released before the "
                           f"result, as a fresh product is before its 14-day sterility): "
                           f"{_listing(sorted(pending), 3)}; record each result when it is available")
    if unjudged:
        many = len(unjudged) != 1
        yield NotEvaluated(f"{len(unjudged)} released result{'s' if many else ''} cannot be judged against "
                           f"{'their criteria' if many else 'its criterion'} (a result the criterion neither "
                           f"passes nor fails: a word against a numeric limit, a number against a word, or a "
                           f"word of another test): {_listing(unjudged, 3)}")


def _in_release_units(d: Dossier, views: DossierViews, versions: dict[str, LotRelease], released: frozenset[str]
                      ) -> Iterator[tuple[LotResult, NumericCriterion, SpecRef]]:
    """Released lots' results left out of today's column because they are written in the unit of
    the limit of the previous version their lot was released under (SPEC-013 notes them): each in
    that limit's unit, with the limit and its test."""
    for ex in d.unit_exclusions:
        if ex.source != "lots":
            continue
        ref = views.spec_index.get((ex.material, ex.attribute))
        for (file, line, lot_id), result in zip(ex.rows, ex.results, strict=True):
            found = release_limit(versions.get(lot_id), ref, ex.unit) if lot_id in released else None
            if found is None or ref is None or not math.isfinite(result.value):
                continue
            _version, limit, f = found
            yield (LotResult(lot_id, result._replace(value=converted(result.value, f)), file, line, None),
                   limit, ref)


def _version_groups(versions: dict[str, LotRelease], released: frozenset[str]
                    ) -> list[tuple[SpecVersion | None, frozenset[str]]]:
    """The released lots by the version they are judged against (None: the current version); a lot
    whose version is unknown is judged against the current criteria (its finding says so)."""
    if not versions:
        return [(None, released)]
    by_version: dict[SpecVersion, set[str]] = {}
    for lot_id, found in versions.items():
        if lot_id in released:
            by_version.setdefault(found.spec, set()).add(lot_id)
    ordered = sorted(by_version, key=lambda v: (v.material, v.version or "", v.known))
    # a frozenset (released - keys() is a set): one object, which every test's lookup recognises
    out: list[tuple[SpecVersion | None, frozenset[str]]] = [(None, frozenset(released - versions.keys()))]
    out += [(v, frozenset(by_version[v])) for v in ordered]
    return out


def _version_proof(ref: SpecRef) -> bool:
    """A safety test with a pass/fail criterion ('No growth', 'Negative') or a limit of absence
    ('< 1 RCA per 3 x 10^10 vp'): every version of a specification has it, so a released lot that
    fails it failed whatever version it was released under."""
    criterion = ref.test.criterion
    return category_of(ref.test) is TestCategory.SAFETY and (
        isinstance(criterion, QualitativeCriterion) or (isinstance(criterion, NumericCriterion) and criterion.absence))


def _failing_lots_rows(table: LotTable, failures: dict[str, list[OutOfSpec]]
                       ) -> dict[tuple[str, str], dict[int, list[int]]]:
    """(material, attribute) -> failing lot index -> every row of that lot in the test's column:
    each column is searched once for all its failing lots, not once per lot."""
    wanted: dict[tuple[str, str], set[int]] = {}
    for lot_id, fails in failures.items():
        for f in fails:
            if f.ref is not None:
                wanted.setdefault((f.ref.spec.material, f.ref.test.attribute), set()).add(table.index[lot_id])
    return {key: table.rows_of_lots(*key, lots) for key, lots in wanted.items()}


def _shown_unit(f: OutOfSpec) -> str | None:
    """The unit a failing result is in: its criterion's (today's test's, or the unit of a previous
    version's limit its result was written in), else the test's."""
    if isinstance(f.criterion, NumericCriterion) and f.criterion.unit:
        return f.criterion.unit
    return _unit(f.ref) if f.ref else None


def _lot_finding(d: Dossier, lot: Lot, fails: list[OutOfSpec], found: LotRelease | None, assumed: bool,
                 by_test: dict[tuple[str, str], SpecLots], rows: dict[tuple[str, str], dict[int, list[int]]]) -> Gap:
    """SPEC-009's finding on one lot: out of specification, or released under exception."""
    lot_id = lot.id
    unrecorded = found is not None and not found.spec.known
    unknown = unrecorded and not any(f.ref is not None and _version_proof(f.ref) for f in fails)

    def today(f: OutOfSpec) -> str:
        return "today's " if unrecorded and not (f.ref is not None and _version_proof(f.ref)) else ""

    shown = [f"{_label(f.ref) if f.ref else '?'} {_value(f.result.result, _shown_unit(f))}"
             f" against {today(f)}'{f.criterion.describe()}'" for f in fails]
    data: dict[str, Any] = {
        "disposition": lot.disposition, "use": lot.use,
        "pivotal": any(f.ref is not None and lot_id in by_test[(f.ref.spec.material, f.ref.test.attribute)]
                       .pivotal_ids for f in fails),
        "results": [{"test": _label(f.ref) if f.ref else None, "value": _value(f.result.result),
                     "unit": _shown_unit(f),
                     "criterion": f.criterion.describe(), "file": f.result.file, "line": f.result.line,
                     "released": by_test[(f.ref.spec.material, f.ref.test.attribute)].released
                     if f.ref else None} for f in fails]}
    if found is not None:
        data["spec_version"] = {"version": found.spec.version if found.spec.known else None,
                                "known": found.spec.known, "how": found.how}
    pathway, investigation = lot.exception_pathway, lot.investigation
    if pathway or investigation:
        data.update(exception_pathway=pathway, investigation=investigation)
    first = fails[0].ref if fails else None
    summary = by_test[(first.spec.material, first.test.attribute)].released if first else {}
    # today's results give context in today's unit, not beside a result in a previous version's unit
    same_unit = bool(fails) and _shown_unit(fails[0]) == (_unit(first) if first else None)
    context = _range_words(summary, "released lots", _unit(first)) if first and same_unit else ""
    retests = _retests(d, lot_id, fails, rows)
    if retests:
        data["several_results"] = {test: [{"value": _value(r.result), "file": r.file, "line": r.line}
                                          for r in rs] for test, rs in retests.items()}
        context += "." + _several_words(retests, _unit(first) if first else None).rstrip(".")
    # the failing result's row; a lot released under exception with no failing result: its first row
    at = Location(fails[0].result.file, fails[0].result.line) if fails else Location(lot.file, lot.line)
    record = f"lot {lot_id}"
    assumption = ""
    if assumed:
        data["disposition_assumed"] = True
        assumption = f" ({assumed_released(d.lots_file)})"
    version = (f" (specification version {found.spec.version}, {found.how})"
               if found is not None and found.spec.known else "")
    documented = f"through {pathway}, with investigation {investigation} on record"
    missing = [name for name, value in (("its exception pathway (exception_pathway)", pathway),
                                        ("its investigation (investigation)", investigation)) if not value]
    # an exception is a one-patient construct (an autologous lot, expanded access); a lot dosing many
    # patients that fails a safety test is rejected (21 CFR 211.165(f)), whatever is documented
    unsafe = [_label(f.ref) for f in fails if f.ref is not None and category_of(f.ref.test) is TestCategory.SAFETY]
    not_excepted = (f"; a lot made for many patients that fails a safety test ({_listing(unsafe)}) is rejected, "
                    "not released under exception (21 CFR 211.165(f))") if unsafe and not d.autologous else ""
    if lot.disposition == Disposition.RELEASED_UNDER_EXCEPTION:
        what = f" with {_listing(shown)}" if shown else ""
        if not missing:
            return Gap(f"Lot {lot_id} was released under exception{what}{version} {documented}{not_excepted}"
                       f"{context}.", at, record=record, data=data, severity=B if not_excepted else I)
        if len(missing) == 2:
            return Gap(f"Lot {lot_id} was released under exception{what}{version}; its documented pathway and "
                       f"investigation must be on file, and {d.lots_file} records neither{not_excepted}{context}.",
                       at, record=record, data=data, remedy=EXCEPTION_REMEDY.format(lots=d.lots_file),
                       severity=B if unsafe else None)
        on_file = f"pathway {pathway}" if pathway else f"investigation {investigation}"
        return Gap(f"Lot {lot_id} was released under exception{what}{version}; {d.lots_file} records its "
                   f"{on_file} but not {missing[0]}{not_excepted}{context}.", at, record=record, data=data,
                   remedy=EXCEPTION_REMEDY.format(lots=d.lots_file), severity=B if unsafe else None)
    if unknown:
        assert found is not None
        return Gap(f"Released lot {lot_id}{assumption} measured {_listing(shown)}; {d.lots_file} does not record "
                   f"the specification version it was released against ({found.how}), so this does not show a "
                   f"failed release{context}.", at, record=record, data=data, severity=I,
                   remedy=UNRECORDED_REMEDY.format(lots=d.lots_file))
    if not missing:
        return Gap(f"Released lot {lot_id}{assumption} fails its specification{version}: {_listing(shown)}, "
                   f"released {documented}{not_excepted}{context}.", at, record=record, data=data,
                   severity=B if not_excepted else I)
    if len(missing) == 1:
        on_file = f"exception pathway {pathway}" if pathway else f"investigation {investigation}"
        return Gap(f"Released lot {lot_id}{assumption} fails its specification{version}: {_listing(shown)}; "
                   f"{d.lots_file} records its {on_file} but not {missing[0]}{context}.", at, record=record,
                   data=data, remedy=EXCEPTION_REMEDY.format(lots=d.lots_file), severity=B if unsafe else None)
    return Gap(f"Released lot {lot_id}{assumption} fails its specification{version}: {_listing(shown)}, and no "
               f"exception is recorded, so the failure needs an investigation (21 CFR 211.192){context}.",
               at, record=record, data=data, severity=B if unsafe else None)


def _material_of(d: Dossier, lot_id: str) -> str | None:
    lot = d.lots.lot(lot_id) if d.lots is not None else None
    return lot.material if lot is not None else None


CENSORED_REMEDY = ("Retest the lot (or report the result) with a method whose reporting limit shows "
                   "conformance to the acceptance limit, or document why the lot was released on this "
                   "result ({basis}).")


MISSING_REMEDY = ("Add the lot's results for these tests to {lots}, or document why the lot was released "
                  "without them ({basis}).")


def _release_testing(phase: Phase) -> tuple[str, tuple[str, ...]]:
    """What release testing rests on at ``phase``: phase 1 material is exempt from part 211 (21 CFR
    210.2(c)) and follows the Phase 1 CGMP guidance's laboratory controls (section V.F.1)."""
    if phase is Phase.PHASE_1:
        return "CGMP for Phase 1 Investigational Drugs, V.F.1", (section(PHASE_1_GUIDANCE, "V.F.1"),)
    return "21 CFR 211.165(a)", (CFR_211_165,)


def _retests(d: Dossier, lot_id: str, fails: list[OutOfSpec],
             rows: dict[tuple[str, str], dict[int, list[int]]]) -> dict[str, list[LotResult]]:
    """'<test> of <lot>' -> every result of the lot for each failing test that has more than one
    (``rows``: the failing lots' rows, see :func:`_failing_lots_rows`)."""
    table = d.lots
    assert table is not None
    out: dict[str, list[LotResult]] = {}
    refs = {(f.ref.spec.material, f.ref.test.attribute): f.ref for f in fails if f.ref is not None}
    li = table.index[lot_id]
    for key, ref in refs.items():
        results = [table.result_at(*key, k) for k in rows[key].get(li, ())]
        if len({(r.result, r.method) for r in results}) > 1:
            out[f"{lot_id} {_label(ref)}"] = results
    return out


def _unshown_conformance(unshown: list[tuple[LotResult, SpecRef, NumericCriterion]], assumed: frozenset[str],
                         versions: dict[str, LotRelease], lots_file: str,
                         basis: tuple[str, tuple[str, ...]]) -> Iterator[Outcome]:
    """Released lots whose censored result cannot show conformance (e.g. <5.0 against <= 3.5);
    ``lots_file`` names the lot data."""
    for res, ref, criterion in sorted(unshown, key=lambda u: (u[0].lot_id, _label(u[1]))):
        unit = _unit(ref)
        value = _value(res.result, unit)
        if res.result.censor == "<" and criterion.max is not None:
            why = "the reporting limit is above the acceptance limit"
        elif res.result.censor == ">" and criterion.min is not None:
            why = "the reporting limit is below the acceptance limit"
        elif res.result.censor == "<":
            why = "a result below the reporting limit may be below the lower limit"
        else:
            why = "a result above the reporting limit may be above the upper limit"
        assumption = f" ({assumed_released(lots_file)})" if res.lot_id in assumed else ""
        data: dict[str, Any] = {"test": _label(ref), "value": _value(res.result), "unit": unit,
                                "criterion": criterion.describe(), "shows_conformance": None}
        if assumption:
            data["disposition_assumed"] = True
        found = versions.get(res.lot_id)
        if found is not None and not found.spec.known:
            data["spec_version"] = {"version": None, "known": False, "how": found.how}
            yield Gap(f"Released lot {res.lot_id}{assumption}: the {_label(ref)} result {value} does not show "
                      f"conformance to today's '{criterion.describe()}' ({why}); {lots_file} does not record the "
                      f"specification version it was released against ({found.how}).",
                      Location(res.file, res.line), record=f"lot {res.lot_id}",
                      remedy=UNRECORDED_REMEDY.format(lots=lots_file),
                      data=data, severity=I, material=ref.spec.material)
            continue
        yield Gap(f"Released lot {res.lot_id}{assumption}: the {_label(ref)} result {value} does not show "
                  f"conformance to '{criterion.describe()}': {why}.", Location(res.file, res.line),
                  record=f"lot {res.lot_id}", remedy=CENSORED_REMEDY.format(basis=basis[0]), cites=basis[1],
                  data=data, material=ref.spec.material)


def _missing_results(d: Dossier, views: DossierViews, released: frozenset[str], assumed: frozenset[str],
                     versions: dict[str, LotRelease], basis: tuple[str, tuple[str, ...]],
                     as_of: dt.date) -> Iterator[Outcome]:
    """Released lots with no result row for a test of their material's specification: one finding per lot.
    A test the lot's specification version did not have is not expected."""
    table = d.lots
    assert table is not None
    materials = table.lot_column("material")
    indices = views.lot_indices(released)
    kinds = set(materials)
    by_material: dict[str, frozenset[int] | set[int]] = {}
    if len(kinds) == 1:  # one material: no Python step per lot
        by_material[next(iter(kinds)) or ""] = indices
    else:
        groups: dict[str, set[int]] = {}
        for li in indices:
            groups.setdefault(materials[li] or "", set()).add(li)
        by_material.update(groups)
    missing: dict[int, list[str]] = {}
    index = views.spec_index
    starting = table.lot_column("starting_material")
    for (material, attribute) in index:  # specification order
        lots = by_material.get(material)
        if not lots:
            continue
        for li in lots - views.lots_with_results(material, attribute):
            found = versions.get(table.lot_ids[li])
            if found is not None and found.spec.criterion(index[(material, attribute)]) == NOT_IN_VERSION:
                continue
            if not expected_of(starting[li], index[(material, attribute)]):
                continue  # a per-kilogram dose of a healthy-donor lot: no patient to dose
            missing.setdefault(li, []).append(attribute)
    for li in sorted(missing, key=lambda i: (*table.lot_location(i), i)):
        lot = table.lot(table.lot_ids[li])
        assert lot is not None
        tests = missing[li]
        assumption = f" ({assumed_released(d.lots_file)})" if lot.id in assumed else ""
        data: dict[str, Any] = {"material": lot.material, "missing_tests": tests, "disposition": lot.disposition,
                                "use": lot.use}
        if assumption:
            data["disposition_assumed"] = True
        found = versions.get(lot.id)
        if found is not None and not found.spec.known and not any(_version_proof(index[(lot.material, t)])
                                                                 for t in tests):
            data["spec_version"] = {"version": None, "known": False, "how": found.how}
            yield Gap(f"Released lot {lot.id}{assumption} has no result for {', '.join(tests)} in {d.lots_file}, "
                      f"which today's specification lists; {d.lots_file} does not record the specification "
                      f"version it was released against ({found.how}).", Location(lot.file, lot.line),
                      record=f"lot {lot.id}", remedy=UNRECORDED_REMEDY.format(lots=d.lots_file), data=data,
                      severity=I, material=lot.material)
            continue
        unsafe = [t for t in tests if category_of(views.spec_index[(lot.material, t)].test) is TestCategory.SAFETY]
        age = days_since_made(d, lot.id, as_of)
        recent = age is not None and age <= PENDING_DAYS  # a fresh product's culture may not be read yet
        if unsafe and recent:
            said = (f"; it was made {age} days ago, so a culture may not be read yet: record a result not yet "
                    "available as 'Pending'")
        elif unsafe:
            said = f", and never without its safety tests ({', '.join(unsafe)})"
        else:
            said = ""
        yield Gap(f"Released lot {lot.id}{assumption} has no result for {', '.join(tests)} in {d.lots_file}; a lot "
                  f"is released only on a complete set of release results{said}.",
                  Location(lot.file, lot.line),
                  record=f"lot {lot.id}", remedy=MISSING_REMEDY.format(lots=d.lots_file, basis=basis[0]),
                  cites=basis[1], data=data, severity=B if unsafe and not recent else None,
                  material=lot.material)
