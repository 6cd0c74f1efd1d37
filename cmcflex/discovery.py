"""Which folders are dossiers: one folder, several, or a folder of dossier folders.

Kept apart from :mod:`cmcflex.portfolio` so that checking one dossier never imports the
portfolio machinery.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from cmcflex.paths import is_folder, is_inside

MARKER = "dossier.yaml"


def is_dossier(path: Path) -> bool:
    try:
        return (path / MARKER).is_file()
    except (OSError, ValueError):  # a link loop or an over-long path: loading it says why
        return False


def dossiers_in(folder: Path) -> list[Path]:
    """Subfolders of ``folder`` that hold a dossier.yaml, sorted by name."""
    try:
        children = sorted(p for p in folder.iterdir() if is_folder(p))
    except OSError:
        return []
    return [p for p in children if is_dossier(p)]


def links_outside(paths: Iterable[Path]) -> list[Path]:
    """Dossiers found in a folder of dossiers (not named one by one) through a symbolic link that
    leads outside that folder: a portfolio checks them only with --follow-links."""
    out = []
    for path in paths:
        if is_folder(path) and not is_dossier(path):
            out += [p for p in dossiers_in(path) if p.is_symlink() and not is_inside(path, p)]
    return out


def is_portfolio(paths: Sequence[Path]) -> bool:
    """Several paths, or one folder that is not a dossier but holds dossiers."""
    if len(paths) != 1:
        return len(paths) > 1
    (path,) = paths
    return is_folder(path) and not is_dossier(path) and bool(dossiers_in(path))


def find_dossiers(paths: Iterable[Path]) -> list[Path]:
    """The dossiers named by ``paths``: each path itself, or for a folder of dossiers, its
    dossier subfolders. Order is kept; a path that is neither stays (and fails to load)."""
    out: list[Path] = []
    for path in paths:
        inner = dossiers_in(path) if is_folder(path) and not is_dossier(path) else []
        out.extend(inner or [path])
    return out


def duplicate_names(paths: Sequence[Path]) -> list[str]:
    """Folder names shared by several dossiers (their report files would collide)."""
    seen: dict[str, int] = {}
    for path in paths:
        name = path.name or path.resolve().name
        seen[name] = seen.get(name, 0) + 1
    return sorted(name for name, count in seen.items() if count > 1)
