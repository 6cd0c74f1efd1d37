"""The command line: thin commands that call the library and pick a renderer.

Heavy modules (pydantic models, the rules, Rich renderers) are imported inside the commands,
so ``cmcflex --help`` and ``--version`` stay fast.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from cmcflex import __version__

EXIT_OK, EXIT_GAPS, EXIT_ERROR = 0, 1, 2

app = typer.Typer(
    name="cmcflex",
    help="BLA readiness checks for cell and gene therapy CMC dossiers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class PhaseOpt(str, Enum):
    phase_1 = "phase_1"
    phase_2 = "phase_2"
    phase_3 = "phase_3"
    bla = "bla"
    post_approval = "post_approval"


class SeverityOpt(str, Enum):
    info = "info"
    minor = "minor"
    major = "major"
    blocker = "blocker"


class FormatOpt(str, Enum):
    console = "console"
    json = "json"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cmcflex {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        Optional[bool],
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit."),
    ] = None,
) -> None:
    """BLA readiness checks for cell and gene therapy CMC dossiers."""


def _fail(message: str) -> typer.Exit:
    typer.echo(f"cmcflex: error: {message}", err=True)
    return typer.Exit(EXIT_ERROR)


def _parse_date(text: str | None) -> dt.date:
    if text is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise _fail(f"--as-of {text!r} is not an ISO date such as 2026-03-10") from None


def _parse_outputs(outputs: list[str], default_format: str, known: set[str]) -> list[tuple[str, Path]]:
    parsed = []
    for spec in outputs:
        head, sep, tail = spec.partition(":")
        if sep and head in known and tail:
            parsed.append((head, Path(tail)))
        elif sep and head and head.isalpha() and len(head) > 1 and head not in known:
            raise _fail(f"unknown output format {head!r} in --output {spec!r}; known: {', '.join(sorted(known))}")
        else:
            parsed.append((default_format, Path(spec)))
    return parsed


def _inside(folder: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def write_atomic(path: Path, text: str) -> None:
    """Write a file so that a failure never leaves a half-written report behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _print_load_errors(error: "object") -> None:
    problems = getattr(error, "problems", [])
    for problem in problems:
        typer.echo(str(problem), err=True)
    typer.echo(f"cmcflex: the dossier could not be loaded ({len(problems)} problem"
               f"{'s' if len(problems) != 1 else ''})", err=True)


@app.command()
def check(
    dossier: Annotated[Path, typer.Argument(help="Dossier folder (holds dossier.yaml).")],
    phase: Annotated[Optional[PhaseOpt], typer.Option(help="Override the phase in dossier.yaml.")] = None,
    target: Annotated[
        Optional[PhaseOpt], typer.Option(help="Check readiness for a later milestone, e.g. bla.")
    ] = None,
    fail_on: Annotated[
        SeverityOpt, typer.Option("--fail-on", help="Exit 1 when a gap at or above this severity is found.")
    ] = SeverityOpt.major,
    format: Annotated[FormatOpt, typer.Option("--format", "-f", help="Report format on standard output.")] = FormatOpt.console,
    output: Annotated[
        Optional[list[str]],
        typer.Option("--output", "-o", help="Write the report to FILE, or FORMAT:FILE (repeatable)."),
    ] = None,
    as_of: Annotated[
        Optional[str], typer.Option("--as-of", help="Evaluation date (ISO); default today.")
    ] = None,
    follow_links: Annotated[
        bool, typer.Option("--follow-links", help="Allow symbolic links that lead outside the dossier.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")] = False,
) -> None:
    """Check a dossier and report its gaps. Exit 0: none at or above --fail-on; 1: gaps; 2: error."""
    from cmcflex.api import build_report
    from cmcflex.dossier.errors import DossierError
    from cmcflex.dossier.loader import load_dossier
    from cmcflex.engine import InternalError
    from cmcflex.phases import Phase
    from cmcflex.report.formats import FORMATS, renderer
    from cmcflex.rules.base import Severity

    when = _parse_date(as_of)
    outputs = _parse_outputs(output or [], format.value, set(FORMATS))
    for _, path in outputs:
        if dossier.exists() and _inside(dossier, path):
            raise _fail(f"--output {path} is inside the dossier folder; cmcflex never writes there")
    try:
        loaded = load_dossier(dossier, follow_links=follow_links)
    except DossierError as exc:
        _print_load_errors(exc)
        raise typer.Exit(EXIT_ERROR) from None
    try:
        report = build_report(
            loaded,
            phase=Phase(phase.value) if phase else None,
            target=Phase(target.value) if target else None,
            as_of=when,
            fail_on=Severity(fail_on.value),
            path_label=str(dossier),
        )
    except ValueError as exc:
        raise _fail(str(exc)) from None
    except InternalError as exc:
        if debug:
            raise
        raise _fail(f"internal error: {exc} (run with --debug for the traceback)") from None
    for fmt, path in outputs:
        write_atomic(path, renderer(fmt)(report))
    main_to_file = any(p for f, p in outputs if f == format.value and f != "console")
    if format is FormatOpt.console or main_to_file:
        from rich.console import Console

        from cmcflex.report.console import print_report

        print_report(report, Console(highlight=False))
    else:
        sys.stdout.write(renderer(format.value)(report))
    raise typer.Exit(EXIT_GAPS if report.verdict == "fail" else EXIT_OK)


@app.command("rules")
def rules_command(
    format: Annotated[FormatOpt, typer.Option("--format", "-f", help="console or json")] = FormatOpt.console,
) -> None:
    """List every rule with its severity by phase."""
    from cmcflex.rules import REGISTRY
    from cmcflex.rules.catalogue import rule_table, rules_json

    if format is FormatOpt.json:
        sys.stdout.write(rules_json(REGISTRY))
        return
    from rich.console import Console

    Console().print(rule_table(REGISTRY))


@app.command()
def explain(rule_id: Annotated[str, typer.Argument(help="Rule id, e.g. PPQ-002, or its slug.")]) -> None:
    """Explain a rule: what it checks, why, its severity by phase, citations and remedy."""
    from cmcflex.dossier.errors import did_you_mean
    from cmcflex.rules import REGISTRY
    from cmcflex.rules.catalogue import explain_text

    found = REGISTRY.get(rule_id) or next((r for r in REGISTRY if r.slug == rule_id), None)
    if found is None:
        raise _fail(f"no rule {rule_id!r}{did_you_mean(rule_id.upper(), [r.id for r in REGISTRY])}")
    from rich.console import Console

    Console(highlight=False).print(explain_text(found))


def main() -> None:
    """Console entry point: never a traceback for an unexpected error unless --debug."""
    try:
        app()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        typer.echo("cmcflex: interrupted", err=True)
        sys.exit(EXIT_ERROR)
    except Exception as exc:  # noqa: BLE001
        if "--debug" in sys.argv:
            raise
        typer.echo(f"cmcflex: internal error: {type(exc).__name__}: {exc} "
                   "(run with --debug for the traceback)", err=True)
        sys.exit(EXIT_ERROR)
