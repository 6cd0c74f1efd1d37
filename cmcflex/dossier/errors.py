"""Load problems: each names a file, a line, a column or CSV row, and a field."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import NamedTuple


class Problem(NamedTuple):
    """One thing wrong with the input, located as precisely as the input allows."""

    file: str
    line: int
    col: int
    field: str
    message: str

    def __str__(self) -> str:
        from cmcflex.report.text import clean

        field = clean(self.field or "-")
        # one line per problem, whatever the source said; no control characters from the dossier
        message = clean(" ".join(self.message.split()))
        return f"{clean(self.file)}:{self.line}:{self.col}: {field}: {message}"


class DossierError(Exception):
    """The dossier cannot be loaded; carries every problem found, not only the first."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems: list[Problem] = sorted(set(problems))
        super().__init__("\n".join(str(p) for p in self.problems))


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The closest known spelling of ``word`` among ``choices``, if one is close and closer than the rest.

    Scored as :func:`difflib.get_close_matches` scores (ratio >= 0.6); a tie for best (``SITE-Z``
    against ``SITE-A``, ``SITE-B``, ``SITE-C``) suggests nothing rather than an arbitrary one.
    """
    matcher = difflib.SequenceMatcher()
    matcher.set_seq2(str(word))
    scored: list[tuple[float, str]] = []
    for choice in dict.fromkeys(str(c) for c in choices):
        matcher.set_seq1(choice)
        if matcher.real_quick_ratio() >= 0.6 and matcher.quick_ratio() >= 0.6 and matcher.ratio() >= 0.6:
            scored.append((matcher.ratio(), choice))
    if not scored:
        return None
    scored.sort(key=lambda s: -s[0])
    if len(scored) > 1 and scored[1][0] == scored[0][0]:
        return None
    return scored[0][1]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` or the empty string."""
    best = closest(word, choices)
    return f" (did you mean '{best}'?)" if best else ""


def allowed_values(field: str, got: object, allowed: list[str]) -> str:
    """``unknown modality 'x' (did you mean 'y'?); allowed: a, b, c``."""
    return f"unknown {field} {shown(got)}{did_you_mean(str(got), allowed)}; allowed: {', '.join(allowed)}"


def shown(value: object) -> str:
    """A short, readable rendering of a value a person wrote."""
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping" if value else "an empty mapping"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return repr(text)
    return str(value)


# What a value of each kind must look like, keyed by pydantic's error type.
EXPECTED: dict[str, str] = {
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "int_parsing": "a whole number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "float_parsing": "a number",
    "float_type": "a number",
    "finite_number": "a finite number",
    "date_parsing": "an ISO date",
    "date_type": "an ISO date",
    "date_from_datetime_parsing": "an ISO date",
    "date_from_datetime_inexact": "an ISO date",
    "string_type": "text",
    "list_type": "a list",
    "model_type": "a mapping of keys",
    "dict_type": "a mapping of keys",
    "model_attributes_type": "a mapping of keys",
}

BOUNDS: dict[str, str] = {
    "greater_than": "greater than {gt}",
    "greater_than_equal": "{ge} or more",
    "less_than": "less than {lt}",
    "less_than_equal": "{le} or less",
}


def not_utf8(file: str, chunks: Iterable[bytes]) -> Problem | None:
    """Where a file (read as ``chunks`` of bytes) stops being UTF-8: its first bad byte, by line,
    column (in characters) and offset; None when it is all UTF-8.

    Text is decoded a line at a time in effect: each piece ends at a line break, which is never
    inside a UTF-8 sequence, so a decoding error is always the file's own.
    """
    line, offset, carry = 1, 0, b""
    for chunk in (*chunks, b""):
        buffer = carry + chunk
        end = len(buffer) if not chunk else buffer.rfind(b"\n") + 1  # the last piece: all that is left
        piece, carry = buffer[:end], buffer[end:]
        try:
            piece.decode("utf-8")
        except UnicodeDecodeError as exc:
            start = piece.rfind(b"\n", 0, exc.start) + 1
            column = len(piece[start:exc.start].decode("utf-8")) + 1
            return Problem(file, line + piece.count(b"\n", 0, exc.start), column, "",
                           f"not UTF-8 text: byte 0x{piece[exc.start]:02x} at offset {offset + exc.start} "
                           f"({exc.reason}); save the file as UTF-8")
        line += piece.count(b"\n")
        offset += len(piece)
    return None
