"""SPEC-010 to SPEC-012 and SPEC-014: the methods behind the release tests. A quantitative,
MoA-linked potency assay, qualification or validation as the phase requires, a bridge for a
replaced method, and the support of a validation on one lot or on a platform method.

Readings of the catalogue made here:
- SPEC-012: from P3 a missing bridge is B for methods of potency or quantity tests and Ma for
  other methods.
- SPEC-014 is apart from SPEC-011: SPEC-011 judges the status the phase requires (validated, with
  its report, at BLA); SPEC-014 what a validation leaning on one lot (CS4) or on a platform
  method (CS5) of the May 2026 guidance needs on record. One finding per problem.
"""

from __future__ import annotations

from collections.abc import Iterator

from cmcflex.dossier.criteria import QualitativeCriterion
from cmcflex.dossier.loader import Dossier, Location
from cmcflex.dossier.models import Method, Modality, TestCategory
from cmcflex.dossier.vocabulary import category_of, is_compendial
from cmcflex.phases import Phase
from cmcflex.rules.base import MA, MI, Area, B, Context, Gap, I, NotEvaluated, Outcome, by_phase, rule
from cmcflex.rules.citations import (
    CBER_2026,
    CFR_211_165_E,
    CFR_211_194_A2,
    CFR_600_3_S,
    CFR_610_10,
    FLEX_2026,
    METHODS_LIFECYCLE_2015,
    PHASE_1_GUIDANCE,
    POTENCY_ASSURANCE,
    PRIOR_KNOWLEDGE_2026,
    Q2_R2,
    Q14,
    method_sources,
    section,
)
from cmcflex.rules.common import SpecRef, is_numeric
from cmcflex.rules.remedies import method_remedy
from cmcflex.rules.specifications.records import METHODS, _refs
from cmcflex.rules.specifications.wording import _label, _listing
from cmcflex.views import DossierViews


def _method_at(d: Dossier, method_id: str) -> Location:
    if d.methods is None:
        return Location(METHODS, 0)
    for i, m in enumerate(d.methods.methods):
        if m.id == method_id:
            return d.where(METHODS, "methods", i)
    return Location(METHODS, 0)


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
    refs = [r for r in _refs(ctx.views) if category_of(r.test) is TestCategory.POTENCY]
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


def _one_material(refs: list[SpecRef]) -> str | None:
    """The material of every test a method serves, when they share one (for its CTD sections)."""
    materials = {r.spec.material for r in refs}
    return materials.pop() if len(materials) == 1 else None


def _tests_by_method(views: DossierViews) -> dict[str, list[SpecRef]]:
    out: dict[str, list[SpecRef]] = {}
    for ref in _refs(views):
        if ref.test.method:
            out.setdefault(ref.test.method, []).append(ref)
    return out


@rule(
    id="SPEC-011",
    slug="method-validation-by-phase",
    title="Release methods are qualified or validated as the phase requires",
    area=Area.SPEC,
    severity=by_phase(MA, MA, MA, B, B),
    cites=(Q2_R2, Q14, CFR_211_165_E, CFR_211_194_A2, section(PHASE_1_GUIDANCE, "V.F.1"), CBER_2026),
    remedy="Qualify safety methods before first-in-human use (or use the compendial method); "
    "qualify every release method by phase 3; for the BLA, validate each method (verify a compendial "
    "one) and give the report id in methods.yaml (status, report).",
    why="A result is only as good as the method behind it: safety results must be reliable from the "
    "first patient, and licensure needs validated methods for every release test. In between, "
    "qualified methods are enough: CBER reviews method validation on a lifecycle approach, refined "
    "as development goes on (January 2026 web page; the May 2026 guidance is read the same way, "
    "an inference), so a qualified method is never a gap before the BLA.",
    grading="A method recorded below the phase's expectation takes the phase's grade; a method that "
    "does not record its status, or (from BLA) its report id, is info (not shown). status: verified "
    "reads the method as compendial.",
    ctd=("3.2.S.4.3", "3.2.P.5.3"),
    flexibilities=("CD2",),
)
def method_validation_by_phase(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    uses = _tests_by_method(ctx.views)
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
        compendial = is_compendial(method)
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
    partial=by_phase(None, None, MA, MA, MA),
    grading="From phase 3, an unbridged method that no potency or dose-defining quantity test uses is "
    "major; one that such a test uses is a blocker.",
    ctd=("3.2.S.4.3", "3.2.P.5.3"),
)
def method_change_bridged(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    if d.methods is None:
        return
    uses = _tests_by_method(ctx.views)
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


# ---------------------------------------------------------------------------- SPEC-014


def _platform_cites(d: Dossier) -> tuple[str, ...]:
    """The May 2026 guidance; for a genome-edited product also the June 2026 prior-knowledge draft."""
    return (FLEX_2026, PRIOR_KNOWLEDGE_2026) if d.modality is Modality.GENE_EDITED_CELLS else (FLEX_2026,)


_PLATFORM_FIELDS = {
    "source": "the product or platform whose validation is leveraged (platform.source)",
    "applicability": "why that validation applies to this product (platform.applicability)",
}


@rule(
    id="SPEC-014",
    slug="method-validation-support",
    title="A validation on one lot or on a platform method records its support",
    area=Area.SPEC,
    severity=by_phase(None, None, None, MA, MA),
    partial=by_phase(None, None, None, MI, MI),
    cites=(FLEX_2026, PRIOR_KNOWLEDGE_2026, Q2_R2, Q14),
    remedy="For a validation on one lot, record why that lot represents the product "
    "(representative_lot_justification: e.g. made by the commercial process from patient material, "
    "results mid-range of the pivotal lots); for a platform method, record the platform source, its "
    "validation report and why the validation applies to this product (platform: {source, report, "
    "applicability}).",
    why="The May 2026 guidance accepts analytical method validation on a single representative lot "
    "with adequate support, and leaning on platform methods validated for similar products. A "
    "single lot shows the method on the range of the product only when it represents that range; "
    "platform data carry over only where the product is similar. The platform flexibility rests on "
    "one secondary source reconstructing the guidance (and, for genome-edited products, on the June "
    "2026 prior-knowledge draft), so a platform method missing its support is graded conservatively "
    "(minor).",
    grading="A single-lot validation without the justification of the lot's representativeness takes "
    "the phase's grade (major); a platform method without its source or applicability is minor; a "
    "platform method whose report is left out, and a flexibility used with its support on record, "
    "are info notes. A compendial (verified) method is verified, not validated: its lots are not read.",
    ctd=("3.2.S.4.3", "3.2.P.5.3"),
    flexibilities=("CS4", "CS5"),
)
def method_validation_support(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    if d.methods is None:
        return
    uses = _tests_by_method(ctx.views)
    for i, method in enumerate(d.methods.methods):
        refs = uses.get(method.id, [])
        at = d.where(METHODS, "methods", i)
        record = f"method {method.id}"
        lots = list(dict.fromkeys(method.validation_lots or []))
        if len(lots) == 1 and not is_compendial(method):
            yield _single_lot(d, method, lots[0], at, record, _one_material(refs))
        if method.platform is not None:
            yield _platform(d, method, at, record, _one_material(refs))


def _single_lot(d: Dossier, method: Method, lot: str, at: Location, record: str, material: str | None) -> Gap:
    data: dict[str, object] = {"validation_lots": [lot],
                               "representative_lot_justification": method.representative_lot_justification}
    found = d.lots.lot(lot) if d.lots is not None else None
    if found is not None:
        data["lot_use"] = found.use
    if (method.representative_lot_justification or "").strip():
        return Gap(f"Method {method.id} was validated on one lot ({lot}), with the justification of its "
                   "representativeness on record: the single-lot validation the May 2026 guidance accepts "
                   "with adequate support.", at, record=record, severity=I, data=data, material=material,
                   cites=(FLEX_2026, Q2_R2))
    return Gap(f"Method {method.id} was validated on a single lot ({lot}) with no justification that the "
               "lot represents the product (representative_lot_justification); the May 2026 guidance "
               "accepts single-lot validation with adequate support, not without it.", at, record=record,
               data=data, material=material, cites=(FLEX_2026, Q2_R2),
               remedy=f"Record why lot {lot} represents the product for method {method.id} "
                      "(representative_lot_justification: its process, starting material and where its results "
                      "lie among the clinical lots), or extend the validation to more lots.")


def _platform(d: Dossier, method: Method, at: Location, record: str, material: str | None) -> Gap:
    p = method.platform
    assert p is not None
    data: dict[str, object] = {"platform": {"source": p.source, "report": p.report, "applicability": p.applicability}}
    missing = [k for k in ("source", "applicability") if not (getattr(p, k) or "").strip()]
    cites = _platform_cites(d)
    if missing:
        data["missing"] = missing
        return Gap(f"Method {method.id} leans on a platform validation without "
                   + " or ".join(_PLATFORM_FIELDS[k] for k in missing) + "; platform methods may be leveraged "
                   "across similar products where the similarity is justified.", at, record=record,
                   severity=MI, data=data, material=material, cites=cites,
                   remedy=f"Record for method {method.id} " + " and ".join(_PLATFORM_FIELDS[k] for k in missing)
                          + (", with the platform validation report (platform.report)" if not p.report else "")
                          + "; or validate the method on this product.")
    unshown = "" if p.report else "; its report is not shown (platform.report)"
    return Gap(f"Method {method.id} leans on the platform validation of {p.source}, with the "
               f"justification that it applies to this product on record{unshown}: the platform flexibility "
               "of the May 2026 guidance.", at, record=record, severity=I, data=data, material=material,
               cites=cites,
               remedy=(f"Name the platform validation report of method {method.id} (platform.report)."
                       if not p.report else None))
