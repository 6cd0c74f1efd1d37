"""Record-specific remedies for rules that cover several tests, methods or controls.

A finding names one record (a missing potency test, a sterility method, the batch-record control);
its remedy says what to do for that record, not for every record the rule covers.
"""

from __future__ import annotations

from cmcflex.dossier.models import TestCategory

_SAFETY_CRITERION: dict[str, str] = {
    "sterility": "'No growth'",
    "mycoplasma": "'Negative' (or 'Not detected')",
    "endotoxin": "a limit from the maximum dose, e.g. '<= 5 EU/kg/h dose-adjusted'",
    "replication_competent_virus": "'Not detected'",
    "adventitious_agents": "'Negative' for each agent tested",
    "wild_type_revertant": "'Not detected' (or a limit below the infectious dose)",
}


def missing_test_remedy(name: str, described: str, category: TestCategory | None, from_pivotal: bool) -> str:
    """SPEC-001: add the one missing test, with what a test of its kind needs."""
    where = "to the release specification (drug substance, drug product or vector)"
    if category is TestCategory.SAFETY or category is TestCategory.IDENTITY:
        return (f"Add {described} {where} with its method and a pass/fail acceptance criterion; "
                f"{'a safety' if category is TestCategory.SAFETY else 'an identity'} test is needed "
                "before the first patient is dosed.")
    if category is TestCategory.POTENCY:
        return (f"Add a potency assay {where}, quantitative and linked to the mechanism of action, "
                "with an acceptance criterion set from the clinical lots, before the pivotal study.")
    when = " before the pivotal study" if from_pivotal else ""
    return f"Add {described} {where} with its method and acceptance criterion{when}."


def safety_criterion_remedy(test_type: str) -> str:
    """SPEC-002: a pass/fail criterion for this safety test."""
    example = _SAFETY_CRITERION.get(test_type, "'Negative'")
    return (f"Give the {test_type.replace('_', ' ')} test a pass/fail criterion (e.g. {example}); "
            "'Report result' is a flexibility for characterisation, never for safety.")


def method_remedy(problem: str, categories: set[TestCategory | None], compendial: bool) -> str:
    """SPEC-011: what this method needs, by the phase's expectation it misses (``problem``:
    "verify", "validate", "report", "qualify_pivotal" or "qualify_safety")."""
    kind = ("potency assay" if TestCategory.POTENCY in categories
            else "safety method" if TestCategory.SAFETY in categories else "method")
    report = "verification" if compendial else "validation"
    if problem == "verify":
        return (f"Verify the compendial {kind} for this product (suitability under actual conditions "
                "of use) and record status: verified with the verification report in methods.yaml.")
    if problem == "validate":
        extra = (" (accuracy, precision, linearity and range of the relative potency, specificity)"
                 if kind == "potency assay" else "")
        return (f"Validate the {kind}{extra} for the BLA and record status: validated with the "
                "validation report in methods.yaml.")
    if problem == "report":
        return f"Name the {report} report of the {kind} in methods.yaml (report)."
    if problem == "qualify_safety":
        return ("Qualify the safety method before it releases lots for patients (or use the compendial "
                "method) and record status: qualified with its report in methods.yaml.")
    return (f"Qualify the {kind} before pivotal lots are released against it and record status: "
            "qualified with its report in methods.yaml.")


CONTROL_REMEDIES: dict[str, str] = {
    "written_procedures": ("Approve written production and process-control procedures and set "
                           "controls.written_procedures to in_place with the document ids as evidence."),
    "batch_records": ("Approve a master batch record, record each lot in an executed batch record, and "
                      "set controls.batch_records to in_place with the document ids as evidence."),
    "deviation_management": ("Approve a procedure for recording and investigating deviations (root "
                             "cause, impact on other lots, CAPA, quality unit approval) and set "
                             "controls.deviation_management to in_place."),
    "oos_investigation": ("Approve a procedure for investigating out-of-specification results (phase "
                          "I laboratory investigation, full investigation, impact on other lots, quality "
                          "unit approval) and set controls.oos_investigation to in_place."),
}
