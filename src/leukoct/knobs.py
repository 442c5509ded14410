"""The knobs of each study step: name, type and allowed range, in one table.

A profile's ``steps:`` section sets the knobs of each study step (only those
that depart from the paper: each knob's default here is the paper's value);
the step's notebook reads them through :func:`leukoct.config.step_parameters`.  This
module says which knobs each step has and what values they take, so that
:func:`leukoct.config.load_profile` refuses a misspelled knob, a wrong type
or an out-of-range value when the profile is read -- before any job runs --
with the file, the section, the knob and what is allowed.

Where a knob is passed on to one of the package's settings classes
(:class:`~leukoct.settings.RegistrationSettings`,
:class:`~leukoct.settings.TrainingSettings`,
:class:`~leukoct.settings.InferenceSettings`), its type is that class's
field, so the check and the code that uses the value cannot disagree.
``None`` (YAML ``null``) is allowed where the step gives it a meaning
(stated in the field's description).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from leukoct.settings import (
    InferenceSettings,
    RegistrationSettings,
    TrainingSettings,
    WMHSegmentationSettings,
)

#: Parameters every notebook has; the workflow sets them from the profile's
#: top level (seed, threads, data, outputs).  Only ``threads`` may also be a
#: step's knob (registration: ITK threads per job).
COMMON_PARAMETERS: tuple[str, ...] = ("profile", "seed", "threads", "manifest", "verify_checksums",
                                      "output_dir", "figures_dir")

Confidence = Field(0.95, gt=0, lt=1, description="Level of every interval (0.95: 95 %).")
MinN = Field(3, ge=2, description="Fewer pairs in a column: printed '–' (not estimable).")
CCCIntervalKnob = Field(
    "asymptotic", description="Interval of Lin's CCC: asymptotic (the paper's: its Table 2 "
    "intervals are symmetric, leukoct.evaluation.interval_method) or z-transform (epiR's default, "
    "always inside (-1, 1)).")
CCCIntervalType = Literal["asymptotic", "z-transform"]


def _borrowed(model: type[BaseModel], *names: str) -> dict[str, tuple[Any, FieldInfo]]:
    """Fields of a settings class, as (annotation, field) pairs."""
    return {n: (model.model_fields[n].annotation, model.model_fields[n]) for n in names}


#: step name -> knob -> (type, field with its default, constraints and description).
#: The default is the paper's value where the paper states one (the settings
#: classes carry nnU-Net's and the registration's); a profile sets only the
#: knobs in which it departs from it.
STEP_KNOBS: dict[str, dict[str, tuple[Any, FieldInfo]]] = {
    "data": dict(
        example_subject=(str | None, Field(None, description="Subject shown in the data chapter; "
                                           "null: the first with every image."))),
    "twin": dict(
        examples=(int, Field(4, ge=0, description="Subjects shown with their truth."))),
    "curation": dict(
        criteria=(str | None, Field(None, description="YAML of inclusion criteria, relative to the "
                                    "project root; null: the paper's.")),
        validation_fraction=(float, Field(0.1307, gt=0, lt=1, description="Internal validation share "
                                          "of development (paper: 63 / 482).")),
        image_checks=(bool, Field(True, description="Compare incomplete/contrast registry fields "
                                  "with the CT.")),
        registration_qc=(str | None, Field(None, description="Registration QC table; null: this "
                                           "profile's registration/qc.csv."))),
    "flair_segmentation": {
        **_borrowed(WMHSegmentationSettings, *(n for n in WMHSegmentationSettings.model_fields
                                               if n != "seed")),
        **dict(confidence=(float, Confidence), ccc_interval=(CCCIntervalType, CCCIntervalKnob)),
    },
    "registration": {
        **_borrowed(RegistrationSettings, "type_of_transform", "resolution_mm",
                    "label_interpolation", "threshold", "threads", "direction"),
        **dict(
            examples=(int, Field(2, ge=0, description="QC montages of well-registered subjects.")),
            missing_flair=(Literal["error", "exclude"], Field(
                "error",
                description="Paired subject without FLAIR or WMH mask: stop, or exclude "
                "(Figure 1)."))),
    },
    "training": _borrowed(TrainingSettings, "normalization", "epochs", "iterations_per_epoch",
                          "val_iterations_per_epoch", "inplane_spacing_mm", "batch_size",
                          "base_features", "max_features", "device", "augmentation_workers",
                          "cpu_precision", "train_share", "cv_folds"),
    "inference": _borrowed(InferenceSettings, "mirroring", "tile_step_size", "checkpoint",
                           "device", "cpu_precision", "probability_threshold"),
    "internal_validation": dict(confidence=(float, Confidence), min_n=(int, MinN),
                                ccc_interval=(CCCIntervalType, CCCIntervalKnob)),
    "external": dict(
        confidence=(float, Confidence), min_n=(int, MinN),
        ccc_interval=(CCCIntervalType, CCCIntervalKnob),
        infarct_threshold_ml=(float, Field(10.0, ge=0, description="Figure S3 groups: <= vs > this "
                                           "DWI infarct core (paper: 10 mL)."))),
    "us_population": dict(confidence=(float, Confidence)),
    "clinical": dict(
        confidence=(float, Confidence),
        volume_groups=(int, Field(5, ge=2, le=10, description="Table 3: LA-volume groups "
                                  "(paper: 5, quintiles), the first the reference.")),
        mrs_merge_top=(int, Field(5, ge=1, le=6, description="mRS grades from this one up are "
                                  "merged (paper: 5, i.e. 5 and 6).")),
        age_cut=(float, Field(70.0, gt=0, lt=120, description="Table S4 strata: below vs at or "
                              "above this age (paper: 70)."))),
    "design_arms": dict(
        confidence=(float, Confidence), ccc_interval=(CCCIntervalType, CCCIntervalKnob),
        dataset=(Literal["internal", "external"], Field(
            "external", description="The set the designs are compared on.")),
        n_resamples=(int, Field(2000, ge=100, description="Bootstrap resamples of the "
                                "arm-minus-study CCC difference.")),
        grading_folds=(int, Field(10, ge=2, description=(
            "Folds of the cross-validated volume-threshold Fazekas grading (seed 003: 10; "
            "fewer when a Fazekas group has fewer subjects than folds).")))),
}


def step_defaults(step: str) -> dict[str, Any]:
    """Every knob of ``step`` at its default (the paper's value where it has one)."""
    return {knob: field.get_default(call_default_factory=True)
            for knob, (_, field) in STEP_KNOBS[step].items()}


def resolved_steps(given: dict[str, dict[str, Any] | None]) -> dict[str, dict[str, Any]]:
    """Each step's knobs: the defaults, overridden by what a profile ``given`` sets.

    Every step of :data:`STEP_KNOBS` is present, with every knob, in the
    table's order, so two profiles that resolve to the same values give the
    same dicts (and the same rerun triggers) whatever their files spell out.
    """
    return {step: {**step_defaults(step), **(given.get(step) or {})} for step in STEP_KNOBS}


def settings_table(given: dict[str, dict[str, Any] | None]) -> list[dict[str, Any]]:
    """Every knob a profile runs with, and where its value comes from.

    Parameters
    ----------
    given
        The profile file's ``steps:`` section as written (before the defaults
        are filled in).

    Returns
    -------
    list of dict
        One row per knob, in study order: ``knob`` (``steps.<step>.<knob>``),
        ``value``, ``source`` (``"profile"`` where the file sets it, else
        ``"default"``: the paper's value, or nnU-Net's where the paper states
        none), ``default`` and ``description``.
    """
    rows = []
    for step, knobs in resolved_steps(given).items():
        set_here = given.get(step) or {}
        for knob, value in knobs.items():
            field = STEP_KNOBS[step][knob][1]
            rows.append({"knob": f"steps.{step}.{knob}", "value": value,
                         "source": "profile" if knob in set_here else "default",
                         "default": field.get_default(call_default_factory=True),
                         "description": field.description or ""})
    return rows


def knob_problem(step: str, knob: str, value: Any) -> str | None:
    """Why ``value`` is not allowed for ``steps.<step>.<knob>``, or None if it is.

    The step and knob must be in :data:`STEP_KNOBS`.  ``None`` passes where
    the knob's type allows it.
    """
    annotation, field = STEP_KNOBS[step][knob]
    try:
        TypeAdapter(_annotated(annotation, field)).validate_python(value, strict=_strict(value))
    except ValidationError as exc:
        reasons = "; ".join(err["msg"] for err in exc.errors())
        allowed = f" ({field.description})" if field.description else ""
        return f"{value!r}: {reasons}{allowed}"
    return None


def _annotated(annotation: Any, field: FieldInfo) -> Any:
    return Annotated[annotation, field]


def _strict(value: Any) -> bool:
    # YAML already types its scalars: refuse "two" for an int and true for a
    # number, but let an integer stand for a float (``epochs: 60``, ``age_cut: 70``).
    return isinstance(value, (bool, str))
