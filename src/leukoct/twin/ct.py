"""Noncontrast head CT in Hounsfield units, from a subject's maps.

LA tissue is 6-12 HU darker than ~28 HU white matter (Peng et al. 2024, see
``parameters.CT``), with ~3 HU noise.  On the scan, the 5 mm slices average
thin caps and punctate foci with the white matter around them, so most LA
voxels show a few HU: the low contrast-to-noise ratio that makes CT
segmentation hard (paper's Introduction).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage

from leukoct.twin import parameters as P
from leukoct.twin.anatomy import Anatomy, ramp
from leukoct.twin.geometry import Grid, resample
from leukoct.twin.lesions import smooth_noise


@dataclass
class Findings:
    """Soft (0-1) lesion maps in subject space."""

    la: np.ndarray
    infarct: np.ndarray
    hemorrhage: np.ndarray | None = None


@dataclass
class HeadLayers:
    """Thickness of the layers outside the brain, mm."""

    subarachnoid: float
    skull: float
    scalp: float
    extra: dict[str, Any] = field(default_factory=dict)


def layer_fractions(anat: Anatomy, layers: HeadLayers) -> dict[str, np.ndarray]:
    """Partial-volume fractions of brain, CSF rim, bone, scalp and air."""
    v, s = anat.voxel_mm, anat.sdist
    e1 = layers.subarachnoid
    e2 = e1 + layers.skull
    e3 = e2 + layers.scalp
    r0, r1, r2, r3 = ramp(s, v), ramp(s - e1, v), ramp(s - e2, v), ramp(s - e3, v)
    return {"rim": r0 - r1, "bone": r1 - r2, "scalp": r2 - r3, "air": r3}


def hu_map(anat: Anatomy, findings: Findings, layers: HeadLayers, rng: np.random.Generator,
           kvp: float, contrast: bool) -> tuple[np.ndarray, dict[str, float]]:
    """Hounsfield units of the subject in subject space.

    Returns
    -------
    hu, truth
        The map, and the subject's tissue HU and LA contrast drawn.
    """
    hu0 = P.CT["hu"]
    gm_hu = hu0["gm"] + rng.normal(0, 1.2)
    wm_hu = hu0["wm"] + rng.normal(0, 1.2)
    la_drop = rng.uniform(*P.CT["lesion_contrast_hu"])
    f = layer_fractions(anat, layers)
    # Bone attenuation falls with tube voltage (less photoelectric effect).
    bone_hu = hu0["bone_cortical"] * (120.0 / kvp) ** 0.4
    bone_depth = np.clip((anat.sdist - layers.subarachnoid) / layers.skull, 0, 1)
    diploe = np.exp(-((bone_depth - 0.5) / 0.18) ** 2)
    bone = bone_hu - (bone_hu - hu0["bone_diploe"]) * diploe

    wm_la = anat.wm - findings.la * anat.wm
    hu = (anat.gm * gm_hu + wm_la * wm_hu + findings.la * anat.wm * (wm_hu - la_drop)
          + anat.csf * hu0["csf"] + f["rim"] * hu0["csf"] + f["bone"] * bone
          + f["scalp"] * hu0["scalp"] + f["air"] * hu0["air"])
    brain = anat.brain
    hu = hu + findings.infarct * brain * (hu0["infarct"] - hu)
    if findings.hemorrhage is not None:
        hu = hu + findings.hemorrhage * brain * (hu0["hemorrhage"] + rng.normal(0, 6) - hu)
    if contrast:
        # Enhancing vessels and dura in the CSF rim and sulci, a little
        # parenchymal enhancement.
        vessels = smooth_noise(rng, anat.gm.shape, 1.0) > 1.0
        sulci = np.clip(f["rim"] + anat.csf * (anat.vent_dist > 3), 0, 1)
        hu = (hu + sulci * vessels * (hu0["enhanced_vessel"] - hu0["csf"])
              + f["rim"] * 50.0 + brain * 4.0)
    truth = {"ct_gm_hu": float(gm_hu), "ct_wm_hu": float(wm_hu), "ct_la_contrast_hu": float(la_drop)}
    return hu.astype(np.float32), truth


def sub_slices(thickness_mm: float, atlas_mm: float) -> int:
    """Sub-slices that resolve the atlas within a thick slice."""
    return max(1, int(np.ceil(thickness_mm / (1.25 * atlas_mm))))


def scan(hu: np.ndarray, anat: Anatomy, grid: Grid, head_from_scanner: np.ndarray, vendor: str,
         kvp: float, rng: np.random.Generator, motion: bool) -> tuple[np.ndarray, dict[str, float]]:
    """Acquire the CT: partial-volume sampling, vendor noise, artefacts.

    Returns
    -------
    ct, truth
        int16 HU on ``grid``, and the noise and offset used.
    """
    v = P.CT["vendor"].get(vendor or "", P.CT["vendor"][""])
    thickness = grid.spacing[2]
    image = resample(hu, anat.affine, grid, head_from_scanner,
                     n_sub=sub_slices(thickness, anat.voxel_mm), cval=P.CT["hu"]["air"])
    if motion:
        # Ghost and smear along the in-plane phase direction.
        shift = int(rng.integers(3, 7))
        image = 0.7 * image + 0.3 * np.roll(image, shift, axis=1)
        image = ndimage.uniform_filter1d(image, size=3 + shift, axis=1)
    # Thinner slices and lower kVp are noisier (fewer photons per voxel).
    sd = v["noise_sd"] * np.sqrt(5.0 / thickness) * (120.0 / kvp) ** 1.5 * rng.uniform(0.9, 1.1)
    noise = rng.standard_normal(image.shape).astype(np.float32)
    sigma = v["smooth_mm"] / grid.spacing[0]
    if sigma > 0.3:
        noise = ndimage.gaussian_filter(noise, (sigma, sigma, 0))
    noise *= sd / max(float(noise.std()), 1e-6)
    image += noise
    body = image > -500
    image[body] += v["offset"]
    ct = np.clip(np.rint(image), -1024, 3071).astype(np.int16)
    return ct, {"ct_noise_sd": float(sd), "ct_offset_hu": float(v["offset"])}
