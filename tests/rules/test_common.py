"""The shared out-of-specification path judges exactly as ``criterion.accepts`` row by row."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cmcflex.dossier.criteria import NumericCriterion, QualitativeCriterion, parse_result
from cmcflex.dossier.loader import load_dossier
from cmcflex.rules.common import not_accepted
from cmcflex.views import DossierViews
from tests.helpers import base_dossier_yaml, write_dossier

VALUES = st.one_of(
    st.sampled_from(["70", "70.0", "69.99", "130", "130.01", "<70", ">130", "<0.5", ">1E13", "100",
                     "No growth", "Growth", "Conforms"]),
    st.integers(50, 150).map(str),
)
BOUNDS = st.one_of(st.none(), st.sampled_from([70.0, 100.0, 130.0]))


@given(values=st.lists(VALUES, min_size=1, max_size=25), lo=BOUNDS, hi=BOUNDS,
       lo_incl=st.booleans(), hi_incl=st.booleans())
def test_numeric_fast_path_matches_row_by_row(tmp_path_factory, values, lo, hi, lo_incl, hi_incl):
    if lo is None and hi is None:
        lo = 70.0
    if lo is not None and hi is not None and lo > hi:
        lo, hi = hi, lo
    criterion = NumericCriterion(min=lo, max=hi, min_inclusive=lo_incl, max_inclusive=hi_incl)
    rows = [{"lot_id": f"L{i}", "material": "drug_product", "use": "phase_2", "attribute": "viability",
             "value": v} for i, v in enumerate(values)]
    path = write_dossier(tmp_path_factory.mktemp("d"), {"dossier.yaml": base_dossier_yaml(), "lots.csv": rows})
    d = load_dossier(path)
    naive = [(f"L{i}", criterion.accepts(parse_result(v))) for i, v in enumerate(values)]
    expected = [(lot, verdict) for lot, verdict in naive if verdict is not True]
    fast = [(r.lot_id, verdict) for r, verdict in not_accepted(DossierViews(d), "drug_product", "viability", criterion)]
    assert fast == expected
    subset = {f"L{i}" for i in range(0, len(values), 2)}
    fast_subset = [(r.lot_id, v) for r, v in not_accepted(DossierViews(d), "drug_product", "viability", criterion, subset)]
    assert fast_subset == [(lot, v) for lot, v in expected if lot in subset]


def test_qualitative_criterion_judges_every_row(tmp_path):
    rows = [{"lot_id": f"L{i}", "material": "drug_product", "use": "phase_2", "attribute": "sterility",
             "value": v} for i, v in enumerate(["No growth", "Growth", "12", "No growth"])]
    d = load_dossier(write_dossier(tmp_path / "d", {"lots.csv": rows}))
    out = [(r.lot_id, v) for r, v in not_accepted(DossierViews(d), "drug_product", "sterility",
                                                  QualitativeCriterion(expected="no growth"))]
    assert out == [("L1", False), ("L2", None)]
