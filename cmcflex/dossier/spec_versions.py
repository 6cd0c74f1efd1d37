"""Cross-file check of specification versions: a lot's ``spec_version`` (lots.csv) must name a
version of its material's specification (specifications.yaml), current or previous."""

from __future__ import annotations

from cmcflex.dossier.errors import Problem, did_you_mean
from cmcflex.dossier.lots import LotTable
from cmcflex.dossier.models import SpecificationsFile


def version_problems(specifications: SpecificationsFile | None, lots: LotTable | None) -> list[Problem]:
    """One located problem per lot whose ``spec_version`` names no version of its material."""
    if specifications is None or lots is None or not any(lots._lot_values["spec_version"]):
        return []
    known: dict[str, list[str]] = {}
    for spec in specifications.specifications:
        names = known.setdefault(spec.material, [])
        names += [v for v in (spec.version, *(p.version for p in spec.previous_versions)) if v]
    out = []
    for i, (material, version) in enumerate(zip(lots._lot_values["material"], lots._lot_values["spec_version"])):
        if version is None or material not in known or version in known[material]:
            continue  # a material without a specification is SPEC-013's to report
        names = known[material]
        listed = f"; specifications.yaml lists {', '.join(repr(n) for n in names)}" if names else (
            f"; specifications.yaml gives the {material} specification no version")
        out.append(Problem(lots.files[lots._lot_file[i]], lots._lot_line[i], 0, "spec_version",
                           f"lot {lots.lot_ids[i]} was released against {material} specification version "
                           f"'{version}', which specifications.yaml does not list{did_you_mean(version, names)}"
                           f"{listed}: add it under previous_versions (with the criteria that differed) "
                           "or correct the version"))
    return out
