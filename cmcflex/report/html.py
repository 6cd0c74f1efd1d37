"""One self-contained HTML file: verdict, per-area summary, findings with citations, lot charts.

No script and no network: styles are inline, charts are inline SVG, and a Content-Security-Policy
forbids loading anything. Every dossier string is escaped.

Printed (or made into a PDF, see :mod:`cmcflex.report.pdf`), it gets a running header and page
numbers, keeps each finding card and each chart whole and with its heading, and ends with a
sign-off block; on screen neither the header nor the sign-off block shows.
"""

from __future__ import annotations

from html import escape

from cmcflex.report.charts import chart, legend
from cmcflex.report.common import configuration_parts, counts_line, note_text, waiver_text
from cmcflex.report.grouping import GroupBy, group_findings, section_rows, sections_text
from cmcflex.report.model import Finding, LotSeries, Report
from cmcflex.report.text import clean
from cmcflex.vocabulary import Area, Severity

CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d232a;margin:0;background:#f6f7f9}
main{max-width:980px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px;display:flex;align-items:flex-start;gap:12px}
h1 .product{flex:1 1 auto;min-width:0;overflow-wrap:anywhere}h2{font-size:19px;margin:32px 0 8px;border-bottom:1px solid #d8dce1;padding-bottom:4px}
h3{font-size:16px;margin:20px 0 8px}
.meta{color:#55606c;margin:0 0 16px}.meta span{margin-right:16px}
.verdict{flex:none;white-space:nowrap;font-size:18px;font-weight:700;padding:4px 12px;border-radius:4px;color:#fff}
.pass{background:#1b7f4b}.fail{background:#c62828}
table{border-collapse:collapse;background:#fff;width:100%}th,td{border:1px solid #d8dce1;padding:4px 8px;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}tr.total td{font-weight:700}
.finding{background:#fff;border:1px solid #d8dce1;border-left-width:5px;border-radius:4px;padding:8px 12px;margin:8px 0}
.finding p{margin:2px 0}.finding .k{color:#55606c;display:inline-block;min-width:64px}
.sev{font-weight:700;font-size:12px;padding:1px 6px;border-radius:3px;color:#fff;margin-right:6px}
.blocker{border-left-color:#7f0000}.sev.blocker{background:#7f0000}
.major{border-left-color:#c62828}.sev.major{background:#c62828}
.minor{border-left-color:#b7791f}.sev.minor{background:#b7791f}
.info{border-left-color:#2563a6}.sev.info{background:#2563a6}
.waived{opacity:.85;border-style:dashed}code{font-size:13px}
.note{color:#55606c;font-style:italic}.digest{color:#55606c;margin:0 0 8px}
svg{max-width:100%;height:auto}
figure{background:#fff;border:1px solid #d8dce1;border-radius:4px;margin:12px 0;padding:8px}
figcaption{font-weight:600;margin-bottom:4px}figcaption small{font-weight:400;color:#55606c}
svg .plot{fill:#fbfcfd;stroke:#d8dce1}svg .grid{stroke:#eceef1}svg text{font:11px system-ui,sans-serif;fill:#55606c}
svg .limit{fill:#c62828}svg .axis{fill:#1d232a}
.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px;word-break:break-all}
.running,.signoff{display:none}
"""  # noqa: E501  the stylesheet is emitted as written

# Paged media. The running header is a fixed element, which print engines repeat on every page,
# in a band that the cloned top padding of <main> keeps free on every page. Page numbers are an
# @page margin box; browsers without margin boxes number pages in their own print footer.
PRINT_CSS = """
@page{size:A4;margin:12mm 15mm 16mm;
@bottom-right{content:"Page " counter(page) " of " counter(pages);font:9pt system-ui,sans-serif;color:#55606c}}
@media print{
body{background:#fff;font-size:10.5pt;-webkit-print-color-adjust:exact;print-color-adjust:exact}
main{max-width:none;padding:11mm 0 0;-webkit-box-decoration-break:clone;box-decoration-break:clone}
.running{display:flex;gap:12px;justify-content:space-between;position:fixed;top:0;left:0;right:0;
font:9pt system-ui,sans-serif;color:#55606c;border-bottom:1px solid #d8dce1;padding-bottom:2px;background:#fff}
.running span:first-child{font-weight:600;color:#1d232a;overflow-wrap:anywhere}
h1,h2,h3,figcaption,.digest{break-after:avoid;page-break-after:avoid}
.finding,figure,tr,.signoff,.meta{break-inside:avoid;page-break-inside:avoid}
.signoff{display:block;margin-top:24px}
.signoff table{margin-top:8px}.signoff td{height:11mm;vertical-align:bottom}
.signoff th:first-child{width:18%}
}
"""


def e(text: object) -> str:
    """Dossier text as inert HTML."""
    return escape(clean(text), quote=True)


def _finding(f: Finding) -> str:
    loc = f"{f.file}:{f.line}" if f.line else f.file
    waived = getattr(f, "waiver_justification", None) is not None
    parts = [f'<div class="finding {f.severity.value}{" waived" if waived else ""}">',
             f'<p><span class="sev {f.severity.value}">{f.severity.value.upper()}</span>'
             f'<code>{e(f.rule)}</code> {e(f.message)}</p>']
    if f.default_severity is not None:
        parts.append(f'<p class="note">Severity set by configuration; default {e(f.default_severity.value)}.</p>')
    where = f"<code>{e(loc)}</code>" + (f" · {e(f.record)}" if f.record else "")
    parts.append(f'<p><span class="k">where</span> {where}</p>')
    parts.append(f'<p><span class="k">cites</span> {e("; ".join(f.cites))}</p>')
    parts.append(f'<p><span class="k">remedy</span> {e(f.remedy)}</p>')
    if f.ctd:
        parts.append(f'<p><span class="k">CTD</span> {e(sections_text(f))}</p>')
    if waived:
        parts.append(f'<p><span class="k">waived</span> {e(waiver_text(f))}</p>')
    parts.append("</div>")
    return "".join(parts)


def _summary(report: Report) -> str:
    sevs = list(reversed(list(Severity)))
    head = "".join(f"<th>{s.value.capitalize()}</th>" for s in sevs)
    rows = [f"<table><thead><tr><th>Area</th>{head}<th>Waived</th></tr></thead><tbody>"]
    for area in Area:
        cells = [sum(1 for f in report.findings if f.area == area.value and f.severity is s) for s in sevs]
        cells.append(sum(1 for f in report.waived if f.area == area.value))
        rows.append(f"<tr><td>{area.value} — {e(area.title)}</td>"
                    + "".join(f'<td class="n">{n}</td>' for n in cells) + "</tr>")
    total = [report.counts.get(s.value, 0) for s in sevs] + [report.counts.get("waived", 0)]
    rows.append('<tr class="total"><td>Total</td>' + "".join(f'<td class="n">{n}</td>' for n in total) + "</tr>")
    rows.append("</tbody></table>")
    return "".join(rows)


def _section_summary(report: Report) -> str:
    """The summary table by CTD section (``--group-by ctd``)."""
    sevs = list(reversed(list(Severity)))
    head = "".join(f"<th>{s.value.capitalize()}</th>" for s in sevs)
    rows = [f"<table><thead><tr><th>CTD section</th>{head}<th>Waived</th></tr></thead><tbody>"]
    rows += [f"<tr><td>{e(label)}</td>" + "".join(f'<td class="n">{n}</td>' for n in [*counts, waived]) + "</tr>"
             for label, counts, waived in section_rows(report)]
    total = [report.counts.get(s.value, 0) for s in sevs] + [report.counts.get("waived", 0)]
    rows.append('<tr class="total"><td>Total</td>' + "".join(f'<td class="n">{n}</td>' for n in total) + "</tr>")
    rows.append("</tbody></table>")
    return "".join(rows)


def _series(s: LotSeries) -> str:
    shown = len(s.points) + len(s.censored)
    cap = f" — showing the last {shown:,} of {s.total:,} results" if s.total > shown else ""
    censored = f"; {len(s.censored)} censored (hollow triangles)" if s.censored else ""
    others = sum(1 for lot in s.lots if lot.status != "patient")
    marked = f"; {others} lot{'s' if others != 1 else ''} not released for patients (hollow markers)" if others else ""
    return (f"<figure><figcaption>{e(s.material)} / {e(s.attribute)} "
            f"<small>criterion {e(s.criterion)}{e(cap)}{e(censored)}{e(marked)}</small></figcaption>"
            f"{chart(s)}{legend(s)}</figure>")


def _meta(report: Report) -> str:
    d = report.dossier
    phase = report.phase.label
    if report.evaluated_phase != report.phase:
        phase += f" (rules of {report.evaluated_phase.label})"
    items = [("Modality", d.modality), ("Phase", phase),
             ("Target", report.target.label if report.target else "current phase"),
             ("Pivotal phase", d.pivotal_phase.label), ("As of", report.as_of),
             ("Fails on", f"{report.fail_on.value} and above"), *configuration_parts(report)]
    return '<p class="meta">' + "".join(f"<span>{e(k)}: {e(v)}</span>" for k, v in items) + "</p>"


def _running_header(report: Report) -> str:
    """Product, phase, evaluation date and tool version: the header of every printed page."""
    parts = [report.dossier.product, report.phase.label, f"as of {report.as_of}",
             f"{report.tool.name} {report.tool.version}"]
    return '<div class="running">' + "".join(f"<span>{e(p)}</span>" for p in parts) + "</div>"


def _signoff(report: Report) -> str:
    """Prepared / reviewed / approved: a name, a signature and a date line each (printed only)."""
    rows = "".join(f"<tr><th>{role}</th><td></td><td></td><td></td></tr>"
                   for role in ("Prepared by", "Reviewed by", "Approved by"))
    return ('<section class="signoff"><h2>Sign-off</h2>'
            f'<p class="note">This report of {e(report.dossier.product)} ({e(report.phase.label)}, as of '
            f"{e(report.as_of)}, {e(report.tool.name)} {e(report.tool.version)}, rule set "
            f"{e(report.tool.ruleset)}) was prepared, reviewed and approved by:</p>"
            "<table><thead><tr><th>Role</th><th>Name</th><th>Signature</th><th>Date</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></section>")


def render(report: Report, group_by: GroupBy = "area") -> str:
    d = report.dossier
    verdict = "PASS" if report.verdict == "pass" else "FAIL"
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>cmcflex report — {e(d.product)}</title>",
        f"<style>{CSS}{PRINT_CSS}</style></head><body>",
        _running_header(report),
        "<main>",
        f'<h1><span class="product">{e(d.product)}</span> <span class="verdict {report.verdict}">{verdict}</span></h1>',
        _meta(report),
        f"<p>{e(counts_line(report))}</p>",
        "<h2>Summary by CTD section</h2>" if group_by == "ctd" else "<h2>Summary by area</h2>",
        _section_summary(report) if group_by == "ctd" else _summary(report),
    ]
    if report.severity_overrides:
        out.append("<p class=\"note\">Severity overrides from configuration: " + ", ".join(
            f"<code>{e(k)}</code> → {e(v.value)}" for k, v in report.severity_overrides.items()) + "</p>")
    out.append("<h2>Findings</h2>")
    if not report.findings:
        out.append("<p>No gaps found at this phase.</p>")
    grouping = group_findings(report, group_by)
    out.extend(f'<p class="digest">{e(note)}</p>' for note in grouping.notes)
    for group in grouping.groups:
        out.append(f"<h3>{e(group.heading)} ({len(group.findings)})</h3>")
        if group.digest is not None:
            out.append(f'<p class="digest">{e(group.digest)}</p>')
        out.extend(_finding(f) for f in group.findings)
    if report.waived:
        out.append(f"<h2>Waived ({len(report.waived)})</h2>")
        out.extend(_finding(f) for f in report.waived)
    if report.waiver_notes:
        out.append("<h2>Waivers that did not apply</h2><ul>")
        out.extend(f"<li><code>{e(f'{n.file}:{n.line}' if n.line else n.file)}</code> {e(note_text(n))}</li>"
                   for n in report.waiver_notes)
        out.append("</ul>")
    if report.not_evaluated:
        out.append(f"<h2>Not evaluated ({len(report.not_evaluated)})</h2><ul>")
        out.extend(f"<li><code>{e(n.rule)}</code> {e(n.reason)}</li>" for n in report.not_evaluated)
        out.append("</ul>")
    out.extend(f'<p class="note">{e(n.note)}</p>' for n in report.no_records)
    if report.lot_series:
        out.append("<h2>Lot results against specification limits</h2>")
        out.append('<p class="note">One point per lot result, in order of manufacture date (then file order); '
                   "dashed lines are the specification limits; red points lie outside them; filled circles are "
                   "patient lots, hollow circles non-clinical lots (development, engineering, healthy donor), "
                   "hollow squares unreleased lots (rejected or pending).</p>")
        out.extend(_series(s) for s in report.lot_series)
    out.append("<h2>Provenance</h2><table><tbody>")
    rows = [("Tool", f"{report.tool.name} {report.tool.version}"), ("Rule set", report.tool.ruleset),
            ("Evaluated phase", report.evaluated_phase.label), ("Dossier", d.path)]
    if report.generated_at:
        rows.append(("Generated", report.generated_at))
    out.extend(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in rows)
    out.extend(f'<tr><th>{e(i.file)}</th><td class="mono">SHA-256 {e(i.sha256)} ({i.bytes:,} bytes)</td></tr>'
               for i in report.inputs)
    out.append("</tbody></table>")
    out.append(_signoff(report))
    out.append("</main></body></html>")
    return "\n".join(out) + "\n"
