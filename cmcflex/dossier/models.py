"""Pydantic models of the dossier format, version 1 (see docs/dossier-format.md).

Every name here is part of the input contract. Unknown keys are rejected (the loader suggests
the closest known key); vocabularies are enums so that editors can offer them.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, field_validator

from cmcflex.dossier.criteria import Criterion, parse_criterion
from cmcflex.phases import Phase


class Record(BaseModel):
    """Base of every dossier record: strict about keys, lenient about id types."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True, frozen=True)


def _criterion(value: Any) -> Any:
    if isinstance(value, (str, dict, int, float)) and not isinstance(value, bool):
        return parse_criterion(value)
    if value is None:
        raise ValueError("a criterion is required")
    return parse_criterion(value)


CriterionField = Annotated[
    Any,
    BeforeValidator(_criterion),
    PlainSerializer(lambda c: c.describe(), return_type=str),
    Field(
        description="Acceptance criterion: '>= 70 %', 'NMT 5 EU/mL', '1.0E12 - 5.0E12 vg/mL', "
        "'No growth', 'Negative', 'Report result', or {min, max, unit}",
        json_schema_extra={
            "anyOf": [
                {"type": "string"},
                {
                    "type": "object",
                    "properties": {
                        "min": {"type": ["number", "null"]},
                        "max": {"type": ["number", "null"]},
                        "unit": {"type": ["string", "null"]},
                    },
                    "additionalProperties": False,
                },
            ]
        },
    ),
]


# ---------------------------------------------------------------------------- vocabularies


class Modality(str, Enum):
    AAV = "aav"
    ADENOVIRAL_VECTOR = "adenoviral_vector"
    LENTIVIRAL_VECTOR = "lentiviral_vector"
    RETROVIRAL_VECTOR = "retroviral_vector"
    CAR_T_AUTOLOGOUS = "car_t_autologous"
    CAR_T_ALLOGENEIC = "car_t_allogeneic"
    GENE_MODIFIED_HSC = "gene_modified_hsc"
    GENE_MODIFIED_CELLS = "gene_modified_cells"
    GENE_EDITED_CELLS = "gene_edited_cells"
    ALLOGENEIC_CELL = "allogeneic_cell"
    AUTOLOGOUS_CELL = "autologous_cell"
    ONCOLYTIC_VIRUS = "oncolytic_virus"


AUTOLOGOUS_MODALITIES = frozenset(
    {
        Modality.CAR_T_AUTOLOGOUS,
        Modality.GENE_MODIFIED_HSC,
        Modality.GENE_MODIFIED_CELLS,
        Modality.AUTOLOGOUS_CELL,
        Modality.GENE_EDITED_CELLS,
    }
)
ALLOGENEIC_MODALITIES = frozenset(
    {Modality.CAR_T_ALLOGENEIC, Modality.ALLOGENEIC_CELL}
)
EX_VIVO_MODIFIED_MODALITIES = frozenset(
    {
        Modality.CAR_T_AUTOLOGOUS,
        Modality.CAR_T_ALLOGENEIC,
        Modality.GENE_MODIFIED_HSC,
        Modality.GENE_MODIFIED_CELLS,
        Modality.GENE_EDITED_CELLS,
    }
)


class SiteRole(str, Enum):
    DRUG_SUBSTANCE = "drug_substance"
    DRUG_PRODUCT = "drug_product"
    VECTOR = "vector"
    TESTING = "testing"
    CELL_BANK = "cell_bank"
    PACKAGING = "packaging"


class GmpRegime(str, Enum):
    PHASE_1_GUIDANCE = "phase_1_guidance"
    PART_211 = "part_211"


class InspectionType(str, Enum):
    PRE_LICENSE = "pre_license"
    PRE_APPROVAL = "pre_approval"
    SURVEILLANCE = "surveillance"
    FOR_CAUSE = "for_cause"


class InspectionOutcome(str, Enum):
    NAI = "NAI"
    VAI = "VAI"
    OAI = "OAI"
    PENDING = "pending"


class TimeUnit(str, Enum):
    HOURS = "hours"
    DAYS = "days"
    MONTHS = "months"


class ControlStatus(str, Enum):
    IN_PLACE = "in_place"
    PARTIAL = "partial"
    PLANNED = "planned"
    ABSENT = "absent"


class MaterialRole(str, Enum):
    ANCILLARY = "ancillary"
    RAW = "raw"
    EXCIPIENT = "excipient"
    STARTING_MATERIAL = "starting_material"
    CRITICAL_REAGENT = "critical_reagent"
    COMPONENT = "component"
    CONTAINER_CLOSURE = "container_closure"


class MaterialOrigin(str, Enum):
    HUMAN = "human"
    ANIMAL = "animal"
    RECOMBINANT = "recombinant"
    CHEMICAL = "chemical"
    CELL_LINE = "cell_line"


class MaterialGrade(str, Enum):
    RESEARCH = "research"
    GMP = "gmp"
    COMPENDIAL = "compendial"
    NOT_APPLICABLE = "not_applicable"


class APSPurpose(str, Enum):
    INITIAL = "initial"
    PERIODIC = "periodic"


class JustificationBasis(str, Enum):
    CLINICAL_LOTS = "clinical_lots"
    SAFETY = "safety"
    COMPENDIAL = "compendial"
    STATISTICAL = "statistical"
    CAPABILITY = "capability"
    MECHANISTIC = "mechanistic"
    PLATFORM = "platform"


class TestCategory(str, Enum):
    SAFETY = "safety"
    IDENTITY = "identity"
    POTENCY = "potency"
    QUANTITY = "quantity"
    PURITY = "purity"
    GENERAL = "general"


class MethodStatus(str, Enum):
    IN_DEVELOPMENT = "in_development"
    QUALIFIED = "qualified"
    VALIDATED = "validated"
    VERIFIED = "verified"


class LotCountApproach(str, Enum):
    PROCESS_KNOWLEDGE = "process_knowledge"
    RISK_BASED = "risk_based"
    STATISTICAL = "statistical"
    EXPECTED_COVERAGE = "expected_coverage"
    PLATFORM = "platform"


class PPQStartingMaterial(str, Enum):
    PATIENT = "patient"
    HEALTHY_DONOR = "healthy_donor"
    MIXED = "mixed"
    CELL_BANK = "cell_bank"


class ReportStatus(str, Enum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    COMPLETE = "complete"


class PPQConclusion(str, Enum):
    VALIDATED = "validated"
    NOT_VALIDATED = "not_validated"
    PENDING = "pending"


class ChangeKind(str, Enum):
    PROCESS = "process"
    SITE = "site"
    SCALE = "scale"
    RAW_MATERIAL = "raw_material"
    EQUIPMENT = "equipment"
    METHOD = "method"
    VECTOR = "vector"


class ChangeRisk(str, Enum):
    MINOR = "minor"
    MODERATE = "moderate"
    MAJOR = "major"


class ReportingCategory(str, Enum):
    PAS = "PAS"
    CBE_30 = "CBE-30"
    CBE_0 = "CBE-0"
    ANNUAL_REPORT = "annual_report"


class StudyDesign(str, Enum):
    SIDE_BY_SIDE = "side_by_side"
    SPLIT_SOURCE = "split_source"
    HISTORICAL = "historical"


class ComparisonMethod(str, Enum):
    QUALITY_RANGE = "quality_range"
    EQUIVALENCE = "equivalence"
    MIN_MAX = "min_max"
    DESCRIPTIVE = "descriptive"


class Conclusion(str, Enum):
    COMPARABLE = "comparable"
    NOT_COMPARABLE = "not_comparable"
    INCONCLUSIVE = "inconclusive"
    PENDING = "pending"


# ---------------------------------------------------------------------------- dossier.yaml


class Product(Record):
    name: str = Field(description="Product name or code, e.g. ABC-101")
    modality: Modality = Field(description="Product modality; decides required tests and rules")
    route: str | None = Field(None, description="Route of administration")
    indication: str | None = Field(None, description="Indication studied")
    orphan: bool = Field(False, description="Orphan designation")
    autologous: bool | None = Field(
        None, description="Override whether the product is patient-derived (gene_edited_cells)"
    )


class Period(Record):
    value: float = Field(gt=0, description="Length of the period")
    unit: TimeUnit = Field(description="hours | days | months")
    storage: str | None = Field(None, description="Storage condition of the claim")
    condition: str | None = Field(None, description="Condition of the in-use period")

    @property
    def months(self) -> float:
        return to_months(self.value, self.unit)


def to_months(value: float, unit: TimeUnit) -> float:
    """Convert a duration to months (30.4375 days a month)."""
    if unit is TimeUnit.MONTHS:
        return value
    days = value if unit is TimeUnit.DAYS else value / 24.0
    return days / 30.4375


class Inspection(Record):
    date: dt.date = Field(description="Inspection date (ISO 8601)")
    type: InspectionType
    outcome: InspectionOutcome
    open_observations: int = Field(0, ge=0, description="Form 483 items without completed CAPA")


class Site(Record):
    id: str = Field(description="Site id used in lots.csv and ppq.yaml")
    name: str | None = None
    roles: list[SiteRole] = Field(default_factory=list)
    third_party: bool = Field(False, description="A contract (third-party) site")
    gmp_regime: GmpRegime = Field(GmpRegime.PART_211, description="phase_1_guidance | part_211")
    commercial: bool = Field(False, description="Named in the BLA as a commercial site")
    quality_agreement: str | None = Field(None, description="Quality agreement id (third-party sites)")
    inspections: list[Inspection] = Field(default_factory=list)


class DossierFile(Record):
    """dossier.yaml: product, phase, sites."""

    cmcflex: Literal[1] = Field(description="Format version (1)")
    product: Product
    phase: Phase = Field(description="phase_1 | phase_2 | phase_3 | bla | post_approval")
    pivotal_phase: Phase = Field(Phase.PHASE_3, description="Phase of the registrational study")
    commercial_process: str | None = Field(
        None, description="process_version of the intended commercial process"
    )
    shelf_life: Period | None = None
    in_use: Period | None = None
    sites: list[Site] = Field(default_factory=list)

    @field_validator("pivotal_phase")
    @classmethod
    def _pivotal_is_clinical(cls, value: Phase) -> Phase:
        if value not in (Phase.PHASE_1, Phase.PHASE_2, Phase.PHASE_3):
            raise ValueError("pivotal_phase must be phase_1, phase_2 or phase_3")
        return value


# ---------------------------------------------------------------------------- gmp.yaml


class QualityUnit(Record):
    independent: bool = False
    responsibilities_written: bool = False


class Control(Record):
    status: ControlStatus
    evidence: str | None = Field(None, description="Document id that shows the control")


class EnvironmentalMonitoring(Control):
    trending: bool | None = None
    uninvestigated_excursions: int | None = Field(None, ge=0)


class DataIntegrity(Control):
    audit_trail: bool | None = None
    systems_validated: bool | None = None
    unique_logins: bool | None = None


class Controls(Record):
    written_procedures: Control | None = None
    batch_records: Control | None = None
    personnel_training: Control | None = None
    deviation_management: Control | None = None
    oos_investigation: Control | None = None
    change_control: Control | None = None
    equipment_qualification: Control | None = None
    supplier_qualification: Control | None = None
    environmental_monitoring: EnvironmentalMonitoring | None = None
    data_integrity: DataIntegrity | None = None
    chain_of_identity: Control | None = None


class AsepticProcessSimulation(Record):
    date: dt.date
    site: str | None = None
    suite: str | None = None
    purpose: APSPurpose | None = None
    units: int | None = Field(None, ge=0)
    contaminated: int = Field(0, ge=0)
    worst_case: bool | None = None


class Material(Record):
    name: str
    role: MaterialRole
    origin: MaterialOrigin
    grade: MaterialGrade
    supplier_qualified: bool | None = None
    risk_assessment: str | None = Field(None, description="Required for human/animal-derived materials")
    qualification: str | None = Field(
        None, description="Extension: document id of the in-house qualification of the material"
    )
    justification: str | None = Field(
        None, description="Extension: why a research-grade material is acceptable, or its replacement plan"
    )


class Donor(Record):
    id: str
    eligibility_determined: bool = False
    tests_complete: bool = False
    released_from_quarantine: bool = False
    lots: list[str] = Field(default_factory=list)


class GmpFile(Record):
    """gmp.yaml: quality system, facility controls, materials, donors."""

    quality_unit: QualityUnit | None = None
    controls: Controls = Field(default_factory=Controls)
    aseptic_process_simulation: list[AsepticProcessSimulation] = Field(default_factory=list)
    materials: list[Material] = Field(default_factory=list)
    donors: list[Donor] = Field(default_factory=list)


# ---------------------------------------------------------------------------- specifications.yaml


class Justification(Record):
    basis: list[JustificationBasis] = Field(default_factory=list)
    text: str | None = None
    lots: list[str] | None = Field(None, description="Lots the justification rests on (default: pivotal lots)")

    @field_validator("basis", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class Reevaluation(Record):
    after_lots: int | None = Field(None, ge=1, description="Re-evaluate after this many lots")
    method: str | None = Field(None, description="How the limit will be re-derived")


class SpecTest(Record):
    attribute: str = Field(description="Key used in lots.csv; unique within the material")
    test: str | None = Field(None, description="Canonical test type (defaults to attribute)")
    category: TestCategory | None = Field(None, description="Category of a custom test")
    method: str | None = Field(None, description="Method id in methods.yaml")
    unit: str | None = None
    cqa: bool | None = None
    criterion: CriterionField
    shelf_life_criterion: CriterionField | None = None
    justification: Justification | None = None
    reevaluation: Reevaluation | None = None

    @property
    def test_type(self) -> str:
        return self.test or self.attribute


class Specification(Record):
    material: str = Field(description="drug_substance | drug_product | vector | <custom>")
    version: str | None = None
    tests: list[SpecTest] = Field(default_factory=list)


class SpecificationsFile(Record):
    specifications: list[Specification] = Field(default_factory=list)


# ---------------------------------------------------------------------------- methods.yaml


class Method(Record):
    id: str
    name: str | None = None
    compendial: bool = False
    status: MethodStatus
    report: str | None = Field(None, description="Validation or verification report id")
    moa_linked: bool | None = Field(None, description="Potency only: measures the mechanism of action")
    quantitative: bool | None = None
    replaces: str | None = Field(None, description="The method this one replaced")
    bridging_study: str | None = Field(None, description="Study that bridges the two methods")


class MethodsFile(Record):
    methods: list[Method] = Field(default_factory=list)


# ---------------------------------------------------------------------------- ppq.yaml


class LotCountJustification(Record):
    approach: LotCountApproach | None = None
    text: str | None = None
    evidence: list[str] = Field(default_factory=list)


class ConcurrentRelease(Record):
    planned: bool = False
    rationale: str | None = None
    lots_meet_release_criteria: bool | None = None
    failure_plan: str | None = None


class ProtocolElements(Record):
    operating_conditions: str | None = None
    data_to_collect: str | None = None
    tests_and_criteria: str | None = None
    sampling_plan: str | None = None
    statistical_methods: str | None = None
    deviation_handling: str | None = None


Prerequisite = bool | str | None


class Prerequisites(Record):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=False, frozen=True)

    facility_equipment_qualified: Prerequisite = None
    personnel_trained: Prerequisite = None
    material_sources_verified: Prerequisite = None
    analytical_methods_validated: Prerequisite = None
    aseptic_simulation_current: Prerequisite = None
    hold_times_validated: Prerequisite = None
    shipping_validated: Prerequisite = None
    vector_process_validated: Prerequisite = None


class Protocol(Record):
    id: str | None = None
    approved_by_quality_unit: bool = False
    site: str | None = None
    scale: str | None = Field(None, description="e.g. commercial")
    lots_planned: int | None = Field(None, ge=0)
    lot_count_justification: LotCountJustification | None = None
    starting_material: PPQStartingMaterial | None = None
    starting_material_justification: str | None = None
    concurrent_release: ConcurrentRelease | None = None
    elements: ProtocolElements = Field(default_factory=ProtocolElements)
    prerequisites: Prerequisites = Field(default_factory=Prerequisites)


class PPQReport(Record):
    id: str | None = None
    status: ReportStatus = ReportStatus.NOT_STARTED
    conclusion: PPQConclusion = PPQConclusion.PENDING
    open_deviations: int = Field(0, ge=0)


class PPQFile(Record):
    protocol: Protocol | None = None
    report: PPQReport | None = None
    continued_process_verification: str | None = Field(None, description="Stage 3 CPV plan id")


# ---------------------------------------------------------------------------- changes.yaml


class Comparability(Record):
    design: StudyDesign | None = None
    pre_lots: list[str] = Field(default_factory=list)
    post_lots: list[str] = Field(default_factory=list)
    attributes: list[str] = Field(default_factory=list)
    method: ComparisonMethod | None = None
    criteria_predefined: bool | None = None
    conclusion: Conclusion = Conclusion.PENDING
    nonclinical_bridge: str | None = None
    clinical_bridge: str | None = None


class Change(Record):
    id: str
    title: str | None = None
    kind: ChangeKind
    phase: Phase = Field(description="Phase in which the change was implemented")
    risk: ChangeRisk
    risk_assessment: str | None = None
    summary: str | None = Field(
        None, description="Extension: proportionate comparability summary for a minor change"
    )
    from_version: str | None = None
    to_version: str | None = None
    affected_attributes: list[str] = Field(default_factory=list)
    reporting_category: ReportingCategory | None = None
    comparability: Comparability | None = None


class ChangesFile(Record):
    changes: list[Change] = Field(default_factory=list)


# ---------------------------------------------------------------------------- waivers.yaml


class Waiver(Record):
    rule: str = Field(description="Rule id, e.g. PPQ-006")
    scope: str | None = Field(None, description="A file, or a record such as 'change CHG-004'")
    justification: str = Field(min_length=1, description="Why the gap is accepted (required)")
    approved_by: str | None = None
    expires: dt.date | None = None

    @field_validator("justification")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a waiver needs a justification: say why the gap is accepted")
        return value


class WaiversFile(Record):
    waivers: list[Waiver] = Field(default_factory=list)


YAML_FILES: dict[str, type[Record]] = {
    "dossier.yaml": DossierFile,
    "gmp.yaml": GmpFile,
    "specifications.yaml": SpecificationsFile,
    "methods.yaml": MethodsFile,
    "ppq.yaml": PPQFile,
    "changes.yaml": ChangesFile,
    "waivers.yaml": WaiversFile,
}
