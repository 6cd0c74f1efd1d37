"""Acceptance criteria and lot results as people write them, parsed into comparable values.

A criterion is a numeric range (``">= 70"``, ``"NMT 5 EU/mL"``, ``"1.0E12 - 5.0E12 vg/mL"``), a
qualitative expected result (``"No growth"``, ``"Negative"``), or report-only
(``"Report result"``). A lot result is a number, a censored number (``"<0.50"``) or a result word.
Censored results are compared as what they say (below 0.50), never as the bare number.
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal, NamedTuple, Union

_NUM = r"[-+]?(?:\d+(?:[.,]\d*)?|\.\d+)(?:\s*[eE]\s*[-+]?\d+|\s*[x×]\s*10\s*\^?\s*[-+]?\d+)?"
_NUMBER_RE = re.compile(rf"^\s*({_NUM})\s*(.*?)\s*$")
_RANGE_RE = re.compile(rf"^\s*({_NUM})\s*(.*?)\s*(?:-|–|—|to)\s*({_NUM})\s*(.*?)\s*$", re.IGNORECASE)
_OPERATORS: list[tuple[str, str]] = [
    ("not more than", "<="),
    ("not less than", ">="),
    ("no more than", "<="),
    ("no less than", ">="),
    ("nmt", "<="),
    ("nlt", ">="),
    (">=", ">="),
    ("=>", ">="),
    ("≥", ">="),
    ("<=", "<="),
    ("=<", "<="),
    ("≤", "<="),
    (">", ">"),
    ("<", "<"),
]
REPORT_ONLY_WORDS = {
    "report result",
    "report results",
    "report",
    "record result",
    "record",
    "for information",
    "for information only",
    "report value",
}
# expected word -> (words that pass, words that fail)
QUALITATIVE: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "no growth": (frozenset({"no growth"}), frozenset({"growth"})),
    "negative": (frozenset({"negative", "not detected"}), frozenset({"positive", "detected"})),
    "not detected": (frozenset({"not detected", "negative"}), frozenset({"detected", "positive"})),
    "absent": (frozenset({"absent", "not detected", "negative"}), frozenset({"present", "detected", "positive"})),
    "conforms": (frozenset({"conforms", "pass"}), frozenset({"does not conform", "fail"})),
    "pass": (frozenset({"pass", "conforms"}), frozenset({"fail", "does not conform"})),
}
_QUALITATIVE_ALIASES = {
    "conforms to reference": "conforms",
    "conforms to standard": "conforms",
    "consistent with reference": "conforms",
    "complies": "conforms",
    "sterile": "no growth",
}
RESULT_WORDS = frozenset(
    {"no growth", "growth", "negative", "positive", "not detected", "detected", "conforms",
     "does not conform", "pass", "fail", "absent", "present"}
)


def parse_number(text: str) -> float:
    """A number as written in a dossier: ``82.4``, ``1.2E12``, ``1.2 x 10^12``, ``82,4``."""
    s = text.strip().replace(" ", "")
    m = re.fullmatch(r"([-+]?[\d.,]+)[x×]10\^?([-+]?\d+)", s)
    if m:
        return float(m.group(1).replace(",", ".")) * 10.0 ** int(m.group(2))
    if s.count(",") == 1 and "." not in s:
        s = s.replace(",", ".")
    value = float(s)
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


class NumericCriterion(NamedTuple):
    """A numeric acceptance range; either bound may be open."""

    min: float | None = None
    max: float | None = None
    min_inclusive: bool = True
    max_inclusive: bool = True
    unit: str | None = None
    text: str = ""
    kind: Literal["numeric"] = "numeric"

    def accepts(self, result: "Result") -> bool | None:
        """Whether a result meets the criterion; None when it cannot be told (wrong kind)."""
        if result.word is not None:
            return None
        v, c = result.value, result.censor
        verdicts = []
        if self.min is not None:
            if c == "<":  # somewhere below v
                verdicts.append(False if v <= self.min else None)
            elif c == ">":  # somewhere above v
                verdicts.append(True if v >= self.min else None)
            else:
                verdicts.append(v > self.min or (v == self.min and self.min_inclusive))
        if self.max is not None:
            if c == ">":
                verdicts.append(False if v >= self.max else None)
            elif c == "<":
                verdicts.append(True if v <= self.max else None)
            else:
                verdicts.append(v < self.max or (v == self.max and self.max_inclusive))
        if False in verdicts:
            return False
        if None in verdicts:
            return None
        return True

    def describe(self) -> str:
        return self.text or _describe_range(self)

    @property
    def sides(self) -> tuple[str, ...]:
        return tuple(s for s, b in (("lower", self.min), ("upper", self.max)) if b is not None)


class QualitativeCriterion(NamedTuple):
    """An expected result word such as ``No growth`` or ``Negative``."""

    expected: str
    text: str = ""
    kind: Literal["qualitative"] = "qualitative"

    def accepts(self, result: "Result") -> bool | None:
        if result.word is None:
            return None
        passing, failing = QUALITATIVE.get(self.expected, (frozenset({self.expected}), frozenset()))
        if result.word in passing:
            return True
        if result.word in failing:
            return False
        return None

    def describe(self) -> str:
        return self.text or self.expected


class ReportOnlyCriterion(NamedTuple):
    """``Report result``: the value is recorded, nothing is accepted or rejected."""

    text: str = "Report result"
    kind: Literal["report_only"] = "report_only"

    def accepts(self, result: "Result") -> bool | None:
        return None

    def describe(self) -> str:
        return self.text


Criterion = Union[NumericCriterion, QualitativeCriterion, ReportOnlyCriterion]


class Result(NamedTuple):
    """One lot result: a number (possibly censored ``<`` or ``>``) or a result word."""

    value: float = math.nan
    censor: str = ""  # "", "<" or ">"
    word: str | None = None

    def describe(self) -> str:
        if self.word is not None:
            return self.word
        from cmcflex.formatting import number

        return f"{self.censor}{number(self.value)}"


def _describe_range(c: NumericCriterion) -> str:
    unit = f" {c.unit}" if c.unit else ""
    if c.min is not None and c.max is not None:
        return f"{c.min:g} - {c.max:g}{unit}"
    if c.min is not None:
        return f"{'>=' if c.min_inclusive else '>'} {c.min:g}{unit}"
    return f"{'<=' if c.max_inclusive else '<'} {c.max:g}{unit}"


def parse_criterion(raw: Any) -> Criterion:
    """Parse a criterion string or ``{min, max, unit}`` mapping; ValueError says what is wrong."""
    if isinstance(raw, dict):
        return _from_mapping(raw)
    if isinstance(raw, bool) or raw is None:
        raise ValueError("expected a criterion such as '>= 70 %', 'No growth' or 'Report result'")
    if isinstance(raw, (int, float)):
        raise ValueError(
            f"a bare number ({raw}) is not a criterion; write e.g. '>= {raw}' or '<= {raw}'"
        )
    text = str(raw).strip()
    if not text:
        raise ValueError("empty criterion; write e.g. '>= 70 %', 'No growth' or 'Report result'")
    lowered = " ".join(text.lower().split()).rstrip(".")
    if lowered in REPORT_ONLY_WORDS:
        return ReportOnlyCriterion(text=text)
    word = _QUALITATIVE_ALIASES.get(lowered, lowered)
    if word in QUALITATIVE:
        return QualitativeCriterion(expected=word, text=text)
    for prefix, op in _OPERATORS:
        if lowered.startswith(prefix):
            rest = text[len(prefix):]
            m = _NUMBER_RE.match(rest)
            if not m:
                break
            value = parse_number(m.group(1))
            unit = m.group(2) or None
            if op in (">=", ">"):
                return NumericCriterion(min=value, min_inclusive=op == ">=", unit=unit, text=text)
            return NumericCriterion(max=value, max_inclusive=op == "<=", unit=unit, text=text)
    m = _RANGE_RE.match(text)
    if m:
        low, high = parse_number(m.group(1)), parse_number(m.group(3))
        unit = (m.group(4) or m.group(2) or "").strip() or None
        if low > high:
            raise ValueError(f"range {text!r} has its lower limit above its upper limit")
        return NumericCriterion(min=low, max=high, unit=unit, text=text)
    raise ValueError(
        f"cannot read criterion {text!r}; write a range ('>= 70 %', 'NMT 5 EU/mL', "
        "'1.0E12 - 5.0E12 vg/mL'), a result ('No growth', 'Negative', 'Not detected', "
        "'Conforms') or 'Report result'"
    )


def _from_mapping(raw: dict[str, Any]) -> NumericCriterion:
    unknown = set(raw) - {"min", "max", "unit"}
    if unknown:
        raise ValueError(f"unknown key(s) {sorted(unknown)} in criterion; allowed: min, max, unit")
    bounds: dict[str, float | None] = {}
    for key in ("min", "max"):
        value = raw.get(key)
        if value is None:
            bounds[key] = None
        elif isinstance(value, bool):
            raise ValueError(f"criterion {key} must be a number, not {value!r}")
        else:
            try:
                bounds[key] = parse_number(str(value))
            except ValueError:
                raise ValueError(f"criterion {key} must be a number, not {value!r}") from None
    if bounds["min"] is None and bounds["max"] is None:
        raise ValueError("criterion mapping needs min, max or both")
    if bounds["min"] is not None and bounds["max"] is not None and bounds["min"] > bounds["max"]:
        raise ValueError("criterion min is above max")
    unit = raw.get("unit")
    return NumericCriterion(min=bounds["min"], max=bounds["max"], unit=str(unit) if unit else None)


def parse_result(text: str) -> Result:
    """Parse a lot result; ValueError when it is neither a number nor a known result word."""
    s = text.strip()
    if not s:
        raise ValueError("empty value")
    head = s[0]
    if head in "<>≤≥":
        censor = "<" if head in "<≤" else ">"
        rest = s[1:].lstrip("=").strip()
        return Result(value=parse_number(rest), censor=censor)
    try:
        return Result(value=parse_number(s))
    except ValueError:
        pass
    word = " ".join(s.lower().split())
    if word in RESULT_WORDS:
        return Result(word=word)
    raise ValueError(
        f"cannot read result {text!r}: expected a number (82.4, 1.2E12), a censored number "
        "(<0.50) or a result word (No growth, Negative, Not detected, Conforms, ...)"
    )
