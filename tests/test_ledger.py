"""The claims ledger (leukoct.ledger): converters to values tables, their files,
and the join of the paper's claims with the values a run reproduced.

Independent references: counts, means, SDs and quartiles computed here by
hand (numpy, plain arithmetic) on frames small enough to check on paper, and
the result objects of leukoct.clinical / leukoct.evaluation read cell by cell.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from leukoct import baseline, clinical
from leukoct import evaluation as ev
from leukoct import ledger as L
from leukoct.baseline import analysis_frame
from leukoct.config import OutputSettings, load_profile
from leukoct.curation import (
    apply_criteria,
    flow_counts,
    load_criteria,
    split_development,
)
from leukoct.evaluation import VALUE_COLUMNS
from leukoct.schema import VENDORS

ROOT = Path(__file__).resolve().parents[1]

#: Claims no run can reproduce (UNREPRODUCIBLE): MRI slice thickness is not in the manifest.
NOT_REPRODUCIBLE = {"C024", "C030"}
#: Claims that are no result (a setting, a formula).
NOT_RESULTS = {"C039", "C040"}


# --------------------------------------------------------------------------
# hand-made inputs
# --------------------------------------------------------------------------

def _v(artefact: str, comparison: str, statistic: str, group: str, estimate: float,
       ci_low: float = math.nan, ci_high: float = math.nan, n: float = math.nan) -> tuple:
    return (artefact, comparison, statistic, group, estimate, ci_low, ci_high, n)


def _values(rows: list[tuple]) -> pd.DataFrame:
    """Values as read_values returns them, from :func:`_v` rows."""
    return pd.DataFrame(rows, columns=["artefact", *VALUE_COLUMNS])


def _claim(claim_id: str, artefact: str, comparison: str, statistic: str, group: str,
           kind: str, published: str, estimate: float = math.nan) -> dict:
    return {"claim_id": claim_id, "location": "here", "quantity": "a number",
            "published": published, "estimate": estimate, "artefact": artefact,
            "comparison": comparison, "statistic": statistic, "group": group, "kind": kind,
            "consistency": ""}


def _curation_table(rows: list[dict]) -> pd.DataFrame:
    base = {"recurrent_stroke": False, "motion_artifact": False, "contrast_ct": False,
            "hemorrhage_or_tumor": False, "incomplete_ct": False, "infarct_volume_ml": 1.0,
            "ct_path": "ct.nii.gz"}
    return pd.DataFrame([{**base, **r} for r in rows])


def _cohort(n: int = 300, seed: int = 3) -> pd.DataFrame:
    """Clinical cohort with the model columns; volume rises with age and prior stroke."""
    rng = np.random.default_rng(seed)
    f = pd.DataFrame({"subject_id": [f"K{i:04d}" for i in range(n)],
                      "age": np.round(rng.normal(69, 13, n).clip(25, 98)),
                      "sex": np.where(rng.random(n) < 0.4, "F", "M"),
                      "bmi": rng.normal(24, 3, n).round(1), "nihss": rng.poisson(4, n)})
    for column, p in (("hypertension", .65), ("diabetes", .3), ("hyperlipidemia", .4),
                      ("smoking", .25), ("atrial_fibrillation", .2),
                      ("coronary_artery_disease", .1), ("prior_stroke", .2),
                      ("revascularization", .15)):
        f[column] = rng.random(n) < p
    f["volume_ml"] = np.exp(-0.4 + 0.04 * f["age"] + 0.4 * f["prior_stroke"]
                            + 0.8 * rng.standard_normal(n))
    eta = 0.5 * np.log(f["volume_ml"]) + 0.15 * f["nihss"]
    f["mrs_3m"] = np.digitize(eta + rng.logistic(size=n), [-0.5, 0.8, 1.5, 2.2, 3.1, 4.0])
    return f


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return _cohort()


@pytest.fixture(scope="module")
def claims() -> pd.DataFrame:
    return L.read_claims()


# --------------------------------------------------------------------------
# the claims
# --------------------------------------------------------------------------

def test_read_claims_types(claims: pd.DataFrame) -> None:
    assert list(claims.columns) == list(L.CLAIM_COLUMNS)
    assert 90 <= len(claims) <= 110 and claims["claim_id"].is_unique
    for column in ("estimate", "ci_low", "ci_high"):
        assert claims[column].dtype == float
    row = claims.set_index("claim_id")
    assert row.loc["C021", "estimate"] == 1180.0          # printed "1,180"
    assert math.isnan(row.loc["C040", "estimate"])        # the formula
    assert row.loc["C049", "ci_low"] == 0.497 and row.loc["C049", "ci_high"] == 0.564
    text = [c for c in L.CLAIM_COLUMNS if c not in ("estimate", "ci_low", "ci_high")]
    assert all(isinstance(v, str) for c in text for v in claims[c])
    assert row.loc["C001", "consistency"] == "" and row.loc["C040", "comparison"] == ""


def test_read_claims_names_bad_numbers_and_columns(tmp_path: Path) -> None:
    header = ",".join(L.CLAIM_COLUMNS)
    good = "C001,Abstract,x,q,w,482,482,,,figure1,02,flow,analysed,development,count,"
    path = tmp_path / "claims.csv"
    path.write_text(f"# comment\n{header}\n{good}\n{good.replace(',482,482,', ',4,four,')}\n",
                    encoding="utf-8")
    with pytest.raises(ValueError, match=r"estimate is not a number.*C001"):
        L.read_claims(path)
    path.write_text(f"{header.replace(',kind', '')}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"\['kind'\] not found"):
        L.read_claims(path)


def test_inconsistencies_are_the_nonempty_consistency_rows(claims: pd.DataFrame) -> None:
    found = L.inconsistencies(claims)
    assert list(found.columns) == ["claim_id", "location", "consistency"]
    expected = claims.loc[claims["consistency"].str.strip() != "", "claim_id"].tolist()
    assert found["claim_id"].tolist() == expected and len(expected) >= 8
    assert found.set_index("claim_id").loc["C094", "consistency"].startswith("Adjusted Q5 OR")


# --------------------------------------------------------------------------
# converters
# --------------------------------------------------------------------------

def test_flow_values_by_hand() -> None:
    table = _curation_table([
        {"subject_id": "A", "cohort": "train"},
        {"subject_id": "B", "cohort": "train", "recurrent_stroke": True},
        {"subject_id": "C", "cohort": "internal"},
        {"subject_id": "D", "cohort": "external"},
        {"subject_id": "E", "cohort": "external", "motion_artifact": True},
        {"subject_id": "F", "cohort": "clinical"},
        {"subject_id": "G", "cohort": "clinical", "ct_path": None},
    ])
    curated = apply_criteria(table, load_criteria(), decided={"registration_error": []})
    split = split_development(curated)
    values = L.flow_values(flow_counts(curated, load_criteria()), split)
    assert list(values.columns) == list(VALUE_COLUMNS)
    got = values.set_index(["statistic", "group"])["estimate"]
    assert got[("identified", "development")] == 3 and got[("analysed", "development")] == 2
    assert got[("excluded:recurrent_stroke", "development")] == 1
    assert got[("identified", "external")] == 2 and got[("analysed", "external")] == 1
    assert got[("excluded:motion_artifact", "external")] == 1
    assert got[("identified", "clinical")] == 2 and got[("analysed", "clinical")] == 1
    assert got[("excluded:ct_not_available", "clinical")] == 1
    assert got[("identified", "us")] == 0
    # The manifest's own split (C is internal) is kept: 1 train, 1 internal.
    assert got[("split", "train")] == 1 and got[("split", "internal")] == 1
    assert (values["comparison"] == "flow").all()
    assert (values["n"] == values["estimate"]).all()


def _baseline_manifest() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Four development subjects (one more excluded), two external."""
    rows = [
        # subject, cohort, site, age, sex, vendor, thickness, field, prior stroke, interval
        ("D1", "train", "H1", 50, "F", "SIEMENS", 5.0, 3.0, True, 1.0),
        ("D2", "train", "H1", 60, "M", "SIEMENS", 5.0, 3.0, False, 2.0),
        ("D3", "train", "H2", 70, "F", "SIEMENS", 2.5, 1.5, False, 3.0),
        ("D4", "internal", "H2", 80, "F", None, 6.0, 3.0, True, 10.0),
        ("X1", "train", "H3", 99, "M", "GE", 5.0, 3.0, True, 50.0),  # excluded
        ("E1", "external", "H4", 40, "M", "GE", 1.0, 3.0, False, 4.0),
        ("E2", "external", "H5", 45, "F", "GE", 1.0, 3.0, False, 6.0),
    ]
    table = pd.DataFrame(rows, columns=["subject_id", "cohort", "site", "age", "sex",
                                        "ct_vendor", "ct_slice_thickness_mm",
                                        "mri_field_strength_t", "prior_stroke",
                                        "ct_mri_interval_h"])
    table["mri_vendor"] = "PHILIPS"
    table["ct_kvp"] = 120.0
    group = np.where(table["cohort"] == "external", "external", "development")
    curated = pd.DataFrame({"subject_id": table["subject_id"], "group": group,
                            "status": np.where(table["subject_id"] == "X1", "excluded",
                                               "included")})
    extra = pd.DataFrame({"wmh_flair_ml": [4.0, 8.0, 2.0, 6.0, 100.0, 1.0, 3.0]},
                         index=table["subject_id"])
    return table, curated, extra


def test_baseline_values_by_hand() -> None:
    values = L.baseline_values(analysis_frame(*_baseline_manifest()))
    assert list(values.columns) == list(VALUE_COLUMNS)
    got = values.set_index(["comparison", "statistic", "group"])
    assert list(dict.fromkeys(values["group"])) == ["development", "external"]
    dev = "development"
    assert got.loc[("subjects", "n", dev), "estimate"] == 4            # X1 excluded
    assert got.loc[("sites", "n", dev), "estimate"] == 2
    assert got.loc[("age", "mean", dev), "estimate"] == pytest.approx(65.0)
    sd = math.sqrt(((50 - 65) ** 2 + (60 - 65) ** 2 + (70 - 65) ** 2 + (80 - 65) ** 2) / 3)
    assert got.loc[("age", "sd", dev), "estimate"] == pytest.approx(sd)
    assert math.isnan(got.loc[("age", "mean", dev), "ci_low"])
    assert got.loc[("age", "min", dev), "estimate"] == 50
    assert got.loc[("age", "max", dev), "estimate"] == 80
    assert got.loc[("sex:F", "pct", dev), "estimate"] == pytest.approx(75.0)   # 3 of 4
    assert got.loc[("sex:F", "n", dev), "estimate"] == 3
    assert got.loc[("sex:M", "pct", "external"), "estimate"] == pytest.approx(50.0)
    # intervals 1, 2, 3, 10: median 2.5, quartiles 1.75 and 4.75 (linear interpolation)
    median = got.loc[("ct_mri_interval_h", "median", dev)]
    assert (median["estimate"], median["ci_low"], median["ci_high"]) == (2.5, 1.75, 4.75)
    assert got.loc[("wmh_flair_ml", "median", dev), "estimate"] == pytest.approx(5.0)
    # Levels keyed as claims.csv: vendor codes, classes without unit, numbers.
    assert got.loc[("ct_vendor:SIEMENS", "n", dev), "estimate"] == 3
    assert got.loc[("ct_vendor:SIEMENS", "pct", dev), "estimate"] == pytest.approx(75.0)
    assert got.loc[("ct_vendor:unknown", "n", dev), "estimate"] == 1   # missing: in the denominator
    assert got.loc[("ct_vendor:SIEMENS", "n", "external"), "estimate"] == 0
    assert got.loc[("ct_vendor:GE", "pct", "external"), "estimate"] == 100.0
    assert got.loc[("slice_class:5", "n", dev), "estimate"] == 2
    assert got.loc[("slice_class:<5", "n", dev), "estimate"] == 1
    assert got.loc[("slice_class:>5", "n", dev), "estimate"] == 1
    assert got.loc[("slice_class:<5", "n", "external"), "estimate"] == 2
    assert got.loc[("ct_slice_thickness_mm:2.5", "n", dev), "estimate"] == 1
    assert got.loc[("ct_kvp:120", "n", dev), "estimate"] == 4
    assert got.loc[("mri_field_strength_t:3.0", "n", dev), "estimate"] == 3
    assert got.loc[("mri_field_strength_t:1.5", "pct", dev), "estimate"] == 25.0
    assert got.loc[("mri_vendor:PHILIPS", "n", "external"), "estimate"] == 2
    assert got.loc[("prior_stroke:True", "n", dev), "estimate"] == 2
    assert got.loc[("prior_stroke:True", "pct", dev), "estimate"] == 50.0
    assert not values["comparison"].str.startswith("mri_slice_thickness_mm").any()
    only = L.baseline_values(analysis_frame(*_baseline_manifest()), groups=["external"])
    assert set(only["group"]) == {"external"}


def test_volume_values_median_and_iqr() -> None:
    volumes = pd.DataFrame({"group": ["clinical"] * 5 + ["us"],
                            "predicted_ml": [1.0, 2.0, 4.0, 8.0, np.nan, 3.0]})
    values = L.volume_values(volumes).set_index(["comparison", "statistic", "group"])
    row = values.loc[("predicted_ml", "median", "clinical")]
    # 1, 2, 4, 8: median 3, quartiles 1.75 and 5
    assert (row["estimate"], row["ci_low"], row["ci_high"], row["n"]) == (3.0, 1.75, 5.0, 4)
    assert values.loc[("predicted_ml", "median", "us"), "estimate"] == 3.0


def test_clinical_converters_read_the_results(cohort: pd.DataFrame) -> None:
    t3 = clinical.table3(cohort, "volume_ml")
    values = L.table3_values(t3).set_index(["statistic", "group"])
    assert set(values.index.get_level_values("group")) == {"Q2", "Q3", "Q4", "Q5"}
    for model in ("crude", "adjusted"):
        for q in ("Q2", "Q5"):
            row = values.loc[(f"or_{model}", q)]
            cell = t3.table.loc[q, model]
            assert (row["estimate"], row["ci_low"], row["ci_high"]) == (
                cell["odds_ratio"], cell["ci_low"], cell["ci_high"])
            assert values.loc[(f"p_{model}", q), "estimate"] == cell["p_value"]
            assert row["n"] == t3.counts.loc[q].sum() == 60
    s4 = clinical.table_s4(cohort, "volume_ml")
    values = L.table_s4_values(s4).set_index(["statistic", "group"])
    assert values.loc[("p", "hypertension [age < 70]"), "estimate"] == \
        s4.table.loc["hypertension", ("age < 70", "p")]
    assert values.loc[("p", "hypertension [age ≥ 70]"), "n"] == s4.n["age ≥ 70"]
    assert values.loc[("coef", "age"), "estimate"] == s4.table.loc["age", ("All", "coef")]
    assert values.loc[("p", "prior_stroke"), "estimate"] < 0.05       # planted
    fig = clinical.figure_s4_data(cohort, "volume_ml")
    values = L.figure_s4_values(fig).set_index(["statistic", "group"])
    assert values.loc[("coef", "age"), "estimate"] == fig.slope["coef"] > 0
    assert values.loc[("coef", "age"), "ci_high"] == fig.slope["ci_high"]
    assert values.loc[("p", "age"), "n"] == len(cohort)


def test_derived_vendor_ranges_and_subgroup_difference() -> None:
    table2 = _values([_v("table2", "vs_registered", "ccc", "All", 0.92, 0.9, 0.94, 390),
                      _v("table2", "vs_registered", "ccc", "SIEMENS", 0.93, 0.91, 0.95, 185),
                      _v("table2", "vs_registered", "ccc", "GE", 0.95, 0.93, 0.97, 91),
                      _v("table2", "vs_registered", "ccc", "PHILIPS", 0.886, 0.85, 0.92, 81),
                      _v("table2", "vs_registered", "ccc", "CANON", math.nan, math.nan,
                       math.nan, 2),
                      _v("table2", "vs_registered", "ccc", "missing", 0.1, 0.0, 0.2, 3)])
    ranges = L.vendor_range_values(table2.drop(columns="artefact")).set_index("statistic")
    assert ranges.loc["ccc_min", "estimate"] == 0.886 and ranges.loc["ccc_min", "n"] == 81
    assert ranges.loc["ccc_max", "estimate"] == 0.95 and ranges.loc["ccc_max", "ci_low"] == 0.93
    assert (ranges["group"] == "vendors").all()
    s3 = _values([_v("figureS3", "vs_registered", "ccc", "All", 0.92, n=411),
                  _v("figureS3", "vs_registered", "ccc", "≤10 mL", 0.922, n=312),
                  _v("figureS3", "vs_registered", "ccc", ">10 mL", 0.912, n=99)])
    diff = L.subgroup_difference_values(s3.drop(columns="artefact"))
    assert diff["group"].tolist() == [">10 mL - ≤10 mL"]
    assert diff["statistic"].tolist() == ["ccc_difference"]
    assert diff["estimate"].iloc[0] == pytest.approx(-0.010) and diff["n"].iloc[0] == 411
    both = L.derived_values(pd.concat([table2, s3], ignore_index=True))
    assert set(both["artefact"]) == {"table2", "figureS3"}


# --------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------

def test_write_and_read_values(tmp_path: Path) -> None:
    one = _values([_v("x", "vs_registered", "ccc", "≤10 mL", 0.9, 0.8, 0.95, 12),
                   _v("x", "subjects", "n", "All", 12, n=12)]).drop(columns="artefact")
    path = L.write_values(one, "figureS3", tmp_path / "figures")
    assert path == tmp_path / "figures" / "figureS3.values.csv"
    part = L.write_values(one.iloc[[1]], "text", tmp_path / "figures", part="09_us_population")
    assert part.name == "text.09_us_population.values.csv"
    back = L.read_values(tmp_path / "figures")
    assert list(back.columns) == ["artefact", *VALUE_COLUMNS]
    assert back["artefact"].tolist() == ["figureS3", "figureS3", "text"]
    assert back.loc[0, "group"] == "≤10 mL" and back.loc[0, "ci_high"] == 0.95
    assert math.isnan(back.loc[1, "ci_low"]) and back.loc[1, "n"] == 12
    with pytest.raises(ValueError, match=r"'table3'.*\['ci_high', 'n'\]"):
        L.write_values(one.drop(columns=["ci_high", "n"]), "table3", tmp_path)
    with pytest.raises(ValueError, match="artefact must be"):
        L.write_values(one, "../table3", tmp_path)
    (tmp_path / "figures" / "table2.values.csv").write_text("comparison,statistic\na,b\n",
                                                            encoding="utf-8")
    with pytest.raises(ValueError, match=r"table2\.values\.csv.*\['group'"):
        L.read_values(tmp_path / "figures")
    empty = L.read_values(tmp_path / "nowhere")
    assert empty.empty and list(empty.columns) == ["artefact", *VALUE_COLUMNS]


def test_each_chapter_writes_its_own_emptied_folder(tmp_path: Path) -> None:
    profile = load_profile("ci", root=ROOT).model_copy(update={"outputs": OutputSettings(
        root=tmp_path / "run", figures=tmp_path / "figures", book=tmp_path / "book")})
    one = _values([_v("x", "mrs_ordinal", "or_adjusted", "Q5", 1.6, 1.1, 2.4, 800)]
                  ).drop(columns="artefact")
    first = L.values_folder(profile, "10_clinical")
    assert first == tmp_path / "run" / "values" / "10_clinical"
    L.write_values(one, "table3", first)
    L.write_values(one, "tableS2", L.values_folder(profile, "07_internal_validation"))
    assert sorted(L.read_values(tmp_path / "run" / "values")["artefact"]) == ["table3", "tableS2"]
    # Re-run where Table 3 cannot be fitted: its old values do not linger.
    L.values_folder(profile, "10_clinical")
    assert L.read_values(tmp_path / "run" / "values")["artefact"].tolist() == ["tableS2"]
    with pytest.raises(ValueError, match="plain name"):
        L.values_folder(profile, "../10_clinical")


# --------------------------------------------------------------------------
# the ledger
# --------------------------------------------------------------------------

def test_ledger_statuses_by_hand() -> None:
    claims = pd.DataFrame([
        _claim("K01", "figure1", "flow", "analysed", "development", "count", "482", 482),
        _claim("K02", "figure1", "flow", "analysed", "external", "count", "390", 390),
        _claim("K03", "tableS2", "vs_registered", "dice", "All", "dice",
               "0.531 (95% CI 0.497–0.564)", 0.531),
        _claim("K04", "table2", "vs_registered", "dice", "All", "dice", "0.556", 0.556),
        _claim("K05", "table2", "vs_flair", "ccc", "All", "ccc", "0.760", 0.760),
        _claim("K06", "table1", "sex:F", "pct", "development", "percent", "33.2%", 33.2),
        _claim("K07", "table1", "sex:F", "pct", "external", "percent", "47.9%", 47.9),
        _claim("K08", "tableS4", "la_volume_ols", "p", "age", "significance", "p < 0.05"),
        _claim("K09", "tableS4", "la_volume_ols", "p", "sexM", "significance", "p < 0.05"),
        _claim("K10", "tableS4", "la_volume_ols", "p", "hypertension [age ≥ 70]",
               "significance", "not significant"),
        _claim("K11", "tableS4", "la_volume_ols", "p", "prior_stroke", "significance",
               "not significant"),
        _claim("K12", "figureS1", "dice_vs_volume", "trend", "internal+external", "direction",
               "increased"),
        _claim("K13", "figureS3", "vs_registered", "ccc_difference", ">10 mL - ≤10 mL",
               "direction", "slightly lower"),
        _claim("K14", "table3", "mrs_ordinal", "or_adjusted", "Q4", "or",
               "1.59 (95% CI: 1.08–2.36)", 1.59),
        _claim("K15", "figure1", "flow", "split", "train", "count", "419", 419),
        _claim("K16", "tableS1", "mri_slice_thickness_mm:5", "n", "development", "count",
               "n=446, 92.5%", 446),
        _claim("K17", "text", "training", "weight_decay", "nnunet", "setting", "1e-4", 1e-4),
        _claim("K18", "table1", "age", "mean", "development", "mean", "68.1 (SD 12.7)", 68.1),
        _claim("K19", "figure4", "vs_fazekas", "pearson_r", "us", "pearson_r", "0.891", 0.891),
        _claim("K20", "table2", "vs_registered", "ccc_min", "vendors", "ccc", "0.886", 0.886),
        _claim("K21", "figureS1", "dice_vs_volume", "trend", "internal+external", "direction",
               "decreased"),
    ])
    values = _values([
        _v("figure1", "flow", "analysed", "development", 482, n=482),
        _v("figure1", "flow", "analysed", "external", 391, n=391),
        _v("tableS2", "vs_registered", "dice", "All", 0.5314, 0.49, 0.57, 63),
        _v("table2", "vs_registered", "dice", "All", 0.540, 0.52, 0.56, 390),
        _v("table2", "vs_flair", "ccc", "All", 0.883, 0.856, 0.908, 390),
        _v("table2", "vs_flair", "ccc", "All", 0.760, 0.7, 0.8, 390),     # a duplicate key: ignored
        _v("table2", "vs_registered", "ccc", "SIEMENS", 0.93, 0.9, 0.95, 185),
        _v("table2", "vs_registered", "ccc", "PHILIPS", 0.8864, 0.85, 0.92, 81),
        _v("table1", "sex:F", "pct", "development", 33.24, n=482),
        _v("table1", "sex:F", "pct", "external", 48.0, n=390),
        _v("table1", "age", "mean", "development", 68.12, n=482),
        _v("table1", "age", "sd", "development", 12.66, n=482),
        _v("tableS4", "la_volume_ols", "p", "age", 0.0004, n=867),
        _v("tableS4", "la_volume_ols", "p", "sexM", 0.2, n=867),
        _v("tableS4", "la_volume_ols", "p", "hypertension [age ≥ 70]", 0.3, n=400),
        _v("tableS4", "la_volume_ols", "p", "prior_stroke", 0.01, n=867),
        _v("figureS1", "dice_vs_volume", "trend", "internal+external", 0.25, n=63),
        _v("figureS3", "vs_registered", "ccc", "≤10 mL", 0.93, n=312),
        _v("figureS3", "vs_registered", "ccc", ">10 mL", 0.91, n=99),
        _v("figure4", "vs_fazekas", "pearson_r", "us", math.nan, n=2),
    ])
    ledger = L.ledger_table(claims, values)
    assert list(ledger.columns) == list(L.LEDGER_COLUMNS)
    assert ledger["claim_id"].tolist() == claims["claim_id"].tolist()
    got = ledger.set_index("claim_id")
    expected = {
        "K01": L.MATCHES, "K02": L.DIFFERS, "K03": L.MATCHES, "K04": L.INSIDE_CI,
        "K05": L.DIFFERS, "K06": L.MATCHES, "K07": L.DIFFERS, "K08": L.MATCHES,
        "K09": L.DIFFERS, "K10": L.MATCHES, "K11": L.DIFFERS, "K12": L.MATCHES,
        "K13": L.MATCHES, "K14": L.NOT_PRODUCED, "K15": L.NOT_PRODUCED,
        "K16": L.NOT_REPRODUCIBLE, "K17": L.NOT_A_RESULT, "K18": L.MATCHES,
        "K19": L.NOT_ESTIMABLE, "K20": L.MATCHES, "K21": L.DIFFERS}
    assert got["status"].to_dict() == expected
    assert set(expected.values()) == set(L.STATUSES)
    assert got.loc["K01", "difference"] == 0 and got.loc["K01", "reproduced"] == "482"
    assert got.loc["K02", "difference"] == 1
    assert got.loc["K04", "difference"] == pytest.approx(-0.016)
    assert got.loc["K04", "reproduced"] == "0.540 (0.520–0.560)"
    assert got.loc["K05", "reproduced"] == "0.883 (0.856–0.908)"   # the first of two rows
    assert got.loc["K06", "reproduced"] == "33.2%"
    assert got.loc["K07", "difference"] == pytest.approx(0.1)
    # One decimal finer than printed: 68.1 (SD 12.7) against a reproduced mean of 65.86364.
    age = L.ledger_table(claims.iloc[[0]].assign(kind="mean", published="68.1 (SD 12.7)",
                                                 estimate=68.1, comparison="age",
                                                 statistic="mean", group="development",
                                                 artefact="table1"),
                         _values([_v("table1", "age", "mean", "development", 65.86364, n=22)]))
    assert age.loc[0, "difference"] == -2.24 and age.loc[0, "status"] == L.DIFFERS
    assert got.loc["K08", "reproduced"] == "p < 0.001" and math.isnan(got.loc["K08", "difference"])
    assert got.loc["K11", "reproduced"] == "p = 0.010"
    assert got.loc["K12", "reproduced"] == "+0.250"
    assert got.loc["K13", "reproduced"] == "-0.020"                  # derived: 0.91 - 0.93
    assert got.loc["K14", "note"] == "no values saved for table3"
    assert "flow/split/train" in got.loc["K15", "note"]
    assert "MRI slice thickness" in got.loc["K16", "note"]
    assert got.loc["K18", "reproduced"] == "68.1 (SD 12.7)"
    assert got.loc["K19", "note"] == "n = 2" and got.loc["K19", "reproduced"] == "–"
    assert got.loc["K20", "reproduced"] == "0.886 (0.850–0.920)"   # Philips, the lowest vendor
    for claim_id in ("K10", "K14", "K16", "K17", "K19"):
        assert math.isnan(got.loc[claim_id, "difference"])


def test_ledger_rejects_a_claim_without_a_statement() -> None:
    claims = pd.DataFrame([_claim("K1", "figureS1", "d", "trend", "g", "direction", "sideways")])
    values = _values([_v("figureS1", "d", "trend", "g", 0.2)])
    with pytest.raises(ValueError, match="K1: no direction"):
        L.ledger_table(claims, values)
    with pytest.raises(ValueError, match=r"\['artefact'\] not found"):
        L.ledger_table(claims, values.drop(columns="artefact"))


def test_every_shipped_claim_gets_a_status_without_values(claims: pd.DataFrame) -> None:
    ledger = L.ledger_table(claims, L.read_values(Path("/nonexistent")))
    assert len(ledger) == len(claims) and set(ledger["status"]) <= set(L.STATUSES)
    by_status = ledger.groupby("status")["claim_id"].apply(set).to_dict()
    assert by_status[L.NOT_A_RESULT] == NOT_RESULTS
    assert by_status[L.NOT_REPRODUCIBLE] == NOT_REPRODUCIBLE
    assert by_status[L.NOT_PRODUCED] == set(claims["claim_id"]) - NOT_RESULTS - NOT_REPRODUCIBLE
    assert ledger["difference"].isna().all()


def test_markdown_page(claims: pd.DataFrame) -> None:
    found = L.inconsistencies(claims)
    odd = pd.DataFrame([{"claim_id": "C999", "location": "x",
                         "consistency": "a {role}`x` costs $5 and *more*"}])
    page = L.ledger_markdown(L.ledger_table(claims, L.read_values(Path("/nonexistent"))),
                             pd.concat([found, odd], ignore_index=True))
    headings = re.findall(r"^(#+) (.*)$", page, flags=re.MULTILINE)
    assert headings[0] == ("#", "Claims ledger")
    levels = [len(h) for h, _ in headings]
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:]))          # no level skipped
    assert ("##", "The paper's internal inconsistencies") in headings
    assert f"- **{L.NOT_PRODUCED}**: 98." in page
    # One table per status that has claims, headed by its count.
    sections = [t for h, t in headings if h == "###"]
    assert sections == ["Not produced in this run (98)", "Not reproducible from these data (2)",
                        "Not a result (2)"]
    assert page.count("```{raw} html") == len(sections)
    assert page.count("<tr") == len(claims) + len(sections)              # headers + claims
    # The location travels under the quantity, escaped.
    first = claims.iloc[0]
    assert f"{first['quantity']}<br><small>{first['location']}" in page
    outside = page.split("```")[0] + page.split("```")[-1]
    assert "{role}" not in outside and r"\{role\}" in outside and r"\$5" in outside
    assert r"\*more\*" in outside
    # the published article's claims carry their version
    assert "<b>published</b> · Published abstract (Brain Behav 2025)" in page
    # every inconsistency is listed once, with all its claims
    assert "(claims C014, C015, C059, C060)" in page
    assert outside.count("Adjusted Q5 OR") == 1


# --------------------------------------------------------------------------
# every reproducible claim key is one the converters produce
# --------------------------------------------------------------------------

def _evaluation_frame(seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for dataset, n in (("internal", 12), ("external", 40), ("us", 12)):
        for i in range(n):
            registered = float(rng.lognormal(2, 0.8))
            predicted = registered * float(rng.lognormal(0, 0.2))
            manual = dataset == "external" and i < 10
            rows.append({
                "subject_id": f"{dataset}{i:02d}", "dataset": dataset,
                "ct_vendor": VENDORS[i % 4], "predicted_ml": predicted,
                "registered_ml": registered,
                "flair_wmh_ml": registered * float(rng.lognormal(0, 0.3)),
                "predicted_mask_ml": predicted, "label_mask_ml": registered,
                "dice_vs_label": float(np.clip(0.3 + 0.02 * registered, 0, 0.9)),
                "infarct_volume_ml": 20.0 if i % 3 == 0 else 2.0,
                "fazekas": min(3, int(registered // 8)),
                "manual_mask_ml": registered * 1.1 if manual else np.nan,
                "dice_vs_manual": 0.6 if manual else np.nan})
    return pd.DataFrame(rows)


def _study_manifest() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    cohorts = ["train"] * 4 + ["external"] * 4 + ["us"] * 4 + ["clinical"] * 4
    n = len(cohorts)
    table = _curation_table([{"subject_id": f"S{i:02d}", "cohort": c} for i, c in
                             enumerate(cohorts)])
    table["site"] = [f"H{i % 3}" for i in range(n)]
    table["age"] = 50.0 + np.arange(n)
    table["sex"] = ["F", "M"] * (n // 2)
    table["ct_vendor"] = ["SIEMENS", "GE", "CANON", "PHILIPS"] * 4
    table["ct_slice_thickness_mm"] = [5.0, 2.5, 1.0, 5.0] * 4
    table["ct_kvp"] = 120.0
    table["mri_vendor"] = "PHILIPS"
    table["mri_field_strength_t"] = 3.0
    table["prior_stroke"] = [True, False] * (n // 2)
    table["ct_mri_interval_h"] = 1.0 + np.arange(n)
    criteria = load_criteria()
    curated = apply_criteria(table, criteria, decided={"registration_error": []})
    curated["split"] = split_development(curated, 0.25)
    extra = pd.DataFrame({"wmh_flair_ml": 1.0 + np.arange(n)}, index=table["subject_id"])
    return table, curated, extra


def test_every_reproducible_claim_key_is_produced(claims: pd.DataFrame, cohort: pd.DataFrame,
                                                  tmp_path: Path) -> None:
    """Run every converter (and the evaluation results) on small synthetic inputs, save the
    values as the notebooks do, and check that the ledger finds a value for every claim
    except those no run can produce (NOT_REPRODUCIBLE, NOT_RESULTS)."""
    table, curated, extra = _study_manifest()
    frame = analysis_frame(table, curated, extra)
    evaluation = _evaluation_frame()
    volumes = pd.DataFrame({"group": "clinical", "predicted_ml": [3.0, 11.0, 20.0]})
    made = {
        "figure1": L.flow_values(flow_counts(curated, load_criteria()), curated["split"]),
        "table1": pd.concat([L.baseline_values(frame, groups=["development", "external"]),
                             L.table1_p_values(baseline.table1(frame))], ignore_index=True),
        "tableS1": L.baseline_values(frame, groups=["development", "external", "us"]),
        "tableS3": L.baseline_values(frame, groups=["clinical"]),
        "table2": ev.table2(evaluation).values,
        "tableS2": ev.table_s2(evaluation).values,
        "figure3": ev.figure3_data(evaluation).values,
        "figure4": ev.figure4_data(evaluation).values,
        "figureS1": L.figure_s1_values(ev.figure_s1_data(evaluation)),
        "figureS2": ev.manual_agreement(evaluation).values,
        "figureS3": ev.infarct_agreement(evaluation).values,
        "figureS4": L.figure_s4_values(clinical.figure_s4_data(cohort, "volume_ml")),
        "tableS4": L.table_s4_values(clinical.table_s4(cohort, "volume_ml")),
        "table3": L.table3_values(clinical.table3(cohort, "volume_ml")),
    }
    for artefact, values in made.items():
        L.write_values(values, artefact, tmp_path)
    L.write_values(L.baseline_values(frame, groups=["external", "us"]), "text", tmp_path,
                   part="02_cohort_curation")
    L.write_values(L.volume_values(volumes), "text", tmp_path, part="10_clinical")
    ledger = L.ledger_table(claims, L.read_values(tmp_path)).set_index("claim_id")
    compared = ledger.loc[~ledger.index.isin(NOT_REPRODUCIBLE | NOT_RESULTS)]
    missing = compared.loc[~compared["status"].isin([L.MATCHES, L.INSIDE_CI, L.DIFFERS]),
                           ["status", "note"]]
    assert missing.empty, f"claims without a reproduced value:\n{missing}"
    assert ledger.loc[sorted(NOT_REPRODUCIBLE), "status"].eq(L.NOT_REPRODUCIBLE).all()
    # the synthetic study is built to hit some numbers exactly
    assert ledger.loc["C004", "reproduced"] == "4"           # US scans analysed
    assert ledger.loc["C036", "reproduced"] == "1"           # US Canon CTs
