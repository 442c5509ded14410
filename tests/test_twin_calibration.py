"""The twin's comparison with the paper (leukoct.twin.calibration)."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from leukoct.manifest import load_manifest
from leukoct.twin import calibration as cal
from leukoct.twin.clinical import draw_cohort_tables
from leukoct.twin.settings import TwinSettings


def test_paper_table1_is_the_printed_table() -> None:
    paper = cal.paper_table1()
    assert len(paper) == 17
    row = paper.set_index("label").loc["Sex, women"]
    assert (row["development"], row["external"], row["p_value"]) == \
        ("160 (33.2%)", "185 (47.4%)", "<0.001")
    # The vendor rows of each column account for every analysed subject but
    # the one (development) and five (external) with missing vendor data.
    ct = paper[paper["variable"] == "ct_vendor"]
    counts = {g: sum(int(v.split(" ")[0]) for v in ct[g]) for g in ("development", "external")}
    assert counts == {"development": 481, "external": 385}


def test_summarise_formats_hand_computed_cells() -> None:
    assert cal.summarise(pd.Series([1.0, 2.0, 3.0]), "mean_sd") == "2.0 ± 1.0"
    assert cal.summarise(pd.Series([1, 2, 3, 4, 5]), "median_iqr") == "3.00 (2.00–4.00)"
    # Missing values stay in the denominator of a percentage (the paper's
    # vendor rows) and are ignored by the other statistics.
    vendors = pd.Series(["GE", "GE", None, "SIEMENS"], dtype=object)
    assert cal.summarise(vendors, "n_pct", "GE") == "2 (50.0%)"
    assert cal.summarise(pd.Series([1.0, np.nan, 3.0]), "mean_sd") == "2.0 ± 1.4"
    assert cal.summarise(pd.Series([True, False, None], dtype=object), "n_pct", "True") == \
        "1 (33.3%)"
    with pytest.raises(ValueError, match="unknown statistic"):
        cal.summarise(pd.Series([1.0]), "mode")


def test_slice_class_matches_table1_classes() -> None:
    classes = cal.slice_class(pd.Series([2.5, 4.99, 5.0, 6.0, np.nan]))
    assert classes.iloc[:4].tolist() == ["<5", "<5", "5", ">5"]
    assert pd.isna(classes.iloc[4])


@pytest.fixture(scope="module")
def ci(ci_study: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    return load_manifest(ci_study / "manifest.csv"), cal.read_truth(ci_study)


def test_table1_side_by_side_counts_only_analysed_subjects(ci) -> None:
    manifest, truth = ci
    side = cal.table1_side_by_side(manifest, truth)
    kept = truth[truth["exclusion_reason"] == ""]
    n_dev = int(kept["cohort"].isin(["train", "internal"]).sum())
    assert side.attrs["n"] == {"development": n_dev,
                               "external": int((kept["cohort"] == "external").sum())}
    assert list(side.columns) == ["paper, development", "twin, development",
                                  "paper, external", "twin, external"]
    # Slice classes of the analysed development subjects add up to all of them.
    slices = side.loc[side.index.str.startswith("Slice thickness"), "twin, development"]
    assert sum(int(v.split(" ")[0]) for v in slices) == n_dev
    dev = manifest[manifest["subject_id"].isin(kept.index)
                   & manifest["cohort"].isin(["train", "internal"])]
    assert side.at["Age, years", "twin, development"] == \
        f"{dev['age'].mean():.1f} ± {dev['age'].std():.1f}"


def test_mismatched_truth_is_refused(ci) -> None:
    manifest, truth = ci
    with pytest.raises(ValueError, match="different twin studies"):
        cal.table1_side_by_side(manifest, truth.drop(index=truth.index[0]))


def test_read_truth_explains_a_folder_without_truth(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a digital-twin study"):
        cal.read_truth(tmp_path)


def test_flowchart_side_by_side_adds_up(ci) -> None:
    _, truth = ci
    flow = cal.flowchart_side_by_side(truth)
    for cohort, group in flow.groupby(level="cohort"):
        steps = group.droplevel("cohort")
        excluded = steps[steps.index.str.startswith("excluded")]
        for column in ("paper", "twin"):
            assert steps.at["identified", column] == \
                steps.at["analysed", column] + excluded[column].sum(), (cohort, column)
    assert flow.loc[("development", "identified"), "paper"] == 876


def test_pick_examples_spans_loads_and_vendors(ci) -> None:
    manifest, truth = ci
    chosen = cal.pick_examples(manifest, truth, n=3)
    assert len(chosen) == len(set(chosen)) == 3
    assert chosen == cal.pick_examples(manifest, truth, n=3), "deterministic"
    volumes = truth.loc[chosen, "la_volume_ml"].to_numpy()
    assert volumes[0] < volumes[-1], "from low to high lesion load"
    assert (truth.loc[chosen, "exclusion_reason"] == "").all()
    vendors = manifest.set_index("subject_id").loc[chosen, "ct_vendor"]
    paired = manifest[manifest["subject_id"].isin(truth.index[truth["exclusion_reason"] == ""])
                      & manifest["flair_path"].notna()]
    assert vendors.nunique() == min(3, paired["ct_vendor"].nunique())


def test_vendor_contrast_is_the_truths_average(ci) -> None:
    manifest, truth = ci
    table = cal.vendor_contrast(manifest, truth)
    assert table["subjects"].sum() == int(truth["ct_noise_sd"].notna().sum())
    assert (table["la_contrast_hu"] > 0).all()
    assert np.allclose(table["contrast_to_noise"],
                       (table["la_contrast_hu"] / table["noise_sd_hu"]), atol=0.3)


def test_planted_effects_state_the_papers_odds_ratios() -> None:
    effects = cal.planted_effects().set_index("effect")
    assert effects.at["LA quintile 5 vs 1 (odds ratio)", "planted"] == "1.64"
    assert effects.at["LA quintile 2 vs 1 (odds ratio)", "paper"].startswith("1.16")


def test_truth_columns_cover_every_column(ci) -> None:
    _, truth = ci
    groups = cal.truth_columns(truth)
    listed = [c for cols in groups["columns"] for c in cols.split(", ")]
    assert sorted(listed) == sorted(truth.columns)


def test_paper_sized_twin_matches_the_other_cohorts_text() -> None:
    tables = draw_cohort_tables(TwinSettings(development=1, external=1, us=100, clinical=1180),
                                seed=7)
    kept = tables[tables["exclusion_reason"] == ""]
    clinical = kept[kept["cohort"] == "clinical"]
    assert len(clinical) == 867 and len(kept[kept["cohort"] == "us"]) == 100
    assert abs(clinical["age"].mean() - 69.3) < 3 * 13.0 / np.sqrt(867)
    q1, med, q3 = np.percentile(clinical["la_volume_ml"], [25, 50, 75])
    assert abs(med / 11.2 - 1) < 0.15 and abs(q1 / 6.2 - 1) < 0.25 and abs(q3 / 20.5 - 1) < 0.25


# --- registration truth: the true brain and the ideal pseudo-label on the CT grid ---------------

def _nifti_data(path: Path) -> tuple[np.ndarray, np.ndarray]:
    image = nib.load(str(path))
    return np.asanyarray(image.dataobj), image.affine


def test_true_brain_lies_on_the_ct_brain(ci, ci_study: Path) -> None:
    manifest, truth = ci
    with_ct = manifest[manifest["ct_path"].notna()]
    assert len(with_ct) == int(truth["has_ct"].astype(bool).sum())
    for subject, ct_path in zip(with_ct["subject_id"], with_ct["ct_path"]):
        hu, affine = _nifti_data(Path(ct_path))
        brain, brain_affine = _nifti_data(cal.truth_mask_path(ci_study, subject, "ct", "brain"))
        assert brain.shape == hu.shape and np.allclose(brain_affine, affine), subject
        brain = brain > 0
        # Independent of how the mask was made: the CT itself must show brain
        # tissue (GM 38, WM 28, CSF 7 HU) under it, and no bone -- except where
        # a planted motion artefact smears the skull's ghost over the brain.
        assert 15 <= np.median(hu[brain]) <= 40, subject
        motion = bool(manifest.set_index("subject_id").at[subject, "motion_artifact"])
        assert (hu[brain] > 300).mean() < (0.05 if motion else 0.002), subject
        lesion, _ = _nifti_data(cal.truth_mask_path(ci_study, subject, "ct"))
        assert (brain[lesion > 0]).mean() >= 0.99, "the true lesion lies in the brain"


def test_ideal_pseudolabel_is_the_software_mask_moved_by_the_true_pose(ci, ci_study: Path) -> None:
    manifest, truth = ci
    paired = manifest[manifest["flair_path"].notna()]
    assert len(paired) == 12
    for subject, ct_path in zip(paired["subject_id"], paired["ct_path"]):
        ideal, affine = _nifti_data(cal.truth_mask_path(ci_study, subject, "ct", "wmh"))
        lesion, lesion_affine = _nifti_data(cal.truth_mask_path(ci_study, subject, "ct"))
        assert ideal.shape == lesion.shape and np.allclose(affine, lesion_affine)
        ideal, lesion = ideal > 0, lesion > 0
        voxel_ml = float(np.prod(nib.load(ct_path).header.get_zooms()[:3])) / 1000.0
        row = truth.loc[subject]
        if not row["ct_missing"]:  # a truncated CT keeps part of the mask only
            # Same volume as the software mask on its FLAIR grid (truth table),
            # up to the rounding to one voxel on either grid.
            assert abs(ideal.sum() * voxel_ml - row["wmh_software_ml"]) < 0.05, subject
        # Same overlap with the true lesion as on FLAIR, where the generator
        # measured it (wmh_software_dice): only the grid differs.  A mask in the
        # wrong place or pose would overlap far less; the lesion itself, fully.
        overlap = 2.0 * (ideal & lesion).sum() / (ideal.sum() + lesion.sum())
        # (0.09 apart for TW-EXT-0002 of the ci study: on 5 mm FLAIR slices and on
        # the CT's grid the same small mask's Dice differs by its boundary voxels)
        assert abs(overlap - row["wmh_software_dice"]) < 0.12, (subject, overlap)
    clinical = manifest.loc[manifest["cohort"] == "clinical", "subject_id"].iloc[0]
    with pytest.raises(FileNotFoundError, match="ideal pseudo-label"):
        cal.truth_mask_path(ci_study, clinical, "ct", "wmh")


def test_truth_mask_path_refuses_unknown_kinds_and_grids(ci_study: Path) -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        cal.truth_mask_path(ci_study, "TW-DEV-0001", "ct", "skull")
    with pytest.raises(ValueError, match="on the ct grid only"):
        cal.truth_mask_path(ci_study, "TW-DEV-0001", "flair", "brain")
    with pytest.raises(ValueError, match="on the ct and flair grid"):
        cal.truth_mask_path(ci_study, "TW-DEV-0001", "mni", "lesion")
    assert cal.truth_mask_path(ci_study, "TW-DEV-0001", "flair").name == \
        "TW-DEV-0001_lesion_flair.nii.gz", "the default kind is the true lesion"


def _save(path: Path, data: np.ndarray, spacing=(1.0, 1.0, 5.0)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(data, np.diag([*spacing, 1.0])), str(path))
    return path


def test_pseudolabel_accuracy_on_a_hand_made_case(tmp_path: Path) -> None:
    shape = (10, 10, 4)                                  # 1 x 1 x 5 mm: 0.005 mL per voxel
    lesion, ideal, probability = (np.zeros(shape, np.float32) for _ in range(3))
    lesion[0:4, 0:5, 0] = 1                              # 20 voxels
    ideal[2:6, 0:5, 0] = 1                               # 20 voxels, 10 shared with the lesion
    probability[2:6, 0:5, 0] = 1.0                       # the ideal label, exactly ...
    probability[6:8, 0:5, 0] = 0.2                       # ... plus a 10-voxel linear smear
    _save(tmp_path / "truth" / "S1_lesion_ct.nii.gz", lesion.astype(np.uint8))
    _save(tmp_path / "truth" / "S1_wmh_ct.nii.gz", ideal.astype(np.uint8))
    prob = _save(tmp_path / "reg" / "S1.nii.gz", probability)
    pd.DataFrame({"subject_id": ["S1", "S2"], "cohort": ["train", "train"],
                  "exclusion_reason": ["", "motion_artifact"],
                  "wmh_software_dice": [0.7, 0.6]}).to_csv(tmp_path / "truth" / "subjects.csv",
                                                           index=False)
    row = cal.pseudolabel_accuracy(tmp_path, {"S1": prob}, threshold=0.0).iloc[0]
    assert row["true_ml"] == pytest.approx(0.1) and row["ideal_ml"] == pytest.approx(0.1)
    assert row["pseudo_ml_t"] == pytest.approx(0.15) and row["pseudo_ml_05"] == pytest.approx(0.1)
    assert row["dice_ideal_vs_truth"] == pytest.approx(2 * 10 / 40)
    assert row["dice_vs_ideal_t"] == pytest.approx(2 * 20 / 50)     # the smear costs 0.2
    assert row["dice_vs_ideal_05"] == pytest.approx(1.0)            # perfect registration
    assert row["dice_vs_truth_t"] == pytest.approx(2 * 10 / 50)
    assert row["dice_vs_truth_05"] == pytest.approx(2 * 10 / 40)
    assert row["software_dice_flair"] == 0.7
    budget = cal.error_budget(cal.pseudolabel_accuracy(tmp_path, {"S1": prob}))
    assert budget.loc["registration: pseudo-label (p > 0) vs ideal pseudo-label",
                      "mean"] == pytest.approx(0.8)
    assert set(budget["n"]) == {1}
    # The run's own label (nearest-neighbour transfer) is scored in the *_t columns
    # instead of a cut of the map: here the ideal label itself.
    label = _save(tmp_path / "reg" / "S1_label.nii.gz", ideal.astype(np.uint8))
    table = cal.pseudolabel_accuracy(tmp_path, {"S1": prob}, labels={"S1": label})
    assert table.at[0, "pseudo_ml_t"] == pytest.approx(0.1)
    assert table.at[0, "dice_vs_ideal_t"] == pytest.approx(1.0)
    assert "registration: pseudo-label (this run's) vs ideal pseudo-label" in \
        cal.error_budget(table).index
    # A map on another grid is refused, not compared voxel by voxel.
    other = _save(tmp_path / "reg" / "S1_2mm.nii.gz", probability, spacing=(2.0, 2.0, 5.0))
    with pytest.raises(ValueError, match="not on the CT grid of S1"):
        cal.pseudolabel_accuracy(tmp_path, {"S1": other})


def test_pseudolabel_accuracy_reads_the_twins_files(ci, ci_study: Path) -> None:
    manifest, truth = ci
    subjects = list(manifest.loc[manifest["flair_path"].notna(), "subject_id"][:3])
    # A registration that lands exactly on the ideal label scores 1 against it,
    # and against the truth scores what the FLAIR segmentation allows.
    ideal = {s: cal.truth_mask_path(ci_study, s, "ct", "wmh") for s in subjects}
    table = cal.pseudolabel_accuracy(ci_study, ideal).set_index("subject_id")
    assert (table["dice_vs_ideal_t"] == 1.0).all() and (table["dice_vs_ideal_05"] == 1.0).all()
    assert np.allclose(table["dice_vs_truth_05"], table["dice_ideal_vs_truth"])
    assert (table["dice_ideal_vs_truth"] < 0.9).all(), "the software mask is not the truth"
    assert list(table["cohort"]) == list(truth.loc[subjects, "cohort"])
