"""The one format table drives the CLI choices, extension guessing, portfolio names and the registry."""

from __future__ import annotations

import importlib

import pytest

from cmcflex.cli import ReportFormatOpt
from cmcflex.report.formats import (
    FORMATS,
    NAMES,
    SUFFIXES,
    TABLE,
    FormatError,
    named_by,
    output_format,
)


def test_every_row_names_a_renderer_and_the_cli_offers_exactly_the_table() -> None:
    assert [o.value for o in ReportFormatOpt] == list(NAMES) == [f.name for f in TABLE]
    for f in TABLE:
        assert callable(importlib.import_module(f.module).render) and FORMATS[f.name] == f.module
        assert all(e.startswith(".") and e == e.lower() for e in f.extensions)
        assert SUFFIXES[f.name] == f.suffix and f".{f.suffix}" in f.extensions  # its files guess back to it


def test_an_extension_names_the_format_of_its_longest_known_ending() -> None:
    assert named_by("dir.json/report.sarif.json") == ("sarif",)
    assert named_by("REPORT.Json") == ("json",)
    assert named_by("notes.txt") == ("console", "github")
    assert named_by("report.pdf") == named_by("report") == named_by(".json") == ()


def test_output_format_never_writes_one_format_under_anothers_extension() -> None:
    assert output_format("a.xml", None, "json") == "junit"
    assert output_format("a.txt", None, "github") == "github" and output_format("a.txt", None, "json") == "console"
    assert output_format("a", None, "markdown") == "markdown" and output_format("-", None, "json") == "json"
    assert output_format("a.v2", "json", "console") == "json"  # named, and no other format's extension
    for path, named in (("a.xml", "json"), ("a.json", "sarif"), ("a.sarif.json", "json"), ("a.pdf", None)):
        with pytest.raises(FormatError, match="json \\(.json\\)"):  # the message lists the formats
            output_format(path, named, "console")
