"""Reproduced values: converters from the steps' result objects to values tables, and their files."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from leukoct.evaluation import MISSING, VALUE_COLUMNS, as_number
from leukoct.evaluation import is_missing as _missing
from leukoct.ledger._common import (
    _ALL,
    _BINARY,
    _LEVEL_DECIMALS,
    _NAME,
    _VENDOR_CODES,
    BASELINE_GROUPS,
    BASELINE_LEVELS,
    BASELINE_MEANS,
    BASELINE_MEDIANS,
    JOIN,
    VALUES_SUFFIX,
    _frame,
    _row,
)
from leukoct.messages import id_list, require_columns
from leukoct.run import Run

if TYPE_CHECKING:
    from leukoct.clinical import FigureS4Data, RegressionTable, Table3Result
    from leukoct.config import Profile
    from leukoct.evaluation import FigureS1Data


# --------------------------------------------------------------------------
# converters: result objects -> values tables
# --------------------------------------------------------------------------

def flow_values(flow: pd.DataFrame, split: pd.Series | None = None) -> pd.DataFrame:
    """Figure 1's numbers as a values table.

    Parameters
    ----------
    flow
        :func:`leukoct.curation.flow_counts` (``group``, ``step``, ``n``).
    split
        Optional :func:`leukoct.curation.split_development` (the curated
        table's ``split`` column: ``train`` / ``internal`` / ``""``).

    Returns
    -------
    pandas.DataFrame
        :data:`VALUE_COLUMNS`, comparison ``flow``: statistic ``identified``
        and ``analysed`` (group: the dataset), ``excluded:<rule id>`` per
        exclusion rule (NaN while a rule is pending) and, with ``split``,
        ``split`` per split label (group ``train``, ``internal``).  ``n`` is
        the count itself.
    """
    require_columns(flow, ["group", "step", "n"], "flow (leukoct.curation.flow_counts)")
    rows = []
    for group, step, n in zip(flow["group"], flow["step"], flow["n"]):
        statistic = step if step in ("identified", "analysed") else f"excluded:{step}"
        rows.append(_row("flow", statistic, group, n, n=n))
    if split is not None:
        labels = split.fillna("").astype(str)
        for label, n in labels[labels != ""].value_counts(sort=False).items():
            rows.append(_row("flow", "split", label, int(n), n=int(n)))
    return _frame(rows)


def _level(variable: str, value: Any) -> str:
    """A categorical value as claims.csv keys it (see the comment at :data:`_BINARY`)."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, str):
        text = value.strip()
        if variable in _BINARY and text in ("yes", "no"):
            return str(text == "yes")
        if variable in ("ct_vendor", "mri_vendor"):
            return _VENDOR_CODES.get(text, text)
        if variable == "slice_class":
            return text.removesuffix("mm").replace(" ", "")
        return text
    number = float(value)
    if variable in _LEVEL_DECIMALS:
        return f"{number:.{_LEVEL_DECIMALS[variable]}f}"
    return f"{number:g}"


def baseline_values(frame: pd.DataFrame, groups: Sequence[str] | None = None) -> pd.DataFrame:
    """The baseline tables' numbers (Tables 1, S1, S3 and the text) as a values table.

    Parameters
    ----------
    frame
        :func:`leukoct.baseline.analysis_frame` (one row per analysed
        subject, with ``group``).  Variables the frame lacks are left out.
    groups
        Datasets summarised, in order; default those of
        :data:`BASELINE_GROUPS` present, then any other present.

    Returns
    -------
    pandas.DataFrame
        :data:`VALUE_COLUMNS`, group = dataset, ``n`` = subjects with a value
        (for categories: the dataset's size):

        * ``subjects`` / ``n``; ``sites`` / ``n`` (distinct ``site``);
        * :data:`BASELINE_MEANS`: ``mean``, ``sd`` (n - 1), ``min``, ``max``
          (the CI columns empty: the paper prints no CI of a mean);
        * :data:`BASELINE_MEDIANS`: ``median`` with the IQR (25th, 75th
          percentiles, linear interpolation as tableone) in
          ``ci_low``/``ci_high``, as claims.csv stores a printed IQR;
        * :data:`BASELINE_LEVELS`: per level ``variable:level`` (e.g.
          ``sex:F``, ``ct_vendor:SIEMENS``, ``slice_class:<5``,
          ``ct_kvp:120``, ``mri_field_strength_t:3.0``,
          ``prior_stroke:True``), statistics ``n`` and ``pct``.  The
          percentage is of all the dataset's analysed subjects, missing values
          included, as the paper divides (262/482 = 54.4 %).  Every level seen
          in any dataset is listed in each (0 where absent).
    """
    require_columns(frame, ["group"], "frame (build it with leukoct.baseline.analysis_frame)")
    present = list(dict.fromkeys(frame["group"].dropna()))
    if groups is None:
        groups = [g for g in BASELINE_GROUPS if g in present] + [
            g for g in present if g not in BASELINE_GROUPS]
    levels = {
        variable: list(dict.fromkeys(_level(variable, v) for v in frame[variable]
                                     if not _missing(v)))
        for variable in BASELINE_LEVELS if variable in frame}
    rows = []
    for group in groups:
        part = frame.loc[frame["group"] == group]
        size = len(part)
        rows.append(_row("subjects", "n", group, size, n=size))
        if "site" in part:
            sites = {str(s) for s in part["site"] if not _missing(s)}
            rows.append(_row("sites", "n", group, len(sites), n=size))
        for variable in BASELINE_MEANS:
            if variable in part:
                x = pd.to_numeric(part[variable]).dropna().astype(float)
                rows += [_row(variable, "mean", group, x.mean() if len(x) else None, n=len(x)),
                         _row(variable, "sd", group, x.std(ddof=1) if len(x) > 1 else None,
                              n=len(x)),
                         _row(variable, "min", group, x.min() if len(x) else None, n=len(x)),
                         _row(variable, "max", group, x.max() if len(x) else None, n=len(x))]
        for variable in BASELINE_MEDIANS:
            if variable in part:
                x = pd.to_numeric(part[variable]).dropna().astype(float)
                q1, median, q3 = (x.quantile([0.25, 0.5, 0.75]) if len(x)
                                  else (None, None, None))
                rows.append(_row(variable, "median", group, median, q1, q3, n=len(x)))
        for variable, known in levels.items():
            counts = pd.Series([_level(variable, v) for v in part[variable] if not _missing(v)],
                               dtype=object).value_counts()
            for level in known:
                k = int(counts.get(level, 0))
                key = f"{variable}:{level}"
                rows += [_row(key, "n", group, k, n=size),
                         _row(key, "pct", group, 100 * k / size if size else None, n=size)]
    return _frame(rows)


def volume_values(volumes: pd.DataFrame, columns: Sequence[str] = ("predicted_ml",),
                  groups: Sequence[str] | None = None) -> pd.DataFrame:
    """Median volumes per dataset (the text's "median predicted LA volume").

    Parameters
    ----------
    volumes
        The volumes table (:func:`leukoct.volumes.read_volumes`; ``group``
        and the volume columns).
    columns
        Volume columns summarised.
    groups
        Datasets, in order; default all present, in order of appearance.

    Returns
    -------
    pandas.DataFrame
        :data:`VALUE_COLUMNS`: comparison = the column, statistic
        ``median``, the IQR in ``ci_low``/``ci_high`` (as
        :func:`baseline_values`), ``n`` = subjects with a volume.
    """
    require_columns(volumes, ["group", *columns], "volumes (leukoct.volumes.read_volumes)")
    if groups is None:
        groups = list(dict.fromkeys(volumes["group"].dropna()))
    rows = []
    for group in groups:
        part = volumes.loc[volumes["group"] == group]
        for column in columns:
            x = pd.to_numeric(part[column]).dropna().astype(float)
            q1, median, q3 = x.quantile([0.25, 0.5, 0.75]) if len(x) else (None, None, None)
            rows.append(_row(column, "median", group, median, q1, q3, n=len(x)))
    return _frame(rows)


#: Group key of Table 1's p values (the test compares the two cohorts).
TABLE1_P_GROUP = "development_vs_external"
# Table 1's variable names as the claims spell them (paper_table1.csv).
_TABLE1_VARIABLES = {"female": "sex"}


def table1_p_values(t1: pd.DataFrame) -> pd.DataFrame:
    """Table 1's test p values (development vs external) as values rows.

    Parameters
    ----------
    t1
        :func:`leukoct.baseline.table1` (its ``attrs["p_values"]``).

    Returns
    -------
    pandas.DataFrame
        Keys ``(variable, "p", "development_vs_external")``, the variable as
        ``paper_table1.csv`` names it (``sex`` for the share of women).
    """
    if "p_values" not in t1.attrs:
        raise ValueError("t1 has no p values: build it with leukoct.baseline.table1")
    return _frame([_row(_TABLE1_VARIABLES.get(c, c), "p", TABLE1_P_GROUP, p)
                   for c, p in t1.attrs["p_values"].items()])


def table3_values(result: Table3Result) -> pd.DataFrame:
    """Table 3 (:func:`leukoct.clinical.table3`) as a values table.

    Returns
    -------
    pandas.DataFrame
        :data:`VALUE_COLUMNS`, comparison ``mrs_ordinal``: statistics
        ``or_crude`` / ``or_adjusted`` (odds ratio with its CI) and
        ``p_crude`` / ``p_adjusted``, group = volume group (``Q2`` .. ``Q5``),
        ``n`` = subjects in the group.  The reference group (OR 1 by
        definition, no interval) is left out: it is no estimate.
    """
    table = result.table
    if not isinstance(table.columns, pd.MultiIndex):
        raise TypeError("result.table: expected columns (model, statistic), as "
                         "leukoct.clinical.table3 returns; got " + repr(list(table.columns)))
    sizes = result.counts.sum(axis=1) if len(result.counts) else pd.Series(dtype=float)
    sizes.index = sizes.index.map(str)
    rows = []
    for model in dict.fromkeys(table.columns.get_level_values(0)):
        part = table[model]
        require_columns(part, ["odds_ratio", "ci_low", "ci_high", "p_value"], f"result.table[{model!r}]")
        for level, cells in list(part.iterrows())[1:]:
            n = sizes.get(str(level))
            rows += [_row("mrs_ordinal", f"or_{model}", level, cells["odds_ratio"],
                          cells["ci_low"], cells["ci_high"], n),
                     _row("mrs_ordinal", f"p_{model}", level, cells["p_value"], n=n)]
    return _frame(rows)


def table_s4_values(result: RegressionTable) -> pd.DataFrame:
    """Table S4 (:func:`leukoct.clinical.table_s4`) as a values table.

    Returns
    -------
    pandas.DataFrame
        :data:`VALUE_COLUMNS`, comparison ``la_volume_ols``: statistics
        ``coef`` (with its CI) and ``p``; group = the model's term
        (``age``, ``prior_stroke``, ``sexM``, ``Intercept``...) in the
        whole-cohort model, ``"<term> [<model>]"`` in an age stratum (e.g.
        ``hypertension [age < 70]``, ``hypertension [age ≥ 70]``); ``n`` =
        subjects in the model.
    """
    long = result.long
    require_columns(long, ["model", "term", "coef", "ci_low", "ci_high", "p", "n"],
                    "result.long (leukoct.clinical.table_s4)")
    rows = []
    for cells in long.itertuples(index=False):
        group = cells.term if cells.model == _ALL else f"{cells.term} [{cells.model}]"
        rows += [_row("la_volume_ols", "coef", group, cells.coef, cells.ci_low, cells.ci_high,
                      cells.n),
                 _row("la_volume_ols", "p", group, cells.p, n=cells.n)]
    return _frame(rows)


def figure_s4_values(data: FigureS4Data) -> pd.DataFrame:
    """Figure S4's slope (:func:`leukoct.clinical.figure_s4_data`) as a values table.

    Returns
    -------
    pandas.DataFrame
        Comparison ``la_volume_ols``, group ``age``: ``coef`` (mL per year,
        with its CI) and ``p`` of the simple regression on age.
    """
    slope = data.slope
    missing = [k for k in ("coef", "ci_low", "ci_high", "p", "n") if k not in slope.index]
    if missing:
        raise ValueError(f"data.slope: {missing} not found (leukoct.clinical.age_slope)")
    return _frame([_row("la_volume_ols", "coef", "age", slope["coef"], slope["ci_low"],
                        slope["ci_high"], slope["n"]),
                   _row("la_volume_ols", "p", "age", slope["p"], n=slope["n"])])


def figure_s1_values(data: FigureS1Data) -> pd.DataFrame:
    """Figure S1's trends (:func:`leukoct.evaluation.figure_s1_data`) as a values table.

    Returns
    -------
    pandas.DataFrame
        Per dataset and reference volume: comparison ``dice_vs_<reference>``
        (``dice_vs_registered_ml``, ``dice_vs_flair_wmh_ml``), statistics
        ``spearman_rho`` and ``spearman_p``, group = dataset.  Then the
        paper's statement "DSC increased with LA or WMH volume in both
        datasets" as comparison ``dice_vs_volume``, statistic ``trend``,
        group the datasets joined by ``+`` (``internal+external``): the
        smallest of those Spearman rhos, positive exactly when the DSC rises
        in every dataset and with both volumes (NaN when one is not
        estimable); ``n`` is that trend's.
    """
    trend = data.trend
    require_columns(trend, ["dataset", "reference", "n", "spearman_rho", "p_value"],
                    "data.trend (leukoct.evaluation.figure_s1_data)")
    rows = []
    for cells in trend.itertuples(index=False):
        comparison = f"dice_vs_{cells.reference}"
        rows += [_row(comparison, "spearman_rho", cells.dataset, cells.spearman_rho, n=cells.n),
                 _row(comparison, "spearman_p", cells.dataset, cells.p_value, n=cells.n)]
    if len(trend):
        rho = trend["spearman_rho"].astype(float)
        weakest = trend.loc[rho.idxmin()] if rho.notna().all() else None
        group = "+".join(dict.fromkeys(trend["dataset"].astype(str)))
        rows.append(_row("dice_vs_volume", "trend", group,
                         None if weakest is None else weakest["spearman_rho"],
                         n=None if weakest is None else weakest["n"]))
    return _frame(rows)


def vendor_range_values(values: pd.DataFrame, statistics: Sequence[str] = ("ccc", "r2", "dice"),
                        exclude: Sequence[str] = (_ALL, MISSING)) -> pd.DataFrame:
    """The range of a statistic over CT vendors (the text's "ρ ranged from ... to ...").

    Parameters
    ----------
    values
        Table 2's values (:func:`leukoct.evaluation.table2`), :data:`VALUE_COLUMNS`.
    statistics
        Statistics whose range is taken.
    exclude
        Groups that are no vendor.

    Returns
    -------
    pandas.DataFrame
        Per comparison and statistic with an estimate in some vendor:
        statistics ``<statistic>_min`` and ``<statistic>_max``, group
        ``vendors``, with the CI and ``n`` of the vendor that attains it.
    """
    require_columns(values, VALUE_COLUMNS, "values")
    chosen = values.loc[values["statistic"].isin(statistics)
                        & ~values["group"].astype(str).isin(exclude)
                        & values["estimate"].notna()]
    rows = []
    for (comparison, statistic), part in chosen.groupby(["comparison", "statistic"], sort=False):
        estimate = part["estimate"].astype(float)
        for end, at in (("min", estimate.idxmin()), ("max", estimate.idxmax())):
            cells = part.loc[at]
            rows.append(_row(comparison, f"{statistic}_{end}", "vendors", cells["estimate"],
                             cells["ci_low"], cells["ci_high"], cells["n"]))
    return _frame(rows)


def subgroup_difference_values(values: pd.DataFrame,
                               statistics: Sequence[str] = ("ccc", "r2", "dice")
                               ) -> pd.DataFrame:
    """The difference between the two infarct-volume subgroups of Figure S3.

    Parameters
    ----------
    values
        :func:`leukoct.evaluation.infarct_agreement` values, whose groups
        include one ``≤<t> mL`` and one ``><t> mL``.
    statistics
        Statistics compared.

    Returns
    -------
    pandas.DataFrame
        Statistic ``<statistic>_difference``, group ``"><t> mL - ≤<t> mL"``
        (the larger infarcts minus the smaller), ``n`` the subjects of both;
        empty when either subgroup is absent.
    """
    require_columns(values, VALUE_COLUMNS, "values")
    groups = list(dict.fromkeys(values["group"].astype(str)))
    lower = [g for g in groups if g.startswith("≤")]
    upper = [g for g in groups if g.startswith(">")]
    if len(lower) != 1 or len(upper) != 1:
        return _frame([])
    keyed = values.assign(group=values["group"].astype(str)).drop_duplicates(
        ["comparison", "statistic", "group"]).set_index(["comparison", "statistic", "group"])
    rows = []
    for comparison, statistic in dict.fromkeys(zip(values["comparison"], values["statistic"])):
        if statistic not in statistics:
            continue
        high, low = ((comparison, statistic, g) for g in (upper[0], lower[0]))
        if high in keyed.index and low in keyed.index:
            a, b = keyed.loc[high], keyed.loc[low]
            rows.append(_row(comparison, f"{statistic}_difference", f"{upper[0]} - {lower[0]}",
                             a["estimate"] - b["estimate"], n=as_number(a["n"]) + as_number(b["n"])))
    return _frame(rows)


#: Values derived from an artefact's own values: artefact -> function.
_DERIVED: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {
    "table2": vendor_range_values, "figureS3": subgroup_difference_values}


def derived_values(values: pd.DataFrame) -> pd.DataFrame:
    """The values derived from others: Table 2's vendor ranges, Figure S3's difference.

    Parameters
    ----------
    values
        :func:`read_values` (with ``artefact``).

    Returns
    -------
    pandas.DataFrame
        ``artefact`` and :data:`VALUE_COLUMNS`: :func:`vendor_range_values` of
        ``table2`` and :func:`subgroup_difference_values` of ``figureS3``.
    """
    require_columns(values, ["artefact", *VALUE_COLUMNS], "values (read_values)")
    frames = [function(values.loc[values["artefact"] == artefact, list(VALUE_COLUMNS)])
              .assign(artefact=artefact)
              for artefact, function in _DERIVED.items() if (values["artefact"] == artefact).any()]
    columns = ["artefact", *VALUE_COLUMNS]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object if c in JOIN else float) for c in columns})
    return pd.concat(frames, ignore_index=True)[columns]


# --------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------

def write_values(values: pd.DataFrame, artefact: str, folder: str | os.PathLike[str], *,
                 part: str | None = None) -> Path:
    """Save an artefact's values as ``<folder>/<artefact>.values.csv``.

    Parameters
    ----------
    values
        :data:`VALUE_COLUMNS` (other columns are not written).
    artefact
        Artefact id (``artefacts.yaml``) or ``text``.
    folder
        Folder (created if needed); the profile's figures folder.
    part
        For an artefact several notebooks contribute to (``text``): the
        contribution's name, written as ``<artefact>.<part>.values.csv``.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    ValueError
        A column of :data:`VALUE_COLUMNS` is missing (artefact and columns
        named), or the artefact or part is not a plain name.
    """
    for what, name in (("artefact", artefact), ("part", part)):
        if name is not None and not _NAME.match(name):
            raise ValueError(f"{what} must be letters, digits, '_' or '-', not {name!r}")
    absent = [c for c in VALUE_COLUMNS if c not in values.columns]
    if absent:
        raise ValueError(f"values of {artefact!r}: column(s) {absent} missing; a values table "
                         f"has the columns {list(VALUE_COLUMNS)}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{artefact}{f'.{part}' if part else ''}{VALUES_SUFFIX}"
    values[list(VALUE_COLUMNS)].to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
    return path


def values_folder(profile: Profile, notebook: str) -> Path:
    """The empty folder where one chapter writes its values (``<run>/values/<notebook>``).

    Emptied first, so that a value a chapter no longer produces (a model
    not estimable on new data) does not linger from an earlier run.
    """
    if not _NAME.match(notebook):
        raise ValueError(f"notebook must be a plain name such as 10_clinical, not {notebook!r}")
    folder = Run(profile).values(notebook)
    if folder.is_dir():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


def read_values(folder: str | os.PathLike[str]) -> pd.DataFrame:
    """Every ``*.values.csv`` of a folder and its sub-folders, as one table.

    Parameters
    ----------
    folder
        Where :func:`write_values` wrote; a folder that does not exist holds
        no values.

    Returns
    -------
    pandas.DataFrame
        ``artefact`` (the file name up to its first dot) and
        :data:`VALUE_COLUMNS`, files in name order: keys as text, numbers as
        float.

    Raises
    ------
    ValueError
        A file lacks a column or holds a number that does not parse (file named).
    """
    columns = ["artefact", *VALUE_COLUMNS]
    # Each chapter writes into its own sub-folder (values_folder).
    paths = sorted(Path(folder).rglob(f"*{VALUES_SUFFIX}")) if Path(folder).is_dir() else []
    frames = []
    for path in paths:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        absent = [c for c in VALUE_COLUMNS if c not in table.columns]
        if absent:
            raise ValueError(f"{path}: column(s) {absent} missing; a values table has the "
                             f"columns {list(VALUE_COLUMNS)}")
        table = table[list(VALUE_COLUMNS)].astype(object)
        for column in ("estimate", "ci_low", "ci_high", "n"):
            number = pd.to_numeric(table[column].replace("", None), errors="coerce")
            bad = number.isna() & (table[column].astype(str).str.strip() != "")
            if bad.any():
                raise ValueError(f"{path}: {column} is not a number in row(s) "
                                 f"{id_list(np.flatnonzero(bad) + 2)} (counting the header)")
            table[column] = number.astype(float)
        frames.append(table.assign(artefact=path.name.split(".", 1)[0]))
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object if c in JOIN else float) for c in columns})
    out = pd.concat(frames, ignore_index=True)[columns]
    for column in JOIN:
        out[column] = out[column].astype(str)
    return out
