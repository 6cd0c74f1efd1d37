"""Phase order and resolution of the effective phase (pivotal, --phase, --target)."""

from __future__ import annotations

import pytest

from cmcflex.phases import Phase, resolve, rule_phase


def test_order():
    assert Phase.PHASE_1 < Phase.PHASE_2 < Phase.PHASE_3 < Phase.BLA < Phase.POST_APPROVAL


@pytest.mark.parametrize(
    "phase, pivotal, expected",
    [
        (Phase.PHASE_1, Phase.PHASE_3, Phase.PHASE_1),
        (Phase.PHASE_2, Phase.PHASE_3, Phase.PHASE_2),
        (Phase.PHASE_2, Phase.PHASE_2, Phase.PHASE_3),  # a pivotal phase 2 is treated as phase 3
        (Phase.PHASE_1, Phase.PHASE_1, Phase.PHASE_3),  # pivotal phase 1/2
        (Phase.PHASE_3, Phase.PHASE_2, Phase.PHASE_3),  # past the pivotal study, not yet BLA
        (Phase.BLA, Phase.PHASE_2, Phase.BLA),
        (Phase.POST_APPROVAL, Phase.PHASE_3, Phase.POST_APPROVAL),
    ],
)
def test_rule_phase(phase, pivotal, expected):
    assert rule_phase(phase, pivotal) is expected


def test_override_and_target():
    assert resolve(Phase.PHASE_2, Phase.PHASE_3, override=Phase.BLA) == (Phase.BLA, Phase.BLA)
    assert resolve(Phase.PHASE_3, Phase.PHASE_3, target=Phase.BLA) == (Phase.PHASE_3, Phase.BLA)
    with pytest.raises(ValueError, match="earlier than the current phase"):
        resolve(Phase.BLA, Phase.PHASE_3, target=Phase.PHASE_2)
