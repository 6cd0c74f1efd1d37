"""Fixtures for format tests: a report with open, waived, info and not-evaluated findings."""

from __future__ import annotations

from pathlib import Path

import pytest

from cmcflex.api import build_report
from cmcflex.dossier.loader import load_dossier
from cmcflex.report.model import Report
from tests.helpers import AS_OF
from tests.report.sample import RULES, sample_dossier


@pytest.fixture
def sample_path(tmp_path: Path) -> Path:
    return sample_dossier(tmp_path / "dossiers" / "cart")


@pytest.fixture
def report(sample_path: Path) -> Report:
    return build_report(load_dossier(sample_path), as_of=AS_OF, rules=RULES, path_label="dossiers/cart",
                        generated_at="2026-11-25T10:20:30Z")
