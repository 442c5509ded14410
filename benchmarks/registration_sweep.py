"""Sweep of FLAIR → CT registration settings on digital-twin subjects.

For each configuration (transform type × registration grid × iterations) and
each subject, :func:`leukoct.registration.register_pair` registers the FLAIR
onto the CT as in production, the transforms then move the twin's *true*
FLAIR lesion onto the CT, and the table reports

* ``wall_s`` / ``cpu_s``: seconds per pair (whole ``register_pair``: skull
  stripping, registration, warping, writing, QC), wall clock and CPU;
* ``dice_05`` / ``dice_0``: Dice of the true FLAIR lesion moved by the
  transforms (linear, thresholded at 0.5 / > 0) against the true CT lesion;
  the registration itself sees the simulated WMH-software mask, as in
  production (it masks the metric around the lesions);
* ``oracle_05``: the same Dice with the *true* rigid FLAIR←CT pose (the
  twin's ``flair_from_ct_affine``), the ceiling a rigid registration can
  reach given the slice thickness and the twin's small non-linear warp;
* ``ideal_05`` / ``ideal_0``: Dice of the production pseudo-label (the
  software WMH mask warped, > 0.5 / > 0) against the *ideal* pseudo-label
  (``truth/<id>_wmh_ct.nii.gz``: the same mask moved by the twin's true
  geometry), i.e. the registration error alone, without the FLAIR
  segmentation error; ``oracle_ideal_05`` is that Dice for the mask moved by
  the true rigid pose (what the thick FLAIR slices and the non-linear warp
  leave to a perfect rigid registration);
* ``brain_dice``, ``mutual_information``: the QC numbers of :func:`register_pair`;
* ``error_mm``: mean distance, over CT brain voxels, between where the
  estimated and the true rigid transform send them in the FLAIR (the true
  map ignores the twin's 0.5-1.5 mm non-linear warp).

ANTs runs with one thread (set before ITK starts).  Run from the project root::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/registration_sweep.py \\
        --data build/demo/data --n 6 --out build/benchmarks/registration

The per-configuration means are also written to
``benchmarks/results/registration_sweep.csv`` (``--results``), after ``#``
lines that say when, on how many cores and on which subjects they were
measured; the registration chapter shows that table as measured (it never
re-runs the sweep).

``--qc-all`` then registers every paired subject with the default settings
and reports which ones :func:`flag_registration_errors` flags against the
twin's planted ``registration_error`` subjects.
"""

from __future__ import annotations

import os

os.environ.setdefault("ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS", "1")

import argparse  # noqa: E402
import datetime  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import ants  # noqa: E402
import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import ndimage  # noqa: E402

from leukoct.metrics import dice  # noqa: E402
from leukoct.registration import (  # noqa: E402
    RegistrationSettings,
    flag_registration_errors,
    register_pair,
    warp_image,
)

PAIRED = ("train", "internal", "external")

#: name -> settings overrides.  Iterations are per level (coarse → fine).
CONFIGS: dict[str, dict] = {
    "rigid-2mm-quick": dict(type_of_transform="Rigid", iterations=(40, 20, 0)),
    "rigid-2mm": dict(type_of_transform="Rigid", iterations=(100, 50, 10)),
    "rigid-3mm": dict(type_of_transform="Rigid", resolution_mm=3.0, iterations=(100, 50, 10)),
    "affine-2mm": dict(type_of_transform="Affine", iterations=(100, 50, 10)),
    "synr-2mm-nomask": dict(type_of_transform="SyNR", lesion_margin_mm=None,
                            syn_iterations=(40, 20, 0), syn_flow_sigma=3.0, syn_total_sigma=0.0),
    "synr-2mm-default": dict(),
    "synr-2mm-fine": dict(syn_iterations=(30, 15, 5)),
    "synr-3mm": dict(resolution_mm=3.0, syn_flow_sigma=3.0),
    "synra-2mm": dict(type_of_transform="SyNRA"),
}


def truth_table(data: Path) -> pd.DataFrame:
    truth = pd.read_csv(data / "truth" / "subjects.csv", keep_default_na=False)
    truth["registration_error"] = truth["registration_error"].astype(str) == "True"
    return truth[truth["cohort"].isin(PAIRED)].set_index("subject_id")


def pick_subjects(truth: pd.DataFrame, n: int) -> list[str]:
    """``n`` ordinary subjects spread over slice thickness, plus the planted errors."""
    ordinary = truth[(truth["exclusion_reason"] == "")].index.tolist()
    step = max(1, len(ordinary) // n)
    return ordinary[::step][:n] + truth[truth["registration_error"]].index.tolist()


def true_flair_from_ct(row: pd.Series) -> np.ndarray:
    m = np.eye(4)
    m[:3] = np.array(str(row["flair_from_ct_affine"]).split(), float).reshape(3, 4)
    return m


def oracle_dice(data: Path, sid: str, flair_from_ct: np.ndarray,
                moving: str = "truth/{sid}_lesion_flair.nii.gz",
                reference: str = "truth/{sid}_lesion_ct.nii.gz") -> float:
    """Dice of a FLAIR mask moved by the true rigid pose (linear, > 0.5) with a
    CT mask: by default the true lesion on both grids."""
    ct = nib.load(data / reference.format(sid=sid))
    fl = nib.load(data / moving.format(sid=sid))
    vox = np.linalg.inv(fl.affine) @ flair_from_ct @ ct.affine
    warped = ndimage.affine_transform(np.asarray(fl.dataobj, np.float32), vox[:3, :3], vox[:3, 3],
                                      output_shape=ct.shape, order=1)
    return dice(warped > 0.5, np.asarray(ct.dataobj) > 0)


def landmark_error(ct_path: Path, transforms: list[Path], flair_from_ct: np.ndarray,
                   n: int = 3000, seed: int = 0) -> float:
    """Mean distance (mm) between estimated and true FLAIR positions of CT brain points."""
    from leukoct.skullstrip import ct_brain_mask

    ct = ants.image_read(str(ct_path))
    mask = ct_brain_mask(ct.numpy(), ct.spacing)
    index = np.argwhere(mask)
    index = index[np.random.default_rng(seed).choice(len(index), min(n, len(index)), False)]
    direction = np.asarray(ct.direction) * np.asarray(ct.spacing)
    lps = index @ direction.T + np.asarray(ct.origin)
    ras = lps * [-1, -1, 1]
    true = (ras @ flair_from_ct[:3, :3].T + flair_from_ct[:3, 3]) * [-1, -1, 1]
    if transforms:
        # Transforms that resample FLAIR onto CT map CT points into the FLAIR.
        points = pd.DataFrame(lps, columns=["x", "y", "z"])
        moved = ants.apply_transforms_to_points(3, points, [str(t) for t in transforms])
        est = moved[["x", "y", "z"]].to_numpy()
    else:
        est = lps
    return float(np.linalg.norm(est - true, axis=1).mean())


def run_one(data: Path, truth: pd.DataFrame, sid: str, settings: RegistrationSettings,
            out: Path) -> dict:
    images = data / "images"
    flair_from_ct = true_flair_from_ct(truth.loc[sid])
    t0, c0 = time.perf_counter(), time.process_time()
    # Registered as in production (the software WMH mask masks the metric) ...
    result = register_pair(images / f"{sid}_ct.nii.gz", images / f"{sid}_flair.nii.gz",
                           images / f"{sid}_wmh.nii.gz", settings=settings, out_dir=out,
                           subject_id=sid)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    # ... and judged by where the transforms send the *true* lesion.
    prob = warp_image(data / "truth" / f"{sid}_lesion_flair.nii.gz", images / f"{sid}_ct.nii.gz",
                      result.transforms)
    lesion = np.asarray(nib.load(data / "truth" / f"{sid}_lesion_ct.nii.gz").dataobj) > 0
    # The production pseudo-label against the ideal one (registration truth).
    ideal_file = data / "truth" / f"{sid}_wmh_ct.nii.gz"
    ideal = {"ideal_05": np.nan, "ideal_0": np.nan, "oracle_ideal_05": np.nan}
    if ideal_file.is_file():  # twin studies generated before the ideal label have none
        label = np.asarray(nib.load(ideal_file).dataobj) > 0
        software = np.asarray(nib.load(result.probability_path).dataobj)
        ideal = {"ideal_05": dice(software > 0.5, label), "ideal_0": dice(software > 0, label),
                 "oracle_ideal_05": oracle_dice(data, sid, flair_from_ct,
                                                moving="images/{sid}_wmh.nii.gz",
                                                reference="truth/{sid}_wmh_ct.nii.gz")}
    return {
        "subject_id": sid, "wall_s": wall, "cpu_s": cpu,
        "dice_05": dice(prob > 0.5, lesion), "dice_0": dice(prob > 0, lesion),
        "oracle_05": oracle_dice(data, sid, flair_from_ct), **ideal,
        "brain_dice": result.qc["brain_dice"], "mutual_information": result.qc["mutual_information"],
        "error_mm": landmark_error(images / f"{sid}_ct.nii.gz", result.transforms, flair_from_ct),
        "planted_error": bool(truth.loc[sid, "registration_error"]),
    }


def summarise(table: pd.DataFrame, out: Path) -> pd.DataFrame:
    """Print and save the per-configuration means over ordinary subjects."""
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "sweep_pairs.csv", index=False)
    ok = table[~table["planted_error"]]
    summary = ok.groupby("config", sort=False).agg(
        wall_s=("wall_s", "mean"), cpu_s=("cpu_s", "mean"), dice_05=("dice_05", "mean"),
        dice_0=("dice_0", "mean"), oracle_05=("oracle_05", "mean"),
        ideal_05=("ideal_05", "mean"), ideal_0=("ideal_0", "mean"),
        oracle_ideal_05=("oracle_ideal_05", "mean"),
        brain_dice=("brain_dice", "mean"), error_mm=("error_mm", "mean"))
    bad = table[table["planted_error"]].groupby("config", sort=False).agg(
        planted_dice_05=("dice_05", "mean"), planted_brain_dice=("brain_dice", "mean"),
        planted_mi=("mutual_information", "mean"))
    summary = summary.join(bad)
    summary.to_csv(out / "sweep_summary.csv")
    print(f"\n{ok['subject_id'].nunique()} ordinary subjects, means per configuration "
          "(planted_*: the planted registration-error subjects):")
    print(summary.round(3).to_string())
    return summary


def write_results(summary: pd.DataFrame, table: pd.DataFrame, path: Path, data: Path) -> None:
    """The summary as CSV for the book, after ``#`` lines saying how it was measured.

    Read it with ``pandas.read_csv(path, comment="#")``.
    """
    ordinary = sorted(table.loc[~table["planted_error"], "subject_id"].unique())
    planted = sorted(table.loc[table["planted_error"], "subject_id"].unique())
    settings = {name: CONFIGS[name] for name in summary.index}
    study = ""
    parameters = data / "truth" / "parameters.yaml"
    if parameters.is_file():  # which twin: its seed and settings identify it
        import yaml

        raw = yaml.safe_load(parameters.read_text(encoding="utf-8"))
        twin = raw.get("settings", {})
        study = (f"twin seed {raw.get('seed')}, development {twin.get('development')}, "
                 f"external {twin.get('external')}, CT {twin.get('ct_inplane_mm')} mm in-plane; ")
    lines = [
        "# benchmarks/registration_sweep.py: means per configuration over the ordinary subjects",
        f"# date: {datetime.date.today().isoformat()}; machine: {platform.machine()}, "
        f"{os.cpu_count()} cores (shared), ANTs/ITK threads "
        f"{os.environ.get('ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS', '?')}",
        f"# data: {data} ({study}{len(ordinary)} ordinary subjects: {' '.join(ordinary)}; "
        f"planted registration errors: {' '.join(planted) or 'none'})",
        "# seconds per pair: wall_s (wall clock), cpu_s; Dice: dice_* vs the true lesion, "
        "ideal_* vs the ideal pseudo-label, oracle_* with the true rigid pose; "
        "_05 = p > 0.5, _0 = p > 0",
        f"# settings (overrides of RegistrationSettings): {settings}",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    body = summary.round(4).to_csv(lineterminator="\n")
    path.write_text("\n".join(lines) + "\n" + body, encoding="utf-8")
    print(f"results written: {path}")


def qc_all(data: Path, truth: pd.DataFrame, out: Path, keep: bool) -> pd.DataFrame:
    """Register every paired subject with the default settings and apply the QC rule."""
    settings = RegistrationSettings()
    rows = []
    for sid in truth.index:
        folder = out / "qc_all" / sid
        rows.append(register_pair(data / "images" / f"{sid}_ct.nii.gz",
                                  data / "images" / f"{sid}_flair.nii.gz",
                                  data / "images" / f"{sid}_wmh.nii.gz",
                                  settings=settings, out_dir=folder, subject_id=sid).qc)
        if not keep:
            shutil.rmtree(folder)
    qc = pd.DataFrame(rows).set_index("subject_id")
    qc["flagged"] = flag_registration_errors(qc)
    qc["planted_error"] = truth.loc[qc.index, "registration_error"]
    qc["exclusion_reason"] = truth.loc[qc.index, "exclusion_reason"].replace("", "(none)")
    qc.to_csv(out / "qc_all.csv")
    print(f"\nQC of all {len(qc)} paired subjects, default settings: "
          f"{qc['runtime_s'].mean():.1f} s/pair (wall, mean)")
    print(pd.crosstab(qc["exclusion_reason"], qc["flagged"]))
    columns = ["brain_dice", "brain_dice_linear", "mutual_information", "mean_displacement_mm",
               "exclusion_reason"]
    print(qc[columns].describe().round(3).to_string())
    print(qc[qc["flagged"] | qc["planted_error"]][columns].round(3).to_string())
    return qc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("build/demo/data"))
    parser.add_argument("--n", type=int, default=6, help="ordinary subjects")
    parser.add_argument("--configs", nargs="*", default=list(CONFIGS))
    parser.add_argument("--out", type=Path, default=Path("build/benchmarks/registration"))
    parser.add_argument("--qc-all", action="store_true",
                        help="also register every paired subject with the defaults and flag")
    parser.add_argument("--keep", action="store_true", help="keep the per-subject outputs")
    parser.add_argument("--results", type=Path,
                        default=Path("benchmarks/results/registration_sweep.csv"),
                        help="CSV of the per-configuration means, for the book")
    args = parser.parse_args()

    truth = truth_table(args.data)
    subjects = pick_subjects(truth, args.n)
    rows = []
    for name in args.configs:
        settings = RegistrationSettings(**CONFIGS[name])
        for sid in subjects:
            row = run_one(args.data, truth, sid, settings, args.out / name / sid)
            rows.append({"config": name, **row})
            print(f"{name:19s} {sid} wall {row['wall_s']:5.1f}s dice {row['dice_05']:.3f} "
                  f"(oracle {row['oracle_05']:.3f}) brain {row['brain_dice']:.3f} "
                  f"MI {row['mutual_information']:.3f} err {row['error_mm']:.2f} mm", flush=True)
    if rows:
        table = pd.DataFrame(rows)
        write_results(summarise(table, args.out), table, args.results, args.data)
    if args.qc_all:
        qc_all(args.data, truth, args.out, args.keep)
    if not args.keep:
        for name in args.configs:
            shutil.rmtree(args.out / name, ignore_errors=True)


if __name__ == "__main__":
    main()
