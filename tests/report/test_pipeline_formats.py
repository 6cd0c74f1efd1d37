"""The GitHub annotations and the SARIF log as CI takes them: verdict first, annotations within
GitHub's per-step limits, SARIF paths relative to the repository root, links to the rules."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cmcflex.report import github, sarif
from cmcflex.report.model import Report
from cmcflex.rules.base import Severity


def _many(report: Report, severity: Severity, n: int) -> list:
    first = report.findings[0]
    return [first.model_copy(update={"severity": severity, "message": f"{severity.value} gap {i}",
                                     "fingerprint": f"{severity.value}-{i}", "line": i + 1}) for i in range(n)]


def test_github_orders_by_severity_and_caps_each_kind(report: Report) -> None:
    findings = [*_many(report, Severity.INFO, 12), *_many(report, Severity.MINOR, 3),
                *_many(report, Severity.MAJOR, 8), *_many(report, Severity.BLOCKER, 6)]
    crowded = report.model_copy(update={"findings": findings})
    lines = github.render(crowded).splitlines()
    commands = [l for l in lines if l.startswith("::")]
    assert commands[0].startswith("::error title=cmcflex verdict::cmcflex FAIL")
    kinds = [l[2:].split(" ", 1)[0] for l in commands]
    assert kinds == sorted(kinds, key=["error", "warning", "notice"].index)  # most severe first
    assert kinds.count("error") == 10 and kinds.count("notice") == 10 and kinds.count("warning") == 5  # 3 minor + 2 waiver notes
    errors = [l for l in commands[1:] if l.startswith("::error")]
    assert all("(blocker)" in l for l in errors[:6]) and all("(major)" in l for l in errors[6:])
    # 14 gaps that are errors, 9 shown beside the verdict: 5 left, with info 12 + 1 waived - 10 shown = 3
    assert lines[-2] == ("5 more errors not shown as annotations (GitHub shows 10 per step): "
                         "see the SARIF or Markdown report")
    assert lines[-1].startswith("3 more notices not shown")
    plain = [l for l in lines if not l.startswith("::")]
    overflow = [l for l in plain if l.startswith("error: dossiers/cart/dossier.yaml:")]
    assert len(overflow) == 5 and all("(major)" in l for l in overflow)  # the least severe errors wait


def test_github_within_the_limits_prints_no_summary(report: Report) -> None:
    text = github.render(report)
    assert "not shown as annotations" not in text
    assert all(line.startswith("::") for line in text.splitlines())


def test_github_pass_verdict_is_a_notice(report: Report) -> None:
    passing = report.model_copy(update={"findings": [], "verdict": "pass"})
    assert github.render(passing).splitlines()[0].startswith("::notice title=cmcflex verdict::cmcflex PASS")


def _run(report: Report, opts: sarif.SarifOptions) -> dict:
    return json.loads(sarif.render(report, opts))["runs"][0]


def test_sarif_uris_are_relative_to_the_root(report: Report, tmp_path: Path, monkeypatch) -> None:
    repo = tmp_path / "repo"
    (repo / "ci").mkdir(parents=True)
    monkeypatch.chdir(repo / "ci")
    moved = report.model_copy(update={"dossier": report.dossier.model_copy(update={"path": "../dossiers/cart"})})
    run = _run(moved, sarif.options(root=repo))
    loc = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert loc == {"uri": "dossiers/cart/dossier.yaml", "uriBaseId": "SRCROOT"}  # no ../ for code scanning
    assert "uri" not in run["originalUriBaseIds"]["SRCROOT"]  # the same bytes on every machine
    assert all(a["location"]["uriBaseId"] == "SRCROOT" for a in run["artifacts"])
    outside = _run(moved, sarif.options(root=repo / "ci"))  # the dossier is outside this root
    uri = outside["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert uri == {"uri": (repo / "dossiers/cart/dossier.yaml").as_uri()}


def test_sarif_rules_link_to_their_documentation(report: Report, monkeypatch) -> None:
    monkeypatch.delenv("CMCFLEX_DOCS_URL", raising=False)
    run = _run(report, sarif.options())
    # code scanning refuses a helpUri or informationUri that is not an absolute URI: without a URL, none
    assert "informationUri" not in run["tool"]["driver"]
    assert all("helpUri" not in r for r in run["tool"]["driver"]["rules"])
    assert "docs/rules.md#gmp-003" in run["tool"]["driver"]["rules"][1]["help"]["markdown"]
    base = "https://git.example.org/qa/cmcflex/blob/v1/docs/"
    linked = _run(report, sarif.options(docs_url=base))
    assert linked["tool"]["driver"]["informationUri"] == base + "rules.md"
    assert [r["helpUri"] for r in linked["tool"]["driver"]["rules"]] == [
        base + "rules.md#gmp-002", base + "rules.md#gmp-003", base + "rules.md#spec-005"]
    monkeypatch.setenv("CMCFLEX_DOCS_URL", base)
    assert _run(report, sarif.options())["tool"]["driver"]["informationUri"] == base + "rules.md"
    monkeypatch.setenv("CMCFLEX_DOCS_URL", "docs")  # not an absolute URL: left out, never written
    assert "informationUri" not in _run(report, sarif.options())["tool"]["driver"]


def test_rules_doc_has_the_anchors_sarif_links_to() -> None:
    from cmcflex.rules import REGISTRY

    headings = (Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text(encoding="utf-8")
    for r in REGISTRY:
        assert f"\n### {r.id}\n" in headings and sarif.anchor(r.id) == r.id.lower()


def test_sarif_info_findings_are_notes_or_left_out(report: Report, shared_dir: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((shared_dir / "schemas" / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    full = _run(report, sarif.options())
    assert [r["level"] for r in full["results"] if r["ruleId"] == "SPEC-005"] == ["warning", "note"]
    doc = json.loads(sarif.render(report, sarif.options(info=False)))
    jsonschema.Draft4Validator(schema).validate(doc)
    quiet = doc["runs"][0]
    assert "note" not in {r["level"] for r in quiet["results"]}
    assert len(quiet["results"]) == len(full["results"]) - 1
    assert quiet["properties"]["counts"]["info"] == 1 and quiet["properties"]["infoResults"] is False
    for r in quiet["results"]:
        assert quiet["tool"]["driver"]["rules"][r["ruleIndex"]]["id"] == r["ruleId"]
        assert r["partialFingerprints"]["cmcflex/v1"]


def _uri_formats(jsonschema):  # type: ignore[no-untyped-def]
    """The schema's "uri" (absolute) and "uri-reference" formats, checked as upload-sarif checks them."""
    from urllib.parse import urlsplit

    checker = jsonschema.FormatChecker()
    checker.checks("uri")(lambda v: not isinstance(v, str) or (bool(urlsplit(v).scheme) and " " not in v))
    checker.checks("uri-reference")(lambda v: not isinstance(v, str) or not any(c in v for c in ' \\"<>'))
    return checker


@pytest.mark.parametrize("docs_url", [None, "https://git.example.org/qa/cmcflex/blob/v1/docs"])
def test_sarif_uris_have_the_formats_code_scanning_requires(report: Report, shared_dir: Path, docs_url) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((shared_dir / "schemas" / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    moved = report.model_copy(update={"dossier": report.dossier.model_copy(update={"path": "/data/my dossier"})})
    for r in (report, moved):
        doc = json.loads(sarif.render(r, sarif.options(root=".", docs_url=docs_url)))
        jsonschema.Draft4Validator(schema, format_checker=_uri_formats(jsonschema)).validate(doc)
    bad = json.loads(sarif.render(report, sarif.options(docs_url="https://x.org/docs")))
    bad["runs"][0]["tool"]["driver"]["informationUri"] = "docs/rules.md"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(schema, format_checker=_uri_formats(jsonschema)).validate(bad)


def test_cli_sarif_options_apply_to_one_dossier_and_to_a_portfolio(tmp_path: Path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from cmcflex.cli import app

    root = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(tmp_path)
    for name in ("cart-phase2", "aav-bla"):
        shutil.copytree(root / "sample_dossiers" / name, tmp_path / "repo" / "dossiers" / name)
    (tmp_path / "ci").mkdir()
    monkeypatch.chdir(tmp_path / "ci")
    runner = CliRunner()
    common = ["--as-of", "2026-11-25", "--no-config", "--sarif-root", "../repo", "--sarif-no-info", "-q"]
    one = runner.invoke(app, ["check", "../repo/dossiers/cart-phase2", "-o", "sarif:one.sarif", *common])
    assert one.exit_code == 1
    run = json.loads(Path("one.sarif").read_text(encoding="utf-8"))["runs"][0]
    assert "note" not in {r["level"] for r in run["results"]}
    assert run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith(
        "dossiers/cart-phase2/")
    many = runner.invoke(app, ["check", "../repo/dossiers", "-f", "sarif", "--output-dir", "out", *common])
    assert many.exit_code == 1
    for name in ("cart-phase2", "aav-bla"):
        run = json.loads(Path(f"out/{name}.sarif").read_text(encoding="utf-8"))["runs"][0]
        assert "note" not in {r["level"] for r in run["results"]}
        uri = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
        assert uri["uriBaseId"] == "SRCROOT" and uri["uri"].startswith(f"dossiers/{name}/")
