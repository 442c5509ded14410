"""Inputs of the evaluation: the volumes table, the masks, per-subject overlaps, the analysis frame.

Everything here reads files except :func:`evaluation_frame`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from leukoct import metrics
from leukoct.evaluation._common import (
    _DICE_PAIRS,
    _MASKS,
    _VOLUME_COLUMNS,
    OVERLAP_COLUMNS,
    _ids,
    is_missing,
)
from leukoct.images import Volume, load_volume, mask_volume_ml
from leukoct.messages import require_columns
from leukoct.run import Run
from leukoct.schema import CLINICAL_COHORTS
from leukoct.volumes import read_volumes

if TYPE_CHECKING:  # pragma: no cover
    from leukoct.config import Profile

# --------------------------------------------------------------------------
# inputs (I/O)
# --------------------------------------------------------------------------

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
                  if not is_missing(p)}
    return {"label_path": label,
            "truth_path": truth if profile.data.source == "twin" else None,
            "manual_path": manual}


PathSource = (Callable[[str], "str | os.PathLike[str] | None"]
              | Mapping[str, "str | os.PathLike[str] | None"] | None)


def path_getter(source: PathSource, name: str) -> Callable[[str], Path | None]:
    """A subject id -> mask path function from a :data:`PathSource` (shared by the
    overlap and lesion-count readers); ``name`` is the argument named in the error."""
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
        return None if is_missing(value) else Path(value)
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
    require_columns(volumes, ["subject_id", prediction_column], "volumes")
    repeated = volumes.loc[volumes["subject_id"].duplicated(), "subject_id"].tolist()
    if repeated:
        raise ValueError(f"subject(s) listed twice: {_ids(repeated)}")
    getters = {"label": path_getter(label_path, "label_path"),
               "truth": path_getter(truth_path, "truth_path"),
               "manual": path_getter(manual_path, "manual_path")}
    rows = []
    for subject, prediction in zip(volumes["subject_id"], volumes[prediction_column]):
        paths = {"predicted": None if is_missing(prediction) else Path(prediction)}
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


#: Groups whose masks are compared: those with a pseudo-label (paired CT-MRI).
OVERLAP_GROUPS: tuple[str, ...] = ("development", "external")


def overlaps_path(profile: Profile) -> Path:
    """The workflow's per-subject overlap table, ``<outputs>/evaluation/overlaps.csv``."""
    return Run(profile).overlaps


def write_overlaps(profile: Profile) -> pd.DataFrame:
    """Compute :func:`subject_overlaps` of every paired subject and write it (reads the masks).

    The development and external groups (:data:`OVERLAP_GROUPS`) of the
    inference step's volumes table are compared with their pseudo-labels,
    the expert's manual masks (manifest ``manual_mask_path``) and, on the
    twin, the true LA masks.  One pass over the masks serves every
    evaluation chapter.

    Returns
    -------
    pandas.DataFrame
        The table written to :func:`overlaps_path` of ``profile``.
    """
    from leukoct.manifest import load_manifest
    from leukoct.predictions import volumes_path

    volumes = read_volumes(volumes_path(profile))
    manifest = load_manifest(profile.manifest, verify_checksums=False)
    paired = volumes.loc[volumes["group"].isin(OVERLAP_GROUPS)]
    overlaps = subject_overlaps(paired, **mask_sources(profile, manifest))
    path = overlaps_path(profile)
    path.parent.mkdir(parents=True, exist_ok=True)
    overlaps.to_csv(path, index=False, lineterminator="\n")
    from leukoct.predictions import on_flair_grid

    if on_flair_grid(profile):
        flair_grid_overlaps(profile, paired["subject_id"]).to_csv(
            Run(profile).overlaps_flair, index=False, lineterminator="\n")
    return overlaps


def flair_grid_overlaps(profile: Profile, subjects: pd.Series) -> pd.DataFrame:
    """:func:`subject_overlaps` on the FLAIR grid, seed 003's evaluation (reads the masks).

    For a profile with ``steps.registration.direction: ct_to_flair``: each
    subject's prediction on its FLAIR grid against the WMH mask as drawn
    (``label``) and, on the twin, the true LA on the FLAIR grid (``truth``).
    Subjects predicted on their CT (no registered FLAIR) have no row.
    """
    from leukoct.predictions import GROUPS, flair_grid_files, predictions_path

    tables = [pd.read_csv(predictions_path(profile, g)) for g in GROUPS]
    predicted = pd.concat([t for t in tables if "flair_mask_path" in t.columns], ignore_index=True)
    predicted = predicted.loc[predicted["subject_id"].isin(set(subjects))
                              & predicted["flair_mask_path"].notna()]

    def truth(subject: str) -> Path:
        from leukoct.twin.calibration import truth_mask_path

        return truth_mask_path(profile.manifest.parent, subject, "flair", "lesion")

    return subject_overlaps(predicted, lambda s: flair_grid_files(profile, s)[1],
                            truth if profile.data.source == "twin" else None,
                            prediction_column="flair_mask_path")


def read_overlaps(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a table written by :func:`write_overlaps` (reads a file).

    Raises
    ------
    KeyError
        If a column of :data:`OVERLAP_COLUMNS` is absent.
    """
    table = pd.read_csv(path, dtype={"subject_id": object, "missing": object},
                        keep_default_na=False, na_values={c: [""] for c in OVERLAP_COLUMNS
                                                          if c not in ("subject_id", "missing")})
    require_columns(table, OVERLAP_COLUMNS, str(path))
    return table[list(OVERLAP_COLUMNS)]


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
        present; NaN in the clinical cohort, whose cells the clinical step reads).

    Returns
    -------
    pandas.DataFrame
        ``volumes`` plus ``dataset`` (``train`` / ``internal`` for the
        development group by its ``split``, else the ``group``: ``external``,
        ``us``, ``clinical``), the overlap columns with ``overlap_computed``,
        and the manifest columns.  Row order of ``volumes``.
    """
    require_columns(volumes, _VOLUME_COLUMNS, "volumes")
    frame = volumes.copy()
    development = frame["group"] == "development"
    split = frame["split"].astype(object).where(frame["split"].notna(), "development")
    frame["dataset"] = np.where(development, split, frame["group"].astype(object))
    if overlaps is not None:
        require_columns(overlaps, OVERLAP_COLUMNS, "overlaps")
        frame = frame.merge(overlaps.assign(overlap_computed=True), on="subject_id",
                            how="left", validate="one_to_one")
        frame["overlap_computed"] = frame["overlap_computed"].astype("boolean").fillna(False)
        frame["overlap_computed"] = frame["overlap_computed"].astype(bool)
    if manifest is not None:
        extra = [c for c in ("fazekas", "infarct_volume_ml") if c in manifest.columns]
        if extra:
            # The evaluated cohorts' cells only: the clinical cohort's belong to
            # the clinical step (leukoct.manifest_views), and an edit there must
            # not change what the evaluation chapters read.
            evaluated = manifest if "cohort" not in manifest.columns else \
                manifest.loc[~manifest["cohort"].isin(CLINICAL_COHORTS)]
            frame = frame.merge(evaluated[["subject_id", *extra]], on="subject_id", how="left",
                                validate="one_to_one")
    return frame


def study_frame(profile: Profile) -> pd.DataFrame:
    """The analysis frame of a run (reads files): what every evaluation chapter starts from.

    :func:`evaluation_frame` of the inference step's volumes table, the
    overlaps of :func:`write_overlaps` and the manifest's Fazekas grades and
    infarct volumes.
    """
    from leukoct.manifest import load_manifest
    from leukoct.predictions import volumes_path

    manifest = load_manifest(profile.manifest, verify_checksums=False)
    return evaluation_frame(read_volumes(volumes_path(profile)),
                            read_overlaps(overlaps_path(profile)), manifest)

