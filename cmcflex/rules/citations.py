"""Every source a rule cites, spelled once, and the sources for each kind of release test.

A rule cites these constants (never a literal string), so a guidance is never spelled two ways.
Rules that cover several tests (SPEC-001, SPEC-002, SPEC-011) cite, per finding, the sources of
the test at hand through :func:`sources_for_test`.

Verified against the regulations and guidance pages named; corrections follow the project's
citation review (21 CFR 610.30 was revoked in 2020 by 85 FR 51635; 610.11 has been reserved since
2015 by 80 FR 37971).
"""

from __future__ import annotations

from cmcflex.dossier.models import Modality, TestCategory

# ---------------------------------------------------------------------------- FDA guidances

CBER_2026 = ("FDA/CBER, Flexible Requirements for Cell and Gene Therapies to Advance Innovation "
             "(web page, January 11, 2026)")
FLEX_2026 = ("FDA/CBER, Chemistry, Manufacturing, and Controls Flexibilities for Developing Human Cellular "
             "and Gene Therapy Products for a Biologics License Application, final guidance (May 5, 2026)")
FORMAL_MEETINGS_2023 = ("FDA, Formal Meetings Between the FDA and Sponsors or Applicants of PDUFA Products, "
                        "draft guidance (September 2023)")
PRIOR_KNOWLEDGE_2026 = ("FDA, Leveraging Prior Knowledge in the Development of Human Gene Therapy Products "
                        "Incorporating Genome Editing, draft guidance (June 2026)")
GT_IND_2020 = ("FDA, Guidance for Industry: Chemistry, Manufacturing, and Control (CMC) Information for "
               "Human Gene Therapy Investigational New Drug Applications (INDs) (January 2020)")
SOMATIC_IND_2008 = ("FDA, Guidance for FDA Reviewers and Sponsors: Content and Review of Chemistry, "
                    "Manufacturing, and Control (CMC) Information for Human Somatic Cell Therapy "
                    "Investigational New Drug Applications (INDs) (April 2008)")
RCR_2020 = ("FDA, Guidance for Industry: Testing of Retroviral Vector-Based Human Gene Therapy Products "
            "for Replication Competent Retrovirus During Product Manufacture and Patient Follow-up "
            "(January 2020)")
CAR_T_2024 = ("FDA, Guidance for Industry: Considerations for the Development of Chimeric Antigen "
              "Receptor (CAR) T Cell Products (January 2024)")
POTENCY_ASSURANCE = ("FDA, Potency Assurance for Cellular and Gene Therapy Products, draft guidance "
                     "(December 2023)")
CGT_COMPARABILITY = ("FDA draft guidance, Manufacturing Changes and Comparability for Human Cellular "
                     "and Gene Therapy Products (July 2023)")
PHASE_1_GUIDANCE = "FDA, Guidance for Industry: CGMP for Phase 1 Investigational Drugs (July 2008)"
ASEPTIC_GUIDANCE = ("FDA, Guidance for Industry: Sterile Drug Products Produced by Aseptic Processing — "
                    "Current Good Manufacturing Practice (September 2004)")
PV_2011 = "FDA, Process Validation: General Principles and Practices (2011)"
METHODS_VALIDATION_2015 = ("FDA, Guidance for Industry: Analytical Procedures and Methods Validation for "
                           "Drugs and Biologics (July 2015)")
METHODS_LIFECYCLE_2015 = f"{METHODS_VALIDATION_2015}, life-cycle management of analytical procedures"
DATA_INTEGRITY_2018 = ("FDA, Guidance for Industry: Data Integrity and Compliance With Drug CGMP: "
                       "Questions and Answers (December 2018)")
QUALITY_AGREEMENTS_2016 = ("FDA, Guidance for Industry: Contract Manufacturing Arrangements for Drugs: "
                           "Quality Agreements (November 2016)")
DERIVED_MATERIALS_2024 = ("FDA draft guidance, Considerations for the Use of Human- and Animal-Derived "
                          "Materials in the Manufacture of Cell and Gene Therapy and Tissue-Engineered "
                          "Medical Products (April 2024)")
CGMP_QA_PPC = ("FDA, Questions and Answers on Current Good Manufacturing Practice Regulations: "
               "Production and Process Controls, Q5")
TOWN_HALLS = ("FDA CBER town halls, Gene Therapy Chemistry, Manufacturing, and Controls "
              "(OTAT, September 2022; OTP, April 2023)")

# ---------------------------------------------------------------------------- ICH guidelines

Q2_R2 = "ICH Q2(R2), Validation of Analytical Procedures (2023)"
Q14 = "ICH Q14, Analytical Procedure Development (2023)"
Q5C = "ICH Q5C, Stability Testing of Biotechnological/Biological Products (1995)"
Q5E = ("ICH Q5E, Comparability of Biotechnological/Biological Products Subject to Changes in "
       "Their Manufacturing Process (2004)")
Q6B = ("ICH Q6B, Specifications: Test Procedures and Acceptance Criteria for "
       "Biotechnological/Biological Products (1999)")
Q9_R1 = "ICH Q9(R1), Quality Risk Management (2023)"

# ---------------------------------------------------------------------------- regulations

CFR_312_23_A7 = "21 CFR 312.23(a)(7) (IND chemistry, manufacturing and controls information)"
CFR_610_RELEASE = "21 CFR 610.10, 610.12, 610.13, 610.14 (potency, sterility, purity, identity)"
CFR_610_10 = "21 CFR 610.10 (potency)"
CFR_600_3_S = "21 CFR 600.3(s) (potency defined)"
CFR_610_12 = "21 CFR 610.12 (sterility)"
CFR_610_13 = "21 CFR 610.13 (purity)"
CFR_610_14 = "21 CFR 610.14 (identity)"
CFR_211_165_E = "21 CFR 211.165(e) (accuracy, sensitivity, specificity and reproducibility of test methods)"
CFR_211_194_A2 = "21 CFR 211.194(a)(2) (suitability of testing methods)"
CFR_211_166 = "21 CFR 211.166 (stability testing)"
CFR_610_53 = "21 CFR 610.53 (dating periods for licensed biological products)"
CFR_610_15_A = "21 CFR 610.15(a) (constituent materials, licensed products)"
CFR_210_2_C = "21 CFR 210.2(c)"
CFR_211_22 = "21 CFR 211.22"
CFR_211_22_100 = "21 CFR 211.22, 211.100"
CFR_211_25 = "21 CFR 211.25"
CFR_211_63 = "21 CFR 211.63"
CFR_211_67 = "21 CFR 211.67"
CFR_211_68 = "21 CFR 211.68"
CFR_211_100 = "21 CFR 211.100"
CFR_211_100_A = "21 CFR 211.100(a)"
CFR_211_100_B = "21 CFR 211.100(b) (deviations recorded and justified)"
CFR_211_113_B = "21 CFR 211.113(b)"
CFR_211_160_A = "21 CFR 211.160(a)"
CFR_211_165 = "21 CFR 211.165 (testing and release for distribution)"
CFR_211_186 = "21 CFR 211.186"
CFR_211_188 = "21 CFR 211.188"
CFR_211_192 = "21 CFR 211.192"
CFR_211_192_REVIEW = "21 CFR 211.192 (production record review, investigation of discrepancies)"
CFR_211_42 = "21 CFR 211.42(c)(10)(iv)"
CFR_211_84_D2 = "21 CFR 211.84(d)(2)"
CFR_11_10 = "21 CFR 11.10(a), (d), (e)"
CFR_1271_DONOR = ("21 CFR 1271.45", "21 CFR 1271.50", "21 CFR 1271.60", "21 CFR 1271.80", "21 CFR 1271.85")
CFR_1271_290 = "21 CFR 1271.290 (tracking)"
CFR_1271_90_C1 = "21 CFR 1271.90(c)(1) (FOR AUTOLOGOUS USE ONLY labeling)"
CFR_601_12 = "21 CFR 601.12(b)–(d)"
CFR_601_20_D = "21 CFR 601.20(d)"
CFR_601_12_E = "21 CFR 601.12(e) (comparability protocols)"
CFR_211_170 = "21 CFR 211.170 (reserve samples)"
CFR_600_13 = "21 CFR 600.13 (retention samples)"
CFR_600_21 = "21 CFR 600.21 (time of inspection)"
PHS_351_A2C = "PHS Act 351(a)(2)(C)(i)(II) (facility meets standards to assure safe, pure, potent product)"

# ---------------------------------------------------------------------------- compendia

USP_63 = "USP <63> Mycoplasma Tests"
USP_71 = "USP <71> Sterility Tests"
USP_85 = "USP <85> Bacterial Endotoxins Test"
USP_1043 = "USP <1043> Ancillary Materials for Cell, Gene, and Tissue-Engineered Products"

def section(source: str, where: str) -> str:
    """A source narrowed to a section (``where``: e.g. "IV.C.3" or "3 and 4")."""
    return f"{source}, section {where}"


NO_CITATION = "cmcflex data-consistency check (no regulatory citation)"

# ---------------------------------------------------------------------------- by release test

IND_GUIDANCES = (GT_IND_2020, SOMATIC_IND_2008)

_BY_TEST: dict[str, tuple[str, ...]] = {
    "sterility": (CFR_610_12, USP_71, *IND_GUIDANCES),
    "mycoplasma": (USP_63, *IND_GUIDANCES, CFR_610_13),
    "endotoxin": (USP_85, *IND_GUIDANCES),
    "adventitious_agents": IND_GUIDANCES,
    "replication_competent_virus": (GT_IND_2020, RCR_2020),
    "wild_type_revertant": (GT_IND_2020,),
    "identity": (CFR_610_14, *IND_GUIDANCES),
    "potency": (CFR_610_10, CFR_600_3_S, POTENCY_ASSURANCE),
}
_BY_CATEGORY: dict[TestCategory, tuple[str, ...]] = {
    TestCategory.SAFETY: IND_GUIDANCES,
    TestCategory.IDENTITY: (CFR_610_14, *IND_GUIDANCES),
    TestCategory.POTENCY: (CFR_610_10, CFR_600_3_S, POTENCY_ASSURANCE),
    TestCategory.PURITY: (CFR_610_13, Q6B, GT_IND_2020),
    TestCategory.QUANTITY: IND_GUIDANCES,
    TestCategory.GENERAL: (Q6B, *IND_GUIDANCES),
}


# Products made with a retroviral (gamma-retroviral or lentiviral) vector, which the RCR guidance covers.
RETROVIRAL = frozenset({Modality.LENTIVIRAL_VECTOR, Modality.RETROVIRAL_VECTOR, Modality.CAR_T_AUTOLOGOUS,
                        Modality.CAR_T_ALLOGENEIC, Modality.GENE_MODIFIED_HSC, Modality.GENE_MODIFIED_CELLS})


def sources_for_test(test_type: str | None, category: TestCategory | None,
                     modality: Modality | None = None) -> tuple[str, ...]:
    """The sources for one release test: by its canonical type, else by its category, else the
    IND CMC guidances (which recommend the release testing of every CGT product). The RCR
    guidance is cited for a replication-competent virus test only where the vector is retroviral
    (or the modality is not given)."""
    if test_type in _BY_TEST:
        found = _BY_TEST[test_type]
        if modality is not None and modality not in RETROVIRAL:
            found = tuple(c for c in found if c != RCR_2020)
        return found
    if category is not None and category in _BY_CATEGORY:
        return _BY_CATEGORY[category]
    return IND_GUIDANCES


def union(*groups: tuple[str, ...]) -> tuple[str, ...]:
    """The sources of several groups, each once, in first-seen order."""
    return tuple(dict.fromkeys(c for g in groups for c in g))


def release_test_sources() -> tuple[str, ...]:
    """Every source of the release-test table, each once, the 21 CFR 610 sections left to
    :data:`CFR_610_RELEASE` (the union a multi-test rule cites)."""
    return tuple(c for c in union(*_BY_TEST.values(), *_BY_CATEGORY.values())
                 if not c.startswith("21 CFR 610.1"))


# ---------------------------------------------------------------------------- by GMP control

CONTROL_SOURCES: dict[str, tuple[str, ...]] = {
    # GMP-003 and GMP-005 cover two controls each: a finding cites the sections of its own.
    "written_procedures": (CFR_211_100, section(PHASE_1_GUIDANCE, "V.E")),
    "batch_records": (CFR_211_186, CFR_211_188, section(PHASE_1_GUIDANCE, "V.E")),
    "deviation_management": (CFR_211_100_B, CFR_211_192),
    "oos_investigation": (CFR_211_192,),
}


def safety_test_sources() -> tuple[str, ...]:
    """The sources of every safety test in the table, each once."""
    from cmcflex.dossier.vocabulary import TEST_CATEGORY

    return union(*(v for t, v in _BY_TEST.items() if TEST_CATEGORY.get(t) is TestCategory.SAFETY))


def method_sources(phase_1: bool, categories: set[TestCategory | None], test_types: list[str],
                   compendial: bool) -> tuple[str, ...]:
    """SPEC-011 for one method: analytical validation, the CGMP basis of the phase (part 211 does
    not apply to phase 1 material, 21 CFR 210.2(c)), the potency guidance for a potency assay and
    the compendial chapter for a compendial method."""
    cgmp = (section(PHASE_1_GUIDANCE, "V.F.1"),) if phase_1 else (CFR_211_165_E, CFR_211_194_A2)
    potency = (POTENCY_ASSURANCE,) if TestCategory.POTENCY in categories else ()
    chapters = tuple(c for t in test_types for c in _BY_TEST.get(t, ()) if c.startswith("USP ")) if compendial else ()
    return union((Q2_R2, Q14), cgmp, potency, chapters)
