"""Dates as a dossier writes them: ISO 8601 calendar dates, ``YYYY-MM-DD``, and nothing else.

``3/16/2026`` and ``31/12/2025`` are refused rather than guessed (month or day first cannot be
told apart in general), as are impossible days (``2026-02-30``), year 0 and free text. So is a
time of day (``2026-03-16 14:30``): the record holds a moment, not the date it means. Midnight
(``2026-03-16 00:00:00``) is how spreadsheets export a date cell formatted as date and time, and
is read as its date, as a workbook's date cells are. :func:`date_text` gives the date as ten ASCII
characters, so comparing two as text compares them as dates.
"""

from __future__ import annotations

import datetime as dt
import re

_ISO = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MIDNIGHT = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})[T ]00:00(?::00(?:\.0+)?)?")  # a date cell exported with its time
_TIMED = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})[T ][0-9:.]+(?:Z|[+-][0-9:]+)?")
_SLASHED = re.compile(r"([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4})")
EXPECTED = "a date written YYYY-MM-DD (ISO 8601), e.g. 2026-03-16"


def parse_iso_date(text: str) -> dt.date:
    """The date ``text`` names; ValueError, saying the expected form, for anything else."""
    midnight = _MIDNIGHT.fullmatch(text)
    day = midnight.group(1) if midnight else text
    if _ISO.fullmatch(day):
        try:
            return dt.date.fromisoformat(day)
        except ValueError as exc:
            raise ValueError(f"'{text}' is not a calendar date ({exc}); expected {EXPECTED}") from None
    raise ValueError(f"{_shown(text)} is not {EXPECTED}{_hint(text)}")


def date_text(text: str) -> str:
    """``text``, a date :func:`parse_iso_date` accepts, as ``YYYY-MM-DD`` (without its midnight)."""
    return text[:10] if len(text) > 10 else text


def is_iso_date(text: str) -> bool:
    """Whether :func:`parse_iso_date` accepts ``text``."""
    try:
        parse_iso_date(text)
    except ValueError:
        return False
    return True


def _shown(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _hint(text: str) -> str:
    """How a day-month-year or month-day-year date is written as ISO, when that can be told."""
    timed = _TIMED.fullmatch(text.strip())
    if timed and is_iso_date(timed.group(1)):
        return f"; write {timed.group(1)} (the date alone, without a time)"
    m = _SLASHED.fullmatch(text.strip())
    if not m:
        return ""
    a, b, year = int(m.group(1)), int(m.group(2)), m.group(3)
    readings = []
    for month, day in ((a, b), (b, a)):
        try:
            readings.append(dt.date(int(year), month, day).isoformat())
        except ValueError:
            continue
    readings = list(dict.fromkeys(readings))
    if len(readings) == 1:
        return f"; write {readings[0]}"
    if len(readings) == 2:
        return f"; write {readings[0]} (month first) or {readings[1]} (day first), whichever is meant"
    return ""


DAYS_IN = {"minutes": 1 / 1440, "hours": 1 / 24, "days": 1.0, "months": 30.4375}
"""The time units of durations (a shelf life, an in-use period, a stability time point), in days;
a month is 30.4375 days (a year of 365.25 days in twelve)."""


def months_of(value: float, unit: str) -> float:
    """A duration in months."""
    return value if unit == "months" else value * DAYS_IN[unit] / DAYS_IN["months"]
