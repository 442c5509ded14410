"""Fazekas group from volume thresholds (seed 003), against hand-worked examples
and the seed's own Table 2."""

import numpy as np
import pandas as pd
import pytest

from leukoct import volume_grading as vg

# Volumes 1..8 mL with one 0-1 subject among the 2s (at 5 mL): the best pair of cuts
# is 2.5 / 6.5 mL, 7 of 8 right; moving the low cut past the misfit (5.5) gets 6, and
# so does every other pair (worked by hand in the test below).
VOLUMES = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
GROUPS = ["0-1", "0-1", "2", "2", "0-1", "2", "3", "3"]


def test_fit_finds_the_hand_worked_cuts():
    fitted = vg.fit_thresholds(VOLUMES, GROUPS)
    assert (fitted.low, fitted.high) == (2.5, 6.5)
    assert (fitted.correct, fitted.n) == (7, 8)
    assert fitted.classify([2.4, 2.5, 6.4, 6.5]).tolist() == ["0-1", "2", "2", "3"]


def test_fit_is_exhaustive_against_brute_force():
    rng = np.random.default_rng(3)
    volume = rng.gamma(2.0, 5.0, 40).round(1)
    group = np.array(vg.GROUPS, dtype=object)[np.clip((volume / 8).astype(int)
                                                      + rng.integers(-1, 2, 40), 0, 2)]
    fitted = vg.fit_thresholds(volume, group)
    cuts = np.unique(np.concatenate([[volume.min() - 1, volume.max() + 1],
                                     (np.sort(volume)[:-1] + np.sort(volume)[1:]) / 2]))
    best = max(int((vg.Thresholds(a, b, 0, 40).classify(volume).astype(str) == group).sum())
               for a in cuts for b in cuts if a <= b)
    assert fitted.correct == best
    assert int((fitted.classify(volume).astype(str) == group).sum()) == best


def test_one_group_only_leaves_the_others_empty():
    fitted = vg.fit_thresholds([1.0, 2.0, 3.0], ["3", "3", "3"])
    assert fitted.correct == 3 and fitted.low == fitted.high == 0.0  # both below the smallest


def test_share_correct_of_the_seeds_ct_table_is_its_78_percent():
    visual, estimated = [], []
    for i, row in enumerate(vg.SEED003_CT_CONFUSION):
        for j, count in enumerate(row):
            visual += [vg.GROUPS[i]] * count
            estimated += [vg.GROUPS[j]] * count
    summary = vg.grading_summary(visual, estimated)
    assert summary.n == 147                                   # the seed's 147 pairs
    assert summary.confusion.to_numpy().tolist() == [list(r) for r in vg.SEED003_CT_CONFUSION]
    assert summary.share_correct == pytest.approx(115 / 147)
    assert round(summary.share_correct, 2) == vg.SEED003_SHARE_CORRECT


def test_cross_validation_grades_each_subject_without_its_fold():
    # Three well-separated groups: every fold's cuts fall in the gaps, all correct.
    volume = pd.Series([1, 2, 3, 4, 5, 21, 22, 23, 24, 25, 51, 52, 53, 54, 55.0],
                       index=[f"S{i}" for i in range(15)])
    group = pd.Series(["0-1"] * 5 + ["2"] * 5 + ["3"] * 5, index=volume.index)
    estimated = vg.cross_validated_groups(volume, group, folds=5, seed=1)
    assert list(estimated.index) == list(volume.index)
    assert (estimated.astype(str) == group).all()
    # A subject alone in its volume range is graded from the others' cuts: the one 2 at
    # 60 mL sits above every fold's high cut, so it is estimated 3, not 2.
    volume2 = volume.copy()
    volume2["S7"] = 60.0
    again = vg.cross_validated_groups(volume2, group, folds=5, seed=1)
    assert again["S7"] == "3"
    assert again.equals(vg.cross_validated_groups(volume2, group, folds=5, seed=1))


def test_grades_map_to_groups_and_bad_grades_are_named():
    assert vg.fazekas_group([0, 1, 2, 3, None]).astype(str).tolist()[:4] == ["0-1", "0-1", "2", "3"]
    with pytest.raises(ValueError, match=r"found \[4\].*rows \[1\]"):
        vg.fazekas_group([0, 4])
    with pytest.raises(ValueError, match="missing"):
        vg.fit_thresholds([1.0, np.nan], ["2", "3"])
    with pytest.raises(ValueError, match="fazekas_group"):
        vg.fit_thresholds([1.0, 2.0], [2, 3])
