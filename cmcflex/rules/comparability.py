"""comparability rules (see rules-catalogue.md)."""
