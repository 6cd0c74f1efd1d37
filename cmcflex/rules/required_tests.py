"""Release tests each modality requires (SPEC-001): the one table, kept as data.

Sources:
- cmcflex rules catalogue, "Required release tests by modality (SPEC-001)" (the table below
  transcribes it row by row);
- 21 CFR 610.10 (potency), 610.12 (sterility), 610.13 (purity), 610.14 (identity) for licensed
  products;
- FDA, Chemistry, Manufacturing, and Control (CMC) Information for Human Gene Therapy
  Investigational New Drug Applications (INDs), guidance for industry (January 2020): release
  testing of vectors and of genetically modified cells (sterility, mycoplasma, endotoxin,
  replication-competent virus, vector copy number, transduction efficiency, residuals,
  adventitious agents); for cell products that are not gene therapies, the 2008 guidance on CMC
  information for human somatic cell therapy INDs;
- USP <63> (mycoplasma), <71> (sterility), <85> (bacterial endotoxins).

The sources a SPEC-001 finding cites for each test are in :mod:`cmcflex.rules.citations`.

A requirement is met by any test, in any specification of the dossier (drug substance, drug
product, vector), whose canonical test type is among ``tests`` or whose category is among
``categories``. ``from_phase`` is the phase from which the test is required; before it, a
missing test is still reported at the lower severity the catalogue gives (Mi at P1, Ma at P2),
except safety and identity tests, which are blockers at every phase.
"""

from __future__ import annotations

from typing import NamedTuple

from cmcflex.dossier.models import Modality, TestCategory
from cmcflex.phases import Phase

_ALL, _P3 = Phase.PHASE_1, Phase.PHASE_3


class Requirement(NamedTuple):
    """One required release test: any of ``tests`` (or any test of ``categories``) meets it."""

    name: str
    tests: tuple[str, ...] = ()
    categories: tuple[TestCategory, ...] = ()
    from_phase: Phase = _ALL
    needs_criterion: bool = False  # "potency (with criterion)": report-only does not count

    def describe(self) -> str:
        if self.categories and not self.tests:
            return f"a {self.name} test"
        return " or ".join(self.tests) if len(self.tests) > 1 else self.name


def _req(name: str, *alternatives: str, from_phase: Phase = _ALL) -> Requirement:
    return Requirement(name, tests=alternatives or (name,), from_phase=from_phase)


EVERY_MODALITY: tuple[Requirement, ...] = (
    _req("sterility"),
    _req("endotoxin"),
    _req("identity"),
    Requirement("quantity/dose", categories=(TestCategory.QUANTITY,)),
    Requirement("potency", tests=("potency",), categories=(TestCategory.POTENCY,), from_phase=_P3,
                needs_criterion=True),
    # "cell-culture derived (all but none)": every modality listed is made in cell culture.
    _req("mycoplasma"),
)

_RCV = _req("replication_competent_virus")

BY_MODALITY: dict[Modality, tuple[Requirement, ...]] = {
    Modality.AAV: (
        _req("vector_genome_titer"),
        _req("empty_full_ratio", from_phase=_P3),
        _req("infectious_titer", from_phase=_P3),
        _req("residual_host_cell_dna", from_phase=_P3),
        _req("residual_host_cell_protein", from_phase=_P3),
        # the production system's residual DNA: plasmid in transient transfection, baculovirus DNA in
        # insect-cell (Sf9/baculovirus) production, which uses no plasmid (2020 GT CMC IND guidance:
        # impurities of the process used)
        _req("residual_plasmid_dna", "residual_plasmid_dna", "residual_baculovirus_dna", from_phase=_P3),
        _req("replication_competent_virus", from_phase=_P3),
    ),
    Modality.ADENOVIRAL_VECTOR: (
        _req("infectious_titer"),
        _RCV,
        _req("particle_titer", from_phase=_P3),
        _req("residual_host_cell_dna", from_phase=_P3),
        _req("residual_host_cell_protein", from_phase=_P3),
    ),
    Modality.ONCOLYTIC_VIRUS: (
        _req("infectious_titer"),
        _req("wild_type_revertant"),
        _req("particle_titer", from_phase=_P3),
        _req("residual_host_cell_dna", from_phase=_P3),
        _req("residual_host_cell_protein", from_phase=_P3),
    ),
    **{
        m: (
            _RCV,
            _req("functional_titer"),
            _req("residual_plasmid_dna", from_phase=_P3),
            _req("residual_host_cell_dna", from_phase=_P3),
            _req("residual_host_cell_protein", from_phase=_P3),
            _req("residual_nuclease", from_phase=_P3),
        )
        for m in (Modality.LENTIVIRAL_VECTOR, Modality.RETROVIRAL_VECTOR)
    },
    Modality.CAR_T_AUTOLOGOUS: (
        _req("viability"),
        _req("viable_cell_dose"),
        _RCV,
        _req("transduction_efficiency"),
        _req("vector_copy_number", from_phase=_P3),
        _req("cd3_purity", from_phase=_P3),
    ),
    Modality.CAR_T_ALLOGENEIC: (
        _req("viability"),
        # an off-the-shelf lot doses several patients: its dose-defining test is a viable cell count
        # per vial or per mL, each patient's dose drawn up from it
        _req("viable_cell_dose", "viable_cell_dose", "cell_count"),
        _RCV,
        _req("transduction_efficiency"),
        _req("vector_copy_number", from_phase=_P3),
        # a TRAC knockout removes CD3 from the surface: purity is then shown by another purity test
        # (residual TCR-alpha/beta-positive cells, CD45+)
        Requirement("cd3_purity", tests=("cd3_purity",), categories=(TestCategory.PURITY,), from_phase=_P3),
    ),
    Modality.GENE_MODIFIED_HSC: (
        _req("viability"),
        _req("cd34_count"),
        _RCV,
        _req("vector_copy_number", from_phase=_P3),
        _req("transduction_efficiency", from_phase=_P3),
    ),
    Modality.GENE_MODIFIED_CELLS: (
        _req("viability"),
        _req("viable_cell_dose"),
        _RCV,
        _req("vector_copy_number", from_phase=_P3),
        _req("transduction_efficiency", from_phase=_P3),
    ),
    Modality.GENE_EDITED_CELLS: (
        _req("viability"),
        # edited HSC products are dosed in CD34+ cells/kg, as gene_modified_hsc products are
        _req("viable_cell_dose", "viable_cell_dose", "cd34_count"),
        _req("editing_efficiency", from_phase=_P3),
    ),
    Modality.ALLOGENEIC_CELL: (
        _req("viability"),
        _req("viable_cell_dose"),
        _req("adventitious_agents", from_phase=_P3),
    ),
    Modality.AUTOLOGOUS_CELL: (
        _req("viability"),
        _req("viable_cell_dose"),
    ),
}


def required_tests(modality: Modality) -> tuple[Requirement, ...]:
    """Every release test the modality requires, common ones first."""
    return EVERY_MODALITY + BY_MODALITY[modality]
