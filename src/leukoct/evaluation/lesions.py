"""Lesion-wise detection by the CT model (seed 004's metrics; beyond the paper).

The paper scores its CT model with a voxel-wise Dice only, which the large
confluent periventricular caps dominate.  Zhao et al. (seed 004) count
lesions instead (:mod:`leukoct.metrics.lesionwise`): a reference lesion is
found when at least 40 % of it is predicted, and recall is reported by
lesion size.  Here the same counts are made for the CT model's predictions,
against the registered LA (the paper's "CT GT") and, on the digital twin,
against the true LA - which says whether the small lesions the Dice hides
are found at all, and whether the pseudo-labels' smear makes them look
missed when they are not.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from leukoct.evaluation._common import is_missing
from leukoct.evaluation.frame import PathSource, path_getter
from leukoct.images import load_volume
from leukoct.messages import require_columns
from leukoct.metrics.lesionwise import SEED004_RECALL, lesionwise, pool_lesions

#: Columns of :func:`lesion_counts`.
COUNT_COLUMNS: tuple[str, ...] = ("subject_id", "dataset", "reference", "size", "n_ref",
                                  "n_found", "n_pred", "n_correct")


def lesion_counts(frame: pd.DataFrame, label_path: PathSource, truth_path: PathSource = None,
                  *, datasets: Sequence[str] = ("external",),
                  prediction_column: str = "predicted_mask") -> pd.DataFrame:
    """Per-subject lesion counts of the CT predictions against each reference (reads masks).

    Parameters
    ----------
    frame
        The analysis frame (:func:`leukoct.evaluation.study_frame`): ``subject_id``,
        ``dataset`` and ``prediction_column``.
    label_path, truth_path
        Where each subject's registered LA and (twin) true LA on the CT grid
        are, as :func:`leukoct.evaluation.mask_sources` gives them (a
        function of the subject id, a mapping, or ``None``: not counted).
    datasets
        The datasets counted (default the external test set).
    prediction_column
        Column of ``frame`` holding the predicted mask's path.

    Returns
    -------
    pandas.DataFrame
        :data:`COUNT_COLUMNS`: for each subject, reference and size class
        (seed 004's small / medium / large, and ``all``) the counts of
        :func:`leukoct.metrics.lesionwise` on axial slices in mm².  A subject
        whose prediction or reference is missing has no rows for that
        reference (the Dice tables list such subjects with the reason).
    """
    require_columns(frame, ["subject_id", "dataset", prediction_column], "frame")
    getters = {"registered LA": path_getter(label_path, "label_path"),
               "true LA": path_getter(truth_path, "truth_path")}
    parts = []
    rows = frame[frame["dataset"].isin(list(datasets))]
    for subject, dataset, prediction in zip(rows["subject_id"], rows["dataset"],
                                            rows[prediction_column]):
        if is_missing(prediction):
            continue
        predicted = None
        for reference, getter in getters.items():
            path = getter(subject)
            if path is None or not path.is_file():
                continue
            if predicted is None:
                predicted = load_volume(prediction, dtype=np.uint8)
            ref = load_volume(path, dtype=np.uint8)
            if not predicted.same_grid(ref):  # as subject_overlaps checks the same masks
                raise ValueError(f"{subject}: the {reference} mask {path} is not on the "
                                 f"prediction's grid (shape {ref.data.shape} vs "
                                 f"{predicted.data.shape}); resample the mask onto the "
                                 "subject's CT grid")
            counts = lesionwise(predicted.data, ref.data, spacing=predicted.spacing)
            parts.append(counts.assign(subject_id=subject, dataset=dataset, reference=reference))
    if not parts:
        return pd.DataFrame(columns=list(COUNT_COLUMNS))
    return pd.concat(parts, ignore_index=True)[list(COUNT_COLUMNS)]


def lesion_table(counts: pd.DataFrame) -> pd.DataFrame:
    """Pooled lesion-wise recall, precision and F1 per reference and size, beside seed 004.

    ``seed004_recall`` is the share of lesions Zhao et al.'s FLAIR model found
    on their external set - a FLAIR model's figure, shown as the scale a
    lesion-wise recall lives on, not as a target for a CT model.
    """
    require_columns(counts, ["reference", "size", "n_ref", "n_found", "n_pred", "n_correct"],
                    "counts")
    pooled = pool_lesions(counts, by=["reference"])
    pooled["seed004_recall"] = pooled["size"].map(SEED004_RECALL)
    return pooled


def lesion_reading(table: pd.DataFrame) -> str:
    """One sentence per reference from :func:`lesion_table`: the share of small and
    of large lesions found, and the lesion-wise F1 - the chapter's reading, for this run."""
    require_columns(table, ["reference", "size", "n_ref", "recall", "f1"], "table")
    pooled = table.set_index(["reference", "size"])

    def found(reference: str, size: str) -> str:
        if (reference, size) not in pooled.index or pooled.loc[(reference, size), "n_ref"] == 0:
            return f"no {size} lesions"
        row = pooled.loc[(reference, size)]
        return f"{row['recall']:.0%} of {int(row['n_ref'])} {size} lesions found"

    return " ".join(
        f"Against the {reference}: {found(reference, 'small')}, {found(reference, 'large')}, "
        f"lesion-wise F1 {pooled.loc[(reference, 'all'), 'f1']:.2f}."
        for reference in dict.fromkeys(table["reference"]))
