"""Image checks of registry fields: CT coverage and contrast enhancement."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

from leukoct.imagecheck import check_ct, coverage, disagreements, enhanced_fraction


def _head(shape=(80, 80, 36), spacing=(2.5, 2.5, 5.0)) -> np.ndarray:
    """An ellipsoid head: brain 30 HU inside a 1000 HU skull, air outside."""
    grid = np.stack(np.meshgrid(*[(np.arange(n) - (n - 1) / 2) * s
                                  for n, s in zip(shape, spacing)], indexing="ij"))
    r = np.sqrt((grid[0] / 70) ** 2 + (grid[1] / 85) ** 2 + (grid[2] / 75) ** 2)
    hu = np.full(shape, -1000.0, dtype=np.float32)
    hu[r < 1.08] = 1000.0
    hu[r < 1.0] = 30.0
    return hu


def _save(path: Path, hu: np.ndarray, spacing=(2.5, 2.5, 5.0)) -> Path:
    nib.save(nib.Nifti1Image(hu.astype(np.int16), np.diag([*spacing, 1.0])), str(path))
    return path


def test_complete_head_passes_and_a_cut_one_is_flagged(tmp_path: Path) -> None:
    hu = _head()
    full = check_ct(_save(tmp_path / "full.nii.gz", hu))
    assert not full.incomplete_suspected and full.top_fraction == 0.0
    assert 140 <= full.brain_extent_mm <= 155             # 2 × 75 mm semi-axis
    cut = check_ct(_save(tmp_path / "cut.nii.gz", hu[:, :, :20]))   # stops mid-brain
    assert cut.incomplete_suspected and cut.top_fraction > 0.8
    brain = hu[:, :, :20] == 30
    top, bottom, extent = coverage(brain, 5.0)
    assert np.isclose(top, brain[:, :, -1].sum() / brain.sum(axis=(0, 1)).max())


def test_enhancing_vessels_are_seen_and_plain_brain_is_not() -> None:
    hu = _head()
    brain = hu == 30
    assert enhanced_fraction(hu, brain, (2.5, 2.5, 5.0)) == 0.0
    vessels = hu.copy()
    vessels[36:44, 30:50, 14:22] = 180.0                   # a deep enhancing structure
    fraction = enhanced_fraction(vessels, brain, (2.5, 2.5, 5.0))
    expected = 8 * 20 * 8 / (brain.sum())
    assert 0.5 * expected < fraction < 1.5 * expected


def test_disagreements_list_only_conflicts() -> None:
    table = pd.DataFrame({"subject_id": ["A", "B", "C"], "incomplete_ct": [True, False, None],
                          "contrast_ct": [False, False, False]})
    checks = pd.DataFrame({"incomplete_suspected": [True, True, False],
                           "contrast_suspected": [False, False, False],
                           "brain_extent_mm": [90.0, 100.0, 150.0],
                           "enhanced_fraction": [0.0, 0.0, 0.0]}, index=["A", "B", "C"])
    found = disagreements(table, checks)
    assert list(zip(found["subject_id"], found["field"], found["registry"])) == \
        [("B", "incomplete_ct", False), ("C", "incomplete_ct", "unknown")]
