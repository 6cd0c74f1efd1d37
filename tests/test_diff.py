"""`cmcflex diff`: new, resolved and unchanged gaps between two dossier versions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cmcflex.api import build_report
from cmcflex.cli import app
from cmcflex.diff import compare, render
from cmcflex.dossier.loader import load_dossier
from cmcflex.report.json import render as render_json
from cmcflex.rules.base import Severity
from tests.helpers import AS_OF
from tests.report.sample import RULES, RulesRunner, sample_dossier

runner = CliRunner()


def _versions(tmp_path: Path) -> tuple[Path, Path]:
    """v1 as sampled; v2 waives nothing, so GMP-002 opens, and the product is renamed."""
    old = sample_dossier(tmp_path / "v1")
    new = sample_dossier(tmp_path / "v2", product="Renamed product")
    (new / "waivers.yaml").write_text(yaml.safe_dump({"waivers": [
        {"rule": "SPEC-005", "scope": "lot L-102", "justification": "Investigated under INV-7"}]}))
    return old, new


def _report(path: Path):  # type: ignore[no-untyped-def]
    return build_report(load_dossier(path), as_of=AS_OF, rules=RULES, path_label=path.name)


def test_new_resolved_unchanged_by_fingerprint(tmp_path: Path) -> None:
    old, new = _versions(tmp_path)
    d = compare(_report(old), _report(new), fail_on=Severity.MAJOR)
    assert [(c.finding.rule, c.finding.record) for c in d.new_gaps] == [("GMP-002", "site SITE-A")]
    assert [(c.finding.rule, c.finding.record) for c in d.resolved] == [("SPEC-005", "lot L-102")]
    assert {(c.finding.rule, c.finding.record) for c in d.unchanged} == {
        ("GMP-003", "control batch_records"), ("SPEC-005", "test drug_product/endotoxin")}
    # the GMP-002 message changed with the product name; its fingerprint (rule+file+record) did not
    assert d.failing and d.counts == {"new": 1, "worse": 0, "better": 0, "resolved": 1, "unchanged": 2,
                                      "new_at_or_above_fail_on": 1}
    assert compare(_report(old), _report(new), fail_on=Severity.BLOCKER).failing  # GMP-002 is a blocker
    back = (_report(new), _report(old))  # going back reopens only the minor SPEC-005 gap of lot L-102
    assert not compare(*back, fail_on=Severity.MAJOR).failing and compare(*back, fail_on=Severity.MINOR).failing


def test_reworded_message_is_unchanged_not_new(tmp_path: Path) -> None:
    old, new = _versions(tmp_path)
    a, b = _report(old), _report(new)
    d = compare(b, b.model_copy(update={"findings": [f.model_copy(update={"message": "Reworded."})
                                                      for f in b.findings]}))
    assert d.counts["new"] == 0 and d.counts["unchanged"] == len(b.findings)
    assert compare(a, a).counts == {"new": 0, "worse": 0, "better": 0, "resolved": 0, "unchanged": 3,
                                    "new_at_or_above_fail_on": 0}


def _regraded(report, rule: str, severity: Severity):  # type: ignore[no-untyped-def]
    return report.model_copy(update={"findings": [f.model_copy(update={"severity": severity})
                                                  if f.rule == rule else f for f in report.findings]})


def test_severity_rise_is_worse_and_fails_at_or_above_fail_on(tmp_path: Path) -> None:
    old, _ = _versions(tmp_path)
    a = _regraded(_report(old), "GMP-003", Severity.MINOR)  # minor before
    b = _regraded(a, "GMP-003", Severity.MAJOR)  # major now
    d = compare(a, b, fail_on=Severity.MAJOR)
    assert [(c.finding.rule, c.previous_severity, c.finding.severity) for c in d.worse] == [
        ("GMP-003", Severity.MINOR, Severity.MAJOR)]
    assert "GMP-003" not in {c.finding.rule for c in d.unchanged}
    assert d.failing and d.counts["worse"] == 1 and d.counts["new_at_or_above_fail_on"] == 1
    text = render(d, "console")
    assert "Worse (1)" in text and "(was minor)" in text and "FAIL: new or worse gaps at or above major" in text
    assert not compare(a, b, fail_on=Severity.BLOCKER).failing  # rose, but not to blocker
    # an info note ("flexibility applies") that became a major gap is worse, not unchanged
    info = _regraded(a, "GMP-003", Severity.INFO)
    assert [c.finding.rule for c in compare(info, b).worse] == ["GMP-003"] and compare(info, b).failing
    back = compare(b, a, fail_on=Severity.MAJOR)  # major → minor: better, passes
    assert [(c.finding.rule, c.previous_severity) for c in back.better] == [("GMP-003", Severity.MAJOR)]
    assert not back.failing and back.counts["better"] == 1 and "Better (1)" in render(back, "console")
    assert "**1 worse**" in render(d, "markdown")


def test_cli_diff_exits_1_on_severity_rise(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    old, _ = _versions(tmp_path)
    a = _regraded(_report(old), "GMP-003", Severity.MINOR)
    Path("a.json").write_text(render_json(a))
    Path("b.json").write_text(render_json(_regraded(a, "GMP-003", Severity.MAJOR)))
    result = runner.invoke(app, ["diff", "a.json", "b.json", "--no-config"])
    assert result.exit_code == 1 and "Worse (1)" in result.output, result.output
    assert runner.invoke(app, ["diff", "b.json", "a.json", "--no-config"]).exit_code == 0


def test_cli_diff_of_json_reports_and_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = RulesRunner()  # the folders are checked with the test rules, passed in
    monkeypatch.chdir(tmp_path)
    old, new = _versions(tmp_path)
    Path("old.json").write_text(render_json(_report(old)))
    Path("new.json").write_text(render_json(_report(new)))
    result = runner.invoke(app, ["diff", "old.json", "new.json", "--no-config"])
    assert result.exit_code == 1, result.output
    assert "1 new · 0 worse · 0 better · 1 resolved · 2 unchanged" in result.output and "GMP-002" in result.output
    assert runner.invoke(app, ["diff", "old.json", "new.json", "--fail-on", "blocker", "--no-config"]).exit_code == 1
    assert runner.invoke(app, ["diff", "new.json", "old.json", "--no-config"]).exit_code == 0  # GMP-002 resolved
    folders = runner.invoke(app, ["diff", str(old), str(new), "--as-of", "2026-11-25", "-f", "json", "--no-config"])
    assert folders.exit_code == 1
    data = json.loads(folders.stdout)
    assert [c["finding"]["rule"] for c in data["new_gaps"]] == ["GMP-002"]
    md = runner.invoke(app, ["diff", "old.json", "new.json", "-f", "markdown", "-o", "diff.md", "--no-config"])
    assert md.exit_code == 1 and Path("diff.md").read_text().startswith("## cmcflex diff: ❌ new or worse gaps")


@pytest.mark.parametrize("args, written", [
    (("-o", "diff.xlsx"), False), (("-o", "diff.json"), False), (("-f", "json", "-o", "diff.md"), False),
    (("-f", "markdown", "-o", "diff.html"), False), (("-o", "diff.txt"), True), (("-f", "json", "-o", "diff.json"), True),
])
def test_cli_diff_output_never_takes_another_format_name(
        args: tuple[str, ...], written: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    old, new = _versions(tmp_path)
    Path("old.json").write_text(render_json(_report(old)))
    Path("new.json").write_text(render_json(_report(new)))
    result = runner.invoke(app, ["diff", "old.json", "new.json", "--no-config", *args])
    name = args[-1]
    assert result.exit_code == (1 if written else 2), result.output
    assert Path(name).exists() is written
    if not written:
        assert "would write" in result.output and "under the extension" in result.output


def test_cli_diff_rejects_what_is_not_a_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("x.json").write_text("{not json")
    Path("y.json").write_text('{"tool": 1}')
    for args, message in ((["x.json", "y.json"], "not a JSON report"), (["y.json", "y.json"], "not a cmcflex JSON report"),
                          (["absent.json", "y.json"], "no such file or dossier folder")):
        result = runner.invoke(app, ["diff", *args, "--no-config"])
        assert result.exit_code == 2 and message in result.output, result.output


def test_diff_warns_when_the_products_differ():
    """Comparing two different products is allowed but said, since nothing can match."""
    from pathlib import Path

    from typer.testing import CliRunner

    from cmcflex.cli import app

    samples = Path(__file__).resolve().parents[1] / "sample_dossiers"
    result = CliRunner().invoke(app, ["diff", str(samples / "allo-phase1"), str(samples / "cart-phase2"),
                                      "--as-of", "2026-11-25"])
    assert result.exit_code in (0, 1)
    assert "comparing two different products" in result.stderr
    same = CliRunner().invoke(app, ["diff", str(samples / "allo-phase1"), str(samples / "allo-phase1"),
                                    "--as-of", "2026-11-25"])
    assert same.exit_code == 0 and "different products" not in same.stderr
