"""The rule set: one module per area, each registering its rules in :data:`REGISTRY`.

Importing this package imports every area module, so the registry is complete. To add a
rule, add it to its area's module; to add an area, add its module to the import below.
"""

from cmcflex.rules import comparability, flexibility, gmp, ppq, specifications, stability  # noqa: F401
from cmcflex.rules.base import REGISTRY, Area, Rule, Severity

__all__ = ["REGISTRY", "Area", "Rule", "Severity"]
