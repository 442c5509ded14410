"""Lesion-wise detection of the CT model (leukoct.evaluation.lesions), hand-worked.

Voxels of 2 × 2 × 5 mm: a pixel is 4 mm² (seed 004's sizes: small < 20,
medium 20-150, large > 150 mm²).
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from leukoct import evaluation as ev

SHAPE = (12, 12, 2)
ZOOMS = (2.0, 2.0, 5.0)


def _save(path: Path, data: np.ndarray) -> Path:
    nib.save(nib.Nifti1Image(data.astype(np.uint8), np.diag([*ZOOMS, 1.0])), str(path))
    return path


def _first_subject(tmp_path: Path) -> dict[str, Path]:
    ref = np.zeros(SHAPE, np.uint8)
    ref[0:3, 0:3, 0] = 1      # A: 9 px = 36 mm², medium
    ref[8, 8, 0] = 1          # B: 1 px = 4 mm², small
    ref[0:6, 0:7, 1] = 1      # C: 42 px = 168 mm², large
    pred = np.zeros(SHAPE, np.uint8)
    pred[0:2, 0:2, 0] = 1     # P1: 4 of A's 9 (44 % >= 40 %: A found); 16 mm², small, correct
    pred[10, 10, 0] = 1       # P2: false positive, small
    pred[0:2, 0:7, 1] = 1     # P3: 14 of C's 42 (33 %: C missed); 56 mm², medium, correct
    truth = np.zeros(SHAPE, np.uint8)
    truth[0:3, 0:3, 0] = 1    # the true LA is A only
    return {"pred": _save(tmp_path / "s1_pred.nii.gz", pred),
            "label": _save(tmp_path / "s1_label.nii.gz", ref),
            "truth": _save(tmp_path / "s1_truth.nii.gz", truth)}


def _second_subject(tmp_path: Path) -> dict[str, Path]:
    one = np.zeros(SHAPE, np.uint8)
    one[5, 5, 0] = 1          # one small lesion, found, and the prediction correct
    return {"pred": _save(tmp_path / "s2_pred.nii.gz", one),
            "label": _save(tmp_path / "s2_label.nii.gz", one)}


@pytest.fixture()
def study(tmp_path: Path) -> tuple[pd.DataFrame, dict, dict]:
    s1, s2 = _first_subject(tmp_path), _second_subject(tmp_path)
    frame = pd.DataFrame({"subject_id": ["S1", "S2", "S3"],
                          "dataset": ["external", "external", "internal"],
                          "predicted_mask": [str(s1["pred"]), str(s2["pred"]), str(s2["pred"])]})
    labels = {"S1": s1["label"], "S2": s2["label"], "S3": s2["label"]}
    truths = {"S1": s1["truth"]}  # S2 has no true LA mask: not counted against it
    return frame, labels, truths


def test_counts_follow_the_40_percent_rule_by_size(study):
    frame, labels, truths = study
    counts = ev.lesion_counts(frame, labels, truths)
    assert set(counts["subject_id"]) == {"S1", "S2"}  # internal S3 left out by default
    s1 = counts[(counts["subject_id"] == "S1") & (counts["reference"] == "registered LA")]
    s1 = s1.set_index("size")
    assert s1.loc["small", ["n_ref", "n_found", "n_pred", "n_correct"]].tolist() == [1, 0, 2, 1]
    assert s1.loc["medium", ["n_ref", "n_found", "n_pred", "n_correct"]].tolist() == [1, 1, 1, 1]
    assert s1.loc["large", ["n_ref", "n_found", "n_pred", "n_correct"]].tolist() == [1, 0, 0, 0]
    assert s1.loc["all", ["n_ref", "n_found", "n_pred", "n_correct"]].tolist() == [3, 1, 3, 2]
    truth = counts[(counts["subject_id"] == "S1") & (counts["reference"] == "true LA")]
    # Against the truth (A only): A found; P1 correct, P2 and P3 (outside A) not.
    assert truth.set_index("size").loc["all", ["n_ref", "n_found", "n_pred",
                                                "n_correct"]].tolist() == [1, 1, 3, 1]
    assert not ((counts["subject_id"] == "S2") & (counts["reference"] == "true LA")).any()


def test_pooled_table_weights_lesions_not_subjects(study):
    frame, labels, truths = study
    table = ev.lesion_table(ev.lesion_counts(frame, labels, truths))
    registered = table[table["reference"] == "registered LA"].set_index("size")
    # small: S1's B missed, S2's lesion found -> 1/2; predictions 1/2 + 1/1 -> 2/3
    assert registered.loc["small", "recall"] == pytest.approx(1 / 2)
    assert registered.loc["small", "precision"] == pytest.approx(2 / 3)
    assert registered.loc["all", "recall"] == pytest.approx(2 / 4)
    assert registered.loc["all", "precision"] == pytest.approx(3 / 4)
    assert registered.loc["all", "f1"] == pytest.approx(2 * 0.5 * 0.75 / 1.25)
    assert np.isnan(registered.loc["large", "precision"])  # nothing large predicted
    assert registered.loc["large", "seed004_recall"] == pytest.approx(0.9511)
    assert list(registered.index) == ["small", "medium", "large", "all"]
    truth = table[table["reference"] == "true LA"].set_index("size")
    assert truth.loc["all", "recall"] == pytest.approx(1.0)
    assert truth.loc["all", "f1"] == pytest.approx(2 * 1 * (1 / 3) / (4 / 3))


def test_chosen_datasets_and_no_reference(study):
    frame, labels, _ = study
    counts = ev.lesion_counts(frame, labels, None, datasets=("internal",))
    assert counts["subject_id"].unique().tolist() == ["S3"]
    assert counts["reference"].unique().tolist() == ["registered LA"]
    empty = ev.lesion_counts(frame, None, None)
    assert empty.empty and list(empty.columns) == list(ev.lesions.COUNT_COLUMNS)


def test_mask_on_another_grid_is_named(study, tmp_path):
    frame, labels, _ = study
    other = tmp_path / "small_label.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 2), np.uint8), np.eye(4)), str(other))
    with pytest.raises(ValueError, match=r"S1: the registered LA mask .*small_label.*resample"):
        ev.lesion_counts(frame, {**labels, "S1": other})


def test_reading_states_the_pooled_shares(study):
    frame, labels, truths = study
    table = ev.lesion_table(ev.lesion_counts(frame, labels, truths))
    text = ev.lesion_reading(table)
    # registered LA: small 1 of 2, large 0 of 1, F1 0.60; true LA: only A (medium), F1 0.50.
    assert text == ("Against the registered LA: 50% of 2 small lesions found, 0% of 1 large "
                    "lesions found, lesion-wise F1 0.60. Against the true LA: no small lesions, "
                    "no large lesions, lesion-wise F1 0.50.")
