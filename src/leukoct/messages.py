"""How leukoct talks to its user: one error type, and bounded lists of subjects.

Every error leukoct raises about the user's data or settings derives from
:class:`LeukoctError`; its message names the file, row, column or key and the
fix.  The command line prints such a message on one line and exits 1, never a
traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["LeukoctError", "id_list"]


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
