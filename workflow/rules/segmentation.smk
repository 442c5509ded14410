# nnU-Net on CT: export, plan, train; predict every cohort; volumes and overlaps.
# One function writes these rules for a profile: the study's, and each design
# arm's that re-runs them (arms.smk), so no rule is written twice.


def segmentation_rules(tag, profile, run, steps=("training", "inference", "evaluation")):
    """The nnU-Net rules of one profile: the study's (``tag`` empty) or a design arm's
    (``tag`` its name and _), for the producing ``steps`` it runs itself."""
    nnunet = predictions.folders(profile)
    training = predictions.training_settings(profile)
    # One model (the paper's split) or one per cross-validation fold (seed 003's design).
    fold_dirs = [nnunet.fold_dir(training, f) for f in training.folds]
    final_weights = [str(d / "checkpoint_final.pth") for d in fold_dirs]

    if "training" in steps:

        rule:
            """Development CTs (HU clipped) and pseudo-labels in nnU-Net's raw format; integrity check."""
            name:
                f"{tag}nnunet_export"
            input:
                **manifest_input("scans"),
                curated=str(run.curated),
                # The pseudo-labels of every registered subject exist once the QC is gathered.
                qc=str(run.qc),
            output:
                dataset=str(nnunet.dataset_raw / "dataset.json"),
                cases=str(nnunet.cases),
            params:
                profile=str(profile.path),
                normalization=training.normalization,
            log:
                str(run.logs / "nnunet_export.log"),
            shell:
                "leukoct nnunet-export --profile {params.profile} > {log} 2>&1"

        rule:
            """nnU-Net fingerprint, 2d plan and preprocessing; the train/internal split."""
            name:
                f"{tag}nnunet_plan"
            input:
                dataset=str(nnunet.dataset_raw / "dataset.json"),
                cases=str(nnunet.cases),
            output:
                plans=str(nnunet.plans(training)),
                splits=str(nnunet.splits),
            params:
                profile=str(profile.path),
                network=json.dumps({k: getattr(training, k) for k in
                                    ("configuration", "inplane_spacing_mm", "batch_size",
                                     "base_features", "max_features", "train_share")}
                                   # A knob added later joins while set (no rerun of old studies).
                                   | job_knobs("training", {"cv_folds": training.cv_folds})),
            threads: profile.threads
            resources:
                **cluster("nnunet_plan"),
            log:
                str(run.logs / "nnunet_plan.log"),
            shell:
                "leukoct nnunet-plan --profile {params.profile} > {log} 2>&1"

        rule:
            """Train nnU-Net on the pseudo-labels, each fold in turn (resumes an interrupted run)."""
            name:
                f"{tag}nnunet_train"
            input:
                plans=str(nnunet.plans(training)),
                splits=str(nnunet.splits),
            output:
                checkpoints=final_weights,
                validation=[str(d / "validation" / "summary.json") for d in fold_dirs],
            params:
                profile=str(profile.path),
                schedule=training.workflow_params(),
            threads: profile.threads
            resources:
                **cluster("nnunet_train"),
            log:
                str(run.logs / "nnunet_train.log"),
            shell:
                "leukoct nnunet-train --profile {params.profile} > {log} 2>&1"

    if "inference" in steps:

        rule:
            """Predict LA on every included CT of one group (each fold's model loaded once)."""
            name:
                f"{tag}nnunet_predict"
            input:
                checkpoints=final_weights,
                curated=str(run.curated),
                **manifest_input("scans"),
            output:
                predictions=str(run.predictions("{group}")),
            params:
                profile=str(profile.path),
                settings=json.dumps(job_knobs("inference", profile.steps.get("inference", {})),
                                    sort_keys=True),
            wildcard_constraints:
                group="|".join(predictions.GROUPS),
            threads: profile.threads
            resources:
                **cluster("nnunet_predict"),
            log:
                str(run.logs / "predict" / "{group}.log"),
            shell:
                "leukoct nnunet-predict --profile {params.profile} --group {wildcards.group}"
                " > {log} 2>&1"

        rule:
            """Predicted, registered, FLAIR and (twin) true LA volumes: one table."""
            name:
                f"{tag}volumes"
            localrule: True
            input:
                predictions=[str(run.predictions(g)) for g in predictions.GROUPS],
                curated=str(run.curated),
                qc=str(run.qc),
                # The CT vendor of each subject.
                **manifest_input("scans"),
            output:
                volumes=str(run.volumes),
            params:
                profile=str(profile.path),
            log:
                str(run.logs / "volumes.log"),
            shell:
                "leukoct volumes --profile {params.profile} {input.predictions} > {log} 2>&1"

    rule:
        """Per-subject Dice of prediction vs pseudo-label, manual mask and (twin) truth."""
        name:
            f"{tag}overlaps"
        localrule: True
        input:
            volumes=str(run.volumes),
            **manifest_input("scans"),
        output:
            overlaps=str(run.overlaps),
            # Seed 003's direction is also scored on the FLAIR grid, as the seed does.
            **({"overlaps_flair": str(run.overlaps_flair)} if predictions.on_flair_grid(profile)
               else {}),
        params:
            profile=str(profile.path),
        log:
            str(run.logs / "overlaps.log"),
        shell:
            "leukoct overlaps --profile {params.profile} > {log} 2>&1"


segmentation_rules("", PROFILE, RUN)
