"""How numbers are written in every finding and report: one format everywhere."""

from __future__ import annotations

import math


def number(x: float | None, unit: str | None = None) -> str:
    """A number for a sentence, 4 significant figures: 452, 72.1, 0.031, 1.2E12 (with its unit)."""
    if x is None:
        return "n/a"
    if not math.isfinite(x):
        text = str(x)
    elif x != 0 and (abs(x) >= 1e5 or abs(x) < 1e-3):
        mant, exp = f"{x:.3E}".split("E")
        mant = mant.rstrip("0").rstrip(".")
        text = f"{mant}E{int(exp)}"
    else:
        text = f"{x:.4g}"
        if "e" in text:
            text = f"{x:.0f}"
    return f"{text} {unit}" if unit else text


def number_range(low: float | None, high: float | None, unit: str | None = None) -> str:
    """``59.59 to 138.9 %``: a range written the same way in every area."""
    return f"{number(low)} to {number(high, unit)}"


def within_sentence(text: str) -> str:
    """A recorded phrase placed mid-sentence: a capital that only starts the phrase is lowered
    ('Autologous drug product lots'), a name or acronym is kept ('TX-144 lots', 'CAR-T lots')."""
    first = text.split(" ", 1)[0]
    if first[:1].isupper() and (len(first) == 1 or first[1:].islower()):
        return first[0].lower() + text[1:]
    return text
