"""Allow ``python -m cmcflex``."""

from cmcflex.cli import main

if __name__ == "__main__":
    main()
