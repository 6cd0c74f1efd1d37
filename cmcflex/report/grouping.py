"""How the console, Markdown and HTML reports group findings: by area, or by CTD Module 3 section.

By section, findings that belong to the same sections form one group, and groups follow the
CTD order of their first section (3.2.S before 3.2.P before 3.2.A and 3.2.R); a finding with no
section (a report written before the map) comes last. Each finding is shown once.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal, NamedTuple

from cmcflex import ctd
from cmcflex.report.common import area_summary
from cmcflex.report.model import Finding, Report
from cmcflex.vocabulary import Area, Severity

GroupBy = Literal["area", "ctd"]
GROUPINGS: tuple[str, ...] = ("area", "ctd")
GROUPED_FORMATS = frozenset({"console", "markdown", "html"})
"""The formats whose renderer takes ``group_by``."""


class Group(NamedTuple):
    heading: str  # "SPEC — Specifications and methods" or "3.2.P.5.6 Justification of Specification(s)"
    findings: list[Finding]
    digest: str | None = None  # the area's one-line summary (today: PPQ), shown under the heading


class Grouping(NamedTuple):
    groups: list[Group]
    notes: list[str]  # area summaries shown before the groups when they are not by area


def section_label(section: str) -> str:
    """``3.2.P.5.6 Justification of Specification(s)``; an id the table does not hold, as it is."""
    return ctd.label(section) if ctd.is_section(section) else section


def sections_text(f: Finding) -> str:
    """A finding's sections on one line, ``; ``-separated (empty without any)."""
    return "; ".join(section_label(s) for s in f.ctd)


def group_findings(report: Report, by: GroupBy = "area", findings: list[Finding] | None = None) -> Grouping:
    """The open findings (or ``findings``) in groups, in report order within each group."""
    shown = report.findings if findings is None else findings
    if by == "ctd":
        buckets: dict[tuple[str, ...], list[Finding]] = {}
        for f in shown:
            buckets.setdefault(tuple(f.ctd), []).append(f)
        groups = [Group(" · ".join(section_label(s) for s in key) or "No CTD section", group)
                  for key, group in sorted(buckets.items(), key=lambda item: ctd.sort_key(item[0]))]
        notes = [digest for area in Area if (digest := area_summary(area, report)) is not None]
        return Grouping(groups, notes)
    out = []
    for area in Area:
        group = [f for f in shown if f.area == area.value]
        digest = area_summary(area, report)
        if group or digest is not None:
            out.append(Group(f"{area.value} — {area.title}", group, digest))
    return Grouping(out, [])


def section_rows(report: Report) -> list[tuple[str, list[int], int]]:
    """The summary by CTD section: (sections, open findings per severity from blocker to info,
    waived), one row per group of sections that has an open or waived finding, in CTD order."""
    counts: Counter[tuple[tuple[str, ...], str]] = Counter((tuple(f.ctd), f.severity.value) for f in report.findings)
    waived: Counter[tuple[str, ...]] = Counter(tuple(f.ctd) for f in report.waived)
    keys = {key for key, _ in counts} | set(waived)
    return [(" · ".join(section_label(s) for s in key) or "No CTD section",
             [counts[(key, s.value)] for s in reversed(list(Severity))], waived[key])
            for key in sorted(keys, key=ctd.sort_key)]


def render(name: str, report: Report, group_by: GroupBy = "area") -> str | bytes:
    """One format of the report (cmcflex.report.formats), grouped as asked where the format groups."""
    from cmcflex.report.formats import renderer

    rendered = renderer(name)
    return rendered(report, group_by=group_by) if name in GROUPED_FORMATS else rendered(report)  # type: ignore[call-arg]  # grouped renderers take group_by
