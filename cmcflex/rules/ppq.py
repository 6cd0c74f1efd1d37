"""ppq rules (see rules-catalogue.md)."""
