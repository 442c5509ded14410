"""Fazekas group from lesion volume: Pitkänen et al. 2020's (seed 003) volume thresholds.

Pitkänen et al. estimate the visual Fazekas group (0-1, 2, 3) from the
automatic WML volume "by searching the optimal thresholds for the three
Fazekas groups", in 10-fold cross-validation, and report the confusion
matrix against the radiologists' grades (78 % correct from CT, 78 % from
FLAIR; their Table 2).  Here:

* :func:`fit_thresholds` searches the two volume cut points exhaustively:
  every pair of cut points between neighbouring observed volumes, the pair
  with the most subjects in their visual group wins (the seed's "optimal";
  ties go to the lowest cut points, so the result is deterministic);
* :func:`cross_validated_groups` fits them on nine folds and grades the
  tenth (scikit-learn's stratified folds, seeded);
* :func:`grading_summary` gives the confusion matrix and the share correct.

Pure functions on Series; the comparison chapter of the design arms calls them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.metrics import confusion_matrix
from sklearn.model_selection import StratifiedKFold

#: The seed's three groups, in order.
GROUPS: tuple[str, ...] = ("0-1", "2", "3")
#: Seed 003, Table 2, CT: rows visual 0-1 / 2 / 3, columns automatic 0-1 / 2 / 3.
SEED003_CT_CONFUSION = ((43, 7, 0), (12, 28, 8), (0, 5, 44))
#: Seed 003, Table 2, FLAIR (same layout).
SEED003_FLAIR_CONFUSION = ((37, 13, 0), (7, 37, 4), (0, 9, 40))
#: Seed 003's reported share of correct estimates (CT and FLAIR alike).
SEED003_SHARE_CORRECT = 0.78


def fazekas_group(grade: ArrayLike) -> pd.Series:
    """Visual Fazekas grade 0-3 -> the seed's group ``"0-1"``, ``"2"`` or ``"3"``.

    Missing grades stay missing; any other value is an error naming it.
    """
    grade = pd.Series(grade)
    bad = grade.dropna()[~grade.dropna().isin([0, 1, 2, 3])]
    if len(bad):
        raise ValueError(f"Fazekas grades must be 0, 1, 2 or 3; found {sorted(set(bad))[:5]} "
                         f"(rows {list(bad.index[:5])}); fix the grades or mark them missing")
    mapped = grade.map({0: "0-1", 1: "0-1", 2: "2", 3: "3"})
    return pd.Series(pd.Categorical(mapped, categories=GROUPS), index=grade.index,
                     name="fazekas_group")


def _check(volume: ArrayLike, group: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    v = np.asarray(volume, dtype=float)
    g = pd.Series(np.asarray(group, dtype=object))
    if v.ndim != 1 or len(v) != len(g):
        raise ValueError(f"volume and group must be 1-D and of one length, got {v.shape} "
                         f"and {len(g)}")
    if np.isnan(v).any() or g.isna().any():
        raise ValueError("volume and group must have no missing values; drop those subjects "
                         "first (and list them)")
    unknown = sorted(set(g) - set(GROUPS))
    if unknown:
        raise ValueError(f"unknown Fazekas groups {unknown}; use fazekas_group() to map "
                         f"grades onto {GROUPS}")
    return v, g.map({name: i for i, name in enumerate(GROUPS)}).to_numpy(dtype=int)


@dataclass(frozen=True)
class Thresholds:
    """Two volume cut points (mL): below ``low`` -> 0-1, from ``low`` below ``high`` -> 2,
    from ``high`` -> 3; ``correct`` subjects of ``n`` in their group on the fitting data."""

    low: float
    high: float
    correct: int
    n: int

    def classify(self, volume: ArrayLike) -> pd.Series:
        """The group each volume falls in."""
        v = np.asarray(volume, dtype=float)
        codes = (v >= self.low).astype(int) + (v >= self.high).astype(int)
        return pd.Series(pd.Categorical.from_codes(codes, categories=GROUPS),
                         name="estimated_group")


def fit_thresholds(volume: ArrayLike, group: ArrayLike) -> Thresholds:
    """The two cut points that put the most subjects in their visual group.

    Candidate cut points lie half-way between neighbouring distinct volumes,
    plus one below the smallest and one above the largest (a group may be
    left empty).  With the subjects sorted by volume, a pair of cuts ``(i, j)``
    scores the number of 0-1 subjects below ``i``, of 2 between and of 3 from
    ``j`` on; cumulative counts score every pair at once.
    """
    v, g = _check(volume, group)
    if len(v) == 0:
        raise ValueError("no subjects to fit the thresholds on")
    order = np.argsort(v, kind="stable")
    v, g = v[order], g[order]
    distinct = np.unique(v)
    cuts = np.concatenate([[distinct[0] - 1.0], (distinct[:-1] + distinct[1:]) / 2,
                           [distinct[-1] + 1.0]])
    # below[c, k]: subjects of group k with volume below cut c.
    below = np.stack([np.searchsorted(v[g == k], cuts, side="left") for k in range(3)], axis=1)
    total = below[-1]
    score = (below[:, 0][:, None]                                    # 0-1 below low
             + (below[:, 1][None, :] - below[:, 1][:, None])         # 2 in [low, high)
             + (total[2] - below[:, 2])[None, :])                    # 3 from high on
    score = np.where(np.triu(np.ones_like(score, dtype=bool)), score, -1)  # low <= high
    i, j = np.unravel_index(int(np.argmax(score)), score.shape)     # first maximum: lowest cuts
    return Thresholds(low=float(cuts[i]), high=float(cuts[j]), correct=int(score[i, j]),
                      n=int(len(v)))


def cross_validated_groups(volume: pd.Series, group: pd.Series, folds: int = 10,
                           seed: int = 0) -> pd.Series:
    """Each subject's group estimated from thresholds fitted without its fold.

    Folds are stratified by the visual group (scikit-learn's
    ``StratifiedKFold``, shuffled with ``seed``); with fewer subjects in a
    group than folds, scikit-learn warns and the folds stay as even as it can.
    """
    v, g = _check(volume, group)
    if folds < 2 or folds > len(v):
        raise ValueError(f"folds must lie between 2 and the number of subjects ({len(v)}), "
                         f"not {folds}")
    estimated = np.empty(len(v), dtype=int)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(v.reshape(-1, 1), g):
        fitted = fit_thresholds(v[train], np.asarray(GROUPS, dtype=object)[g[train]])
        estimated[test] = fitted.classify(v[test]).cat.codes.to_numpy()
    index = volume.index if isinstance(volume, pd.Series) else None
    return pd.Series(pd.Categorical.from_codes(estimated, categories=GROUPS), index=index,
                     name="estimated_group")


@dataclass(frozen=True)
class GradingSummary:
    """Confusion matrix (rows visual, columns estimated, seed 003's Table 2 layout)
    and the share of subjects whose group was estimated right."""

    confusion: pd.DataFrame
    share_correct: float
    n: int


def grading_summary(visual: ArrayLike, estimated: ArrayLike) -> GradingSummary:
    """Confusion matrix and share correct of estimated against visual groups."""
    visual, estimated = pd.Series(np.asarray(visual, dtype=object)), pd.Series(
        np.asarray(estimated, dtype=object))
    if len(visual) != len(estimated):
        raise ValueError(f"{len(visual)} visual groups but {len(estimated)} estimated")
    matrix = confusion_matrix(visual, estimated, labels=list(GROUPS))
    table = pd.DataFrame(matrix, index=pd.Index(GROUPS, name="visual"),
                         columns=pd.Index(GROUPS, name="estimated"))
    n = int(matrix.sum())
    return GradingSummary(confusion=table, share_correct=float(np.trace(matrix) / n) if n else
                          float("nan"), n=n)
