"""cmcflex init: a starter dossier per modality and phase that loads, validates and shows its gaps."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cmcflex.authoring.scaffold import InitError, Starter, starter_tests, write_starter
from cmcflex.cli import app
from cmcflex.dossier.loader import load_dossier
from cmcflex.dossier.models import Modality
from cmcflex.dossier.vocabulary import TEST_CATEGORY
from cmcflex.dossier.yaml_source import parse_yaml
from cmcflex.phases import Phase
from cmcflex.rules.base import Severity
from cmcflex.rules.required_tests import required_tests
from tests.helpers import report_for

runner = CliRunner()
MODALITIES = list(Modality)


def _rules(path: Path, **kw: str) -> set[str]:
    return {f.rule for f in report_for(path, **kw).findings}


@pytest.mark.parametrize("modality", MODALITIES, ids=[m.value for m in MODALITIES])
def test_init_then_check_round_trip(tmp_path, modality):
    folder = tmp_path / "new"
    write_starter(folder, Starter(modality, Phase.PHASE_3))
    dossier = load_dossier(folder)  # placeholders load: no DossierError
    assert dossier.modality is modality and dossier.info.phase is Phase.PHASE_3
    fired = _rules(folder)
    # The placeholders show up: limits not set as gaps; flags, controls, method status and PPQ
    # facts not yet recorded as "not shown" (info), never as statements the user did not make.
    assert {"GMP-002", "SPEC-002", "SPEC-011", "PPQ-004"} <= fired
    report = report_for(folder)
    graded = {(f.rule, f.severity.value) for f in report.findings if f.severity is not Severity.INFO}
    assert not {r for r, _ in graded if r.startswith(("GMP-", "PPQ-00", "SPEC-010", "SPEC-011"))} - {
        "PPQ-009"}, graded
    assert "GMP-003" in {n.rule for n in report.not_evaluated}
    # Every release test the modality requires is in the starter, so SPEC-001 never reports one missing.
    attributes = {t.attribute for t in starter_tests(modality)}
    for req in required_tests(modality):
        assert attributes & set(req.tests) or any(TEST_CATEGORY.get(a) in req.categories for a in attributes), req


@pytest.mark.parametrize("phase", list(Phase), ids=[p.value for p in Phase])
def test_init_at_every_phase_loads_and_reports_gaps(tmp_path, phase):
    folder = tmp_path / "new"
    written = write_starter(folder, Starter(Modality.CAR_T_AUTOLOGOUS, phase))
    assert ("ppq.yaml" in written) == (phase >= Phase.PHASE_3)
    report = report_for(folder)
    assert report.phase is phase
    assert report.counts["blocker"] > 0


def test_bla_starter_names_commercial_fields_and_a_commercial_site(tmp_path):
    folder = tmp_path / "new"
    write_starter(folder, Starter(Modality.AAV, Phase.BLA, product="AVB-1"))
    text = (folder / "dossier.yaml").read_text()
    assert "commercial_process: null" in text and "# shelf_life:" in text
    d = load_dossier(folder)
    assert d.info.product.name == "AVB-1" and d.info.sites[0].commercial is True
    assert {"PPQ-008", "PPQ-009", "STAB-002"} <= _rules(folder)


def test_modality_specific_parts(tmp_path):
    auto = tmp_path / "auto"
    write_starter(auto, Starter(Modality.CAR_T_AUTOLOGOUS, Phase.PHASE_3))
    allo = tmp_path / "allo"
    write_starter(allo, Starter(Modality.ALLOGENEIC_CELL, Phase.PHASE_3))
    assert "chain_of_identity" in (auto / "gmp.yaml").read_text()
    assert "# donors:" in (allo / "gmp.yaml").read_text() and "donors: []" not in (allo / "gmp.yaml").read_text()
    assert "chain_of_identity" not in (allo / "gmp.yaml").read_text()
    assert load_dossier(auto).ppq.protocol.prerequisites.vector_process_validated is None
    stated = [line for name in ("gmp.yaml", "ppq.yaml") for line in (auto / name).read_text().splitlines()
              if re.search(r"\b(status: planned|[a-z_]+: false)", line.split("#")[0])
              and "planned: false" not in line]  # concurrent release not planned is the default reading
    assert stated == []
    assert "vector_process_validated" not in (allo / "ppq.yaml").read_text()


def test_each_yaml_file_points_at_its_schema_and_validates(tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    folder = tmp_path / "new"
    write_starter(folder, Starter(Modality.LENTIVIRAL_VECTOR, Phase.BLA))
    yaml_files = sorted(folder.glob("*.yaml"))
    assert len(yaml_files) == 7
    for path in yaml_files:
        first = path.read_text().splitlines()[0]
        m = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
        assert m, f"{path.name}: {first}"
        schema_path = path.parent / m.group(1)
        assert schema_path.name == f"{path.stem}.schema.json"
        schema = json.loads(schema_path.read_text())
        data, _ = parse_yaml(path.read_text(), path.name)
        errors = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(data or {})]
        assert errors == [], path.name


def test_placeholders_are_marked_todo(tmp_path):
    folder = tmp_path / "new"
    write_starter(folder, Starter(Modality.AAV, Phase.PHASE_2))
    spec = (folder / "specifications.yaml").read_text()
    assert re.search(r"criterion: Report result +# TODO: acceptance criterion", spec)
    assert "name: TODO product name" in (folder / "dossier.yaml").read_text()
    assert (folder / "lots.csv").read_text().startswith("lot_id,material,use,")


def test_refuses_an_existing_folder_and_leaves_it_untouched(tmp_path):
    folder = tmp_path / "existing"
    folder.mkdir()
    (folder / "dossier.yaml").write_text("keep me\n")
    with pytest.raises(InitError, match="already exists and is not an empty folder"):
        write_starter(folder, Starter(Modality.AAV, Phase.PHASE_1))
    assert [p.name for p in folder.iterdir()] == ["dossier.yaml"]
    assert (folder / "dossier.yaml").read_text() == "keep me\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing"]  # no staging folder left behind


def test_an_empty_folder_is_filled(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    write_starter(folder, Starter(Modality.AAV, Phase.PHASE_1))
    assert (folder / "dossier.yaml").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]


def test_cli_init_then_check_exits_with_gaps_not_errors(tmp_path):
    folder = tmp_path / "abc"
    result = runner.invoke(app, ["init", str(folder), "--modality", "car_t_allogeneic", "--phase", "phase_1"])
    assert result.exit_code == 0, result.output
    assert "Wrote a starter car_t_allogeneic dossier" in result.output and "cmcflex check" in result.output
    checked = runner.invoke(app, ["check", str(folder), "--as-of", "2026-11-25", "--no-config"])
    assert checked.exit_code == 1, checked.output
    again = runner.invoke(app, ["init", str(folder), "--modality", "aav", "--phase", "phase_1"])
    assert again.exit_code == 2 and "never overwrites" in again.output


def test_cli_init_with_a_schema_url_writes_no_schema_copies(tmp_path):
    folder = tmp_path / "abc"
    result = runner.invoke(app, ["init", str(folder), "-m", "aav", "-p", "bla",
                                 "--schema-base", "https://schemas.example.org/cmcflex/1/"])
    assert result.exit_code == 0, result.output
    assert not (folder / ".schemas").exists()
    assert (folder / "gmp.yaml").read_text().splitlines()[0] == (
        "# yaml-language-server: $schema=https://schemas.example.org/cmcflex/1/gmp.schema.json")


def test_cli_init_rejects_unknown_modality(tmp_path):
    result = runner.invoke(app, ["init", str(tmp_path / "x"), "-m", "car_t", "-p", "phase_1"])
    assert result.exit_code == 2
    assert not (tmp_path / "x").exists()


def test_cli_modality_choices_are_the_format_vocabulary():
    from cmcflex.cli import ModalityOpt

    assert [m.value for m in ModalityOpt] == [m.value for m in Modality]


def test_cli_init_rejects_a_non_clinical_pivotal_phase(tmp_path):
    from typer.testing import CliRunner

    from cmcflex.cli import app

    result = CliRunner().invoke(app, ["init", str(tmp_path / "d"), "-m", "aav", "-p", "phase_1",
                                      "--pivotal-phase", "bla"])
    assert result.exit_code == 2 and "not a clinical phase" in result.output
    assert not (tmp_path / "d").exists()


def test_every_vocabulary_test_has_its_own_criterion_example():
    """Init's TODO lines suggest a criterion that fits the test (not a generic cell count)."""
    from cmcflex.authoring.scaffold import CRITERION_EXAMPLES, STANDARD_CRITERIA
    from cmcflex.dossier.criteria import parse_criterion
    from cmcflex.dossier.vocabulary import KNOWN_TESTS

    missing = sorted(t for t in KNOWN_TESTS if t not in CRITERION_EXAMPLES and t not in STANDARD_CRITERIA)
    assert missing == []
    for example in CRITERION_EXAMPLES.values():
        parse_criterion(example.strip("'"))  # each example is a criterion the loader reads
