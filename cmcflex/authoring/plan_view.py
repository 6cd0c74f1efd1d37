"""Console view of a plan: a milestone table, then each milestone's new gaps grouped by area."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cmcflex.authoring.plan import Milestone, Plan, grouped
from cmcflex.report.text import clean

_STYLE = {"blocker": "bold red", "major": "red", "minor": "yellow", "info": "cyan"}


def _safe(text: object) -> str:
    """Dossier text for Rich markup: no control characters, no markup."""
    return escape(clean(text))


def _counts(m: Milestone, findings: list) -> str:
    parts = [f"{n} {s}" for s, n in m.counts(findings).items() if n]
    return ", ".join(parts) if parts else "-"


def print_plan(plan: Plan, console: Console, group_by: str = "area") -> None:
    console.print(f"[bold]Roadmap for {_safe(plan.product)}[/] ({plan.modality}) · now at "
                  f"{plan.phase.label} · pivotal study: {plan.pivotal_phase.value.replace('_', ' ')} · as of {plan.as_of}")
    console.print(f"Open gaps now: {len(plan.now.open)} ({_counts(plan.now, plan.now.open)})")
    if not plan.milestones:
        console.print("No later milestone: the product is post-approval; `cmcflex check` lists its gaps.")
        return
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("milestone")
    table.add_column("new gaps", justify="right")
    table.add_column("new by severity")
    table.add_column("raised", justify="right")
    table.add_column("open then", justify="right")
    for m in plan.milestones:
        table.add_row(m.label, str(len(m.added)), _counts(m, m.added), str(len(m.raised)), str(len(m.open)))
    console.print(table)
    for m in plan.milestones:
        console.print()
        closed = f", {len(m.closed)} no longer apply" if m.closed else ""
        console.print(f"[bold underline]{m.label[:1].upper() + m.label[1:]}[/] — {len(m.added)} new gap"
                      f"{'' if len(m.added) == 1 else 's'}, {len(m.raised)} raised{closed}")
        if not m.added and not m.raised:
            console.print("  nothing new")
        for key, title, group in grouped(m.added, group_by):
            heading = title if group_by == "ctd" else f"{key} — {title}"
            console.print(f"  [bold]{_safe(heading)}[/] ({len(group)})")
            for f in group:
                where = f"{f.file}:{f.line}" if f.line else f.file
                console.print(f"    [{_STYLE[f.severity.value]}]{f.severity.value.upper():<7}[/] {f.rule} "
                              f"{_safe(f.message)} [dim]({_safe(where)})[/]")
        if m.raised:
            console.print("  [bold]Raised in severity[/]")
            for r in sorted(m.raised, key=lambda r: (r.finding.area, r.finding.rule)):
                f = r.finding
                console.print(f"    {r.was.value} → [{_STYLE[f.severity.value]}]{f.severity.value}[/] {f.rule} "
                              f"{_safe(f.message)}")
    console.print()
    console.print(f"[bold]Summary:[/] {plan.summary()}")
