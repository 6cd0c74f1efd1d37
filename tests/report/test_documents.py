"""Markdown, HTML and GitHub outputs: content, escaping of dossier text, self-containment."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from cmcflex.api import build_report
from cmcflex.dossier.loader import load_dossier
from cmcflex.phases import Phase
from cmcflex.report import github, html, markdown
from cmcflex.report.model import Report
from cmcflex.report.series import lot_series
from cmcflex.views import DossierViews
from tests.helpers import AS_OF, lot_rows, write_dossier
from tests.report.sample import HOSTILE, RULES, sample_files


def test_markdown_has_verdict_table_findings_and_waivers(report: Report) -> None:
    text = markdown.render(report)
    assert text.startswith("## cmcflex: ❌ FAIL")
    assert "| GMP — GMP expectations | 0 | 1 | 0 | 0 | 1 |" in text
    assert "**MAJOR** `GMP-003` No batch records are listed." in text
    assert "<details><summary>Waived (1)</summary>" in text
    assert "expired on 2026\\-01\\-01" not in text and "expired on 2026-01-01" in text
    assert "`STAB-001` stability.csv is absent" in text


def test_markdown_footer_writes_phases_as_labels(report: Report) -> None:
    footer = markdown.render(report).splitlines()[-1]
    assert "evaluated phase phase 2 ·" in footer and "phase_2" not in footer


def test_markdown_escapes_dossier_text(report: Report) -> None:
    text = markdown.render(report)
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "CAR-T &lt;one&gt; &amp;" in text
    assert "\x1b" not in text


def test_markdown_inert_against_links_mentions_and_tables() -> None:
    assert markdown.md("[x](http://e.vil) @team | a*b*") == "\\[x\\](`http://e.vil`) &#64;team \\| a\\*b\\*"
    assert "\n" not in markdown.md("line one\n# heading")


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.refs: list[str] = []

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        self.tags.append(tag)
        self.refs += [v or "" for k, v in attrs if k in ("src", "href", "xlink:href")]


def test_html_is_self_contained_and_escaped(report: Report) -> None:
    text = html.render(report)
    parser = _Collect()
    parser.feed(text)
    assert "script" not in parser.tags and "link" not in parser.tags and "img" not in parser.tags
    assert parser.refs == []
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", text)
    assert HOSTILE not in text and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in text
    assert "CAR-T &lt;one&gt; &amp; &quot;two&quot;" in text
    assert "default-src &#x27;none&#x27;" in text or "default-src 'none'" in text


def test_html_has_verdict_summary_findings_citations_and_provenance(report: Report) -> None:
    text = html.render(report)
    assert 'class="verdict fail">FAIL' in text
    assert "<h2>Summary by area</h2>" in text and "21 CFR 211.100" in text
    assert "Waived (1)" in text and "Waivers that did not apply" in text and "Not evaluated (1)" in text
    for entry in report.inputs:
        assert entry.sha256 in text


def test_html_charts_show_lots_against_limits(report: Report) -> None:
    text = html.render(report)
    assert text.count("lot results\">") == 2  # viability and endotoxin (numeric); sterility is qualitative
    viability = text[text.index("drug_product / viability"):]
    viability = viability[:viability.index("</svg>")]
    assert "min 70 %" in viability
    assert viability.count("<circle") == 3
    assert viability.count('fill="#c62828"') == 1  # L-102 at 64 % lies below the limit
    endotoxin = text[text.index("drug_product / endotoxin"):]
    endotoxin = endotoxin[:endotoxin.index("</svg>")]
    assert "max 5 EU/mL" in endotoxin and endotoxin.count("<polygon") == 1  # the censored <0.5


def test_lot_series_are_capped_and_say_so(report: Report, sample_path) -> None:  # type: ignore[no-untyped-def]
    from cmcflex.dossier.loader import load_dossier

    series = lot_series(DossierViews(load_dossier(sample_path)), cap=2)
    viability = next(s for s in series if s.attribute == "viability")
    assert viability.total == 3 and [p[0] for p in viability.points] == ["L-101", "L-102"]
    assert viability.min == 70 and viability.max is None and viability.unit == "%"
    capped = report.model_copy(update={"lot_series": series})
    assert "showing the last 2 of 3 results" in html.render(capped)


def _mixed_lots(tmp_path):  # type: ignore[no-untyped-def]
    """Lot ids out of manufacture order, with an engineering lot and a pending lot among patient lots."""
    files = sample_files()
    rows = []
    for lot_id, use, made, value, extra in (
            ("L-001", "phase_2", "2025-05-01", 88.0, {}),
            ("L-002", "phase_2", "2025-01-10", 90.0, {}),
            ("ENG-9", "engineering", "2025-03-01", 60.0, {"starting_material": "healthy_donor",
                                                           "disposition": "not_applicable"}),
            ("L-003", "phase_2", "2025-02-01", 85.0, {"disposition": "pending"})):
        rows += lot_rows(lot_id, use, {"viability": value}, manufacture_date=made, **extra)
    files["lots.csv"] = rows
    return load_dossier(write_dossier(tmp_path / "mixed", files))


def test_a_donor_derived_lot_made_for_patients_is_a_patient_lot() -> None:
    from cmcflex.report.series import _status

    assert _status("phase_3", "healthy_donor", "released") == "patient"  # an allogeneic product's lot
    assert _status("commercial", "healthy_donor", "released") == "patient"
    assert _status("ppq", "healthy_donor", "released") == "non_clinical"  # an autologous product's PPQ lot
    assert _status("engineering", "patient", "not_applicable") == "non_clinical"


def test_lot_series_order_by_manufacture_date_and_mark_non_patient_lots(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (viability,) = [s for s in lot_series(DossierViews(_mixed_lots(tmp_path))) if s.attribute == "viability"]
    assert [(lot.id, lot.manufactured, lot.status) for lot in viability.lots] == [
        ("L-002", "2025-01-10", "patient"), ("L-003", "2025-02-01", "unreleased"),
        ("ENG-9", "2025-03-01", "non_clinical"), ("L-001", "2025-05-01", "patient")]
    svg = html.chart(viability)  # type: ignore[attr-defined]
    tips = re.findall(r"<title>([^ <]+) ", svg)
    assert tips == ["L-002", "L-003", "ENG-9", "L-001"]  # manufacture order, not lot-id order
    assert svg.count('fill="#fff"') == 2 and "<rect x=" in svg.split('class="plot"/>', 1)[1]  # hollow markers
    assert "by manufacture date" in svg and "L-002 (2025-01-10)" in svg
    page = html.render(build_report(_mixed_lots(tmp_path), as_of=AS_OF, rules=RULES))
    legend = page[page.index('aria-label="legend"'):]
    legend = legend[:legend.index("</svg>")]
    assert "patient lot" in legend and "non-clinical lot" in legend and "unreleased lot" in legend
    assert "2 lots not released for patients" in page


def test_lot_series_without_dates_keep_file_order(tmp_path) -> None:  # type: ignore[no-untyped-def]
    files = sample_files()
    files["lots.csv"] = [dict(r, manufacture_date="") for lot in ("L-9", "L-10", "L-1")
                         for r in lot_rows(lot, "phase_2", {"viability": 80.0})]
    (viability,) = [s for s in lot_series(DossierViews(load_dossier(write_dossier(tmp_path / "d", files))))
                    if s.attribute == "viability"]
    assert [lot.id for lot in viability.lots] == ["L-9", "L-10", "L-1"]
    assert "in file order" in html.chart(viability)  # type: ignore[attr-defined]


def test_html_header_has_target_pivotal_phase_as_of_and_area_summaries(report: Report) -> None:
    text = html.render(report)
    meta = text[text.index('<p class="meta">'):]
    meta = meta[:meta.index("</p>")]
    for item in ("Target: current phase", "Pivotal phase: phase 3", "As of: 2026-11-25", "Phase: phase 2"):
        assert item in meta, meta
    targeted = report.model_copy(update={"target": Phase.BLA, "summaries": {"ppq": {
        "protocol": "PPQ-PROT-001", "lots_planned": 3, "lots_executed": 2, "lots_passing": 2,
        "concurrent_release": True, "justification": None, "report_status": None, "report_conclusion": None}}})
    text = html.render(targeted)
    assert "Target: BLA" in text
    ppq = text[text.index("<h3>PPQ"):]
    assert ppq.index('<p class="digest">PPQ: 3 planned · 2 executed · 2 passing') < 80


def test_html_verdict_badge_does_not_wrap_under_a_long_name(report: Report) -> None:
    text = html.render(report.model_copy(update={"dossier": report.dossier.model_copy(
        update={"product": "A very long product name " * 8})}))
    assert re.search(r'<h1><span class="product">A very long[^<]*</span> <span class="verdict fail">FAIL</span></h1>', text)
    css = text[text.index("<style>"):text.index("</style>")]
    assert re.search(r"h1\{[^}]*display:flex", css) and re.search(r"\.verdict\{[^}]*flex:none[^}]*white-space:nowrap", css)


def test_github_annotations(report: Report) -> None:
    lines = github.render(report).splitlines()
    assert lines[0].startswith("::error title=cmcflex verdict::cmcflex FAIL")  # first: never pushed out of view
    assert lines[1].startswith("::error file=dossiers/cart/dossier.yaml,line=2,title=GMP-003 (major)")
    assert any(l.startswith("::warning file=dossiers/cart/lots.csv,line=8,") for l in lines)
    assert any(l.startswith("::notice ") and "GMP-002 waived%3A" in l for l in lines)
    assert any("waiver expired" in l for l in lines)


def test_github_annotations_cannot_inject_commands(report: Report) -> None:
    text = github.render(report)
    for line in text.splitlines():
        assert line.startswith("::") and line.count("::") >= 2
    assert "%0A" in text  # newlines inside a message are encoded, never raw
    assert "64 %25 is below" in text


def test_ppq_digest_in_markdown_and_html_as_in_the_console():
    """The PPQ protocol at a glance appears under the PPQ heading in every document format."""
    import datetime as dt
    from pathlib import Path

    from cmcflex.api import check
    from cmcflex.report.common import area_summary
    from cmcflex.report.html import render as html
    from cmcflex.report.markdown import md
    from cmcflex.report.markdown import render as markdown
    from cmcflex.rules.base import Area

    sample = Path(__file__).resolve().parents[2] / "sample_dossiers" / "cart-phase2"
    report = check(sample, as_of=dt.date(2026, 11, 25))
    digest = area_summary(Area.PPQ, report)
    assert digest is not None and digest.startswith("PPQ: 2 planned")
    assert md(digest) in markdown(report)
    assert "PPQ: 2 planned" in html(report)
