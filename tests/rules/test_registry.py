"""The rule registry: complete metadata for every rule, no duplicates, and the CLI views of it.
(Every rule's firing and silent cases: tests/rules/test_rule_cases.py.)"""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from cmcflex.cli import app
from cmcflex.phases import Phase
from cmcflex.rules import REGISTRY
from cmcflex.rules.base import Area, Registry, Rule, Severity, by_phase

RULES = list(REGISTRY)
IDS = [r.id for r in RULES]
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def test_registry_is_populated() -> None:
    assert len(RULES) >= 17
    assert {f"GMP-{n:03d}" for n in range(1, 18)} <= set(IDS)


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_rule_metadata_complete(rule: Rule) -> None:
    assert re.match(r"^[A-Z]+-\d{3}$", rule.id)
    assert isinstance(rule.area, Area) and rule.id.startswith(rule.area.value + "-")
    assert SLUG.match(rule.slug), rule.slug
    assert rule.title.strip()
    assert rule.cites and all(isinstance(c, str) and c.strip() for c in rule.cites)
    assert rule.remedy.strip() and rule.why.strip()
    assert rule.severity, "a rule must apply at some phase"
    assert all(isinstance(p, Phase) for p in rule.severity)
    assert all(isinstance(s, Severity) for s in rule.severity.values())


def _dummy(rule_id: str, slug: str) -> Rule:
    return Rule(rule_id, slug, "t", Area.GMP, by_phase(None, None, None, Severity.MINOR, None),
                ("21 CFR 211.22",), "r", "w", lambda d, ctx: iter(()))


def test_registry_refuses_duplicate_ids_and_slugs() -> None:
    registry = Registry()
    registry.add(_dummy("GMP-900", "one"))
    with pytest.raises(ValueError, match="duplicate rule id GMP-900"):
        registry.add(_dummy("GMP-900", "two"))
    with pytest.raises(ValueError, match="duplicate rule slug"):
        registry.add(_dummy("GMP-901", "one"))
    assert len(registry) == 1


def test_registry_refuses_malformed_or_misfiled_ids() -> None:
    registry = Registry()
    with pytest.raises(ValueError):
        registry.add(_dummy("GMP-1", "short"))
    with pytest.raises(ValueError):
        registry.add(_dummy("PPQ-900", "misfiled"))  # filed under GMP


def test_rules_json_lists_every_rule() -> None:
    result = CliRunner().invoke(app, ["rules", "--format", "json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert [r["id"] for r in listed] == IDS
    for entry, rule in zip(listed, RULES):
        assert {"id", "slug", "area", "title", "severity", "cites", "remedy"} <= set(entry)
        assert (entry["slug"], entry["area"], entry["title"]) == (rule.slug, rule.area.value, rule.title)
        assert entry["cites"] == list(rule.cites)
        assert entry["remedy"] == rule.remedy
        assert entry["severity"] == {p.value: s.value for p, s in rule.severity.items()}


def test_explain_prints_citations() -> None:
    result = CliRunner().invoke(app, ["explain", "GMP-009"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    for cite in REGISTRY.get("GMP-009").cites:  # type: ignore[union-attr]
        assert " ".join(cite.split()) in text
    assert "aseptic-process-simulation" in text


def test_explain_unknown_rule_exits_2() -> None:
    result = CliRunner().invoke(app, ["explain", "NOPE-1"])
    assert result.exit_code == 2
    assert "NOPE-1" in result.output or "NOPE-1" in getattr(result, "stderr", "")


def test_a_registry_passed_in_is_used_and_the_global_one_left_alone(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    from cmcflex.api import check
    from tests.report.sample import RULES as TEST_RULES
    from tests.report.sample import sample_dossier

    test_ids = [r.id for r in TEST_RULES]
    given = CliRunner().invoke(app, ["rules", "--format", "json"], obj=TEST_RULES)
    assert [r["id"] for r in json.loads(given.stdout)] == test_ids
    assert "t-quality-unit" in CliRunner().invoke(app, ["explain", "GMP-002"], obj=TEST_RULES).stdout
    after = CliRunner().invoke(app, ["rules", "--format", "json"])
    assert [r["id"] for r in json.loads(after.stdout)] == IDS
    report = check(sample_dossier(tmp_path / "d"), as_of=dt.date(2026, 11, 25), rules=TEST_RULES)
    assert set(report.rules_evaluated) <= set(test_ids) and {f.rule for f in report.findings} <= set(test_ids)
    assert list(REGISTRY) == RULES
