"""Spare the command-line program pydantic's plugin discovery.

pydantic asks ``pydantic.plugin._loader.get_plugins()`` for validation observers each time it
builds a validator. With ``PYDANTIC_DISABLE_PLUGINS`` set to ``__all__``, ``1`` or ``true`` the
answer is no plugins, but the loader module imports ``importlib.metadata`` (with ``email``,
``zipfile``, ``csv`` and ``socket``) when it is first imported: 10-20 ms of a check's start
that buys nothing. :func:`skip_plugin_discovery` puts a stand-in for that module in its place
which answers ``()`` while plugins are disabled and hands everything else, and any call made
after the variable changed, to the real module, imported then.

Only the program uses this (``cmcflex.__main__``); the library leaves the host's pydantic alone.
"""

from __future__ import annotations

import importlib
import os
import sys
import types
from collections.abc import Iterable
from typing import Any

ENV = "PYDANTIC_DISABLE_PLUGINS"
# The values pydantic reads as "every plugin disabled" (pydantic/plugin/_loader.py, get_plugins)
DISABLED = ("__all__", "1", "true")
LOADER = "pydantic.plugin._loader"


class _StandIn(types.ModuleType):
    """``pydantic.plugin._loader`` until something needs the real module."""

    def get_plugins(self) -> Iterable[Any]:
        if os.environ.get(ENV) in DISABLED:
            return ()
        return real_loader().get_plugins()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            # The import system asks a module for ``__path__`` and the like; a plain module has none.
            raise AttributeError(name)
        return getattr(real_loader(), name)


def real_loader() -> types.ModuleType:
    """pydantic's own loader module, imported in place of the stand-in if it is not yet."""
    module = sys.modules.get(LOADER)
    if module is None or isinstance(module, _StandIn):
        stand_in = sys.modules.pop(LOADER, None)
        try:
            module = importlib.import_module(LOADER)
        except BaseException:
            if stand_in is not None:
                sys.modules[LOADER] = stand_in
            raise
    return module


def skip_plugin_discovery() -> bool:
    """Disable pydantic plugins unless the user chose otherwise (their value of the variable is
    kept), and while they are disabled, stand in for the loader module. True if the stand-in is
    in place."""
    os.environ.setdefault(ENV, "__all__")
    if os.environ[ENV] not in DISABLED or LOADER in sys.modules:
        return False
    sys.modules[LOADER] = _StandIn(LOADER, __doc__)
    return True
