"""The program: the ``cmcflex`` console script and ``python -m cmcflex``."""

import gc
import os
import sys

# A run builds tens of thousands of objects that live until it exits (typer's command tree, the
# pydantic validators, the rules) and almost no garbage; at the default first threshold (700
# allocations) the cyclic collector walks them some hundred times per check, about a tenth of a
# small check's own work. Collection still happens for data-sized work, every 100,000 allocations.
GC_THRESHOLDS = (100_000, 50, 100)


def main() -> None:
    """Tune the collector for a short-lived process, then run the command line."""
    gc.set_threshold(*GC_THRESHOLDS)
    # pydantic looks for plugins (validation observers) in every installed distribution's entry
    # points when it builds the first validator: 2 ms in a small environment, tens of ms in a large
    # one, on every run, for plugins a command-line check has no use for. A value the user set is kept.
    from cmcflex.plugin_discovery import skip_plugin_discovery

    skip_plugin_discovery()
    _read_ahead(sys.argv[1:])
    try:
        from cmcflex.cli import main as run

        run()
    finally:
        workers = sys.modules.get("cmcflex.dossier.lots_worker")
        if workers is not None:
            workers.end_all()  # a worker begun for a dossier the command never loaded


def _read_ahead(args: list[str]) -> None:
    """For ``check DOSSIER`` without the ``fast`` extra: start the worker that reads the tail of
    the dossier's large lots.csv now (:func:`cmcflex.dossier.lots_worker.begin`), so that it also
    overlaps importing the command line and the rules. The dossier is the one argument naming a
    folder that holds dossier.yaml; with any doubt (none or several, --output-dir) nothing starts
    and the loader starts the worker itself. A worker the loader does not claim is stopped."""
    if not args or args[0] != "check" or "--output-dir" in args:
        return
    folders = [a for a in args[1:] if not a.startswith("-") and os.path.isfile(os.path.join(a, "dossier.yaml"))]
    if len(folders) != 1:
        return
    from cmcflex.dossier.plain_csv import FAST_MIN_BYTES

    try:
        if os.lstat(os.path.join(folders[0], "lots.csv")).st_size < FAST_MIN_BYTES:
            return
    except OSError:
        return
    from pathlib import Path

    from cmcflex.dossier import lots_worker

    lots_worker.begin(Path(folders[0]))


if __name__ == "__main__":
    main()
