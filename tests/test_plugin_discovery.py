"""The program spares pydantic its plugin search, and leaves plugins to a user who asks for them.

Each case runs in a fresh interpreter: the stand-in lives in ``sys.modules``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[1] / "sample_dossiers"


def run(code: str, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    environ.update(env)
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=environ, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_by_default_plugins_are_disabled_without_importing_the_entry_point_machinery() -> None:
    out = run("""
        import os, sys
        from cmcflex.plugin_discovery import LOADER, skip_plugin_discovery
        had_metadata = "importlib.metadata" in sys.modules
        assert skip_plugin_discovery() is True
        from pydantic import BaseModel

        class M(BaseModel):
            x: int

        assert M(x="3").x == 3
        from pydantic.plugin._loader import get_plugins
        assert tuple(get_plugins()) == ()
        print(os.environ["PYDANTIC_DISABLE_PLUGINS"], type(sys.modules[LOADER]).__name__,
              had_metadata or "importlib.metadata" in sys.modules)
    """)
    assert out == "__all__ _StandIn False"


@pytest.mark.parametrize("value", ["", "some_plugin", "false"])
def test_a_value_the_user_set_that_allows_plugins_keeps_pydantic_s_own_loader(value: str) -> None:
    out = run("""
        import os, sys
        from cmcflex.plugin_discovery import LOADER, skip_plugin_discovery
        assert skip_plugin_discovery() is False
        from pydantic import BaseModel

        class M(BaseModel):
            x: int

        M(x=1)
        print(repr(os.environ["PYDANTIC_DISABLE_PLUGINS"]), type(sys.modules[LOADER]).__name__)
    """, PYDANTIC_DISABLE_PLUGINS=value)
    assert out == f"{value!r} module"


@pytest.mark.parametrize("value", ["1", "true", "__all__"])
def test_every_value_pydantic_reads_as_disabled_gets_the_stand_in(value: str) -> None:
    out = run("""
        import sys
        from cmcflex.plugin_discovery import skip_plugin_discovery
        print(skip_plugin_discovery())
    """, PYDANTIC_DISABLE_PLUGINS=value)
    assert out == "True"


def test_plugins_enabled_later_and_other_names_reach_the_real_loader() -> None:
    out = run("""
        import os, sys
        from cmcflex.plugin_discovery import LOADER, skip_plugin_discovery
        skip_plugin_discovery()
        stand_in = sys.modules[LOADER]
        assert not hasattr(stand_in, "__path__")  # the import system's question does not load it
        assert type(sys.modules[LOADER]).__name__ == "_StandIn"
        os.environ["PYDANTIC_DISABLE_PLUGINS"] = ""
        plugins = list(stand_in.get_plugins())  # pydantic's own search, over the entry points
        real = sys.modules[LOADER]
        print(type(real).__name__, real is not stand_in, stand_in.PYDANTIC_ENTRY_POINT_GROUP,
              "importlib.metadata" in sys.modules, isinstance(plugins, list))
    """)
    assert out == "module True pydantic True True"


def test_the_program_checks_a_sample_with_the_stand_in_in_place() -> None:
    out = run(f"""
        import sys
        sys.argv = ["cmcflex", "check", {str(SAMPLES / "aav-bla")!r}, "--as-of", "2026-11-25", "--quiet"]
        from cmcflex.__main__ import main
        try:
            main()
        except SystemExit as exit_:
            print(exit_.code, type(sys.modules["pydantic.plugin._loader"]).__name__)
    """)
    assert out.splitlines()[-1] == "1 _StandIn"
