"""GitHub Actions workflow commands: the verdict first, then one annotation per finding.

Blocker and major gaps are errors, minor gaps and waivers that did not apply warnings, info and
waived findings notices, most severe first. An annotation's title names the rule, its severity and
title, and the finding's CTD Module 3 sections (``SPEC-005 (major) ... [3.2.P.5.6]``). GitHub shows
at most :data:`PER_STEP` annotations of each kind per step (10 errors, 10 warnings, 10 notices; 50
per job): what does not fit is printed as plain log lines, with one closing line per kind saying how
many were left out and where to find them. Values are escaped as the Actions toolkit does, so dossier text cannot start a workflow
command of its own.
"""

from __future__ import annotations

from typing import NamedTuple

from cmcflex.report.common import all_findings, artifact_uri, configuration_line, counts_line, note_text, waiver_text
from cmcflex.report.model import Finding, Report, WaivedFinding
from cmcflex.report.text import clean
from cmcflex.vocabulary import Severity

LEVEL = {Severity.BLOCKER: "error", Severity.MAJOR: "error", Severity.MINOR: "warning", Severity.INFO: "notice"}
KINDS = ("error", "warning", "notice")
PER_STEP = 10  # annotations of each kind GitHub shows for one step (actions/toolkit docs/problem-matchers.md)
RANK = {Severity.BLOCKER: 0, Severity.MAJOR: 1, Severity.MINOR: 2, Severity.INFO: 3}


class Annotation(NamedTuple):
    """One workflow command before rendering: its kind, where it points and what it says."""

    level: str
    file: str | None
    line: int | None
    title: str
    message: str


def _data(text: object) -> str:
    return clean(text, lines=True).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: object) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def _command(a: Annotation) -> str:
    props = [f"file={_prop(a.file)}"] if a.file else []
    if a.file and a.line:
        props.append(f"line={a.line}")
    props.append(f"title={_prop(a.title)}")
    return f"::{a.level} {','.join(props)}::{_data(a.message)}"


def _plain(a: Annotation) -> str:
    """An annotation that did not fit, as one inert log line."""
    where = f"{a.file}:{a.line}" if a.file and a.line else (a.file or "")
    message = a.message.splitlines()[0] if a.message else ""
    return clean(f"{a.level}: {where}: {a.title}: {message}")


def _annotation(f: Finding, report: Report) -> Annotation:
    message = f.message + (f" [{f.record}]" if f.record else "")
    message += f"\nRemedy: {f.remedy}\nCites: {'; '.join(f.cites)}"
    if f.default_severity is not None:
        message += f"\nSeverity set by configuration; default {f.default_severity.value}."
    sections = f" [{', '.join(f.ctd)}]" if f.ctd else ""
    title = f"{f.rule} ({f.severity.value}) {f.title}{sections}"
    level = LEVEL[f.severity]
    if isinstance(f, WaivedFinding):
        level, title = "notice", f"{f.rule} waived: {f.title}{sections}"
        message += f"\nWaived: {waiver_text(f)}"
    return Annotation(level, artifact_uri(report, f.file), f.line, title, message)


def verdict(report: Report) -> Annotation:
    word = "PASS" if report.verdict == "pass" else "FAIL"
    summary = (f"cmcflex {word} (fails on {report.fail_on.value} and above): {counts_line(report)}"
               f" · {configuration_line(report)}")
    return Annotation("notice" if report.verdict == "pass" else "error", None, None, "cmcflex verdict", summary)


def ordered(report: Report) -> list[Annotation]:
    """The verdict, then open findings most severe first, waivers that did not apply, waived findings."""
    open_ = sorted(report.findings, key=lambda f: RANK[f.severity])  # stable: report order within a severity
    found = [_annotation(f, report) for f in open_]
    notes = [Annotation("warning", artifact_uri(report, n.file), n.line, f"{n.rule} waiver {n.status}", note_text(n))
             for n in report.waiver_notes]
    waived = [_annotation(f, report) for f in all_findings(report) if isinstance(f, WaivedFinding)]
    rest = [*found, *notes, *waived]
    return [verdict(report), *sorted(rest, key=lambda a: KINDS.index(a.level))]


def render(report: Report, per_step: int = PER_STEP) -> str:
    shown: list[str] = []
    left: dict[str, list[Annotation]] = {kind: [] for kind in KINDS}
    used = dict.fromkeys(KINDS, 0)
    for a in ordered(report):
        if used[a.level] < per_step:
            used[a.level] += 1
            shown.append(_command(a))
        else:
            left[a.level].append(a)
    lines = shown
    for kind in KINDS:
        if left[kind]:
            lines += [_plain(a) for a in left[kind]]
    for kind in KINDS:
        n = len(left[kind])
        if n:
            lines.append(f"{n} more {kind}{'s' if n != 1 else ''} not shown as annotations "
                         f"(GitHub shows {per_step} per step): see the SARIF or Markdown report")
    return "\n".join(lines) + "\n"
