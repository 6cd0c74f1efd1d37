"""The units table: spellings read as one unit, conversions where the dimension matches, never a guess."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmcflex.dossier.units import Unit, Unread, factor, read_unit


@pytest.mark.parametrize("a, b", [
    ("%", "percent"), ("%", "PERCENT"), ("mL", "ml"), ("pg/mL", "PG/ML"), ("µg/mL", "ug/mL"), ("μg/mL", "ug/mL"),
    ("10^6 cells", "1E6 cells"), ("x10E6 cells", "x10^6 cells"), ("×10⁶ cells", "10^6 cells"),
    ("vg/mL", "VG/ml"), ("copies/cell", "copy/cells"), ("EU/mL", "eu / mL"), ("EU/kg/h", "EU/kg/hr"),
    ("%", "% CAR+ of CD3+"), ("pg/mL IFN-gamma", "pg/ml ifn-gamma"),
    ("CAR+ viable T cells", "CAR+ viable T  cells"),  # unread by the table: compared as written
    ("copies/cell", "copies/diploid genome"), ("copies/cell", "copies / Diploid Genomes"),  # vector copy number
    ("copies/cell", "copies per cell"), ("EU/kg", "EU per kg"), ("mL", "cc"),
    ("RCA/3E10 vp", "RCA per 3 x 10^10 vp"), ("RCA/3.0E10 vp", "RCA/3E10 vp"), ("VP:IU", "vp/IU"),
    ("rcAAV/1E10 vg", "rcAAV per 1.0E10 vg"),
    ("x10^6 CAR+ viable T cells/kg", "x10^6 CAR+ viable T cells /kg"),  # unread: '/' spaced or not
    ("x10^6 CAR+ viable T cells/kg", "x10^6 CAR+ viable T cells / kg"),
])
def test_spellings_of_one_unit_agree(a: str, b: str) -> None:
    assert factor(a, b) == 1.0 and factor(b, a) == 1.0


@pytest.mark.parametrize("source, target, expected", [
    ("ng/mL", "pg/mL", 1000.0), ("pg/mL", "ng/mL", 0.001), ("ug/mL", "ng/mL", 1000.0),
    ("1E6 cells", "cells", 1e6),
    ("E9 viable cells", "viable cells", 1e9), ("x10^6 cells/mL", "cells/mL", 1e6), ("cells", "10^6 cells", 1e-6),
    ("ng/1.0E13 vg", "pg/1.0E13 vg", 1000.0), ("uM kynurenine", "nM kynurenine", 1000.0),
    ("vg/uL", "vg/mL", 1000.0), ("kU/mL", "U/mL", 1000.0), ("mU/mL", "MU/mL", 1e-9), ("EU/kg/min", "EU/kg/h", 60.0),
])
def test_conversions_where_the_dimension_matches(source: str, target: str, expected: float) -> None:
    assert factor(source, target) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("a, b", [
    ("cells", "%"), ("EU/mL", "EU/kg"), ("vg/mL", "GC/mL"), ("pg/mL IFN-gamma", "pg/mL TNF-alpha"),
    ("nM", "nm"),            # molar keeps its case
    ("mU/mL", "mu/ml"),      # and an ambiguous spelling is not guessed
    ("10E6 cells", "10^6 cells"),  # 10E6: 10^6 as meant, or 10^7 as written? not guessed
    ("cells", "CAR+ viable T cells"), ("%", "%CD3+"),
    ("copies/cell", "copies/haploid genome"),  # only a diploid genome is a cell
    ("RCA/3E10 vp", "RCL/3E10 vp"),
])
def test_incompatible_units_have_no_factor(a: str, b: str) -> None:
    assert factor(a, b) is None and factor(b, a) is None


@pytest.mark.parametrize("source, target, expected", [
    ("x10^6 CAR+ T cells", "CAR+ T cells", 1e6), ("CAR+ T cells", "x 10^8 CAR+ T cells", 1e-8),
    ("1.0E6 CAR+ viable T cells", "x10^6 CAR+ viable T cells", 1.0), ("×10⁶ CAR+ T cells", "CAR+ T cells", 1e6),
])
def test_a_power_of_ten_before_words_the_table_does_not_read_converts(source: str, target: str,
                                                                       expected: float) -> None:
    """A CAR-T dose written 'x10^6 CAR+ T cells' is a million 'CAR+ T cells', as a reviewer reads it."""
    assert factor(source, target) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("a, b", [
    ("10E6 CAR+ T cells", "CAR+ T cells"),   # 10E6 is not guessed
    ("100 CAR+ T cells", "CAR+ T cells"),    # a count, not a power of ten
    ("x10^6 CAR+ T cells", "x10^6 CAR- T cells"),
])
def test_no_factor_is_guessed_for_unread_units(a: str, b: str) -> None:
    assert factor(a, b) is None and factor(b, a) is None


def test_what_the_table_reads() -> None:
    unit = read_unit("x10^6 cells/kg")
    assert isinstance(unit, Unit) and unit.factor == pytest.approx(1e3)  # cells per gram
    assert dict(unit.dimension) == {"cells": 1, "g": -1}
    assert isinstance(read_unit("10E6 cells"), Unread) and isinstance(read_unit("beads/3.0E6 cells"), Unread)


# -------------------------------------------------------------------- generated spellings

_PERCENT = st.sampled_from(["%", "percent", "PERCENT", "Percent", "pct"])
_MICRO = st.sampled_from(["u", "µ", "μ"])
_LITRE = st.sampled_from(["mL", "ml", "ML"])
_SLASH = st.sampled_from(["/", " / ", "/ "])
_MILLION = st.sampled_from(["10^6", "1E6", "1e6", "x10^6", "x10E6", "×10^6", "10⁶", "x 10 ^ 6", "1.0E6", "1x10^6"])


@settings(max_examples=60, deadline=None)
@given(_PERCENT, st.sampled_from(["", " ", "  "]))
def test_generated_percent_spellings(spelling: str, pad: str) -> None:
    assert factor(pad + spelling + pad, "%") == 1.0


@settings(max_examples=80, deadline=None)
@given(_MICRO, st.sampled_from(["g", "G"]), _SLASH, _LITRE, st.sampled_from([("p", 1e6), ("n", 1e3), ("u", 1.0)]))
def test_generated_mass_concentrations(micro: str, gram: str, slash: str, litre: str,
                                       target: tuple[str, float]) -> None:
    prefix, expected = target
    assert factor(f"{micro}{gram}{slash}{litre}", f"{prefix}g/mL") == pytest.approx(expected, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(_MILLION, st.sampled_from(["cells", "Cells", "cell"]), st.sampled_from(["", "/mL", "/kg"]))
def test_generated_cell_counts(million: str, cells: str, per: str) -> None:
    assert factor(f"{million} {cells}{per}", f"cells{per}") == pytest.approx(1e6, rel=1e-12)
