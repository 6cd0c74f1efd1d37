"""The canonical test vocabulary of the dossier format and each test's category.

Source: dossier-format.md, "Test vocabulary". ``cqa`` defaults to true for safety, identity,
potency and quantity tests.
"""

from __future__ import annotations

from collections.abc import Iterable

from cmcflex.dossier.models import Method, MethodStatus, SpecTest, TestCategory

_S, _I, _P, _Q, _PU, _G = (
    TestCategory.SAFETY,
    TestCategory.IDENTITY,
    TestCategory.POTENCY,
    TestCategory.QUANTITY,
    TestCategory.PURITY,
    TestCategory.GENERAL,
)

TEST_CATEGORY: dict[str, TestCategory] = {
    # safety
    "sterility": _S,
    "mycoplasma": _S,
    "endotoxin": _S,
    "adventitious_agents": _S,
    "replication_competent_virus": _S,
    "wild_type_revertant": _S,
    # identity
    "identity": _I,
    # potency
    "potency": _P,
    # quantity / dose
    "vector_genome_titer": _Q,
    "infectious_titer": _Q,
    "functional_titer": _Q,
    "particle_titer": _Q,
    "cell_count": _Q,
    "viable_cell_dose": _Q,
    "cd34_count": _Q,
    # general
    "viability": _G,
    "appearance": _G,
    "ph": _G,
    "osmolality": _G,
    "volume": _G,
    "particulates": _G,
    # purity / product-related
    "transduction_efficiency": _PU,
    "vector_copy_number": _PU,
    "editing_efficiency": _PU,
    "empty_full_ratio": _PU,
    "cd3_purity": _PU,
    "residual_host_cell_dna": _PU,
    "residual_host_cell_protein": _PU,
    "residual_plasmid_dna": _PU,
    "residual_baculovirus_dna": _PU,  # insect-cell (Sf9/baculovirus) AAV production
    "residual_nuclease": _PU,
    "residual_serum_protein": _PU,
    "residual_beads": _PU,
    "aggregates": _PU,
}
CQA_BY_DEFAULT = frozenset({_S, _I, _P, _Q})
KNOWN_TESTS = frozenset(TEST_CATEGORY)


def category_of(test: SpecTest) -> TestCategory | None:
    """The test's category: its own ``category``, else the vocabulary's; None if unknown."""
    if test.category is not None:
        return test.category
    return TEST_CATEGORY.get(test.test_type)


def is_cqa(test: SpecTest, tests: Iterable[SpecTest] = ()) -> bool:
    """``cqa`` as written, else true for safety, identity, potency and quantity tests; except a
    particle titre (p24, physical titre) beside a functional titre in the same specification
    (``tests``): the functional titre is the vector's dose-defining quantity, and the particle titre
    is characterisation, as lentiviral vector specifications report it."""
    if test.cqa is not None:
        return test.cqa
    if test.test_type == "particle_titer" and any(t.test_type == "functional_titer" for t in tests):
        return False
    return category_of(test) in CQA_BY_DEFAULT


def is_compendial(method: Method) -> bool:
    """As recorded; else ``status: verified`` reads the method as compendial (verification applies
    to compendial methods only)."""
    return method.compendial if method.compendial is not None else method.status is MethodStatus.VERIFIED
