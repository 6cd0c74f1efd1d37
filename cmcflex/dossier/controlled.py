"""Controlled values (vocabularies) read as meant: a case variant of one allowed value is that value.

``Released``, ``PPQ`` and ``Phase_2`` are read as ``released``, ``ppq`` and ``phase_2`` wherever a
vocabulary applies (lots.csv ``use``, ``disposition``, ``starting_material``; YAML enums such as
``status``, ``phase``, ``modality``, ``roles``). Only case is forgiven, and only when it names one
allowed value: anything else (``phase 2``, ``relased``) stays an error with a suggestion.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Any


class ControlledValue(str, Enum):
    """Base of the format's enums: a value equal to exactly one member's but for case is that member."""

    @classmethod
    def _missing_(cls, value: Any) -> Any:
        if isinstance(value, str):
            matches = [m for m in cls if m.value.casefold() == value.casefold()]
            if len(matches) == 1:
                return matches[0]
        return None


class Vocabulary:
    """The allowed values of one column, and the case variants read as each."""

    def __init__(self, allowed: Iterable[str]) -> None:
        self.allowed = tuple(allowed)
        self.exact = frozenset(self.allowed)
        folded: dict[str, list[str]] = {}
        for value in self.allowed:
            folded.setdefault(value.casefold(), []).append(value)
        self.folded = {k: v[0] for k, v in folded.items() if len(v) == 1}

    def canonical(self, value: str) -> str | None:
        """The allowed value ``value`` stands for (itself, or the one it matches but for case); None if none."""
        if value in self.exact:
            return value
        return self.folded.get(value.casefold())
