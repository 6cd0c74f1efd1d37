"""Report files on disk: ordinary permissions, and the format of a bare ``-o FILE`` from its name."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cmcflex.cli import app, write_atomic
from tests.report.sample import RULES, sample_dossier

runner = CliRunner()


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import cmcflex.rules

    monkeypatch.setattr(cmcflex.rules, "REGISTRY", RULES)
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


def test_a_prefix_names_the_format_and_a_file_without_extension_follows_the_format_option(work: Path) -> None:
    result = _check("-f", "markdown", "-o", "json:out/data.v1", "-o", "out/notes")
    assert result.exit_code == 1, result.output
    assert json.loads(Path("out/data.v1").read_text())["verdict"] == "fail"  # the prefix wins
    assert Path("out/notes").read_text().startswith("## cmcflex:")  # no extension: --format


def test_no_format_is_written_under_another_formats_extension(work: Path) -> None:
    for spec, message in (("json:out/as-json.md", "has the extension of markdown, not json"),
                          ("out/notes.rtf", "the extension .rtf names no format")):
        result = _check("-f", "markdown", "-o", spec)
        assert result.exit_code == 2 and message in result.output
        assert not Path(spec.partition(":")[2] or spec).exists()
