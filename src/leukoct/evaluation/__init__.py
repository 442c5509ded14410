"""Evaluation of the segmentation model: the paper's performance artefacts.

The inference step hands over one table, ``inference/volumes.csv`` (one row
per analysed CT, :data:`leukoct.volumes.COLUMNS`).  This package turns it,
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
  :func:`twin_error_budget`, and why a volume CCC is low: :func:`volume_calibration`;
* lesion-wise detection by size (seed 004, beyond the paper): :func:`lesion_counts`,
  :func:`lesion_table`, :func:`lesion_reading`;
* the reproduced values beside the published ones: :func:`published_values`,
  :func:`compare_with_paper`.

Every statistic comes from :mod:`leukoct.metrics`; nothing here computes a
metric itself.  Everything is a pure function of DataFrames except the
functions that say so (:func:`read_volumes`, :func:`subject_overlaps`,
:func:`mask_sources`, :func:`published_values`, :func:`lesion_counts`).

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

Modules
-------
:mod:`~leukoct.evaluation.frame`
    reading the volumes table and the masks, per-subject overlaps, the
    analysis frame (and the workflow's ``evaluation/overlaps.csv``);
:mod:`~leukoct.evaluation.tables`
    Table 2, Table S2, the infarct subgroups (Figure S3);
:mod:`~leukoct.evaluation.figures`
    the data of Figures 2, 3, 4, S1 and S2;
:mod:`~leukoct.evaluation.budget`
    the twin's error budget;
:mod:`~leukoct.evaluation.lesions`
    lesion-wise detection (seed 004's recall, precision and F1 by lesion size);
:mod:`~leukoct.evaluation.published`
    the paper's published values (``leukoct/data/paper_*.csv``) and the
    comparison with them.

Every public name is importable from ``leukoct.evaluation`` itself.
"""

from leukoct.evaluation._common import (
    COMPARISONS,
    MISSING,
    OVERLAP_COLUMNS,
    PAPER_CCC_INTERVAL,
    PREDICTED,
    VALUE_COLUMNS,
    VENDOR_LABELS,
    as_number,
    ci_note,
    format_estimate,
    is_missing,
    value_row,
)
from leukoct.evaluation.budget import (
    CALIBRATION_REFERENCES,
    ERROR_BUDGET,
    calibration_reading,
    twin_error_budget,
    volume_calibration,
)
from leukoct.evaluation.figures import (
    FIGURE2_PANELS,
    Figure3Data,
    Figure4Data,
    FigureS1Data,
    ManualAgreement,
    fazekas_correlation,
    fazekas_summary,
    figure2_cases,
    figure3_data,
    figure4_data,
    figure_s1_data,
    manual_agreement,
)
from leukoct.evaluation.frame import (
    OVERLAP_GROUPS,
    evaluation_frame,
    mask_sources,
    overlaps_path,
    read_overlaps,
    study_frame,
    subject_overlaps,
    write_overlaps,
)
from leukoct.evaluation.lesions import lesion_counts, lesion_reading, lesion_table
from leukoct.evaluation.published import (
    INTERVAL_METHOD_COLUMNS,
    compare_with_paper,
    interval_method,
    published_values,
    side_by_side,
)
from leukoct.evaluation.tables import (
    PerformanceTable,
    infarct_agreement,
    table2,
    table_s2,
)
from leukoct.volumes import read_volumes

__all__ = [
    "is_missing", "as_number", "value_row",
    "VENDOR_LABELS", "MISSING", "PREDICTED", "COMPARISONS", "VALUE_COLUMNS", "OVERLAP_COLUMNS",
    "FIGURE2_PANELS", "ERROR_BUDGET", "CALIBRATION_REFERENCES",
    "PerformanceTable", "Figure3Data", "Figure4Data", "FigureS1Data", "ManualAgreement",
    "read_volumes", "mask_sources", "subject_overlaps", "evaluation_frame",
    "OVERLAP_GROUPS", "overlaps_path", "write_overlaps", "read_overlaps", "study_frame",
    "table2", "table_s2", "infarct_agreement", "figure2_cases", "figure3_data",
    "fazekas_summary", "fazekas_correlation", "figure4_data", "figure_s1_data",
    "manual_agreement", "twin_error_budget", "volume_calibration", "calibration_reading",
    "published_values", "interval_method", "INTERVAL_METHOD_COLUMNS", "PAPER_CCC_INTERVAL",
    "ci_note", "lesion_counts", "lesion_reading", "lesion_table",
    "compare_with_paper", "side_by_side",
    "format_estimate",
]
