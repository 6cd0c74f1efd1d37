"""specifications rules (see rules-catalogue.md)."""
