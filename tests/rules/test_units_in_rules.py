"""Units in the rules: results converted into their test's unit, results in an incompatible unit left
out of every judgement and reported once by SPEC-013 with their rows (firing and silent cases)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from cmcflex.dossier.loader import load_dossier
from tests.helpers import findings_for
from tests.rules import test_specifications
from tests.rules.test_specifications import base_lots, base_tests, with_test

SPELLINGS = ["%", "percent", "PERCENT", "Percent", "pct", " % ", "Pct", "percent ", "PCT"]

make = test_specifications.make  # the SPEC tests' complete CAR T dossier (phase 3 by default)


def _unit(lots: list[dict[str, Any]], attribute: str, unit: str, lot_id: str | None = None,
          value: Any = None) -> list[dict[str, Any]]:
    for row in lots:
        if row["attribute"] == attribute and (lot_id is None or row["lot_id"] == lot_id):
            row["unit"] = unit
            if value is not None:
                row["value"] = value
    return lots


def test_results_in_another_compatible_unit_are_converted(make: Callable[..., Path]) -> None:
    # potency >= 450 pg/mL; L-302 reports 0.48 ng/mL = 480 pg/mL: accepted, and counted as 480
    lots = _unit(base_lots(), "potency", "ng/mL", "L-302", "0.48")
    path = make(lots=lots)
    assert findings_for(path, "SPEC-006", phase="bla") == []
    assert findings_for(path, "SPEC-013", phase="bla") == []
    table = load_dossier(path).lots
    assert table is not None
    values = dict(table.numeric_values("drug_product", "potency"))
    assert values["L-302"] == 480.0 and values["L-301"] == 450.0


def test_a_converted_result_below_the_limit_is_judged_in_the_tests_unit(make: Callable[..., Path]) -> None:
    lots = _unit(base_lots(), "potency", "ng/mL", "L-302", "0.40")  # 400 pg/mL < 450
    (found,) = findings_for(make(lots=lots), "SPEC-006", phase="bla")
    assert "L-302: 400 pg/mL" in found.message


def test_percent_spellings_are_one_unit(make: Callable[..., Path]) -> None:
    lots = base_lots()
    for k, row in enumerate(r for r in lots if r["attribute"] == "viability"):
        row["unit"] = SPELLINGS[k % len(SPELLINGS)]
    tests = with_test(base_tests(), "viability", unit="%")
    assert findings_for(make(tests=tests, lots=lots), "SPEC-013", phase="bla") == []


def test_a_wrong_unit_after_many_well_spelled_ones_is_reported_and_left_out(make: Callable[..., Path]) -> None:
    # nine spellings of % on nine released lots, then one viability in cells: reported once with its
    # row, and neither judged (SPEC-009 would reject 45 against >= 80 %) nor counted as missing
    pivotal = [(f"L-3{k:02d}", 85 + k % 3, 480) for k in range(len(SPELLINGS))]
    lots = base_lots(pivotal)
    rows = [r for r in lots if r["attribute"] == "viability"]
    for spelling, row in zip(SPELLINGS, rows):
        row["unit"] = spelling
    lots = [*lots, *_unit(base_lots([("L-399", 45, 480)]), "viability", "cells")]
    path = make(tests=with_test(base_tests(), "viability", unit="%"), lots=lots)
    (found,) = findings_for(path, "SPEC-013", phase="bla")
    assert found.record == "test drug_product/viability" and found.file == "lots.csv"
    assert [r["lot"] for r in found.data["rows"]] == ["L-399"] and found.line == found.data["rows"][0]["line"]
    assert "'cells'" in found.message and "left out of every statistic and judgement" in found.message
    assert findings_for(path, "SPEC-009", phase="bla") == []
    dossier = load_dossier(path)
    assert dossier.lots is not None
    assert "L-399" not in dict(dossier.lots.numeric_values("drug_product", "viability"))


def test_the_same_wrong_row_judged_when_its_unit_is_right(make: Callable[..., Path]) -> None:
    lots = [*base_lots(), *_unit(base_lots([("L-399", 45, 480)]), "viability", "%")]
    found = findings_for(make(tests=with_test(base_tests(), "viability", unit="%"), lots=lots), "SPEC-009",
                         phase="bla")
    assert [f.record for f in found] == ["lot L-399"]


def test_a_criterion_in_another_compatible_unit_is_converted(make: Callable[..., Path]) -> None:
    tests = with_test(base_tests(), "potency", criterion=">= 0.45 ng/mL", unit="pg/mL")
    assert findings_for(make(tests=tests), "SPEC-006", phase="bla") == []  # lots at 450..510 pg/mL
    lots = _unit(base_lots(), "potency", "pg/mL", "L-302", "400")
    (found,) = findings_for(make(tests=tests, lots=lots), "SPEC-006", phase="bla")
    assert "'>= 0.45 ng/mL'" in found.message and "L-302: 400 pg/mL" in found.message


def test_results_without_a_unit_are_read_in_the_tests_unit(make: Callable[..., Path]) -> None:
    lots = base_lots()  # no unit on any row
    assert findings_for(make(lots=lots), "SPEC-013", phase="bla") == []


STAB_SPECS = {"specifications": [{"material": "drug_product", "tests": [
    {"attribute": "viability", "unit": "%", "criterion": ">= 70"},
    {"attribute": "potency", "unit": "pg/mL", "criterion": ">= 400"}]}]}


def _stability(rows: list[tuple[str, float, str, Any, str]]) -> list[dict[str, Any]]:
    return [{"lot_id": lot, "material": "drug_product", "condition": "long_term", "time": t, "time_unit": "months",
             "attribute": a, "value": v, "unit": u} for lot, t, a, v, u in rows]


def test_stability_results_are_converted_or_left_out(dossier_dir: Callable[..., Path]) -> None:
    from tests.helpers import lot_rows

    lots = [r for lot in ("L-1", "L-2") for r in lot_rows(lot, "ppq", {"viability": 85}, process_version="v2")]
    rows = _stability([("L-1", 0, "potency", "0.5", "ng/mL"), ("L-1", 6, "potency", "0.3", "ng/mL"),
                       ("L-2", 6, "potency", "10", "copies/cell")])
    path = dossier_dir({"specifications.yaml": STAB_SPECS, "lots.csv": lots, "stability.csv": rows},
                       phase="bla", shelf_life={"value": 12, "unit": "months", "storage": "LN2"})
    (stab,) = findings_for(path, "STAB-005")
    assert "L-1 300 pg/mL at 6 months" in stab.message and "L-2" not in stab.message
    (ref,) = [f for f in findings_for(path, "SPEC-013") if "unit" in f.data]  # others: no method named
    assert ref.file == "stability.csv" and ref.data["unit"] == "copies/cell" and ref.data["source"] == "stability"
    dossier = load_dossier(path)
    assert dossier.stability is not None and len(dossier.stability) == 3  # still on stability, never judged
    assert findings_for(path, "STAB-003")[0].data["lots"] == ["L-1", "L-2"]  # L-2 still counts


def test_a_column_without_a_unit_in_its_test_is_read_in_its_first_unit(make: Callable[..., Path]) -> None:
    # viability states no unit (criterion '>= 80'): its first result's unit stands for it
    tests = with_test(base_tests(), "viability", criterion=">= 80", unit=None)
    lots = _unit(_unit(base_lots(), "viability", "%"), "viability", "cells", "L-303")
    found = [f for f in findings_for(make(tests=tests, lots=lots), "SPEC-013", phase="bla") if "unit" in f.data]
    (f,) = found
    assert f.data["test_unit"] == "%" and f.data["test_unit_declared"] is False and f.data["unit"] == "cells"
    assert findings_for(make(tests=tests, lots=_unit(base_lots(), "viability", "percent")), "SPEC-013",
                        phase="bla") == []


def test_results_of_an_attribute_without_a_test_are_put_in_one_unit(make: Callable[..., Path]) -> None:
    from tests.helpers import lot_rows

    extra = [*lot_rows("L-301", "phase_3", {"il6": "20"}), *lot_rows("L-302", "phase_3", {"il6": "0.03"}),
             *lot_rows("L-303", "phase_3", {"il6": "5"})]
    for row, unit in zip(extra, ["pg/mL", "ng/mL", "copies/cell"]):
        row["unit"] = unit
    path = make(lots=[*base_lots(), *extra])
    d = load_dossier(path)
    assert d.lots is not None and dict(d.lots.numeric_values("drug_product", "il6")) == {"L-301": 20.0,
                                                                                          "L-302": 30.0}
    (f,) = [f for f in findings_for(path, "SPEC-013", phase="bla") if "unit" in f.data]
    assert f.record == "test drug_product/il6" and f.data["rows"][0]["lot"] == "L-303"


def test_many_wrong_units_of_one_test_are_one_finding(make: Callable[..., Path]) -> None:
    lots = base_lots()
    for row, unit in zip([r for r in lots if r["attribute"] == "viability"], ["cells", "mg", "cells"]):
        row["unit"] = unit
    path = make(tests=with_test(base_tests(), "viability", unit="%"), lots=lots)  # every viability left out
    (f,) = [f for f in findings_for(path, "SPEC-013", phase="bla") if "unit" in f.data]
    assert findings_for(path, "SPEC-009", phase="bla") == []  # not "no result" either: reported once
    assert f.data["units"] == {"cells": 2, "mg": 1} and f.data["results"] == 3
    assert [r["lot"] for r in f.data["rows"]] == ["L-301", "L-302", "L-303"]
    assert "3 results of drug_product/viability (lots.csv lines" in f.message and "'cells' (2)" in f.message


def test_a_result_word_is_judged_whatever_its_unit(make: Callable[..., Path]) -> None:
    lots = _unit(_unit(base_lots(), "mycoplasma", "copies/mL"), "mycoplasma", "CFU", "L-302", "Positive")
    path = make(lots=lots)
    assert [f.record for f in findings_for(path, "SPEC-009", phase="bla")] == ["lot L-302"]
    assert [f for f in findings_for(path, "SPEC-013", phase="bla") if "unit" in f.data] == []


def test_stability_of_a_test_without_a_unit_is_read_in_its_first_unit(dossier_dir: Callable[..., Path]) -> None:
    from tests.helpers import lot_rows

    specs = {"specifications": [{"material": "drug_product", "tests": [{"attribute": "potency", "criterion": ">= 50"}]}]}
    lots = lot_rows("L-1", "ppq", {"potency": 90}, process_version="v2")
    rows = _stability([("L-1", 0, "potency", "90", "%"), ("L-1", 3, "potency", "20", "cells"),
                       ("L-1", 6, "potency", "85", "percent")])
    path = dossier_dir({"specifications.yaml": specs, "lots.csv": lots, "stability.csv": rows},
                       phase="bla", shelf_life={"value": 12, "unit": "months", "storage": "LN2"})
    assert findings_for(path, "STAB-005") == []  # 20 cells is not 20 %: never judged
    (ref,) = [f for f in findings_for(path, "SPEC-013") if "unit" in f.data]
    assert ref.data["test_unit"] == "%" and ref.data["test_unit_declared"] is False and ref.line == 3


def test_a_result_at_the_limit_in_another_unit_meets_it(make: Callable[..., Path]) -> None:
    # 18 pg/mL is 18 * 0.001 = 0.018000000000000002 ng/mL in binary floating point: never a false OOS
    tests = with_test(base_tests(), "potency", criterion="<= 0.018 ng/mL", unit="ng/mL")
    lots = _unit(base_lots([("L-301", 80, 9), ("L-302", 85, 13), ("L-303", 90, 18)]), "potency", "pg/mL")
    path = make(tests=tests, lots=lots)
    assert findings_for(path, "SPEC-006", phase="bla") == [] and findings_for(path, "SPEC-009", phase="bla") == []


def test_a_value_beyond_float_range_once_converted_is_left_out(make: Callable[..., Path]) -> None:
    tests = with_test(base_tests(), "viable_cell_dose", unit="cells")
    lots = _unit(base_lots(), "viable_cell_dose", "x10^15 cells", "L-302", "1E300")
    path = make(tests=tests, lots=lots)
    (f,) = [f for f in findings_for(path, "SPEC-013", phase="bla") if "unit" in f.data]
    assert f.data["rows"][0]["lot"] == "L-302" and f.data["unit"] == "x10^15 cells"
    assert findings_for(path, "SPEC-009", phase="bla") == []


def _potency_in_percent_until_2025(make: Callable[..., Path], lots: list[dict[str, Any]]) -> Path:
    """A BLA dossier whose potency assay reported % of reference under version 2.0 (limit '>= 40 %
    of reference', until 2025-09-01) and pg/mL under today's 3.0."""
    spec = {"material": "drug_product", "version": "3.0", "effective_from": "2025-09-01", "tests": base_tests(),
            "previous_versions": [{"version": "2.0", "effective_from": "2023-01-15",
                                   "tests": [{"attribute": "potency", "criterion": ">= 40 % of reference"}]}]}
    return make(lots=lots, phase="bla", extra={"specifications.yaml": {"specifications": [spec]}})


def test_results_in_the_unit_of_their_lots_release_version_are_info(make: Callable[..., Path]) -> None:
    # L-301 and L-302 were made in 2024 under version 2.0 and report potency in % of reference: the
    # record of their release, not a wrong unit
    lots = _unit(base_lots(manufacture_date="2024-05-01"), "potency", "% of reference", value="85")
    (found,) = findings_for(_potency_in_percent_until_2025(make, lots), "SPEC-013")
    assert found.severity.value == "info"
    assert ("3 results of drug_product/potency (lots.csv lines" in found.message
            and "the unit of the limit '>= 40 % of reference' of specification version 2.0, under which their "
                "lots were released" in found.message)
    assert found.data["version"] == "2.0" and [r["lot"] for r in found.data["rows"]] == ["L-301", "L-302", "L-303"]


def test_a_result_in_the_old_unit_on_a_lot_of_today_s_version_stays_a_gap(make: Callable[..., Path]) -> None:
    # L-303 was made in 2025-10 under version 3.0 (pg/mL): its % of reference is a wrong unit
    lots = _unit(base_lots(manufacture_date="2024-05-01"), "potency", "% of reference", value="85")
    for row in lots:
        if row["lot_id"] == "L-303":
            row["manufacture_date"] = "2025-10-01"
    found = findings_for(_potency_in_percent_until_2025(make, lots), "SPEC-013")
    assert sorted((f.severity.value, f.data["results"]) for f in found) == [("info", 2), ("major", 1)]
    (gap,) = [f for f in found if f.severity.value == "major"]
    assert "cannot be converted to the test's unit 'pg/mL'" in gap.message and gap.data["rows"][0]["lot"] == "L-303"
    # two findings, two keys (a waiver or a diff of one is not of the other)
    assert sorted(f.record for f in found) == ["test drug_product/potency", "test drug_product/potency (version 2.0)"]
    assert len({f.fingerprint for f in found}) == 2


def test_a_result_in_neither_unit_stays_a_gap(make: Callable[..., Path]) -> None:
    lots = _unit(base_lots(manufacture_date="2024-05-01"), "potency", "IU/mL", value="85")
    found = findings_for(_potency_in_percent_until_2025(make, lots), "SPEC-013")
    assert [(f.severity.value, f.data["results"]) for f in found] == [("major", 3)]


def test_spec009_judges_results_in_their_release_version_s_unit_against_its_limit(make: Callable[..., Path]) -> None:
    lots = _unit(base_lots(manufacture_date="2024-05-01"), "potency", "% of reference", value="85")
    assert findings_for(_potency_in_percent_until_2025(make, lots), "SPEC-009") == []  # 85 % >= 40 %
    _unit(lots, "potency", "% of reference", "L-302", "35")
    (found,) = findings_for(_potency_in_percent_until_2025(make, lots), "SPEC-009")
    assert found.record == "lot L-302" and found.severity.value == "major"
    assert ("fails its specification (specification version 2.0, in force on its manufacture date 2024-05-01): "
            "drug_product/potency 35 % of reference against '>= 40 % of reference'") in found.message
    assert found.data["results"][0]["unit"] == "% of reference"
    assert "pg/mL" not in found.message  # today's results are no context for a result in another unit
