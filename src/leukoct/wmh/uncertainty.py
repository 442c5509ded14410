"""The deep ensemble's uncertainty index (seed 002, "The Uncertainty Index").

Kim et al. average the 5 members' probabilities, take each voxel's
Kullback-Leibler divergence from the prior 0.5 ("each voxel has an equal
chance of being predicted as WMH") with ``scipy.stats.entropy``, and report

.. math::

    \\text{uncertainty index} = \\frac{\\#\\{\\text{predicted WMH voxels with divergence} < 0.5\\}}
                                    {\\#\\{\\text{predicted WMH voxels}\\}}.

The divergence of a Bernoulli(p) from Bernoulli(0.5) is
:math:`p \\ln 2p + (1-p) \\ln 2(1-p)`: 0 at p = 0.5, :math:`\\ln 2 \\approx 0.693`
at 0 or 1, and 0.5 at p ≈ 0.951 -- so the index is the share of predicted
WMH voxels on which the ensemble is less than ~95 % sure.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

#: The seed's prior probability and divergence cut.
PRIOR = 0.5
DIVERGENCE_CUT = 0.5

#: Seed 002's external-set figures: share of patients with index < 0.35 and their mean DSC.
SEED002_LOW_UNCERTAINTY = {"cut": 0.35, "share": 0.86, "mean_dsc": 0.744}


def kl_divergence(probability: np.ndarray, prior: float = PRIOR) -> np.ndarray:
    """Voxel KL divergence of Bernoulli(probability) from Bernoulli(prior), in nats.

    ``scipy.stats.entropy`` over the two outcomes, as the seed computes it.
    """
    p = np.asarray(probability, dtype=np.float64)
    if p.size and (np.nanmin(p) < 0 or np.nanmax(p) > 1):
        raise ValueError("probability must lie in [0, 1] (the ensemble's mean probability)")
    if not 0 < prior < 1:
        raise ValueError(f"prior must lie in (0, 1), got {prior}")
    return stats.entropy(np.stack([p, 1 - p]), np.stack([np.full_like(p, prior),
                                                         np.full_like(p, 1 - prior)]), axis=0)


def uncertainty_index(probability: np.ndarray, threshold: float = 0.5,
                      divergence_cut: float = DIVERGENCE_CUT, prior: float = PRIOR) -> float:
    """Share of predicted WMH voxels whose divergence from the prior is below the cut.

    Parameters
    ----------
    probability
        The ensemble's mean probability map of one patient.
    threshold
        Voxels at or above it are predicted WMH (seed: 0.5).
    divergence_cut, prior
        The seed's 0.5 and 0.5.

    Returns
    -------
    float
        In [0, 1]; NaN when no voxel is predicted (the index is undefined:
        there is nothing to be unsure about).
    """
    p = np.asarray(probability, dtype=np.float64)
    predicted = p >= threshold
    n = int(predicted.sum())
    if n == 0:
        return float("nan")
    return float((kl_divergence(p[predicted], prior) < divergence_cut).sum() / n)
