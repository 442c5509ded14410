"""Baseline tables of the study: Table 1, Table S1 and Table S3 (via tableone).

The tables are computed from the curated cohort (analysed subjects only)
with the tests the paper names: Student's t-test for normally distributed
variables, the Wilcoxon rank-sum test for skewed ones and the chi-square
test for proportions (Methods, Statistical analysis).  Formats follow the
paper: mean ± SD, median [Q1, Q3], n (%).  Missing values are shown, never
dropped: vendors missing in the data appear as ``unknown`` and in the
footnote.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats
from tableone import TableOne

from leukoct.paper import paper_table1

#: Labels of the analysis variables (the paper's wording).
LABELS: dict[str, str] = {
    "age": "Age, years",
    "female": "Sex, women",
    "ct_mri_interval_h": "Time interval between CT and FLAIR, hours",
    "prior_stroke": "Previous stroke",
    "wmh_flair_ml": "WMH volume on FLAIR, mL",
    "infarct_volume_ml": "Infarct volume on DWI, mL",
    "slice_class": "Slice thickness of CT",
    "ct_vendor": "CT vendor",
    "mri_vendor": "MRI vendor",
    "mri_field_strength_t": "MRI field strength, T",
    "ct_slice_thickness_mm": "CT slice thickness, mm",
    "ct_kvp": "CT tube voltage, kVp",
    "ct_inplane_mm": "CT in-plane pixel spacing, mm",
    "bmi": "Body mass index, kg/m²",
    "hypertension": "Hypertension",
    "diabetes": "Diabetes mellitus",
    "hyperlipidemia": "Hyperlipidemia",
    "smoking": "Current smoking",
    "atrial_fibrillation": "Atrial fibrillation",
    "coronary_artery_disease": "Coronary artery disease",
    "revascularization": "Revascularization therapy",
    "nihss": "Admission NIHSS score",
    "mrs_3m": "3-month mRS score",
}
#: Vendor display names of Table 1.
VENDOR_NAMES: dict[str, str] = {"GE": "GE Medical Systems", "SIEMENS": "Siemens",
                                "PHILIPS": "Philips", "CANON": "Toshiba (Canon Medical Systems)",
                                "unknown": "unknown"}
#: Dataset labels, as in the paper.
GROUP_LABELS: dict[str, str] = {"development": "Training and internal validation",
                                "external": "External test", "us": "US population",
                                "clinical": "Clinical validation"}

def slice_class(thickness_mm: pd.Series) -> pd.Series:
    """Table 1's CT slice-thickness classes: ``<5``, ``5``, ``>5`` (mm); NaN stays NaN."""
    t = pd.to_numeric(thickness_mm, errors="raise").astype(float)
    labels = np.select([t < 5.0, t > 5.0, t == 5.0], ["<5", ">5", "5"], default="")
    return pd.Series(labels, index=t.index, dtype=object).where(t.notna())


_BINARY = ("female", "prior_stroke", "hypertension", "diabetes", "hyperlipidemia", "smoking",
           "atrial_fibrillation", "coronary_artery_disease", "revascularization")


def rank_sum(*groups: np.ndarray) -> float:
    """Two-sided Wilcoxon rank-sum (Mann-Whitney U) p value of two groups."""
    if len(groups) != 2:
        raise ValueError(f"the rank-sum test compares two groups, got {len(groups)}")
    return float(stats.mannwhitneyu(groups[0], groups[1], alternative="two-sided").pvalue)


def chi_square(*level_counts: Sequence[int]) -> float:
    """Pearson chi-square p value of a contingency table (Yates' continuity
    correction on 2 × 2 tables, as R's ``chisq.test``).

    Called by tableone with one sequence per level of the variable, holding
    that level's count in each group.  tableone itself would switch to
    Fisher's exact test on small expected counts; the paper names the
    chi-square test, so this keeps it at every size.
    """
    counts = np.asarray(level_counts, dtype=float)
    counts = counts[counts.sum(axis=1) > 0]
    if counts.shape[0] < 2 or counts.shape[1] < 2:
        return float("nan")
    return float(stats.chi2_contingency(counts, correction=True).pvalue)


#: Test names as the tables print them.
TEST_NAMES: dict[str, str] = {"rank_sum": "Wilcoxon rank-sum", "chi_square": "Chi-square",
                              "Pooled T-test": "Student's t-test"}


def _order(data: pd.DataFrame, wanted: dict[str, list]) -> dict[str, list]:
    """tableone's ``order`` restricted to levels present (it warns otherwise)."""
    return {c: [v for v in levels if (data[c] == v).any()]
            for c, levels in wanted.items() if c in data}


def analysis_frame(table: pd.DataFrame, curated: pd.DataFrame,
                   extra: pd.DataFrame | None = None) -> pd.DataFrame:
    """Analysed subjects with the baseline tables' variables.

    Parameters
    ----------
    table
        The manifest (:func:`leukoct.manifest.load_manifest`).
    curated
        :func:`leukoct.curation.apply_criteria` of the same manifest; only
        subjects with status ``included`` (or ``pending``) are kept.
    extra
        Per-subject columns measured from the images, indexed by subject
        id (e.g. ``wmh_flair_ml``, ``ct_inplane_mm``).

    Returns
    -------
    pandas.DataFrame
        One row per analysed subject, indexed by subject id, with ``group``
        and the variables of :data:`LABELS` that the manifest provides.
    """
    keep = curated[curated["status"].isin(["included", "pending"])]
    frame = table.set_index("subject_id").loc[keep["subject_id"]].copy()
    frame["group"] = keep.set_index("subject_id")["group"]
    if extra is not None:
        frame = frame.join(extra, how="left")
    frame["female"] = frame["sex"].map({"F": True, "M": False})
    frame["slice_class"] = slice_class(frame["ct_slice_thickness_mm"]).map(
        {"<5": "< 5 mm", "5": "5 mm", ">5": "> 5 mm"})
    for column in ("ct_vendor", "mri_vendor"):
        frame[column] = frame[column].fillna("unknown").replace("", "unknown").map(
            lambda v: VENDOR_NAMES.get(v, v))
    # CT-only datasets have no MRI: not a missing value.
    frame.loc[frame["group"].isin(["us", "clinical"]), "mri_vendor"] = "no MRI"
    for column in _BINARY:
        if column in frame:
            frame[column] = frame[column].map({True: "yes", False: "no"})
    return frame


def _tableone(data: pd.DataFrame, **kwargs: object) -> TableOne:
    """tableone, without the deprecation warning its pandas idiom raises on
    pandas 3 (tableone 0.9.6 sets a row with a partial MultiIndex key)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Setting a new row on a DataFrame with a "
                                "MultiIndex")
        return TableOne(data, **kwargs)  # type: ignore[arg-type]


_MEAN_SD = re.compile(r"^(-?[\d.]+) \(([\d.]+)\)$")
_MEDIAN_IQR = re.compile(r"^(-?[\d.]+) \[(-?[\d.]+),(-?[\d.]+)\]$")


def paper_format(cell: str, statistic: str) -> str:
    """tableone's cell in the paper's format: ``68.1 (12.7)`` → ``68.1 ± 12.7``,
    ``3.30 [1.04,8.18]`` → ``3.30 (1.04–8.18)``; other cells unchanged."""
    if statistic == "mean_sd" and (m := _MEAN_SD.match(cell)):
        return f"{m[1]} ± {m[2]}"
    if statistic == "median_iqr" and (m := _MEDIAN_IQR.match(cell)):
        return f"{m[1]} ({m[2]}–{m[3]})"
    return cell


def _flatten(t: TableOne, blank_p: Sequence[str] = ()) -> pd.DataFrame:
    out = t.tableone.copy().fillna("").astype(str)
    # The paper's formats: mean ± SD and median (IQR).
    labels = out.index.get_level_values(0)
    for suffix, statistic, new in ((", mean (SD)", "mean_sd", ", mean ± SD"),
                                   (", median [Q1,Q3]", "median_iqr", ", median (IQR)")):
        rows = labels.str.endswith(suffix)
        out.loc[rows] = out.loc[rows].map(lambda c, s=statistic: paper_format(c, s))
        out = out.rename(index=lambda v, a=suffix, b=new: v.replace(a, b), level=0)
        labels = out.index.get_level_values(0)
    out.columns = [c[1] if isinstance(c, tuple) else c for c in out.columns]
    out = out.reset_index()
    out.columns = ["characteristic", "level", *out.columns[2:]]
    if "Test" in out:
        out["Test"] = out["Test"].replace(TEST_NAMES)
    if "P-Value" in out:
        # One p value per characteristic, on its first row (tableone repeats
        # nothing but leaves blanks; keep them blank, and drop p values the
        # paper does not report).
        for label in blank_p:
            out.loc[out["characteristic"].str.startswith(label), ["P-Value", "Test"]] = ""
    return out.set_index(["characteristic", "level"])


#: Table 1's categorical rows the paper describes without a test.
PARTITIONED: tuple[str, ...] = ("slice_class", "ct_vendor", "mri_vendor")


def table1(frame: pd.DataFrame) -> pd.DataFrame:
    """Table 1: training/internal vs external test, with the paper's tests.

    Age: Student's t-test; sex and previous stroke: chi-square; CT-MRI
    interval, WMH and infarct volumes: rank-sum.  Slice thickness and
    vendors are described without a test, as in the paper.  The tests'
    unrounded p values are in ``attrs["p_values"]`` (column -> p), for the
    claims ledger (:func:`leukoct.ledger.table1_p_values`).
    """
    data = frame[frame["group"].isin(["development", "external"])].copy()
    data["group"] = data["group"].map(GROUP_LABELS)
    columns = ["age", "female", "ct_mri_interval_h", "prior_stroke", "wmh_flair_ml",
               "infarct_volume_ml", "slice_class", "ct_vendor", "mri_vendor"]
    columns = [c for c in columns if c in data and data[c].notna().any()]
    skewed = [c for c in ("ct_mri_interval_h", "wmh_flair_ml", "infarct_volume_ml") if c in columns]
    categorical = [c for c in columns if c in ("female", "prior_stroke", "slice_class",
                                               "ct_vendor", "mri_vendor")]
    tests = {**{c: rank_sum for c in skewed},
             **{c: chi_square for c in ("female", "prior_stroke") if c in columns}}
    t = _tableone(data, columns=columns, categorical=categorical, nonnormal=skewed,
                 groupby="group", pval=True, htest_name=True, htest=tests,
                 ttest_equal_var=True, overall=False, missing=True, decimals=_decimals(columns),
                 limit={c: 1 for c in ("female", "prior_stroke") if c in columns},
                 order=_order(data, {"female": ["yes"], "prior_stroke": ["yes"],
                                     "slice_class": ["< 5 mm", "5 mm", "> 5 mm"],
                                     "ct_vendor": list(VENDOR_NAMES.values()),
                                     "mri_vendor": list(VENDOR_NAMES.values())}),
                 rename={c: LABELS[c] for c in columns})
    out = _flatten(t, blank_p=[LABELS[c] for c in ("slice_class", "ct_vendor", "mri_vendor")
                               if c in columns])
    groups = [GROUP_LABELS[g] for g in ("development", "external") if GROUP_LABELS[g] in out]
    table = out[["Missing", *groups, "P-Value", "Test"]]
    # tableone keys its tests by the input column (before ``rename``).
    tested = t.htest_table["P-Value"]
    table.attrs["p_values"] = {c: float(tested[c]) for c in columns
                               if c in tested.index and c not in PARTITIONED
                               and pd.notna(tested[c])}
    return table


def table_s1(frame: pd.DataFrame) -> pd.DataFrame:
    """Table S1: imaging parameters per dataset (development, external, US)."""
    data = frame[frame["group"].isin(["development", "external", "us"])].copy()
    data["group"] = data["group"].map(GROUP_LABELS)
    data["mri_field_strength_t"] = data["mri_field_strength_t"].map(
        lambda v: "no MRI" if pd.isna(v) else f"{v:.1f} T")
    data["ct_kvp"] = data["ct_kvp"].map(lambda v: "unknown" if pd.isna(v) else f"{v:.0f}")
    data["ct_slice_thickness_mm"] = data["ct_slice_thickness_mm"].map(
        lambda v: "unknown" if pd.isna(v) else f"{v:g} mm")
    columns = ["ct_vendor", "ct_kvp", "ct_slice_thickness_mm", "slice_class", "mri_vendor",
               "mri_field_strength_t"]
    continuous = [c for c in ("ct_inplane_mm",) if c in data and data[c].notna().any()]
    columns += continuous
    t = _tableone(data, columns=columns, categorical=[c for c in columns if c not in continuous],
                 continuous=continuous, nonnormal=continuous, groupby="group", overall=False,
                 missing=True, decimals={"ct_inplane_mm": 2},
                 order=_order(data, {"slice_class": ["< 5 mm", "5 mm", "> 5 mm"]}),
                 rename={c: LABELS[c] for c in columns})
    out = _flatten(t)
    order = [GROUP_LABELS[g] for g in ("development", "external", "us")
             if GROUP_LABELS[g] in out.columns]
    return out[["Missing", *order]]


def table_s3(frame: pd.DataFrame) -> pd.DataFrame:
    """Table S3: baseline characteristics of the clinical validation cohort."""
    data = frame[frame["group"] == "clinical"].copy()
    columns = ["age", "female", "bmi", "hypertension", "diabetes", "hyperlipidemia", "smoking",
               "atrial_fibrillation", "coronary_artery_disease", "prior_stroke", "nihss",
               "infarct_volume_ml", "revascularization", "mrs_3m"]
    columns = [c for c in columns if c in data and data[c].notna().any()]
    binary = [c for c in columns if c in _BINARY]
    data["mrs_3m"] = data["mrs_3m"].astype("Int64").astype(str).replace("<NA>", np.nan)
    t = _tableone(data, columns=columns, categorical=[*binary, "mrs_3m"],
                 nonnormal=[c for c in ("nihss", "infarct_volume_ml") if c in columns],
                 missing=True, decimals=_decimals(columns), limit={c: 1 for c in binary},
                 order=_order(data, {**{c: ["yes"] for c in binary},
                                     "mrs_3m": [str(v) for v in range(7)]}),
                 rename={c: LABELS[c] for c in columns})
    return _flatten(t)


def _decimals(columns: Sequence[str]) -> dict[str, int]:
    places = {"age": 1, "ct_mri_interval_h": 2, "wmh_flair_ml": 2, "infarct_volume_ml": 2,
              "bmi": 1, "nihss": 0}
    return {c: places[c] for c in columns if c in places}


def missing_footnote(frame: pd.DataFrame, columns: Sequence[str] = ("ct_vendor", "mri_vendor")
                     ) -> str:
    """The paper's footnote on missing vendor data, computed from the data."""
    parts = []
    for column in columns:
        counts = frame[frame[column] == "unknown"].groupby("group").size()
        if counts.empty:
            continue
        where = " and ".join(f"{n} patient{'s' if n > 1 else ''} in the "
                             f"{GROUP_LABELS[g].lower()} dataset" for g, n in counts.items())
        parts.append(f"{LABELS[column]}: data were missing in {where}.")
    return " ".join(parts)


def paper_comparison(t1: pd.DataFrame) -> pd.DataFrame:
    """This run's Table 1 beside the paper's, row by row in the paper's order.

    Parameters
    ----------
    t1
        :func:`table1`.

    Returns
    -------
    pandas.DataFrame
        Index: the paper's row labels; columns ``paper`` and ``this run`` for
        each dataset and for the p value.
    """
    levels = {"F": "yes", "True": "yes", "<5": "< 5 mm", "5": "5 mm", ">5": "> 5 mm",
              **VENDOR_NAMES}
    ours = t1.reset_index()
    rows = []
    for _, spec in paper_table1().iterrows():
        variable = "female" if spec["variable"] == "sex" else spec["variable"]
        label = LABELS[variable]
        level = levels.get(spec["level"], "") if spec["level"] else ""
        match = ours[ours["characteristic"].str.startswith(label + ",")
                     & (ours["level"] == level)]
        found = match.iloc[0] if len(match) else None
        # The p value sits on the variable's first row.
        first = ours[ours["characteristic"].str.startswith(label + ",")]
        p_value = first["P-Value"].iloc[0] if len(first) and "P-Value" in first else ""

        def cell(column: str, found=found, level=level, first=first) -> str:
            if found is not None and column in found:
                return str(found[column])
            # A categorical level nobody has: tableone leaves it out.
            return "0 (0.0)" if level and len(first) else ""

        rows.append({"characteristic": spec["label"],
                     ("Training and internal validation", "paper"): spec["development"],
                     ("Training and internal validation", "this run"):
                         cell(GROUP_LABELS["development"]),
                     ("External test", "paper"): spec["external"],
                     ("External test", "this run"): cell(GROUP_LABELS["external"]),
                     ("p value", "paper"): spec["p_value"],
                     ("p value", "this run"): p_value if spec["p_value"] else ""})
    table = pd.DataFrame(rows).set_index("characteristic")
    table.columns = pd.MultiIndex.from_tuples(table.columns)
    return table
