"""Path checks shared by the loader (links out of the dossier) and the CLI (outputs into it)."""

from __future__ import annotations

from pathlib import Path


def is_inside(folder: Path, path: Path) -> bool:
    """Whether ``path``, with links resolved, lies inside ``folder``."""
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except (ValueError, OSError, RuntimeError):  # not inside; or a link loop, which no write gets through
        return False
