"""Configuration: ``cmcflex.toml`` or ``[tool.cmcflex]`` in pyproject.toml, plus environment.

The file is looked for from the current folder upward; in each folder ``cmcflex.toml`` wins over
pyproject.toml. Precedence, highest first: command line, environment (``CMCFLEX_*``), file,
defaults. ``select``/``ignore`` from a higher level replace the lower one; per-rule severity
overrides merge, the higher level winning for the same rule.

Keys (file)            Environment            Command line
``fail-on``            CMCFLEX_FAIL_ON        --fail-on
``select``             CMCFLEX_SELECT         --select
``ignore``             CMCFLEX_IGNORE         --ignore
``[severity]``         CMCFLEX_SEVERITY       --severity RULE=LEVEL
``waivers``            CMCFLEX_WAIVERS        --waivers
(file path)            CMCFLEX_CONFIG         --config / --no-config
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple

from cmcflex.dossier.errors import did_you_mean
from cmcflex.vocabulary import Area, Severity

if TYPE_CHECKING:
    from cmcflex.rules.base import Rule

CONFIG_NAME = "cmcflex.toml"
MAX_CONFIG_BYTES = 1024 * 1024  # a configuration (or a pyproject.toml) is a few lines
KEYS = ("fail-on", "select", "ignore", "severity", "waivers")
ENV = {
    "fail_on": "CMCFLEX_FAIL_ON",
    "select": "CMCFLEX_SELECT",
    "ignore": "CMCFLEX_IGNORE",
    "severity": "CMCFLEX_SEVERITY",
    "waivers": "CMCFLEX_WAIVERS",
    "config": "CMCFLEX_CONFIG",
}


class ConfigError(Exception):
    """A configuration value that cannot be used; the message names where it came from."""


class Settings(NamedTuple):
    """One level of settings (file, environment or command line); None/empty = not set there."""

    fail_on: Severity | None = None
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] | None = None
    severity: Mapping[str, Severity] = MappingProxyType({})
    waivers: Path | None = None
    source: str = "defaults"


class Effective(NamedTuple):
    """The settings in force after precedence, and the config file read (if any)."""

    fail_on: Severity = Severity.MAJOR
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    severity: Mapping[str, Severity] = MappingProxyType({})
    waivers: Path | None = None
    config_file: Path | None = None


# ---------------------------------------------------------------------------- finding the file


def find_config(start: Path) -> Path | None:
    """The nearest cmcflex.toml, or pyproject.toml with a [tool.cmcflex] table, from ``start`` up."""
    folder = start.resolve()
    for candidate in (folder, *folder.parents):
        own = candidate / CONFIG_NAME
        if own.is_file():
            return own
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file():
            try:
                text = read_config_bytes(pyproject).decode("utf-8")
            except (OSError, ValueError):  # unreadable, too large or not UTF-8: not ours to read
                continue
            if not _may_hold_our_table(text):
                continue
            import tomllib

            try:
                data = tomllib.loads(text)
            except tomllib.TOMLDecodeError:
                continue
            if isinstance(data.get("tool"), dict) and "cmcflex" in data["tool"]:
                return pyproject
    return None


def _may_hold_our_table(text: str) -> bool:
    """Whether a pyproject.toml can hold a [tool.cmcflex] table. TOML spells a key out, or
    escapes it in a quoted key (``"\\u0063mcflex"``); a file with neither cannot, and most
    projects' files are then not parsed on every run."""
    return "cmcflex" in text or "\\u" in text or "\\U" in text


def read_config_bytes(path: Path) -> bytes:
    """A configuration file's bytes: a regular file of at most MAX_CONFIG_BYTES (a device or pipe
    is refused, never read; see :func:`cmcflex.paths.read_regular_file`)."""
    from cmcflex.paths import read_regular_file

    return read_regular_file(path, MAX_CONFIG_BYTES)


def read_config(path: Path) -> Settings:
    """Settings from a cmcflex.toml or a pyproject.toml [tool.cmcflex] table."""
    import tomllib

    label = str(path)
    try:
        data = tomllib.loads(read_config_bytes(path).decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{label}: no such configuration file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{label}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{label}: invalid TOML: {exc}") from None
    except ValueError as exc:
        raise ConfigError(f"{label}: not a configuration file: {exc}") from None
    if path.name == "pyproject.toml":
        table = data.get("tool", {}).get("cmcflex", {})
        label += " [tool.cmcflex]"
    else:
        table = data
    if not isinstance(table, dict):
        raise ConfigError(f"{label}: expected a table of settings")
    for key in table:
        if key not in KEYS:
            hint = did_you_mean(key, KEYS) or f"; known keys: {', '.join(KEYS)}"
            raise ConfigError(f"{label}: unknown key '{key}'{hint}")
    severity_table = table.get("severity", {})
    if not isinstance(severity_table, dict):
        raise ConfigError(f"{label}: 'severity' must be a table of RULE-ID = \"level\"")
    waivers = table.get("waivers")
    if waivers is not None and not isinstance(waivers, str):
        raise ConfigError(f"{label}: 'waivers' must be a file path")
    return Settings(
        fail_on=_severity(table["fail-on"], f"{label}: fail-on") if "fail-on" in table else None,
        select=_tokens(table["select"], f"{label}: select") if "select" in table else None,
        ignore=_tokens(table["ignore"], f"{label}: ignore") if "ignore" in table else None,
        severity={str(k).upper(): _severity(v, f"{label}: severity.{k}") for k, v in severity_table.items()},
        waivers=(path.parent / waivers) if waivers else None,
        source=label,
    )


# ---------------------------------------------------------------------------- parsing values


def _severity(value: object, where: str) -> Severity:
    try:
        return Severity(str(value).strip().lower())
    except ValueError:
        raise ConfigError(f"{where}: {value!r} is not a severity "
                          f"({', '.join(s.value for s in Severity)})") from None


def _tokens(value: object, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        items: Iterable[object] = value.replace(",", " ").split()
    elif isinstance(value, list):
        items = value
    else:
        raise ConfigError(f"{where}: expected a list of rule ids, prefixes or areas")
    out = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise ConfigError(f"{where}: {item!r} is not a rule id, prefix or area")
        out.append(item.strip().upper())
    return tuple(out)


def parse_overrides(items: Iterable[str], where: str) -> dict[str, Severity]:
    """``RULE=LEVEL`` pairs (also comma-separated within one item)."""
    out: dict[str, Severity] = {}
    for item in items:
        for pair in item.replace(",", " ").split():
            rule_id, sep, level = pair.partition("=")
            if not sep or not rule_id or not level:
                raise ConfigError(f"{where}: {pair!r} is not RULE=LEVEL, e.g. PPQ-005=minor")
            out[rule_id.strip().upper()] = _severity(level, f"{where} {rule_id}")
    return out


def from_environment(environ: Mapping[str, str]) -> Settings:
    """Settings from CMCFLEX_* variables (empty variables are ignored)."""
    def get(key: str) -> str | None:
        value = environ.get(ENV[key], "").strip()
        return value or None

    fail_on, select, ignore, severity, waivers = (get(k) for k in ("fail_on", "select", "ignore", "severity", "waivers"))
    return Settings(
        fail_on=_severity(fail_on, ENV["fail_on"]) if fail_on else None,
        select=_tokens(select, ENV["select"]) if select else None,
        ignore=_tokens(ignore, ENV["ignore"]) if ignore else None,
        severity=parse_overrides([severity], ENV["severity"]) if severity else {},
        waivers=Path(waivers) if waivers else None,
        source="environment",
    )


def from_command_line(fail_on: str | None, select: list[str] | None, ignore: list[str] | None,
                      severity: list[str] | None, waivers: Path | None) -> Settings:
    return Settings(
        fail_on=_severity(fail_on, "--fail-on") if fail_on else None,
        select=_tokens(" ".join(select), "--select") if select else None,
        ignore=_tokens(" ".join(ignore), "--ignore") if ignore else None,
        severity=parse_overrides(severity, "--severity") if severity else {},
        waivers=waivers,
        source="command line",
    )


def resolve(levels: list[Settings], config_file: Path | None = None) -> Effective:
    """Combine levels given lowest first (file, environment, command line)."""
    out = Effective(config_file=config_file)
    fail_on, select, ignore, waivers = out.fail_on, out.select, out.ignore, out.waivers
    severity: dict[str, Severity] = {}
    for level in levels:
        fail_on = level.fail_on or fail_on
        select = level.select if level.select is not None else select
        ignore = level.ignore if level.ignore is not None else ignore
        waivers = level.waivers or waivers
        severity.update(level.severity)
    return Effective(fail_on, select, ignore, dict(sorted(severity.items())), waivers, config_file)


def load(cli: Settings, cwd: Path, environ: Mapping[str, str] | None = None,
         config: Path | None = None, no_config: bool = False, dossiers: Iterable[Path] = ()) -> Effective:
    """Find and read the configuration file, apply the environment and the command line.

    A file found by the search (not named with --config or CMCFLEX_CONFIG) is refused when it
    lies inside a dossier being checked, or where someone else could have written it
    (:func:`check_found`).
    """
    environ = os.environ if environ is None else environ
    path = None
    if not no_config:
        explicit = config or (Path(environ[ENV["config"]]) if environ.get(ENV["config"], "").strip() else None)
        path = explicit if explicit is not None else find_config(cwd)
        if explicit is None and path is not None:
            check_found(path, dossiers)
    levels = [read_config(path)] if path is not None else []
    levels += [from_environment(environ), cli]
    return resolve(levels, path)


def check_found(path: Path, dossiers: Iterable[Path] = ()) -> None:
    """Refuse a configuration file found by the search that a dossier, or another user, controls.

    A dossier cannot configure its own check (it could ignore the rules it fails). A file owned
    by another user (root excepted), writable by others, in a folder of another user, or in a
    folder others can write without the sticky bit (they could replace it) is not the team's
    configuration. Name the file with
    --config to use it anyway, or pass --no-config.
    """
    from cmcflex.paths import is_inside

    use = f"name it with --config {path} to use it anyway, or pass --no-config"
    for dossier in dossiers:
        if dossier.is_dir() and is_inside(dossier, path):
            raise ConfigError(f"{path} was found inside the dossier folder {dossier}; a dossier cannot "
                              f"configure its own check ({use})")
    import stat

    try:
        st, folder = path.stat(), path.resolve().parent.stat()
    except OSError:
        return  # read_config says why it cannot be read
    owners = {0, os.geteuid()} if hasattr(os, "geteuid") else None
    if owners is not None and st.st_uid not in owners:
        raise ConfigError(f"{path} was found by the search but belongs to another user (uid {st.st_uid}); {use}")
    if owners is not None and folder.st_uid not in owners:
        raise ConfigError(f"{path} was found by the search in a folder of another user (uid {folder.st_uid}), "
                          f"who could replace it; {use}")
    if st.st_mode & stat.S_IWOTH:
        raise ConfigError(f"{path} was found by the search but anyone can write it; {use}")
    if folder.st_mode & stat.S_IWOTH and not folder.st_mode & stat.S_ISVTX:
        raise ConfigError(f"{path} was found by the search in a folder anyone can write; {use}")


# ---------------------------------------------------------------------------- rule selection


def _matches(token: str, rule: Rule) -> bool:
    return rule.id == token or rule.id.startswith(token) or rule.area.value == token or rule.slug.upper() == token


def select_rules(rules: Iterable[Rule], select: Iterable[str] = (), ignore: Iterable[str] = ()) -> list[Rule]:
    """Rules kept by ``select`` (all when empty) minus ``ignore``; tokens are ids, prefixes or areas.

    A token that matches no rule is an error (a typo would silently drop or keep rules).
    """
    rules = list(rules)
    select, ignore = list(select), list(ignore)
    for token in select + ignore:
        if token not in {a.value for a in Area} and not any(_matches(token, r) for r in rules):
            known = [r.id for r in rules] + [a.value for a in Area]
            raise ConfigError(f"'{token}' matches no rule id, prefix or area{did_you_mean(token, known)}")
    kept = [r for r in rules if not select or any(_matches(t, r) for t in select)]
    return [r for r in kept if not any(_matches(t, r) for t in ignore)]


def check_overrides(rules: Iterable[Rule], overrides: Mapping[str, Severity]) -> None:
    """Every severity override names a known rule id."""
    ids = [r.id for r in rules]
    for rule_id in overrides:
        if rule_id not in ids:
            raise ConfigError(f"severity override for unknown rule '{rule_id}'{did_you_mean(rule_id, ids)}")
