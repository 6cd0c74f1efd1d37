"""Helpers that make dossier text safe to show in a terminal or document."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean(text: object) -> str:
    """Remove control and bidi-override characters so dossier text cannot move the cursor,
    colour the terminal or reorder what is shown."""
    return _CONTROL.sub("\N{REPLACEMENT CHARACTER}", str(text))


def location(file: str, line: int | None) -> str:
    return f"{file}:{line}" if line else file
