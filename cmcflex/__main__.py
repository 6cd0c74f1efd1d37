"""The program: the ``cmcflex`` console script and ``python -m cmcflex``."""

import gc
import os

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
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    from cmcflex.cli import main as run

    run()


if __name__ == "__main__":
    main()
