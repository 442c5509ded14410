"""What a study holds: counts per cohort, site and scanner vendor."""

from __future__ import annotations

import numpy as np
import pandas as pd

from leukoct.schema import COHORTS


def cohort_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Subjects per cohort with the number that have each image type.

    Returns one row per cohort in study order and a final ``all`` row.
    """
    present = pd.DataFrame({
        "cohort": pd.Categorical(table["cohort"], categories=COHORTS, ordered=True),
        "subjects": 1,
        "sites": table["site"],
        "CT": table["ct_path"].notna().astype(int),
        "FLAIR": table["flair_path"].notna().astype(int),
        "WMH mask": table["wmh_mask_path"].notna().astype(int),
        "manual mask": table["manual_mask_path"].notna().astype(int),
    })
    counts = present.groupby("cohort", observed=True).agg(
        subjects=("subjects", "sum"), sites=("sites", "nunique"), CT=("CT", "sum"),
        FLAIR=("FLAIR", "sum"), **{"WMH mask": ("WMH mask", "sum"),
                                   "manual mask": ("manual mask", "sum")})
    total = counts.sum(numeric_only=True)
    total["sites"] = table["site"].nunique()
    counts.loc["all"] = total
    counts.index = counts.index.astype(str)
    return counts.astype(int).reset_index().rename(columns={"index": "cohort"})


def crosstab(table: pd.DataFrame, column: str, missing: str = "unknown") -> pd.DataFrame:
    """Subjects per cohort (rows) and value of ``column`` (columns), with totals.

    Missing values are counted under ``missing`` rather than dropped.
    """
    values = table[column].astype("object").where(table[column].notna(), missing)
    cohort = pd.Categorical(table["cohort"], categories=COHORTS, ordered=True)
    out = pd.crosstab(cohort, values, margins=True, margins_name="all", dropna=False)
    out.index = out.index.astype(str)
    out.index.name, out.columns.name = "cohort", column
    return out.loc[[i for i in [*COHORTS, "all"] if i in out.index]]


def pick_example(table: pd.DataFrame, subject_id: str | None = None) -> str:
    """The subject to show as an example.

    ``subject_id`` when given (it must have a CT, a FLAIR and a WMH mask);
    otherwise the paired-cohort subject with the largest WMH mask volume,
    which makes the lesions visible on both modalities.
    """
    from leukoct.images import load_volume, mask_volume_ml

    paired = table.dropna(subset=["ct_path", "flair_path", "wmh_mask_path"])
    if subject_id is not None:
        if subject_id not in set(paired["subject_id"]):
            raise ValueError(f"example_subject {subject_id!r} is not a subject with CT, FLAIR "
                             "and WMH mask in the manifest; choose another in the profile")
        return subject_id
    if paired.empty:
        raise ValueError("the manifest has no subject with CT, FLAIR and WMH mask to show")
    volumes = {}
    for row in paired.itertuples():
        mask = load_volume(row.wmh_mask_path, dtype=np.uint8)
        volumes[row.subject_id] = mask_volume_ml(mask.data, mask.spacing)
    return max(sorted(volumes), key=volumes.__getitem__)
