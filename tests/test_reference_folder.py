"""Tests that need ../shared skip in a user's fresh clone but fail in CI, where it must be present."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import reference_folder


def test_present_folder_is_returned(tmp_path: Path) -> None:
    assert reference_folder(tmp_path, {"CI": "true"}) == tmp_path


def test_missing_folder_skips_outside_ci(tmp_path: Path) -> None:
    with pytest.raises(pytest.skip.Exception):
        reference_folder(tmp_path / "absent", {})


@pytest.mark.parametrize("value", ["true", "TRUE", " true "])
def test_missing_folder_fails_under_ci(tmp_path: Path, value: str) -> None:
    with pytest.raises(pytest.fail.Exception, match="reference material is missing"):
        reference_folder(tmp_path / "absent", {"CI": value})


def test_ci_false_still_skips(tmp_path: Path) -> None:
    with pytest.raises(pytest.skip.Exception):
        reference_folder(tmp_path / "absent", {"CI": "false"})
