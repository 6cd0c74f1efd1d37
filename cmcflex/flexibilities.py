"""The points of the May 2026 CMC flexibilities guidance, and what cmcflex needs on record for each.

FDA/CBER, *Chemistry, Manufacturing, and Controls Flexibilities for Developing Human Cellular and
Gene Therapy Products for a Biologics License Application*, final guidance, May 5, 2026, which
follows the web page *Flexible Requirements for Cell and Gene Therapies to Advance Innovation*
(January 11, 2026). The point ids (G3, CD1 ... CS7) and the sourcing tags follow the project's
reconstruction of the guidance from public secondary sources: ``2+`` stated by two or more
independent sources, ``1`` by one (a rule built on it accepts the flexibility when its
justification is on record, and says so in its ``why``), ``inf`` inferred (never a blocker).

The rules that model a point name it in their metadata (``flexibilities=``); `cmcflex
flexibilities` and docs/flexibilities.md join the two. A leaf module: it imports no rule.
"""

from __future__ import annotations

from typing import NamedTuple

from cmcflex.dossier.models import FlexibilityTopic


class Point(NamedTuple):
    """One flexibility (or general condition) of the guidance and how a dossier shows it."""

    id: str
    section: str
    title: str
    condition: str
    """What FDA attaches to the flexibility, as cmcflex checks it."""
    fields: tuple[str, ...]
    """The dossier fields that hold the flexible choice and its conditions."""
    sourcing: str
    """``2+``, ``1`` or ``inf`` (see the module docstring)."""
    topic: FlexibilityTopic | None = None
    """The ``fda_interactions[].topics`` value of the choice, where FLEX-001 asks for an interaction."""


SECTIONS = {
    "general": "Scope and general conditions",
    "clinical": "Clinical development",
    "validation": "Process validation",
    "commercial": "Commercial specifications, analytical methods and stability",
}

_POINTS = (
    Point("G3", "general", "Discuss a flexibility with CBER before relying on it",
          "An FDA interaction (INTERACT, pre-IND, Type B/C/D, pre-BLA or a written response) on record "
          "for each flexible choice the dossier makes, with its date, minutes and outcome.",
          ("dossier.yaml: fda_interactions[].type, date, minutes, outcome, topics",), "2+"),
    Point("CD1", "clinical", "Phase-appropriate CGMP: phase 1 material is exempt from part 211",
          "The exemption ends once material is made for phase 2 or 3: a site making such material "
          "works under part 211.",
          ("dossier.yaml: sites[].gmp_regime, phase",), "2+"),
    Point("CD2", "clinical", "Process and method validation reviewed on a lifecycle approach",
          "Method qualification and process validation graded by phase: qualified methods and no PPQ "
          "before the pivotal study, validated methods and PPQ by licensure.",
          ("methods.yaml: methods[].status", "ppq.yaml"), "inf"),
    Point("CD3", "clinical", "Permissive release criteria for investigational lots",
          "Safety tests keep pass/fail criteria at every phase; other criteria may be wide or "
          "'report result' early.",
          ("specifications.yaml: tests[].criterion",), "2+"),
    Point("CD4", "clinical", "Numerical criteria before efficacy studies",
          "A CQA of a material with lots made for an efficacy or pivotal study (use phase_2, phase_3 "
          "or the pivotal phase) has a numerical criterion; 'report result' is then minor at phase 1 "
          "(one source: never a blocker before BLA).",
          ("specifications.yaml: tests[].criterion, cqa", "lots.csv: use, material"), "1"),
    Point("CD5", "clinical", "Minor changes rest on limited comparability data",
          "A minor (low-risk) change has a risk assessment and a proportionate summary of data; a "
          "moderate or major change has a comparability study.",
          ("changes.yaml: risk, risk_assessment, summary, comparability",), "2+"),
    Point("PV1", "validation", "Three PPQ lots are not required",
          "No minimum number of PPQ lots (21 CFR 601.20 and the CGMP regulations set none).",
          ("ppq.yaml: protocol.lots_planned",), "2+", FlexibilityTopic.PPQ_LOT_COUNT),
    Point("PV2", "validation", "The number of PPQ lots is justified from process understanding",
          "The justification covers product and process understanding (with evidence), process "
          "complexity and the control strategy, each in its own field or plainly in the text (the "
          "evidence may be the documents the text cites); 'three is customary' is not a justification. "
          "The factors are named by one source (PV2a).",
          ("ppq.yaml: protocol.lot_count_justification.{approach, text, evidence, process_understanding, "
           "process_complexity, control_strategy}",), "2+", FlexibilityTopic.PPQ_LOT_COUNT),
    Point("PV3", "validation", "Concurrent release of PPQ lots",
          "The protocol states why (e.g. each autologous lot is one patient's dose), commits each lot "
          "to all release criteria and plans for distributed lots if PPQ fails (FDA PV guidance, "
          "2011, section V); a stated PPQ production limitation stands for the rationale.",
          ("ppq.yaml: protocol.concurrent_release.{planned, rationale, lots_meet_release_criteria, "
           "failure_plan, production_limitation}",), "2+", FlexibilityTopic.CONCURRENT_RELEASE),
    Point("PV4", "validation", "PPQ may complete after licensure",
          "Where PPQ production limitations exist: concurrent release planned and justified by the "
          "stated limitation, and a post-licensure plan to complete PPQ (its id or text) whose "
          "completion date has not passed. Lots not yet made and a report in progress are then "
          "accepted; failing lots, a report not validated and open deviations are not.",
          ("ppq.yaml: protocol.concurrent_release.{planned, production_limitation}",
           "ppq.yaml: post_licensure_completion.{plan, text, lots_remaining, complete_by}"),
          "1", FlexibilityTopic.POST_LICENSURE_PPQ),
    Point("CS1", "commercial", "Release criteria set flexibly from few lots",
          "Each criterion states its basis and justification; a limit wider than clinical experience "
          "has a safety, compendial, mechanistic or platform basis; a 'report result' CQA at BLA has a "
          "post-approval re-evaluation plan (number of lots and method).",
          ("specifications.yaml: tests[].justification, criterion, reevaluation.{after_lots, method}",), "2+",
          FlexibilityTopic.REPORT_ONLY_CRITERIA),
    Point("CS2", "commercial", "Criteria re-evaluated after approval from commercial experience",
          "A re-evaluation plan with the number of lots, the method and the evidence of consistent "
          "quality it rests on.",
          ("specifications.yaml: tests[].reevaluation.{after_lots, method, evidence}",), "2+",
          FlexibilityTopic.CRITERIA_REEVALUATION),
    Point("CS3", "commercial", "The re-evaluation route is agreed in advance",
          "The plan names its route (prior approval supplement, comparability protocol, CBE-30 or "
          "annual report).",
          ("specifications.yaml: tests[].reevaluation.route",), "1", FlexibilityTopic.CRITERIA_REEVALUATION),
    Point("CS4", "commercial", "Method validation on a single representative lot",
          "The lots the validation used are recorded, and one lot is supported by a justification "
          "of its representativeness (a compendial method is verified, not validated).",
          ("methods.yaml: methods[].validation_lots, representative_lot_justification",), "2+",
          FlexibilityTopic.SINGLE_LOT_METHOD_VALIDATION),
    Point("CS5", "commercial", "Platform analytical methods",
          "The platform source and a justification that its validation applies to this product; the "
          "platform validation report id is asked for as a note.",
          ("methods.yaml: methods[].platform.{source, report, applicability}",), "1",
          FlexibilityTopic.PLATFORM_METHOD),
    Point("CS6", "commercial", "Shelf life from representative clinical lots",
          "Long-term data on lots of an earlier process version count when a change record (or chain "
          "of changes) to the commercial process concludes the processes comparable, and the "
          "justification and a post-approval stability commitment are on record.",
          ("dossier.yaml: clinical_lot_stability.{justification, change, commitment}",
           "changes.yaml: from_version, to_version, comparability.conclusion", "lots.csv: process_version"),
          "1", FlexibilityTopic.CLINICAL_LOT_STABILITY),
    Point("CS7", "commercial", "Exceptions to reserve-sample retention",
          "Where material is limited (an autologous lot administered whole), the exception to 21 CFR "
          "211.170 / 600.13 retention is documented with its justification; its scope and what is "
          "retained instead are asked for (not shown, info) when left out.",
          ("gmp.yaml: controls.reserve_samples.{status, exception.{justification, scope, alternative}}",),
          "1", FlexibilityTopic.RESERVE_SAMPLES),
)

POINTS: dict[str, Point] = {p.id: p for p in _POINTS}
