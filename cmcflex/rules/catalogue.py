"""Views of the rule metadata: the `rules` table, its JSON, and `explain` text."""

from __future__ import annotations

import json
from typing import Iterable

from rich.table import Table
from rich.text import Text

from cmcflex.phases import PHASES
from cmcflex.rules.base import Rule

_SHORT = {"blocker": "B", "major": "Ma", "minor": "Mi", "info": "I"}


def rule_dict(rule: Rule) -> dict:
    return {
        "id": rule.id,
        "slug": rule.slug,
        "area": rule.area.value,
        "title": rule.title,
        "severity": {p.value: rule.severity[p].value for p in PHASES if p in rule.severity},
        "cites": list(rule.cites),
        "remedy": rule.remedy,
        "why": rule.why,
    }


def rules_json(rules: Iterable[Rule]) -> str:
    return json.dumps([rule_dict(r) for r in rules], indent=2, ensure_ascii=False) + "\n"


def rule_table(rules: Iterable[Rule]) -> Table:
    table = Table(title="cmcflex rules", show_lines=False)
    table.add_column("id", style="bold", no_wrap=True)
    table.add_column("slug")
    table.add_column("title")
    for p in PHASES:
        table.add_column({"phase_1": "P1", "phase_2": "P2", "phase_3": "P3", "bla": "BLA",
                          "post_approval": "PA"}[p.value], justify="center")
    for r in rules:
        table.add_row(r.id, r.slug, r.title,
                      *(_SHORT[r.severity[p].value] if p in r.severity else "—" for p in PHASES))
    return table


def explain_text(rule: Rule) -> Text:
    t = Text()
    t.append(f"{rule.id} {rule.slug}\n", style="bold")
    t.append(f"{rule.title}\n\n")
    t.append("Why it matters\n", style="bold underline")
    t.append(f"{rule.why}\n\n")
    t.append("Severity by phase\n", style="bold underline")
    for p in PHASES:
        t.append(f"  {p.label:<20} {rule.severity[p].value if p in rule.severity else 'not applied'}\n")
    t.append("\nCites\n", style="bold underline")
    for c in rule.cites:
        t.append(f"  - {c}\n")
    t.append("\nRemedy\n", style="bold underline")
    t.append(f"{rule.remedy}\n")
    return t
