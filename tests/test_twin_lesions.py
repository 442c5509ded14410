"""The twin's segmentations agree with each other as seed 002's do.

Seed 002 (Kim, Ryu et al., AJNR 2024, the paper's ref. 11) reports two
agreements between *masks*, not against the truth: five trained raters at DSC
0.744 (95% CI 0.738-0.751) and the WMH software against the human criterion
standard at 0.722 (0.719-0.726).  The twin's accuracies against the truth
(``leukoct.twin.parameters.SEGMENTATION``) must reproduce both when its own
segmentation model draws two masks independently.
"""

from __future__ import annotations

import numpy as np
import pytest

from leukoct.metrics import dice
from leukoct.twin import parameters as P
from leukoct.twin.anatomy import make_anatomy
from leukoct.twin.atlas import load_atlas
from leukoct.twin.lesions import grow_la, perturbed_copy

INTER_RATER_DICE = 0.744         # seed 002, Results
SOFTWARE_VS_HUMAN_DICE = 0.722   # seed 002, Results (SE-UNet, external sets)


@pytest.fixture(scope="module")
def fields() -> list:
    atlas = load_atlas(2)
    rng = np.random.default_rng(11)
    out = []
    for volume in (4.0, 9.0, 18.0, 35.0):
        anat = make_anatomy(atlas, rng, age=70.0)
        out.append(grow_la(anat, rng, volume))
    return out


def _agreement(fields: list, d_a: float, d_b: float, seed: int) -> float:
    rng = np.random.default_rng(seed)
    values = []
    for field in fields:
        for _ in range(2):
            a, _ = perturbed_copy(field, rng, d_a, 1.0)
            b, _ = perturbed_copy(field, rng, d_b, 1.0)
            values.append(dice(a, b, empty=1.0))
    return float(np.mean(values))


def test_perturbed_copy_hits_its_target(fields: list) -> None:
    rng = np.random.default_rng(3)
    for field in fields:
        mask, achieved = perturbed_copy(field, rng, 0.8, 1.0)
        assert achieved == pytest.approx(dice(mask, field.mask, empty=1.0))
        assert abs(achieved - 0.8) < 0.03


def test_two_raters_agree_as_seed_002s(fields: list) -> None:
    rater = P.SEGMENTATION["flair_rater_dice"]
    assert _agreement(fields, rater, rater, seed=5) == pytest.approx(INTER_RATER_DICE, abs=0.03)


def test_software_agrees_with_a_rater_as_seed_002s(fields: list) -> None:
    rater, software = P.SEGMENTATION["flair_rater_dice"], P.SEGMENTATION["software_dice_mean"]
    assert _agreement(fields, software, rater, seed=6) == pytest.approx(
        SOFTWARE_VS_HUMAN_DICE, abs=0.03)
    # The rule it replaces: the software's published DSC taken as Dice against
    # the truth leaves it far below seed 002's agreement with humans.
    assert _agreement(fields, SOFTWARE_VS_HUMAN_DICE, rater, seed=6) < SOFTWARE_VS_HUMAN_DICE - 0.03
