"""The Excel workbook report: its sheets read back, text kept as text, reproducible bytes."""

from __future__ import annotations

import io
import statistics
import sys
import zipfile
from pathlib import Path

import pytest

from cmcflex.cli import app
from cmcflex.outputs import OutputError, write_output
from cmcflex.report.model import Report
from tests.report.sample import RulesRunner, sample_dossier

pytest.importorskip("xlsxwriter")
openpyxl = pytest.importorskip("openpyxl")

from cmcflex.report.xlsx import render  # noqa: E402  after the extras it needs are found

runner = RulesRunner()
SHEETS = ["Summary", "Findings", "Waived", "Not evaluated", "Rules", "Lot statistics"]


def _book(data: bytes):  # type: ignore[no-untyped-def]
    return openpyxl.load_workbook(io.BytesIO(data))


def _rows(sheet) -> list[tuple]:  # type: ignore[no-untyped-def]
    return list(sheet.iter_rows(values_only=True))


def test_the_workbook_has_every_sheet_with_frozen_filtered_headers(report: Report) -> None:
    book = _book(render(report))
    assert book.sheetnames == SHEETS
    for name in SHEETS[1:]:
        sheet = book[name]
        assert sheet.freeze_panes == "A2", name
        assert sheet.auto_filter.ref is not None and sheet.auto_filter.ref.startswith("A1:"), name
        assert all(sheet.column_dimensions[c].width for c in "ABC"), name
    findings = _rows(book["Findings"])
    assert findings[0][:4] == ("Rule", "Severity", "Area", "CTD section")
    assert book["Findings"].auto_filter.ref == f"A1:L{len(report.findings) + 1}"
    assert [(r[0], r[1], r[5]) for r in findings[1:]] == [(f.rule, f.severity.value, f.message)
                                                         for f in report.findings]
    waived = _rows(book["Waived"])
    assert [r[0] for r in waived[1:]] == [f.rule for f in report.waived] and report.waived
    justification = report.waived[0].waiver_justification  # holds an escape sequence (ESC [31m)
    assert waived[1][12] == justification.replace("\x1b", "\ufffd") and "\x1b" in justification
    not_evaluated = [r[0] for r in _rows(book["Not evaluated"])[1:]]
    assert [n.rule for n in report.not_evaluated] == not_evaluated[: len(report.not_evaluated)]


def test_severities_are_coloured_and_the_summary_counts_by_area(report: Report) -> None:
    book = _book(render(report))
    sheet = book["Findings"]
    fills = {sheet.cell(row=i, column=2).value: sheet.cell(row=i, column=2).fill.fgColor.rgb
             for i in range(2, sheet.max_row + 1)}
    assert fills["major"].endswith("F4B084") and fills["minor"].endswith("FFE699")
    assert fills["info"].endswith("DDEBF7")
    summary = {r[0]: r[1:] for r in _rows(book["Summary"]) if r[0]}
    assert summary["Verdict"][0] == report.verdict
    assert summary["Rule set"][0] == report.tool.ruleset
    gmp = summary["GMP"]  # Area, Title, blocker, major, minor, info, Total
    assert gmp[1:6] == (0, 1, 0, 0, 1)  # GMP-003 major; GMP-002 is waived
    assert summary["SPEC"][1:6] == (0, 0, 1, 1, 2) and summary["Waived"][0] == 1
    hashes = {r[1] for r in _rows(book["Summary"]) if r[0] in {i.file for i in report.inputs}}
    assert hashes == {i.sha256 for i in report.inputs}


def test_text_that_looks_like_a_formula_stays_text(report: Report) -> None:
    hostile = ["=HYPERLINK(\"http://x\",\"y\")", "+1+2", "-3", "@SUM(A1)", "=1+1", "-A1"]
    findings = [f.model_copy(update={"message": text, "record": hostile[-1 - i]})
                for i, (f, text) in enumerate(zip(report.findings, hostile))]
    assert len(findings) == 3
    book = _book(render(report.model_copy(update={"findings": findings})))
    rows = list(book["Findings"].iter_rows(min_row=2, max_row=len(findings) + 1))
    cells = [row[5] for row in rows] + [row[8] for row in rows]
    assert [c.value for c in cells] == hostile[:3] + hostile[::-1][:3]
    assert {c.data_type for c in cells} == {"s"}
    with zipfile.ZipFile(io.BytesIO(render(report.model_copy(update={"findings": findings})))) as z:
        assert not any("<f>" in z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))


def test_lot_statistics_cover_every_result(report: Report, sample_path: Path) -> None:
    rows = {r[1]: r for r in _rows(_book(render(report))["Lot statistics"])[1:]}
    viability = [82.0, 91.5, 64.0]  # tests/report/sample.py
    _, _, _, criterion, n, mean, sd, low, high, _, lots, outside = rows["viability"]
    assert (n, low, high, lots, outside) == (3, 64.0, 91.5, 3, 1)
    assert mean == pytest.approx(statistics.mean(viability)) and sd == pytest.approx(statistics.stdev(viability))
    assert criterion == ">= 70" and rows["endotoxin"][9] == 1  # "<0.5" is censored, not averaged
    assert rows["endotoxin"][4] == 2 and rows["endotoxin"][11] == 0


def test_the_same_report_gives_the_same_bytes(report: Report) -> None:
    first = render(report)
    assert render(report) == first
    later = render(report.model_copy(update={"generated_at": "2026-11-26T00:00:00Z"}))
    assert later != first  # the one timestamp: when the report was made
    assert str(_book(first).properties.created) == "2026-11-25 10:20:30"


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("CMCFLEX_FAIL_ON", "CMCFLEX_SELECT", "CMCFLEX_IGNORE", "CMCFLEX_SEVERITY",
                 "CMCFLEX_WAIVERS", "CMCFLEX_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1790000000")
    monkeypatch.chdir(tmp_path)
    sample_dossier(tmp_path / "dossier")
    return tmp_path


def _check(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["check", "dossier", "--as-of", "2026-11-25", "--no-config", *args])


def test_the_command_line_writes_reproducible_workbooks(work: Path) -> None:
    assert _check("-o", "xlsx:a.xlsx").exit_code == 1
    assert _check("-o", "b.xlsx").exit_code == 1  # the format follows the extension
    assert _check("--format", "xlsx", "-o", "c.xlsx").exit_code == 1
    data = Path("a.xlsx").read_bytes()
    assert data[:2] == b"PK" and Path("b.xlsx").read_bytes() == data == Path("c.xlsx").read_bytes()


def test_a_workbook_is_never_written_to_a_terminal(tmp_path: Path) -> None:
    class Terminal(io.TextIOWrapper):
        def isatty(self) -> bool:
            return True

    terminal = Terminal(io.BytesIO())
    with pytest.raises(OutputError, match="never written to a terminal"):
        import cmcflex.outputs

        original = sys.stdout
        sys.stdout = terminal
        try:
            cmcflex.outputs.write_output(Path("-"), b"PK")
        finally:
            sys.stdout = original
    piped = tmp_path / "piped.xlsx"
    write_output(piped, b"PK\x03\x04")
    assert piped.read_bytes() == b"PK\x03\x04"


def test_without_the_extra_the_error_names_it(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "xlsxwriter", None)  # import fails as if not installed
    result = _check("-o", "xlsx:report.xlsx")
    assert result.exit_code == 2
    assert "cmcflex[excel]" in result.output
    assert not Path("report.xlsx").exists()


def test_lots_outside_count_censored_results_only_where_they_are_certain() -> None:
    import io

    from cmcflex.dossier.criteria import NumericCriterion
    from cmcflex.dossier.lots import LotTable, read_lots_csv
    from cmcflex.report.series import summarize

    #  L-0: 6.0 (out), L-1: <1.0, L-2: >9 (out), L-3: <8 (cannot tell), L-0 again: 2.0
    text = "lot_id,material,use,attribute,value\n" + "".join(
        f"{lot},drug_product,phase_1,endotoxin,{value}\n"
        for lot, value in (("L-0", "6.0"), ("L-1", "<1.0"), ("L-2", ">9"), ("L-3", "<8"), ("L-0", "2.0")))
    table, problems = LotTable(), []
    read_lots_csv(io.StringIO(text), "lots.csv", table, problems)
    assert problems == []
    summary = summarize(table, "drug_product", "endotoxin", NumericCriterion(max=5.0))
    assert (summary.n, summary.min, summary.max, summary.censored, summary.lots, summary.outside) == \
        (2, 2.0, 6.0, 3, 4, 2)
    assert summary.mean == 4.0
