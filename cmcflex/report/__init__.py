"""The report model and its renderers (one module per output format)."""
