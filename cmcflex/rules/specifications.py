"""SPEC rules: release specifications, their justification against the lot data, and methods.

Under the January 2026 CBER announcement and the 2026 FDA CMC flexibilities guidance, release
criteria may rest on few lots (clinical experience plus a post-approval re-evaluation plan).
These rules never flag such a limit by itself; they recompute what the dossier's lots show and
flag a limit the data do not support, with the figures in the finding (``Gap.data``).

Lot views come from :mod:`cmcflex.rules.lotstats` (pivotal lots: ``use`` equal to the pivotal
phase, or ``justification.lots``); criterion checks from :mod:`cmcflex.rules.common`; statistics
from :mod:`cmcflex.stats`, imported inside the rules that need it (SciPy loads on first use).

Readings of the catalogue made here:
- SPEC-001: a safety or identity test required at every phase is a blocker when missing at every
  phase; any other required test missing is Mi at P1, Ma at P2 and B from P3. A test the
  catalogue requires only from P3 (e.g. adventitious agents for allogeneic cells, rcAAV) takes
  that same Mi/Ma before P3 whatever its category: the gap is visible while there is time to add
  the test, and not graded as if a test needed now were missing.
- SPEC-003 leaves safety tests to SPEC-002 and, from the phase SPEC-001 requires a potency
  criterion (P3), 'report result' potency tests to SPEC-001 (one finding per problem).
- SPEC-009 reports every released lot (released or released under exception) that fails its
  specification, pivotal or not: a released out-of-specification lot needs an investigation
  unless its exception pathway and investigation are on record (then info).
  SPEC-006 asks a different question (would the proposed limit have rejected pivotal lots?), so
  a pivotal lot may appear in both.
- SPEC-005 leaves a statistical or capability limit to SPEC-007 when the stated interval,
  recomputed from the lots the justification rests on, gives the limit: a tolerance limit lies
  outside the lots it came from by design. Lots are called what they are (pivotal, commercial,
  PPQ, clinical or named), and a log-scale interval is quoted back-transformed.
- SPEC-009 judges each lot against the specification version it was released under
  (:func:`cmcflex.rules.common.release_versions`); an earlier clinical lot whose version is not
  recorded is compared with today's criteria at info, never called a failed release.
- When lots.csv gives no disposition for patient lots, they count as released; SPEC-009 says so
  once (a not-evaluated note) and SPEC-006/SPEC-009 findings that rest on such a lot say so too.
- SPEC-013 also reports results (lots.csv, stability.csv) whose unit cannot be converted to their
  test's unit (:mod:`cmcflex.dossier.units`): the loader has left them out of every statistic and
  judgement, and this finding names their rows. A criterion in an incompatible unit is a load error.
- SPEC-012: from P3 a missing bridge is B for methods of potency or quantity tests and Ma for
  other methods.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Iterator

from cmcflex.dossier.criteria import (
    NumericCriterion,
    QualitativeCriterion,
    ReportOnlyCriterion,
    Result,
)
from cmcflex.dossier.ids import IdIndex, describe_miss, visible
from cmcflex.dossier.loader import Dossier, Location
from cmcflex.dossier.lots import Lot, LotResult
from cmcflex.dossier.models import JustificationBasis, Method, MethodStatus, SpecTest, TestCategory
from cmcflex.dossier.vocabulary import TEST_CATEGORY, category_of, is_cqa
from cmcflex.phases import Phase
from cmcflex.rules.base import (
    MA,
    MI,
    Area,
    B,
    Context,
    Gap,
    I,
    NotEvaluated,
    Outcome,
    Severity,
    by_phase,
    rule,
)
from cmcflex.rules.citations import (
    CBER_2026, CFR_211_165, CFR_211_165_E, CFR_211_192_REVIEW, CFR_211_194_A2, CFR_312_23_A7, CFR_600_3_S,
    CFR_610_10, CFR_610_RELEASE, FLEX_2026, IND_GUIDANCES, METHODS_LIFECYCLE_2015, NO_CITATION,
    PHASE_1_GUIDANCE, POTENCY_ASSURANCE, Q14, Q2_R2, Q6B, method_sources, release_test_sources,
    safety_test_sources, section, sources_for_test, union,
)
from cmcflex.rules.remedies import method_remedy, missing_test_remedy, safety_criterion_remedy
from cmcflex.rules.common import (
    NOT_IN_VERSION,
    LotRelease,
    OutOfSpec,
    SpecVersion,
    SpecRef,
    is_numeric,
    lot_id_index,
    lot_indices,
    lot_references,
    lots_with_results,
    misses_in_words,
    not_accepted,
    out_of_spec,
    release_versions,
    spec_index,
    test_record,
    unresolved_lots,
)
from cmcflex.formatting import number, number_range
from cmcflex.rules.lotstats import (ASSUMED_RELEASED, LotSet, SpecLots, assumed_released, lots_by_test,
                                    released_ids)

FILE = "specifications.yaml"
METHODS = "methods.yaml"

FLEXIBILITY = ("a limit from clinical experience with a post-approval re-evaluation plan is the "
               "flexibility CBER announced in January 2026")
WIDE_BASES = frozenset({JustificationBasis.SAFETY, JustificationBasis.COMPENDIAL,
                        JustificationBasis.MECHANISTIC, JustificationBasis.PLATFORM})
STAT_BASES = frozenset({JustificationBasis.STATISTICAL, JustificationBasis.CAPABILITY})
FEW_LOTS = 10  # SPEC-007: fewer lots than this need a re-evaluation plan
REF_COVERAGE, REF_CONFIDENCE = 0.99, 0.95  # reference tolerance limit quoted in findings
AGREE_SD = 0.25  # SPEC-007: a proposed limit within 0.25 SD of the computed one agrees (rounding)


# ---------------------------------------------------------------------------- shared helpers


def _refs(d: Dossier) -> list[SpecRef]:
    return list(spec_index(d).values())


def _label(ref: SpecRef) -> str:
    return f"{ref.spec.material}/{ref.test.attribute}"


def _unit(ref: SpecRef) -> str | None:
    c = ref.test.criterion
    return getattr(c, "unit", None) or ref.test.unit


def _bases(test: SpecTest) -> frozenset[JustificationBasis]:
    return frozenset(test.justification.basis) if test.justification else frozenset()


def _plan_complete(test: SpecTest) -> bool:
    r = test.reevaluation
    return r is not None and r.after_lots is not None and bool((r.method or "").strip())


def _spec_at(d: Dossier) -> Location:
    return d.where(FILE, "specifications") if d.specifications is not None else Location(FILE, 0)


def _method_at(d: Dossier, method_id: str) -> Location:
    if d.methods is None:
        return Location(METHODS, 0)
    for i, m in enumerate(d.methods.methods):
        if m.id == method_id:
            return d.where(METHODS, "methods", i)
    return Location(METHODS, 0)


def _lots_file(d: Dossier) -> str:
    return d.lots.files[0] if d.lots is not None and d.lots.files else "lots.csv"


def _listing(items: Iterable[str], limit: int = 5) -> str:
    items = list(items)
    text = ", ".join(items[:limit])
    return text + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _small_n(n: int, sides: int) -> dict[str, Any]:
    """How little n lots say, for a finding's data: the 95/99 tolerance factor, the coverage mean ± 3 SD
    gives on average, and how often the next lot falls outside the lots' [min, max]."""
    from cmcflex import stats

    if n < 2:
        return {"n": n}
    return {"n": n,
            "tolerance_k": round(stats.tolerance_factor(n, REF_COVERAGE, REF_CONFIDENCE, sides), 4),
            "tolerance": {"coverage": REF_COVERAGE, "confidence": REF_CONFIDENCE, "sides": sides},
            "mean_pm_3sd_expected_coverage": round(stats.mean_k_sd_expected_coverage(n, 3.0), 4),
            "next_lot_outside_min_max": round(2.0 / (n + 1), 4)}


def _few_lots_sentence(n: int, statistical: bool) -> str:
    """The second sentence of a finding resting on few lots: points to the flexibility."""
    lots = f"{n} lot{'s' if n != 1 else ''}"
    if statistical:
        return f" With only {lots} a statistical limit is weak, and {FLEXIBILITY}."
    return f" With {lots}, {FLEXIBILITY}."


def _reference_figures(lots: LotSet, criterion: NumericCriterion, unit: str | None,
                       log: bool = False) -> tuple[str, dict[str, Any]]:
    """mean ∓ 3 SD and the 95/99 tolerance limit of the lots on the criterion's sides; with ``log``
    computed on ln(value) and quoted back-transformed (the scale the justification states)."""
    from cmcflex import stats

    n = lots.n
    values = lots.values()
    if n < 2 or (log and any(v <= 0 for v in values)):
        return "", {}
    s = stats.describe([math.log(v) for v in values] if log else values)
    if not s.sd:
        return "", {}
    back = math.exp if log else (lambda v: v)
    sides = 2 if len(criterion.sides) == 2 else 1
    k = stats.tolerance_factor(n, REF_COVERAGE, REF_CONFIDENCE, sides)
    lo3, hi3 = back(s.mean - 3 * s.sd), back(s.mean + 3 * s.sd)
    lo_k, hi_k = back(s.mean - k * s.sd), back(s.mean + k * s.sd)
    data: dict[str, Any] = {"mean_minus_3sd": _round(lo3), "mean_plus_3sd": _round(hi3),
                            "tolerance": {"coverage": REF_COVERAGE, "confidence": REF_CONFIDENCE, "sides": sides,
                                          "k": round(k, 4), "method": "exact",
                                          "lower": _round(lo_k), "upper": _round(hi_k)}}
    if log:
        data["scale"] = "log"
    of = "of ln(result) of those lots, back-transformed," if log else "of those lots"
    words = []
    if sides == 2:
        words.append(f"mean ± 3 SD {of} gives {number(lo3)} to {number(hi3, unit)}")
    elif "lower" in criterion.sides:
        words.append(f"mean − 3 SD {of} gives {number(lo3, unit)}")
    else:
        words.append(f"mean + 3 SD {of} gives {number(hi3, unit)}")
    if sides == 2:
        words.append(f"the two-sided 95 % confidence / 99 % coverage tolerance interval {of} is "
                     f"{number_range(lo_k, hi_k, unit)}")
    elif "lower" in criterion.sides:
        words.append(f"the one-sided 95 % confidence / 99 % coverage lower tolerance limit {of} is "
                     f"{number(lo_k, unit)}")
    else:
        words.append(f"the one-sided 95 % confidence / 99 % coverage upper tolerance limit {of} is "
                     f"{number(hi_k, unit)}")
    return "; ".join(words), data


def _lots_called(d: Dossier, sl: SpecLots) -> str:
    """What the lots a justification rests on are: 'pivotal' by default; for named lots their use
    ('commercial', 'PPQ', 'PPQ and commercial', 'clinical', 'pivotal'), else 'named'."""
    if not sl.pivotal_named:
        return "pivotal"
    table = d.lots
    if table is None:
        return "named"
    uses = {table.lot_values["use"][i] for i in lot_indices(d, sl.pivotal_ids)}
    if not uses:
        return "named"
    if uses == {d.pivotal_use}:
        return "pivotal"
    if uses <= {"ppq", "commercial"}:
        return " and ".join(w for u, w in (("ppq", "PPQ"), ("commercial", "commercial")) if u in uses)
    if uses <= {"phase_1", "phase_2", "phase_3"}:
        return "clinical"
    return "named"


def _interval_log(test: SpecTest) -> bool:
    interval = test.justification.interval if test.justification else None
    return bool(interval and interval.log)


def _statistical_basis_holds(test: SpecTest, lots: LotSet, criterion: NumericCriterion) -> bool | None:
    """Whether the stated interval, recomputed from the lots, gives the proposed limits (SPEC-007's
    recomputation): None when no interval is stated or it cannot be recomputed."""
    spec = test.justification.interval if test.justification else None
    if spec is None or lots.n < 2 or (spec.log and any(v <= 0 for v in lots.values())):
        return None
    fig = _interval_limits(lots.values(), criterion, test)
    if "computed" not in fig:
        return None
    return not fig.get("disagree") and not any(p.startswith("the stated k") or "log scale" in p
                                               for p in fig["problems"])


def _range_words(summary: dict[str, Any], what: str, unit: str | None) -> str:
    """'; the 6 released lots with a numeric result measured 41.2 to 63.5 uM (mean 52.1 uM, SD 8.04 uM)'."""
    if not summary.get("n"):
        return ""
    words = f"; the {summary['n']} {what} with a numeric result measured {_spread(summary, unit)}"
    return words


def _spread(summary: dict[str, Any], unit: str | None) -> str:
    """'67.8 to 94.1 % (mean 85.72 %, SD 5.54 %)': one way of writing a lot summary everywhere."""
    words = number_range(summary["min"], summary["max"], unit)
    if summary.get("sd") is not None:
        words += f" (mean {number(summary['mean'], unit)}, SD {number(summary['sd'], unit)})"
    return words


def _value(result: Result, unit: str | None = None) -> str:
    """A lot result for a sentence: the word, or the (censored) number as cmcflex.formatting.number
    writes it, with the test's unit where given."""
    return result.word if result.word is not None else f"{result.censor}{number(result.value, unit)}"


def _round(x: float) -> float:
    return float(f"{x:.6g}") if math.isfinite(x) else x


OOS_GUIDANCE = "FDA, Investigating Out-of-Specification (OOS) Test Results for Pharmaceutical Production (May 2022)"


def _several_words(results: dict[str, list[LotResult]], unit: str | None) -> str:
    """' L-302 (400 pg/mL at lots.csv line 12, 480 pg/mL at line 40) has several results, ...': lots
    with several different results for one test, with their rows; empty when there are none."""
    if not results:
        return ""
    shown = []
    for lot, rs in results.items():
        rows, last_file = [], None
        for r in rs:
            rows.append(f"{_value(r.result, unit)} at {r.file + ' ' if r.file != last_file else ''}line {r.line}")
            last_file = r.file
        shown.append(f"{lot} ({', '.join(rows)})")
    verb = "has" if len(results) == 1 else "have"
    return (f" {_listing(shown, 3)} {verb} several results for this test; each is judged and counted, none is "
            "averaged or dropped, and which result is reportable (and why the lot was retested) is the "
            "sponsor's to explain.")


# ---------------------------------------------------------------------------- SPEC-001


def _criterion_missing(d: Dossier, ctx: Context) -> list[tuple[Any, list[SpecRef]]]:
    """(requirement, its tests) where the requirement needs a criterion now and every test is 'report result'."""
    from cmcflex.rules.required_tests import required_tests

    refs = _refs(d)
    out = []
    for req in required_tests(d.modality):
        if not req.needs_criterion or ctx.phase < req.from_phase:
            continue
        matching = [r for r in refs if r.test.test_type in req.tests or category_of(r.test) in req.categories]
        if matching and all(isinstance(r.test.criterion, ReportOnlyCriterion) for r in matching):
            out.append((req, matching))
    return out


NEEDS_CRITERION_REMEDY = (
    "Set an acceptance criterion for the test from the results of the pivotal lots (e.g. no lower than "
    "the lowest clinically effective lot), justified in justification: {basis, text}; a post-approval "
    "re-evaluation plan may say when the limit is revisited, but lots are released against a limit now.")


@rule(
    id="SPEC-001",
    slug="required-release-tests",
    title="The release specification holds the tests the modality requires",
    area=Area.SPEC,
    severity=by_phase(B, B, B, B, B),
    partial=by_phase(MI, MA, None, None, None),
    grading="A missing safety or identity test required at every phase is a blocker at every phase; "
            "another required test (including one required only from phase 3) missing is minor at "
            "phase 1 and major at phase 2, a blocker from phase 3.",
    cites=union((CFR_610_RELEASE, CFR_312_23_A7), release_test_sources()),
    remedy="Add the missing test to the release specification (drug substance, drug product or "
    "vector) with its method and acceptance criterion; safety and identity tests are needed before "
    "the first patient is dosed.",
    why="Release testing for safety, identity, quantity and potency is what shows each lot is fit to "
    "give to a patient; a missing test leaves that unshown.",
    ctd=("3.2.S.4.1", "3.2.P.5.1"),
)
def required_release_tests(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    from cmcflex.rules.required_tests import required_tests

    at = _spec_at(d)
    refs = _refs(d)
    if not refs:
        yield Gap(f"The dossier has no release specification ({FILE} is missing or lists no tests), so "
                  "no safety, identity, quantity or potency test is in place.", at,
                  record="specification", data={"modality": d.modality.value})
        return
    no_criterion = {req.name: matching for req, matching in _criterion_missing(d, ctx)}
    for req in required_tests(d.modality):
        matching = [r for r in refs if r.test.test_type in req.tests or category_of(r.test) in req.categories]
        if req.name in no_criterion:
            first = matching[0]
            plan = first.test.reevaluation
            planned = (f"; the re-evaluation plan (after {plan.after_lots} lots) says when a limit is revisited, "
                       "not what lots are released against") if plan is not None and plan.after_lots else ""
            yield Gap(f"The {req.name} test ({_listing(_label(r) for r in matching)}) has no acceptance "
                      f"criterion ('{first.test.criterion.describe()}'), and from phase 3 on a {req.name} test "
                      f"needs one{planned}.", first.at, record=first.record, remedy=NEEDS_CRITERION_REMEDY,
                      cites=union(sources_for_test(first.test.test_type, category_of(first.test), d.modality),
                                  (CFR_312_23_A7,)),
                      data={"requirement": req.name, "criterion": first.test.criterion.describe(),
                            "reevaluation_plan": _plan_complete(first.test)})
            continue
        if matching:
            continue
        category = req.categories[0] if req.categories else TEST_CATEGORY.get(req.tests[0])
        if category in (TestCategory.SAFETY, TestCategory.IDENTITY) and req.from_phase is Phase.PHASE_1:
            severity: Severity | None = B
        elif ctx.phase is Phase.PHASE_1:
            severity = MI
        elif ctx.phase is Phase.PHASE_2:
            severity = MA
        else:
            severity = None
        when = "at every phase" if req.from_phase is Phase.PHASE_1 else "from phase 3 (the pivotal study) on"
        yield Gap(f"No specification has {req.describe()}, which a {d.modality.value} product needs {when}.",
                  at, record=f"required test {req.name}", severity=severity,
                  cites=union(sources_for_test(req.tests[0] if req.tests else None, category, d.modality),
                              (CFR_312_23_A7,)),
                  remedy=missing_test_remedy(req.name, req.describe(), category, req.from_phase is not Phase.PHASE_1),
                  data={"modality": d.modality.value, "requirement": req.name,
                        "accepted_tests": list(req.tests), "from_phase": req.from_phase.value,
                        "category": category.value if category else None})


# ---------------------------------------------------------------------------- SPEC-002


@rule(
    id="SPEC-002",
    slug="safety-tests-have-criteria",
    title="Safety tests have pass/fail criteria",
    area=Area.SPEC,
    severity=by_phase(B, B, B, B, B),
    cites=union((CFR_312_23_A7,), IND_GUIDANCES, safety_test_sources()),
    remedy="Give the safety test a pass/fail criterion (e.g. 'No growth', 'Negative', '<= 5 EU/kg/h "
    "dose-adjusted'); 'Report result' is a flexibility for characterisation, never for safety.",
    why="A lot is only known to be safe to give when its safety tests can fail; a recorded value "
    "with no limit releases any result.",
    ctd=("3.2.S.4.1", "3.2.P.5.1"),
)
def safety_tests_have_criteria(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    for ref in _refs(d):
        if category_of(ref.test) is TestCategory.SAFETY and isinstance(ref.test.criterion, ReportOnlyCriterion):
            yield Gap(f"Safety test {_label(ref)} has no pass/fail criterion "
                      f"('{ref.test.criterion.describe()}').", ref.at, record=ref.record,
                      cites=union((CFR_312_23_A7,), sources_for_test(ref.test.test_type, TestCategory.SAFETY, d.modality)),
                      remedy=safety_criterion_remedy(ref.test.test_type),
                      data={"criterion": ref.test.criterion.describe(), "category": "safety"})


# ---------------------------------------------------------------------------- SPEC-003


@rule(
    id="SPEC-003",
    slug="report-only-criteria",
    title="A CQA with 'report result' is justified for the phase",
    area=Area.SPEC,
    severity=by_phase(I, MI, MA, B, B),
    cites=(section(Q6B, "3 and 4"), CBER_2026, FLEX_2026),
    remedy="Set an acceptance criterion from the lots made so far; at BLA a 'report result' CQA "
    "needs a post-approval re-evaluation plan stating after how many lots and by which method the "
    "limit will be set (reevaluation: {after_lots, method}).",
    why="'Report result' is acceptable while a CQA is being understood, but a licensed product's "
    "critical attributes need limits, or at least a committed plan to set them.",
    ctd=("3.2.S.4.1", "3.2.S.4.5", "3.2.P.5.1", "3.2.P.5.6"),
)
def report_only_criteria(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    licensing = ctx.phase >= Phase.BLA
    owned_by_001 = {r.record for _, matching in _criterion_missing(d, ctx) for r in matching}
    for ref in _refs(d):
        test = ref.test
        if not isinstance(test.criterion, ReportOnlyCriterion) or not is_cqa(test):
            continue
        if category_of(test) is TestCategory.SAFETY:
            continue  # SPEC-002
        if ref.record in owned_by_001:
            continue  # SPEC-001: a potency criterion is required from phase 3
        plan = _plan_complete(test)
        data: dict[str, Any] = {"criterion": test.criterion.describe(), "reevaluation_plan": plan,
                                "after_lots": test.reevaluation.after_lots if test.reevaluation else None,
                                "method": test.reevaluation.method if test.reevaluation else None}
        figures = ""
        sl = lots_by_test(d).get((ref.spec.material, test.attribute)) if d.lots is not None else None
        if sl is not None and sl.released["lots_with_result"]:
            data["released"] = sl.released
            data["pivotal"] = sl.pivotal.summary()
            figures = _range_words(sl.released, "released lots", _unit(ref))
        if licensing and plan:
            r = test.reevaluation
            yield Gap(f"CQA {_label(ref)} is 'report result' at licensure; the plan to set a limit after "
                      f"{r.after_lots} lots ({r.method}) makes this the flexibility CBER allows, "
                      f"kept visible until the limit is set{figures}.", ref.at, record=ref.record, severity=MI, data=data)
        elif licensing:
            missing = "no post-approval re-evaluation plan" if test.reevaluation is None else \
                "an incomplete re-evaluation plan (it needs after_lots and method)"
            yield Gap(f"CQA {_label(ref)} is 'report result' at licensure with {missing}{figures}.", ref.at,
                      record=ref.record, data=data)
        else:
            yield Gap(f"CQA {_label(ref)} is 'report result'; {_report_only_expectation(test, ctx.phase)}"
                      f"{figures}.", ref.at, record=ref.record, data=data)


def _report_only_expectation(test: SpecTest, phase: Phase) -> str:
    """What a 'report result' CQA needs before licensure: 'allowed' only where SPEC-003 grades it info (P1)."""
    if category_of(test) is TestCategory.POTENCY:
        later = "a potency criterion is needed from phase 3 (SPEC-001)"
    else:
        later = "a criterion (or a post-approval re-evaluation plan) is needed by BLA"
    if phase <= Phase.PHASE_1:
        return f"this is allowed at {phase.label}, and {later}"
    if phase is Phase.PHASE_2:
        return (f"at {phase.label} a provisional criterion from the lots made so far is expected, and "
                f"{later}")
    return (f"at {phase.label} a criterion set from the lots made so far is expected (with a re-evaluation "
            f"plan where it rests on few lots), and {later}")


# ---------------------------------------------------------------------------- SPEC-004


@rule(
    id="SPEC-004",
    slug="criterion-justified",
    title="Each acceptance criterion states its basis and justification",
    area=Area.SPEC,
    severity=by_phase(I, MI, MI, MA, MA),
    cites=(section(Q6B, "3"),),
    remedy="Add justification: {basis: clinical_lots | safety | compendial | statistical | capability "
    "| mechanistic | platform, text: ...} saying where the limit comes from (lots, toxicology, "
    "pharmacopoeia, mechanism).",
    why="A reviewer accepts a limit when its origin is stated; an unexplained limit invites an "
    "information request or a tighter limit.",
    grading="A criterion with no justification, or an empty one, takes the phase's grade; one that "
    "states its text but not its basis (a free-text justification), or its basis but no text, is "
    "info (the other part is not shown); a compendial basis needs no text (the compendium is the "
    "justification).",
    ctd=("3.2.S.4.5", "3.2.P.5.6"),
)
def criterion_justified(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    for ref in _refs(d):
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
    cites=(section(Q6B, "3 and 4 (introduction)"),),
    remedy="Tighten the limit to the range of the pivotal (clinical) lots, or justify the wider limit "
    "with a safety, compendial, mechanistic or platform basis (e.g. toxicology margin, dose-response "
    "data), or state the statistical interval it was derived with (justification.interval) so that it "
    "can be recomputed from the lots named; a limit from few lots may rest on clinical experience with "
    "a post-approval re-evaluation plan.",
    why="Clinical experience shows the product works and is safe within the range the pivotal lots "
    "covered; beyond it, safety and efficacy are unshown unless another basis supports the limit.",
    grading="A wider limit justified in text whose basis is left out is info (the basis is not "
    "shown); one with no justification, or a basis that is none of safety, compendial, mechanistic "
    "or platform, takes the phase's grade.",
    ctd=("3.2.S.4.5", "3.2.P.5.6"),
)
def limit_within_clinical_experience(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    if d.lots is None:
        yield NotEvaluated("lots.csv is missing, so the pivotal lots' range is unknown")
        return
    no_lots: list[str] = []
    open_sides: list[str] = []
    for key, sl in sorted(lots_by_test(d).items()):
        ref, test = sl.ref, sl.ref.test
        criterion = test.criterion
        if not isinstance(criterion, NumericCriterion) or _bases(test) & WIDE_BASES:
            continue
        lots = sl.pivotal
        if not lots.results:
            no_lots.append(_label(ref))
            continue
        statistical = bool(_bases(test) & STAT_BASES)
        holds = _statistical_basis_holds(test, lots, criterion) if statistical else None
        if holds:
            continue  # the stated interval, recomputed, gives the limit: SPEC-007 judges that basis
        unit = _unit(ref)
        called = _lots_called(d, sl)
        wider = []
        data: dict[str, Any] = {"criterion": criterion.describe(), "unit": unit,
                                "basis": sorted(b.value for b in _bases(test))}
        if criterion.min is not None:
            low = lots.lowest()
            if low is None:
                open_sides.append(f"{_label(ref)} (lower)")
            elif criterion.min < low[0]:
                wider.append(f"below the lowest ({number(low[0], unit)}, {low[1]})")
                data["lower"] = {"limit": criterion.min, "lowest_pivotal": low[0], "lot": low[1]}
        if criterion.max is not None:
            high = lots.highest()
            if high is None:
                open_sides.append(f"{_label(ref)} (upper)")
            elif criterion.max > high[0]:
                bound = "below " if any(r.lot_id == high[1] for r in lots.censored) else ""
                wider.append(f"above the highest ({bound}{number(high[0], unit)}, {high[1]})")
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
                    + f" of {len(lots.lot_ids)} {called} lots, {why}")
        if figures:
            sentence += f"; {figures}"
        sentence += "."
        if lots.n < FEW_LOTS:
            data["small_n"] = _small_n(lots.n, sides)
            sentence += _few_lots_sentence(lots.n, bool(_bases(test) & STAT_BASES))
        sentence += _several_words(lots.several, unit)
        if text_only:
            yield Gap(sentence, ref.at, record=ref.record, data={**data, "shown": False}, severity=I,
                      remedy=(f"Record the basis of the {_label(ref)} limit (justification.basis); if the "
                              "text shows no safety, compendial, mechanistic or platform basis, tighten "
                              "the limit to the pivotal range or justify it."))
            continue
        yield Gap(sentence, ref.at, record=ref.record, data=data)
    if no_lots:
        yield NotEvaluated(f"no pivotal-lot results in lots.csv for {_listing(no_lots)}")
    if open_sides:
        yield NotEvaluated(f"censored pivotal results leave the range open for {_listing(open_sides)}")


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
            "flexibilities describe); otherwise the phase's grade.",
    cites=(section(Q6B, "3 and 4 (introduction)"),),
    remedy="Set the limit so that every released pivotal lot meets it, or explain why the rejected "
    "lots' results are not representative (assay or process change, with data) and what the "
    "clinical outcome of those lots was.",
    why="A criterion that would have failed lots that patients received and that supported efficacy "
    "contradicts the clinical evidence it is meant to protect.",
    ctd=("3.2.S.4.4", "3.2.S.4.5", "3.2.P.5.4", "3.2.P.5.6"),
)
def criteria_accept_clinical_lots(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    if d.lots is None:
        yield NotEvaluated("lots.csv is missing, so no pivotal lot can be checked")
        return
    by_test = lots_by_test(d)
    released = released_ids(d)
    assumed = frozenset(assumed_released(d))
    released_pivotal = {key: frozenset(sl.pivotal_ids) & released for key, sl in by_test.items()}
    wanted = frozenset().union(*released_pivotal.values()) if released_pivotal else frozenset()
    if not wanted:
        yield NotEvaluated(f"no released pivotal ({d.pivotal_use}) lots in lots.csv")
        return
    rejected: dict[tuple[str, str], list] = {}
    for oos in out_of_spec(d, wanted):
        key = (oos.ref.spec.material, oos.ref.test.attribute) if oos.ref else None
        if key is not None and oos.lot_id in released_pivotal.get(key, ()):
            rejected.setdefault(key, []).append(oos)
    for key in sorted(rejected):
        sl = by_test[key]
        ref, fails = sl.ref, rejected[key]
        unit = _unit(ref)
        n = len(released_pivotal[key])
        shown = [f"{f.lot_id}: {_value(f.result.result, unit)}" for f in fails]
        message = (f"{_label(ref)} criterion '{ref.test.criterion.describe()}' would have rejected "
                   f"{len(fails)} of {n} released {_lots_called(d, sl)} lots ({_listing(shown)})")
        data: dict[str, Any] = {"criterion": ref.test.criterion.describe(), "unit": unit,
                                "rejected": {f.lot_id: _value(f.result.result) for f in fails},
                                "pivotal": sl.pivotal.summary(), "released": sl.released}
        summary = data["pivotal"]
        if summary.get("n", 0) >= 2:
            called = _lots_called(d, sl)
            message += _range_words(summary, "named lots" if called == "named" else f"released {called} lots", unit)
        assumed_here = sorted(f.lot_id for f in fails if f.lot_id in assumed)
        if assumed_here:
            data["disposition_assumed"] = assumed_here
            message += f" ({ASSUMED_RELEASED})"
        rejected_lots = {f.lot_id for f in fails}
        several = {lot: rs for lot, rs in sl.pivotal.several.items() if lot in rejected_lots}
        retested = _several_words(several, unit)
        earlier = _released_under_earlier_versions(d, ctx, [f.lot_id for f in fails])
        if earlier:
            data["released_under"] = earlier
            yield Gap(f"{message}; {'it was' if len(fails) == 1 else 'they were'} released under "
                      f"version {_listing(sorted(set(earlier.values())))}, and the criterion was revised "
                      f"after approval.{retested}", ref.at, record=ref.record, data=data, severity=I,
                      remedy="Keep the revision's justification (the post-approval lots it rests on) and "
                      "its reporting category on record (changes.yaml, kind: specification).")
            continue
        yield Gap(message + "." + retested, ref.at, record=ref.record, data=data)


def _released_under_earlier_versions(d: Dossier, ctx: Context, lot_ids: list[str]) -> dict[str, str]:
    """After approval: each lot's recorded earlier specification version, when every one has one
    (empty otherwise). A tightening from post-approval experience then leaves them behind."""
    if ctx.phase is not Phase.POST_APPROVAL:
        return {}
    versions = release_versions(d, ctx.current)
    out: dict[str, str] = {}
    for lot_id in lot_ids:
        found = versions.get(lot_id)
        if found is None or not found.spec.known or found.spec.version is None:
            return {}
        out[lot_id] = found.spec.version
    return out


# ---------------------------------------------------------------------------- SPEC-007


def _interval_limits(values: list[float], criterion: NumericCriterion, test: SpecTest) -> dict[str, Any]:
    """Recompute the interval the justification states; returns figures and problems."""
    from cmcflex import stats

    spec = test.justification.interval if test.justification else None
    sides = (spec.sides if spec and spec.sides else (2 if len(criterion.sides) == 2 else 1))
    log = bool(spec and spec.log)
    out: dict[str, Any] = {"sides": sides, "scale": "log" if log else "linear", "problems": []}
    xs = [math.log(v) for v in values] if log else list(values)
    s = stats.describe(xs)
    n = s.n
    out.update(n=n, mean=_round(s.mean), sd=_round(s.sd) if s.sd is not None else None)
    method = spec.method if spec else None
    out["method"] = method
    k: float | None = None
    if method is None:
        out["problems"].append("the justification does not state the interval (method, coverage, "
                               "confidence, k) it was computed with")
        return out
    if method == "min_max":
        lower, upper = s.min, s.max
    else:
        if s.sd is None or s.sd == 0:
            out["problems"].append("the lots' SD is zero, so no interval can be computed")
            return out
        if method == "tolerance_interval":
            cov = spec.coverage or REF_COVERAGE
            conf = spec.confidence or REF_CONFIDENCE
            out.update(coverage=cov, confidence=conf)
            exact = stats.tolerance_factor(n, cov, conf, sides, "exact")
            out["k_exact"] = round(exact, 4)
            if spec.k is not None:
                out["stated_k"] = spec.k
                named = stats.identify_tolerance_factor(spec.k, n, cov, conf, sides)
                out["k_method"] = named
                if named is None:
                    others = ("howe", "guenther") if sides == 2 else ("natrella",)
                    alts = {"exact": exact}
                    for m in others:
                        try:
                            alts[m] = stats.tolerance_factor(n, cov, conf, sides, m)
                        except ValueError:
                            pass
                    out["k_candidates"] = {m: round(v, 4) for m, v in alts.items()}
                    out["problems"].append(
                        f"the stated k = {spec.k:g} matches no tolerance factor for n = {n}, "
                        f"{100 * conf:g} % confidence, {100 * cov:g} % coverage, {sides}-sided ("
                        + ", ".join(f"{m} {v:.4f}" for m, v in alts.items()) + ")")
                    k = exact
                else:
                    k = stats.tolerance_factor(n, cov, conf, sides, named)
            else:
                out["k_method"] = "exact"
                k = exact
        elif method == "mean_k_sd":
            k = spec.k or 3.0
        elif method == "prediction_interval":
            conf = spec.confidence or REF_CONFIDENCE
            out["confidence"] = conf
            k = stats.prediction_factor(n, conf) if sides == 2 else \
                stats.t_ppf(conf, n - 1) * math.sqrt(1 + 1 / n)
        elif method == "ppk":
            target = spec.ppk or 1.33
            out["ppk_target"] = target
            k = 3.0 * target
            if criterion.min is not None or criterion.max is not None:
                observed = stats.ppk(xs, _tr(criterion.min, log), _tr(criterion.max, log)) \
                    if _finite_limits(criterion, log) else None
                out["ppk_observed"] = None if observed is None else round(observed, 3)
        assert k is not None
        out["k"] = round(k, 4)
        lower, upper = s.mean - k * s.sd, s.mean + k * s.sd
    back = math.exp if log else (lambda v: v)
    out["computed"] = {"lower": _round(back(lower)), "upper": _round(back(upper))}
    tol = AGREE_SD * (s.sd or 0.0)
    for side, limit, comp in (("lower", criterion.min, lower), ("upper", criterion.max, upper)):
        if limit is None:
            continue
        t = _tr(limit, log)
        if t is None:
            out["problems"].append(f"the {side} limit {limit:g} cannot be put on the log scale")
            continue
        diff = t - comp if side == "lower" else comp - t  # > 0: proposed is tighter
        if abs(diff) > tol:
            how = "wider" if diff < 0 else "tighter"
            out.setdefault("disagree", {})[side] = {"proposed": limit, "computed": _round(back(comp)), "is": how}
    return out


def _tr(x: float | None, log: bool) -> float | None:
    if x is None:
        return None
    if log:
        return math.log(x) if x > 0 else None
    return x


def _finite_limits(criterion: NumericCriterion, log: bool) -> bool:
    return all(v is None or not log or v > 0 for v in (criterion.min, criterion.max))


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
    cites=(section(Q6B, "2.6 (statistical concepts) and 4"), CBER_2026, FLEX_2026),
    remedy="State the interval (justification.interval: method, coverage, confidence, sides, k, log) "
    "and recompute it from the lots named; with fewer than 10 lots, base the limit on clinical "
    "experience and add a post-approval re-evaluation plan (reevaluation: {after_lots, method}).",
    why="A limit called statistical is only as good as the lots and the interval behind it; with "
    "few lots the interval is wide and uninformative, and a reviewer will recompute it.",
    ctd=("3.2.S.4.5", "3.2.P.5.6"),
)
def statistical_basis_sound(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    stat_refs = [r for r in _refs(d) if _bases(r.test) & STAT_BASES]
    if not stat_refs:
        return
    if d.lots is None:
        yield NotEvaluated("lots.csv is missing, so no statistical basis can be recomputed")
        return
    by_key = lots_by_test(d)
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
        who = _lots_called(d, sl)
        plan = _plan_complete(test)
        base_data: dict[str, Any] = {"criterion": criterion.describe(), "unit": unit, "basis": basis,
                                     "lots_used": who, "pivotal": lots.summary(), "released": sl.released,
                                     "reevaluation_plan": plan}
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
        yield Gap(message, ref.at, record=ref.record, data=base_data)
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


@rule(
    id="SPEC-008",
    slug="reevaluation-plan-complete",
    title="A re-evaluation plan states the number of lots and the method",
    area=Area.SPEC,
    severity=by_phase(None, None, None, MI, MI),
    cites=(CBER_2026, FLEX_2026),
    remedy="Complete the plan: reevaluation: {after_lots: <number of commercial lots>, method: "
    "<e.g. '95 % confidence / 99 % coverage tolerance interval of all released lots'>}.",
    why="A post-approval commitment to revisit a limit is only checkable when it says when (after "
    "how many lots) and how the limit will be re-derived.",
    ctd=("3.2.S.4.5", "3.2.P.5.6"),
)
def reevaluation_plan_complete(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    for i, j, spec, test in d.spec_tests():
        r = test.reevaluation
        if r is None or _plan_complete(test):
            continue
        missing = [name for name, v in (("the number of lots (after_lots)", r.after_lots),
                                        ("the method", (r.method or "").strip() or None)) if v is None]
        yield Gap(f"The re-evaluation plan of {spec.material}/{test.attribute} does not state "
                  f"{' or '.join(missing)}.", d.where(FILE, "specifications", i, "tests", j, "reevaluation"),
                  record=test_record(spec.material, test.attribute),
                  data={"after_lots": r.after_lots, "method": r.method})


# ---------------------------------------------------------------------------- SPEC-009


UNRECORDED_REMEDY = (
    "Record the specification version the lot was released against (lots.csv column spec_version) "
    "and that version's criteria under previous_versions in specifications.yaml (or effective_from "
    "dates on the versions), so the lot is judged against the specification in force at its release; "
    "if it did not meet that specification either, investigate (21 CFR 211.192) and record the "
    "exception pathway and investigation.")
EXCEPTION_REMEDY = (
    "Record how the lot was released outside its specification and what the investigation found: the "
    "lots.csv columns exception_pathway (e.g. expanded_access, physician_request, "
    "quality_unit_exceptional_release) and investigation (the investigation report id, 21 CFR 211.192).")


@rule(
    id="SPEC-009",
    slug="lots-meet-specification",
    title="Released lots meet the specification",
    area=Area.SPEC,
    severity=by_phase(MI, MA, MA, MA, MA),
    partial=by_phase(I, I, I, I, I),
    grading="A released lot judged against the specification version in force at its release takes "
            "the phase's grade; a lot released under a documented exception (pathway and investigation "
            "on record), or a clinical lot outside today's criteria whose release version is not recorded, "
            "is info (a failed pass/fail safety test excepted: it fails every version).",
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
    if not spec_index(d):
        yield NotEvaluated(f"no specification tests in {FILE}")
        return
    released = released_ids(d)
    if not released:
        yield NotEvaluated("no released lots in lots.csv")
        return
    assumed = frozenset(assumed_released(d))
    if assumed:
        yield NotEvaluated(f"{ASSUMED_RELEASED} ({len(assumed)} lot{'s' if len(assumed) != 1 else ''}: "
                           f"{_listing(sorted(assumed), 3)})")
    by_test = lots_by_test(d)
    versions = release_versions(d, ctx.current)
    groups = _version_groups(versions, released)
    failures: dict[str, list[OutOfSpec]] = {}
    table = d.lots
    unjudged: list[str] = []
    unshown: list[tuple[LotResult, SpecRef, NumericCriterion]] = []
    for (material, attribute), sl in sorted(by_test.items()):
        unit = _unit(sl.ref)
        for version, lot_ids in groups:
            criterion = version.criterion(sl.ref) if version is not None else sl.ref.test.criterion
            if version is not None and version.material != material:
                continue
            if isinstance(criterion, (str, ReportOnlyCriterion)):
                continue  # not in the lot's version, or report only
            for res, verdict in not_accepted(d, material, attribute, criterion, lot_ids):  # one pass
                if verdict is None:
                    if res.result.word is None and res.result.censor and isinstance(criterion, NumericCriterion):
                        unshown.append((res, sl.ref, criterion))
                        continue
                    unjudged.append(f"{res.lot_id} {_label(sl.ref)} '{_value(res.result, unit)}' against "
                                    f"'{criterion.describe()}'")
                    continue
                failures.setdefault(res.lot_id, []).append(OutOfSpec(res.lot_id, res, criterion, sl.ref))
    exceptions = {lot_id for lot_id, disp in zip(table.lot_ids, table.lot_values["disposition"])
                  if disp == "released_under_exception"}
    for lot_id in sorted(exceptions | set(failures)):
        lot = table.lot(lot_id)
        assert lot is not None
        yield _lot_finding(d, lot, failures.get(lot_id, []), versions.get(lot_id), lot_id in assumed,
                           by_test)._replace(material=lot.material)
    yield from _unshown_conformance(unshown, assumed, versions)
    yield from _missing_results(d, released, assumed, versions)
    if unjudged:
        many = len(unjudged) != 1
        yield NotEvaluated(f"{len(unjudged)} released result{'s' if many else ''} cannot be judged against "
                           f"{'their criteria' if many else 'its criterion'} (a result word against a numeric "
                           f"limit or a number against a word): {_listing(unjudged, 3)}")


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
    out: list[tuple[SpecVersion | None, frozenset[str]]] = [(None, released - versions.keys())]
    out += [(v, frozenset(by_version[v])) for v in ordered]
    return out


def _version_proof(ref: SpecRef) -> bool:
    """A safety test with a pass/fail criterion ('No growth', 'Negative'): every version of a
    specification has it, so a released lot that fails it failed whatever version it was released under."""
    return category_of(ref.test) is TestCategory.SAFETY and isinstance(ref.test.criterion, QualitativeCriterion)


def _lot_finding(d: Dossier, lot: Lot, fails: list[OutOfSpec], found: LotRelease | None, assumed: bool,
                 by_test: dict[tuple[str, str], SpecLots]) -> Gap:
    """SPEC-009's finding on one lot: out of specification, or released under exception."""
    lot_id = lot.id
    unrecorded = found is not None and not found.spec.known
    unknown = unrecorded and not any(f.ref is not None and _version_proof(f.ref) for f in fails)

    def today(f: OutOfSpec) -> str:
        return "today's " if unrecorded and not (f.ref is not None and _version_proof(f.ref)) else ""

    shown = [f"{_label(f.ref) if f.ref else '?'} {_value(f.result.result, _unit(f.ref) if f.ref else None)}"
             f" against {today(f)}'{f.criterion.describe()}'" for f in fails]
    data: dict[str, Any] = {
        "disposition": lot.disposition, "use": lot.use,
        "pivotal": any(f.ref is not None and lot_id in by_test[(f.ref.spec.material, f.ref.test.attribute)]
                       .pivotal_ids for f in fails),
        "results": [{"test": _label(f.ref) if f.ref else None, "value": _value(f.result.result),
                     "unit": _unit(f.ref) if f.ref else None,
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
    context = _range_words(summary, "released lots", _unit(first)) if first else ""
    retests = _retests(d, lot_id, fails)
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
        assumption = f" ({ASSUMED_RELEASED})"
    version = (f" (specification version {found.spec.version}, {found.how})"
               if found is not None and found.spec.known else "")
    documented = f"through {pathway}, with investigation {investigation} on record"
    missing = [name for name, value in (("its exception pathway (exception_pathway)", pathway),
                                        ("its investigation (investigation)", investigation)) if not value]
    if lot.disposition == "released_under_exception":
        what = f" with {_listing(shown)}" if shown else ""
        if not missing:
            return Gap(f"Lot {lot_id} was released under exception{what}{version} {documented}{context}.",
                       at, record=record, data=data, severity=I)
        if len(missing) == 2:
            return Gap(f"Lot {lot_id} was released under exception{what}{version}; its documented pathway and "
                       f"investigation must be on file, and lots.csv records neither{context}.", at, record=record,
                       data=data, remedy=EXCEPTION_REMEDY)
        on_file = f"pathway {pathway}" if pathway else f"investigation {investigation}"
        return Gap(f"Lot {lot_id} was released under exception{what}{version}; lots.csv records its {on_file} "
                   f"but not {missing[0]}{context}.", at, record=record, data=data, remedy=EXCEPTION_REMEDY)
    if unknown:
        assert found is not None
        return Gap(f"Released lot {lot_id}{assumption} measured {_listing(shown)}; lots.csv does not record the "
                   f"specification version it was released against ({found.how}), so this does not show a "
                   f"failed release{context}.", at, record=record, data=data, severity=I,
                   remedy=UNRECORDED_REMEDY)
    if not missing:
        return Gap(f"Released lot {lot_id}{assumption} fails its specification{version}: {_listing(shown)}, "
                   f"released {documented}{context}.", at, record=record, data=data, severity=I)
    if len(missing) == 1:
        on_file = f"exception pathway {pathway}" if pathway else f"investigation {investigation}"
        return Gap(f"Released lot {lot_id}{assumption} fails its specification{version}: {_listing(shown)}; "
                   f"lots.csv records its {on_file} but not {missing[0]}{context}.", at, record=record,
                   data=data, remedy=EXCEPTION_REMEDY)
    return Gap(f"Released lot {lot_id}{assumption} fails its specification{version}: {_listing(shown)}, and no "
               f"exception is recorded, so the failure needs an investigation (21 CFR 211.192){context}.",
               at, record=record, data=data)


CENSORED_REMEDY = ("Retest the lot (or report the result) with a method whose reporting limit shows "
                   "conformance to the acceptance limit, or document why the lot was released on this "
                   "result (21 CFR 211.165(a)).")
MISSING_REMEDY = ("Add the lot's results for these tests to lots.csv, or document why the lot was released "
                  "without them (21 CFR 211.165(a)).")


def _retests(d: Dossier, lot_id: str, fails: list[OutOfSpec]) -> dict[str, list[LotResult]]:
    """'<test> of <lot>' -> every result of the lot for each failing test that has more than one."""
    assert d.lots is not None
    out: dict[str, list[LotResult]] = {}
    refs = {(f.ref.spec.material, f.ref.test.attribute): f.ref for f in fails if f.ref is not None}
    for ref in refs.values():
        results = list(d.lots.results(ref.spec.material, ref.test.attribute, {lot_id}))
        if len({(r.result, r.method) for r in results}) > 1:
            out[f"{lot_id} {_label(ref)}"] = results
    return out


def _unshown_conformance(unshown: list[tuple[LotResult, SpecRef, NumericCriterion]], assumed: frozenset[str],
                         versions: dict[str, LotRelease]) -> Iterator[Outcome]:
    """Released lots whose censored result cannot show conformance (e.g. <5.0 against <= 3.5)."""
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
        assumption = f" ({ASSUMED_RELEASED})" if res.lot_id in assumed else ""
        data: dict[str, Any] = {"test": _label(ref), "value": _value(res.result), "unit": unit,
                                "criterion": criterion.describe(), "shows_conformance": None}
        if assumption:
            data["disposition_assumed"] = True
        found = versions.get(res.lot_id)
        if found is not None and not found.spec.known:
            data["spec_version"] = {"version": None, "known": False, "how": found.how}
            yield Gap(f"Released lot {res.lot_id}{assumption}: the {_label(ref)} result {value} does not show "
                      f"conformance to today's '{criterion.describe()}' ({why}); lots.csv does not record the "
                      f"specification version it was released against ({found.how}).",
                      Location(res.file, res.line), record=f"lot {res.lot_id}", remedy=UNRECORDED_REMEDY,
                      data=data, severity=I, material=ref.spec.material)
            continue
        yield Gap(f"Released lot {res.lot_id}{assumption}: the {_label(ref)} result {value} does not show "
                  f"conformance to '{criterion.describe()}': {why}.", Location(res.file, res.line),
                  record=f"lot {res.lot_id}", remedy=CENSORED_REMEDY, data=data, material=ref.spec.material)


def _missing_results(d: Dossier, released: frozenset[str], assumed: frozenset[str],
                     versions: dict[str, LotRelease]) -> Iterator[Outcome]:
    """Released lots with no result row for a test of their material's specification: one finding per lot.
    A test the lot's specification version did not have is not expected."""
    table = d.lots
    assert table is not None
    materials = table.lot_values["material"]
    indices = lot_indices(d, released)
    kinds = set(materials)
    by_material: dict[str, frozenset[int] | set[int]] = {}
    if len(kinds) == 1:  # one material: no Python step per lot
        by_material[next(iter(kinds)) or ""] = indices
    else:
        for li in indices:
            by_material.setdefault(materials[li] or "", set()).add(li)
    missing: dict[int, list[str]] = {}
    index = spec_index(d)
    for (material, attribute) in index:  # specification order
        lots = by_material.get(material)
        if not lots:
            continue
        for li in lots - lots_with_results(d, material, attribute):
            found = versions.get(table.lot_ids[li])
            if found is not None and found.spec.criterion(index[(material, attribute)]) == NOT_IN_VERSION:
                continue
            missing.setdefault(li, []).append(attribute)
    for li in sorted(missing, key=lambda i: (table.files[table.lot_file[i]], table.lot_line[i], i)):
        lot = table.lot(table.lot_ids[li])
        assert lot is not None
        tests = missing[li]
        assumption = f" ({ASSUMED_RELEASED})" if lot.id in assumed else ""
        data: dict[str, Any] = {"material": lot.material, "missing_tests": tests, "disposition": lot.disposition,
                                "use": lot.use}
        if assumption:
            data["disposition_assumed"] = True
        found = versions.get(lot.id)
        if found is not None and not found.spec.known and not any(_version_proof(index[(lot.material, t)])
                                                                 for t in tests):
            data["spec_version"] = {"version": None, "known": False, "how": found.how}
            yield Gap(f"Released lot {lot.id}{assumption} has no result for {', '.join(tests)} in lots.csv, which "
                      f"today's specification lists; lots.csv does not record the specification version it was "
                      f"released against ({found.how}).", Location(lot.file, lot.line), record=f"lot {lot.id}",
                      remedy=UNRECORDED_REMEDY, data=data, severity=I, material=lot.material)
            continue
        yield Gap(f"Released lot {lot.id}{assumption} has no result for {', '.join(tests)} in lots.csv; a lot is "
                  "released only on a complete set of release results.", Location(lot.file, lot.line),
                  record=f"lot {lot.id}", remedy=MISSING_REMEDY, data=data, material=lot.material)


# ---------------------------------------------------------------------------- SPEC-010


@rule(
    id="SPEC-010",
    slug="potency-assay-fit",
    title="Potency is measured by a quantitative assay linked to the mechanism of action",
    area=Area.SPEC,
    severity=by_phase(I, MI, MA, B, B),
    cites=(CFR_610_10, CFR_600_3_S, POTENCY_ASSURANCE),
    remedy="Use (or add to the potency assurance strategy) a quantitative assay that measures the "
    "mechanism of action, e.g. target-cell killing or cytokine release for a CAR T, transgene "
    "expression and function for a gene therapy; record quantitative: true and moa_linked: true "
    "in methods.yaml.",
    why="Potency is the attribute that ties a lot to clinical effect; a qualitative or indirect assay "
    "cannot show that each lot will work as the pivotal lots did.",
    grading="A method recorded not quantitative or not MoA-linked, or a qualitative criterion, takes the "
    "phase's grade; a potency test that records no method, or a method that leaves out moa_linked "
    "(or quantitative, where no numeric criterion shows it), is info (not shown).",
    ctd=("3.2.S.4.1", "3.2.S.4.2", "3.2.P.5.1", "3.2.P.5.2"),
)
def potency_assay_fit(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    refs = [r for r in _refs(d) if category_of(r.test) is TestCategory.POTENCY]
    if not refs:
        yield NotEvaluated("no potency test in the specifications (SPEC-001 reports a missing one)")
        return
    if d.methods is None:
        yield NotEvaluated(f"{METHODS} is missing, so the potency assay cannot be assessed")
        return
    for ref in refs:
        test = ref.test
        problems = []
        unshown = ""
        method: Method | None = d.method(test.method)
        if test.method is None:
            unshown = "records no method, so whether its assay is quantitative and linked to the mechanism " \
                "of action is not shown"
        elif method is None:
            continue  # SPEC-013 reports the dangling id
        else:
            # a numeric criterion shows the assay gives numbers: quantitative is inferred
            quantitative = True if method.quantitative is None and is_numeric(test.criterion) else method.quantitative
            facts = (("quantitative", quantitative), ("linked to the mechanism of action", method.moa_linked))
            is_not = [name for name, v in facts if v is False]
            unstated = [name for name, v in facts if v is None]
            if is_not:
                problems.append(f"uses method {method.id}, which is not {' or '.join(is_not)}")
            if unstated:
                keys = [k for k, v in (("quantitative", quantitative), ("moa_linked", method.moa_linked)) if v is None]
                unshown = (f"does not record whether it is {' or '.join(unstated)} ({', '.join(keys)}), so "
                           "that is not shown")
        if isinstance(test.criterion, QualitativeCriterion):
            problems.append(f"has a qualitative criterion ('{test.criterion.describe()}')")
        if not problems and not unshown:
            continue
        if not problems:
            said = unshown if test.method is None else f"uses method {test.method}, which {unshown}"
            yield Gap(f"Potency test {_label(ref)} {said}.", ref.at, record=ref.record, severity=I,
                      remedy=("Name the potency method (method) and record in methods.yaml whether it is "
                              "quantitative and linked to the mechanism of action (quantitative, moa_linked)."
                              if test.method is None else
                              f"Record in methods.yaml whether method {test.method} is quantitative and "
                              "measures the mechanism of action (quantitative, moa_linked)."),
                      data={"method": test.method, "quantitative": method.quantitative if method else None,
                            "moa_linked": method.moa_linked if method else None,
                            "criterion": test.criterion.describe(), "shown": False})
            continue
        early = ctx.phase < Phase.PHASE_3
        tail = (" (acceptable early in development; a quantitative, MoA-linked assay is expected by the "
                "pivotal study)" if early else "")
        also = "" if not unshown else f"; it {unshown}" if test.method is None else f"; method {test.method} {unshown}"
        yield Gap(f"Potency test {_label(ref)} " + ", and ".join(problems) + also + tail + ".", ref.at, record=ref.record,
                  data={"method": test.method, "quantitative": method.quantitative if method else None,
                        "moa_linked": method.moa_linked if method else None,
                        "criterion": test.criterion.describe()})


# ---------------------------------------------------------------------------- SPEC-011


def _tests_by_method(d: Dossier) -> dict[str, list[SpecRef]]:
    out: dict[str, list[SpecRef]] = {}
    for ref in _refs(d):
        if ref.test.method:
            out.setdefault(ref.test.method, []).append(ref)
    return out


def _one_material(refs: list[SpecRef]) -> str | None:
    """The material of every test a method serves, when they share one (for its CTD sections)."""
    materials = {r.spec.material for r in refs}
    return materials.pop() if len(materials) == 1 else None


@rule(
    id="SPEC-011",
    slug="method-validation-by-phase",
    title="Release methods are qualified or validated as the phase requires",
    area=Area.SPEC,
    severity=by_phase(MA, MA, MA, B, B),
    cites=(Q2_R2, Q14, CFR_211_165_E, CFR_211_194_A2, section(PHASE_1_GUIDANCE, "V.F.1")),
    remedy="Qualify safety methods before first-in-human use (or use the compendial method); "
    "qualify every release method by phase 3; for the BLA, validate each method (verify a compendial "
    "one) and give the report id in methods.yaml (status, report).",
    why="A result is only as good as the method behind it: safety results must be reliable from the "
    "first patient, and licensure needs validated methods for every release test.",
    grading="A method recorded below the phase's expectation takes the phase's grade; a method that "
    "does not record its status, or (from BLA) its report id, is info (not shown). status: verified "
    "reads the method as compendial.",
    ctd=("3.2.S.4.3", "3.2.P.5.3"),
)
def method_validation_by_phase(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    uses = _tests_by_method(d)
    if not uses:
        return
    if d.methods is None:
        yield NotEvaluated(f"{METHODS} is missing, so the validation status of release methods is unknown")
        return
    for method_id in sorted(uses):
        method = d.method(method_id)
        if method is None:
            continue  # SPEC-013
        refs = uses[method_id]
        safety = any(category_of(r.test) is TestCategory.SAFETY for r in refs)
        tests = _listing(_label(r) for r in refs)
        if method.status is None:
            yield Gap(f"Method {method_id} (used by {tests}) does not record its status, so whether it is "
                      "qualified or validated is not shown.", _method_at(d, method_id),
                      record=f"method {method_id}", severity=I, material=_one_material(refs),
                      remedy=f"Record the status of method {method_id} in methods.yaml (in_development, "
                             "qualified, validated or verified) with its report id (report).",
                      data={"status": None, "compendial": method.compendial, "report": method.report,
                            "tests": [_label(r) for r in refs], "safety": safety})
            continue
        status = method.status.value
        compendial = (method.compendial if method.compendial is not None  # as recorded; else verified
                      else method.status is MethodStatus.VERIFIED)        # reads compendial
        suitable = compendial or status in ("qualified", "validated", "verified")
        problem = None
        severity = None
        if ctx.phase >= Phase.BLA:
            if compendial:
                if status not in ("verified", "validated"):
                    problem, fix = f"is compendial but {status}, not verified", "verify"
            elif status != "validated":
                problem, fix = f"is {status}, not validated" + (
                    " (verification applies to compendial methods only)" if status == "verified" else ""), "validate"
            if problem is None and not (method.report or "").strip():
                problem, fix = (f"is {status}; its {'verification' if compendial else 'validation'} report "
                                "is not shown (report)", "report")
                severity = I
        elif ctx.phase >= Phase.PHASE_3:
            if not suitable:
                problem, fix = f"is {status}; release methods need to be qualified by phase 3", "qualify_pivotal"
        elif safety and not suitable:
            problem, fix = (f"is {status}; a safety method must be qualified (or compendial) before use in "
                            "patients", "qualify_safety")
        if problem is None:
            continue
        categories = {category_of(r.test) for r in refs}
        yield Gap(f"Method {method_id} (used by {tests}) {problem}.", _method_at(d, method_id),
                  record=f"method {method_id}", severity=severity, material=_one_material(refs),
                  cites=method_sources(ctx.phase is Phase.PHASE_1, categories,
                                       [r.test.test_type for r in refs], compendial),
                  remedy=method_remedy(fix, categories, compendial),
                  data={"status": status, "compendial": method.compendial, "report": method.report,
                        "tests": [_label(r) for r in refs], "safety": safety})


# ---------------------------------------------------------------------------- SPEC-012


@rule(
    id="SPEC-012",
    slug="method-change-bridged",
    title="A method that replaced another has a bridging study",
    area=Area.SPEC,
    severity=by_phase(MI, MA, B, B, B),
    cites=(Q14, METHODS_LIFECYCLE_2015),
    remedy="Run a bridging study (the same samples, including retained pivotal-lot samples, tested by "
    "both methods; agreement or a conversion factor) and name it in methods.yaml (bridging_study).",
    why="Limits and clinical doses were set with results of the old method; without a bridge the new "
    "method's numbers cannot be read against them, which for potency or dose can shift every patient's dose.",
    ctd=("3.2.S.4.3", "3.2.P.5.3"),
)
def method_change_bridged(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    if d.methods is None:
        return
    uses = _tests_by_method(d)
    for i, method in enumerate(d.methods.methods):
        if not method.replaces or (method.bridging_study or "").strip():
            continue
        refs = uses.get(method.id, [])
        staked = [r for r in refs if category_of(r.test) in (TestCategory.POTENCY, TestCategory.QUANTITY)]
        dose_defining = bool(staked)
        severity = MA if ctx.phase >= Phase.PHASE_3 and not dose_defining else None
        used = f" (used by {_listing(_label(r) for r in refs)})" if refs else ""
        stake = ""
        if staked:
            kinds = sorted({"potency" if category_of(r.test) is TestCategory.POTENCY else "dose-defining quantity"
                            for r in staked}, reverse=True)
            types = sorted({r.test.test_type for r in staked})
            named = f" ({', '.join(types)})" if set(types) - {"potency"} else ""
            stake = f", and it is the {' and '.join(kinds)} test{'s' if len(types) > 1 else ''}{named}"
        yield Gap(f"Method {method.id}{used} replaced {method.replaces} with no bridging study{stake}.",
                  d.where(METHODS, "methods", i), record=f"method {method.id}", severity=severity,
                  material=_one_material(refs),
                  data={"replaces": method.replaces, "tests": [_label(r) for r in refs],
                        "potency_or_quantity": dose_defining})


# ---------------------------------------------------------------------------- SPEC-013


@rule(
    id="SPEC-013",
    slug="references-resolve",
    title="Tests, lots and sites refer to records that exist",
    area=Area.SPEC,
    severity=by_phase(MA, MA, MA, MA, MA),
    cites=(NO_CITATION,),
    remedy="Correct the id to one that exists (the finding suggests the closest), or add the missing "
    "record: the method to methods.yaml, the site to dossier.yaml, the test to the specification.",
    why="A reference that points nowhere silently drops data from every check that follows it: an "
    "attribute outside the specification is never judged, an unknown method is never assessed.",
    grading="An id that points nowhere takes the rule's grade; a test that names no method is info "
    "(not shown).",
    ctd=("3.2.S.4.1", "3.2.S.4.4", "3.2.P.5.1", "3.2.P.5.4"),
)
def references_resolve(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    method_ids = [m.id for m in d.methods.methods] if d.methods is not None else []
    if d.methods is None and any(r.test.method for r in _refs(d)):
        yield NotEvaluated(f"{METHODS} is missing, so method ids cannot be resolved")
    for ref in _refs(d):
        mid = ref.test.method
        if mid is None:
            yield Gap(f"Test {_label(ref)} names no method, so which method tests it is not shown.", ref.at,
                      record=ref.record, data={"method": None}, severity=I,
                      remedy=f"Name the method of {_label(ref)} (`method`: an id in {METHODS}).")
        elif d.methods is not None and mid not in method_ids:
            yield Gap(f"Test {_label(ref)} names method '{visible(mid)}', which {METHODS} does not list"
                      f"{_did_you_mean(mid, method_ids)}.", ref.at, record=ref.record,
                      data={"method": mid, "suggestion": _closest(mid, method_ids)})
    yield from _unit_exclusions(d)
    if d.lots is None:
        return
    yield from _lot_references(d, method_ids)


UNIT_ROWS_LISTED = 10  # lines named in a unit finding's message (the data lists them all, up to 200)


def _unit_exclusions(d: Dossier) -> Iterator[Outcome]:
    """Results in a unit that cannot be converted to their test's unit: once per test and file kind
    (lots, stability), with their units and rows. The loader has already left them out of every
    statistic and judgement."""
    index = spec_index(d)
    groups: dict[tuple[str, str, str], list[Any]] = {}
    for ex in d.unit_exclusions:
        groups.setdefault((ex.source, ex.material, ex.attribute), []).append(ex)
    for (source, material, attribute), found in sorted(groups.items()):
        ref = index.get((material, attribute))
        rows = sorted((r, ex.unit) for ex in found for r in ex.rows)
        units = {u: 0 for _, u in rows}
        for _, u in rows:
            units[u] += 1
        file = rows[0][0][0]
        lines = [str(r[1]) for r, _ in rows if r[0] == file]
        n = len(rows)
        shown = ", ".join(lines[:UNIT_ROWS_LISTED]) + (f" and {n - UNIT_ROWS_LISTED} more"
                                                        if n > UNIT_ROWS_LISTED else "")
        other_files = sorted({r[0] for r, _ in rows} - {file})
        where = f"{file} line{'s' if n > 1 else ''} {shown}" + (
            f" (and in {', '.join(other_files)})" if other_files else "")
        written = _listing([f"'{u}'" + (f" ({c})" if len(units) > 1 else "") for u, c in units.items()])
        first = found[0]
        unit_words = (f"the test's unit '{first.test_unit}'" if first.declared else
                      f"'{first.test_unit}', the unit of the first result (no specification test states one)")
        yield Gap(f"{n} result{'s' if n != 1 else ''} of {material}/{attribute} ({where}) {'are' if n != 1 else 'is'}"
                  f" in {written}, which cannot be converted to {unit_words}; "
                  f"{'they are' if n != 1 else 'it is'} left out of every statistic and judgement.",
                  Location(file, rows[0][0][1]), record=ref.record if ref else test_record(material, attribute),
                  remedy=UNIT_REMEDY,
                  data={"source": source, "unit": rows[0][1], "units": dict(list(units.items())[:50]),
                        "test_unit": first.test_unit, "test_unit_declared": first.declared, "results": n,
                        "rows": [{"file": f, "line": line, "lot": lot, "unit": u}
                                 for (f, line, lot), u in rows[:200]]})


UNIT_REMEDY = ("Report the results in the test's unit or in one convertible to it (cmcflex converts "
               "prefixes and multipliers such as ng/mL to pg/mL or x10^6 cells to cells), or correct the unit "
               "written; a number in another unit would be judged against the wrong limit.")


def _closest(word: str, choices: Iterable[str]) -> str | None:
    """The id ``word`` was meant to be: equal but for case, spaces or invisible characters, else
    one edit away, else the closest spelling (see :class:`cmcflex.dossier.ids.IdIndex`)."""
    return IdIndex(choices).suggest([word])[word]


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    best = _closest(word, choices)
    return f" (did you mean '{visible(best)}'?)" if best else ""


def _lot_references(d: Dossier, method_ids: list[str]) -> Iterator[Outcome]:
    table = d.lots
    assert table is not None
    index = spec_index(d)
    if d.specifications is None:
        yield NotEvaluated(f"{FILE} is missing, so lots.csv attributes cannot be matched to tests")
    else:
        spec_materials = sorted({m for m, _ in index})
        unknown_material: dict[str, list[tuple[str, int, str]]] = {}
        for (material, attribute), col in table.columns.items():
            if (material, attribute) in index or not len(col):
                continue
            file, line = table.files[col.file[0]], col.line[0]
            if material not in spec_materials:
                unknown_material.setdefault(material, []).append((file, line, attribute))
                continue
            attrs = sorted(a for m, a in index if m == material)
            yield Gap(f"lots.csv has results for {material}/{attribute}, which no {material} specification "
                      f"test covers{_did_you_mean(attribute, attrs)}.", Location(file, line),
                      record=test_record(material, attribute),
                      data={"material": material, "attribute": attribute,
                            "suggestion": _closest(attribute, attrs), "results": len(col)})
        for material in sorted(unknown_material):
            rows = sorted(unknown_material[material], key=lambda r: (r[0], r[1]))
            file, line, _ = rows[0]
            yield Gap(f"lots.csv has results for material '{material}', which no specification covers"
                      f"{_did_you_mean(material, spec_materials)}.", Location(file, line),
                      record=f"material {material}",
                      data={"material": material, "attributes": sorted(r[2] for r in rows),
                            "suggestion": _closest(material, spec_materials)})
    site_ids = [s.id for s in d.info.sites]
    sites = table.lot_values["site"]
    for site in sorted({x for x in sites if x} - set(site_ids)):
        li = sites.index(site)  # the first lot naming it
        yield Gap(f"lots.csv names site '{visible(site)}', which dossier.yaml does not list"
                  f"{_did_you_mean(site, site_ids)}.", Location(table.files[table.lot_file[li]], table.lot_line[li]),
                  record=f"site {site}", data={"site": site, "suggestion": _closest(site, site_ids)})
    if d.methods is not None and table.methods:
        first: dict[int, tuple[str, int]] = {}
        wanted = [i for i, m in enumerate(table.methods) if m not in method_ids]
        for col in table.columns.values() if wanted else ():
            for mi in wanted:  # a column's rows are in reading order: its first use is its earliest
                try:
                    k = col.method.index(mi)
                except ValueError:
                    continue
                where = (table.files[col.file[k]], col.line[k])
                if mi not in first or where < first[mi]:
                    first[mi] = where
        for mi in sorted(first, key=lambda i: table.methods[i]):
            name = table.methods[mi]
            yield Gap(f"lots.csv names method '{visible(name)}', which {METHODS} does not list"
                      f"{_did_you_mean(name, method_ids)}.", Location(*first[mi]), record=f"method {name}",
                      data={"method": name, "suggestion": _closest(name, method_ids)})
    for ref in lot_references(d):
        misses = unresolved_lots(d, ref.ids)
        if not misses:
            continue
        item = ref.ids.index(next(iter(misses)))
        yield Gap(f"{ref.what} names lot{'s' if len(misses) > 1 else ''} {misses_in_words(misses)}, absent "
                  "from lots.csv; lot ids must match lots.csv exactly (case, spaces and invisible characters "
                  "included), or the lot is left out of every check that uses the list.",
                  d.where(ref.file, *ref.path, item), record=ref.record,
                  remedy="Write each lot id exactly as lots.csv has it (the finding names the closest lot id), "
                  "or add the lot's results to lots.csv.",
                  data={"file": ref.file, "field": ".".join(str(p) for p in ref.path),
                        "missing_lots": list(misses), "suggestions": misses})
    yield from _stability_near_misses(d)


def _stability_near_misses(d: Dossier) -> Iterator[Outcome]:
    """stability.csv lot ids that lots.csv holds only in another case or with other invisible
    characters: the stability rules would not find the lot's process. (A stability lot absent from
    lots.csv altogether may be a stability-only lot, and is not reported.)"""
    table = d.lots
    if table is None or not d.stability:
        return
    first: dict[str, tuple[str, int]] = {}
    for point in d.stability:
        if point.lot_id not in table.index:
            first.setdefault(point.lot_id, (point.file, point.line))
    index = lot_id_index(d)
    for lot_id, where in first.items():
        meant = index.same_but_spelling(lot_id)
        if meant is None:
            continue
        yield Gap(f"stability.csv names lot {describe_miss(lot_id, meant)}, which lots.csv does not hold as "
                  "written, so the stability rules cannot tell the lot's process.", Location(*where),
                  record=f"lot {visible(lot_id)}",
                  remedy="Write the lot id in stability.csv exactly as lots.csv has it.",
                  data={"file": where[0], "lot": lot_id, "suggestion": meant})
