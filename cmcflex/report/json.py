"""JSON report: the Report model as stable, sorted, indented JSON."""

from __future__ import annotations

import json

from cmcflex.report.model import Report
from cmcflex.report.text import json_inert


def to_dict(report: Report) -> dict:
    return report.model_dump(mode="json")


def render(report: Report) -> str:
    return json_inert(json.dumps(to_dict(report), indent=2, sort_keys=True, ensure_ascii=False)) + "\n"
