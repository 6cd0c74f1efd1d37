"""GitHub Actions workflow commands: one annotation per finding, on the dossier file and line.

Blocker and major gaps are errors, minor gaps warnings, info and waived findings notices.
Waivers that did not apply are warnings. Values are escaped as the Actions toolkit does, so
dossier text cannot start a workflow command of its own.
"""

from __future__ import annotations

from cmcflex.report.common import all_findings, artifact_uri, configuration_line, counts_line, note_text, waiver_text
from cmcflex.report.model import Finding, Report, WaivedFinding
from cmcflex.report.text import clean
from cmcflex.vocabulary import Severity

LEVEL = {Severity.BLOCKER: "error", Severity.MAJOR: "error", Severity.MINOR: "warning", Severity.INFO: "notice"}


def _data(text: object) -> str:
    return clean(text, lines=True).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: object) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def _command(level: str, file: str, line: int | None, title: str, message: str) -> str:
    props = [f"file={_prop(file)}"]
    if line:
        props.append(f"line={line}")
    props.append(f"title={_prop(title)}")
    return f"::{level} {','.join(props)}::{_data(message)}"


def _annotation(f: Finding, report: Report) -> str:
    message = f.message + (f" [{f.record}]" if f.record else "")
    message += f"\nRemedy: {f.remedy}\nCites: {'; '.join(f.cites)}"
    if f.default_severity is not None:
        message += f"\nSeverity set by configuration; default {f.default_severity.value}."
    title = f"{f.rule} ({f.severity.value}) {f.title}"
    level = LEVEL[f.severity]
    if isinstance(f, WaivedFinding):
        level, title = "notice", f"{f.rule} waived: {f.title}"
        message += f"\nWaived: {waiver_text(f)}"
    return _command(level, artifact_uri(report, f.file), f.line, title, message)


def render(report: Report) -> str:
    lines = [_annotation(f, report) for f in all_findings(report)]
    lines += [_command("warning", artifact_uri(report, n.file), n.line, f"{n.rule} waiver {n.status}", note_text(n))
              for n in report.waiver_notes]
    verdict = "PASS" if report.verdict == "pass" else "FAIL"
    summary = (f"cmcflex {verdict} (fails on {report.fail_on.value} and above): {counts_line(report)}"
               f" · {configuration_line(report)}")
    lines.append(f"::{'notice' if report.verdict == 'pass' else 'error'} title=cmcflex verdict::{_data(summary)}")
    return "\n".join(lines) + "\n"
