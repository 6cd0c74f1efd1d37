"""``cmcflex init``: a starter dossier for one modality and phase.

Every value a person must supply is a placeholder that loads cleanly and that the rules report:
``null`` (or a commented-out example) for a fact or document not yet recorded, which the rules
read as "not shown", never as a failed control, and ``Report result`` for a limit not yet set,
each marked with a ``TODO`` comment. The starter states nothing the user has not said: no
``false`` flag, no ``planned`` control, no empty list of media fills or donors. The
release tests come from the one modality table (:mod:`cmcflex.rules.required_tests`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cmcflex.dossier.models import (
    ALLOGENEIC_MODALITIES,
    AUTOLOGOUS_MODALITIES,
    EX_VIVO_MODIFIED_MODALITIES,
    Modality,
)
from cmcflex.phases import Phase, rule_phase

SCHEMA_FOLDER = ".schemas"
LOT_HEADER = ("lot_id,material,use,process_version,site,manufacture_date,starting_material,"
              "attribute,value,unit,method,disposition")
STABILITY_HEADER = "lot_id,material,condition,time,time_unit,attribute,value,unit"

# Criteria that the regulations fix in words; every other test starts as "Report result" (a gap).
STANDARD_CRITERIA = {
    "sterility": "No growth",
    "mycoplasma": "Negative",
    "adventitious_agents": "Not detected",
    "replication_competent_virus": "Not detected",
    "wild_type_revertant": "Not detected",
    "identity": "Conforms",
}
CRITERION_EXAMPLES = {
    "endotoxin": "'<= 5.0 EU/mL'",
    "viability": "'>= 70 %'",
    "potency": "'50 - 150 % of reference'",
    "vector_genome_titer": "'1.0E12 - 5.0E12 vg/mL'",
    "vector_copy_number": "'<= 5 copies/transduced cell'",
    "transduction_efficiency": "'>= 15 %'",
    "cd3_purity": "'>= 80 %'",
    "viable_cell_dose": "'1.0E8 - 5.0E8 viable cells'",
    "cell_count": "'1.0E8 - 5.0E8 cells'",
    "cd34_count": "'>= 2.0E6 CD34+ cells/kg'",
    "infectious_titer": "'>= 1.0E10 IU/mL'",
    "functional_titer": "'>= 1.0E8 TU/mL'",
    "particle_titer": "'1.0E12 - 1.0E13 VP/mL'",
    "empty_full_ratio": "'>= 70 % full capsids'",
    "editing_efficiency": "'>= 60 %'",
    "residual_host_cell_dna": "'<= 10 ng/dose'",
    "residual_host_cell_protein": "'<= 100 ng/mL'",
    "residual_plasmid_dna": "'<= 10 ng/1.0E13 vg'",
    "residual_baculovirus_dna": "'<= 10 ng/1.0E13 vg'",
    "residual_nuclease": "'<= 0.5 ng/mL'",
    "residual_serum_protein": "'<= 1 ug/dose'",
    "residual_beads": "'<= 100 beads/3.0E6 cells'",
    "aggregates": "'<= 5 %'",
    "ph": "'6.8 - 7.6'",
    "osmolality": "'270 - 340 mOsm/kg'",
    "volume": "'>= 10.0 mL'",
    "appearance": "'Conforms'",
    "particulates": "'Conforms'",
}
VECTOR_MODALITIES = frozenset({Modality.AAV, Modality.ADENOVIRAL_VECTOR, Modality.LENTIVIRAL_VECTOR,
                               Modality.RETROVIRAL_VECTOR, Modality.ONCOLYTIC_VIRUS})


class InitError(Exception):
    """The starter dossier cannot be written (the folder exists, or the options conflict)."""


@dataclass(frozen=True)
class Starter:
    """What the starter dossier is for."""

    modality: Modality
    phase: Phase
    pivotal_phase: Phase = Phase.PHASE_3
    product: str | None = None
    schema_base: str = SCHEMA_FOLDER

    @property
    def rule_phase(self) -> Phase:
        return rule_phase(self.phase, self.pivotal_phase)

    @property
    def late(self) -> bool:
        """At BLA or after: commercial fields are expected."""
        return self.phase >= Phase.BLA

    @property
    def ppq(self) -> bool:
        """PPQ rules apply from phase 3 (or the pivotal phase) on."""
        return self.rule_phase >= Phase.PHASE_3

    def modeline(self, name: str) -> str:
        base = self.schema_base.rstrip("/")
        return f"# yaml-language-server: $schema={base}/{name.removesuffix('.yaml')}.schema.json"


@dataclass(frozen=True)
class StarterTest:
    attribute: str
    criterion: str
    required_from: Phase
    note: str


def starter_tests(modality: Modality) -> list[StarterTest]:
    """The modality's required release tests, one starter test each (from the one table)."""
    from cmcflex.dossier.vocabulary import TEST_CATEGORY
    from cmcflex.rules.required_tests import required_tests

    requirements = required_tests(modality)
    named = [t for r in requirements for t in r.tests]
    out: list[StarterTest] = []
    seen: set[str] = set()
    for req in requirements:
        if req.tests:
            attribute = req.tests[0]
        elif any(TEST_CATEGORY.get(t) in req.categories for t in named):
            continue  # a named test of this category (e.g. a titer) already meets it
        else:
            attribute = req.name.split("/")[0]
        if attribute in seen:
            continue
        seen.add(attribute)
        alternatives = f" (or {', '.join(req.tests[1:])})" if len(req.tests) > 1 else ""
        out.append(StarterTest(attribute, STANDARD_CRITERIA.get(attribute, "Report result"),
                               req.from_phase, alternatives))
    return out


# ---------------------------------------------------------------------------- files


def _header(starter: Starter, name: str, what: str) -> list[str]:
    return [
        starter.modeline(name),
        f"# {name}: {what}",
        "# Written by `cmcflex init`. Values marked TODO are placeholders: replace them, then run",
        "# `cmcflex check` on this folder to see what is still missing.",
    ]


def dossier_yaml(s: Starter) -> str:
    lines = _header(s, "dossier.yaml", "product, phase, sites.")
    site_roles = "[drug_substance, drug_product, testing]" if s.modality in VECTOR_MODALITIES \
        else "[drug_product, testing]"
    regime = "phase_1_guidance" if s.phase is Phase.PHASE_1 else "part_211"
    lines += [
        "cmcflex: 1",
        "",
        "product:",
        f"  name: {s.product or 'TODO product name'}" + ("" if s.product else "   # TODO: product name or code"),
        f"  modality: {s.modality.value}",
        "  route: null                  # TODO: route of administration, e.g. intravenous",
        "  indication: null             # TODO: indication studied",
        "  orphan: false",
    ]
    if s.modality is Modality.GENE_EDITED_CELLS:
        lines.append("  autologous: null             # TODO: false for donor-derived (allogeneic) edited cells")
    lines += [
        "",
        f"phase: {s.phase.value}",
        f"pivotal_phase: {s.pivotal_phase.value}        # phase of the registrational study",
    ]
    if s.late or s.ppq:
        lines += [
            "commercial_process: null     # TODO: process_version (lots.csv) of the commercial process",
            "# TODO: claimed shelf life and in-use period, e.g.",
            "# shelf_life: {value: 12, unit: months, storage: \"vapor phase of liquid nitrogen\"}",
            "# in_use: {value: 4, unit: hours, condition: \"after thaw, room temperature\"}",
            "# The meetings with CBER that discussed each flexible CMC choice (FLEX-001; topics: see",
            "# cmcflex flexibilities), e.g.",
            "# fda_interactions:",
            "#   - {type: type_B, date: 2026-03-10, minutes: MIN-2026-01, outcome: agreed, "
            "topics: [ppq_lot_count, concurrent_release]}",
        ]
    lines += [
        "",
        "sites:",
        "  - id: SITE-A",
        "    name: TODO site name and location",
        f"    roles: {site_roles}",
        "    third_party: false           # true for a contract site (then quality_agreement is needed)",
        f"    gmp_regime: {regime}",
        f"    commercial: {'true' if s.late else 'false'}",
        "    quality_agreement: null      # TODO: quality agreement id if third_party",
        "    inspections: []              # TODO: e.g. - {date: 2026-03-10, type: pre_license, outcome: VAI, "
        "open_observations: 0}",
    ]
    return "\n".join(lines) + "\n"


_CONTROLS = ("written_procedures", "batch_records", "personnel_training", "deviation_management",
             "oos_investigation", "change_control", "equipment_qualification", "supplier_qualification")


def gmp_yaml(s: Starter) -> str:
    lines = _header(s, "gmp.yaml", "quality system, facility controls, materials, donors.")
    lines += [
        "quality_unit: {independent: null, responsibilities_written: null}   # TODO: true once shown",
        "",
        "# TODO: each control's status (in_place | partial | planned | absent) and its evidence document id;",
        "# uncomment `controls:` and each line once it is recorded (a control left out is reported as not shown).",
        "# controls:",
    ]
    width = max(len(c) for c in _CONTROLS + ("environmental_monitoring", "chain_of_identity")) + 1
    for control in _CONTROLS:
        lines.append(f"  # {control + ':':<{width}} {{status: in_place, evidence: null}}")
    lines.append(f"  # {'environmental_monitoring:':<{width}} {{status: in_place, evidence: null, trending: null, "
                 "uninvestigated_excursions: null}")
    lines.append(f"  # {'data_integrity:':<{width}} {{status: in_place, evidence: null, audit_trail: null, "
                 "systems_validated: null, unique_logins: null}")
    if s.modality in AUTOLOGOUS_MODALITIES or s.modality is Modality.GENE_EDITED_CELLS:
        lines.append(f"  # {'chain_of_identity:':<{width}} {{status: in_place, evidence: null}}")
    lines += [
        "",
        "# TODO: media fills of each aseptic suite (an empty list would say none was run), e.g.",
        "# aseptic_process_simulation:",
        "#   - {date: 2025-11-02, site: SITE-A, suite: SUITE-1, purpose: periodic, units: 120, contaminated: 0, "
        "worst_case: true}",
        "",
        "# TODO: every material used in manufacture; human- or animal-derived ones need a risk assessment, e.g.",
        "# materials:",
        "#   - {name: Fetal bovine serum, role: ancillary, origin: animal, grade: gmp, supplier_qualified: true, "
        "risk_assessment: RA-012}",
    ]
    if s.modality in ALLOGENEIC_MODALITIES or s.modality is Modality.GENE_EDITED_CELLS:
        lines += [
            "",
            "# TODO: every donor (an empty list would say there is none), e.g.",
            "# donors:",
            "#   - {id: D-0001, eligibility_determined: true, tests_complete: true, released_from_quarantine: true}",
        ]
    return "\n".join(lines) + "\n"


def _method_id(attribute: str) -> str:
    return "M-" + attribute.upper().replace("_", "-")


def specifications_yaml(s: Starter) -> str:
    lines = _header(s, "specifications.yaml", "release specifications and their justification.")
    lines += [
        f"# The release tests {s.modality.value} requires (cmcflex rule SPEC-001). Tests may be split",
        "# across drug_substance, drug_product and vector specifications; each is looked up in all.",
        "# justification.basis: one or more of clinical_lots, safety, compendial, statistical, capability,",
        "# mechanistic, platform; justification.text says why the limit is right.",
        "specifications:",
        "  - material: drug_product",
        "    version: null                  # TODO: specification version, e.g. \"1.0\"",
        "    tests:",
    ]
    for test in starter_tests(s.modality):
        later = f"   # required from {test.required_from.label} on" if test.required_from > Phase.PHASE_1 else ""
        example = CRITERION_EXAMPLES.get(test.attribute, "'>= 70 %', 'NMT 5 EU/mL' or 'Conforms'")
        todo = "" if test.criterion != "Report result" else f"   # TODO: acceptance criterion, e.g. {example}"
        lines += [
            f"      - attribute: {test.attribute}{test.note and '   # ' + test.note.strip()}{later}",
            f"        method: {_method_id(test.attribute)}",
            f"        criterion: {test.criterion}{todo}",
            "        justification: {basis: [], text: null}   # TODO: basis and text",
        ]
        if s.late:
            lines.append("        # reevaluation: {after_lots: 30, method: \"95/99 tolerance interval\"}   "
                         "# TODO where the limit rests on few lots")
    return "\n".join(lines) + "\n"


def methods_yaml(s: Starter) -> str:
    lines = _header(s, "methods.yaml", "analytical methods and their validation status.")
    lines += [
        "# TODO: for each method its name, status (in_development | qualified | validated | verified) and",
        "# the qualification, validation or verification report id.",
        "methods:",
    ]
    for test in starter_tests(s.modality):
        lines += [
            f"  - id: {_method_id(test.attribute)}",
            f"    name: TODO {test.attribute.replace('_', ' ')} method",
            "    status: null                   # TODO: in_development | qualified | validated | verified",
            "    report: null",
        ]
        if test.attribute == "potency":
            lines += ["    moa_linked: null               # TODO: does the assay measure the mechanism of action?",
                      "    quantitative: null"]
    return "\n".join(lines) + "\n"


def ppq_yaml(s: Starter) -> str:
    lines = _header(s, "ppq.yaml", "PPQ protocol, its execution and report.")
    if s.modality in AUTOLOGOUS_MODALITIES:
        starting = "patient"
    elif s.modality in VECTOR_MODALITIES:
        starting = "cell_bank"
    else:
        starting = "null"
    lines += [
        "protocol:",
        "  id: null                          # TODO: protocol id, e.g. PPQ-PROT-001",
        "  approved_by_quality_unit: null    # TODO: true once the quality unit approved it",
        "  site: SITE-A",
        "  scale: null                       # TODO: e.g. commercial",
        "  lots_planned: null                # TODO: number of PPQ lots (fewer than 3 is fine when justified)",
        "  lot_count_justification:",
        "    approach: null                  # TODO: process_knowledge | risk_based | statistical | "
        "expected_coverage | platform",
        "    text: null",
        "    evidence: []",
        "    # the justification covers (PPQ-002): process_understanding, process_complexity, "
        "control_strategy",
        f"  starting_material: {starting}" + ("            # TODO: patient | healthy_donor | mixed | cell_bank"
                                              if starting == "null" else ""),
        "  starting_material_justification: null",
        "  concurrent_release:",
        "    planned: false                  # concurrent release is allowed with a rationale, a commitment and "
        "a failure plan",
        "  elements:                         # TODO: where the protocol states each element, e.g. PPQ-PROT-001 s5",
    ]
    for element in ("operating_conditions", "data_to_collect", "tests_and_criteria", "sampling_plan",
                    "statistical_methods", "deviation_handling"):
        lines.append(f"    {element}: null")
    lines.append("  prerequisites:                    # TODO: true, or the document id that shows it")
    prerequisites = ["facility_equipment_qualified", "personnel_trained", "material_sources_verified",
                     "analytical_methods_validated", "aseptic_simulation_current", "hold_times_validated",
                     "shipping_validated"]
    if s.modality in EX_VIVO_MODIFIED_MODALITIES:
        prerequisites.append("vector_process_validated")
    lines += [f"    {p}: null" for p in prerequisites]
    lines += [
        "report:",
        "  id: null",
        "  status: null                      # TODO: not_started | in_progress | complete",
        "  conclusion: null                  # TODO: validated | not_validated | pending",
        "  open_deviations: 0",
        "continued_process_verification: null   # TODO: stage 3 CPV plan id",
    ]
    return "\n".join(lines) + "\n"


def changes_yaml(s: Starter) -> str:
    lines = _header(s, "changes.yaml", "manufacturing changes and comparability studies.")
    lines += [
        "# TODO: every manufacturing change, e.g.",
        "# - id: CHG-001",
        "#   title: Adherent to suspension process",
        "#   kind: process          # process | site | scale | raw_material | equipment | method | vector",
        f"#   phase: {s.phase.value}",
        "#   risk: major            # minor | moderate | major",
        "#   risk_assessment: RA-001",
        "#   from_version: v1",
        "#   to_version: v2",
        "#   affected_attributes: [potency]",
        "#   comparability: {design: side_by_side, pre_lots: [], post_lots: [], attributes: [potency], "
        "method: quality_range, criteria_predefined: true, conclusion: pending}",
        "changes: []",
    ]
    return "\n".join(lines) + "\n"


def waivers_yaml(s: Starter) -> str:
    lines = _header(s, "waivers.yaml", "accepted gaps, each with a justification.")
    lines += [
        "# A waiver keeps a finding visible but accepted, e.g.",
        "# - {rule: PPQ-006, scope: ppq.yaml, justification: \"Agreed at the Type B meeting (MTG-22)\", "
        "approved_by: Head of Regulatory Affairs, expires: 2027-01-31}",
        "waivers: []",
    ]
    return "\n".join(lines) + "\n"


def starter_files(s: Starter) -> dict[str, str]:
    """File name -> content of the starter dossier."""
    files = {
        "dossier.yaml": dossier_yaml(s),
        "gmp.yaml": gmp_yaml(s),
        "specifications.yaml": specifications_yaml(s),
        "methods.yaml": methods_yaml(s),
    }
    if s.ppq:
        files["ppq.yaml"] = ppq_yaml(s)
    files["changes.yaml"] = changes_yaml(s)
    files["waivers.yaml"] = waivers_yaml(s)
    files["lots.csv"] = LOT_HEADER + "\n"
    files["stability.csv"] = STABILITY_HEADER + "\n"
    return files


def write_starter(folder: Path, starter: Starter) -> list[str]:
    """Write the starter dossier into ``folder`` (new or empty); return the files written.

    Nothing is written when the folder exists and holds anything: an existing dossier is never
    overwritten. The files are written into a temporary sibling first, so a failure leaves nothing.
    """
    from cmcflex.authoring.schema import file_kinds, schema_filename, shipped_text

    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InitError(f"{folder} already exists and is not an empty folder; cmcflex init never overwrites "
                        "files (choose a new folder)")
    if starter.pivotal_phase not in (Phase.PHASE_1, Phase.PHASE_2, Phase.PHASE_3):
        raise InitError("--pivotal-phase must be phase_1, phase_2 or phase_3")
    files = starter_files(starter)
    if starter.schema_base == SCHEMA_FOLDER:
        for kind in file_kinds():
            files[f"{SCHEMA_FOLDER}/{schema_filename(kind)}"] = shipped_text(kind)
    parent = folder.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=parent))
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(staging, 0o777 & ~mask)  # mkdtemp makes it private; a dossier folder is not
    try:
        for name, text in files.items():
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="\n")
        if folder.exists():
            folder.rmdir()  # empty, checked above
        os.rename(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return sorted(files)
