"""The ``leukoct`` command line.

``leukoct manifest validate PATH`` checks a manifest, ``leukoct manifest
checksum PATH`` fills its SHA-256 columns, ``leukoct twin`` builds the
digital twin, ``leukoct profile show`` prints a resolved profile and
``leukoct dictionary`` writes the data dictionary.
``leukoct import dicom SRC OUT`` and ``leukoct import registry FILE`` bring real data in.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from leukoct import __version__
from leukoct.messages import LeukoctError


class _CleanErrors(typer.Typer):
    """Typer, with leukoct's own errors printed as their message, exit status 1.

    A :class:`~leukoct.messages.LeukoctError` names the file, row or key and
    the fix; a traceback around it only hides that line.  Any other exception
    is a bug and keeps its traceback.
    """

    def __call__(self, *args, **kwargs):  # noqa: ANN002, ANN003 (Typer's signature)
        try:
            return super().__call__(*args, **kwargs)
        except LeukoctError as exc:
            typer.echo(f"leukoct: error: {exc}", err=True)
            sys.exit(1)


app = _CleanErrors(
    help="leukoct: leukoaraiosis on CT from CT-MRI pairs (Ryu et al.), reproduced.",
    no_args_is_help=True, add_completion=False)
manifest_app = typer.Typer(help="Check and maintain a data manifest.", no_args_is_help=True)
profile_app = typer.Typer(help="Inspect profiles.", no_args_is_help=True)
app.add_typer(manifest_app, name="manifest")
app.add_typer(profile_app, name="profile")
import_app = typer.Typer(help="Bring real data in: DICOM studies, then the registry.",
                         no_args_is_help=True)
app.add_typer(import_app, name="import")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"leukoct {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version.")] = False) -> None:
    """leukoct command line."""


@manifest_app.command("validate")
def manifest_validate(
    path: Annotated[Path, typer.Argument(help="The manifest CSV.")],
    checksums: Annotated[bool, typer.Option(
        "--checksums/--no-checksums", help="Verify every file's SHA-256.")] = True,
    as_csv: Annotated[Path | None, typer.Option(
        "--report", help="Also write the problems as CSV to this file.")] = None,
    images: Annotated[bool, typer.Option(
        "--images/--no-images", help="Open every image in full and check it (HU, grids, "
        "binary masks); --no-images checks the cells only, faster.")] = True,
) -> None:
    """Validate a manifest; print every problem (row/subject, column, problem, fix).

    Exits with status 1 when the manifest has problems.
    """
    from leukoct.manifest import validate_manifest

    report = validate_manifest(path, verify_checksums=checksums, images=images)
    if as_csv is not None:
        report.to_frame().to_csv(as_csv, index=False)
    if report.ok:
        assert report.table is not None
        counts = report.table["cohort"].value_counts().to_dict()
        summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        typer.echo(f"{path}: valid — {len(report.table)} subjects ({summary})")
        from leukoct.schema import VENDORS

        for column in ("ct_vendor", "mri_vendor"):
            others = report.table[column].dropna()
            others = others[~others.isin(VENDORS)].value_counts()
            if len(others):
                listed = ", ".join(f"{v} ({n})" for v, n in others.items())
                typer.echo(f"  note: {column} outside the paper's four vendors: {listed}; "
                           "kept, each with its own Table 2 column", err=True)
        return
    typer.echo(f"{path}: {len(report.problems)} problem(s)", err=True)
    for problem in report.problems:
        typer.echo(f"  {problem}", err=True)
    raise typer.Exit(code=1)


@manifest_app.command("views")
def manifest_views_command(
    profile: Annotated[str, typer.Option(help="Profile name or YAML path.")] = "demo",
) -> None:
    """Refresh the per-step views of the profile's manifest (what lets the
    workflow re-run only the steps an edit touches); unchanged views are
    left as they are."""
    from leukoct.config import load_profile
    from leukoct.manifest_views import refresh_views, views_folder

    prof = load_profile(profile)
    if not prof.manifest.is_file():
        typer.echo(f"error: {prof.manifest} does not exist", err=True)
        raise typer.Exit(code=1)
    written = refresh_views(prof)
    typer.echo(f"views of {prof.manifest} in {views_folder(prof.outputs.root)}: "
               + (f"updated {', '.join(written)}" if written else "all unchanged"))


@manifest_app.command("checksum")
def manifest_checksum(path: Annotated[Path, typer.Argument(help="The manifest CSV.")]) -> None:
    """Compute the SHA-256 of every image and write it into the manifest."""
    from leukoct.manifest import fill_checksums

    changed = fill_checksums(path)
    typer.echo(f"{path}: {changed} checksum(s) written")


@app.command("twin")
def twin(
    profile: Annotated[str, typer.Option(help="Profile name or YAML path.")] = "demo",
    out: Annotated[Path | None, typer.Option(
        help="Output folder (default: the folder of the profile's manifest).")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes.")] = None,
    seed: Annotated[int | None, typer.Option(help="Override the profile's seed.")] = None,
) -> None:
    """Build the synthetic digital-twin study of a profile (images, tables, manifest)."""
    from leukoct.config import load_profile
    from leukoct.twin import generate_study

    prof = load_profile(profile)
    if prof.twin is None:
        raise typer.BadParameter(f"profile {prof.name!r} has no 'twin:' section", param_hint="--profile")
    out_dir = out or prof.manifest.parent
    manifest = generate_study(prof.twin, out_dir, seed=prof.seed if seed is None else seed,
                              workers=workers)
    typer.echo(f"synthetic study written: {manifest}")


@app.command("curate")
def curate(
    profile: Annotated[str, typer.Option(help="Profile name or YAML path.")] = "demo",
) -> None:
    """Apply the exclusion cascade (registration errors pending) and list the
    subjects the registration step must register.

    A subject to register without FLAIR or WMH mask stops the cascade (exit
    status 1, naming it) unless the profile sets
    ``steps.registration.missing_flair: exclude``, which excludes it.
    """
    from leukoct.config import load_profile
    from leukoct.curation import (
        MISSING_FLAIR,
        MissingFlairError,
        apply_criteria,
        load_criteria,
        registration_candidates,
    )
    from leukoct.manifest import load_manifest
    from leukoct.pseudolabels import cascade_path, missing_flair_policy, registration_inputs

    prof = load_profile(profile)
    rules = load_criteria(prof.steps.get("curation", {}).get("criteria"))
    policy = missing_flair_policy(prof)
    # Every image is opened here, before any registration job: a file that
    # cannot be used stops the workflow at its first rule (cached by checksum).
    table = load_manifest(prof.manifest, images=True,
                          image_cache=prof.outputs.root / "cache" / "image_checks.json")
    cascade = apply_criteria(table, rules, registration_inputs=registration_inputs(prof))
    try:
        cascade["register"] = registration_candidates(cascade, rules, missing_flair=policy,
                                                      manifest=prof.manifest)
    except MissingFlairError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    out = cascade_path(prof)
    out.parent.mkdir(parents=True, exist_ok=True)
    cascade.to_csv(out, index=False)
    excluded = int((cascade["exclusion"] == MISSING_FLAIR).sum())
    typer.echo(f"cascade written: {out} ({int(cascade['register'].sum())} to register"
               + (f", {excluded} excluded for a missing FLAIR or WMH mask" if excluded else "")
               + ")")


@app.command("register")
def register(
    subject: Annotated[str, typer.Option(help="Subject id of the manifest.")],
    profile: Annotated[str, typer.Option(help="Profile name or YAML path.")] = "demo",
) -> None:
    """Register one subject's FLAIR onto its CT and write its CT pseudo-label."""
    from leukoct.config import load_profile
    from leukoct.pseudolabels import run_subject

    qc = run_subject(load_profile(profile), subject)
    typer.echo(f"{subject}: brain Dice {qc['brain_dice']:.3f}, pseudo-label "
               f"{qc['pseudolabel_ml']:.2f} mL, {qc['runtime_s']:.1f} s")


@app.command("wmh-split")
def wmh_split(
    profile: Annotated[str, typer.Option(help="Profile name or YAML path.")] = "demo",
) -> None:
    """Split the subjects with a reference FLAIR mask train / validation / test (6:2:2)."""
    from leukoct.config import load_profile
    from leukoct.wmh.step import write_split

    out = write_split(load_profile(profile))
    typer.echo(f"FLAIR WMH split written: {out}")


@app.command("wmh-train")
def wmh_train(
    model: Annotated[str, typer.Option(help="Model: member0 ... member<k-1>, or single_unet / "
                                            "single_se_unet (the architecture comparison).")],
    profile: Annotated[str, typer.Option(help="Profile name or YAML path.")] = "demo",
) -> None:
    """Train one model of the FLAIR WMH deep ensemble (seed 002)."""
    from leukoct.config import load_profile
    from leukoct.wmh.step import train_model

    record = train_model(load_profile(profile), model)
    typer.echo(f"{model} ({record['architecture']}): {record['subjects']} subjects, "
               f"{record['slices']} slices, {record['seconds']:.0f} s, validation Dice "
               f"{record['final_val_dice'] if record['final_val_dice'] is not None else float('nan'):.3f}")


@app.command("wmh-predict")
def wmh_predict(
    cohort: Annotated[str, typer.Option(help="Cohort: train, internal or external.")],
    profile: Annotated[str, typer.Option(help="Profile name or YAML path.")] = "demo",
) -> None:
    """Segment every FLAIR of one cohort with the ensemble: masks, probabilities, uncertainty."""
    from leukoct.config import load_profile
    from leukoct.wmh.step import predict_cohort

    table = predict_cohort(load_profile(profile), cohort)
    typer.echo(f"{cohort}: {len(table)} FLAIRs segmented, median WMH "
               f"{table['wmh_ml'].median() if len(table) else float('nan'):.1f} mL")


@app.command("registration-qc")
def registration_qc(
    qc_files: Annotated[list[Path], typer.Argument(help="Per-subject qc.json files.")],
    profile: Annotated[str, typer.Option(help="Profile name or YAML path.")] = "demo",
) -> None:
    """Gather the per-subject QC and flag registration errors (robust outlier rule)."""
    from leukoct.config import load_profile
    from leukoct.pseudolabels import collect_qc, qc_path

    qc = collect_qc(list(qc_files))
    out = qc_path(load_profile(profile))
    out.parent.mkdir(parents=True, exist_ok=True)
    qc.to_csv(out, index=False)
    typer.echo(f"QC of {len(qc)} pairs written: {out} "
               f"({int(qc['registration_error'].sum())} flagged)")


# nnU-Net binds its folders when first imported, so each nnU-Net step is its
# own command (process); leukoct.predictions sets the folders first.
@app.command("nnunet-export")
def nnunet_export(
    profile: Annotated[str, typer.Option(help="Profile name or YAML path.")] = "demo",
) -> None:
    """Export the development CTs and pseudo-labels as an nnU-Net dataset and
    run nnU-Net's integrity check on every case."""
    from leukoct import predictions
    from leukoct.config import load_profile

    prof = load_profile(profile)
    report = predictions.export(prof)
    typer.echo(f"nnU-Net dataset written: {predictions.folders(prof).dataset_raw} "
               f"({len(report)} cases, integrity check passed)")


@app.command("nnunet-plan")
def nnunet_plan(
    profile: Annotated[str, typer.Option(help="Profile name or YAML path.")] = "demo",
) -> None:
    """Fingerprint, plan (2d) and preprocess the exported dataset with nnU-Net."""
    from leukoct import predictions
    from leukoct.config import load_profile

    typer.echo(f"plans written: {predictions.plan(load_profile(profile))}")


@app.command("nnunet-train")
def nnunet_train(
    profile: Annotated[str, typer.Option(help="Profile name or YAML path.")] = "demo",
) -> None:
    """Train nnU-Net on the pseudo-labels (resuming from its checkpoint)."""
    from leukoct import predictions
    from leukoct.config import load_profile

    typer.echo(f"model trained: {predictions.train(load_profile(profile))}")


@app.command("nnunet-predict")
def nnunet_predict(
    group: Annotated[str, typer.Option(help="Curation group: development, external, us or clinical.")],
    profile: Annotated[str, typer.Option(help="Profile name or YAML path.")] = "demo",
) -> None:
    """Predict LA on every included CT of one group; write masks and volumes."""
    from leukoct import predictions
    from leukoct.config import load_profile

    prof = load_profile(profile)
    table = predictions.predict_group(prof, group)
    per_ct = f", {table['seconds'].mean():.1f} s per CT" if len(table) else ""
    typer.echo(f"{group}: {len(table)} CTs predicted{per_ct}: {predictions.predictions_path(prof, group)}")


@app.command("volumes")
def volumes(
    prediction_files: Annotated[list[Path], typer.Argument(help="Per-group predictions.csv files.")],
    profile: Annotated[str, typer.Option(help="Profile name or YAML path.")] = "demo",
) -> None:
    """Gather predicted, registered, FLAIR and (twin) true LA volumes in one table."""
    from leukoct import predictions
    from leukoct.config import load_profile

    prof = load_profile(profile)
    table = predictions.volumes(prof, list(prediction_files))
    typer.echo(f"volumes of {len(table)} CTs written: {predictions.volumes_path(prof)}")


@app.command("overlaps")
def overlaps(
    profile: Annotated[str, typer.Option(help="Profile name or YAML path.")] = "demo",
) -> None:
    """Dice of every paired subject's prediction vs pseudo-label, manual mask and (twin) truth."""
    from leukoct import evaluation
    from leukoct.config import load_profile

    prof = load_profile(profile)
    table = evaluation.write_overlaps(prof)
    incomplete = int((table["missing"] != "").sum())
    note = f"; {incomplete} with a missing mask (column 'missing')" if incomplete else ""
    typer.echo(f"overlaps of {len(table)} subjects written: {evaluation.overlaps_path(prof)}{note}")


@app.command("timings")
def timings(
    profile: Annotated[str, typer.Option(help="Profile name or YAML path.")] = "demo",
    directory: Annotated[Path, typer.Option(help="Snakemake's working directory.")] = Path("."),
) -> None:
    """How long each step of a run took (Snakemake's records of its output files)."""
    from leukoct.config import load_profile
    from leukoct.timings import format_timings, job_records, step_timings

    prof = load_profile(profile)
    records = job_records(directory / ".snakemake" / "metadata",
                          [prof.outputs.root, prof.outputs.figures, prof.outputs.book])
    typer.echo(format_timings(step_timings(records)))


@profile_app.command("show")
def profile_show(
    profile: Annotated[str, typer.Argument(help="Profile name or YAML path.")] = "demo",
    step: Annotated[str | None, typer.Option(
        help="Show the parameters one notebook step receives (JSON).")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="The whole resolved profile as JSON, paths resolved.")] = False,
) -> None:
    """Print every knob a profile runs with and where it comes from: the profile file, or
    the default (the paper's value).  --step: one notebook's parameters; --json: all."""
    from leukoct.config import ProfileError, load_profile, notebook_parameters, profile_source
    from leukoct.knobs import settings_table

    prof = load_profile(profile)
    if prof.data.source == "manifest" and not prof.manifest.is_file():
        raise ProfileError(f"{prof.path}: data.manifest: no such file {prof.manifest}; fix: "
                           "point it at your manifest CSV (data_manifest/README.md), or use "
                           "source: twin")
    if step:
        typer.echo(json.dumps(notebook_parameters(prof, step), indent=2))
        return
    if as_json:
        typer.echo(prof.model_dump_json(indent=2))
        return
    given = profile_source(prof.path).get("steps") or {}
    rows = settings_table(given)
    width = max(len(r["knob"]) for r in rows)
    typer.echo(f"{prof.name}: {prof.description}\n"
               f"{sum(r['source'] == 'profile' for r in rows)} of {len(rows)} knobs set by "
               f"{prof.path.name}; the others take their default: the paper's value, or "
               "nnU-Net's where the paper states none\n")
    for r in rows:
        value = json.dumps(r["value"])
        note = "" if r["source"] == "default" else f"   (default: {json.dumps(r['default'])})"
        typer.echo(f"{r['knob']:<{width}}  {value:<22} {r['source']:<8}{note}".rstrip())
    if prof.arms:
        from leukoct.arms import rerun_steps

        typer.echo(f"\n{len(prof.arms)} design arms "
                   "(run with make book ARMS=1, or ARMS=name,name; chapter 11):")
        for name, arm in prof.arms.items():
            knobs = ", ".join(f"steps.{step}.{knob}={json.dumps(value)}"
                              for step, set_ in arm.steps.items() for knob, value in set_.items())
            typer.echo(f"  {name}: {knobs}; re-runs {', '.join(rerun_steps(prof, name))}")


@app.command("book")
def book(
    profile: Annotated[str, typer.Option(help="Profile name or YAML path.")] = "demo",
    strict: Annotated[bool, typer.Option(
        "--strict/--no-strict", help="Treat Sphinx warnings as errors.")] = True,
) -> None:
    """Assemble the executed notebooks and figures of a run and render the book."""
    from leukoct.book import build_book
    from leukoct.config import load_profile

    index = build_book(load_profile(profile), strict=strict)
    typer.echo(f"book written: {index}")


@app.command("rulegraph")
def rulegraph_command(
    profile: Annotated[str, typer.Option(help="Profile name or YAML path.")] = "demo",
    out: Annotated[Path, typer.Option(help="PNG file to write.")] = Path("rulegraph.png"),
) -> None:
    """Draw the workflow's rule graph (Snakemake --rulegraph) as a picture, without graphviz."""
    from leukoct.config import load_profile
    from leukoct.workflow_graph import rulegraph, write_rulegraph_figure

    prof = load_profile(profile)
    assert prof.root is not None
    graph = rulegraph(prof.root / "Snakefile", prof.path)
    out.parent.mkdir(parents=True, exist_ok=True)
    written = write_rulegraph_figure(graph, out)
    typer.echo(f"rule graph ({len(graph.nodes)} rules, {len(graph.edges)} dependencies) "
               f"written: {', '.join(map(str, written))}")


@app.command("dictionary")
def dictionary(out: Annotated[Path, typer.Argument(help="Markdown file to write.")]) -> None:
    """Write the manifest's data dictionary as a Markdown page."""
    from leukoct.dictionary import data_dictionary_markdown

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(data_dictionary_markdown(), encoding="utf-8")
    typer.echo(f"data dictionary written: {out}")


@app.command("failures")
def failures(
    log: Annotated[Path | None, typer.Option(
        help="A Snakemake log; default: the newest under .snakemake/log/.")] = None,
) -> None:
    """Say which workflow steps failed, with each one's log and error (what make book ends with)."""
    from leukoct.config import find_project_root
    from leukoct.failures import latest_snakemake_log, summary

    root = find_project_root()
    path = log or latest_snakemake_log(Path.cwd())
    if path is None or not path.is_file():
        typer.echo("the workflow stopped; no Snakemake log was found to say why", err=True)
        raise typer.Exit(code=1)
    typer.echo(summary(path.read_text(encoding="utf-8", errors="replace"), root,
                       workdir=path.resolve().parents[2]), err=True)
    raise typer.Exit(code=1)


@app.command("unlock-stale")
def unlock_stale(
    directory: Annotated[Path, typer.Option(help="The workflow's working directory.")] = Path("."),
) -> None:
    """Remove the lock of a workflow that was killed (make book calls this first)."""
    from leukoct.workflow_lock import clear_stale_lock

    removed = clear_stale_lock(directory)
    if removed:
        typer.echo("leukoct: removed the lock of a workflow that stopped without cleaning up "
                   "(killed or power loss); resuming", err=True)


@app.command("notebook-failed")
def notebook_failed(
    log: Annotated[Path, typer.Argument(help="The failed notebook's log.")],
    step: Annotated[str, typer.Option(help="The study step.")],
) -> None:
    """Put a failed notebook's error on the first line of its log (the workflow calls this)."""
    from leukoct.failures import prepend_headline

    typer.echo(f"leukoct: step failed: {prepend_headline(log, step)}", err=True)
    raise typer.Exit(code=1)


@import_app.command("dicom")
def import_dicom_command(
    src: Annotated[Path, typer.Argument(help="Folder of DICOM studies, in any layout.")],
    out: Annotated[Path, typer.Argument(help="The study folder to write (images/, "
                                             "manifest.csv, import_report.csv).")],
    pseudonym_map: Annotated[Path | None, typer.Option(
        "--pseudonym-map", help="Write (or extend) the patient ID -> subject_id map here, "
        "outside OUT; the registry import joins through it.")] = None,
    site: Annotated[str, typer.Option(help="Site code written into every row.")] = "H1",
    cohort: Annotated[str, typer.Option(help="Cohort written into every row.")] = "train",
    prefix: Annotated[str, typer.Option(help="Pseudonyms are PREFIX-0001, ...")] = "SUBJ",
) -> None:
    """Convert the CT and FLAIR series under SRC to pseudonymised NIfTI and a manifest;
    list every series skipped and why."""
    from leukoct.importing.dicom import import_dicom
    from leukoct.importing.pseudonyms import WARNING

    done = import_dicom(src, out, site=site, cohort=cohort, prefix=prefix,
                        pseudonym_map=pseudonym_map)
    typer.echo(f"{done.manifest}: {done.subjects} subjects, {done.kept} series kept, "
               f"{done.skipped} skipped (each with its reason: {done.report})")
    if done.pseudonym_map is not None:
        typer.echo(f"leukoct: warning: pseudonym map written to {done.pseudonym_map}: {WARNING}",
                   err=True)
        typer.echo(f"next: leukoct import registry REGISTRY.xlsx --map MAPPING.yaml "
                   f"--pseudonym-map {done.pseudonym_map} --manifest {done.manifest}")
    else:
        typer.echo("note: no pseudonym map was asked for (--pseudonym-map): the registry cannot "
                   "be joined to these subjects", err=True)


@import_app.command("registry")
def import_registry_command(
    registry: Annotated[Path, typer.Argument(help="The registry (.xlsx or .csv).")],
    mapping: Annotated[Path, typer.Option(
        "--map", help="Mapping YAML (data_manifest/registry_mapping.example.yaml).")],
    pseudonym_map: Annotated[Path, typer.Option(
        "--pseudonym-map", help="The map `leukoct import dicom --pseudonym-map` wrote.")],
    manifest: Annotated[Path, typer.Option(
        help="The manifest import dicom wrote (completed in place).")] = Path(
            "data_manifest/manifest.csv"),
) -> None:
    """Join the registry's clinical fields onto the imported manifest through the
    pseudonym map, then validate it (images included)."""
    from leukoct.importing.registry import import_registry

    done = import_registry(registry, mapping, pseudonym_map, manifest)
    typer.echo(f"{done.manifest}: {done.joined} subjects joined to the registry; report: "
               f"{done.report}")
    if done.unknown_columns:
        typer.echo(f"  note: {len(done.unknown_columns)} registry column(s) neither mapped nor "
                   f"ignored: {', '.join(done.unknown_columns)} (listed in {done.report})",
                   err=True)
    if done.subjects_without_registry:
        typer.echo(f"  note: no registry row for {len(done.subjects_without_registry)} subject(s)"
                   f" ({', '.join(done.subjects_without_registry[:10])})", err=True)
    if done.registry_rows_without_imaging:
        typer.echo(f"  note: {len(done.registry_rows_without_imaging)} registry row(s) have no "
                   "imported imaging (row numbers in the report)", err=True)
    validation = done.validation
    assert validation is not None
    if validation.ok:
        typer.echo(f"{done.manifest}: valid; next: make book PROFILE=real")
        return
    typer.echo(f"{done.manifest}: {len(validation.problems)} problem(s)", err=True)
    for problem in validation.problems:
        typer.echo(f"  {problem}", err=True)
    raise typer.Exit(code=1)


if __name__ == "__main__":  # pragma: no cover
    app()
