"""SPEC-001 to SPEC-003: the release tests a modality requires, pass/fail criteria for safety tests,
and 'report result' CQAs.

Readings of the catalogue made here:
- SPEC-001: a safety or identity test required at every phase is a blocker when missing at every
  phase; any other required test missing is Mi at P1, Ma at P2 and B from P3. A test the
  catalogue requires only from P3 (e.g. adventitious agents for allogeneic cells, rcAAV) takes
  that same Mi/Ma before P3 whatever its category: the gap is visible while there is time to add
  the test, and not graded as if a test needed now were missing.
- SPEC-003 leaves safety tests to SPEC-002 and, from the phase SPEC-001 requires a potency
  criterion (P3), 'report result' potency tests to SPEC-001 (one finding per problem).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cmcflex.dossier.criteria import ReportOnlyCriterion
from cmcflex.dossier.loader import Dossier, Location
from cmcflex.dossier.models import SpecTest, TestCategory
from cmcflex.dossier.vocabulary import TEST_CATEGORY, category_of, is_cqa
from cmcflex.phases import Phase
from cmcflex.rules.base import MA, MI, Area, B, Context, Gap, I, Outcome, Severity, by_phase, rule
from cmcflex.rules.citations import (
    CBER_2026,
    CFR_312_23_A7,
    CFR_610_RELEASE,
    FLEX_2026,
    IND_GUIDANCES,
    Q6B,
    release_test_sources,
    safety_test_sources,
    section,
    sources_for_test,
    union,
)
from cmcflex.rules.common import SpecRef
from cmcflex.rules.lotstats import MAX_LISTED
from cmcflex.rules.remedies import missing_test_remedy, safety_criterion_remedy
from cmcflex.rules.specifications.records import FILE, _plan_complete, _refs
from cmcflex.rules.specifications.wording import _label, _listing, _range_words, _unit
from cmcflex.vocabulary import LotUse


def _spec_at(d: Dossier) -> Location:
    return d.where(FILE, "specifications") if d.specifications is not None else Location(FILE, 0)


# ---------------------------------------------------------------------------- SPEC-001


def _criterion_missing(d: Dossier, ctx: Context) -> list[tuple[Any, list[SpecRef]]]:
    """(requirement, its tests) where the requirement needs a criterion now and every test is 'report result'."""
    from cmcflex.rules.required_tests import required_tests

    refs = _refs(ctx.views)
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
    refs = _refs(ctx.views)
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
        article = "an" if d.modality.value[0] in "aeiou" else "a"
        yield Gap(f"No specification has {req.describe()}, which {article} {d.modality.value} product needs {when}.",
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
    cites=union((CFR_312_23_A7,), IND_GUIDANCES, safety_test_sources(), (FLEX_2026,)),
    remedy="Give the safety test a pass/fail criterion (e.g. 'No growth', 'Negative', '<= 5 EU/kg/h "
    "dose-adjusted'); 'Report result' is a flexibility for characterisation, never for safety.",
    why="A lot is only known to be safe to give when its safety tests can fail; a recorded value "
    "with no limit releases any result. The permissive release criteria the May 2026 guidance allows "
    "for investigational lots concern product quality; the safety tests the IND guidances recommend "
    "keep pass/fail criteria at every phase.",
    ctd=("3.2.S.4.1", "3.2.P.5.1"),
    flexibilities=("CD3",),
)
def safety_tests_have_criteria(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    for ref in _refs(ctx.views):
        if category_of(ref.test) is TestCategory.SAFETY and isinstance(ref.test.criterion, ReportOnlyCriterion):
            yield Gap(f"Safety test {_label(ref)} has no pass/fail criterion "
                      f"('{ref.test.criterion.describe()}').", ref.at, record=ref.record,
                      cites=union((CFR_312_23_A7,), sources_for_test(ref.test.test_type, TestCategory.SAFETY, d.modality)),
                      remedy=safety_criterion_remedy(ref.test.test_type),
                      data={"criterion": ref.test.criterion.describe(), "category": "safety"})


# ---------------------------------------------------------------------------- SPEC-003


EFFICACY_USES = (LotUse.PHASE_2, LotUse.PHASE_3)  # with the dossier's pivotal phase


def efficacy_lots(d: Dossier, material: str) -> list[str]:
    """The lots of ``material`` made for an efficacy or pivotal study (lots.csv ``use`` phase_2,
    phase_3 or the dossier's pivotal phase), in file order."""
    if d.lots is None:
        return []
    uses = {*EFFICACY_USES, d.pivotal_use}
    return [lot_id for lot_id, use, mat in zip(d.lots.lot_ids, d.lots.lot_column("use"), d.lots.lot_column("material"))
            if use in uses and mat == material]


@rule(
    id="SPEC-003",
    slug="report-only-criteria",
    title="A CQA with 'report result' is justified for the phase",
    area=Area.SPEC,
    severity=by_phase(I, MI, MA, B, B),
    cites=(section(Q6B, "3 and 4"), FLEX_2026, CBER_2026),
    remedy="Set an acceptance criterion from the lots made so far; at BLA a 'report result' CQA "
    "needs a post-approval re-evaluation plan stating after how many lots and by which method the "
    "limit will be set (reevaluation: {after_lots, method}).",
    why="'Report result' is acceptable while a CQA is being understood (the May 2026 guidance allows "
    "permissive criteria for investigational lots), but a licensed product's critical attributes need "
    "limits, or at least a committed plan to set them. That numerical criteria are to be set before "
    "phase 2 or 3 efficacy studies rests on one secondary source reconstructing the guidance, so a "
    "'report result' CQA on lots made for such a study is graded conservatively: minor at phase 1, "
    "never a blocker before BLA.",
    partial=by_phase(MI, None, None, MI, MI),
    grading="At phase 1, a 'report result' CQA of a material with lots already made for an efficacy or "
    "pivotal study (lots.csv use phase_2, phase_3 or the pivotal phase) is minor, one grade above the "
    "phase's info. From BLA, a 'report result' CQA with a complete post-approval re-evaluation plan "
    "(after_lots and method) is minor, kept visible until the limit is set; without one it is a blocker.",
    ctd=("3.2.S.4.1", "3.2.S.4.5", "3.2.P.5.1", "3.2.P.5.6"),
    flexibilities=("CD3", "CD4", "CS1"),
)
def report_only_criteria(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    licensing = ctx.phase >= Phase.BLA
    owned_by_001 = {r.record for _, matching in _criterion_missing(d, ctx) for r in matching}
    for ref in _refs(ctx.views):
        test = ref.test
        if not isinstance(test.criterion, ReportOnlyCriterion) or not is_cqa(test, ref.spec.tests):
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
        sl = ctx.views.lots_by_test.get((ref.spec.material, test.attribute)) if d.lots is not None else None
        if sl is not None and sl.released["lots_with_result"]:
            data["released"] = sl.released
            data["pivotal"] = sl.pivotal.summary()
            figures = _range_words(sl.released, "released lots", _unit(ref))
        if licensing and plan:
            r = test.reevaluation
            assert r is not None  # a plan is a stated reevaluation
            yield Gap(f"CQA {_label(ref)} is 'report result' at licensure; the plan to set a limit after "
                      f"{r.after_lots} lots ({r.method}) makes this the flexibility CBER allows, "
                      f"kept visible until the limit is set{figures}.", ref.at, record=ref.record, severity=MI, data=data)
        elif licensing:
            missing = "no post-approval re-evaluation plan" if test.reevaluation is None else \
                "an incomplete re-evaluation plan (it needs after_lots and method)"
            yield Gap(f"CQA {_label(ref)} is 'report result' at licensure with {missing}{figures}.", ref.at,
                      record=ref.record, data=data)
        else:
            efficacy = efficacy_lots(d, ref.spec.material)
            if efficacy:
                data["efficacy_lots"] = efficacy[:MAX_LISTED]
                data["efficacy_lot_count"] = len(efficacy)
            yield Gap(f"CQA {_label(ref)} is 'report result'; "
                      f"{_report_only_expectation(test, ctx.phase, _efficacy_words(d, efficacy))}{figures}.",
                      ref.at, record=ref.record, data=data,
                      severity=MI if efficacy and ctx.phase is Phase.PHASE_1 else None)


def _efficacy_words(d: Dossier, lots: list[str]) -> str:
    """'lots L-201 and L-202 were made for an efficacy or pivotal study (phase 2)' or ''."""
    if not lots or d.lots is None:
        return ""
    index, uses = d.lots.index, d.lots.lot_column("use")
    kinds = sorted({(uses[index[x]] or "").replace("_", " ") for x in lots})
    named = _listing(lots)
    many = len(lots) > 1
    return (f"lot{'s' if many else ''} {named} {'were' if many else 'was'} made for an efficacy or pivotal "
            f"study ({', '.join(kinds)}), and numerical criteria are expected before such a study")


def _report_only_expectation(test: SpecTest, phase: Phase, efficacy: str = "") -> str:
    """What a 'report result' CQA needs before licensure: 'allowed' only where SPEC-003 grades it info
    (phase 1 with no lot made for an efficacy or pivotal study)."""
    if category_of(test) is TestCategory.POTENCY:
        later = "a potency criterion is needed from phase 3 (SPEC-001)"
    else:
        later = "a criterion (or a post-approval re-evaluation plan) is needed by BLA"
    if phase <= Phase.PHASE_1:
        return f"{efficacy}; {later}" if efficacy else f"this is allowed at {phase.label}, and {later}"
    also = f"; {efficacy}" if efficacy else ""
    if phase is Phase.PHASE_2:
        return (f"at {phase.label} a provisional criterion from the lots made so far is expected, and "
                f"{later}{also}")
    return (f"at {phase.label} a criterion set from the lots made so far is expected (with a re-evaluation "
            f"plan where it rests on few lots), and {later}{also}")
