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
