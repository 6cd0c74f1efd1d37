"""GMP expectations by phase (GMP-001 … GMP-017): quality system, facility controls, materials,
donors, sites.

Inputs: gmp.yaml and dossier.yaml, plus lots.csv for the lots a site made (GMP-001) and the
lots made from donor material (GMP-014). A missing gmp.yaml makes the rules that need it
report "not evaluated"; a gmp.yaml that omits a control is a gap ("no ... recorded").
A control whose status is ``partial``, ``planned`` or ``absent`` is a gap at the rule's
severity: only ``in_place`` satisfies a control.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Iterator, NamedTuple, Sequence

from cmcflex.dossier.ids import visible
from cmcflex.dossier.loader import Dossier, Location
from cmcflex.dossier.models import (
    APSPurpose,
    AsepticProcessSimulation,
    Control,
    ControlStatus,
    GmpRegime,
    InspectionOutcome,
    Material,
    MaterialGrade,
    MaterialOrigin,
    MaterialRole,
)
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
from cmcflex.rules.common import unresolved_lots

GMP_FILE = "gmp.yaml"
DOSSIER_FILE = "dossier.yaml"
LATER_PHASE_USES = ("phase_2", "phase_3", "ppq", "commercial")
APS_MAX_AGE_MONTHS = 6
APS_INITIAL_RUNS = 3

PHASE_1_GUIDANCE = "FDA, Guidance for Industry: CGMP for Phase 1 Investigational Drugs (July 2008)"
ASEPTIC_GUIDANCE = (
    "FDA, Guidance for Industry: Sterile Drug Products Produced by Aseptic Processing — "
    "Current Good Manufacturing Practice (September 2004)"
)
CBER_ANNOUNCEMENT = "CBER, cell and gene therapy CMC flexibility announcement (January 2026)"

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


def _control_problem(name: str, control: Control | None) -> str | None:
    """Why a control does not count as in place, or None when it does."""
    label = _CONTROL_LABEL[name]
    label = label if label.endswith("control") else f"{label} control"
    if control is None:
        return f"no {label} recorded (controls.{name})"
    if control.status is not ControlStatus.IN_PLACE:
        return f"the {label} (controls.{name}) {_STATUS_TEXT[control.status]}"
    return None


def _control_gap(
    d: Dossier, name: str, detail: Sequence[str] = (), extra: dict[str, object] | None = None
) -> Gap | None:
    """One gap for a control that is missing, not in place, or has the listed shortcomings."""
    assert d.gmp is not None
    control = getattr(d.gmp.controls, name)
    problems = [p for p in (_control_problem(name, control),) if p] + list(detail)
    if not problems:
        return None
    message = "; ".join(problems)
    return Gap(
        message[0].upper() + message[1:] + ".",
        at=_at(d, GMP_FILE, "controls", name),
        record=f"control {name}",
        data={"control": name, "status": control.status.value if control else None,
              "evidence": control.evidence if control else None, **(extra or {})},
    )


def _controls_rule(d: Dossier, names: Sequence[str]) -> Iterator[Outcome]:
    if d.gmp is None:
        yield _missing_gmp(", ".join(f"controls.{n}" for n in names))
        return
    for name in names:
        gap = _control_gap(d, name)
        if gap is not None:
            yield gap


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
    cites=(
        "21 CFR 210.2(c)",
        PHASE_1_GUIDANCE,
        CBER_ANNOUNCEMENT,
    ),
    remedy=(
        "Bring every site that makes phase 2, phase 3, PPQ or commercial material under 21 CFR "
        "part 211 (record gmp_regime: part_211 once its quality system, procedures and records "
        "meet part 211), or move that manufacture to a part 211 site; a site that only made "
        "phase 1 material may stay under the Phase 1 guidance."
    ),
    why=(
        "Phase 1 material is exempt from part 211 under 21 CFR 210.2(c) and follows the 2008 "
        "Phase 1 guidance, and CBER's January 2026 flexibilities confirm that part 211 compliance "
        "is not expected before product is made for phase 2/3 trials — but from then on it is, "
        "so phase 2/3, PPQ and commercial lots made under the Phase 1 guidance fall short of CGMP."
    ),
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
        elif not site_lots:
            yield Gap(
                f"Site {site.id} follows the Phase 1 guidance (gmp_regime: phase_1_guidance) while the "
                f"product is at {ctx.phase.label}, and lots.csv shows no lot from it; material it makes "
                "for phase 2/3 trials must be made under 21 CFR part 211.",
                at=regime_at,
                record=f"site {site.id}",
                data={"site": site.id, "lots": []},
                remedy=(
                    f"Record gmp_regime: part_211 for site {site.id} before it makes phase 2/3 "
                    "material, or record in lots.csv the phase 1 lots that are its only output."
                ),
            )


# ---------------------------------------------------------------------------- GMP-002


@rule(
    id="GMP-002",
    slug="quality-unit-independent",
    title="An independent quality unit (QC function at phase 1) with written responsibilities",
    area=Area.GMP,
    severity=by_phase(B, B, B, B, B),
    cites=("21 CFR 211.22", f"{PHASE_1_GUIDANCE}, section V.B"),
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
)
def quality_unit_independent(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    if d.gmp is None:
        yield _missing_gmp("the quality unit")
        return
    unit = "QC function" if ctx.phase is Phase.PHASE_1 else "quality unit"
    qu = d.gmp.quality_unit
    at = _at(d, GMP_FILE, "quality_unit")
    if qu is None:
        yield Gap(f"No {unit} recorded in gmp.yaml (quality_unit).", at=at, record="quality unit",
                  data={"independent": None, "responsibilities_written": None})
        return
    problems = []
    if not qu.independent:
        problems.append("is not independent of production")
    if not qu.responsibilities_written:
        problems.append("has no written responsibilities")
    if problems:
        yield Gap(f"The {unit} {' and '.join(problems)}.", at=at, record="quality unit",
                  data={"independent": qu.independent,
                        "responsibilities_written": qu.responsibilities_written})


# ---------------------------------------------------------------------------- GMP-003 … GMP-007


@rule(
    id="GMP-003",
    slug="written-procedures-and-records",
    title="Written procedures and batch records in place",
    area=Area.GMP,
    severity=by_phase(B, MA, B, B, B),
    cites=("21 CFR 211.100", "21 CFR 211.186", "21 CFR 211.188", f"{PHASE_1_GUIDANCE}, section V.E"),
    remedy=(
        "Approve written production and process-control procedures and a master batch record, "
        "record each lot in an executed batch record, and set controls.written_procedures and "
        "controls.batch_records to in_place with the document ids as evidence."
    ),
    why=(
        "Without written procedures and batch records no one can show how a lot was made, "
        "investigate a failure, or reproduce the process; even phase 1 manufacture must be recorded."
    ),
)
def written_procedures_and_records(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    yield from _controls_rule(d, ("written_procedures", "batch_records"))


@rule(
    id="GMP-004",
    slug="personnel-training",
    title="Personnel training program in place",
    area=Area.GMP,
    severity=by_phase(MA, MA, MA, B, B),
    cites=("21 CFR 211.25",),
    remedy=(
        "Put a training program in place (a training matrix per role, records of training on "
        "the procedures each person performs, aseptic gowning qualification) and record "
        "controls.personnel_training as in_place with its evidence."
    ),
    why=(
        "Cell and gene therapy processes are largely manual; operators who are not trained and "
        "qualified on the procedures are a direct risk to sterility and to the product."
    ),
)
def personnel_training(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    yield from _controls_rule(d, ("personnel_training",))


@rule(
    id="GMP-005",
    slug="deviations-and-oos-investigated",
    title="Deviation and OOS investigation procedures in place",
    area=Area.GMP,
    severity=by_phase(MA, B, B, B, B),
    cites=("21 CFR 211.192",),
    remedy=(
        "Approve procedures for recording and investigating deviations and out-of-specification "
        "results (root cause, impact on other lots, CAPA, quality unit approval) and record "
        "controls.deviation_management and controls.oos_investigation as in_place."
    ),
    why=(
        "Unexplained discrepancies and failing results must be investigated before a lot is "
        "released; without a procedure, investigations are inconsistent or do not happen."
    ),
)
def deviations_and_oos_investigated(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    yield from _controls_rule(d, ("deviation_management", "oos_investigation"))


@rule(
    id="GMP-006",
    slug="change-control",
    title="Change control in place",
    area=Area.GMP,
    severity=by_phase(MI, MA, B, B, B),
    cites=("21 CFR 211.100(a)", "21 CFR 211.160(a)"),
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
)
def change_control(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    yield from _controls_rule(d, ("change_control",))


@rule(
    id="GMP-007",
    slug="equipment-qualified",
    title="Equipment qualification in place",
    area=Area.GMP,
    severity=by_phase(MA, MA, MA, B, B),
    cites=("21 CFR 211.63", "21 CFR 211.67", "21 CFR 211.68"),
    remedy=(
        "Qualify the equipment used in manufacture and testing (IQ/OQ/PQ under a validation "
        "master plan, with cleaning and calibration programs) and record "
        "controls.equipment_qualification as in_place with its evidence."
    ),
    why=(
        "Process and test results are only meaningful when the equipment producing them is "
        "shown to be fit for purpose, clean and calibrated."
    ),
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
    cites=("21 CFR 211.42(c)(10)(iv)", ASEPTIC_GUIDANCE),
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
)
def environmental_monitoring(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    if d.gmp is None:
        yield _missing_gmp("controls.environmental_monitoring")
        return
    em = d.gmp.controls.environmental_monitoring
    detail: list[str] = []
    if em is not None:
        if em.trending is not True:
            detail.append("results are not trended (trending: true not recorded)" if em.trending is None
                          else "results are not trended")
        if em.uninvestigated_excursions is None:
            detail.append("the number of uninvestigated excursions is not recorded")
        elif em.uninvestigated_excursions > 0:
            n = em.uninvestigated_excursions
            detail.append(f"{n} excursion{'s are' if n > 1 else ' is'} not investigated")
    gap = _control_gap(d, "environmental_monitoring", detail)
    if gap is not None:
        yield gap


# ---------------------------------------------------------------------------- GMP-009


def _aps_label(run: AsepticProcessSimulation) -> str:
    suite = run.suite or "-"
    return f"{run.site}/{suite}" if run.site else suite


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
    cites=("21 CFR 211.113(b)", f"{ASEPTIC_GUIDANCE}, section IX.A"),
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
)
def aseptic_process_simulation(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    """Latest run per site/suite: within 6 months, no contamination, worst case; BLA+: initial runs."""
    if d.gmp is None:
        yield _missing_gmp("aseptic process simulations")
        return
    runs = list(enumerate(d.gmp.aseptic_process_simulation))
    if not runs:
        yield Gap(
            "No aseptic process simulation (media fill) is recorded in gmp.yaml.",
            at=_at(d, GMP_FILE, "aseptic_process_simulation"),
            record="aps",
            data={"runs": 0},
        )
        return
    groups: dict[tuple[str, str], list[tuple[int, AsepticProcessSimulation]]] = {}
    for i, run in runs:
        groups.setdefault((run.site or "", run.suite or ""), []).append((i, run))
    cutoff = _months_before(ctx.as_of, APS_MAX_AGE_MONTHS)
    for key in sorted(groups):
        group = sorted(groups[key], key=lambda item: (item[1].date, item[0]))
        i, latest = group[-1]
        label = _aps_label(latest)
        problems = []
        if latest.date < cutoff:
            problems.append(f"is older than {APS_MAX_AGE_MONTHS} months on {ctx.as_of.isoformat()}")
        if latest.contaminated > 0:
            problems.append(f"had {latest.contaminated} contaminated unit{'s' if latest.contaminated > 1 else ''}")
        if latest.worst_case is not True:
            problems.append("does not cover the worst case" if latest.worst_case is False
                            else "does not record that it covers the worst case (worst_case)")
        if problems:
            yield Gap(
                f"The latest aseptic process simulation of {label} ({latest.date.isoformat()}) "
                f"{_join(problems)}.",
                at=_aps_where(d, i),
                record=f"aps {latest.date.isoformat()} {label}",
                data={"site": latest.site, "suite": latest.suite, "date": latest.date.isoformat(),
                      "contaminated": latest.contaminated, "worst_case": latest.worst_case,
                      "current_since": cutoff.isoformat()},
            )
        if ctx.phase >= Phase.BLA:
            initial = [(j, r) for j, r in group if r.purpose is APSPurpose.INITIAL]
            streak = _longest_clean_streak([r for _, r in initial])
            if streak < APS_INITIAL_RUNS:
                where = initial[0][0] if initial else group[0][0]
                yield Gap(
                    f"The initial qualification of {label} shows {streak} consecutive successful "
                    f"aseptic process simulation{'s' if streak != 1 else ''} "
                    f"({len(initial)} initial run{'s' if len(initial) != 1 else ''} recorded); "
                    f"{APS_INITIAL_RUNS} are expected.",
                    at=_aps_where(d, where),
                    record=f"aps initial {label}",
                    data={"site": latest.site, "suite": latest.suite, "initial_runs": len(initial),
                          "consecutive_successful": streak},
                )


# ---------------------------------------------------------------------------- GMP-010


_DI_FLAGS = {
    "audit_trail": "audit trails on",
    "systems_validated": "computerized systems validated",
    "unique_logins": "unique user logins",
}


@rule(
    id="GMP-010",
    slug="data-integrity",
    title="Data integrity: audit trails on, systems validated, unique logins",
    area=Area.GMP,
    severity=by_phase(MI, MA, B, B, B),
    cites=(
        "21 CFR 11.10(a), (d), (e)",
        "21 CFR 211.68",
        "FDA, Guidance for Industry: Data Integrity and Compliance With Drug CGMP: Questions and "
        "Answers (December 2018)",
    ),
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
)
def data_integrity(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    if d.gmp is None:
        yield _missing_gmp("controls.data_integrity")
        return
    di = d.gmp.controls.data_integrity
    missing = [n for n in _DI_FLAGS if di is None or getattr(di, n) is not True]
    detail = [f"not shown: {_join([_DI_FLAGS[n] for n in missing])}"] if di is not None and missing else []
    gap = _control_gap(d, "data_integrity", detail, {"missing": missing})
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
    cites=(
        "FDA draft guidance, Considerations for the Use of Human- and Animal-Derived Materials in "
        "the Manufacture of Cell and Gene Therapy and Tissue-Engineered Medical Products (April 2024)",
        "21 CFR 610.15",
    ),
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
                data={"material": m.name, "origin": m.origin.value, "role": m.role.value},
            )


@rule(
    id="GMP-012",
    slug="research-grade-materials",
    title="Research-grade materials qualified, and replaced or justified before pivotal manufacture",
    area=Area.GMP,
    severity=by_phase(MI, MA, B, B, B),
    cites=(
        "FDA, Guidance for Industry: Chemistry, Manufacturing, and Control (CMC) Information for "
        "Human Gene Therapy Investigational New Drug Applications (INDs) (January 2020)",
        "USP <1043> Ancillary Materials for Cell, Gene, and Tissue-Engineered Products",
    ),
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
    cites=("21 CFR 211.84(d)(2)",),
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
    for i, m in enumerate(d.gmp.materials):
        if m.grade is MaterialGrade.NOT_APPLICABLE or m.supplier_qualified is True:
            continue
        state = "is not qualified" if m.supplier_qualified is False else "is not recorded as qualified"
        yield Gap(
            f"The supplier of critical material {m.name} ({m.role.value}) {state} (supplier_qualified).",
            at=d.where(GMP_FILE, "materials", i),
            record=f"material {m.name}",
            data={"material": m.name, "role": m.role.value, "supplier_qualified": m.supplier_qualified},
        )


# ---------------------------------------------------------------------------- GMP-014, GMP-015


_DONOR_CHECKS = {
    "eligibility_determined": "no eligibility determination",
    "tests_complete": "incomplete donor testing",
    "released_from_quarantine": "no release from quarantine",
}


RELEASED = ("released", "released_under_exception")
PATIENT_USES = ("phase_1", "phase_2", "phase_3", "ppq", "commercial")


def _use_label(use: str) -> str:
    return "PPQ" if use == "ppq" else use.replace("_", " ")


class DonorLots(NamedTuple):
    """A donor's lots in words, and which were released, given to patients or not found."""

    text: str
    released: list[str]
    to_patients: list[str]
    unknown: list[str]


def _donor_lots(d: Dossier, lot_ids: Sequence[str]) -> DonorLots:
    words, released, to_patients, unknown = [], [], [], []
    hints = unresolved_lots(d, lot_ids)
    for lot_id in lot_ids:
        lot = d.lots.lot(lot_id) if d.lots is not None else None
        if lot is None:
            hint = hints.get(lot_id)
            meant = f" (did you mean '{visible(hint)}'?)" if hint else ""
            words.append(f"{visible(lot_id)}: not in lots.csv{meant}")
            unknown.append(lot_id)
            continue
        state = ""
        if lot.disposition in RELEASED:
            released.append(lot_id)
            state = f", {lot.disposition.replace('_', ' ')}"
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
    cites=("21 CFR 1271.45", "21 CFR 1271.50", "21 CFR 1271.60", "21 CFR 1271.80", "21 CFR 1271.85"),
    grading=("A donor not yet eligible whose cells are still held in quarantine, with no lot made "
             "from them released, is info (the quarantine 21 CFR 1271.60 requires is working); "
             "every other donor gap is a blocker."),
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
)
def donor_eligibility(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    """Allogeneic only; per donor what is missing, with the lots made from it."""
    if not d.allogeneic:
        return
    if d.gmp is None:
        yield _missing_gmp("donor eligibility")
        return
    donors = d.gmp.donors
    if not donors:
        yield Gap(
            f"No donors are recorded in gmp.yaml for allogeneic product {d.info.product.name}.",
            at=_at(d, GMP_FILE, "donors"),
            record="donors",
            data={"donors": 0},
        )
        return
    for i, donor in enumerate(donors):
        missing = [text for name, text in _DONOR_CHECKS.items() if not getattr(donor, name)]
        if not missing:
            continue
        lots = _donor_lots(d, donor.lots)
        made = f" ({lots.text})" if donor.lots else ""
        data = {"donor": donor.id, "missing": [n for n in _DONOR_CHECKS if not getattr(donor, n)],
                "lots": list(donor.lots), "released_lots": lots.released,
                "lots_to_patients": lots.to_patients, "lots_not_in_lots_csv": lots.unknown}
        if not donor.released_from_quarantine and not lots.released and not lots.unknown:
            # 21 CFR 1271.60(a): the material stays in quarantine until the determination is made.
            if len(missing) > 1:
                state, to_do = f"has {_join(missing[:-1])} and is", "complete the determination"
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
            what = ("its lots are not in lots.csv, so whether they reached patients is unknown"
                    if len(lots.unknown) > 1 else "its lot is not in lots.csv, so whether it reached "
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
    if linked and d.lots is not None:
        for lot in d.lots.lots_where(starting_material="healthy_donor"):
            if lot.id not in linked:
                yield Gap(
                    f"Lot {lot.id} was made from healthy-donor material but no donor in gmp.yaml "
                    "lists it, so its donor's eligibility cannot be traced.",
                    at=Location(lot.file, lot.line),
                    record=f"lot {lot.id}",
                    data={"lot": lot.id},
                    remedy=f"Add lot {lot.id} to the `lots` of the donor whose cells it was made from.",
                )


@rule(
    id="GMP-015",
    slug="chain-of-identity",
    title="Autologous products: chain of identity controls in place",
    area=Area.GMP,
    severity=by_phase(MA, B, B, B, B),
    cites=(
        "21 CFR 1271.290 (tracking)",
        "21 CFR 1271.90(c)(1) (FOR AUTOLOGOUS USE ONLY labeling)",
        "FDA, Guidance for Industry: Considerations for the Development of Chimeric Antigen "
        "Receptor (CAR) T Cell Products (January 2024)",
    ),
    remedy=(
        "Put chain of identity controls in place from apheresis to infusion (unique patient and "
        "lot identifiers on every label and record, verification at each hand-off, segregation "
        "of patient material) and record controls.chain_of_identity as in_place with its evidence."
    ),
    why=(
        "Each lot of an autologous product is made for one patient from that patient's cells; a "
        "mix-up gives a patient someone else's cells, so identity must be controlled end to end."
    ),
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
    cites=(
        "FDA, Guidance for Industry: Contract Manufacturing Arrangements for Drugs: Quality "
        "Agreements (November 2016)",
    ),
    remedy=(
        "Sign a quality agreement with the contract site that sets out each party's CGMP "
        "responsibilities (release, deviations, changes, audits, records) and record its id in "
        "the site's quality_agreement."
    ),
    why=(
        "The owner remains responsible for the CGMP compliance of work done by a contract site; "
        "a written quality agreement is how the responsibilities are divided and enforced."
    ),
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
    cites=("21 CFR 601.20(d)", "CRL history for CGT BLAs"),
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
)
def inspection_readiness(d: Dossier, ctx: Context) -> Iterator[Outcome]:
    if not d.info.sites:
        yield NotEvaluated("dossier.yaml lists no sites; cannot check inspection outcomes")
        return
    for i, site in enumerate(d.info.sites):
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
            yield Gap(
                f"{kind} {site.id} {' and '.join(problems)}.",
                at=at,
                record=f"site {site.id}",
                data={"site": site.id, "oai": oai is not None,
                      "open_observations": sum(x.open_observations for _, x in open_items)},
            )
