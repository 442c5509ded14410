"""The study's volumes table: one row per analysed CT.

The inference step's single output and the evaluation and clinical steps'
single input: predicted LA volume beside the volumes it is compared with
(the registered pseudo-label, the FLAIR WMH mask and, on the twin, the
truth).
"""

from __future__ import annotations

import os

import pandas as pd

from leukoct.messages import id_list

#: Columns of the volumes table, in order.
COLUMNS = ("subject_id", "cohort", "group", "split", "ct_vendor", "predicted_ml",
           "registered_ml", "flair_wmh_ml", "true_ml", "predicted_mask", "seconds")


def volume_table(predictions: pd.DataFrame, curated: pd.DataFrame, manifest: pd.DataFrame,
                 qc: pd.DataFrame | None = None, truth: pd.DataFrame | None = None) -> pd.DataFrame:
    """Assemble the tidy volumes table.

    Parameters
    ----------
    predictions
        ``subject_id, mask_path, predicted_ml, seconds`` for every predicted CT.
    curated
        The curation table (``subject_id, cohort, group, status, split``):
        every ``included`` subject must have a prediction.
    manifest
        For ``ct_vendor``.
    qc
        Registration QC (``subject_id, pseudolabel_ml, wmh_flair_ml,
        registration_error``): the registered pseudo-label and FLAIR WMH
        volumes of paired subjects.
    truth
        The twin's truth (``subject_id, la_volume_ct_ml``), if known.

    Returns
    -------
    DataFrame
        :data:`COLUMNS`, one row per included subject, sorted by group order
        of ``curated`` then subject; volumes in mL, ``NaN`` where a volume
        does not exist for that subject (no FLAIR, no truth).

    Raises
    ------
    ValueError
        Naming included subjects without a prediction, or predictions of
        subjects the curation did not include (nothing is dropped silently).
    """
    included = curated.loc[curated["status"] == "included",
                           ["subject_id", "cohort", "group", "split"]]
    missing = sorted(set(included["subject_id"]) - set(predictions["subject_id"]))
    if missing:
        raise ValueError(f"{len(missing)} included subject(s) have no prediction: {missing[:10]}"
                         f"{' ...' if len(missing) > 10 else ''}; re-run the inference step")
    extra = sorted(set(predictions["subject_id"]) - set(included["subject_id"]))
    if extra:
        raise ValueError(f"predictions for subjects the curation did not include: {extra[:10]}")
    table = included.merge(predictions.rename(columns={"mask_path": "predicted_mask"}),
                           on="subject_id", how="left", validate="one_to_one")
    table = table.merge(manifest[["subject_id", "ct_vendor"]], on="subject_id", how="left",
                        validate="one_to_one")
    if qc is not None and len(qc):
        registered = qc.loc[~qc["registration_error"].astype(bool),
                            ["subject_id", "pseudolabel_ml", "wmh_flair_ml"]]
        table = table.merge(registered.rename(columns={"pseudolabel_ml": "registered_ml",
                                                       "wmh_flair_ml": "flair_wmh_ml"}),
                            on="subject_id", how="left", validate="one_to_one")
    if truth is not None and "la_volume_ct_ml" in truth:
        table = table.merge(truth[["subject_id", "la_volume_ct_ml"]].rename(
            columns={"la_volume_ct_ml": "true_ml"}), on="subject_id", how="left",
            validate="one_to_one")
    order = {g: i for i, g in enumerate(dict.fromkeys(curated["group"]))}
    table = (table.assign(_order=table["group"].map(order))
             .sort_values(["_order", "subject_id"], kind="stable"))
    return table.reindex(columns=list(COLUMNS)).reset_index(drop=True)


def read_volumes(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a volumes table written by the inference step (reads a file).

    Parameters
    ----------
    path
        ``<outputs>/inference/volumes.csv``.

    Returns
    -------
    pandas.DataFrame
        :data:`COLUMNS`; ids, cohorts, groups, splits, vendors and mask paths
        as ``object`` with ``None`` where missing, volumes and seconds as float.

    Raises
    ------
    KeyError
        If a column of :data:`COLUMNS` is absent.
    ValueError
        If a subject appears twice.
    """
    text_columns = ["subject_id", "cohort", "group", "split", "ct_vendor", "predicted_mask"]
    table = pd.read_csv(path, dtype={c: object for c in text_columns})
    absent = [c for c in COLUMNS if c not in table.columns]
    if absent:
        raise KeyError(f"{path}: columns {absent} not found; available: {list(table.columns)}")
    for column in text_columns:
        table[column] = table[column].astype(object).where(table[column].notna(), None)
    for column in ("predicted_ml", "registered_ml", "flair_wmh_ml", "true_ml", "seconds"):
        table[column] = pd.to_numeric(table[column], errors="raise").astype(float)
    duplicated = table.loc[table["subject_id"].duplicated(), "subject_id"].astype(str).tolist()
    if duplicated:
        raise ValueError(f"{path}: subject(s) listed twice: {id_list(duplicated)}")
    return table

