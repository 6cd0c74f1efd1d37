"""The modality table of required release tests (SPEC-001) as data."""

from __future__ import annotations

import pytest

from cmcflex.dossier import models
from cmcflex.dossier.models import Modality
from cmcflex.dossier.vocabulary import KNOWN_TESTS, TEST_CATEGORY
from cmcflex.phases import Phase
from cmcflex.rules.required_tests import BY_MODALITY, EVERY_MODALITY, required_tests


def _names(modality: Modality, from_phase: Phase | None = None) -> set[str]:
    return {r.name for r in required_tests(modality) if from_phase is None or r.from_phase is from_phase}


def test_every_modality_has_a_row() -> None:
    assert set(BY_MODALITY) == set(Modality)


@pytest.mark.parametrize("modality", list(Modality), ids=[m.value for m in Modality])
def test_every_named_test_is_in_the_vocabulary(modality: Modality) -> None:
    for req in required_tests(modality):
        assert set(req.tests) <= KNOWN_TESTS, req
        assert req.tests or req.categories


@pytest.mark.parametrize("modality", list(Modality), ids=[m.value for m in Modality])
def test_safety_and_identity_from_phase_1_for_all(modality: Modality) -> None:
    names = _names(modality, Phase.PHASE_1)
    assert {"sterility", "endotoxin", "identity", "mycoplasma", "quantity/dose"} <= names
    assert "potency" in _names(modality, Phase.PHASE_3)


def test_potency_requires_a_criterion() -> None:
    potency = next(r for r in EVERY_MODALITY if r.name == "potency")
    assert potency.needs_criterion and models.TestCategory.POTENCY in potency.categories


@pytest.mark.parametrize("modality, all_phases, from_p3", [
    (Modality.AAV, {"vector_genome_titer"},
     {"empty_full_ratio", "infectious_titer", "residual_host_cell_dna", "residual_host_cell_protein",
      "residual_plasmid_dna", "replication_competent_virus"}),
    (Modality.ADENOVIRAL_VECTOR, {"infectious_titer", "replication_competent_virus"},
     {"particle_titer", "residual_host_cell_dna", "residual_host_cell_protein"}),
    (Modality.ONCOLYTIC_VIRUS, {"infectious_titer", "wild_type_revertant"},
     {"particle_titer", "residual_host_cell_dna", "residual_host_cell_protein"}),
    (Modality.LENTIVIRAL_VECTOR, {"replication_competent_virus", "functional_titer"},
     {"residual_plasmid_dna", "residual_host_cell_dna", "residual_host_cell_protein", "residual_nuclease"}),
    (Modality.CAR_T_AUTOLOGOUS, {"viability", "viable_cell_dose", "replication_competent_virus",
                                 "transduction_efficiency"}, {"vector_copy_number", "cd3_purity"}),
    (Modality.GENE_MODIFIED_HSC, {"viability", "cd34_count", "replication_competent_virus"},
     {"vector_copy_number", "transduction_efficiency"}),
    (Modality.GENE_EDITED_CELLS, {"viability", "viable_cell_dose"}, {"editing_efficiency"}),
    (Modality.ALLOGENEIC_CELL, {"viability", "viable_cell_dose"}, {"adventitious_agents"}),
    (Modality.AUTOLOGOUS_CELL, {"viability", "viable_cell_dose"}, set()),
])
def test_rows_match_the_catalogue(modality: Modality, all_phases: set[str], from_p3: set[str]) -> None:
    common_all = {"sterility", "endotoxin", "identity", "mycoplasma", "quantity/dose"}
    assert _names(modality, Phase.PHASE_1) == common_all | all_phases
    assert _names(modality, Phase.PHASE_3) == {"potency"} | from_p3


def test_safety_requirements_are_safety_tests() -> None:
    for modality in Modality:
        for req in required_tests(modality):
            if req.name in ("sterility", "endotoxin", "mycoplasma", "replication_competent_virus",
                            "wild_type_revertant", "adventitious_agents"):
                assert TEST_CATEGORY[req.tests[0]] is models.TestCategory.SAFETY
