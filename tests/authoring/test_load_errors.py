"""Load-error wording, pinned on a corpus of broken dossier files (one mistake each).

Each case writes one file into an otherwise valid dossier and expects exactly one problem:
file, line, column, field, what was expected and an example or the allowed values, with a
suggestion for a near miss. The wording is what a person reads to fix the file, so it is pinned.
"""

from __future__ import annotations

import pytest

from cmcflex.dossier.errors import DossierError
from cmcflex.dossier.loader import load_dossier

BASE = "cmcflex: 1\nproduct: {name: TEST-1, modality: car_t_autologous}\nphase: phase_2\n"

# (case id, file, content, the one expected problem)
CASES = [
    ('modality-typo', 'dossier.yaml',
     'cmcflex: 1\nproduct: {name: X, modality: car_t_autologus}\nphase: phase_2\n',
     "dossier.yaml:2:30: product.modality: unknown modality 'car_t_autologus' (did you mean 'car_t_autologous'?); allowed: aav, adenoviral_vector, lentiviral_vector, retroviral_vector, car_t_autologous, car_t_allogeneic, gene_modified_hsc, gene_modified_cells, gene_edited_cells, allogeneic_cell, autologous_cell, oncolytic_virus"),
    ('phase-typo', 'dossier.yaml',
     'cmcflex: 1\nproduct: {name: X, modality: aav}\nphase: phse_3\n',
     "dossier.yaml:3:8: phase: unknown phase 'phse_3' (did you mean 'phase_3'?); allowed: phase_1, phase_2, phase_3, bla, post_approval"),
    ('format-version', 'dossier.yaml',
     'cmcflex: 2\nproduct: {name: X, modality: aav}\nphase: phase_2\n',
     'dossier.yaml:1:10: cmcflex: must be 1 (got 2)'),
    ('missing-phase', 'dossier.yaml',
     'cmcflex: 1\nproduct: {name: X, modality: aav}\n',
     "dossier.yaml:1:1: phase: required field 'phase' is missing; add it, e.g. phase: phase_1"),
    ('missing-product-name', 'dossier.yaml',
     'cmcflex: 1\nproduct:\n  modality: aav\nphase: bla\n',
     "dossier.yaml:3:3: product.name: required field 'name' is missing; add it, e.g. name: ABC-101"),
    ('product-as-text', 'dossier.yaml',
     'cmcflex: 1\nproduct: ABC-101\nphase: bla\n',
     "dossier.yaml:2:10: product: expected a mapping of keys, e.g. product: {name: ABC-101, modality: aav} (got 'ABC-101')"),
    ('pivotal-bla', 'dossier.yaml',
     'cmcflex: 1\nproduct: {name: X, modality: aav}\nphase: bla\npivotal_phase: bla\n',
     "dossier.yaml:4:16: pivotal_phase: pivotal_phase must be phase_1, phase_2 or phase_3 (got 'bla')"),
    ('orphan-maybe', 'dossier.yaml',
     'cmcflex: 1\nproduct: {name: X, modality: aav, orphan: maybe}\nphase: bla\n',
     "dossier.yaml:2:43: product.orphan: expected true or false, e.g. true (got 'maybe')"),
    ('shelf-life-words', 'dossier.yaml',
     'cmcflex: 1\nproduct: {name: X, modality: aav}\nphase: bla\nshelf_life: {value: twelve, unit: months}\n',
     "dossier.yaml:4:21: shelf_life.value: expected a number, e.g. 12 (got 'twelve')"),
    ('shelf-life-unit', 'dossier.yaml',
     'cmcflex: 1\nproduct: {name: X, modality: aav}\nphase: bla\nshelf_life: {value: 12, unit: monts}\n',
     "dossier.yaml:4:31: shelf_life.unit: unknown unit 'monts' (did you mean 'months'?); allowed: minutes, hours, days, months"),
    ('shelf-life-negative', 'dossier.yaml',
     'cmcflex: 1\nproduct: {name: X, modality: aav}\nphase: bla\nshelf_life: {value: -1, unit: days}\n',
     'dossier.yaml:4:21: shelf_life.value: must be greater than 0 (got -1)'),
    ('sites-mapping', 'dossier.yaml',
     'cmcflex: 1\nproduct: {name: X, modality: aav}\nphase: bla\nsites: {id: SITE-A}\n',
     'dossier.yaml:4:8: sites: expected a list, e.g. sites: [{id: SITE-A}] (got a mapping)'),
    ('site-key-typo', 'dossier.yaml',
     'cmcflex: 1\nproduct: {name: X, modality: aav}\nphase: bla\nsites:\n  - id: SITE-A\n    gmp_regim: part_211\n',
     "dossier.yaml:6:5: sites[0].gmp_regim: unknown key 'gmp_regim' (did you mean 'gmp_regime'?)"),
    ('site-role', 'dossier.yaml',
     'cmcflex: 1\nproduct: {name: X, modality: aav}\nphase: bla\nsites:\n  - id: SITE-A\n    roles: [drug_product, qc_testing]\n',
     "dossier.yaml:6:27: sites[0].roles[1]: unknown role 'qc_testing' (did you mean 'testing'?); allowed: drug_substance, drug_product, vector, testing, cell_bank, packaging"),
    ('inspection-date', 'dossier.yaml',
     'cmcflex: 1\nproduct: {name: X, modality: aav}\nphase: bla\nsites:\n  - id: SITE-A\n    inspections:\n      - {date: 10/03/2026, type: pre_license, outcome: VAI}\n',
     "dossier.yaml:7:16: sites[0].inspections[0].date: '10/03/2026' is not a date written YYYY-MM-DD "
     "(ISO 8601), e.g. 2026-03-10; write 2026-10-03 (month first) or 2026-03-10 (day first), whichever is meant"),
    ('inspection-outcome', 'dossier.yaml',
     'cmcflex: 1\nproduct: {name: X, modality: aav}\nphase: bla\nsites:\n  - id: SITE-A\n    inspections:\n      - {date: 2026-03-10, type: pre_license, outcome: VIA}\n',
     "dossier.yaml:7:56: sites[0].inspections[0].outcome: unknown outcome 'VIA' (did you mean 'VAI'?); allowed: NAI, VAI, OAI, pending"),
    ('open-observations-fraction', 'dossier.yaml',
     'cmcflex: 1\nproduct: {name: X, modality: aav}\nphase: bla\nsites:\n  - id: SITE-A\n    inspections:\n      - {date: 2026-03-10, type: surveillance, outcome: NAI, open_observations: 1.5}\n',
     'dossier.yaml:7:81: sites[0].inspections[0].open_observations: expected a whole number, e.g. 3 (got 1.5)'),
    ('top-level-key-typo', 'dossier.yaml',
     'cmcflex: 1\nproduct: {name: X, modality: aav}\nphase: bla\nshelflife: {value: 12, unit: months}\n',
     "dossier.yaml:4:1: shelflife: unknown key 'shelflife' (did you mean 'shelf_life'?)"),
    ('control-as-word', 'gmp.yaml',
     'controls:\n  batch_records: in_place\n',
     "gmp.yaml:2:18: controls.batch_records: expected a mapping of keys, e.g. batch_records: {status: in_place} (got 'in_place')"),
    ('control-status-missing', 'gmp.yaml',
     'controls:\n  change_control: {evidence: SOP-QA-015}\n',
     "gmp.yaml:2:19: controls.change_control.status: required field 'status' is missing; add it, e.g. status: in_place"),
    ('control-status-typo', 'gmp.yaml',
     'controls:\n  change_control: {status: in_plce}\n',
     "gmp.yaml:2:28: controls.change_control.status: unknown status 'in_plce' (did you mean 'in_place'?); allowed: in_place, partial, planned, absent"),
    ('control-name-typo', 'gmp.yaml',
     'controls:\n  chain_of_identiy: {status: in_place}\n',
     "gmp.yaml:2:3: controls.chain_of_identiy: unknown key 'chain_of_identiy' (did you mean 'chain_of_identity'?)"),
    ('material-origin', 'gmp.yaml',
     'materials:\n  - {name: FBS, role: ancillary, origin: bovine, grade: gmp}\n',
     "gmp.yaml:2:42: materials[0].origin: unknown origin 'bovine'; allowed: human, animal, recombinant, chemical, cell_line"),
    ('material-name-list', 'gmp.yaml',
     'materials:\n  - {name: [FBS], role: ancillary, origin: animal, grade: gmp}\n',
     'gmp.yaml:2:12: materials[0].name: expected text, e.g. Fetal bovine serum (got a list)'),
    ('aps-negative-units', 'gmp.yaml',
     'aseptic_process_simulation:\n  - {date: 2026-01-12, units: -5}\n',
     'gmp.yaml:2:31: aseptic_process_simulation[0].units: must be 0 or more (got -5)'),
    ('aps-date', 'gmp.yaml',
     'aseptic_process_simulation:\n  - {date: 12 Jan 2026, units: 120}\n',
     "gmp.yaml:2:12: aseptic_process_simulation[0].date: '12 Jan 2026' is not a date written YYYY-MM-DD "
     "(ISO 8601), e.g. 2025-11-02"),
    ('donors-mapping', 'gmp.yaml',
     'donors: {id: D-0001}\n',
     'gmp.yaml:1:9: donors: expected a list, e.g. donors: [{id: D-0001, eligibility_determined: true}] (got a mapping)'),
    ('em-excursions-words', 'gmp.yaml',
     'controls:\n  environmental_monitoring: {status: in_place, uninvestigated_excursions: none}\n',
     "gmp.yaml:2:75: controls.environmental_monitoring.uninvestigated_excursions: expected a whole number, e.g. 3 (got 'none')"),
    ('criterion-unreadable', 'specifications.yaml',
     'specifications:\n  - material: drug_product\n    tests:\n      - {attribute: potency, criterion: lots of it}\n',
     "specifications.yaml:4:41: specifications[0].tests[0].criterion: cannot read criterion 'lots of it'; write a range ('>= 70 %', 'NMT 5 EU/mL', '1.0E12 - 5.0E12 vg/mL'), a result ('No growth', 'Negative', 'Not detected', 'Conforms') or 'Report result'"),
    ('criterion-missing', 'specifications.yaml',
     'specifications:\n  - material: drug_product\n    tests:\n      - {attribute: potency}\n',
     "specifications.yaml:4:9: specifications[0].tests[0].criterion: required field 'criterion' is missing; add it, e.g. criterion: '>= 70 %'"),
    ('criterion-bare-number', 'specifications.yaml',
     'specifications:\n  - material: drug_product\n    tests:\n      - {attribute: viability, criterion: 70}\n',
     "specifications.yaml:4:43: specifications[0].tests[0].criterion: a bare number (70) is not a criterion; write e.g. '>= 70' or '<= 70'"),
    ('criterion-mapping-key', 'specifications.yaml',
     'specifications:\n  - material: drug_product\n    tests:\n      - {attribute: viability, criterion: {minimum: 70}}\n',
     "specifications.yaml:4:43: specifications[0].tests[0].criterion: unknown key(s) ['minimum'] in criterion; allowed: min, max, unit"),
    ('basis-unknown', 'specifications.yaml',
     "specifications:\n  - material: drug_product\n    tests:\n      - attribute: viability\n        criterion: '>= 70'\n        justification: {basis: [clinical_lots, statisitcal]}\n",
     "specifications.yaml:6:48: specifications[0].tests[0].justification.basis[1]: unknown basis 'statisitcal' (did you mean 'statistical'?); allowed: clinical_lots, safety, compendial, statistical, capability, mechanistic, platform"),
    ('justification-typo', 'specifications.yaml',
     "specifications:\n  - material: drug_product\n    tests:\n      - attribute: viability\n        criterion: '>= 70'\n        justifcation: {basis: clinical_lots}\n",
     "specifications.yaml:6:9: specifications[0].tests[0].justifcation: unknown key 'justifcation' (did you mean 'justification'?)"),
    ('category-unknown', 'specifications.yaml',
     "specifications:\n  - material: drug_product\n    tests:\n      - {attribute: vcn_custom, category: quantitiy, criterion: '<= 5'}\n",
     "specifications.yaml:4:43: specifications[0].tests[0].category: unknown category 'quantitiy' (did you mean 'quantity'?); allowed: safety, identity, potency, quantity, purity, general"),
    ('reevaluation-zero', 'specifications.yaml',
     'specifications:\n  - material: drug_product\n    tests:\n      - {attribute: potency, criterion: Report result, reevaluation: {after_lots: 0}}\n',
     'specifications.yaml:4:83: specifications[0].tests[0].reevaluation.after_lots: must be 1 or more (got 0)'),
    ('method-id-missing', 'methods.yaml',
     'methods:\n  - name: Potency\n    status: validated\n',
     "methods.yaml:2:5: methods[0].id: required field 'id' is missing; add it, e.g. id: M-POT"),
    ('method-status-typo', 'methods.yaml',
     'methods:\n  - {id: M-POT, status: validatd}\n',
     "methods.yaml:2:25: methods[0].status: unknown status 'validatd' (did you mean 'validated'?); allowed: in_development, qualified, validated, verified"),
    ('method-moa-word', 'methods.yaml',
     'methods:\n  - {id: M-POT, status: validated, moa_linked: sort of}\n',
     "methods.yaml:2:48: methods[0].moa_linked: expected true or false, e.g. true (got 'sort of')"),
    ('ppq-lots-words', 'ppq.yaml',
     'protocol:\n  lots_planned: 3 lots\n',
     "ppq.yaml:2:17: protocol.lots_planned: expected a whole number, e.g. 3 (got '3 lots')"),
    ('ppq-prerequisite-list', 'ppq.yaml',
     'protocol:\n  prerequisites: {personnel_trained: [TRN-1, TRN-2]}\n',
     'ppq.yaml:2:38: protocol.prerequisites.personnel_trained: expected true, false or text, e.g. true (got a list)'),
    ('ppq-report-status', 'ppq.yaml',
     'report: {status: done}\n',
     "ppq.yaml:1:18: report.status: unknown status 'done'; allowed: not_started, in_progress, complete"),
    ('ppq-approach', 'ppq.yaml',
     'protocol:\n  lot_count_justification: {approach: risk_base}\n',
     "ppq.yaml:2:39: protocol.lot_count_justification.approach: unknown approach 'risk_base' (did you mean 'risk_based'?); allowed: process_knowledge, risk_based, statistical, expected_coverage, platform"),
    ('change-kind', 'changes.yaml',
     'changes:\n  - {id: CHG-1, kind: proces, phase: phase_2, risk: minor}\n',
     "changes.yaml:2:23: changes[0].kind: unknown kind 'proces' (did you mean 'process'?); allowed: process, site, scale, raw_material, equipment, method, vector, specification"),
    ('change-risk-missing', 'changes.yaml',
     'changes:\n  - {id: CHG-1, kind: process, phase: phase_2}\n',
     "changes.yaml:2:5: changes[0].risk: required field 'risk' is missing; add it, e.g. risk: minor"),
    ('change-reporting-category', 'changes.yaml',
     'changes:\n  - {id: CHG-1, kind: site, phase: post_approval, risk: major, reporting_category: CBE-3O}\n',
     "changes.yaml:2:84: changes[0].reporting_category: unknown reporting_category 'CBE-3O' (did you mean 'CBE-30'?); allowed: PAS, CBE-30, CBE-0, annual_report"),
    ('comparability-design', 'changes.yaml',
     'changes:\n  - id: CHG-1\n    kind: process\n    phase: phase_3\n    risk: major\n    comparability: {design: side_by_sde}\n',
     "changes.yaml:6:29: changes[0].comparability.design: unknown design 'side_by_sde' (did you mean 'side_by_side'?); allowed: side_by_side, split_source, historical"),
    ('waiver-blank-justification', 'waivers.yaml',
     "waivers:\n  - {rule: PPQ-006, justification: ' '}\n",
     'waivers.yaml:2:36: waivers[0].justification: a waiver needs a justification: say why the gap is accepted'),
    ('waiver-expiry', 'waivers.yaml',
     'waivers:\n  - {rule: PPQ-006, justification: agreed at Type B meeting, expires: 2026-13-01}\n',
     "waivers.yaml:2:71: waivers[0].expires: '2026-13-01' is not a calendar date (month must be in 1..12); "
     "expected a date written YYYY-MM-DD (ISO 8601), e.g. 2027-01-31"),
    ('waiver-missing-justification', 'waivers.yaml',
     'waivers:\n  - {rule: PPQ-006}\n',
     "waivers.yaml:2:5: waivers[0].justification: required field 'justification' is missing; add it, e.g. justification: 'Agreed at the Type B meeting (minutes MTG-22)'"),
]


@pytest.mark.parametrize(("file", "content", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_broken_file_gives_one_actionable_problem(tmp_path, file, content, expected):
    (tmp_path / "dossier.yaml").write_text(BASE, encoding="utf-8")
    (tmp_path / file).write_text(content, encoding="utf-8")
    with pytest.raises(DossierError) as info:
        load_dossier(tmp_path)
    assert [str(p) for p in info.value.problems] == [expected]


def test_corpus_is_large_and_covers_every_yaml_file():
    assert len(CASES) >= 30
    assert len({c[0] for c in CASES}) == len(CASES)
    assert {c[1] for c in CASES} == {"dossier.yaml", "gmp.yaml", "specifications.yaml", "methods.yaml",
                                     "ppq.yaml", "changes.yaml", "waivers.yaml"}


def test_enum_problems_list_allowed_values_and_type_problems_give_an_example():
    for _, _, _, expected in CASES:
        message = expected.split(": ", 2)[2]
        if message.startswith("unknown ") and not message.startswith("unknown key"):
            assert "; allowed: " in message, message
        if message.startswith("expected ") and "ISO date" not in message:
            assert "e.g. " in message, message


def test_several_mistakes_are_reported_together_in_file_order(tmp_path):
    (tmp_path / "dossier.yaml").write_text(
        "cmcflex: 1\nproduct: {name: X, modality: aav, orphan: maybe}\nphase: phse_3\n", encoding="utf-8")
    (tmp_path / "methods.yaml").write_text("methods:\n  - {id: M-1, status: validatd}\n", encoding="utf-8")
    with pytest.raises(DossierError) as info:
        load_dossier(tmp_path)
    assert [(p.file, p.line, p.field) for p in info.value.problems] == [
        ("dossier.yaml", 2, "product.orphan"), ("dossier.yaml", 3, "phase"), ("methods.yaml", 2, "methods[0].status")]
