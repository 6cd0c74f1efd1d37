"""The install commands the documentation shows can work: cmcflex is on no package index."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "benchmarks" / "README.md"]

# `pip install cmcflex`, `pipx install "cmcflex[fast]"`, `pip install -U cmcflex==1.0`: a name to
# look up on an index. A path (`.`, `dist/…whl`), a URL or `name @ url` is fine.
INDEX_INSTALL = re.compile(r"\bpipx? install\b(?:\s+-\S+)*\s+[\"']?cmcflex\b(?!\S*\s*@)")


def test_no_document_installs_cmcflex_from_a_package_index() -> None:
    found = [f"{path.name}:{number}: {line.strip()}"
             for path in DOCS if path.is_file()
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if INDEX_INSTALL.search(line)]
    assert not found, found


def test_the_pattern_tells_index_installs_from_source_installs() -> None:
    assert INDEX_INSTALL.search("pip install cmcflex")
    assert INDEX_INSTALL.search('pipx install "cmcflex[fast]"')
    assert INDEX_INSTALL.search("pip install -U cmcflex==0.1")
    for fine in ("pip install -e .", 'pip install "cmcflex[fast] @ git+https://host/org/cmcflex.git@v1"',
                 "pipx install dist/cmcflex-0.1.0-py3-none-any.whl", "pipx install ./cmcflex"):
        assert not INDEX_INSTALL.search(fine), fine


def test_readme_opens_with_the_commands_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", readme, re.S)
    assert blocks[0].strip() == "pip install -e . && cmcflex check sample_dossiers/cart-phase2"
    assert blocks[1].strip() == 'pip install -e ".[test]" && pytest'
    ci = ROOT / ".ci" / "run"
    if ci.is_file():
        assert blocks[1].strip() in ci.read_text(encoding="utf-8").splitlines()
