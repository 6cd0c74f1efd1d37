"""Progress on standard error for long runs: a portfolio of dossiers, a dossier with large lots files.

Shown only when standard error is a terminal and ``--quiet`` is not given; never in a pipe, a
file or a CI log, so reports and logs stay the same bytes. The display is transient: it is
cleared when the work ends, leaving the report alone on the screen.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

LARGE_LOTS_BYTES = 16 * 1024 * 1024  # lot data from which reading takes long enough to show
MIN_PORTFOLIO = 2  # dossiers from which a portfolio shows its progress


def stderr_console() -> Console:
    """The console progress is drawn on (tests replace it with a forced terminal)."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, markup=False, emoji=False)


def _console(quiet: bool) -> Console | None:
    if quiet:
        return None
    console = stderr_console()
    return console if console.is_terminal else None


def _progress(console: Console, *, counted: bool) -> object:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = [SpinnerColumn(), TextColumn("{task.description}")]
    if counted:
        columns += [BarColumn(), MofNCompleteColumn()]
    return Progress(*columns, TimeElapsedColumn(), console=console, transient=True)


@contextmanager
def portfolio_progress(total: int, quiet: bool = False) -> Iterator[Callable[[], None]]:
    """Yield a function to call once per checked dossier; draws a bar of ``total`` on a terminal."""
    console = _console(quiet) if total >= MIN_PORTFOLIO else None
    if console is None:
        yield lambda: None
        return
    with _progress(console, counted=True) as progress:  # type: ignore[attr-defined]
        task = progress.add_task("Checking dossiers", total=total)
        yield lambda: progress.advance(task)


WORKBOOK_WEIGHT = 2  # a workbook holds about twice its size as CSV text (8.1 MB of CSV in a 3.5 MB .xlsx)


def lots_bytes(dossier: Path) -> int:
    """Bytes of lot data in a dossier (lots.csv or lots.xlsx, stability.csv or stability.xlsx and
    lots/*.csv), a workbook's counted as the CSV text it holds; 0 if unreadable."""
    total = 0
    candidates = [(dossier / name, WORKBOOK_WEIGHT if name.endswith(".xlsx") else 1)
                  for name in ("lots.csv", "lots.xlsx", "stability.csv", "stability.xlsx")]
    try:
        with os.scandir(dossier / "lots") as entries:
            candidates += [(Path(e.path), 1) for e in entries if e.name.endswith(".csv")]
    except OSError:
        pass
    for path, weight in candidates:
        try:
            total += path.stat().st_size * weight
        except OSError:
            continue
    return total


@contextmanager
def loading(dossier: Path, quiet: bool = False) -> Iterator[None]:
    """A spinner with the time spent while a dossier with large lots files is read."""
    console = _console(quiet)
    size = lots_bytes(dossier) if console is not None else 0
    if console is None or size < LARGE_LOTS_BYTES:
        yield
        return
    with _progress(console, counted=False) as progress:  # type: ignore[attr-defined]
        progress.add_task(f"Reading {size / (1024 * 1024):.0f} MiB of lot data", total=None)
        yield
