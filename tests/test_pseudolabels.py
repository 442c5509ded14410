"""The registration step's job layer: settings from profiles, QC gathering."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from leukoct.config import load_profile
from leukoct.pseudolabels import collect_qc, registration_decisions, registration_settings

ROOT = Path(__file__).resolve().parents[1]


def test_settings_come_from_the_profile() -> None:
    profile = load_profile("demo", root=ROOT)
    settings = registration_settings(profile)
    assert settings.type_of_transform == profile.steps["registration"]["type_of_transform"]
    assert settings.threshold == 0.0, "the paper's rule: probability > 0"
    assert settings.seed == profile.seed and settings.threads == 1


def _qc_row(subject: str, cohort: str, brain_dice: float, mi: float = 0.8,
            displacement: float = 1.0) -> dict:
    return {"subject_id": subject, "cohort": cohort, "brain_dice": brain_dice,
            "mutual_information": mi, "mean_displacement_mm": displacement}


def test_collect_qc_flags_outliers_within_each_cohort(tmp_path: Path) -> None:
    rows = [_qc_row(f"D{i}", "train", 0.98 + 0.001 * i) for i in range(8)]
    rows += [_qc_row("D-bad", "train", 0.70, mi=0.4, displacement=5.0)]
    rows += [_qc_row(f"E{i}", "external", 0.97 + 0.002 * i, mi=0.6) for i in range(5)]
    paths = []
    for row in rows:
        path = tmp_path / f"{row['subject_id']}.json"
        path.write_text(json.dumps(row))
        paths.append(path)
    qc = collect_qc(paths)
    assert list(qc.loc[qc["registration_error"], "subject_id"]) == ["D-bad"]
    # External MI is lower across the board: compared with its own batch, no flag.
    assert not qc.loc[qc["cohort"] == "external", "registration_error"].any()


def test_decisions_refuse_a_subject_without_qc() -> None:
    cascade = pd.DataFrame({"subject_id": ["A", "B", "C"], "register": [True, True, False]})
    qc = pd.DataFrame({"subject_id": ["A", "B"], "registration_error": [False, True]})
    assert registration_decisions(qc, cascade) == {"registration_error": ["B"]}
    with pytest.raises(ValueError, match="first: B"):
        registration_decisions(qc.iloc[:1], cascade)
