"""The program: the ``cmcflex`` console script and ``python -m cmcflex``."""

import gc

# A run builds tens of thousands of objects that live until it exits (typer's command tree, the
# pydantic validators, the rules) and almost no garbage; at the default first threshold (700
# allocations) the cyclic collector walks them some hundred times per check, about a tenth of a
# small check's own work. Collection still happens for data-sized work, every 100,000 allocations.
GC_THRESHOLDS = (100_000, 50, 100)


def main() -> None:
    """Tune the collector for a short-lived process, then run the command line."""
    gc.set_threshold(*GC_THRESHOLDS)
    from cmcflex.cli import main as run

    run()


if __name__ == "__main__":
    main()
