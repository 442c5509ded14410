"""Tests of the digital twin against its own ground truth and the paper."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import ndimage

from leukoct.config import load_profile
from leukoct.manifest import load_manifest, validate_manifest
from leukoct.twin import TwinSettings, generate_study
from leukoct.twin import parameters as P
from leukoct.twin.clinical import (
    apportion,
    draw_cohort_tables,
    kept_and_excluded,
    stratified_by_rank,
    stratified_normal,
)

ROOT = Path(__file__).resolve().parents[1]
CI_PROFILE = load_profile("ci", root=ROOT)
CI: TwinSettings = CI_PROFILE.twin
SEED = CI_PROFILE.seed


@pytest.fixture(scope="module")
def study(ci_study: Path) -> Path:
    """The session's ci-size study (conftest), generated with workers=2."""
    return ci_study


@pytest.fixture(scope="module")
def manifest(study: Path) -> pd.DataFrame:
    return load_manifest(study / "manifest.csv")


@pytest.fixture(scope="module")
def truth(study: Path) -> pd.DataFrame:
    return pd.read_csv(study / "truth" / "subjects.csv", keep_default_na=False,
                       na_values=[""]).set_index("subject_id")


def _load(path: str | Path) -> np.ndarray:
    return np.asanyarray(nib.load(str(path)).dataobj)


def _kept_paired(manifest: pd.DataFrame, truth: pd.DataFrame) -> list[str]:
    reasons = truth["exclusion_reason"].fillna("")
    return [s for s in manifest.loc[manifest["cohort"].isin(["train", "external"]), "subject_id"]
            if reasons[s] == ""]


# --- manifest and layout ---------------------------------------------------

def test_manifest_validates_with_checksums(study: Path) -> None:
    report = validate_manifest(study / "manifest.csv", verify_checksums=True)
    assert report.ok, "\n".join(map(str, report.problems))


def test_manifest_rows_ids_and_cohorts(manifest: pd.DataFrame) -> None:
    assert len(manifest) == CI.development + CI.external + CI.us + CI.clinical
    assert manifest["synthetic"].all()
    counts = manifest["cohort"].value_counts().to_dict()
    assert counts == {"train": 8, "clinical": 12, "external": 4, "us": 2}
    pattern = re.compile(r"^TW-(DEV|EXT|US|CLN)-\d{4}$")
    assert all(pattern.match(s) for s in manifest["subject_id"])
    paired = manifest[manifest["cohort"].isin(["train", "external"])]
    assert paired["flair_path"].notna().all() and paired["wmh_mask_path"].notna().all()
    unpaired = manifest[manifest["cohort"].isin(["us", "clinical"])]
    assert unpaired["flair_path"].isna().all()
    assert manifest.loc[manifest["cohort"] == "us", "fazekas"].notna().all()
    assert manifest.loc[manifest["cohort"] == "clinical", "mrs_3m"].notna().all()


def test_truth_files_written(study: Path, manifest: pd.DataFrame, truth: pd.DataFrame) -> None:
    note = (study / "SYNTHETIC.md").read_text(encoding="utf-8")
    assert "SYNTHETIC" in note and "not patients" in note and "digital twin" in note
    params = yaml.safe_load((study / "truth" / "parameters.yaml").read_text(encoding="utf-8"))
    assert params["seed"] == SEED and params["flowchart"]["development"]["kept"] == 482
    assert set(truth.index) == set(manifest["subject_id"])
    for row in manifest.itertuples():
        if row.ct_path is not None:
            assert (study / "truth" / f"{row.subject_id}_lesion_ct.nii.gz").is_file()
        if row.flair_path is not None:
            assert (study / "truth" / f"{row.subject_id}_lesion_flair.nii.gz").is_file()
            assert (study / "truth" / f"{row.subject_id}_ventricles_flair.nii.gz").is_file()
    # Proportional manual masks, at least one, on kept external subjects only.
    manual = manifest[manifest["manual_mask_path"].notna()]
    assert len(manual) >= 1 and set(manual["cohort"]) == {"external"}


def test_exclusions_planted_as_flags(manifest: pd.DataFrame, truth: pd.DataFrame) -> None:
    reasons = truth["exclusion_reason"].fillna("")
    for cohort, name in (("train", "development"), ("external", "external"),
                         ("us", "us"), ("clinical", "clinical")):
        ids = manifest.loc[manifest["cohort"] == cohort, "subject_id"]
        n_kept, excluded = kept_and_excluded(name, len(ids))
        assert (reasons[ids] == "").sum() == n_kept
        for reason, count in excluded.items():
            assert (reasons[ids] == reason).sum() == count
    m = manifest.set_index("subject_id")
    for flag in ("recurrent_stroke", "motion_artifact", "contrast_ct", "hemorrhage_or_tumor",
                 "incomplete_ct"):
        assert (m[flag].fillna(False).astype(bool) == (reasons[m.index] == flag)).all()
    no_ct = reasons[reasons == "ct_not_available"].index
    assert m.loc[no_ct, "ct_path"].isna().all()
    large = reasons[reasons == "large_infarct"].index
    assert (m.loc[large, "infarct_volume_ml"] > 5).all()


# --- images ----------------------------------------------------------------

def test_ct_hounsfield_ranges(manifest: pd.DataFrame, truth: pd.DataFrame) -> None:
    for sid in _kept_paired(manifest, truth)[:4]:
        row = manifest.set_index("subject_id").loc[sid]
        ct = _load(row["ct_path"]).astype(float)
        assert ct.dtype == float and _load(row["ct_path"]).dtype == np.int16
        air = ct[ct < -500]
        assert abs(np.median(air) + 1000) < 5
        assert np.percentile(ct, 99.5) > 300          # skull
        lesion = _load(Path(row["ct_path"]).parents[1] / "truth" / f"{sid}_lesion_ct.nii.gz") > 0
        ring = ndimage.binary_dilation(lesion, iterations=2) & ~lesion & (ct > 15) & (ct < 45)
        assert 20 <= np.median(ct[ring]) <= 35         # surrounding white matter


def test_lesion_contrast_sign(study: Path, manifest: pd.DataFrame, truth: pd.DataFrame) -> None:
    m = manifest.set_index("subject_id")
    checked = 0
    for sid in _kept_paired(manifest, truth):
        if truth.at[sid, "la_volume_ml"] < 2:
            continue
        ct = _load(m.at[sid, "ct_path"]).astype(float)
        lesion = _load(study / "truth" / f"{sid}_lesion_ct.nii.gz") > 0
        ring = ndimage.binary_dilation(lesion, iterations=2) & ~lesion & (ct > 15) & (ct < 45)
        drop = ct[ring].mean() - ct[lesion].mean()
        assert drop > 1.0                                     # hypoattenuation
        # ... never beyond the tissue's 6-12 HU (Peng et al. 2024: visible LA
        # 17.5 +/- 4.7 HU, ~10 HU below white matter; parameters.CT).
        assert drop < 12.0
        flair = _load(m.at[sid, "flair_path"]).astype(float)
        lf = _load(study / "truth" / f"{sid}_lesion_flair.nii.gz") > 0
        ring_f = ndimage.binary_dilation(lf, iterations=2) & ~lf & (flair > 0.3 * flair.max())
        # Hyperintense WMH (signal 1.15 vs WM 0.62); partial volume on 5 mm slices lowers a
        # small lesion's mean to ~1.15x its ring (one ci subject of the stratified draw).
        assert flair[lf].mean() > 1.1 * flair[ring_f].mean()
        checked += 1
    assert checked >= 3


def test_masks_inside_brain(study: Path, manifest: pd.DataFrame) -> None:
    m = manifest.set_index("subject_id")
    for sid in m.index[m["ct_path"].notna()]:
        ct = _load(m.at[sid, "ct_path"])
        lesion = _load(study / "truth" / f"{sid}_lesion_ct.nii.gz") > 0
        assert lesion.shape == ct.shape
        if lesion.any():
            values = ct[lesion]
            assert np.mean((values > -20) & (values < 90)) > 0.97   # brain, not bone/air
        if m.at[sid, "wmh_mask_path"] is not None:
            flair = _load(m.at[sid, "flair_path"])
            wmh = _load(m.at[sid, "wmh_mask_path"]) > 0
            assert wmh.shape == flair.shape
            assert np.mean(flair[wmh] > 0.25 * np.percentile(flair, 99)) > 0.97


def test_flair_grid_differs_from_ct(manifest: pd.DataFrame) -> None:
    row = manifest[manifest["cohort"] == "train"].iloc[0]
    ct, flair = nib.load(row["ct_path"]), nib.load(row["flair_path"])
    assert ct.shape != flair.shape or not np.allclose(ct.affine, flair.affine)
    assert flair.header.get_zooms()[2] == pytest.approx(P.FLAIR["slice_mm"])
    assert ct.header.get_zooms()[2] == pytest.approx(row["ct_slice_thickness_mm"])


def test_truth_volumes_and_software_dice(truth: pd.DataFrame) -> None:
    imaged = truth[truth["la_volume_ct_ml"].notna() & ~truth["ct_missing"].isin(["top", "bottom"])]
    assert np.allclose(imaged["la_volume_ct_ml"], imaged["la_volume_ml"], rtol=0.05, atol=0.05)
    assert np.allclose(imaged["la_volume_ml"], imaged["la_volume_target_ml"], rtol=0.05, atol=0.02)
    dice = truth["wmh_software_dice"].dropna()
    assert 0.7 < dice.mean() < 0.88  # 0.79 in subject space (parameters.SEGMENTATION)
    assert (truth.loc[truth["registration_error"].astype(str) == "True",
                      "flair_from_ct_rotation_deg"] > 15).all()


def _digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_deterministic_across_worker_counts(study: Path, tmp_path: Path) -> None:
    generate_study(CI, tmp_path, seed=SEED, workers=1, progress=False)
    first, second = _digests(study), _digests(tmp_path)
    assert first.keys() == second.keys()
    assert first == second


# --- tables at paper size ---------------------------------------------------

@pytest.fixture(scope="module")
def paper_tables() -> pd.DataFrame:
    paper = TwinSettings(development=876, external=411, us=100, clinical=1180)
    return draw_cohort_tables(paper, seed=SEED)


def _within(observed: float, p: float, n: int, k: float = 3.5) -> bool:
    return abs(observed - p) <= k * np.sqrt(p * (1 - p) / n) + 1e-9


def test_flowchart_totals_exact(paper_tables: pd.DataFrame) -> None:
    kept = paper_tables[paper_tables["exclusion_reason"] == ""].groupby("cohort").size()
    assert kept.to_dict() == {"train": 482, "external": 390, "us": 100, "clinical": 867}
    for name, flow in P.FLOWCHART.items():
        cohort = P.COHORTS[name]["cohort"]
        got = paper_tables.loc[paper_tables["cohort"] == cohort, "exclusion_reason"].value_counts()
        for reason, count in flow["excluded"].items():
            assert got.get(reason, 0) == count
    assert apportion(7, {"a": 1, "b": 1, "c": 1}) == {"a": 3, "b": 2, "c": 2}


def test_table1_marginals(paper_tables: pd.DataFrame) -> None:
    kept = paper_tables[paper_tables["exclusion_reason"] == ""]
    targets = {"train": (0.332, {"SIEMENS": 0.544, "PHILIPS": 0.432, "GE": 0.0}),
               "external": (0.474, {"SIEMENS": 0.474, "GE": 0.233, "PHILIPS": 0.208}),
               "clinical": (0.392, {})}
    for cohort, (female, vendors) in targets.items():
        g = kept[kept["cohort"] == cohort]
        assert _within((g["sex"] == "F").mean(), female, len(g))
        for vendor, p in vendors.items():
            assert _within((g["ct_vendor"] == vendor).mean(), p, len(g))
    us = kept[kept["cohort"] == "us"]
    assert us["ct_vendor"].value_counts().to_dict() == {"SIEMENS": 54, "GE": 40, "CANON": 5, "": 1}
    assert _within((us["sex"] == "M").mean(), 0.58, len(us))
    ext = kept[kept["cohort"] == "external"]
    assert _within((ext["ct_slice_thickness_mm"] < 5).mean(), 0.61, len(ext))


def test_volume_model_calibration(paper_tables: pd.DataFrame) -> None:
    kept = paper_tables[paper_tables["exclusion_reason"] == ""]
    for cohort, median in (("train", 9.18), ("external", 10.23), ("clinical", 11.2)):
        v = kept.loc[kept["cohort"] == cohort, "la_volume_ml"].astype(float)
        assert abs(v.median() / median - 1) < 0.2
    dev = kept[kept["cohort"] == "train"]
    assert dev["infarct_true_ml"].max() <= 5.0
    assert 0.4 < dev["infarct_true_ml"].median() < 1.3
    clin = kept[kept["cohort"] == "clinical"]
    slope = np.polyfit(clin["age"].astype(float), clin["la_volume_ml"].astype(float), 1)[0]
    assert 0.25 < slope < 0.65                                  # paper: 0.436 mL/year
    for cohort in ("external", "us"):
        g = kept[kept["cohort"] == cohort]
        r = np.corrcoef(np.log(g["la_volume_ml"].astype(float)), g["fazekas"].astype(float))[0, 1]
        assert 0.7 < r < 0.95
    quintile = pd.qcut(clin["la_volume_ml"].astype(float), 5, labels=False)
    mrs = clin["mrs_3m"].astype(float).groupby(quintile).mean()
    assert mrs.iloc[-1] > mrs.iloc[0]


def test_stratified_normal_puts_one_draw_in_each_quantile_slice() -> None:
    from scipy.stats import kstest, norm

    groups = np.array(["kept"] * 22 + ["excluded"] * 18)
    x = stratified_normal(np.random.default_rng(0), 40, groups)
    for label, k in (("kept", 22), ("excluded", 18)):
        # Hand computation: the k draws of a group occupy the k slices [i/k, (i+1)/k).
        slices = np.sort(np.floor(norm.cdf(x[groups == label]) * k).astype(int))
        np.testing.assert_array_equal(slices, np.arange(k))
    # The marginal stays standard normal (a large draw, one group).
    assert kstest(stratified_normal(np.random.default_rng(1), 20000), "norm").pvalue > 0.01


def test_stratified_by_rank_keeps_the_order_and_fills_every_slice() -> None:
    from scipy.stats import norm

    rng = np.random.default_rng(4)
    score = rng.normal(size=30)
    groups = np.array(["kept"] * 18 + ["excluded"] * 12)
    x = stratified_by_rank(np.random.default_rng(5), score, groups)
    for label, k in (("kept", 18), ("excluded", 12)):
        chosen = groups == label
        # Same order as the score (hand check: argsorts agree) ...
        np.testing.assert_array_equal(np.argsort(x[chosen]), np.argsort(score[chosen]))
        # ... and the i-th smallest draw in the i-th 1/k slice.
        slices = np.floor(norm.cdf(np.sort(x[chosen])) * k).astype(int)
        np.testing.assert_array_equal(slices, np.arange(k))


def test_small_development_cohort_spans_its_volume_distribution() -> None:
    # Issue 16: independent draws once left the demo's 22 kept development
    # subjects below the 80th percentile of LA volume, and stratifying the
    # model's residual alone left the demo's 55 below 55 mL while its external
    # cohort reached 107 mL.  Volumes are now the cohort's log-normal quantiles:
    # the paper's development median 9.18 mL, IQR 4.62-18.5 (Table 1), and a
    # top draw in the top 1/k slice, i.e. above the (1 - 1/k) quantile.
    from scipy.stats import norm

    mu, sigma = np.log(9.18), np.log(18.5 / 4.62) / (2 * norm.ppf(0.75))
    for seed in (20240611, 1, 2):
        t = draw_cohort_tables(TwinSettings(development=100, external=1, us=0, clinical=0), seed)
        kept = t[(t["cohort"] == "train") & (t["exclusion_reason"] == "")]
        v = kept["la_volume_ml"]
        k = len(v)
        assert v.median() == pytest.approx(9.18, rel=0.06)
        assert v.quantile(0.25) == pytest.approx(4.62, rel=0.08)
        assert v.quantile(0.75) == pytest.approx(18.5, rel=0.08)
        top = min(np.exp(mu + sigma * norm.ppf(1 - 1 / k)), 120.0)   # 120 mL: the model's cap
        assert v.max() >= top - 1e-9
        # The order still comes from age and risk factors.
        assert np.corrcoef(kept["age"], np.log(v))[0, 1] > 0.25


@pytest.fixture(scope="module")
def large_clinical() -> pd.DataFrame:
    """A clinical cohort of ~12 000 analysed patients: large enough that the
    planted mRS effects must be recovered within a few standard errors."""
    tables = draw_cohort_tables(
        TwinSettings(development=1, external=1, us=1, clinical=16000), seed=3)
    return tables[(tables["cohort"] == "clinical") & (tables["exclusion_reason"] == "")].copy()


def _mrs_design(clinical: pd.DataFrame) -> pd.DataFrame:
    rank = clinical["la_volume_ml"].rank(method="first")
    quintile = np.floor(5 * (rank - 1) / len(clinical)).astype(int) + 1
    x = pd.get_dummies(quintile, prefix="Q", drop_first=True).astype(float)
    x["nihss"] = clinical["nihss"].astype(float)
    x["age"] = clinical["age"].astype(float)
    x["female"] = (clinical["sex"] == "F").astype(float)
    x["diabetes"] = clinical["diabetes"].astype(float)
    x["revascularization"] = clinical["revascularization"].astype(float)
    return x


def test_planted_mrs_odds_ratios_are_recovered(large_clinical: pd.DataFrame) -> None:
    # An independent fit (statsmodels' cumulative logit) of the model the twin
    # planted, with mRS 5-6 merged as the paper did: every planted log-odds
    # ratio lies within 3.5 standard errors of its estimate.
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    x = _mrs_design(large_clinical)
    y = large_clinical["mrs_3m"].astype(int).clip(upper=5)
    fit = OrderedModel(y, x, distr="logit").fit(method="bfgs", disp=False, maxiter=2000)
    m = P.MRS_MODEL
    planted = {"Q_2": m["quintile_log_or"][1], "Q_3": m["quintile_log_or"][2],
               "Q_4": m["quintile_log_or"][3], "Q_5": m["quintile_log_or"][4],
               "nihss": m["nihss_log_or"], "age": m["age_log_or_per_year"],
               "female": m["female_log_or"], "diabetes": m["diabetes_log_or"],
               "revascularization": m["revascularization_log_or"]}
    for name, value in planted.items():
        assert abs(fit.params[name] - value) < 3.5 * fit.bse[name], (name, fit.params[name])
    # The quintile effects rise monotonically, as in Table 3.
    assert list(fit.params[["Q_2", "Q_3", "Q_4", "Q_5"]]) == \
        sorted(fit.params[["Q_2", "Q_3", "Q_4", "Q_5"]])


def _brant_frame(clinical: pd.DataFrame) -> pd.DataFrame:
    from leukoct.ordinal import quantile_groups

    return pd.DataFrame({
        "mrs": clinical["mrs_3m"].astype(int).to_numpy(),
        "la_q": quantile_groups(clinical["la_volume_ml"].astype(float)).to_numpy(),
        "nihss": clinical["nihss"].astype(float).to_numpy(),
        "age": clinical["age"].astype(float).to_numpy(),
        "female": (clinical["sex"] == "F").to_numpy(),
        "diabetes": clinical["diabetes"].astype(bool).to_numpy(),
        "revascularization": clinical["revascularization"].astype(bool).to_numpy()})


@pytest.mark.parametrize("size", ["large", "paper"])
def test_proportional_odds_fails_unless_mrs_5_and_6_merge(size: str,
                                                          large_clinical: pd.DataFrame) -> None:
    # The paper merged mRS 5-6 because the proportional-odds assumption
    # failed; the twin's separate death model must reproduce that, at the
    # paper's cohort size (867 analysed) as well as in a large draw.
    from leukoct.brant import brant_merge_comparison

    if size == "paper":
        # At 867 patients one draw is one coin: the violation is detected (p < 0.05) in
        # only ~1 of 8 seeds, and the merged test rejects by chance in ~1 of 20.  What
        # holds draw after draw is the direction: merging 5 and 6 raises the p value.
        raised = []
        for seed in (SEED, 1, 2, 3, 4, 5):
            tables = draw_cohort_tables(
                TwinSettings(development=1, external=1, us=1, clinical=1180), seed=seed)
            clinical = tables[(tables["cohort"] == "clinical")
                              & (tables["exclusion_reason"] == "")]
            assert len(clinical) == 867
            frame = _brant_frame(clinical)
            brant = brant_merge_comparison(frame, "mrs", [c for c in frame if c != "mrs"],
                                           by_variable=True)
            raised.append(brant.loc["omnibus", ("merged", "p_value")]
                          > brant.loc["omnibus", ("original", "p_value")])
        assert sum(raised) >= 5, raised
        return
    frame = _brant_frame(large_clinical)
    brant = brant_merge_comparison(frame, "mrs", [c for c in frame if c != "mrs"],
                                   by_variable=True)
    assert brant.loc["omnibus", ("original", "p_value")] < 1e-10
    assert brant.loc["omnibus", ("merged", "p_value")] > 0.05
    assert brant.loc["la_q", ("merged", "p_value")] > 0.05, "LA quintiles keep proportional odds"


def test_true_ventricles_sit_where_the_lesions_grow(study: Path, manifest: pd.DataFrame) -> None:
    """The twin grows LA as periventricular caps plus deep blobs (twin.lesions):
    on the FLAIR most true lesion lies within seed 002's 10 mm band of its true
    ventricles, not inside them, and the ventricles have a plausible size."""
    from leukoct.images import load_volume
    from leukoct.wmh.subregions import periventricular_region

    shares = []
    for row in manifest[manifest["flair_path"].notna()].itertuples():
        vent = load_volume(study / "truth" / f"{row.subject_id}_ventricles_flair.nii.gz")
        lesion = _load(study / "truth" / f"{row.subject_id}_lesion_flair.nii.gz") > 0
        flair = load_volume(row.flair_path)
        assert vent.same_grid(flair, atol=0.5)
        ventricles = vent.data > 0
        # Lateral ventricles of adults: roughly 10-80 mL (older brains larger).
        assert 5.0 < ventricles.sum() * flair.voxel_volume_ml < 120.0
        if lesion.sum() * flair.voxel_volume_ml < 2.0:
            continue
        band = periventricular_region(ventricles, flair.spacing, 10.0)
        shares.append((lesion & band).sum() / lesion.sum())
        # Caps abut the ventricles: on 5 mm slices the two binarised
        # partial-volume maps share boundary voxels (measured on ci: up to ~17 %).
        assert (lesion & ventricles).sum() < 0.25 * lesion.sum()
    # Mostly periventricular; a large confluent load reaches past the band
    # (measured on ci: 0.34 of a 95 mL load, 0.62-1.00 below 35 mL).
    assert len(shares) >= 2 and np.median(shares) > 0.6
