# nnU-Net on CT: export, plan, train; predict every cohort; volumes and overlaps.


rule nnunet_export:
    """Development CTs (HU clipped) and pseudo-labels in nnU-Net's raw format; integrity check."""
    input:
        **manifest_input("scans"),
        curated=str(RUN.curated),
        # The pseudo-labels of every registered subject exist once the QC is gathered.
        qc=str(RUN.qc),
    output:
        dataset=str(NNUNET.dataset_raw / "dataset.json"),
        cases=str(NNUNET.cases),
    params:
        profile=str(PROFILE.path),
        normalization=TRAINING.normalization,
    log:
        log("nnunet_export"),
    shell:
        "leukoct nnunet-export --profile {params.profile} > {log} 2>&1"


rule nnunet_plan:
    """nnU-Net fingerprint, 2d plan and preprocessing; the train/internal split."""
    input:
        dataset=str(NNUNET.dataset_raw / "dataset.json"),
        cases=str(NNUNET.cases),
    output:
        plans=str(NNUNET.plans(TRAINING)),
        splits=str(NNUNET.splits),
    params:
        profile=str(PROFILE.path),
        network=json.dumps({k: getattr(TRAINING, k) for k in
                            ("configuration", "inplane_spacing_mm", "batch_size", "base_features",
                             "max_features")}),
    threads: PROFILE.threads
    resources:
        **cluster("nnunet_plan"),
    log:
        log("nnunet_plan"),
    shell:
        "leukoct nnunet-plan --profile {params.profile} > {log} 2>&1"


rule nnunet_train:
    """Train nnU-Net on the pseudo-labels (resumes an interrupted run)."""
    input:
        plans=str(NNUNET.plans(TRAINING)),
        splits=str(NNUNET.splits),
    output:
        checkpoint=WORKFLOW_INPUTS["checkpoint"],
        validation=WORKFLOW_INPUTS["validation"],
    params:
        profile=str(PROFILE.path),
        schedule=json.dumps(TRAINING.model_dump(exclude={"threads"}), sort_keys=True),
    threads: PROFILE.threads
    resources:
        **cluster("nnunet_train"),
    log:
        log("nnunet_train"),
    shell:
        "leukoct nnunet-train --profile {params.profile} > {log} 2>&1"


rule nnunet_predict:
    """Predict LA on every included CT of one group, with one predictor."""
    input:
        checkpoint=WORKFLOW_INPUTS["checkpoint"],
        curated=str(RUN.curated),
        **manifest_input("scans"),
    output:
        predictions=str(RUN.predictions("{group}")),
    params:
        profile=str(PROFILE.path),
        settings=json.dumps(PROFILE.steps.get("inference", {}), sort_keys=True),
    wildcard_constraints:
        group="|".join(predictions.GROUPS),
    threads: PROFILE.threads
    resources:
        **cluster("nnunet_predict"),
    log:
        log("predict/{group}"),
    shell:
        "leukoct nnunet-predict --profile {params.profile} --group {wildcards.group} > {log} 2>&1"


rule volumes:
    """Predicted, registered, FLAIR and (twin) true LA volumes: one table."""
    input:
        predictions=[str(RUN.predictions(g)) for g in predictions.GROUPS],
        curated=str(RUN.curated),
        qc=str(RUN.qc),
        # The CT vendor of each subject.
        **manifest_input("scans"),
    output:
        volumes=str(RUN.volumes),
    params:
        profile=str(PROFILE.path),
    log:
        log("volumes"),
    shell:
        "leukoct volumes --profile {params.profile} {input.predictions} > {log} 2>&1"


rule overlaps:
    """Per-subject Dice of prediction vs pseudo-label, manual mask and (twin) truth."""
    input:
        volumes=str(RUN.volumes),
        **manifest_input("scans"),
    output:
        overlaps=str(RUN.overlaps),
    params:
        profile=str(PROFILE.path),
    log:
        log("overlaps"),
    shell:
        "leukoct overlaps --profile {params.profile} > {log} 2>&1"
