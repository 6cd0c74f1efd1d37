"""The dossier folders a set of changed files belongs to: what a pre-commit hook checks.

A file belongs to the nearest folder above it (or itself, for a folder) that holds dossier.yaml.
Files outside any dossier are ignored, so a commit that touches no dossier checks nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

MARKER = "dossier.yaml"


def dossier_of(path: Path) -> Path | None:
    """The dossier folder holding ``path`` (the path as given, so reports name it the same way)."""
    candidates = [path] if path.is_dir() else []
    candidates += list(path.parents)
    for folder in candidates:
        if (folder / MARKER).is_file():
            return folder
    return None


def changed_dossiers(files: Iterable[Path]) -> list[Path]:
    """Each dossier folder the files belong to, once, in the order first touched."""
    found: dict[Path, None] = {}
    for file in files:
        folder = dossier_of(file)
        if folder is not None:
            found.setdefault(folder, None)
    return list(found)
