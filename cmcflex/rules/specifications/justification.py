"""SPEC-004, SPEC-005, SPEC-007 and SPEC-008: each criterion's stated basis, a limit wider than the
pivotal lots, a statistical or capability basis recomputed from its lots, and complete
re-evaluation plans.

Readings of the catalogue made here:
- SPEC-005 leaves a statistical or capability limit to SPEC-007 when the stated interval,
  recomputed from the lots the justification rests on, gives the limit: a tolerance limit lies
  outside the lots it came from by design. Lots are called what they are (pivotal, commercial,
  PPQ, clinical or named), and a log-scale interval is quoted back-transformed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from cmcflex.dossier.criteria import NumericCriterion, ReportOnlyCriterion
from cmcflex.dossier.loader import Dossier
from cmcflex.dossier.models import JustificationBasis, ReevaluationRoute, SpecTest
from cmcflex.formatting import number
from cmcflex.phases import Phase
from cmcflex.rules.base import MA, MI, Area, Context, Gap, I, NotEvaluated, Outcome, by_phase, rule
from cmcflex.rules.citations import CBER_2026, CFR_601_12, CFR_601_12_E, FLEX_2026, Q6B, section
from cmcflex.rules.common import test_record
from cmcflex.rules.lotstats import LotSet
from cmcflex.rules.specifications.limit_statistics import _small_n, _statistical_basis_holds
from cmcflex.rules.specifications.records import FILE, _plan_complete, _refs
from cmcflex.rules.specifications.wording import (
    FLEXIBILITY,
    _few_lots_sentence,
    _interval_limits,
    _label,
    _listing,
    _lots_called,
    _reference_figures,
    _several_words,
    _unit,
)

WIDE_BASES = frozenset({JustificationBasis.SAFETY, JustificationBasis.COMPENDIAL,
                        JustificationBasis.MECHANISTIC, JustificationBasis.PLATFORM})
STAT_BASES = frozenset({JustificationBasis.STATISTICAL, JustificationBasis.CAPABILITY})
FEW_LOTS = 10  # SPEC-007: fewer lots than this need a re-evaluation plan
DOSE_TESTS = frozenset({"viable_cell_dose", "cd34_count"})  # SPEC-005: set by the protocol's dose, not by lots


def _bases(test: SpecTest) -> frozenset[JustificationBasis]:
    return frozenset(test.justification.basis) if test.justification else frozenset()


def _interval_log(test: SpecTest) -> bool:
    interval = test.justification.interval if test.justification else None
    return bool(interval and interval.log)


# ---------------------------------------------------------------------------- SPEC-004


@rule(
    id="SPEC-004",
    slug="criterion-justified",
    title="Each acceptance criterion states its basis and justification",
    area=Area.SPEC,
    severity=by_phase(I, MI, MI, MA, MA),
    cites=(section(Q6B, "3"), FLEX_2026),
    remedy="Add justification: {basis: clinical_lots | safety | compendial | statistical | capability "
    "| mechanistic | platform, text: ...} saying where the limit comes from (lots, toxicology, "
    "pharmacopoeia, mechanism).",
    why="A reviewer accepts a limit when its origin is stated; an unexplained limit invites an "
    "information request or a tighter limit. The May 2026 guidance lets release criteria be set "
    "flexibly from few lots when appropriately justified: the justification is the condition.",
    grading="A criterion with no justification, or an empty one, takes the phase's grade; one that "
    "states its text but not its basis (a free-text justification), or its basis but no text, is "
    "info (the other part is not shown); a compendial basis needs no text (the compendium is the "
    "justification).",
    ctd=("3.2.S.4.5", "3.2.P.5.6"),
    flexibilities=("CS1",),
)
def criterion_justified(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    for ref in _refs(ctx.views):
        test = ref.test
        if isinstance(test.criterion, ReportOnlyCriterion):
            continue
        j = test.justification
        severity, remedy = None, None
        if j is None:
            what = "states no justification"
        elif not j.basis and not (j.text or "").strip():
            what = "has an empty justification"
        elif not j.basis:
            what = "is justified in text, but its basis is not shown (basis)"
            severity, remedy = I, (f"Record the basis of the criterion of {_label(ref)} (justification.basis: "
                                   "clinical_lots, safety, compendial, statistical, capability, mechanistic "
                                   "or platform) beside its text.")
        elif not (j.text or "").strip():
            if JustificationBasis.COMPENDIAL in j.basis:
                continue  # the compendial requirement is the justification
            what = "states its basis, but the justification itself is not shown (text)"
            severity, remedy = I, (f"Add the justification text of {_label(ref)} (justification.text): "
                                   "which lots, toxicology, monograph or mechanism the limit rests on.")
        else:
            continue
        yield Gap(f"Criterion '{test.criterion.describe()}' of {_label(ref)} {what}.", ref.at, record=ref.record,
                  severity=severity, remedy=remedy,
                  data={"criterion": test.criterion.describe(),
                        "basis": [b.value for b in j.basis] if j else []})


# ---------------------------------------------------------------------------- SPEC-005


@rule(
    id="SPEC-005",
    slug="limit-within-clinical-experience",
    title="A limit wider than the pivotal lots has a safety, compendial or mechanistic basis",
    area=Area.SPEC,
    severity=by_phase(None, None, MI, MA, MA),
    cites=(section(Q6B, "3 and 4 (introduction)"), FLEX_2026),
    remedy="Tighten the limit to the range of the pivotal (clinical) lots, or justify the wider limit "
    "with a safety, compendial, mechanistic or platform basis (e.g. toxicology margin, dose-response "
    "data), or state the statistical interval it was derived with (justification.interval) so that it "
    "can be recomputed from the lots named; a limit from few lots may rest on clinical experience with "
    "a post-approval re-evaluation plan.",
    why="Clinical experience shows the product works and is safe within the range the pivotal lots "
    "covered; beyond it, safety and efficacy are unshown unless another basis supports the limit.",
    grading="A wider limit justified in text whose basis is left out is info (the basis is not "
    "shown); one with no justification, or a basis that is none of safety, compendial, mechanistic "
    "or platform, takes the phase's grade. With ten pivotal lots or more, all measured, a limit beyond "
    "their extreme lot but within their mean ∓ 3 SD is within clinical experience (the extreme of many "
    "lots understates the spread they show). A dose test (viable_cell_dose, cd34_count) is not judged: "
    "its range is the dose the clinical protocol studied (and the label states), and every lot is "
    "formulated to it, so the lots' spread is not the clinical experience of the dose.",
    ctd=("3.2.S.4.5", "3.2.P.5.6"),
    flexibilities=("CS1",),
)
def limit_within_clinical_experience(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    if d.lots is None:
        yield NotEvaluated("lots.csv is missing, so the pivotal lots' range is unknown")
        return
    no_lots: list[str] = []
    open_sides: list[str] = []
    for _key, sl in sorted(ctx.views.lots_by_test.items()):
        ref, test = sl.ref, sl.ref.test
        criterion = test.criterion
        if not isinstance(criterion, NumericCriterion) or _bases(test) & WIDE_BASES:
            continue
        if test.test_type in DOSE_TESTS:
            continue  # the dose range the clinical protocol studied, not a limit drawn from lot results
        lots = sl.pivotal
        if not lots.results:
            no_lots.append(_label(ref))
            continue
        statistical = bool(_bases(test) & STAT_BASES)
        holds = _statistical_basis_holds(test, lots, criterion) if statistical else None
        if holds:
            continue  # the stated interval, recomputed, gives the limit: SPEC-007 judges that basis
        unit = _unit(ref)
        called = _lots_called(d, ctx.views, sl)
        wider = []
        data: dict[str, Any] = {"criterion": criterion.describe(), "unit": unit,
                                "basis": sorted(b.value for b in _bases(test))}
        clinical = sl.clinical if sl.pivotal_named else None  # a limit within it is not wider than it
        beyond: list[str] = []  # beyond the pivotal lots too, where named lots stand in for them
        if criterion.min is not None:
            low = lots.lowest()
            if low is None:
                open_sides.append(f"{_label(ref)} (lower)")
            elif criterion.min < low[0] and not _within(clinical_low := clinical.lowest() if clinical is not None
                                                         else None, criterion.min, -1) \
                    and not _within_spread(lots, criterion.min, -1):
                wider.append(f"below the lowest ({number(low[0], unit)}, {low[1]})")
                beyond += _beyond_clinical("below the lowest", clinical_low, unit)
                data["lower"] = {"limit": criterion.min, "lowest_pivotal": low[0], "lot": low[1]}
        if criterion.max is not None:
            high = lots.highest()
            if high is None:
                open_sides.append(f"{_label(ref)} (upper)")
            elif criterion.max > high[0] and not _within(clinical_high := clinical.highest() if clinical is not None
                                                          else None, criterion.max, 1) \
                    and not _within_spread(lots, criterion.max, 1):
                bound = "below " if any(r.lot_id == high[1] for r in lots.censored) else ""
                wider.append(f"above the highest ({bound}{number(high[0], unit)}, {high[1]})")
                beyond += _beyond_clinical("above the highest", clinical_high, unit)
                data["upper"] = {"limit": criterion.max, "highest_pivotal": high[0], "lot": high[1]}
        if not wider:
            continue
        sides = 2 if len(criterion.sides) == 2 else 1
        figures, stat_data = _reference_figures(lots, criterion, unit, _interval_log(test))
        data.update(stat_data)
        data["pivotal"] = lots.summary()
        data["released"] = sl.released
        data["lots_used"] = called
        basis = ", ".join(data["basis"])
        j = test.justification
        text_only = j is not None and not j.basis and bool((j.text or "").strip())  # the basis left out
        if text_only:
            why = ("and its justification is text without a basis, so whether a safety, compendial, "
                   "mechanistic or platform basis supports it is not shown (justification.basis)")
        elif statistical and holds is False:
            why = (f"and its {basis} basis, recomputed from those lots, does not give it (SPEC-007)")
        elif statistical and test.justification and test.justification.interval is not None:
            why = f"and its {basis} basis cannot be recomputed from those lots"
        elif statistical:
            why = f"and its {basis} basis states no interval to recompute (justification.interval)"
        else:
            why = f"and its basis ({basis or 'none stated'}) is not safety, compendial, mechanistic or platform"
        sentence = (f"{_label(ref)} '{criterion.describe()}' is " + " and ".join(wider)
                    + f" of {len(lots.lot_ids)} {called} lots" + "".join(f" and {b}" for b in beyond) + f", {why}")
        if figures:
            sentence += f"; {figures}"
        sentence += "."
        if lots.n < FEW_LOTS:
            data["small_n"] = _small_n(lots.n, sides)
        if len(lots.lot_ids) < FEW_LOTS:  # few lots, not few results above a detection limit
            sentence += _few_lots_sentence(len(lots.lot_ids), bool(_bases(test) & STAT_BASES))
        sentence += _several_words(lots.several, unit)
        if text_only:
            yield Gap(sentence, ref.at, record=ref.record, data={**data, "shown": False}, severity=I,
                      remedy=(f"Record the basis of the {_label(ref)} limit (justification.basis); if the "
                              "text shows no safety, compendial, mechanistic or platform basis, tighten "
                              "the limit to the pivotal range or justify it."))
            continue
        yield Gap(sentence, ref.at, record=ref.record, data=data)
    if no_lots:
        yield NotEvaluated(f"no pivotal-lot results in {d.lots_file} for {_listing(no_lots)}")
    if open_sides:
        yield NotEvaluated(f"censored pivotal results leave the range open for {_listing(open_sides)}")


def _within_spread(lots: LotSet, limit: float, side: int) -> bool:
    """Whether, with ten lots or more all measured, ``limit`` lies within mean ∓ 3 SD of the
    pivotal lots on its side: beyond their extreme lot yet inside the spread they show, which is
    clinical experience read statistically (the extreme of many lots understates it)."""
    from cmcflex import stats

    if lots.n < FEW_LOTS or lots.censored:
        return False
    s = stats.describe(lots.values())
    if s.sd is None:
        return False
    if side < 0:
        bound = s.mean - 3 * s.sd
        # on a linear scale, results spread so widely that the bound falls to zero or below (titres,
        # potency, counts) say nothing of a lower limit: the lowest lot stands
        return bound > 0 and limit >= bound
    return limit <= s.mean + 3 * s.sd


def _all_below_the_limit(lots: LotSet, criterion: NumericCriterion) -> bool:
    """Whether every result is censored below a reporting limit at or inside an upper-only limit
    ('< 0.2 ng/mL' results of a '< 0.2 ng/mL' limit): the tightest limit the method allows."""
    return (criterion.min is None and criterion.max is not None and bool(lots.censored) and not lots.numeric
            and all(r.result.censor == "<" and r.result.value <= criterion.max for r in lots.censored))


def _beyond_clinical(where: str, extreme: tuple[float, str] | None, unit: str | None) -> list[str]:
    """Where named lots stand in for the pivotal ones: the pivotal lots' extreme the limit also passes."""
    return [f"{where} pivotal lot ({number(extreme[0], unit)}, {extreme[1]})"] if extreme else []


def _within(extreme: tuple[float, str] | None, limit: float, side: int) -> bool:
    """Whether ``limit`` lies within the clinical lots' range on its side (``side`` -1: a lower limit
    at or above their lowest result; 1: an upper limit at or below their highest)."""
    return extreme is not None and (limit >= extreme[0] if side < 0 else limit <= extreme[0])


# ---------------------------------------------------------------------------- SPEC-007


_METHOD_WORDS = {
    "tolerance_interval": "tolerance interval",
    "mean_k_sd": "mean ± k SD",
    "prediction_interval": "prediction interval",
    "ppk": "Ppk target",
    "min_max": "min–max range",
}


@rule(
    id="SPEC-007",
    slug="statistical-basis-sound",
    title="A statistical or capability basis agrees with the lots it rests on",
    area=Area.SPEC,
    severity=by_phase(None, None, MI, MA, MA),
    grading="A limit that also rests on a safety, compendial, mechanistic or platform basis is noted at "
            "info: that basis carries it (SPEC-005 reads it so), and the statistical one is supporting "
            "evidence whose recomputation is shown; otherwise the phase's grade.",
    cites=(section(Q6B, "2.6 (statistical concepts) and 4"), CBER_2026, FLEX_2026),
    remedy="State the interval (justification.interval: method, coverage, confidence, sides, k, log) "
    "and recompute it from the lots named; with fewer than 10 lots, base the limit on clinical "
    "experience and add a post-approval re-evaluation plan (reevaluation: {after_lots, method}).",
    why="A limit called statistical is only as good as the lots and the interval behind it; with "
    "few lots the interval is wide and uninformative, and a reviewer will recompute it. The May 2026 "
    "guidance lets criteria rest on few lots with a justification and be re-evaluated after approval "
    "as commercial experience accrues.",
    ctd=("3.2.S.4.5", "3.2.P.5.6"),
    flexibilities=("CS1", "CS2"),
)
def statistical_basis_sound(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    stat_refs = [r for r in _refs(ctx.views) if _bases(r.test) & STAT_BASES]
    if not stat_refs:
        return
    if d.lots is None:
        yield NotEvaluated("lots.csv is missing, so no statistical basis can be recomputed")
        return
    by_key = ctx.views.lots_by_test
    skipped: list[str] = []
    for ref in stat_refs:
        test, criterion = ref.test, ref.test.criterion
        sl = by_key[(ref.spec.material, test.attribute)]
        if not isinstance(criterion, NumericCriterion):
            skipped.append(f"{_label(ref)} (criterion is not numeric)")
            continue
        lots = sl.pivotal
        unit = _unit(ref)
        basis = "/".join(sorted(b.value for b in _bases(test) & STAT_BASES))
        who = _lots_called(d, ctx.views, sl)
        plan = _plan_complete(test)
        base_data: dict[str, Any] = {"criterion": criterion.describe(), "unit": unit, "basis": basis,
                                     "lots_used": who, "pivotal": lots.summary(), "released": sl.released,
                                     "reevaluation_plan": plan}
        if lots.n < 2 and _all_below_the_limit(lots, criterion):
            continue  # every lot below the reporting limit at or inside the limit: nothing to compute, nothing wider
        if lots.n < 2:
            yield Gap(f"{_label(ref)}: the {basis} basis of '{criterion.describe()}' rests on {lots.n} {who} lot"
                      f"{'s' if lots.n != 1 else ''} with an uncensored result, too few to compute any "
                      f"interval; {FLEXIBILITY}.", ref.at, record=ref.record, data=base_data)
            continue
        spec = test.justification.interval if test.justification else None
        if spec and spec.log and any(v <= 0 for v in lots.values()):
            skipped.append(f"{_label(ref)} (log scale with a result <= 0)")
            continue
        fig = _interval_limits(lots.values(), criterion, test)
        problems = list(fig.pop("problems"))
        disagree = fig.get("disagree", {})
        for side, info in sorted(disagree.items()):
            problems.append(f"the proposed {side} limit {number(info['proposed'], unit)} is {info['is']} than "
                            f"the {number(info['computed'], unit)} the stated {_METHOD_WORDS[fig['method']]} gives")
        few = lots.n < FEW_LOTS and not plan
        few_words = (f"it rests on {lots.n} lots (fewer than {FEW_LOTS}) with no complete post-approval "
                     "re-evaluation plan")
        if few:
            problems.append(few_words)
        if not problems:
            continue
        stats_words = _summary_words(fig, unit)
        if fig.get("k") is not None:
            kname = f" ({fig['k_method']})" if fig.get("k_method") else ""
            stats_words += f", k = {fig['k']:.2f}{kname}"
        if fig.get("ppk_observed") is not None:
            stats_words += f", observed Ppk {number(fig['ppk_observed'])} against the proposed limits"
        if "computed" in fig:
            c = fig["computed"]
            parts = []
            if criterion.min is not None:
                parts.append(f"lower {number(c['lower'], unit)}")
            if criterion.max is not None:
                parts.append(f"upper {number(c['upper'], unit)}")
            stats_words += f", giving {' and '.join(parts)}"
        elif fig.get("method") is None:
            ref_words, ref_data = _reference_figures(lots, criterion, unit)
            base_data.update(ref_data)
            if ref_words:
                stats_words += f"; for reference, {ref_words}"
        if problems == [few_words] and few:  # the recomputation agrees; only the lot count is at issue
            message = (f"{_label(ref)}: the {basis} basis of '{criterion.describe()}' rests on {lots.n} lots "
                       f"(fewer than {FEW_LOTS}) with no complete re-evaluation plan ({who} lots: {stats_words}).")
        else:
            message = (f"{_label(ref)}: the {basis} basis of '{criterion.describe()}' does not hold up: "
                       + "; ".join(problems) + f" ({who} lots: {stats_words}).")
        base_data.update(fig)
        if lots.n < FEW_LOTS:
            base_data["small_n"] = _small_n(lots.n, fig["sides"])
        if few:  # the first sentence says how few; the second points to the flexibility
            message += f" {FLEXIBILITY[0].upper()}{FLEXIBILITY[1:]}."
        message += _several_words(lots.several, unit)
        backed = sorted(b.value for b in _bases(test) & WIDE_BASES)
        if backed:
            message += (f" The limit also rests on its {'/'.join(backed)} basis, which carries it; the "
                        f"{basis} basis is supporting evidence.")
        yield Gap(message, ref.at, record=ref.record, data=base_data, severity=I if backed else None)
    if skipped:
        yield NotEvaluated(f"statistical basis not recomputed for {_listing(skipped)}")


def _summary_words(fig: dict[str, Any], unit: str | None) -> str:
    """'n = 6, mean 452 pg/mL, SD 61.2 pg/mL' (geometric mean and SD of ln on the log scale)."""
    if fig.get("scale") == "log":
        words = f"n = {fig['n']}, geometric mean {number(math.exp(fig['mean']), unit)}"
        if fig.get("sd") is not None:
            words += f", SD of ln {number(fig['sd'])}"
        return words
    words = f"n = {fig['n']}, mean {number(fig['mean'], unit)}"
    if fig.get("sd") is not None:
        words += f", SD {number(fig['sd'], unit)}"
    return words


# ---------------------------------------------------------------------------- SPEC-008


_ROUTES = "prior_approval_supplement, comparability_protocol, CBE-30 or annual_report"


@rule(
    id="SPEC-008",
    slug="reevaluation-plan-complete",
    title="A re-evaluation plan states the number of lots, the method and its route to FDA",
    area=Area.SPEC,
    severity=by_phase(None, None, None, MI, MI),
    cites=(FLEX_2026, CBER_2026, CFR_601_12, CFR_601_12_E),
    remedy="Complete the plan: reevaluation: {after_lots: <number of commercial lots>, method: "
    "<e.g. '95 % confidence / 99 % coverage tolerance interval of all released lots'>, route: "
    f"<{_ROUTES}>, evidence: <the consistent-quality data it will rest on>}}.",
    why="Acceptance criteria set from few lots may be re-evaluated after approval as commercial "
    "experience accrues, provided product quality is shown consistent (May 2026 guidance; January 2026 "
    "page). The commitment is only checkable when it says when (after how many lots), how the limit "
    "will be re-derived and how the revised criterion reaches FDA (21 CFR 601.12; a comparability "
    "protocol under 601.12(e)). That the route is agreed in advance (a prior approval supplement) "
    "rests on one secondary source reconstructing the guidance, so a missing route is graded "
    "conservatively: minor at BLA, a note after approval, when the approved application records it.",
    grading="A plan without its number of lots or method is minor, and so is one without its route at "
    "BLA; after approval a missing route is info (not shown), and so is a plan that does not name the "
    "evidence of consistent quality it rests on (evidence).",
    ctd=("3.2.S.4.5", "3.2.P.5.6"),
    flexibilities=("CS2", "CS3"),
)
def reevaluation_plan_complete(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    licensing = ctx.phase < Phase.POST_APPROVAL
    for i, j, spec, test in d.spec_tests():
        r = test.reevaluation
        if r is None:
            continue
        graded = [name for name, absent in (("the number of lots (after_lots)", r.after_lots is None),
                                            ("the method (method)", not (r.method or "").strip()),
                                            ("its route to FDA (route)", r.route is None and licensing))
                  if absent]
        unshown = [name for name, absent in (
            ("its route to FDA (route)", r.route is None and not licensing),
            ("the evidence of consistent quality it rests on (evidence)", not (r.evidence or "").strip()))
            if absent]
        if not graded and not unshown:
            continue
        name = f"{spec.material}/{test.attribute}"
        data = {"after_lots": r.after_lots, "method": r.method, "route": r.route.value if r.route else None,
                "evidence": r.evidence, "missing": [_key(m) for m in graded], "not_shown": [_key(m) for m in unshown]}
        at = d.where(FILE, "specifications", i, "tests", j, "reevaluation")
        cites = (FLEX_2026, CFR_601_12_E) if r.route is ReevaluationRoute.COMPARABILITY_PROTOCOL else None
        if graded:
            also = f"; nor does it show {_joined(unshown, 'and')}" if unshown else ""
            route = (" A revised criterion reaches FDA through 21 CFR 601.12: a prior approval supplement, or "
                     "the category an approved comparability protocol (601.12(e)) sets."
                     if r.route is None and licensing else "")
            yield Gap(f"The re-evaluation plan of {name} does not state {_joined(graded)}{also}.{route}",
                      at, record=test_record(spec.material, test.attribute), data=data, cites=cites,
                      remedy=_plan_remedy(name, graded + unshown))
        else:
            yield Gap(f"The re-evaluation plan of {name} does not record {_joined(unshown)}, so that "
                      "is not shown.", at, record=test_record(spec.material, test.attribute), data=data,
                      severity=I, cites=cites, remedy=_plan_remedy(name, unshown))


def _joined(items: list[str], last: str = "or") -> str:
    """'a, b or c'."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {last} {items[-1]}"


def _key(words: str) -> str:
    """'the method (method)' -> 'method'."""
    return words[words.rindex("(") + 1:-1]


_PLAN_FIELDS = {
    "after_lots": "after how many commercial lots the limit is revisited (after_lots)",
    "method": "how the limit will be re-derived (method)",
    "route": f"how the revised criterion reaches FDA (route: {_ROUTES})",
    "evidence": "the evidence of consistent quality the re-evaluation will rest on (evidence)",
}


def _plan_remedy(name: str, missing: list[str]) -> str:
    return f"Record in the re-evaluation plan of {name} " + "; ".join(_PLAN_FIELDS[_key(m)] for m in missing) + "."
