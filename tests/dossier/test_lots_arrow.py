"""The Arrow fast path builds exactly the exact reader's table, or declines and changes nothing."""

from __future__ import annotations

import hashlib
import random
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("pyarrow")
pytest.importorskip("numpy")

from cmcflex.dossier import loader  # noqa: E402
from cmcflex.dossier import lots as L  # noqa: E402
from cmcflex.dossier.errors import DossierError  # noqa: E402
from cmcflex.dossier.ids import visible  # noqa: E402
from cmcflex.dossier.lots_arrow import read_lots_fast  # noqa: E402
from tests.dossier.test_lots_reader import ATTRS, HEADER, columnar, make_lots_csv, state  # noqa: E402

SAMPLES = Path(__file__).resolve().parents[2] / "sample_dossiers"
EMPTY = state(L.LotTable())


def fast(text: str | bytes, file: str = "lots.csv", table: L.LotTable | None = None) -> tuple[bool, L.LotTable]:
    """Run the fast path on a file holding ``text``: (taken, table)."""
    table = L.LotTable() if table is None else table
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "lots.csv"
        path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
        digest = read_lots_fast(path, file, table)
        if digest is not None:
            assert digest == (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_size)
    return digest is not None, table


def assert_same_or_declined(text: str) -> bool:
    """The fast path agrees with the exact reader, or declines; True when it took the file."""
    taken, table = fast(text)
    exact, problems = columnar(text)
    if problems:
        assert not taken, "a file with problems to report must go to the exact reader"
    if taken:
        assert state(table) == state(exact)
    else:
        assert state(table) == EMPTY
    return taken


@pytest.mark.parametrize("seed", range(8))
def test_clean_files_are_taken_and_match(seed: int) -> None:
    text = make_lots_csv(random.Random(seed), 80, messy=False)
    assert assert_same_or_declined(text)


@pytest.mark.parametrize("seed", range(12))
def test_messy_files_match_or_are_declined(seed: int) -> None:
    text = make_lots_csv(random.Random(100 + seed), 80, messy=True)
    assert_same_or_declined(text)


@pytest.mark.parametrize("variant", ["crlf", "bom", "semicolon", "no_final_newline", "trailing_blank_lines",
                                     "trailing_whitespace_lines",
                                     "shuffled", "interleaved_attributes", "no_optional_columns"])
def test_variants_the_fast_path_takes(variant: str) -> None:
    lines = make_lots_csv(random.Random(7), 30, messy=False).splitlines()
    text = "\n".join(lines) + "\n"
    if variant == "crlf":
        text = "\r\n".join(lines) + "\r\n"
    elif variant == "bom":
        text = "\ufeff" + text
    elif variant == "semicolon":
        text = "\n".join(line.replace(",", ";") for line in lines) + "\n"
    elif variant == "no_final_newline":
        text = "\n".join(lines)
    elif variant == "trailing_blank_lines":
        text += "\n\r\n\n"
    elif variant == "trailing_whitespace_lines":
        text += "  \n\n\t\n "
    elif variant == "shuffled":
        body = lines[1:]
        random.Random(3).shuffle(body)
        text = "\n".join([lines[0], *body]) + "\n"
    elif variant == "interleaved_attributes":
        text = "\n".join([lines[0], *sorted(lines[1:], key=lambda line: line.split(",")[6])]) + "\n"
    elif variant == "no_optional_columns":
        keep = [HEADER.index(c) for c in L.REQUIRED]
        text = "\n".join(",".join(line.split(",")[j] for j in keep) for line in lines) + "\n"
    assert assert_same_or_declined(text)


def _edit(old: str, new: str, header: bool = False) -> str:
    """A clean file with one change: in the header, or in the first row from line 12 holding ``old``."""
    lines = make_lots_csv(random.Random(9), 20, messy=False).splitlines()
    at = 0 if header else next(k for k in range(11, len(lines)) if old in lines[k])
    assert old in lines[at]
    lines[at] = lines[at].replace(old, new, 1)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("text", [
    pytest.param(_edit("M-VIAB", '"M-VIAB, v2"'), id="quotes"),
    pytest.param(_edit("M-VIAB", "M-VIAB\rX"), id="lone-carriage-return"),
    pytest.param(_edit("SITE-", "\nSITE-"), id="line-break-inside-a-row"),
    pytest.param(_edit("released", "released\n"), id="blank-line-inside"),
    pytest.param(_edit("released", "released\n  "), id="whitespace-line-inside"),
    pytest.param(_edit("released", "released\n  ") + "\n", id="whitespace-line-inside-blank-line-at-end"),
    pytest.param(_edit("L0011", " L0011"), id="space-around-a-lot-id"),
    pytest.param(_edit("viability", "viability "), id="space-around-an-attribute"),
    pytest.param(_edit("2025-01-", "2024-01-"), id="lot-level-disagreement"),
    pytest.param(_edit("L0011,", ","), id="empty-lot-id"),
    pytest.param(_edit(",commercial,", ",phase_9,"), id="unknown-use"),
    pytest.param(_edit("drug_product", ""), id="empty-material"),
    pytest.param(_edit("M-VIAB", "M" * (L.MAX_FIELD + 1)), id="over-long-field"),
    pytest.param(_edit("lot_id", "lot", header=True), id="missing-required-column"),
    pytest.param(_edit("unit", "site", header=True), id="repeated-column"),
    pytest.param(_edit("M-VIAB", "M-VIAB,extra"), id="extra-field"),
])
def test_what_needs_the_exact_reader_is_declined(text: str) -> None:
    taken, table = fast(text)
    assert not taken and state(table) == EMPTY


@pytest.mark.parametrize("value", ["nan", "inf", "1e999", "lots", "", "<", "1.2.3"])
def test_values_to_report_are_declined(value: str) -> None:
    lines = make_lots_csv(random.Random(4), 10, messy=False).splitlines()
    fields = lines[5].split(",")
    fields[HEADER.index("value")] = value
    lines[5] = ",".join(fields)
    taken, table = fast("\n".join(lines) + "\n")
    assert not taken and state(table) == EMPTY


@pytest.mark.parametrize(("value", "delimiter"), [("1_5", ","), ("1_000.5", ","), ("-1e999", ","),
                                                  ("Infinity", ","), ("6.500", ";"), ("1_5", ";")])
def test_numbers_not_read_as_meant_are_declined_and_reported(value: str, delimiter: str) -> None:
    lines = make_lots_csv(random.Random(4), 10, messy=False).splitlines()
    fields = lines[5].split(",")
    fields[HEADER.index("value")] = value
    lines[5] = ",".join(fields)
    text = "\n".join(line.replace(",", delimiter) for line in lines) + "\n"
    taken, table = fast(text)
    assert not taken and state(table) == EMPTY
    assert [(p.line, p.field) for p in columnar(text)[1]] == [(6, "value")]


@pytest.mark.parametrize("date", ["3/16/2026", "31/12/2025", "2026-02-30", "0000-01-01", "soon", "20260316"])
def test_dates_to_report_are_declined_and_reported(date: str) -> None:
    text = make_lots_csv(random.Random(4), 10, messy=False)
    lot = text.splitlines()[5].split(",")[0]
    old = text.splitlines()[5].split(",")[HEADER.index("manufacture_date")]
    text = "\n".join(line.replace(old, date) if line.startswith(lot + ",") else line
                     for line in text.splitlines()) + "\n"
    taken, table = fast(text)
    assert not taken and state(table) == EMPTY
    problems = columnar(text)[1]
    assert len(problems) == 1 and problems[0].field == "manufacture_date" and "YYYY-MM-DD" in problems[0].message


def test_decimal_commas_of_a_semicolon_file_are_read_the_same_either_way() -> None:
    lines = make_lots_csv(random.Random(9), 20, messy=False).splitlines()
    text = "\n".join(line.replace(",", ";").replace(".", ",") if k else line.replace(",", ";")
                     for k, line in enumerate(lines)) + "\n"
    assert "," in text and assert_same_or_declined(text)
    assert not columnar(text)[1]


def test_a_second_file_goes_to_the_exact_reader() -> None:
    text = make_lots_csv(random.Random(5), 10, messy=False)
    taken, table = fast(text, "lots/a.csv")
    before = state(table)
    assert taken and not fast(text, "lots/b.csv", table)[0]
    assert state(table) == before


NUMBER_TEXT = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(lambda v: f"{v:.6e}"),
    st.integers(0, 30).flatmap(lambda p: st.decimals(allow_nan=False, allow_infinity=False, places=p)).map(str),
    st.from_regex(r"\A[+-]?(\d{1,25}\.?\d{0,25}|\.\d{1,25})([eE][+-]?\d{1,3})?\Z"),
    st.sampled_from(["+1.5", "1.", ".5", "-0", "-0.0", "1_000", " 2.5", "2.5 ", "1E5", "0e0", "00012",
                     "<0.50", "> 1.0E6", "≤ 3", "No growth", "not detected", "CONFORMS"]),
)


@given(st.lists(NUMBER_TEXT, min_size=1, max_size=12))
def test_values_are_read_as_python_reads_them(values: list[str]) -> None:
    rows = [",".join(["L1", "drug_product", "phase_2", "potency", v]) for v in values]
    rows += [",".join([f"L{k + 2}", "drug_product", "phase_2", "potency", "1.0"]) for k in range(2)]
    text = "lot_id,material,use,attribute,value\n" + "\n".join(rows) + "\n"
    if all("," not in v and '"' not in v for v in values):
        assert_same_or_declined(text)


def test_dates_exported_with_their_midnight_are_taken_as_dates() -> None:
    rows = [f"L{k},drug_product,phase_2,{'2026-03-16 00:00:00' if k % 2 else '2026-03-17'},viability,8{k % 10}"
            for k in range(40)]
    text = "lot_id,material,use,manufacture_date,attribute,value\n" + "\n".join(rows) + "\n"
    assert assert_same_or_declined(text)
    _, table = fast(text)
    assert {lot.manufacture_date for lot in table.lots()} == {"2026-03-16", "2026-03-17"}


def test_rows_of_empty_cells_are_skipped_as_the_exact_reader_skips_them(monkeypatch: pytest.MonkeyPatch,
                                                                         tmp_path: Path) -> None:
    dossier, lots, lines = _copy_of_sample(tmp_path)
    empty = "," * lines[0].count(",")
    lots.write_text("\n".join(lines[:5] + [empty] + lines[5:] + [empty, empty]) + "\n", encoding="utf-8")
    _with_fast_path(monkeypatch, True)
    quick = loader.load_dossier(dossier)
    _with_fast_path(monkeypatch, False)
    exact = loader.load_dossier(dossier)
    assert state(quick.lots) == state(exact.lots)
    original = loader.load_dossier(SAMPLES / "cart-phase2")
    assert quick.lots is not None and original.lots is not None
    assert [lot.id for lot in quick.lots.lots()] == [lot.id for lot in original.lots.lots()]
    assert quick.lots.rows == original.lots.rows


def test_values_written_with_a_percent_sign_go_to_the_exact_reader() -> None:
    rows = [f"L{k},drug_product,phase_2,viability,{80 + k % 10}.0%,%" for k in range(40)]
    text = "lot_id,material,use,attribute,value,unit\n" + "\n".join(rows) + "\n"
    assert not assert_same_or_declined(text)  # declined: the exact reader reads them
    exact, problems = columnar(text)
    assert not problems and exact.rows == 40


def test_every_attribute_of_the_reference_generator_round_trips() -> None:
    text = make_lots_csv(random.Random(21), 50, messy=False)
    taken, table = fast(text)
    assert taken and table.rows == 50 * len(ATTRS)
    assert {a for _, a in table._columns} == {name for name, *_ in ATTRS}


# --------------------------------------------------------------------- through the loader

def _copy_of_sample(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    """A copy of sample cart-phase2 to edit: its folder, its lots.csv and that file's lines."""
    dossier = tmp_path / "d"
    shutil.copytree(SAMPLES / "cart-phase2", dossier)
    lots = dossier / "lots.csv"
    return dossier, lots, lots.read_text(encoding="utf-8").splitlines()


def _with_fast_path(monkeypatch: pytest.MonkeyPatch, on: bool) -> None:
    monkeypatch.setattr(loader, "FAST_MIN_BYTES", 0 if on else 1 << 62)


@pytest.mark.parametrize("sample", ["aav-bla", "cart-phase2", "allo-phase1", "cart-ppq-unjustified"])
def test_samples_load_the_same_either_way(monkeypatch: pytest.MonkeyPatch, sample: str) -> None:
    taken = []
    real = read_lots_fast

    def spy(path: Path, file: str, table: L.LotTable) -> object:
        digest = real(path, file, table)
        taken.append(digest is not None)
        return digest

    monkeypatch.setattr("cmcflex.dossier.lots_arrow.read_lots_fast", spy)
    _with_fast_path(monkeypatch, True)
    quick = loader.load_dossier(SAMPLES / sample)
    _with_fast_path(monkeypatch, False)
    exact = loader.load_dossier(SAMPLES / sample)
    assert taken == [True]
    assert state(quick.lots) == state(exact.lots)
    assert quick.inputs == exact.inputs  # the same SHA-256 and size, hashed on the other thread


def test_problems_are_reported_as_the_exact_reader_reports_them(monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path) -> None:
    dossier, lots, lines = _copy_of_sample(tmp_path)
    lines[3] = lines[3].replace(lines[3].split(",")[0], lines[4].split(",")[0] + "X", 1)
    lines[6] = lines[6] + ",extra"
    lots.write_text("\n".join(lines) + "\n", encoding="utf-8")
    reports = []
    for on in (True, False):
        _with_fast_path(monkeypatch, on)
        with pytest.raises(DossierError) as caught:
            loader.load_dossier(dossier)
        reports.append([str(p) for p in caught.value.problems])
    assert reports[0] == reports[1] and any("lots.csv:7:" in p for p in reports[0])


@pytest.mark.parametrize("sample", ["aav-bla", "cart-phase2"])
def test_reports_are_the_same_either_way(monkeypatch: pytest.MonkeyPatch, sample: str) -> None:
    import datetime as dt

    from cmcflex.api import build_report

    reports = []
    for on in (True, False):
        _with_fast_path(monkeypatch, on)
        dossier = loader.load_dossier(SAMPLES / sample)
        report = build_report(dossier, phase=None, target=None, as_of=dt.date(2026, 11, 25), path_label=sample)
        reports.append(report.model_dump(mode="json"))
    assert reports[0] == reports[1] and reports[0]["findings"]


# --------------------------------------------------------------------- lot ids and vocabularies

def _load_both_ways(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str) -> list[object]:
    """The lot table, or the problems, of a dossier with this lots.csv: fast path first, then exact."""
    out: list[object] = []
    for on in (True, False):
        folder = tmp_path / f"d{on}"
        folder.mkdir(parents=True)
        (folder / "dossier.yaml").write_text("cmcflex: 1\nproduct: {name: P, modality: aav}\nphase: phase_1\n")
        (folder / "lots.csv").write_text(text, encoding="utf-8")
        _with_fast_path(monkeypatch, on)
        try:
            out.append(state(loader.load_dossier(folder).lots))
        except DossierError as exc:
            out.append([str(p) for p in exc.problems])
    return out


def _all(text: str, old: str, new: str) -> str:
    return text.replace(old, new)


CLEAN = make_lots_csv(random.Random(7), 30, messy=False)


@pytest.mark.parametrize("text, meant", [
    pytest.param(_all(CLEAN, ",commercial,", ",Commercial,"), CLEAN, id="use-capitalised"),
    pytest.param(_all(CLEAN, ",released", ",RELEASED"), CLEAN, id="disposition-upper-case"),
    pytest.param(_all(CLEAN, ",ppq,", ",PPQ,").replace(",phase_2,", ",Phase_2,"), CLEAN, id="ppq-and-phase"),
    pytest.param(_edit("released", "Released"), _edit("released", "released"), id="one-row-of-a-lot-in-another-case"),
])
def test_case_variants_of_controlled_values_read_the_same_either_way(monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path, text: str, meant: str) -> None:
    assert text != meant
    quick, exact = _load_both_ways(monkeypatch, tmp_path, text)
    assert isinstance(exact, dict) and quick == exact == _load_both_ways(monkeypatch, tmp_path / "meant", meant)[1]


@pytest.mark.parametrize("text, bad, says", [
    pytest.param(_all(CLEAN, ",commercial,", ",comercial,"), "comercial", "(did you mean 'commercial'?)",
                 id="misspelt-use"),
    pytest.param(_all(CLEAN, "L0003,", "L0003\u200b,"), "L0003\u200b", "holds an invisible or control character",
                 id="zero-width-space-in-a-lot-id"),
    pytest.param(_all(CLEAN, "L0004,", "L\u00a00004,"), "L\u00a00004", "holds an invisible or control character",
                 id="no-break-space-in-a-lot-id"),
])
def test_bad_ids_and_values_are_reported_once_the_same_either_way(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                                 text: str, bad: str, says: str) -> None:
    quick, exact = _load_both_ways(monkeypatch, tmp_path, text)
    assert quick == exact and isinstance(exact, list)
    hits = [p for p in exact if f"'{visible(bad)}'" in p]
    assert len(hits) == 1, exact  # one problem per distinct value, however many rows hold it
    rows = text.count(f",{bad},") + text.count(f"\n{bad},")
    assert says in hits[0] and f"({rows} rows, the first here)" in hits[0] and rows > 1


def test_the_fast_path_takes_case_variants_of_controlled_values() -> None:
    assert assert_same_or_declined(_all(CLEAN, ",commercial,", ",Commercial,").replace(",released", ",Released"))


UNIT_SPELLINGS = ["%", "percent", " % ", "", "ng/mL", "pg/mL", "PG/ML", "x10^6 cells", "1E6 cells", "cells", "pct",
                  "ug/mL"]


@pytest.mark.parametrize("seed", range(4))
def test_row_units_are_the_same_on_both_paths(seed: int) -> None:
    """Every row's unit is kept (not the first few per column): both readers number them alike."""
    rng = random.Random(300 + seed)
    lines = make_lots_csv(rng, 60, messy=False).splitlines()
    j = HEADER.index("unit")
    for k in range(1, len(lines)):
        fields = lines[k].split(",")
        fields[j] = rng.choice(UNIT_SPELLINGS)
        lines[k] = ",".join(fields)
    text = "\n".join(lines) + "\n"
    assert assert_same_or_declined(text)
    _, table = fast(text)
    assert set(table.units) == {u.strip() for u in UNIT_SPELLINGS} - {""}  # more than 8, all kept
    for column in table._columns.values():
        assert len(column.unit) == len(column)
        assert column.units == {table.units[c] for c in column.unit if c >= 0}


def test_conversion_and_exclusion_agree_on_both_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Loaded through the fast path or the exact reader, a dossier converts and leaves out the same rows."""
    rows = ["lot_id,material,use,attribute,value,unit"]
    for k in range(40):
        unit = ["pg/mL", "ng/mL", "", "cells"][k % 4]
        rows.append(f"L{k:03d},drug_product,phase_3,potency,{0.5 if unit == 'ng/mL' else 500},{unit}")
    (tmp_path / "lots.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "dossier.yaml").write_text(
        "cmcflex: 1\nproduct: {name: X, modality: car_t_autologous}\nphase: phase_3\n")
    (tmp_path / "specifications.yaml").write_text(
        "specifications:\n  - material: drug_product\n    tests:\n"
        "      - {attribute: potency, unit: pg/mL, criterion: '>= 450'}\n")
    exact = loader.load_dossier(tmp_path)
    from cmcflex.dossier import lots_arrow

    taken: list[object] = []
    real = lots_arrow.read_lots_fast
    monkeypatch.setattr(lots_arrow, "read_lots_fast", lambda *a: taken.append(real(*a)) or taken[-1])
    monkeypatch.setattr(loader, "FAST_MIN_BYTES", 0)  # every lots file through the fast path
    quick = loader.load_dossier(tmp_path)
    assert taken and taken[0] is not None
    assert exact.lots is not None and quick.lots is not None
    assert state(quick.lots) == state(exact.lots)
    assert set(exact.lots.numeric_values("drug_product", "potency")) == {(f"L{k:03d}", 500.0) for k in range(40)
                                                                          if k % 4 != 3}
    assert quick.unit_exclusions == exact.unit_exclusions and len(exact.unit_exclusions[0].rows) == 10


def _row(lot_id: str, method: str) -> str:
    row = {"lot_id": lot_id, "material": "drug_product", "use": "commercial", "process_version": "v2",
           "site": "SITE-A", "manufacture_date": "2025-02-01", "disposition": "released",
           "attribute": "viability", "value": "88.0", "unit": "%", "method": method}
    return ",".join(row[c] for c in HEADER)


def test_utf8_is_checked_beside_the_parse_across_block_boundaries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The scan that hashes the file checks it is UTF-8 (Arrow does not check each value): a
    character split between two of its 1 MiB reads is read whole, a byte that is not UTF-8
    anywhere sends the file to the exact reader."""
    text = make_lots_csv(random.Random(9), 40, messy=False)
    lots = 0
    while len(text.encode()) < (1 << 20) - 400:
        text += _row(f"P{lots:05d}", "M-VIAB") + "\n"
        lots += 1
    before = (text + _row("X0001", "M-")).encode()[:-len(",released")]  # up to the end of the method field
    pad = (1 << 20) - 1 - len(before)  # the two bytes of 'é' end one read and start the next
    straddling = text + _row("X0001", "M-" + "x" * pad + "é") + "\n" + _row("X0002", "M-É") + "\n"
    assert straddling.encode().index("é".encode()) == (1 << 20) - 1
    assert assert_same_or_declined(straddling)
    unraisable: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    taken, _ = fast(straddling.encode()[: (1 << 20)])  # the file ends inside the character, on a short row
    assert not taken
    assert unraisable == []  # pyarrow could not decode that row for the handler: nothing on standard error
    monkeypatch.undo()
    bad = straddling.encode().replace("M-É".encode(), b"M-\xff")
    taken, table = fast(bad)
    assert not taken and state(table) == EMPTY
    taken, _ = fast(make_lots_csv(random.Random(9), 20, messy=False).replace("M-VIAB", "M-VIAB\x80"))
    assert taken  # U+0080 is a character (two bytes), not a stray byte
