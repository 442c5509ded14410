"""The seed's UNet and SE-UNet, and a member that learns a toy segmentation."""

import numpy as np
import pytest
import torch

from leukoct.settings import WMHSegmentationSettings
from leukoct.wmh.ensemble import member_subjects, predict, soft_dice, train_member
from leukoct.wmh.networks import UNet2D, build


def test_shapes_probabilities_and_squeeze_excitation():
    torch.manual_seed(0)
    x = torch.randn(2, 1, 32, 32)
    unet, se = build("unet", 4), build("se_unet", 4)
    for net in (unet, se):
        with torch.no_grad():
            y = net.eval()(x)
        assert y.shape == x.shape
        assert float(y.min()) > 0 and float(y.max()) < 1
    n = [sum(p.numel() for p in m.parameters()) for m in (unet, se)]
    assert n[1] > n[0]                                 # the SE blocks' weights
    assert len(unet.down) == 3 and len(unet.down[0]) == 3   # 3 levels, 3 convolutions each


def test_slice_size_must_allow_three_poolings():
    with pytest.raises(ValueError, match="divisible by 8"):
        UNet2D(4)(torch.zeros(1, 1, 20, 20))
    with pytest.raises(ValueError, match="architecture"):
        build("resnet", 4)


def test_member_subjects_are_a_seeded_share():
    subjects = [f"S{i:02d}" for i in range(20)]
    a = member_subjects(subjects, 0.9, seed=1)
    assert len(a) == 18 and a == member_subjects(subjects, 0.9, seed=1)
    assert a != member_subjects(subjects, 0.9, seed=2)


def _toy(n, rng):
    """Bright squares on noise: the lesion is the square."""
    x = rng.normal(0, 0.3, (n, 32, 32)).astype(np.float32)
    y = np.zeros_like(x)
    for i in range(n):
        r, c = rng.integers(4, 22, 2)
        x[i, r:r + 6, c:c + 6] += 2.0
        y[i, r:r + 6, c:c + 6] = 1.0
    return x, y


def test_a_member_learns_a_toy_segmentation():
    rng = np.random.default_rng(0)
    x, y = _toy(48, rng)
    vx, vy = _toy(16, rng)
    settings = WMHSegmentationSettings(base_features=4, epochs=10, batch_size=8, learning_rate=1e-2)
    member = train_member(x, y, settings, seed=3, validation=(vx, vy))
    history = member.history
    assert list(history.columns) == ["epoch", "loss", "seconds", "val_dice", "kept"]
    assert history["val_dice"].max() > 0.8
    # The kept weights are the best validation epoch's, and score what it scored.
    kept = history.loc[history["kept"], "val_dice"]
    assert len(kept) == 1 and kept.iloc[0] == history["val_dice"].max()
    assert soft_dice(predict([member.network], vx)[0], vy) == pytest.approx(kept.iloc[0])
