"""The twin's CT contrast of leukoaraiosis, against a published measurement.

Peng et al., BMC Med Imaging 2024 (doi:10.1186/s12880-024-01340-2): MRI-confirmed
LA on noncontrast CT measured 17.53 +/- 4.67 HU (53 lesions); the twin's white
matter is 28 HU, so lesion tissue 28 - 17.53 = 10.5 HU darker, +/- 4.67.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
from scipy import ndimage

from leukoct.manifest import load_manifest
from leukoct.twin import parameters as P

PENG_LA_HU, PENG_SD = 17.53, 4.67


def test_lesion_tissue_contrast_within_one_sd_of_the_measured(ci_study: Path) -> None:
    truth = pd.read_csv(ci_study / "truth" / "subjects.csv")
    drops = truth["ct_la_contrast_hu"].dropna()
    wm = P.CT["hu"]["wm"]
    assert len(drops) >= 10
    assert drops.between(wm - PENG_LA_HU - PENG_SD, wm - PENG_LA_HU + PENG_SD).all()
    # The faint half of the range: no easier than the lesions Peng chose as visible.
    assert drops.max() <= wm - PENG_LA_HU + 1.5


def test_the_scan_makes_small_lesions_fainter_than_their_tissue(ci_study: Path) -> None:
    # Partial volume on 5 mm slices: the measured drop (lesion vs the white matter
    # ring around it) is below the tissue's, and more so for small lesions.
    manifest = load_manifest(ci_study / "manifest.csv", verify_checksums=False).set_index("subject_id")
    truth = pd.read_csv(ci_study / "truth" / "subjects.csv").set_index("subject_id")
    seen = []
    for sid in manifest.index[manifest["ct_path"].notna()]:
        if not truth.at[sid, "has_ct"] or truth.at[sid, "la_volume_ml"] < 1:
            continue
        ct = np.asanyarray(nib.load(manifest.at[sid, "ct_path"]).dataobj).astype(float)
        lesion = np.asanyarray(nib.load(ci_study / "truth" / f"{sid}_lesion_ct.nii.gz").dataobj) > 0
        if lesion.sum() < 20:
            continue
        ring = ndimage.binary_dilation(lesion, iterations=2) & ~lesion & (ct > 15) & (ct < 45)
        measured = ct[ring].mean() - ct[lesion].mean()
        # The lesion mean's own noise: a 69-voxel lesion (1.4 mL) reads its drop
        # to +-0.4 HU at 3.6 HU of noise, and more where the noise is correlated.
        margin = 1.0 + 3 * truth.at[sid, "ct_noise_sd"] / np.sqrt(lesion.sum())
        seen.append((truth.at[sid, "la_volume_ml"], measured, truth.at[sid, "ct_la_contrast_hu"],
                     margin))
    assert len(seen) >= 5
    volume, measured, tissue, margin = map(np.array, zip(*seen))
    assert np.all(measured > 1.0) and np.all(measured < tissue + margin)
    small, large = volume <= np.median(volume), volume > np.median(volume)
    assert (measured / tissue)[small].mean() < (measured / tissue)[large].mean() + 0.05
