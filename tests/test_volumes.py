"""Tests of leukoct.volumes: the tidy volumes table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from leukoct.volumes import COLUMNS, read_volumes, volume_table


def _inputs():
    curated = pd.DataFrame({
        "subject_id": ["D1", "D2", "D3", "E1", "C1", "C2"],
        "cohort": ["train", "train", "train", "external", "clinical", "clinical"],
        "group": ["development"] * 3 + ["external", "clinical", "clinical"],
        "status": ["included", "included", "excluded", "included", "included", "included"],
        "split": ["train", "internal", None, None, None, None]})
    predictions = pd.DataFrame({"subject_id": ["C2", "C1", "E1", "D2", "D1"],
                                "mask_path": ["m"] * 5, "predicted_ml": [5.0, 4.0, 3.0, 2.0, 1.0],
                                "seconds": [1.0] * 5})
    manifest = pd.DataFrame({"subject_id": ["D1", "D2", "D3", "E1", "C1", "C2"],
                             "ct_vendor": ["GE", "SIEMENS", "GE", None, "CANON", "GE"]})
    qc = pd.DataFrame({"subject_id": ["D1", "D2", "E1"], "pseudolabel_ml": [10.0, 20.0, 30.0],
                       "wmh_flair_ml": [4.0, 8.0, 12.0], "registration_error": [False, False, True]})
    truth = pd.DataFrame({"subject_id": ["D1", "D2", "D3", "E1", "C1", "C2"],
                          "la_volume_ct_ml": [1.1, 2.2, 3.3, 4.4, 5.5, 6.6]})
    return predictions, curated, manifest, qc, truth


def test_one_row_per_included_subject_with_its_volumes():
    table = volume_table(*_inputs())
    assert tuple(table.columns) == COLUMNS
    # Curation's group order, then subject; the excluded D3 is absent.
    assert table["subject_id"].tolist() == ["D1", "D2", "E1", "C1", "C2"]
    row = table.set_index("subject_id")
    assert row.loc["D2", "predicted_ml"] == 2.0 and row.loc["D2", "registered_ml"] == 20.0
    assert row.loc["D2", "flair_wmh_ml"] == 8.0 and row.loc["D2", "true_ml"] == 2.2
    assert row.loc["D2", "split"] == "internal" and row.loc["D2", "ct_vendor"] == "SIEMENS"
    # No pseudo-label for a flagged registration nor for CT-only subjects.
    assert np.isnan(row.loc["E1", "registered_ml"]) and np.isnan(row.loc["C1", "registered_ml"])


def test_without_qc_or_truth_the_columns_stay_empty():
    predictions, curated, manifest, _, _ = _inputs()
    table = volume_table(predictions, curated, manifest)
    assert table[["registered_ml", "flair_wmh_ml", "true_ml"]].isna().all().all()


def test_missing_prediction_is_an_error_naming_the_subject():
    predictions, curated, manifest, qc, truth = _inputs()
    with pytest.raises(ValueError, match=r"1 included subject\(s\) have no prediction: \['C2'\]"):
        volume_table(predictions[predictions["subject_id"] != "C2"], curated, manifest, qc, truth)


def test_prediction_of_an_excluded_subject_is_an_error():
    predictions, curated, manifest, qc, truth = _inputs()
    extra = pd.concat([predictions, pd.DataFrame([{"subject_id": "D3", "mask_path": "m",
                                                    "predicted_ml": 1.0, "seconds": 1.0}])])
    with pytest.raises(ValueError, match=r"did not include: \['D3'\]"):
        volume_table(extra, curated, manifest, qc, truth)


def test_read_volumes_round_trip(tmp_path):
    table = pd.DataFrame([["S1", "external", "external", None, "GE", 1.0, 2.0, 3.0, None,
                           "/x/S1.nii.gz", 0.1]], columns=list(COLUMNS))
    table.to_csv(tmp_path / "volumes.csv", index=False)
    back = read_volumes(tmp_path / "volumes.csv")
    assert back.at[0, "split"] is None and back.at[0, "predicted_mask"] == "/x/S1.nii.gz"
    assert math.isnan(back.at[0, "true_ml"])
    pd.concat([table, table]).to_csv(tmp_path / "twice.csv", index=False)
    with pytest.raises(ValueError, match="S1"):
        read_volumes(tmp_path / "twice.csv")
