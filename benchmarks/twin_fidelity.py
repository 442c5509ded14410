"""Does the method work on the digital twin, and does the twin behave like the paper's data?

On a built run of a twin profile (``make book`` first), prints one line per
target of issue 16: what was measured, the target, the paper's value where it
prints one, and whether the target is met.  Two groups:

* **the twin's observable relations** (registered LA against FLAIR WMH, the WMH
  distributions of the development and external cohorts, whether training covers
  the external range, LA contrast-to-noise per CT vendor) -- what the twin must
  share with the paper's data before the model's numbers mean anything;
* **the method's findings** (external Dice and CCC, Fazekas correlation, clinical
  volumes, Table S4's age association, Table 3's Q5 odds ratio, registration
  error in mm), read from the run's tables and the chapters' saved values.

Run from the project root::

    .venv/bin/python benchmarks/twin_fidelity.py --profile demo

Nothing is recomputed that a chapter computed: the chapters' values
(``<run>/values/``) are read where they exist, the rest comes from the run's
volumes, overlaps, registration QC and the twin's truth table.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import pandas as pd

from leukoct import ledger, metrics
from leukoct.config import load_profile
from leukoct.evaluation import study_frame
from leukoct.manifest import load_manifest
from leukoct.registration_accuracy import cohort_errors
from leukoct.run import Run
from leukoct.twin.calibration import read_truth, vendor_contrast


@dataclass
class Line:
    """One printed target."""

    name: str
    measured: str
    target: str
    paper: str
    met: bool | None

    def show(self) -> str:
        flag = {True: "met", False: "MISSED", None: ""}[self.met]
        return f"{self.name:58s} {self.measured:28s} {self.target:14s} {self.paper:22s} {flag}"


def _value(values: pd.DataFrame, artefact: str, comparison: str, statistic: str,
           group: str) -> pd.Series | None:
    """One saved value of the chapters (:func:`leukoct.ledger.read_values`), or None."""
    hit = values[(values["artefact"] == artefact) & (values["comparison"] == comparison)
                 & (values["statistic"] == statistic) & (values["group"].astype(str) == group)]
    return None if hit.empty else hit.iloc[0]


def _median_iqr(v: pd.Series) -> str:
    q = v.quantile([0.25, 0.5, 0.75])
    return f"{q[0.5]:.2f} ({q[0.25]:.2f}-{q[0.75]:.2f})"


def relations(frame: pd.DataFrame, qc: pd.DataFrame | None, manifest: pd.DataFrame,
              truth: pd.DataFrame) -> list[Line]:
    """The twin's observable relations against the paper's."""
    lines = []
    paired = frame[frame["group"].isin(["development", "external"])].dropna(
        subset=["registered_ml", "flair_wmh_ml"])
    ratio = (paired["registered_ml"] / paired["flair_wmh_ml"]).median()
    lines.append(Line("registered LA / FLAIR WMH volume, median (paired)", f"{ratio:.2f}",
                      "0.8-1.25", "~1 (implied)", 0.8 <= ratio <= 1.25))
    c = metrics.lins_ccc(paired["registered_ml"], paired["flair_wmh_ml"])
    lines.append(Line("CCC registered LA vs FLAIR WMH (paired)",
                      f"{c.ccc:.3f} ({c.ci_low:.3f}-{c.ci_high:.3f})", ">= 0.85",
                      "high (implied)", c.ccc >= 0.85))
    for dataset, paper in (("development", "9.18 (4.62-18.5)"), ("external", "10.23 (4.56-22.6)")):
        rows = paired[paired["group"] == dataset]
        lines.append(Line(f"FLAIR WMH mL, median (IQR), {dataset}", _median_iqr(rows["flair_wmh_ml"]),
                          "", paper, None))
    train = frame[frame["dataset"] == "train"]["registered_ml"].dropna()
    external = frame[frame["group"] == "external"]["registered_ml"].dropna()
    covered = float((external <= train.max()).mean())
    lines.append(Line("external cases inside the training label range",
                      f"{covered:.0%} (train max {train.max():.0f} mL)", ">= 90%", "", covered >= 0.9))
    if qc is not None and "pseudolabel_ml" in qc and "wmh_flair_ml" in qc:
        lines.append(Line("pseudo-label / WMH at the run's threshold (registration QC)",
                          f"{(qc['pseudolabel_ml'] / qc['wmh_flair_ml']).median():.2f}", "", "", None))
    contrast = vendor_contrast(manifest, truth)
    for vendor, row in contrast.iterrows():
        lines.append(Line(f"LA contrast / noise on CT, {vendor}",
                          f"{row['la_contrast_hu']:.1f} / {row['noise_sd_hu']:.1f} HU "
                          f"(CNR {row['contrast_to_noise']:.2f})", "", "", None))
    return lines


def findings(run: Run, frame: pd.DataFrame, truth: pd.DataFrame) -> list[Line]:
    """The method's headline results against issue 16's targets and the paper."""
    lines = []
    ext = frame[frame["group"] == "external"]
    d = metrics.dice_summary(ext["dice_vs_label"].dropna())
    lines.append(Line("external DSC vs registered LA, mean", f"{d.mean:.3f} ({d.ci_low:.3f}-{d.ci_high:.3f})",
                      ">= 0.45", "0.556", d.mean >= 0.45))
    pts = ext.dropna(subset=["predicted_ml", "registered_ml"])
    c = metrics.lins_ccc(pts["predicted_ml"], pts["registered_ml"])
    lines.append(Line("external CCC predicted vs registered", f"{c.ccc:.3f} ({c.ci_low:.3f}-{c.ci_high:.3f})",
                      ">= 0.80", "0.925 (0.914-0.935)", c.ccc >= 0.80))
    half = (c.ci_high - c.ci_low) / 2
    lines.append(Line("  its CI half-width", f"{half:.3f} (n = {len(pts)})", "<= 0.15", "", half <= 0.15))
    tv = ext.dropna(subset=["predicted_ml", "truth_mask_ml"])
    c = metrics.lins_ccc(tv["predicted_ml"], tv["truth_mask_ml"])
    lines.append(Line("external CCC predicted vs the twin's true LA",
                      f"{c.ccc:.3f} ({c.ci_low:.3f}-{c.ci_high:.3f})", ">= 0.70", "-", c.ccc >= 0.70))
    fz = ext.dropna(subset=["predicted_ml", "fazekas"])
    r = metrics.pearson(fz["predicted_ml"], fz["fazekas"].astype(float))
    lines.append(Line("Pearson r predicted volume vs Fazekas (external)",
                      f"{r.r:.3f} ({r.ci_low:.3f}-{r.ci_high:.3f})", ">= 0.60", "0.832", r.r >= 0.60))
    clinical = frame[frame["group"] == "clinical"].merge(
        truth[["la_volume_ct_ml"]], left_on="subject_id", right_index=True, how="left")
    if len(clinical):
        pm, tm = clinical["predicted_ml"].median(), clinical["la_volume_ct_ml"].median()
        ok = 1 / 1.5 <= pm / tm <= 1.5
        lines.append(Line("clinical median predicted LA (true median)", f"{pm:.1f} mL ({tm:.1f})",
                          "within 1.5x", "11.2 mL", ok))
    values = ledger.read_values(run.values_root)
    s4 = _value(values, "tableS4", "la_volume_ols", "p", "age")
    lines.append(Line("Table S4: age association, p",
                      "not produced" if s4 is None else f"{s4['estimate']:.2g}", "< 0.05",
                      "significant", None if s4 is None else bool(s4["estimate"] < 0.05)))
    slope = _value(values, "figureS4", "la_volume_ols", "coef", "age")
    if slope is not None:
        lines.append(Line("Figure S4: LA mL per year of age", f"{slope['estimate']:.3f}", "",
                          "0.436", None))
    q5 = _value(values, "table3", "mrs_ordinal", "or_adjusted", "Q5")
    lines.append(Line("Table 3: adjusted OR, Q5 vs Q1",
                      "not produced" if q5 is None else
                      f"{q5['estimate']:.2f} ({q5['ci_low']:.2f}-{q5['ci_high']:.2f})", "> 1",
                      "1.65", None if q5 is None else bool(q5["estimate"] > 1)))
    if run.qc.is_file():
        qc = pd.read_csv(run.qc)
        ordinary = qc.loc[~qc["registration_error"].astype(bool), "subject_id"]
        errors = cohort_errors(run.step_dir("registration"), run.truth_dir, ordinary)
        med, p95 = errors["mean_mm"].median(), errors["p95_mm"].median()
        lines.append(Line("registration error in the brain, median of per-pair means",
                          f"{med:.2f} mm (p95 {p95:.2f}; n = {len(errors)})", "<= 1.5 mm", "",
                          med <= 1.5))
        seconds = qc.loc[qc["subject_id"].isin(ordinary), "runtime_s"].median()
        lines.append(Line("  seconds per pair (register_pair, median)", f"{seconds:.1f} s",
                          "<= 10 s", "", seconds <= 10))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="demo", help="a twin profile, already built")
    args = parser.parse_args()
    profile = load_profile(args.profile)
    if profile.twin is None:
        raise SystemExit(f"profile {profile.name} reads a real manifest: the twin's truth is needed")
    run = Run(profile)
    frame = study_frame(profile)
    manifest = load_manifest(run.manifest, verify_checksums=False)
    truth = read_truth(run.manifest.parent)
    qc = pd.read_csv(run.qc) if run.qc.is_file() else None
    header = f"{'target':58s} {'measured':28s} {'target':14s} {'paper':22s}"
    for title, lines in (("The twin's observable relations", relations(frame, qc, manifest, truth)),
                         ("The method on the twin",
                          findings(run, frame, truth))):
        print(f"\n{title} ({profile.name})\n{header}")
        for line in lines:
            print(line.show())


if __name__ == "__main__":
    main()
