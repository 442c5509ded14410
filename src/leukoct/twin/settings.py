"""Size and resolution knobs of the digital twin, read from a profile's ``twin:`` key."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class TwinSettings(BaseModel):
    """How large and how fine the generated cohort is.

    Cohort sizes are numbers of *identified* subjects (before exclusions), as
    in the paper's flowchart: development 876, external 411, US 100,
    clinical 1180.  Smaller profiles keep the paper's proportions.
    """

    model_config = ConfigDict(extra="forbid")

    development: int = Field(ge=1, description="Identified development subjects (train + internal).")
    external: int = Field(ge=1, description="Identified external-test subjects.")
    us: int = Field(ge=0, description="US teleradiology CTs.")
    clinical: int = Field(ge=0, description="Identified clinical-cohort subjects.")
    atlas_resolution_mm: int = Field(
        default=2, description="Resolution of the MNI152 atlas the anatomy starts from (1 or 2 mm).")
    ct_inplane_mm: float = Field(
        default=1.0, gt=0, description="CT in-plane pixel spacing (the paper's grid: ~0.45 mm).")
    flair_inplane_mm: float | None = Field(
        default=None, gt=0, description="FLAIR in-plane pixel spacing; empty: 1.0 mm, or the CT's "
        "spacing when that is coarser (keeps small profiles fast).")
    workers: int = Field(default=2, ge=1, description="Parallel worker processes.")
