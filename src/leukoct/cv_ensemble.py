"""Repeated cross-validation ensembles: Pitkänen et al. 2020's (seed 003) protocol.

Pitkänen et al. train the CT network in 10-fold cross-validation (each case
in a test fold once), repeat the cross-validation ten times "so that ten
separate segmentations were obtained for each CT image", average the ten
probability maps and threshold the average at 0.25.  Here:

* :func:`repeated_folds` assigns every subject to one test fold per repeat
  (scikit-learn's ``RepeatedKFold``, seeded), the table the arm's training
  jobs read;
* :func:`average_and_threshold` averages a subject's probability maps and
  keeps the voxels whose mean reaches the threshold.

Pure functions; nnU-Net trains and predicts the folds (its own softmax
probabilities, ``--save_probabilities``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.model_selection import RepeatedKFold

#: Seed 003: the averaged probability is thresholded at 0.25.
SEED003_THRESHOLD = 0.25
#: Seed 003: 10-fold cross-validation, repeated ten times.
SEED003_FOLDS, SEED003_REPEATS = 10, 10


def repeated_folds(subjects: Sequence[str], folds: int = SEED003_FOLDS,
                   repeats: int = SEED003_REPEATS, seed: int = 0) -> pd.DataFrame:
    """Each subject's test fold in each repeat of a k-fold cross-validation.

    Parameters
    ----------
    subjects
        Subject ids (sorted first, so the assignment depends on who is in the
        set and on the seed only).
    folds, repeats
        k, and how many times the k-fold split is redrawn: each subject is
        tested ``repeats`` times, by models that never saw it.
    seed
        Seed of the shuffles.

    Returns
    -------
    pandas.DataFrame
        ``subject_id``, ``repeat``, ``fold`` (0-based), one row per subject and repeat.
    """
    ids = sorted(subjects)
    if len(set(ids)) != len(ids):
        raise ValueError("subject ids must be unique")
    if folds < 2 or folds > len(ids):
        raise ValueError(f"folds must lie between 2 and the number of subjects ({len(ids)}), "
                         f"not {folds}")
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, not {repeats}")
    splitter = RepeatedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)
    rows = []
    for k, (_, test) in enumerate(splitter.split(np.zeros((len(ids), 1)))):
        repeat, fold = divmod(k, folds)
        rows += [{"subject_id": ids[i], "repeat": repeat, "fold": fold} for i in test]
    return (pd.DataFrame(rows).sort_values(["repeat", "subject_id"], kind="stable")
            .reset_index(drop=True))


def average_and_threshold(probabilities: Sequence[ArrayLike] | np.ndarray,
                          threshold: float = SEED003_THRESHOLD) -> tuple[np.ndarray, np.ndarray]:
    """Mean of a subject's probability maps and the mask where it reaches ``threshold``.

    Parameters
    ----------
    probabilities
        The maps (one per repeat), all of one shape, values in [0, 1]; a
        stack with the maps along the first axis, or a sequence.
    threshold
        In (0, 1]; voxels with mean probability **at or above** it are
        lesion (seed 003: 0.25, so a voxel one of four models calls certain
        is kept).

    Returns
    -------
    mean, mask
        The averaged map (float32) and the boolean mask.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must lie in (0, 1], not {threshold}")
    maps = [np.asarray(p, dtype=np.float32) for p in probabilities]
    if not maps:
        raise ValueError("no probability maps to average")
    shapes = {m.shape for m in maps}
    if len(shapes) != 1:
        raise ValueError(f"probability maps of different shapes {sorted(shapes)}: resample "
                         "them onto one grid first")
    stack = np.stack(maps)
    if np.isnan(stack).any() or stack.min() < 0.0 or stack.max() > 1.0:
        raise ValueError("probabilities must lie in [0, 1] with no NaN; pass softmax "
                         "probabilities, not logits or labels")
    mean = stack.mean(axis=0, dtype=np.float64).astype(np.float32)
    return mean, mean >= np.float32(threshold)
