"""Configuration: file discovery, keys, precedence (command line > environment > file > defaults)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cmcflex.config import (
    ConfigError,
    Settings,
    check_overrides,
    find_config,
    from_command_line,
    from_environment,
    load,
    read_config,
    select_rules,
)
from cmcflex.rules.base import Severity
from tests.report.sample import RULES


def test_found_from_the_current_folder_upward(tmp_path: Path) -> None:
    (tmp_path / "cmcflex.toml").write_text('fail-on = "minor"\n')
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_config(deep) == (tmp_path / "cmcflex.toml").resolve()


def test_pyproject_only_with_a_tool_cmcflex_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.cmcflex]\nfail-on = "blocker"\n')
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "pyproject.toml").write_text('[tool.other]\nx = 1\n')
    found = find_config(inner)
    assert found == (tmp_path / "pyproject.toml").resolve()
    assert read_config(found).fail_on is Severity.BLOCKER


@pytest.mark.parametrize("header", ['[tool."\\u0063mcflex"]', '[tool."\\U00000063mcflex"]', "[ tool . cmcflex ]",
                                    "[tool.'cmcflex']"])
def test_pyproject_tables_spelled_any_way_toml_allows_are_found(tmp_path: Path, header: str) -> None:
    (tmp_path / "pyproject.toml").write_text(f'{header}\nfail-on = "minor"\n', encoding="utf-8")
    found = find_config(tmp_path)
    assert found == (tmp_path / "pyproject.toml").resolve()
    assert read_config(found).fail_on is Severity.MINOR


def test_a_pyproject_that_never_names_cmcflex_is_passed_over_unparsed(tmp_path: Path, monkeypatch) -> None:
    import tomllib

    (tmp_path / "cmcflex.toml").write_text('fail-on = "info"\n')
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "pyproject.toml").write_text('[tool.black]\nline-length = 100\n[broken\n')
    parsed: list[str] = []
    real = tomllib.loads
    monkeypatch.setattr(tomllib, "loads", lambda text: parsed.append(text) or real(text))
    assert find_config(inner) == (tmp_path / "cmcflex.toml").resolve()
    assert parsed == []


def test_cmcflex_toml_wins_over_pyproject_in_the_same_folder(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.cmcflex]\nfail-on = "blocker"\n')
    (tmp_path / "cmcflex.toml").write_text('fail-on = "info"\n')
    assert find_config(tmp_path).name == "cmcflex.toml"


def test_all_keys_read(tmp_path: Path) -> None:
    path = tmp_path / "cmcflex.toml"
    path.write_text('fail-on = "minor"\nselect = ["GMP", "spec-00"]\nignore = ["GMP-003"]\n'
                    'waivers = "w/waivers.yaml"\n[severity]\n"spec-005" = "Major"\n')
    s = read_config(path)
    assert s.fail_on is Severity.MINOR and s.select == ("GMP", "SPEC-00") and s.ignore == ("GMP-003",)
    assert s.severity == {"SPEC-005": Severity.MAJOR} and s.waivers == tmp_path / "w" / "waivers.yaml"


@pytest.mark.parametrize("text, message", [
    ('fail_on = "minor"\n', "unknown key 'fail_on' (did you mean 'fail-on'?)"),
    ('fail-on = "severe"\n', "'severe' is not a severity"),
    ('select = 3\n', "expected a list"),
    ('[severity]\nGMP-002 = "high"\n', "severity.GMP-002: 'high' is not a severity"),
    ('fail-on = \n', "invalid TOML"),
])
def test_bad_file_is_a_located_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "cmcflex.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="cmcflex.toml") as err:
        read_config(path)
    assert message in str(err.value)


def test_precedence_command_line_over_environment_over_file(tmp_path: Path) -> None:
    (tmp_path / "cmcflex.toml").write_text('fail-on = "blocker"\nselect = ["GMP"]\n'
                                           '[severity]\n"GMP-002" = "minor"\n"GMP-003" = "minor"\n')
    env = {"CMCFLEX_FAIL_ON": "minor", "CMCFLEX_SEVERITY": "GMP-003=info"}
    only_file = load(Settings(), tmp_path, environ={})
    assert only_file.fail_on is Severity.BLOCKER and only_file.select == ("GMP",)
    with_env = load(Settings(), tmp_path, environ=env)
    assert with_env.fail_on is Severity.MINOR
    assert with_env.severity == {"GMP-002": Severity.MINOR, "GMP-003": Severity.INFO}
    cli = from_command_line("major", ["SPEC"], None, ["GMP-002=blocker"], None)
    everything = load(cli, tmp_path, environ=env)
    assert everything.fail_on is Severity.MAJOR and everything.select == ("SPEC",)
    assert everything.severity == {"GMP-002": Severity.BLOCKER, "GMP-003": Severity.INFO}
    assert everything.config_file == (tmp_path / "cmcflex.toml").resolve()


def test_defaults_without_any_configuration(tmp_path: Path) -> None:
    eff = load(Settings(), tmp_path, environ={}, no_config=True)
    assert eff.fail_on is Severity.MAJOR and eff.select == () and eff.severity == {} and eff.config_file is None


def test_config_file_from_environment(tmp_path: Path) -> None:
    other = tmp_path / "ci.toml"
    other.write_text('fail-on = "info"\n')
    eff = load(Settings(), tmp_path / "nowhere", environ={"CMCFLEX_CONFIG": str(other)})
    assert eff.fail_on is Severity.INFO and eff.config_file == other


def test_environment_values_parsed() -> None:
    s = from_environment({"CMCFLEX_SELECT": "GMP, SPEC-005", "CMCFLEX_IGNORE": "", "CMCFLEX_WAIVERS": "w.yaml"})
    assert s.select == ("GMP", "SPEC-005") and s.ignore is None and s.waivers == Path("w.yaml")
    with pytest.raises(ConfigError, match="CMCFLEX_FAIL_ON"):
        from_environment({"CMCFLEX_FAIL_ON": "loud"})
    with pytest.raises(ConfigError, match="RULE=LEVEL"):
        from_command_line(None, None, None, ["GMP-002"], None)


@pytest.mark.parametrize("select, ignore, expected", [
    ((), (), ["GMP-002", "GMP-003", "SPEC-005", "PPQ-001", "STAB-001"]),
    (("GMP",), (), ["GMP-002", "GMP-003"]),
    (("GMP-00",), ("GMP-003",), ["GMP-002"]),
    (("SPEC-005", "STAB"), (), ["SPEC-005", "STAB-001"]),
    ((), ("GMP", "PPQ"), ["SPEC-005", "STAB-001"]),
    (("CMP",), (), []),  # an area with no rules here is still a valid token
])
def test_rule_selection_by_id_prefix_or_area(select, ignore, expected) -> None:  # type: ignore[no-untyped-def]
    assert [r.id for r in select_rules(RULES, select, ignore)] == expected


def test_unknown_selection_or_override_is_an_error() -> None:
    with pytest.raises(ConfigError, match="'GMP-02X' matches no rule"):
        select_rules(RULES, ["GMP-02X"])
    with pytest.raises(ConfigError, match="unknown rule 'GMP-022'.*did you mean 'GMP-002'"):
        check_overrides(RULES, {"GMP-022": Severity.MINOR})
