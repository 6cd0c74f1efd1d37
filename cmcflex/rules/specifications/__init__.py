"""SPEC rules: release specifications, their justification against the lot data, and methods.

Under the January 2026 CBER announcement and the 2026 FDA CMC flexibilities guidance, release
criteria may rest on few lots (clinical experience plus a post-approval re-evaluation plan).
These rules never flag such a limit by itself; they recompute what the dossier's lots show and
flag a limit the data do not support, with the figures in the finding (``Gap.data``).

One module per family of rules:
- :mod:`.release_tests`: SPEC-001 required release tests, SPEC-002 safety criteria, SPEC-003
  'report result' CQAs;
- :mod:`.justification`: SPEC-004 stated basis, SPEC-005 limits within clinical experience,
  SPEC-007 statistical basis, SPEC-008 re-evaluation plans;
- :mod:`.lots_against_criteria`: SPEC-006 criteria against the pivotal lots, SPEC-009 released
  lots against their specification;
- :mod:`.methods`: SPEC-010 potency assay, SPEC-011 method validation, SPEC-012 method bridging,
  SPEC-014 the support of a single-lot or platform validation;
- :mod:`.references`: SPEC-013 references that resolve.

They share :mod:`.records` (what they read of the specification), :mod:`.wording` (how a finding
writes tests, lots and results) and :mod:`.limit_statistics` (the figures recomputed from the
lots, no sentences). Lot views come from :mod:`cmcflex.rules.lotstats` (pivotal lots: ``use``
equal to the pivotal phase, or ``justification.lots``); criterion checks from
:mod:`cmcflex.rules.common`; statistics from :mod:`cmcflex.stats`, imported inside the functions
that need it (SciPy loads on first use).
"""

from cmcflex.rules.specifications import (  # noqa: F401  (importing a module registers its rules)
    justification,
    lots_against_criteria,
    methods,
    references,
    release_tests,
)
