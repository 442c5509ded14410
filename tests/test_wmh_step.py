"""The FLAIR segmentation step: who trains, which models, what a bad reference mask says."""

import numpy as np
import pytest

from leukoct.settings import WMHSegmentationSettings
from leukoct.wmh import step


def test_split_is_six_two_two_and_seeded():
    subjects = [f"S{i:02d}" for i in range(10)]
    settings = WMHSegmentationSettings(seed=7)
    split = step.split_subjects(subjects, settings)
    assert split["split"].value_counts().to_dict() == {"train": 6, "validation": 2, "test": 2}
    assert split.equals(step.split_subjects(list(reversed(subjects)), settings))
    other = step.split_subjects(subjects, WMHSegmentationSettings(seed=8))
    assert not other["split"].equals(split["split"])


def test_one_reference_subject_trains():
    split = step.split_subjects(["A"], WMHSegmentationSettings())
    assert split["split"].tolist() == ["train"]


def test_no_reference_subject_names_the_column_and_the_fix():
    with pytest.raises(step.WMHInputError, match="wmh_reference_path.*wmh_source: manifest"):
        step.split_subjects([], WMHSegmentationSettings())


def test_models_are_the_members_and_the_comparison():
    settings = WMHSegmentationSettings(members=3)
    assert step.model_names(settings) == ["member0", "member1", "member2", "single_unet"]
    assert step._model(settings, "single_unet") == ("unet", 0)
    assert step._model(settings, "member2") == ("se_unet", 2)
    unet = WMHSegmentationSettings(architecture="unet", compare_architectures=False)
    assert step.model_names(unet) == [f"member{k}" for k in range(5)]
    with pytest.raises(step.WMHInputError, match="member0"):
        step._model(settings, "member3")


def test_reference_off_the_flair_grid_names_the_subject(tmp_path):
    import nibabel as nib

    nib.save(nib.Nifti1Image(np.ones((8, 8, 4), np.float32), np.eye(4)), tmp_path / "f.nii.gz")
    nib.save(nib.Nifti1Image(np.zeros((8, 8, 5), np.uint8), np.eye(4)), tmp_path / "r.nii.gz")
    with pytest.raises(step.WMHInputError, match="subject S1: its reference mask.*not on its FLAIR"):
        step._pair("S1", str(tmp_path / "f.nii.gz"), str(tmp_path / "r.nii.gz"), 16)
