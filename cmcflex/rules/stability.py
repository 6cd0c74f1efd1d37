"""stability rules (see rules-catalogue.md)."""
