"""The twin's CT contrast of leukoaraiosis (``leukoct.twin.ct.lesion_contrast``)."""

from __future__ import annotations

import numpy as np

from leukoct.twin import parameters as P
from leukoct.twin.ct import lesion_contrast

C = P.CT["lesion_contrast_hu"]


def _slab(thickness_vox: int, voxel_mm: float = 2.0) -> np.ndarray:
    la = np.zeros((40, 40, 40), np.float32)
    lo = 20 - thickness_vox // 2
    la[5:35, 5:35, lo:lo + thickness_vox] = 1.0
    return la


def test_border_faint_core_deep_by_hand() -> None:
    # A 2 mm-voxel slab 15 voxels (30 mm) thick: the border voxel is 1 voxel
    # (2 mm) deep and gets the rim contrast; a voxel 2 + 4 mm deep or more gets
    # the core's.  In between the ramp is linear in depth: 4 mm deep -> halfway.
    la = _slab(15)
    drop = lesion_contrast(la, 2.0, np.random.default_rng(0))
    rng = np.random.default_rng(0)
    rim, core = rng.uniform(*C["rim"]), rng.uniform(*C["core"])
    z0 = 20 - 15 // 2
    assert np.isclose(drop[20, 20, z0], rim)                       # depth 2 mm
    assert np.isclose(drop[20, 20, z0 + 1], rim + (core - rim) * 0.5)  # depth 4 mm
    assert np.isclose(drop[20, 20, z0 + 2], core)                  # depth 6 mm
    assert np.isclose(drop[20, 20, 20], core)
    assert np.all(drop[la == 0] >= 0)


def test_thin_lesions_stay_faint() -> None:
    # A lesion one voxel thick (a punctate focus or a thin periventricular cap)
    # never reaches the core contrast: why small WMH are mostly invisible on CT.
    drop = lesion_contrast(_slab(1), 2.0, np.random.default_rng(3))
    inside = _slab(1) > 0.5
    assert drop[inside].max() <= C["rim"][1]


def test_core_contrast_within_the_measured_range() -> None:
    # Peng et al. 2024: visible LA at 17.53 +/- 4.67 HU against ~28 HU white
    # matter; the twin's core draws stay within one SD of that (5.8-15.1 HU).
    la = _slab(15)
    cores = [lesion_contrast(la, 2.0, np.random.default_rng(s)).max() for s in range(200)]
    assert 28.0 - 17.53 - 4.67 <= min(cores) and max(cores) <= 28.0 - 17.53 + 4.67
    assert 8.0 < np.mean(cores) < 10.0
