"""Shared validators and the base of the result records of :mod:`leukoct.metrics`."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

NanPolicy = Literal["raise", "omit", "propagate"]


ArrayLike = npt.ArrayLike


def _check_confidence(confidence: float) -> float:
    confidence = float(confidence)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")
    return confidence


def _as_float_vector(values: ArrayLike, name: str) -> np.ndarray:
    if isinstance(values, (pd.Series, pd.Index)):
        try:
            arr = pd.to_numeric(values, errors="raise").to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be numeric: {exc}") from exc
    else:
        try:
            arr = np.asarray(values, dtype=float)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be numeric: {exc}") from exc
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if np.isinf(arr).any():
        where = np.flatnonzero(np.isinf(arr))[:10].tolist()
        raise ValueError(f"{name} has {int(np.isinf(arr).sum())} infinite value(s) "
                         f"(positions {where}); fix or remove them")
    return arr


def _paired(x: ArrayLike, y: ArrayLike, nan_policy: NanPolicy,
            names: tuple[str, str] = ("x", "y")) -> tuple[np.ndarray, np.ndarray, int, bool]:
    """Validate a pair of vectors and apply ``nan_policy``.

    Returns ``(x, y, n_omitted, has_nan)``; ``has_nan`` is only true under
    ``"propagate"``.
    """
    if nan_policy not in ("raise", "omit", "propagate"):
        raise ValueError(f"nan_policy must be 'raise', 'omit' or 'propagate', got {nan_policy!r}")
    xa = _as_float_vector(x, names[0])
    ya = _as_float_vector(y, names[1])
    if xa.shape != ya.shape:
        raise ValueError(f"{names[0]} and {names[1]} must have the same length, "
                         f"got {xa.shape[0]} and {ya.shape[0]}")
    bad = np.isnan(xa) | np.isnan(ya)
    n_bad = int(bad.sum())
    if n_bad == 0:
        return xa, ya, 0, False
    if nan_policy == "raise":
        where = np.flatnonzero(bad)[:10].tolist()
        more = "" if n_bad <= 10 else f" and {n_bad - 10} more"
        raise ValueError(
            f"{n_bad} of {bad.size} pair(s) of {names[0]}/{names[1]} have a NaN "
            f"(positions {where}{more}); pass nan_policy='omit' to drop them "
            "(their number is reported as n_omitted) or fill the missing values")
    if nan_policy == "omit":
        return xa[~bad], ya[~bad], n_bad, False
    return xa, ya, 0, True


def _as_mask(mask: ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(mask)
    if arr.dtype == bool:
        return arr
    if arr.dtype.kind in "iuf":
        if arr.dtype.kind == "f" and np.isnan(arr).any():
            raise ValueError(f"{name} contains NaN; a mask must be boolean or 0/1")
        if np.isin(arr, (0, 1)).all():
            return arr.astype(bool)
        raise ValueError(f"{name} has values other than 0 and 1 (e.g. a probability map "
                         "or a label image); threshold it to a boolean mask first")
    raise TypeError(f"{name} must be a boolean (or 0/1) array, got dtype {arr.dtype}")

class _Result:
    """Base of the result records: :meth:`as_dict` for DataFrame rows."""

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (one row of a results table)."""
        return asdict(self)  # type: ignore[call-overload]
