"""The claims ledger: every number the paper states, beside the number this run reproduced.

``leukoct/data/claims.csv`` lists the paper's numeric claims, each keyed like a
row of a ``values`` table: ``(artefact, comparison, statistic, group)``.  The
study notebooks save, per artefact, the long ``values`` table of
:data:`leukoct.evaluation.VALUE_COLUMNS` (:func:`write_values`); the book
reads them all back (:func:`read_values`), joins them to the claims
(:func:`ledger_table`) and renders one page (:func:`ledger_markdown`) with the
claims, their status (:data:`STATUSES`) and the paper's internal
inconsistencies (:func:`inconsistencies`).

Where each artefact's values come from
--------------------------------------
``table2``, ``tableS2``, ``figure3``, ``figure4``, ``figureS2``, ``figureS3``
    The ``.values`` of the evaluation results (:mod:`leukoct.evaluation`:
    ``table2``, ``table_s2``, ``figure3_data``, ``figure4_data``,
    ``manual_agreement``, ``infarct_agreement``).  The ranges over CT vendors
    of Table 2 (:func:`vendor_range_values`) and the subgroup difference of
    Figure S3 (:func:`subgroup_difference_values`) are derived from them by
    :func:`ledger_table` itself.
``figureS1``
    :func:`figure_s1_values` (Figure S1's data carry trend statistics, no
    values table).
``figure1``
    :func:`flow_values` of :func:`leukoct.curation.flow_counts` and the
    development split.
``table1``, ``tableS1``, ``tableS3``
    :func:`baseline_values` of :func:`leukoct.baseline.analysis_frame`;
    Table 1's test p values from :func:`table1_p_values`.
``table3``, ``tableS4``, ``figureS4``
    :func:`table3_values`, :func:`table_s4_values`, :func:`figure_s4_values`
    of the :mod:`leukoct.clinical` results.
``text`` (numbers printed in the text only)
    :func:`baseline_values` (age, sex and sites of a cohort) and
    :func:`volume_values` (median predicted volume of a cohort); several
    notebooks contribute, each to its own file (``part`` of
    :func:`write_values`).

File names
----------
``<folder>/<artefact>.values.csv``, or ``<artefact>.<part>.values.csv`` when
several notebooks contribute values to one artefact; :func:`read_values`
takes the artefact from the name up to its first dot.

Everything is a pure function of DataFrames except :func:`read_claims`,
:func:`write_values` and :func:`read_values`.

Modules (every public name is re-exported here): ``claims`` (the claims file),
``checks`` (the paper's numbers recomputed from each other), ``findings`` (does a
reproduced value support the paper's statement),
``values`` (converters and the values files), ``table`` (:func:`ledger_table`)
and ``page`` (:func:`ledger_markdown`).
"""

from __future__ import annotations

from leukoct.ledger._common import (
    BASELINE_GROUPS,
    BASELINE_LEVELS,
    BASELINE_MEANS,
    BASELINE_MEDIANS,
    CI_KINDS,
    CLAIM_COLUMNS,
    DIFFERS,
    INSIDE_CI,
    LEDGER_COLUMNS,
    MATCHES,
    NOT_A_RESULT,
    NOT_ESTIMABLE,
    NOT_PRODUCED,
    NOT_REPRODUCIBLE,
    NOT_RESULT_KINDS,
    SIGNIFICANCE_LEVEL,
    STATUSES,
    UNREPRODUCIBLE,
    VALUES_SUFFIX,
    VERSIONS,
)
from leukoct.ledger.checks import (
    CHECK_COLUMNS,
    recomputed_inconsistencies,
)
from leukoct.ledger.claims import (
    inconsistencies,
    read_claims,
)
from leukoct.ledger.findings import (
    FINDING_RULES,
    FINDINGS,
    NO_FINDING,
    NOT_SUPPORTED,
    SCALED,
    SUPPORTED,
    UNTESTED,
    finding_counts,
    finding_verdict,
)
from leukoct.ledger.page import (
    ledger_markdown,
)
from leukoct.ledger.table import (
    ledger_table,
)
from leukoct.ledger.values import (
    baseline_values,
    derived_values,
    figure_s1_values,
    figure_s4_values,
    flow_values,
    read_values,
    subgroup_difference_values,
    table1_p_values,
    table3_values,
    table_s4_values,
    values_folder,
    vendor_range_values,
    volume_values,
    write_values,
)

__all__ = [
    "BASELINE_GROUPS",
    "BASELINE_LEVELS",
    "BASELINE_MEANS",
    "BASELINE_MEDIANS",
    "CI_KINDS",
    "CLAIM_COLUMNS",
    "CHECK_COLUMNS",
    "FINDINGS",
    "FINDING_RULES",
    "SUPPORTED",
    "NOT_SUPPORTED",
    "SCALED",
    "NO_FINDING",
    "UNTESTED",
    "finding_counts",
    "finding_verdict",
    "VERSIONS",
    "DIFFERS",
    "INSIDE_CI",
    "LEDGER_COLUMNS",
    "MATCHES",
    "NOT_A_RESULT",
    "NOT_ESTIMABLE",
    "NOT_PRODUCED",
    "NOT_REPRODUCIBLE",
    "NOT_RESULT_KINDS",
    "SIGNIFICANCE_LEVEL",
    "STATUSES",
    "UNREPRODUCIBLE",
    "VALUES_SUFFIX",
    "baseline_values",
    "derived_values",
    "figure_s1_values",
    "figure_s4_values",
    "flow_values",
    "inconsistencies",
    "ledger_markdown",
    "ledger_table",
    "read_claims",
    "recomputed_inconsistencies",
    "read_values",
    "values_folder",
    "subgroup_difference_values",
    "table1_p_values",
    "table3_values",
    "table_s4_values",
    "vendor_range_values",
    "volume_values",
    "write_values",
]
