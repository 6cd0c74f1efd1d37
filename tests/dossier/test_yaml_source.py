"""The YAML builder resolves scalars exactly as PyYAML's own resolver does."""

from __future__ import annotations

import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from cmcflex.dossier.yaml_source import parse_yaml, resolve_scalar

_LOADER = yaml.SafeLoader("")
# Characters that decide YAML 1.1 resolution: digits, signs, dots, colons, the bool and null words.
_SCALARS = st.text(alphabet="0123456789+-._:eE xXoObBtTrRuUeEfFaAlLsSyYnN~=<!&*TZ", max_size=12)


@given(value=_SCALARS | st.text(max_size=12), plain=st.booleans())
@example(value="", plain=True)
@example(value="<<", plain=True)
@example(value="2026-11-25", plain=True)
@example(value="1_000", plain=True)
@example(value="0x1F", plain=True)
@example(value=".inf", plain=True)
@example(value="yes", plain=False)
def test_scalars_resolve_as_pyyaml_resolves_them(value: str, plain: bool) -> None:
    assert resolve_scalar(value, plain) == _LOADER.resolve(yaml.ScalarNode, value, (plain, not plain))


def test_parsed_values_keep_their_yaml_types_and_positions() -> None:
    text = ("a: 1\nb: '1'\nc: yes\nd: ~\ne: 2026-11-25\nf: 1.5e+3\ng2: 1.5e3\ng: [x, 2, null]\n"
            "h: {i: on, j: \"off\"}\n")
    data, source = parse_yaml(text, "t.yaml")
    assert data == {"a": 1, "b": "1", "c": True, "d": None, "e": "2026-11-25", "f": 1500.0, "g2": "1.5e3",
                    "g": ["x", 2, None], "h": {"i": True, "j": "off"}}
    assert source.values[("g", 1)] == (8, 8)
    assert source.keys[("h", "j")] == (9, 12)
