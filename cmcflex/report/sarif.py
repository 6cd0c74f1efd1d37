"""SARIF 2.1.0 log for code-scanning services: one result per finding, waived ones suppressed.

Rules that fired are described in ``tool.driver.rules`` (title, citations, remedy, ``helpUri``
to their section of docs/rules.md); input files and their SHA-256 are ``artifacts``; waivers
that did not apply and rules that could not be evaluated are tool notifications of the one
invocation. File locations are relative to a root folder (``uriBaseId`` SRCROOT, by default the
folder cmcflex runs in, the repository root in CI), so code scanning finds them in the
repository; a file outside the root keeps an absolute ``file://`` URI.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cmcflex import ctd
from cmcflex.paths import display_path
from cmcflex.report.common import FiredRule, all_findings, artifact_uri, fired_rules, note_text, severity_note
from cmcflex.report.model import Finding, Report, WaivedFinding
from cmcflex.report.text import clean, json_inert
from cmcflex.vocabulary import Severity

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
DESCRIPTION = ("BLA readiness checks for cell and gene therapy CMC dossiers, phase-aware, under the FDA CBER "
               "2026 CMC flexibilities. Documentation: docs/rules.md (every rule, its severity by phase and "
               "citations), docs/pipelines.md (formats, waivers, configuration) and docs/dossier-format.md in the "
               "cmcflex sources; `cmcflex explain RULE-ID` explains one rule.")
MAX_DATA_CHARS = 4000
LEVEL = {Severity.BLOCKER: "error", Severity.MAJOR: "error", Severity.MINOR: "warning", Severity.INFO: "note"}
ROOT_ID = "SRCROOT"
RULES_DOC = "docs/rules.md"  # the rules reference, named in help text
DOCS_URL_ENV = "CMCFLEX_DOCS_URL"
ROOT_TEXT = ("The folder the relative locations start from: --sarif-root, by default the folder cmcflex ran in "
             "(the repository root in CI). Left unnamed so the log is the same on every machine.")


def docs_base(docs_url: str | None = None) -> str | None:
    """The URL of docs/rules.md from ``docs_url`` (or CMCFLEX_DOCS_URL), the URL of the sources'
    docs folder, e.g. ``https://github.com/ORG/cmcflex/blob/v1.0.0/docs``; None when not set.

    cmcflex has no public site, and code scanning refuses a SARIF log whose ``informationUri`` or
    ``helpUri`` is not an absolute URI, so without a URL both are left out (the help text names
    docs/rules.md instead). A value that is not an absolute http(s) URL is ignored likewise."""
    from urllib.parse import urlsplit

    url = (docs_url if docs_url is not None else os.environ.get(DOCS_URL_ENV, "")).strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{url}/rules.md"


def _location(report: Report, file: str, root: Path | None) -> dict[str, Any]:
    """``artifactLocation``: relative to ``root`` with ``uriBaseId``, or absolute outside it."""
    path = display_path(artifact_uri(report, file))  # bytes of a name that is not UTF-8 as \xNN
    if root is not None:
        absolute = Path(os.path.normpath(Path.cwd() / path))
        try:
            relative = absolute.relative_to(root).as_posix()
        except ValueError:
            path = absolute.as_posix()
        else:
            return {"uri": quote(relative, safe="/:-._~"), "uriBaseId": ROOT_ID}
    encoded = quote(path, safe="/:-._~")
    return {"uri": f"file://{encoded}" if path.startswith("/") else encoded}


@dataclass(frozen=True)
class SarifOptions:
    """``root``: the folder URIs are relative to (None: as given); ``info``: keep info findings;
    ``docs``: the URL of docs/rules.md, or None (:func:`docs_base`)."""

    root: Path | None = None
    info: bool = True
    docs: str | None = None


def options(root: Path | str | None = None, info: bool = True, docs_url: str | None = None) -> SarifOptions:
    """Options with ``root`` resolved (default: the current folder) and the documentation base."""
    folder = Path(os.path.normpath(Path.cwd() / Path(root if root is not None else ".")))
    try:
        folder = folder.resolve()
    except (OSError, RuntimeError):
        pass
    return SarifOptions(folder, info, docs_base(docs_url))


def anchor(rule_id: str) -> str:
    """The heading anchor of a rule in docs/rules.md (``### GMP-003`` → ``gmp-003``)."""
    return rule_id.lower()


def _taxa(report: Report, rules: list[FiredRule]) -> dict[str, int]:
    """The CTD sections this log refers to, in CTD order → their index among the taxonomy's taxa."""
    used = ctd.ordered([*(s for r in rules for s in r.ctd), *(s for f in all_findings(report) for s in f.ctd)])
    return {s: i for i, s in enumerate(used)}


def _taxonomy(taxa: dict[str, int]) -> dict[str, Any]:
    """The CTD Module 3 sections as a SARIF taxonomy (results and rules refer to its taxa)."""
    return {
        "name": ctd.TAXONOMY,
        "organization": "ICH",
        "shortDescription": {"text": f"CTD Module 3 (Quality) sections: {ctd.SOURCE}"},
        "taxa": [{"id": s, "name": ctd.title(s) if ctd.is_section(s) else s,
                  "shortDescription": {"text": ctd.label(s) if ctd.is_section(s) else s}} for s in taxa],
    }


def _taxon_refs(sections: tuple[str, ...] | list[str], taxa: dict[str, int]) -> list[dict[str, Any]]:
    return [{"id": s, "index": taxa[s], "toolComponent": {"name": ctd.TAXONOMY, "index": 0}} for s in sections]


def _rule(rule: FiredRule, report: Report, opts: SarifOptions, taxa: dict[str, int] | None = None) -> dict[str, Any]:
    cites = "; ".join(rule.cites)
    text = f"{rule.title}.\nRemedy: {rule.remedy}\nCites: {cites}"
    markdown = (f"**{rule.title}**\n\n**Remedy:** {rule.remedy}\n\n**Cites:** {cites}\n\n"
                f"Run `cmcflex explain {rule.id}` for why it matters and its severity by phase "
                f"({RULES_DOC}#{anchor(rule.id)} in the cmcflex sources).")
    first = next(f for f in all_findings(report) if f.rule == rule.id)
    return {
        "id": rule.id,
        "name": rule.slug,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": f"{rule.title}. Cites: {cites}"},
        "help": {"text": text, "markdown": markdown},
        "defaultConfiguration": {"level": LEVEL[first.default_severity or first.severity]},
        "properties": {"area": rule.area, "cites": list(rule.cites), "tags": ["cmc", rule.area.lower()]},
        **({"relationships": [{"target": ref, "kinds": ["relevant"]} for ref in _taxon_refs(rule.ctd, taxa)]}
           if rule.ctd and taxa is not None else {}),
    } | ({"helpUri": f"{opts.docs}#{anchor(rule.id)}"} if opts.docs else {})


def _result(f: Finding, report: Report, index: dict[str, int], opts: SarifOptions,
            taxa: dict[str, int] | None = None) -> dict[str, Any]:
    location: dict[str, Any] = {"artifactLocation": _location(report, f.file, opts.root)}
    if f.line:
        location["region"] = {"startLine": f.line}
    message = clean(f.message if not f.record else f"{f.message} [{f.record}]")
    properties: dict[str, Any] = {"severity": f.severity.value, "area": f.area, "remedy": f.remedy,
                                  "cites": list(f.cites)}
    if f.record:
        properties["record"] = f.record
    if f.default_severity is not None:
        properties["defaultSeverity"] = f.default_severity.value
        properties["note"] = severity_note(f)
    if f.data and len(json.dumps(f.data, default=str)) <= MAX_DATA_CHARS:
        properties["data"] = f.data  # larger figures stay in the JSON report, keeping the log small
    result: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": index[f.rule],
        "level": LEVEL[f.severity],
        "message": {"text": message},
        "locations": [{"physicalLocation": location}],
        "partialFingerprints": {"cmcflex/v1": f.fingerprint},
        "properties": properties,
    }
    if f.ctd and taxa is not None:
        properties["ctd"] = list(f.ctd)
        result["taxa"] = _taxon_refs(f.ctd, taxa)
    if isinstance(f, WaivedFinding):
        suppression: dict[str, Any] = {"kind": "external", "status": "accepted",
                                       "justification": clean(f.waiver_justification)}
        props = {k: v for k, v in (("approvedBy", f.waiver_approved_by), ("expires", f.waiver_expires)) if v}
        if props:
            suppression["properties"] = props
        result["suppressions"] = [suppression]
    return result


def _notifications(report: Report, opts: SarifOptions) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for note in report.waiver_notes:
        location: dict[str, Any] = {"artifactLocation": _location(report, note.file, opts.root)}
        if note.line:
            location["region"] = {"startLine": note.line}
        out.append({"level": "warning", "message": {"text": clean(note_text(note))},
                    "locations": [{"physicalLocation": location}],
                    "associatedRule": {"id": note.rule}})
    for n in report.not_evaluated:
        out.append({"level": "note", "message": {"text": clean(f"{n.rule} not evaluated: {n.reason}")},
                    "associatedRule": {"id": n.rule}})
    for r in report.no_records:
        out.append({"level": "note", "message": {"text": r.note}})
    return out


def _without_info(report: Report) -> Report:
    """The report with its info findings (open or waived) left out: notes code scanning would
    otherwise raise as alerts someone must dismiss."""
    return report.model_copy(update={
        "findings": [f for f in report.findings if f.severity is not Severity.INFO],
        "waived": [f for f in report.waived if f.severity is not Severity.INFO],
    })


def to_dict(report: Report, opts: SarifOptions | None = None) -> dict[str, Any]:
    opts = opts or options()
    counts = report.counts
    if not opts.info:
        report = _without_info(report)
    rules = fired_rules(report)
    index = {r.id: i for i, r in enumerate(rules)}
    taxa = _taxa(report, rules)
    invocation: dict[str, Any] = {
        "executionSuccessful": True,
        "toolExecutionNotifications": _notifications(report, opts),
    }
    if report.generated_at:
        invocation["endTimeUtc"] = report.generated_at
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": report.tool.name,
            "version": report.tool.version,
            "semanticVersion": report.tool.version,
            "shortDescription": {"text": "BLA readiness checks for cell and gene therapy CMC dossiers."},
            "fullDescription": {"text": DESCRIPTION},
            **({"informationUri": opts.docs} if opts.docs else {}),
            "rules": [_rule(r, report, opts, taxa) for r in rules],
            "properties": {"ruleset": report.tool.ruleset},
            **({"supportedTaxonomies": [{"name": ctd.TAXONOMY, "index": 0}]} if taxa else {}),
        }},
        **({"taxonomies": [_taxonomy(taxa)]} if taxa else {}),
        "invocations": [invocation],
        "artifacts": [
            {"location": _location(report, i.file, opts.root), "length": i.bytes, "hashes": {"sha-256": i.sha256}}
            for i in report.inputs
        ],
        "results": [_result(f, report, index, opts, taxa) for f in all_findings(report)],
        "columnKind": "unicodeCodePoints",
        "properties": {
            "product": report.dossier.product,
            "modality": report.dossier.modality,
            "phase": report.phase.value,
            "evaluatedPhase": report.evaluated_phase.value,
            "target": report.target.value if report.target else None,
            "asOf": report.as_of,
            "failOn": report.fail_on.value,
            "verdict": report.verdict,
            "counts": counts,
            "infoResults": opts.info,
            "severityOverrides": {k: v.value for k, v in report.severity_overrides.items()},
            "configuration": {"file": report.configuration.file, "select": report.configuration.select,
                              "ignore": report.configuration.ignore},
        },
    }
    if opts.root is not None:
        run["originalUriBaseIds"] = {ROOT_ID: {"description": {"text": ROOT_TEXT}}}
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render(report: Report, opts: SarifOptions | None = None) -> str:
    return json_inert(json.dumps(to_dict(report, opts), indent=2, sort_keys=True, ensure_ascii=False)) + "\n"
