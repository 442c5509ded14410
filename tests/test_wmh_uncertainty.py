"""The deep ensemble's KL divergence and uncertainty index (seed 002), by hand."""

import numpy as np
import pytest

from leukoct.wmh.uncertainty import kl_divergence, uncertainty_index


def _kl(p):
    # Bernoulli(p) against Bernoulli(0.5), written out.
    return p * np.log(2 * p) + (1 - p) * np.log(2 * (1 - p))


def test_divergence_matches_the_closed_form():
    p = np.array([0.1, 0.5, 0.6, 0.951, 0.99])
    assert kl_divergence(p) == pytest.approx(_kl(p))
    assert kl_divergence(np.array([0.0, 1.0])) == pytest.approx([np.log(2)] * 2)


def test_index_by_hand():
    # Predicted (>= 0.5): 0.6, 0.96, 0.99, 0.5.  Divergences 0.020, 0.525, 0.637, 0:
    # two of four below 0.5.
    p = np.array([0.6, 0.96, 0.99, 0.3, 0.5])
    assert _kl(0.96) > 0.5 > _kl(0.6)
    assert uncertainty_index(p) == 0.5


def test_confident_ensemble_has_index_zero_and_empty_is_undefined():
    assert uncertainty_index(np.array([0.999, 0.001, 1.0])) == 0.0
    assert np.isnan(uncertainty_index(np.zeros((3, 3))))


def test_probability_outside_unit_interval_is_refused():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        kl_divergence(np.array([1.2]))
