"""Plotting helpers for images: windows, axial slices and mask outlines."""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.axes
import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

#: Display windows (centre, width) in the image's units.
BRAIN_WINDOW_HU: tuple[float, float] = (40.0, 80.0)


def window(image: np.ndarray, centre: float, width: float) -> np.ndarray:
    """Map ``image`` to [0, 1] through a display window (radiology convention)."""
    low = centre - width / 2.0
    return np.clip((image - low) / width, 0.0, 1.0)


def robust_window(image: np.ndarray, mask: np.ndarray | None = None,
                  percentiles: tuple[float, float] = (1.0, 99.0)) -> tuple[float, float]:
    """A (centre, width) window spanning the given percentiles of ``image``
    (inside ``mask`` if given); used for MRI, whose intensities have no unit."""
    values = image[mask > 0] if mask is not None and mask.any() else image[image > 0]
    if values.size == 0:
        values = image.ravel()
    low, high = np.percentile(values, percentiles)
    return float((low + high) / 2.0), float(max(high - low, 1e-6))


def show_axial(ax: matplotlib.axes.Axes, volume: np.ndarray, index: int,
               spacing: tuple[float, float, float], centre: float, width: float,
               overlay: np.ndarray | None = None, overlay_color: str = "#ff3b30",
               title: str | None = None) -> None:
    """Show axial slice ``index`` of a RAS+ volume, anterior up, with the
    physical aspect ratio and an optional mask outline."""
    plane = window(volume[:, :, index], centre, width).T
    ax.imshow(plane, cmap="gray", origin="lower", vmin=0, vmax=1,
              aspect=spacing[1] / spacing[0], interpolation="nearest")
    if overlay is not None and np.any(overlay[:, :, index] > 0):
        ax.contour((overlay[:, :, index] > 0).T.astype(float), levels=[0.5],
                   colors=overlay_color, linewidths=0.8, origin="lower")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)


def grotta_bars(ax: matplotlib.axes.Axes, outcome: pd.Series, group: pd.Series,
                levels: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6),
                cmap: str = "RdYlGn_r") -> pd.DataFrame:
    """Horizontal stacked bars of an ordinal outcome's distribution per group
    ("Grotta bars", the stroke trials' picture of an mRS shift).

    Returns the proportions drawn (groups × levels), so a caller can print
    them beside the figure.
    """
    import matplotlib.pyplot as plt
    import pandas as pd

    counts = pd.crosstab(group, outcome).reindex(columns=list(levels), fill_value=0)
    shares = counts.div(counts.sum(axis=1), axis=0)
    colours = plt.get_cmap(cmap)(np.linspace(0.05, 0.95, len(levels)))
    left = np.zeros(len(shares))
    for level, colour in zip(levels, colours):
        width = shares[level].to_numpy()
        ax.barh(range(len(shares)), width, left=left, color=colour, edgecolor="white",
                linewidth=0.5, label=str(level))
        for i, (x, w) in enumerate(zip(left, width)):
            if w >= 0.06:
                ax.text(x + w / 2, i, f"{100 * w:.0f}", ha="center", va="center", fontsize=7)
        left += width
    ax.set_yticks(range(len(shares)), [str(g) for g in shares.index])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of patients")
    ax.legend(title="mRS", ncols=len(levels), fontsize=7, title_fontsize=7,
              loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    return shares


def checkerboard(a: np.ndarray, b: np.ndarray, block: int = 16) -> np.ndarray:
    """Interleave two images of the same shape in square blocks (2-D or the
    first two axes): the classic picture of how well two images align."""
    if a.shape != b.shape:
        raise ValueError(f"checkerboard needs images of one shape, got {a.shape} and {b.shape}")
    i, j = np.indices(a.shape[:2])
    tiles = ((i // block + j // block) % 2).astype(bool)
    tiles = tiles.reshape(tiles.shape + (1,) * (a.ndim - 2))
    return np.where(tiles, a, b)


def identity_scatter(ax: matplotlib.axes.Axes, x: pd.Series, y: pd.Series,
                     hue: pd.Series | None = None, hue_order: list | None = None,
                     annotation: str | None = None, size: float = 18.0) -> None:
    """Paired volumes as a scatter on equal axes from 0, with the identity line.

    The picture of an agreement analysis: points on the dashed line agree;
    ``annotation`` (e.g. the CCC) is written in the upper-left corner.
    """
    import seaborn as sns

    top = 1.05 * float(max(np.nanmax(np.asarray(x, float), initial=0.0),
                           np.nanmax(np.asarray(y, float), initial=0.0), 1.0))
    ax.plot([0, top], [0, top], color="0.5", lw=0.8, ls="--", zorder=0)
    sns.scatterplot(x=np.asarray(x, float), y=np.asarray(y, float),
                    hue=None if hue is None else np.asarray(hue, object), hue_order=hue_order,
                    s=size, ax=ax, legend=hue is not None)
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_aspect("equal")
    if annotation:
        ax.text(0.03, 0.97, annotation, transform=ax.transAxes, va="top", fontsize=9)
