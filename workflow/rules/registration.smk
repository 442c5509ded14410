# Curation before registration (who must be registered), one registration
# job per subject, and the batch QC that closes the exclusion flowchart.


checkpoint cascade:
    """Exclusion cascade before registration QC: who must be registered."""
    input:
        **manifest_input("exclusions"),
        criteria=CRITERIA,
    output:
        cascade=str(RUN.cascade),
    params:
        profile=str(PROFILE.path),
        missing_flair=PROFILE.steps.get("registration", {}).get("missing_flair", "error"),
        # Which subjects can be registered: those with a WMH mask, or every FLAIR.
        wmh_source=pseudolabels.wmh_source(PROFILE),
    log:
        log("cascade"),
    shell:
        "leukoct curate --profile {params.profile} > {log} 2>&1"


@functools.cache
def _manifest():
    # Read once per workflow parse, not once per subject (the jobs of a
    # thousand-subject study are created one by one).
    from leukoct.manifest import load_manifest

    return load_manifest(MANIFEST, verify_checksums=False).set_index("subject_id")


@functools.cache
def _raw_manifest():
    return manifest_views.read_raw_manifest(MANIFEST)


def _registration_images(profile, run, subject):
    """CT, FLAIR and the WMH mask registration carries: the manifest's, or,
    with steps.flair_segmentation.wmh_source: leukoct, the ensemble's (its
    cohort's prediction job writes it)."""
    row = _manifest().loc[subject]
    images = [row["ct_path"], row["flair_path"]]
    if pseudolabels.wmh_source(profile) == "leukoct":
        return images + [str(run.wmh_predictions(row["cohort"]))]
    return images + [row["wmh_mask_path"]]


def registration_rules(tag, profile, run):
    """The registration of every subject the cascade keeps, and the batch QC, for one
    profile: the study's (``tag`` empty) or a design arm's (``tag`` its name and _)."""

    rule:
        """FLAIR -> CT registration of one subject: its CT pseudo-label and QC."""
        name:
            f"{tag}register"
        input:
            manifest=ancient(str(MANIFEST)),
            images=lambda w: _registration_images(profile, run, w.subject),
        output:
            qc=str(run.registration_qc("{subject}")),
        params:
            profile=str(profile.path),
            # Only what changes a registration (not the chapter's or the cascade's knobs).
            settings=pseudolabels.registration_settings(profile).workflow_params(),
            wmh_source=pseudolabels.wmh_source(profile),
            # The subject's own image cells: editing another row re-registers nothing.
            row=lambda w: manifest_views.row_digest(_raw_manifest(), w.subject),
        threads: int(profile.steps.get("registration", {}).get("threads", 1))
        resources:
            **cluster("register"),
        log:
            str(run.logs / "register" / "{subject}.log"),
        shell:
            "leukoct register --profile {params.profile} --subject {wildcards.subject} > {log} 2>&1"

    def registered_qc(wildcards):
        import pandas as pd

        cascade = pd.read_csv(checkpoints.cascade.get().output.cascade)
        return [str(run.registration_qc(s)) for s in cascade.loc[cascade["register"], "subject_id"]]

    rule:
        """Gather the per-subject QC and flag registration errors."""
        name:
            f"{tag}registration_qc"
        localrule: True
        input:
            registered_qc,
        output:
            qc=str(run.qc),
        params:
            profile=str(profile.path),
        log:
            str(run.logs / "registration_qc.log"),
        shell:
            "leukoct registration-qc --profile {params.profile} {input} > {log} 2>&1"


registration_rules("", PROFILE, RUN)
