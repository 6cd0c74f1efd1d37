"""Pydantic models of the dossier format, version 1 (see docs/dossier-format.md).

Every name here is part of the input contract. Unknown keys are rejected (the loader suggests
the closest known key); vocabularies are enums so that editors can offer them.

Models are built on first use (``defer_build``), so a check builds the validators of the files a
dossier has, once each, not every model at import. Annotations are real types, not strings, and
empty lists come from a Python function rather than ``list``: pydantic then needs neither to
evaluate annotation strings nor to parse a builtin's signature text, which cost every start-up.
"""

import datetime as dt
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from cmcflex.dossier.controlled import ControlledValue
from cmcflex.dossier.criteria import parse_criterion
from cmcflex.dossier.dates import EXPECTED as DATE_EXPECTED
from cmcflex.dossier.dates import months_of, parse_iso_date
from cmcflex.dossier.errors import did_you_mean
from cmcflex.dossier.lots import CONTROLLED, USES
from cmcflex.phases import Phase


def _empty_list() -> list[Any]:
    """The default of list fields (see the module docstring)."""
    return []


class Record(BaseModel):
    """Base of every dossier record: strict about keys, lenient about id types."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True, frozen=True, defer_build=True,
                              allow_inf_nan=False)


def _no_digit_underscores(value: Any) -> Any:
    """``'1_5'`` is not 15 (pydantic, like Python, reads underscores as digit separators)."""
    if isinstance(value, str) and "_" in value:
        raise ValueError(f"{value!r} is not a number: '_' is not a digit separator")
    return value


NO_DIGIT_UNDERSCORES = BeforeValidator(_no_digit_underscores)
"""On every int and float field (a test holds every model to it): per field rather than one
validator on every field of every record, which would run on each value and cost each start-up
its inspection per field."""
Count = Annotated[int, NO_DIGIT_UNDERSCORES]
OptionalCount = Annotated[int | None, NO_DIGIT_UNDERSCORES]
Number = Annotated[float, NO_DIGIT_UNDERSCORES]
OptionalNumber = Annotated[float | None, NO_DIGIT_UNDERSCORES]


def _iso_date(value: Any) -> Any:
    """A date field's value: ``YYYY-MM-DD`` text only; never a number read as a timestamp."""
    if isinstance(value, str):
        return parse_iso_date(value.strip())
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    raise ValueError(f"expected {DATE_EXPECTED}")


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]


def _identifier(value: Any) -> Any:
    """Identifiers are text: a number here is an unquoted id YAML read as a number (``0106`` as 70)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise PydanticCustomError("identifier_number", "an identifier is text, but this unquoted value reads "
                                  "as the number {number}", {"number": value})
    return value


Identifier = Annotated[str, BeforeValidator(_identifier)]
"""An id (lot, site, method, donor, change, document, rule id; a process version): text, never a
number YAML read from an unquoted value."""


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
                {"type": "string", "description": "A criterion as written, e.g. '>= 70 %' or 'No growth'"},
                {
                    "type": "object",
                    "description": "A numeric range; leave min or max null for a one-sided limit",
                    "properties": {
                        "min": {"type": ["number", "null"], "description": "Lower limit (inclusive), e.g. 70"},
                        "max": {"type": ["number", "null"], "description": "Upper limit (inclusive), e.g. 5.0"},
                        "unit": {"type": ["string", "null"], "description": "Unit, e.g. % or EU/mL"},
                    },
                    "additionalProperties": False,
                },
            ],
            "examples": [">= 70 %", "NMT 5 EU/mL", "1.0E12 - 5.0E12 vg/mL", "No growth", "Negative",
                         "Report result"],
        },
    ),
]


def _one_or_list(schema: dict[str, Any]) -> None:
    """JSON Schema of a list field that also accepts a single item (``basis: safety``)."""
    item = schema.pop("items")
    schema.pop("type", None)
    schema["anyOf"] = [item, {"type": "array", "items": item}]


def _or_text(schema: dict[str, Any]) -> None:
    """JSON Schema of a mapping field that may also be written as its text alone."""
    schema["anyOf"] = [{"type": "string"}, *schema.get("anyOf", [])]


# ---------------------------------------------------------------------------- vocabularies


class Modality(ControlledValue):
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


class SiteRole(ControlledValue):
    DRUG_SUBSTANCE = "drug_substance"
    DRUG_PRODUCT = "drug_product"
    VECTOR = "vector"
    TESTING = "testing"
    CELL_BANK = "cell_bank"
    PACKAGING = "packaging"


class GmpRegime(ControlledValue):
    PHASE_1_GUIDANCE = "phase_1_guidance"
    PART_211 = "part_211"


class InspectionType(ControlledValue):
    PRE_LICENSE = "pre_license"
    PRE_APPROVAL = "pre_approval"
    SURVEILLANCE = "surveillance"
    FOR_CAUSE = "for_cause"


class InspectionOutcome(ControlledValue):
    NAI = "NAI"
    VAI = "VAI"
    OAI = "OAI"
    PENDING = "pending"


class TimeUnit(ControlledValue):
    MINUTES = "minutes"  # an in-use period after thaw is often minutes (infuse within 20 minutes)
    HOURS = "hours"
    DAYS = "days"
    MONTHS = "months"


class ControlStatus(ControlledValue):
    IN_PLACE = "in_place"
    PARTIAL = "partial"
    PLANNED = "planned"
    ABSENT = "absent"


class MaterialRole(ControlledValue):
    ANCILLARY = "ancillary"
    RAW = "raw"
    EXCIPIENT = "excipient"
    STARTING_MATERIAL = "starting_material"
    CRITICAL_REAGENT = "critical_reagent"
    COMPONENT = "component"
    CONTAINER_CLOSURE = "container_closure"


class MaterialOrigin(ControlledValue):
    HUMAN = "human"
    ANIMAL = "animal"
    RECOMBINANT = "recombinant"
    CHEMICAL = "chemical"
    CELL_LINE = "cell_line"


class MaterialGrade(ControlledValue):
    RESEARCH = "research"
    GMP = "gmp"
    COMPENDIAL = "compendial"
    NOT_APPLICABLE = "not_applicable"


class APSPurpose(ControlledValue):
    INITIAL = "initial"
    PERIODIC = "periodic"


class JustificationBasis(ControlledValue):
    CLINICAL_LOTS = "clinical_lots"
    SAFETY = "safety"
    COMPENDIAL = "compendial"
    STATISTICAL = "statistical"
    CAPABILITY = "capability"
    MECHANISTIC = "mechanistic"
    PLATFORM = "platform"


class TestCategory(ControlledValue):
    SAFETY = "safety"
    IDENTITY = "identity"
    POTENCY = "potency"
    QUANTITY = "quantity"
    PURITY = "purity"
    GENERAL = "general"


class MethodStatus(ControlledValue):
    IN_DEVELOPMENT = "in_development"
    QUALIFIED = "qualified"
    VALIDATED = "validated"
    VERIFIED = "verified"


class LotCountApproach(ControlledValue):
    PROCESS_KNOWLEDGE = "process_knowledge"
    RISK_BASED = "risk_based"
    STATISTICAL = "statistical"
    EXPECTED_COVERAGE = "expected_coverage"
    PLATFORM = "platform"


class PPQStartingMaterial(ControlledValue):
    PATIENT = "patient"
    HEALTHY_DONOR = "healthy_donor"
    MIXED = "mixed"
    CELL_BANK = "cell_bank"


class ReportStatus(ControlledValue):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    COMPLETE = "complete"


class PPQConclusion(ControlledValue):
    VALIDATED = "validated"
    NOT_VALIDATED = "not_validated"
    PENDING = "pending"


class ChangeKind(ControlledValue):
    PROCESS = "process"
    SITE = "site"
    SCALE = "scale"
    RAW_MATERIAL = "raw_material"
    EQUIPMENT = "equipment"
    METHOD = "method"
    VECTOR = "vector"
    SPECIFICATION = "specification"


class ChangeRisk(ControlledValue):
    MINOR = "minor"
    MODERATE = "moderate"
    MAJOR = "major"


class ReportingCategory(ControlledValue):
    PAS = "PAS"
    CBE_30 = "CBE-30"
    CBE_0 = "CBE-0"
    ANNUAL_REPORT = "annual_report"


class StudyDesign(ControlledValue):
    SIDE_BY_SIDE = "side_by_side"
    SPLIT_SOURCE = "split_source"
    HISTORICAL = "historical"


class ComparisonMethod(ControlledValue):
    QUALITY_RANGE = "quality_range"
    EQUIVALENCE = "equivalence"
    MIN_MAX = "min_max"
    DESCRIPTIVE = "descriptive"


class InteractionType(ControlledValue):
    """The kind of FDA meeting or exchange (FDA, Formal Meetings Between the FDA and Sponsors or
    Applicants of PDUFA Products, draft guidance, September 2023; INTERACT and pre-IND for CBER)."""

    INTERACT = "INTERACT"
    PRE_IND = "pre_IND"
    TYPE_A = "type_A"
    TYPE_B = "type_B"
    TYPE_B_EOP = "type_B_EOP"
    TYPE_C = "type_C"
    TYPE_D = "type_D"
    PRE_BLA = "pre_BLA"
    WRITTEN_RESPONSE = "written_response"
    OTHER = "other"


class InteractionOutcome(ControlledValue):
    AGREED = "agreed"
    AGREED_WITH_CONDITIONS = "agreed_with_conditions"
    ADVICE = "advice"
    NOT_AGREED = "not_agreed"
    PENDING = "pending"


class FlexibilityTopic(ControlledValue):
    """A flexible choice of the May 2026 CMC flexibilities guidance that an FDA interaction can
    have discussed (``fda_interactions[].topics``)."""

    PPQ_LOT_COUNT = "ppq_lot_count"
    CONCURRENT_RELEASE = "concurrent_release"
    POST_LICENSURE_PPQ = "post_licensure_ppq"
    REPORT_ONLY_CRITERIA = "report_only_criteria"
    CRITERIA_REEVALUATION = "criteria_reevaluation"
    CLINICAL_LOT_STABILITY = "clinical_lot_stability"
    SINGLE_LOT_METHOD_VALIDATION = "single_lot_method_validation"
    PLATFORM_METHOD = "platform_method"
    RESERVE_SAMPLES = "reserve_samples"


class ReevaluationRoute(ControlledValue):
    """How a re-evaluation of acceptance criteria after approval reaches FDA (21 CFR 601.12)."""

    PRIOR_APPROVAL_SUPPLEMENT = "prior_approval_supplement"
    COMPARABILITY_PROTOCOL = "comparability_protocol"
    CBE_30 = "CBE-30"
    ANNUAL_REPORT = "annual_report"


class Conclusion(ControlledValue):
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
        None, description="Override whether the product is patient-derived (gene_edited_cells); false makes "
        "a cell product donor-derived (allogeneic), e.g. allogeneic CAR-NK recorded as gene_modified_cells"
    )


class Period(Record):
    value: Number = Field(gt=0, description="Length of the period")
    unit: TimeUnit = Field(description="minutes | hours | days | months")
    storage: str | None = Field(None, description="Storage condition of the claim")
    condition: str | None = Field(None, description="Condition of the in-use period")

    @property
    def months(self) -> float:
        return to_months(self.value, self.unit)


def to_months(value: float, unit: TimeUnit) -> float:
    """Convert a duration to months (30.4375 days a month)."""
    return months_of(value, unit.value)


class Inspection(Record):
    date: IsoDate = Field(description="Inspection date (ISO 8601)")
    type: InspectionType = Field(
        description="Inspection type: pre_license, pre_approval, surveillance or for_cause"
    )
    outcome: InspectionOutcome = Field(description="Classification: NAI, VAI, OAI, or pending")
    open_observations: Count = Field(0, ge=0, description="Form 483 items without completed CAPA")


class Site(Record):
    id: Identifier = Field(description="Site id used in lots.csv and ppq.yaml, e.g. SITE-A")
    name: str | None = Field(
        None, description="Site name and location, e.g. Example Cell Processing Center, Durham NC"
    )
    roles: list[SiteRole] = Field(
        default_factory=_empty_list,
        description="What the site does: drug_substance, drug_product, vector, testing, cell_bank, packaging"
    )
    third_party: bool = Field(False, description="A contract (third-party) site")
    gmp_regime: GmpRegime = Field(GmpRegime.PART_211, description="phase_1_guidance | part_211")
    commercial: bool = Field(False, description="Named in the BLA as a commercial site")
    quality_agreement: Identifier | None = Field(None, description="Quality agreement id (third-party sites)")
    inspections: list[Inspection] = Field(
        default_factory=_empty_list, description="FDA inspections of the site, most recent last"
    )


class FdaInteraction(Record):
    """Extension: one meeting or written exchange with FDA (CBER) and the flexibilities it discussed."""

    id: Identifier | None = Field(None, description="Your reference for the interaction, e.g. MTG-2025-03")
    type: InteractionType = Field(
        description="INTERACT, pre_IND, type_A, type_B, type_B_EOP, type_C, type_D, pre_BLA, "
        "written_response or other"
    )
    date: IsoDate = Field(description="Date of the meeting or of FDA's written response (ISO 8601)")
    minutes: Identifier | None = Field(None, description="Document id of the meeting minutes or FDA's letter")
    outcome: InteractionOutcome | None = Field(
        None, description="agreed, agreed_with_conditions, advice, not_agreed or pending (minutes not yet received)"
    )
    topics: list[FlexibilityTopic] = Field(
        default_factory=_empty_list,
        description="The flexible choices discussed, e.g. [ppq_lot_count, concurrent_release]",
    )
    summary: str | None = Field(None, description="What was agreed or advised, in a sentence or two")


class ClinicalLotStability(Record):
    """Extension: the shelf life rests on lots of an earlier (clinical) process version."""

    justification: str | None = Field(
        None, description="Why the clinical lots represent the commercial process for stability"
    )
    change: Identifier | None = Field(
        None, description="The change in changes.yaml whose comparability study concludes the processes comparable"
    )
    commitment: str | None = Field(
        None, description="The post-approval stability commitment, e.g. first 3 commercial lots on long-term study"
    )


class DossierFile(Record):
    """dossier.yaml: product, phase, sites."""

    cmcflex: Literal[1] = Field(description="Format version (1)")
    product: Product = Field(description="The product: name, modality, route, indication")
    phase: Phase = Field(description="phase_1 | phase_2 | phase_3 | bla | post_approval")
    pivotal_phase: Phase = Field(Phase.PHASE_3, description="Phase of the registrational study")
    commercial_process: Identifier | None = Field(
        None, description="process_version of the intended commercial process"
    )
    shelf_life: Period | None = Field(
        None, description="Claimed shelf life, e.g. {value: 12, unit: months, storage: ...}"
    )
    in_use: Period | None = Field(
        None, description="Claimed in-use period after thaw or preparation, e.g. {value: 4, unit: hours}"
    )
    stability_lot_justification: str | None = Field(
        None,
        description="Extension: why fewer than 3 lots on long-term stability support the shelf life "
        "(e.g. scarce autologous material, platform data); read by STAB-003",
    )
    clinical_lot_stability: ClinicalLotStability | None = Field(
        None,
        description="Extension: long-term data on lots of an earlier process version support the shelf "
        "life (May 2026 guidance); read by STAB-002 and STAB-003",
    )
    sites: list[Site] = Field(
        default_factory=_empty_list,
        description="Manufacturing and testing sites; their ids are used in lots.csv and ppq.yaml"
    )
    fda_interactions: list[FdaInteraction] = Field(
        default_factory=_empty_list,
        description="Extension: meetings and written exchanges with FDA and the flexibilities they discussed",
    )

    @field_validator("pivotal_phase")
    @classmethod
    def _pivotal_is_clinical(cls, value: Phase) -> Phase:
        if value not in (Phase.PHASE_1, Phase.PHASE_2, Phase.PHASE_3):
            raise ValueError("pivotal_phase must be phase_1, phase_2 or phase_3")
        return value


# ---------------------------------------------------------------------------- gmp.yaml


class QualityUnit(Record):
    independent: bool | None = Field(
        None, description="The quality unit (QC function at phase 1) is independent of production"
    )
    responsibilities_written: bool | None = Field(
        None, description="The quality unit's responsibilities and procedures are written"
    )


class Control(Record):
    status: ControlStatus = Field(description="State of the control: in_place, partial, planned or absent")
    evidence: Identifier | None = Field(None, description="Document id that shows the control")


class EnvironmentalMonitoring(Control):
    trending: bool | None = Field(None, description="EM results are trended")
    uninvestigated_excursions: OptionalCount = Field(
        None, ge=0, description="Number of EM excursions without a completed investigation"
    )


class DataIntegrity(Control):
    audit_trail: bool | None = Field(
        None, description="Audit trails are enabled and reviewed on GMP computerised systems"
    )
    systems_validated: bool | None = Field(None, description="GMP computerised systems are validated")
    unique_logins: bool | None = Field(None, description="Every user has a unique login (no shared accounts)")


class ReserveSampleException(Record):
    """Extension: where reserve samples are not kept, what is not kept and why."""

    justification: str | None = Field(
        None, description="Why no reserve sample is kept, e.g. each autologous lot is administered whole"
    )
    scope: str | None = Field(None, description="Which lots the exception covers, e.g. autologous drug product")
    alternative: str | None = Field(
        None, description="What is retained instead, e.g. a cryopreserved retention vial of the cell bank or intermediate"
    )


class ReserveSamples(Control):
    """Extension: reserve (retention) samples of each lot, with any documented exception."""

    exception: ReserveSampleException | None = Field(
        None, description="A documented exception where material is limited (read by GMP-018)"
    )


class Controls(Record):
    written_procedures: Control | None = Field(None, description="Written procedures (SOP system)")
    batch_records: Control | None = Field(None, description="Master and executed batch records")
    personnel_training: Control | None = Field(None, description="Personnel training program")
    deviation_management: Control | None = Field(None, description="Deviation management procedure")
    oos_investigation: Control | None = Field(
        None, description="Out-of-specification investigation procedure"
    )
    change_control: Control | None = Field(None, description="Change control procedure")
    equipment_qualification: Control | None = Field(None, description="Equipment and facility qualification")
    supplier_qualification: Control | None = Field(None, description="Supplier qualification program")
    environmental_monitoring: EnvironmentalMonitoring | None = Field(
        None, description="Environmental monitoring program, with trending and excursions"
    )
    data_integrity: DataIntegrity | None = Field(
        None, description="Data integrity controls: audit trails, validated systems, unique logins"
    )
    reserve_samples: ReserveSamples | None = Field(
        None, description="Extension: reserve (retention) samples of each lot; read by GMP-018"
    )
    chain_of_identity: Control | None = Field(
        None, description="Chain of identity and custody (autologous products)"
    )


class AsepticProcessSimulation(Record):
    date: IsoDate = Field(description="Date of the media fill (ISO 8601), e.g. 2025-11-02")
    site: Identifier | None = Field(None, description="Site id from dossier.yaml")
    suite: Identifier | None = Field(None, description="Cleanroom suite or filling line, e.g. SUITE-1")
    purpose: APSPurpose | None = Field(
        None, description="initial (qualification run) or periodic (requalification)"
    )
    units: OptionalCount = Field(None, ge=0, description="Number of units filled")
    contaminated: Count = Field(0, ge=0, description="Number of contaminated units (0 expected)")
    worst_case: bool | None = Field(
        None,
        description="The simulation covered worst-case conditions (longest duration, most interventions)"
    )


class Material(Record):
    name: str = Field(description="Material name, e.g. Fetal bovine serum")
    role: MaterialRole = Field(
        description="ancillary, raw, excipient, starting_material, critical_reagent, component "
        "or container_closure"
    )
    origin: MaterialOrigin = Field(description="human, animal, recombinant, chemical or cell_line")
    grade: MaterialGrade = Field(
        description="research, gmp, compendial or not_applicable (e.g. patient material)"
    )
    supplier_qualified: bool | None = Field(None, description="The supplier of the material is qualified")
    risk_assessment: Identifier | None = Field(None, description="Required for human/animal-derived materials")
    qualification: Identifier | None = Field(
        None, description="Extension: document id of the in-house qualification of the material"
    )
    justification: str | None = Field(
        None, description="Extension: why a research-grade material is acceptable, or its replacement plan"
    )


class Donor(Record):
    id: Identifier = Field(description="Donor id, e.g. D-0001")
    eligibility_determined: bool = Field(
        description="A donor eligibility determination was made (21 CFR 1271.50): true, or false while it is pending"
    )
    tests_complete: bool | None = Field(
        None, description="Required donor testing is complete (21 CFR 1271.80, 1271.85); "
        "default: true for a donor determined eligible"
    )
    released_from_quarantine: bool | None = Field(
        None, description="The donor's material was released from quarantine; default: released once "
        "the donor is determined eligible, else held"
    )
    lots: list[Identifier] = Field(
        default_factory=_empty_list, description="Lot ids made from this donor's material (optional)"
    )


class GmpFile(Record):
    """gmp.yaml: quality system, facility controls, materials, donors."""

    quality_unit: QualityUnit | None = Field(
        None, description="The quality unit: independence and written responsibilities"
    )
    controls: Controls = Field(
        default_factory=Controls,
        description="Quality system and facility controls, each with a status and evidence"
    )
    aseptic_process_simulation: list[AsepticProcessSimulation] = Field(
        default_factory=_empty_list, description="Aseptic process simulations (media fills)"
    )
    materials: list[Material] = Field(
        default_factory=_empty_list, description="Materials used in manufacture, with role, origin and grade"
    )
    donors: list[Donor] = Field(default_factory=_empty_list, description="Donors of allogeneic starting material")


# ---------------------------------------------------------------------------- specifications.yaml


def _fraction(value: Any) -> Any:
    """Accept a proportion written as 0.99 or as a percentage (99)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 1 < value < 100:
        return value / 100.0
    return value


Fraction = Annotated[float, BeforeValidator(_fraction), Field(gt=0, lt=1)]


IntervalMethod = Literal["tolerance_interval", "mean_k_sd", "prediction_interval", "ppk", "min_max"]


def _interval_method(value: Any) -> Any:
    """An interval method in any case (``Tolerance_Interval``) is that method; other values stay as written."""
    if isinstance(value, str) and value.casefold() in get_args(IntervalMethod):
        return value.casefold()
    return value


class StatisticalInterval(Record):
    """Extension: how a statistical or capability limit was derived from the lots (SPEC-007)."""

    method: Annotated[IntervalMethod, BeforeValidator(_interval_method)] = Field(
        description="Extension: tolerance_interval (x̄ ± k·s covering `coverage` of lots with `confidence`), "
        "mean_k_sd (x̄ ± k·s, k default 3), prediction_interval (one future lot, `confidence`), "
        "ppk (limit at x̄ ∓ 3·ppk·s), min_max (the range of the lots)"
    )
    coverage: Fraction | None = Field(
        None, description="Extension: tolerance_interval: proportion covered, 0.99 or 99 (default 0.99)"
    )
    confidence: Fraction | None = Field(
        None, description="Extension: tolerance_interval and prediction_interval: confidence, 0.95 or 95 (default 0.95)"
    )
    sides: Literal[1, 2] | None = Field(
        None, description="Extension: 1 (one-sided limits) or 2 (two-sided interval); default: 2 for a "
        "range criterion, 1 for a single limit"
    )
    k: OptionalNumber = Field(
        None, gt=0, description="Extension: the factor used; tolerance_interval: checked against the exact, "
        "Howe and Guenther factors; mean_k_sd: default 3"
    )
    ppk: OptionalNumber = Field(None, gt=0, description="Extension: method ppk: the target Ppk (default 1.33)")
    log: bool = Field(
        False, description="Extension: computed on ln(value) and transformed back (titers, impurity levels)"
    )


class Justification(Record):
    basis: list[JustificationBasis] = Field(
        default_factory=_empty_list,
        description="Basis of the criterion, one or a list of: clinical_lots, safety, compendial, "
        "statistical, capability, mechanistic, platform",
        json_schema_extra=_one_or_list,
    )
    text: str | None = Field(
        None, description="The justification in words, e.g. 'All 24 pivotal lots were >= 78 %'"
    )
    lots: list[Identifier] | None = Field(None, description="Lots the justification rests on (default: pivotal lots)")
    interval: StatisticalInterval | None = Field(
        None, description="Extension: the interval behind a statistical or capability basis (recomputed by SPEC-007)"
    )

    @field_validator("basis", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class Reevaluation(Record):
    after_lots: OptionalCount = Field(None, ge=1, description="Re-evaluate after this many lots")
    method: str | None = Field(None, description="How the limit will be re-derived")
    route: ReevaluationRoute | None = Field(
        None, description="Extension: how the revised criterion reaches FDA: prior_approval_supplement, "
        "comparability_protocol, CBE-30 or annual_report"
    )
    evidence: str | None = Field(
        None, description="Extension: the evidence of consistent quality the re-evaluation will rest on"
    )


class SpecTest(Record):
    attribute: str = Field(description="Key used in lots.csv, unique within the material, e.g. viability")
    test: str | None = Field(None, description="Canonical test type (defaults to attribute)")
    category: TestCategory | None = Field(None, description="Category of a custom test")
    method: Identifier | None = Field(None, description="Method id in methods.yaml")
    unit: str | None = Field(None, description="Unit of the result, e.g. %, EU/mL, vg/mL")
    cqa: bool | None = Field(
        None,
        description="A critical quality attribute (default: true for safety, identity, potency "
        "and quantity tests)"
    )
    criterion: CriterionField
    shelf_life_criterion: CriterionField | None = Field(
        None,
        description="End-of-shelf-life criterion, where it differs from release; same forms as criterion"
    )
    justification: Justification | None = Field(
        None, description="Basis and justification of the criterion: {basis, text}, or the text alone",
        json_schema_extra=_or_text,
    )
    reevaluation: Reevaluation | None = Field(
        None, description="Post-approval plan to re-evaluate the criterion: {after_lots, method}"
    )

    @field_validator("justification", mode="before")
    @classmethod
    def _text_alone(cls, value: Any) -> Any:
        """A justification written as free text is its text (its basis not stated)."""
        return {"text": value} if isinstance(value, str) else value

    @property
    def test_type(self) -> str:
        return self.test or self.attribute


USE_VOCABULARY = CONTROLLED["use"]


class VersionTest(Record):
    """Extension: a test's criterion in an earlier specification version."""

    attribute: str = Field(description="The attribute of a test of the current version, e.g. viability")
    criterion: CriterionField | None = Field(
        None, description="The criterion in that version; leave it out when the version had no such test"
    )


class PreviousVersion(Record):
    """Extension: an earlier (superseded) version of a material's specification."""

    version: Identifier = Field(description='The superseded version, e.g. "2.0" (quote it so it stays text)')
    effective_from: IsoDate | None = Field(None, description="Date the version took effect (ISO 8601)")
    uses: list[str] = Field(
        default_factory=_empty_list,
        description="lots.csv use values of the lots released under this version, e.g. [phase_1, phase_2]",
    )

    @field_validator("uses")
    @classmethod
    def _known_uses(cls, value: list[str]) -> list[str]:
        known = []
        for use in value:
            canonical = USE_VOCABULARY.canonical(use)  # a case variant is read as its allowed value
            if canonical is None:
                raise ValueError(f"unknown use '{use}'{did_you_mean(use, USES)}; allowed: {', '.join(USES)}")
            known.append(canonical)
        return known
    tests: list[VersionTest] = Field(
        default_factory=_empty_list,
        description="Tests whose criterion differed in that version; a test not listed had today's criterion",
    )


class Specification(Record):
    material: str = Field(description="drug_substance | drug_product | vector | <custom>, e.g. drug_product")
    version: Identifier | None = Field(
        None, description='Specification version, e.g. "3.0" (quote it so it stays text)'
    )
    effective_from: IsoDate | None = Field(
        None, description="Extension: date this (current) version took effect (ISO 8601), e.g. 2025-09-01"
    )
    tests: list[SpecTest] = Field(default_factory=_empty_list, description="The release tests of this material")
    previous_versions: list[PreviousVersion] = Field(
        default_factory=_empty_list,
        description="Extension: superseded versions, each with the criteria that differed; lots released "
        "under them are judged by them (SPEC-009)",
    )

    @model_validator(mode="after")
    def _versions_consistent(self) -> "Specification":
        if not self.previous_versions:
            return self
        if self.version is None:
            raise ValueError("a specification with previous_versions needs its own version, e.g. version: \"3.0\"")
        seen = {self.version}
        attributes = [t.attribute for t in self.tests]
        covered: dict[str, str] = {}
        for old in self.previous_versions:
            for use in old.uses:
                if use in covered:
                    raise ValueError(f"use '{use}' is given to versions '{covered[use]}' and '{old.version}'; "
                                     "record each lot's spec_version in the lots table (lots.csv or lots.xlsx) instead")
                covered[use] = old.version
            if old.version in seen:
                raise ValueError(f"version '{old.version}' is listed twice for material {self.material}")
            seen.add(old.version)
            if self.effective_from and old.effective_from and old.effective_from >= self.effective_from:
                raise ValueError(f"previous version '{old.version}' takes effect on {old.effective_from}, not "
                                 f"before the current version '{self.version}' ({self.effective_from})")
            for t in old.tests:
                if t.attribute not in attributes:
                    raise ValueError(f"previous version '{old.version}' lists test '{t.attribute}', which the "
                                     f"current {self.material} specification does not have"
                                     f"{did_you_mean(t.attribute, attributes)}")
        return self


class SpecificationsFile(Record):
    specifications: list[Specification] = Field(
        default_factory=_empty_list,
        description="One specification per material (drug_substance, drug_product, vector, ...)"
    )


# ---------------------------------------------------------------------------- methods.yaml


class PlatformMethod(Record):
    """Extension: prior validation of a platform method leveraged for this product."""

    source: str | None = Field(
        None, description="The product or platform whose validation is leveraged, e.g. AAV9 platform, ABC-100"
    )
    report: Identifier | None = Field(None, description="The platform validation report id")
    applicability: str | None = Field(
        None, description="Why the platform validation applies to this product (similarity of matrix, analyte, range)"
    )


class Method(Record):
    id: Identifier = Field(description="Method id referred to by specifications.yaml and lots.csv, e.g. M-POT")
    name: str | None = Field(None, description="What the method measures and how")
    compendial: bool | None = Field(
        None, description="A compendial method (USP, Ph. Eur.), verified rather than validated "
                          "(left out: read from status, verified meaning compendial)"
    )
    status: MethodStatus | None = Field(
        None, description="in_development, qualified, validated or verified (compendial); left out: not shown"
    )
    report: Identifier | None = Field(None, description="Validation or verification report id")
    moa_linked: bool | None = Field(None, description="Potency only: measures the mechanism of action")
    quantitative: bool | None = Field(None, description="The method gives a numeric result")
    replaces: Identifier | None = Field(None, description="The method this one replaced")
    bridging_study: Identifier | None = Field(None, description="Study that bridges the two methods")
    validation_lots: list[Identifier] | None = Field(
        None, description="Extension: the lots the validation used, e.g. [L-PPQ-01]"
    )
    representative_lot_justification: str | None = Field(
        None, description="Extension: why the lot(s) the validation used represent the product (single-lot validation)"
    )
    platform: PlatformMethod | None = Field(
        None, description="Extension: the platform method this validation leans on"
    )


class MethodsFile(Record):
    methods: list[Method] = Field(
        default_factory=_empty_list, description="Analytical methods and their validation status"
    )


# ---------------------------------------------------------------------------- ppq.yaml


class LotCountJustification(Record):
    approach: LotCountApproach | None = Field(
        None, description="process_knowledge, risk_based, statistical, expected_coverage or platform"
    )
    text: str | None = Field(None, description="Why the number of PPQ lots gives confidence in the process")
    evidence: list[Identifier] = Field(
        default_factory=_empty_list, description="Document ids the justification rests on, e.g. [PD-RPT-007]"
    )
    process_understanding: str | None = Field(
        None, description="Extension: the product and process understanding the number rests on"
    )
    process_complexity: str | None = Field(
        None, description="Extension: how the complexity and variability of the process bear on the number"
    )
    control_strategy: str | None = Field(
        None, description="Extension: how the control strategy covers the risk left by the number of lots"
    )


class ConcurrentRelease(Record):
    planned: bool = Field(False, description="PPQ lots will be released before the PPQ report is approved")
    rationale: str | None = Field(
        None, description="Why concurrent release is needed, e.g. each autologous lot is one patient's dose"
    )
    lots_meet_release_criteria: bool | None = Field(
        None, description="The protocol commits every concurrently released lot to all release criteria"
    )
    failure_plan: str | None = Field(None, description="What happens to distributed lots if PPQ fails")
    production_limitation: str | None = Field(
        None, description="Extension: the PPQ production limitation that needs PPQ to complete after licensure"
    )


class ProtocolElements(Record):
    operating_conditions: str | None = Field(
        None, description="Where the protocol states the operating conditions, e.g. PPQ-PROT-001 s5"
    )
    data_to_collect: str | None = Field(None, description="Where the protocol states the data to collect")
    tests_and_criteria: str | None = Field(
        None, description="Where the protocol states the tests and acceptance criteria"
    )
    sampling_plan: str | None = Field(None, description="Where the protocol states the sampling plan")
    statistical_methods: str | None = Field(
        None, description="Where the protocol states the statistical methods"
    )
    deviation_handling: str | None = Field(
        None, description="Where the protocol states how deviations are handled"
    )


Prerequisite = bool | str | None


class Prerequisites(Record):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=False, frozen=True, defer_build=True)

    facility_equipment_qualified: Prerequisite = Field(
        None, description="Facility and equipment qualified: true, false, or a document id"
    )
    personnel_trained: Prerequisite = Field(
        None, description="Personnel trained: true, false, or a document id"
    )
    material_sources_verified: Prerequisite = Field(
        None, description="Material sources verified: true, false, or a document id"
    )
    analytical_methods_validated: Prerequisite = Field(
        None, description="Analytical methods validated: true, false, or a document id"
    )
    aseptic_simulation_current: Prerequisite = Field(
        None, description="Aseptic process simulation current: true, false, or a document id"
    )
    hold_times_validated: Prerequisite = Field(
        None, description="Hold times validated: true, false, or a document id"
    )
    shipping_validated: Prerequisite = Field(
        None, description="Shipping validated: true, false, or a document id"
    )
    vector_process_validated: Prerequisite = Field(
        None, description="Vector process validated (ex vivo modified cells): true, false, or a document id"
    )


class Protocol(Record):
    id: Identifier | None = Field(None, description="Protocol id, e.g. PPQ-PROT-001")
    approved_by_quality_unit: bool | None = Field(
        None, description="The protocol is approved by the quality unit (left out: not shown)"
    )
    site: Identifier | None = Field(None, description="Site id where PPQ runs")
    scale: str | None = Field(None, description="e.g. commercial")
    lots_planned: OptionalCount = Field(None, ge=0, description="Number of PPQ lots planned")
    lot_count_justification: LotCountJustification | None = Field(
        None, description="Why the number of lots is enough: approach, text, evidence"
    )
    starting_material: PPQStartingMaterial | None = Field(
        None, description="patient, healthy_donor, mixed or cell_bank"
    )
    starting_material_justification: str | None = Field(
        None, description="Why the PPQ starting material represents commercial manufacture"
    )
    concurrent_release: ConcurrentRelease | None = Field(
        None, description="Concurrent release of PPQ lots: plan, rationale, commitment, failure plan"
    )
    elements: ProtocolElements = Field(
        default_factory=ProtocolElements,
        description="Where the protocol covers each element of the 2011 process validation guidance"
    )
    prerequisites: Prerequisites = Field(
        default_factory=Prerequisites, description="Prerequisites met before PPQ starts"
    )


class PPQReport(Record):
    id: Identifier | None = Field(None, description="PPQ report id, e.g. PPQ-RPT-001")
    status: ReportStatus | None = Field(
        None, description="not_started, in_progress or complete (left out: not shown)"
    )
    conclusion: PPQConclusion | None = Field(
        None, description="validated, not_validated or pending (left out: not shown)"
    )
    open_deviations: Count = Field(0, ge=0, description="Number of PPQ deviations still open")


class PostLicensureCompletion(Record):
    """Extension: the plan to complete PPQ after licensure (May 2026 guidance)."""

    plan: Identifier | None = Field(None, description="Document id of the completion plan or commitment")
    text: str | None = Field(None, description="What remains and how it will be completed and reported")
    lots_remaining: OptionalCount = Field(None, ge=0, description="PPQ lots still to be made after licensure")
    complete_by: IsoDate | None = Field(None, description="Date by which PPQ will be complete (ISO 8601)")


class PPQFile(Record):
    protocol: Protocol | None = Field(None, description="The PPQ protocol")
    report: PPQReport | None = Field(None, description="The PPQ report")
    continued_process_verification: Identifier | None = Field(None, description="Stage 3 CPV plan id")
    post_licensure_completion: PostLicensureCompletion | None = Field(
        None, description="Extension: the plan to complete PPQ after licensure; read by PPQ-008"
    )


# ---------------------------------------------------------------------------- changes.yaml


class Comparability(Record):
    design: StudyDesign | None = Field(None, description="side_by_side, split_source or historical")
    pre_lots: list[Identifier] = Field(default_factory=_empty_list, description="Lot ids made before the change")
    post_lots: list[Identifier] = Field(default_factory=_empty_list, description="Lot ids made after the change")
    attributes: list[str] = Field(
        default_factory=_empty_list, description="Attributes compared (lots.csv attribute keys)"
    )
    method: ComparisonMethod | None = Field(
        None, description="quality_range, equivalence, min_max or descriptive"
    )
    criteria_predefined: bool | None = Field(
        None, description="Method and acceptance criteria were set before the data were seen"
    )
    conclusion: Conclusion = Field(
        Conclusion.PENDING, description="comparable, not_comparable, inconclusive or pending"
    )
    nonclinical_bridge: Identifier | None = Field(
        None, description="Document id of a nonclinical bridging study, if any"
    )
    clinical_bridge: Identifier | None = Field(None, description="Document id of a clinical bridging study, if any")


class Change(Record):
    id: Identifier = Field(description="Change id, e.g. CHG-004")
    title: str | None = Field(None, description="Short description of the change")
    kind: ChangeKind = Field(
        description="process, site, scale, raw_material, equipment, method, vector or specification "
        "(a revision of acceptance criteria)"
    )
    phase: Phase = Field(description="Phase in which the change was implemented")
    risk: ChangeRisk = Field(description="minor, moderate or major")
    risk_assessment: Identifier | None = Field(None, description="Risk assessment document id, e.g. RA-044")
    summary: str | None = Field(
        None, description="Extension: proportionate comparability summary for a minor change"
    )
    from_version: Identifier | None = Field(
        None, description="process_version (lots.csv) before the change, e.g. v1"
    )
    to_version: Identifier | None = Field(None, description="process_version (lots.csv) after the change, e.g. v2")
    affected_attributes: list[str] = Field(
        default_factory=_empty_list, description="Quality attributes the change may affect"
    )
    reporting_category: ReportingCategory | None = Field(
        None, description="Post-approval reporting category: PAS, CBE-30, CBE-0 or annual_report"
    )
    comparability: Comparability | None = Field(None, description="The comparability study of the change")


class ChangesFile(Record):
    changes: list[Change] = Field(
        default_factory=_empty_list, description="Manufacturing changes and their comparability studies"
    )


# ---------------------------------------------------------------------------- waivers.yaml


class Waiver(Record):
    rule: Identifier = Field(description="Rule id, e.g. PPQ-006")
    scope: str | None = Field(None, description="A file, or a record such as 'change CHG-004'")
    justification: str = Field(
        min_length=1,
        description="Why the gap is accepted (required), e.g. 'Agreed at the Type B meeting (minutes MTG-22)'",
    )
    approved_by: str | None = Field(None, description="Who accepted the gap, e.g. Head of Regulatory Affairs")
    expires: IsoDate | None = Field(
        None, description="Date after which the waiver no longer applies (ISO 8601), e.g. 2027-01-31"
    )

    @field_validator("justification")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not has_visible_text(value):
            raise ValueError("a waiver needs a justification: say why the gap is accepted")
        return value


# Letters and symbols that show as blank space (fillers and blank patterns)
_BLANK_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")


def has_visible_text(text: str) -> bool:
    """Whether ``text`` shows anything: not only spaces, controls, format characters (zero-width
    space, joiners, bidi marks, BOM), combining marks or blank glyphs."""
    import unicodedata

    return any(unicodedata.category(ch)[0] not in "CZM" and ch not in _BLANK_GLYPHS for ch in text)


class WaiversFile(Record):
    waivers: list[Waiver] = Field(
        default_factory=_empty_list, description="Accepted gaps, each with a justification"
    )


YAML_FILES: dict[str, type[Record]] = {
    "dossier.yaml": DossierFile,
    "gmp.yaml": GmpFile,
    "specifications.yaml": SpecificationsFile,
    "methods.yaml": MethodsFile,
    "ppq.yaml": PPQFile,
    "changes.yaml": ChangesFile,
    "waivers.yaml": WaiversFile,
}
