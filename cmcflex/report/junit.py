"""JUnit XML (Ant schema): one test suite per area, one test case per rule evaluated.

A rule with open gaps at or above ``--fail-on`` is a failure (so the published test results agree
with the verdict and nothing else fails). A rule with gaps only below ``--fail-on``, with waived
findings, or that could not be evaluated is skipped, its message saying which (the Ant schema
allows no output inside a test case, so ``skipped`` is how a non-failing case carries text); a
rule with none of these passes. Each suite's ``system-out`` also lists the gaps below
``--fail-on`` with their rule ids, so nothing is hidden.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from cmcflex.report.common import note_text, waiver_text, where
from cmcflex.report.grouping import sections_text
from cmcflex.report.model import Finding, Report
from cmcflex.report.text import clean
from cmcflex.vocabulary import Area, Severity

_NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")


def _x(text: object) -> str:
    """Text safe in XML 1.0: no control characters, no unpaired surrogates."""
    return _NOT_XML.sub("\N{REPLACEMENT CHARACTER}", clean(text, lines=True))


def _timestamp(report: Report) -> str:
    if report.generated_at:
        return report.generated_at[:19]
    return f"{report.as_of}T00:00:00"


def _describe(f: Finding) -> str:
    lines = [f"[{f.severity.value}] {f.rule} {f.message}", f"  where:  {where(f)}",
             f"  cites:  {'; '.join(f.cites)}", f"  remedy: {f.remedy}"]
    if f.ctd:
        lines.append(f"  ctd:    {sections_text(f)}")
    if f.default_severity is not None:
        lines.append(f"  note:   severity set by configuration; default {f.default_severity.value}")
    return "\n".join(lines)


def _properties(report: Report, suite: ET.Element) -> None:
    props = ET.SubElement(suite, "properties")
    pairs = [
        ("tool.version", report.tool.version), ("ruleset", report.tool.ruleset),
        ("product", report.dossier.product), ("modality", report.dossier.modality),
        ("phase", report.phase.value), ("evaluated_phase", report.evaluated_phase.value),
        ("target", report.target.value if report.target else ""), ("as_of", report.as_of),
        ("fail_on", report.fail_on.value), ("verdict", report.verdict),
    ]
    config = report.configuration
    pairs += [("config.file", config.file or ""), ("config.select", ",".join(config.select)),
              ("config.ignore", ",".join(config.ignore))]
    pairs += [(f"severity_override.{k}", v.value) for k, v in report.severity_overrides.items()]
    pairs += [(f"sha256.{i.file}", i.sha256) for i in report.inputs]
    for name, value in pairs:
        ET.SubElement(props, "property", name=_x(name), value=_x(value))


def _ctd_properties(suite: ET.Element, report: Report, rule_ids: list[str]) -> None:
    """``ctd.RULE-ID``: the CTD Module 3 sections of each fired rule of the suite, space-separated."""
    props = suite.find("properties")
    for rule_id in rule_ids:
        known = report.rule_facts.get(rule_id)
        if props is not None and known is not None and known.ctd:
            ET.SubElement(props, "property", name=f"ctd.{rule_id}", value=" ".join(known.ctd))


def _area_of(rule_id: str) -> str:
    return rule_id.split("-", 1)[0]


def to_element(report: Report) -> ET.Element:
    root = ET.Element("testsuites")
    open_by_rule: dict[str, list[Finding]] = {}
    for f in report.findings:
        open_by_rule.setdefault(f.rule, []).append(f)
    waived_by_rule: dict[str, list[Finding]] = {}
    for f in report.waived:
        waived_by_rule.setdefault(f.rule, []).append(f)
    reasons: dict[str, list[str]] = {}
    for n in report.not_evaluated:
        reasons.setdefault(n.rule, []).append(n.reason)
    order = [a.value for a in Area]
    areas = sorted({_area_of(r) for r in report.rules_evaluated},
                   key=lambda a: (order.index(a) if a in order else 99, a))
    for suite_id, area in enumerate(areas or ["cmcflex"]):
        suite = ET.Element("testsuite", name=f"cmcflex.{area}", timestamp=_timestamp(report),
                           hostname="localhost", tests="0", failures="0", errors="0", skipped="0",
                           time="0", package="cmcflex", id=str(suite_id))
        root.append(suite)
        _properties(report, suite)
        _ctd_properties(suite, report, [r for r in report.rules_evaluated if _area_of(r) == area])
        tests = failures = skipped = 0
        below: list[str] = []
        for rule_id in (r for r in report.rules_evaluated if _area_of(r) == area):
            tests += 1
            case = ET.SubElement(suite, "testcase", name=rule_id, classname=f"cmcflex.{area}", time="0")
            gaps = open_by_rule.get(rule_id, [])
            failing = [f for f in gaps if f.severity >= report.fail_on]
            below += [_describe(f) for f in gaps if not f.severity >= report.fail_on]
            if failing:
                failures += 1
                worst = max(failing, key=lambda f: f.severity.rank)
                message = failing[0].message if len(failing) == 1 else f"{len(failing)} gaps: {failing[0].message}"
                failure = ET.SubElement(case, "failure", message=_x(message), type=worst.severity.value)
                failure.text = _x("\n\n".join(_describe(f) for f in failing))
            else:
                below_here = [f for f in gaps if not f.severity >= report.fail_on]
                waived = waived_by_rule.get(rule_id, [])
                messages, texts = [], []
                if below_here:
                    tally = ", ".join(f"{count} {sev.value}" for sev in reversed(list(Severity))
                                      if (count := sum(1 for f in below_here if f.severity is sev)))
                    messages.append(f"below --fail-on {report.fail_on.value} ({tally}): {below_here[0].message}")
                    texts += [_describe(f) for f in below_here]
                if waived:
                    messages.append("waived: " + "; ".join(waiver_text(f) for f in waived))
                    texts += [_describe(f) + "\n  waived: " + waiver_text(f) for f in waived]
                if rule_id in reasons:
                    messages.append("not evaluated: " + "; ".join(reasons[rule_id]))
                if messages:
                    skipped += 1
                    node = ET.SubElement(case, "skipped", message=_x(" | ".join(messages)))
                    if texts:
                        node.text = _x("\n\n".join(texts))
        suite.set("tests", str(tests))
        suite.set("failures", str(failures))
        suite.set("skipped", str(skipped))
        out = ET.SubElement(suite, "system-out")
        notes = [note_text(n) for n in report.waiver_notes
                 if _area_of(n.rule.strip().upper()) == area
                 or (suite_id == 0 and _area_of(n.rule.strip().upper()) not in areas)]
        text = []
        if below:
            text.append(f"Gaps below --fail-on {report.fail_on.value}:\n" + "\n\n".join(below))
        if notes:
            text.append("Waivers that did not apply:\n" + "\n".join(f"  {n}" for n in notes))
        nothing = [r.note for r in report.no_records if any(_area_of(rule) == area for rule in r.rules)]
        if nothing:
            text.append("Nothing recorded:\n" + "\n".join(f"  {n}" for n in nothing))
        out.text = _x("\n\n".join(text))
        ET.SubElement(suite, "system-err").text = ""
    return root


def render(report: Report) -> str:
    root = to_element(report)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
