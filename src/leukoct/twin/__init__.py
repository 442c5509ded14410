"""leukoct's digital twin: a deterministic, always-synthetic study generator.

:func:`generate_study` writes CT and FLAIR images, WMH masks, ground truth,
a clinical table and a manifest with the structure of Ryu et al.'s study.
"""

from typing import Any

from leukoct.twin.settings import TwinSettings

__all__ = ["TwinSettings", "generate_study"]


def __getattr__(name: str) -> Any:
    # The generator imports scipy.stats and the atlas code (~1.5 s); every
    # workflow job reads a profile, which needs only TwinSettings.
    if name == "generate_study":
        from leukoct.twin.study import generate_study
        return generate_study
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
