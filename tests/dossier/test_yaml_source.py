"""The YAML builder: values with their YAML types, and where each was written."""

from __future__ import annotations

from cmcflex.dossier.yaml_source import parse_yaml


def test_parsed_values_keep_their_yaml_types_and_positions() -> None:
    text = ("a: 1\nb: '1'\nc: yes\nd: ~\ne: 2026-11-25\nf: 1.5e+3\ng2: 1.5e3\ng: [x, 2, null]\n"
            "h: {i: on, j: \"off\"}\n")
    data, source = parse_yaml(text, "t.yaml")
    assert data == {"a": 1, "b": "1", "c": True, "d": None, "e": "2026-11-25", "f": 1500.0, "g2": "1.5e3",
                    "g": ["x", 2, None], "h": {"i": True, "j": "off"}}
    assert source.values[("g", 1)] == (8, 8)
    assert source.keys[("h", "j")] == (9, 12)
