"""FLEX-001: each flexible choice the dossier makes was discussed with CBER.

The May 2026 CMC flexibilities guidance asks sponsors, repeatedly, to discuss a CMC approach with
the review division before relying on a flexibility (point G3 of :mod:`cmcflex.flexibilities`,
stated by several independent sources). The flexible choices are found in the records that make
them (:func:`flexible_choices`); an FDA interaction covers a choice when its ``topics`` name it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from cmcflex.ctd import narrow
from cmcflex.dossier.criteria import ReportOnlyCriterion
from cmcflex.dossier.loader import Dossier, Location
from cmcflex.dossier.models import FdaInteraction, FlexibilityTopic, InteractionOutcome, TestCategory
from cmcflex.dossier.vocabulary import category_of, is_compendial, is_cqa
from cmcflex.phases import Phase
from cmcflex.rules.base import MA, MI, Area, Context, Gap, I, Outcome, by_phase, rule
from cmcflex.rules.citations import CBER_2026, FLEX_2026, FORMAL_MEETINGS_2023
from cmcflex.views import DossierViews

DOSSIER = "dossier.yaml"
SPEC_SECTIONS = ("3.2.S.4.5", "3.2.P.5.6")  # justification of specification, narrowed to the test's material


class FlexibleChoice(NamedTuple):
    """One flexible choice of the dossier: its topic, the record that makes it, and where."""

    topic: FlexibilityTopic
    record: str
    at: Location
    ctd: tuple[str, ...]


CHOICE_WORDS = {
    FlexibilityTopic.PPQ_LOT_COUNT: "fewer than 3 PPQ lots",
    FlexibilityTopic.CONCURRENT_RELEASE: "concurrent release of PPQ lots",
    FlexibilityTopic.POST_LICENSURE_PPQ: "completing PPQ after licensure",
    FlexibilityTopic.REPORT_ONLY_CRITERIA: "'report result' CQAs at licensure",
    FlexibilityTopic.CRITERIA_REEVALUATION: "re-evaluating acceptance criteria after approval",
    FlexibilityTopic.CLINICAL_LOT_STABILITY: "a shelf life resting on clinical-process lots",
    FlexibilityTopic.SINGLE_LOT_METHOD_VALIDATION: "method validation on a single lot",
    FlexibilityTopic.PLATFORM_METHOD: "platform method validation",
    FlexibilityTopic.RESERVE_SAMPLES: "an exception to reserve-sample retention",
}


def flexible_choices(d: Dossier, phase: Phase, views: DossierViews) -> list[FlexibleChoice]:
    """Every flexible choice the dossier makes, in topic order then record order."""
    found: list[FlexibleChoice] = []
    found += _ppq_choices(d)
    found += _specification_choices(views, phase)
    found += _method_choices(d)
    if d.info.clinical_lot_stability is not None:
        found.append(FlexibleChoice(FlexibilityTopic.CLINICAL_LOT_STABILITY, "clinical_lot_stability",
                                    d.where(DOSSIER, "clinical_lot_stability"), ("3.2.P.8.1",)))
    reserve = d.gmp.controls.reserve_samples if d.gmp is not None else None
    if reserve is not None and reserve.exception is not None:
        found.append(FlexibleChoice(FlexibilityTopic.RESERVE_SAMPLES, "controls.reserve_samples",
                                    d.where("gmp.yaml", "controls", "reserve_samples", "exception"), ("3.2.P.3.3",)))
    order = list(FlexibilityTopic)
    return sorted(found, key=lambda c: order.index(c.topic))


def _ppq_choices(d: Dossier) -> list[FlexibleChoice]:
    if d.ppq is None:
        return []
    out = []
    protocol = d.ppq.protocol
    ctd = ("3.2.P.3.5",)
    if protocol is not None and protocol.lots_planned is not None and protocol.lots_planned < 3:
        out.append(FlexibleChoice(FlexibilityTopic.PPQ_LOT_COUNT, f"{protocol.lots_planned} PPQ lots planned",
                                  d.where("ppq.yaml", "protocol", "lots_planned"), ctd))
    if protocol is not None and protocol.concurrent_release is not None and protocol.concurrent_release.planned:
        out.append(FlexibleChoice(FlexibilityTopic.CONCURRENT_RELEASE, "protocol.concurrent_release",
                                  d.where("ppq.yaml", "protocol", "concurrent_release"), ctd))
    if d.ppq.post_licensure_completion is not None:
        out.append(FlexibleChoice(FlexibilityTopic.POST_LICENSURE_PPQ, "post_licensure_completion",
                                  d.where("ppq.yaml", "post_licensure_completion"), ctd))
    return out


def _specification_choices(views: DossierViews, phase: Phase) -> list[FlexibleChoice]:
    out = []
    for ref in views.spec_index.values():
        test = ref.test
        ctd = narrow(SPEC_SECTIONS, ref.spec.material)
        report_only = isinstance(test.criterion, ReportOnlyCriterion) and is_cqa(test, ref.spec.tests) \
            and category_of(test) is not TestCategory.SAFETY
        if report_only and phase >= Phase.BLA:
            out.append(FlexibleChoice(FlexibilityTopic.REPORT_ONLY_CRITERIA, ref.record, ref.at, ctd))
        if test.reevaluation is not None:
            out.append(FlexibleChoice(FlexibilityTopic.CRITERIA_REEVALUATION, ref.record, ref.at, ctd))
    return out


def _method_choices(d: Dossier) -> list[FlexibleChoice]:
    if d.methods is None:
        return []
    out = []
    for i, method in enumerate(d.methods.methods):
        at = d.where("methods.yaml", "methods", i)
        single = method.validation_lots is not None and len(set(method.validation_lots)) == 1
        if single and not is_compendial(method):
            out.append(FlexibleChoice(FlexibilityTopic.SINGLE_LOT_METHOD_VALIDATION, f"method {method.id}", at,
                                      ("3.2.P.5.3",)))
        if method.platform is not None:
            out.append(FlexibleChoice(FlexibilityTopic.PLATFORM_METHOD, f"method {method.id}", at, ("3.2.P.5.3",)))
    return out


def _interactions(d: Dossier, topic: FlexibilityTopic) -> list[tuple[int, FdaInteraction]]:
    """The FDA interactions whose topics name ``topic``, latest last (with their list index)."""
    found = [(i, x) for i, x in enumerate(d.info.fda_interactions) if topic in x.topics]
    return sorted(found, key=lambda ix: (ix[1].date, ix[0]))


def _named(x: FdaInteraction) -> str:
    ref = f" {x.id}" if x.id else ""
    minutes = f", minutes {x.minutes}" if x.minutes else ""
    return f"{x.type.value}{ref} ({x.date.isoformat()}{minutes})"


@rule(
    id="FLEX-001",
    slug="flexibility-discussed-with-cber",
    title="Each flexible CMC choice was discussed with CBER",
    area=Area.FLEX,
    severity=by_phase(None, None, MI, MA, None),
    cites=(FLEX_2026, CBER_2026, FORMAL_MEETINGS_2023),
    remedy="Record the FDA interaction that discussed the choice in dossier.yaml (fda_interactions: "
    "type, date, minutes, outcome, topics), or request one (INTERACT, Type B/C/D or pre-BLA meeting) "
    "before relying on the flexibility.",
    why="The May 2026 guidance makes every flexibility conditional and repeatedly asks sponsors to "
    "discuss their CMC approach with the review division before implementing it; a BLA that leans on "
    "a flexibility CBER has not seen invites an information request or a complete response. The "
    "grade (minor at phase 3, major at BLA) is cmcflex policy; after approval the license stands for "
    "the agreement.",
    grading="A flexible choice whose latest FDA interaction has its outcome pending is info; one CBER "
    "did not agree with, or with no interaction on record, takes the phase's grade.",
    ctd=("3.2.P.3.3", "3.2.P.3.5", "3.2.P.5.3", "3.2.P.5.6", "3.2.P.8.1", "3.2.S.4.5"),
    flexibilities=("G3",),
)
def flexibility_discussed(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    by_topic: dict[FlexibilityTopic, list[FlexibleChoice]] = {}
    for choice in flexible_choices(d, ctx.phase, ctx.views):
        by_topic.setdefault(choice.topic, []).append(choice)
    for topic, choices in by_topic.items():
        what = CHOICE_WORDS[topic]
        records = ", ".join(c.record for c in choices)
        ctd = tuple(dict.fromkeys(s for c in choices for s in c.ctd))
        data: dict[str, object] = {"topic": topic.value, "records": [c.record for c in choices]}
        discussed = _interactions(d, topic)
        held = [(i, x) for i, x in discussed if x.date <= ctx.as_of]
        later = [x for _, x in discussed if x.date > ctx.as_of]
        if not held:
            planned = f"; {_named(later[0])} is scheduled but not yet held" if later else ""
            yield Gap(f"The dossier relies on {what} ({records}) with no FDA interaction on record that "
                      f"discussed it (fda_interactions topic {topic.value}){planned}.", choices[0].at,
                      record=choices[0].record, data=data, ctd=ctd)
            continue
        i, latest = held[-1]
        data["interaction"] = latest.id or i
        at = d.where(DOSSIER, "fda_interactions", i)
        if latest.outcome is InteractionOutcome.NOT_AGREED:
            yield Gap(f"CBER did not agree with {what} ({records}) at {_named(latest)}; record how the "
                      "approach changed, or the later interaction that accepted it.", at,
                      record=choices[0].record, data=data, ctd=ctd)
        elif latest.outcome is InteractionOutcome.PENDING:
            yield Gap(f"{what[0].upper()}{what[1:]} ({records}) was discussed at {_named(latest)}; its "
                      "outcome is pending: record it when the minutes arrive.", at,
                      record=choices[0].record, data=data, ctd=ctd, severity=I)
