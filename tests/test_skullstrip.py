"""Brain extraction on a numpy head phantom with a known brain.

The phantom (also used by ``test_registration.py``) is an ellipsoidal head:
scalp, skull, a CSF rim, grey and white matter, two unequal ventricles and
lesion blobs placed asymmetrically, so that a rotation is identifiable.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import ndimage

from leukoct.skullstrip import CTStripSettings, ball, ct_brain_mask, flair_brain_mask

AIR, SCALP, SKULL, CSF, GM, WM, VENTRICLE, LESION = range(8)
#: Brain semi-axes (mm) and the layers around it (mm).
BRAIN_AXES = np.array([62.0, 78.0, 58.0])
RIM, SKULL_MM, SCALP_MM = 2.0, 6.0, 5.0
LESIONS = [((16.0, 22.0, 14.0), 6.0), ((-19.0, -12.0, 9.0), 5.0), ((11.0, -27.0, -4.0), 5.5),
           ((-6.0, 33.0, 17.0), 4.5)]
CT_HU = {AIR: -1000, SCALP: 40, SKULL: 1100, CSF: 8, GM: 38, WM: 28, VENTRICLE: 6, LESION: 21}
FLAIR_SIGNAL = {AIR: 0, SCALP: 850, SKULL: 40, CSF: 80, GM: 780, WM: 620, VENTRICLE: 70,
                LESION: 1150}
INTRACRANIAL = (CSF, GM, WM, VENTRICLE, LESION)


def _inside(points: np.ndarray, centre, axes) -> np.ndarray:
    return (((points - np.asarray(centre)) / np.asarray(axes)) ** 2).sum(-1) <= 1.0


def head_labels(points: np.ndarray) -> np.ndarray:
    """Tissue label at each head-space point (``points[..., 3]`` in mm)."""
    labels = np.full(points.shape[:-1], AIR, np.uint8)
    for label, grow in ((SCALP, RIM + SKULL_MM + SCALP_MM), (SKULL, RIM + SKULL_MM), (CSF, RIM),
                        (GM, 0.0), (WM, -9.0)):
        labels[_inside(points, (0, 0, 0), BRAIN_AXES + grow)] = label
    labels[_inside(points, (9.0, 4.0, 6.0), (6.0, 20.0, 9.0))] = VENTRICLE
    labels[_inside(points, (-8.0, 2.0, 4.0), (4.5, 16.0, 7.0))] = VENTRICLE
    for centre, radius in LESIONS:
        labels[_inside(points, centre, (radius,) * 3)] = LESION
    return labels


def grid_points(shape, spacing, affine_head_from_grid=None) -> tuple[np.ndarray, np.ndarray]:
    """Head-space points of a centred grid, and the grid's voxel → mm affine."""
    affine = np.diag([*spacing, 1.0])
    affine[:3, 3] = -(np.asarray(shape) - 1) / 2.0 * np.asarray(spacing)
    index = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), -1)
    world = index * np.asarray(spacing) + affine[:3, 3]
    if affine_head_from_grid is not None:
        m = np.asarray(affine_head_from_grid)
        world = world @ m[:3, :3].T + m[:3, 3]
    return world, affine


def render(labels: np.ndarray, values: dict[int, float], spacing, noise: float,
           seed: int) -> np.ndarray:
    """Image of ``labels`` with a little blur (partial volume) and noise."""
    image = np.zeros(labels.shape, np.float32)
    for label, value in values.items():
        image[labels == label] = value
    image = ndimage.gaussian_filter(image, [0.6 / s for s in spacing])
    rng = np.random.default_rng(seed)
    return image + rng.normal(0.0, noise, image.shape).astype(np.float32)


def ct_phantom(spacing=(1.5, 1.5, 5.0), fov=(210.0, 240.0, 190.0), seed: int = 0):
    """(HU image, true intracranial mask, labels, affine) of the phantom CT."""
    shape = tuple(int(round(f / s)) for f, s in zip(fov, spacing))
    points, affine = grid_points(shape, spacing)
    labels = head_labels(points)
    hu = render(labels, CT_HU, spacing, noise=3.0, seed=seed)
    return hu, np.isin(labels, INTRACRANIAL), labels, affine


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * float((a & b).sum()) / float(a.sum() + b.sum())


@pytest.mark.parametrize("spacing", [(1.5, 1.5, 5.0), (0.9, 0.9, 2.0)])
def test_ct_brain_mask_matches_known_brain(spacing) -> None:
    hu, brain, labels, _ = ct_phantom(spacing)
    mask = ct_brain_mask(hu, spacing)
    assert dice(mask, brain) >= 0.95
    assert not (mask & (labels == SKULL)).any()
    assert not (mask & (labels == SCALP)).any()


def test_ct_brain_mask_cuts_a_scalp_bridge() -> None:
    spacing = (1.5, 1.5, 5.0)
    hu, brain, labels, _ = ct_phantom(spacing)
    # A 6 mm soft-tissue channel through the skull (a foramen) joins scalp and
    # brain; the bone margin alone leaves a 3 mm bridge that the opening cuts.
    i0, j0, k = hu.shape[0] // 2, hu.shape[1] // 2, hu.shape[2] // 2
    column = labels[i0, :j0, k]
    hu[i0 - 2:i0 + 2, :j0, k][:, column == SKULL] = 40.0
    mask = ct_brain_mask(hu, spacing)
    assert not (mask & (labels == SCALP)).any()
    assert dice(mask, brain) >= 0.95
    leaky = ct_brain_mask(hu, spacing, CTStripSettings(opening_mm=0.1))  # no opening
    assert (leaky & (labels == SCALP)).any()


def test_ct_brain_mask_rejects_images_not_in_hu() -> None:
    hu, *_ = ct_phantom((3.0, 3.0, 5.0))
    with pytest.raises(ValueError, match="Hounsfield"):
        ct_brain_mask(hu + 1024.0, (3.0, 3.0, 5.0))  # raw stored values, 0-4000
    with pytest.raises(ValueError, match="constant"):
        ct_brain_mask(np.zeros((20, 20, 10)), (3.0, 3.0, 5.0))
    with pytest.raises(ValueError, match="no brain"):
        ct_brain_mask(np.full((20, 20, 10), -1000.0) + np.eye(20)[:, :, None], (3.0, 3.0, 5.0))
    with pytest.raises(ValueError, match="3-D"):
        ct_brain_mask(hu[:, :, 0], (3.0, 3.0))


@pytest.mark.parametrize("spacing", [(1.5, 1.5, 5.0), (1.0, 1.0, 3.0)])
def test_flair_brain_mask_matches_known_brain(spacing) -> None:
    shape = tuple(int(round(f / s)) for f, s in zip((210.0, 240.0, 190.0), spacing))
    points, _ = grid_points(shape, spacing)
    labels = head_labels(points)
    image = render(labels, FLAIR_SIGNAL, spacing, noise=20.0, seed=1)
    mask = flair_brain_mask(image, spacing)
    assert dice(mask, np.isin(labels, INTRACRANIAL)) >= 0.93
    assert not (mask & np.isin(labels, (SCALP, SKULL))).any()
    assert (mask[labels == VENTRICLE]).all()  # ventricles filled in


def test_flair_brain_mask_rejects_empty_image() -> None:
    with pytest.raises(ValueError, match="constant"):
        flair_brain_mask(np.zeros((30, 30, 10)), (2.0, 2.0, 5.0))


def test_ball_is_in_millimetres() -> None:
    assert ball(3.0, (1.0, 1.0, 5.0)).shape == (7, 7, 1)  # thick slices: in-plane only
    assert ball(3.0, (1.5, 1.5, 1.5)).shape == (5, 5, 5)


# --- on the digital twin's CTs, against the twin's true brain ----------------------------------

#: The cranial cavity reaches this far outside the twin's brain: its CSF rim
#: (``subarachnoid_mm`` = 1.5 mm) plus one in-plane voxel (1.5 mm) of partial
#: volume.  A mask voxel farther out lies in the skull or the scalp.
CAVITY_MM = 3.0
#: Above this a voxel is bone (twin: diploe 650, cortex 1150 HU; brain, CSF,
#: scalp and blood all stay below 100 HU, enhancing vessels at 160 HU).
BONE_HU = 300.0


def strip_scores(hu: np.ndarray, spacing, mask: np.ndarray, brain: np.ndarray) -> dict[str, float]:
    """How a brain mask compares with the true brain: the share of the true
    brain it keeps, and the shares of its voxels that lie outside the cranial
    cavity (> ``CAVITY_MM`` from the brain) or are bone (> ``BONE_HU``)."""
    outside = ndimage.distance_transform_edt(~brain, sampling=spacing) > CAVITY_MM
    n = max(int(mask.sum()), 1)
    return {"kept": float((mask & brain).sum() / brain.sum()),
            "outside": float((mask & outside).sum() / n),
            "bone": float((mask & (hu > BONE_HU)).sum() / n)}


def _twin_cts(study) -> list[tuple[str, str]]:
    from leukoct.manifest import load_manifest
    from leukoct.twin.calibration import read_truth

    manifest = load_manifest(study / "manifest.csv")
    truth = read_truth(study)
    rows = manifest[manifest["ct_path"].notna()]
    # Severe motion is excluded before registration in every dataset that is
    # registered (criteria: motion_artifact precedes registration_error), and
    # the twin's motion ghost adds ~100-300 HU of smeared skull to the brain
    # edge along the phase direction: no HU window can tell that brain from
    # bone (the strip keeps 85-87 % of the brain on those CTs), so they are
    # not the population the 95 % target is about.
    reasons = truth.loc[rows["subject_id"], "exclusion_reason"].to_numpy()
    return [(s, p) for s, p, r in zip(rows["subject_id"], rows["ct_path"], reasons)
            if r != "motion_artifact"]


@pytest.fixture(scope="module")
def demo_grid_study(tmp_path_factory: pytest.TempPathFactory):
    """A few twin subjects on the demo profile's 1.5 mm CT grid (about 15 s).

    The ci study's 2 mm voxels are coarser than the 1.5 mm bone margin, so the
    margin's in-plane effect (which cost 5-6 % of the brain on the demo grid
    before the margin was given back) is only visible here.
    """
    from leukoct.twin import TwinSettings, generate_study

    settings = TwinSettings(development=3, external=2, us=1, clinical=0, atlas_resolution_mm=2,
                            ct_inplane_mm=1.5, workers=1)
    out = tmp_path_factory.mktemp("demo_grid_study")
    generate_study(settings, out, seed=11, workers=1, progress=False)
    return out


@pytest.mark.parametrize("study", ["ci_study", "demo_grid_study"])
def test_ct_brain_mask_on_twin_cts_keeps_the_brain_and_drops_the_skull(study, request) -> None:
    from leukoct.images import load_volume
    from leukoct.twin.calibration import truth_mask_path

    folder = request.getfixturevalue(study)
    cts = _twin_cts(folder)
    assert len(cts) >= 4, "CTs of several slice thicknesses"
    scores = {}
    for subject, path in cts:
        ct = load_volume(folder / path)
        brain = load_volume(truth_mask_path(folder, subject, "ct", "brain")).data > 0
        scores[subject] = strip_scores(ct.data, ct.spacing, ct_brain_mask(ct.data, ct.spacing),
                                       brain)
    table = pd.DataFrame(scores).T
    # Measured (all non-motion CTs): ci 2 mm grid kept 0.970-0.988; demo
    # 1.5 mm grid kept 0.96-0.99 (0.92-0.95 before the margin was given back);
    # outside the cavity < 0.4 %, bone < 0.5 % of the mask on both.
    assert (table["kept"] >= 0.95).all(), table.sort_values("kept").head()
    assert (table["outside"] < 0.01).all(), table.sort_values("outside").tail()
    assert (table["bone"] < 0.005).all(), table.sort_values("bone").tail()


def test_twin_strip_scores_fail_a_mask_with_skull_or_without_its_rim(ci_study) -> None:
    """The criteria above must fail the masks they exist to reject."""
    from leukoct.images import load_volume
    from leukoct.twin.calibration import truth_mask_path

    subject, path = _twin_cts(ci_study)[0]
    ct = load_volume(ci_study / path)
    brain = load_volume(truth_mask_path(ci_study, subject, "ct", "brain")).data > 0
    # The whole head (skull and scalp kept): the skull criteria fail.
    head = np.stack([ndimage.binary_fill_holes(s) for s in np.moveaxis(ct.data > -500, 2, 0)], 2)
    with_skull = strip_scores(ct.data, ct.spacing, head, brain)
    assert with_skull["kept"] > 0.99
    assert with_skull["outside"] > 0.2 and with_skull["bone"] > 0.05
    # A mask 4 mm too small all round: the 95 % criterion fails.
    eroded = ndimage.binary_erosion(brain, ball(4.0, ct.spacing))
    assert strip_scores(ct.data, ct.spacing, eroded, brain)["kept"] < 0.95
