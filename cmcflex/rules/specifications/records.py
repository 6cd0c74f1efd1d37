"""What the SPEC rules read of the specification: its file names, the tests of the specification
index, and whether a test's post-approval re-evaluation plan is complete."""

from __future__ import annotations

from cmcflex.dossier.models import SpecTest
from cmcflex.rules.common import SpecRef
from cmcflex.views import DossierViews

FILE = "specifications.yaml"
METHODS = "methods.yaml"


def _refs(views: DossierViews) -> list[SpecRef]:
    return list(views.spec_index.values())


def _plan_complete(test: SpecTest) -> bool:
    r = test.reevaluation
    return r is not None and r.after_lots is not None and bool((r.method or "").strip())
