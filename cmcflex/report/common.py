"""Small helpers shared by the file formats (SARIF, JUnit, Markdown, HTML, GitHub)."""

from __future__ import annotations

from typing import NamedTuple

from cmcflex.report.model import Finding, Report, WaiverNote
from cmcflex.report.text import clean
from cmcflex.vocabulary import Area, Severity


class FiredRule(NamedTuple):
    """What the report knows about a rule that produced at least one finding."""

    id: str
    slug: str
    title: str
    area: str
    cites: tuple[str, ...]
    remedy: str
    ctd: tuple[str, ...] = ()  # the rule's CTD Module 3 sections (a finding may narrow them)


def artifact_uri(report: Report, file: str) -> str:
    """The dossier file as a forward-slash path beside the checked folder (``dossiers/x/ppq.yaml``)."""
    if any(i.file == file and i.role != "dossier" for i in report.inputs):
        return file.replace("\\", "/")
    base = report.dossier.path.replace("\\", "/").rstrip("/")
    while base.startswith("./"):
        base = base[2:]
    return f"{base}/{file}" if base not in ("", ".") else file


def all_findings(report: Report) -> list[Finding]:
    """Open findings, then waived ones (each list already in report order)."""
    return [*report.findings, *report.waived]


def fired_rules(report: Report) -> list[FiredRule]:
    """Rules with open or waived findings, in rule-id order within area order. A rule evaluated
    for this report gives its own cites and remedy (``Report.rule_facts``; a finding may carry
    narrower ones for its record); any other (a report read back from JSON) takes those of its
    first finding."""
    seen: dict[str, FiredRule] = {}
    for f in all_findings(report):
        if f.rule in seen:
            continue
        known = report.rule_facts.get(f.rule)
        cites, remedy, sections = ((known.cites, known.remedy, known.ctd) if known is not None and known.slug == f.slug
                                   else (tuple(f.cites), f.remedy, tuple(f.ctd)))
        seen[f.rule] = FiredRule(f.rule, f.slug, f.title, f.area, tuple(cites), remedy, tuple(sections))
    order = [a.value for a in Area]
    return sorted(seen.values(), key=lambda r: (order.index(r.area) if r.area in order else 99, r.id))


def phase_text(report: Report) -> str:
    text = report.phase.label
    if report.evaluated_phase != report.phase:
        text += f" (rules of {report.evaluated_phase.label})"
    if report.target is not None:
        text += f", target {report.target.label}"
    return text


def where(f: Finding) -> str:
    loc = f"{f.file}:{f.line}" if f.line else f.file
    return f"{loc} · {f.record}" if f.record else loc


def note_text(note: WaiverNote) -> str:
    """One sentence on a waiver that did not apply."""
    scope = f" ({clean(note.scope)})" if note.scope else ""
    if note.status == "expired":
        return f"waiver of {note.rule}{scope} expired on {note.expires}; the gap is open again"
    if note.status == "outgrown":
        return f"waiver of {note.rule}{scope} does not carry over: {note.detail}"
    if note.status == "unknown_rule":
        return f"waiver of {note.rule}{scope} waives nothing: {note.detail}"
    return f"waiver of {note.rule}{scope} matches no finding; remove it or correct its rule or scope"


def approval(f: Finding) -> str:
    """``approved by X, expires D`` of a waived finding; an accepted gap with no approver or no
    expiry on record says so (an auditor asks who accepted it, and until when)."""
    by = getattr(f, "waiver_approved_by", None)
    expires = getattr(f, "waiver_expires", None)
    who = f"approved by {clean(by)}" if by else "no approver recorded"
    return f"{who}, {'expires ' + expires if expires else 'no expiry'}"


def waiver_text(f: Finding) -> str:
    """``justification (approved by X, expires D)`` of a waived finding."""
    return f"{clean(getattr(f, 'waiver_justification', ''))} ({approval(f)})"


def severity_note(f: Finding) -> str:
    if f.default_severity is None:
        return ""
    return f"severity set by configuration; default {f.default_severity.value}"


def configuration_parts(report: Report) -> list[tuple[str, str]]:
    """The configuration in force as (label, text) pairs, shown in every format's header:
    the file read, the rule selection, and the severity overrides."""
    c = report.configuration
    parts = [("Configuration", clean(c.file) if c.file else "none (defaults)")]
    if c.select:
        parts.append(("Select", clean(", ".join(c.select))))
    if c.ignore:
        parts.append(("Ignore", clean(", ".join(c.ignore))))
    if report.severity_overrides:
        parts.append(("Severity overrides", ", ".join(f"{k}={v.value}" for k, v in report.severity_overrides.items())))
    return parts


def configuration_line(report: Report) -> str:
    """``configuration: cmcflex.toml · select: PPQ · severity overrides: PPQ-005=minor``."""
    return " · ".join(f"{k.lower()}: {v}" for k, v in configuration_parts(report))


def counts_line(report: Report) -> str:
    c = report.counts
    parts = [f"{c.get(s.value, 0)} {s.value}" for s in reversed(list(Severity))]
    parts += [f"{c.get('waived', 0)} waived", f"{c.get('not_evaluated', 0)} not evaluated",
              f"{len(report.rules_evaluated)} rules run"]
    return " · ".join(parts)


def ppq_summary_line(s: dict) -> str:
    """One line: "PPQ: 2 planned · 2 executed · 2 passing · concurrent release: yes · ..."."""
    parts = [f"{s[k]} {label}" for k, label in (("lots_planned", "planned"), ("lots_executed", "executed"),
                                                 ("lots_passing", "passing")) if s.get(k) is not None]
    parts.append(f"concurrent release: {'yes' if s.get('concurrent_release') else 'no'}")
    parts.append(f"justification: {s.get('justification') or 'none'}")
    report = s.get("report_status")
    parts.append(f"report: {report}/{s.get('report_conclusion')}" if report else "report: none")
    return "PPQ: " + " · ".join(parts)


def area_summary(area: Area, report: Report) -> str | None:
    """The one-line digest of an area (today: PPQ), as shown under its heading in every format."""
    digest = report.summaries.get(area.value.lower())
    if digest is None or area is not Area.PPQ:
        return None
    return clean(ppq_summary_line(digest))
