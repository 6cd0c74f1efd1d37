"""The columnar lots.csv path gives exactly what the row-by-row path gives, on clean and messy files."""

from __future__ import annotations

import csv
import io
import random

import pytest

from cmcflex.dossier import lots as L
from cmcflex.dossier.errors import Problem

HEADER = ["lot_id", "material", "use", "process_version", "site", "manufacture_date",
          "attribute", "value", "unit", "method", "disposition"]
ATTRS = [("viability", lambda r: f"{r.gauss(85, 4):.1f}", "%", "M-VIAB"),
         ("sterility", lambda r: r.choice(["No growth", "No growth", "Growth"]), "", "M-STER"),
         ("endotoxin", lambda r: r.choice(["<0.50", "0.8", "< 0.5", "1.2"]), "EU/mL", "M-LAL"),
         ("potency", lambda r: f"{r.uniform(100, 900):.0f}", "pg/mL", "M-POT"),
         ("vcn", lambda r: f"{r.uniform(0.5, 4):.2E}", "", "")]


def row_by_row(text: str, file: str = "lots.csv") -> tuple[L.LotTable, list[Problem]]:
    """The reference: every row through the row-by-row path."""
    table, problems = L.LotTable(), []
    stream = io.StringIO(text, newline="")
    first = stream.readline()
    delimiter = L._sniff_delimiter(first)
    header = [h.strip().lstrip("\ufeff").lower() for h in next(csv.reader([first], delimiter=delimiter))]
    pos: dict[str, int] = {}
    for i, name in enumerate(header):
        pos.setdefault(name, i)

    def problem(line: int, col: int, fld: str, message: str) -> None:
        if len(problems) < L.MAX_PROBLEMS:
            problems.append(Problem(file, line, col, fld, message))

    reader = L._LotReader(file, table, pos, len(header), problem, decimal_comma=delimiter == ";")
    rows = csv.reader(stream, delimiter=delimiter)
    for row in rows:
        reader.add_row(row, rows.line_num + 1)
    reader.report_tally()
    return table, problems


def columnar(text: str, file: str = "lots.csv") -> tuple[L.LotTable, list[Problem]]:
    table, problems = L.LotTable(), []
    L.read_lots_csv(io.StringIO(text, newline=""), file, table, problems)
    return table, problems


def state(table: L.LotTable) -> dict[str, object]:
    return {
        "lots": (table.lot_ids, table._lot_values, list(table._lot_file), list(table._lot_line), table.index),
        "columns": [(key, col.material, col.attribute, list(col.lot), [round(v, 12) if v == v else "nan"
                     for v in col.value], list(col.censor), list(col.word), list(col.method),
                     list(col.line), list(col.file), list(col.unit), sorted(col.units))
                    for key, col in table._columns.items()],
        "methods": table.methods,
        "units": table.units,
        "rows": table.rows,
    }


def make_lots_csv(rng: random.Random, n_lots: int, messy: bool) -> str:
    lines = [",".join(HEADER)]
    for k in range(n_lots):
        lot = {"lot_id": f"L{k:04d}", "material": rng.choice(["drug_product", "drug_product", "vector"]),
               "use": rng.choice(["phase_2", "commercial", "ppq"]), "process_version": "v2",
               "site": rng.choice(["SITE-A", "SITE-B"]), "manufacture_date": f"2025-01-{1 + k % 28:02d}",
               "disposition": rng.choice(["released", "rejected", ""])}
        attrs = ATTRS if not messy or rng.random() < 0.7 else rng.sample(ATTRS, 3)
        for name, gen, unit, method in attrs:
            row = dict(lot, attribute=name, value=gen(rng), unit=unit, method=method)
            if messy:
                roll = rng.random()
                if roll < 0.01:
                    row["site"] = "SITE-Z"  # a lot-level conflict
                elif roll < 0.02:
                    row["use"] = "phase_9"
                elif roll < 0.03:
                    row["value"] = "lots"
                elif roll < 0.04:
                    row["lot_id"] = " " + row["lot_id"]  # whitespace around a lot id
                elif roll < 0.05:
                    row["attribute"] = ""
            lines.append(",".join(row[c] for c in HEADER))
            if messy and rng.random() < 0.01:
                lines.append(rng.choice(["", "  ", "a,b", lines[-1] + ",extra"]))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("block", [64, 700, 1 << 16])
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("messy", [False, True])
def test_columnar_path_equals_row_by_row(monkeypatch: pytest.MonkeyPatch, block: int, seed: int,
                                         messy: bool) -> None:
    monkeypatch.setattr(L, "BLOCK_CHARS", block)
    text = make_lots_csv(random.Random(seed), 60, messy)
    fast, fast_problems = columnar(text)
    ref, ref_problems = row_by_row(text)
    assert fast_problems == ref_problems
    assert state(fast) == state(ref)
    if not messy:
        assert not fast_problems and fast.rows == 60 * len(ATTRS)


@pytest.mark.parametrize("variant", ["crlf", "quotes", "no_final_newline", "semicolon", "shuffled",
                                     "lone_cr", "interleaved_attributes", "long_field"])
def test_file_variants_read_as_row_by_row(monkeypatch: pytest.MonkeyPatch, variant: str) -> None:
    monkeypatch.setattr(L, "BLOCK_CHARS", 300)
    text = make_lots_csv(random.Random(7), 25, messy=False)
    lines = text.splitlines()
    if variant == "crlf":
        text = "\r\n".join(lines) + "\r\n"
    elif variant == "quotes":
        lines[40] = lines[40].replace("M-VIAB", '"M-VIAB, v2"')
        lines[41] = lines[41].replace("pg/mL", '"pg/\nmL"')
        text = "\n".join(lines) + "\n"
    elif variant == "no_final_newline":
        text = "\n".join(lines)
    elif variant == "semicolon":
        text = "\n".join(line.replace(",", ";") for line in lines) + "\n"
    elif variant == "shuffled":
        body = lines[1:]
        random.Random(3).shuffle(body)
        text = "\n".join([lines[0], *body]) + "\n"
    elif variant == "lone_cr":
        text = "\n".join(lines[:30]) + "\r" + "\n".join(lines[30:]) + "\n"
    elif variant == "interleaved_attributes":
        body = sorted(lines[1:], key=lambda line: line.split(",")[6])
        text = "\n".join([lines[0], *body]) + "\n"
    elif variant == "long_field":
        lines[20] = lines[20].replace("M-POT", "M" * (L.MAX_FIELD + 5))
        text = "\n".join(lines) + "\n"
    fast, fast_problems = columnar(text)
    ref, ref_problems = row_by_row(text)
    assert fast_problems == ref_problems
    assert state(fast) == state(ref)


def test_second_file_continues_lots_of_the_first() -> None:
    text = make_lots_csv(random.Random(5), 10, messy=False)
    table, problems = L.LotTable(), []
    L.read_lots_csv(io.StringIO(text, newline=""), "lots/a.csv", table, problems)
    lines = text.splitlines()
    conflicting = lines[0] + "\n" + lines[1].replace("SITE-A", "SITE-Q").replace("SITE-B", "SITE-Q") + "\n"
    L.read_lots_csv(io.StringIO(conflicting, newline=""), "lots/b.csv", table, problems)
    assert len(problems) == 1 and "lot-level columns must agree" in problems[0].message
    assert "lots/a.csv line 2" in problems[0].message


@pytest.mark.parametrize("shuffle", [False, True])
def test_clean_file_never_takes_the_row_by_row_path(monkeypatch: pytest.MonkeyPatch, shuffle: bool) -> None:
    monkeypatch.setattr(L, "BLOCK_CHARS", 500)
    calls = []
    monkeypatch.setattr(L._LotReader, "add_row", lambda self, row, line: calls.append(line))
    lines = make_lots_csv(random.Random(11), 40, messy=False).splitlines()
    body = lines[1:]
    if shuffle:
        random.Random(1).shuffle(body)
    table, problems = columnar("\n".join([lines[0], *body]) + "\n")
    assert calls == [] and problems == [] and table.rows == 40 * len(ATTRS)
