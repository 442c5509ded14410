"""Subject tables of the digital twin: demographics, acquisition, truth.

Pure numpy/pandas: :func:`draw_cohort_tables` draws every per-subject value
that does not need an image (including the true LA volume the images will
carry), so the paper's marginals can be checked at full size in a second.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit
from scipy.stats import norm

from leukoct.twin import parameters as P
from leukoct.twin.settings import TwinSettings

#: Order of the cohorts in the tables (and of the subject rows).
COHORT_ORDER: tuple[str, ...] = ("development", "external", "us", "clinical")
#: Registry exclusion flags of the manifest.
FLAG_REASONS: tuple[str, ...] = (
    "recurrent_stroke", "motion_artifact", "contrast_ct", "hemorrhage_or_tumor", "incomplete_ct")


def apportion(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Split ``total`` into integer counts proportional to ``weights``.

    Largest-remainder method, ties broken by the order of ``weights``, so
    the result is deterministic and sums exactly to ``total``.
    """
    keys = list(weights)
    w = np.array([float(weights[k]) for k in keys])
    if total <= 0 or w.sum() <= 0:
        return {k: 0 for k in keys}
    exact = total * w / w.sum()
    counts = np.floor(exact).astype(int)
    order = sorted(range(len(keys)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[: total - counts.sum()]:
        counts[i] += 1
    return {k: int(c) for k, c in zip(keys, counts)}


def quota_draw(rng: np.random.Generator, n: int, weights: dict[str, float]) -> np.ndarray:
    """Labels with exactly apportioned counts, in random order.

    Quotas rather than independent draws keep small twins varied and make a
    paper-size twin reproduce Table 1's counts.
    """
    counts = apportion(n, weights)
    labels = np.array([k for k, c in counts.items() for _ in range(c)], dtype=object)
    return rng.permutation(labels)


def kept_and_excluded(cohort: str, n: int) -> tuple[int, dict[str, int]]:
    """Number of kept subjects and excluded subjects per reason for ``n`` identified."""
    flow = P.FLOWCHART[cohort]
    kept = n if flow["kept"] == flow["identified"] else int(
        np.floor(n * flow["kept"] / flow["identified"] + 0.5))
    return kept, apportion(n - kept, flow["excluded"])


def _lognormal_params(median: float, iqr: list[float]) -> tuple[float, float]:
    return float(np.log(median)), float(np.log(iqr[1] / iqr[0]) / (2 * norm.ppf(0.75)))


def _truncated_lognormal(rng: np.random.Generator, n: int, mu: float, sigma: float,
                         low: float = 0.0, high: float = np.inf) -> np.ndarray:
    """Inverse-CDF draw, so truncation costs no rejection loop."""
    lo = norm.cdf((np.log(low) - mu) / sigma) if low > 0 else 0.0
    hi = norm.cdf((np.log(high) - mu) / sigma) if np.isfinite(high) else 1.0
    u = lo + (hi - lo) * rng.random(n)
    return np.exp(mu + sigma * norm.ppf(np.clip(u, 1e-12, 1 - 1e-12)))


def la_volume(rng: np.random.Generator, frame: pd.DataFrame, cohort: str) -> np.ndarray:
    """True LA volume (mL) from age and risk factors (log-normal model).

    Effects are centred on the cohort's expected covariates so that the
    cohort median stays at the paper's value; the residual SD fills the
    rest of the paper's IQR.
    """
    c, m = P.COHORTS[cohort], P.LA_MODEL
    mu, sigma_total = _lognormal_params(c["wmh_ml_median"], c["wmh_ml_iqr"])
    p_young = norm.cdf((m["hypertension_age_cut"] - c["age_mean"]) / c["age_sd"])
    p_htn = P.RISK_FACTORS["hypertension"]
    p_af = P.RISK_FACTORS["atrial_fibrillation"]
    htn_young = frame["hypertension"].astype(float) * (frame["age"] < m["hypertension_age_cut"])
    effects = (m["age_log_per_year"] * (frame["age"] - c["age_mean"])
               + m["prior_stroke_log"] * (frame["prior_stroke"].astype(float) - c["prior_stroke"])
               + m["atrial_fibrillation_log"] * (frame["atrial_fibrillation"].astype(float) - p_af)
               + m["hypertension_below_70_log"] * (htn_young - p_htn * p_young))
    explained = (m["age_log_per_year"] * c["age_sd"]) ** 2 + sum(
        b ** 2 * p * (1 - p) for b, p in ((m["prior_stroke_log"], c["prior_stroke"]),
                                          (m["atrial_fibrillation_log"], p_af),
                                          (m["hypertension_below_70_log"], p_htn * p_young)))
    resid = np.sqrt(max(sigma_total ** 2 - explained, 0.2 ** 2))
    strata = frame["exclusion_reason"].to_numpy() == "" if "exclusion_reason" in frame else None
    # The model orders the subjects (age and risk factors plus a residual); the
    # volumes themselves are the cohort's log-normal quantiles, one per 1/k slice,
    # in that order.  A demo-sized cohort then spans the paper's distribution
    # whatever its covariates drew (issue 16: stratifying the residual alone left
    # the demo's 55 kept development subjects below 55 mL, while the external
    # cohort reached 107 mL).
    score = effects.to_numpy() + resid * rng.standard_normal(len(frame))
    log_v = mu + sigma_total * stratified_by_rank(rng, score, strata)
    return np.clip(np.exp(log_v), m["min_ml"], m["max_ml"])


def stratified_by_rank(rng: np.random.Generator, score: np.ndarray,
                       groups: np.ndarray | None = None) -> np.ndarray:
    """Stratified standard-normal draws (:func:`stratified_normal`) handed out in
    the rank order of ``score``, within each group.

    The result has the ranks of ``score`` (so every association the score
    carries survives as a rank association) and, in every group, one draw in
    each ``1/k`` slice of the standard normal (so a small group spans the whole
    distribution).

    Parameters
    ----------
    rng
        Random generator.
    score
        Values whose order the draws take; ties keep their index order.
    groups
        As in :func:`stratified_normal`.

    Returns
    -------
    numpy.ndarray
        One draw per score.
    """
    score = np.asarray(score, dtype=float)
    labels = np.zeros(len(score), dtype=int) if groups is None else np.asarray(groups)
    draws = stratified_normal(rng, len(score), labels)
    out = np.empty(len(score))
    for label in sorted(set(labels.tolist())):
        idx = np.flatnonzero(labels == label)
        out[idx[np.argsort(score[idx], kind="stable")]] = np.sort(draws[idx])
    return out


def stratified_normal(rng: np.random.Generator, n: int,
                      groups: np.ndarray | None = None) -> np.ndarray:
    """Standard-normal draws stratified on their quantiles, within each group.

    Each of a group's ``k`` draws falls in its own ``1/k`` slice of the normal
    distribution (Latin-hypercube sampling in one dimension), in random order.
    The marginal is still exactly standard normal, but a small cohort spans its
    whole distribution: with independent draws the demo's 22 kept development
    subjects once reached no higher than the 80th percentile of LA volume, so the
    model never saw the volumes the external cohort is tested on (issue 16).

    Parameters
    ----------
    rng
        Random generator.
    n
        Number of draws.
    groups
        Labels (any hashable values) of the subsets stratified separately, e.g.
        kept vs excluded subjects, so that the *analysed* subjects span the
        distribution too; ``None``: one group.

    Returns
    -------
    numpy.ndarray
        ``n`` draws.
    """
    labels = np.zeros(n, dtype=int) if groups is None else np.asarray(groups)
    out = np.empty(n)
    for label in sorted(set(labels.tolist())):
        idx = np.flatnonzero(labels == label)
        k = len(idx)
        u = (rng.permutation(k) + rng.random(k)) / k
        out[idx] = norm.ppf(np.clip(u, 1e-12, 1 - 1e-12))
    return out


def fazekas_grade(rng: np.random.Generator, volume_ml: np.ndarray) -> np.ndarray:
    """Expert visual Fazekas grade 0-3: log-volume cut points plus rater noise."""
    noisy = np.log(volume_ml) + P.FAZEKAS["rater_noise_log"] * rng.standard_normal(len(volume_ml))
    return (noisy[:, None] > np.log(P.FAZEKAS["cuts_ml"])[None, :]).sum(axis=1)


def mrs_3m(rng: np.random.Generator, frame: pd.DataFrame) -> np.ndarray:
    """3-month mRS from a cumulative-logit model with LA-volume quintile effects.

    mRS 6 versus 5 is drawn from a separate death model (age and NIHSS, no
    LA), so the proportional-odds assumption fails unless 5 and 6 are merged.
    """
    m = P.MRS_MODEL
    # Quintiles by rank: defined for any cohort size, even fewer than 5.
    rank = frame["la_volume_ml"].rank(method="first").to_numpy()
    quintile = np.floor(5 * (rank - 1) / len(frame)).astype(int)
    eta = (np.asarray(m["quintile_log_or"])[quintile]
           + m["nihss_log_or"] * frame["nihss"].to_numpy()
           + m["age_log_or_per_year"] * (frame["age"].to_numpy() - 69.3)
           + m["female_log_or"] * (frame["sex"].to_numpy() == "F")
           + m["diabetes_log_or"] * frame["diabetes"].to_numpy().astype(float)
           + m["revascularization_log_or"] * frame["revascularization"].to_numpy().astype(float))
    latent = eta + rng.logistic(size=len(frame))
    mrs = (latent[:, None] > np.asarray(m["cutpoints"])[None, :]).sum(axis=1)
    severe = mrs == 5
    p_death = expit(m["death_intercept"] + m["death_age_per_year"] * (frame["age"].to_numpy() - 75)
                    + m["death_nihss"] * (frame["nihss"].to_numpy() - 10))
    dies = rng.random(len(frame)) < p_death
    return np.where(severe & dies, 6, mrs)


def _draw_cohort(cohort: str, n: int, rng: np.random.Generator) -> pd.DataFrame:
    c = P.COHORTS[cohort]
    kept, excluded = kept_and_excluded(cohort, n)
    reasons = rng.permutation(np.array(
        [""] * kept + [r for r, k in excluded.items() for _ in range(k)], dtype=object))
    f = pd.DataFrame({
        "subject_id": [f"TW-{c['prefix']}-{i + 1:04d}" for i in range(n)],
        "cohort": c["cohort"],
        "site": quota_draw(rng, n, {s: 1.0 for s in c["sites"]}),
        "synthetic": True,
        "exclusion_reason": reasons,
    })
    low, high = c.get("age_range", [18, 100])
    f["age"] = np.clip(np.round(rng.normal(c["age_mean"], c["age_sd"], n)), low, high)
    f["sex"] = np.where(rng.random(n) < c["female"], "F", "M")
    for factor, p in P.RISK_FACTORS.items():
        f[factor] = rng.random(n) < p
    f["prior_stroke"] = rng.random(n) < c["prior_stroke"]

    # A recurrent-stroke admission is a second row of a patient already in
    # the cohort: same sex, age and brain (anatomy_of names the first row).
    f["anatomy_of"] = f["subject_id"]
    recurrent = np.flatnonzero(reasons == "recurrent_stroke")
    donors = np.flatnonzero(reasons == "")
    if len(recurrent) and len(donors):
        picks = rng.choice(donors, size=len(recurrent), replace=len(donors) < len(recurrent))
        for r, d in zip(recurrent, picks):
            f.loc[r, ["age", "sex", "anatomy_of"]] = [f.at[d, "age"], f.at[d, "sex"],
                                                      f.at[d, "subject_id"]]
            f.loc[r, "prior_stroke"] = True

    # Acquisition.
    f["ct_vendor"] = quota_draw(rng, n, c["ct_vendor"])
    f["ct_kvp"] = quota_draw(rng, n, c["kvp"]).astype(float)
    if "slice_mm" in c:
        f["ct_slice_thickness_mm"] = quota_draw(rng, n, c["slice_mm"]).astype(float)
    else:
        classes = quota_draw(rng, n, c["slice_class"])
        f["ct_slice_thickness_mm"] = [
            float(rng.choice(list(P.SLICE_CLASS_MM[k]), p=list(P.SLICE_CLASS_MM[k].values())))
            for k in classes]
    if c["paired"]:
        f["mri_vendor"] = quota_draw(rng, n, c["mri_vendor"])
        strength = quota_draw(rng, n, c["field_strength_t"])
        f["mri_field_strength_t"] = [float(s) if s else np.nan for s in strength]
        mu, sigma = _lognormal_params(c["interval_h_median"], c["interval_h_iqr"])
        f["ct_mri_interval_h"] = np.round(np.clip(np.exp(rng.normal(mu, sigma, n)), 0.05, 720), 2)
    else:
        f["mri_vendor"] = ""
        f["mri_field_strength_t"] = np.nan
        f["ct_mri_interval_h"] = np.nan

    # Registry exclusion flags: 0 unless planted.
    for flag in FLAG_REASONS:
        f[flag] = reasons == flag
    f["has_ct"] = reasons != "ct_not_available"
    f["registration_error"] = reasons == "registration_error"

    # Infarct core on DWI.
    if cohort == "us":
        f["infarct_true_ml"] = 0.0
    else:
        mu, sigma = _lognormal_params(c["infarct_ml_median"], c["infarct_ml_iqr"])
        large = reasons == "large_infarct"
        vol = np.empty(n)
        if cohort == "development":
            thr = P.LARGE_INFARCT["threshold_ml"]
            kept_model = c["infarct_kept_lognormal"]
            vol[~large] = _truncated_lognormal(rng, int((~large).sum()),
                                               np.log(kept_model["median_ml"]),
                                               kept_model["sigma_log"], high=thr)
            vol[large] = _truncated_lognormal(rng, int(large.sum()),
                                              np.log(P.LARGE_INFARCT["median_ml"]),
                                              P.LARGE_INFARCT["sigma_log"], low=thr)
        else:
            vol[:] = _truncated_lognormal(rng, n, mu, sigma, high=150.0)
        f["infarct_true_ml"] = np.clip(vol, 0.02, None)

    f["la_volume_ml"] = la_volume(rng, f, cohort)
    # Recurrent admissions keep the LA burden of their first admission.
    index = {s: i for i, s in enumerate(f["subject_id"])}
    donor_rows = [index[a] for a in f["anatomy_of"]]
    f["la_volume_ml"] = f["la_volume_ml"].to_numpy()[donor_rows]

    if cohort in ("external", "us"):
        f["fazekas"] = fazekas_grade(rng, f["la_volume_ml"].to_numpy())
    else:
        f["fazekas"] = pd.NA
    if cohort != "us":
        f["bmi"] = np.round(np.clip(rng.normal(23.8, 3.3, n), 14, 45), 1)
        f["nihss"] = np.clip(np.round(np.exp(rng.normal(P.NIHSS["log_mean"], P.NIHSS["log_sd"], n))) - 1,
                             0, 42).astype(int)
        f["revascularization"] = rng.random(n) < expit(-2.4 + 0.12 * f["nihss"])
        f["infarct_volume_ml"] = np.round(f["infarct_true_ml"], 3)
    else:
        for column in ("bmi", "nihss", "revascularization", "infarct_volume_ml"):
            f[column] = pd.NA
        for factor in (*P.RISK_FACTORS, "prior_stroke"):
            f[factor] = pd.NA
        for flag in FLAG_REASONS:
            f[flag] = False
    f["mrs_3m"] = mrs_3m(rng, f) if cohort == "clinical" else pd.NA

    manual_fraction = c.get("manual_mask_fraction", 0.0)
    f["manual_mask"] = False
    if manual_fraction:
        candidates = np.flatnonzero(reasons == "")
        k = min(len(candidates), max(1, int(np.floor(len(candidates) * manual_fraction + 0.5))))
        f.loc[rng.choice(candidates, size=k, replace=False), "manual_mask"] = True
    return f


def draw_cohort_tables(settings: TwinSettings, seed: int) -> pd.DataFrame:
    """Draw every subject's table values for a study of ``settings``' size.

    Parameters
    ----------
    settings
        Cohort sizes (identified subjects).
    seed
        Seed; each cohort draws from its own child stream so that changing
        one cohort's size leaves the others unchanged.

    Returns
    -------
    pandas.DataFrame
        One row per identified subject, cohorts in :data:`COHORT_ORDER`:
        the manifest's clinical and acquisition columns plus truth columns
        (``exclusion_reason``, ``la_volume_ml``, ``infarct_true_ml``,
        ``has_ct``, ``registration_error``, ``manual_mask``, ``anatomy_of``).
    """
    frames = []
    for k, cohort in enumerate(COHORT_ORDER):
        n = int(getattr(settings, cohort))
        if n == 0:
            continue
        rng = np.random.default_rng(np.random.SeedSequence([seed, 101, k]))
        frames.append(_draw_cohort(cohort, n, rng))
    table = pd.concat(frames, ignore_index=True)
    table["index"] = np.arange(len(table))
    return table


def summarize(table: pd.DataFrame) -> dict[str, Any]:
    """Kept-subject counts per cohort (handy for checks and the benchmark)."""
    kept = table[table["exclusion_reason"] == ""]
    return {"identified": table.groupby("cohort").size().to_dict(),
            "kept": kept.groupby("cohort").size().to_dict()}
