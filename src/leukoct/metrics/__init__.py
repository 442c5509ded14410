"""Segmentation and volume-agreement metrics of the paper.

Ryu et al. evaluate predicted leukoaraiosis (LA) on CT against the
registered LA mask (CT ground truth) and the FLAIR WMH mask with

* the Dice similarity coefficient per subject, summarised as mean (95 % CI);
* the coefficient of determination :math:`r^2` of the volumes;
* Lin's concordance correlation coefficient (CCC, :math:`\\rho_c`) of the
  volumes with its 95 % CI;
* the Pearson correlation of volumes with Fazekas grade;

overall and per CT vendor (Table 2) and per infarct-volume group
(:math:`\\le 10` versus :math:`> 10` mL, Figure S3).  Bland-Altman limits of
agreement are added because they answer the clinical question "how far apart
can two volumes be" that a correlation cannot.

Everything here is a pure function of arrays or DataFrames; volumes are
measured from masks elsewhere.

Missing values
--------------
No function drops a missing value silently.  Paired metrics take
``nan_policy`` with scipy's vocabulary:

``"raise"`` (default)
    a :class:`ValueError` naming how many pairs have a NaN and where;
``"omit"``
    drop the incomplete pairs and report their number as ``n_omitted``;
``"propagate"``
    any NaN makes every statistic NaN (``n`` is then the number of pairs).

Infinite values are always an error.  Per-subject Dice values that are NaN
mean "undefined" (both masks empty, see :func:`dice`) and are counted as
``n_undefined`` by :func:`dice_summary`.

Modules
-------
One statistic each, all importable from ``leukoct.metrics``:
``overlap`` (Dice), ``concordance`` (Lin's CCC), ``correlation`` (Pearson r,
r²), ``bland_altman``, ``agreement`` (all of them per group: Table 2's
columns, and the infarct-volume groups); ``hausdorff`` (Hausdorff distance
and HD95 of two masks, seed 002) and ``lesionwise`` (lesion-wise recall,
precision and F1 by lesion size, seed 004) for the FLAIR segmentation and,
beyond the paper, the CT model; ``_common`` holds the shared validators.
"""

from leukoct.metrics._common import NanPolicy
from leukoct.metrics.agreement import AGREEMENT_ROWS, ALL, MISSING_GROUP, agreement, infarct_group
from leukoct.metrics.bland_altman import BlandAltmanResult, bland_altman
from leukoct.metrics.concordance import CCC_INTERVALS, CCCInterval, CCCResult, lins_ccc
from leukoct.metrics.correlation import PearsonResult, RSquaredResult, pearson, r_squared
from leukoct.metrics.hausdorff import HausdorffResult, hausdorff
from leukoct.metrics.lesionwise import lesionwise
from leukoct.metrics.overlap import DiceSummary, VoxelVolumes, dice, dice_summary, voxel_volumes

__all__ = [
    "NanPolicy",
    "ALL",
    "MISSING_GROUP",
    "DiceSummary",
    "CCCResult",
    "CCCInterval",
    "CCC_INTERVALS",
    "RSquaredResult",
    "PearsonResult",
    "BlandAltmanResult",
    "dice",
    "dice_summary",
    "VoxelVolumes",
    "voxel_volumes",
    "lins_ccc",
    "r_squared",
    "pearson",
    "bland_altman",
    "AGREEMENT_ROWS",
    "agreement",
    "infarct_group",
    "HausdorffResult",
    "hausdorff",
    "lesionwise",
]
