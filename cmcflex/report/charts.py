"""Inline SVG charts of lot results against specification limits (no script, no network)."""

from __future__ import annotations

import math
import re
from html import escape

from cmcflex.report.model import LotSeries
from cmcflex.report.text import clean

W, H = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 40
IN, OUT, LIMIT = "#1b7f4b", "#c62828", "#c62828"


def _e(text: object) -> str:
    return escape(clean(text), quote=True)


def _natural(lot_id: str) -> list[object]:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", lot_id)]


def _fmt(v: float) -> str:
    return f"{v:.4g}"


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


def chart(s: LotSeries) -> str:
    """One SVG: a point per lot result (hollow triangles for censored ones), dashed limit lines."""
    entries = [(lot, v, "", use) for lot, v, use in s.points] + [(lot, v, c, use) for lot, v, c, use in s.censored]
    entries.sort(key=lambda e: _natural(e[0]))
    values = [e[1] for e in entries] + [b for b in (s.min, s.max) if b is not None]
    positive = all(v > 0 for v in values)
    log = positive and len(values) > 1 and max(values) / min(values) >= 1000
    scale = _Scale(min(values), max(values), log)
    unit = f" {s.unit}" if s.unit else ""
    plot_w = W - LEFT - RIGHT
    n = len(entries)

    def x(i: int) -> float:
        return LEFT + plot_w * ((i + 0.5) / n if n else 0.5)

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
        cx, cy = x(i), scale.y(v)
        colour = IN if _inside(s, v) else OUT
        tip = f"<title>{_e(lot)} ({_e(use)}): {_e(censor)}{_e(_fmt(v))}{_e(unit)}</title>"
        if censor:
            d = radius + 1.5
            tri = (f"{cx - d:.1f},{cy - d:.1f} {cx + d:.1f},{cy - d:.1f} {cx:.1f},{cy + d:.1f}" if censor == "<"
                   else f"{cx - d:.1f},{cy + d:.1f} {cx + d:.1f},{cy + d:.1f} {cx:.1f},{cy - d:.1f}")
            out.append(f'<polygon points="{tri}" fill="none" stroke="{colour}" stroke-width="1.5">{tip}</polygon>')
        else:
            out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{radius}" fill="{colour}">{tip}</circle>')
    if entries:
        out.append(f'<text x="{x(0):.1f}" y="{H - BOTTOM + 16}" text-anchor="start" class="tick">'
                   f'{_e(entries[0][0])}</text>')
        if n > 1:
            out.append(f'<text x="{x(n - 1):.1f}" y="{H - BOTTOM + 16}" text-anchor="end" class="tick">'
                       f'{_e(entries[-1][0])}</text>')
    axis = f"{n} lot result{'s' if n != 1 else ''}" + (" (log scale)" if log else "")
    out.append(f'<text x="{LEFT + plot_w / 2:.1f}" y="{H - 6}" text-anchor="middle" class="axis">{_e(axis)}</text>')
    out.append("</svg>")
    return "".join(out)
