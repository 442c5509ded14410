"""How messages name subjects: one short, bounded list for errors and footnotes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["id_list"]


def id_list(ids: Iterable[Any], limit: int = 10) -> str:
    """``"a, b, c and 4 more"``: the first ``limit`` ids, then how many are left.

    An error or footnote about hundreds of subjects stays readable and still
    says how many there are.
    """
    ids = [str(i) for i in ids]
    more = f" and {len(ids) - limit} more" if len(ids) > limit else ""
    return ", ".join(ids[:limit]) + more
