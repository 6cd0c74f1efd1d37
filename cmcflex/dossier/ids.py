"""Identifiers (lot, method, site ids) as written: matched exactly, suggested loosely, shown visibly.

A reference resolves only to an id spelled exactly the same. When it does not, the closest id is
looked for ignoring case, surrounding and repeated spaces, dash variants, compatibility forms
(full-width letters) and invisible characters (zero-width space, no-break space, byte order mark,
bidi marks): ``l-301``, ``L-301\\u200b`` and ``L-301 `` all suggest ``L-301``, but none of them is
``L-301``. Invisible characters are shown as ``<U+200B>`` so that the difference can be seen.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from cmcflex.dossier.errors import closest

MAX_FUZZY = 20      # unresolved references per call searched by spelling similarity (difflib)
MAX_FUZZY_IDS = 5_000  # beyond this many known ids, only one-edit spellings are searched (fast)


def id_key(text: str) -> str:
    """``text`` folded for loose comparison: NFKC, invisible characters dropped, spaces of any
    kind collapsed, dashes as ``-``, case folded."""
    if text.isascii() and text.isprintable():
        return " ".join(text.split()).casefold()
    folded = []
    for ch in unicodedata.normalize("NFKC", text):
        if ch.isspace():
            folded.append(" ")
        elif unicodedata.category(ch) == "Pd":
            folded.append("-")
        elif ch.isprintable():
            folded.append(ch)
    return " ".join("".join(folded).split()).casefold()


def visible(text: str) -> str:
    """``text`` with every invisible character, and a space at either end, written as ``<U+XXXX>``."""
    inner = text.strip(" ")
    lead, trail = len(text) - len(text.lstrip(" ")), len(text) - len(text.rstrip(" "))
    body = "".join(ch if ch.isprintable() else f"<U+{ord(ch):04X}>" for ch in inner)
    return "<U+0020>" * lead + body + "<U+0020>" * trail


class IdIndex:
    """Known ids, for suggesting the one a reference that does not resolve was meant to be."""

    def __init__(self, ids: Iterable[str]) -> None:
        self.ids = list(dict.fromkeys(ids))
        self._alphabet: str | None = None
        self.by_key: dict[str, list[str]] = {}
        for i in self.ids:
            self.by_key.setdefault(id_key(i), []).append(i)

    def same_but_spelling(self, ref: str) -> str | None:
        """The one id equal to ``ref`` but for case, spaces and invisible characters, if exactly one."""
        found = [i for i in self.by_key.get(id_key(ref), ()) if i != ref]
        return found[0] if len(found) == 1 else None

    def suggest(self, refs: Iterable[str]) -> dict[str, str | None]:
        """Each unresolved reference → its closest id: the same-but-spelling one, else the one id
        a single edit away (a typo), else, among few ids, the closest spelling; None when nothing
        is close or several are equally close."""
        out: dict[str, str | None] = {}
        fuzzy = 0
        for ref in dict.fromkeys(refs):
            best = self.same_but_spelling(ref)
            if best is None:
                best, ambiguous = self._one_edit_away(id_key(ref))
                if best is None and not ambiguous and fuzzy < MAX_FUZZY and len(self.by_key) <= MAX_FUZZY_IDS:
                    fuzzy += 1
                    best = _closest_by_key(ref, self.by_key)
            out[ref] = best
        return out

    def typo_of(self, ref: str) -> str | None:
        """The id ``ref`` is a slip of: the same but for spelling, or the one id a single edit away."""
        return self.same_but_spelling(ref) or self._one_edit_away(id_key(ref))[0]

    def _one_edit_away(self, key: str) -> tuple[str | None, bool]:
        """The one id whose folded form is a deletion, insertion, substitution or swap away from
        ``key`` (a dictionary look-up per candidate, so any number of ids costs the same); and
        whether several were."""
        if self._alphabet is None:
            self._alphabet = "".join(sorted(set().union(*self.by_key))) if self.by_key else ""
        found: set[str] = set()
        for candidate in _edits(key, self._alphabet):
            ids = self.by_key.get(candidate)
            if ids:
                found.update(ids)
                if len(found) > 1:
                    return None, True
        return (next(iter(found)), False) if found else (None, False)


def _edits(key: str, alphabet: str) -> Iterable[str]:
    """Every string one edit from ``key`` (Norvig's spelling-corrector neighbourhood)."""
    splits = [(key[:i], key[i:]) for i in range(len(key) + 1)]
    for a, b in splits:
        if b:
            yield a + b[1:]
            if len(b) > 1:
                yield a + b[1] + b[0] + b[2:]
            for c in alphabet:
                if c != b[0]:
                    yield a + c + b[1:]
        for c in alphabet:
            yield a + c + b


def _closest_by_key(ref: str, by_key: dict[str, list[str]]) -> str | None:
    """The closest id comparing folded forms (``l-3o1`` → ``L-301``); None if not unique."""
    key = closest(id_key(ref), by_key)
    if key is None or len(by_key[key]) != 1:
        return None
    return by_key[key][0]


def describe_miss(ref: str, suggestion: str | None) -> str:
    """``'l-301' (did you mean 'L-301'? ...)``: an unresolved id and the closest known one, if any."""
    text = f"'{visible(ref)}'"
    if suggestion is None:
        return text
    if id_key(suggestion) == id_key(ref):
        return (f"{text} (did you mean '{visible(suggestion)}'? they differ only in case, spaces or "
                "invisible characters)")
    return f"{text} (did you mean '{visible(suggestion)}'?)"
