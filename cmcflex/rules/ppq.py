"""PPQ rules: the process performance qualification protocol, its execution and report.

Under the May 2026 FDA CMC flexibilities guidance (after the January 2026 CBER page), fewer than
three PPQ lots (PV1, PV2), concurrent release of PPQ lots (PV3) and, where PPQ production is
limited, PPQ completing after licensure (PV4) are acceptable when the dossier records their
conditions. These rules therefore never flag the lot count, concurrent release or a post-licensure
completion by itself: they flag a flexible choice that lacks a condition, name it, and say which
flexibility applies.

At phase 3 (or the pivotal phase) the rules speak as planning advice ("(needed by BLA)", the
form the engine uses for a target); at BLA
and post-approval they are the gaps of the catalogue. Executed PPQ lots are the lots.csv rows
with ``use: ppq``; their results are judged by :func:`cmcflex.rules.common.out_of_spec`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

from cmcflex.dossier.criteria import PENDING
from cmcflex.dossier.loader import Dossier, Location
from cmcflex.dossier.lots import Lot
from cmcflex.dossier.models import (
    EX_VIVO_MODIFIED_MODALITIES,
    LotCountJustification,
    Modality,
    PPQConclusion,
    PPQReport,
    PPQStartingMaterial,
    Protocol,
    ReportStatus,
    SiteRole,
)
from cmcflex.phases import Phase
from cmcflex.rules.base import MA, Area, Context, Gap, NotEvaluated, Outcome, Severity, by_phase, rule
from cmcflex.rules.citations import (
    CAR_T_2024,
    CBER_2026,
    CFR_211_22_100,
    CFR_211_100_A,
    CFR_211_113_B,
    CGMP_QA_PPC,
    CGT_COMPARABILITY,
    FLEX_2026,
    PV_2011,
    section,
)
from cmcflex.rules.common import OutOfSpec, expected_of
from cmcflex.rules.lot_count_reading import FACTOR_WORDS, FACTORS, Reading, read_justification
from cmcflex.vocabulary import Disposition, LotUse, StartingMaterial

if TYPE_CHECKING:
    from cmcflex.views import DossierViews

B, MI, I = Severity.BLOCKER, Severity.MINOR, Severity.INFO
FILE = "ppq.yaml"
PPQ_USE = LotUse.PPQ
TRADITIONAL_LOT_COUNT = 3


ELEMENTS = ("operating_conditions", "data_to_collect", "tests_and_criteria", "sampling_plan",
            "statistical_methods", "deviation_handling")
PREREQUISITES = ("facility_equipment_qualified", "personnel_trained", "material_sources_verified",
                 "analytical_methods_validated", "aseptic_simulation_current", "hold_times_validated",
                 "shipping_validated", "vector_process_validated")
NOT_PATIENT = (StartingMaterial.HEALTHY_DONOR, StartingMaterial.CELL_BANK)
NO_PROTOCOL_WHAT = "no PPQ protocol on record"
REPORT_MUST = "; it must be complete, conclude validated and have no open deviations"


def _waiting() -> NotEvaluated:
    """Rules that read the PPQ protocol wait on it; PPQ-001 reports its absence once, and the
    report shows one line for the rest instead of one "not evaluated" per rule."""
    return NotEvaluated(NO_PROTOCOL_WHAT, none_recorded=FILE, waits_on="PPQ-001")




# ---------------------------------------------------------------------------- shared views


def _protocol(d: Dossier) -> Protocol | None:
    return d.ppq.protocol if d.ppq is not None else None


def _at(d: Dossier, *path: str | int) -> Location:
    """Location of a key of ppq.yaml (the file itself when it is absent)."""
    return d.where(FILE, *path)


def _record(p: Protocol) -> str:
    return f"protocol {p.id}" if p.id else "protocol"


def _name(p: Protocol) -> str:
    return f"PPQ protocol {p.id}" if p.id else "The PPQ protocol"


def _advice(ctx: Context) -> str:
    """Phase 3 without a target: findings are planning advice for the BLA."""
    return " (needed by BLA)" if ctx.phase is Phase.PHASE_3 and not ctx.planning else ""


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _validated(d: Dossier) -> bool:
    """The PPQ report is complete and concludes the process is validated: the protocol was executed
    as approved, so what the protocol record leaves out (its elements, prerequisites, approval) is
    inferred from the report; only what the record states as not done is a gap."""
    report = d.ppq.report if d.ppq is not None else None
    return (report is not None and report.conclusion is PPQConclusion.VALIDATED
            and report.status in (ReportStatus.COMPLETE, None))  # a final conclusion reads complete


def _lots_file(d: Dossier) -> str:
    return d.lots.files[0] if d.lots is not None and d.lots.files else "lots.csv"


def counted_lots(lots: list[Lot]) -> list[Lot]:
    """The PPQ lots counted against ``lots_planned``: one material's lots, so that a drug
    substance lot and the drug product lot made from it count once — drug product where there
    is any, else the material with the most PPQ lots."""
    by_material: dict[str, list[Lot]] = {}
    for lot in lots:
        by_material.setdefault(lot.material, []).append(lot)
    if not by_material:
        return []
    if "drug_product" in by_material:
        return by_material["drug_product"]
    material = min(by_material, key=lambda m: (-len(by_material[m]), m))
    return by_material[material]


def build_missing_results(views: DossierViews) -> dict[str, list[str]]:
    """Specification tests of its material that each PPQ lot has no result for, as
    ``material/attribute`` in specification order, by lot id (lots missing none are absent);
    read through ``ctx.views.ppq_missing_results``. Empty without lots.csv or specifications.yaml."""
    d = views.dossier
    out: dict[str, list[str]] = {}
    if d.lots is not None and d.specifications is not None:
        tests: dict[str, list[str]] = {}
        for material, attribute in views.spec_index:
            tests.setdefault(material, []).append(attribute)
        for lot in views.ppq_lots:
            i = d.lots.index[lot.id]
            absent = []
            for a in tests.get(lot.material, []):
                if not expected_of(lot.starting_material, views.spec_index[(lot.material, a)]):
                    continue
                if i not in views.lots_with_results(lot.material, a):
                    absent.append(f"{lot.material}/{a}")
                elif i not in d.lots.lots_with_results(lot.material, a):  # only rows left out for their unit
                    absent.append(f"{lot.material}/{a} (in a unit its test's cannot take: SPEC-013)")
                elif all(r.result.word == PENDING for r in d.lots.results(lot.material, a, frozenset({lot.id}))):
                    absent.append(f"{lot.material}/{a} (pending)")  # not yet known: not shown to pass
            if absent:
                out[lot.id] = absent
    return out


def lot_passes(views: DossierViews, lot: Lot) -> bool:
    """A PPQ lot passes when it is not rejected, has a result for every specification test of
    its material, and none of them is out of specification."""
    return (lot.disposition != Disposition.REJECTED and lot.id not in views.ppq_lot_failures
            and lot.id not in views.ppq_missing_results)


def _ids(lots: list[Lot]) -> str:
    return ", ".join(lot.id for lot in lots)


# ---------------------------------------------------------------------------- PPQ-001


@rule(
    id="PPQ-001",
    slug="protocol-exists",
    title="A PPQ protocol exists",
    area=Area.PPQ,
    severity=by_phase(None, None, MI, B, B),
    cites=(section(PV_2011, "IV.C.3"), CFR_211_100_A),
    remedy="Write the PPQ protocol in ppq.yaml (protocol: id, site, scale, lots_planned with its "
           "justification, elements, prerequisites) and have the quality unit approve it before "
           "the first PPQ lot is made.",
    why="Stage 2 of process validation is run under a written, pre-approved protocol; without one "
        "there is no evidence that the commercial process performs as designed.",
    ctd=("3.2.S.2.5", "3.2.P.3.5"),
)
def protocol_exists(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    if _protocol(d) is None:
        where = "ppq.yaml is missing" if d.ppq is None else "ppq.yaml has no protocol"
        yield Gap(f"No PPQ protocol: {where}{_advice(ctx)}.", _at(d, "protocol"), record="protocol")


# ---------------------------------------------------------------------------- PPQ-002


@rule(
    id="PPQ-002",
    slug="lot-count-justified",
    title="The number of PPQ lots is justified",
    area=Area.PPQ,
    severity=by_phase(None, None, MI, MA, MA),
    partial=by_phase(None, None, None, MI, MI),
    grading="The justification is read factor by factor: product and process understanding (with "
            "evidence), process complexity and the control strategy, each from its own field or, where "
            "that is left out, from the text. Fewer than three lots: no justification (or only a "
            "convention such as 'three is customary') takes the phase's grade; one that leaves out a "
            "factor or its evidence is minor from BLA (info at phase 3); a complete one is info naming "
            "the flexibility. Three or more lots: no justification is minor from BLA (info at phase 3), "
            "one that leaves out a factor is info, a complete one is silent. A protocol that leaves out "
            "lots_planned is read by its executed PPQ lots; with none on record the count is not shown "
            "(info).",
    cites=(FLEX_2026, CBER_2026, CGMP_QA_PPC),
    remedy="State in protocol.lot_count_justification why the number of lots gives confidence in "
           "the process: the product and process understanding it rests on (process_understanding, "
           "with the documents in evidence: development reports, clinical manufacturing history), the "
           "complexity and variability of the process (process_complexity) and how the control "
           "strategy covers what the lots leave open (control_strategy), in these fields or in text.",
    why="No fixed number of PPQ lots is required (May 2026 guidance; CGMP Q&A Q5): whatever the number, "
        "it rests on product and process understanding, and fewer than three lots is acceptable only "
        "with such a justification. That the justification weighs the understanding, the process "
        "complexity and the control strategy, and that 'three is customary' no longer passes, rests on "
        "one secondary source reconstructing the guidance, so a justification that leaves out one "
        "factor is graded below a missing one. Three or more lots without a rationale is minor at BLA: "
        "the traditional count makes no flexible choice, and a reviewer would ask for the rationale "
        "rather than refuse the number.",
    ctd=("3.2.S.2.5", "3.2.P.3.5"),
    flexibilities=("PV1", "PV2"),
)
def lot_count_justified(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    p = _protocol(d)
    if p is None:
        yield _waiting()
        return
    name, record, advice = _name(p), _record(p), _advice(ctx)
    n = p.lots_planned
    if n is None:
        n = len(counted_lots(ctx.views.ppq_lots))  # inferred: the PPQ lots made are the lots planned
        if n == 0:
            yield Gap(f"{name} does not record the number of PPQ lots (lots_planned) and {d.lots_file} holds "
                      f"no PPQ lot, so the lot count is not shown{advice}.",
                      _at(d, "protocol"), record=record, severity=I,
                      remedy="Record protocol.lots_planned (and its lot_count_justification).")
            return
    plans = "plans" if p.lots_planned is not None else f"records no lots_planned; {d.lots_file} holds"
    if n == 0:
        yield Gap(f"{name} plans no PPQ lots (lots_planned: 0){advice}.",
                  _at(d, "protocol", "lots_planned"), record=record, data={"lots_planned": 0})
        return
    j = p.lot_count_justification
    r = read_justification(j)
    few = n < TRADITIONAL_LOT_COUNT
    lower = MI if ctx.phase >= Phase.BLA else I
    at = _at(d, "protocol", "lot_count_justification" if j is not None else "lots_planned")
    data: dict[str, Any] = {"lots_planned": n, "missing": list(r.missing), "on_record": list(r.on_record),
                            "in_text": list(r.in_text), "evidence": list(r.evidence)}
    lots = f"{n} PPQ lot{'s' if n != 1 else ''}"
    if r.empty:
        lacks = _no_justification(j, r)
        if r.convention is not None:
            data["convention"] = r.convention
        if few:
            msg = (f"{name} {plans} {lots} but {lacks}; fewer than {TRADITIONAL_LOT_COUNT} lots is "
                   f"acceptable under the 2026 CBER flexibility only with a justification from product "
                   f"and process understanding{advice}.")
        else:
            msg = (f"{name} does not justify its number of PPQ lots ({n}): it {lacks}; the number of "
                   f"lots needs a rationale whatever it is, three included{advice}.")
        yield Gap(msg, at, record=record, data=data, severity=None if few else lower,
                  remedy=_justification_remedy(r))
        return
    if r.missing:
        flexibility = (f"; the 2026 CBER flexibility for fewer than {TRADITIONAL_LOT_COUNT} PPQ lots rests on "
                       "a justification covering each" if few else "")
        yield Gap(f"{name} {plans} {lots}; its lot-count justification does not show "
                  f"{_join([_unshown(f, j) for f in r.missing])}{_shown(r)}{flexibility}{advice}.",
                  at, record=record, data=data, severity=lower if few else I,
                  remedy=_justification_remedy(r))
    elif few:
        approach = f" by {j.approach.value.replace('_', ' ')}" if j is not None and j.approach is not None else ""
        read_from = (" (each read from its text)" if len(r.in_text) == len(FACTORS)
                     else f" ({_join([FACTOR_WORDS[f] for f in r.in_text])} read from its text)" if r.in_text else "")
        yield Gap(
            f"{name} {plans} {lots}, justified{approach} with evidence {', '.join(r.evidence)}; the "
            f"justification covers product and process understanding, process complexity and the control "
            f"strategy{read_from}: the 2026 CBER flexibility for fewer than {TRADITIONAL_LOT_COUNT} PPQ lots "
            "applies.",
            at, record=record, severity=I,
            data={**data, "approach": j.approach.value if j is not None and j.approach is not None else None,
                  "flexibility": "fewer_ppq_lots"},
            remedy="None needed; keep the justification and its evidence with the protocol.",
        )


def _no_justification(j: LotCountJustification | None, r: Reading) -> str:
    """Why a justification that shows nothing is none (after "it" / "but")."""
    if r.convention is not None:
        return (f"justifies it only by convention ('{r.convention}'), which is not a justification from "
                "product and process understanding")
    if j is None or (_blank(j.text) and j.approach is None):
        return "has no lot-count justification"
    if _blank(j.text):
        return (f"names only an approach ({j.approach.value.replace('_', ' ') if j.approach else ''}) for it, "
                "with no reasoning (text) and no evidence")
    return ("gives a lot-count justification whose text speaks of none of product and process "
            "understanding, process complexity or the control strategy, and cites no evidence")


def _unshown(factor: str, j: LotCountJustification | None) -> str:
    """A missing factor and where it was looked for."""
    text = j is not None and not _blank(j.text)
    if factor == "evidence":
        return "evidence (no evidence list" + (", and the text cites no document)" if text else ")")
    return f"{FACTOR_WORDS[factor]} (no {factor} field" + (", and not found in the text)" if text else ")")


def _shown(r: Reading) -> str:
    """What the justification does show, and where (after the missing factors)."""
    parts = []
    if r.on_record:
        fields = "its own field" if len(r.on_record) == 1 else "their own fields"
        parts.append(f"{_join([FACTOR_WORDS[f] for f in r.on_record])} in {fields}")
    if r.in_text:
        parts.append(f"{_join([FACTOR_WORDS[f] for f in r.in_text])} in its text")
    return f"; it shows {_join(parts)}" if parts else ""


def _justification_remedy(r: Reading) -> str:
    fields = {"process_understanding": "process_understanding (the product and process understanding the "
                                       "number rests on)",
              "process_complexity": "process_complexity (how the complexity and variability of the "
                                    "process bear on the number)",
              "control_strategy": "control_strategy (how the control strategy covers what the lots leave "
                                  "open)",
              "evidence": "evidence (the documents it rests on: development reports, clinical "
                          "manufacturing history, risk assessment)"}
    return ("Record in protocol.lot_count_justification " + _join([fields[f] for f in r.missing])
            + ", or cover " + ("it" if len(r.missing) == 1 else "them") + " in its text.")


def _join(items: list[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# ---------------------------------------------------------------------------- PPQ-003


@rule(
    id="PPQ-003",
    slug="protocol-elements",
    title="The PPQ protocol names each required element",
    area=Area.PPQ,
    severity=by_phase(None, None, I, B, B),
    grading=("A protocol whose PPQ report is complete and concludes the process validated was executed "
             "as approved: elements it leaves unnamed are inferred from the report. Otherwise a "
             "protocol that records none of its elements is info (where it covers each is not "
             "shown); one that names some elements and not others takes the phase's grade for "
             "those it leaves out."),
    cites=(section(PV_2011, "IV.C.3"),),
    remedy="Name in protocol.elements the protocol section for each element: operating "
           "conditions, data to collect, tests and acceptance criteria, sampling plan, "
           "statistical methods, and deviation handling.",
    why="The 2011 process validation guidance lists what a PPQ protocol must specify; a protocol "
        "without them cannot show the process is in control.",
    ctd=("3.2.S.2.5", "3.2.P.3.5"),
)
def protocol_elements(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    p = _protocol(d)
    if p is None:
        yield _waiting()
        return
    missing = [e for e in ELEMENTS if _blank(getattr(p.elements, e))]
    if missing and _validated(d):
        return  # executed as approved: the report stands for the protocol's contents
    if len(missing) == len(ELEMENTS):
        yield Gap(f"{_name(p)} does not record where it covers the protocol elements (elements), so "
                  f"they are not shown{_advice(ctx)}.", _at(d, "protocol"), record=_record(p),
                  severity=I, data={"missing": missing, "shown": False},
                  remedy="Record protocol.elements: the protocol section for each of "
                         f"{_join(list(ELEMENTS))}.")
    elif missing:
        yield Gap(f"{_name(p)} does not name {_join(missing)}{_advice(ctx)}.",
                  _at(d, "protocol", "elements"), record=_record(p), data={"missing": missing})


# ---------------------------------------------------------------------------- PPQ-004


@rule(
    id="PPQ-004",
    slug="quality-unit-approval",
    title="The PPQ protocol is approved by the quality unit",
    area=Area.PPQ,
    severity=by_phase(None, None, I, B, B),
    grading=("A protocol whose PPQ report is complete and concludes the process validated was executed "
             "as approved: an approval left unrecorded is inferred from the report; otherwise it is "
             "info (approval not shown). approved_by_quality_unit: false takes the phase's grade."),
    cites=(section(PV_2011, "IV.C.4"), CFR_211_22_100),
    remedy="Have the quality unit review and approve the PPQ protocol before the first PPQ lot, "
           "and set protocol.approved_by_quality_unit: true.",
    why="The quality unit must approve the protocol before PPQ starts; an unapproved protocol does "
        "not bind the acceptance criteria in advance.",
    ctd=("3.2.S.2.5", "3.2.P.3.5"),
)
def quality_unit_approval(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    p = _protocol(d)
    if p is None:
        yield _waiting()
        return
    if p.approved_by_quality_unit is None:
        if _validated(d):
            return  # approval inferred from the validated report
        yield Gap(f"Whether {_name(p)[0].lower() + _name(p)[1:] if p.id is None else _name(p)} is approved "
                  f"by the quality unit is not shown (approved_by_quality_unit){_advice(ctx)}.",
                  _at(d, "protocol"), record=_record(p), severity=I,
                  remedy="Record protocol.approved_by_quality_unit: true once the quality unit has "
                         "approved the protocol (with the approval date in the protocol).")
    elif not p.approved_by_quality_unit:
        yield Gap(f"{_name(p)} is not approved by the quality unit{_advice(ctx)}.",
                  _at(d, "protocol", "approved_by_quality_unit"), record=_record(p))


# ---------------------------------------------------------------------------- PPQ-005


@rule(
    id="PPQ-005",
    slug="concurrent-release-justified",
    title="Concurrent release of PPQ lots is justified",
    area=Area.PPQ,
    severity=by_phase(None, None, MI, B, B),
    partial=by_phase(None, None, None, MA, MA),
    grading="From BLA, a commitment recorded false (lots_meet_release_criteria: false) is a blocker, "
            "and a missing rationale or failure plan is major; a commitment left out is info (not "
            "shown), as are PPQ lots released before a report whose status is not recorded. A stated "
            "PPQ production limitation stands for a rationale left out.",
    cites=(section(PV_2011, "V (concurrent release of PPQ batches)"), CBER_2026, FLEX_2026),
    remedy="In protocol.concurrent_release state the rationale (e.g. each autologous lot is one "
           "patient's only dose), commit every concurrently released lot to all release criteria "
           "(lots_meet_release_criteria: true), and give the plan if PPQ fails (how distributed "
           "lots are assessed and patients protected).",
    why="Concurrent release lets patients receive PPQ lots before the PPQ report is complete. The 2011 "
        "process validation guidance (section V) asks the protocol to state its circumstances and "
        "rationale, holds each concurrently released lot to all release criteria, and warns that a "
        "failed PPQ bears on lots already distributed; the January 2026 page and the May 2026 guidance "
        "(as reported by one secondary source) keep concurrent release open to CGT products on those "
        "terms.",
    ctd=("3.2.S.2.5", "3.2.P.3.5"),
    flexibilities=("PV3",),
)
def concurrent_release_justified(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    p = _protocol(d)
    if p is None:
        yield _waiting()
        return
    name, record, advice = _name(p), _record(p), _advice(ctx)
    graded = ctx.phase >= Phase.BLA  # the catalogue grades the parts where the rule is a blocker
    cr = p.concurrent_release
    if cr is None or not cr.planned:
        released = [lot for lot in ctx.views.ppq_lots
                    if lot.disposition in (Disposition.RELEASED, Disposition.RELEASED_UNDER_EXCEPTION)]
        report = d.ppq.report if d.ppq is not None else None
        if released and report is not None and report.status is None and report.conclusion is None:
            yield Gap(
                f"PPQ lots {_ids(released)} were released and {name} does not plan concurrent "
                f"release; whether the PPQ report was complete first is not shown (report.status)"
                f"{advice}.", _at(d, "report"), record=record, severity=I,
                data={"released_lots": [lot.id for lot in released]},
                remedy="Record report.status and report.conclusion; if the lots were released "
                       "before the report was complete, plan concurrent release in the protocol.")
        elif released and (report is None or not _report_complete(report)):
            status = "not written" if report is None else (report.status or ReportStatus.IN_PROGRESS).value
            yield Gap(
                f"PPQ lots {_ids(released)} were released while the PPQ report is {status}, but "
                f"{name} does not plan concurrent release (rationale, release-criteria commitment, "
                f"failure plan){advice}.",
                _at(d, "protocol", "concurrent_release") if cr is not None else _at(d, "protocol"),
                record=record, data={"released_lots": [lot.id for lot in released]},
            )
        return
    at = _at(d, "protocol", "concurrent_release")
    if _blank(cr.rationale) and _blank(cr.production_limitation):  # a stated limitation is a rationale
        yield Gap(f"{name} plans concurrent release without a rationale{advice}.",
                  at, record=record, severity=MA if graded else None, data={"part": "rationale"})
    if cr.lots_meet_release_criteria is None:
        yield Gap(f"{name} plans concurrent release; whether it commits every concurrently released "
                  f"lot to all release criteria is not shown (lots_meet_release_criteria){advice}.",
                  at, record=record, severity=I, data={"part": "lots_meet_release_criteria", "shown": False},
                  remedy="Record concurrent_release.lots_meet_release_criteria: true where the protocol "
                         "holds every concurrently released lot to all release criteria.")
    elif cr.lots_meet_release_criteria is not True:
        yield Gap(f"{name} plans concurrent release without committing every concurrently released "
                  f"lot to all release criteria (lots_meet_release_criteria){advice}.",
                  _at(d, "protocol", "concurrent_release", "lots_meet_release_criteria"),
                  record=record, data={"part": "lots_meet_release_criteria"})
    if _blank(cr.failure_plan):
        yield Gap(f"{name} plans concurrent release without a plan for a PPQ failure "
                  f"(failure_plan){advice}.",
                  at, record=record, severity=MA if graded else None, data={"part": "failure_plan"})


# ---------------------------------------------------------------------------- PPQ-006


@rule(
    id="PPQ-006",
    slug="starting-material-representative",
    title="PPQ starting material represents patient material",
    area=Area.PPQ,
    severity=by_phase(None, None, MI, MA, MA),
    grading="A protocol that leaves out starting_material is read by the PPQ lots' starting_material; "
            "with neither on record it is info (not shown). Non-patient material without a "
            "justification takes the phase's grade.",
    cites=(f"{CGT_COMPARABILITY} (patient and healthy-donor starting material, split-source designs)", CAR_T_2024),
    remedy="Make PPQ lots from patient starting material, or state in "
           "protocol.starting_material_justification why healthy-donor material represents "
           "patient material (e.g. a comparison of donor and patient cells, or a split-source "
           "study), with its evidence.",
    why="Patient cells vary more than healthy-donor cells (prior therapy, disease state); a PPQ "
        "run only on healthy-donor material may not show the process performs on the material it "
        "will meet commercially.",
    ctd=("3.2.S.2.5", "3.2.P.3.5"),
)
def starting_material_representative(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    if not d.autologous:
        return
    p = _protocol(d)
    if p is None:
        yield _waiting()
        return
    name, record, advice = _name(p), _record(p), _advice(ctx)
    justified = not _blank(p.starting_material_justification)
    planned = p.starting_material
    planned_non_patient = planned in (PPQStartingMaterial.HEALTHY_DONOR, PPQStartingMaterial.CELL_BANK)
    lots = ctx.views.ppq_lots
    known = [lot for lot in lots if lot.starting_material not in (None, "not_applicable")]
    lots_non_patient = bool(known) and all(lot.starting_material in NOT_PATIENT for lot in known)
    if planned is not None and planned_non_patient and not justified:
        yield Gap(f"{name} plans PPQ on {_material(planned.value)} starting material (not patient material) "
                  f"without a starting_material_justification{advice}.",
                  _at(d, "protocol", "starting_material"), record=record,
                  data={"starting_material": planned.value})
        return
    if lots_non_patient and not (planned_non_patient and justified):
        kinds = sorted({lot.starting_material or "" for lot in known})
        words = sorted({_material(kind) for kind in kinds})
        why = ("although the protocol plans patient material" if planned is not None
               and not planned_non_patient else "without a starting_material_justification")
        yield Gap(f"The executed PPQ lots {_ids(known)} were all made from {' and '.join(words)} "
                  f"starting material, not patient material, {why}{advice}.",
                  Location(known[0].file, known[0].line), record=record,
                  data={"lots": [lot.id for lot in known], "starting_material": kinds})
        return
    if planned is None and not known:
        yield Gap(f"{name} does not record its starting material (starting_material), and no PPQ lot "
                  f"records one, so whether PPQ uses patient material is not shown{advice}.",
                  _at(d, "protocol"), record=record, severity=I,
                  remedy="Record protocol.starting_material (patient, healthy_donor, mixed or cell_bank), "
                         f"or the starting_material column of the PPQ lots in {d.lots_file}.")


_SMALL_SCALE = re.compile(r"\b(pilot|engineering|clinical|development|lab|laboratory|bench|small|reduced|"
                          r"scale[- ]down|scaled[- ]down|research|non[- ]?commercial)\b", re.IGNORECASE)
_COMMERCIAL_SCALE = re.compile(r"\s*(?:the\s+|at\s+)?(?:full[- ]?(?:scale\s+)?)?commercial\b", re.IGNORECASE)
_DESCRIPTION = re.compile(r"[,;:(]|\s[-–—]\s")  # where the scale stated ends and its description begins


def _scale_stated(scale: str) -> str:
    """The scale a protocol states, without the description after it: 'commercial (one patient per
    lot, as the pivotal clinical lots)' states commercial; the words after it describe it, and may
    name the clinical lots or deny a reduced scale."""
    return _DESCRIPTION.split(scale, maxsplit=1)[0]


def _material(kind: str) -> str:
    """A starting-material value in words (``healthy_donor`` → ``healthy-donor``)."""
    return kind.replace("_", "-")


# ---------------------------------------------------------------------------- PPQ-007


@rule(
    id="PPQ-007",
    slug="prerequisites-met",
    title="PPQ prerequisites are met",
    area=Area.PPQ,
    severity=by_phase(None, None, I, B, B),
    grading=("A protocol whose PPQ report is complete and concludes the process validated was executed "
             "as approved: prerequisites it leaves out are inferred from the report; otherwise one "
             "left out (or left empty) is info (not shown), naming the prerequisites to record. A "
             "prerequisite recorded false takes the phase's grade."),
    cites=(section(PV_2011, "IV.C.1 and IV.C.3"), CFR_211_113_B),
    remedy="Complete each prerequisite before PPQ and record it in protocol.prerequisites as true "
           "or as the id of the document that shows it (qualification, training, validation "
           "report, aseptic process simulation).",
    why="PPQ only means something when it runs in qualified facilities and equipment, with "
        "trained staff, verified materials, validated methods, a current aseptic process "
        "simulation and validated hold times and shipping.",
    ctd=("3.2.S.2.5", "3.2.P.3.5"),
)
def prerequisites_met(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    p = _protocol(d)
    if p is None:
        yield _waiting()
        return
    wanted = [k for k in PREREQUISITES if k != "vector_process_validated" or _uses_vector(d)]
    failed = [k for k in wanted if getattr(p.prerequisites, k) is False]
    # left out: inferred from a validated PPQ report, else not shown; left blank: not shown
    unshown = [k for k in wanted if _blank(getattr(p.prerequisites, k))
               and not (_validated(d) and getattr(p.prerequisites, k) is None)]
    parent = ("protocol", "prerequisites")
    if failed:
        also = f"; {_join(unshown)} {'is' if len(unshown) == 1 else 'are'} not shown" if unshown else ""
        yield Gap(f"{_name(p)} records these prerequisites as not met: {_join(failed)}{also}{_advice(ctx)}.",
                  _first_key(d, parent, failed), record=_record(p),
                  cites=_prerequisite_cites(failed + unshown),
                  data={"missing": failed + unshown, "failed": failed, "not_shown": unshown})
    elif unshown:
        yield Gap(f"{_name(p)} does not record whether these prerequisites are met, so they are not "
                  f"shown: {_join(unshown)}{_advice(ctx)}.",
                  _first_key(d, parent, unshown), record=_record(p), severity=I,
                  cites=_prerequisite_cites(unshown),
                  data={"missing": unshown, "failed": [], "not_shown": unshown},
                  remedy=f"Record in protocol.prerequisites, for {_join(unshown)}, true or the id of the "
                         "document that shows it met (qualification, training, validation report, "
                         "aseptic process simulation).")


def _prerequisite_cites(keys: list[str]) -> tuple[str, ...] | None:
    """The rule's sources when the aseptic simulation is among ``keys``, else the PV guidance only."""
    return None if "aseptic_simulation_current" in keys else (section(PV_2011, "IV.C.1 and IV.C.3"),)


VECTOR_TESTS = frozenset({"replication_competent_virus", "vector_copy_number", "transduction_efficiency"})


def _uses_vector(d: Dossier) -> bool:
    """Ex vivo modified cells are made with a vector, except gene-edited cells, whose editing tools
    (e.g. a Cas9 ribonucleoprotein delivered by electroporation) need none: for them a vector is in
    use only when the record shows one (a site making vector, or a vector-related release test)."""
    if d.modality not in EX_VIVO_MODIFIED_MODALITIES:
        return False
    if d.modality is not Modality.GENE_EDITED_CELLS:
        return True
    return (any(SiteRole.VECTOR in site.roles for site in d.info.sites)
            or any(t.test_type in VECTOR_TESTS for _, _, _, t in d.spec_tests()))


def _first_key(d: Dossier, parent: tuple[str, ...], keys: list[str]) -> Location:
    """The line of the first of ``keys`` written under ``parent`` in ppq.yaml (false or empty);
    the parent's own key when none of them is written."""
    source = d.sources.get(FILE)
    if source is None:
        return Location(FILE, 0)
    for key in keys:
        if (*parent, key) in source.keys:
            return Location(FILE, source.locate((*parent, key), key=True)[0])
    return Location(FILE, source.locate(parent, key=True)[0])


# ---------------------------------------------------------------------------- PPQ-008


@rule(
    id="PPQ-008",
    slug="executed-lots-pass",
    title="Executed PPQ lots pass and the PPQ report concludes the process is validated",
    area=Area.PPQ,
    severity=by_phase(None, None, None, B, B),
    grading="A report that records neither status nor conclusion is info (not shown); a report "
            "recorded in progress, not validated or with open deviations takes the phase's grade. A "
            "recorded conclusion (validated or not) implies a complete report. Where concurrent release "
            "is justified by a stated PPQ production limitation and a post-licensure PPQ completion plan "
            "is on record (May 2026 guidance, PV4), fewer lots made than planned and a report still in "
            "progress are info naming the plan, until the plan's completion date passes; a condition "
            "missing leaves them at the phase's grade, naming it.",
    cites=(section(PV_2011, "IV.C.4"), FLEX_2026),
    remedy="Complete the planned PPQ lots, investigate any lot that fails its specification, close "
           "the open deviations, and issue the PPQ report with the conclusion that the process is "
           "validated.",
    why="The BLA rests on PPQ showing the commercial process consistently makes product that "
        "meets its specification; failing lots, missing lots or an open report leave that unshown. "
        "That PPQ may complete after licensure where PPQ production limitations exist, with the "
        "PPQ lots released concurrently, rests on one secondary source reconstructing the May 2026 "
        "guidance: cmcflex accepts it only with the limitation stated and a completion plan on record.",
    ctd=("3.2.S.2.5", "3.2.P.3.5"),
    flexibilities=("PV4",),
)
def executed_lots_pass(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    p = _protocol(d)
    name = _name(p) if p is not None else "The PPQ protocol"
    record = "ppq lots"
    later = _post_licensure(d, ctx)
    if d.lots is None:
        yield NotEvaluated("no lots.csv: the executed PPQ lots (use: ppq) cannot be counted or checked")
    else:
        lots = ctx.views.ppq_lots
        counted = counted_lots(lots)
        planned = p.lots_planned if p is not None else None
        if not lots and d.ppq is None:
            pass  # no PPQ on record at all: PPQ-001's gap, which this rule waits on (below)
        elif not lots:
            unmade = "; completing PPQ after licensure presupposes PPQ lots made" if later.invoked else ""
            yield Gap(f"{d.lots_file} holds no PPQ lots (use: ppq)"
                      f"{f'; {name} plans {planned}' if planned else ''}{unmade}.",
                      Location(_lots_file(d), 0), record=record, data={"lots_planned": planned})
        elif planned is not None and len(counted) < planned:
            short = (f"Only {len(counted)} of the {planned} planned PPQ lots "
                     f"{'is' if len(counted) == 1 else 'are'} in {d.lots_file} ({_ids(counted)})")
            data: dict[str, Any] = {"lots_planned": planned, "lots_executed": len(counted)}
            yield _later_or_gap(later, short, Location(counted[0].file, counted[0].line), record, data)
        if lots:
            yield from _lot_gaps(d, ctx.views, lots)
    if d.ppq is None:
        yield _waiting()
        return
    if d.ppq.report is None:
        yield Gap("No PPQ report: ppq.yaml has no report (status, conclusion, open deviations).",
                  _at(d, "report"), record="report")
        return
    r = d.ppq.report
    label = f"PPQ report {r.id}" if r.id else "The PPQ report"
    report_record = f"report {r.id}" if r.id else "report"
    if r.status is None and r.conclusion is None:
        yield Gap(f"{label} records neither its status nor its conclusion, so whether it concludes "
                  "the process is validated is not shown.", _at(d, "report"),
                  record=report_record, severity=I,
                  remedy="Record report.status (not_started, in_progress or complete) and "
                         "report.conclusion (validated, not_validated or pending).")
        return
    problems = []
    status = r.status or (ReportStatus.COMPLETE if _report_complete(r) else ReportStatus.IN_PROGRESS)
    if status is not ReportStatus.COMPLETE:
        problems.append(f"is {status.value.replace('_', ' ')}")
    open_ended = status is not ReportStatus.COMPLETE  # the parts a post-licensure completion covers
    if r.conclusion is None and status is ReportStatus.COMPLETE:
        problems.append("records no conclusion")
    elif r.conclusion is not None and r.conclusion is not PPQConclusion.VALIDATED:
        problems.append(f"concludes {r.conclusion.value.replace('_', ' ')}")
        open_ended = open_ended and r.conclusion is PPQConclusion.PENDING
    if r.open_deviations:
        problems.append(f"has {r.open_deviations} open deviation{'s' if r.open_deviations != 1 else ''}")
        open_ended = False
    if problems:
        data = {"status": r.status.value if r.status else None,
                "conclusion": r.conclusion.value if r.conclusion else None,
                "open_deviations": r.open_deviations}
        if open_ended:
            yield _later_or_gap(later, f"{label} {_join(problems)}", _at(d, "report"), report_record, data,
                                must=REPORT_MUST)
        else:
            yield Gap(f"{label} {_join(problems)}{REPORT_MUST}.", _at(d, "report"), record=report_record, data=data)


class PostLicensure(NamedTuple):
    """Completing PPQ after licensure (May 2026 guidance, PV4): whether the dossier invokes it, the
    plan's name, and the conditions missing."""

    invoked: bool
    plan: str
    missing: tuple[str, ...]
    detail: str
    """What the plan says of the rest (lots remaining, completion date), for the message."""


def _post_licensure(d: Dossier, ctx: Context) -> PostLicensure:
    """The conditions of PV4 as the dossier records them: concurrent release planned and justified by a
    stated PPQ production limitation, and a post-licensure completion plan whose date has not passed.
    Invoked when either the limitation or the plan is on record."""
    p = _protocol(d)
    cr = p.concurrent_release if p is not None else None
    limitation = cr is not None and not _blank(cr.production_limitation)
    plc = d.ppq.post_licensure_completion if d.ppq is not None else None
    has_plan = plc is not None and not (_blank(plc.plan) and _blank(plc.text))
    plan = (f"post-licensure completion plan {plc.plan}" if plc is not None and not _blank(plc.plan)
            else "the post-licensure completion plan")
    missing = []
    if limitation and not (cr is not None and cr.planned):
        missing.append("concurrent release planned in the protocol (protocol.concurrent_release.planned)")
    if not limitation:
        missing.append("the PPQ production limitation that needs it, stated in the protocol "
                       "(protocol.concurrent_release.production_limitation)")
    if not has_plan:
        missing.append("a post-licensure PPQ completion plan (post_licensure_completion.plan or .text)")
    elif plc is not None and plc.complete_by is not None and plc.complete_by < ctx.as_of:
        missing.append(f"a completion date not yet passed (post_licensure_completion.complete_by: "
                       f"{plc.complete_by.isoformat()})")
    detail = []
    if plc is not None and plc.lots_remaining is not None:
        detail.append(f"{plc.lots_remaining} lot{'s' if plc.lots_remaining != 1 else ''} remaining")
    if plc is not None and plc.complete_by is not None:
        detail.append(f"complete by {plc.complete_by.isoformat()}")
    return PostLicensure(limitation or plc is not None, plan, tuple(missing),
                         f" ({', '.join(detail)})" if detail else "")


def _later_or_gap(later: PostLicensure, what: str, at: Location, record: str, data: dict[str, Any],
                  must: str = "") -> Gap:
    """Lots not yet made or a report in progress: info naming the plan when PPQ completes after licensure
    with its conditions on record; else the gap, naming the conditions missing when the plan is invoked."""
    if later.invoked and not later.missing:
        return Gap(f"{what}; PPQ completes after licensure under {later.plan}{later.detail}, with concurrent "
                   "release justified by the stated PPQ production limitation: the May 2026 flexibility for "
                   "completing PPQ after licensure applies (it rests on one secondary source).",
                   at, record=record, severity=I, cites=(FLEX_2026, section(PV_2011, "V")),
                   data={**data, "flexibility": "post_licensure_ppq", "plan": later.plan},
                   remedy="None needed now; complete PPQ and issue the report as the plan commits, and "
                          "keep CBER's agreement to the plan on record.")
    if later.invoked:
        return Gap(f"{what}; completing PPQ after licensure (May 2026 guidance) needs "
                   f"{_join(list(later.missing))}.", at, record=record,
                   data={**data, "missing": list(later.missing)},
                   remedy="Record what completing PPQ after licensure rests on: "
                          f"{_join(list(later.missing))}; or complete PPQ before licensure.")
    return Gap(f"{what}{must}.", at, record=record, data=data)


def _report_complete(r: PPQReport) -> bool:
    """Complete when recorded so, or, with no status, when it records a final conclusion."""
    if r.status is not None:
        return r.status is ReportStatus.COMPLETE
    return r.conclusion in (PPQConclusion.VALIDATED, PPQConclusion.NOT_VALIDATED)


def _lot_gaps(d: Dossier, views: DossierViews, lots: list[Lot]) -> Iterator[Outcome]:
    """Each PPQ lot rejected, with results outside its specification, or missing results for
    tests of its specification."""
    if d.specifications is None:
        yield NotEvaluated("no specifications.yaml: PPQ lot results cannot be judged against a "
                           "specification")
    failures = views.ppq_lot_failures if d.specifications is not None else {}
    absent = views.ppq_missing_results
    for lot in lots:
        fails = failures.get(lot.id, [])
        missing = absent.get(lot.id, [])
        if fails:
            parts = [f"{_attr(d, f)} = {f.result.result.describe()} (criterion: {f.criterion.describe()})"
                     for f in fails]
            first = fails[0].result
            also = f"; it has no result for {_join(missing)}" if missing else ""
            data: dict[str, Any] = {"failures": [
                {"test": _attr(d, f), "result": f.result.result.describe(),
                 "criterion": f.criterion.describe()} for f in fails]}
            if missing:
                data["missing"] = missing
            yield Gap(f"PPQ lot {lot.id} fails its specification: {'; '.join(parts)}{also}.",
                      Location(first.file, first.line), record=f"lot {lot.id}", data=data)
        elif lot.disposition == Disposition.REJECTED:
            yield Gap(f"PPQ lot {lot.id} was rejected.", Location(lot.file, lot.line),
                      record=f"lot {lot.id}", data={"disposition": "rejected"})
        elif missing:
            yield Gap(f"PPQ lot {lot.id} has no result for {_join(missing)}, so it is not shown to "
                      "meet its specification.", Location(lot.file, lot.line),
                      record=f"lot {lot.id}", data={"missing": missing})


def _attr(d: Dossier, f: OutOfSpec) -> str:
    """The ``material/attribute`` of an out-of-spec result."""
    if f.ref is not None:
        return f"{f.ref.spec.material}/{f.ref.test.attribute}"
    return "a result"


# ---------------------------------------------------------------------------- PPQ-009


@rule(
    id="PPQ-009",
    slug="continued-process-verification",
    title="A stage 3 continued process verification plan exists",
    area=Area.PPQ,
    severity=by_phase(None, None, None, MA, B),
    cites=(section(PV_2011, "IV.D"),),
    remedy="Write a continued process verification plan (attributes and parameters trended, "
           "statistical methods, review frequency, response to signals) and name it in "
           "ppq.yaml continued_process_verification.",
    why="After PPQ, stage 3 verification keeps showing the process stays in control and detects "
        "drift across commercial lots.",
    ctd=("3.2.S.2.5", "3.2.P.3.5"),
)
def continued_process_verification(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    if d.ppq is None:
        yield _waiting()
        return
    if _blank(d.ppq.continued_process_verification):
        yield Gap("No stage 3 continued process verification plan is named "
                  "(ppq.yaml continued_process_verification).",
                  _at(d, "continued_process_verification"), record="plan CPV")


# ---------------------------------------------------------------------------- PPQ-010


@rule(
    id="PPQ-010",
    slug="commercial-site-and-scale",
    title="PPQ runs at a commercial site and at commercial scale",
    area=Area.PPQ,
    severity=by_phase(None, None, I, MA, MA),
    grading=("A protocol that leaves out its site is read by the sites of its PPQ lots, and a scale left "
             "out is inferred from a complete, validated PPQ report; otherwise, with no site or scale "
             "on record, or a scale that neither says commercial nor names a smaller one (e.g. "
             "'500 L'), it is info (not shown). A non-commercial site, or a pilot, engineering, "
             "clinical or other reduced scale, takes the phase's grade."),
    cites=(section(PV_2011, "IV.C.2 and IV.C.4"),),
    remedy="Run PPQ at a site named in the BLA as commercial (commercial: true in dossier.yaml) "
           "and at commercial scale (protocol.scale: commercial); otherwise justify the site or "
           "scale and plan PPQ at the commercial one.",
    why="PPQ qualifies the commercial process as it will run: at the commercial site, with its "
        "equipment, staff and scale.",
    ctd=("3.2.S.2.5", "3.2.P.3.5"),
)
def commercial_site_and_scale(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    p = _protocol(d)
    if p is None:
        yield _waiting()
        return
    name, record, advice = _name(p), _record(p), _advice(ctx)
    if _blank(p.site):
        if not any(lot.site for lot in ctx.views.ppq_lots):  # else the lots' sites are checked below
            yield Gap(f"{name} does not record its manufacturing site (site), and no PPQ lot records "
                      f"one, so whether PPQ runs at a commercial site is not shown{advice}.",
                      _at(d, "protocol"), record=record, severity=I,
                      remedy="Record protocol.site (a site id of dossier.yaml), or the site column of "
                             f"the PPQ lots in {d.lots_file}.")
    else:
        site = d.site(p.site)
        if site is None:
            yield Gap(f"{name} names site {p.site}, which is not among the sites of dossier.yaml"
                      f"{advice}.", _at(d, "protocol", "site"), record=f"site {p.site}")
        elif not site.commercial:
            yield Gap(f"{name} runs PPQ at site {site.id}, which is not a commercial site "
                      f"(commercial: true in dossier.yaml){advice}.", _at(d, "protocol", "site"),
                      record=f"site {site.id}")
    if _blank(p.scale):
        if not _validated(d):  # a validated PPQ ran on the process as it will run
            yield Gap(f"{name} does not record its scale, so whether PPQ runs at commercial scale is "
                      f"not shown{advice}.", _at(d, "protocol"), record=record, severity=I,
                      remedy="Record protocol.scale (e.g. commercial).")
    elif _SMALL_SCALE.search(_scale_stated(p.scale or "")):
        yield Gap(f"{name} runs PPQ at {p.scale} scale, not commercial scale{advice}.",
                  _at(d, "protocol", "scale"), record=record, data={"scale": p.scale})
    elif not _COMMERCIAL_SCALE.match(_scale_stated(p.scale or "")):
        yield Gap(f"{name} records its scale as '{p.scale}', which does not say whether it is the commercial "
                  f"scale, so that is not shown{advice}.", _at(d, "protocol", "scale"), record=record,
                  severity=I, data={"scale": p.scale},
                  remedy="Write protocol.scale as commercial (a description may follow, e.g. "
                         "'commercial, 500 L') where PPQ runs at the commercial scale.")
    by_site: dict[str, list[Lot]] = {}
    for lot in ctx.views.ppq_lots:
        if lot.site and lot.site != p.site:
            by_site.setdefault(lot.site, []).append(lot)
    for site_id in sorted(by_site):
        site = d.site(site_id)
        if site is None or not site.commercial:
            lots = by_site[site_id]
            what = "an unknown site" if site is None else "not a commercial site"
            yield Gap(f"PPQ lots {_ids(lots)} were made at site {site_id}, {what}{advice}.",
                      Location(lots[0].file, lots[0].line), record=f"site {site_id}",
                      data={"lots": [lot.id for lot in lots]})


# ---------------------------------------------------------------------------- PPQ-011

MANUFACTURING_ROLES = frozenset({SiteRole.DRUG_SUBSTANCE, SiteRole.DRUG_PRODUCT})


@rule(
    id="PPQ-011",
    slug="every-commercial-site-qualified",
    title="Every commercial manufacturing site has PPQ",
    area=Area.PPQ,
    severity=by_phase(None, None, I, MA, MA),
    grading=("Read only where the PPQ lots record their site (or the protocol names one): a commercial "
             "drug substance or drug product site with no PPQ lot and not the protocol's site takes "
             "the phase's grade; before any PPQ lot is made it is info."),
    cites=(section(PV_2011, "IV.C.2"),),
    remedy="Run PPQ at each commercial manufacturing site (a bracketing or reduced-lot design may be "
           "justified from process understanding), or record that the site is not yet commercial "
           "(commercial: false) until it is qualified.",
    why="PPQ qualifies the commercial process in the facility, equipment and staff that will make it; "
        "a second commercial site, or a site added by a change, is qualified on its own lots.",
    ctd=("3.2.S.2.5", "3.2.P.3.5"),
)
def every_commercial_site_qualified(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    p = _protocol(d)
    if p is None:
        yield _waiting()
        return
    lots = ctx.views.ppq_lots
    qualified: set[str] = {lot.site for lot in lots if lot.site}
    if p.site and not _blank(p.site):
        qualified.add(p.site)
    if not qualified or any(not lot.site for lot in lots):
        return  # which sites PPQ ran at is not on record for every lot: PPQ-010 says what is missing
    for i, site in enumerate(d.info.sites):
        if not site.commercial or not MANUFACTURING_ROLES & set(site.roles) or site.id in qualified:
            continue
        yield Gap(f"Commercial {' and '.join(r.value.replace('_', ' ') for r in site.roles if r in MANUFACTURING_ROLES)}"
                  f" site {site.id} has no PPQ lot in {d.lots_file} and is not {_name(p)}'s site "
                  f"(PPQ lots were made at {', '.join(sorted(qualified))}).", d.where("dossier.yaml", "sites", i),
                  record=f"site {site.id}", data={"site": site.id, "ppq_sites": sorted(qualified)},
                  severity=Severity.INFO if not lots else None)


# ---------------------------------------------------------------------------- summary


class PPQSummary(NamedTuple):
    """The PPQ protocol at a glance, for the report (``Report.summaries["ppq"]``)."""

    protocol: str | None
    """The protocol id."""
    lots_planned: int | None
    lots_executed: int | None
    """The counted PPQ lots (see :func:`counted_lots`); None without lots.csv."""
    lots_passing: int | None
    """Counted lots passing by :func:`lot_passes`; None without lots.csv or specifications.yaml."""
    concurrent_release: bool
    justification: str | None
    """The lot-count approach, or None."""
    report_status: str | None
    """None without a PPQ report."""
    report_conclusion: str | None
    """None without a PPQ report."""


def summarize(views: DossierViews) -> PPQSummary | None:
    """The PPQ protocol at a glance; None when the dossier has no PPQ at all (read through
    ``views.ppq_summary``)."""
    d = views.dossier
    p = _protocol(d)
    lots = views.ppq_lots
    if p is None and not lots and (d.ppq is None or d.ppq.report is None):
        return None
    counted = counted_lots(lots)
    passing: int | None = None
    if d.lots is not None and d.specifications is not None:
        passing = sum(1 for lot in counted if lot_passes(views, lot))
    j = p.lot_count_justification if p is not None else None
    report = d.ppq.report if d.ppq is not None else None
    return PPQSummary(
        protocol=p.id if p is not None else None,
        lots_planned=p.lots_planned if p is not None else None,
        lots_executed=len(counted) if d.lots is not None else None,
        lots_passing=passing,
        concurrent_release=bool(p is not None and p.concurrent_release is not None
                                and p.concurrent_release.planned),
        justification=j.approach.value if j is not None and j.approach is not None else None,
        report_status=(report.status.value if report.status else "complete" if _report_complete(report)
                       else "not_recorded") if report is not None else None,
        report_conclusion=(report.conclusion.value if report.conclusion else "not_recorded")
        if report is not None else None,
    )
