"""Cohort curation: the paper's exclusion criteria, applied in the paper's order.

The criteria are data (``leukoct/data/exclusion_criteria.yaml``): each rule
names the manifest column it reads and its test, and each analysed dataset
lists the rules it applies, in order.  :func:`apply_criteria` walks that
order and excludes every subject once, under the first rule it meets, so
the counts add up exactly as in a CONSORT flowchart.  Subjects are never
dropped: the curated table keeps every identified subject with its status
and reason.

One rule, *registration error*, is not a manifest column: the registration
step's quality control decides it.  Until its decisions are passed in, the
subjects it would judge are marked *pending*.

A subject the registration step would judge but cannot register, because
its FLAIR or its WMH mask is missing, is excluded just before that rule as
*FLAIR or WMH mask not available* (:data:`MISSING_FLAIR`).  Whether that is
allowed is the profile's ``steps.registration.missing_flair`` policy, which
:func:`registration_candidates` enforces for the workflow's cascade:
``error`` (default) stops it, naming the subjects; ``exclude`` lets them be
excluded and counted in Figure 1.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from leukoct.messages import LeukoctError
from leukoct.schema import COHORTS

#: Subject status in the curated table.
INCLUDED, EXCLUDED, PENDING = "included", "excluded", "pending"

#: Exclusion id (not a criterion of the criteria file) of a subject that a
#: registration-decided rule would judge but that has no FLAIR or WMH mask.
MISSING_FLAIR = "missing_flair"
MISSING_FLAIR_REASON = "FLAIR or WMH mask not available"
#: Manifest columns the registration step needs besides the CT.
REGISTRATION_INPUTS: tuple[str, ...] = ("flair_path", "wmh_mask_path")
#: Values of the profile knob ``steps.registration.missing_flair``.
MISSING_FLAIR_POLICIES: tuple[str, ...] = ("error", "exclude")


class CriteriaError(LeukoctError, ValueError):
    """The criteria file is invalid; the message names the file and the entry."""


class MissingFlairError(LeukoctError, ValueError):
    """A subject to register has no FLAIR or WMH mask and the profile's policy
    is ``error``; the message names the manifest, the subjects and the knob."""


@dataclass(frozen=True)
class Criterion:
    """One exclusion rule.

    Attributes
    ----------
    id
        Short name (the flowchart and tables use :attr:`reason`).
    reason
        The paper's wording.
    column
        Manifest column the rule reads (``None`` for a rule decided by a step).
    test
        ``"true"`` (flag set), ``"missing"`` (empty cell) or
        ``("greater_than", value)``.
    decided_by
        Name of the study step that decides the rule, if not the manifest.
    """

    id: str
    reason: str
    column: str | None = None
    test: Any = None
    decided_by: str | None = None

    def describe(self) -> str:
        """What decides the rule, in words."""
        if self.decided_by is not None:
            return f"the {self.decided_by} step's quality control"
        if self.test == "true":
            return f"manifest column {self.column} is set"
        if self.test == "missing":
            return f"manifest column {self.column} is empty"
        return f"manifest column {self.column} > {self.test[1]:g}"

    def evaluate(self, table: pd.DataFrame) -> pd.Series:
        """Which subjects meet the rule: True/False, ``<NA>`` where unknown."""
        if self.column is None:
            raise ValueError(f"criterion {self.id!r} is decided by the {self.decided_by} step, "
                             "not by a manifest column")
        if self.column not in table.columns:
            raise KeyError(f"criterion {self.id!r} needs manifest column {self.column!r}, "
                           "which the table lacks")
        values = table[self.column]
        if self.test == "missing":
            return values.isna().astype("boolean")
        if self.test == "true":
            flags = values.astype("boolean")
            return flags
        kind, threshold = self.test
        numbers = pd.to_numeric(values, errors="raise").astype("Float64")
        return (numbers > threshold).astype("boolean")


@dataclass(frozen=True)
class Group:
    """One analysed dataset: the manifest cohorts it pools and its rules, in order."""

    name: str
    label: str
    cohorts: tuple[str, ...]
    order: tuple[str, ...]
    reasons: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Criteria:
    """Every rule and every group's order (see :func:`load_criteria`)."""

    criteria: Mapping[str, Criterion]
    groups: Mapping[str, Group]
    source: str = ""

    def reason(self, group: str, criterion: str) -> str:
        """The wording of ``criterion`` in ``group`` (a group may reword a rule)."""
        return self.groups[group].reasons.get(criterion, self.criteria[criterion].reason)

    def group_of(self, cohort: str) -> str:
        """The group that pools a manifest cohort."""
        for group in self.groups.values():
            if cohort in group.cohorts:
                return group.name
        raise KeyError(f"cohort {cohort!r} belongs to no group of {self.source}")


def _parse_test(raw: Any, where: str) -> Any:
    if raw is True or raw == "true":
        return "true"
    if raw == "missing":
        return "missing"
    if isinstance(raw, dict) and set(raw) == {"greater_than"}:
        return ("greater_than", float(raw["greater_than"]))
    raise CriteriaError(f"{where}: test must be true, missing or {{greater_than: number}}, "
                        f"not {raw!r}")


def load_criteria(path: str | os.PathLike[str] | None = None) -> Criteria:
    """Read and check a criteria file (default: the paper's).

    Raises
    ------
    CriteriaError
        Naming the file and the entry: an unknown rule in an order, a rule
        listed twice, an unknown manifest cohort, a cohort in two groups or
        in none, or a malformed test.
    """
    if path is None:
        source = "leukoct/data/exclusion_criteria.yaml"
        raw = yaml.safe_load(files("leukoct").joinpath("data/exclusion_criteria.yaml")
                             .read_text("utf-8"))
    else:
        # Profiles give paths relative to the project root, like every path
        # in a profile, whatever the notebook's working folder.
        resolved = Path(path)
        if not resolved.is_absolute():
            from leukoct.config import find_project_root

            resolved = find_project_root() / resolved
        if not resolved.is_file():
            raise CriteriaError(f"criteria file {resolved} not found (profile key "
                                "steps.curation.criteria; paths are relative to the project root)")
        source = str(resolved)
        raw = yaml.safe_load(resolved.read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or set(raw) != {"criteria", "groups"}:
        raise CriteriaError(f"{source}: expected the two keys 'criteria' and 'groups'")
    criteria: dict[str, Criterion] = {}
    for cid, spec in raw["criteria"].items():
        where = f"{source}, criteria.{cid}"
        if "decided_by" in spec:
            criteria[cid] = Criterion(cid, spec["reason"], decided_by=spec["decided_by"])
        else:
            if "column" not in spec or "test" not in spec:
                raise CriteriaError(f"{where}: needs 'column' and 'test' (or 'decided_by')")
            criteria[cid] = Criterion(cid, spec["reason"], spec["column"],
                                      _parse_test(spec["test"], where))
    groups: dict[str, Group] = {}
    seen: dict[str, str] = {}
    for name, spec in raw["groups"].items():
        where = f"{source}, groups.{name}"
        order = tuple(spec.get("order") or ())
        for cid in order:
            if cid not in criteria:
                raise CriteriaError(f"{where}: unknown criterion {cid!r} in 'order' "
                                    f"(defined: {', '.join(criteria)})")
        if len(set(order)) != len(order):
            raise CriteriaError(f"{where}: a criterion is listed twice in 'order'")
        reasons = dict(spec.get("reasons") or {})
        for cid in reasons:
            if cid not in order:
                raise CriteriaError(f"{where}: 'reasons' rewords {cid!r}, which the group "
                                    "does not apply")
        for cohort in spec["cohorts"]:
            if cohort not in COHORTS:
                raise CriteriaError(f"{where}: unknown cohort {cohort!r} "
                                    f"(manifest cohorts: {', '.join(COHORTS)})")
            if cohort in seen:
                raise CriteriaError(f"{where}: cohort {cohort!r} is already in group "
                                    f"{seen[cohort]!r}")
            seen[cohort] = name
        groups[name] = Group(name, spec.get("label", name), tuple(spec["cohorts"]), order,
                             reasons)
    missing = [c for c in COHORTS if c not in seen]
    if missing:
        raise CriteriaError(f"{source}: cohorts {', '.join(missing)} belong to no group")
    return Criteria(criteria, groups, source)


def criteria_table(criteria: Criteria) -> pd.DataFrame:
    """Every dataset's rules in the order applied, with what decides each."""
    rows = []
    for name, group in criteria.groups.items():
        for position, cid in enumerate(group.order, start=1):
            rows.append({"dataset": group.label, "order": position,
                         "reason": criteria.reason(name, cid),
                         "decided by": criteria.criteria[cid].describe()})
        if not group.order:
            rows.append({"dataset": group.label, "order": 0, "reason": "none",
                         "decided by": "no exclusion in the data"})
    return pd.DataFrame(rows).set_index(["dataset", "order"])


def apply_criteria(table: pd.DataFrame, criteria: Criteria,
                   decided: Mapping[str, Iterable[str]] | None = None, *,
                   registration_inputs: tuple[str, ...] = REGISTRATION_INPUTS) -> pd.DataFrame:
    """Exclude subjects in each group's order; keep every subject with its reason.

    Parameters
    ----------
    table
        The manifest (:func:`leukoct.manifest.load_manifest`).
    criteria
        :func:`load_criteria`.
    decided
        For rules decided by a study step (``registration_error``), the
        subject ids that step flagged.  A rule missing here leaves the
        subjects it would judge *pending*; the later rules still apply.
    registration_inputs
        The manifest columns registration needs besides the CT: FLAIR and
        WMH mask (the default), or the FLAIR alone where leukoct segments the
        WMH itself (``steps.flair_segmentation.wmh_source: leukoct``,
        :func:`leukoct.pseudolabels.registration_inputs`).

    Returns
    -------
    pandas.DataFrame
        One row per subject, in the manifest's order: ``subject_id``,
        ``cohort``, ``group``, ``status`` (included / excluded / pending),
        ``exclusion`` (rule id, ``""`` if none), ``reason`` (its wording),
        ``pending`` (rules still to decide, ``;``-separated) and ``unknown``
        (rules that could not be checked because the manifest cell is empty).

    Notes
    -----
    Just before a rule decided by the registration step, subjects still in
    the cohort whose manifest lacks ``flair_path`` or ``wmh_mask_path`` are
    excluded under :data:`MISSING_FLAIR` (the step cannot judge them; they
    are never *pending*).  A table without those columns is not checked.
    Whether such a subject may exist at all is the cascade's policy
    (:func:`registration_candidates`).
    """
    decided = {k: set(v) for k, v in (decided or {}).items()}
    for cid in decided:
        if cid not in criteria.criteria or criteria.criteria[cid].decided_by is None:
            rules = ", ".join(c.id for c in criteria.criteria.values() if c.decided_by)
            raise ValueError(f"{cid!r} is not a rule decided by a study step; decided rules: {rules}")
    ids = table["subject_id"].astype(str)
    out = pd.DataFrame({"subject_id": ids.to_numpy(), "cohort": table["cohort"].to_numpy()})
    out["group"] = [criteria.group_of(c) for c in out["cohort"]]
    out["status"] = INCLUDED
    out["exclusion"] = ""
    out["reason"] = ""
    out["pending"] = ""
    out["unknown"] = ""
    for name, group in criteria.groups.items():
        rows = np.flatnonzero(out["group"].to_numpy() == name)
        if rows.size == 0:
            continue
        sub = table.iloc[rows]
        open_ = np.ones(rows.size, dtype=bool)          # not excluded yet
        for cid in group.order:
            rule = criteria.criteria[cid]
            if rule.decided_by == "registration":
                unpaired = _lacks_registration_inputs(sub, registration_inputs) & open_
                out.loc[rows[unpaired], ["status", "exclusion", "reason"]] = \
                    [EXCLUDED, MISSING_FLAIR, MISSING_FLAIR_REASON]
                open_ &= ~unpaired
            if rule.decided_by is not None:
                if cid in decided:
                    hit = sub["subject_id"].astype(str).isin(decided[cid]).to_numpy()
                else:
                    targets = rows[open_]
                    out.loc[targets, "pending"] = _append(out.loc[targets, "pending"], cid)
                    continue
            else:
                result = rule.evaluate(sub)
                unknown = result.isna().to_numpy() & open_
                out.loc[rows[unknown], "unknown"] = _append(out.loc[rows[unknown], "unknown"], cid)
                hit = result.fillna(False).to_numpy(dtype=bool)
            newly = hit & open_
            out.loc[rows[newly], ["status", "exclusion", "reason"]] = \
                [EXCLUDED, cid, criteria.reason(name, cid)]
            open_ &= ~newly
        still = rows[open_]
        out.loc[still, "status"] = np.where(out.loc[still, "pending"] != "", PENDING, INCLUDED)
    return out


def _append(column: pd.Series, value: str) -> pd.Series:
    return column.where(column == "", column + ";") + value


def _lacks_registration_inputs(table: pd.DataFrame,
                               columns: tuple[str, ...] = REGISTRATION_INPUTS) -> np.ndarray:
    """Rows whose FLAIR or WMH mask path is empty (False where the table has
    no such column: nothing to check)."""
    lacking = np.zeros(len(table), dtype=bool)
    for column in columns:
        if column in table.columns:
            lacking |= table[column].isna().to_numpy()
    return lacking


def registration_candidates(curated: pd.DataFrame, criteria: Criteria,
                            rule: str = "registration_error", *,
                            missing_flair: str | None = None,
                            manifest: str | os.PathLike[str] | None = None) -> pd.Series:
    """Subjects the registration step must judge: those of groups applying
    ``rule`` that no *earlier* rule of their group excluded.

    Subjects excluded by rules *after* ``rule`` are registered too, so that
    the final cascade counts each subject under the first rule it meets, as
    the paper did.  Subjects without a FLAIR or WMH mask
    (:data:`MISSING_FLAIR`, see :func:`apply_criteria`) cannot be registered
    and are never candidates.

    Parameters
    ----------
    curated
        :func:`apply_criteria` of the manifest.
    criteria
        The same :class:`Criteria`.
    rule
        The registration-decided rule.
    missing_flair
        The profile's ``steps.registration.missing_flair``: ``"error"`` raises
        if any subject was excluded for a missing FLAIR or WMH mask,
        ``"exclude"`` accepts the exclusion, ``None`` does not check (the
        workflow's cascade, ``leukoct curate``, has checked already).
    manifest
        The manifest's path, named in the error.

    Returns
    -------
    pandas.Series
        Boolean, aligned with ``curated``, named ``register``.

    Raises
    ------
    MissingFlairError
        With ``missing_flair="error"`` and a subject lacking its FLAIR or WMH
        mask: names the manifest, the subjects and the knob.
    ValueError
        For a policy other than ``error``, ``exclude`` or ``None``.
    """
    if missing_flair is not None and missing_flair not in MISSING_FLAIR_POLICIES:
        raise ValueError(f"steps.registration.missing_flair must be one of "
                         f"{', '.join(MISSING_FLAIR_POLICIES)}, not {missing_flair!r}")
    lacking = curated[curated["exclusion"] == MISSING_FLAIR]
    if missing_flair == "error" and len(lacking):
        names = ", ".join(f"{s} ({c})" for s, c in zip(lacking["subject_id"], lacking["cohort"]))
        raise MissingFlairError(
            f"{manifest or 'the manifest'}: {len(lacking)} subject(s) to register have no FLAIR "
            f"or WMH mask (flair_path / wmh_mask_path empty): {names}. Add the images to the "
            "manifest, or set steps.registration.missing_flair: exclude in the profile to "
            f"exclude them ({MISSING_FLAIR_REASON!r} in Figure 1)")
    flags = np.zeros(len(curated), dtype=bool)
    for i, (group, exclusion) in enumerate(zip(curated["group"], curated["exclusion"])):
        order = criteria.groups[group].order
        if rule not in order:
            continue
        before = (*order[: order.index(rule)], MISSING_FLAIR)
        flags[i] = exclusion not in before
    return pd.Series(flags, index=curated.index, name="register")


def flow_counts(curated: pd.DataFrame, criteria: Criteria) -> pd.DataFrame:
    """The flowchart's numbers: identified, excluded per rule (in order) and
    analysed, per group.

    Returns
    -------
    pandas.DataFrame
        Columns ``group``, ``label`` (the group's name), ``step``
        (``identified`` / a rule id / ``pending`` / ``analysed``; also
        :data:`MISSING_FLAIR` before the registration rule where a subject
        was excluded for it), ``text`` and ``n``.  Excluded counts sum with the analysed (and pending)
        counts to the identified count of each group.
    """
    rows = []
    for name, group in criteria.groups.items():
        g = curated[curated["group"] == name]
        rows.append((name, group.label, "identified", "Identified", len(g)))
        counts = g.loc[g["status"] == EXCLUDED, "exclusion"].value_counts()
        for cid in group.order:
            # Listed only where it happened: the paper's flowchart has no such
            # box, its cohorts being CT-FLAIR pairs by definition.
            if criteria.criteria[cid].decided_by == "registration" and counts.get(MISSING_FLAIR):
                rows.append((name, group.label, MISSING_FLAIR, MISSING_FLAIR_REASON,
                             int(counts[MISSING_FLAIR])))
            text = criteria.reason(name, cid)
            if cid in set(g["pending"].str.split(";").explode()) and cid not in counts:
                rows.append((name, group.label, cid, f"{text}: pending", np.nan))
            else:
                rows.append((name, group.label, cid, text, int(counts.get(cid, 0))))
        pending = int((g["status"] == PENDING).sum())
        rows.append((name, group.label, "analysed",
                     "Analysed" + (" (before registration QC)" if pending else ""),
                     int((g["status"] == INCLUDED).sum()) + pending))
    return pd.DataFrame(rows, columns=["group", "label", "step", "text", "n"])


def split_development(curated: pd.DataFrame, validation_fraction: float = 63 / 482,
                      seed: int = 0) -> pd.Series:
    """Training / internal-validation split of the analysed development subjects.

    A manifest that already labels subjects ``internal`` keeps its split (the
    paper's own, for real data).  Otherwise ``round(n × fraction)`` subjects
    (the paper: 63 of 482) are drawn for validation with ``seed``; the draw
    depends only on the sorted subject ids, so it does not change when rows
    are reordered.

    Returns
    -------
    pandas.Series
        ``"train"`` / ``"internal"`` for analysed development subjects, empty
        string for everyone else, aligned with ``curated``.
    """
    if not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction must be in (0, 1), not {validation_fraction}")
    split = pd.Series("", index=curated.index, name="split", dtype=object)
    dev = curated[(curated["group"] == "development")
                  & curated["status"].isin([INCLUDED, PENDING])]
    if (dev["cohort"] == "internal").any():
        split[dev.index] = dev["cohort"]
        return split
    ids = np.sort(dev["subject_id"].to_numpy(dtype=str))
    k = int(np.floor(len(ids) * validation_fraction + 0.5))
    if len(ids) >= 2:
        k = min(max(k, 1), len(ids) - 1)       # both sets non-empty
    chosen = set(np.random.default_rng(seed).choice(ids, size=k, replace=False)) if k else set()
    split[dev.index] = np.where(dev["subject_id"].isin(chosen), "internal", "train")
    return split
