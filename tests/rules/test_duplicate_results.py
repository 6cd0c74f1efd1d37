"""Several results for one lot and attribute (retests, rows of several files) are never averaged or
collapsed: each is judged and counted, and findings name the lot's results with their rows."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from cmcflex.dossier.loader import load_dossier
from cmcflex.views import DossierViews
from tests.helpers import findings_for, lot_rows
from tests.rules import test_specifications
from tests.rules.test_comparability import POST_OK, PRE, change, dossier, lots
from tests.rules.test_specifications import base_lots, base_tests, with_test

make = test_specifications.make  # the SPEC tests' complete CAR T dossier (phase 3 by default)


def _retest(rows: list[dict[str, Any]], lot_id: str, attribute: str, value: Any) -> list[dict[str, Any]]:
    """The rows with one more result of ``attribute`` for ``lot_id``, appended at the end of the file."""
    first = next(r for r in rows if r["lot_id"] == lot_id and r["attribute"] == attribute)
    return [*rows, {**first, "value": value}]


# ------------------------------------------------------------------------ CMP-004: no per-lot mean


def test_cmp004_an_out_of_range_result_is_not_averaged_away_by_a_retest(dossier_dir: Callable[..., Path]) -> None:
    # L-202 measured 70 (outside the quality range) and 128 on retest: their mean, 99, looked comparable
    rows = _retest(lots(PRE, {**POST_OK, "L-202": 70.0}), "L-202", "potency", 128.0)
    (found,) = findings_for(dossier(dossier_dir, change(), rows=rows, phase="phase_3"), "CMP-004")
    assert "L-202 = 70" in found.message and "several results" in found.message and "line" in found.message
    attribute = next(a for a in found.data["attributes"] if a["attribute"] == "potency")
    assert attribute["post"]["values"]["L-202"] == [70.0, 128.0] and attribute["post"]["n"] == 4
    assert [r["value"] for r in attribute["several_results"]["L-202"]] == [70.0, 128.0]


def test_cmp004_identical_duplicate_rows_count_once(dossier_dir: Callable[..., Path]) -> None:
    rows = _retest(lots(PRE, POST_OK), "L-202", "potency", POST_OK["L-202"])
    assert findings_for(dossier(dossier_dir, change(), rows=rows, phase="phase_3"), "CMP-004") == []


# ------------------------------------------------------------------------ SPEC rules: no "last row wins"


def test_spec006_judges_the_first_result_a_retest_would_have_hidden(make: Callable[..., Path]) -> None:
    # L-302 measured 400 pg/mL (< 450) and 480 on retest; the retest, last in the file, used to stand alone
    lots = _retest(base_lots([("L-301", 80, 450), ("L-302", 85, 400), ("L-303", 90, 510)]), "L-302", "potency",
                   "480")
    (found,) = findings_for(make(lots=lots), "SPEC-006", phase="bla")
    assert "L-302: 400 pg/mL" in found.message
    assert "L-302 (400 pg/mL at lots.csv line" in found.message and "480 pg/mL at line" in found.message
    assert found.data["pivotal"]["several_results"]["L-302"][1]["value"] == "480"


def test_spec009_names_every_result_of_a_retested_released_lot(make: Callable[..., Path]) -> None:
    lots = _retest(base_lots(), "L-302", "viability", "60")  # 85 %, then 60 % (< 80 %)
    found = [f for f in findings_for(make(lots=lots), "SPEC-009", phase="bla") if f.record == "lot L-302"]
    (lot,) = found
    assert "L-302 drug_product/viability (85 % at lots.csv line 22, 60 % at line 35)" in lot.message
    assert [r["value"] for r in lot.data["several_results"]["L-302 drug_product/viability"]] == ["85", "60"]


def test_statistics_count_every_different_result_and_identical_rows_once(make: Callable[..., Path]) -> None:
    lots = _retest(_retest(base_lots(), "L-302", "potency", "470"), "L-303", "potency", "510")
    d = load_dossier(make(lots=lots))
    sl = DossierViews(d).lots_by_test[("drug_product", "potency")]
    assert sl.pivotal.values() == [450.0, 480.0, 510.0, 470.0]  # L-303's identical row once
    assert sl.pivotal.lot_ids == ("L-301", "L-302", "L-303")
    assert sl.released["lots_with_result"] == 3 and sl.released["results"] == 4
    assert sl.released["lots_with_several_results"] == 1 and sl.released["n"] == 4


def test_a_lot_without_retests_is_summarised_as_before(make: Callable[..., Path]) -> None:
    d = load_dossier(make())
    sl = DossierViews(d).lots_by_test[("drug_product", "potency")]
    assert sl.released == {"lots_with_result": 3, "n": 3, "mean": 480.0, "sd": 30.0, "min": 450.0, "max": 510.0}
    assert "several_results" not in sl.pivotal.summary()


def test_rows_by_the_tests_method_are_the_lots_results(make: Callable[..., Path]) -> None:
    # a row by another method (an old assay) is not a result of this test when the lot has one by its method
    lots = [*base_lots(), *lot_rows("L-302", "phase_3", {"potency": "300"}, method="M-OLD")]
    lots = [{**r, "method": r.get("method") or f"M-{r['attribute'].upper()}"} for r in lots]
    tests = with_test(base_tests(), "potency", method="M-POTENCY")
    d = load_dossier(make(tests=tests, lots=lots))
    assert DossierViews(d).lots_by_test[("drug_product", "potency")].pivotal.values() == [450.0, 480.0, 510.0]
