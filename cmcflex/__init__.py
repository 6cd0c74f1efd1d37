"""cmcflex: BLA readiness checks for cell and gene therapy CMC dossiers."""

__version__ = "0.1.0"
RULESET_VERSION = "1"
