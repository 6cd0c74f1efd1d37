"""The project's shared words: severities, areas, the lot vocabularies, and ordered enums.

A leaf module: it imports only :class:`~cmcflex.dossier.controlled.ControlledValue` (the base of
the dossier format's enums), so the report, the configuration and the diff can speak of
severities and areas without loading a rule.
"""

from __future__ import annotations

from enum import Enum

from cmcflex.dossier.controlled import ControlledValue


class Ordered:
    """Mixin for an enum whose members are ordered as declared (``rank`` 0, 1, ...).

    Put it before the enum's data type (``class X(Ordered, str, Enum)``) so its comparisons win
    over ``str``'s; members compare only with members of the same enum.
    """

    __slots__ = ()

    @property
    def rank(self) -> int:
        return type(self)._member_names_.index(self.name)  # type: ignore[attr-defined]  # a mixin: the Enum it is mixed into has both

    def __lt__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.rank >= other.rank


class Severity(Ordered, str, Enum):
    """How much a gap matters, least first; ``info`` is shown but never fails a run."""

    INFO = "info"
    MINOR = "minor"
    MAJOR = "major"
    BLOCKER = "blocker"


class Area(str, Enum):
    """The areas the rules are filed under, in report order."""

    GMP = "GMP"
    SPEC = "SPEC"
    PPQ = "PPQ"
    CMP = "CMP"
    STAB = "STAB"
    FLEX = "FLEX"

    @property
    def title(self) -> str:  # type: ignore[override]  # the area's heading, not str.title()
        return _AREA_TITLES[self]


_AREA_TITLES = {
    Area.GMP: "GMP expectations",
    Area.SPEC: "Specifications and methods",
    Area.PPQ: "Process performance qualification",
    Area.CMP: "Comparability of changes",
    Area.STAB: "Stability",
    Area.FLEX: "Use of the CMC flexibilities",
}


class LotUse(ControlledValue):
    """What a lot was made for (lots.csv ``use``)."""

    DEVELOPMENT = "development"
    ENGINEERING = "engineering"
    PHASE_1 = "phase_1"
    PHASE_2 = "phase_2"
    PHASE_3 = "phase_3"
    PPQ = "ppq"
    COMMERCIAL = "commercial"


class StartingMaterial(ControlledValue):
    """Where a lot's cells came from (lots.csv ``starting_material``)."""

    PATIENT = "patient"
    HEALTHY_DONOR = "healthy_donor"
    CELL_BANK = "cell_bank"
    NOT_APPLICABLE = "not_applicable"


class Disposition(ControlledValue):
    """What became of a lot (lots.csv ``disposition``)."""

    RELEASED = "released"
    REJECTED = "rejected"
    RELEASED_UNDER_EXCEPTION = "released_under_exception"
    PENDING = "pending"
    NOT_APPLICABLE = "not_applicable"
