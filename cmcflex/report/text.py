"""Helpers that make dossier text safe to show in a terminal, a CI log or a document.

:func:`clean` is the one sanitiser of every output that shows dossier text (console, portfolio
summary, diff, load problems, SARIF messages, Markdown, HTML, JUnit, GitHub annotations).
"""

from __future__ import annotations

import re

# C0 controls but tab and line feed, DEL, C1 controls, bidi embeddings/overrides/isolates, the
# Unicode line and paragraph separators, and lone surrogates (bytes of a name that is not UTF-8)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_LINE_BREAK = re.compile(r"[\n\u2028\u2029]")
# GitHub Actions reads "::command" (and the older "##[command]") at the start of any log line
_WORKFLOW_COMMAND = re.compile(r":(?=:)|#(?=#\[)")


def _replace(match: re.Match[str]) -> str:
    ch = match.group()
    if "\udc80" <= ch <= "\udcff":  # a byte that was not UTF-8 (os.fsdecode's surrogateescape)
        return f"\\x{ord(ch) - 0xDC00:02x}"
    return "\N{REPLACEMENT CHARACTER}"


def clean(text: object, lines: bool = False) -> str:
    """Dossier text made inert: controls, bidi overrides and line separators become U+FFFD (they
    could move the cursor, colour the terminal or reorder what is shown), bytes of a name that is
    not UTF-8 become ``\\xNN``, and ``::`` / ``##[`` are split (``: :``, ``# #[``) so no line of
    any output can start a workflow command. Line feeds become spaces: one line, unless ``lines``
    (text this program composed of several lines, each part already from dossier strings)."""
    out = _WORKFLOW_COMMAND.sub(r"\g<0> ", str(text))
    if not lines:
        out = _LINE_BREAK.sub(" ", out)
    return _CONTROL.sub(_replace, out)


_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def json_inert(text: str) -> str:
    """JSON text whose strings hold no raw C1 control, bidi override or line separator: each is
    written as its ``\\uXXXX`` escape (the same JSON value, inert when printed), and so is a lone
    surrogate (a name that is not UTF-8), which could not be written as UTF-8. ``json.dumps``
    already escapes C0 controls."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def location(file: str, line: int | None) -> str:
    return f"{file}:{line}" if line else file
