"""Excel workbook report, laid out as validation reports are read in Excel.

Sheets: Summary (verdict, counts by area and severity, provenance), Findings, Waived, Not
evaluated (with the files whose absence means "no records"), Rules, and Lot statistics. Each
table has its header row frozen, a filter on, set column widths and coloured severities.

Written with XlsxWriter (an optional extra, ``cmcflex[excel]``): pure Python, write-only, and
byte-for-byte reproducible once the document properties are fixed. Every dossier string is
written as text with ``write_string`` (and the workbook turns no string into a formula, number
or link), so a message starting with ``=``, ``+``, ``-`` or ``@`` stays text. The one date in
the file (document created) is the report's ``generated_at``, else the evaluation date.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

from cmcflex.phases import PHASES
from cmcflex.report.common import phase_text
from cmcflex.report.model import Finding, Report
from cmcflex.vocabulary import Area, Severity

EXTRA_HINT = ("the xlsx format needs XlsxWriter, in the optional extra cmcflex[excel]: "
              "pip install '.[excel]' in the cmcflex sources")
MAX_CELL = 32_767  # characters Excel holds in one cell
MAX_WIDTH = 60
SEVERITY_COLOURS = {  # fill, font
    Severity.BLOCKER: ("#C00000", "#FFFFFF"),
    Severity.MAJOR: ("#F4B084", "#000000"),
    Severity.MINOR: ("#FFE699", "#000000"),
    Severity.INFO: ("#DDEBF7", "#000000"),
}
VERDICT_COLOURS = {"fail": ("#C00000", "#FFFFFF"), "pass": ("#C6EFCE", "#006100")}
# what XML 1.0 cannot hold (C0 controls but tab and line feed, lone surrogates) and what would
# reorder shown text (bidi overrides); each becomes U+FFFD
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
FINDING_COLUMNS = ("Rule", "Severity", "Area", "CTD section", "Title", "Message", "File", "Line",
                   "Record", "Citations", "Remedy", "Fingerprint")
WRAPPED = {"Message", "Citations", "Remedy", "Reason", "Justification", "Title", "Criterion"}


class MissingExtra(RuntimeError):
    """The optional library this format needs is not installed."""


def available() -> bool:
    try:
        import xlsxwriter  # noqa: F401
    except ImportError:
        return False
    return True


def _text(value: object) -> str:
    text = _UNSAFE.sub("\N{REPLACEMENT CHARACTER}", str(value))
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def _created(report: Report) -> dt.datetime:
    """The document's creation time: when the report was made, else the evaluation date."""
    if report.generated_at:
        try:
            return dt.datetime.strptime(report.generated_at, "%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            pass
    return dt.datetime.combine(dt.date.fromisoformat(report.as_of), dt.time())


def _ctd(item: object) -> str:
    """The CTD Module 3 sections of a finding or rule, where the model carries them."""
    sections = getattr(item, "ctd", None) or ()
    return ", ".join(str(s) for s in sections)


class _Book:
    """One workbook and its cell formats."""

    def __init__(self, report: Report) -> None:
        import xlsxwriter

        self.buffer = io.BytesIO()
        self.book = xlsxwriter.Workbook(self.buffer, {
            "in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
            "strings_to_urls": False,
        })
        self.book.set_properties({
            "title": _text(f"cmcflex report: {report.dossier.product}"),
            "subject": "BLA readiness check of a CMC dossier",
            "author": "cmcflex",
            "comments": f"cmcflex {report.tool.version}, rule set {report.tool.ruleset}",
            "created": _created(report),
        })
        add = self.book.add_format
        self.header = add({"bold": True, "bg_color": "#1F3864", "font_color": "#FFFFFF", "valign": "top",
                           "border": 1})
        self.title = add({"bold": True, "font_size": 14})
        self.label = add({"bold": True, "valign": "top"})
        self.plain = add({"valign": "top"})
        self.wrap = add({"valign": "top", "text_wrap": True})
        self.severity = {s: add({"bg_color": fill, "font_color": font, "bold": s is Severity.BLOCKER,
                                 "valign": "top"}) for s, (fill, font) in SEVERITY_COLOURS.items()}
        self.verdict = {v: add({"bg_color": fill, "font_color": font, "bold": True})
                        for v, (fill, font) in VERDICT_COLOURS.items()}

    def cell(self, sheet: Any, row: int, col: int, value: object, fmt: Any = None) -> int:
        """Write one value: numbers as numbers, everything else as text; the text's width."""
        fmt = fmt or self.plain
        if value is None or value == "":
            sheet.write_blank(row, col, None, fmt)
            return 0
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            sheet.write_number(row, col, value, fmt)
            return len(f"{value:g}")
        if isinstance(value, Severity):
            text = value.value
            sheet.write_string(row, col, text, self.severity[value])
            return len(text)
        text = _text(value)
        sheet.write_string(row, col, text, fmt)
        return max((len(line) for line in text.split("\n")), default=0)

    def table(self, name: str, columns: Sequence[str], rows: Iterable[Sequence[object]],
              widths: dict[str, int] | None = None) -> Any:
        """A sheet holding one table: frozen header, a filter over every row, set widths."""
        sheet = self.book.add_worksheet(name)
        width = [len(c) for c in columns]
        for j, column in enumerate(columns):
            sheet.write_string(0, j, column, self.header)
        count = 0
        for i, row in enumerate(rows, start=1):
            count = i
            for j, value in enumerate(row):
                fmt = self.wrap if columns[j] in WRAPPED else self.plain
                width[j] = max(width[j], self.cell(sheet, i, j, value, fmt))
        for j, column in enumerate(columns):
            chosen = (widths or {}).get(column, min(width[j] + 2, MAX_WIDTH))
            sheet.set_column(j, j, chosen)
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, max(count, 1), len(columns) - 1)
        return sheet

    def close(self) -> bytes:
        self.book.close()
        return self.buffer.getvalue()


def _finding_row(f: Finding) -> list[object]:
    return [f.rule, f.severity, f.area, _ctd(f), f.title, f.message, f.file, f.line, f.record,
            "\n".join(f.cites), f.remedy, f.fingerprint]


def _summary(book: _Book, report: Report) -> None:
    sheet = book.book.add_worksheet("Summary")
    sheet.set_column(0, 0, 24)
    sheet.set_column(1, 1, 44)
    sheet.set_column(2, 7, 12)
    book.cell(sheet, 0, 0, f"cmcflex report: {report.dossier.product}", book.title)
    facts: list[tuple[str, object]] = [
        ("Product", report.dossier.product),
        ("Modality", report.dossier.modality),
        ("Dossier", report.dossier.path),
        ("Phase", phase_text(report)),
        ("Pivotal phase", report.dossier.pivotal_phase.label),
        ("As of", report.as_of),
        ("Fails on", f"{report.fail_on.value} and above"),
        ("Verdict", report.verdict),
    ]
    row = 2
    for label, value in facts:
        book.cell(sheet, row, 0, label, book.label)
        book.cell(sheet, row, 1, value, book.verdict[report.verdict] if label == "Verdict" else None)
        row += 1

    row += 1
    book.cell(sheet, row, 0, "Open findings", book.label)
    severities = sorted(Severity, key=lambda s: -s.rank)
    heads = ["Area", "Title", *(s.value for s in severities), "Total"]
    row += 1
    for j, head in enumerate(heads):
        book.cell(sheet, row, j, head, book.header)
    for area in Area:
        row += 1
        counts = [sum(1 for f in report.findings if f.area == area.value and f.severity is s) for s in severities]
        for j, value in enumerate([area.value, area.title, *counts, sum(counts)]):
            book.cell(sheet, row, j, value)
    row += 1
    totals = [report.counts.get(s.value, 0) for s in severities]
    for j, value in enumerate(["Total", "", *totals, sum(totals)]):
        book.cell(sheet, row, j, value, book.label)
    for label, key in (("Waived", "waived"), ("Not evaluated", "not_evaluated")):
        row += 1
        book.cell(sheet, row, 0, label, book.label)
        book.cell(sheet, row, 1, report.counts.get(key, 0))

    row += 2
    book.cell(sheet, row, 0, "Provenance", book.label)
    provenance: list[tuple[str, object]] = [
        ("Tool", f"{report.tool.name} {report.tool.version}"),
        ("Rule set", report.tool.ruleset),
        ("Rules evaluated", len(report.rules_evaluated)),
        ("Configuration file", report.configuration.file or "none"),
        ("Selected rules", ", ".join(report.configuration.select) or "all"),
        ("Ignored rules", ", ".join(report.configuration.ignore) or "none"),
        ("Severity overrides", ", ".join(f"{k}={v.value}" for k, v in report.severity_overrides.items()) or "none"),
        ("Generated at", report.generated_at or ""),
    ]
    for label, value in provenance:
        row += 1
        book.cell(sheet, row, 0, label, book.label)
        book.cell(sheet, row, 1, value)
    row += 2
    for j, head in enumerate(("Input file", "SHA-256", "Bytes", "Role")):
        book.cell(sheet, row, j, head, book.header)
    for entry in report.inputs:
        row += 1
        for j, value in enumerate((entry.file, entry.sha256, entry.bytes, entry.role)):
            book.cell(sheet, row, j, value)
    if report.waiver_notes:
        row += 2
        for j, head in enumerate(("Waiver note", "Rule", "Scope", "File", "Line", "Detail")):
            book.cell(sheet, row, j, head, book.header)
        for note in report.waiver_notes:
            row += 1
            for j, value in enumerate((note.status, note.rule, note.scope, note.file, note.line, note.detail)):
                book.cell(sheet, row, j, value)


def _rules(book: _Book, report: Report) -> None:
    ids = sorted({*report.rules_evaluated, *(n.rule for n in report.not_evaluated),
                  *(f.rule for f in (*report.findings, *report.waived))})
    open_count = {i: sum(1 for f in report.findings if f.rule == i) for i in ids}
    waived = {i: sum(1 for f in report.waived if f.rule == i) for i in ids}
    titles = {f.rule: (f.title, f.area) for f in (*report.findings, *report.waived)}
    rows = []
    for rule_id in ids:
        facts = report.rule_facts.get(rule_id)
        if facts is not None:
            grades = [_grade(facts.severity.get(p.value), facts.partial.get(p.value)) for p in PHASES]
            title, area, ctd = facts.title, facts.area, _ctd(facts)
        else:  # a report read back from JSON carries no rule facts
            grades = [""] * len(PHASES)
            (title, area), ctd = titles.get(rule_id, ("", "")), ""
        rows.append([rule_id, area, title, ctd, *grades, open_count[rule_id], waived[rule_id]])
    book.table("Rules", ["Rule", "Area", "Title", "CTD section", *(p.label for p in PHASES),
                         "Open findings", "Waived"], rows)


def _grade(main: Severity | None, lower: Severity | None) -> str:
    if main is None:
        return ""
    return f"{main.value} (parts {lower.value})" if lower is not None else main.value


def render(report: Report) -> bytes:
    """The workbook's bytes; MissingExtra when XlsxWriter is not installed."""
    if not available():
        raise MissingExtra(EXTRA_HINT)
    book = _Book(report)
    _summary(book, report)
    book.table("Findings", FINDING_COLUMNS, (_finding_row(f) for f in report.findings),
               {"Message": 60, "Remedy": 50, "Citations": 40, "Title": 36})
    book.table("Waived", (*FINDING_COLUMNS, "Justification", "Approved by", "Expires"),
               ([*_finding_row(f), f.waiver_justification, f.waiver_approved_by, f.waiver_expires]
                for f in report.waived),
               {"Message": 60, "Remedy": 50, "Citations": 40, "Title": 36, "Justification": 50})
    book.table("Not evaluated", ("Rule", "Title", "File", "Reason"),
               [*([n.rule, n.title, "", n.reason] for n in report.not_evaluated),
                *([", ".join(r.rules), "", r.file, r.note] for r in report.no_records)],
               {"Reason": 80})
    _rules(book, report)
    book.table("Lot statistics", ("Material", "Attribute", "Unit", "Criterion", "n", "Mean", "SD", "Min", "Max",
                                  "Censored", "Lots", "Lots outside"),
               ([s.material, s.attribute, s.unit, s.criterion, *_stats(s.summary)] for s in report.lot_series))
    return book.close()


def _stats(summary: Any) -> list[object]:
    if summary is None:
        return [None] * 8
    return [summary.n, summary.mean, summary.sd, summary.min, summary.max, summary.censored,
            summary.lots, summary.outside]
