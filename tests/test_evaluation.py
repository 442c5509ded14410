"""Tests of leukoct.evaluation on tiny hand-made masks and tables.

Every expected value is computed by hand in the test, or by calling
:mod:`leukoct.metrics` (or scipy) directly on the rows the table should use.
"""

from __future__ import annotations

import math
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from leukoct import evaluation as ev
from leukoct import metrics

# --------------------------------------------------------------------------
# masks on disk
# --------------------------------------------------------------------------

SHAPE = (4, 4, 2)
ANISO = (0.5, 2.0, 5.0)   # 5 mm³ = 0.005 mL per voxel


def _mask(path: Path, voxels: list[tuple[int, int, int]], shape=SHAPE, zooms=ANISO,
          value: int = 1) -> Path:
    data = np.zeros(shape, dtype=np.uint8)
    for v in voxels:
        data[v] = value
    nib.save(nib.Nifti1Image(data, np.diag([*zooms, 1.0])), str(path))
    return path


# pred 3 voxels, label 4 voxels, 2 shared: DSC = 2*2 / (3 + 4) = 4/7
PRED = [(0, 0, 0), (0, 1, 0), (1, 0, 0)]
LABEL = [(0, 0, 0), (1, 0, 0), (2, 0, 0), (3, 0, 1)]
TRUTH = [(0, 0, 0)]          # pred vs truth 2*1/(3+1) = 0.5; label vs truth 2*1/(4+1) = 0.4


def _subject(tmp_path: Path, sid: str, zooms=ANISO, pred=PRED, label=LABEL, truth=TRUTH,
             manual=PRED) -> dict[str, Path]:
    folder = tmp_path / sid
    folder.mkdir()
    return {"pred": _mask(folder / "pred.nii.gz", pred, zooms=zooms),
            "label": _mask(folder / "label.nii.gz", label, zooms=zooms),
            "truth": _mask(folder / "truth.nii.gz", truth, zooms=zooms),
            "manual": _mask(folder / "manual.nii.gz", manual, zooms=zooms)}


def _overlaps(files: dict[str, dict[str, Path]], **kwargs) -> pd.DataFrame:
    volumes = pd.DataFrame({"subject_id": list(files),
                            "predicted_mask": [str(f["pred"]) if f.get("pred") else None
                                               for f in files.values()]})
    return ev.subject_overlaps(volumes, {s: f.get("label") for s, f in files.items()},
                               truth_path={s: f.get("truth") for s, f in files.items()},
                               manual_path={s: f.get("manual") for s, f in files.items()},
                               **kwargs)


def test_subject_overlaps_hand_computed_dice_and_anisotropic_volumes(tmp_path):
    files = {"S1": _subject(tmp_path, "S1"),
             "S2": _subject(tmp_path, "S2", zooms=(1.0, 1.0, 1.0))}
    out = _overlaps(files).set_index("subject_id")
    assert list(out.reset_index().columns) == list(ev.OVERLAP_COLUMNS)
    for sid in ("S1", "S2"):  # Dice counts voxels: the spacing does not change it
        assert out.at[sid, "dice_vs_label"] == pytest.approx(4 / 7)
        assert out.at[sid, "dice_vs_truth"] == pytest.approx(0.5)
        assert out.at[sid, "dice_label_vs_truth"] == pytest.approx(0.4)
        assert out.at[sid, "dice_vs_manual"] == pytest.approx(1.0)
        assert out.at[sid, "missing"] == ""
    # ... the volumes do: 0.5 x 2 x 5 mm = 5 mm³ = 0.005 mL per voxel
    assert out.at["S1", "predicted_mask_ml"] == pytest.approx(3 * 0.005)
    assert out.at["S1", "label_mask_ml"] == pytest.approx(4 * 0.005)
    assert out.at["S1", "truth_mask_ml"] == pytest.approx(1 * 0.005)
    assert out.at["S2", "label_mask_ml"] == pytest.approx(4 * 0.001)


def test_subject_overlaps_empty_masks_rule(tmp_path):
    files = {"BOTH": _subject(tmp_path, "BOTH", pred=[], label=[], truth=[], manual=[]),
             "ONE": _subject(tmp_path, "ONE", pred=[], label=LABEL)}
    out = _overlaps(files).set_index("subject_id")
    # both empty: undefined (NaN) by default, while the volumes say the masks were read
    assert math.isnan(out.at["BOTH", "dice_vs_label"])
    assert out.at["BOTH", "predicted_mask_ml"] == 0.0
    assert out.at["BOTH", "label_mask_ml"] == 0.0
    # one empty: 0 whatever the rule
    assert out.at["ONE", "dice_vs_label"] == 0.0
    opted = _overlaps(files, empty=1.0).set_index("subject_id")
    assert opted.at["BOTH", "dice_vs_label"] == 1.0
    assert opted.at["ONE", "dice_vs_label"] == 0.0


def test_subject_overlaps_grid_mismatch_names_subject_and_files(tmp_path):
    files = _subject(tmp_path, "TW-EXT-0042")
    _mask(files["label"], LABEL, shape=(4, 4, 3))
    with pytest.raises(ValueError, match="TW-EXT-0042") as err:
        _overlaps({"TW-EXT-0042": files})
    assert str(files["label"]) in str(err.value) and str(files["pred"]) in str(err.value)
    # same shape, other spacing (affine): also refused
    _mask(files["label"], LABEL, zooms=(1.0, 1.0, 5.0))
    with pytest.raises(ValueError, match="TW-EXT-0042.*not on the same grid"):
        _overlaps({"TW-EXT-0042": files})


def test_subject_overlaps_refuses_non_binary_masks(tmp_path):
    files = _subject(tmp_path, "S1")
    _mask(files["manual"], PRED, value=255)
    with pytest.raises(ValueError, match="S1.*not a binary mask"):
        _overlaps({"S1": files})


def test_subject_overlaps_lists_missing_masks(tmp_path):
    files = {"NOLABEL": _subject(tmp_path, "NOLABEL"), "NOPRED": _subject(tmp_path, "NOPRED")}
    files["NOLABEL"]["label"].unlink()
    files["NOPRED"]["pred"] = None

    def truth(subject):
        if subject == "NOPRED":
            raise FileNotFoundError(subject)
        return files[subject]["truth"]

    volumes = pd.DataFrame({"subject_id": ["NOLABEL", "NOPRED"],
                            "predicted_mask": [str(files["NOLABEL"]["pred"]), None]})
    out = ev.subject_overlaps(volumes, lambda s: files[s]["label"], truth_path=truth)
    out = out.set_index("subject_id")
    assert math.isnan(out.at["NOLABEL", "label_mask_ml"])
    assert math.isnan(out.at["NOLABEL", "dice_vs_label"])
    assert out.at["NOLABEL", "dice_vs_truth"] == pytest.approx(0.5)
    assert "file not found" in out.at["NOLABEL", "missing"]
    assert "prediction mask: no path" in out.at["NOPRED", "missing"]
    assert "true LA mask: not available" in out.at["NOPRED", "missing"]
    assert out.at["NOPRED", "dice_label_vs_truth"] != out.at["NOPRED", "dice_label_vs_truth"]


# --------------------------------------------------------------------------
# a hand-made study (no files)
# --------------------------------------------------------------------------

def _study() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    ids = [f"E{i:02d}" for i in range(1, 12)] + [f"I{i:02d}" for i in range(1, 5)]
    vendors = (["SIEMENS"] * 4 + ["GE"] * 3 + ["PHILIPS"] * 3 + [None]  # no CANON, 1 unknown
               + ["SIEMENS", "GE", "PHILIPS", "SIEMENS"])
    registered = rng.uniform(2, 40, len(ids)).round(2)
    volumes = pd.DataFrame({
        "subject_id": ids, "cohort": ["external"] * 11 + ["internal"] * 4,
        "group": ["external"] * 11 + ["development"] * 4,
        "split": [None] * 11 + ["internal"] * 3 + ["train"],
        "ct_vendor": vendors,
        "predicted_ml": (registered * 0.9 + rng.normal(0, 2, len(ids))).round(2),
        "registered_ml": registered,
        "flair_wmh_ml": (registered / 3 + rng.normal(0, 1, len(ids))).round(2),
        "true_ml": (registered / 2.5).round(2),
    })
    volumes.loc[volumes["subject_id"] == "E05", "predicted_ml"] = np.nan   # no prediction
    volumes.loc[volumes["subject_id"] == "E02", "flair_wmh_ml"] = np.nan   # no FLAIR volume
    overlaps = pd.DataFrame({"subject_id": ids})
    for column in ("predicted_mask_ml", "label_mask_ml", "truth_mask_ml"):
        overlaps[column] = rng.uniform(1, 30, len(ids))
    overlaps["manual_mask_ml"] = np.nan
    overlaps["dice_vs_label"] = rng.uniform(0.3, 0.7, len(ids)).round(3)
    overlaps["dice_vs_truth"] = rng.uniform(0.2, 0.6, len(ids)).round(3)
    overlaps["dice_label_vs_truth"] = rng.uniform(0.4, 0.6, len(ids)).round(3)
    overlaps["dice_vs_manual"] = np.nan
    overlaps["missing"] = ""
    both_empty = overlaps["subject_id"] == "E03"
    overlaps.loc[both_empty, ["predicted_mask_ml", "label_mask_ml", "dice_vs_label"]] = \
        [0.0, 0.0, np.nan]
    no_label = overlaps["subject_id"] == "E04"
    overlaps.loc[no_label, ["label_mask_ml", "dice_vs_label", "dice_label_vs_truth"]] = np.nan
    overlaps.loc[no_label, "missing"] = "pseudo-label (registered LA) mask: no path"
    manual = overlaps["subject_id"].isin(["E01", "E06", "E07", "E08"])
    overlaps.loc[manual, "manual_mask_ml"] = [10.0, 20.0, 5.0, 14.0]
    overlaps.loc[manual, "dice_vs_manual"] = [0.5, 0.6, 0.4, 0.55]
    manifest = pd.DataFrame({
        "subject_id": ids,
        "fazekas": pd.array([0, 1, 2, 3, 1, 2, 3, 0, 1, None, 2, 0, 1, 2, 3], dtype="Int64"),
        "infarct_volume_ml": [0.5, 12.0, 3.0, 25.0, 10.0, 1.0, 40.0, 2.0, 0.1, np.nan, 15.0,
                              1, 2, 3, 4]})
    return ev.evaluation_frame(volumes, overlaps, manifest)


def test_evaluation_frame_datasets():
    frame = _study()
    assert frame["dataset"].tolist() == ["external"] * 11 + ["internal"] * 3 + ["train"]
    assert frame["overlap_computed"].all()


def test_table2_n_per_vendor_and_missing_vendor_footnote():
    result = ev.table2(_study())
    assert list(result.table.columns) == ["comparison", "statistic", "All", "Siemens", "GE",
                                          "Philips", "Toshiba/Canon", "missing"]
    n = result.values.query("comparison == 'subjects'").set_index("group")["n"]
    assert n.to_dict() == {"All": 11, "SIEMENS": 4, "GE": 3, "PHILIPS": 3, "CANON": 0,
                           "missing": 1}
    assert n.drop("All").sum() == n["All"]                     # subgroups sum to the total
    assert result.table.iloc[0]["Siemens"] == "4 (36.4%)"
    assert any("CT vendor missing for 1 subject(s) (E11)" in f for f in result.footnotes)
    assert any("No subject in Toshiba/Canon" in f for f in result.footnotes)
    # every cell is text: no silent NaN in the table
    cells = result.table.drop(columns=["comparison", "statistic"]).to_numpy().ravel()
    assert all(isinstance(c, str) and c and "nan" not in c for c in cells)


def test_table2_excludes_and_footnotes_missing_prediction():
    frame = _study()
    result = ev.table2(frame)
    reg = result.values.query("comparison == 'vs_registered' and statistic == 'n'")
    flair = result.values.query("comparison == 'vs_flair' and statistic == 'n'")
    assert reg.set_index("group").at["All", "n"] == 10          # E05: no predicted volume
    assert flair.set_index("group").at["All", "n"] == 9         # E05 and E02 (no FLAIR)
    assert reg.set_index("group").at["GE", "n"] == 2
    excluded = result.excluded
    assert set(excluded.loc[excluded["reason"] == "no predicted_ml", "subject_id"]) == {"E05"}
    assert set(excluded.loc[excluded["reason"] == "no flair_wmh_ml", "subject_id"]) == {"E02"}
    text = result.footnote
    assert "no predicted_ml: E05" in text and "no flair_wmh_ml: E02" in text
    # DSC: E04 has no pseudo-label mask (excluded), E03 both masks empty (undefined)
    assert "no pseudo-label (registered LA) mask: E04" in text
    assert "DSC undefined (both masks empty) for 1 subject(s), left out of the mean: E03" in text
    dsc = result.values.query("statistic == 'dice'").set_index("group")
    assert dsc.at["All", "n"] == 9                             # 11 - E04 - E03
    undefined = result.values.query("statistic == 'dice_n_undefined'").set_index("group")
    assert undefined.at["All", "n"] == 1                       # E03 only; E04 is excluded


def test_table2_ccc_interval_method_is_a_choice_and_its_footnote_says_which():
    frame = _study()
    paper = ev.table2(frame)
    other = ev.table2(frame, ccc_interval="z-transform")
    ext = frame.loc[frame["dataset"] == "external"]
    x, y = ext["predicted_ml"].to_numpy(), ext["registered_ml"].to_numpy()
    z = metrics.lins_ccc(x, y, ci="z-transform", nan_policy="omit")
    got = other.values.set_index(["comparison", "statistic", "group"]).loc[
        ("vs_registered", "ccc", "All")]
    assert (got["ci_low"], got["ci_high"]) == (pytest.approx(z.ci_low), pytest.approx(z.ci_high))
    assert "asymptotic" in paper.footnotes[0] and "z-transform" in other.footnotes[0]


def test_table2_values_match_metrics_called_directly():
    frame = _study()
    result = ev.table2(frame)
    ext = frame.loc[frame["dataset"] == "external"]
    values = result.values.set_index(["comparison", "statistic", "group"])
    for key, ref in (("vs_registered", "registered_ml"), ("vs_flair", "flair_wmh_ml")):
        ok = ext["predicted_ml"].notna() & ext[ref].notna()
        for group, rows in (("All", ok), ("SIEMENS", ok & (ext["ct_vendor"] == "SIEMENS"))):
            x, y = ext.loc[rows, "predicted_ml"], ext.loc[rows, ref]
            # the paper's interval unless a profile asks for the other
            ccc = metrics.lins_ccc(x.to_numpy(), y.to_numpy(), ci="asymptotic")
            r2 = metrics.r_squared(x.to_numpy(), y.to_numpy())
            r = metrics.pearson(x.to_numpy(), y.to_numpy())
            got_r = values.loc[(key, "pearson_r", group)]
            assert (got_r["estimate"], got_r["ci_low"], got_r["ci_high"]) == (
                pytest.approx(r.r), pytest.approx(r.ci_low), pytest.approx(r.ci_high))
            got = values.loc[(key, "ccc", group)]
            assert got["estimate"] == pytest.approx(ccc.ccc)
            assert got["ci_low"] == pytest.approx(ccc.ci_low)
            assert got["ci_high"] == pytest.approx(ccc.ci_high)
            assert values.loc[(key, "r2", group), "estimate"] == pytest.approx(r2.r_squared)
            # the displayed cell is that number
            label = "All" if group == "All" else "Siemens"
            row = result.table.loc[(result.table["comparison"] == ev.COMPARISONS[key][1])
                                   & (result.table["statistic"] == "CCC")].iloc[0]
            assert row[label] == ev.format_estimate(ccc.ccc, ccc.ci_low, ccc.ci_high)
    usable = ext["predicted_mask_ml"].notna() & ext["label_mask_ml"].notna()
    summary = metrics.dice_summary(ext.loc[usable, "dice_vs_label"].to_numpy())
    assert summary.n_undefined == 1
    assert values.loc[("vs_registered", "dice", "All"), "estimate"] == pytest.approx(summary.mean)
    assert values.loc[("vs_registered", "dice", "All"), "ci_low"] == pytest.approx(summary.ci_low)


def test_table_s2_uses_the_internal_split_only():
    frame = _study()
    result = ev.table_s2(frame)
    assert list(result.table.columns) == ["comparison", "statistic", "Internal validation"]
    assert result.values.set_index(["comparison", "statistic", "group"]).at[
        ("subjects", "n", "All"), "n"] == 3                     # I04 is in the train split
    internal = frame.loc[frame["dataset"] == "internal"]
    ccc = metrics.lins_ccc(internal["predicted_ml"].to_numpy(),
                           internal["flair_wmh_ml"].to_numpy())
    got = result.values.query("comparison == 'vs_flair' and statistic == 'ccc'")
    assert got["estimate"].iloc[0] == pytest.approx(ccc.ccc)
    with pytest.raises(ValueError, match="no subject"):
        ev.table_s2(frame, dataset="nonexistent")


def test_infarct_agreement_groups_and_ccc():
    frame = _study()
    result = ev.infarct_agreement(frame)
    n = result.values.query("comparison == 'subjects'").set_index("group")["n"]
    # external infarct volumes: ≤10 -> E01 E03 E05(10.0) E06 E08 E09, >10 -> E02 E04 E07 E11
    assert n.to_dict() == {"All": 11, "≤10 mL": 6, ">10 mL": 4, "missing": 1}
    assert any("Infarct volume missing for 1 subject(s) (E10)" in f for f in result.footnotes)
    ext = frame.loc[frame["dataset"] == "external"]
    low = ext.loc[(ext["infarct_volume_ml"] <= 10) & ext["predicted_ml"].notna()]
    ccc = metrics.lins_ccc(low["predicted_ml"].to_numpy(), low["registered_ml"].to_numpy())
    got = result.values.set_index(["comparison", "statistic", "group"])
    assert got.at[("vs_registered", "ccc", "≤10 mL"), "estimate"] == pytest.approx(ccc.ccc)
    assert got.at[("vs_registered", "n", "≤10 mL"), "n"] == 5   # E05 has no prediction


def test_figure3_stats_are_table2_numbers():
    frame = _study()
    fig = ev.figure3_data(frame)
    assert set(fig.points["panel"]) == {"A", "B"}
    assert len(fig.points.query("panel == 'A'")) == 10
    assert "missing" in set(fig.points["ct_vendor"])
    all_a = fig.stats.query("panel == 'A' and group == 'All'").iloc[0]
    ext = frame.loc[(frame["dataset"] == "external") & frame["predicted_ml"].notna()]
    assert all_a["ccc"] == pytest.approx(metrics.lins_ccc(
        ext["predicted_ml"].to_numpy(), ext["registered_ml"].to_numpy()).ccc)
    assert all_a["n"] == 10


# --------------------------------------------------------------------------
# Figure 2
# --------------------------------------------------------------------------

def test_figure2_rule_on_a_hand_made_table():
    table = pd.DataFrame({
        "subject_id": list("abcdefghi"),
        "dice_vs_label": [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, np.nan],
        "registered_ml": [50, 10, 40, 5, 60, 8, 30, 3, 20],
    })
    # median Dice 0.55: high a-d; median volume (10 + 30)/2 = 20: high a c e g.
    # Percentile ranks (rank - 0.5)/8 - Dice: a .9375 b .8125 c .6875 d .5625 e .4375
    # f .3125 g .1875 h .0625; volume: h .0625 d .1875 f .3125 b .4375 g .5625 c .6875
    # a .8125 e .9375.  Nearest to the quadrant targets (.75/.25):
    #   A high/high {a, c}: a 0.198, c 0.088 -> c
    #   B high/low  {b, d}: b 0.198, d 0.198 -> tie -> b (smaller id)
    #   C low/high  {e, g}: e 0.265, g 0.198 -> g
    #   D low/low   {f, h}: f 0.088, h 0.265 -> f
    cases = ev.figure2_cases(table, dataset=None)
    assert cases["panel"].tolist() == ["A", "B", "C", "D"]
    assert cases["subject_id"].tolist() == ["c", "b", "g", "f"]
    assert cases.attrs["excluded"] == ["i"] and cases.attrs["n_eligible"] == 8
    assert cases.attrs["dice_median"] == pytest.approx(0.55)
    # deterministic: row order does not matter
    shuffled = table.sample(frac=1, random_state=3)
    assert ev.figure2_cases(shuffled, dataset=None)["subject_id"].tolist() == ["c", "b", "g", "f"]


def test_figure2_a_value_equal_to_the_median_is_low():
    table = pd.DataFrame({"subject_id": ["s1", "s2", "s3"],
                          "dice_vs_label": [0.1, 0.5, 0.9], "registered_ml": [5.0, 9.0, 1.0]})
    # medians: Dice 0.5, volume 5 -> s1 low/low, s2 low Dice (0.5 is not > 0.5) / high
    # volume, s3 high Dice / low volume; nobody is high/high
    cases = ev.figure2_cases(table, dataset=None).set_index("panel")["subject_id"]
    assert cases.to_dict() == {"A": None, "B": "s3", "C": "s2", "D": "s1"}


def test_figure2_empty_quadrant_is_reported_not_invented():
    table = pd.DataFrame({"subject_id": list("wxyz"), "dice_vs_label": [0.1, 0.2, 0.3, 0.4],
                          "registered_ml": [1.0, 2.0, 3.0, 4.0]})   # perfectly concordant
    cases = ev.figure2_cases(table, dataset=None).set_index("panel")
    assert cases.at["A", "subject_id"] in {"y", "z"} and cases.at["D", "subject_id"] in {"w", "x"}
    assert cases.at["B", "subject_id"] is None and cases.at["C", "subject_id"] is None
    assert cases.at["B", "note"] == "no subject in this quadrant"


# --------------------------------------------------------------------------
# Figure 4
# --------------------------------------------------------------------------

def test_fazekas_summary_against_hand_computation():
    frame = pd.DataFrame({
        "predicted_ml": [1, 2, 3, 4, 10, 20, 7, 99],
        "fazekas": pd.array([0, 0, 0, 0, 1, 1, 2, None], dtype="Int64")})
    out = ev.fazekas_summary(frame).set_index("grade")
    # grade 0: 1 2 3 4 -> median 2.5, linear quartiles at positions 0.75 and 2.25
    assert out.loc[0, ["n", "median", "q1", "q3"]].tolist() == [4, 2.5, 1.75, 3.25]
    assert out.loc[1, ["median", "q1", "q3"]].tolist() == [15.0, 12.5, 17.5]
    assert out.at[1, "label"] == "15.0 (12.5–17.5)"
    assert out.loc[2, ["n", "median", "q1", "q3"]].tolist() == [1, 7.0, 7.0, 7.0]
    assert out.at[3, "n"] == 0 and math.isnan(out.at[3, "median"])   # no grade-3 subject
    corr = ev.fazekas_correlation(frame).set_index("scale")
    v = np.array([1, 2, 3, 4, 10, 20, 7], dtype=float)
    g = np.array([0, 0, 0, 0, 1, 1, 2], dtype=float)
    r = ((v - v.mean()) * (g - g.mean())).sum() / math.sqrt(
        ((v - v.mean()) ** 2).sum() * ((g - g.mean()) ** 2).sum())
    assert corr.at["volume", "r"] == pytest.approx(r)
    assert corr.at["volume", "n"] == 7
    assert corr.at["volume", "p_value"] == pytest.approx(stats.pearsonr(v, g).pvalue)
    assert corr.at["log1p volume", "r"] == pytest.approx(stats.pearsonr(np.log1p(v), g).statistic)
    with pytest.raises(ValueError, match="grade"):
        ev.fazekas_summary(frame.assign(fazekas=pd.array([5] * 8, dtype="Int64")))


def test_figure4_data_lists_subjects_without_grade():
    fig = ev.figure4_data(_study())
    assert set(fig.summary["dataset"]) == {"external", "us"}
    ext = fig.excluded.loc[fig.excluded["metric"] == "Figure 4 (external)"]
    assert dict(zip(ext["subject_id"], ext["reason"])) == {"E05": "no predicted_ml",
                                                          "E10": "no Fazekas grade"}
    assert fig.summary.query("dataset == 'external'")["n"].sum() == 9
    assert fig.summary.query("dataset == 'us'")["n"].sum() == 0
    r = fig.values.set_index(["statistic", "group"]).at[("pearson_r", "external"), "estimate"]
    assert r == pytest.approx(fig.correlation.query("dataset == 'external'")["r"].iloc[0])


# --------------------------------------------------------------------------
# Figures S1, S2 and the error budget
# --------------------------------------------------------------------------

def test_figure_s1_excludes_undefined_and_missing_dice():
    fig = ev.figure_s1_data(_study())
    reasons = dict(zip(fig.excluded["subject_id"], fig.excluded["reason"]))
    assert reasons == {"E03": "Dice undefined (both masks empty)",
                       "E04": "no Dice (mask missing)"}
    assert len(fig.points.query("dataset == 'external'")) == 9
    assert len(fig.points.query("dataset == 'internal'")) == 3
    ext = fig.points.query("dataset == 'external'")
    rho = stats.spearmanr(ext["dice"], ext["registered_ml"]).statistic
    got = fig.trend.set_index(["dataset", "reference"]).at[("external", "registered_ml"),
                                                          "spearman_rho"]
    assert got == pytest.approx(rho)


def test_manual_agreement_ccc_is_lins_ccc():
    result = ev.manual_agreement(_study())
    assert result.points["subject_id"].tolist() == ["E01", "E06", "E07", "E08"]
    frame = _study().set_index("subject_id").loc[["E01", "E06", "E07", "E08"]]
    expected = metrics.lins_ccc(frame["predicted_ml"].to_numpy(), [10.0, 20.0, 5.0, 14.0])
    assert result.ccc.ccc == pytest.approx(expected.ccc)
    assert result.dice.mean == pytest.approx(np.mean([0.5, 0.6, 0.4, 0.55]))
    got = result.values.set_index(["comparison", "statistic"])
    assert got.at[("vs_manual", "ccc"), "estimate"] == pytest.approx(expected.ccc)


def test_twin_error_budget():
    frame = _study()
    budget = ev.twin_error_budget(frame).set_index(["dataset", "comparison"])
    ext = frame.loc[frame["dataset"] == "external"]
    label = ev.ERROR_BUDGET[0][0]
    expected = metrics.lins_ccc(ext["registered_ml"].to_numpy(), ext["true_ml"].to_numpy())
    assert budget.at[("external", label), "ccc"] == pytest.approx(expected.ccc)
    assert budget.at[("external", label), "n_volume"] == 11
    assert budget.at[("external", label), "n_dice"] == 10        # E04 has no pseudo-label mask
    pred_label = ev.ERROR_BUDGET[1][0]
    assert budget.at[("external", pred_label), "n_dice_undefined"] == 1   # E03
    with pytest.raises(ValueError, match="twin"):
        ev.twin_error_budget(frame.assign(true_ml=np.nan))


# --------------------------------------------------------------------------
# the paper's values
# --------------------------------------------------------------------------

def test_published_values_are_transcribed_as_numbers():
    table2 = ev.published_values("table2").set_index(["comparison", "statistic", "group"])
    assert len(table2) == 30
    assert table2.at[("vs_registered", "dice", "All"), "estimate"] == 0.556   # not 0.527
    assert "0.527" in table2.at[("vs_registered", "dice", "All"), "note"]
    assert table2.at[("vs_flair", "ccc", "CANON"), "ci_high"] == 0.988
    assert table2.at[("subjects", "n", "SIEMENS"), "estimate"] == 185
    assert set(table2.index.get_level_values("group")) == {"All", "SIEMENS", "GE", "PHILIPS",
                                                           "CANON"}
    numbers = table2.query("statistic != 'n'")
    assert (numbers["ci_low"] <= numbers["estimate"]).all()
    assert (numbers["estimate"] <= numbers["ci_high"]).all()
    s2 = ev.published_values("tableS2").set_index(["comparison", "statistic", "group"])
    assert s2.at[("vs_registered", "dice", "All"), "ci_low"] == 0.497
    assert math.isnan(s2.at[("vs_registered", "ccc", "All"), "ci_low"])
    assert (ev.published_values("figureS2")["estimate"] == [40, 0.858]).all()
    assert set(ev.published_values()["table"]) == {"table2", "tableS2", "figure4", "figureS2",
                                                   "figureS3"}
    with pytest.raises(ValueError, match="table must be"):
        ev.published_values("table9")


def test_compare_with_paper():
    values = pd.DataFrame([
        {"comparison": "vs_registered", "statistic": "dice", "group": "All", "estimate": 0.5,
         "ci_low": 0.45, "ci_high": 0.56, "n": 100},
        {"comparison": "vs_registered", "statistic": "ccc", "group": "All", "estimate": 0.8,
         "ci_low": 0.7, "ci_high": 0.9, "n": 100},
        {"comparison": "vs_registered", "statistic": "ccc", "group": "GE", "estimate": np.nan,
         "ci_low": np.nan, "ci_high": np.nan, "n": 2},
    ])
    out = ev.compare_with_paper(values, "table2").set_index(["comparison", "statistic", "group"])
    dice = out.loc[("vs_registered", "dice", "All")]
    assert dice["difference"] == pytest.approx(0.5 - 0.556)
    assert bool(dice["published_in_ci"]) is True
    assert dice["reproduced"] == "0.500 (0.450–0.560)"
    assert bool(out.at[("vs_registered", "ccc", "All"), "published_in_ci"]) is False
    assert out.at[("vs_registered", "ccc", "GE"), "note"].startswith("not estimable here (n = 2)")
    assert out.at[("vs_flair", "r2", "All"), "note"].startswith("not reproduced")
    assert len(out) == 30


def test_format_estimate():
    assert ev.format_estimate(0.9254, 0.9061, 0.9423) == "0.925 (0.906–0.942)"
    assert ev.format_estimate(0.5) == "0.500"
    assert ev.format_estimate(float("nan"), 0.1, 0.2) == "–"


def test_side_by_side_reads_as_the_reader_compares():
    values = pd.DataFrame([
        {"comparison": "vs_registered", "statistic": "dice", "group": "All", "estimate": 0.5,
         "ci_low": 0.45, "ci_high": 0.56, "n": 100},
        {"comparison": "vs_registered", "statistic": "ccc", "group": "All", "estimate": 0.8,
         "ci_low": np.nan, "ci_high": np.nan, "n": 100}])
    out = ev.side_by_side(values, "table2").set_index(["comparison", "statistic", "group"])
    assert out.at[("vs_registered", "dice", "All"), "paper"] == "0.556 (0.545 - 0.566)"
    assert out.at[("vs_registered", "dice", "All"), "paper inside CI"] == "yes"
    assert out.at[("vs_registered", "ccc", "All"), "paper inside CI"] == ""  # no interval
    assert out.at[("vs_registered", "dice", "All"), "n"] == "100"
    assert out.at[("vs_flair", "ccc", "All"), "reproduced"] == "–"


def test_published_figure_values_come_from_the_data_file():
    fig4 = ev.published_values("figure4").set_index("group")
    assert fig4.at["external", "estimate"] == pytest.approx(0.832)
    assert fig4.at["us", "estimate"] == pytest.approx(0.891)
    s3 = ev.published_values("figureS3")
    # The paper's subgroup sizes: 99 + 312 = 411, not the 390 analysed.
    assert s3.loc[s3["statistic"] == "n", "estimate"].sum() == 411
    with pytest.raises(ValueError, match="figure9"):
        ev.published_values("figure9")


def test_overlaps_file_round_trip_keeps_missing_apart_from_undefined(tmp_path):
    table = pd.DataFrame([
        {"subject_id": "S1", "predicted_mask_ml": 1.5, "label_mask_ml": 2.0,
         "truth_mask_ml": np.nan, "manual_mask_ml": np.nan, "dice_vs_label": 0.4,
         "dice_vs_truth": np.nan, "dice_label_vs_truth": np.nan, "dice_vs_manual": np.nan,
         "missing": ""},
        {"subject_id": "NA", "predicted_mask_ml": 0.0, "label_mask_ml": 0.0,
         "truth_mask_ml": np.nan, "manual_mask_ml": np.nan, "dice_vs_label": np.nan,
         "dice_vs_truth": np.nan, "dice_label_vs_truth": np.nan, "dice_vs_manual": np.nan,
         "missing": "true LA mask: not available"}])
    path = tmp_path / "overlaps.csv"
    table.to_csv(path, index=False)
    back = ev.read_overlaps(path)
    assert back["subject_id"].tolist() == ["S1", "NA"]  # an id "NA" stays a string
    assert back["missing"].tolist() == ["", "true LA mask: not available"]
    pd.testing.assert_frame_equal(back.drop(columns=["subject_id", "missing"]),
                                  table.drop(columns=["subject_id", "missing"]))
    with pytest.raises(KeyError, match="dice_vs_label"):
        table.drop(columns="dice_vs_label").to_csv(path, index=False)
        ev.read_overlaps(path)


def test_volume_calibration_splits_a_ccc_into_precision_and_scale_by_hand():
    # The model predicts exactly half of every pseudo-label: perfectly ordered
    # (r = 1), slope 0.5.  By hand (population moments): registered 10..40 has
    # mean 25, sd sqrt(125); predicted mean 12.5, sd sqrt(31.25); v = 0.5,
    # u = -12.5 / sqrt(62.5), u^2 = 2.5, C_b = 2 / (0.5 + 2 + 2.5) = 0.4 = CCC.
    # Against the truth (= the pseudo-label / 2) the prediction is exact.
    registered = np.array([10.0, 20.0, 30.0, 40.0])
    frame = pd.DataFrame({"dataset": ["train"] * 4 + ["external"] * 4,
                          "predicted_ml": np.r_[registered, registered] / 2,
                          "registered_ml": np.r_[registered, registered],
                          "true_ml": np.r_[registered, registered] / 2})
    frame.loc[7, "true_ml"] = np.nan                     # one truth missing: n = 3 there
    parts = ev.volume_calibration(frame).set_index(["dataset", "reference"])
    assert list(parts.index) == [("train", "pseudo-label"), ("train", "truth"),
                                 ("external", "pseudo-label"), ("external", "truth")]
    row = parts.loc[("train", "pseudo-label")]
    assert row["pearson_r"] == pytest.approx(1.0)
    assert row["slope"] == pytest.approx(0.5)
    assert row["scale_shift"] == pytest.approx(0.5)
    assert row["bias_correction"] == pytest.approx(0.4)
    assert row["ccc"] == pytest.approx(0.4)
    assert row["median_ratio"] == pytest.approx(0.5)
    assert row["reference_max_ml"] == 40.0
    assert parts.loc[("external", "truth"), "n"] == 3
    assert parts.loc[("external", "truth"), "ccc"] == pytest.approx(1.0)
    assert parts.loc[("external", "truth"), "slope"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="twin"):
        ev.volume_calibration(frame.assign(true_ml=np.nan))


def test_calibration_reading_says_what_bounds_the_agreement():
    registered = np.array([10.0, 20.0, 30.0, 40.0, 80.0])
    frame = pd.DataFrame({"dataset": ["train"] * 4 + ["external"] * 5,
                          "predicted_ml": np.r_[registered[:4] / 2, registered / 2],
                          "registered_ml": np.r_[registered[:4], registered],
                          "true_ml": np.r_[registered[:4], registered] / 2})
    budget = pd.DataFrame({"dataset": ["external"], "comparison": [ev.ERROR_BUDGET[0][0]],
                           "dice": [0.54]})
    text = ev.calibration_reading(ev.volume_calibration(frame), budget)
    assert "slope of predicted on registered volume is 0.50" in text
    assert "ordered better than they are scaled" in text
    assert "under-fits" in text                      # train slope 0.5
    assert "(80 mL) lies above the largest training label (40 mL): cases above" in text
    assert "would score about 0.54" in text
    # A model that reproduces its labels: no under-fit, no extrapolation line.
    exact = frame.assign(predicted_ml=frame["registered_ml"]).iloc[[0, 1, 2, 3, 4, 5, 6, 7]]
    text = ev.calibration_reading(ev.volume_calibration(exact))
    assert "under-fits" not in text and "extrapolation" not in text
    assert "generalisation" in text
    assert ev.calibration_reading(ev.volume_calibration(exact), dataset="us") == ""


def test_paper_table2_ccc_intervals_are_the_asymptotic_ones():
    # From the transcribed cells alone (leukoct/data/paper_table2.csv): the paper's
    # Table 2 CCC intervals are what epiR's ci = "asymptotic" gives, not its
    # z-transform (Toshiba vs FLAIR 0.909 (0.830-0.988): a z-transform interval
    # with that upper limit would reach down to 0.45).
    found = ev.interval_method(ev.published_values("table2"))
    assert len(found) == 10
    assert set(found["method"]) <= {"asymptotic", "both"}
    assert (found["method"] == "asymptotic").sum() >= 8
    canon = found.set_index(["comparison", "group"]).loc[("vs_flair", "CANON")]
    assert canon["z_transform_low"] == pytest.approx(0.453, abs=1e-3)


@pytest.mark.parametrize(("ci", "low", "high", "expected"), [
    # epiR 2.0.57 on the 5-pair set of test_metrics (tests/test_metrics_ccc.R): est 0.939
    ("z-transform", 0.629, 0.991, "z-transform"),
    ("asymptotic", 0.822, 1.056, "asymptotic")])
def test_interval_method_tells_epirs_two_intervals_apart(ci, low, high, expected):
    printed = pd.DataFrame({"comparison": ["x"], "statistic": ["ccc"], "group": ["All"],
                            "estimate": [0.939], "ci_low": [low], "ci_high": [high]})
    assert ev.interval_method(printed)["method"].tolist() == [expected]
