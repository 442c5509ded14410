"""FLAIR → CT registration on a phantom pair with a known rigid transform.

The phantom head of ``test_skullstrip.py`` is imaged twice: as a CT on a
1.5 x 1.5 x 5 mm grid and as a FLAIR on its own 2 x 2 x 5 mm grid, rotated
and shifted by a known rigid transform.  The "WMH mask" is the true lesion on
the FLAIR grid, so the warped mask can be compared with the true CT lesion.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from scipy.spatial.transform import Rotation
from test_skullstrip import (
    CT_HU,
    FLAIR_SIGNAL,
    INTRACRANIAL,
    LESION,
    SKULL,
    grid_points,
    head_labels,
    render,
)

from leukoct.images import load_volume
from leukoct.metrics import dice
from leukoct.registration import (
    CT_ON_FLAIR_FILE,
    FLAIR_LABEL_FILE,
    PROBABILITY_FILE,
    PSEUDOLABEL_FILE,
    RegistrationSettings,
    flag_registration_errors,
    qc_scores,
    register_pair,
)

CT_SPACING, FLAIR_SPACING = (1.5, 1.5, 5.0), (2.0, 2.0, 5.0)
CT_FOV, FLAIR_FOV = (210.0, 240.0, 190.0), (200.0, 230.0, 180.0)
#: Fast settings for the phantom: coarse grid, one thread (reproducible).
#: The linearly warped probability map cut at 0 (the default carries the mask
#: by nearest-neighbour label transfer), so that the tests below compare readings.
FAST = RegistrationSettings(type_of_transform="Rigid", resolution_mm=3.0, iterations=(60, 30, 0),
                            threads=1, label_interpolation="linear")
#: Measured with FAST on the phantom: Dice 0.87 for the default pose (0.77-0.89
#: over four poses), 0.0-0.2 without registration.
MIN_DICE = 0.75
POSE = ((4.0, -3.0, 5.0), (5.0, -4.0, 6.0))


def rigid(rotation_deg, shift_mm) -> np.ndarray:
    m = np.eye(4)
    m[:3, :3] = Rotation.from_euler("xyz", rotation_deg, degrees=True).as_matrix()
    m[:3, 3] = shift_mm
    return m


def write_pair(folder: Path, rotation_deg=POSE[0], shift_mm=POSE[1],
               seed: int = 0) -> dict[str, Path]:
    """Write a phantom CT, FLAIR, WMH mask and true CT lesion; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    shape = tuple(int(round(f / s)) for f, s in zip(CT_FOV, CT_SPACING))
    points, ct_affine = grid_points(shape, CT_SPACING)
    ct_labels = head_labels(points)
    ct = np.round(render(ct_labels, CT_HU, CT_SPACING, 3.0, seed)).astype(np.int16)
    # FLAIR scanner point p shows head point head_from_flair @ p.
    shape = tuple(int(round(f / s)) for f, s in zip(FLAIR_FOV, FLAIR_SPACING))
    points, flair_affine = grid_points(shape, FLAIR_SPACING, rigid(rotation_deg, shift_mm))
    flair_labels = head_labels(points)
    flair = render(flair_labels, FLAIR_SIGNAL, FLAIR_SPACING, 20.0, seed + 1).clip(0)
    paths = {name: folder / f"{name}.nii.gz" for name in ("ct", "flair", "wmh", "lesion_ct")}
    for name, data, affine in (("ct", ct, ct_affine), ("flair", flair.astype(np.int16), flair_affine),
                               ("wmh", (flair_labels == LESION).astype(np.uint8), flair_affine),
                               ("lesion_ct", (ct_labels == LESION).astype(np.uint8), ct_affine)):
        nib.save(nib.Nifti1Image(data, affine), str(paths[name]))
    return paths


def run(paths: dict[str, Path], out: Path, settings: RegistrationSettings = FAST, **kw):
    return register_pair(paths["ct"], paths["flair"], paths["wmh"], settings=settings,
                         out_dir=out, **kw)


def read(path: Path) -> np.ndarray:
    return np.asarray(nib.load(str(path)).dataobj)


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> dict[str, Path]:
    return write_pair(tmp_path_factory.mktemp("phantom"))


@pytest.fixture(scope="module")
def registered(pair, tmp_path_factory):
    return run(pair, tmp_path_factory.mktemp("registered") / "S-001", subject_id="S-001")


def test_registration_recovers_the_known_rigid_transform(pair, registered) -> None:
    lesion = read(pair["lesion_ct"]) > 0
    probability = read(registered.probability_path)
    assert dice(probability > 0.5, lesion) >= MIN_DICE
    assert registered.qc["brain_dice"] >= 0.95
    # The rotation found is the one planted.
    planted = np.degrees(Rotation.from_euler("xyz", POSE[0], degrees=True).magnitude())
    assert registered.qc["rotation_deg"] == pytest.approx(planted, abs=0.5)


def test_without_registration_the_lesion_is_missed(pair, tmp_path) -> None:
    result = run(pair, tmp_path / "identity", FAST.model_copy(update={"type_of_transform": "Identity"}))
    lesion = read(pair["lesion_ct"]) > 0
    assert dice(read(result.probability_path) > 0.5, lesion) < 0.5
    assert result.transforms == []


def test_outputs_have_the_ct_geometry(pair, registered) -> None:
    ct = nib.load(str(pair["ct"]))
    for path in (registered.probability_path, registered.pseudolabel_path):
        image = nib.load(str(path))
        assert image.shape == ct.shape
        np.testing.assert_allclose(image.affine, ct.affine, atol=1e-4)
    probability = read(registered.probability_path)
    assert probability.min() >= 0.0 and probability.max() <= 1.0
    assert set(np.unique(read(registered.pseudolabel_path))) <= {0, 1}
    # Pseudo-label = probability > 0, the paper's rule.
    np.testing.assert_array_equal(read(registered.pseudolabel_path) > 0, probability > 0)


def test_only_the_expected_files_are_kept(registered) -> None:
    out = registered.probability_path.parent
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(["flair_to_ct_0GenericAffine.mat", PROBABILITY_FILE, PSEUDOLABEL_FILE])
    assert [p.name for p in registered.transforms] == ["flair_to_ct_0GenericAffine.mat"]


def test_ct_to_flair_puts_the_ct_on_the_flair_grid_and_keeps_the_mask(pair, tmp_path) -> None:
    """Seed 003's direction: the CT resampled onto the FLAIR grid through the
    inverted rigid transform, checked against the phantom's CT rendered directly
    on the FLAIR's (posed) grid; the label is the WMH mask as drawn."""
    flair = nib.load(str(pair["flair"]))
    shape = tuple(int(round(f / s)) for f, s in zip(FLAIR_FOV, FLAIR_SPACING))
    labels = head_labels(grid_points(shape, FLAIR_SPACING, rigid(*POSE))[0])
    skull = {}
    for transform in ("Rigid", "Identity"):
        settings = FAST.model_copy(update={"type_of_transform": transform,
                                           "direction": "ct_to_flair"})
        result = run(pair, tmp_path / transform, settings)
        out = result.probability_path.parent
        ct_on_flair = nib.load(str(out / CT_ON_FLAIR_FILE))
        assert ct_on_flair.shape == flair.shape and ct_on_flair.get_data_dtype() == np.int16
        np.testing.assert_allclose(ct_on_flair.affine, flair.affine, atol=1e-4)
        np.testing.assert_array_equal(read(out / FLAIR_LABEL_FILE), read(pair["wmh"]))
        hu = read(out / CT_ON_FLAIR_FILE)
        skull[transform] = dice(hu > 500, labels == SKULL)
        if transform == "Rigid":
            expected = np.vectorize(CT_HU.get)(labels)
            inside = np.isin(labels, INTRACRANIAL)
            # Measured: median |error| 1.5 HU, 88 % of brain voxels within 10 HU
            # (partial volume at tissue borders); header alignment: 75 %.
            assert np.median(np.abs(hu - expected)[inside]) < 4.0
            assert (np.abs(hu - expected)[inside] < 10).mean() > 0.82
            assert result.qc["direction"] == "ct_to_flair"
        # The paper's CT-grid pseudo-label is written as well (like-for-like evaluation).
        assert result.pseudolabel_path.is_file()
    # Measured skull Dice: 0.91 registered, 0.32 by the headers alone.
    assert skull["Rigid"] > 0.85 > 0.5 > skull["Identity"]


def test_ct_to_flair_refuses_a_deformable_registration() -> None:
    with pytest.raises(ValidationError, match="type_of_transform: Rigid"):
        RegistrationSettings(direction="ct_to_flair")
    assert "direction" not in RegistrationSettings().workflow_params()
    assert '"direction":"ct_to_flair"' in RegistrationSettings(
        direction="ct_to_flair", type_of_transform="Rigid").workflow_params()


def test_qc_row_is_flat_and_complete(registered) -> None:
    qc = registered.qc
    assert qc["subject_id"] == "S-001"
    for key in ("mutual_information", "brain_dice", "brain_dice_linear", "mean_displacement_mm",
                "pseudolabel_ml", "probability_ml", "wmh_flair_ml", "ct_brain_ml",
                "flair_brain_ml", "runtime_s"):
        assert np.isfinite(qc[key]), key
    assert all(np.isscalar(v) for v in qc.values())
    # Linear interpolation spreads the mask, so > 0 holds more than the FLAIR mask.
    assert qc["pseudolabel_ml"] > qc["probability_ml"] > 0.5 * qc["wmh_flair_ml"]


def test_threshold_orders_volumes_and_volume_inputs_work(pair, registered, tmp_path) -> None:
    volumes = [load_volume(pair[name]) for name in ("ct", "flair", "wmh")]
    strict = register_pair(*volumes, settings=FAST.model_copy(update={"threshold": 0.5}),
                           out_dir=tmp_path / "strict")
    loose_mask = read(registered.pseudolabel_path) > 0
    strict_mask = read(strict.pseudolabel_path) > 0
    assert 0 < strict.qc["pseudolabel_ml"] < registered.qc["pseudolabel_ml"]
    # Volumes are RAS+ like the phantom files, so the grids coincide.
    np.testing.assert_allclose(nib.load(str(strict.pseudolabel_path)).affine,
                               nib.load(str(pair["ct"])).affine, atol=1e-4)
    assert not (strict_mask & ~loose_mask).any()
    # Cut at 0 the linearly warped mask grows well beyond the FLAIR mask.
    assert registered.qc["pseudolabel_ml"] > 1.3 * registered.qc["wmh_flair_ml"]


def test_nearest_label_transfer_keeps_the_masks_volume(pair, registered, tmp_path) -> None:
    nearest = run(pair, tmp_path / "nearest", FAST.model_copy(update={"label_interpolation": "nearest"}))
    assert nearest.qc["label_interpolation"] == "nearest"
    assert abs(nearest.qc["pseudolabel_ml"] / nearest.qc["wmh_flair_ml"] - 1) < 0.1
    # Same transforms: the nearest label lies inside the linear map's support.
    assert not ((read(nearest.pseudolabel_path) > 0) & ~(read(registered.probability_path) > 0)).any()
    np.testing.assert_array_equal(read(nearest.probability_path), read(registered.probability_path))


def test_single_thread_runs_are_identical(pair, registered, tmp_path) -> None:
    again = run(pair, tmp_path / "again")
    np.testing.assert_array_equal(read(again.probability_path), read(registered.probability_path))
    np.testing.assert_array_equal(read(again.pseudolabel_path), read(registered.pseudolabel_path))


def test_a_later_thread_count_warns(pair, registered, tmp_path) -> None:
    # ITK fixes its thread pool at first use: a different count cannot apply.
    with pytest.warns(RuntimeWarning, match="thread"):
        run(pair, tmp_path / "t", FAST.model_copy(update={"type_of_transform": "Identity",
                                                          "threads": 3}))


def test_temporary_files_stay_in_out_dir(pair, tmp_path, monkeypatch) -> None:
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    monkeypatch.setenv("TMPDIR", str(system_tmp))
    before = {p for p in tmp_path.rglob("*")}
    out = tmp_path / "subject"
    run(pair, out, FAST.model_copy(update={"type_of_transform": "SyNR",
                                           "syn_iterations": (10, 0)}))
    assert list(system_tmp.iterdir()) == []
    new = {p for p in tmp_path.rglob("*")} - before
    assert all(p == out or out in p.parents for p in new)
    names = sorted(p.name for p in out.iterdir())
    assert "flair_to_ct_1Warp.nii.gz" in names  # SyN keeps its forward warp ...
    assert not any("Inverse" in n for n in names)  # ... and drops the inverse


def test_gross_misregistration_is_flagged(tmp_path) -> None:
    rows = []
    poses = [((4.0, -3.0, 5.0), (5.0, -4.0, 6.0)), ((-6.0, 2.0, -3.0), (-3.0, 6.0, 2.0)),
             ((2.0, 5.0, 1.0), (2.0, 2.0, -5.0)), ((-3.0, -4.0, 6.0), (-6.0, -2.0, 4.0))]
    for i, (rotation, shift) in enumerate(poses):
        paths = write_pair(tmp_path / f"pair{i}", rotation, shift, seed=10 * i)
        rows.append(run(paths, tmp_path / f"good{i}", subject_id=f"good{i}").qc)
    # A FLAIR far from the CT, registration disabled: the planted error.
    paths = write_pair(tmp_path / "bad", (25.0, 0.0, 0.0), (0.0, 20.0, 25.0), seed=99)
    rows.append(run(paths, tmp_path / "bad_out",
                    FAST.model_copy(update={"type_of_transform": "Identity"}),
                    subject_id="bad").qc)
    qc = pd.DataFrame(rows).set_index("subject_id")
    flagged = flag_registration_errors(qc)
    assert flagged.to_dict() == {"good0": False, "good1": False, "good2": False, "good3": False,
                                 "bad": True}


def test_flag_rule_on_a_table() -> None:
    rng = np.random.default_rng(0)
    qc = pd.DataFrame({"brain_dice": rng.normal(0.98, 0.003, 40),
                       "mutual_information": rng.normal(0.83, 0.03, 40),
                       "mean_displacement_mm": rng.normal(1.2, 0.3, 40)})
    assert not flag_registration_errors(qc).any()  # an ordinary batch: nothing flagged
    qc.loc[3, "brain_dice"] = 0.93  # overlap clearly worse than the batch
    qc.loc[7, "mutual_information"] = 0.60  # MI clearly worse than the batch
    qc.loc[8, "mean_displacement_mm"] = 3.3  # SyN bent this FLAIR far more than usual
    qc.loc[9, "brain_dice"] = 0.999  # better than usual is never an error
    qc.loc[10, "mean_displacement_mm"] = 0.0
    flagged = flag_registration_errors(qc)
    assert flagged[flagged].index.tolist() == [3, 7, 8]
    scores = qc_scores(qc)
    assert scores.loc[3, "z_brain_dice"] < -3.5 and scores.loc[3, "fail_brain_dice"]
    # The absolute floor holds even when the whole batch is bad.
    bad = pd.DataFrame({"brain_dice": [0.6, 0.61], "mutual_information": [0.3, 0.3],
                        "mean_displacement_mm": [0.0, 0.0]})
    assert flag_registration_errors(bad).all()
    with pytest.raises(KeyError, match="brain_dice"):
        flag_registration_errors(pd.DataFrame({"mutual_information": [0.5]}))


def test_settings_are_validated_and_frozen() -> None:
    with pytest.raises(ValidationError):
        RegistrationSettings(type_of_transform="Bogus")
    with pytest.raises(ValidationError):
        RegistrationSettings(resolution_mm=0)
    with pytest.raises(ValidationError):
        RegistrationSettings(iterationz=(1,))
    with pytest.raises(ValidationError):
        FAST.threads = 4  # type: ignore[misc]


def test_mask_must_be_on_the_flair_grid(pair, tmp_path) -> None:
    with pytest.raises(ValueError, match="WMH mask grid"):
        register_pair(pair["ct"], pair["flair"], pair["lesion_ct"], settings=FAST,
                      out_dir=tmp_path / "x")


def test_identity_warp_leaves_a_label_unchanged(pair) -> None:
    from leukoct.registration import warp_image

    label = read(pair["wmh"])
    warped = warp_image(pair["wmh"], pair["wmh"], [], interpolator="nearestNeighbor")
    assert np.array_equal(warped.astype(np.uint8), label)


def test_an_empty_wmh_mask_gives_an_empty_pseudolabel(pair, tmp_path) -> None:
    empty = tmp_path / "empty.nii.gz"
    image = nib.load(str(pair["wmh"]))
    nib.save(nib.Nifti1Image(np.zeros(image.shape, np.uint8), image.affine), str(empty))
    result = register_pair(pair["ct"], pair["flair"], empty, settings=FAST,
                           out_dir=tmp_path / "out")
    assert result.qc["pseudolabel_ml"] == 0.0
    assert not read(result.pseudolabel_path).any()


def test_a_flipped_axis_is_read_from_the_header(pair, registered, tmp_path) -> None:
    # The same CT stored with its first axis reversed (and the affine saying
    # so): the pseudo-label must cover the same physical voxels.
    image = nib.load(str(pair["ct"]))
    flip = np.diag([-1.0, 1.0, 1.0, 1.0])
    flip[0, 3] = image.shape[0] - 1
    flipped = tmp_path / "ct_flipped.nii.gz"
    nib.save(nib.Nifti1Image(np.asarray(image.dataobj)[::-1], image.affine @ flip),
             str(flipped))
    result = register_pair(flipped, pair["flair"], pair["wmh"], settings=FAST,
                           out_dir=tmp_path / "out")
    again = read(result.pseudolabel_path)[::-1]
    assert dice(again > 0, read(registered.pseudolabel_path) > 0) > 0.9


def test_rule_bound_is_where_the_z_test_starts_failing() -> None:
    from leukoct.registration import QC_RULES, robust_z

    values = pd.Series([0.96, 0.97, 0.975, 0.98, 0.985, 0.99])
    rule = QC_RULES[0]                                     # brain Dice, low side, SD floor 0.01
    # Hand computation: median 0.9775, MAD 0.0075, robust SD 1.4826 * 0.0075 = 0.01112.
    assert rule.bound(values) == pytest.approx(0.9775 - 3.5 * 1.4826 * 0.0075)
    # The same limit as the z test's: a value there scores z = -k on this batch.
    sd = (values.median() - rule.bound(values)) / 3.5
    assert robust_z(values, 0.01).iloc[0] == pytest.approx((0.96 - 0.9775) / sd)
    # With a uniform batch the floor (0.01) sets the limit.
    assert rule.bound(pd.Series([0.98] * 6)) == pytest.approx(0.98 - 3.5 * 0.01)
