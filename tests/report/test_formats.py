"""The one format table drives the CLI choices, extension guessing, portfolio names and the registry."""

from __future__ import annotations

import importlib

from cmcflex.cli import ReportFormatOpt
from cmcflex.report.formats import (
    BINARY,
    FORMATS,
    NAMES,
    OUTPUT_EXTENSIONS,
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
