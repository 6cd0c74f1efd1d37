"""The lot table's query API: what rules and the report read instead of its arrays."""

from __future__ import annotations

import io
import re
from pathlib import Path

from cmcflex.dossier.criteria import parse_criterion
from cmcflex.dossier.errors import Problem
from cmcflex.dossier.lots import LotTable, read_lots_csv

CSV = """lot_id,material,use,attribute,value,unit,method,disposition
L1,drug_product,phase_2,viability,90,%,M-1,released
L1,drug_product,phase_2,viability,60,%,M-2,released
L2,drug_product,phase_3,viability,<50,%,M-1,pending
L2,drug_product,phase_3,sterility,No growth,,M-9,pending
L3,drug_product,phase_3,viability,95,%,M-1,
L3,drug_product,phase_3,viability,95,%,M-1,
"""


def table() -> LotTable:
    out, problems = LotTable(), list[Problem]()
    read_lots_csv(io.StringIO(CSV, newline=""), "lots.csv", out, problems)
    assert problems == []
    return out


def test_judge_yields_only_results_the_criterion_does_not_accept() -> None:
    t = table()
    criterion = parse_criterion(">= 70 %")
    rows = t.candidate_rows("drug_product", "viability", criterion)
    found = [(r.lot_id, r.result.describe(), verdict) for r, verdict in
             t.judge("drug_product", "viability", criterion, rows)]
    assert found == [("L1", "60", False), ("L2", "<50", False)]
    only_l2 = t.indices_of({"L2", "nope"})
    assert [r.lot_id for r, _ in t.judge("drug_product", "viability", criterion, rows, only_l2)] == ["L2"]


def test_lot_columns_locations_and_selections() -> None:
    t = table()
    assert list(t.lot_column("disposition")) == ["released", "pending", None]
    assert t.lots_in("use", {"phase_3"}) == [1, 2]
    assert t.lot_location(1) == ("lots.csv", 4)
    assert t.lots_with_results("drug_product", "sterility") == frozenset({1})
    assert t.has_results("drug_product", "viability") and not t.has_results("drug_product", "potency")
    assert t.units_of("drug_product", "viability") == {"%"}


def test_distinct_rows_prefer_the_tests_method_and_drop_identical_rows() -> None:
    t = table()
    everyone = frozenset(range(len(t)))
    assert t.distinct_rows("drug_product", "viability", everyone, None) == [0, 1, 2, 3]
    assert t.distinct_rows("drug_product", "viability", everyone, "M-1") == [0, 2, 3]
    digest = t.rows_digest("drug_product", "viability", [0, 1, 2, 3])
    assert (dict(digest.per_lot), digest.values, digest.censored, digest.words) == ({0: 2, 1: 1, 2: 1},
                                                                                  [90.0, 60.0, 95.0], 1, 0)


ONE_ROW_PER_LOT = """lot_id,material,use,attribute,value,method,disposition
A1,drug_product,phase_2,viability,90,M-2,released
A1,drug_product,phase_2,potency,400,M-1,released
A2,drug_product,phase_2,viability,60,M-1,released
A2,drug_product,phase_2,potency,<50,M-1,released
A3,drug_product,phase_2,viability,95,M-1,released
A3,drug_product,phase_2,potency,300,M-1,released
"""


def test_columns_with_one_row_per_lot_keep_every_row_of_the_lots_asked_for() -> None:
    t, problems = LotTable(), list[Problem]()
    read_lots_csv(io.StringIO(ONE_ROW_PER_LOT, newline=""), "lots.csv", t, problems)
    assert problems == []
    # a lot whose one row is by another method keeps it: it has no row by the test's method
    assert t.distinct_rows("drug_product", "viability", frozenset({0, 2}), "M-1") == [0, 2]
    assert t.distinct_rows("drug_product", "viability", None, "M-1") == [0, 1, 2]
    # columns listing the same lots share one set
    assert t.lots_with_results("drug_product", "viability") is t.lots_with_results("drug_product", "potency")
    every_number = t.numeric_summary("drug_product", "viability", parse_criterion(">= 70"))
    assert (every_number.lots, every_number.outside, every_number.censored) == (3, 1, 0)
    mixed = t.numeric_summary("drug_product", "potency", parse_criterion(">= 100"))
    assert (mixed.values, mixed.lots, mixed.outside, mixed.censored) == ([400.0, 300.0], 3, 1, 1)


def test_rows_of_lots_finds_each_lots_rows_in_file_order() -> None:
    t = table()
    assert t.rows_of_lots("drug_product", "viability", {0, 2}) == {0: [0, 1], 2: [3, 4]}
    assert t.rows_of_lots("drug_product", "viability", set()) == {}
    assert t.rows_of_lots("drug_product", "potency", {0}) == {}
    assert t.result_at("drug_product", "viability", 1).result.describe() == "60"


def test_chart_rows_keep_the_last_numeric_results() -> None:
    t = table()
    assert t.chart_rows("drug_product", "viability", 2) == (5, [(2, 95.0, ""), (2, 95.0, "")])
    assert t.chart_rows("drug_product", "sterility", 2) == (0, [])
    assert t.methods_not_in({"M-1", "M-2"}) == {"M-9": ("lots.csv", 5)}


def test_rules_and_report_read_the_lot_table_through_its_queries() -> None:
    root = Path(__file__).resolve().parents[2] / "cmcflex"
    private = re.compile(r"\._(columns|lot_values|lot_file|lot_line)\b|\.tobytes\(")
    outside = [p for p in root.rglob("*.py") if p.parent.name != "dossier"]
    assert outside and [str(p) for p in outside if private.search(p.read_text(encoding="utf-8"))] == []
