"""Check many dossiers in one invocation: a portfolio of products, on both cores.

Each dossier is loaded, checked and rendered in a worker process (a pool of ``min(2, n)``
workers), so one slow or broken dossier never holds up or aborts the others. Results come back
in the order the dossiers were given; the combined exit code is the highest of the dossiers'
codes (0 pass, 1 gaps, 2 a dossier that could not be loaded or checked).

    from cmcflex.portfolio import PortfolioOptions, check_portfolio, find_dossiers
    outcomes = check_portfolio(find_dossiers([Path("dossiers")]), PortfolioOptions(as_of=...))
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cmcflex.discovery import (  # noqa: F401 - part of this module's API
    MARKER,
    dossiers_in,
    duplicate_names,
    find_dossiers,
    is_dossier,
    is_portfolio,
    links_outside,
)

if TYPE_CHECKING:
    from cmcflex.phases import Phase
    from cmcflex.report.grouping import GroupBy
    from cmcflex.report.model import Configuration, InputEntry, Report
    from cmcflex.rules.base import Severity
    from cmcflex.waivers import LocatedWaiver

EXIT_OK, EXIT_GAPS, EXIT_ERROR = 0, 1, 2
WORKERS = 2  # the machines this runs on (laptops, CI runners) have at least two cores


@dataclass(frozen=True)
class PortfolioOptions:
    """What every dossier of the portfolio is checked with (one configuration for all)."""

    as_of: dt.date
    phase: Phase | None = None
    target: Phase | None = None
    fail_on: Severity | None = None          # None: major
    rules: tuple[str, ...] | None = None     # rule ids to run; None: every rule
    overrides: dict[str, Severity] = field(default_factory=dict)
    extra_waivers: tuple[LocatedWaiver, ...] = ()
    extra_inputs: tuple[InputEntry, ...] = ()
    follow_links: bool = False
    formats: tuple[str, ...] = ()            # reports to render for each dossier
    generated_at: str | None = None
    configuration: Configuration | None = None  # shown in every report
    sarif: Any = None                        # cmcflex.report.sarif.SarifOptions of SARIF reports; None: defaults
    group_by: GroupBy = "area"               # console, markdown, html: by area or by CTD section


@dataclass(frozen=True)
class DossierOutcome:
    """The result of one dossier: its summary, its rendered reports, or why it failed."""

    path: str
    exit_code: int
    product: str | None = None
    phase: str | None = None                 # the Phase value ("phase_1"); tables show its label
    verdict: str | None = None               # "pass", "fail"; None when not checked
    counts: dict[str, int] = field(default_factory=dict)
    problems: tuple[str, ...] = ()           # load problems, as "file:line:col: field: message"
    error: str | None = None                 # why it was not checked, in one sentence
    reports: dict[str, str | bytes] = field(default_factory=dict)  # format -> rendered report

    @property
    def name(self) -> str:
        """The dossier folder's name: the stem of its report files."""
        return Path(self.path).name or Path(self.path).resolve().name


# ---------------------------------------------------------------------------- checking


def check_dossier(path: Path, options: PortfolioOptions) -> DossierOutcome:
    """Load, check and render one dossier; never raises for a bad dossier."""
    from cmcflex.api import build_report
    from cmcflex.dossier.errors import DossierError
    from cmcflex.dossier.loader import load_dossier
    from cmcflex.engine import InternalError
    from cmcflex.paths import display_path
    from cmcflex.rules import REGISTRY
    from cmcflex.rules.base import Severity

    label = display_path(path)
    try:
        dossier = load_dossier(path, follow_links=options.follow_links)
    except DossierError as exc:
        problems = tuple(str(p) for p in exc.problems)
        return DossierOutcome(label, EXIT_ERROR, problems=problems,
                              error=f"could not be loaded ({len(problems)} problem{'s' if len(problems) != 1 else ''})")
    rules = None
    if options.rules is not None:
        wanted = set(options.rules)
        rules = [r for r in REGISTRY if r.id in wanted]
    try:
        report = build_report(
            dossier, phase=options.phase, target=options.target, as_of=options.as_of,
            fail_on=options.fail_on or Severity.MAJOR, rules=rules, overrides=dict(options.overrides) or None,
            extra_waivers=list(options.extra_waivers), extra_inputs=list(options.extra_inputs),
            path_label=label, generated_at=options.generated_at, configuration=options.configuration,
        )
        reports = {fmt: _render(fmt, report, options) for fmt in options.formats}
    except ValueError as exc:
        return DossierOutcome(label, EXIT_ERROR, product=dossier.info.product.name, error=str(exc))
    except InternalError as exc:
        return DossierOutcome(label, EXIT_ERROR, product=dossier.info.product.name,
                              error=f"internal error: {exc}")
    return _outcome(label, report, reports)


def _outcome(label: str, report: Report, reports: dict[str, str | bytes]) -> DossierOutcome:
    return DossierOutcome(
        label,
        EXIT_GAPS if report.verdict == "fail" else EXIT_OK,
        product=report.dossier.product,
        phase=report.phase.value,
        verdict=report.verdict,
        counts=dict(sorted(report.counts.items())),  # the key order of the JSON report
        reports=reports,
    )


def _worker(args: tuple[Path, PortfolioOptions]) -> DossierOutcome:
    path, options = args
    try:
        return check_dossier(path, options)
    except Exception as exc:  # noqa: BLE001 - one dossier's defect must not abort the others
        return DossierOutcome(str(path), EXIT_ERROR, error=f"internal error: {type(exc).__name__}: {exc}")


def check_portfolio(
    paths: Sequence[Path], options: PortfolioOptions, workers: int | None = None,
    refused: Iterable[Path] = (), on_done: Callable[[], None] | None = None,
) -> list[DossierOutcome]:
    """Check every dossier, in a pool of ``min(2, len(paths))`` processes; outcomes in input order.
    ``on_done`` is called once per dossier as it finishes (a progress display).

    ``refused`` dossiers (links out of the portfolio, see :func:`links_outside`) are not read:
    their outcome is an error saying so, unless ``options.follow_links``.
    """
    skip = set() if options.follow_links else set(refused)
    if skip:
        checked = iter(check_portfolio([p for p in paths if p not in skip], options, workers, on_done=on_done))
        return [_tracked(_refused(p), on_done or (lambda: None)) if p in skip else next(checked) for p in paths]
    jobs = [(Path(p), options) for p in paths]
    count = min(WORKERS if workers is None else workers, len(jobs))
    tick = on_done or (lambda: None)
    if count <= 1:
        return [_tracked(_worker(job), tick) for job in jobs]
    _preload()
    import os

    # leaving the block for any reason (an error, Ctrl-C, SIGTERM turned into an exception by the
    # command line) terminates the workers; they never outlive the main process (see _bind_to_parent)
    with _context().Pool(count, initializer=_bind_to_parent, initargs=(os.getpid(),)) as pool:
        chunks = max(1, min(8, len(jobs) // (4 * count)))
        return [_tracked(outcome, tick) for outcome in pool.imap(_worker, jobs, chunksize=chunks)]


def _render(fmt: str, report: Report, options: PortfolioOptions) -> str | bytes:
    """One format of a dossier's report: SARIF with the run's options, the others grouped as asked."""
    from cmcflex.report.grouping import render

    if fmt == "sarif" and options.sarif is not None:
        from cmcflex.report import sarif

        return sarif.render(report, options.sarif)
    return render(fmt, report, options.group_by)


def _tracked(outcome: DossierOutcome, tick: Callable[[], None]) -> DossierOutcome:
    tick()
    return outcome


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _bind_to_parent(parent: int) -> None:
    """Worker start-up: ignore Ctrl-C (the main process handles it and ends the pool), end at once
    on SIGTERM, and die
    with the main process even when it is killed outright (SIGKILL): Linux's parent-death signal,
    else a watchdog thread that polls the parent's id."""
    import os
    import signal

    from cmcflex.dossier import lots_worker

    lots_worker.disable()  # the pool already uses every core
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the pool ends its workers with SIGTERM
    if not _parent_death_signal():
        import threading

        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)


def _parent_death_signal() -> bool:
    """Ask Linux to send this process SIGKILL when its parent dies; False where unavailable."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int, interval: float = 1.0) -> None:
    import os
    import time

    while os.getppid() == parent:
        time.sleep(interval)
    os._exit(1)


def _refused(path: Path) -> DossierOutcome:
    return DossierOutcome(str(path), EXIT_ERROR, error="a symbolic link to a folder outside the portfolio; "
                                                       "not followed (use --follow-links to check it)")


def _preload() -> None:
    """Import what workers need before they start, so forked workers share it ready-made."""
    import cmcflex.api  # noqa: F401
    import cmcflex.report.formats  # noqa: F401
    import cmcflex.rules  # noqa: F401


def _context() -> Any:
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    # fork: workers start at once with the modules already imported (Linux); elsewhere the default
    return multiprocessing.get_context("fork" if "fork" in methods and sys.platform == "linux" else None)


def combined_exit_code(outcomes: Iterable[DossierOutcome]) -> int:
    """The highest per-dossier code: 2 if any dossier failed to load, else 1 if any has gaps."""
    return max((o.exit_code for o in outcomes), default=EXIT_OK)


# ---------------------------------------------------------------------------- output


def report_files(outcomes: Iterable[DossierOutcome], folder: Path) -> dict[Path, str | bytes]:
    """``<dossier-name>.<ext>`` in ``folder`` for each rendered report of each dossier."""
    from cmcflex.report.formats import SUFFIXES

    files: dict[Path, str | bytes] = {}
    for outcome in outcomes:
        for fmt, text in outcome.reports.items():
            files[folder / f"{outcome.name}.{SUFFIXES[fmt]}"] = text
    return files


SEVERITY_COLUMNS = ("blocker", "major", "minor", "info")


def summary_rows(outcomes: Iterable[DossierOutcome]) -> list[list[str]]:
    """Rows of the summary table: dossier, product, phase (as the report writes it), verdict, counts, exit code."""
    from cmcflex.phases import Phase
    from cmcflex.report.text import clean

    rows = []
    for o in outcomes:
        verdict = o.verdict.upper() if o.verdict else "ERROR"
        counts = [str(o.counts.get(s, 0)) if o.verdict else "-" for s in SEVERITY_COLUMNS]
        phase = Phase(o.phase).label if o.phase in {p.value for p in Phase} else (o.phase or "-")
        rows.append([clean(o.path), clean(o.product or "-"), clean(phase), verdict, *counts, str(o.exit_code)])
    return rows


SUMMARY_HEADER = ["Dossier", "Product", "Phase", "Verdict", "Blocker", "Major", "Minor", "Info", "Exit"]


def summary_text(outcomes: Sequence[DossierOutcome]) -> str:
    """The summary as plain text: the table, each failed dossier's problems, and totals."""
    rows = [SUMMARY_HEADER, *summary_rows(outcomes)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(SUMMARY_HEADER))]
    numeric = set(range(4, len(SUMMARY_HEADER)))
    lines = []
    for k, row in enumerate(rows):
        cells = [c.rjust(w) if i in numeric and k else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.extend(_error_lines(outcomes))
    lines.append(totals_line(outcomes))
    return "\n".join(lines) + "\n"


def _error_lines(outcomes: Sequence[DossierOutcome]) -> list[str]:
    from cmcflex.report.text import clean

    out = []
    for o in outcomes:
        if o.error is None:
            continue
        out.append(clean(f"{o.path}: {o.error}"))
        out.extend(f"  {clean(p)}" for p in o.problems)
    return [""] + out if out else []


def totals_line(outcomes: Sequence[DossierOutcome]) -> str:
    passed = sum(1 for o in outcomes if o.verdict == "pass")
    failed = sum(1 for o in outcomes if o.verdict == "fail")
    errors = sum(1 for o in outcomes if o.verdict is None)
    return (f"{len(outcomes)} dossier{'s' if len(outcomes) != 1 else ''}: {passed} pass, {failed} fail, "
            f"{errors} not checked · exit {combined_exit_code(outcomes)}")


def print_summary(outcomes: Sequence[DossierOutcome], console: Any) -> None:
    """The summary table on a Rich console (dossier strings as plain text, never markup); plain,
    never-truncated text when the console is not a terminal (logs, pipes, CI)."""
    from rich.table import Table
    from rich.text import Text

    if not console.is_terminal:
        console.file.write(summary_text(outcomes))
        return

    style = {"PASS": "bold green", "FAIL": "bold red", "ERROR": "bold white on red"}
    table = Table(title="cmcflex portfolio", title_justify="left")
    for i, name in enumerate(SUMMARY_HEADER):
        table.add_column(name, justify="right" if i >= 4 else "left", no_wrap=i == 0)
    for row in summary_rows(outcomes):
        cells = [Text(c) for c in row]
        cells[3].stylize(style.get(row[3], ""))
        table.add_row(*cells)
    console.print(table)
    for line in _error_lines(outcomes):
        console.print(Text(line))
    console.print(Text(totals_line(outcomes)))


__all__ = [
    "DossierOutcome", "PortfolioOptions", "check_dossier", "check_portfolio", "combined_exit_code",
    "duplicate_names", "find_dossiers", "is_portfolio", "print_summary", "report_files", "summary_text",
]
