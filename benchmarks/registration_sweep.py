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
  map ignores the twin's 0.5-1.5 mm non-linear warp);
* ``err_mean_mm`` / ``err_p95_mm``: the registration's displacement error
  against the twin's *full* true geometry (pose and non-linear warp,
  ``truth/<id>_ct_to_flair_mm.nii.gz``), mean and 95th percentile over the
  true brain per pair (:mod:`leukoct.registration_accuracy`); the summary
  gives the *median over pairs* of each (target: median ≤ 1.5 mm).

Configurations named ``greedy-*`` register with **greedy** (picsl-greedy,
PICSL's fast deformable registration) instead of ANTs, on the same
preprocessed images (skull strip, 0-80 HU window, registration grid, crop,
lesion-masked metric) and with a comparable schedule; greedy's RAS affine and
its warp are written as ANTs transforms, so the pseudo-label, the QC and the
errors are computed exactly as for ANTs (checked per pair against greedy's
own reslicing, ``greedy_check``).

ANTs runs with one thread (set before ITK starts).  Run from the project root::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/registration_sweep.py \\
        --data build/demo/data --n 6 --out build/benchmarks/registration

The per-configuration means are also written to
``benchmarks/results/registration_sweep.csv`` (``--results``), after ``#``
lines that say when, on how many cores and on which subjects they were
measured; the registration chapter shows that table as measured (it never
re-runs the sweep).

``--from-pairs A.csv B.csv ...`` summarises the per-pair tables of earlier or
parallel runs (``sweep_pairs*.csv`` in their ``--out`` folders) into the
results file without registering again.

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

from leukoct import registration as reg  # noqa: E402
from leukoct.metrics import dice  # noqa: E402
from leukoct.registration import (  # noqa: E402
    RegistrationResult,
    RegistrationSettings,
    flag_registration_errors,
    register_pair,
    warp_image,
)
from leukoct.registration_accuracy import BRAIN_SUFFIX, GEOMETRY_SUFFIX, pair_error  # noqa: E402

PAIRED = ("train", "internal", "external")
LOAD_AT_START = os.getloadavg()[0]

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
    "synr-2mm-long": dict(syn_iterations=(60, 30, 0)),
    "synr-2mm-smooth": dict(syn_flow_sigma=6.0, syn_total_sigma=2.0),
    "synr-2mm-smoother": dict(syn_flow_sigma=9.0, syn_total_sigma=3.0),
    "synr-2mm-step": dict(syn_gradient_step=0.3, convergence_threshold=1e-7),
    "identity": dict(type_of_transform="Identity"),
}

#: greedy configurations: name -> (RegistrationSettings overrides for the shared
#: preprocessing, greedy options).  Rigid: 6 dof, centre-of-mass start (as ANTs'
#: initial transform), NMI; deformable: NMI, update / total smoothing in voxels of
#: the registration grid (ANTs' SyN[0.2, 4, 1] are variances: sigma 2 and 1 vox).
GREEDY: dict[str, tuple[dict, dict]] = {
    "greedy-rigid-2mm": (dict(type_of_transform="Rigid"),
                         dict(rigid="100x50x0", deformable=None)),
    "greedy-synr-2mm": (dict(), dict(rigid="100x50x0", deformable="30x15x0",
                                     sigmas="2.0vox 1.0vox")),
    "greedy-synr-2mm-long": (dict(), dict(rigid="100x50x0", deformable="60x30x10",
                                          sigmas="2.0vox 1.0vox")),
    "greedy-synr-2mm-greedydefault": (dict(), dict(rigid="100x50x0", deformable="50x25x0",
                                                   sigmas="1.732vox 0.7071vox")),
    # Local correlation: after the 0-80 HU window and FLAIR's CSF nulling both images have
    # dark CSF and grey matter brighter than white matter, so NCC applies across modalities.
    "greedy-synr-2mm-ncc": (dict(), dict(rigid="100x50x0", deformable="30x15x0",
                                         sigmas="2.0vox 1.0vox", metric="NCC 2x2x2")),
}
CONFIGS.update({name: {**ants_part, "greedy": opts} for name, (ants_part, opts) in GREEDY.items()})


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


def _to_sitk(image: ants.ANTsImage):
    import SimpleITK as sitk

    out = sitk.GetImageFromArray(np.ascontiguousarray(image.numpy().transpose(2, 1, 0),
                                                      dtype=np.float32))
    out.SetOrigin(tuple(float(v) for v in image.origin))
    out.SetSpacing(tuple(float(v) for v in image.spacing))
    out.SetDirection(tuple(float(v) for v in np.asarray(image.direction).ravel()))
    return out


def run_greedy(fixed: ants.ANTsImage, moving: ants.ANTsImage, moving_mask: ants.ANTsImage | None,
               opts: dict, out_dir: Path, threads: int, seed: int) -> tuple[list[Path], float]:
    """Register with greedy; write its transforms as ANTs files; return them and a check.

    greedy's affine maps fixed RAS points to moving RAS points (its matrix
    convention); ANTs' .mat is the same map in LPS.  Its warp is an ITK
    displacement field (LPS), applied before the affine as in ANTs' list.
    The check is the mean absolute difference, relative to the mean moving
    intensity, between greedy's own reslicing of ``moving`` onto ``fixed`` and
    ANTs' application of the converted files (≈ 0 when the conversion is right).
    """
    from picsl_greedy import Greedy3D

    g = Greedy3D()
    images = {"fix": _to_sitk(fixed), "mov": _to_sitk(moving)}
    mask = ""
    if moving_mask is not None:
        images["movmask"] = _to_sitk(moving_mask)
        mask = "-mm movmask"
    common = f"-d 3 -threads {threads} -seed {seed} -V 0"
    # Start from the brains' centres of mass (ANTs: --initial-moving-transform [f,m,1]).
    g.execute(f"{common} -moments 1 -i fix mov -o init", init=None, **images)
    g.execute(f"{common} -a -dof 6 -ia init -i fix mov {mask} -m NMI -n {opts['rigid']} "
              "-o rigid", rigid=None)
    flip = np.diag([-1.0, -1.0, 1.0])
    ras = np.asarray(g["rigid"], dtype=float)
    tx = ants.create_ants_transform(transform_type="AffineTransform", dimension=3,
                                    matrix=flip @ ras[:3, :3] @ flip,
                                    translation=flip @ ras[:3, 3])
    affine_file = out_dir / f"{reg.TRANSFORM_PREFIX}0GenericAffine.mat"
    ants.write_transform(tx, str(affine_file))
    transforms = [affine_file]
    chain = "rigid"
    if opts.get("deformable"):
        g.execute(f"{common} -i fix mov {mask} -it rigid -m {opts.get('metric', 'NMI')} "
                  f"-n {opts['deformable']} -s {opts['sigmas']} -wp 0 -o warp", warp=None)
        import SimpleITK as sitk

        warp_file = out_dir / f"{reg.TRANSFORM_PREFIX}1Warp.nii.gz"
        sitk.WriteImage(g["warp"], str(warp_file))
        transforms = [warp_file, affine_file]
        chain = "warp rigid"
    g.execute(f"{common} -rf fix -rm mov resliced -r {chain}", resliced=None)
    import SimpleITK as sitk

    own = sitk.GetArrayFromImage(g["resliced"]).transpose(2, 1, 0)
    ours = warp_image(moving, fixed, transforms)
    check = float(np.abs(own - ours).mean() / max(float(np.abs(moving.numpy()).mean()), 1e-9))
    return transforms, check


def register_pair_greedy(ct: Path, flair: Path, wmh: Path, settings: RegistrationSettings,
                         opts: dict, out_dir: Path, subject_id: str) -> RegistrationResult:
    """:func:`register_pair` with greedy in place of antsRegistration (same inputs,
    outputs and QC row, plus ``greedy_check``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob(f"{reg.TRANSFORM_PREFIX}*"):
        old.unlink()
    start = time.perf_counter()
    ct_img, flair_img, wmh_img = reg.to_ants(ct), reg.to_ants(flair), reg.to_ants(wmh)
    ct_mask = reg.ct_brain_mask(ct_img.numpy(), ct_img.spacing)
    flair_mask = reg.flair_brain_mask(flair_img.numpy(), flair_img.spacing)
    fixed, moving = reg.prepare_images(ct_img, ct_mask, flair_img, flair_mask,
                                       settings.resolution_mm, settings.crop_margin_mm)
    moving_mask = None
    if settings.lesion_margin_mm is not None and wmh_img.numpy().any():
        moving_mask = reg.lesion_exclusion_mask(wmh_img, moving, settings.lesion_margin_mm)
    transforms, check = run_greedy(fixed, moving, moving_mask, opts, out_dir, settings.threads,
                                   settings.seed)

    def warp(image: ants.ANTsImage, reference: ants.ANTsImage, interpolator: str) -> np.ndarray:
        return warp_image(image, reference, transforms, interpolator)

    wmh_arr = (wmh_img.numpy() > 0).astype(np.float32)
    probability = np.clip(warp(reg._like(wmh_img, wmh_arr), ct_img, "linear"), 0.0, 1.0)
    pseudolabel = probability > settings.threshold
    probability_path = out_dir / reg.PROBABILITY_FILE
    pseudolabel_path = out_dir / reg.PSEUDOLABEL_FILE
    ants.image_write(reg._like(ct_img, probability.astype(np.float32)), str(probability_path))
    ants.image_write(reg._like(ct_img, pseudolabel.astype(np.uint8)), str(pseudolabel_path))
    qc = reg._qc(ct_img, ct_mask, flair_img, flair_mask, wmh_arr, fixed, moving, warp, transforms,
                 probability, pseudolabel)
    qc.update(runtime_s=time.perf_counter() - start, greedy_check=check, subject_id=subject_id)
    return RegistrationResult(probability_path=probability_path, pseudolabel_path=pseudolabel_path,
                              transforms=transforms, qc=qc)


def run_one(data: Path, truth: pd.DataFrame, sid: str, settings: RegistrationSettings,
            out: Path, greedy: dict | None = None) -> dict:
    images = data / "images"
    flair_from_ct = true_flair_from_ct(truth.loc[sid])
    t0, c0 = time.perf_counter(), time.process_time()
    # Registered as in production (the software WMH mask masks the metric) ...
    inputs = (images / f"{sid}_ct.nii.gz", images / f"{sid}_flair.nii.gz",
              images / f"{sid}_wmh.nii.gz")
    if greedy is None:
        result = register_pair(*inputs, settings=settings, out_dir=out, subject_id=sid)
    else:
        result = register_pair_greedy(*inputs, settings=settings, opts=greedy, out_dir=out,
                                      subject_id=sid)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    # ... and judged against the twin's full true geometry (pose + non-linear warp) ...
    geometry = data / "truth" / f"{sid}{GEOMETRY_SUFFIX}"
    mm = {"err_mean_mm": np.nan, "err_p95_mm": np.nan}
    if geometry.is_file():  # studies generated before the geometry truth have none
        errors = pair_error(out, geometry, data / "truth" / f"{sid}{BRAIN_SUFFIX}")
        mm = {"err_mean_mm": errors["mean_mm"], "err_p95_mm": errors["p95_mm"]}
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
        **mm, "greedy_check": result.qc.get("greedy_check", np.nan),
        "planted_error": bool(truth.loc[sid, "registration_error"]),
    }


def summarise(table: pd.DataFrame, out: Path) -> pd.DataFrame:
    """Print and save the per-configuration means over ordinary subjects."""
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "sweep_pairs.csv", index=False)
    ok = table[~table["planted_error"]]
    summary = ok.groupby("config", sort=False).agg(
        pairs=("subject_id", "nunique"), wall_s=("wall_s", "mean"), cpu_s=("cpu_s", "mean"),
        dice_05=("dice_05", "mean"), dice_0=("dice_0", "mean"), oracle_05=("oracle_05", "mean"),
        ideal_05=("ideal_05", "mean"), ideal_0=("ideal_0", "mean"),
        oracle_ideal_05=("oracle_ideal_05", "mean"),
        brain_dice=("brain_dice", "mean"), error_mm=("error_mm", "mean"),
        err_mean_mm=("err_mean_mm", "median"), err_p95_mm=("err_p95_mm", "median"),
        greedy_check=("greedy_check", "max"))
    bad = table[table["planted_error"]].groupby("config", sort=False).agg(
        planted_dice_05=("dice_05", "mean"), planted_brain_dice=("brain_dice", "mean"),
        planted_mi=("mutual_information", "mean"))
    summary = summary.join(bad)
    summary.to_csv(out / "sweep_summary.csv")
    print(f"\n{ok['subject_id'].nunique()} ordinary subjects, means per configuration "
          "(planted_*: the planted registration-error subjects):")
    print(summary.round(3).to_string())
    return summary


def write_results(summary: pd.DataFrame, table: pd.DataFrame, path: Path, data: Path,
                  note: str = "", merged: bool = False) -> None:
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
        "_05 = p > 0.5, _0 = p > 0 (means over pairs)",
        "# displacement error vs the twin's true geometry (pose + non-linear warp) over the true "
        "brain: err_mean_mm / err_p95_mm = median over pairs of each pair's mean / 95th "
        "percentile (mm); error_mm = mean vs the true rigid pose only; greedy_check = largest "
        "relative difference between greedy's own reslicing and its converted ANTs transforms",
        *([f"# load average (1 min) at start {LOAD_AT_START:.2f}, at end "
           f"{os.getloadavg()[0]:.2f} (2 cores shared with other jobs: wall_s is an upper "
           "bound, cpu_s the process's own)"] if not merged else []),
        *([f"# note: {note}"] if note else []),
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
    parser.add_argument("--from-pairs", type=Path, nargs="*", default=None,
                        help="summarise these per-pair CSVs (sweep_pairs*.csv of earlier or "
                        "parallel runs) instead of registering")
    parser.add_argument("--note", default="", help="a '# note:' line for the results file")
    args = parser.parse_args()

    if args.from_pairs:
        table = pd.concat([pd.read_csv(p) for p in args.from_pairs], ignore_index=True)
        order = [c for c in CONFIGS if c in set(table["config"])]
        table["config"] = pd.Categorical(table["config"], categories=order, ordered=True)
        table = table.sort_values(["config", "subject_id"], kind="stable")
        table["config"] = table["config"].astype(str)
        write_results(summarise(table, args.out), table, args.results, args.data, args.note,
                      merged=True)
        return

    truth = truth_table(args.data)
    subjects = pick_subjects(truth, args.n)
    rows = []
    for name in args.configs:
        overrides = dict(CONFIGS[name])
        greedy = overrides.pop("greedy", None)
        settings = RegistrationSettings(**overrides)
        for sid in subjects:
            row = run_one(args.data, truth, sid, settings, args.out / name / sid, greedy)
            rows.append({"config": name, **row})
            args.out.mkdir(parents=True, exist_ok=True)  # kept as it goes: a long sweep may stop
            pd.DataFrame(rows).to_csv(args.out / "sweep_pairs_partial.csv", index=False)
            print(f"{name:20s} {sid} wall {row['wall_s']:5.1f}s cpu {row['cpu_s']:5.1f}s "
                  f"dice {row['dice_05']:.3f} (oracle {row['oracle_05']:.3f}) "
                  f"brain {row['brain_dice']:.3f} MI {row['mutual_information']:.3f} "
                  f"err {row['err_mean_mm']:.2f} / p95 {row['err_p95_mm']:.2f} mm", flush=True)
    if rows:
        table = pd.DataFrame(rows)
        write_results(summarise(table, args.out), table, args.results, args.data, args.note)
    if args.qc_all:
        qc_all(args.data, truth, args.out, args.keep)
    if not args.keep:
        for name in args.configs:
            shutil.rmtree(args.out / name, ignore_errors=True)


if __name__ == "__main__":
    main()
