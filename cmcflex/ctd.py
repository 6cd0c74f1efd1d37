"""The sections of CTD Module 3 (Quality) that findings are filed under, in CTD order.

Section ids and titles are those of ICH M4Q(R1) (:data:`SOURCE`), body of data 3.2: drug
substance 3.2.S, drug product 3.2.P, appendices 3.2.A and regional information 3.2.R. Each rule
names the sections its findings belong to (``ctd=`` in its ``@rule``); where a rule covers the
drug substance and the drug product alike, it names both, and a finding on one material keeps
the sections of that material only (:func:`narrow`).

Quality-system expectations (quality unit, procedures, training, investigations, change control,
data integrity, inspections) have no Module 3 section of their own: they are filed under the
manufacturer(s) sections, 3.2.S.2.1 and 3.2.P.3.1, which name each site and its responsibilities.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

SOURCE = ("ICH M4Q(R1), The Common Technical Document for the Registration of Pharmaceuticals for Human "
          "Use: Quality, Module 3: Quality (Step 4; numbering and section headers as edited for the eCTD, "
          "September 2002)")
TAXONOMY = "ICH M4Q CTD Module 3"

SECTIONS: Mapping[str, str] = MappingProxyType({
    "3.2.S": "Drug Substance",
    "3.2.S.1": "General Information",
    "3.2.S.1.1": "Nomenclature",
    "3.2.S.1.2": "Structure",
    "3.2.S.1.3": "General Properties",
    "3.2.S.2": "Manufacture",
    "3.2.S.2.1": "Manufacturer(s)",
    "3.2.S.2.2": "Description of Manufacturing Process and Process Controls",
    "3.2.S.2.3": "Control of Materials",
    "3.2.S.2.4": "Controls of Critical Steps and Intermediates",
    "3.2.S.2.5": "Process Validation and/or Evaluation",
    "3.2.S.2.6": "Manufacturing Process Development",
    "3.2.S.3": "Characterisation",
    "3.2.S.3.1": "Elucidation of Structure and other Characteristics",
    "3.2.S.3.2": "Impurities",
    "3.2.S.4": "Control of Drug Substance",
    "3.2.S.4.1": "Specification",
    "3.2.S.4.2": "Analytical Procedures",
    "3.2.S.4.3": "Validation of Analytical Procedures",
    "3.2.S.4.4": "Batch Analyses",
    "3.2.S.4.5": "Justification of Specification",
    "3.2.S.5": "Reference Standards or Materials",
    "3.2.S.6": "Container Closure System",
    "3.2.S.7": "Stability",
    "3.2.S.7.1": "Stability Summary and Conclusions",
    "3.2.S.7.2": "Post-approval Stability Protocol and Stability Commitment",
    "3.2.S.7.3": "Stability Data",
    "3.2.P": "Drug Product",
    "3.2.P.1": "Description and Composition of the Drug Product",
    "3.2.P.2": "Pharmaceutical Development",
    "3.2.P.2.1": "Components of the Drug Product",
    "3.2.P.2.2": "Drug Product",
    "3.2.P.2.3": "Manufacturing Process Development",
    "3.2.P.2.4": "Container Closure System",
    "3.2.P.2.5": "Microbiological Attributes",
    "3.2.P.2.6": "Compatibility",
    "3.2.P.3": "Manufacture",
    "3.2.P.3.1": "Manufacturer(s)",
    "3.2.P.3.2": "Batch Formula",
    "3.2.P.3.3": "Description of Manufacturing Process and Process Controls",
    "3.2.P.3.4": "Controls of Critical Steps and Intermediates",
    "3.2.P.3.5": "Process Validation and/or Evaluation",
    "3.2.P.4": "Control of Excipients",
    "3.2.P.4.1": "Specifications",
    "3.2.P.4.2": "Analytical Procedures",
    "3.2.P.4.3": "Validation of Analytical Procedures",
    "3.2.P.4.4": "Justification of Specifications",
    "3.2.P.4.5": "Excipients of Human or Animal Origin",
    "3.2.P.4.6": "Novel Excipients",
    "3.2.P.5": "Control of Drug Product",
    "3.2.P.5.1": "Specification(s)",
    "3.2.P.5.2": "Analytical Procedures",
    "3.2.P.5.3": "Validation of Analytical Procedures",
    "3.2.P.5.4": "Batch Analyses",
    "3.2.P.5.5": "Characterisation of Impurities",
    "3.2.P.5.6": "Justification of Specification(s)",
    "3.2.P.6": "Reference Standards or Materials",
    "3.2.P.7": "Container Closure System",
    "3.2.P.8": "Stability",
    "3.2.P.8.1": "Stability Summary and Conclusion",
    "3.2.P.8.2": "Post-approval Stability Protocol and Stability Commitment",
    "3.2.P.8.3": "Stability Data",
    "3.2.A": "Appendices",
    "3.2.A.1": "Facilities and Equipment",
    "3.2.A.2": "Adventitious Agents Safety Evaluation",
    "3.2.A.3": "Novel Excipients",
    "3.2.R": "Regional Information",
})
_ORDER = {section: i for i, section in enumerate(SECTIONS)}

# Materials of specifications.yaml, lots.csv and stability.csv filed under 3.2.S or 3.2.P; a
# custom material keeps every section of the rule.
_PART = {"drug_substance": "3.2.S.", "vector": "3.2.S.", "drug_product": "3.2.P."}


def is_section(section: str) -> bool:
    return section in _ORDER


def title(section: str) -> str:
    """The M4Q(R1) title of a section; KeyError for an id that is not one."""
    return SECTIONS[section]


def label(section: str) -> str:
    """``3.2.P.5.6 Justification of Specification(s)``."""
    return f"{section} {SECTIONS[section]}"


def ordered(sections: Iterable[str]) -> tuple[str, ...]:
    """Sections without repeats, in CTD order; ids that are not M4Q sections last, as given."""
    unique = dict.fromkeys(sections)
    return tuple(sorted(unique, key=lambda s: _ORDER.get(s, len(_ORDER))))


def sort_key(sections: Iterable[str]) -> tuple[int, ...]:
    """Order of a group of sections (a finding's ``ctd``) in CTD order; no section sorts last."""
    key = tuple(_ORDER.get(s, len(_ORDER)) for s in sections)
    return key or (len(_ORDER) + 1,)


def narrow(sections: Iterable[str], material: str | None) -> tuple[str, ...]:
    """The sections of one material among a rule's: 3.2.S for drug substance and vector, 3.2.P for
    drug product (appendices and regional information stay). A custom or unknown material, or a
    rule with no section of that part, keeps them all."""
    sections = tuple(sections)
    part = _PART.get(material or "")
    if part is None:
        return sections
    other = "3.2.P." if part == "3.2.S." else "3.2.S."
    kept = tuple(s for s in sections if not s.startswith(other))
    return kept if any(s.startswith(part) for s in kept) else sections
