"""Controlled values (vocabularies) read as meant: a spelling variant of one allowed value is that value.

``Released``, ``PPQ``, ``Phase 2``, ``pre-BLA``, ``Type B``, ``CBE 30`` and ``long-term`` are read as
``released``, ``ppq``, ``phase_2``, ``pre_BLA``, ``type_B``, ``CBE-30`` and ``long_term`` wherever a
vocabulary applies (lots.csv ``use``, ``disposition``, ``starting_material``; stability.csv
``condition``, ``time_unit``; YAML enums such as ``status``, ``phase``, ``modality``, ``roles``):
case, spaces, hyphens and underscores are forgiven, which tell no two allowed values apart. So are
a few fixed ways of writing a value (:data:`WRITTEN_AS`: ``month`` for ``months``, ``PAS`` for
``prior_approval_supplement``). Only a spelling naming exactly one allowed value is read; anything
else (``phase two``, ``relased``) stays an error with a suggestion.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import Enum
from typing import Any

_SEPARATORS = re.compile(r"[\s_-]+")

WRITTEN_AS = {
    "minute": "minutes", "min": "minutes", "mins": "minutes", "hour": "hours", "day": "days", "month": "months",
    "pas": "prior_approval_supplement", "priorapprovalsupplement": "PAS",
}
"""Other ways of writing an allowed value, by their folded spelling (:func:`fold`); used only where
the value they name is allowed (``PAS`` is itself a reporting category)."""


def fold(value: str) -> str:
    """A spelling as compared: case, spaces, hyphens and underscores ignored (``Pre-BLA`` is ``prebla``)."""
    return _SEPARATORS.sub("", value).casefold()


def _meant(value: str, allowed: Iterable[str]) -> list[str]:
    """The allowed values ``value`` may be a spelling of: itself folded, else what it is written for."""
    key = fold(value)
    values = list(allowed)
    matches = [a for a in values if fold(a) == key]
    if not matches and key in WRITTEN_AS:
        matches = [a for a in values if fold(a) == fold(WRITTEN_AS[key])]
    return matches


class ControlledValue(str, Enum):
    """Base of the format's enums: a spelling of exactly one member's value (see the module) is that member."""

    @classmethod
    def _missing_(cls, value: Any) -> Any:
        if isinstance(value, str):
            matches = _meant(value, (m.value for m in cls))
            if len(matches) == 1:
                return cls(matches[0])
        return None


class Vocabulary:
    """The allowed values of one column, and the spelling variants read as each."""

    def __init__(self, allowed: Iterable[str]) -> None:
        self.allowed = tuple(allowed)
        self.exact = frozenset(self.allowed)
        self._spelt: dict[str, str | None] = {}  # spellings read so far: a column repeats a few

    def canonical(self, value: str) -> str | None:
        """The allowed value ``value`` stands for (itself, or the one it spells); None if none."""
        if value in self.exact:
            return value
        if value not in self._spelt:
            matches = _meant(value, self.allowed)
            self._spelt[value] = matches[0] if len(matches) == 1 else None
        return self._spelt[value]
