"""Registration error in mm against a known geometry (``leukoct.registration_accuracy``).

The references are independent of the module's own point arithmetic:

* the twin's truth geometry is checked against the twin's *forward* sampling
  (``flair.sample_warped`` of coordinate ramps: what each FLAIR voxel shows);
* ``map_points`` (ANTs' point mapping, LPS <-> RAS) is checked against ANTs'
  *image* resampling of coordinate ramps written by nibabel, i.e. the path
  that makes the pseudo-labels, for a rigid ``.mat`` and for a real SyN warp;
* a known shift applied with ANTs gives that shift in mm; header alignment
  gives the twin's known pose offset; a registration of a ci twin pair brings
  the error well below it.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import ants
import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from leukoct.images import Volume
from leukoct.registration import RegistrationSettings, _set_threads, register_pair, warp_image
from leukoct.registration_accuracy import (
    BRAIN_SUFFIX,
    GEOMETRY_SUFFIX,
    SUMMARY_COLUMNS,
    KnownGeometry,
    cohort_errors,
    displacement_errors,
    error_summary,
    grid_points,
    inside_mask,
    map_points,
    registration_error,
)
from leukoct.twin import flair as flairsim
from leukoct.twin.anatomy import PlaneWaves
from leukoct.twin.geometry import Grid, rigid

# ITK fixes its thread count when its pool first starts; these tests call ANTs before any
# registration does, so ask for the test suite's one thread first (bit-identical runs in
# tests/test_registration.py depend on it).
_set_threads(1)


def _ramps(affine: np.ndarray, shape: tuple[int, int, int]) -> list[np.ndarray]:
    """x, y, z world coordinates (RAS mm) of every voxel of a grid."""
    points = grid_points(affine, shape).reshape(*shape, 3)
    return [points[..., a].astype(np.float32) for a in range(3)]


def _write(path: Path, data: np.ndarray, affine: np.ndarray) -> Path:
    nib.save(nib.Nifti1Image(np.asarray(data, np.float32), affine), str(path))
    return path


def _ants_resampled_positions(fixed: Path, moving_affine: np.ndarray,
                              moving_shape: tuple[int, int, int], transforms: list,
                              folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """Moving-frame RAS position of each fixed voxel as ANTs' image resampling sees it,
    and where that position is inside the moving grid (ramps are exact there)."""
    folder.mkdir(parents=True, exist_ok=True)
    ramps = _ramps(moving_affine, moving_shape) + [np.ones(moving_shape, np.float32)]
    out = [warp_image(_write(folder / f"ramp{a}.nii.gz", r, moving_affine), fixed, transforms)
           for a, r in enumerate(ramps)]
    seen = np.stack(out[:3], axis=-1).reshape(-1, 3)
    # Ramps are exact between the first and last voxel centres; beyond them ITK's linear
    # interpolator repeats the edge voxel, so a position read exactly at an edge is unsure.
    index = (seen - moving_affine[:3, 3]) @ np.linalg.inv(moving_affine[:3, :3]).T
    between = np.all((index > 1e-3) & (index < np.asarray(moving_shape) - 1 - 1e-3), axis=1)
    return seen, (out[3].ravel() > 0.999) & between


# --- the twin's truth geometry --------------------------------------------------------------

def test_truth_inverse_matches_the_twins_forward_sampling() -> None:
    rng = np.random.default_rng(7)
    waves = PlaneWaves.draw(rng, 1.5, (50.0, 120.0))
    head_from_flair = rigid(np.array([3.0, -2.0, 4.0]), np.array([5.0, -3.0, 2.0]))
    # Subject space: a 2 mm axis-aligned grid, as the atlas; the maps are its coordinates.
    subject_affine = np.diag([2.0, 2.0, 2.0, 1.0])
    subject_affine[:3, 3] = -100.0
    anat = SimpleNamespace(affine=subject_affine)
    grid = Grid(shape=(14, 16, 8), spacing=(6.0, 6.0, 10.0), origin=(-40.0, -45.0, -35.0))
    # What each FLAIR voxel shows (n_sub=1: the voxel centre itself; trilinear is exact on ramps).
    shown = np.stack(flairsim.sample_warped(_ramps(subject_affine, (101, 101, 101)), anat, grid,
                                            head_from_flair, waves, n_sub=1), axis=-1)
    x = flairsim.scanner_points(shown.reshape(-1, 3), head_from_flair, waves)
    np.testing.assert_allclose(x, grid_points(grid.affine, grid.shape), atol=2e-3)


def test_twin_writes_the_geometry_of_every_paired_ct(ci_study: Path) -> None:
    manifest = pd.read_csv(ci_study / "manifest.csv")
    for row in manifest.itertuples():
        geometry = ci_study / "truth" / f"{row.subject_id}{GEOMETRY_SUFFIX}"
        assert geometry.is_file() == isinstance(row.flair_path, str), row.subject_id
    sid = manifest.loc[manifest["flair_path"].notna(), "subject_id"].iloc[0]
    image = nib.load(ci_study / "truth" / f"{sid}{GEOMETRY_SUFFIX}")
    ct = nib.load(ci_study / "images" / f"{sid}_ct.nii.gz")
    assert image.ndim == 4 and image.shape[3] == 3 and image.get_data_dtype() == np.float32
    # Nodes are CT voxel centres.
    index = np.linalg.inv(ct.affine) @ image.affine @ np.array([[0, 0, 0, 1], [1, 1, 1, 1]]).T
    np.testing.assert_allclose(index, np.rint(index), atol=1e-6)
    assert np.all(index[:3, 1] - index[:3, 0] >= 1)


# --- ANTs' point mapping against ANTs' image resampling --------------------------------------

@pytest.fixture(scope="module")
def grids(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("grids")
    fixed_affine = np.array([[-2.0, 0, 0, 30.0], [0, 2.5, 0, -40.0], [0, 0, 3.0, -20.0],
                             [0, 0, 0, 1]])  # x flipped: LPS vs RAS must not matter
    fixed_shape = (24, 26, 16)
    moving_affine = np.diag([2.2, 2.2, 4.0, 1.0])
    moving_affine[:3, 3] = (-45.0, -50.0, -40.0)
    moving_shape = (42, 44, 24)
    fixed = _write(folder / "fixed.nii.gz", np.ones(fixed_shape), fixed_affine)
    return {"folder": folder, "fixed": fixed, "fixed_affine": fixed_affine,
            "fixed_shape": fixed_shape, "moving_affine": moving_affine,
            "moving_shape": moving_shape}


def _ants_linear(moving_from_fixed_ras: np.ndarray, path: Path) -> Path:
    flip = np.diag([-1.0, -1.0, 1.0])
    tx = ants.create_ants_transform(transform_type="AffineTransform", dimension=3,
                                    matrix=flip @ moving_from_fixed_ras[:3, :3] @ flip,
                                    translation=flip @ moving_from_fixed_ras[:3, 3])
    ants.write_transform(tx, str(path))
    return path


def test_map_points_agrees_with_ants_image_resampling(grids: dict) -> None:
    truth = rigid(np.array([4.0, -3.0, 6.0]), np.array([3.0, -2.0, 5.0]))
    mat = _ants_linear(truth, grids["folder"] / "rigid.mat")
    points = grid_points(grids["fixed_affine"], grids["fixed_shape"])
    seen, valid = _ants_resampled_positions(grids["fixed"], grids["moving_affine"],
                                            grids["moving_shape"], [mat], grids["folder"])
    mapped = map_points(points, [mat])
    assert valid.mean() > 0.5
    np.testing.assert_allclose(mapped[valid], seen[valid], atol=1e-3)
    np.testing.assert_allclose(mapped, points @ truth[:3, :3].T + truth[:3, 3], atol=1e-4)


def test_a_known_shift_applied_with_ants_is_that_shift_in_mm(grids: dict) -> None:
    shift = np.eye(4)
    shift[:3, 3] = (3.0, -4.0, 12.0)  # 13 mm
    mat = _ants_linear(shift, grids["folder"] / "shift.mat")
    brain = Volume(data=np.ones(grids["fixed_shape"], np.float32), spacing=(2.0, 2.5, 3.0),
                   affine=grids["fixed_affine"])
    nothing_moved = KnownGeometry.from_affine(np.eye(4), grids["fixed_affine"],
                                              grids["fixed_shape"])
    moved = KnownGeometry.from_affine(shift, grids["fixed_affine"], grids["fixed_shape"])
    error = registration_error([mat], nothing_moved, brain)
    assert error["n_points"] == int(np.prod(grids["fixed_shape"]))
    for column in ("mean_mm", "median_mm", "p95_mm", "max_mm"):
        assert error[column] == pytest.approx(13.0, abs=1e-4)
    assert registration_error([mat], moved, brain)["max_mm"] < 1e-4
    assert registration_error([], moved, brain)["mean_mm"] == pytest.approx(13.0, abs=1e-6)


# --- summaries and masks ----------------------------------------------------------------------

def test_summary_of_known_errors() -> None:
    estimated = np.zeros((100, 3))
    true = np.zeros((100, 3))
    true[:, 2] = np.arange(1, 101)
    errors = displacement_errors(estimated, true)
    summary = error_summary(errors)
    assert summary["mean_mm"] == pytest.approx(50.5) and summary["max_mm"] == 100.0
    assert summary["p95_mm"] == pytest.approx(np.percentile(np.arange(1, 101), 95))
    assert summary["n_points"] == 100
    empty = error_summary(np.array([]))
    assert empty["n_points"] == 0 and np.isnan(empty["mean_mm"])
    assert list(summary) == list(SUMMARY_COLUMNS)
    with pytest.raises(ValueError, match="shapes differ"):
        displacement_errors(np.zeros((3, 3)), np.zeros((4, 3)))


def test_inside_mask_uses_the_masks_own_geometry() -> None:
    affine = np.diag([2.0, 2.0, 5.0, 1.0])
    mask = np.zeros((4, 4, 3), bool)
    mask[1, 2, 1] = True
    points = np.array([[2.0, 4.0, 5.0], [2.9, 4.9, 7.4], [0.0, 0.0, 0.0], [100.0, 0, 0]])
    assert inside_mask(points, mask, affine).tolist() == [True, True, False, False]


# --- the twin: header alignment and a registration round trip ---------------------------------

def _ordinary_pair(study: Path) -> str:
    truth = pd.read_csv(study / "truth" / "subjects.csv", keep_default_na=False)
    ok = truth[(truth["exclusion_reason"] == "") & truth["cohort"].isin(["train", "external"])]
    return str(ok["subject_id"].iloc[0])


def test_header_alignment_error_is_the_twins_known_offset(ci_study: Path) -> None:
    truth = pd.read_csv(ci_study / "truth" / "subjects.csv", keep_default_na=False,
                        na_values=[""]).set_index("subject_id")
    sid = _ordinary_pair(ci_study)
    geometry = KnownGeometry.read(ci_study / "truth" / f"{sid}{GEOMETRY_SUFFIX}")
    brain_image = nib.load(ci_study / "truth" / f"{sid}{BRAIN_SUFFIX}")
    brain = Volume(np.asarray(brain_image.dataobj), brain_image.header.get_zooms(),
                   brain_image.affine)
    header = registration_error([], geometry, brain)
    # The truth table's rigid FLAIR <- CT pose (without the non-linear warp).
    pose = np.eye(4)
    pose[:3] = np.array(str(truth.at[sid, "flair_from_ct_affine"]).split(), float).reshape(3, 4)
    fixed = geometry.fixed_points()
    keep = inside_mask(fixed, brain.data > 0, brain.affine)
    rigid_only = fixed[keep] @ pose[:3, :3].T + pose[:3, 3]
    offset = displacement_errors(fixed[keep], rigid_only)
    amplitude = float(truth.at[sid, "flair_nonlinear_mm"])
    assert header["mean_mm"] == pytest.approx(offset.mean(), abs=4.25 * amplitude)
    # The non-linear part: present, and within the plane waves' bound (4.25 x RMS amplitude).
    nonlinear = displacement_errors(geometry.moving_points()[keep], rigid_only)
    assert 0.2 * amplitude < nonlinear.mean() and nonlinear.max() < 4.25 * amplitude


@pytest.fixture(scope="module")
def registered(ci_study: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One ordinary ci pair registered with the production settings (one thread)."""
    sid = _ordinary_pair(ci_study)
    run = tmp_path_factory.mktemp("registration")
    images = ci_study / "images"
    register_pair(images / f"{sid}_ct.nii.gz", images / f"{sid}_flair.nii.gz",
                  images / f"{sid}_wmh.nii.gz", settings=RegistrationSettings(threads=1),
                  out_dir=run / "subjects" / sid, subject_id=sid)
    return run, sid


def test_syn_points_agree_with_ants_image_resampling(ci_study: Path, registered, tmp_path) -> None:
    from leukoct.registration import saved_transforms

    run, sid = registered
    transforms = saved_transforms(run / "subjects" / sid)
    assert [t.name for t in transforms] == ["flair_to_ct_1Warp.nii.gz",
                                            "flair_to_ct_0GenericAffine.mat"]
    flair = nib.load(ci_study / "images" / f"{sid}_flair.nii.gz")
    brain = nib.load(ci_study / "truth" / f"{sid}{BRAIN_SUFFIX}")
    seen, valid = _ants_resampled_positions(ci_study / "truth" / f"{sid}{BRAIN_SUFFIX}",
                                            flair.affine, flair.shape, transforms, tmp_path)
    points = grid_points(brain.affine, brain.shape)
    inside = valid & (np.asarray(brain.dataobj).ravel() > 0)
    mapped = map_points(points[inside], transforms)
    np.testing.assert_allclose(mapped, seen[inside], atol=0.05)


def test_registration_round_trip_on_the_twin(ci_study: Path, registered) -> None:
    run, sid = registered
    table = cohort_errors(run, ci_study / "truth")
    assert table.index.tolist() == [sid]
    row = table.loc[sid]
    # Header alignment is the pose offset (several mm); rigid + SyN brings it near the
    # twin's non-linear warp (measured: 1.6 mm mean, from 11 mm at the header).
    assert row["header_mean_mm"] > 4.0
    assert row["mean_mm"] < 2.5 and row["mean_mm"] < row["header_mean_mm"] / 3
    assert row["mean_mm"] <= row["p95_mm"] <= row["max_mm"]
    assert row["n_points"] > 1000


def test_real_data_without_truth_give_an_empty_table(registered, tmp_path: Path) -> None:
    run, sid = registered
    table = cohort_errors(run, tmp_path)  # a truth folder without geometry files
    assert table.empty and {"mean_mm", "p95_mm", "header_mean_mm"} <= set(table.columns)
    with pytest.raises(FileNotFoundError, match=sid):
        cohort_errors(run, tmp_path, subjects=[sid])
