"""Cohort curation: the paper's exclusion cascade, as data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from leukoct.curation import (
    MISSING_FLAIR,
    MISSING_FLAIR_REASON,
    CriteriaError,
    MissingFlairError,
    apply_criteria,
    criteria_table,
    flow_counts,
    load_criteria,
    registration_candidates,
    split_development,
)


def _table(rows: list[dict]) -> pd.DataFrame:
    base = {"recurrent_stroke": False, "motion_artifact": False, "contrast_ct": False,
            "hemorrhage_or_tumor": False, "incomplete_ct": False, "infarct_volume_ml": 1.0,
            "ct_path": "ct.nii.gz"}
    return pd.DataFrame([{**base, **r} for r in rows])


def test_paper_order_and_cohort_specific_rules() -> None:
    criteria = load_criteria()
    assert criteria.groups["development"].order == (
        "recurrent_stroke", "large_infarct", "motion_artifact", "registration_error",
        "incomplete_ct", "contrast_ct", "hemorrhage_or_tumor")
    # External keeps recurrent strokes and large infarcts (Methods).
    assert "recurrent_stroke" not in criteria.groups["external"].order
    assert "large_infarct" not in criteria.groups["external"].order
    assert criteria.groups["clinical"].order == (
        "ct_not_available", "hemorrhage_or_tumor", "incomplete_ct", "motion_artifact")
    assert criteria.groups["us"].order == ()
    assert criteria.reason("clinical", "hemorrhage_or_tumor").startswith("Hemorrhagic")


def test_each_subject_is_excluded_once_under_its_first_reason() -> None:
    table = _table([
        {"subject_id": "A", "cohort": "train", "recurrent_stroke": True, "motion_artifact": True},
        {"subject_id": "B", "cohort": "train", "infarct_volume_ml": 12.0, "contrast_ct": True},
        {"subject_id": "C", "cohort": "external", "recurrent_stroke": True,
         "infarct_volume_ml": 40.0},
        {"subject_id": "D", "cohort": "external", "incomplete_ct": True, "contrast_ct": True},
        {"subject_id": "E", "cohort": "clinical", "ct_path": None, "motion_artifact": True},
        {"subject_id": "F", "cohort": "clinical", "motion_artifact": True,
         "hemorrhage_or_tumor": True},
        {"subject_id": "G", "cohort": "us", "motion_artifact": True},
        {"subject_id": "H", "cohort": "internal", "infarct_volume_ml": 5.0},
    ])
    curated = apply_criteria(table, load_criteria(), decided={"registration_error": []})
    got = dict(zip(curated["subject_id"], curated["exclusion"]))
    assert got == {"A": "recurrent_stroke", "B": "large_infarct", "C": "", "D": "incomplete_ct",
                   "E": "ct_not_available", "F": "hemorrhage_or_tumor", "G": "",
                   "H": ""}, "5.0 mL is not > 5 mL"
    assert list(curated["subject_id"]) == list("ABCDEFGH"), "nobody dropped, order kept"
    assert (curated.loc[curated["exclusion"] == "", "status"] == "included").all()


def test_registration_rule_is_pending_until_decided_and_keeps_the_order() -> None:
    table = _table([
        {"subject_id": "A", "cohort": "train"},
        {"subject_id": "B", "cohort": "train", "contrast_ct": True},
        {"subject_id": "C", "cohort": "train", "motion_artifact": True},
        {"subject_id": "D", "cohort": "clinical"},
    ])
    criteria = load_criteria()
    pending = apply_criteria(table, criteria)
    assert list(pending["status"]) == ["pending", "excluded", "excluded", "included"]
    assert pending.loc[0, "pending"] == "registration_error"
    # Registration is judged for everyone an earlier rule did not exclude,
    # including B, whom a later rule excludes: the first rule met wins.
    assert list(registration_candidates(pending, criteria)) == [True, True, False, False]
    final = apply_criteria(table, criteria, decided={"registration_error": ["A", "B", "C"]})
    assert list(final["exclusion"]) == ["registration_error", "registration_error",
                                        "motion_artifact", ""]
    flow = flow_counts(final, criteria).set_index(["group", "step"])["n"]
    assert flow[("development", "registration_error")] == 2
    with pytest.raises(ValueError, match="not a rule decided"):
        apply_criteria(table, criteria, decided={"motion_artifact": ["A"]})


def test_unknown_registry_fields_are_recorded_not_guessed() -> None:
    table = _table([{"subject_id": "A", "cohort": "train", "motion_artifact": None,
                     "infarct_volume_ml": np.nan}])
    curated = apply_criteria(table, load_criteria(), decided={"registration_error": []})
    assert curated.loc[0, "status"] == "included"
    assert curated.loc[0, "unknown"] == "large_infarct;motion_artifact"


def test_flow_counts_add_up_on_the_twin(ci_study: Path) -> None:
    from leukoct.manifest import load_manifest
    from leukoct.twin.calibration import read_truth

    table = load_manifest(ci_study / "manifest.csv")
    truth = read_truth(ci_study)
    criteria = load_criteria()
    registration = truth.index[truth["exclusion_reason"] == "registration_error"]
    curated = apply_criteria(table, criteria, decided={"registration_error": registration})
    # The cascade recovers exactly the reasons the twin planted.
    planted = truth.loc[curated["subject_id"], "exclusion_reason"].to_numpy()
    assert list(curated["exclusion"]) == list(planted)
    flow = flow_counts(curated, criteria)
    for group, rows in flow.groupby("group"):
        steps = rows.set_index("step")["n"]
        excluded = steps.drop(["identified", "analysed"]).sum()
        assert steps["identified"] == steps["analysed"] + excluded, group


def test_split_is_seeded_sized_and_respects_a_given_split() -> None:
    ids = [f"S{i:03d}" for i in range(482)]
    curated = pd.DataFrame({"subject_id": ids, "cohort": "train", "group": "development",
                            "status": "included"})
    split = split_development(curated, seed=3)
    assert (split == "internal").sum() == 63 and (split == "train").sum() == 419
    assert split.equals(split_development(curated, seed=3))
    shuffled = curated.sample(frac=1.0, random_state=1)
    assert split_development(shuffled, seed=3).sort_index().equals(split)
    assert not split.equals(split_development(curated, seed=4))
    given = curated.assign(cohort=["internal"] * 10 + ["train"] * 472)
    assert (split_development(given, seed=3) == "internal").sum() == 10


def test_criteria_file_errors_name_the_entry(tmp_path: Path) -> None:
    from importlib.resources import files

    raw = yaml.safe_load(files("leukoct").joinpath("data/exclusion_criteria.yaml").read_text())
    raw["groups"]["external"]["order"].append("no_such_rule")
    path = tmp_path / "criteria.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(CriteriaError, match=r"groups.external: unknown criterion 'no_such_rule'"):
        load_criteria(path)
    raw["groups"]["external"]["order"].pop()
    raw["groups"]["us"]["cohorts"] = ["external"]
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(CriteriaError, match="already in group"):
        load_criteria(path)


def test_criteria_table_lists_rules_in_order_with_their_source() -> None:
    table = criteria_table(load_criteria())
    dev = table.loc["Training and internal validation"]
    assert list(dev.index) == list(range(1, 8))
    assert dev.loc[2, "decided by"] == "manifest column infarct_volume_ml > 5"
    assert dev.loc[4, "decided by"] == "the registration step's quality control"
    assert table.loc[("US population", 0), "reason"] == "none"


def test_missing_criteria_file_names_the_profile_key(tmp_path: Path) -> None:
    with pytest.raises(CriteriaError, match="steps.curation.criteria"):
        load_criteria(tmp_path / "nope.yaml")


def _paired_table() -> pd.DataFrame:
    """B and D lack their FLAIR / WMH mask; C does too but motion excludes it
    first; E is a clinical subject, which is never registered."""
    images = {"flair_path": "flair.nii.gz", "wmh_mask_path": "wmh.nii.gz"}
    return _table([
        {"subject_id": "A", "cohort": "train", **images},
        {"subject_id": "B", "cohort": "train", **images, "flair_path": None},
        {"subject_id": "C", "cohort": "internal", **images, "wmh_mask_path": None,
         "motion_artifact": True},
        {"subject_id": "D", "cohort": "external", **images, "wmh_mask_path": None,
         "contrast_ct": True},
        {"subject_id": "E", "cohort": "clinical", "flair_path": None, "wmh_mask_path": None},
    ])


def test_missing_flair_is_excluded_just_before_registration() -> None:
    criteria = load_criteria()
    pending = apply_criteria(_paired_table(), criteria)
    # D also has a contrast CT, a later rule: the missing FLAIR comes first,
    # as the registration it prevents does.
    assert list(pending["exclusion"]) == ["", MISSING_FLAIR, "motion_artifact", MISSING_FLAIR, ""]
    assert list(pending["status"]) == ["pending", "excluded", "excluded", "excluded", "included"]
    assert pending.loc[1, "reason"] == MISSING_FLAIR_REASON
    assert pending.loc[1, "pending"] == "", "never pending: no QC can decide it"
    register = registration_candidates(pending, criteria, missing_flair="exclude")
    assert list(register) == [True, False, False, False, False]
    # Without a policy (the curation notebook, after the cascade checked) the
    # candidates are the same.
    assert list(registration_candidates(pending, criteria)) == list(register)
    final = apply_criteria(_paired_table(), criteria, decided={"registration_error": []})
    flow = flow_counts(final, criteria)
    dev = flow[flow["group"] == "development"].set_index("step")
    steps = list(dev.index)
    assert steps.index(MISSING_FLAIR) == steps.index("registration_error") - 1
    assert dev.at[MISSING_FLAIR, "n"] == 1 and dev.at[MISSING_FLAIR, "text"] == MISSING_FLAIR_REASON
    for group, rows in flow.groupby("group"):
        n = rows.set_index("step")["n"]
        assert n["identified"] == n["analysed"] + n.drop(["identified", "analysed"]).sum(), group
    # The box appears only where a subject was excluded for it (the paper's
    # flowchart has none).
    assert MISSING_FLAIR not in set(flow.loc[flow["group"] == "clinical", "step"])
    plain = flow_counts(apply_criteria(_paired_table().iloc[[0, 4]], criteria), criteria)
    assert MISSING_FLAIR not in set(plain["step"])


def test_without_wmh_masks_only_the_flair_is_needed() -> None:
    """With leukoct's own FLAIR segmentation (wmh_source: leukoct) a subject
    lacking only its WMH mask is registered; one lacking its FLAIR is not."""
    pending = apply_criteria(_paired_table(), load_criteria(), registration_inputs=("flair_path",))
    assert list(pending["exclusion"]) == ["", MISSING_FLAIR, "motion_artifact", "contrast_ct", ""]


def test_missing_flair_policy_error_names_manifest_subjects_and_knob() -> None:
    criteria = load_criteria()
    pending = apply_criteria(_paired_table(), criteria)
    with pytest.raises(MissingFlairError) as info:
        registration_candidates(pending, criteria, missing_flair="error",
                                manifest="data/manifest.csv")
    message = str(info.value)
    assert message.startswith("data/manifest.csv: 2 subject(s)")
    assert "B (train)" in message and "D (external)" in message
    assert "C (internal)" not in message, "excluded for motion before registration"
    assert "steps.registration.missing_flair: exclude" in message
    # Complete pairs pass the error policy.
    complete = apply_criteria(_paired_table().iloc[[0, 2, 4]], criteria)
    assert list(registration_candidates(complete, criteria, missing_flair="error")) == \
        [True, False, False]
    with pytest.raises(ValueError, match="must be one of error, exclude"):
        registration_candidates(pending, criteria, missing_flair="skip")
