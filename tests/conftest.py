"""Shared fixtures: a small valid manifest with real NIfTI files, and one
ci-size digital-twin study shared by every test module that needs images."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from leukoct.config import load_profile
from leukoct.manifest import fill_checksums, write_manifest
from leukoct.twin import generate_study

ROOT = Path(__file__).resolve().parents[1]


def _nifti(path: Path, value: int, shape=(8, 8, 4), zooms=(1.0, 1.0, 5.0),
           air: bool = False) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.full(shape, value, dtype=np.int16)
    if air:  # a CT in HU shows air around the head (leukoct.image_validation)
        data[0] = -1000
    affine = np.diag([*zooms, 1.0])
    nib.save(nib.Nifti1Image(data, affine), str(path))
    return str(path.relative_to(path.parents[1]))


@pytest.fixture
def manifest_path(tmp_path: Path) -> Path:
    """A valid three-subject manifest (train, external, clinical) with checksums."""
    images = tmp_path / "images"
    rows = []
    for i, cohort in enumerate(["train", "external", "clinical"], start=1):
        sid = f"S-{i:03d}"
        row = {"subject_id": sid, "cohort": cohort, "site": f"H{i}", "synthetic": True,
               "ct_path": _nifti(images / f"{sid}_ct.nii.gz", 30 + i, air=True),
               "ct_vendor": "SIEMENS", "ct_kvp": 120, "ct_slice_thickness_mm": 5.0,
               "age": 60 + i, "sex": "F" if i % 2 else "M", "hypertension": True,
               "nihss": 3, "mrs_3m": 1, "infarct_volume_ml": 0.5}
        if cohort != "clinical":
            row.update(flair_path=_nifti(images / f"{sid}_flair.nii.gz", 100 + i),
                       wmh_mask_path=_nifti(images / f"{sid}_wmh.nii.gz", i % 2),
                       mri_vendor="PHILIPS", mri_field_strength_t=3.0, fazekas=1)
        rows.append(row)
    path = write_manifest(pd.DataFrame(rows), tmp_path / "manifest.csv")
    fill_checksums(path)
    return path


@pytest.fixture(scope="session")
def ci_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A digital-twin study of the ``ci`` profile's size and seed (about 15 s),
    generated once per test session; tests must not modify it."""
    profile = load_profile("ci", root=ROOT)
    out = tmp_path_factory.mktemp("ci_study")
    generate_study(profile.twin, out, seed=profile.seed, workers=2, progress=False)
    return out
