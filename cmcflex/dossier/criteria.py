"""Acceptance criteria and lot results as people write them, parsed into comparable values.

A criterion is a numeric range (``">= 70"``, ``"NMT 5 EU/mL"``, ``"1.0E12 - 5.0E12 vg/mL"``), a
qualitative expected result (``"No growth"``, ``"Negative"``), or report-only
(``"Report result"``). A lot result is a number, a censored number (``"<0.50"``) or a result word.
Censored results are compared as what they say (below 0.50), never as the bare number.
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal, NamedTuple

_NUM = r"[-+]?(?:\d[\d_]*(?:[.,]\d*)?|\.\d+)(?:\s*[eE]\s*[-+]?\d+|\s*[x×]\s*10\s*\^?\s*[-+]?\d+)?"
_NUMBER_RE = re.compile(rf"^\s*({_NUM})\s*(.*?)\s*$")
_TIMES_TEN = re.compile(r"\s*[x×]\s*10\s*\^?\s*[-+]?\d+$")  # the power of ten ending a number: ' x 10^6'
_E_EXPONENT = re.compile(r"\s*[eE]\s*([-+]?\d+)$")  # the exponent ending a number: 'E12'
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
    # Gram stain
    "no organisms seen": (frozenset({"no organisms seen", "not detected", "negative"}),
                          frozenset({"organisms seen", "detected", "positive"})),
    # identity by PCR or flow: the expected result is presence
    "positive": (frozenset({"positive", "detected"}), frozenset({"negative", "not detected"})),
    "detected": (frozenset({"detected", "positive"}), frozenset({"not detected", "negative"})),
}
COMPLIANCE = (frozenset({"conforms", "pass"}), frozenset({"does not conform", "fail"}))
"""Result words that state the result against the criterion itself ('Complies', 'Fail'): they
pass or fail whatever result the criterion expects."""
ABSENCE = (frozenset({"not detected", "negative", "absent", "no growth"}),
           frozenset({"detected", "positive", "present", "growth"}))
"""Result words of a presence test, judged by a limit of absence ('< 1 RCA per 3 x 10^10 vp')."""
_QUALITATIVE_ALIASES = {
    "conforms to reference": "conforms",
    "conforms to standard": "conforms",
    "consistent with reference": "conforms",
    "complies": "conforms",
    "sterile": "no growth",
}
_RESULT_ALIASES = {  # results written as pharmacopoeial labs write them (Ph. Eur. 'complies')
    **_QUALITATIVE_ALIASES,
    "does not comply": "does not conform",
    "not consistent with reference": "does not conform",
    "result pending": "pending",
}
RESULT_WORDS = frozenset(
    {"no growth", "growth", "negative", "positive", "not detected", "detected", "conforms",
     "does not conform", "pass", "fail", "absent", "present", "no organisms seen", "organisms seen",
     "pending"}  # a result not yet available: a fresh product released before its 14-day sterility
)
PENDING = "pending"


class NumberError(ValueError):
    """A number written so that it cannot be read as meant (the message says how to write it)."""


_GROUPED = re.compile(r"[-+]?[1-9][0-9]{0,2}(?:,[0-9]{3})+(?:\.[0-9]*)?")  # 6,500 or 1,234.5
_GROUPED_DOTS = re.compile(r"[-+]?[1-9][0-9]{0,2}(?:\.[0-9]{3})+,[0-9]*")  # 1.234,5
DOT_GROUPED = re.compile(r"[-+]?[1-9][0-9]{0,2}(?:\.[0-9]{3})+")  # 6.500: 6500 where a comma is the decimal mark


def parse_number(text: str, decimal_comma: bool | None = None) -> float:
    """A number as written in a dossier: ``82.4``, ``1.2E12``, ``1.2 x 10^12``, ``82,4``.

    A comma is read by where the number stands (``decimal_comma``): True in a semicolon-delimited
    file, where it is the decimal mark (and ``6.500`` may be 6500: an error); False in a comma-delimited
    file, where it cannot be told from a thousands separator and is an error; None in YAML, where one comma is the decimal
    mark unless three digits follow it (``6,500``: 6.5 or 6500?). Underscores (which Python
    reads as digit separators), NaN, infinities and numbers beyond float range are errors.
    """
    s = text.strip().replace(" ", "")
    if "_" in s and _reads_as_float(s):
        raise NumberError(f"{text!r} is not a number: '_' is not a digit separator; write it without "
                         f"('{s.replace('_', '')}' if that is meant)")
    m = re.fullmatch(r"([-+]?[\d.,]+)[x×]10\^?([-+]?\d+)", s)
    mantissa, exponent = (m.group(1), m.group(2)) if m else (s, None)
    if "," in mantissa and _reads_as_float(mantissa.replace(",", "")):
        mantissa = _decimal_comma(text, mantissa, decimal_comma)
    elif decimal_comma and DOT_GROUPED.fullmatch(mantissa):
        thousands = mantissa.replace(".", "")
        hint = (f"{thousands} (thousands) or {mantissa.replace('.', ',')} (decimal), whichever is meant"
                if mantissa.count(".") == 1 else thousands)
        raise NumberError(f"{text!r}: in a semicolon-delimited file, where a comma is the decimal mark, a point "
                          f"before three digits may be a thousands separator; write {hint}")
    try:
        value = float(mantissa) * 10.0 ** int(exponent) if exponent is not None else float(mantissa)
    except OverflowError:
        value = math.inf
    if math.isnan(value) or (math.isinf(value) and not re.search(r"[0-9]", s)):
        raise NumberError(f"{text!r} is not a finite number")
    if math.isinf(value):
        raise NumberError(f"{text!r} is beyond the range of numbers cmcflex can compare (about 1.8e308)")
    return value


def _reads_as_float(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _decimal_comma(text: str, s: str, decimal_comma: bool | None) -> str:
    """``s`` with its comma read as a decimal point, or ValueError when the comma is ambiguous."""
    grouped = _GROUPED.fullmatch(s)
    thousands = s.replace(",", "") if grouped else None
    decimal = s.replace(",", ".") if s.count(",") == 1 and "." not in s else None
    if _GROUPED_DOTS.fullmatch(s):  # never a number with a decimal point: thousands dots, decimal comma
        raise NumberError(f"{text!r}: thousands separators are not read; write {s.replace('.', '').replace(',', '.')}")
    readings = [f"{r} ({how})" for r, how in ((decimal, "decimal comma"), (thousands, "thousands")) if r is not None]
    hint = (f"; write {readings[0].split()[0]}" if len(readings) == 1 else
            f"; write {' or '.join(readings)}, whichever is meant" if readings else "")
    if decimal_comma is False:
        raise NumberError(f"{text!r}: a comma in a number of a comma-delimited file may be a decimal mark or "
                         f"a thousands separator{hint} (or use ';' as the delimiter for decimal commas)")
    if decimal is None:
        raise NumberError(f"{text!r}: thousands separators are not read{hint}")
    if decimal_comma is None and thousands is not None:
        raise NumberError(f"{text!r} may be a decimal comma or a thousands separator{hint}")
    return decimal


class NumericCriterion(NamedTuple):
    """A numeric acceptance range; either bound may be open."""

    min: float | None = None
    max: float | None = None
    min_inclusive: bool = True
    max_inclusive: bool = True
    unit: str | None = None
    text: str = ""
    kind: Literal["numeric"] = "numeric"

    def accepts(self, result: Result) -> bool | None:
        """Whether a result meets the criterion; None when it cannot be told (wrong kind). A limit
        of absence ('< 1 RCA per 3 x 10^10 vp', '<1 CFU', '0 CFU': see :attr:`absence`) judges the
        words of a presence test: 'Not detected' meets it, 'Detected' does not."""
        if result.word is not None:
            if self.absence:
                if result.word in ABSENCE[0] or result.word in COMPLIANCE[0]:
                    return True
                if result.word in ABSENCE[1] or result.word in COMPLIANCE[1]:
                    return False
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
    def absence(self) -> bool:
        """A limit of absence: fewer than one (or none) of what a presence test counts."""
        return self.min in (None, 0) and (self.max == 0 or (self.max == 1 and not self.max_inclusive))

    @property
    def sides(self) -> tuple[str, ...]:
        return tuple(s for s, b in (("lower", self.min), ("upper", self.max)) if b is not None)


class QualitativeCriterion(NamedTuple):
    """An expected result word such as ``No growth`` or ``Negative``."""

    expected: str
    text: str = ""
    kind: Literal["qualitative"] = "qualitative"

    def accepts(self, result: Result) -> bool | None:
        if result.word is None:
            return None
        passing, failing = QUALITATIVE.get(self.expected, (frozenset({self.expected}), frozenset()))
        if result.word in passing or result.word in COMPLIANCE[0]:
            return True
        if result.word in failing or result.word in COMPLIANCE[1]:
            return False
        return None

    def describe(self) -> str:
        return self.text or self.expected


class ReportOnlyCriterion(NamedTuple):
    """``Report result``: the value is recorded, nothing is accepted or rejected."""

    text: str = "Report result"
    kind: Literal["report_only"] = "report_only"

    def accepts(self, result: Result) -> bool | None:
        return None

    def describe(self) -> str:
        return self.text


Criterion = NumericCriterion | QualitativeCriterion | ReportOnlyCriterion


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
        low_text, high_text = m.group(1), m.group(3)
        factor = _TIMES_TEN.search(high_text)
        if factor and not m.group(2) and not re.search(r"[eEx×]", low_text):
            # '0.2 - 5.0 x 10^6 cells/kg': a power of ten written once after a range is both limits'
            # (0.2 x 10^6 to 5.0 x 10^6), as scientific notation and product labels write dose ranges
            low_text += factor.group(0)
        low, high = parse_number(low_text), parse_number(high_text)
        unit = (m.group(4) or m.group(2) or "").strip() or None
        exponent = _E_EXPONENT.search(high_text)
        if exponent and not m.group(2) and not re.search(r"[eEx×]", low_text) and low != 0 \
                and low <= parse_number(high_text[:exponent.start()]):
            raise ValueError(_exponent_once(text, low_text.strip(), low, high_text.strip(), high, exponent.group(1),
                                            unit))
        if low > high:
            raise ValueError(f"range {text!r} has its lower limit above its upper limit")
        return NumericCriterion(min=low, max=high, unit=unit, text=text)
    raise ValueError(
        f"cannot read criterion {text!r}; write a range ('>= 70 %', 'NMT 5 EU/mL', "
        "'1.0E12 - 5.0E12 vg/mL'), a result ('No growth', 'Negative', 'Not detected', "
        "'Conforms') or 'Report result'"
    )


def _exponent_once(text: str, low_text: str, low: float, high_text: str, high: float, e: str,
                   unit: str | None) -> str:
    """Why '1 - 5E12 vg/mL' is not read: E notation is its number's own, so the lower limit reads
    as 1, yet the writer may have meant it to share the exponent (1E12); neither is read silently."""
    unit_text = f" {unit}" if unit else ""
    both = f"write the exponent on both limits ('{low_text}E{e} - {high_text}{unit_text}')"
    if low > high:
        return f"range {text!r} gives only its upper limit an exponent (E{e}): {both}"
    mapping = f"{{min: {low:g}, max: {high_text.replace(' ', '')}{', unit: ' + unit if unit else ''}}}"
    return (f"range {text!r} gives only its upper limit an exponent (E{e}), so its lower limit would read "
            f"as {low:g}: {both}, or, if {low:g} is meant, the limits as min and max ({mapping})")


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
            except NumberError as exc:
                raise ValueError(f"criterion {key}: {exc}") from None
            except ValueError:
                raise ValueError(f"criterion {key} must be a number, not {value!r}") from None
    if bounds["min"] is None and bounds["max"] is None:
        raise ValueError("criterion mapping needs min, max or both")
    if bounds["min"] is not None and bounds["max"] is not None and bounds["min"] > bounds["max"]:
        raise ValueError("criterion min is above max")
    unit = raw.get("unit")
    return NumericCriterion(min=bounds["min"], max=bounds["max"], unit=str(unit) if unit else None)


def parse_result(text: str, decimal_comma: bool | None = None) -> Result:
    """Parse a lot result; ValueError when it is neither a number nor a known result word.

    ``decimal_comma`` says how a comma reads (see :func:`parse_number`)."""
    s = text.strip()
    if not s:
        raise ValueError("empty value: write the result (a number such as 82.4, a censored number such as "
                         "<0.50, or a result word such as Negative), or leave out the row of a test not done")
    head = s[0]
    if head in "<>≤≥":
        censor = "<" if head in "<≤" else ">"
        rest = s[1:].lstrip("=").strip()
        return Result(value=parse_number(rest, decimal_comma), censor=censor)
    try:
        return Result(value=parse_number(s, decimal_comma))
    except NumberError:
        raise  # a number, miswritten: say how
    except ValueError:
        pass
    word = " ".join(s.lower().split())
    word = _RESULT_ALIASES.get(word, word)
    if word in RESULT_WORDS:
        return Result(word=word)
    raise ValueError(
        f"cannot read result {text!r}: expected a number (82.4, 1.2E12), a censored number "
        "(<0.50) or a result word (No growth, Negative, Not detected, Conforms, ...)"
    )
