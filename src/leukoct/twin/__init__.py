"""leukoct's digital twin: a deterministic, always-synthetic study generator.

:func:`generate_study` writes CT and FLAIR images, WMH masks, ground truth,
a clinical table and a manifest with the structure of Ryu et al.'s study.
"""

from leukoct.twin.settings import TwinSettings
from leukoct.twin.study import generate_study

__all__ = ["TwinSettings", "generate_study"]
