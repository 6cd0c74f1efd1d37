"""GMP expectations by phase (GMP-001 … GMP-017): quality system, facility controls, materials,
donors, sites.

Inputs: gmp.yaml and dossier.yaml, plus lots.csv for the lots a site made (GMP-001) and the
lots made from donor material (GMP-014). A missing gmp.yaml (or a gmp.yaml without
``controls``) makes the rules that need it report "not evaluated". Absence is not failure: a
control, flag or record the dossier leaves out is "not shown" at info, with a remedy naming the
field to record; a control whose status is ``partial``, ``planned`` or ``absent``, or a flag
recorded ``false``, is a gap at the rule's severity: only ``in_place`` satisfies a control.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from cmcflex.dossier.ids import visible
from cmcflex.dossier.loader import Dossier, Location
from cmcflex.dossier.models import (
    APSPurpose,
    AsepticProcessSimulation,
    ControlStatus,
    Donor,
    GmpRegime,
    InspectionOutcome,
    Material,
    MaterialGrade,
    MaterialOrigin,
    MaterialRole,
    ReserveSamples,
    SiteRole,
)
from cmcflex.formatting import within_sentence
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
    by_phase,
    rule,
)
from cmcflex.rules.citations import (
    ASEPTIC_GUIDANCE,
    CAR_T_2024,
    CBER_2026,
    CFR_11_10,
    CFR_210_2_C,
    CFR_211_22,
    CFR_211_25,
    CFR_211_42,
    CFR_211_63,
    CFR_211_67,
    CFR_211_68,
    CFR_211_84_D2,
    CFR_211_100,
    CFR_211_100_A,
    CFR_211_100_B,
    CFR_211_113_B,
    CFR_211_160_A,
    CFR_211_170,
    CFR_211_186,
    CFR_211_188,
    CFR_211_192,
    CFR_600_13,
    CFR_600_21,
    CFR_601_20_D,
    CFR_610_15_A,
    CFR_1271_90_C1,
    CFR_1271_290,
    CFR_1271_DONOR,
    CONTROL_SOURCES,
    DATA_INTEGRITY_2018,
    DERIVED_MATERIALS_2024,
    FLEX_2026,
    GT_IND_2020,
    PHASE_1_GUIDANCE,
    PHS_351_A2C,
    QUALITY_AGREEMENTS_2016,
    USP_1043,
    section,
)
from cmcflex.rules.common import unresolved_lots
from cmcflex.rules.remedies import CONTROL_REMEDIES
from cmcflex.views import DossierViews
from cmcflex.vocabulary import Disposition, LotUse, StartingMaterial

GMP_FILE = "gmp.yaml"
DOSSIER_FILE = "dossier.yaml"
LATER_PHASE_USES = (LotUse.PHASE_2, LotUse.PHASE_3, LotUse.PPQ, LotUse.COMMERCIAL)
APS_MAX_AGE_MONTHS = 6
APS_INITIAL_RUNS = 3

CONTROL_GRADING = ("A control left out of gmp.yaml is info (not shown: record it); a control recorded "
                   "partial, planned or absent takes the rule's grade.")

_CONTROL_LABEL = {
    "written_procedures": "written procedures",
    "batch_records": "batch records",
    "personnel_training": "personnel training",
    "deviation_management": "deviation management",
    "oos_investigation": "out-of-specification (OOS) investigation",
    "change_control": "change control",
    "equipment_qualification": "equipment qualification",
    "supplier_qualification": "supplier qualification",
    "environmental_monitoring": "environmental monitoring",
    "data_integrity": "data integrity",
    "chain_of_identity": "chain of identity",
    "reserve_samples": "reserve samples",
}
_STATUS_TEXT = {
    ControlStatus.PARTIAL: "is only partly in place",
    ControlStatus.PLANNED: "is planned, not yet in place",
    ControlStatus.ABSENT: "is recorded as absent",
}


# ---------------------------------------------------------------------------- helpers


def _at(d: Dossier, file: str, *path: str | int) -> Location:
    """Where a record starts: the line of its key (a mapping) or of its item (a list)."""
    source = d.sources.get(file)
    if source is None:
        return Location(file, 0)
    return Location(file, source.locate(tuple(path), key=True)[0])


def _missing_gmp(what: str) -> NotEvaluated:
    return NotEvaluated(f"gmp.yaml is missing; cannot check {what}")


def _control_label(name: str) -> str:
    label = _CONTROL_LABEL[name]
    return label if label.endswith("control") else f"{label} control"


def _sentence(parts: Sequence[str]) -> str:
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def _controls_missing(d: Dossier, names: Sequence[str]) -> NotEvaluated | None:
    """Not evaluated when gmp.yaml is missing or records no ``controls`` at all."""
    wanted = ", ".join(f"controls.{n}" for n in names)
    if d.gmp is None:
        return _missing_gmp(wanted)
    if "controls" not in d.gmp.model_fields_set:
        return NotEvaluated(f"gmp.yaml records no controls; add {wanted}, each with its status and evidence")
    return None


def _control_gap(
    d: Dossier, name: str, detail: Sequence[str] = (), extra: dict[str, object] | None = None,
    not_shown: Sequence[str] = (), remedy: str | None = None,
) -> Gap | None:
    """One finding for a control: at the rule's grade when it is not in place or has the failed
    checks in ``detail``; at info when it is left out or only ``not_shown`` items are missing."""
    assert d.gmp is not None
    control = getattr(d.gmp.controls, name)
    label = _control_label(name)
    at = _at(d, GMP_FILE, "controls", name)
    record = f"control {name}"
    if control is None:
        return Gap(
            f"No {label} is shown: gmp.yaml does not record controls.{name}.",
            at=at, record=record, severity=I,
            data={"control": name, "status": None, "evidence": None, "shown": False, **(extra or {})},
            remedy=(f"Record controls.{name} with its status (in_place, partial, planned or absent) "
                    "and the document that shows it (evidence)."),
        )
    data = {"control": name, "status": control.status.value, "evidence": control.evidence, **(extra or {})}
    if control.status is not ControlStatus.IN_PLACE:
        return Gap(_sentence([f"the {label} (controls.{name}) {_STATUS_TEXT[control.status]}"]),
                   at=at, record=record, data=data)
    if detail:
        return Gap(_sentence([f"the {label} (controls.{name}) is in place, but {_join(list(detail))}",
                              *not_shown]),
                   at=at, record=record, data=data, remedy=remedy)
    if not_shown:
        return Gap(_sentence([f"the {label} (controls.{name}) is in place; {_join(list(not_shown))}"]),
                   at=at, record=record, data=data, severity=I, remedy=remedy)
    return None


def _controls_rule(d: Dossier, names: Sequence[str]) -> Iterator[Outcome]:
    reason = _controls_missing(d, names)
    if reason is not None:
        yield reason
        return
    for name in names:
        gap = _control_gap(d, name)
        if gap is not None:
            yield gap._replace(cites=CONTROL_SOURCES.get(name), remedy=gap.remedy or CONTROL_REMEDIES.get(name))


def _join(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _ids(ids: Sequence[str], limit: int = 10) -> str:
    """A readable list of ids, shortened past ``limit`` (the finding's data keeps them all)."""
    shown = ", ".join(ids[:limit])
    return shown if len(ids) <= limit else f"{shown} and {len(ids) - limit} more"


def _months_before(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _site_index(d: Dossier, site_id: str) -> int:
    return next(i for i, s in enumerate(d.info.sites) if s.id == site_id)


# ---------------------------------------------------------------------------- GMP-001


@rule(
    id="GMP-001",
    slug="cgmp-regime-matches-phase",
    title="The CGMP regime of each site matches the phase of the material it makes",
    area=Area.GMP,
    severity=by_phase(I, B, B, B, B),
    cites=(CFR_210_2_C, PHASE_1_GUIDANCE, CBER_2026, FLEX_2026),
    grading=("A Phase 1 guidance site with no lot on record while the product is past phase 1 is "
             "info (whether it makes phase 2/3 material is not shown); one that made phase 2/3, PPQ "
             "or commercial lots, or is named commercial, takes the rule's grade, and so does the "
             "dossier's only testing site while lots.csv holds phase 2/3 lots (it tests them)."),
    remedy=(
        "Bring every site that makes phase 2, phase 3, PPQ or commercial material under 21 CFR "
        "part 211 (record gmp_regime: part_211 once its quality system, procedures and records "
        "meet part 211), or move that manufacture to a part 211 site; a site that only made "
        "phase 1 material may stay under the Phase 1 guidance."
    ),
    why=(
        "Phase 1 material is exempt from part 211 under 21 CFR 210.2(c) and follows the 2008 "
        "Phase 1 guidance, and CBER's flexibilities (January 2026 web page, May 2026 final guidance) "
        "confirm that part 211 compliance is not expected before product is made for phase 2/3 trials "
        "— but from then on it is, so phase 2/3, PPQ and commercial lots made under the Phase 1 "
        "guidance fall short of CGMP."
    ),
    ctd=("3.2.S.2.1", "3.2.P.3.1"),
    flexibilities=("CD1",),
)
def cgmp_regime_matches_phase(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    """P1: the Phase 1 regime note (per phase_1_guidance site). Every phase: later-phase lots
    from phase_1_guidance sites."""
    sites = d.info.sites
    p1_sites = [s for s in sites if s.gmp_regime is GmpRegime.PHASE_1_GUIDANCE]
    if ctx.phase is not Phase.PHASE_1 and not sites:
        yield NotEvaluated("dossier.yaml lists no sites; cannot check each site's CGMP regime")
        return
    note = ("under CBER's January 2026 flexibilities no part 211 compliance is expected before "
            "product is made for phase 2/3 trials")
    if ctx.phase is Phase.PHASE_1 and not p1_sites:
        yield Gap(
            "At phase 1, compliance with 21 CFR part 211 is not yet required (21 CFR 210.2(c)): "
            f"the FDA guidance CGMP for Phase 1 Investigational Drugs (2008) applies, and {note}.",
            at=d.where(DOSSIER_FILE, "phase"),
            data={"phase_1_guidance_sites": []},
        )
    for site in p1_sites:
        i = _site_index(d, site.id)
        regime_at = d.where(DOSSIER_FILE, "sites", i, "gmp_regime")
        site_lots = d.lots.lots_where(site=site.id) if d.lots is not None else []
        later = [lot for lot in site_lots if lot.use in LATER_PHASE_USES]
        if later:
            uses = sorted({lot.use for lot in later}, key=LATER_PHASE_USES.index)
            first = later[0]
            yield Gap(
                f"Site {site.id} follows the Phase 1 guidance (gmp_regime: phase_1_guidance) but made "
                f"{_join([_use_label(u) for u in uses])} lots: {_ids([lot.id for lot in later])}.",
                at=Location(first.file, first.line),
                record=f"site {site.id}",
                data={"site": site.id, "lots": [lot.id for lot in later], "uses": uses,
                      "site_line": regime_at.line},
            )
        elif ctx.phase is Phase.PHASE_1:
            yield Gap(
                f"At phase 1, site {site.id} may follow the FDA guidance CGMP for Phase 1 "
                f"Investigational Drugs (2008) instead of 21 CFR part 211 (21 CFR 210.2(c)), and {note}.",
                at=regime_at,
                record=f"site {site.id}",
                data={"site": site.id, "phase_1_guidance_sites": [s.id for s in p1_sites]},
                remedy=(
                    f"Nothing to do at phase 1; record gmp_regime: part_211 for site {site.id} "
                    "once its quality system meets part 211, before it makes phase 2/3 material."
                ),
            )
        elif site.commercial:
            yield Gap(
                f"Commercial site {site.id} follows the Phase 1 guidance (gmp_regime: "
                "phase_1_guidance); a site named in the BLA must operate under 21 CFR part 211.",
                at=regime_at,
                record=f"site {site.id}",
                data={"site": site.id, "lots": [], "commercial": True},
            )
        elif (set(site.roles) == {SiteRole.TESTING} and d.lots is not None
              and any(lot.use in LATER_PHASE_USES for lot in d.lots.lots())
              and not any(SiteRole.TESTING in s.roles for s in sites if s is not site)):
            # lots.csv names the site that made a lot, never the laboratory that tested it: the
            # dossier's only testing site tests its phase 2/3 lots, and testing is manufacture
            later_ids = [lot.id for lot in d.lots.lots() if lot.use in LATER_PHASE_USES]
            yield Gap(
                f"Testing site {site.id} follows the Phase 1 guidance (gmp_regime: phase_1_guidance), yet it "
                f"is the dossier's only testing site and {d.lots_file} holds phase 2/3 lots "
                f"({_ids(later_ids)}); release testing is part of manufacture (21 CFR 210.3(b)(12)) and, "
                "for phase 2/3 material, falls under 21 CFR part 211 (211.160 to 211.194).",
                at=regime_at,
                record=f"site {site.id}",
                data={"site": site.id, "lots": later_ids[:50], "testing": True},
            )
        elif not site_lots:
            shown = f"{d.lots_file} shows no lot from it" if d.lots is not None else "there is no lots.csv"
            yield Gap(
                f"Site {site.id} follows the Phase 1 guidance (gmp_regime: phase_1_guidance) while the "
                f"product is at {ctx.phase.label}, and {shown}, so whether it makes phase 2/3 material "
                "is not shown; material it makes for phase 2/3 trials must be made under 21 CFR part 211.",
                at=regime_at,
                record=f"site {site.id}",
                data={"site": site.id, "lots": []},
                severity=I,
                remedy=(
                    f"Record gmp_regime: part_211 for site {site.id} before it makes phase 2/3 "
                    f"material, or record in {d.lots_file} the phase 1 lots that are its only output."
                ),
            )


# ---------------------------------------------------------------------------- GMP-002


@rule(
    id="GMP-002",
    slug="quality-unit-independent",
    title="An independent quality unit (QC function at phase 1) with written responsibilities",
    area=Area.GMP,
    severity=by_phase(B, B, B, B, B),
    cites=(CFR_211_22, section(PHASE_1_GUIDANCE, "V.B")),
    grading=("A quality unit left out of gmp.yaml, or one whose independence or written "
             "responsibilities are not recorded, is info (not shown); either recorded false is a blocker."),
    remedy=(
        "Establish a quality unit (at phase 1, a QC function) independent of production, with "
        "authority to approve or reject components, procedures and lots, and write down its "
        "responsibilities in an approved procedure; record both in gmp.yaml quality_unit."
    ),
    why=(
        "Release decisions are only trustworthy when made by people who do not answer to "
        "production and whose responsibilities are written; this holds from phase 1, where the "
        "Phase 1 guidance accepts a QC function in place of a full quality unit."
    ),
    ctd=("3.2.S.2.1", "3.2.P.3.1"),
)
def quality_unit_independent(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    if d.gmp is None:
        yield _missing_gmp("the quality unit")
        return
    unit = "QC function" if ctx.phase is Phase.PHASE_1 else "quality unit"
    qu = d.gmp.quality_unit
    at = _at(d, GMP_FILE, "quality_unit")
    fields = ("independent", "responsibilities_written")
    if qu is None:
        yield Gap(f"No {unit} is shown: gmp.yaml does not record quality_unit.", at=at,
                  record="quality unit", data={"independent": None, "responsibilities_written": None},
                  severity=I,
                  remedy=(f"Record quality_unit with independent and responsibilities_written (true or "
                          f"false) for the {unit}."))
        return
    data = {name: getattr(qu, name) for name in fields}
    problems = []
    if qu.independent is False:
        problems.append("is not independent of production")
    if qu.responsibilities_written is False:
        problems.append("has no written responsibilities")
    unshown = [name for name in fields if getattr(qu, name) is None]
    if problems:
        yield Gap(f"The {unit} {' and '.join(problems)}.", at=at, record="quality unit", data=data)
    elif unshown:
        what = {"independent": "its independence from production",
                "responsibilities_written": "that its responsibilities are written"}
        yield Gap(f"The {unit} is recorded, but {_join([what[n] for n in unshown])} "
                  f"{'is' if len(unshown) == 1 else 'are'} not shown ({', '.join(unshown)}).",
                  at=at, record="quality unit", data=data, severity=I,
                  remedy=f"Record {_join(unshown)} (true or false) in gmp.yaml quality_unit.")


# ---------------------------------------------------------------------------- GMP-003 … GMP-007


@rule(
    id="GMP-003",
    slug="written-procedures-and-records",
    title="Written procedures and batch records in place",
    area=Area.GMP,
    severity=by_phase(B, MA, B, B, B),
    cites=(CFR_211_100, CFR_211_186, CFR_211_188, section(PHASE_1_GUIDANCE, "V.E")),
    grading=CONTROL_GRADING,
    remedy=(
        "Approve written production and process-control procedures and a master batch record, "
        "record each lot in an executed batch record, and set controls.written_procedures and "
        "controls.batch_records to in_place with the document ids as evidence."
    ),
    why=(
        "Without written procedures and batch records no one can show how a lot was made, "
        "investigate a failure, or reproduce the process; even phase 1 manufacture must be recorded."
    ),
    ctd=("3.2.S.2.2", "3.2.P.3.3"),
)
def written_procedures_and_records(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    yield from _controls_rule(d, ("written_procedures", "batch_records"))


@rule(
    id="GMP-004",
    slug="personnel-training",
    title="Personnel training program in place",
    area=Area.GMP,
    severity=by_phase(MA, MA, MA, B, B),
    cites=(CFR_211_25,),
    grading=CONTROL_GRADING,
    remedy=(
        "Put a training program in place (a training matrix per role, records of training on "
        "the procedures each person performs, aseptic gowning qualification) and record "
        "controls.personnel_training as in_place with its evidence."
    ),
    why=(
        "Cell and gene therapy processes are largely manual; operators who are not trained and "
        "qualified on the procedures are a direct risk to sterility and to the product."
    ),
    ctd=("3.2.S.2.1", "3.2.P.3.1"),
)
def personnel_training(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    yield from _controls_rule(d, ("personnel_training",))


@rule(
    id="GMP-005",
    slug="deviations-and-oos-investigated",
    title="Deviation and OOS investigation procedures in place",
    area=Area.GMP,
    severity=by_phase(MA, B, B, B, B),
    cites=(CFR_211_192, CFR_211_100_B),
    grading=CONTROL_GRADING,
    remedy=(
        "Approve procedures for recording and investigating deviations and out-of-specification "
        "results (root cause, impact on other lots, CAPA, quality unit approval) and record "
        "controls.deviation_management and controls.oos_investigation as in_place."
    ),
    why=(
        "Unexplained discrepancies and failing results must be investigated before a lot is "
        "released; without a procedure, investigations are inconsistent or do not happen."
    ),
    ctd=("3.2.S.2.1", "3.2.P.3.1"),
)
def deviations_and_oos_investigated(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    yield from _controls_rule(d, ("deviation_management", "oos_investigation"))


@rule(
    id="GMP-006",
    slug="change-control",
    title="Change control in place",
    area=Area.GMP,
    severity=by_phase(MI, MA, B, B, B),
    cites=(CFR_211_100_A, CFR_211_160_A),
    grading=CONTROL_GRADING,
    remedy=(
        "Put a change control procedure in place (proposal, risk assessment, quality unit "
        "approval, comparability assessment where product quality may be affected) and record "
        "controls.change_control as in_place with its evidence."
    ),
    why=(
        "Changes to the process, materials, equipment or methods must be assessed and approved "
        "before they are made; otherwise comparability of clinical and commercial material "
        "cannot be shown."
    ),
    ctd=("3.2.S.2.1", "3.2.P.3.1"),
)
def change_control(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    yield from _controls_rule(d, ("change_control",))


@rule(
    id="GMP-007",
    slug="equipment-qualified",
    title="Equipment qualification in place",
    area=Area.GMP,
    severity=by_phase(MA, MA, MA, B, B),
    cites=(CFR_211_63, CFR_211_67, CFR_211_68),
    grading=CONTROL_GRADING,
    remedy=(
        "Qualify the equipment used in manufacture and testing (IQ/OQ/PQ under a validation "
        "master plan, with cleaning and calibration programs) and record "
        "controls.equipment_qualification as in_place with its evidence."
    ),
    why=(
        "Process and test results are only meaningful when the equipment producing them is "
        "shown to be fit for purpose, clean and calibrated."
    ),
    ctd=("3.2.A.1",),
)
def equipment_qualified(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    yield from _controls_rule(d, ("equipment_qualification",))


# ---------------------------------------------------------------------------- GMP-008


@rule(
    id="GMP-008",
    slug="environmental-monitoring",
    title="Environmental monitoring program with trending and no uninvestigated excursions",
    area=Area.GMP,
    severity=by_phase(MI, MA, B, B, B),
    cites=(CFR_211_42, section(ASEPTIC_GUIDANCE, "X.A (environmental monitoring)")),
    grading=("A program in place that does not record trending or the number of uninvestigated "
             "excursions is info (not shown), as is a program left out; trending: false, an "
             "uninvestigated excursion, or a status other than in_place takes the rule's grade."),
    remedy=(
        "Run an environmental monitoring program for the aseptic areas (viable and non-viable "
        "particles, surfaces, personnel), trend its results, investigate every excursion, and "
        "record controls.environmental_monitoring with trending: true and "
        "uninvestigated_excursions: 0."
    ),
    why=(
        "Cell and gene therapy products cannot be terminally sterilized, so the state of control "
        "of the aseptic environment — shown by monitoring, trending and investigated excursions — "
        "is what assures sterility."
    ),
    ctd=("3.2.A.1",),
)
def environmental_monitoring(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    reason = _controls_missing(d, ("environmental_monitoring",))
    if reason is not None:
        yield reason
        return
    assert d.gmp is not None
    em = d.gmp.controls.environmental_monitoring
    detail: list[str] = []
    not_shown: list[str] = []
    to_do: list[str] = []
    if em is not None:
        if em.trending is False:
            detail.append("its results are not trended")
            to_do.append("trend the EM results (by room, grade and organism) and record trending: true")
        elif em.trending is None:
            not_shown.append("whether its results are trended is not shown (trending)")
            to_do.append("record whether the EM results are trended (trending: true or false)")
        n = em.uninvestigated_excursions
        if n is None:
            not_shown.append("the number of uninvestigated excursions is not shown (uninvestigated_excursions)")
            to_do.append("record the number of uninvestigated excursions (uninvestigated_excursions: 0 "
                         "when every excursion has a completed investigation)")
        elif n > 0:
            detail.append(f"{n} excursion{'s are' if n > 1 else ' is'} not investigated")
            to_do.append(f"complete the investigation of the {n} open excursion{'s' if n > 1 else ''} "
                         "(root cause, product impact, CAPA) and record uninvestigated_excursions: 0")
    remedy = _sentence(to_do) if to_do else None
    gap = _control_gap(d, "environmental_monitoring", detail, not_shown=not_shown, remedy=remedy)
    if gap is not None:
        yield gap


# ---------------------------------------------------------------------------- GMP-009


def _aps_label(group: Sequence[tuple[int, AsepticProcessSimulation]]) -> str:
    """``SITE-A/SUITE-1`` (or the suite alone), from the runs of one suite."""
    suite = group[-1][1].suite or "-"
    site = next((r.site for _, r in group if r.site), None)
    return f"{site}/{suite}" if site else suite


def _aps_where(d: Dossier, index: int) -> Location:
    return d.where(GMP_FILE, "aseptic_process_simulation", index)


def _longest_clean_streak(runs: Sequence[AsepticProcessSimulation]) -> int:
    best = streak = 0
    for run in runs:
        streak = streak + 1 if run.contaminated == 0 else 0
        best = max(best, streak)
    return best


@rule(
    id="GMP-009",
    slug="aseptic-process-simulation",
    title="Aseptic process simulation current, clean and worst case",
    area=Area.GMP,
    severity=by_phase(MI, MA, B, B, B),
    cites=(CFR_211_113_B, section(ASEPTIC_GUIDANCE, "IX.A")),
    grading=("A latest run that does not record worst_case is info, and so, from BLA, is a suite "
             "whose runs record no purpose and whose earliest runs do not show 3 consecutive "
             "successes (its initial qualification is not shown); a run not current, contaminated or "
             "not worst case, and runs recorded initial without 3 consecutive successes, take the "
             "rule's grade. Without purpose, a suite's earliest runs are read as its initial "
             "qualification."),
    remedy=(
        "Run an aseptic process simulation (media fill) in each suite at least every 6 months "
        "that covers the worst case (longest duration, most interventions, most operators) with "
        "zero contaminated units; qualify each new suite with 3 consecutive successful initial "
        "runs; record each run in gmp.yaml aseptic_process_simulation."
    ),
    why=(
        "Every cell and gene therapy product is aseptically processed (none can be terminally "
        "sterilized), and the process simulation is the evidence that the aseptic process, "
        "operators and suite can make a sterile product."
    ),
    ctd=("3.2.S.2.5", "3.2.P.3.5", "3.2.A.1"),
)
def aseptic_process_simulation(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    """Latest run per suite: within 6 months, no contamination, worst case; BLA+: initial runs."""
    if d.gmp is None:
        yield _missing_gmp("aseptic process simulations")
        return
    runs = list(enumerate(d.gmp.aseptic_process_simulation))
    if not runs:
        if "aseptic_process_simulation" not in d.gmp.model_fields_set:
            yield NotEvaluated("gmp.yaml records no aseptic process simulation; add the media fill runs "
                               "of each suite to aseptic_process_simulation")
            return
        yield Gap(
            "No aseptic process simulation (media fill) is recorded in gmp.yaml.",
            at=_at(d, GMP_FILE, "aseptic_process_simulation"),
            record="aps",
            data={"runs": 0},
        )
        return
    cutoff = _months_before(ctx.as_of, APS_MAX_AGE_MONTHS)
    for group in _aps_suites(runs):
        i, latest = group[-1]
        label = _aps_label(group)
        site = next((r.site for _, r in group if r.site), None)
        day = latest.date.isoformat()
        problems, to_do = [], []
        if latest.date < cutoff:
            problems.append(f"is older than {APS_MAX_AGE_MONTHS} months on {ctx.as_of.isoformat()}")
            to_do.append(f"run the next aseptic process simulation of {label} now and every "
                         f"{APS_MAX_AGE_MONTHS} months after, and record it")
        if latest.contaminated > 0:
            problems.append(f"had {latest.contaminated} contaminated unit{'s' if latest.contaminated > 1 else ''}")
            to_do.append(f"investigate the contamination of the {day} run (root cause, impact on the lots "
                         "made since the last successful run), correct it, and repeat the simulation "
                         "with zero contaminated units before relying on the suite")
        if latest.worst_case is False:
            problems.append("does not cover the worst case")
            to_do.append(f"run the next simulation of {label} under the worst case (longest duration, "
                         "most interventions, most operators) and record worst_case: true")
        unshown = latest.worst_case is None
        data = {"site": site, "suite": latest.suite, "date": latest.date.isoformat(),
                "contaminated": latest.contaminated, "worst_case": latest.worst_case,
                "current_since": cutoff.isoformat()}
        record = f"aps {day} {label}"
        if problems:
            note = "; whether it covers the worst case is not shown (worst_case)" if unshown else ""
            if unshown:
                to_do.append(f"record worst_case on the {day} run")
            yield Gap(
                f"The latest aseptic process simulation of {label} ({day}) {_join(problems)}{note}.",
                at=_aps_where(d, i), record=record, data=data, remedy=_sentence(to_do),
            )
        elif unshown:
            yield Gap(
                f"The latest aseptic process simulation of {label} ({latest.date.isoformat()}) is "
                "current and clean, but whether it covers the worst case is not shown (worst_case).",
                at=_aps_where(d, i), record=record, data=data, severity=I,
                remedy=(f"Record worst_case on the {latest.date.isoformat()} run of {label}: true when it "
                        "covered the longest duration, most interventions and most operators, else false."),
            )
        if ctx.phase >= Phase.BLA:
            yield from _aps_initial_qualification(d, group, label, site)


def _aps_suites(
    runs: Sequence[tuple[int, AsepticProcessSimulation]],
) -> list[list[tuple[int, AsepticProcessSimulation]]]:
    """Runs grouped by suite, each group in date order. A run without ``site`` joins the suite of
    the same id at the one site that records it: a site id written on some runs only splits nothing."""
    sites_of: dict[str, set[str]] = {}
    for _, run in runs:
        if run.suite and run.site:
            sites_of.setdefault(run.suite, set()).add(run.site)
    groups: dict[tuple[str, str], list[tuple[int, AsepticProcessSimulation]]] = {}
    for i, run in runs:
        site = run.site or ""
        known = sites_of.get(run.suite or "", set())
        if not site and len(known) == 1:
            site = next(iter(known))
        groups.setdefault((site, run.suite or ""), []).append((i, run))
    return [sorted(groups[key], key=lambda item: (item[1].date, item[0])) for key in sorted(groups)]


def _aps_initial_runs(
    group: Sequence[tuple[int, AsepticProcessSimulation]],
) -> tuple[list[tuple[int, AsepticProcessSimulation]], bool]:
    """The suite's initial qualification runs, and whether they are recorded as such.

    Runs marked ``purpose: initial`` when any is; otherwise the suite's earliest runs, up to its
    first run marked ``periodic`` (a suite's history starts with its initial qualification)."""
    marked = [(j, r) for j, r in group if r.purpose is APSPurpose.INITIAL]
    if marked:
        return marked, True
    earliest = []
    for j, r in group:
        if r.purpose is APSPurpose.PERIODIC:
            break
        earliest.append((j, r))
    return earliest, False


def _aps_initial_qualification(
    d: Dossier, group: Sequence[tuple[int, AsepticProcessSimulation]], label: str, site: str | None,
) -> Iterator[Gap]:
    initial, marked = _aps_initial_runs(group)
    streak = _longest_clean_streak([r for _, r in initial])
    if streak >= APS_INITIAL_RUNS:
        return
    where = initial[0][0] if initial else group[0][0]
    data = {"site": site, "suite": group[-1][1].suite, "initial_runs": len(initial),
            "consecutive_successful": streak, "purpose_recorded": marked}
    if marked:
        yield Gap(
            f"The initial qualification of {label} shows {streak} consecutive successful "
            f"aseptic process simulation{'s' if streak != 1 else ''} "
            f"({len(initial)} initial run{'s' if len(initial) != 1 else ''} recorded); "
            f"{APS_INITIAL_RUNS} are expected.",
            at=_aps_where(d, where), record=f"aps initial {label}", data=data,
            remedy=(f"Complete the initial qualification of {label} with {APS_INITIAL_RUNS} consecutive "
                    "successful runs under worst-case conditions and record them with purpose: initial."),
        )
        return
    earliest = (f"its {len(initial)} earliest recorded run{'s' if len(initial) != 1 else ''} "
                f"show{'s' if len(initial) == 1 else ''} {streak} consecutive successful"
                if initial else "its history starts with periodic runs")
    yield Gap(
        f"The initial qualification of {label} is not shown: no run records purpose: initial, and "
        f"{earliest}; {APS_INITIAL_RUNS} consecutive successful initial runs are expected.",
        at=_aps_where(d, where), record=f"aps initial {label}", data=data, severity=I,
        remedy=(f"Record the initial qualification runs of {label} in aseptic_process_simulation "
                f"with purpose: initial ({APS_INITIAL_RUNS} consecutive successful runs are expected)."),
    )


# ---------------------------------------------------------------------------- GMP-010


_DI_FLAGS = {
    "audit_trail": "audit trails on",
    "systems_validated": "computerized systems validated",
    "unique_logins": "unique user logins",
}
_DI_REMEDY = {
    "audit_trail": "switch on the audit trails of the GMP systems, review them, and record audit_trail: true",
    "systems_validated": "validate the GMP computerized systems and record systems_validated: true",
    "unique_logins": "give each user a unique login (no shared accounts) and record unique_logins: true",
}


@rule(
    id="GMP-010",
    slug="data-integrity",
    title="Data integrity: audit trails on, systems validated, unique logins",
    area=Area.GMP,
    severity=by_phase(MI, MA, B, B, B),
    cites=(CFR_11_10, CFR_211_68, DATA_INTEGRITY_2018),
    grading=("Controls in place that do not record a safeguard (audit_trail, systems_validated, "
             "unique_logins) are info (not shown), as are controls left out; a safeguard recorded "
             "false, or a status other than in_place, takes the rule's grade."),
    remedy=(
        "Validate the computerized systems that hold GMP data, switch on and review their audit "
        "trails, give each user a unique login (no shared accounts), and record each in "
        "controls.data_integrity."
    ),
    why=(
        "Batch, test and environmental records support every release and the BLA itself; "
        "without audit trails, validated systems and attributable logins their integrity "
        "cannot be shown, a frequent basis of inspection findings."
    ),
    ctd=("3.2.S.2.1", "3.2.P.3.1"),
)
def data_integrity(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    reason = _controls_missing(d, ("data_integrity",))
    if reason is not None:
        yield reason
        return
    assert d.gmp is not None
    di = d.gmp.controls.data_integrity
    failed = [n for n in _DI_FLAGS if di is not None and getattr(di, n) is False]
    unshown = [n for n in _DI_FLAGS if di is not None and getattr(di, n) is None]
    detail = [f"recorded as missing: {_join([_DI_FLAGS[n] for n in failed])}"] if failed else []
    shown_text = f"not shown: {_join([_DI_FLAGS[n] for n in unshown])} ({', '.join(unshown)})"
    not_shown = [shown_text] if unshown else []
    to_do = [_DI_REMEDY[n] for n in failed]
    if unshown:
        to_do.append(f"record {_join(unshown)} (true or false) for the GMP computerized systems")
    remedy = _sentence(to_do) if to_do else None
    gap = _control_gap(d, "data_integrity", detail, {"missing": failed + unshown, "failed": failed,
                                                     "not_shown": unshown},
                       not_shown=not_shown, remedy=remedy)
    if gap is not None:
        yield gap


# ---------------------------------------------------------------------------- materials


def _materials_or_reason(d: Dossier, what: str) -> NotEvaluated | None:
    if d.gmp is None:
        return _missing_gmp(what)
    if not d.gmp.materials:
        return NotEvaluated(f"gmp.yaml lists no materials; cannot check {what}")
    return None


def _is_cell_starting_material(m: Material) -> bool:
    """Human cells used as starting material (patient or donor cells)."""
    return m.role is MaterialRole.STARTING_MATERIAL and m.origin is MaterialOrigin.HUMAN


@rule(
    id="GMP-011",
    slug="human-animal-materials-assessed",
    title="Each human- or animal-derived material has a risk assessment",
    area=Area.GMP,
    severity=by_phase(MA, MA, B, B, B),
    cites=(DERIVED_MATERIALS_2024, USP_1043, CFR_610_15_A),
    remedy=(
        "Write a risk assessment for the material (source and country of origin, TSE/BSE risk, "
        "adventitious agent testing and viral clearance, lot-to-lot consistency) and record its "
        "id in the material's risk_assessment."
    ),
    why=(
        "Materials of human or animal origin (serum, albumin, trypsin, feeder cells, cytokines made "
        "in animal systems) can carry adventitious agents into a product that cannot be sterilized "
        "or virally cleared; human cells used as the starting material are outside this check "
        "(donor eligibility, GMP-014, covers them, as the FDA draft guidance excludes them)."
    ),
    ctd=("3.2.S.2.3", "3.2.P.4.5", "3.2.A.2"),
)
def human_animal_materials_assessed(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    reason = _materials_or_reason(d, "risk assessments of human- and animal-derived materials")
    if reason is not None:
        yield reason
        return
    assert d.gmp is not None
    for i, m in enumerate(d.gmp.materials):
        if m.origin not in (MaterialOrigin.HUMAN, MaterialOrigin.ANIMAL) or _is_cell_starting_material(m):
            continue
        if not (m.risk_assessment or "").strip():
            yield Gap(
                f"Material {m.name} ({m.origin.value}-derived {m.role.value}) has no risk assessment.",
                at=d.where(GMP_FILE, "materials", i),
                record=f"material {m.name}",
                cites=None if ctx.phase >= Phase.BLA else (DERIVED_MATERIALS_2024, USP_1043),
                data={"material": m.name, "origin": m.origin.value, "role": m.role.value},
                ctd=("3.2.P.4.5", "3.2.A.2") if m.role is MaterialRole.EXCIPIENT else ("3.2.S.2.3", "3.2.A.2"),
            )


@rule(
    id="GMP-012",
    slug="research-grade-materials",
    title="Research-grade materials qualified, and replaced or justified before pivotal manufacture",
    area=Area.GMP,
    severity=by_phase(MI, MA, B, B, B),
    cites=(GT_IND_2020, USP_1043),
    remedy=(
        "Qualify each research-grade material in house (identity, purity, function, sterility, "
        "endotoxin, adventitious agents as relevant; record the report in `qualification`), and "
        "before pivotal manufacture replace it with a GMP or compendial grade or record why it "
        "stays (`justification`)."
    ),
    why=(
        "Research-grade reagents are acceptable in early development if the sponsor qualifies "
        "them, but lot-to-lot variability and unknown contaminants threaten the pivotal and "
        "commercial product; at phase 1 and 2 a qualified research-grade material is fine, from "
        "pivotal manufacture on it must be replaced or justified."
    ),
    ctd=("3.2.S.2.3",),
)
def research_grade_materials(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    reason = _materials_or_reason(d, "research-grade materials")
    if reason is not None:
        yield reason
        return
    assert d.gmp is not None
    pivotal = ctx.phase >= Phase.PHASE_3
    for i, m in enumerate(d.gmp.materials):
        if m.grade is not MaterialGrade.RESEARCH:
            continue
        missing = []
        if not (m.qualification or "").strip():
            missing.append("no qualification record")
        if pivotal and not (m.justification or "").strip():
            missing.append("was neither replaced nor justified before pivotal manufacture")
        if missing:
            yield Gap(
                f"Research-grade material {m.name} has {' and '.join(missing)}.",
                at=d.where(GMP_FILE, "materials", i),
                record=f"material {m.name}",
                data={"material": m.name, "qualification": m.qualification,
                      "justification": m.justification, "pivotal": pivotal},
            )


@rule(
    id="GMP-013",
    slug="suppliers-qualified",
    title="Suppliers of critical materials qualified",
    area=Area.GMP,
    severity=by_phase(MI, MA, B, B, B),
    cites=(CFR_211_84_D2,),
    grading=("A material without supplier_qualified is covered by a supplier qualification program "
             "in place; without one it is info (not shown). A supplier recorded not qualified, or a "
             "program recorded partial, planned or absent, takes the rule's grade."),
    remedy=(
        "Qualify the supplier (audit or questionnaire, verification of the certificate of "
        "analysis by own testing at set intervals, quality agreement) and record "
        "supplier_qualified: true for the material; keep the supplier qualification program in place."
    ),
    why=(
        "Relying on a supplier's certificate of analysis is only allowed once its reliability is "
        "established; every material except patient or donor cells (grade not_applicable, whose "
        "source is covered by donor eligibility and chain of identity) is treated as critical, "
        "since each touches the product or its container."
    ),
    ctd=("3.2.S.2.3",),
)
def suppliers_qualified(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    reason = _materials_or_reason(d, "supplier qualification of critical materials")
    if reason is not None:
        yield reason
        return
    assert d.gmp is not None
    program = d.gmp.controls.supplier_qualification
    if program is not None and program.status is not ControlStatus.IN_PLACE:
        gap = _control_gap(d, "supplier_qualification")
        if gap is not None:
            yield gap
    program_in_place = program is not None and program.status is ControlStatus.IN_PLACE
    for i, m in enumerate(d.gmp.materials):
        if m.grade is MaterialGrade.NOT_APPLICABLE or m.supplier_qualified is True:
            continue
        if m.supplier_qualified is None and program_in_place:
            continue  # bought under a supplier qualification program in place: its suppliers are qualified
        data = {"material": m.name, "role": m.role.value, "supplier_qualified": m.supplier_qualified}
        if m.supplier_qualified is None:
            yield Gap(
                f"Qualification of the supplier of critical material {m.name} ({m.role.value}) is not "
                "shown: the material records no supplier_qualified, and no supplier qualification "
                "program in place is recorded (controls.supplier_qualification).",
                at=d.where(GMP_FILE, "materials", i),
                record=f"material {m.name}",
                data=data,
                severity=I,
                remedy=(f"Record supplier_qualified (true or false) for {m.name}, or record "
                        "controls.supplier_qualification with status in_place."),
            )
            continue
        yield Gap(
            f"The supplier of critical material {m.name} ({m.role.value}) is not qualified (supplier_qualified).",
            at=d.where(GMP_FILE, "materials", i),
            record=f"material {m.name}",
            data=data,
        )


# ---------------------------------------------------------------------------- GMP-014, GMP-015


_DONOR_CHECKS = {
    "eligibility_determined": "no eligibility determination",
    "tests_complete": "incomplete donor testing",
    "released_from_quarantine": "no release from quarantine",
}


def _donor_state(donor: Donor) -> dict[str, bool | None]:
    """The three checks as a reviewer reads the record. A determination implies complete testing
    (21 CFR 1271.50(a) rests on it) and allows release from quarantine, so an unrecorded
    ``tests_complete`` or ``released_from_quarantine`` follows it; before the determination they
    stay unknown (None), and the material counts as held in quarantine (21 CFR 1271.60(a))."""
    eligible = donor.eligibility_determined
    inferred = True if eligible else None
    tests = donor.tests_complete if donor.tests_complete is not None else inferred
    released = donor.released_from_quarantine if donor.released_from_quarantine is not None else inferred
    return {"eligibility_determined": eligible, "tests_complete": tests,
            "released_from_quarantine": released}


RELEASED = (Disposition.RELEASED, Disposition.RELEASED_UNDER_EXCEPTION)
PATIENT_USES = (LotUse.PHASE_1, LotUse.PHASE_2, LotUse.PHASE_3, LotUse.PPQ, LotUse.COMMERCIAL)


def _use_label(use: str) -> str:
    return "PPQ" if use == LotUse.PPQ else use.replace("_", " ")


class DonorLots(NamedTuple):
    """A donor's lots in words, and which were released, given to patients or not found."""

    text: str
    released: list[str]
    to_patients: list[str]
    unknown: list[str]


def _donor_lots(d: Dossier, views: DossierViews, lot_ids: Sequence[str]) -> DonorLots:
    words, released, to_patients, unknown = [], [], [], []
    hints = unresolved_lots(views, lot_ids)
    for lot_id in lot_ids:
        lot = d.lots.lot(lot_id) if d.lots is not None else None
        if lot is None:
            hint = hints.get(lot_id)
            meant = f" (did you mean '{visible(hint)}'?)" if hint else ""
            words.append(f"{visible(lot_id)}: not in {d.lots_file}{meant}")
            unknown.append(lot_id)
            continue
        state = ""
        if lot.disposition in RELEASED or lot_id in views.released_ids:  # a patient lot with no disposition: released
            released.append(lot_id)
            state = f", {(lot.disposition or 'released, assumed').replace('_', ' ')}"
            if lot.use in PATIENT_USES:
                to_patients.append(lot_id)
        words.append(f"{lot_id}: {_use_label(lot.use)}{state}")
    text = "; ".join(words[:10]) + (f" and {len(words) - 10} more" if len(words) > 10 else "")
    return DonorLots(text, released, to_patients, unknown)


def _plural(ids: Sequence[str], one: str, many: str) -> str:
    return one if len(ids) == 1 else many


@rule(
    id="GMP-014",
    slug="donor-eligibility",
    title="Allogeneic products: every donor eligible, fully tested and released from quarantine",
    area=Area.GMP,
    severity=by_phase(B, B, B, B, B),
    cites=CFR_1271_DONOR,
    grading=("A donor not yet eligible whose cells are still held in quarantine, with no lot made "
             "from them released, is info (the quarantine 21 CFR 1271.60 requires is working), as is "
             "a healthy-donor lot no donor lists while some donor records no lots (its donor is not "
             "shown); every other donor gap is a blocker."),
    remedy=(
        "Complete the donor eligibility determination (screening and the required infectious "
        "disease tests by a CLIA-certified laboratory with FDA-licensed tests), keep the cells in "
        "quarantine until it is made, and record it for the donor in gmp.yaml donors."
    ),
    why=(
        "Cells from an allogeneic donor can transmit infectious disease to every patient dosed "
        "from them; the donor must be determined eligible, fully tested and the cells released "
        "from quarantine before use, at every phase."
    ),
    ctd=("3.2.S.2.3", "3.2.A.2"),
)
def donor_eligibility(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    """Allogeneic only; per donor what is missing, with the lots made from it."""
    if not d.allogeneic:
        return
    if d.gmp is None:
        yield _missing_gmp("donor eligibility")
        return
    donors = d.gmp.donors
    if not donors and "donors" not in d.gmp.model_fields_set:
        yield NotEvaluated(f"gmp.yaml records no donors for allogeneic product {d.info.product.name}; add "
                           "each donor to donors with its eligibility determination")
        return
    if not donors:
        yield Gap(
            f"No donors are recorded in gmp.yaml for allogeneic product {d.info.product.name}.",
            at=_at(d, GMP_FILE, "donors"),
            record="donors",
            data={"donors": 0},
        )
        return
    for i, donor in enumerate(donors):
        checks = _donor_state(donor)
        missing = [text for name, text in _DONOR_CHECKS.items() if checks[name] is False]
        if not missing:
            continue
        lots = _donor_lots(d, ctx.views, donor.lots)
        made = f" ({lots.text})" if donor.lots else ""
        data = {"donor": donor.id, "missing": [n for n in _DONOR_CHECKS if checks[n] is False],
                "lots": list(donor.lots), "released_lots": lots.released,
                "lots_to_patients": lots.to_patients, "lots_not_in_lots_csv": lots.unknown}
        if checks["released_from_quarantine"] is not True and not lots.released and not lots.unknown:
            # 21 CFR 1271.60(a): the material stays in quarantine until the determination is made.
            before = [text for name, text in _DONOR_CHECKS.items()
                      if checks[name] is False and name != "released_from_quarantine"]
            if before:
                state, to_do = f"has {_join(before)} and is", "complete the determination"
            else:
                state, to_do = "is determined eligible and fully tested but still", "record its release"
            yield Gap(
                f"Donor {donor.id} {state} held in quarantine, as 21 CFR 1271.60 requires, and no lot "
                f"made from it was given to patients{made}; {to_do} before any lot from it is released.",
                at=d.where(GMP_FILE, "donors", i),
                record=f"donor {donor.id}",
                data={**data, "held_in_quarantine": True},
                severity=I,
                remedy=(
                    f"Complete the eligibility determination of donor {donor.id} (screening and the "
                    "required infectious disease tests), then release its cells from quarantine and "
                    "record both in gmp.yaml donors; release no lot made from them before then."
                ),
            )
            continue
        if lots.to_patients:
            what = _plural(lots.to_patients, "a lot made from it was given to patients",
                           "lots made from it were given to patients")
        elif lots.released:
            what = _plural(lots.released, "a lot made from it was released", "lots made from it were released")
        elif lots.unknown:
            what = (f"its lots are not in {d.lots_file}, so whether they reached patients is unknown"
                    if len(lots.unknown) > 1 else f"its lot is not in {d.lots_file}, so whether it reached "
                    "patients is unknown")
        else:
            what = "its material was released from quarantine"
        yield Gap(
            f"Donor {donor.id} has {_join(missing)}, yet {what}{made}.",
            at=d.where(GMP_FILE, "donors", i),
            record=f"donor {donor.id}",
            data={**data, "held_in_quarantine": False},
        )
    linked = {lot for donor in donors for lot in donor.lots}
    unlisted = [donor.id for donor in donors if not donor.lots]
    if linked and d.lots is not None:
        for lot in d.lots.lots_where(starting_material=StartingMaterial.HEALTHY_DONOR):
            if lot.id in linked or lot.id not in ctx.views.released_ids:
                continue  # a lot never released (an engineering run) reached no patient: no donor to trace
            if unlisted:  # it may come from a donor that records no lots: not shown, not untraced
                who = f"donors {_ids(unlisted)} record" if len(unlisted) > 1 else f"donor {unlisted[0]} records"
                yield Gap(
                    f"Lot {lot.id} was made from healthy-donor material and no donor in gmp.yaml lists "
                    f"it; {who} no lots, so which donor it came from is not shown.",
                    at=Location(lot.file, lot.line),
                    record=f"lot {lot.id}",
                    data={"lot": lot.id, "donors_without_lots": unlisted},
                    severity=I,
                    cites=(CFR_1271_290, *CFR_1271_DONOR),
                    remedy=f"Add lot {lot.id} to the `lots` of the donor whose cells it was made from.",
                )
                continue
            yield Gap(
                f"Lot {lot.id} was made from healthy-donor material but no donor in gmp.yaml "
                "lists it, so its donor's eligibility cannot be traced.",
                at=Location(lot.file, lot.line),
                record=f"lot {lot.id}",
                data={"lot": lot.id},
                cites=(CFR_1271_290, *CFR_1271_DONOR),
                remedy=f"Add lot {lot.id} to the `lots` of the donor whose cells it was made from.",
            )


@rule(
    id="GMP-015",
    slug="chain-of-identity",
    title="Autologous products: chain of identity controls in place",
    area=Area.GMP,
    severity=by_phase(MA, B, B, B, B),
    cites=(CFR_1271_290, CFR_1271_90_C1, CAR_T_2024),
    grading=CONTROL_GRADING,
    remedy=(
        "Put chain of identity controls in place from apheresis to infusion (unique patient and "
        "lot identifiers on every label and record, verification at each hand-off, segregation "
        "of patient material) and record controls.chain_of_identity as in_place with its evidence."
    ),
    why=(
        "Each lot of an autologous product is made for one patient from that patient's cells; a "
        "mix-up gives a patient someone else's cells, so identity must be controlled end to end."
    ),
    ctd=("3.2.S.2.2", "3.2.P.3.3"),
)
def chain_of_identity(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    if not d.autologous:
        return
    yield from _controls_rule(d, ("chain_of_identity",))


# ---------------------------------------------------------------------------- sites


@rule(
    id="GMP-016",
    slug="third-party-quality-agreement",
    title="Third-party sites have a quality agreement",
    area=Area.GMP,
    severity=by_phase(MI, MA, MA, B, B),
    cites=(QUALITY_AGREEMENTS_2016,),
    remedy=(
        "Sign a quality agreement with the contract site that sets out each party's CGMP "
        "responsibilities (release, deviations, changes, audits, records) and record its id in "
        "the site's quality_agreement."
    ),
    why=(
        "The owner remains responsible for the CGMP compliance of work done by a contract site; "
        "a written quality agreement is how the responsibilities are divided and enforced."
    ),
    ctd=("3.2.S.2.1", "3.2.P.3.1"),
)
def third_party_quality_agreement(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    if not d.info.sites:
        yield NotEvaluated("dossier.yaml lists no sites; cannot check quality agreements")
        return
    for i, site in enumerate(d.info.sites):
        if site.third_party and not (site.quality_agreement or "").strip():
            yield Gap(
                f"Third-party site {site.id} has no quality agreement recorded (quality_agreement).",
                at=d.where(DOSSIER_FILE, "sites", i),
                record=f"site {site.id}",
                data={"site": site.id},
            )


@rule(
    id="GMP-017",
    slug="inspection-readiness",
    title="No commercial site with OAI; open inspection observations have completed CAPA",
    area=Area.GMP,
    severity=by_phase(None, MI, MA, B, B),
    cites=(CFR_601_20_D, PHS_351_A2C, CFR_600_21),
    grading=("A commercial site with no inspection on record is an info note on pre-license "
             "inspection readiness from BLA on; OAI and open observations take the rule's grade, except "
             "open observations of a licensed product's site that is not OAI: minor, a CAPA in progress "
             "after an inspection that called for no regulatory action."),
    partial=by_phase(None, None, None, None, MI),
    remedy=(
        "Complete the CAPA of every open Form 483 observation and record open_observations: 0; "
        "for a commercial site classified OAI, resolve the findings and obtain a re-inspection "
        "(or name another site) before the BLA."
    ),
    why=(
        "A biologics license is issued only after inspection shows the establishment complies "
        "(21 CFR 601.20(d)); unresolved facility observations have been a recurring reason for "
        "complete response letters to cell and gene therapy BLAs."
    ),
    ctd=("3.2.S.2.1", "3.2.P.3.1"),
)
def inspection_readiness(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    if not d.info.sites:
        yield NotEvaluated("dossier.yaml lists no sites; cannot check inspection outcomes")
        return
    for i, site in enumerate(d.info.sites):
        if site.commercial and not site.inspections and ctx.phase >= Phase.BLA:
            yield _no_inspection_note(d, ctx, i)
        problems = []
        at: Location | None = None
        inspections = sorted(enumerate(site.inspections), key=lambda item: (item[1].date, item[0]))
        classified = [(j, x) for j, x in inspections if x.outcome is not InspectionOutcome.PENDING]
        oai = None
        if site.commercial and classified and classified[-1][1].outcome is InspectionOutcome.OAI:
            j, oai = classified[-1]
            problems.append(f"was classified OAI at its latest inspection ({oai.date.isoformat()})")
            at = d.where(DOSSIER_FILE, "sites", i, "inspections", j, "outcome")
        open_items = [(j, x) for j, x in inspections if x.open_observations > 0]
        if open_items:
            total = sum(x.open_observations for _, x in open_items)
            dates = ", ".join(x.date.isoformat() for _, x in open_items)
            problems.append(f"has {total} inspection observation{'s' if total > 1 else ''} without "
                            f"completed CAPA (inspection{'s' if len(open_items) > 1 else ''} of {dates})")
            if at is None:
                at = d.where(DOSSIER_FILE, "sites", i, "inspections", open_items[0][0], "open_observations")
        if problems and at is not None:
            kind = "Commercial site" if site.commercial else "Site"
            licensed_capa = ctx.phase is Phase.POST_APPROVAL and oai is None  # follow-up of a licensed site
            yield Gap(
                f"{kind} {site.id} {' and '.join(problems)}.",
                at=at,
                record=f"site {site.id}",
                data={"site": site.id, "oai": oai is not None,
                      "open_observations": sum(x.open_observations for _, x in open_items)},
                severity=MI if licensed_capa else None,
                remedy=("Complete the CAPA of the open Form 483 observations on the dates committed in the "
                        "response to FDA, and record open_observations: 0 once done.") if licensed_capa else None,
            )


def _no_inspection_note(d: Dossier, ctx: Context, index: int) -> Gap:
    """Info for a commercial site with no inspection on record, from BLA on: licensure follows an
    inspection of the establishment, so the note is about readiness, not a failed control."""
    site = d.info.sites[index]
    if ctx.phase is Phase.BLA:
        message = (f"Commercial site {site.id} has no FDA inspection on record: a biologics license is "
                   "issued only after inspection of the establishments named in the application "
                   "(21 CFR 601.20(d)), made once the site is in operation and manufacturing the product "
                   "(21 CFR 600.21); expect a pre-license inspection.")
        remedy = (f"Prepare site {site.id} for the pre-license inspection (manufacturing the product, "
                  "records and CAPA current, a mock inspection) and record the inspection in its "
                  "inspections once held.")
    else:
        message = (f"Commercial site {site.id} has no FDA inspection on record; a licensed establishment "
                   "is inspected before licensure (21 CFR 601.20(d)) and again after it.")
        remedy = (f"Record the pre-license (or pre-approval) inspection of site {site.id} and any later "
                  "inspection, with its outcome and open observations, in its inspections.")
    return Gap(message, at=d.where(DOSSIER_FILE, "sites", index), record=f"site {site.id}",
               data={"site": site.id, "inspections": 0, "commercial": True},
               severity=I, remedy=remedy)


# ---------------------------------------------------------------------------- GMP-018


RESERVE_FLEXIBILITY = ("the May 2026 CMC flexibilities guidance allows exceptions to reserve-sample retention "
                       "where material is limited")


def _reserve_cites(ctx: Context, exception: bool) -> tuple[str, ...]:
    """21 CFR 211.170 for part 211 manufacture; from BLA on also 600.13 (licensed products)."""
    licensed = (CFR_600_13,) if ctx.phase >= Phase.BLA else ()
    return (CFR_211_170, *licensed, *((FLEX_2026,) if exception else ()))


@rule(
    id="GMP-018",
    slug="reserve-samples",
    title="Reserve samples of each lot are retained, or a documented exception is justified",
    area=Area.GMP,
    severity=by_phase(None, MI, MA, MA, MA),
    cites=(CFR_211_170, CFR_600_13, FLEX_2026),
    grading=("A reserve_samples control left out of gmp.yaml is info (not shown: record it), as is an "
             "exception recorded with its justification (the flexibility applies; a scope or alternative "
             "not recorded is named); a control recorded partial, planned or absent without a justified "
             "exception, or an exception without its justification, takes the rule's grade."),
    remedy=(
        "Retain an identified reserve sample of each lot (21 CFR 211.170; for a licensed product, 21 CFR "
        "600.13) and record controls.reserve_samples as in_place with its evidence; where a lot is too "
        "small to spare one (an autologous lot administered whole), record the exception with its "
        "justification, scope and what is retained instead (exception.justification, scope, alternative)."
    ),
    why=(
        "Reserve samples let a manufacturer and FDA re-test a lot after a complaint, adverse event or "
        "investigation: 21 CFR 211.170 requires them for drug product made under part 211 (phase 2 "
        "material on), and 21 CFR 600.13 requires retention samples of each lot of a licensed biological "
        "product, with exceptions CBER may authorize when lots yield few final containers and are made "
        "the same way in number. The May 2026 CMC flexibilities guidance mentions possible exceptions to "
        "reserve-sample retention; this point rests on one secondary source reconstructing the guidance, "
        "so cmcflex accepts an exception when its justification is on record (an autologous lot is often "
        "administered whole). Phase 1 material is exempt from part 211 (21 CFR 210.2(c)), so the rule "
        "starts at phase 2, as minor; a gap is major from pivotal manufacture on (an inspection finding, "
        "not a reason to refuse the application). Findings belong with the manufacturing process and "
        "controls (3.2.P.3.3), where an exception for lots administered whole is described."
    ),
    ctd=("3.2.P.3.3",),
    flexibilities=("CS7",),
)
def reserve_samples(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    reason = _controls_missing(d, ("reserve_samples",))
    if reason is not None:
        yield reason
        return
    assert d.gmp is not None
    control = d.gmp.controls.reserve_samples
    if control is None or control.exception is None:
        gap = _control_gap(d, "reserve_samples")
        if gap is not None:
            remedy = None if control is not None else (
                "Record controls.reserve_samples with its status (in_place, partial, planned or absent) and "
                "the document that shows it (evidence); where lots are administered whole, record the "
                "exception with its justification, scope and alternative.")
            yield gap._replace(cites=_reserve_cites(ctx, False), remedy=remedy or gap.remedy)
        return
    yield from _reserve_exception(d, ctx, control)


def _reserve_exception(d: Dossier, ctx: Context, control: ReserveSamples) -> Iterator[Outcome]:
    """A control with a recorded exception: info when justified, a gap naming what is missing."""
    exception = control.exception
    assert exception is not None
    at = _at(d, GMP_FILE, "controls", "reserve_samples", "exception")
    scope = (exception.scope or "").strip()
    alternative = (exception.alternative or "").strip()
    justification = (exception.justification or "").strip()
    data = {"control": "reserve_samples", "status": control.status.value, "evidence": control.evidence,
            "exception": {"justification": exception.justification, "scope": exception.scope,
                          "alternative": exception.alternative}}
    cites = _reserve_cites(ctx, True)
    covers = f" for {scope}" if scope else ""
    if not justification:
        yield Gap(f"The reserve samples control (controls.reserve_samples, {control.status.value}) records an "
                  f"exception to reserve-sample retention{covers} without its justification "
                  "(exception.justification).", at=at, record="control reserve_samples", data=data, cites=cites,
                  remedy=("Record why no reserve sample is kept (exception.justification), e.g. each autologous "
                          "lot is administered whole, or retain reserve samples of every lot."))
        return
    if control.status is ControlStatus.PLANNED:
        outside = f" outside the exception ({scope})" if scope else " the exception does not cover"
        yield Gap(f"The reserve samples control (controls.reserve_samples) is planned, not yet in place: reserve "
                  f"samples of the lots{outside} are not yet retained.",
                  at=_at(d, GMP_FILE, "controls", "reserve_samples"), record="control reserve_samples",
                  data=data, cites=cites)
        return
    unshown = [text for value, text in ((scope, "which lots it covers (exception.scope)"),
                                        (alternative, "what is retained instead (exception.alternative)"))
               if not value]
    which = f" of {within_sentence(scope)}" if scope else ""
    kept = ", and what is retained instead" if alternative else ""
    note = f" Not shown: {_join(unshown)}." if unshown else ""
    yield Gap(f"No reserve sample is kept{which} under a documented exception, with its justification{kept} on "
              f"record (controls.reserve_samples.exception); {RESERVE_FLEXIBILITY}.{note}", at=at,
              record="control reserve_samples", data=data, cites=cites,
              severity=I,
              remedy=("Nothing to do for the exception itself" + (f"; record {_join(unshown)}." if unshown else ".")))
