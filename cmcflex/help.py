"""Help pages written by cmcflex itself: the metavars we chose (``DOSSIER...``, ``PHASE``,
``[FORMAT:]FILE``), never a Python type, and the same text under every typer version allowed.

Typer's own help layout changes between releases (types such as ``<list[Path]>`` in one, a
table in another); these command classes lay out usage, arguments and options from the
parameters alone, with click's plain formatter (which wraps at spaces, never inside a word).
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from typer.core import TyperCommand, TyperGroup

# Parameters are told apart by kind, not class: some typer releases carry their own copy of click.


def _is_argument(param: Any) -> bool:
    return param.param_type_name == "argument"


def _is_option(param: Any) -> bool:
    return param.param_type_name == "option" and not getattr(param, "hidden", False)


def _metavar(param: Any) -> str:
    return param.metavar or (param.name or "").upper()


def _default(option: Any) -> str | None:
    value = option.default
    if option.is_flag or value is None or value == [] or value == () or not option.show_default:
        return None
    return str(value.value if isinstance(value, Enum) else value)


def _option_record(option: Any) -> tuple[str, str]:
    names = ", ".join(sorted(option.opts, key=len))
    if option.secondary_opts:
        names += " / " + ", ".join(option.secondary_opts)
    if not option.is_flag:
        names += f" {_metavar(option)}"
    extra = []
    default = _default(option)
    if default is not None:
        extra.append(f"default: {default}")
    if option.required:
        extra.append("required")
    text = option.help or ""
    if extra:
        text = f"{text}  [{'; '.join(extra)}]".strip()
    return names, text


def _argument_record(argument: Any) -> tuple[str, str]:
    help_text = getattr(argument, "help", None) or ""
    return _metavar(argument), help_text


def _argument_usage(argument: Any) -> str:
    name = _metavar(argument)
    return name if argument.required or name.startswith("[") else f"[{name}]"


class HelpCommand(TyperCommand):
    """A command whose help is laid out by :mod:`cmcflex.help`."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return [self.options_metavar or "[OPTIONS]",
                *(_argument_usage(p) for p in self.get_params(ctx) if _is_argument(p))]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        super(TyperCommand, self).format_help(ctx, formatter)  # click's: usage, help text, options, epilog

    def format_options(self, ctx: Any, formatter: Any) -> None:
        params = self.get_params(ctx)
        arguments = [_argument_record(p) for p in params if _is_argument(p)]
        options = [_option_record(p) for p in params if _is_option(p)]
        if arguments:
            with formatter.section("Arguments"):
                formatter.write_dl(arguments)
        if options:
            with formatter.section("Options"):
                formatter.write_dl(options)


class HelpGroup(TyperGroup):
    """The ``cmcflex`` group: its own options and the commands with their first help line."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return ["[OPTIONS]", "COMMAND", "[ARGS]..."]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        super(TyperGroup, self).format_help(ctx, formatter)

    def format_options(self, ctx: Any, formatter: Any) -> None:
        HelpCommand.format_options(self, ctx, formatter)  # type: ignore[arg-type]
        commands = [(name, self.get_command(ctx, name)) for name in self.list_commands(ctx)]
        shown = [(name, cmd) for name, cmd in commands if cmd is not None and not cmd.hidden]
        if shown:
            limit = formatter.width - 6 - max(len(name) for name, _ in shown)
            with formatter.section("Commands"):
                formatter.write_dl([(name, cmd.get_short_help_str(limit)) for name, cmd in shown])
