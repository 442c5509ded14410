"""How leukoct talks to its user: one error type, and bounded lists of subjects.

Every error leukoct raises about the user's data or settings derives from
:class:`LeukoctError`; its message names the file, row, column or key and the
fix.  The command line prints such a message on one line and exits 1, never a
traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["LeukoctError", "MissingColumnsError", "id_list", "require_columns"]


class LeukoctError(Exception):
    """A problem with the user's data, files or settings, with what to do about it."""


def id_list(ids: Iterable[Any], limit: int = 10) -> str:
    """``"a, b, c and 4 more"``: the first ``limit`` ids, then how many are left.

    An error or footnote about hundreds of subjects stays readable and still
    says how many there are.
    """
    ids = [str(i) for i in ids]
    more = f" and {len(ids) - limit} more" if len(ids) > limit else ""
    return ", ".join(ids[:limit]) + more


class MissingColumnsError(LeukoctError, ValueError, KeyError):
    """A table lacks columns a computation needs.

    A ``ValueError`` (the table's content is wrong) and a ``KeyError`` (a
    column is looked up), so callers catching either keep working.
    """

    # KeyError's own str() would quote the whole message.
    __str__ = Exception.__str__


def require_columns(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Raise :class:`MissingColumnsError` naming the columns of ``columns`` that
    ``frame`` lacks, for the computation ``what``, and the columns it has."""
    absent = [c for c in dict.fromkeys(columns) if c not in frame.columns]
    if absent:
        raise MissingColumnsError(
            f"{what}: column(s) {absent} not found; available: {list(frame.columns)}")
