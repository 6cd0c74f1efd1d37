"""How a PPQ lot-count justification covers the factors the May 2026 guidance names (PPQ-002).

The number of PPQ lots is justified from product and process understanding (with evidence), the
complexity of the process and the control strategy (points PV2 and PV2a of
:mod:`cmcflex.flexibilities`). A dossier may state each factor in its own field of
``protocol.lot_count_justification`` (``process_understanding``, ``process_complexity``,
``control_strategy``) or, as companies usually write it, in ``text``. A field on record covers its
factor; where the field is left out, the text covers the factor when it plainly speaks of it (the
words below, read generously). The evidence is the ``evidence`` list, or the document ids the text
and the fields cite. A text that speaks of none of the factors, cites no document and leans on a
convention ("three lots is customary") is no justification.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from cmcflex.dossier.models import LotCountJustification

FACTORS = ("process_understanding", "process_complexity", "control_strategy")
"""The factors, by the name of the field that holds each."""

FACTOR_WORDS = {
    "process_understanding": "product and process understanding",
    "process_complexity": "process complexity",
    "control_strategy": "the control strategy",
    "evidence": "evidence",
}

_TEXT_SIGNS = {
    "process_understanding": re.compile(
        r"understand|knowledge|characteri[sz]|stage[ -]?1|development|\bhistor|experience|"
        r"risk assessment|design space|design of experiments|\bDoE\b|\bCQAs?\b|reproducib|consisten|"
        r"capab|prior lots|"
        r"(?:clinical|pivotal|engineering|registration|GMP|previous|prior|commercial[- ]process)"
        r"\s+(?:\w+\s+){0,2}?(?:lots|batches|runs)|"
        r"(?:lots|batches|runs)\s+(?:of the|already|made|manufactured|to date)",
        re.IGNORECASE),
    "process_complexity": re.compile(
        r"complex|variab|variation|heterogene|homogene|unit operation|process step|operator|shift|donor|"
        r"patient[- ]to[- ]patient|apheresis|autologous|starting material|raw material|"
        r"(?:resin|vector|reagent|media|medium|material|cell bank)\s+lots|equipment train|high[- ]risk|"
        r"residual risk|failure mode|\bFMEA\b|individuali[sz]ed",
        re.IGNORECASE),
    "control_strategy": re.compile(
        r"control|in[- ]process|\bIPCs?\b|\bCPV\b|continued process verification|stage[ -]?3|monitor|"
        r"sampling|release test|specification|acceptance criteri|process parameter|\bCPPs?\b|lifecycle",
        re.IGNORECASE),
}

_CONVENTION = re.compile(
    r"customary|industry[- ](?:standard|practice|norm)|standard practice|common practice|traditional|"
    r"convention|usual(?:ly)?|typical(?:ly)?|(?:FDA|agency|regulatory|regulators'?)\s+expect\w*|"
    r"expected by (?:FDA|the agency|regulators)|per (?:FDA|the agency|regulatory|guidance)|rule of three",
    re.IGNORECASE)

_DOCUMENT_ID = re.compile(r"\b[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+\b")


class Reading(NamedTuple):
    """What a lot-count justification shows, factor by factor."""

    on_record: tuple[str, ...]
    """Factors stated in their own field."""
    in_text: tuple[str, ...]
    """Factors the text speaks of (their field left out)."""
    missing: tuple[str, ...]
    """Factors neither field nor text shows, then ``evidence`` when no document is cited."""
    evidence: tuple[str, ...]
    """The evidence documents: the ``evidence`` list, else the document ids cited in the text and fields."""
    convention: str | None
    """The convention the text leans on ("customary"), when it speaks of no factor."""

    @property
    def empty(self) -> bool:
        """Nothing of a justification: no factor, and no evidence or only a convention."""
        return not self.on_record and not self.in_text and (not self.evidence or self.convention is not None)

    @property
    def complete(self) -> bool:
        return not self.missing


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def document_ids(text: str) -> list[str]:
    """Document ids cited in ``text`` (e.g. ``PC-RPT-005``, ``RA-PPQ-LUMA``): capitalised tokens joined by
    hyphens, with a digit or of three parts or more (so ``SITE-A`` or ``CAR-T`` are not taken for one)."""
    found = [m.group(0) for m in _DOCUMENT_ID.finditer(text)]
    return list(dict.fromkeys(t for t in found if any(c.isdigit() for c in t) or t.count("-") >= 2))


def read_justification(j: LotCountJustification | None) -> Reading:
    """The factors ``j`` covers, in its fields or its text, and the evidence it cites."""
    if j is None:
        return Reading((), (), (*FACTORS, "evidence"), (), None)
    text = "" if _blank(j.text) else (j.text or "")
    on_record = tuple(f for f in FACTORS if not _blank(getattr(j, f)))
    in_text = tuple(f for f in FACTORS if f not in on_record and _TEXT_SIGNS[f].search(text))
    listed = tuple(e for e in j.evidence if not _blank(e))
    cited = document_ids(" ".join([text, *(getattr(j, f) or "" for f in on_record)]))
    evidence = listed or tuple(cited)
    missing = tuple(f for f in FACTORS if f not in on_record and f not in in_text)
    if not evidence:
        missing += ("evidence",)
    convention = None
    if not on_record and not in_text:
        match = _CONVENTION.search(text)
        convention = match.group(0) if match else None
    return Reading(on_record, in_text, missing, evidence, convention)
