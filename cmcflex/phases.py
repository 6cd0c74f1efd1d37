"""Development phases, their order, and how the effective phase is resolved."""

from __future__ import annotations

from cmcflex.dossier.controlled import ControlledValue
from cmcflex.vocabulary import Ordered


class Phase(Ordered, ControlledValue):
    """Where a product stands, in lifecycle order."""

    PHASE_1 = "phase_1"
    PHASE_2 = "phase_2"
    PHASE_3 = "phase_3"
    BLA = "bla"
    POST_APPROVAL = "post_approval"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Phase.PHASE_1: "phase 1",
    Phase.PHASE_2: "phase 2",
    Phase.PHASE_3: "phase 3 / pivotal",
    Phase.BLA: "BLA",
    Phase.POST_APPROVAL: "post-approval",
}
PHASES: tuple[Phase, ...] = tuple(Phase)
CLINICAL_PHASES: tuple[Phase, ...] = (Phase.PHASE_1, Phase.PHASE_2, Phase.PHASE_3)


def rule_phase(phase: Phase, pivotal_phase: Phase = Phase.PHASE_3) -> Phase:
    """The phase whose severities apply: the pivotal phase is treated as phase 3.

    dossier-format.md: "While `phase` equals `pivotal_phase` the rules treat it as `phase_3`".
    A product past its pivotal study but not yet at BLA (e.g. pivotal phase 2, now in a
    confirmatory phase 3) is also at least phase 3.
    """
    if phase in CLINICAL_PHASES and phase >= pivotal_phase:
        return Phase.PHASE_3
    return phase


def resolve(
    dossier_phase: Phase,
    pivotal_phase: Phase = Phase.PHASE_3,
    override: Phase | None = None,
    target: Phase | None = None,
) -> tuple[Phase, Phase]:
    """Return ``(current, evaluated)``: the product's phase and the phase whose rules run.

    ``override`` (``--phase``) replaces the dossier's phase; ``target`` (``--target``) evaluates
    readiness for a later milestone. A target earlier than the current phase is an error.
    """
    current = override or dossier_phase
    if target is not None and target < current:
        raise ValueError(
            f"target {target.value} is earlier than the current phase {current.value}"
        )
    evaluated = rule_phase(target or current, pivotal_phase)
    return current, evaluated
