"""The claims ledger (``leukoct/data/claims.csv``): every number the paper states,
where it is printed and which artefact of the book reproduces it.

The checks are about the ledger's integrity (ids, artefacts, steps, numbers),
its agreement with the table transcriptions (``paper_*.csv``) it shares keys
with, and the paper's internal inconsistencies, which must be recorded, not
silently resolved.
"""

from __future__ import annotations

import re
from importlib.resources import files
from io import StringIO
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ["claim_id", "section", "location", "quote", "quantity", "published", "estimate",
           "ci_low", "ci_high", "artefact", "step", "comparison", "statistic", "group", "kind",
           "consistency", "version"]
SECTIONS = {"Abstract", "Methods", "Results", "Discussion", "Table 1", "Table 2", "Table 3",
            "Abstract (published)"}
NUMERIC_KINDS = {"count", "percent", "mean", "median", "dice", "ccc", "r2", "pearson_r", "or",
                 "coef", "p_value", "setting"}
NON_NUMERIC_KINDS = {"formula", "direction", "significance"}
#: Artefacts for which the paper prints no number (and no checkable statement):
#: Figure 2 shows four representative cases, chosen in a way the paper does not
#: say.  Figure 1 (the flowchart) is not exempt: the text cites it for 876 and 482.
NO_CLAIM_ARTEFACTS = {"figure2"}
#: The paper's internal inconsistencies: each must be stated in `consistency`
#: of at least one claim, with every listed fragment (values as printed).
INCONSISTENCIES = {
    "external DSC abstract vs Table 2": ["0.527", "0.556"],
    "external CCC vs registered LA, abstract vs Table 2": ["0.919", "0.925"],
    "external CCC vs FLAIR, abstract vs Table 2": ["0.760", "0.883"],
    "CCC formula typos": ["×", "μX+μY", "μX−μY"],
    "identical Philips and Toshiba r² rows": ["identical", "PHILIPS", "TOSHIBA", "0.869"],
    "vendor CCC range text vs Table 2": ["0.905–0.953", "0.886–0.950"],
    "infarct subgroups 99 + 312 = 411 vs 390": ["99", "312", "411", "390"],
    "adjusted Q5 OR Table 3 vs text": ["1.64", "1.65"],
}
KEY = ["comparison", "statistic", "group"]
#: Keys repeat across artefacts (the internal and the external DSC are both
#: vs_registered/dice/All), so claims join the transcriptions on the artefact too.
JOIN = ["artefact", *KEY]
TRANSCRIPTIONS = ["table2", "tableS2", "figures"]
#: Claims of an artefact whose printed values are another's: the Results cite
#: Figure 3 for the external CCCs that Table 2 prints.
SAME_VALUES_AS = {"figure3": "table2"}
NUMBER = r"\d[\d,]*(?:\.\d+)?(?:e-?\d+)?"


def _data(name: str) -> str:
    return files("leukoct").joinpath(f"data/{name}").read_text("utf-8")


def _csv(name: str) -> pd.DataFrame:
    return pd.read_csv(StringIO(_data(name)), comment="#", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def claims() -> pd.DataFrame:
    return _csv("claims.csv")


@pytest.fixture(scope="module")
def artefacts() -> dict[str, str]:
    return {a["id"]: a["step"] for a in yaml.safe_load(_data("artefacts.yaml"))}


def _numbers(text: str) -> list[float]:
    return [float(n.replace(",", "")) for n in re.findall(NUMBER, text)]


def _first_printed(published: str) -> str:
    """The first number of a published value, as printed ("0.925" of "ρ=0.925")."""
    match = re.search(NUMBER, published)
    return match.group(0) if match else published


def _documents(row: pd.Series, value: str) -> bool:
    """Whether a claim's consistency statement names `value` (a printed number)."""
    return bool(row["consistency"]) and value in row["consistency"]


def test_ledger_parses_with_its_columns(claims: pd.DataFrame) -> None:
    assert list(claims.columns) == COLUMNS
    assert 50 <= len(claims) <= 110
    raw = pd.read_csv(StringIO(_data("claims.csv")), comment="#")
    assert len(raw) == len(claims)


def test_claim_ids_are_unique_and_sequential(claims: pd.DataFrame) -> None:
    assert claims["claim_id"].is_unique
    assert claims["claim_id"].tolist() == [f"C{i:03d}" for i in range(1, len(claims) + 1)]


def test_required_fields(claims: pd.DataFrame) -> None:
    for column in ["section", "location", "quote", "quantity", "published", "artefact", "step",
                   "kind"]:
        empty = claims.loc[claims[column].str.strip() == "", "claim_id"].tolist()
        assert not empty, f"{column} empty in {empty}"
    assert set(claims["section"]) <= SECTIONS
    long = claims.loc[claims["quote"].str.len() > 120, "claim_id"].tolist()
    assert not long, f"quotes longer than 120 characters: {long}"


def test_artefacts_and_steps_exist(claims: pd.DataFrame, artefacts: dict[str, str]) -> None:
    unknown = set(claims["artefact"]) - set(artefacts) - {"text"}
    assert not unknown, f"artefacts not in artefacts.yaml: {unknown}"
    stems = {p.stem for p in (ROOT / "notebooks").glob("*.ipynb")} | set(artefacts.values())
    bad = claims.loc[~claims["step"].isin(stems), ["claim_id", "step"]]
    assert bad.empty, f"steps that are no notebook:\n{bad}"


def test_artefact_claims_name_the_artefacts_step(claims: pd.DataFrame,
                                                 artefacts: dict[str, str]) -> None:
    made = claims[claims["artefact"] != "text"]
    wrong = made[made["step"] != made["artefact"].map(artefacts)]
    assert wrong.empty, f"step differs from artefacts.yaml:\n{wrong[['claim_id', 'artefact', 'step']]}"


def test_estimates_are_numeric_where_the_kind_is(claims: pd.DataFrame) -> None:
    assert set(claims["kind"]) <= NUMERIC_KINDS | NON_NUMERIC_KINDS
    numeric = claims[claims["kind"].isin(NUMERIC_KINDS)]
    values = pd.to_numeric(numeric["estimate"], errors="coerce")
    assert values.notna().all(), f"non-numeric estimates: {numeric.loc[values.isna(), 'claim_id'].tolist()}"
    others = claims[claims["kind"].isin(NON_NUMERIC_KINDS)]
    assert (others[["estimate", "ci_low", "ci_high"]] == "").all().all()


def test_estimate_is_the_printed_number(claims: pd.DataFrame) -> None:
    """The estimate is the first number of `published` and the interval's ends are printed too."""
    for _, row in claims[claims["kind"].isin(NUMERIC_KINDS)].iterrows():
        printed = _numbers(row["published"])
        if not printed:  # a number printed as a word ("five")
            continue
        assert float(row["estimate"]) == pytest.approx(printed[0]), row["claim_id"]
        for end in ("ci_low", "ci_high"):
            if row[end]:
                assert any(float(row[end]) == pytest.approx(p) for p in printed), row["claim_id"]


def test_quote_prints_the_estimate(claims: pd.DataFrame) -> None:
    """The number claimed is in the quoted phrase (a typo in `published` and
    `estimate` together still disagrees with the quote)."""
    for _, row in claims[claims["kind"].isin(NUMERIC_KINDS)].iterrows():
        assert _first_printed(row["published"]) in row["quote"], row["claim_id"]


def test_intervals_contain_their_estimates(claims: pd.DataFrame) -> None:
    for _, row in claims.iterrows():
        assert bool(row["ci_low"]) == bool(row["ci_high"]), row["claim_id"]
        if row["ci_low"]:
            assert float(row["ci_low"]) <= float(row["estimate"]) <= float(row["ci_high"]), \
                row["claim_id"]


def test_every_artefact_has_a_claim(claims: pd.DataFrame, artefacts: dict[str, str]) -> None:
    missing = set(artefacts) - set(claims["artefact"]) - NO_CLAIM_ARTEFACTS
    assert not missing, f"artefacts without a claim: {sorted(missing)}"
    assert NO_CLAIM_ARTEFACTS <= set(artefacts)


@pytest.mark.parametrize("name", sorted(INCONSISTENCIES))
def test_inconsistency_is_recorded(claims: pd.DataFrame, name: str) -> None:
    fragments = INCONSISTENCIES[name]
    hits = claims[claims["consistency"].map(lambda text: all(f in text for f in fragments))]
    assert len(hits), f"no claim records the inconsistency: {name}"


def test_formula_claim_has_no_estimate(claims: pd.DataFrame) -> None:
    formula = claims[claims["kind"] == "formula"]
    assert len(formula) >= 1
    assert formula["consistency"].str.contains("denominator").all()


@pytest.mark.parametrize("name", TRANSCRIPTIONS)
def test_estimates_match_the_transcriptions(claims: pd.DataFrame, name: str) -> None:
    """A claim keyed like a transcribed cell has its estimate, unless the claim's
    consistency statement names the transcribed value (a documented disagreement)."""
    table = _csv(f"paper_{name}.csv").rename(columns={"table": "artefact"})
    claims = claims.assign(artefact=claims["artefact"].replace(SAME_VALUES_AS))
    merged = claims.merge(table[[*JOIN, "estimate", "printed"]], on=JOIN, suffixes=("", "_paper"))
    merged = merged[merged["kind"].isin(NUMERIC_KINDS)]
    assert len(merged), f"no claim shares a key with paper_{name}.csv"
    for _, row in merged.iterrows():
        if float(row["estimate"]) != pytest.approx(float(row["estimate_paper"])):
            assert _documents(row, row["estimate_paper"]), (
                f"{row['claim_id']}: {row['estimate']} vs paper_{name}.csv {row['estimate_paper']}")


def test_claims_sharing_a_key_agree_or_say_why(claims: pd.DataFrame) -> None:
    numeric = claims[claims["kind"].isin(NUMERIC_KINDS) & (claims["comparison"] != "")]
    for _, group in numeric.groupby(JOIN):
        rows = list(group.itertuples(index=False))
        for i, a in enumerate(rows):
            for b in rows[i + 1:]:
                if float(a.estimate) != pytest.approx(float(b.estimate)):
                    assert _first_printed(b.published) in a.consistency \
                        or _first_printed(a.published) in b.consistency, \
                        f"{a.claim_id} and {b.claim_id} disagree without a consistency note"


def test_vendor_ranges_match_table2_or_say_why(claims: pd.DataFrame) -> None:
    table = _csv("paper_table2.csv")
    vendors = table[(table["group"] != "All") & (table["comparison"] != "subjects")]
    ranges = claims[claims["statistic"].str.endswith(("_min", "_max"))]
    assert len(ranges) >= 6
    for _, row in ranges.iterrows():
        assert row["group"] == "vendors", row["claim_id"]
        stat, end = row["statistic"].rsplit("_", 1)
        cells = vendors[(vendors["comparison"] == row["comparison"])
                        & (vendors["statistic"] == stat)]["estimate"].astype(float)
        value = cells.min() if end == "min" else cells.max()
        if float(row["estimate"]) != pytest.approx(value):
            assert _documents(row, f"{value:.3f}"), f"{row['claim_id']}: table range end {value:.3f}"


def test_table1_claims_match_the_printed_table(claims: pd.DataFrame) -> None:
    """Baseline claims keyed like a Table 1 row print the cell's numbers, or name the cell's value."""
    table1 = _csv("paper_table1.csv")
    table1["key"] = table1["variable"] + table1["level"].map(lambda v: f":{v}" if v else "")
    cells = table1.set_index("key")
    keyed = claims[claims["comparison"].isin(cells.index)
                   & claims["group"].isin(["development", "external"])]
    assert len(keyed) >= 10
    for _, row in keyed.iterrows():
        cell = cells.loc[row["comparison"], row["group"]]
        printed = _numbers(cell)
        for number in _numbers(row["published"]):
            if not any(number == pytest.approx(p) for p in printed):
                assert any(_documents(row, f"{p:g}") for p in printed), \
                    f"{row['claim_id']}: {number} not in Table 1's cell {cell!r}"


def test_ledger_can_fail() -> None:
    """The transcription check catches a typo (guards against a vacuous test)."""
    claims = _csv("claims.csv")
    claims.loc[claims["claim_id"] == claims.loc[
        (claims["comparison"] == "vs_manual") & (claims["statistic"] == "ccc"), "claim_id"].iloc[0],
        "estimate"] = "0.885"
    with pytest.raises(AssertionError):
        test_estimates_match_the_transcriptions(claims, "figures")


def test_published_abstracts_r_are_the_square_roots_of_table2s_r2(claims: pd.DataFrame) -> None:
    # The published article (seed 001) reports Pearson r of the volumes where the
    # preprint's abstract reports CCC; its r equal sqrt(r²) of Table 2 as transcribed.
    from leukoct.evaluation import published_values

    table2 = published_values("table2").set_index(["comparison", "statistic", "group"])
    published = claims[claims["version"].str.contains("published")
                       & (claims["statistic"] == "pearson_r") & (claims["artefact"] == "table2")]
    assert set(published["comparison"]) == {"vs_registered", "vs_flair"}
    for claim in published.itertuples():
        r2 = table2.loc[(claim.comparison, "r2", "All"), "estimate"]
        assert round(r2 ** 0.5, 3) == float(claim.estimate)
        assert "published" in claim.version and claim.artefact == "table2"


def test_a_claim_of_an_unknown_version_is_refused(tmp_path: Path) -> None:
    from leukoct.ledger import read_claims

    text = _data("claims.csv").replace(",preprint\n", ",draft\n", 1)
    bad = tmp_path / "claims.csv"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=r"claims.csv: version must be preprint or published.*C001"):
        read_claims(bad)
