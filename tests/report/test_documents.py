"""Markdown, HTML and GitHub outputs: content, escaping of dossier text, self-containment."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from cmcflex.report import github, html, markdown
from cmcflex.report.model import Report
from cmcflex.report.series import lot_series
from tests.report.sample import HOSTILE


def test_markdown_has_verdict_table_findings_and_waivers(report: Report) -> None:
    text = markdown.render(report)
    assert text.startswith("## cmcflex: ❌ FAIL")
    assert "| GMP — GMP expectations | 0 | 1 | 0 | 0 | 1 |" in text
    assert "**MAJOR** `GMP-003` No batch records are listed." in text
    assert "<details><summary>Waived (1)</summary>" in text
    assert "expired on 2026\\-01\\-01" not in text and "expired on 2026-01-01" in text
    assert "`STAB-001` stability.csv is absent" in text


def test_markdown_escapes_dossier_text(report: Report) -> None:
    text = markdown.render(report)
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "CAR-T &lt;one&gt; &amp;" in text
    assert "\x1b" not in text


def test_markdown_inert_against_links_mentions_and_tables() -> None:
    assert markdown.md("[x](http://e.vil) @team | a*b*") == "\\[x\\](http://e.vil) &#64;team \\| a\\*b\\*"
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
    assert text.count("<svg ") == 2  # viability and endotoxin (numeric); sterility is qualitative
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

    series = lot_series(load_dossier(sample_path), cap=2)
    viability = next(s for s in series if s.attribute == "viability")
    assert viability.total == 3 and [p[0] for p in viability.points] == ["L-101", "L-102"]
    assert viability.min == 70 and viability.max is None and viability.unit == "%"
    capped = report.model_copy(update={"lot_series": series})
    assert "showing the last 2 of 3 results" in html.render(capped)


def test_github_annotations(report: Report) -> None:
    lines = github.render(report).splitlines()
    assert lines[0].startswith("::error file=dossiers/cart/dossier.yaml,line=2,title=GMP-003 (major)")
    assert any(l.startswith("::warning file=dossiers/cart/lots.csv,line=8,") for l in lines)
    assert any(l.startswith("::notice ") and "GMP-002 waived%3A" in l for l in lines)
    assert any("waiver expired" in l for l in lines)
    assert lines[-1].startswith("::error title=cmcflex verdict::cmcflex FAIL")


def test_github_annotations_cannot_inject_commands(report: Report) -> None:
    text = github.render(report)
    for line in text.splitlines():
        assert line.startswith("::") and line.count("::") >= 2
    assert "%0A" in text  # newlines inside a message are encoded, never raw
    assert "64 %25 is below" in text
