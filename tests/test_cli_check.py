"""`cmcflex check` in a pipeline: every format from one run, configuration, waivers, determinism."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cmcflex.cli import app
from tests.report.sample import RULES, RulesRunner, sample_dossier

runner = RulesRunner()
FORMATS = {"json": "report.json", "sarif": "cmcflex.sarif", "junit": "junit.xml", "markdown": "summary.md",
           "html": "report.html", "github": "annotations.txt"}


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Test rules, a clean environment and a working folder without configuration."""
    for name in ("CMCFLEX_FAIL_ON", "CMCFLEX_SELECT", "CMCFLEX_IGNORE", "CMCFLEX_SEVERITY",
                 "CMCFLEX_WAIVERS", "CMCFLEX_CONFIG", "SOURCE_DATE_EPOCH"):
        monkeypatch.delenv(name, raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    sample_dossier(work / "dossier")


def run(*args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["check", "dossier", "--as-of", "2026-11-25", *args], env=env)


def outputs(folder: str) -> list[str]:
    return [arg for fmt, name in FORMATS.items() for arg in ("-o", f"{fmt}:{folder}/{name}")]


def test_all_formats_from_one_run_while_console_prints(shared_dir: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    xmlschema = pytest.importorskip("xmlschema")
    result = run(*outputs("out"))
    assert result.exit_code == 1, result.output
    assert "GMP-003" in result.output and "Waived (1)" in result.output  # console report still printed
    out = Path("out")
    assert sorted(p.name for p in out.iterdir()) == sorted(FORMATS.values())
    sarif = json.loads((out / "cmcflex.sarif").read_text())
    jsonschema.Draft4Validator(json.loads((shared_dir / "schemas/sarif-2.1.0.json").read_text())).validate(sarif)
    xmlschema.XMLSchema(str(shared_dir / "schemas/junit.xsd")).validate(str(out / "junit.xml"))
    report = json.loads((out / "report.json").read_text())
    assert report["verdict"] == "fail" and report["generated_at"].endswith("Z")
    assert (out / "summary.md").read_text().startswith("## cmcflex: ❌ FAIL")
    assert (out / "report.html").read_text().startswith("<!DOCTYPE html>")


def test_byte_identical_apart_from_the_timestamp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert run(*outputs("a")).exit_code == 1
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000000")
    assert run(*outputs("b")).exit_code == 1
    differing = []
    for name in FORMATS.values():
        a, b = Path("a", name).read_bytes(), Path("b", name).read_bytes()
        if a != b:
            differing.append(name)
            stamp = re.compile(rb"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ?")
            assert stamp.sub(b"T", a) == stamp.sub(b"T", b), name
    assert "report.json" in differing  # the timestamp is there...
    assert json.loads(Path("a/report.json").read_text())["generated_at"] == "2023-11-14T22:13:20Z"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert run(*outputs("c")).exit_code == 1
    for name in FORMATS.values():  # ...and a pinned timestamp makes every output byte-identical
        assert Path("a", name).read_bytes() == Path("c", name).read_bytes(), name


def test_report_names_versions_phase_and_input_hashes() -> None:
    result = run("-f", "json")
    report = json.loads(result.stdout)
    assert report["tool"]["version"] and report["tool"]["ruleset"]
    assert report["evaluated_phase"] == "phase_2"
    assert {i["file"] for i in report["inputs"]} == {"dossier.yaml", "lots.csv", "specifications.yaml", "waivers.yaml"}
    assert all(re.fullmatch("[0-9a-f]{64}", i["sha256"]) for i in report["inputs"])


def test_format_to_stdout() -> None:
    result = run("-f", "sarif")
    assert json.loads(result.stdout)["version"] == "2.1.0"
    result = run("-f", "github")
    assert result.stdout.splitlines()[0].startswith("::error title=cmcflex verdict::")


def test_fail_on_from_command_line_environment_and_file() -> None:
    assert run("--fail-on", "blocker").exit_code == 0  # only a major gap is open
    assert run(env={"CMCFLEX_FAIL_ON": "blocker"}).exit_code == 0
    Path("cmcflex.toml").write_text('fail-on = "blocker"\n')
    assert run().exit_code == 0
    assert run(env={"CMCFLEX_FAIL_ON": "major"}).exit_code == 1  # environment beats the file
    assert run("--fail-on", "minor", env={"CMCFLEX_FAIL_ON": "blocker"}).exit_code == 1  # command line beats both
    assert run("--no-config").exit_code == 1


def test_config_selection_and_overrides_shown_in_report() -> None:
    Path("cmcflex.toml").write_text('select = ["GMP", "SPEC"]\nignore = ["GMP-003"]\n[severity]\n"SPEC-005" = "major"\n')
    report = json.loads(run("-f", "json").stdout)
    assert report["rules_evaluated"] == ["GMP-002", "SPEC-005"]
    assert report["severity_overrides"] == {"SPEC-005": "major"}
    overridden = [f for f in report["findings"] if f["rule"] == "SPEC-005"]
    assert {(f["severity"], f["default_severity"]) for f in overridden} == {("major", "minor"), ("major", "info")}
    assert any(i["role"] == "config" and i["file"] == "cmcflex.toml" for i in report["inputs"])
    assert "severity set by configuration" in run().stdout


def test_pyproject_tool_table_is_read() -> None:
    Path("pyproject.toml").write_text('[project]\nname = "x"\n[tool.cmcflex]\nselect = ["STAB"]\n')
    report = json.loads(run("-f", "json").stdout)
    assert report["rules_evaluated"] == ["STAB-001"]


@pytest.mark.parametrize("args, message", [
    (("--select", "GMP-99"), "'GMP-99' matches no rule"),
    (("--severity", "GMP-002"), "RULE=LEVEL"),
    (("--severity", "GMP-022=minor"), "unknown rule 'GMP-022'"),
    (("--waivers", "missing.yaml"), "could not be loaded"),
    (("-o", "dossier/out.json"), "inside the dossier folder"),
    (("-o", "docx:out.docx"), "unknown output format 'docx'"),
    (("-o", "out.docx"), "no format under the extension '.docx'"),
    (("-o", "json:out.xml"), "would write json under the extension of junit"),
    (("-o", "json:out.sarif.json"), "would write json under the extension of sarif"),
    (("-f", "docx"), "'docx' is not one of"),
])
def test_usage_errors_exit_2(args: tuple[str, ...], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2 and message in result.output


def test_bad_config_file_exits_2() -> None:
    Path("cmcflex.toml").write_text("fail-on = 'often'\n")
    result = run()
    assert result.exit_code == 2 and "cmcflex.toml: fail-on: 'often' is not a severity" in result.output


def test_waivers_option_waives_and_is_hashed() -> None:
    Path("qa-waivers.yaml").write_text("waivers:\n  - rule: GMP-003\n    justification: QA accepted, DEV-12\n"
                                       "    approved_by: QA head\n")
    result = run("--waivers", "qa-waivers.yaml", "-f", "json")
    assert result.exit_code == 0  # the only major gap is now waived
    report = json.loads(result.stdout)
    assert {f["rule"] for f in report["waived"]} == {"GMP-002", "GMP-003"}
    assert {"file": "qa-waivers.yaml", "role": "waivers"}.items() <= next(
        i for i in report["inputs"] if i["role"] == "waivers").items()


def test_bad_waivers_file_exits_2_with_location() -> None:
    Path("w.yaml").write_text("waivers:\n  - rule: GMP-003\n")
    result = run("--waivers", "w.yaml")
    assert result.exit_code == 2
    assert "w.yaml:2:5: waivers[0].justification: required field 'justification' is missing" in result.output


def test_cli_json_equals_the_library_report(monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime as dt

    from cmcflex.api import build_report
    from cmcflex.dossier.loader import load_dossier
    from cmcflex.report.json import render as render_json

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    expected = build_report(load_dossier("dossier"), as_of=dt.date(2026, 11, 25), rules=RULES,
                            path_label="dossier", generated_at="2023-11-14T22:13:20Z")
    assert run("-f", "json").stdout == render_json(expected)


def test_bad_source_date_epoch_exits_2() -> None:
    result = run(env={"SOURCE_DATE_EPOCH": "yesterday"})
    assert result.exit_code == 2 and "SOURCE_DATE_EPOCH" in result.output


@pytest.mark.parametrize("written", ["20261125", "2026-W48-3", "11/25/2026", "2026-02-30"])
def test_as_of_takes_only_the_dates_a_dossier_may_write(written: str) -> None:
    result = CliRunner().invoke(app, ["check", "missing-folder", "--as-of", written])
    assert result.exit_code == 2
    assert "--as-of" in result.output and "YYYY-MM-DD" in result.output


def test_a_bare_output_file_is_written_in_the_format_its_extension_names() -> None:
    result = run("-f", "json", "-o", "out.sarif.json", "-o", "out.XML", "-o", "notes.txt", "-o", "plain")
    assert result.exit_code == 1, result.output
    assert json.loads(Path("out.sarif.json").read_text())["version"] == "2.1.0"
    assert Path("out.XML").read_text().startswith("<?xml")
    assert json.loads(Path("notes.txt").read_text())["tool"]["name"] == "cmcflex"  # a plain-text name: --format
    assert json.loads(Path("plain").read_text())["tool"]["name"] == "cmcflex"  # no extension: --format
