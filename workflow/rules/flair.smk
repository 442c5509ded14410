# leukoct's own FLAIR WMH segmentation (seed 002): the split of the subjects
# with a reference FLAIR mask, one training job per ensemble member (they run
# in parallel), one prediction job per paired cohort.  With
# steps.flair_segmentation.wmh_source: leukoct, registration carries these
# masks onto CT instead of the manifest's (registration.smk).


rule wmh_split:
    """Subjects with a reference FLAIR mask: train / validation / test (6:2:2)."""
    input:
        **manifest_input("flair"),
    output:
        split=str(RUN.wmh_split),
    params:
        profile=str(PROFILE.path),
        settings=json.dumps(WMH_SPLIT, sort_keys=True),
    log:
        log("wmh_split"),
    shell:
        "leukoct wmh-split --profile {params.profile} > {log} 2>&1"


rule wmh_train:
    """Train one model of the FLAIR WMH ensemble (or the architecture comparison's)."""
    input:
        split=str(RUN.wmh_split),
        **manifest_input("flair"),
    output:
        model=str(RUN.wmh_model("{model}")),
    params:
        profile=str(PROFILE.path),
        # What changes a model (not where its masks go, nor how they are read).
        settings=WMH_SETTINGS.model_dump_json(exclude={"enabled", "wmh_source", "threshold",
                                                       "divergence_cut"}),
    wildcard_constraints:
        model="|".join(WMH_MODELS),
    threads: WMH_SETTINGS.threads
    resources:
        **cluster("wmh_train"),
    log:
        log("wmh_train/{model}"),
    shell:
        "leukoct wmh-train --profile {params.profile} --model {wildcards.model} > {log} 2>&1"


rule wmh_predict:
    """Segment every FLAIR of one cohort: masks, mean probabilities, uncertainty, overlaps."""
    input:
        models=[str(RUN.wmh_model(m)) for m in WMH_MODELS],
        split=str(RUN.wmh_split),
        **manifest_input("flair"),
    output:
        predictions=str(RUN.wmh_predictions("{cohort}")),
        lesions=str(RUN.wmh_lesions("{cohort}")),
    params:
        profile=str(PROFILE.path),
        # wmh_source: with leukoct's masks feeding registration the training split is segmented too.
        settings=json.dumps({k: getattr(WMH_SETTINGS, k) for k in
                             ("threshold", "divergence_cut", "wmh_source", "cpu_precision")}),
    wildcard_constraints:
        cohort="|".join(WMH_COHORTS or ["none"]),
    threads: WMH_SETTINGS.threads
    resources:
        **cluster("wmh_predict"),
    log:
        log("wmh_predict/{cohort}"),
    shell:
        "leukoct wmh-predict --profile {params.profile} --cohort {wildcards.cohort} > {log} 2>&1"
