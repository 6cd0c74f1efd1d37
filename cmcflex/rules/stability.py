"""STAB rules: stability data against the claimed shelf life and in-use period.

Stability points come from stability.csv; a point's process is learnt from its lot in lots.csv.
Results are judged by the specification's shelf-life criterion (else the release criterion)
through the one criterion logic in :mod:`cmcflex.rules.common`. Lots of an earlier process count
toward the shelf life (STAB-002) and the lot count (STAB-003) only under the conditions of
:mod:`cmcflex.rules.clinical_lots`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from cmcflex.dossier.loader import Dossier, Location
from cmcflex.dossier.lots import StabilityPoint
from cmcflex.dossier.models import Period, TestCategory
from cmcflex.dossier.spec_units import test_unit
from cmcflex.dossier.units import factor
from cmcflex.dossier.vocabulary import TEST_CATEGORY, category_of
from cmcflex.formatting import number
from cmcflex.rules.base import MA, MI, Area, B, Context, Gap, I, NotEvaluated, Outcome, by_phase, rule
from cmcflex.rules.citations import CFR_211_166, CFR_610_53, FLEX_2026, PHASE_1_GUIDANCE, Q5C, section
from cmcflex.rules.clinical_lots import FLEXIBILITY, ClinicalLots, clinical_lots, join
from cmcflex.rules.common import by_another_method, judge_stability, test_record
from cmcflex.views import DossierViews

LONG_TERM, IN_USE = "long_term", "in_use"
TOLERANCE = 0.01  # a time point within 1 % of a claim covers it (365 days cover 12 months)


UNKNOWN_PROCESS_REMEDY = ("Add the stability lots to {lots} with their process_version (and use), so "
                          "their data can be counted for the commercial process.")


def _claim_at(d: Dossier, key: str) -> Location:
    return d.where("dossier.yaml", key) if getattr(d.info, key) is not None else d.where("dossier.yaml")


def _fmt_period(period: Period) -> str:
    return number(period.value, period.unit.value)


def _covers(months: float, claim: Period) -> bool:
    return months >= claim.months * (1 - TOLERANCE)


def _longest_by_lot(points: Iterable[StabilityPoint]) -> dict[str, float]:
    """Longest time point (months) of each lot, sorted by lot id."""
    out: dict[str, float] = {}
    for p in points:
        out[p.lot_id] = max(out.get(p.lot_id, 0.0), p.months)
    return dict(sorted(out.items()))


def _time_text(point: StabilityPoint) -> str:
    return number(point.time, point.time_unit)


def _last(points: Iterable[StabilityPoint]) -> StabilityPoint | None:
    """The latest time point (ties: the first in file order)."""
    return max(points, key=lambda p: (p.months, -p.line), default=None)


def commercial_split(d: Dossier, views: DossierViews, lot_ids: Iterable[str]) -> tuple[list[str], list[str], str | None]:
    """Split stability lots into (commercial-process lots, lots of unknown process) and name the
    commercial process ("process v2 (<basis>)"); when no process version is known every lot
    counts and the name is None."""
    ref = views.commercial_process
    ids = sorted(set(lot_ids))
    if ref.version is None:
        return ids, [], None
    commercial, unknown = [], []
    for lot_id in ids:
        lot = d.lots.lot(lot_id) if d.lots is not None else None
        if lot is None or lot.process_version is None:
            unknown.append(lot_id)
        elif lot.process_version == ref.version:
            commercial.append(lot_id)
    return commercial, unknown, f"process {ref.version} ({ref.basis})"


def _long_term(d: Dossier) -> list[StabilityPoint]:
    """The long-term points the claimed shelf life rests on: the drug product's where there are any
    (a drug substance hold or the vector's stability is a claim of its own), else every one."""
    points = [p for p in d.stability or [] if p.condition == LONG_TERM]
    product = [p for p in points if p.material.startswith("drug_product")]
    return product or points


# ------------------------------------------------------------------------------- STAB-001


@rule(
    id="STAB-001", slug="supports-clinical-use", area=Area.STAB,
    title="Stability data cover the product's storage and in-use period during the trial",
    severity=by_phase(MA, MA, MA, None, None),
    cites=(section(PHASE_1_GUIDANCE, "V.F.2"), CFR_211_166),
    remedy="Put representative lots of the clinical material on real-time stability at the storage "
           "condition, and test the in-use period (after thaw or preparation) at its condition up to the "
           "claimed time.",
    why="Clinical material must stay within its specification while stored and used in the trial. "
        "cmcflex reads this as: some long-term (real-time) data exist in stability.csv, and, when "
        "dossier.yaml claims an in-use period, in_use points reach that period.",
    ctd=("3.2.S.7.1", "3.2.P.8.1"),
)
def supports_clinical_use(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    points = d.stability or []
    if not any(p.condition == LONG_TERM for p in points):
        where = (f"{d.stability_file} holds no long_term points" if d.stability is not None
                 else "there is no stability.csv")
        yield Gap(f"No real-time stability data support storage of the clinical material: {where}.",
                  at=_claim_at(d, "shelf_life"), record="material stability")
    yield from _in_use_not_covered(d)


def _in_use_not_covered(d: Dossier) -> Iterator[Gap]:
    """The in-use period dossier.yaml claims (after thaw or preparation), when no in_use point reaches it."""
    claim = d.info.in_use
    if claim is None:
        return
    last = _last(p for p in d.stability or [] if p.condition == IN_USE)
    if last is None or not _covers(last.months, claim):
        have = "there are no in_use points" if last is None else f"in_use data reach {_time_text(last)} ({last.lot_id})"
        yield Gap(f"The claimed in-use period of {_fmt_period(claim)} is not covered: {have}.",
                  at=_claim_at(d, "in_use"), record="in-use period",
                  data={"claim_months": round(claim.months, 6),
                        "longest_in_use_months": None if last is None else round(last.months, 6)})


@rule(
    id="STAB-006", slug="in-use-period-supported", area=Area.STAB,
    title="The in-use period claimed for licensure is covered by in-use data",
    severity=by_phase(None, None, None, MA, MA),
    cites=(CFR_211_166, Q5C),
    remedy="Test the product at its in-use condition (after thaw, dilution or preparation, as labelled) "
           "up to the claimed time on representative lots, or claim only the period the data reach.",
    why="The label's hold time after thaw or preparation is part of the expiry: the product must meet its "
        "specification until it is administered, as 21 CFR 211.166(a)(5) asks of a product reconstituted "
        "before use (testing at the time of dispensing, as directed in the labeling, and after "
        "reconstitution). STAB-001 reads the in-use period for the trial; this rule for the licensed product.",
    ctd=("3.2.P.8.1", "3.2.P.8.3"),
)
def in_use_period_supported(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    yield from _in_use_not_covered(d)


# ------------------------------------------------------------------------------- STAB-002


@rule(
    id="STAB-002", slug="shelf-life-supported", area=Area.STAB,
    title="The claimed shelf life is covered by real-time data on commercial-process lots",
    severity=by_phase(None, None, MI, B, B),
    cites=(Q5C, CFR_211_166, CFR_610_53, FLEX_2026),
    remedy="Claim only the shelf life that real-time long-term data on commercial-process lots reach, "
           "and extend it post-approval as the ongoing studies mature (with a commitment in the BLA); or, "
           "where lots of an earlier process reach it, record the change that concludes the processes "
           "comparable, the justification and a post-approval stability commitment "
           "(dossier.yaml clinical_lot_stability).",
    why="A biological product's dating period rests on real-time data at the storage condition on "
        "lots of the process to be licensed (ICH Q5C); accelerated data do not establish it. Under the "
        "May 2026 CMC flexibilities guidance, stability data from representative clinical lots can "
        "support a cell or gene therapy's shelf life; this point rests on one secondary source "
        "reconstructing the guidance, so cmcflex counts long-term data on lots of an earlier process "
        "version only when a change record concludes that process comparable to the commercial one and "
        "the dossier records the justification and a post-approval stability commitment.",
    grading="A dossier.yaml that does not record the claimed shelf life is info (what the data must "
            "support is not shown), as is a claim covered only by lots whose process is not recorded, "
            "and a claim covered with clinical lots of an earlier process whose conditions are on record "
            "(the flexibility applies); a claim the real-time data on commercial-process lots do not "
            "reach otherwise takes the phase's grade, naming any missing condition of the flexibility.",
    ctd=("3.2.S.7.1", "3.2.P.8.1"),
    flexibilities=("CS6",),
)
def shelf_life_supported(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    claim = d.info.shelf_life
    if claim is None:
        yield Gap("dossier.yaml does not record the claimed shelf life (`shelf_life`), so whether real-time "
                  "data support it is not shown.", at=d.where("dossier.yaml"), record="shelf life", severity=I,
                  remedy="Record the claimed shelf life in dossier.yaml, e.g. shelf_life: {value: 12, unit: "
                         "months, storage: \"vapor phase of liquid nitrogen\"}.")
        return
    long_term = _long_term(d)
    commercial, unknown, basis = commercial_split(d, ctx.views, (p.lot_id for p in long_term))
    on_commercial = [p for p in long_term if p.lot_id in set(commercial)]
    longest = _longest_by_lot(on_commercial)
    last = _last(on_commercial)
    if last is not None and _covers(last.months, claim):
        return
    clinical = clinical_lots(d, ctx.views.commercial_process.version, (p.lot_id for p in long_term))
    counted = set(commercial) | set(clinical.counted)
    with_clinical = _last(p for p in long_term if p.lot_id in counted)
    if clinical.counted and with_clinical is not None and _covers(with_clinical.months, claim):
        best = f"{_time_text(last)} ({last.lot_id})" if last is not None else "none"
        yield Gap(f"The claimed shelf life of {_fmt_period(claim)} rests on long-term data of clinical lots of "
                  f"an earlier process ({_lots_text(clinical, clinical.counted)}; the longest point is "
                  f"{_time_text(with_clinical)}, {with_clinical.lot_id}); {FLEXIBILITY}, and its conditions "
                  f"are on record: {_changes_text(clinical.changes)} the processes comparable, and "
                  f"clinical_lot_stability records the justification and a post-approval stability "
                  f"commitment. On lots of the commercial {basis} the longest point is {best}.",
                  at=_claim_at(d, "shelf_life"), record="shelf life", severity=I,
                  remedy="Nothing to do now; keep the post-approval stability commitment and extend the "
                         "data on commercial-process lots as they mature.",
                  data={"claim_months": round(claim.months, 6), "commercial_process": ctx.views.commercial_process.version,
                        "longest_by_lot_months": {k: round(v, 6) for k, v in longest.items()},
                        "clinical_lots": clinical.counted, "changes": clinical.changes,
                        "flexibility": "CS6"})
        return
    unknown_last = _last(p for p in long_term if p.lot_id in set(unknown))
    if unknown_last is not None and _covers(unknown_last.months, claim):
        best = f"{_time_text(last)} ({last.lot_id})" if last is not None else "none"
        yield Gap(f"The claimed shelf life of {_fmt_period(claim)} is covered by long-term data only on lots "
                  f"whose process is not recorded ({', '.join(unknown)}: not in {d.lots_file} or without a "
                  f"process_version; the longest point is {_time_text(unknown_last)}, {unknown_last.lot_id}); "
                  f"on lots of the commercial {basis} the longest point is {best}.",
                  at=_claim_at(d, "shelf_life"), record="shelf life", severity=I,
                  remedy=UNKNOWN_PROCESS_REMEDY.format(lots=d.lots_file),
                  data={"claim_months": round(claim.months, 6), "commercial_process": ctx.views.commercial_process.version,
                        "longest_by_lot_months": {k: round(v, 6) for k, v in longest.items()},
                        "lots_of_unknown_process": unknown})
        return
    if d.stability is None:
        have = "there is no stability.csv"
    elif not long_term:
        have = f"{d.stability_file} holds no long_term points"
    elif last is None:
        have = f"no long-term points are on lots of the commercial {basis}"
        if unknown:
            have += f" (lots not in {d.lots_file} or without a process_version: {', '.join(unknown)})"
    elif basis is None:
        have = (f"the longest long-term point is {_time_text(last)} ({last.lot_id}; no process version "
                "is known, so every lot counts)")
    else:
        have = (f"the longest long-term point on lots of the commercial {basis} is {_time_text(last)} "
                f"({last.lot_id})")
    note, remedy = _clinical_note(d, clinical, claim, long_term, with_clinical)
    yield Gap(f"The claimed shelf life of {_fmt_period(claim)} is not covered by real-time data: {have}{note}.",
              at=_claim_at(d, "shelf_life"), record="shelf life", remedy=remedy,
              data={"claim_months": round(claim.months, 6), "commercial_process": ctx.views.commercial_process.version,
                    "longest_by_lot_months": {k: round(v, 6) for k, v in longest.items()},
                    "lots_of_unknown_process": unknown,
                    **({"clinical_lots": clinical.earlier_lots, "clinical_lot_conditions_missing": clinical.missing}
                       if clinical.earlier else {})})


def _lots_text(clinical: ClinicalLots, lot_ids: Iterable[str]) -> str:
    """``D-1, D-2 of process v1``, grouped by version."""
    by_version: dict[str, list[str]] = {}
    for lot_id in sorted(lot_ids):
        by_version.setdefault(clinical.earlier[lot_id], []).append(lot_id)
    return "; ".join(f"{', '.join(ids)} of process {v}" for v, ids in sorted(by_version.items()))


def _changes_text(changes: list[str]) -> str:
    return f"change {changes[0]} concludes" if len(changes) == 1 else f"changes {', '.join(changes)} conclude"


def _clinical_note(d: Dossier, clinical: ClinicalLots, claim: Period, long_term: list[StabilityPoint],
                   with_clinical: StabilityPoint | None) -> tuple[str, str | None]:
    """What the clinical lots of an earlier process add to a shelf-life gap, and the remedy that
    names the missing conditions, when their data would reach the claim, the dossier records
    clinical_lot_stability, or they are counted."""
    if not clinical.earlier:
        return "", None
    if clinical.counted:
        reach = f"{_time_text(with_clinical)} ({with_clinical.lot_id})" if with_clinical is not None else "none"
        return (f"; counting the clinical lots of an earlier process under clinical_lot_stability "
                f"({_lots_text(clinical, clinical.counted)}), the longest point is {reach}"), None
    earlier_last = _last(p for p in long_term if p.lot_id in clinical.earlier)
    claimed = d.info.clinical_lot_stability is not None  # the dossier leans on the flexibility
    if earlier_last is None or not (claimed or _covers(earlier_last.months, claim)):
        return "", None
    note = (f"; lots of an earlier process reach {_time_text(earlier_last)} "
            f"({_lots_text(clinical, clinical.earlier_lots)}), but "
            f"{clinical.shortfall()}")
    if not clinical.missing:
        return note, None
    remedy = (f"To rest the shelf life on the clinical lots ({FLEXIBILITY}), put on record "
              f"{join(clinical.missing)}; "
              "otherwise claim only the shelf life that data on commercial-process lots reach.")
    return note, remedy


# ------------------------------------------------------------------------------- STAB-003


@rule(
    id="STAB-003", slug="stability-lot-count", area=Area.STAB,
    title="At least 3 lots are on long-term stability, or fewer are justified",
    severity=by_phase(None, None, None, MA, MA),
    cites=(section(Q5C, "4 (selection of batches)"), FLEX_2026),
    remedy="Put at least 3 commercial-process lots on long-term stability; or count clinical lots of an "
           "earlier process by recording the change that concludes the processes comparable, the "
           "justification and a post-approval stability commitment (dossier.yaml clinical_lot_stability); "
           "or state in dossier.yaml (`stability_lot_justification`) why fewer lots suffice (scarce "
           "patient material, platform or development-lot data) and commit to adding lots post-approval.",
    why="ICH Q5C expects long-term data on at least 3 lots. The May 2026 CMC flexibilities guidance "
        "lets stability data from representative clinical lots support a cell or gene therapy's shelf "
        "life; this point rests on one secondary source reconstructing the guidance, so cmcflex counts "
        "lots of an earlier process version only when a change record concludes that process comparable "
        "to the commercial one and the dossier records the justification and a post-approval stability "
        "commitment. The guidance is not known to speak to the number of stability lots: accepting fewer "
        "than 3 lots with a written justification (scarce patient material) is cmcflex's reading, "
        "reported as a note, not a point of the guidance.",
    grading="Fewer than 3 lots with a justification is info, as is a count that reaches 3 with clinical "
            "lots of an earlier process whose conditions are on record (the flexibility applies), or only "
            "with lots whose process is not recorded (not shown). An unjustified shortfall takes the "
            "phase's grade, naming any missing condition of the clinical-lot flexibility.",
    ctd=("3.2.S.7.3", "3.2.P.8.3"),
    flexibilities=("CS6",),
)
def stability_lot_count(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    long_term = _long_term(d)
    commercial, unknown, basis = commercial_split(d, ctx.views, (p.lot_id for p in long_term))
    clinical = clinical_lots(d, ctx.views.commercial_process.version, (p.lot_id for p in long_term))
    n = len(commercial)
    if n >= 3:
        return
    counted = n + len(clinical.counted)
    data: dict[str, object] = {"lots": commercial, "lots_of_unknown_process": unknown,
                               "commercial_process": ctx.views.commercial_process.version}
    if clinical.earlier:
        data |= {"clinical_lots": clinical.earlier_lots, "clinical_lots_counted": clinical.counted,
                 "clinical_lot_conditions_missing": clinical.missing}
    message = _lot_count_text(d, commercial, unknown, basis, bool(long_term))
    first_line = Location(d.stability_file, min((p.line for p in long_term), default=1))
    if counted >= 3:
        yield Gap(f"{message}; with the clinical lots of an earlier process "
                  f"({_lots_text(clinical, clinical.counted)}) {counted} lots are on long-term stability; {FLEXIBILITY}, and its "
                  f"conditions are on record ({_changes_text(clinical.changes)} the processes comparable; "
                  "clinical_lot_stability records the justification and a post-approval stability commitment).",
                  at=d.where("dossier.yaml", "clinical_lot_stability"), record="stability lots", severity=I,
                  remedy="Nothing to do now; keep the post-approval stability commitment.",
                  data={**data, "changes": clinical.changes, "flexibility": "CS6"})
        return
    if counted + len(unknown) >= 3:
        yield Gap(f"{message}; with the lots whose process is not recorded ({', '.join(unknown)}: not in "
                  f"{d.lots_file} or without a process_version) {counted + len(unknown)} lots are on long-term "
                  "stability.", at=first_line, record="stability lots", severity=I,
                  remedy=UNKNOWN_PROCESS_REMEDY.format(lots=d.lots_file), data=data)
        return
    justification = (d.info.stability_lot_justification or "").strip()
    if clinical.counted:
        message += (f"; with the clinical lots of an earlier process counted under clinical_lot_stability "
                    f"({_lots_text(clinical, clinical.counted)}) {counted} are")
    if justification and counted >= 1:
        yield Gap(f"{message}, fewer than 3, with a justification (stability_lot_justification), accepted "
                  "as a note where material is scarce.",
                  at=d.where("dossier.yaml", "stability_lot_justification"), record="stability lots",
                  data=data, severity=I)
        return
    if counted == 0:
        why = ", and a justification cannot replace having none" if justification else \
            ", and no justification is given"
    else:
        why = ", fewer than 3, and no justification is given"
    note, remedy = "", None
    claimed = d.info.clinical_lot_stability is not None
    if clinical.earlier and not clinical.counted and (claimed or counted + len(clinical.earlier) >= 3):
        note = (f"; lots of an earlier process are on long-term stability "
                f"({_lots_text(clinical, clinical.earlier_lots)}), but {clinical.shortfall()}")
        if clinical.missing:
            remedy = (f"To count the clinical lots ({FLEXIBILITY}), put on record {join(clinical.missing)}; "
                      "otherwise put 3 commercial-process lots on long-term stability or justify fewer "
                      "(stability_lot_justification).")
    yield Gap(f"{message}{why}{note}.",
              at=first_line if d.stability is not None else _claim_at(d, "shelf_life"),
              record="stability lots", data=data, remedy=remedy)


def _lot_count_text(d: Dossier, lots: list[str], unknown: list[str], basis: str | None,
                    has_long_term: bool) -> str:
    """``Only 2 lots (L-1, L-2) of the commercial process v2 (...) are on long-term stability``."""
    of = f" of the commercial {basis}" if basis is not None else ""
    if not lots:
        if d.stability is None:
            detail = " (there is no stability.csv)"
        elif not has_long_term:
            detail = f" ({d.stability_file} holds no long_term points)"
        elif unknown:
            detail = f" (lots not in {d.lots_file} or without a process_version: {', '.join(unknown)})"
        else:
            detail = ""
        return f"No lot{of} is on long-term stability{detail}"
    n = len(lots)
    verb = "is" if n == 1 else "are"
    every = ", counting every lot since no process version is known" if basis is None else ""
    return f"Only {n} lot{'' if n == 1 else 's'} ({', '.join(lots)}){of} {verb} on long-term stability{every}"


# ------------------------------------------------------------------------------- STAB-004


def _is_potency(views: DossierViews, point: StabilityPoint) -> bool:
    ref = views.spec_index.get((point.material, point.attribute))
    category = category_of(ref.test) if ref is not None else TEST_CATEGORY.get(point.attribute)
    return category is TestCategory.POTENCY


@rule(
    id="STAB-004", slug="potency-on-stability", area=Area.STAB,
    title="Potency is among the attributes on stability",
    severity=by_phase(None, MI, MA, MA, MA),
    cites=(section(Q5C, "5.2 (potency)"),),
    remedy="Add the potency assay to the stability protocol at every time point.",
    why="Loss of biological activity is the change most likely to matter for a cell or gene therapy; "
        "ICH Q5C expects potency in the stability-indicating profile.",
    ctd=("3.2.S.7.1", "3.2.P.8.1"),
)
def potency_on_stability(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    if d.stability is None:
        yield NotEvaluated("stability.csv is missing: no attributes on stability to check")
        return
    if not d.stability:
        yield NotEvaluated(f"{d.stability_file} holds no results")
        return
    if any(_is_potency(ctx.views, p) for p in d.stability):
        return
    attributes = sorted({p.attribute for p in d.stability})
    yield Gap(f"No potency attribute is on stability (attributes tested: {', '.join(attributes)}).",
              at=Location(d.stability_file, 1), record="stability protocol", data={"attributes": attributes})


# ------------------------------------------------------------------------------- STAB-005


@rule(
    id="STAB-005", slug="stability-results-in-spec", area=Area.STAB,
    title="Stability results meet the specification through the claimed shelf life",
    severity=by_phase(MI, MA, MA, B, B),
    cites=(CFR_211_166, Q5C),
    remedy="Investigate the results outside the specification and shorten the claimed shelf life to the "
           "last time point that met it, or justify a shelf-life criterion.",
    why="The shelf life is the time during which the product, stored as labelled, is expected to meet "
        "its specification; a long-term result within the claim outside the shelf-life criterion (else "
        "the release criterion) contradicts the claim. Only long-term (storage condition) points are "
        "judged: in-use points (after thaw, or diluted into an infusion bag, where a titre far below the "
        "vial's release range is by design), shipping and accelerated points are not held to the "
        "shelf-life or release criterion, and specifications.yaml records no criterion of their own. A "
        "point whose stability.csv method names another method than its specification test's (a retired "
        "assay) is not judged against that test's criterion; the rule's not-evaluated note lists it.",
    ctd=("3.2.S.7.3", "3.2.P.8.3"),
)
def stability_results_in_spec(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    if d.stability is None:
        yield NotEvaluated("stability.csv is missing: no stability results to judge")
        return
    if not d.stability:
        yield NotEvaluated(f"{d.stability_file} holds no results")
        return
    if not ctx.views.spec_index:
        yield NotEvaluated("specifications.yaml is missing or empty: no criteria to judge stability results by")
        return
    shelf = d.info.shelf_life
    within = [p for p in d.stability
              if p.condition == LONG_TERM and (shelf is None or p.months <= shelf.months * (1 + TOLERANCE))]
    other_method = [p for p in within if by_another_method(ctx.views, p)]
    judged = judge_stability(ctx.views, within)
    if other_method:
        yield _other_method_note(ctx.views, other_method)
    if not judged:
        yield NotEvaluated("no long-term stability result within the claimed shelf life has a specification test")
        return
    failed: dict[tuple[str, str], list] = {}
    for j in judged:
        if j.accepted is False:
            failed.setdefault((j.point.material, j.point.attribute), []).append(j)
    for (material, attribute), items in sorted(failed.items()):
        items.sort(key=lambda j: (j.point.lot_id, j.point.condition, j.point.months))
        first = min(items, key=lambda j: j.point.line)
        unit = _shown_unit(ctx.views, first.point)
        values = "; ".join(f"{j.point.lot_id} {_result_text(j.point, unit)} at {_time_text(j.point)} "
                           f"({j.point.condition})" for j in items)
        claim = f" within the claimed shelf life of {_fmt_period(shelf)}" if shelf is not None else ""
        yield Gap(f"Stability results of {material}/{attribute}{claim} fall outside "
                  f"'{first.criterion.describe()}': {values}.",
                  at=Location(first.point.file, first.point.line), record=test_record(material, attribute),
                  data={"criterion": first.criterion.describe(), "unit": unit,
                        "results": [{"lot": j.point.lot_id, "condition": j.point.condition,
                                     "time": j.point.time, "time_unit": j.point.time_unit,
                                     "value": j.point.result.describe()} for j in items]})


def _shown_unit(views: DossierViews, point: StabilityPoint) -> str | None:
    """The unit a judged point's value is in: its test's (results are put into it on loading), else
    the point's own."""
    ref = views.spec_index.get((point.material, point.attribute))
    unit = test_unit(ref.test) if ref is not None else None
    if point.unit and unit and point.unit != unit and factor(point.unit, unit) is None:
        return point.unit  # a result in a unit the test's cannot take (a replaced assay's) stays in its own
    return unit or point.unit


def _result_text(point: StabilityPoint, unit: str | None) -> str:
    """``890 pg/mL``, ``<0.5 EU/mL``, ``Growth``: a point's result with its unit."""
    result = point.result
    return result.word if result.word is not None else f"{result.censor}{number(result.value, unit)}"


def _other_method_note(views: DossierViews, points: list[StabilityPoint]) -> NotEvaluated:
    """STAB-005's note on the points left out for naming another method than their test's."""
    shown = [f"{p.lot_id} {p.material}/{p.attribute} {_result_text(p, _shown_unit(views, p))} at "
             f"{_time_text(p)} (method {p.method}; the test's is {by_another_method(views, p)})"
             for p in sorted(points, key=lambda p: (p.lot_id, p.attribute, p.months, p.line))]
    many = len(points) != 1
    listed = ", ".join(shown[:3]) + (f" and {len(shown) - 3} more" if len(shown) > 3 else "")
    return NotEvaluated(f"{len(points)} long-term stability result{'s' if many else ''} by another method than "
                        f"{'their' if many else 'its'} specification test's {'are' if many else 'is'} not judged "
                        f"against its criterion: {listed}")
