"""The flexibilities a dossier relies on: each flexible choice it makes, the guidance points it
falls under, the FDA interaction that discussed it, and what the rules that model those points
found (`cmcflex flexibilities DOSSIER`)."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from rich.table import Table
from rich.text import Text

from cmcflex.dossier.loader import Dossier
from cmcflex.dossier.models import FlexibilityTopic
from cmcflex.flexibilities import POINTS
from cmcflex.phases import rule_phase
from cmcflex.report.model import Finding, Report
from cmcflex.rules.base import Rule
from cmcflex.rules.flexibility import CHOICE_WORDS, flexible_choices
from cmcflex.views import DossierViews
from cmcflex.vocabulary import Severity

_STYLE = {Severity.BLOCKER: "bold red", Severity.MAJOR: "red", Severity.MINOR: "yellow", Severity.INFO: "dim"}


class FlexibilityUse(NamedTuple):
    """One flexible choice of the dossier and how far its conditions are on record."""

    topic: FlexibilityTopic
    choice: str
    points: tuple[str, ...]
    records: tuple[str, ...]
    interactions: tuple[str, ...]
    findings: tuple[Finding, ...]
    """Findings of the rules modelling the points (FLEX-001's on this topic included), worst first."""

    @property
    def conditions_met(self) -> bool:
        return all(f.severity is Severity.INFO for f in self.findings)


def flexibility_uses(dossier: Dossier, report: Report, rules: list[Rule], views: DossierViews) -> list[FlexibilityUse]:
    """The dossier's flexible choices, in the order of the guidance's points (``views``: the
    dossier's, as the report was built from them)."""
    phase = rule_phase(dossier.info.phase, dossier.info.pivotal_phase)
    by_topic: dict[FlexibilityTopic, list[str]] = {}
    for choice in flexible_choices(dossier, phase, views):
        by_topic.setdefault(choice.topic, []).append(choice.record)
    uses = []
    for topic, records in by_topic.items():
        points = tuple(p.id for p in POINTS.values() if p.topic is topic)
        modelling = {r.id for r in rules if set(r.flexibilities) & set(points)}
        findings = [f for f in report.findings if f.rule in modelling
                    or (f.rule == "FLEX-001" and (f.data or {}).get("topic") == topic.value)]
        findings.sort(key=lambda f: (-f.severity.rank, f.rule, f.file, f.line or 0))
        interactions = tuple(f"{x.type.value} {x.date.isoformat()}" + (f" ({x.outcome.value})" if x.outcome else "")
                             for x in dossier.info.fda_interactions if topic in x.topics)
        uses.append(FlexibilityUse(topic, CHOICE_WORDS[topic], points, tuple(records), interactions, tuple(findings)))
    return uses


def uses_json(uses: list[FlexibilityUse]) -> str:
    rows: list[dict[str, Any]] = [
        {"topic": u.topic.value, "choice": u.choice, "points": list(u.points), "records": list(u.records),
         "fda_interactions": list(u.interactions), "conditions_met": u.conditions_met,
         "findings": [{"rule": f.rule, "severity": f.severity.value, "message": f.message, "file": f.file,
                       "line": f.line} for f in u.findings]}
        for u in uses
    ]
    return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"


def uses_table(uses: list[FlexibilityUse], label: str) -> Table | Text:
    if not uses:
        return Text(f"{label}: no flexible choice of the May 2026 CMC flexibilities guidance found.")
    table = Table(title=f"Flexibilities relied on: {label}", show_lines=True)
    table.add_column("point", no_wrap=True, style="bold")
    table.add_column("flexible choice")
    table.add_column("FDA interaction")
    table.add_column("conditions")
    for u in uses:
        cell = Text()
        if u.conditions_met:
            cell.append("on record", style="green")
        for f in u.findings:
            if cell:
                cell.append("\n")
            cell.append(f"{f.rule} {f.severity.value}: ", style=_STYLE[f.severity])
            cell.append(f.message)
        what = f"{u.choice}\n" + ", ".join(u.records)
        asked = any(f.rule == "FLEX-001" and f.severity is not Severity.INFO for f in u.findings)
        none = Text("none on record", style="red" if asked else "dim")
        table.add_row(", ".join(u.points), what, "\n".join(u.interactions) or none, cell)
    return table
