"""FLAIR MRI of the same subject: CSF dark, WMH bright, bias and Rician noise.

The FLAIR sees the brain a few hours after the CT with a small non-linear
difference (positioning, brain shift), applied in subject space before the
FLAIR scanner's own rigid pose.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from leukoct.twin import parameters as P
from leukoct.twin.anatomy import Anatomy, PlaneWaves
from leukoct.twin.ct import Findings, HeadLayers, layer_fractions
from leukoct.twin.geometry import Grid


def signal_map(anat: Anatomy, findings: Findings, layers: HeadLayers) -> np.ndarray:
    """Noise-free FLAIR signal (WM about 0.6) in subject space."""
    s = P.FLAIR["signal"]
    f = layer_fractions(anat, layers)
    out = (anat.gm * s["gm"] + anat.wm * (s["wm"] + findings.la * (s["lesion"] - s["wm"]))
           + anat.csf * s["csf"] + f["rim"] * s["csf"] + f["bone"] * s["bone"]
           + f["scalp"] * s["scalp"] + f["air"] * s["air"])
    out = out + findings.infarct * anat.brain * (s["infarct"] - out)
    if findings.hemorrhage is not None:
        out = out + findings.hemorrhage * anat.brain * (s["hemorrhage"] - out)
    return out.astype(np.float32)


def sample_warped(volumes: list[np.ndarray], anat: Anatomy, grid: Grid,
                  head_from_scanner: np.ndarray, waves: PlaneWaves, n_sub: int = 2) -> list[np.ndarray]:
    """Sample subject-space maps on a scanner grid through pose and a smooth warp.

    The FLAIR sees the subject's point ``h + d(h)`` where ``h`` is the rigid
    image of the scanner position and ``d`` a small plane-wave field: the
    non-linear CT/FLAIR difference.  Coordinates are built on the scanner
    grid itself (smaller than subject space) from separable axes.
    """
    sub = np.diag([1.0, 1.0, 1.0 / n_sub, 1.0])
    sub[2, 3] = -0.5 + 0.5 / n_sub
    a = grid.affine @ sub
    shape = (grid.shape[0], grid.shape[1], grid.shape[2] * n_sub)
    p = [(a[i, i] * np.arange(shape[i]) + a[i, 3]).astype(np.float32) for i in range(3)]
    disp = waves.in_frame(head_from_scanner).on_axes(*p)
    h = head_from_scanner.astype(np.float32)
    for i in range(3):
        disp[i] += (h[i, 0] * p[0])[:, None, None] + (h[i, 1] * p[1])[None, :, None] \
            + (h[i, 2] * p[2] + h[i, 3])[None, None, :]
        disp[i] -= np.float32(anat.affine[i, 3])
        disp[i] /= np.float32(anat.affine[i, i])
    out = []
    for v in volumes:
        img = ndimage.map_coordinates(v, disp, order=1, mode="constant", cval=0.0,
                                      output=np.float32)
        out.append(img.reshape(*grid.shape, n_sub).mean(axis=3))
    return out


def scan(image: np.ndarray, grid: Grid, vendor: str, field_t: float | None,
         rng: np.random.Generator, motion: bool) -> tuple[np.ndarray, dict[str, float]]:
    """Acquire the FLAIR from its sampled signal: bias field, Rician noise, gain.

    Returns
    -------
    flair, truth
        int16 image on ``grid`` and the noise level used.
    """
    key = "" if field_t is None or np.isnan(field_t) else f"{field_t:.1f}"
    if motion:
        shift = int(rng.integers(3, 8))
        image = 0.75 * image + 0.25 * np.roll(image, shift, axis=1)
    # Smooth multiplicative bias: stronger at 3 T (B1 inhomogeneity).
    amp = P.FLAIR["bias_amplitude"].get(key, 0.15)
    u = [np.linspace(-1, 1, n) for n in grid.shape]
    c = rng.normal(0, 1, size=6)
    log_bias = (c[0] * u[0][:, None, None] + c[1] * u[1][None, :, None] + c[2] * u[2][None, None, :]
                + c[3] * (u[0] ** 2)[:, None, None] + c[4] * (u[1] ** 2)[None, :, None]
                + c[5] * (u[0][:, None, None] * u[2][None, None, :]))
    image *= np.exp(amp * log_bias / 2.5).astype(np.float32)
    sd = P.FLAIR["noise_sd"].get(key, 0.03) * rng.uniform(0.85, 1.15)
    real = image + sd * rng.standard_normal(image.shape).astype(np.float32)
    imag = sd * rng.standard_normal(image.shape).astype(np.float32)
    magnitude = np.sqrt(real ** 2 + imag ** 2)
    gain = P.FLAIR["vendor_gain"].get(vendor or "", 1.0) * P.FLAIR["scale"]
    flair = np.clip(np.rint(magnitude * gain), 0, 32767).astype(np.int16)
    return flair, {"flair_noise_sd": float(sd), "flair_bias_amplitude": float(amp)}


def scanner_points(subject_points: np.ndarray, head_from_scanner: np.ndarray, waves: PlaneWaves,
                   max_iter: int = 50, tol_mm: float = 1e-6) -> np.ndarray:
    """Scanner positions whose FLAIR sample shows the given subject points.

    The inverse of the map :func:`sample_warped` samples through: scanner
    point ``x`` shows subject point ``h + d(h)`` with ``h = head_from_scanner
    @ x``.  ``h + d(h) = s`` is solved for ``h`` by Newton's method (the plane
    waves' Jacobian is analytic), then ``x`` is the rigid pose's inverse image
    of ``h``.  Deterministic: no random number is drawn.

    Parameters
    ----------
    subject_points
        (n, 3) subject-space positions (mm).
    head_from_scanner
        The FLAIR's rigid pose (4x4, scanner mm -> subject mm).
    waves
        The FLAIR's non-linear field (subject frame), as given to :func:`sample_warped`.
    max_iter, tol_mm
        Newton iterations at most; stop when every residual is below ``tol_mm``.

    Returns
    -------
    numpy.ndarray
        (n, 3) FLAIR scanner positions (mm, the FLAIR NIfTI's world frame).
    """
    s = np.asarray(subject_points, dtype=float)
    h = s.copy()
    for _ in range(max_iter):
        disp, jac = waves.at_points(h)
        residual = h + disp - s
        if np.abs(residual).max(initial=0.0) < tol_mm:
            break
        h -= np.linalg.solve(np.eye(3) + jac, residual[..., None])[..., 0]
    r, t = head_from_scanner[:3, :3], head_from_scanner[:3, 3]
    return (h - t) @ r


def ct_to_flair_positions(ct_affine: np.ndarray, ct_shape: tuple[int, int, int],
                          head_from_ct: np.ndarray, head_from_flair: np.ndarray,
                          waves: PlaneWaves, brain_box_mm: np.ndarray,
                          spacing_mm: float = 4.0, margin_mm: float = 10.0
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Where CT points truly lie in the FLAIR scanner frame, on a coarse CT-aligned grid.

    The CT scanner point ``c`` shows subject point ``head_from_ct @ c`` (no
    warp); the FLAIR point that shows the same subject point is
    :func:`scanner_points`.  The grid's nodes are CT voxel centres (every
    ``round(spacing_mm / voxel)``-th voxel per axis) over the bounding box of
    the brain plus ``margin_mm``, so the field can be read exactly at those
    voxels and trilinearly (smooth field) anywhere between them.

    Parameters
    ----------
    ct_affine, ct_shape
        The written CT's voxel -> world (RAS mm) affine and shape.
    head_from_ct, head_from_flair
        The scanners' rigid poses (scanner mm -> subject mm).
    waves
        The FLAIR's non-linear field (subject frame).
    brain_box_mm
        (2, 3) lower and upper corner of the brain in subject space (mm).
    spacing_mm, margin_mm
        Target node spacing; margin around the brain's box.

    Returns
    -------
    positions, affine
        float32 (nx, ny, nz, 3) FLAIR scanner positions (RAS mm) of the nodes,
        and the nodes' voxel -> CT world (RAS mm) affine.
    """
    corners = np.array([[brain_box_mm[i, 0], brain_box_mm[j, 1], brain_box_mm[k, 2], 1.0]
                        for i in (0, 1) for j in (0, 1) for k in (0, 1)])
    index = (np.linalg.inv(ct_affine) @ np.linalg.inv(head_from_ct) @ corners.T)[:3].T
    voxel = np.linalg.norm(ct_affine[:3, :3], axis=0)
    stride = np.maximum(1, np.round(spacing_mm / voxel)).astype(int)
    pad = margin_mm / voxel
    lower = np.clip(np.floor(index.min(axis=0) - pad), 0, np.asarray(ct_shape) - 1).astype(int)
    upper = np.clip(np.ceil(index.max(axis=0) + pad), 0, np.asarray(ct_shape) - 1).astype(int)
    n = np.ceil((upper - lower) / stride).astype(int) + 1
    node_affine = ct_affine @ np.vstack([np.column_stack([np.diag(stride), lower]), [0, 0, 0, 1]])
    ijk = np.stack(np.meshgrid(*(np.arange(m) for m in n), indexing="ij"), axis=-1).reshape(-1, 3)
    ct_mm = ijk @ node_affine[:3, :3].T + node_affine[:3, 3]
    subject = ct_mm @ head_from_ct[:3, :3].T + head_from_ct[:3, 3]
    flair_mm = scanner_points(subject, head_from_flair, waves)
    return flair_mm.reshape(*n, 3).astype(np.float32), node_affine
