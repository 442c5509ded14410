# The data: the digital twin builds the study (a real manifest brings its own).

if PROFILE.data.source == "twin":

    rule twin_data:
        """Build the synthetic digital-twin study (images, truth, manifest)."""
        input:
            # The data depend on the generator's code: a change regenerates them.
            # calibration.py only reads a study (for the twin's chapter).
            code=sorted(str(p) for p in (ROOT / "src" / "leukoct" / "twin").glob("*.py")
                        if p.name != "calibration.py"),
        output:
            manifest=str(MANIFEST),
            truth=str(RUN.truth),
            views=[view(name) for name in VIEW_NAMES],
        params:
            settings=json.dumps(PROFILE.twin.model_dump(), sort_keys=True),
            seed=PROFILE.seed,
            profile=str(PROFILE.path),
        threads: PROFILE.twin.workers
        resources:
            **cluster("twin_data"),
        log:
            log("twin"),
        shell:
            "leukoct twin --profile {params.profile} --out $(dirname {output.manifest})"
            " --workers {threads} > {log} 2>&1"
            " && leukoct manifest views --profile {params.profile} >> {log} 2>&1"
