"""The one format table drives the CLI choices, extension guessing, portfolio names and the registry."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from cmcflex.cli import ReportFormatOpt
from cmcflex.report.formats import (
    BINARY,
    FORMATS,
    NAMES,
    OUTPUT_EXTENSIONS,
    SERIES,
    SUFFIXES,
    TABLE,
    TEXT_EXTENSIONS,
    extension_format,
)


def test_every_row_names_a_renderer_and_the_cli_offers_exactly_the_table() -> None:
    assert [o.value for o in ReportFormatOpt] == list(NAMES) == [f.name for f in TABLE]
    for f in TABLE:
        module = f.module
        if f.name not in ("pdf", "xlsx"):  # their modules import optional extras on first use only
            assert callable(importlib.import_module(module).render)
        assert FORMATS[f.name] == module
        assert all(e.startswith(".") and e == e.lower() for e in f.extensions)
        assert SUFFIXES[f.name] == f.suffix
        # its files guess back to it, or are plain text that --format names
        assert f".{f.suffix}" in f.extensions or (not f.extensions and f".{f.suffix}" in TEXT_EXTENSIONS)


def test_binary_formats_and_extensions_come_from_the_table() -> None:
    assert BINARY == {"pdf", "xlsx"}
    assert {fmt for _, fmt in OUTPUT_EXTENSIONS} == {f.name for f in TABLE if f.extensions}
    lengths = [len(ext) for ext, _ in OUTPUT_EXTENSIONS]
    assert lengths == sorted(lengths, reverse=True)  # .sarif.json is tried before .json


def test_an_extension_names_its_format_by_the_longest_known_ending() -> None:
    assert extension_format("dir.json/report.sarif.json") == "sarif"
    assert extension_format("REPORT.Json") == "json"
    assert extension_format("report.xlsx") == "xlsx" and extension_format("report.pdf") == "pdf"
    assert extension_format("notes.txt") is None and extension_format("report") is None


def test_formats_that_show_the_lot_series_are_marked() -> None:
    """A renderer that reads ``lot_series`` (or the pdf, which prints the html) must have its
    report built with them; the json holds the whole report."""
    import importlib.util

    for f in TABLE:
        spec = importlib.util.find_spec(f.module)
        assert spec is not None and spec.origin is not None
        reads = "lot_series" in Path(spec.origin).read_text(encoding="utf-8")
        assert f.series == (reads or f.name in ("json", "pdf")), f.name
    assert SERIES == {"json", "html", "pdf", "xlsx"}


def test_a_report_for_formats_without_series_skips_them_and_json_still_has_them(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    import cmcflex.api
    from cmcflex.cli import app

    sample = str(Path(__file__).resolve().parents[2] / "sample_dossiers" / "aav-bla")
    args = ["check", sample, "--as-of", "2026-11-25"]
    runner = CliRunner()
    full = json.loads(runner.invoke(app, [*args, "-f", "json"]).stdout)
    assert full["lot_series"]
    console = runner.invoke(app, [*args, "-o", f"markdown:{tmp_path / 'summary.md'}"]).stdout
    real = cmcflex.api.lot_series
    monkeypatch.setattr(cmcflex.api, "lot_series", lambda views: pytest.fail("series built for formats without them"))
    assert runner.invoke(app, [*args, "-o", f"markdown:{tmp_path / 'again.md'}"]).stdout == console
    assert (tmp_path / "again.md").read_text() == (tmp_path / "summary.md").read_text()
    for fmt in ("sarif", "junit", "github"):
        assert runner.invoke(app, [*args, "-f", fmt]).exit_code == 1
    monkeypatch.setattr(cmcflex.api, "lot_series", real)
    assert runner.invoke(app, [*args, "-o", f"json:{tmp_path / 'r.json'}"]).stdout == console
    written = json.loads((tmp_path / "r.json").read_text())
    assert written["lot_series"] == full["lot_series"]
