"""The declarative rule cases (tests/rules/cases/*.yaml) cover every rule, and the case runner
can fail: the catalogue of firing and silent cases is checked from the cases themselves."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from cmcflex.phases import Phase
from cmcflex.rules import REGISTRY
from cmcflex.rules.base import Rule, Severity
from tests.rules.rule_cases import (
    CASES_DIR,
    Case,
    CaseFormatError,
    case_files,
    load_cases,
    mismatch,
    no_silent_case,
    run_case,
)

RULES = list(REGISTRY)
CASES: dict[str, list[Case]] = defaultdict(list)
for _file in case_files():
    for _loaded in load_cases(_file):
        CASES[_loaded.rule].append(_loaded)


def _groups(grades: dict[Phase, Severity]) -> dict[Severity, list[Phase]]:
    """Phases grouped by the grade the rule gives there."""
    out: dict[Severity, list[Phase]] = defaultdict(list)
    for phase, severity in grades.items():
        out[severity].append(phase)
    return dict(out)


def _fires_at(cases: list[Case], phases: list[Phase], severity: Severity) -> bool:
    return any(c.phase in phases and any(e.severity == severity.value for e in c.expected) for c in cases)


def test_every_case_file_names_a_registered_rule() -> None:
    assert {p.stem for p in case_files()} <= {r.id for r in RULES}


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule_has_a_firing_and_a_silent_case_at_each_grade(rule: Rule) -> None:
    """Per group of phases where the rule grades alike: a case firing at that grade and a silent
    case. A grade some findings take below the phase grade (``partial``) needs a firing case too.
    A file may declare phases where no dossier leaves the rule silent (``no_silent_case``).
    Cases with a ``target`` (planning) are extra: they do not count for their phase's grade."""
    path = CASES_DIR / f"{rule.id}.yaml"
    assert path.is_file(), f"no case file {path.relative_to(CASES_DIR.parents[2])}"
    cases = [c for c in CASES[rule.id] if c.target is None]  # a planning case grades by its target
    outside = sorted({c.phase.value for c in cases} - {p.value for p in rule.severity})
    assert not outside, f"{rule.id} has cases at phases where it does not apply: {outside}"
    never_silent = no_silent_case(path)
    problems = []
    for severity, phases in _groups(dict(rule.severity)).items():
        shown = "/".join(p.value for p in phases)
        if not _fires_at(cases, phases, severity):
            problems.append(f"no case firing {severity.value} at {shown}")
        if not any(c.silent and c.phase in phases for c in cases) and not set(phases) <= set(never_silent):
            problems.append(f"no silent case at {shown}")
    for severity, phases in _groups(dict(rule.partial)).items():
        if not _fires_at(cases, phases, severity):
            problems.append(f"no case firing the partial grade {severity.value} at {'/'.join(p.value for p in phases)}")
    assert not problems, f"{rule.id}: " + "; ".join(problems)


def test_a_declared_phase_without_silent_case_is_one_where_the_rule_applies() -> None:
    for path in case_files():
        rule = REGISTRY.get(path.stem)
        assert rule is not None and set(no_silent_case(path)) <= set(rule.severity), path.name


# ---------------------------------------------------------------------------- the runner itself


def _named(name: str, phase: str, rule_id: str = "GMP-006") -> Case:
    (case,) = [c for c in CASES[rule_id] if c.name == name and c.phase is Phase(phase)]
    return case


def test_a_silent_case_fails_on_a_finding_and_shows_it(tmp_path: Path) -> None:
    firing = _named("change_control-partial", "phase_2")
    report = run_case(firing, tmp_path / "d")
    assert mismatch(firing, report) is None
    message = mismatch(replace(firing, expected=()), report)
    assert message is not None
    assert "expected: silent" in message and "major [control change_control]: The change control" in message


def test_a_firing_case_fails_on_a_wrong_grade_or_a_missing_finding(tmp_path: Path) -> None:
    firing = _named("change_control-partial", "phase_2")
    report = run_case(firing, tmp_path / "d")
    regraded = replace(firing, expected=(replace(firing.expected[0], severity="blocker"),))
    message = mismatch(regraded, report)
    assert message is not None and "not found:\n    blocker [control change_control]" in message
    silent = _named("change_control-in-place", "phase_2")
    quiet = run_case(silent, tmp_path / "e")
    assert mismatch(silent, quiet) is None
    assert "actual findings: none" in (mismatch(replace(silent, expected=firing.expected), quiet) or "")


def test_a_silent_case_fails_when_the_rule_was_not_evaluated(tmp_path: Path) -> None:
    silent = _named("change_control-in-place", "phase_2")
    bare = replace(silent, files={"dossier.yaml": silent.files["dossier.yaml"]})  # no gmp.yaml
    message = mismatch(bare, run_case(bare, tmp_path / "d"))
    assert message is not None and "not evaluated:" in message


@pytest.mark.parametrize("text, error", [
    ("rule: GMP-999\ncases: []\n", "needs `rule: GMP-006`"),
    ("rule: GMP-006\ncases:\n  - {name: a, phase: phase_9, silent: true}\n", "phase(s) must be among"),
    ("rule: GMP-006\ncases:\n  - {name: a, phase: bla}\n", "give `silent: true` or a non-empty `expect`"),
    ("rule: GMP-006\ncases:\n  - {name: a, phase: bla, silent: true, expect: [{severity: major}]}\n",
     "either silent or expects"),
    ("rule: GMP-006\ncases:\n  - {name: a, phases: [bla, phase_1], expect: [{severity: {bla: major}}]}\n",
     "no expected severity for phase_1"),
    ("rule: GMP-006\ncases:\n  - {name: a, phase: bla, silent: true, dosier: {}}\n", "a case has"),
    ("rule: GMP-006\ncases:\n  - {name: a, phase: bla, silent: true}\n  - {name: a, phase: bla, silent: true}\n",
     "case names repeat"),
    ("rule: GMP-006\ncases:\n  - {name: a, phase: bla, silent: true, dossier: {lots: {L-1: {}}}}\n",
     "lot L-1 needs a use"),
])
def test_malformed_case_files_are_refused(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "GMP-006.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CaseFormatError, match=error.replace("(", r"\(").replace(")", r"\)")):
        load_cases(path)


def test_compact_keys_become_dossier_files() -> None:
    from tests.rules.rule_cases import dossier_files

    files = dossier_files({"lots": {"L-1": {"use": "ppq", "results": {"viability": 80}}}},
                          {"lots": {"L-1": {"site": "SITE-B", "results": {"potency": {"value": 5, "unit": "%"}}}},
                           "release_tests": {"potency": {"criterion": ">= 1"}}, "methods": {"M-1": {"status": "validated"}}},
                          "test")
    assert [(r["lot_id"], r["attribute"], r["value"], r["site"], r.get("unit")) for r in files["lots.csv"]] == [
        ("L-1", "viability", 80, "SITE-B", None), ("L-1", "potency", 5, "SITE-B", "%")]
    assert files["specifications.yaml"] == {"specifications": [
        {"material": "drug_product", "tests": [{"attribute": "potency", "criterion": ">= 1"}]}]}
    assert files["methods.yaml"] == {"methods": [{"id": "M-1", "status": "validated"}]}
    assert files["dossier.yaml"]["product"]["name"] == "TEST-1"  # the shared base dossier
    assert yaml.safe_dump(files)  # plain data, written as is by tests.helpers.write_dossier
