"""The paper's claims: reading ``claims.csv`` and its internal inconsistencies."""

from __future__ import annotations

import os
from importlib.resources import files
from io import StringIO
from pathlib import Path

import pandas as pd

from leukoct.ledger._common import (
    CLAIM_COLUMNS,
    VERSIONS,
)
from leukoct.messages import id_list, require_columns

# --------------------------------------------------------------------------
# the claims
# --------------------------------------------------------------------------

def read_claims(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """The paper's claims (``leukoct/data/claims.csv``, or another file of its layout).

    Parameters
    ----------
    path
        A claims file; default the package's own.

    Returns
    -------
    pandas.DataFrame
        :data:`CLAIM_COLUMNS` in the file's order (``version`` is
        ``preprint`` throughout for a file without that column): ``estimate``, ``ci_low``
        and ``ci_high`` as float (NaN where empty), every other column as
        text with ``""`` for empty.

    Raises
    ------
    ValueError
        A column is missing (named) or a number does not parse (claims named).
    """
    if path is None:
        text = files("leukoct").joinpath("data/claims.csv").read_text("utf-8")
        where = "leukoct/data/claims.csv"
    else:
        text = Path(path).read_text(encoding="utf-8")
        where = str(path)
    claims = pd.read_csv(StringIO(text), comment="#", dtype=str, keep_default_na=False)
    if "version" not in claims.columns:
        # A claims file of the first edition: every claim is the preprint's.
        claims["version"] = "preprint"
    require_columns(claims, CLAIM_COLUMNS, where)
    claims = claims[list(CLAIM_COLUMNS)].copy()
    for column in CLAIM_COLUMNS:
        claims[column] = claims[column].astype(object).astype(str)
    for column in ("estimate", "ci_low", "ci_high"):
        number = pd.to_numeric(claims[column].replace("", None), errors="coerce")
        bad = number.isna() & (claims[column].str.strip() != "")
        if bad.any():
            raise ValueError(f"{where}: {column} is not a number for claim(s) "
                             f"{id_list(claims.loc[bad, 'claim_id'])}")
        claims[column] = number.astype(float)
    tags = claims["version"].str.split(";").map(lambda parts: [p.strip() for p in parts])
    bad = tags.map(lambda parts: not parts or any(p not in VERSIONS for p in parts))
    if bad.any():
        raise ValueError(f"{where}: version must be {' or '.join(VERSIONS)} (or both, separated "
                         f"by ';') for claim(s) {id_list(claims.loc[bad, 'claim_id'])}")
    return claims


def inconsistencies(claims: pd.DataFrame) -> pd.DataFrame:
    """The paper's internal inconsistencies: the claims whose ``consistency`` is not empty.

    Parameters
    ----------
    claims
        :func:`read_claims`.

    Returns
    -------
    pandas.DataFrame
        ``claim_id, location, consistency``, in the claims' order (an
        inconsistency shared by several claims appears once per claim).
    """
    require_columns(claims, ["claim_id", "location", "consistency"], "claims")
    text = claims["consistency"].fillna("").astype(str).str.strip()
    out = claims.loc[text != "", ["claim_id", "location"]].assign(consistency=text[text != ""])
    return out.reset_index(drop=True)
