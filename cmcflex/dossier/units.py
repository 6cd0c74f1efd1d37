"""Units as dossiers write them, read into comparable form by one curated table.

A unit is read as an optional multiplier (``x10^6``, ``10^6``, ``1E6``, ``x10E6``, ``1.0E13``),
a symbol, and further ``/ [multiplier] symbol`` terms, followed by words that qualify it
(``% of reference``, ``pg/mL IFN-gamma``): ``x10^6 cells/mL``, ``ng/1.0E13 vg``, ``EU/kg/h``.
Two units are compatible when their symbols reduce to the same dimension and their qualifying
words agree (equal, or one the other with words added, as ``%`` and ``% CAR+ of CD3+``); the
factor between them then converts a value (``ng/mL`` to ``pg/mL`` is 1000).

The table below is the whole of what cmcflex knows: SI prefixes on gram, litre, molar and the
time units, and the counted things of cell and gene therapy (cells, vg, copies, EU, IU, ...),
which a general units library does not know. A unit that does not read this way (``CAR+ viable
T cells``) is compared as written, ignoring case and spacing, after a leading power of ten
(``x10^6 CAR+ T cells`` is a million ``CAR+ T cells``). ``10E6`` (is it 10^6 or 10^7?) is
not read as a multiplier, so it only matches itself. ``diploid genome`` is read as ``cell``
(``copies/diploid genome`` is ``copies/cell``, as vector copy number is reported either way).

Case is ignored where that cannot change the meaning (``ml`` is ``mL``, ``EU`` is ``eu``);
molar symbols keep their case (``nM`` is not ``nm``).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

_PREFIXES = {"f": 1e-15, "p": 1e-12, "n": 1e-9, "u": 1e-6, "m": 1e-3, "c": 1e-2, "d": 1e-1, "": 1.0, "k": 1e3}

# symbol -> (base, factor to the base, case-insensitive); built from the curated table below
_SYMBOLS: dict[str, tuple[str, float, bool]] = {}


def _add(base: str, names: tuple[str, ...], factor: float = 1.0, prefixes: str = "", fold: bool = True) -> None:
    for name in names:
        for p in ("", *prefixes):
            _SYMBOLS[p + name] = (base, factor * _PREFIXES[p], fold)


_add("percent", ("%", "percent", "pct"))
_add("g", ("g",), prefixes="fpnumk")
_add("L", ("L", "l"), prefixes="pnumd")
_add("L", ("cc",), 1e-3)  # a cubic centimetre is a millilitre
_add("M", ("M",), prefixes="pnum", fold=False)  # molar: nM is not nm
_add("s", ("s", "sec"))
_add("s", ("min",), 60.0)
_add("s", ("h", "hr", "hour", "hours"), 3600.0)
_add("s", ("d", "day", "days"), 86400.0)
_add("cells", ("cells", "cell"))
_add("vg", ("vg",))
_add("GC", ("GC",))
_add("vp", ("vp",))
_add("copies", ("copies", "copy"))
_add("particles", ("particles", "particle"))
_add("EU", ("EU",))
_add("IU", ("IU",))
_add("TU", ("TU",))
_add("CFU", ("CFU",))
_add("PFU", ("PFU",))
_add("IFU", ("IFU",))
_add("TCID50", ("TCID50",))
_add("RCA", ("RCA",))  # replication-competent adenovirus, lentivirus, retrovirus, AAV: counted units
_add("RCL", ("RCL",))
_add("RCR", ("RCR",))
_add("rcAAV", ("rcAAV",))
_add("U", ("U",), prefixes="umk", fold=False)  # enzyme or cytokine units: mU is not MU
_add("U", ("MU",), 1e6, fold=False)
_add("dose", ("dose", "doses"))
_add("bag", ("bag", "bags"))
_add("vial", ("vial", "vials"))

# case-folded spelling -> symbol, only where the folding is unambiguous
_FOLDED: dict[str, str] = {}
_AMBIGUOUS: set[str] = set()
for _name, (_base, _factor, _fold) in _SYMBOLS.items():
    key = _name.casefold()
    if key in _FOLDED and _SYMBOLS[_FOLDED[key]][:2] != (_base, _factor):
        _AMBIGUOUS.add(key)
    _FOLDED.setdefault(key, _name)
for _name, (_base, _factor, _fold) in _SYMBOLS.items():
    if not _fold:
        _AMBIGUOUS.add(_name.casefold())

_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
_SUPER_RUN = re.compile(r"([⁻⁺]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+)")
_NUM = r"\d+(?:\.\d*)?"
_MULT = re.compile(
    rf"(?:(?P<c1>{_NUM})\s*[x*]\s*10\s*(?:\^|\*\*)\s*(?P<e1>[-+]?\d+)"  # 1.5 x 10^6
    rf"|(?P<c2>{_NUM})[eE](?P<e2>[-+]?\d+)"                              # 1E6, 1.0E13 (not 10E6)
    r"|[x*]\s*10\s*(?:\^|\*\*|[eE])\s*(?P<e3>[-+]?\d+)"                   # x10^6, x10E6
    r"|10\s*(?:\^|\*\*)\s*(?P<e4>[-+]?\d+)"                               # 10^6
    r"|[eE](?P<e5>[-+]?\d+)(?=\s)"                                         # E9 (before a unit)
    rf"|(?P<c5>{_NUM})(?=\s*[A-Za-z%]))"                                  # 100 cells
)
# vector copy number per diploid genome is per cell: a (diploid) cell holds one diploid genome, and
# VCN assays count the vector against a reference gene of two copies per cell
_DIPLOID_GENOME = re.compile(r"\bdiploid\s+genomes?\b", re.IGNORECASE)
_PER = re.compile(r"\s*[/:]\s*|\s+per\s+", re.IGNORECASE)  # 'VP:IU' is the ratio vp/IU
_ATOM = re.compile(r"%|[A-Za-z][A-Za-z0-9]*")
_SLASH = re.compile(r"\s*/\s*")


class Unit(NamedTuple):
    """A unit read by the table: its dimension, the factor to that dimension's base, its qualifying words."""

    dimension: tuple[tuple[str, int], ...]  # sorted (base, exponent) pairs, exponents non-zero
    factor: float
    words: tuple[str, ...]                  # qualifying words, case-folded
    text: str                               # as written (stripped)


class Unread(NamedTuple):
    """A unit the table cannot read: compared as written, ignoring case and spacing, after a
    leading power of ten (``x10^6 CAR+ T cells`` is 10^6 ``CAR+ T cells``)."""

    words: tuple[str, ...]
    text: str
    factor: float = 1.0


def normalise(text: str) -> str:
    """The spelling compared: micro signs as ``u``, ``×`` as ``x``, superscript exponents as ``^n``,
    compatibility characters folded (NFKC), runs of spaces as one."""
    s = _SUPER_RUN.sub(lambda m: "^" + m.group(1).translate(_SUPERSCRIPT), text)
    s = unicodedata.normalize("NFKC", s)
    s = s.replace("μ", "u").replace("µ", "u").replace("×", "x").replace("·", "*")
    s = _DIPLOID_GENOME.sub("cell", s)
    s = _PER.sub("/", s)  # 'copies per cell', 'cells /kg': one spelling of the ratio
    return " ".join(s.split())


@lru_cache(maxsize=4096)
def read_unit(text: str) -> Unit | Unread:
    """Read a unit as written (once per distinct spelling)."""
    s = normalise(text)
    parsed = _parse(s)
    if parsed is not None:
        return parsed._replace(text=text.strip())
    m = _MULT.match(s)
    multiplier = _multiplier(m) if m is not None and m.group("c5") is None else None  # not '100 cells'
    if m is not None and multiplier is not None and s[m.end():].strip():
        return Unread(_folded_words(s[m.end():].strip()), text.strip(), multiplier)
    return Unread(_folded_words(s), text.strip())


def _folded_words(s: str) -> tuple[str, ...]:
    """Words compared ignoring case, except words holding a symbol whose case matters (mU, MU, nM)."""
    return tuple(w if any(a.casefold() in _AMBIGUOUS for a in re.split(r"[/*^]", w)) else w.casefold()
                 for w in s.split())


def _parse(s: str) -> Unit | None:
    at, sign, factor = 0, 1, 1.0
    powers: dict[str, int] = {}
    while True:
        m = _MULT.match(s, at)
        if m is not None:
            multiplier = _multiplier(m)
            if multiplier is None:
                return None  # '10E6': 10^6 as labs often mean it, or 10^7 as it reads
            factor *= multiplier ** sign
            at = m.end()
            while at < len(s) and s[at] == " ":
                at += 1
        a = _ATOM.match(s, at)
        if a is None:
            return None
        symbol = _symbol(a.group())
        if symbol is None:
            return None
        base, f = _SYMBOLS[symbol][:2]
        factor *= f ** sign
        powers[base] = powers.get(base, 0) + sign
        at = a.end()
        slash = _SLASH.match(s, at)
        if slash is None:
            break
        at, sign = slash.end(), -1
    rest = s[at:]
    if rest and not rest.startswith(" "):
        return None  # 'CAR+ cells': the symbol runs on into something else
    dimension = tuple(sorted((b, e) for b, e in powers.items() if e))
    return Unit(dimension, factor, tuple(rest.casefold().split()), s)


def _multiplier(m: re.Match[str]) -> float | None:
    g = m.groupdict()
    if g["e1"] is not None:
        return float(g["c1"]) * 10.0 ** int(g["e1"])
    if g["e2"] is not None:
        if g["c2"] == "10":
            return None
        return float(g["c2"]) * 10.0 ** int(g["e2"])
    if g["e3"] is not None:
        return 10.0 ** int(g["e3"])
    if g["e4"] is not None:
        return 10.0 ** int(g["e4"])
    if g["e5"] is not None:
        return 10.0 ** int(g["e5"])
    return float(g["c5"])


def _symbol(word: str) -> str | None:
    if word in _SYMBOLS:
        return word
    key = word.casefold()
    if key in _AMBIGUOUS:
        return None
    return _FOLDED.get(key)


def _words_agree(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    return long_[:len(short)] == short


@lru_cache(maxsize=4096)
def factor(source: str, target: str) -> float | None:
    """The factor that turns a value in unit ``source`` into unit ``target``; None when they
    are not compatible (another dimension, other qualifying words, or unread and written differently)."""
    a, b = read_unit(source), read_unit(target)
    if isinstance(a, Unit) and isinstance(b, Unit):
        if a.dimension != b.dimension or not _words_agree(a.words, b.words):
            return None
        return 1.0 if a.factor == b.factor else float(f"{a.factor / b.factor:.12g}")
    if isinstance(a, Unread) and isinstance(b, Unread) and _words_agree(a.words, b.words):
        return 1.0 if a.factor == b.factor else float(f"{a.factor / b.factor:.12g}")
    return None  # one reads and the other does not: different things


def convertible(a: str, b: str) -> bool:
    return factor(a, b) is not None
