"""Compare two reports of one dossier: new, worse, better, resolved and unchanged gaps.

Gaps are the open findings (waived ones are not gaps); they are paired by their fingerprint
(rule + file + record), so rewording a message or moving a line does not make a gap "new".
A paired gap whose severity rose is "worse" (fell: "better"); a gap that rose to ``--fail-on``
or above counts like a new one for the verdict and the exit code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from cmcflex.report.model import Finding, Report
from cmcflex.report.text import clean, json_inert
from cmcflex.vocabulary import Severity

MAX_REPORT_BYTES = 512 * 1024 * 1024


class DiffError(Exception):
    """A report file that cannot be read."""


class Side(BaseModel):
    model_config = ConfigDict(frozen=True)

    label: str
    product: str
    tool_version: str
    ruleset: str
    evaluated_phase: str
    as_of: str
    inputs: dict[str, str]


class Change(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: Literal["new", "worse", "better", "resolved", "unchanged"]
    fingerprint: str
    finding: Finding
    previous_severity: Severity | None = None  # worse and better gaps: the severity before


class ReportDiff(BaseModel):
    model_config = ConfigDict(frozen=True)

    old: Side
    new: Side
    fail_on: Severity
    failing: bool
    counts: dict[str, int]
    new_gaps: list[Change]
    worse: list[Change] = []
    better: list[Change] = []
    resolved: list[Change]
    unchanged: list[Change]


def read_report(path: Path) -> Report:
    """A JSON report written by ``cmcflex check -f json``."""
    from cmcflex.paths import os_reason, read_regular_file

    try:
        data = json.loads(read_regular_file(path, MAX_REPORT_BYTES).decode("utf-8"))
    except FileNotFoundError:
        raise DiffError(f"{path}: no such file or dossier folder") from None
    except OSError as exc:
        raise DiffError(f"{path}: cannot read: {os_reason(exc)}") from None
    except UnicodeDecodeError as exc:
        raise DiffError(f"{path}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise DiffError(f"{path}:{exc.lineno}:{exc.colno}: not a JSON report ({exc.msg}); "
                        "give a report from 'cmcflex check -f json' or a dossier folder") from None
    except ValueError as exc:  # a device, a pipe, or larger than the limit
        raise DiffError(f"{path}: not a JSON report: {exc}") from None
    try:
        return Report.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise DiffError(f"{path}: not a cmcflex JSON report ({where}: {first['msg']})") from None


def _side(report: Report, label: str) -> Side:
    return Side(label=label, product=report.dossier.product, tool_version=report.tool.version,
                ruleset=report.tool.ruleset, evaluated_phase=report.evaluated_phase.value,
                as_of=report.as_of, inputs={i.file: i.sha256 for i in report.inputs})


def _keyed(findings: list[Finding]) -> dict[tuple[str, int], Finding]:
    """Each finding keyed by fingerprint and its occurrence among equal fingerprints."""
    out: dict[tuple[str, int], Finding] = {}
    seen: dict[str, int] = {}
    for f in findings:
        n = seen.get(f.fingerprint, 0)
        seen[f.fingerprint] = n + 1
        out[(f.fingerprint, n)] = f
    return out


def compare(old: Report, new: Report, fail_on: Severity = Severity.MAJOR,
            old_label: str = "old", new_label: str = "new") -> ReportDiff:
    """Pair the gaps of two reports by fingerprint; severity rises are worse, falls better."""
    before, after = _keyed(old.findings), _keyed(new.findings)
    new_gaps = [Change(status="new", fingerprint=k[0], finding=f) for k, f in after.items() if k not in before]
    resolved = [Change(status="resolved", fingerprint=k[0], finding=f) for k, f in before.items() if k not in after]
    worse, better, unchanged = [], [], []
    for k, f in after.items():
        if k not in before:
            continue
        was = before[k].severity
        if f.severity > was:
            worse.append(Change(status="worse", fingerprint=k[0], finding=f, previous_severity=was))
        elif f.severity < was:
            better.append(Change(status="better", fingerprint=k[0], finding=f, previous_severity=was))
        else:
            unchanged.append(Change(status="unchanged", fingerprint=k[0], finding=f))
    gating = sum(1 for c in [*new_gaps, *worse] if c.finding.severity >= fail_on)
    return ReportDiff(
        old=_side(old, old_label), new=_side(new, new_label), fail_on=fail_on, failing=gating > 0,
        counts={"new": len(new_gaps), "worse": len(worse), "better": len(better), "resolved": len(resolved),
                "unchanged": len(unchanged), "new_at_or_above_fail_on": gating},
        new_gaps=new_gaps, worse=worse, better=better, resolved=resolved, unchanged=unchanged,
    )


def _groups(d: ReportDiff) -> tuple[tuple[str, list[Change]], ...]:
    return (("New", d.new_gaps), ("Worse", d.worse), ("Better", d.better), ("Resolved", d.resolved),
            ("Unchanged", d.unchanged))


def _line(c: Change) -> str:
    f = c.finding
    loc = f"{f.file}:{f.line}" if f.line else f.file
    extra = f" (was {c.previous_severity.value})" if c.previous_severity else ""
    record = f" · {f.record}" if f.record else ""
    return clean(f"  {f.severity.value.upper():8} {f.rule}{extra} {f.message} [{loc}{record}]")


def render_text(d: ReportDiff) -> str:
    c = d.counts
    out = [clean(f"cmcflex diff: {d.old.label} → {d.new.label}"),
           f"{c['new']} new · {c['worse']} worse · {c['better']} better · {c['resolved']} resolved · "
           f"{c['unchanged']} unchanged gaps ({c['new_at_or_above_fail_on']} new or worse at or above "
           f"{d.fail_on.value})"]
    if d.old.ruleset != d.new.ruleset or d.old.tool_version != d.new.tool_version:
        out.append(f"note: compared across versions (cmcflex {d.old.tool_version} rule set {d.old.ruleset} → "
                   f"{d.new.tool_version} rule set {d.new.ruleset}); some changes may come from the rules")
    for title, group in _groups(d):
        if group:
            out += ["", f"{title} ({len(group)})"] + [_line(ch) for ch in group]
    out += ["", ("FAIL: new or worse gaps at or above " if d.failing else "PASS: no new or worse gaps at or above ")
            + d.fail_on.value]
    return "\n".join(out) + "\n"


def render_markdown(d: ReportDiff) -> str:
    from cmcflex.report.markdown import md

    c = d.counts
    verdict = "❌ new or worse gaps" if d.failing else "✅ no new or worse gaps"
    out = [f"## cmcflex diff: {verdict} at or above {d.fail_on.value}", "",
           f"{md(d.old.label)} → {md(d.new.label)}: **{c['new']} new**, **{c['worse']} worse**, "
           f"{c['better']} better, {c['resolved']} resolved, {c['unchanged']} unchanged", ""]
    for title, group in _groups(d):
        if not group:
            continue
        out += [f"### {title} ({len(group)})", ""]
        for ch in group:
            f = ch.finding
            loc = f"{f.file}:{f.line}" if f.line else f.file
            was = f" (was {ch.previous_severity.value})" if ch.previous_severity else ""
            out.append(f"- **{f.severity.value.upper()}**{was} `{f.rule}` {md(f.message)} "
                       f"`{clean(loc).replace('`', '')}`" + (f" · {md(f.record)}" if f.record else ""))
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def render(d: ReportDiff, fmt: str) -> str:
    if fmt == "json":
        return json_inert(json.dumps(d.model_dump(mode="json"), indent=2, sort_keys=True, ensure_ascii=False)) + "\n"
    if fmt == "markdown":
        return render_markdown(d)
    return render_text(d)
