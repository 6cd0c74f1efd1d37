"""The command line: thin commands that call the library and pick a renderer.

Heavy modules (pydantic models, the rules, Rich renderers) are imported inside the commands,
so ``cmcflex --help`` and ``--version`` stay fast. Annotations are evaluated where the commands
are defined (no ``from __future__ import annotations``): typer reads every parameter's type on
each run, and string annotations would be compiled and evaluated again each time.
"""

import datetime as dt
import gc
import os
import sys
from contextvars import ContextVar
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cmcflex import __version__
from cmcflex.help import HelpCommand, HelpGroup
from cmcflex.outputs import is_stdout
from cmcflex.paths import display_path, is_folder, is_inside
from cmcflex.report.formats import (
    ALSO_WRITTEN_AS,
    FOREIGN_EXTENSIONS,
    OUTPUT_EXTENSIONS,
    SERIES,
    TEXT_EXTENSIONS,
    extension_format,
)
from cmcflex.report.formats import NAMES as FORMAT_NAMES

if TYPE_CHECKING:
    from cmcflex.config import Effective
    from cmcflex.dossier.loader import Dossier
    from cmcflex.report.grouping import GroupBy
    from cmcflex.report.model import Configuration, Report
    from cmcflex.report.sarif import SarifOptions
    from cmcflex.rules.base import Registry

EXIT_OK, EXIT_GAPS, EXIT_ERROR = 0, 1, 2

app = typer.Typer(
    name="cmcflex",
    help="BLA readiness checks for cell and gene therapy CMC dossiers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    cls=HelpGroup,
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
    markdown = "markdown"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cmcflex {__version__}")
        raise typer.Exit()


# The rules of this invocation when a caller passes a registry in as the command's ``obj``
# (``CliRunner().invoke(app, args, obj=registry)``, e.g. a test's own rules); see _registry.
_GIVEN_RULES: ContextVar["Registry | None"] = ContextVar("cmcflex_given_rules", default=None)


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit."),
    ] = None,
) -> None:
    """BLA readiness checks for cell and gene therapy CMC dossiers."""
    token = _GIVEN_RULES.set(ctx.obj)
    ctx.call_on_close(lambda: _GIVEN_RULES.reset(token))


def _fail(message: str) -> typer.Exit:
    from cmcflex.report.text import clean  # messages quote paths and values from the user's files

    typer.echo(f"cmcflex: error: {clean(message)}", err=True)
    return typer.Exit(EXIT_ERROR)


def _parse_date(text: str | None) -> dt.date:
    if text is None:
        return dt.date.today()
    from cmcflex.dossier.dates import parse_iso_date

    try:
        return parse_iso_date(text)
    except ValueError as exc:  # the dossier's own date rule: 20261125 or 3/16/2026 is not guessed
        raise _fail(f"--as-of {exc}") from None


def _formats_hint(known: set[str]) -> str:
    extensions = " ".join(f"{ext}={fmt}" for ext, fmt in OUTPUT_EXTENSIONS if fmt in known)
    return (f"formats: {', '.join(sorted(known))} (--output FORMAT:FILE); by extension: {extensions}; "
            f"{' '.join(TEXT_EXTENSIONS)} or none: --format")


def _format_of(path: str, default_format: str, known: set[str]) -> str:
    """The format a bare ``--output FILE`` is written in: from its extension (a plain-text name or
    none: --format); a name whose extension is no format's is a usage error, never guessed."""
    fmt = extension_format(path)
    if fmt is not None and fmt in known:
        return fmt
    suffix = Path(path).suffix.lower()
    if fmt is None and (not suffix or suffix in TEXT_EXTENSIONS):
        return default_format
    raise _fail(f"--output {path}: cmcflex writes no format under the extension {suffix!r}; {_formats_hint(known)}")


def _check_extension(fmt: str, path: str, known: set[str]) -> None:
    """``FORMAT:FILE`` never writes one format under another's extension (a PDF is not a .txt)."""
    from cmcflex.report.formats import BINARY

    named = extension_format(path)
    suffix = Path(path).suffix.lower()
    if named is not None and named != fmt and ALSO_WRITTEN_AS.get(fmt) != named:
        raise _fail(f"--output {fmt}:{path} would write {fmt} under the extension of {named}; "
                    f"{_formats_hint(known)}")
    if fmt in BINARY and named != fmt:
        raise _fail(f"--output {fmt}:{path}: a {fmt} file is named *.{fmt}; {_formats_hint(known)}")
    if named is None and suffix in FOREIGN_EXTENSIONS:
        raise _fail(f"--output {fmt}:{path} would write {fmt} under the extension {suffix!r}; "
                    f"{_formats_hint(known)}")


def _check_named_as(fmt: str, path: Path) -> None:
    """An ``--output FILE`` in the --format format (``diff``): refused under another format's
    extension or a document cmcflex does not write (``-f console -o diff.xlsx``)."""
    named = extension_format(str(path))
    suffix = path.suffix.lower()
    if (named is not None and named != fmt) or (named is None and suffix in FOREIGN_EXTENSIONS):
        raise _fail(f"--output {path} would write {fmt} under the extension {suffix!r}; name the file "
                    f"for its format ({' '.join(TEXT_EXTENSIONS)} or none for console, .json, .md) or "
                    "change --format")


def _parse_outputs(outputs: list[str], default_format: str, known: set[str] | None = None) -> list[tuple[str, Path]]:
    """``FORMAT:FILE`` or ``FILE`` (format from the extension: .json, .sarif, .xml, .md, .html, .pdf;
    a plain-text name or none: --format; any other extension: a usage error)."""
    known = set(FORMAT_NAMES) if known is None else known
    parsed = []
    for spec in outputs:
        head, sep, tail = spec.partition(":")
        if sep and head in known and tail:
            _check_extension(head, tail, known)
            parsed.append((head, Path(tail)))
        elif sep and head and head.isalpha() and len(head) > 1 and head not in known:
            raise _fail(f"unknown output format {head!r} in --output {spec!r}; {_formats_hint(known)}")
        else:
            fmt = _format_of(spec, default_format, known)
            _check_extension(fmt, spec, known)
            parsed.append((fmt, Path(spec)))
    return parsed


def write_atomic(path: Path, text: str | bytes) -> None:
    """Write a regular file atomically (see :func:`cmcflex.outputs.write_atomic`)."""
    from cmcflex.outputs import write_atomic as write

    write(path, text)


def _write(path: Path, text: str | bytes) -> None:
    """Write one output (standard output, a device or pipe in place, a file atomically) or exit 2."""
    from cmcflex.outputs import OutputError, write_output

    try:
        write_output(path, text)
    except OutputError as exc:
        raise _fail(str(exc)) from None


def _print_load_errors(error: "object") -> None:
    problems = getattr(error, "problems", [])
    for problem in problems:
        typer.echo(str(problem), err=True)
    typer.echo(f"cmcflex: the dossier could not be loaded ({len(problems)} problem"
               f"{'s' if len(problems) != 1 else ''})", err=True)


ReportFormatOpt = Enum("ReportFormatOpt", [(n, n) for n in FORMAT_NAMES], type=str)  # type: ignore[misc]
"""Formats of ``check``: the table in cmcflex/report/formats.py."""


def _require_formats(formats: "set[str]", to_stdout: "set[str] | None" = None) -> None:
    """Exit 2 before any work when a format cannot be written here: a format without its optional
    extra (PDF, Excel), or a binary format meant for a terminal."""
    from cmcflex.report.formats import BINARY, unavailable

    for name in sorted(formats):
        reason = unavailable(name)
        if reason is not None:
            raise _fail(reason)
    binary = sorted((to_stdout or set()) & BINARY)
    if binary and sys.stdout.isatty():
        raise _fail(f"{binary[0]} is binary data, not for a terminal; use --output {binary[0]}:FILE "
                    "or redirect standard output")


class DiffFormatOpt(str, Enum):
    console = "console"
    json = "json"
    markdown = "markdown"


FailOnOpt = Annotated[
    SeverityOpt | None,
    typer.Option("--fail-on", metavar="LEVEL", show_default=False,
                 help="info, minor, major or blocker: exit 1 when a gap at or above this severity is found. "
                      "(env CMCFLEX_FAIL_ON; config fail-on; default major)"),
]
SelectOpt = Annotated[
    list[str] | None,
    typer.Option("--select", metavar="RULES", help="Run only these rules: ids, prefixes (SPEC-01) or areas (PPQ); "
                                   "repeatable or comma-separated. (env CMCFLEX_SELECT; config select)"),
]
IgnoreOpt = Annotated[
    list[str] | None,
    typer.Option("--ignore", metavar="RULES",
                 help="Skip these rules: ids, prefixes or areas. (env CMCFLEX_IGNORE; config ignore)"),
]
SeverityOverrideOpt = Annotated[
    list[str] | None,
    typer.Option("--severity", metavar="RULE=LEVEL",
                 help="Override a rule's severity, e.g. PPQ-005=minor; shown in the report. "
                      "(env CMCFLEX_SEVERITY; config severity table)"),
]
WaiversOpt = Annotated[
    Path | None,
    typer.Option("--waivers", metavar="FILE", help="Waivers file (same format as waivers.yaml), applied in addition "
                                   "to the dossier's own. (env CMCFLEX_WAIVERS; config waivers)"),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", metavar="FILE", help="Configuration file (default: nearest cmcflex.toml or pyproject.toml "
                                  "tool.cmcflex table, from the current folder up). (env CMCFLEX_CONFIG)"),
]
NoConfigOpt = Annotated[bool, typer.Option("--no-config", help="Ignore configuration files.")]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", metavar="DATE",
                                                help="Evaluation date (YYYY-MM-DD); default today.")]
PHASES = "phase_1, phase_2, phase_3, bla or post_approval"
PhaseArg = Annotated[PhaseOpt | None, typer.Option(
    "--phase", metavar="PHASE", help=f"Override the phase in dossier.yaml: {PHASES}.")]
TargetArg = Annotated[PhaseOpt | None, typer.Option(
    "--target", metavar="PHASE", help="Check readiness for a later milestone, e.g. bla.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print only the verdict line; no progress display.")]
FollowLinksOpt = Annotated[
    bool, typer.Option("--follow-links", help="Allow symbolic links that lead outside the dossier "
                                              "(and, in a folder of dossiers, links to dossiers outside it).")
]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")]
OutputOpt = Annotated[
    list[str] | None,
    typer.Option("--output", "-o", metavar="[FORMAT:]FILE", help="Write the report to FILE, or FORMAT:FILE (repeatable), "
                                        "e.g. -o sarif:cmcflex.sarif -o html:report.html; without FORMAT: "
                                        "the format follows the extension (.json, .sarif, .xml, .md, "
                                        ".html, .pdf, .xlsx; .txt or none: --format; any other: an error)."),
]


def generated_at(environ: "dict[str, str] | os._Environ[str] | None" = None) -> str:
    """The current UTC time, or SOURCE_DATE_EPOCH when set (reproducible builds)."""
    environ = os.environ if environ is None else environ
    epoch = environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            when = dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC)
        except (ValueError, OverflowError, OSError):
            raise _fail(f"SOURCE_DATE_EPOCH={epoch!r} is not a number of seconds since 1970") from None
    else:
        when = dt.datetime.now(dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _settings(fail_on: SeverityOpt | None, select: list[str] | None, ignore: list[str] | None,
              severity: list[str] | None, waivers: Path | None, config: Path | None,
              no_config: bool, dossiers: "list[Path] | tuple[Path, ...]" = ()) -> "Effective":
    from cmcflex.config import ConfigError, from_command_line, load

    try:
        cli = from_command_line(fail_on.value if fail_on else None, select, ignore, severity, waivers)
        return load(cli, Path.cwd(), config=config, no_config=no_config, dossiers=dossiers)
    except ConfigError as exc:
        raise _fail(f"configuration: {exc}") from None


def _configuration(settings: "Effective") -> "Configuration":
    """What the report shows of the configuration in force (cmcflex.report.model.Configuration)."""
    from cmcflex.report.model import Configuration

    return Configuration(file=_shown(settings.config_file) if settings.config_file is not None else None,
                         select=list(settings.select), ignore=list(settings.ignore))


def _registry() -> "Registry":
    """The rules a command uses: the registry passed in as the command's ``obj``, else every rule."""
    from cmcflex.rules import REGISTRY

    given = _GIVEN_RULES.get()
    return given if given is not None else REGISTRY


def _prepare(settings: "Effective") -> tuple[list, list, list]:
    """Selected rules, configured waivers, and the config and waiver files as report inputs.

    The one place where check, portfolios and plan turn configuration into run inputs.
    """
    import hashlib

    from cmcflex.config import ConfigError, check_overrides, select_rules
    from cmcflex.dossier.errors import DossierError
    from cmcflex.report.model import InputEntry
    from cmcflex.waivers import LocatedWaiver, load_waivers_file

    registry = _registry()
    try:
        rules = select_rules(registry, settings.select, settings.ignore)
        check_overrides(registry, settings.severity)
    except ConfigError as exc:
        raise _fail(f"configuration: {exc}") from None
    extra_inputs = []
    if settings.config_file is not None:
        from cmcflex.config import read_config_bytes

        try:
            data = read_config_bytes(settings.config_file)
        except (OSError, ValueError) as exc:
            raise _fail(f"configuration: {settings.config_file}: cannot read: {exc}") from None
        extra_inputs.append(InputEntry(file=_shown(settings.config_file), sha256=hashlib.sha256(data).hexdigest(),
                                       bytes=len(data), role="config"))
    extra_waivers: list[LocatedWaiver] = []
    if settings.waivers is not None:
        try:
            extra_waivers, entry = load_waivers_file(_shown(settings.waivers))
        except DossierError as exc:
            for problem in exc.problems:
                typer.echo(str(problem), err=True)
            raise _fail(f"the waivers file {settings.waivers} could not be loaded") from None
        extra_inputs.append(entry)
    return rules, extra_waivers, extra_inputs


def _load(dossier: Path, follow_links: bool, quiet: bool = False) -> "Dossier":
    """Load a dossier or print its problems and exit 2."""
    from cmcflex.dossier.errors import DossierError
    from cmcflex.dossier.loader import load_dossier
    from cmcflex.progress import loading

    try:
        with loading(dossier, quiet=quiet):
            return load_dossier(dossier, follow_links=follow_links)
    except DossierError as exc:
        _print_load_errors(exc)
        raise typer.Exit(EXIT_ERROR) from None


def _evaluate(dossier: Path, settings: "Effective", *, phase: PhaseOpt | None = None,
              target: PhaseOpt | None = None, when: dt.date, follow_links: bool = False,
              debug: bool = False, quiet: bool = False, series: bool = True) -> "Report":
    """Load, select rules, apply waivers and configuration: the one path of check and diff
    (``series``: whether the report's formats show the lot series)."""
    from cmcflex.api import build_report
    from cmcflex.engine import InternalError
    from cmcflex.phases import Phase

    rules, extra_waivers, extra_inputs = _prepare(settings)
    loaded = _load(dossier, follow_links, quiet)
    try:
        return build_report(
            loaded,
            phase=Phase(phase.value) if phase else None,
            target=Phase(target.value) if target else None,
            as_of=when,
            fail_on=settings.fail_on,
            rules=rules,
            overrides=dict(settings.severity) if settings.severity else None,
            extra_waivers=extra_waivers,
            extra_inputs=extra_inputs,
            configuration=_configuration(settings),
            path_label=display_path(dossier),
            generated_at=generated_at(),
            series=series,
        )
    except ValueError as exc:
        raise _fail(str(exc)) from None
    except InternalError as exc:
        if debug:
            raise
        raise _fail(f"internal error: {exc} (run with --debug for the traceback)") from None


def _shown(path: Path) -> str:
    """A path as shown in reports: relative to the current folder when inside it."""
    try:
        return display_path(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError, RuntimeError):
        return display_path(path)


def _check_outputs(dossier: Path, outputs: list[tuple[str, Path]]) -> None:
    for _, path in outputs:
        if not is_stdout(path) and is_folder(dossier) and is_inside(dossier, path):
            raise _fail(f"--output {path} is inside the dossier folder; cmcflex never writes there")


def _portfolio(paths: list[Path], settings: "Effective", *, format: str, output: list[str] | None,
               output_dir: Path | None, phase: PhaseOpt | None, target: PhaseOpt | None,
               when: dt.date, follow_links: bool, quiet: bool = False, sarif: object = None,
               group_by: "GroupBy" = "area") -> None:
    """Check several dossiers (cmcflex.portfolio): a summary table, one report per dossier, combined exit."""
    import json

    from cmcflex.phases import Phase
    from cmcflex.portfolio import (
        PortfolioOptions,
        check_portfolio,
        combined_exit_code,
        duplicate_names,
        find_dossiers,
        links_outside,
        print_summary,
        report_files,
    )

    if output:
        raise _fail("--output names one file; with several dossiers use --output-dir DIR")
    if format not in ("console", "json") and output_dir is None:
        raise _fail(f"--format {format} with several dossiers needs --output-dir DIR (one report per dossier)")
    _require_formats({format})
    found = find_dossiers(paths)
    if output_dir is not None:
        for folder in found:
            if is_folder(folder) and is_inside(folder, output_dir):
                raise _fail(f"--output-dir {output_dir} is inside the dossier folder {folder}; cmcflex never writes there")
        clashes = duplicate_names(found)
        if clashes:
            raise _fail(f"several dossiers are named {', '.join(clashes)}; their reports in --output-dir would collide")
    rules, extra_waivers, extra_inputs = _prepare(settings)
    options = PortfolioOptions(
        as_of=when, phase=Phase(phase.value) if phase else None, target=Phase(target.value) if target else None,
        fail_on=settings.fail_on, rules=tuple(r.id for r in rules), overrides=dict(settings.severity or {}),
        extra_waivers=tuple(extra_waivers), extra_inputs=tuple(extra_inputs), follow_links=follow_links,
        formats=(format,) if output_dir is not None else (), generated_at=generated_at(),
        configuration=_configuration(settings), sarif=sarif, group_by=group_by,
    )
    from cmcflex.progress import portfolio_progress

    with portfolio_progress(len(found), quiet=quiet) as advance:
        outcomes = check_portfolio(found, options, refused=links_outside(paths), on_done=advance)
    if output_dir is not None:
        for path, text in report_files(outcomes, output_dir).items():
            _write(path, text)
    if format == "json" and output_dir is None:
        sys.stdout.write(json.dumps([
            {"dossier": o.path, "product": o.product, "phase": o.phase, "verdict": o.verdict,
             "exit_code": o.exit_code, "counts": o.counts, "error": o.error, "problems": list(o.problems)}
            for o in outcomes
        ], indent=2) + "\n")
    elif quiet:
        from cmcflex.portfolio import totals_line

        typer.echo(totals_line(outcomes))
    else:
        from rich.console import Console

        print_summary(outcomes, Console(highlight=False))
    raise typer.Exit(combined_exit_code(outcomes))


class GroupByOpt(str, Enum):
    area = "area"
    ctd = "ctd"


GroupByArg = Annotated[
    GroupByOpt, typer.Option("--group-by", help="Group findings by area (GMP, SPEC, PPQ, CMP, STAB) or by CTD "
                                                "Module 3 section, in CTD order (console, markdown, html).")
]


@app.command(cls=HelpCommand)
def check(
    dossiers: Annotated[list[Path], typer.Argument(
        metavar="DOSSIER...", help="Dossier folder (holds dossier.yaml). Several folders, or a folder of dossier folders, "
             "check a portfolio: a summary table and the combined exit code.", show_default=False)],
    phase: PhaseArg = None,
    target: TargetArg = None,
    fail_on: FailOnOpt = None,
    format: Annotated[
        ReportFormatOpt, typer.Option("--format", "-f", metavar="FORMAT",
                                      help=f"Report format on standard output: {', '.join(FORMAT_NAMES)}.")
    ] = ReportFormatOpt("console"),  # noqa: B008  an enum member, built once at import
    output: OutputOpt = None,
    sarif_root: Annotated[Path | None, typer.Option(
        "--sarif-root", metavar="DIR", show_default=False,
        help="SARIF file locations are relative to DIR (uriBaseId SRCROOT), so code scanning finds them "
             "in the repository; default: the current folder.")] = None,
    sarif_no_info: Annotated[bool, typer.Option(
        "--sarif-no-info", help="Leave info findings out of SARIF (they would be code-scanning alerts of "
                                "level note).")] = False,
    quiet: QuietOpt = False,
    output_dir: Annotated[Path | None, typer.Option(
        "--output-dir", metavar="DIR", help="With several dossiers: write one report per dossier to DIR, named "
                             "<dossier-name>.<ext>, in the --format format.")] = None,
    as_of: AsOfOpt = None,
    select: SelectOpt = None,
    ignore: IgnoreOpt = None,
    severity: SeverityOverrideOpt = None,
    waivers: WaiversOpt = None,
    config: ConfigOpt = None,
    no_config: NoConfigOpt = False,
    follow_links: FollowLinksOpt = False,
    debug: DebugOpt = False,
    group_by: GroupByArg = GroupByOpt.area,
) -> None:
    """Check a dossier and report its gaps. Exit 0: none at or above --fail-on; 1: gaps; 2: error.

    Formats: console, json, sarif, junit, markdown, html, github, pdf, xlsx (pdf and xlsx to a file). Write several at once with repeated --output FORMAT:FILE; the console report still prints.
    Several dossiers (or a folder of them) are checked on two cores; the exit code is the highest of theirs.
    """  # noqa: E501  the help text's lines are laid out as written
    from cmcflex.discovery import is_portfolio
    from cmcflex.report.grouping import render as render_grouped

    def sarif_options() -> "SarifOptions":
        from cmcflex.report import sarif

        return sarif.options(root=sarif_root, info=not sarif_no_info)

    when = _parse_date(as_of)
    if len(dossiers) > 1 or output_dir is not None or is_portfolio(dossiers):
        from cmcflex.discovery import find_dossiers

        settings = _settings(fail_on, select, ignore, severity, waivers, config, no_config,
                             [*dossiers, *find_dossiers(dossiers)])
        _portfolio(dossiers, settings, format=format.value, output=output, output_dir=output_dir,
                   phase=phase, target=target, when=when, follow_links=follow_links, quiet=quiet,
                   sarif=sarif_options(), group_by=group_by.value)
    dossier = dossiers[0]
    outputs = _parse_outputs(output or [], format.value)
    _check_outputs(dossier, outputs)
    named = {f for f, p in outputs if is_stdout(p)}
    printed = named or (set() if any(f == format.value for f, _ in outputs) else {format.value})
    formats = {f for f, _ in outputs} | {format.value}
    _require_formats(formats, to_stdout=printed)
    settings = _settings(fail_on, select, ignore, severity, waivers, config, no_config, [dossier])
    report = _evaluate(dossier, settings, phase=phase, target=target, when=when, follow_links=follow_links,
                       debug=debug, quiet=quiet, series=bool(formats & SERIES))

    def render(fmt: str) -> str | bytes:
        if fmt == "sarif":
            from cmcflex.report import sarif

            return sarif.render(report, sarif_options())
        return render_grouped(fmt, report, group_by.value)

    for fmt, path in outputs:
        _write(path, render(fmt))
    if any(is_stdout(p) for _, p in outputs):
        pass  # standard output was asked for by name: it holds those reports only
    elif format.value == "console" or any(f == format.value and f != "console" for f, _ in outputs):
        from cmcflex.report.console import new_console, print_report, print_verdict

        print_verdict(report, new_console()) if quiet else print_report(report, new_console(), group_by.value)
    else:
        from cmcflex.outputs import write_stream

        write_stream(sys.stdout, render(format.value))
    raise typer.Exit(EXIT_GAPS if report.verdict == "fail" else EXIT_OK)


@app.command("pre-commit", cls=HelpCommand)
def pre_commit(
    files: Annotated[list[Path] | None, typer.Argument(
        metavar="[FILE]...", help="Changed files, as pre-commit passes them; each dossier folder they "
                                  "belong to (the folder holding dossier.yaml) is checked once.",
        show_default=False)] = None,
    target: TargetArg = None,
    fail_on: FailOnOpt = None,
    as_of: AsOfOpt = None,
    config: ConfigOpt = None,
    no_config: NoConfigOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Check the dossiers that changed files belong to (the pre-commit hook). Exit codes as check."""
    from cmcflex.hooks import changed_dossiers

    found = changed_dossiers(files or [])
    if not found:
        if not quiet:
            typer.echo("cmcflex: no dossier among the changed files")
        raise typer.Exit(EXIT_OK)
    check(dossiers=found, target=target, fail_on=fail_on, as_of=as_of, config=config, no_config=no_config,
          quiet=quiet)


@app.command(cls=HelpCommand)
def diff(
    old: Annotated[Path, typer.Argument(metavar="OLD", help="Older version: a JSON report (check -f json) or a dossier folder.")],
    new: Annotated[Path, typer.Argument(metavar="NEW", help="Newer version: a JSON report or a dossier folder.")],
    fail_on: FailOnOpt = None,
    format: Annotated[DiffFormatOpt, typer.Option("--format", "-f", metavar="FORMAT",
                                                  help="console, json or markdown.")] = DiffFormatOpt.console,
    output: Annotated[Path | None, typer.Option("--output", "-o", metavar="FILE",
                                                   help="Write the diff to FILE.")] = None,
    as_of: AsOfOpt = None,
    select: SelectOpt = None,
    ignore: IgnoreOpt = None,
    severity: SeverityOverrideOpt = None,
    waivers: WaiversOpt = None,
    config: ConfigOpt = None,
    no_config: NoConfigOpt = False,
    follow_links: FollowLinksOpt = False,
    debug: DebugOpt = False,
) -> None:
    """New, worse, better, resolved and unchanged gaps between two dossier versions
    (keyed by rule + file + record).

    Exit 1 when a new gap at or above --fail-on appears, or a gap rises to it; 0 otherwise;
    2 on error. Dossier folders are checked with the same configuration; JSON reports are
    compared as they are.
    """
    from cmcflex.diff import DiffError, compare, read_report, render

    if output is not None and not is_stdout(output):
        _check_named_as(format.value, output)
    settings = _settings(fail_on, select, ignore, severity, waivers, config, no_config, [old, new])
    when = _parse_date(as_of)
    reports = []
    for path in (old, new):
        if is_folder(path):
            reports.append(_evaluate(path, settings, when=when, follow_links=follow_links, debug=debug))
        else:
            try:
                reports.append(read_report(path))
            except DiffError as exc:
                raise _fail(str(exc)) from None
    if reports[0].dossier.product != reports[1].dossier.product:
        from cmcflex.report.text import clean

        typer.echo(clean(f"cmcflex: warning: comparing two different products ({reports[0].dossier.product} and "
                         f"{reports[1].dossier.product}); every gap will show as new or resolved"), err=True)
    result = compare(reports[0], reports[1], fail_on=settings.fail_on,
                     old_label=display_path(old), new_label=display_path(new))
    text = render(result, format.value)
    if output is not None:
        for folder in (old, new):
            if not is_stdout(output) and is_folder(folder) and is_inside(folder, output):
                raise _fail(f"--output {output} is inside the dossier folder; cmcflex never writes there")
        _write(output, text)
        if is_stdout(output):
            raise typer.Exit(EXIT_GAPS if result.failing else EXIT_OK)
        if format is not DiffFormatOpt.console:
            text = render(result, "console")
    sys.stdout.write(text)
    raise typer.Exit(EXIT_GAPS if result.failing else EXIT_OK)


@app.command("rules", cls=HelpCommand)
def rules_command(
    format: Annotated[FormatOpt, typer.Option("--format", "-f", metavar="FORMAT",
                                              help="console, json or markdown.")] = FormatOpt.console,
) -> None:
    """List every rule with its severity by phase (markdown: the rules reference, docs/rules.md)."""
    from cmcflex.rules.catalogue import rule_table, rules_json, rules_markdown

    registry = _registry()
    if format is FormatOpt.json:
        sys.stdout.write(rules_json(registry))
        return
    if format is FormatOpt.markdown:
        sys.stdout.write(rules_markdown(registry))
        return
    from rich.console import Console

    from cmcflex.rules.catalogue import rule_legend

    console = Console()
    console.print(rule_table(registry))
    console.print(rule_legend())


@app.command("flexibilities", cls=HelpCommand)
def flexibilities_command(
    dossier: Annotated[Path | None, typer.Argument(
        metavar="[DOSSIER]", help="A dossier folder: list the flexible choices it makes and their conditions.")] = None,
    format: Annotated[FormatOpt, typer.Option("--format", "-f", metavar="FORMAT",
                                              help="console, json or markdown (markdown: without DOSSIER).")]
    = FormatOpt.console,
    as_of: AsOfOpt = None,
    config: ConfigOpt = None,
    no_config: NoConfigOpt = False,
    follow_links: FollowLinksOpt = False,
) -> None:
    """The May 2026 CMC flexibilities: what each needs on record, its fields and its rules
    (markdown: docs/flexibilities.md); with DOSSIER, the flexible choices the dossier makes and
    whether their conditions are on record."""
    if dossier is not None:
        _dossier_flexibilities(dossier, format, as_of, config, no_config, follow_links)
        return
    from cmcflex.rules.flexibility_docs import flexibilities_json, flexibilities_markdown, flexibility_table

    registry = _registry()
    if format is FormatOpt.json:
        sys.stdout.write(flexibilities_json(registry))
        return
    if format is FormatOpt.markdown:
        sys.stdout.write(flexibilities_markdown(registry))
        return
    from rich.console import Console

    Console().print(flexibility_table(registry))


def _dossier_flexibilities(dossier: Path, format: FormatOpt, as_of: str | None, config: Path | None,
                           no_config: bool, follow_links: bool) -> None:
    from cmcflex.api import build_report
    from cmcflex.authoring.flexibility_use import flexibility_uses, uses_json, uses_table
    from cmcflex.views import DossierViews

    if format is FormatOpt.markdown:
        raise _fail("--format markdown lists the guidance's points; with a DOSSIER use console or json")
    when = _parse_date(as_of)
    settings = _settings(None, None, None, None, None, config, no_config, [dossier])
    rules, extra_waivers, _ = _prepare(settings)
    loaded = _load(dossier, follow_links)
    views = DossierViews(loaded)
    report = build_report(loaded, as_of=when, rules=rules, path_label=display_path(dossier),
                          overrides=dict(settings.severity) if settings.severity else None,
                          extra_waivers=extra_waivers, views=views)
    uses = flexibility_uses(loaded, report, list(rules), views)
    if format is FormatOpt.json:
        sys.stdout.write(uses_json(uses))
        return
    from rich.console import Console

    Console(highlight=False).print(uses_table(uses, display_path(dossier)))


@app.command(cls=HelpCommand)
def explain(rule_id: Annotated[str, typer.Argument(metavar="RULE", help="Rule id, e.g. PPQ-002, or its slug.")]) -> None:
    """Explain a rule: what it checks, why, its severity by phase, citations and remedy."""
    from cmcflex.dossier.errors import did_you_mean
    from cmcflex.rules.catalogue import explain_text

    registry = _registry()
    found = registry.get(rule_id) or next((r for r in registry if r.slug == rule_id), None)
    if found is None:
        raise _fail(f"no rule {rule_id!r}{did_you_mean(rule_id.upper(), [r.id for r in registry])}")
    from rich.console import Console

    Console(highlight=False).print(explain_text(found))


class ModalityOpt(str, Enum):
    aav = "aav"
    adenoviral_vector = "adenoviral_vector"
    lentiviral_vector = "lentiviral_vector"
    retroviral_vector = "retroviral_vector"
    car_t_autologous = "car_t_autologous"
    car_t_allogeneic = "car_t_allogeneic"
    gene_modified_hsc = "gene_modified_hsc"
    gene_modified_cells = "gene_modified_cells"
    gene_edited_cells = "gene_edited_cells"
    allogeneic_cell = "allogeneic_cell"
    autologous_cell = "autologous_cell"
    oncolytic_virus = "oncolytic_virus"


@app.command(cls=HelpCommand)
def init(
    folder: Annotated[Path, typer.Argument(metavar="FOLDER", help="New folder for the dossier (must not exist, or be empty).")],
    modality: Annotated[ModalityOpt, typer.Option(
        "--modality", "-m", metavar="MODALITY",
        help="Product modality: " + ", ".join(m.value for m in ModalityOpt) + ".")],
    phase: Annotated[PhaseOpt, typer.Option("--phase", "-p", metavar="PHASE",
                                            help=f"Where the product stands now: {PHASES}.")],
    pivotal_phase: Annotated[
        PhaseOpt, typer.Option("--pivotal-phase", metavar="PHASE",
                               help="Phase of the registrational study: phase_1, phase_2 or phase_3.")
    ] = PhaseOpt.phase_3,
    product: Annotated[str | None, typer.Option("--product", metavar="NAME", help="Product name or code.")] = None,
    schema_base: Annotated[
        str | None,
        typer.Option("--schema-base", metavar="LOCATION", help="Folder or URL of the JSON Schemas for the editor line of each "
                                           "YAML file; default: copies in FOLDER/.schemas."),
    ] = None,
) -> None:
    """Write a starter dossier: every field the phase's rules need, placeholders marked TODO."""
    from cmcflex.authoring.scaffold import SCHEMA_FOLDER, InitError, Starter, write_starter
    from cmcflex.dossier.models import Modality
    from cmcflex.phases import CLINICAL_PHASES, Phase

    if Phase(pivotal_phase.value) not in CLINICAL_PHASES:
        raise _fail(f"--pivotal-phase {pivotal_phase.value} is not a clinical phase; "
                    "use phase_1, phase_2 or phase_3")
    starter = Starter(Modality(modality.value), Phase(phase.value), Phase(pivotal_phase.value),
                      product=product, schema_base=schema_base or SCHEMA_FOLDER)
    try:
        written = write_starter(folder, starter)
    except InitError as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _fail(f"cannot write {folder}: {exc.strerror or exc}") from None
    shown = [name for name in written if not name.startswith(SCHEMA_FOLDER + "/")]
    typer.echo(f"Wrote a starter {modality.value} dossier at {phase.value} in {folder}: {', '.join(shown)}")
    if not schema_base:
        typer.echo(f"JSON Schemas for editor completion are in {folder / SCHEMA_FOLDER} "
                   "(VS Code: install the YAML extension).")
    typer.echo(f"Next: replace the TODO placeholders, then run `cmcflex check {folder}` and `cmcflex plan {folder}`.")


@app.command(cls=HelpCommand)
def schema(
    file_kind: Annotated[
        str | None,
        typer.Argument(metavar="[KIND]", help="dossier, gmp, specifications, methods, ppq, changes or waivers "
                            "(or a file name such as gmp.yaml)."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="DIR", help="Write the schema files into DIR.")
    ] = None,
) -> None:
    """JSON Schema (draft-07) of the dossier's YAML files, for editor completion and validation."""
    from cmcflex.authoring.schema import build_schema, file_kinds, kind_of, render, schema_filename, write_schemas
    from cmcflex.dossier.errors import did_you_mean

    kinds = list(file_kinds())
    if file_kind is not None and kind_of(file_kind) is None:
        raise _fail(f"unknown file kind {file_kind!r}{did_you_mean(file_kind, kinds)}; known: {', '.join(kinds)}")
    chosen = [kind_of(file_kind)] if file_kind else kinds
    if output is not None:
        try:
            written = write_schemas(output, [k for k in chosen if k])
        except OSError as exc:
            raise _fail(f"cannot write {output}: {exc.strerror or exc}") from None
        for path in written:
            typer.echo(str(path))
        typer.echo(f"Point each YAML file at its schema with a first line such as: "
                   f"# yaml-language-server: $schema={written[0].as_posix()}", err=True)
        return
    if file_kind is None:
        typer.echo("Name a file kind to print its schema, or use --output DIR to write them all:")
        for kind in kinds:
            typer.echo(f"  {kind:<15} {file_kinds()[kind]:<20} -> {schema_filename(kind)}")
        return
    chosen_kind = chosen[0]
    assert chosen_kind is not None  # file_kind was checked above
    sys.stdout.write(render(build_schema(chosen_kind)))


class PlanFormatOpt(str, Enum):
    console = "console"
    json = "json"


@app.command(cls=HelpCommand)
def plan(
    dossier: Annotated[Path, typer.Argument(metavar="DOSSIER", help="Dossier folder (holds dossier.yaml).")],
    format: Annotated[PlanFormatOpt, typer.Option("--format", "-f", metavar="FORMAT",
                                                  help="console or json.")] = PlanFormatOpt.console,
    phase: PhaseArg = None,
    as_of: AsOfOpt = None,
    config: ConfigOpt = None,
    no_config: NoConfigOpt = False,
    follow_links: FollowLinksOpt = False,
    debug: DebugOpt = False,
    group_by: Annotated[GroupByOpt, typer.Option(
        "--group-by", help="Group each milestone's new gaps by area or by CTD Module 3 section.")] = GroupByOpt.area,
) -> None:
    """Roadmap: the gaps each milestone adds, from now to the pivotal study, the BLA and after approval."""
    from cmcflex.authoring.plan import build_plan, plan_json
    from cmcflex.engine import InternalError
    from cmcflex.phases import Phase

    when = _parse_date(as_of)
    settings = _settings(None, None, None, None, None, config, no_config, [dossier])
    rules, extra_waivers, _ = _prepare(settings)
    loaded = _load(dossier, follow_links)
    try:
        roadmap = build_plan(loaded, as_of=when, path_label=display_path(dossier),
                             phase=Phase(phase.value) if phase else None, rules=rules,
                             overrides=dict(settings.severity) if settings.severity else None, extra_waivers=extra_waivers)
    except InternalError as exc:
        if debug:
            raise
        raise _fail(f"internal error: {exc} (run with --debug for the traceback)") from None
    if format is PlanFormatOpt.json:
        sys.stdout.write(plan_json(roadmap, group_by.value))
        return
    from rich.console import Console

    from cmcflex.authoring.plan_view import print_plan

    print_plan(roadmap, Console(highlight=False), group_by.value)


class Interrupted(BaseException):
    """Ctrl-C or SIGTERM. Not a KeyboardInterrupt: the command-line library would turn that into
    "Aborted!" and exit 1, the code of "gaps found". As a BaseException it still runs every
    clean-up on its way out (a report being written removes its temporary file)."""


def _on_signal(signum: int, frame: object) -> None:
    import signal

    raise Interrupted("interrupted" if signum == signal.SIGINT else f"terminated ({signal.Signals(signum).name})")


def _catch_signals() -> None:
    import signal

    for signum in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(signum) in (signal.SIG_DFL, signal.default_int_handler):
            signal.signal(signum, _on_signal)


def main() -> None:
    """Console entry point: never a traceback for an unexpected error unless --debug."""
    # The command line validates with pydantic's own behaviour only: third-party pydantic plugins
    # would change what a check does, and looking them up costs every run an entry-point scan.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    _catch_signals()
    try:
        app()
    except SystemExit:
        # What is still alive (models, schemas, lot columns) is freed with the process; frozen,
        # the interpreter's last garbage collections need not walk it (0.1-0.25 s of every run).
        gc.freeze()
        raise
    except (KeyboardInterrupt, Interrupted) as exc:
        typer.echo(f"cmcflex: {exc or 'interrupted'}", err=True)
        sys.exit(EXIT_ERROR)
    except Exception as exc:  # noqa: BLE001
        if "--debug" in sys.argv:
            raise
        from cmcflex.report.text import clean

        typer.echo(clean(f"cmcflex: internal error: {type(exc).__name__}: {exc} "
                         "(run with --debug for the traceback)"), err=True)
        sys.exit(EXIT_ERROR)
