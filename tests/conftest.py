"""Shared fixtures: small dossiers built in tmp_path, and the shared reference folder."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import SHARED, base_dossier_yaml, reference_folder, write_dossier


@pytest.fixture
def dossier_dir(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``dossier_dir({"gmp.yaml": {...}}, phase="bla")`` writes a dossier, returns its folder.

    Keyword arguments replace top-level keys of the default dossier.yaml.
    """
    counter = {"n": 0}

    def make(files: dict[str, Any] | None = None, **dossier_overrides: Any) -> Path:
        counter["n"] += 1
        files = dict(files or {})
        if dossier_overrides or "dossier.yaml" not in files:
            files["dossier.yaml"] = {**files.get("dossier.yaml", base_dossier_yaml()), **dossier_overrides}
        return write_dossier(tmp_path / f"dossier{counter['n']}", files)

    return make


@pytest.fixture
def shared_dir() -> Path:
    """../shared beside the project; tests that need it skip where it is absent, except in CI."""
    return reference_folder(SHARED, os.environ)


# Property-based tests: a bounded profile for CI, a long one for fuzzing sessions
# (HYPOTHESIS_PROFILE=fuzz pytest tests/test_fuzz.py).
try:
    from hypothesis import HealthCheck, settings

    _slow_ok = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large]
    settings.register_profile("ci", max_examples=40, deadline=None, suppress_health_check=_slow_ok,
                              derandomize=True)
    settings.register_profile("dev", max_examples=200, deadline=None, suppress_health_check=_slow_ok)
    settings.register_profile("fuzz", max_examples=20_000, deadline=None, suppress_health_check=_slow_ok)
    import os as _os

    settings.load_profile(_os.environ.get("HYPOTHESIS_PROFILE", "ci"))
except ImportError:  # pragma: no cover - hypothesis is in the test extra
    pass
