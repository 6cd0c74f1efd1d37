"""Report files on disk: ordinary permissions, and the format of a bare ``-o FILE`` from its name."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from cmcflex.cli import app, write_atomic
from tests.report.sample import RulesRunner, sample_dossier

runner = RulesRunner()


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("CMCFLEX_FAIL_ON", "CMCFLEX_SELECT", "CMCFLEX_IGNORE", "CMCFLEX_SEVERITY",
                 "CMCFLEX_WAIVERS", "CMCFLEX_CONFIG", "SOURCE_DATE_EPOCH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    sample_dossier(tmp_path / "dossier")
    return tmp_path


def _check(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["check", "dossier", "--as-of", "2026-11-25", "--no-config", *args])


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_report_files_get_the_mode_of_ordinary_files(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cmcflex.outputs

    mask = os.umask(0o022)
    try:
        monkeypatch.setattr(cmcflex.outputs, "_FILE_MODE", None)
        assert _check("-o", "json:out/report.json").exit_code == 1
        assert stat.S_IMODE(os.stat("out/report.json").st_mode) == 0o644  # not mkstemp's 0600
        os.umask(0o027)
        monkeypatch.setattr(cmcflex.outputs, "_FILE_MODE", None)
        write_atomic(Path("group.txt"), "x")
        assert stat.S_IMODE(os.stat("group.txt").st_mode) == 0o640
        assert not [p for p in Path(".").iterdir() if p.name.endswith(".tmp")]
    finally:
        os.umask(mask)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_output_dir_reports_get_the_mode_of_ordinary_files(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cmcflex.outputs

    sample_dossier(work / "more" / "a")
    sample_dossier(work / "more" / "b")
    mask = os.umask(0o002)
    try:
        monkeypatch.setattr(cmcflex.outputs, "_FILE_MODE", None)
        result = runner.invoke(app, ["check", "more", "--output-dir", "reports", "-f", "json",
                                     "--as-of", "2026-11-25", "--no-config"])
        assert result.exit_code == 1, result.output
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in Path("reports").iterdir()}
        assert modes == {"a.json": 0o664, "b.json": 0o664}
    finally:
        os.umask(mask)


def test_bare_output_takes_its_format_from_the_extension(work: Path) -> None:
    files = ["r.json", "r.sarif", "r.sarif.json", "junit.xml", "summary.md", "page.HTML", "page.htm", "plain.txt"]
    result = _check(*[a for f in files for a in ("-o", f"out/{f}")])
    assert result.exit_code == 1, result.output
    out = Path("out")
    assert json.loads((out / "r.json").read_text())["verdict"] == "fail"
    for name in ("r.sarif", "r.sarif.json"):
        assert json.loads((out / name).read_text())["version"] == "2.1.0"
    assert (out / "junit.xml").read_text().startswith('<?xml version="1.0"')
    assert (out / "summary.md").read_text().startswith("## cmcflex:")
    assert all((out / n).read_text().startswith("<!DOCTYPE html>") for n in ("page.HTML", "page.htm"))
    assert "GMP-003" in (out / "plain.txt").read_text() and not (out / "plain.txt").read_text().startswith("{")
    assert "GMP-003" in result.output  # the console report still prints


def test_prefix_and_plain_text_names_follow_the_format_option(work: Path) -> None:
    result = _check("-f", "markdown", "-o", "json:out/as-json.txt", "-o", "out/notes.txt", "-o", "out/NOTES",
                    "-o", "sarif:out/x.json")
    assert result.exit_code == 1, result.output
    assert json.loads(Path("out/as-json.txt").read_text())["verdict"] == "fail"  # the prefix wins
    for name in ("notes.txt", "NOTES"):  # a plain-text name, or none: --format
        assert Path("out", name).read_text().startswith("## cmcflex:")
    assert json.loads(Path("out/x.json").read_text())["version"] == "2.1.0"  # SARIF is JSON


@pytest.mark.parametrize("args, message", [
    (("-o", "out/report.docx"), "no format under the extension '.docx'"),  # was: console text named .docx
    (("-o", "out/report.csv"), "no format under the extension '.csv'"),
    (("-o", "out/report.docx"), "no format under the extension '.docx'"),
    (("-o", "json:out/report.md"), "would write json under the extension of markdown"),
    (("-o", "html:out/report.pdf"), "would write html under the extension of pdf"),
    (("-o", "markdown:out/report.xlsx"), "would write markdown under the extension of xlsx"),
    (("-o", "pdf:out/report.txt"), "a pdf file is named *.pdf"),
    (("-f", "pdf", "-o", "out/notes.txt"), "a pdf file is named *.pdf"),
    (("-o", "docx:out/report.docx"), "unknown output format 'docx'"),
])
def test_no_format_is_written_under_another_format_extension(work: Path, args: tuple[str, ...], message: str) -> None:
    result = _check(*args, "-o", "out/first.json")
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "formats: console, github, html, json, junit, markdown, pdf, sarif, xlsx" in result.output
    assert not Path("out").exists()  # a usage error writes nothing, not even the other outputs


def test_a_prefix_with_an_extension_no_format_uses_writes_that_format(work: Path) -> None:
    result = _check("-f", "markdown", "-o", "json:out/data.v1", "-o", "out/notes")
    assert result.exit_code == 1, result.output
    assert json.loads(Path("out/data.v1").read_text())["verdict"] == "fail"  # the prefix wins
    assert Path("out/notes").read_text().startswith("## cmcflex:")  # no extension: --format
