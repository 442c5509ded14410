"""The FLAIR segmentation chapter's tables, as seed 002 and seed 004 report them.

Pure functions of the step's per-subject predictions tables
(:func:`leukoct.wmh.step.predict_cohort`): which set, which model, which
reference is the caller's choice of rows and columns; nothing here reads a file.

Evaluation sets (seed 002): the **internal test** set is the reference
subjects held out of training and validation (``split == "test"``), scored
against their reference masks; the **external** set is the external cohort,
scored against its reference masks where the manifest has them and, on the
digital twin, against the true lesion.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from leukoct.metrics import dice_summary, lins_ccc, pearson
from leukoct.metrics.lesionwise import pool_lesions
from leukoct.wmh.subregions import DISTANCES_MM, SEED002_SUBREGION_DSC

#: Seed 002 (Kim et al., AJNR 2024), Results and Table 2: UNet / SE-UNet.
SEED002 = {
    ("internal test", "unet"): {"dsc": 0.659, "r": None},
    ("internal test", "se_unet"): {"dsc": 0.675, "r": None},
    ("external", "unet"): {"dsc": 0.710, "r": 0.917},
    ("external", "se_unet"): {"dsc": 0.722, "r": 0.933},
}
#: Seed 002: DSC between two human raters on the external set.
SEED002_INTER_RATER_DSC = 0.744
#: Seed 002's uncertainty strata and infarct-volume cut points (mL).
UNCERTAINTY_EDGES = (0.2, 0.4, 0.6, 0.8)
INFARCT_EDGES_ML = (1.7, 14.0)

#: Model columns of a predictions table: label -> column prefix.
MODELS = {"ensemble": "ensemble", "single SE-UNet": "member0", "single UNet": "single_unet"}


def evaluation_sets(predictions: pd.DataFrame) -> dict[str, tuple[pd.DataFrame, str]]:
    """The seed's two evaluation sets and the reference each is scored against.

    Returns name -> (rows, reference label: ``reference`` or ``truth``).
    Sets without a scored subject are left out.
    """
    out: dict[str, tuple[pd.DataFrame, str]] = {}
    test = predictions[predictions["split"] == "test"]
    if "ensemble_vs_reference_dice" in test and test["ensemble_vs_reference_dice"].notna().any():
        out["internal test"] = (test, "reference")
    external = predictions[predictions["cohort"] == "external"]
    for label in ("reference", "truth"):
        column = f"ensemble_vs_{label}_dice"
        if column in external and external[column].notna().any():
            out["external"] = (external[external[column].notna()], label)
            break
    return out


def _dice_column(model: str, label: str) -> str:
    prefix = MODELS[model]
    return f"ensemble_vs_{label}_dice" if prefix == "ensemble" else f"{prefix}_dice_vs_{label}"


def _volume_column(model: str) -> str:
    prefix = MODELS[model]
    return "wmh_ml" if prefix == "ensemble" else f"{prefix}_ml"


def model_table(predictions: pd.DataFrame, confidence: float = 0.95,
                ccc_interval: str = "asymptotic") -> pd.DataFrame:
    """DSC (mean, CI), HD and HD95 (ensemble), r and CCC of volumes, per set and model.

    With the seed's values beside (``seed_dsc``, ``seed_r``) where it reports them.
    """
    rows = []
    for name, (frame, label) in evaluation_sets(predictions).items():
        ref_ml = frame[f"{label}_ml"]
        for model in MODELS:
            column = _dice_column(model, label)
            if column not in frame:
                continue
            d = dice_summary(frame[column], confidence=confidence)
            vol = frame[_volume_column(model)]
            r = pearson(vol, ref_ml, confidence=confidence) if len(frame) >= 3 else None
            c = lins_ccc(vol, ref_ml, confidence=confidence, ci=ccc_interval) \
                if len(frame) >= 3 else None
            arch = {"single SE-UNet": "se_unet", "single UNet": "unet"}.get(model)
            seed = SEED002.get((name, arch), {})
            row = {"set": name, "reference": label, "model": model, "n": len(frame),
                   "dsc_mean": d.mean, "dsc_ci_low": d.ci_low, "dsc_ci_high": d.ci_high,
                   "r": r.r if r else np.nan, "ccc": c.ccc if c else np.nan,
                   "ccc_ci_low": c.ci_low if c else np.nan, "ccc_ci_high": c.ci_high if c else np.nan,
                   "seed_dsc": seed.get("dsc"), "seed_r": seed.get("r")}
            if model == "ensemble":
                row["hd_mm_mean"] = float(frame[f"ensemble_vs_{label}_hd_mm"].mean())
                row["hd95_mm_mean"] = float(frame[f"ensemble_vs_{label}_hd95_mm"].mean())
            rows.append(row)
    return pd.DataFrame(rows)


def architecture_test(predictions: pd.DataFrame) -> pd.DataFrame:
    """SE-UNet vs UNet, paired t-test of the per-subject DSCs, per set (seed: P < .001)."""
    rows = []
    for name, (frame, label) in evaluation_sets(predictions).items():
        a, b = _dice_column("single SE-UNet", label), _dice_column("single UNet", label)
        if a not in frame or b not in frame:
            continue
        pair = frame[[a, b]].dropna()
        if len(pair) < 2:
            continue
        t = stats.ttest_rel(pair[a], pair[b])
        rows.append({"set": name, "n": len(pair), "se_unet_dsc": pair[a].mean(),
                     "unet_dsc": pair[b].mean(), "difference": (pair[a] - pair[b]).mean(),
                     "t": float(t.statistic), "p_value": float(t.pvalue)})
    return pd.DataFrame(rows)


def member_spread(predictions: pd.DataFrame) -> pd.DataFrame:
    """Each model's mean DSC alone, per set: the ensemble's members show the training
    noise of one model, against which one UNet against one SE-UNet is read."""
    rows = []
    for name, (frame, label) in evaluation_sets(predictions).items():
        for column in sorted(c for c in frame if c.endswith(f"_dice_vs_{label}")):
            model = column.removesuffix(f"_dice_vs_{label}")
            rows.append({"set": name, "model": model, "n": int(frame[column].notna().sum()),
                         "dsc_mean": float(frame[column].mean())})
    return pd.DataFrame(rows)


def uncertainty_table(frame: pd.DataFrame, label: str, cut: float = 0.35,
                      edges: tuple[float, ...] = UNCERTAINTY_EDGES) -> tuple[pd.DataFrame, dict]:
    """Ensemble DSC by uncertainty-index stratum, and the seed's low-uncertainty summary.

    Returns the strata table (``stratum``, ``n``, ``dsc_mean``) and a dict:
    share of patients with index < ``cut``, their mean DSC, the others' mean
    DSC, and Spearman's rho of index against DSC (the seed's claim: the more
    uncertain, the worse).
    """
    dsc = frame[f"ensemble_vs_{label}_dice"]
    index = frame["uncertainty_index"]
    bins = pd.cut(index, [-np.inf, *edges, np.inf], right=False,
                  labels=[f"< {edges[0]}", *[f"{a}-{b}" for a, b in zip(edges, edges[1:])],
                          f">= {edges[-1]}"])
    strata = (pd.DataFrame({"stratum": bins, "dsc": dsc}).groupby("stratum", observed=False)
              .agg(n=("dsc", "size"), dsc_mean=("dsc", "mean")).reset_index())
    scored = pd.DataFrame({"index": index, "dsc": dsc}).dropna()
    low = scored["index"] < cut
    rho = (stats.spearmanr(scored["index"], scored["dsc"]) if len(scored) >= 3 else None)
    summary = {"cut": cut, "n": len(scored), "share_low": float(low.mean()) if len(scored) else np.nan,
               "dsc_low": float(scored.loc[low, "dsc"].mean()) if low.any() else np.nan,
               "dsc_high": float(scored.loc[~low, "dsc"].mean()) if (~low).any() else np.nan,
               "spearman_rho": float(rho.statistic) if rho is not None else np.nan,
               "spearman_p": float(rho.pvalue) if rho is not None else np.nan}
    return strata, summary


def strata_table(frame: pd.DataFrame, label: str, infarct_ml: pd.Series | None = None,
                 infarct_edges: tuple[float, float] = INFARCT_EDGES_ML) -> pd.DataFrame:
    """Ensemble DSC by infarct volume (seed's 1.7 / 14 mL) and by reference WMH tertile."""
    dsc = frame[f"ensemble_vs_{label}_dice"]
    parts = []
    tertile = pd.qcut(frame[f"{label}_ml"], 3, labels=["lowest third", "middle third",
                                                       "highest third"], duplicates="drop") \
        if frame[f"{label}_ml"].nunique() >= 3 else pd.Series("all", index=frame.index)
    parts.append(pd.DataFrame({"stratum": "WMH volume", "group": tertile, "dsc": dsc}))
    if infarct_ml is not None:
        volume = frame["subject_id"].map(infarct_ml)
        lo, hi = infarct_edges
        group = pd.cut(volume, [-np.inf, lo, hi, np.inf], right=False,
                       labels=[f"< {lo} mL", f"{lo}-{hi} mL", f">= {hi} mL"])
        group = group.cat.add_categories(["not recorded"]).fillna("not recorded")
        parts.append(pd.DataFrame({"stratum": "infarct volume", "group": group, "dsc": dsc}))
    order = {g: i for part in parts for i, g in enumerate(
        part["group"].cat.categories if hasattr(part["group"], "cat") else ["all"])}
    table = pd.concat([p.assign(group=p["group"].astype(str)) for p in parts], ignore_index=True)
    out = (table.groupby(["stratum", "group"], sort=False)
           .agg(n=("dsc", "size"), dsc_mean=("dsc", "mean"), dsc_sd=("dsc", "std")).reset_index())
    out["_order"] = out["group"].map(order)
    return (out.sort_values(["stratum", "_order"], ascending=[False, True], kind="stable")
            .drop(columns="_order").reset_index(drop=True))


def subregion_table(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    """Ensemble DSC of periventricular vs deep WMH, per band width, paired over patients.

    Reads the step's ``ensemble_vs_<label>_dice_periventricular_<d>mm`` and
    ``..._deep_<d>mm`` columns (:func:`leukoct.wmh.subregions.subregion_dice`).
    A patient counts where both parts are defined (either mask has WMH in
    each part); the paired t-test asks whether the two DSCs differ (seed 002:
    P < .001 for both widths).  Empty where the ventricles are unknown.
    """
    rows = []
    for d in DISTANCES_MM:
        tag = f"{d:g}mm"
        peri = f"ensemble_vs_{label}_dice_periventricular_{tag}"
        deep = f"ensemble_vs_{label}_dice_deep_{tag}"
        if peri not in frame or deep not in frame:
            continue
        pair = frame[[peri, deep]].dropna()
        t = stats.ttest_rel(pair[peri], pair[deep]) if len(pair) >= 2 else None
        seed_peri, seed_deep = SEED002_SUBREGION_DSC[d]
        rows.append({"band_mm": d, "n": len(pair),
                     "n_no_deep": int(frame[peri].notna().sum() - len(pair)),
                     "periventricular_dsc": float(pair[peri].mean()) if len(pair) else np.nan,
                     "deep_dsc": float(pair[deep].mean()) if len(pair) else np.nan,
                     "difference": float((pair[peri] - pair[deep]).mean()) if len(pair) else np.nan,
                     "p_value": float(t.pvalue) if t is not None else np.nan,
                     "seed_periventricular_dsc": seed_peri, "seed_deep_dsc": seed_deep})
    return pd.DataFrame(rows)


def pooled_lesions(lesions: pd.DataFrame) -> pd.DataFrame:
    """Lesion-wise recall, precision and F1 pooled over subjects, by size (seed 004)."""
    return pool_lesions(lesions)
