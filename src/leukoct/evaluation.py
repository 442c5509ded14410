"""Evaluation of the segmentation model: the paper's performance artefacts.

The inference step hands over one table, ``inference/volumes.csv`` (one row
per analysed CT, :data:`leukoct.volumes.COLUMNS`).  This module turns it,
with the masks it points at, into the numbers behind

* **Table S2** (internal validation) and **Table 2** (external test, all and
  per CT vendor): :func:`table_s2`, :func:`table2`;
* **Figure 2** (four representative external cases): :func:`figure2_cases`;
* **Figure 3** (predicted vs registered / FLAIR volume by vendor):
  :func:`figure3_data`;
* **Figure 4** (predicted volume by Fazekas grade): :func:`figure4_data`
  (:func:`fazekas_summary`, :func:`fazekas_correlation`);
* **Figure S1** (Dice vs volume): :func:`figure_s1_data`;
* **Figure S2** (agreement with the expert's manual masks):
  :func:`manual_agreement`;
* **Figure S3** (agreement by infarct volume): :func:`infarct_agreement`;
* the **error budget** of the digital twin (beyond the paper):
  :func:`twin_error_budget`;
* the reproduced values beside the published ones: :func:`published_values`,
  :func:`compare_with_paper`.

Every statistic comes from :mod:`leukoct.metrics`; nothing here computes a
metric itself.  Everything is a pure function of DataFrames except the
functions that say so (:func:`read_volumes`, :func:`subject_overlaps`,
:func:`mask_sources`, :func:`published_values`).

Missing values
--------------
A subject without a predicted volume, a reference volume or a mask is
*excluded from that metric* and listed - in the result's ``excluded`` table
and, abbreviated, in its footnotes - never left as a silent NaN.  A Dice of
two empty masks is *undefined* (NaN, :func:`leukoct.metrics.dice`): it is
counted (``n_undefined``) and footnoted, not averaged.

Long values
-----------
Every result carries its numbers in one long layout, ``values``, with the
columns :data:`VALUE_COLUMNS` (``comparison, statistic, group, estimate,
ci_low, ci_high, n``), the layout of the published values
(``leukoct/data/paper_table2.csv``), so that :func:`compare_with_paper`
can put the two side by side.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from leukoct import metrics
from leukoct.images import Volume, load_volume, mask_volume_ml
from leukoct.paper import paper_table
from leukoct.schema import VENDORS

if TYPE_CHECKING:  # pragma: no cover
    from leukoct.config import Profile

__all__ = [
    "VENDOR_LABELS", "MISSING", "COMPARISONS", "VALUE_COLUMNS", "OVERLAP_COLUMNS",
    "PerformanceTable", "Figure3Data", "Figure4Data", "FigureS1Data", "ManualAgreement",
    "read_volumes", "mask_sources", "subject_overlaps", "evaluation_frame",
    "table2", "table_s2", "infarct_agreement", "figure2_cases", "figure3_data",
    "fazekas_summary", "fazekas_correlation", "figure4_data", "figure_s1_data",
    "manual_agreement", "twin_error_budget", "published_values", "compare_with_paper",
    "format_estimate",
]

#: Display names of the canonical CT vendors, in the paper's order (Table 2).
VENDOR_LABELS: dict[str, str] = {"SIEMENS": "Siemens", "GE": "GE", "PHILIPS": "Philips",
                                 "CANON": "Toshiba/Canon"}
#: Label of the column of subjects whose group (vendor, infarct group) is unknown.
MISSING = "missing"
#: Column name of the predicted LA volume in the volumes table.
PREDICTED = "predicted_ml"
#: The paper's two volume comparisons: key -> (reference column, row label of Table 2).
COMPARISONS: dict[str, tuple[str, str]] = {
    "vs_registered": ("registered_ml", "CT prediction vs. CT GT (registered LA)"),
    "vs_flair": ("flair_wmh_ml", "CT prediction vs. FLAIR GT (WMH volume)"),
}
#: Columns of every ``values`` table (and of the published values).
VALUE_COLUMNS: tuple[str, ...] = ("comparison", "statistic", "group", "estimate", "ci_low",
                                  "ci_high", "n")
#: Columns of :func:`subject_overlaps`.
OVERLAP_COLUMNS: tuple[str, ...] = (
    "subject_id", "predicted_mask_ml", "label_mask_ml", "truth_mask_ml", "manual_mask_ml",
    "dice_vs_label", "dice_vs_truth", "dice_label_vs_truth", "dice_vs_manual", "missing")

#: Masks of :func:`subject_overlaps`: kind -> (volume column, words).
_MASKS: dict[str, tuple[str, str]] = {
    "predicted": ("predicted_mask_ml", "prediction mask"),
    "label": ("label_mask_ml", "pseudo-label (registered LA) mask"),
    "truth": ("truth_mask_ml", "true LA mask"),
    "manual": ("manual_mask_ml", "manual mask"),
}
#: Dice columns of :func:`subject_overlaps`: column -> (mask, mask).
_DICE_PAIRS: dict[str, tuple[str, str]] = {
    "dice_vs_label": ("predicted", "label"),
    "dice_vs_truth": ("predicted", "truth"),
    "dice_label_vs_truth": ("label", "truth"),
    "dice_vs_manual": ("predicted", "manual"),
}
#: Volumes-table columns :func:`evaluation_frame` needs.
_VOLUME_COLUMNS = ("subject_id", "group", "split", "ct_vendor", PREDICTED, "registered_ml",
                   "flair_wmh_ml")
_CI_NOTE = ("Data are estimate (95 % CI). r²: Fisher-z interval of r, squared; CCC: Lin's "
            "concordance correlation coefficient, z-transform interval (Lin 1989/2000); DSC: "
            "mean of the per-subject Dice with a Student-t interval.")


# --------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------

def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _require(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"{what}: columns {missing} not found; available: {list(frame.columns)}")


def _ids(subjects: Iterable[Any], limit: int = 10) -> str:
    subjects = [str(s) for s in subjects]
    shown = ", ".join(subjects[:limit])
    return shown + (f" and {len(subjects) - limit} more" if len(subjects) > limit else "")


def format_estimate(estimate: float, ci_low: float = float("nan"),
                    ci_high: float = float("nan"), digits: int = 3) -> str:
    """Format ``estimate (ci_low–ci_high)`` as the paper prints its cells.

    Parameters
    ----------
    estimate, ci_low, ci_high
        The value and its interval; a NaN interval prints the estimate alone.
    digits
        Decimals.

    Returns
    -------
    str
        ``"–"`` (en dash) when the estimate is NaN (not estimable).
    """
    if _is_missing(estimate):
        return "–"
    if _is_missing(ci_low) or _is_missing(ci_high):
        return f"{estimate:.{digits}f}"
    return f"{estimate:.{digits}f} ({ci_low:.{digits}f}–{ci_high:.{digits}f})"


def _value(comparison: str, statistic: str, group: Any, estimate: float,
           ci_low: float = float("nan"), ci_high: float = float("nan"),
           n: float = float("nan")) -> dict[str, Any]:
    return {"comparison": comparison, "statistic": statistic, "group": group,
            "estimate": _num(estimate), "ci_low": _num(ci_low), "ci_high": _num(ci_high),
            "n": _num(n)}


def _num(value: Any) -> float:
    return float("nan") if _is_missing(value) else float(value)


def _values_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(VALUE_COLUMNS))
    frame["n"] = frame["n"].astype("Int64") if len(frame) else frame["n"]
    return frame


def _excluded_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["subject_id", "metric", "reason"])


def _exclusion_footnotes(excluded: pd.DataFrame) -> list[str]:
    notes = []
    for metric, rows in excluded.groupby("metric", sort=False):
        parts = [f"{reason}: {_ids(sub['subject_id'])}"
                 for reason, sub in rows.groupby("reason", sort=False)]
        notes.append(f"{metric}: {rows['subject_id'].nunique()} subject(s) excluded "
                     f"({'; '.join(parts)}).")
    return notes


# --------------------------------------------------------------------------
# inputs (I/O)
# --------------------------------------------------------------------------

def read_volumes(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read the inference step's volumes table (reads a file).

    Parameters
    ----------
    path
        ``<outputs>/inference/volumes.csv``.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`leukoct.volumes.COLUMNS`; ids, cohorts, groups,
        splits, vendors and mask paths as ``object`` with ``None`` where
        missing, volumes as float.

    Raises
    ------
    KeyError
        If a column of :data:`leukoct.volumes.COLUMNS` is absent.
    ValueError
        If a subject appears twice.
    """
    from leukoct.volumes import COLUMNS

    text_columns = ["subject_id", "cohort", "group", "split", "ct_vendor", "predicted_mask"]
    table = pd.read_csv(path, dtype={c: object for c in text_columns})
    _require(table, COLUMNS, str(path))
    for column in text_columns:
        table[column] = table[column].astype(object).where(table[column].notna(), None)
    for column in (PREDICTED, "registered_ml", "flair_wmh_ml", "true_ml", "seconds"):
        table[column] = pd.to_numeric(table[column], errors="raise").astype(float)
    duplicated = table.loc[table["subject_id"].duplicated(), "subject_id"].tolist()
    if duplicated:
        raise ValueError(f"{path}: subject(s) listed twice: {_ids(duplicated)}")
    return table


def mask_sources(profile: Profile, manifest: pd.DataFrame | None = None) -> dict[str, Any]:
    """Where a profile's reference masks are: keyword arguments of :func:`subject_overlaps`.

    Parameters
    ----------
    profile
        The run's profile: the pseudo-labels are the registration step's
        ``registration/subjects/<id>/wmh_pseudolabel_ct.nii.gz``
        (:func:`leukoct.predictions.label_path`); on a twin profile the true LA
        on the CT grid is ``<data>/truth/<id>_lesion_ct.nii.gz``
        (:func:`leukoct.twin.calibration.truth_mask_path`).
    manifest
        The loaded manifest (:func:`leukoct.manifest.load_manifest`, absolute
        paths); its ``manual_mask_path`` gives the expert's CT masks.

    Returns
    -------
    dict
        ``label_path``, ``truth_path`` (``None`` for real data) and
        ``manual_path`` (``None`` without a manifest).
    """
    from leukoct.predictions import label_path

    def label(subject: str) -> Path:
        return label_path(profile, subject)

    def truth(subject: str) -> Path:
        from leukoct.twin.calibration import truth_mask_path

        return truth_mask_path(profile.manifest.parent, subject, "ct", "lesion")

    manual = None
    if manifest is not None and "manual_mask_path" in manifest.columns:
        manual = {s: p for s, p in zip(manifest["subject_id"], manifest["manual_mask_path"])
                  if not _is_missing(p)}
    return {"label_path": label,
            "truth_path": truth if profile.data.source == "twin" else None,
            "manual_path": manual}


PathSource = (Callable[[str], "str | os.PathLike[str] | None"]
              | Mapping[str, "str | os.PathLike[str] | None"] | None)


def _path_getter(source: PathSource, name: str) -> Callable[[str], Path | None]:
    if source is None:
        return lambda subject: None
    if isinstance(source, Mapping):
        def get(subject: str) -> Any:
            return source.get(subject)
    elif callable(source):
        get = source
    else:
        raise TypeError(f"{name} must be a function of the subject id, a mapping or None, "
                        f"not {type(source).__name__}")

    def resolve(subject: str) -> Path | None:
        try:
            value = get(subject)
        except FileNotFoundError:  # e.g. truth_mask_path: no such truth for this subject
            return None
        return None if _is_missing(value) else Path(value)
    return resolve


def subject_overlaps(volumes: pd.DataFrame, label_path: PathSource,
                     truth_path: PathSource = None, manual_path: PathSource = None, *,
                     prediction_column: str = "predicted_mask",
                     empty: float = float("nan"), atol: float = 1e-3) -> pd.DataFrame:
    """Per-subject Dice of the prediction and the reference masks (reads the masks).

    For each row of ``volumes`` the predicted mask (``predicted_mask``) and,
    where available, the registered pseudo-label (the paper's "CT GT"), the
    twin's true LA mask and the expert's manual mask are read, checked to
    share one grid, and compared voxel by voxel with
    :func:`leukoct.metrics.dice`.

    Parameters
    ----------
    volumes
        Rows to evaluate, with ``subject_id`` and ``prediction_column``.
    label_path, truth_path, manual_path
        Where each subject's pseudo-label / true LA / manual mask is: a
        function of the subject id (e.g. ``mask_sources(profile)["label_path"]``),
        a mapping subject id -> path, or ``None`` (not compared).  A function
        may return ``None`` or raise :class:`FileNotFoundError` for a subject
        that has no such mask.
    prediction_column
        Column of ``volumes`` holding the predicted mask's path.
    empty
        Dice of two empty masks (:func:`leukoct.metrics.dice`).  Default NaN:
        *undefined*, counted apart (``n_undefined``) by the summaries and
        never averaged.  When only one of the two masks is empty the Dice is 0.
    atol
        Tolerance (mm) on the voxel-to-world affines of two masks.

    Returns
    -------
    pandas.DataFrame
        :data:`OVERLAP_COLUMNS`, one row per subject in the order of
        ``volumes``:

        ``predicted_mask_ml``, ``label_mask_ml``, ``truth_mask_ml``, ``manual_mask_ml``
            mask volumes (voxels > 0 times the voxel volume of the header, mL);
            NaN when that mask is not available - which is what tells an
            unavailable comparison (volume NaN) from an undefined one (both
            volumes 0);
        ``dice_vs_label``
            prediction vs pseudo-label: the paper's DSC (Table 2, Table S2);
        ``dice_vs_truth``, ``dice_label_vs_truth``
            prediction vs true LA and pseudo-label vs true LA (twin only: the
            error budget);
        ``dice_vs_manual``
            prediction vs the expert's mask (Figure S2);
        ``missing``
            the masks that could not be read, with the reason, ``""`` when
            none: a prediction or pseudo-label without a path (``"...: no
            path"``), a true LA mask the ``truth_path`` source does not have
            (``"...: not available"``) and any path given whose file does not
            exist (``"...: file not found: <path>"``).  A subject without a
            manual mask is normal (the expert drew 40) and is not listed.

    Raises
    ------
    ValueError
        If two masks of a subject are not on one grid (shape or affine), or a
        mask is not binary - naming the subject and the files; or if a
        subject id is repeated.
    KeyError
        If ``subject_id`` or ``prediction_column`` is absent.

    Notes
    -----
    The Dice counts voxels and does not depend on the voxel size; the
    volumes do (anisotropic voxels included: the product of the three
    spacings).  Masks are compared in the RAS+ orientation
    :func:`leukoct.images.load_volume` gives every image.
    """
    _require(volumes, ["subject_id", prediction_column], "volumes")
    repeated = volumes.loc[volumes["subject_id"].duplicated(), "subject_id"].tolist()
    if repeated:
        raise ValueError(f"subject(s) listed twice: {_ids(repeated)}")
    getters = {"label": _path_getter(label_path, "label_path"),
               "truth": _path_getter(truth_path, "truth_path"),
               "manual": _path_getter(manual_path, "manual_path")}
    rows = []
    for subject, prediction in zip(volumes["subject_id"], volumes[prediction_column]):
        paths = {"predicted": None if _is_missing(prediction) else Path(prediction)}
        paths.update({kind: getter(subject) for kind, getter in getters.items()})
        loaded: dict[str, tuple[Path, Volume]] = {}
        missing = []
        for kind, path in paths.items():
            words = _MASKS[kind][1]
            if path is None:
                if kind in ("predicted", "label"):
                    missing.append(f"{words}: no path")
                elif kind == "truth" and truth_path is not None:
                    missing.append(f"{words}: not available")
                continue
            if not path.is_file():
                missing.append(f"{words}: file not found: {path}")
                continue
            volume = load_volume(path)
            values = np.unique(volume.data)
            if not np.isin(values, (0, 1)).all():
                raise ValueError(f"{subject}: {path} is not a binary mask (values "
                                 f"{values[:6].tolist()}...); threshold it to 0/1 first")
            loaded[kind] = (path, volume)
        if loaded:
            first_kind, (first_path, first) = next(iter(loaded.items()))
            for kind, (path, volume) in loaded.items():
                if not first.same_grid(volume, atol):
                    raise ValueError(
                        f"{subject}: the {_MASKS[kind][1]} {path} and the "
                        f"{_MASKS[first_kind][1]} {first_path} are not on the same grid "
                        f"(shape {volume.data.shape} vs {first.data.shape}, spacing "
                        f"{volume.spacing} vs {first.spacing}, largest affine difference "
                        f"{_affine_difference(first, volume):.3g} mm); resample the mask onto "
                        "the subject's CT grid")
        row: dict[str, Any] = {"subject_id": subject}
        for kind, (column, _) in _MASKS.items():
            row[column] = (mask_volume_ml(loaded[kind][1].data, loaded[kind][1].spacing)
                           if kind in loaded else float("nan"))
        for column, (a, b) in _DICE_PAIRS.items():
            row[column] = (metrics.dice(loaded[a][1].data, loaded[b][1].data, empty=empty)
                           if a in loaded and b in loaded else float("nan"))
        row["missing"] = "; ".join(missing)
        rows.append(row)
    return pd.DataFrame(rows, columns=list(OVERLAP_COLUMNS))


def _affine_difference(a: Volume, b: Volume) -> float:
    if a.affine.shape != b.affine.shape:
        return float("inf")
    return float(np.abs(a.affine - b.affine).max())


# --------------------------------------------------------------------------
# the analysis frame
# --------------------------------------------------------------------------

def evaluation_frame(volumes: pd.DataFrame, overlaps: pd.DataFrame | None = None,
                     manifest: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per analysed CT with everything the artefacts need.

    Parameters
    ----------
    volumes
        The volumes table (:func:`read_volumes`).
    overlaps
        :func:`subject_overlaps` of (some of) the subjects; its columns are
        added, NaN for subjects it does not cover (``overlap_computed`` False).
    manifest
        The manifest, for ``fazekas`` and ``infarct_volume_ml`` (added when
        present).

    Returns
    -------
    pandas.DataFrame
        ``volumes`` plus ``dataset`` (``train`` / ``internal`` for the
        development group by its ``split``, else the ``group``: ``external``,
        ``us``, ``clinical``), the overlap columns with ``overlap_computed``,
        and the manifest columns.  Row order of ``volumes``.
    """
    _require(volumes, _VOLUME_COLUMNS, "volumes")
    frame = volumes.copy()
    development = frame["group"] == "development"
    split = frame["split"].astype(object).where(frame["split"].notna(), "development")
    frame["dataset"] = np.where(development, split, frame["group"].astype(object))
    if overlaps is not None:
        _require(overlaps, OVERLAP_COLUMNS, "overlaps")
        frame = frame.merge(overlaps.assign(overlap_computed=True), on="subject_id",
                            how="left", validate="one_to_one")
        frame["overlap_computed"] = frame["overlap_computed"].astype("boolean").fillna(False)
        frame["overlap_computed"] = frame["overlap_computed"].astype(bool)
    if manifest is not None:
        extra = [c for c in ("fazekas", "infarct_volume_ml") if c in manifest.columns]
        if extra:
            frame = frame.merge(manifest[["subject_id", *extra]], on="subject_id", how="left",
                                validate="one_to_one")
    return frame


# --------------------------------------------------------------------------
# Table 2, Table S2, Figure S3
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class PerformanceTable:
    """A performance table in the paper's layout, with its numbers and footnotes.

    Attributes
    ----------
    table
        For :func:`leukoct.artefacts.save_table` (``index=False``): columns
        ``comparison``, ``statistic`` and one per group (``All`` first, the
        groups in order, ``missing`` last when some subject's group is
        unknown); every cell is text - ``"0.925 (0.906–0.942)"``, ``"–"`` for
        not estimable, counts as integers, the first row ``n (%)`` of
        subjects.
    values
        The same numbers in the long layout :data:`VALUE_COLUMNS`, with the
        group keys (vendor codes, ``"All"``, ``"missing"``).
    footnotes
        The table's footnotes: how the intervals are computed, missing and
        empty groups, every exclusion and undefined Dice (abbreviated).
    excluded
        Every exclusion: ``subject_id``, ``metric``, ``reason``.
    """

    table: pd.DataFrame
    values: pd.DataFrame
    footnotes: tuple[str, ...]
    excluded: pd.DataFrame

    @property
    def footnote(self) -> str:
        """The footnotes as one paragraph (for a caption)."""
        return " ".join(self.footnotes)


def _group_keys(frame: pd.DataFrame, by: str | None, order: Sequence[Any]) -> list[Any]:
    if by is None:
        return []
    keys = frame[by]
    present = list(pd.unique(keys.dropna()))
    groups = list(order) + [g for g in present if g not in order]
    if keys.isna().any():
        groups.append(MISSING)
    return groups


def _in_group(frame: pd.DataFrame, by: str | None, group: Any) -> np.ndarray:
    if group == metrics.ALL:
        return np.ones(len(frame), dtype=bool)
    keys = frame[by]
    if group == MISSING:
        return keys.isna().to_numpy()
    return (keys == group).fillna(False).to_numpy(dtype=bool)


def _performance(frame: pd.DataFrame, *, by: str | None, order: Sequence[Any],
                 labels: Mapping[Any, str], all_label: str, group_words: str,
                 dice_column: str | None, confidence: float, min_n: int,
                 r2_method: Literal["fisher", "olkin-finn"]) -> PerformanceTable:
    refs = [ref for ref, _ in COMPARISONS.values()]
    _require(frame, ["subject_id", PREDICTED, *refs, *([by] if by else [])], "frame")
    frame = frame.reset_index(drop=True)
    groups = _group_keys(frame, by, order)
    columns = [metrics.ALL, *groups]
    values: list[dict[str, Any]] = []
    excluded: list[dict[str, Any]] = []
    footnotes: list[str] = [_CI_NOTE]

    total = len(frame)
    size = {g: int(_in_group(frame, by, g).sum()) for g in columns}
    values += [_value("subjects", "n", g, size[g], n=size[g]) for g in columns]

    display: list[tuple[str, str, dict[Any, str]]] = [(
        "", "n (%)", {g: str(size[g]) if g == metrics.ALL or not total
                      else f"{size[g]} ({100 * size[g] / total:.1f}%)" for g in columns})]
    not_estimable = False
    for key, (ref, label) in COMPARISONS.items():
        has_pred, has_ref = frame[PREDICTED].notna(), frame[ref].notna()
        for subject, pred_ok in zip(frame.loc[~(has_pred & has_ref), "subject_id"],
                                    has_pred[~(has_pred & has_ref)]):
            excluded.append({"subject_id": subject, "metric": f"{label}: r², CCC",
                             "reason": f"no {ref}" if pred_ok else f"no {PREDICTED}"})
        usable = frame.loc[has_pred & has_ref]
        result = metrics.agreement(usable, PREDICTED, ref, by=by,
                                   order=[g for g in groups if g != MISSING],
                                   confidence=confidence, min_n=min_n, nan_policy="raise",
                                   r2_method=r2_method, wide=False)
        result = result.rename(index={metrics.MISSING_GROUP: MISSING}).reindex(columns)
        n = result["n"].fillna(0).astype(int)
        cells: dict[str, dict[Any, str]] = {"n": {}, "r²": {}, "CCC": {}}
        for g in columns:
            row = result.loc[g]
            values += [_value(key, "n", g, n[g], n=n[g]),
                       _value(key, "r2", g, row["r2"], row["r2_ci_low"], row["r2_ci_high"], n[g]),
                       _value(key, "ccc", g, row["ccc"], row["ccc_ci_low"], row["ccc_ci_high"],
                              n[g])]
            cells["n"][g] = str(n[g])
            cells["r²"][g] = format_estimate(row["r2"], row["r2_ci_low"], row["r2_ci_high"])
            cells["CCC"][g] = format_estimate(row["ccc"], row["ccc_ci_low"], row["ccc_ci_high"])
            not_estimable |= bool(n[g] < min_n)
        rows = [(label, stat, cells[stat]) for stat in ("n", "r²", "CCC")]
        if key == "vs_registered" and dice_column is not None:
            rows += _dice_rows(frame, by, columns, dice_column, confidence, label, values,
                               excluded, footnotes)
        display += rows
    if not_estimable:
        footnotes.append(f"–: not estimable (fewer than {min_n} subjects).")
    if by is not None:
        unknown = frame.loc[_in_group(frame, by, MISSING), "subject_id"].tolist()
        if unknown:
            footnotes.append(f"{group_words} missing for {len(unknown)} subject(s) "
                             f"({_ids(unknown)}): counted under All and in the column "
                             f"'{MISSING}'.")
        empty_groups = [labels.get(g, str(g)) for g in groups if size[g] == 0]
        if empty_groups:
            footnotes.append(f"No subject in {', '.join(empty_groups)}: "
                             f"{'its column is' if len(empty_groups) == 1 else 'their columns are'}"
                             " empty.")
    excluded_frame = _excluded_frame(excluded)
    footnotes += _exclusion_footnotes(excluded_frame)

    names = {g: all_label if g == metrics.ALL else labels.get(g, str(g)) for g in columns}
    table = pd.DataFrame([{"comparison": comparison, "statistic": statistic,
                           **{names[g]: cells[g] for g in columns}}
                          for comparison, statistic, cells in display])
    return PerformanceTable(table=table, values=_values_frame(values),
                            footnotes=tuple(footnotes), excluded=excluded_frame)


def _dice_rows(frame: pd.DataFrame, by: str | None, columns: list[Any], dice_column: str,
               confidence: float, label: str, values: list[dict[str, Any]],
               excluded: list[dict[str, Any]], footnotes: list[str]
               ) -> list[tuple[str, str, dict[Any, str]]]:
    if dice_column not in _DICE_PAIRS:
        raise ValueError(f"dice_column must be one of {list(_DICE_PAIRS)}, not {dice_column!r}")
    a, b = (_MASKS[k][0] for k in _DICE_PAIRS[dice_column])
    _require(frame, [dice_column, a, b], "frame (pass the overlaps to evaluation_frame)")
    has_a, has_b = frame[a].notna(), frame[b].notna()
    computed = (frame["overlap_computed"].to_numpy(dtype=bool)
                if "overlap_computed" in frame else np.ones(len(frame), dtype=bool))
    for i in np.flatnonzero(~(has_a & has_b).to_numpy()):
        reason = ("overlap not computed" if not computed[i]
                  else f"no {_MASKS[_DICE_PAIRS[dice_column][0]][1]}" if not has_a.iloc[i]
                  else f"no {_MASKS[_DICE_PAIRS[dice_column][1]][1]}")
        excluded.append({"subject_id": frame.at[i, "subject_id"], "metric": f"{label}: DSC",
                         "reason": reason})
    usable = (has_a & has_b).to_numpy()
    undefined = usable & frame[dice_column].isna().to_numpy()
    if undefined.any():
        footnotes.append(f"DSC undefined (both masks empty) for {int(undefined.sum())} "
                         f"subject(s), left out of the mean: "
                         f"{_ids(frame.loc[undefined, 'subject_id'])}.")
    cells: dict[str, dict[Any, str]] = {"DSC": {}, "n (DSC)": {}}
    single = False
    for g in columns:
        chosen = usable & _in_group(frame, by, g)
        summary = metrics.dice_summary(frame.loc[chosen, dice_column], confidence)
        single |= summary.n == 1
        values.append(_value("vs_registered", "dice", g, summary.mean, summary.ci_low,
                             summary.ci_high, summary.n))
        values.append(_value("vs_registered", "dice_n_undefined", g, summary.n_undefined,
                             n=summary.n_undefined))
        cells["DSC"][g] = format_estimate(summary.mean, summary.ci_low, summary.ci_high)
        cells["n (DSC)"][g] = str(summary.n)
    if single:
        footnotes.append("A DSC printed without an interval rests on one subject.")
    return [(label, stat, cells[stat]) for stat in ("DSC", "n (DSC)")]


def table2(frame: pd.DataFrame, *, dataset: str = "external", by: str = "ct_vendor",
           order: Sequence[str] = VENDORS, dice_column: str | None = "dice_vs_label",
           confidence: float = 0.95, min_n: int = 3,
           r2_method: Literal["fisher", "olkin-finn"] = "fisher") -> PerformanceTable:
    """Table 2: performance on the external test data, all and per CT vendor.

    Parameters
    ----------
    frame
        :func:`evaluation_frame` (with the overlaps for the DSC rows).
    dataset
        Rows used: ``frame["dataset"] == dataset``.
    by, order
        Grouping column and the order of its columns: the paper's Siemens,
        GE, Philips, Toshiba/Canon (:data:`leukoct.schema.VENDORS`).  A vendor
        of ``order`` without subjects keeps its (empty) column and a footnote;
        subjects without a vendor form the column ``"missing"`` with a
        footnote naming them; other vendors follow in order of appearance.
    dice_column
        Per-subject DSC vs the pseudo-label (``"dice_vs_label"``), or ``None``
        to leave the DSC rows out.
    confidence, min_n, r2_method
        As in :func:`leukoct.metrics.agreement`.

    Returns
    -------
    PerformanceTable
        Rows: ``n (%)`` of subjects; for each comparison (predicted vs
        registered LA volume, predicted vs FLAIR WMH volume) the pairs used
        ``n``, ``r²`` and ``CCC``; for the registered LA also ``DSC`` and
        ``n (DSC)``.  A subject without a predicted or reference volume (or a
        mask, for the DSC) is excluded from that metric and footnoted.

    References
    ----------
    .. [1] Ryu WS et al., Table 2.
    """
    _require(frame, ["dataset"], "frame (build it with evaluation_frame)")
    chosen = frame.loc[frame["dataset"] == dataset]
    if chosen.empty:
        raise ValueError(f"no subject of dataset {dataset!r} in the frame; datasets present: "
                         f"{sorted(frame['dataset'].dropna().unique())}")
    return _performance(chosen, by=by, order=order, labels=VENDOR_LABELS, all_label="All",
                        group_words="CT vendor", dice_column=dice_column,
                        confidence=confidence, min_n=min_n, r2_method=r2_method)


def table_s2(frame: pd.DataFrame, *, dataset: str = "internal",
             dice_column: str | None = "dice_vs_label", confidence: float = 0.95,
             min_n: int = 3, r2_method: Literal["fisher", "olkin-finn"] = "fisher",
             column: str = "Internal validation") -> PerformanceTable:
    """Table S2: performance on the internal validation data (``split == "internal"``).

    The same rows as :func:`table2` in one column (the paper's text cites
    from Table S2 the DSC vs registered LA with its CI and the CCCs vs
    registered LA and vs FLAIR WMH; r² is added as in Table 2).

    Parameters
    ----------
    frame
        :func:`evaluation_frame`.
    dataset
        Rows used (``"internal"``: the development subjects of the internal
        split).
    dice_column, confidence, min_n, r2_method
        As in :func:`table2`.
    column
        Header of the value column of ``table`` (``values`` keeps ``"All"``).

    Returns
    -------
    PerformanceTable

    References
    ----------
    .. [1] Ryu WS et al., Results ("internal validation dataset (n=63)") and
       Table S2.
    """
    _require(frame, ["dataset"], "frame (build it with evaluation_frame)")
    chosen = frame.loc[frame["dataset"] == dataset]
    if chosen.empty:
        raise ValueError(f"no subject of dataset {dataset!r} in the frame")
    return _performance(chosen, by=None, order=(), labels={}, all_label=column,
                        group_words="", dice_column=dice_column, confidence=confidence,
                        min_n=min_n, r2_method=r2_method)


def infarct_agreement(frame: pd.DataFrame, *, dataset: str = "external",
                      threshold: float = 10.0, confidence: float = 0.95, min_n: int = 3,
                      dice_column: str | None = None) -> PerformanceTable:
    """Figure S3: agreement by infarct core volume (≤ 10 mL vs > 10 mL).

    Parameters
    ----------
    frame
        :func:`evaluation_frame` with the manifest (``infarct_volume_ml``).
    dataset
        Rows used.
    threshold
        Cut-off in mL (:func:`leukoct.metrics.infarct_group`; a volume equal
        to it is in the lower group).
    confidence, min_n
        As in :func:`leukoct.metrics.agreement`.
    dice_column
        ``None`` (the paper's Figure S3 shows CCCs) or ``"dice_vs_label"``.

    Returns
    -------
    PerformanceTable
        Columns ``All``, ``≤10 mL``, ``>10 mL`` (and ``missing`` for subjects
        without an infarct volume, footnoted).

    References
    ----------
    .. [1] Ryu WS et al., Results (stratification by infarct core volume) and
       Figure S3.
    """
    _require(frame, ["dataset", "infarct_volume_ml"],
             "frame (build it with evaluation_frame(..., manifest=...))")
    chosen = frame.loc[frame["dataset"] == dataset].copy()
    if chosen.empty:
        raise ValueError(f"no subject of dataset {dataset!r} in the frame")
    with warnings.catch_warnings():  # missing volumes are footnoted by _performance
        warnings.simplefilter("ignore", UserWarning)
        chosen["infarct_group"] = metrics.infarct_group(chosen["infarct_volume_ml"], threshold)
    order = list(chosen["infarct_group"].cat.categories)
    return _performance(chosen, by="infarct_group", order=order, labels={}, all_label="All",
                        group_words="Infarct volume", dice_column=dice_column,
                        confidence=confidence, min_n=min_n, r2_method="fisher")


# --------------------------------------------------------------------------
# Figure 2
# --------------------------------------------------------------------------

#: Figure 2's panels: (panel, Dice class, volume class), the paper's order.
FIGURE2_PANELS: tuple[tuple[str, str, str], ...] = (
    ("A", "high", "high"), ("B", "high", "low"), ("C", "low", "high"), ("D", "low", "low"))


def figure2_cases(frame: pd.DataFrame, *, dice_column: str = "dice_vs_label",
                  volume_column: str = "registered_ml", dataset: str | None = "external"
                  ) -> pd.DataFrame:
    """Figure 2: four representative cases, high/low Dice × high/low volume.

    The rule (deterministic, no randomness):

    1. eligible: subjects of ``dataset`` with a defined Dice and a volume
       (undefined Dice - both masks empty - and missing values are left out);
    2. *high* Dice means Dice > the median Dice of the eligible subjects, *low*
       Dice ≤ the median; the same for the volume;
    3. within each of the four quadrants, the case is the subject nearest
       (Euclidean distance of percentile ranks) to the quadrant's typical
       point, the 75th percentile of a *high* and the 25th of a *low*
       variable - a representative case, not the most extreme one; ties go to
       the smallest subject id.

    Percentile ranks are ``(rank - 0.5) / n`` with average ranks for ties.

    Parameters
    ----------
    frame
        :func:`evaluation_frame` with the overlaps (or any frame with
        ``subject_id``, ``dice_column``, ``volume_column`` and - when
        ``dataset`` is given - ``dataset``).
    dice_column, volume_column
        Dice and volume used (the paper: Dice vs registered LA, "WMH /
        leukoaraiosis volume").
    dataset
        Rows used, or ``None`` for all rows.

    Returns
    -------
    pandas.DataFrame
        Four rows in panel order A-D (:data:`FIGURE2_PANELS`): ``panel``,
        ``dice_class``, ``volume_class``, ``subject_id`` (``None`` when the
        quadrant is empty), ``dice``, ``volume_ml``, ``dice_rank``,
        ``volume_rank``, ``note``.  ``attrs``: ``dice_median``,
        ``volume_median``, ``n_eligible``, ``excluded`` (subject ids left out
        in step 1) and ``rule``.
    """
    _require(frame, ["subject_id", dice_column, volume_column], "frame")
    rows = frame if dataset is None else frame.loc[frame["dataset"] == dataset]
    ok = rows[dice_column].notna() & rows[volume_column].notna()
    eligible = rows.loc[ok, ["subject_id", dice_column, volume_column]].rename(
        columns={dice_column: "dice", volume_column: "volume_ml"}).reset_index(drop=True)
    n = len(eligible)
    out = []
    dice_median = float(eligible["dice"].median()) if n else float("nan")
    volume_median = float(eligible["volume_ml"].median()) if n else float("nan")
    if n:
        eligible["dice_rank"] = (eligible["dice"].rank(method="average") - 0.5) / n
        eligible["volume_rank"] = (eligible["volume_ml"].rank(method="average") - 0.5) / n
        eligible["dice_class"] = np.where(eligible["dice"] > dice_median, "high", "low")
        eligible["volume_class"] = np.where(eligible["volume_ml"] > volume_median, "high", "low")
    for panel, dice_class, volume_class in FIGURE2_PANELS:
        record: dict[str, Any] = {"panel": panel, "dice_class": dice_class,
                                  "volume_class": volume_class, "subject_id": None,
                                  "dice": np.nan, "volume_ml": np.nan, "dice_rank": np.nan,
                                  "volume_rank": np.nan, "note": ""}
        quadrant = (eligible.loc[(eligible["dice_class"] == dice_class)
                                 & (eligible["volume_class"] == volume_class)]
                    if n else eligible)
        if quadrant.empty:
            record["note"] = "no subject in this quadrant"
        else:
            target_d = 0.75 if dice_class == "high" else 0.25
            target_v = 0.75 if volume_class == "high" else 0.25
            distance = np.hypot(quadrant["dice_rank"] - target_d,
                                quadrant["volume_rank"] - target_v)
            best = (quadrant.assign(distance=distance.round(12))
                    .sort_values(["distance", "subject_id"], kind="stable").iloc[0])
            record.update({k: best[k] for k in ("subject_id", "dice", "volume_ml", "dice_rank",
                                                "volume_rank")})
        out.append(record)
    result = pd.DataFrame(out)
    result["subject_id"] = pd.Series([r["subject_id"] for r in out], dtype=object)
    result.attrs.update({
        "dice_median": dice_median, "volume_median": volume_median, "n_eligible": n,
        "excluded": rows.loc[~ok, "subject_id"].tolist(),
        "rule": (f"high = above the median of the {n} eligible subjects (Dice "
                 f"{dice_median:.3f}, {volume_column} {volume_median:.2f} mL); per quadrant the "
                 "subject nearest the 75th (high) / 25th (low) percentile ranks"),
    })
    return result


# --------------------------------------------------------------------------
# Figure 3
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Figure3Data:
    """Figure 3's points and panel statistics.

    Attributes
    ----------
    points
        ``panel`` (``"A"``: vs registered LA, ``"B"``: vs FLAIR WMH),
        ``comparison``, ``subject_id``, ``ct_vendor`` (code or ``"missing"``),
        ``vendor`` (display name), ``reference_ml`` (x axis),
        ``predicted_ml`` (y axis).  Only subjects with both volumes.
    stats
        Per panel and vendor (``All`` first): ``panel``, ``comparison``,
        ``group``, ``vendor``, ``n``, ``ccc``, ``ccc_ci_low``, ``ccc_ci_high``,
        ``r2`` - the numbers of :func:`table2`.
    values, footnotes, excluded
        As in :class:`PerformanceTable`.
    """

    points: pd.DataFrame
    stats: pd.DataFrame
    values: pd.DataFrame
    footnotes: tuple[str, ...]
    excluded: pd.DataFrame


def figure3_data(frame: pd.DataFrame, *, dataset: str = "external",
                 order: Sequence[str] = VENDORS, confidence: float = 0.95,
                 min_n: int = 3) -> Figure3Data:
    """Figure 3: predicted vs registered LA (A) and vs FLAIR WMH volume (B), by vendor.

    Parameters
    ----------
    frame
        :func:`evaluation_frame`.
    dataset
        Rows used.
    order
        Vendor order (legend order).
    confidence, min_n
        As in :func:`leukoct.metrics.agreement`.

    Returns
    -------
    Figure3Data
        The notebook draws ``points`` (one colour per ``vendor``, identity
        line) and writes ``stats``' CCC (``group == "All"``) into each panel.

    References
    ----------
    .. [1] Ryu WS et al., Figure 3.
    """
    performance = table2(frame, dataset=dataset, order=order, dice_column=None,
                         confidence=confidence, min_n=min_n)
    chosen = frame.loc[frame["dataset"] == dataset]
    points, stats_rows = [], []
    vals = performance.values
    for panel, (key, (ref, _)) in zip("AB", COMPARISONS.items()):
        both = chosen.loc[chosen[PREDICTED].notna() & chosen[ref].notna()]
        vendor = both["ct_vendor"].astype(object).where(both["ct_vendor"].notna(), MISSING)
        points.append(pd.DataFrame({
            "panel": panel, "comparison": key, "subject_id": both["subject_id"].to_numpy(),
            "ct_vendor": vendor.to_numpy(),
            "vendor": [VENDOR_LABELS.get(v, v) for v in vendor],
            "reference_ml": both[ref].to_numpy(dtype=float),
            "predicted_ml": both[PREDICTED].to_numpy(dtype=float)}))
        mine = vals.loc[vals["comparison"] == key].set_index(["statistic", "group"])
        for group in dict.fromkeys(vals.loc[vals["comparison"] == key, "group"]):
            ccc = mine.loc[("ccc", group)]
            stats_rows.append({
                "panel": panel, "comparison": key, "group": group,
                "vendor": "All" if group == metrics.ALL else VENDOR_LABELS.get(group, group),
                "n": int(mine.loc[("n", group), "estimate"]), "ccc": ccc["estimate"],
                "ccc_ci_low": ccc["ci_low"], "ccc_ci_high": ccc["ci_high"],
                "r2": mine.loc[("r2", group), "estimate"]})
    values = performance.values.loc[performance.values["comparison"] != "subjects"]
    return Figure3Data(points=pd.concat(points, ignore_index=True),
                       stats=pd.DataFrame(stats_rows), values=values.reset_index(drop=True),
                       footnotes=performance.footnotes, excluded=performance.excluded)


# --------------------------------------------------------------------------
# Figure 4
# --------------------------------------------------------------------------

def fazekas_summary(frame: pd.DataFrame, *, volume: str = PREDICTED, grade: str = "fazekas",
                    grades: Sequence[int] = (0, 1, 2, 3)) -> pd.DataFrame:
    """Median (IQR) of a volume per Fazekas grade (Figure 4's bars and numbers).

    Parameters
    ----------
    frame
        Rows to summarise (one cohort), with ``volume`` and ``grade``.
        Rows missing either are left out (:func:`figure4_data` lists them).
    volume, grade
        Columns.
    grades
        Grades shown, in order; a grade without subjects gets ``n = 0`` and
        NaN statistics.  Grades present but not listed are an error.

    Returns
    -------
    pandas.DataFrame
        ``grade``, ``n``, ``median``, ``q1``, ``q3`` (25th / 75th percentiles,
        linear interpolation as :meth:`pandas.Series.quantile`) and ``label``
        (``"median (q1–q3)"``, 1 decimal, as printed in the figure).
    """
    _require(frame, [volume, grade], "frame")
    ok = frame[volume].notna() & frame[grade].notna()
    data = pd.DataFrame({"v": pd.to_numeric(frame.loc[ok, volume]).astype(float),
                         "g": pd.to_numeric(frame.loc[ok, grade]).astype(int)})
    unknown = sorted(set(data["g"]) - set(grades))
    if unknown:
        raise ValueError(f"Fazekas grade(s) {unknown} not in grades={list(grades)}")
    rows = []
    for g in grades:
        v = data.loc[data["g"] == g, "v"]
        if v.empty:
            rows.append({"grade": g, "n": 0, "median": np.nan, "q1": np.nan, "q3": np.nan,
                         "label": "–"})
            continue
        q1, median, q3 = (float(x) for x in v.quantile([0.25, 0.5, 0.75]))
        rows.append({"grade": g, "n": int(v.size), "median": median, "q1": q1, "q3": q3,
                     "label": f"{median:.1f} ({q1:.1f}–{q3:.1f})"})
    return pd.DataFrame(rows)


def fazekas_correlation(frame: pd.DataFrame, *, volume: str = PREDICTED,
                        grade: str = "fazekas", confidence: float = 0.95) -> pd.DataFrame:
    """Pearson correlation of a volume with the Fazekas grade (Figure 4's r).

    Parameters
    ----------
    frame
        Rows of one cohort; rows missing the volume or the grade are left out.
    volume, grade
        Columns.
    confidence
        Confidence level of the interval.

    Returns
    -------
    pandas.DataFrame
        Two rows, ``scale`` ``"volume"`` (the paper's: r of the volume in mL
        with the grade) and ``"log1p volume"`` (r of ln(1 + volume/mL): the
        twin plants the grade on the log volume, see docs/decisions.md), with
        ``n``, ``r``, ``ci_low``, ``ci_high``, ``p_value``
        (:func:`leukoct.metrics.pearson`).
    """
    _require(frame, [volume, grade], "frame")
    ok = frame[volume].notna() & frame[grade].notna()
    v = pd.to_numeric(frame.loc[ok, volume]).to_numpy(dtype=float)
    g = pd.to_numeric(frame.loc[ok, grade]).to_numpy(dtype=float)
    rows = []
    for scale, x in (("volume", v), ("log1p volume", np.log1p(v))):
        pr = metrics.pearson(x, g, confidence=confidence)
        rows.append({"scale": scale, "n": pr.n, "r": pr.r, "ci_low": pr.ci_low,
                     "ci_high": pr.ci_high, "p_value": pr.p_value})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Figure4Data:
    """Figure 4's data, per cohort (external: panel A, US: panel B).

    Attributes
    ----------
    points
        ``panel``, ``dataset``, ``subject_id``, ``fazekas``, ``predicted_ml``.
    summary
        :func:`fazekas_summary` per cohort, with ``panel`` and ``dataset``.
    correlation
        :func:`fazekas_correlation` per cohort, with ``panel`` and ``dataset``.
    values, footnotes, excluded
        As in :class:`PerformanceTable` (``values``: ``vs_fazekas`` /
        ``pearson_r`` and ``pearson_p`` on the volume scale).
    """

    points: pd.DataFrame
    summary: pd.DataFrame
    correlation: pd.DataFrame
    values: pd.DataFrame
    footnotes: tuple[str, ...]
    excluded: pd.DataFrame


def figure4_data(frame: pd.DataFrame, *, datasets: Sequence[str] = ("external", "us"),
                 grades: Sequence[int] = (0, 1, 2, 3), confidence: float = 0.95
                 ) -> Figure4Data:
    """Figure 4: predicted LA volume by Fazekas grade, external (A) and US (B).

    Parameters
    ----------
    frame
        :func:`evaluation_frame` with the manifest (``fazekas``).
    datasets
        Cohorts, one panel each (A, B, ...).
    grades
        Grades on the x axis.
    confidence
        Confidence level of Pearson's r.

    Returns
    -------
    Figure4Data
        Subjects without a grade or a predicted volume are excluded and listed.

    References
    ----------
    .. [1] Ryu WS et al., Figure 4 and Results (Pearson r 0.832 external,
       0.891 US).
    """
    _require(frame, ["dataset", "subject_id", PREDICTED, "fazekas"],
             "frame (build it with evaluation_frame(..., manifest=...))")
    points, summaries, correlations, values, excluded = [], [], [], [], []
    for panel, dataset in zip("ABCDEFGH", datasets):
        rows = frame.loc[frame["dataset"] == dataset]
        for subject, has_v, has_g in zip(rows["subject_id"], rows[PREDICTED].notna(),
                                         rows["fazekas"].notna()):
            if not has_v:
                excluded.append({"subject_id": subject, "metric": f"Figure 4 ({dataset})",
                                 "reason": f"no {PREDICTED}"})
            elif not has_g:
                excluded.append({"subject_id": subject, "metric": f"Figure 4 ({dataset})",
                                 "reason": "no Fazekas grade"})
        ok = rows[PREDICTED].notna() & rows["fazekas"].notna()
        points.append(pd.DataFrame({
            "panel": panel, "dataset": dataset, "subject_id": rows.loc[ok, "subject_id"],
            "fazekas": pd.to_numeric(rows.loc[ok, "fazekas"]).astype(int),
            "predicted_ml": rows.loc[ok, PREDICTED].astype(float)}))
        summary = fazekas_summary(rows, grades=grades)
        summaries.append(summary.assign(panel=panel, dataset=dataset))
        correlation = fazekas_correlation(rows, confidence=confidence)
        correlations.append(correlation.assign(panel=panel, dataset=dataset))
        raw = correlation.iloc[0]
        values += [_value("vs_fazekas", "pearson_r", dataset, raw["r"], raw["ci_low"],
                          raw["ci_high"], raw["n"]),
                   _value("vs_fazekas", "pearson_p", dataset, raw["p_value"], n=raw["n"])]
    excluded_frame = _excluded_frame(excluded)
    footnotes = ("Bars: median (IQR) of the predicted LA volume per Fazekas grade; r: Pearson "
                 "correlation of the volume (mL) with the grade, Fisher-z 95 % CI.",
                 *_exclusion_footnotes(excluded_frame))
    return Figure4Data(points=pd.concat(points, ignore_index=True),
                       summary=pd.concat(summaries, ignore_index=True),
                       correlation=pd.concat(correlations, ignore_index=True),
                       values=_values_frame(values), footnotes=tuple(footnotes),
                       excluded=excluded_frame)


# --------------------------------------------------------------------------
# Figure S1
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class FigureS1Data:
    """Figure S1's points and trend statistics.

    Attributes
    ----------
    points
        ``dataset``, ``subject_id``, ``dice``, ``registered_ml``,
        ``flair_wmh_ml``: subjects with a defined Dice.
    trend
        Per dataset and reference volume: ``dataset``, ``reference``, ``n``,
        ``spearman_rho``, ``p_value`` (:func:`scipy.stats.spearmanr` of Dice
        with the volume: the paper's "DSC increased with the volume").
    footnotes, excluded
        As in :class:`PerformanceTable`.
    """

    points: pd.DataFrame
    trend: pd.DataFrame
    footnotes: tuple[str, ...]
    excluded: pd.DataFrame


def figure_s1_data(frame: pd.DataFrame, *, datasets: Sequence[str] = ("internal", "external"),
                   dice_column: str = "dice_vs_label") -> FigureS1Data:
    """Figure S1: Dice vs registered LA and FLAIR WMH volume, internal and external.

    Parameters
    ----------
    frame
        :func:`evaluation_frame` with the overlaps.
    datasets
        Sets shown.
    dice_column
        Dice plotted.

    Returns
    -------
    FigureS1Data
        Subjects without a Dice (missing mask) or with an undefined one (both
        masks empty) are excluded and listed; a subject missing one volume is
        left out of that volume's trend only.

    References
    ----------
    .. [1] Ryu WS et al., Results and Figure S1.
    """
    _require(frame, ["dataset", "subject_id", dice_column, "registered_ml", "flair_wmh_ml"],
             "frame (build it with evaluation_frame(..., overlaps=...))")
    pair = _DICE_PAIRS.get(dice_column)
    points, trend, excluded = [], [], []
    for dataset in datasets:
        rows = frame.loc[frame["dataset"] == dataset]
        defined = rows[dice_column].notna()
        for subject, i in zip(rows.loc[~defined, "subject_id"], np.flatnonzero(~defined)):
            masks_read = pair is not None and all(
                _MASKS[k][0] in rows and not _is_missing(rows[_MASKS[k][0]].iloc[i])
                for k in pair)
            excluded.append({"subject_id": subject, "metric": f"Figure S1 ({dataset})",
                             "reason": "Dice undefined (both masks empty)" if masks_read
                             else "no Dice (mask missing)"})
        chosen = rows.loc[defined]
        points.append(pd.DataFrame({
            "dataset": dataset, "subject_id": chosen["subject_id"],
            "dice": chosen[dice_column].astype(float),
            "registered_ml": chosen["registered_ml"].astype(float),
            "flair_wmh_ml": chosen["flair_wmh_ml"].astype(float)}))
        for reference in ("registered_ml", "flair_wmh_ml"):
            ok = chosen[reference].notna()
            n = int(ok.sum())
            if n >= 3 and chosen.loc[ok, reference].nunique() > 1 \
                    and chosen.loc[ok, dice_column].nunique() > 1:
                res = stats.spearmanr(chosen.loc[ok, dice_column], chosen.loc[ok, reference])
                rho, p = float(res.statistic), float(res.pvalue)
            else:
                rho = p = float("nan")
            trend.append({"dataset": dataset, "reference": reference, "n": n,
                          "spearman_rho": rho, "p_value": p})
    excluded_frame = _excluded_frame(excluded)
    return FigureS1Data(points=pd.concat(points, ignore_index=True), trend=pd.DataFrame(trend),
                        footnotes=tuple(_exclusion_footnotes(excluded_frame)),
                        excluded=excluded_frame)


# --------------------------------------------------------------------------
# Figure S2
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class ManualAgreement:
    """Figure S2: agreement with the expert's manual CT masks.

    Attributes
    ----------
    points
        ``subject_id``, ``manual_ml`` (x), ``predicted_ml`` (y),
        ``registered_ml``, ``dice_vs_manual``.
    ccc
        :class:`leukoct.metrics.CCCResult` of predicted vs manual volume (the
        paper's 0.858).
    ccc_registered
        The same for the registered pseudo-label vs manual volume (how close
        the training labels are to the expert; beyond the paper).
    dice
        :class:`leukoct.metrics.DiceSummary` of prediction vs manual mask.
    values, footnotes, excluded
        As in :class:`PerformanceTable` (``comparison`` ``vs_manual`` and
        ``registered_vs_manual``).
    """

    points: pd.DataFrame
    ccc: metrics.CCCResult
    ccc_registered: metrics.CCCResult
    dice: metrics.DiceSummary
    values: pd.DataFrame
    footnotes: tuple[str, ...]
    excluded: pd.DataFrame


def manual_agreement(frame: pd.DataFrame, *, dataset: str | None = "external",
                     confidence: float = 0.95) -> ManualAgreement:
    """Figure S2: predicted LA volume vs the expert's manual CT masks.

    Parameters
    ----------
    frame
        :func:`evaluation_frame` with the overlaps computed with
        ``manual_path`` (``manual_mask_ml``, ``dice_vs_manual``).
    dataset
        Rows used (``None``: all); only subjects with a manual mask count.
    confidence
        Confidence level.

    Returns
    -------
    ManualAgreement

    References
    ----------
    .. [1] Ryu WS et al., Results ("40 randomly selected cases ... ρ=0.858")
       and Figure S2.
    """
    _require(frame, ["subject_id", PREDICTED, "registered_ml", "manual_mask_ml",
                     "dice_vs_manual"], "frame (evaluation_frame with the overlaps)")
    rows = frame if dataset is None else frame.loc[frame["dataset"] == dataset]
    rows = rows.loc[rows["manual_mask_ml"].notna()]
    excluded = []
    for metric, column in (("Figure S2: predicted vs manual", PREDICTED),
                           ("Figure S2: registered vs manual", "registered_ml")):
        for subject in rows.loc[rows[column].isna(), "subject_id"]:
            excluded.append({"subject_id": subject, "metric": metric,
                             "reason": f"no {column}"})
    has_pred = rows[PREDICTED].notna()
    has_reg = rows["registered_ml"].notna()
    ccc = metrics.lins_ccc(rows.loc[has_pred, PREDICTED], rows.loc[has_pred, "manual_mask_ml"],
                           confidence)
    ccc_reg = metrics.lins_ccc(rows.loc[has_reg, "registered_ml"],
                               rows.loc[has_reg, "manual_mask_ml"], confidence)
    dice = metrics.dice_summary(rows["dice_vs_manual"], confidence)
    if dice.n_undefined:
        undefined = rows.loc[rows["dice_vs_manual"].isna(), "subject_id"]
        excluded += [{"subject_id": s, "metric": "Figure S2: DSC vs manual",
                      "reason": "Dice undefined (both masks empty)"} for s in undefined]
    values = [_value("vs_manual", "n", "All", ccc.n, n=ccc.n),
              _value("vs_manual", "ccc", "All", ccc.ccc, ccc.ci_low, ccc.ci_high, ccc.n),
              _value("vs_manual", "dice", "All", dice.mean, dice.ci_low, dice.ci_high, dice.n),
              _value("registered_vs_manual", "ccc", "All", ccc_reg.ccc, ccc_reg.ci_low,
                     ccc_reg.ci_high, ccc_reg.n)]
    points = pd.DataFrame({"subject_id": rows["subject_id"],
                           "manual_ml": rows["manual_mask_ml"].astype(float),
                           "predicted_ml": rows[PREDICTED].astype(float),
                           "registered_ml": rows["registered_ml"].astype(float),
                           "dice_vs_manual": rows["dice_vs_manual"].astype(float)}
                          ).reset_index(drop=True)
    excluded_frame = _excluded_frame(excluded)
    footnotes = (f"{len(rows)} subject(s) with a manual CT mask; CCC: Lin's concordance "
                 "correlation coefficient of the volumes (95 % CI).",
                 *_exclusion_footnotes(excluded_frame))
    return ManualAgreement(points=points, ccc=ccc, ccc_registered=ccc_reg, dice=dice,
                           values=_values_frame(values), footnotes=footnotes,
                           excluded=excluded_frame)


# --------------------------------------------------------------------------
# error budget (twin only)
# --------------------------------------------------------------------------

#: The error budget's comparisons: (label, x volume, y volume, Dice column).
ERROR_BUDGET: tuple[tuple[str, str, str, str], ...] = (
    ("pseudo-label vs truth (registration + FLAIR software)", "registered_ml", "true_ml",
     "dice_label_vs_truth"),
    ("prediction vs pseudo-label (the paper's DSC and CCC)", PREDICTED, "registered_ml",
     "dice_vs_label"),
    ("prediction vs truth (what the model gets right)", PREDICTED, "true_ml", "dice_vs_truth"),
)


def twin_error_budget(frame: pd.DataFrame, *,
                      datasets: Sequence[str] = ("internal", "external"),
                      confidence: float = 0.95) -> pd.DataFrame:
    """Error budget on the digital twin: how much of the weak DSC is registration.

    For each dataset, Dice (mean, 95 % CI) and CCC (95 % CI) of the
    registered pseudo-label vs the true LA, the prediction vs the
    pseudo-label (the paper's comparison) and the prediction vs the true LA.

    Parameters
    ----------
    frame
        :func:`evaluation_frame` with overlaps computed with ``truth_path``.
    datasets
        Rows, one block each.
    confidence
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        ``dataset``, ``comparison``, ``n_volume``, ``ccc``, ``ccc_ci_low``,
        ``ccc_ci_high``, ``n_dice``, ``n_dice_undefined``, ``dice``,
        ``dice_ci_low``, ``dice_ci_high``, ``excluded`` (ids left out of
        either statistic for a missing value), ``ccc_text``, ``dice_text``.

    Raises
    ------
    ValueError
        If the frame has no true volume (not a twin study).
    """
    _require(frame, ["dataset", "subject_id", PREDICTED, "registered_ml", "true_ml",
                     "dice_label_vs_truth", "dice_vs_label", "dice_vs_truth",
                     *(v[0] for v in _MASKS.values())],
             "frame (evaluation_frame with overlaps computed with truth_path)")
    if frame["true_ml"].isna().all():
        raise ValueError("no true LA volume in the frame: the error budget needs the digital "
                         "twin's truth (true_ml and truth masks)")
    rows = []
    for dataset in datasets:
        sub = frame.loc[frame["dataset"] == dataset]
        for label, x, y, dice_column in ERROR_BUDGET:
            ok = sub[x].notna() & sub[y].notna()
            a, b = (_MASKS[k][0] for k in _DICE_PAIRS[dice_column])
            masks = sub[a].notna() & sub[b].notna()
            ccc = metrics.lins_ccc(sub.loc[ok, x], sub.loc[ok, y], confidence)
            dice = metrics.dice_summary(sub.loc[masks, dice_column], confidence)
            rows.append({
                "dataset": dataset, "comparison": label, "n_volume": ccc.n, "ccc": ccc.ccc,
                "ccc_ci_low": ccc.ci_low, "ccc_ci_high": ccc.ci_high, "n_dice": dice.n,
                "n_dice_undefined": dice.n_undefined, "dice": dice.mean,
                "dice_ci_low": dice.ci_low, "dice_ci_high": dice.ci_high,
                "excluded": _ids(sub.loc[~(ok & masks), "subject_id"]),
                "ccc_text": format_estimate(ccc.ccc, ccc.ci_low, ccc.ci_high),
                "dice_text": format_estimate(dice.mean, dice.ci_low, dice.ci_high)})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------
# the paper's published values
# --------------------------------------------------------------------------

#: Files of published values: table key -> data file of the package.
#: Published tables read with :func:`leukoct.paper.paper_table` (``data/paper_<name>.csv``).
PUBLISHED_FILES: dict[str, str] = {"table2": "table2", "tableS2": "tableS2"}

#: Published values of the evaluation figures, cited in the Results text
#: (not tables, so kept here; same columns as the CSV files).
PAPER_FIGURE_VALUES: tuple[dict[str, str], ...] = (
    {"table": "figure4", "comparison": "vs_fazekas", "statistic": "pearson_r",
     "group": "external", "estimate": "0.832", "printed": "0.832; p<0.001",
     "source": "Results, Segmentation performance, paragraph 2; abstract",
     "note": "Figure 4A"},
    {"table": "figure4", "comparison": "vs_fazekas", "statistic": "pearson_r", "group": "us",
     "estimate": "0.891", "printed": "0.891; p<0.001",
     "source": "Results, Segmentation performance, paragraph 3; abstract",
     "note": "Figure 4B; 100 US scans (abstract)"},
    {"table": "figureS2", "comparison": "vs_manual", "statistic": "n", "group": "All",
     "estimate": "40", "printed": "40 randomly selected cases",
     "source": "Results, Segmentation performance, paragraph 2; Methods", "note": ""},
    {"table": "figureS2", "comparison": "vs_manual", "statistic": "ccc", "group": "All",
     "estimate": "0.858", "printed": "ρ=0.858",
     "source": "Results, Segmentation performance, paragraph 2", "note": "Figure S2"},
    {"table": "figureS3", "comparison": "subjects", "statistic": "n", "group": ">10 mL",
     "estimate": "99", "printed": "n=99", "source": "Results, Subgroup analysis, paragraph 2",
     "note": "99 + 312 = 411, the external patients identified, not the 390 analysed"},
    {"table": "figureS3", "comparison": "subjects", "statistic": "n", "group": "≤10 mL",
     "estimate": "312", "printed": "n=312", "source": "Results, Subgroup analysis, paragraph 2",
     "note": "99 + 312 = 411, the external patients identified, not the 390 analysed"},
    {"table": "figureS3", "comparison": "vs_registered", "statistic": "ccc", "group": ">10 mL",
     "estimate": "0.912", "printed": "ρ=0.912",
     "source": "Results, Subgroup analysis, paragraph 2",
     "note": "transcribed in the Results' order (>10 mL first); the abstract pairs 0.912 with "
             "≤10 mL and 0.922 with >10 mL; the Discussion's 'slightly lower accuracy' with "
             "large infarcts supports the Results' order"},
    {"table": "figureS3", "comparison": "vs_registered", "statistic": "ccc", "group": "≤10 mL",
     "estimate": "0.922", "printed": "ρ=0.922",
     "source": "Results, Subgroup analysis, paragraph 2",
     "note": "see the >10 mL row: the abstract reverses the order"},
    {"table": "figureS3", "comparison": "vs_flair", "statistic": "ccc", "group": ">10 mL",
     "estimate": "0.760", "printed": "ρ=0.760",
     "source": "Results, Subgroup analysis, paragraph 2",
     "note": "the abstract prints 0.760 as the overall external CCC vs FLAIR (Table 2: 0.883)"},
    {"table": "figureS3", "comparison": "vs_flair", "statistic": "ccc", "group": "≤10 mL",
     "estimate": "0.786", "printed": "ρ=0.786",
     "source": "Results, Subgroup analysis, paragraph 2", "note": ""},
)

_PUBLISHED_COLUMNS = ("table", "comparison", "statistic", "group", "estimate", "ci_low",
                      "ci_high", "printed", "source", "note")


def published_values(table: str | None = None) -> pd.DataFrame:
    """The paper's published evaluation values (reads the package's data files).

    Parameters
    ----------
    table
        ``"table2"`` (``leukoct/data/paper_table2.csv``), ``"tableS2"``
        (``paper_tableS2.csv``), ``"figure4"``, ``"figureS2"``,
        ``"figureS3"`` (:data:`PAPER_FIGURE_VALUES`), or ``None`` for all.

    Returns
    -------
    pandas.DataFrame
        ``table, comparison, statistic, group, estimate, ci_low, ci_high,
        printed, source, note``; the numbers as float (NaN where not printed),
        the rest as text.  Keys as in :data:`VALUE_COLUMNS`.
    """
    known = [*PUBLISHED_FILES, *dict.fromkeys(r["table"] for r in PAPER_FIGURE_VALUES)]
    if table is not None and table not in known:
        raise ValueError(f"table must be one of {known} or None, not {table!r}")
    frames = [paper_table(path) for key, path in PUBLISHED_FILES.items()
              if table in (None, key)]
    frames.append(pd.DataFrame(list(PAPER_FIGURE_VALUES)).fillna(""))
    values = pd.concat(frames, ignore_index=True).reindex(columns=list(_PUBLISHED_COLUMNS))
    if table is not None:
        values = values.loc[values["table"] == table].reset_index(drop=True)
    for column in _PUBLISHED_COLUMNS:
        text = values[column].astype(object)
        text = text.where(text.notna() & (text != ""), None)
        if column in ("estimate", "ci_low", "ci_high"):
            values[column] = pd.to_numeric(text).astype(float)
        else:
            values[column] = text.where(text.notna(), "").astype(str)
    return values


def compare_with_paper(values: pd.DataFrame, table: str,
                       published: pd.DataFrame | None = None) -> pd.DataFrame:
    """Reproduced values beside the paper's published ones.

    Parameters
    ----------
    values
        A result's ``values`` (:data:`VALUE_COLUMNS`), e.g. ``table2(...).values``.
    table
        Which published table to compare with (see :func:`published_values`).
    published
        The published values (default: :func:`published_values` of ``table``).

    Returns
    -------
    pandas.DataFrame
        One row per published value, in the published order: ``comparison``,
        ``statistic``, ``group``, ``published`` (as printed),
        ``published_estimate``, ``published_ci_low``, ``published_ci_high``,
        ``reproduced_estimate``, ``reproduced_ci_low``, ``reproduced_ci_high``,
        ``reproduced_n``, ``difference`` (reproduced - published),
        ``published_in_ci`` (the published estimate inside the reproduced
        interval; ``<NA>`` without one), ``reproduced`` (formatted),
        ``source``, ``note``.  A published value without a reproduced one
        keeps NaN there and its note starts with ``"not reproduced"`` (no
        such value in ``values``) or ``"not estimable here (n = k)"``.
    """
    _require(values, VALUE_COLUMNS, "values")
    published = published_values(table) if published is None else published
    mine = values.drop_duplicates(["comparison", "statistic", "group"]).rename(columns={
        "estimate": "reproduced_estimate", "ci_low": "reproduced_ci_low",
        "ci_high": "reproduced_ci_high", "n": "reproduced_n"})
    theirs = published.rename(columns={"estimate": "published_estimate",
                                       "ci_low": "published_ci_low",
                                       "ci_high": "published_ci_high", "printed": "published"})
    merged = theirs.merge(mine, on=["comparison", "statistic", "group"], how="left",
                          validate="one_to_one")
    merged["difference"] = merged["reproduced_estimate"] - merged["published_estimate"]
    inside = ((merged["reproduced_ci_low"] <= merged["published_estimate"])
              & (merged["published_estimate"] <= merged["reproduced_ci_high"]))
    has_ci = merged["reproduced_ci_low"].notna() & merged["reproduced_ci_high"].notna()
    merged["published_in_ci"] = pd.array(inside, dtype="boolean")
    merged.loc[~has_ci, "published_in_ci"] = pd.NA
    digits = np.where(merged["statistic"] == "n", 0, 3)
    merged["reproduced"] = [format_estimate(e, lo, hi, int(d)) for e, lo, hi, d in zip(
        merged["reproduced_estimate"], merged["reproduced_ci_low"],
        merged["reproduced_ci_high"], digits)]
    absent = merged["reproduced_estimate"].isna()
    merged.loc[absent, "note"] = [
        ("not reproduced" if _is_missing(n) else f"not estimable here (n = {int(n)})")
        + (f"; {note}" if note else "")
        for n, note in zip(merged.loc[absent, "reproduced_n"], merged.loc[absent, "note"])]
    return merged[["comparison", "statistic", "group", "published", "published_estimate",
                   "published_ci_low", "published_ci_high", "reproduced_estimate",
                   "reproduced_ci_low", "reproduced_ci_high", "reproduced_n", "difference",
                   "published_in_ci", "reproduced", "source", "note"]]
