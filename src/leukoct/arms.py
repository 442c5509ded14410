"""Design arms: the study with one design choice changed, sharing what it does not change.

A profile's ``arms:`` section names variants of its study (issue 22: the
paper's choices ablated one at a time, Pitkänen et al.'s protocol beside
them).  Each arm sets a few knobs, in the same ``steps:`` form as a profile;
every other knob is the profile's.  An arm re-runs only the steps its knobs
reach: a step whose knobs it changes, and every step after it in study order
(:data:`PRODUCING_STEPS`).  The steps before the first changed one are
*shared*: the arm's profile points their folders at the study's own
(``outputs.shared``), so the twin, the curation, the FLAIR masks and, for an
arm that keeps the registration, the registrations are built once.

:func:`arm_profile` derives the arm's profile (its outputs under
``<study root>/arms/<arm>/``); :func:`write_arm_profile` writes it as a
profile file, which every ``leukoct`` command and the workflow accept like
any other (``--profile build/demo/arms/<arm>/profile.yaml``).

Examples
--------
A profile that extends the demo and ablates the pseudo-label threshold::

    extends: demo
    name: demo-arms
    arms:
      label_p05:
        description: Pseudo-label = carried probability > 0.5 instead of > 0.
        steps:
          registration: {label_interpolation: linear, threshold: 0.5}
"""

from __future__ import annotations

from pathlib import Path

import yaml

from leukoct.config import Arm, Profile, ProfileError

#: The steps that produce the study's data, in the order each reads the one
#: before (``evaluation``: the per-subject overlaps the chapters read).  The
#: chapters after them only read; an arm never re-runs them.
PRODUCING_STEPS: tuple[str, ...] = ("data", "twin", "curation", "flair_segmentation",
                                    "registration", "training", "inference", "evaluation")


#: The producing steps an arm may re-run (the workflow writes their rules for
#: it: workflow/rules/arms.smk); the ones before are always the study's.
ARM_STEPS: tuple[str, ...] = PRODUCING_STEPS[PRODUCING_STEPS.index("registration"):]


def _arm(profile: Profile, name: str) -> Arm:
    if name not in profile.arms:
        known = ", ".join(profile.arms) or "none"
        raise ProfileError(f"{profile.path}: no arm {name!r}; its arms are {known}")
    return profile.arms[name]


#: What ``make book ARMS=...`` (``--config arms=...``) accepts for every arm / none.
_ALL, _NONE = ("1", "true", "yes", "all"), ("", "0", "false", "no", "none")


def selected_arms(profile: Profile, value: object) -> list[str]:
    """The arms a run asks for: ``ARMS=1`` every arm, ``ARMS=rigid,cv_ensemble`` those.

    A subset lets a reader on a laptop run the arms they care about within
    their time (each re-registering arm costs about a study's registration
    and training: docs/decisions.md); the chapter shows whichever have run.

    Raises
    ------
    ProfileError
        Naming an arm the profile does not have, with the ones it has.
    """
    text = str(value if value is not None else "").strip().lower()
    if text in _NONE:
        return []
    if text in _ALL:
        return list(profile.arms)
    names = [n.strip() for n in str(value).split(",") if n.strip()]
    unknown = [n for n in names if n not in profile.arms]
    if unknown:
        known = ", ".join(profile.arms) or "none"
        raise ProfileError(f"{profile.path}: ARMS names {', '.join(unknown)}, which the profile "
                           f"does not have; its arms are {known} (ARMS=1: all of them)")
    return list(dict.fromkeys(names))


def changed_steps(profile: Profile, name: str) -> list[str]:
    """The steps whose knobs arm ``name`` changes (a knob set to the profile's own value
    changes nothing), in study order."""
    arm = _arm(profile, name)
    return [step for step in profile.steps
            if any(profile.steps[step].get(k) != v for k, v in (arm.steps.get(step) or {}).items())]


def rerun_steps(profile: Profile, name: str) -> tuple[str, ...]:
    """The producing steps arm ``name`` runs itself: from the first it changes on.

    Raises
    ------
    ProfileError
        When the arm changes no producing step (only a chapter's knobs, or
        knobs set to the profile's values): it would be the study itself.
    """
    changed = [s for s in changed_steps(profile, name) if s in PRODUCING_STEPS]
    if not changed:
        raise ProfileError(
            f"{profile.path}: arm {name!r} changes no step that produces data (the steps are "
            f"{', '.join(PRODUCING_STEPS)}), so it would repeat the study; fix: set a knob of "
            "one of them to a value other than the profile's")
    if changed[0] not in ARM_STEPS:
        raise ProfileError(
            f"{profile.path}: arm {name!r} changes steps.{changed[0]}; an arm re-runs "
            f"{', '.join(ARM_STEPS)} and shares every step before them (docs/decisions.md, "
            "the arm plan); fix: vary that step in a profile of its own")
    return PRODUCING_STEPS[PRODUCING_STEPS.index(changed[0]):]


def arm_root(profile: Profile, name: str) -> Path:
    """The folder of arm ``name``'s own outputs."""
    _arm(profile, name)
    return profile.outputs.root / "arms" / name


def arm_profile(profile: Profile, name: str) -> Profile:
    """Arm ``name`` of ``profile`` as a profile of its own.

    Its knobs are the profile's with the arm's on top; its outputs lie under
    :func:`arm_root`; the producing steps before :func:`rerun_steps` are
    shared with the study; it has no arms.  The result is validated like a
    loaded profile (its ``path`` is where :func:`write_arm_profile` puts it).
    """
    arm = _arm(profile, name)
    rerun = rerun_steps(profile, name)
    root = arm_root(profile, name)
    steps = {step: {**knobs, **(arm.steps.get(step) or {})} for step, knobs in profile.steps.items()}
    shared = {step: profile.step_dir(step) for step in PRODUCING_STEPS if step not in rerun}
    derived = profile.model_copy(deep=True, update={
        "name": f"{profile.name}-{name}",
        "description": f"{profile.description} Arm {name}: {arm.description}",
        "steps": steps, "arms": {}, "path": root / "profile.yaml"})
    derived.outputs = derived.outputs.model_copy(update={
        "root": root, "figures": root / "figures", "book": root / "book", "shared": shared})
    return derived


def _relative(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            pass
    return str(path)


def write_arm_profile(profile: Profile, name: str, into: Path | None = None) -> Path:
    """Write arm ``name``'s profile file and return its path.

    Paths inside the project are written relative to its root, as in the
    shipped profiles.  The file is rewritten only when its content changes,
    so its date tells when the arm's settings last changed.  Loading it
    gives :func:`arm_profile`'s profile back.  ``into``: a folder to write
    it to instead of the arm's own (a dry run writes nothing into the run).
    """
    derived = arm_profile(profile, name)
    root = profile.root
    data = derived.model_dump(mode="json", exclude={"path", "root", "arms"})
    data["data"]["manifest"] = _relative(derived.manifest, root)
    outputs = derived.outputs
    data["outputs"] = {"root": _relative(outputs.root, root),
                       "figures": _relative(outputs.figures, root),
                       "book": _relative(outputs.book, root),
                       "shared": {k: _relative(v, root) for k, v in outputs.shared.items()}}
    text = (f"# Arm {name} of profile {profile.name}, written by leukoct.arms from "
            f"{_relative(profile.path, root) if profile.path else profile.name}: edit that "
            "profile, not this file.\n" + yaml.safe_dump(data, sort_keys=False))
    path = derived.path if into is None else into / f"{name}.yaml"
    assert path is not None
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return path
