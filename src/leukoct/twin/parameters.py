"""Parameters of the digital twin's generative model, with their sources.

Numbers marked *Table 1*, *Methods* or *Results* are taken from Ryu et al.;
the others are plausible choices where the paper is silent.  The whole
dictionary is written to ``truth/parameters.yaml`` with every study, so a
user can see what generated the data.
"""

from __future__ import annotations

import copy
from typing import Any

#: Identified and kept subjects of the paper's flowchart (Figure 1), and how
#: the excluded ones split by reason.  The paper gives the totals only; the
#: per-reason splits are our choice.  'registration_error' is *not* planted as
#: a manifest flag: those subjects get a large FLAIR<-CT pose offset and are
#: expected to fail registration QC downstream.
FLOWCHART: dict[str, dict[str, Any]] = {
    "development": {
        "identified": 876, "kept": 482,
        "excluded": {"recurrent_stroke": 38, "large_infarct": 231, "motion_artifact": 41,
                     "registration_error": 14, "incomplete_ct": 22, "contrast_ct": 19,
                     "hemorrhage_or_tumor": 29},
    },
    "external": {
        "identified": 411, "kept": 390,
        "excluded": {"motion_artifact": 6, "registration_error": 4, "incomplete_ct": 4,
                     "contrast_ct": 3, "hemorrhage_or_tumor": 4},
    },
    "us": {"identified": 100, "kept": 100, "excluded": {}},
    "clinical": {
        "identified": 1180, "kept": 867,
        "excluded": {"ct_not_available": 121, "hemorrhage_or_tumor": 98,
                     "incomplete_ct": 37, "motion_artifact": 57},
    },
}

#: Demographics and acquisition marginals per cohort (Table 1, Methods, Results).
COHORTS: dict[str, dict[str, Any]] = {
    "development": {
        "prefix": "DEV", "cohort": "train", "sites": ["DEV-H1", "DEV-H2", "DEV-H3", "DEV-H4"],
        "age_mean": 68.1, "age_sd": 12.7, "female": 0.332, "prior_stroke": 0.20,
        "interval_h_median": 3.30, "interval_h_iqr": [1.04, 8.18],
        "wmh_ml_median": 9.18, "wmh_ml_iqr": [4.62, 18.5],
        "infarct_ml_median": 0.86, "infarct_ml_iqr": [0.16, 2.37],
        # Kept subjects have cores <= 5 mL: a log-normal truncated at 5 mL with
        # these parameters gives median 0.78 (IQR 0.29-1.84) mL, near Table 1.
        "infarct_kept_lognormal": {"median_ml": 1.2, "sigma_log": 1.7},
        "ct_vendor": {"SIEMENS": 262, "PHILIPS": 208, "CANON": 11, "": 1},
        "mri_vendor": {"PHILIPS": 273, "GE": 127, "SIEMENS": 82},
        "field_strength_t": {"3.0": 415, "1.5": 67},
        "slice_class": {"<5": 49, "5": 432, ">5": 1},
        "kvp": {"120": 443, "100": 22, "110": 10, "130": 7},
        "paired": True,
    },
    "external": {
        "prefix": "EXT", "cohort": "external",
        "sites": ["EXT-H1", "EXT-H2", "EXT-H3", "EXT-H4", "EXT-H5"],
        "age_mean": 69.4, "age_sd": 13.5, "female": 0.474, "prior_stroke": 0.21,
        "interval_h_median": 2.43, "interval_h_iqr": [1.02, 7.04],
        "wmh_ml_median": 10.23, "wmh_ml_iqr": [4.56, 22.6],
        "infarct_ml_median": 1.68, "infarct_ml_iqr": [0.39, 8.25],
        "ct_vendor": {"SIEMENS": 185, "GE": 91, "PHILIPS": 81, "CANON": 28, "": 5},
        "mri_vendor": {"PHILIPS": 325, "SIEMENS": 39, "GE": 24, "CANON": 1, "": 1},
        "field_strength_t": {"3.0": 369, "1.5": 20, "": 1},
        "slice_class": {"<5": 238, "5": 137, ">5": 14},
        "kvp": {"120": 282, "100": 48, "110": 20, "130": 25, "140": 15},
        "paired": True,
        "manual_mask_fraction": 40 / 390,
    },
    "us": {
        "prefix": "US", "cohort": "us", "sites": ["US-T1"],
        "age_mean": 64.6, "age_sd": 15.2, "age_range": [24, 90], "female": 0.42,
        "prior_stroke": 0.10,
        "wmh_ml_median": 7.0, "wmh_ml_iqr": [3.0, 16.0],
        "ct_vendor": {"SIEMENS": 54, "GE": 40, "CANON": 5, "": 1},
        "slice_mm": {"5.0": 50, "2.5": 38, "3.0": 7, "2.0": 5},
        "kvp": {"120": 88, "100": 6, "140": 6},
        "paired": False,
    },
    "clinical": {
        "prefix": "CLN", "cohort": "clinical", "sites": ["CLN-H1", "CLN-H2"],
        "age_mean": 69.3, "age_sd": 13.0, "female": 0.392, "prior_stroke": 0.18,
        "wmh_ml_median": 11.2, "wmh_ml_iqr": [6.2, 20.5],
        "infarct_ml_median": 1.5, "infarct_ml_iqr": [0.3, 7.0],
        "ct_vendor": {"SIEMENS": 48, "GE": 30, "PHILIPS": 17, "CANON": 5},
        "slice_class": {"<5": 35, "5": 62, ">5": 3},
        "kvp": {"120": 85, "100": 8, "140": 7},
        "paired": False,
    },
}

#: Thickness drawn within a Table 1 slice-thickness class (mm).
SLICE_CLASS_MM: dict[str, dict[str, float]] = {
    "<5": {"2.5": 0.45, "3.0": 0.35, "4.0": 0.10, "2.0": 0.10},
    "5": {"5.0": 1.0},
    ">5": {"6.0": 0.7, "7.0": 0.3},
}

#: Vascular risk factors (prevalences typical of the Korean CRCS-K registry).
RISK_FACTORS: dict[str, float] = {
    "hypertension": 0.66, "diabetes": 0.32, "hyperlipidemia": 0.42, "smoking": 0.24,
    "atrial_fibrillation": 0.20, "coronary_artery_disease": 0.10,
}

#: Log-normal model of the true LA volume: log V = log(cohort median) +
#: effects (centred on the cohort means) + residual.  The age effect gives
#: about +0.44 mL per year at the clinical cohort's median (Results).
LA_MODEL: dict[str, float] = {
    "age_log_per_year": 0.037,
    "prior_stroke_log": 0.30,
    "atrial_fibrillation_log": 0.25,
    "hypertension_below_70_log": 0.35,
    "hypertension_age_cut": 70.0,
    "min_ml": 0.3, "max_ml": 120.0,
}

#: Infarct volumes (mL) of subjects excluded for a large (>5 mL) core.
LARGE_INFARCT: dict[str, float] = {"median_ml": 18.0, "sigma_log": 0.9, "threshold_ml": 5.0}

#: Fazekas grade: log-volume cut points plus rater noise (log scale).  Tuned
#: so that Pearson r(log volume, grade) is about 0.85 (the paper reports
#: r = 0.83-0.89 against predicted volume).  Against the raw, right-skewed
#: volume a 4-level grade cannot exceed r ~ 0.7, which the twin does not hide.
FAZEKAS: dict[str, Any] = {"cuts_ml": [3.0, 10.0, 25.0], "rater_noise_log": 0.35}

#: Ordinal 3-month mRS model of the clinical cohort (Table 3): log-odds of
#: LA-volume quintiles 2-5 (adjusted ORs 1.16, 1.49, 1.59, 1.64), NIHSS, age.
#: Death (mRS 6) among mRS >= 5 is drawn from a separate model that ignores
#: LA, which breaks the proportional-odds assumption unless 5 and 6 merge.
MRS_MODEL: dict[str, Any] = {
    "quintile_log_or": [0.0, 0.148, 0.399, 0.464, 0.495],
    "nihss_log_or": 0.17, "age_log_or_per_year": 0.035, "female_log_or": 0.15,
    "diabetes_log_or": 0.20, "revascularization_log_or": -0.30,
    "cutpoints": [-0.45, 0.87, 1.54, 2.2, 3.12],
    "death_intercept": -1.2, "death_age_per_year": 0.09, "death_nihss": 0.10,
}

#: Admission NIHSS: log-normal, shifted by one point.
NIHSS: dict[str, float] = {"log_mean": 1.2, "log_sd": 0.95}

#: Simulated imaging: Hounsfield units, vendor effects, FLAIR contrast.
CT: dict[str, Any] = {
    "hu": {"air": -1000.0, "scalp": 40.0, "bone_cortical": 1150.0, "bone_diploe": 650.0,
           "csf": 7.0, "gm": 38.0, "wm": 28.0, "infarct": 18.0, "hemorrhage": 68.0,
           "enhanced_vessel": 160.0},
    # LA hypoattenuation of the lesion tissue below the subject's white matter,
    # HU, drawn per subject.  Peng et al., BMC Med Imaging 2024
    # (doi:10.1186/s12880-024-01340-2) measured MRI-confirmed LA on noncontrast
    # CT at 17.53 +/- 4.67 HU (53 lesions), indistinguishable from acute
    # infarct (18.90 HU; the twin's infarct: 18 HU): ~10 HU below the twin's
    # 28 HU white matter.  The draw is the faint half of Peng's +/-1 SD range,
    # their lesions having been chosen for being visible.  Thin caps and
    # punctate foci still look faint on the CT, as on real CT: the scan's
    # 5 mm slices and 1.5 mm pixels average them with the white matter
    # around them (``scan``).  Until 2026-12-02 this was 3-5 HU, unsourced,
    # which put LA at 23-25 HU: harder than real CT.
    "lesion_contrast_hu": [6.0, 12.0],
    "vendor": {  # offset HU, noise SD at 5 mm (HU), noise correlation (mm)
        "SIEMENS": {"offset": 0.0, "noise_sd": 3.2, "smooth_mm": 0.8},
        "GE": {"offset": 1.5, "noise_sd": 3.6, "smooth_mm": 0.6},
        "PHILIPS": {"offset": -1.0, "noise_sd": 3.4, "smooth_mm": 0.7},
        "CANON": {"offset": 2.0, "noise_sd": 3.0, "smooth_mm": 0.9},
        "": {"offset": 0.5, "noise_sd": 3.5, "smooth_mm": 0.7},
    },
    "fov_mm": 240.0, "z_range_mm": [-78.0, 98.0],
    "pose_rot_deg_sd": [8.0, 2.5, 2.5], "pose_shift_mm_sd": 6.0,
}

FLAIR: dict[str, Any] = {
    "signal": {"air": 0.0, "scalp": 0.85, "bone": 0.05, "csf": 0.08, "gm": 0.78, "wm": 0.62,
               "lesion": 1.15, "infarct": 0.82, "hemorrhage": 0.45},
    "scale": 1000.0, "fov_mm": 230.0, "slice_mm": 5.0, "z_range_mm": [-70.0, 90.0],
    "noise_sd": {"3.0": 0.022, "1.5": 0.035, "": 0.03},
    "bias_amplitude": {"3.0": 0.20, "1.5": 0.10, "": 0.15},
    "vendor_gain": {"PHILIPS": 1.0, "GE": 1.15, "SIEMENS": 0.9, "CANON": 1.05, "": 1.0},
    "pose_rot_deg_sd": 3.0, "pose_shift_mm_sd": 5.0,
    "nonlinear_mm": [0.5, 1.5],
    "registration_error_rot_deg": [18.0, 30.0], "registration_error_shift_mm": [25.0, 40.0],
    "registration_error_nonlinear_mm": [4.0, 6.0],
}

#: Simulated "validated WMH software" and expert manual CT mask.  The
#: software's published DSC, 0.722 (seed 002, SE-UNet, external sets), is
#: against a *human* criterion standard, and humans agree with each other at
#: only 0.744 (seed 002, five raters): a human mask is itself off the truth.
#: ``benchmarks/software_dice_calibration.py`` finds, with the twin's own
#: segmentation model (:func:`leukoct.twin.lesions.perturbed_copy`), the
#: accuracies against truth that reproduce both published agreements: a
#: FLAIR rater at 0.815 and the software at 0.787 (tests/test_twin_lesions.py
#: checks both agreements).  Taking 0.722 as Dice against the truth (as the
#: twin did until 2026-12) made the paper's labels noisier than its data.
SEGMENTATION: dict[str, Any] = {
    "software_dice_mean": 0.79, "software_dice_sd": 0.06, "software_volume_log_sd": 0.12,
    "flair_rater_dice": 0.815,
    "manual_dice_mean": 0.62, "manual_dice_sd": 0.08, "manual_volume_log_sd": 0.25,
}

ANATOMY: dict[str, Any] = {
    "head_scale_sd": 0.04, "deformation_mm": [1.5, 4.0], "deformation_wavelength_mm": [60, 160],
    "ventricle_growth_mm_per_year_over_45": 0.08, "sulcal_csf_per_year_over_40": 0.010,
    "skull_mm": [5.0, 8.0], "scalp_mm": [4.0, 7.0], "subarachnoid_mm": 1.5,
}


def all_parameters() -> dict[str, Any]:
    """Every parameter of the generative model, as one YAML-ready dict."""
    return copy.deepcopy({
        "flowchart": FLOWCHART, "cohorts": COHORTS, "slice_class_mm": SLICE_CLASS_MM,
        "risk_factors": RISK_FACTORS, "la_model": LA_MODEL, "large_infarct": LARGE_INFARCT,
        "fazekas": FAZEKAS, "mrs_model": MRS_MODEL, "nihss": NIHSS, "ct": CT, "flair": FLAIR,
        "segmentation": SEGMENTATION, "anatomy": ANATOMY,
    })
