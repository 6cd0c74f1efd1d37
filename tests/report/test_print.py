"""The printed report: print rules and sign-off block in the HTML, its layout printed by a real
headless browser, and the PDF written by ``-o pdf:FILE`` (read back with pypdf).

Browser and PDF tests skip cleanly where Chromium, WeasyPrint or its Pango library are missing.
"""

from __future__ import annotations

import builtins
import json
import re
import shutil
import subprocess
import unicodedata
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cmcflex import __version__
from cmcflex.cli import app

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_dossiers" / "cart-phase2"  # real rules, findings in every area, lot charts
ARGS = ["--as-of", "2026-11-25", "--no-config"]
SEVERITY_BADGE = re.compile(r"\b(?:BLOCKER|MAJOR|MINOR|INFO)\s+([A-Z]+-\d{3})\b")
CHART_CAPTION = re.compile(r"[\w.-]+ / [\w.-]+ criterion ")
CHART_AXIS = re.compile(r"\d+ lot results? (?:by manufacture date|in file order|in lot-id order)")
runner = CliRunner()


def _check(*args: str) -> Any:
    return runner.invoke(app, ["check", str(SAMPLE), *ARGS, *args])


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The sample's HTML report and, as JSON, what it must contain."""
    folder = tmp_path_factory.mktemp("print")
    result = _check("-o", f"html:{folder / 'report.html'}", "-o", f"json:{folder / 'report.json'}")
    assert result.exit_code == 1, result.output
    return {"html": folder / "report.html", "report": json.loads((folder / "report.json").read_text())}


def _pages(pdf: bytes) -> list[str]:
    pypdf = pytest.importorskip("pypdf")
    # NFKC: the typesetter may draw "fl" as one ligature glyph
    return [" ".join(unicodedata.normalize("NFKC", page.extract_text()).split())
            for page in pypdf.PdfReader(BytesIO(pdf)).pages]


def _assert_printed_layout(pages: list[str], report: dict[str, Any], page_numbers: bool = True) -> None:
    """Running header on every page, every finding present and whole, the sign-off block at the end."""
    assert len(pages) >= 2, "the sample report fills several pages"
    header = [report["dossier"]["product"], report["phase"].replace("_", " "), f"as of {report['as_of']}",
              f"cmcflex {__version__}"]
    for number, text in enumerate(pages, 1):
        assert all(part in text for part in header), f"page {number} lacks the running header: {text[:200]}"
        if page_numbers:
            assert f"Page {number} of {len(pages)}" in text
    everything = " ".join(pages)
    findings = report["findings"] + report["waived"]
    assert findings and all(f["rule"] in everything for f in findings)
    for number, text in enumerate(pages, 1):  # a card begins with its badge and ends with its remedy
        cards = SEVERITY_BADGE.findall(text)
        assert len(cards) == len(re.findall(r"\bremedy\b", text)), f"a finding card is split on page {number}"
    for f in findings:
        tail = " ".join(f["remedy"].split())[-40:]
        holding = [n for n, text in enumerate(pages) if f["rule"] in SEVERITY_BADGE.findall(text) and tail in text]
        assert holding, f"{f['rule']}: its remedy is not on the page of its rule id"
    series = report["lot_series"]
    assert series, "the sample has lot charts"
    for number, text in enumerate(pages, 1):  # a chart begins with its caption and ends with its axis title
        captions = CHART_CAPTION.findall(text)
        assert len(captions) == len(CHART_AXIS.findall(text)), f"a chart is split on page {number}"
    assert sum(len(CHART_CAPTION.findall(text)) for text in pages) == len(series)
    signoff = [n for n, text in enumerate(pages) if "Sign-off" in text]
    assert signoff == [len(pages) - 1], "the sign-off block is on the last page"
    assert all(role in pages[-1] for role in ("Prepared by", "Reviewed by", "Approved by", "Signature", "Date"))


# ---------------------------------------------------------------------------- the HTML


def test_print_rules_and_sign_off_are_in_the_html(rendered: dict[str, Any]) -> None:
    html = rendered["html"].read_text()
    report = rendered["report"]
    assert "@media print{" in html and "@page{" in html and 'counter(page) " of " counter(pages)' in html
    for selector in (".finding,figure", "h1,h2,h3"):
        assert selector in html
    assert "break-inside:avoid" in html and "break-after:avoid" in html
    running = re.search(r'<div class="running">(.*?)</div>', html)
    assert running is not None and f"as of {report['as_of']}" in running.group(1)
    assert f"cmcflex {__version__}" in running.group(1)
    assert html.index('<section class="signoff">') > html.index("<h2>Provenance</h2>")
    assert ".running,.signoff{display:none}" in html  # screen rendering unchanged: both are print-only


def test_running_header_and_sign_off_escape_dossier_text(tmp_path: Path) -> None:
    from tests.report.sample import HOSTILE, RulesRunner, sample_dossier

    sample_dossier(tmp_path / "d", product=f"CAR-T {HOSTILE}")
    result = RulesRunner().invoke(app, ["check", str(tmp_path / "d"), *ARGS, "-o", f"html:{tmp_path / 'r.html'}"])
    assert result.exit_code == 1, result.output
    html = (tmp_path / "r.html").read_text()
    assert "<script>" not in html and html.count("&lt;script&gt;") >= 3  # title, heading, header, sign-off


# ---------------------------------------------------------------------------- a real browser


def _browser() -> str | None:
    return next((p for n in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
                 if (p := shutil.which(n))), None)


def test_printed_layout_in_a_headless_browser(rendered: dict[str, Any], tmp_path: Path) -> None:
    browser = _browser()
    if browser is None:
        pytest.skip("no Chromium or Chrome installed")
    pdf = tmp_path / "printed.pdf"
    version = subprocess.run([browser, "--version"], capture_output=True, text=True, timeout=60, check=False).stdout
    major = int(m.group(1)) if (m := re.search(r"(\d+)\.", version)) else 0
    try:
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                        f"--user-data-dir={tmp_path / 'profile'}", f"--print-to-pdf={pdf}",
                        rendered["html"].as_uri()], capture_output=True, timeout=180, check=False)
    except subprocess.TimeoutExpired:
        pytest.skip("the browser did not finish printing")
    if not pdf.exists():
        pytest.skip("the browser could not print here")
    # page margin boxes (the page numbers) are drawn by Chromium 131 and later
    _assert_printed_layout(_pages(pdf.read_bytes()), rendered["report"], page_numbers=major >= 131)


# ---------------------------------------------------------------------------- the PDF


def _pdf_available() -> bool:
    from cmcflex.report.pdf import PdfUnavailable, require

    try:
        require()
    except PdfUnavailable:
        return False
    return True


needs_pdf = pytest.mark.skipif(not _pdf_available(), reason="WeasyPrint or its Pango library is not installed")


@needs_pdf
def test_pdf_output_is_the_printed_report(rendered: dict[str, Any], tmp_path: Path) -> None:
    result = _check("-o", f"pdf:{tmp_path / 'report.pdf'}", "-o", f"{tmp_path / 'again.pdf'}")
    assert result.exit_code == 1, result.output
    assert "SPEC-012" in result.output  # the console report still prints
    pdf = (tmp_path / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf == (tmp_path / "again.pdf").read_bytes()  # deterministic
    _assert_printed_layout(_pages(pdf), rendered["report"])


@needs_pdf
def test_pdf_from_format_option_goes_to_standard_output_as_bytes() -> None:
    result = _check("-f", "pdf")
    assert result.exit_code == 1
    assert result.stdout_bytes.startswith(b"%PDF-") and result.stdout_bytes.rstrip().endswith(b"%%EOF")


@needs_pdf
def test_pdf_per_dossier_with_output_dir(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", str(SAMPLE), str(ROOT / "sample_dossiers" / "allo-phase1"), *ARGS,
                                 "-f", "pdf", "--output-dir", str(tmp_path / "reports")])
    assert result.exit_code in (0, 1), result.output
    files = sorted(p.name for p in (tmp_path / "reports").iterdir())
    assert files == ["allo-phase1.pdf", "cart-phase2.pdf"]
    assert all((tmp_path / "reports" / f).read_bytes().startswith(b"%PDF-") for f in files)


@needs_pdf
def test_pdf_writer_fetches_nothing(tmp_path: Path) -> None:
    import weasyprint
    from PIL import Image

    from cmcflex.report.pdf import _no_fetching

    Image.new("RGB", (8, 8), "red").save(tmp_path / "canary.png")
    page = f'<p>text<img src="{(tmp_path / "canary.png").as_uri()}"></p>'
    fetched = weasyprint.HTML(string=page).write_pdf()
    refused = weasyprint.HTML(string=page, url_fetcher=_no_fetching(weasyprint)).write_pdf()
    pypdf = pytest.importorskip("pypdf")
    images = [len(pypdf.PdfReader(BytesIO(pdf)).pages[0].images) for pdf in (fetched, refused)]
    assert images == [1, 0]  # the same page loads the image by default, nothing through cmcflex's fetcher


@pytest.mark.parametrize("error, message", [
    (ImportError("No module named 'weasyprint'"),
     'optional extra cmcflex[pdf] (WeasyPrint): pip install ".[pdf]" in the cmcflex sources'),
    (OSError("cannot load library 'libpango-1.0-0'"), "needs the Pango system library"),
])
def test_pdf_without_weasyprint_or_pango_is_a_usage_error(
        error: Exception, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def missing(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "weasyprint" or name.startswith("weasyprint."):
            raise error
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(__import__("sys").modules, "weasyprint", raising=False)
    monkeypatch.setattr(builtins, "__import__", missing)
    result = _check("-o", f"pdf:{tmp_path / 'report.pdf'}")
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert not list(tmp_path.iterdir())  # failed before any work: nothing written


def test_binary_formats_are_not_written_to_a_terminal(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    import typer

    from cmcflex import cli

    class Terminal:
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(cli.sys, "stdout", Terminal())
    cli._require_formats({"json"}, to_stdout={"json"})  # text may go to a terminal
    with pytest.raises(typer.Exit) as exit_:
        cli._require_formats(set(), to_stdout={"pdf"})
    assert exit_.value.exit_code == 2
    assert "pdf is binary data, not for a terminal; use --output pdf:FILE" in capsys.readouterr().err
