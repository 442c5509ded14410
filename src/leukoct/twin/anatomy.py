"""One synthetic subject's anatomy: the atlas, deformed, scaled and aged.

Every map lives on the atlas grid ("subject space"); the scanners see it
later through a rigid head pose (:mod:`leukoct.twin.geometry`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage

from leukoct.twin import parameters as P
from leukoct.twin.atlas import Atlas

#: Centre (MNI mm) about which heads are scaled: roughly the brain's centre.
BRAIN_CENTRE_MM = np.array([0.0, -18.0, 8.0])


@dataclass
class PlaneWaves:
    """A smooth displacement field: a sum of plane waves, one set per axis.

    Evaluating it costs one sine per wave per point, with no interpolation,
    so the same field can be evaluated on any grid.
    """

    k: np.ndarray       # (axis, wave, 3) wave vectors, rad/mm
    phase: np.ndarray   # (axis, wave)
    amp: np.ndarray     # (axis, wave) mm

    @classmethod
    def draw(cls, rng: np.random.Generator, amplitude_mm: float,
             wavelength_mm: tuple[float, float], n_waves: int = 3) -> PlaneWaves:
        direction = rng.standard_normal((3, n_waves, 3))
        direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
        wavelength = rng.uniform(*wavelength_mm, size=(3, n_waves))
        k = direction * (2 * np.pi / wavelength)[..., None]
        amp = rng.uniform(0.5, 1.0, size=(3, n_waves))
        # Scale so that the RMS displacement per axis is amplitude_mm.
        amp *= amplitude_mm / np.sqrt((amp ** 2 / 2).sum(axis=1, keepdims=True))
        return cls(k=k, phase=rng.uniform(0, 2 * np.pi, size=(3, n_waves)), amp=amp)

    def on_axes(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Displacement (3, nx, ny, nz) on the grid spanned by 1-D world axes.

        float32 throughout: a few mm of displacement needs no more, and the
        vectorised float32 sine is several times faster.
        """
        out = np.zeros((3, len(x), len(y), len(z)), dtype=np.float32)
        x, y, z = (np.asarray(v, dtype=np.float32) for v in (x, y, z))
        for a in range(3):
            for w in range(self.k.shape[1]):
                kx, ky, kz = self.k[a, w].astype(np.float32)
                phase = np.float32(self.phase[a, w])
                arg = (kx * x)[:, None, None] + (ky * y)[None, :, None] + (kz * z + phase)[None, None, :]
                out[a] += np.float32(self.amp[a, w]) * np.sin(arg)
        return out

    def at_points(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Displacement and its Jacobian at scattered points, in float64.

        Parameters
        ----------
        points
            (n, 3) positions (mm) in the field's frame.

        Returns
        -------
        displacement, jacobian
            (n, 3) displacement (mm) and (n, 3, 3) derivatives
            ``d displacement[a] / d position[j]``.
        """
        p = np.asarray(points, dtype=float)
        arg = np.einsum("awj,nj->naw", self.k, p) + self.phase[None]
        disp = (self.amp[None] * np.sin(arg)).sum(axis=2)
        jac = np.einsum("naw,awj->naj", self.amp[None] * np.cos(arg), self.k)
        return disp, jac

    def in_frame(self, head_from_scanner: np.ndarray) -> PlaneWaves:
        """The same field with positions given in another frame (rigid map).

        A plane wave of a rigidly moved position is again a plane wave:
        k . (R p + t) = (R^T k) . p + k . t.
        """
        r, t = head_from_scanner[:3, :3], head_from_scanner[:3, 3]
        return PlaneWaves(k=self.k @ r, phase=self.phase + self.k @ t, amp=self.amp)


@dataclass
class Anatomy:
    """Tissue maps of one subject on the atlas grid.

    ``brain`` is the brain fraction, ``gm + wm + csf == brain``; distances
    are in mm.
    """

    gm: np.ndarray
    wm: np.ndarray
    csf: np.ndarray
    brain: np.ndarray
    sdist: np.ndarray
    vent_dist: np.ndarray
    affine: np.ndarray
    voxel_mm: float
    truth: dict[str, Any] = field(default_factory=dict)

    @property
    def voxel_ml(self) -> float:
        return self.voxel_mm ** 3 / 1000.0

    def world_axes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """1-D world coordinates (mm) of the grid's axes (the affine is diagonal)."""
        return tuple(self.affine[a, 3] + self.affine[a, a] * np.arange(self.gm.shape[a])
                     for a in range(3))  # type: ignore[return-value]


def ramp(x: np.ndarray, width: float) -> np.ndarray:
    """0 below -width/2, 1 above +width/2: a partial-volume edge."""
    return np.clip(x / width + 0.5, 0.0, 1.0)


def warp(volume: np.ndarray, coords: np.ndarray, cval: float) -> np.ndarray:
    """Trilinear pull-back of ``volume`` at voxel coordinates ``coords``."""
    return ndimage.map_coordinates(volume, coords, order=1, mode="constant",
                                   cval=cval, output=np.float32)


def make_anatomy(atlas: Atlas, rng: np.random.Generator, age: float) -> Anatomy:
    """Draw a subject's brain: smooth deformation, head size, age atrophy.

    Parameters
    ----------
    atlas
        The padded MNI152 head model.
    rng
        The subject's anatomy stream.
    age
        Years; ventricles and sulci widen with age.

    Returns
    -------
    Anatomy
        Maps on the atlas grid, with the drawn parameters in ``truth``.
    """
    a = P.ANATOMY
    scale = 1.0 + a["head_scale_sd"] * (0.8 * rng.standard_normal() + 0.6 * rng.standard_normal(3))
    amplitude = rng.uniform(*a["deformation_mm"])
    waves = PlaneWaves.draw(rng, amplitude, tuple(a["deformation_wavelength_mm"]))

    vox = atlas.voxel_mm
    x, y, z = (atlas.affine[i, 3] + vox * np.arange(atlas.shape[i]) for i in range(3))
    disp = waves.on_axes(x, y, z)
    # Pull-back: the subject's point p shows the template at c + (p - c)/s + d(p).
    coords = np.empty_like(disp)
    for i, axis in enumerate((x, y, z)):
        shape = [1, 1, 1]
        shape[i] = -1
        world = (BRAIN_CENTRE_MM[i] + (axis - BRAIN_CENTRE_MM[i]) / scale[i]).reshape(shape)
        coords[i] = (world + disp[i] - atlas.affine[i, 3]) / vox
    del disp
    gm = warp(atlas.gm, coords, 0.0)
    wm = warp(atlas.wm, coords, 0.0)
    sdist = warp(atlas.brain_sdist, coords, 100.0) * float(scale.mean())
    vent_dist = warp(atlas.vent_dist, coords, 100.0) * float(scale.mean())
    del coords

    brain = 1.0 - ramp(sdist, vox)
    # Ageing: ventricles grow into the periventricular white matter and
    # sulci widen at the surface; tissue becomes CSF, the brain outline stays.
    growth = max(age - 45.0, 0.0) * a["ventricle_growth_mm_per_year_over_45"] * rng.uniform(0.6, 1.4)
    to_ventricle = ramp(growth - vent_dist, vox) if growth > 0 else np.zeros_like(gm)
    sulcal = min(max(age - 40.0, 0.0) * a["sulcal_csf_per_year_over_40"] * rng.uniform(0.6, 1.4), 0.5)
    near_surface = np.clip(1.0 + sdist / 6.0, 0.0, 1.0) * (sdist < 0)
    keep = (1.0 - to_ventricle) * (1.0 - sulcal * near_surface)
    gm = (gm * keep).astype(np.float32)
    wm = (wm * (1.0 - to_ventricle)).astype(np.float32)
    tissue = gm + wm
    over = tissue > brain
    gm[over] *= brain[over] / tissue[over]
    wm[over] *= brain[over] / tissue[over]
    csf = np.clip(brain - gm - wm, 0.0, 1.0).astype(np.float32)
    vent_dist = np.maximum(vent_dist - growth, 0.0).astype(np.float32)

    truth = {"head_scale": float(np.prod(scale) ** (1 / 3)), "deformation_mm": float(amplitude),
             "ventricle_growth_mm": float(growth), "sulcal_widening": float(sulcal)}
    return Anatomy(gm=gm, wm=wm, csf=csf, brain=brain.astype(np.float32), sdist=sdist,
                   vent_dist=vent_dist, affine=atlas.affine.copy(), voxel_mm=vox, truth=truth)
