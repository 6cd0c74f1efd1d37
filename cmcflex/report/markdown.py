"""Markdown summary for a merge-request comment or a wiki page: verdict, summary table, findings.

Dossier text is escaped so that it cannot add links, images, HTML, headings or @-mentions.
"""

from __future__ import annotations

import re

from cmcflex.report.common import configuration_parts, counts_line, note_text, phase_text, waiver_text
from cmcflex.report.grouping import GroupBy, group_findings, section_rows, sections_text
from cmcflex.report.model import Finding, Report
from cmcflex.report.text import clean
from cmcflex.vocabulary import Area, Severity

_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "@": "&#64;", "\n": " ", "\r": " "}


_URL = re.compile(r"(?i)\b(?:[a-z][a-z0-9+.-]*://|www\.)(?:[^\s`]*[^\s`.,;:!?)\]}'\"])?")


def md(text: object) -> str:
    """Dossier text as inert Markdown (one line, punctuation escaped, HTML as entities, and web
    addresses as code, which no renderer turns into a link)."""
    out, at = [], 0
    plain = clean(text)
    for url in _URL.finditer(plain):
        out.append(_inert(plain[at:url.start()]))
        out.append(_code(url.group().replace("|", "%7C")))
        at = url.end()
    out.append(_inert(plain[at:]))
    return "".join(out)


def _inert(text: str) -> str:
    escaped = _SPECIAL.sub(r"\\\1", text)
    return "".join(_ENTITIES.get(ch, ch) for ch in escaped)


def _code(text: str) -> str:
    return f"`{text.replace('`', '')}`"


def _finding(f: Finding) -> list[str]:
    loc = f"{f.file}:{f.line}" if f.line else f.file
    head = f"- **{f.severity.value.upper()}** {_code(f.rule)} {md(f.message)}"
    if f.default_severity is not None:
        head += f" _(severity set by configuration; default {f.default_severity.value})_"
    lines = [head, f"  - where: {_code(clean(loc))}" + (f" · {md(f.record)}" if f.record else ""),
             f"  - cites: {md('; '.join(f.cites))}", f"  - remedy: {md(f.remedy)}"]
    if f.ctd:
        lines.append(f"  - CTD: {md(sections_text(f))}")
    waived = getattr(f, "waiver_justification", None)
    if waived is not None:
        lines.append(f"  - waived: {md(waiver_text(f))}")
    return lines


def _table(report: Report) -> list[str]:
    sevs = list(reversed(list(Severity)))
    lines = ["| Area | " + " | ".join(s.value.capitalize() for s in sevs) + " | Waived |",
             "|---|" + "---:|" * (len(sevs) + 1)]
    for area in Area:
        row = [sum(1 for f in report.findings if f.area == area.value and f.severity is s) for s in sevs]
        row.append(sum(1 for f in report.waived if f.area == area.value))
        lines.append(f"| {area.value} — {area.title} | " + " | ".join(str(n) for n in row) + " |")
    total = [report.counts.get(s.value, 0) for s in sevs] + [report.counts.get("waived", 0)]
    lines.append("| **Total** | " + " | ".join(f"**{n}**" for n in total) + " |")
    return lines


def _section_table(report: Report) -> list[str]:
    """The summary table by CTD section (``--group-by ctd``)."""
    sevs = list(reversed(list(Severity)))
    lines = ["| CTD section | " + " | ".join(s.value.capitalize() for s in sevs) + " | Waived |",
             "|---|" + "---:|" * (len(sevs) + 1)]
    lines += [f"| {md(label)} | " + " | ".join(str(n) for n in [*counts, waived]) + " |"
              for label, counts, waived in section_rows(report)]
    total = [report.counts.get(s.value, 0) for s in sevs] + [report.counts.get("waived", 0)]
    lines.append("| **Total** | " + " | ".join(f"**{n}**" for n in total) + " |")
    return lines


def render(report: Report, group_by: GroupBy = "area") -> str:
    d = report.dossier
    verdict = "✅ PASS" if report.verdict == "pass" else "❌ FAIL"
    out = [
        f"## cmcflex: {verdict} — {md(d.product)}",
        "",
        f"**Verdict:** {verdict} (fails on {report.fail_on.value} and above) · "
        f"**Phase:** {md(phase_text(report))} · **Pivotal phase:** {md(d.pivotal_phase.value.replace('_', ' '))} · "
        f"**Modality:** {md(d.modality)} · **As of:** {report.as_of}",
        "",
        f"{counts_line(report)}",
        "",
        " · ".join(f"**{label}:** {md(text)}" for label, text in configuration_parts(report)),
        "",
        *(_section_table(report) if group_by == "ctd" else _table(report)),
    ]
    if report.severity_overrides:
        out += ["", "**Severity overrides (configuration):** " + ", ".join(
            f"{_code(k)} → {v.value}" for k, v in report.severity_overrides.items())]
    out += ["", "### Findings", ""]
    if not report.findings:
        out.append("No gaps found at this phase.")
    grouping = group_findings(report, group_by)
    for note in grouping.notes:
        out += [md(note), ""]
    for group in grouping.groups:
        out += [f"#### {md(group.heading)} ({len(group.findings)})", ""]
        if group.digest:
            out += [md(group.digest), ""]
        for f in group.findings:
            out += _finding(f)
        out.append("")
    if report.waived:
        out += ["", f"<details><summary>Waived ({len(report.waived)})</summary>", ""]
        for f in report.waived:
            out += _finding(f)
        out += ["", "</details>"]
    if report.waiver_notes:
        out += ["", "### Waivers that did not apply", ""]
        out += [f"- {_code(clean(f'{n.file}:{n.line}' if n.line else n.file))} {md(note_text(n))}"
                for n in report.waiver_notes]
    if report.not_evaluated:
        out += ["", f"<details><summary>Not evaluated ({len(report.not_evaluated)})</summary>", ""]
        out += [f"- {_code(n.rule)} {md(n.reason)}" for n in report.not_evaluated]
        out += ["", "</details>"]
    for n in report.no_records:
        out += ["", md(n.note)]
    inputs = ", ".join(f"{_code(clean(i.file))} `{i.sha256[:12]}`" for i in report.inputs)
    out += ["", "---", f"<sub>cmcflex {md(report.tool.version)} · rule set {md(report.tool.ruleset)} · "
            f"evaluated phase {md(report.evaluated_phase.label)} · inputs (SHA-256): {inputs}"
            + (f" · generated {md(report.generated_at)}" if report.generated_at else "") + "</sub>"]
    return "\n".join(out).rstrip() + "\n"
