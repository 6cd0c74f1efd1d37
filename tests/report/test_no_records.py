"""An absent "none yet" file (changes.yaml) is one line in every format, not a list of rules not
evaluated."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from cmcflex.engine import rule_span
from cmcflex.report.formats import render
from cmcflex.report.model import Report
from tests.helpers import report_for

NOTE = "changes.yaml: no manufacturing changes recorded; CMP-001..CMP-007 have nothing to check"
PPQ_NOTE = "ppq.yaml: no PPQ protocol on record; PPQ-002..PPQ-011 wait on it (see PPQ-001)"


@pytest.fixture
def quiet(dossier_dir: Callable[..., Path]) -> Report:
    return report_for(dossier_dir({}, phase="bla"))


@pytest.mark.parametrize("fmt", ["console", "markdown", "html", "sarif", "junit", "json"])
def test_every_format_says_it_once(quiet: Report, fmt: str) -> None:
    out = render(quiet, fmt)
    assert out.count(NOTE) == 1
    assert "CMP-001 not evaluated" not in out and "changes.yaml is missing" not in out
    assert out.count(PPQ_NOTE) == 1 and "PPQ-002 not evaluated" not in out


def test_console_shows_one_line_and_no_cmp_rule_as_not_evaluated(dossier_dir: Callable[..., Path]) -> None:
    out = render(report_for(dossier_dir({}, phase="phase_3")), "console")
    lines = [line for line in out.splitlines() if "changes.yaml" in line]
    assert len(lines) == 1 and lines[0].startswith("changes.yaml: no manufacturing changes recorded")
    assert not any(line.strip().startswith("CMP-") for line in out.splitlines())


def test_json_carries_the_file_the_note_and_the_rules(quiet: Report) -> None:
    data = json.loads(render(quiet, "json"))
    assert data["no_records"] == [{"file": "changes.yaml", "note": NOTE,
                                   "rules": [f"CMP-00{i}" for i in range(1, 8)]},
                                  {"file": "ppq.yaml", "note": PPQ_NOTE,
                                   "rules": [f"PPQ-0{i:02d}" for i in range(2, 12)]}]
    assert [f["severity"] for f in data["findings"] if f["rule"] == "PPQ-001"] == ["blocker"]
    assert not [n for n in data["not_evaluated"] if n["rule"].startswith("CMP-")]
    assert data["counts"]["not_evaluated"] == len(data["not_evaluated"])


def test_same_dossier_same_bytes(dossier_dir: Callable[..., Path]) -> None:
    path = dossier_dir({}, phase="bla")
    assert render(report_for(path), "json") == render(report_for(path), "json")


def test_a_dossier_with_changes_has_no_note(dossier_dir: Callable[..., Path]) -> None:
    report = report_for(dossier_dir({"changes.yaml": {"changes": []}}, phase="bla"))
    assert [n.file for n in report.no_records] == ["ppq.yaml"]
    assert "no manufacturing changes recorded" not in render(report, "console")


@pytest.mark.parametrize("ids, span", [
    (["CMP-001"], "CMP-001"),
    (["CMP-001", "CMP-002"], "CMP-001, CMP-002"),
    (["CMP-003", "CMP-001", "CMP-002", "CMP-005"], "CMP-001..CMP-003, CMP-005"),
    (["GMP-009", "CMP-010"], "CMP-010, GMP-009"),
])
def test_rule_span(ids: list[str], span: str) -> None:
    assert rule_span(ids) == span


def test_a_note_for_rules_waiting_on_a_record_names_the_rule_that_reports_it() -> None:
    from cmcflex.engine import no_records_note

    assert no_records_note("ppq.yaml", "no PPQ protocol on record", ["PPQ-003"], "PPQ-001") == (
        "ppq.yaml: no PPQ protocol on record; PPQ-003 waits on it (see PPQ-001)")
    assert no_records_note("changes.yaml", "none", ["CMP-001", "CMP-002"]) == (
        "changes.yaml: none; CMP-001, CMP-002 have nothing to check")


def test_phase_3_without_a_protocol_is_one_line_too(dossier_dir: Callable[..., Path]) -> None:
    report = report_for(dossier_dir({"changes.yaml": {"changes": []}}, phase="phase_3"))
    assert [(f.rule, f.severity.value) for f in report.findings if f.area == "PPQ"] == [("PPQ-001", "minor")]
    (entry,) = report.no_records
    assert entry.note == "ppq.yaml: no PPQ protocol on record; PPQ-002..PPQ-007, PPQ-010, PPQ-011 wait on it (see PPQ-001)"
