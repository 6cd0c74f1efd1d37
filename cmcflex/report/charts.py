"""Inline SVG charts of lot results against specification limits (no script, no network)."""

from __future__ import annotations

import math
import re
from html import escape

from cmcflex.formatting import number
from cmcflex.report.model import LotSeries
from cmcflex.report.text import clean

W, H = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 40
IN, OUT, LIMIT = "#1b7f4b", "#c62828", "#c62828"
STATUS_TEXT = {"patient": "patient lot", "non_clinical": "non-clinical lot (development, engineering, healthy donor)",
               "unreleased": "unreleased lot (rejected or pending)"}


def _e(text: object) -> str:
    return escape(clean(text), quote=True)


def _natural(lot_id: str) -> list[object]:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", lot_id)]


def _fmt(v: float) -> str:
    return number(v)


class _Scale:
    def __init__(self, lo: float, hi: float, log: bool) -> None:
        self.log = log
        if log:
            lo, hi = math.log10(lo), math.log10(hi)
        if hi - lo < 1e-12:
            pad = abs(lo) * 0.1 or 1.0
        else:
            pad = (hi - lo) * 0.08
        self.lo, self.hi = lo - pad, hi + pad

    def y(self, v: float) -> float:
        t = math.log10(v) if self.log else v
        return TOP + (H - TOP - BOTTOM) * (1 - (t - self.lo) / (self.hi - self.lo))

    def ticks(self) -> list[float]:
        if self.log:
            return [10.0 ** e for e in range(math.ceil(self.lo), math.floor(self.hi) + 1)][:8]
        raw = (self.hi - self.lo) / 4
        magnitude = 10.0 ** math.floor(math.log10(raw))
        step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
        first = math.ceil(self.lo / step)
        return [k * step for k in range(first, first + 8) if k * step <= self.hi]


def _inside(s: LotSeries, v: float) -> bool:
    return (s.min is None or v >= s.min) and (s.max is None or v <= s.max)


def _ordered(s: LotSeries) -> list[tuple[str, float, str, str]]:
    """(lot, value, censor, use) in chart order: manufacture date, then file order (lot id for old reports)."""
    entries = [(lot, v, "", use) for lot, v, use in s.points] + [(lot, v, c, use) for lot, v, c, use in s.censored]
    if not s.lots:
        return sorted(entries, key=lambda e: _natural(e[0]))
    rank = {lot.id: n for n, lot in enumerate(s.lots)}
    return sorted(entries, key=lambda e: rank.get(e[0], len(rank)))


def _marker(cx: float, cy: float, radius: float, colour: str, censor: str, status: str, tip: str) -> str:
    """Filled circle: patient lot; hollow circle: non-clinical; hollow square: unreleased;
    hollow triangle: censored (dashed outline when not a patient lot)."""
    if censor:
        d = radius + 1.5
        tri = (f"{cx - d:.1f},{cy - d:.1f} {cx + d:.1f},{cy - d:.1f} {cx:.1f},{cy + d:.1f}" if censor == "<"
               else f"{cx - d:.1f},{cy + d:.1f} {cx + d:.1f},{cy + d:.1f} {cx:.1f},{cy - d:.1f}")
        dash = ' stroke-dasharray="2 1.5"' if status != "patient" else ""
        return f'<polygon points="{tri}" fill="none" stroke="{colour}" stroke-width="1.5"{dash}>{tip}</polygon>'
    if status == "unreleased":
        return (f'<rect x="{cx - radius:.1f}" y="{cy - radius:.1f}" width="{2 * radius}" height="{2 * radius}" '
                f'fill="#fff" stroke="{colour}" stroke-width="1.5">{tip}</rect>')
    if status == "non_clinical":
        return (f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{radius}" fill="#fff" stroke="{colour}" '
                f'stroke-width="1.5">{tip}</circle>')
    return f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{radius}" fill="{colour}">{tip}</circle>'


def chart(s: LotSeries) -> str:
    """One SVG: a point per lot result in manufacture order, its marker telling patient, non-clinical
    and unreleased lots (and censored results) apart; dashed limit lines."""
    entries = _ordered(s)
    info = {lot.id: lot for lot in s.lots}
    values = [e[1] for e in entries] + [b for b in (s.min, s.max) if b is not None]
    positive = all(v > 0 for v in values)
    log = positive and len(values) > 1 and max(values) / min(values) >= 1000
    scale = _Scale(min(values), max(values), log)
    unit = f" {s.unit}" if s.unit else ""
    plot_w = W - LEFT - RIGHT
    n = len(entries)

    def x(i: int) -> float:
        return LEFT + plot_w * ((i + 0.5) / n if n else 0.5)

    def label(lot: str) -> str:
        made = info[lot].manufactured if lot in info else None
        return f"{lot} ({made})" if made else lot

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" '
           f'role="img" aria-label="{_e(s.material)} {_e(s.attribute)} lot results">']
    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{H - TOP - BOTTOM}" class="plot"/>')
    for t in scale.ticks():
        y = scale.y(t)
        out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{_e(_fmt(t))}</text>')
    for name, bound in (("min", s.min), ("max", s.max)):
        if bound is None:
            continue
        y = scale.y(bound)
        out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{LIMIT}" '
                   f'stroke-dasharray="6 4" stroke-width="1.5"/>')
        out.append(f'<text x="{W - RIGHT - 4}" y="{y - 4:.1f}" text-anchor="end" class="limit">'
                   f'{name} {_e(_fmt(bound))}{_e(unit)}</text>')
    radius = 4 if n <= 60 else 2.5
    for i, (lot, v, censor, use) in enumerate(entries):
        status = info[lot].status if lot in info else "patient"
        colour = IN if _inside(s, v) else OUT
        made = f", made {info[lot].manufactured}" if lot in info and info[lot].manufactured else ""
        kind = f", {STATUS_TEXT[status].split(' (')[0]}" if status != "patient" else ""
        tip = f"<title>{_e(lot)} ({_e(use)}{_e(made)}{_e(kind)}): {_e(censor)}{_e(_fmt(v))}{_e(unit)}</title>"
        out.append(_marker(x(i), scale.y(v), radius, colour, censor, status, tip))
    if entries:
        out.append(f'<text x="{x(0):.1f}" y="{H - BOTTOM + 16}" text-anchor="start" class="tick">'
                   f'{_e(label(entries[0][0]))}</text>')
        if n > 1:
            out.append(f'<text x="{x(n - 1):.1f}" y="{H - BOTTOM + 16}" text-anchor="end" class="tick">'
                       f'{_e(label(entries[-1][0]))}</text>')
    dated = any(lot.manufactured for lot in s.lots)
    order = " by manufacture date" if dated else (" in file order" if s.lots else " in lot-id order")
    axis = f"{n} lot result{'s' if n != 1 else ''}{order}" + (" (log scale)" if log else "")
    out.append(f'<text x="{LEFT + plot_w / 2:.1f}" y="{H - 6}" text-anchor="middle" class="axis">{_e(axis)}</text>')
    out.append("</svg>")
    return "".join(out)


def legend(s: LotSeries) -> str:
    """An SVG strip explaining the markers that appear in the chart of ``s`` (empty when none)."""
    statuses = {lot.status for lot in s.lots} or {"patient"}
    items: list[tuple[str, str, str, str]]
    items = [("patient", "", STATUS_TEXT[k], k) for k in ("patient", "non_clinical", "unreleased") if k in statuses]
    if s.censored:
        items.append(("patient", "<", "censored result (< or >)", "censored"))
    outside = any(not _inside(s, v) for v in [p[1] for p in s.points] + [c[1] for c in s.censored])
    if len(items) < 2 and not outside:
        return ""
    parts, x0 = [], 8.0
    for status, censor, text, key in items:
        parts.append(_marker(x0, 9, 4, IN, censor, key if key != "censored" else status, ""))
        parts.append(f'<text x="{x0 + 9:.1f}" y="13" class="tick">{_e(text)}</text>')
        x0 += 18 + 5.6 * len(text)
    if outside:
        parts.append(_marker(x0, 9, 4, OUT, "", "patient", ""))
        parts.append(f'<text x="{x0 + 9:.1f}" y="13" class="tick">outside the limits</text>')
        x0 += 18 + 5.6 * len("outside the limits")
    width = max(W, math.ceil(x0))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} 18" width="{width}" height="18" '
            f'role="img" aria-label="legend" class="legend">' + "".join(parts) + "</svg>")
