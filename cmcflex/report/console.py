"""The terminal report (Rich): header, findings by area and severity, not-evaluated, summary.

Every dossier string goes in as plain :class:`rich.text.Text`, never as markup, so a dossier
cannot inject colours, links or control sequences.
"""

from __future__ import annotations

import io

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from cmcflex.report.common import approval, configuration_parts, note_text
from cmcflex.report.grouping import GroupBy, group_findings, sections_text
from cmcflex.report.model import Finding, Report
from cmcflex.report.text import clean, location
from cmcflex.vocabulary import Severity

STYLE = {
    Severity.BLOCKER: "bold white on red",
    Severity.MAJOR: "bold red",
    Severity.MINOR: "yellow",
    Severity.INFO: "cyan",
}


def _header(report: Report) -> Panel:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    d = report.dossier
    grid.add_row("Product", Text(clean(d.product)))
    grid.add_row("Modality", Text(d.modality))
    phase = report.phase.label
    if report.evaluated_phase != report.phase:
        phase += f" (rules of {report.evaluated_phase.label})"
    grid.add_row("Phase", Text(phase))
    grid.add_row("Target", Text(report.target.label if report.target else "current phase"))
    grid.add_row("Pivotal phase", Text(d.pivotal_phase.value.replace("_", " ")))
    grid.add_row("Evaluated as of", Text(report.as_of))
    for label, text in configuration_parts(report):
        grid.add_row(label, Text(text))
    verdict = Text("PASS", style="bold green") if report.verdict == "pass" else Text("FAIL", style="bold red")
    verdict.append(f"  (fails on {report.fail_on.value} and above)", style="dim")
    grid.add_row("Verdict", verdict)
    return Panel(grid, title=Text(f"cmcflex {report.tool.version} · {clean(d.path)}"), expand=False)


def _finding(f: Finding, waived: bool = False) -> Group:
    head = Text()
    head.append(f" {f.severity.value.upper()} ", style=STYLE[f.severity])
    head.append(f" {f.rule} ", style="bold")
    if f.default_severity is not None:
        head.append(f"(severity set by configuration; default {f.default_severity.value}) ", style="dim")
    head.append(clean(f.message))
    lines = [head]
    where = location(f.file, f.line)
    if f.record:
        where += f" · {f.record}"
    lines.append(Text.assemble(("    where  ", "dim"), clean(where)))
    lines.append(Text.assemble(("    cites  ", "dim"), clean("; ".join(f.cites))))
    lines.append(Text.assemble(("    remedy ", "dim"), clean(f.remedy)))
    if f.ctd:
        lines.append(Text.assemble(("    CTD    ", "dim"), sections_text(f)))
    if waived:
        lines.append(Text.assemble(("    waived ", "dim"), clean(getattr(f, "waiver_justification", "")),
                                   (f" ({approval(f)})", "dim")))
    return Group(*lines)


def _summary(report: Report) -> Text:
    c = report.counts
    text = Text()
    for sev in reversed(list(Severity)):
        n = c.get(sev.value, 0)
        text.append(f"{n} {sev.value}", style=STYLE[sev] if n else "dim")
        text.append(" · ")
    text.append(f"{c.get('waived', 0)} waived · {c.get('not_evaluated', 0)} not evaluated · "
                f"{len(report.rules_evaluated)} rules run")
    return text


def build(report: Report, group_by: GroupBy = "area") -> list:
    """The renderables of the report, in order; findings grouped by area or by CTD section."""
    parts: list = [_header(report)]
    grouping = group_findings(report, group_by)
    if grouping.notes:
        parts.append(Text())
        parts.extend(Text(note, style="dim") for note in grouping.notes)
    for group in grouping.groups:
        parts.append(Text(f"\n{group.heading} ({len(group.findings)})", style="bold underline"))
        if group.digest is not None:
            parts.append(Text(group.digest, style="dim"))
        parts.extend(_finding(f) for f in group.findings)
    if not report.findings:
        parts.append(Text("\nNo gaps found at this phase.", style="bold green"))
    if report.waived:
        parts.append(Text(f"\nWaived ({len(report.waived)})", style="bold underline"))
        parts.extend(_finding(f, waived=True) for f in report.waived)
    if report.waiver_notes:
        parts.append(Text("\nWaivers that did not apply", style="bold underline"))
        for n in report.waiver_notes:
            parts.append(Text(f"  {location(n.file, n.line)}: {note_text(n)}"))
    if report.not_evaluated:
        parts.append(Text(f"\nNot evaluated ({len(report.not_evaluated)})", style="bold underline"))
        for entry in report.not_evaluated:
            parts.append(Text.assemble(("  " + entry.rule + " ", "bold"), clean(entry.reason)))
    if report.no_records:
        parts.append(Text())
        parts.extend(Text(clean(n.note), style="dim") for n in report.no_records)
    parts.append(Text())
    parts.append(_summary(report))
    return parts


def new_console(**options: object) -> Console:
    """A console for reports: every part is built as Text, so no markup, emoji codes or highlighting
    are looked for in strings (cheaper, and dossier text can never be read as markup)."""
    return Console(highlight=False, markup=False, emoji=False, **options)  # type: ignore[arg-type]


def print_report(report: Report, console: Console, group_by: GroupBy = "area") -> None:
    for part in build(report, group_by):
        console.print(part)


def verdict_line(report: Report) -> Text:
    """``FAIL (fails on major and above): 0 blocker · 1 major · …``: all that ``--quiet`` prints."""
    line = Text("PASS", style="bold green") if report.verdict == "pass" else Text("FAIL", style="bold red")
    line.append(f" (fails on {report.fail_on.value} and above): ")
    line.append_text(_summary(report))
    line.append(f" · {clean(report.dossier.path)}")
    return line


def print_verdict(report: Report, console: Console) -> None:
    console.print(verdict_line(report), soft_wrap=True)


def render(report: Report, group_by: GroupBy = "area") -> str:
    """Plain text (no colour) of the console report, for files."""
    buffer = io.StringIO()
    console = new_console(file=buffer, width=100, color_system=None, force_terminal=False)
    print_report(report, console, group_by)
    return buffer.getvalue()
