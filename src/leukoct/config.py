"""Profiles: every path and knob of a study run, in one YAML file.

A profile (``profiles/<name>.yaml``) says where the data are (the digital
twin or a real manifest), how large the twin is, where the outputs go and
which knobs each study step uses.  The Snakefile and the notebooks both read
profiles through :func:`load_profile`, so a notebook opened in JupyterLab
and the same notebook run by the workflow see the same values.

Relative paths in a profile are relative to the project root (the folder
holding ``Snakefile``), whatever the current directory is.
"""

from __future__ import annotations

import ast
import difflib
import json
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from leukoct.messages import LeukoctError
from leukoct.twin.settings import TwinSettings

PROFILE_DIR = "profiles"


class ProfileError(LeukoctError, ValueError):
    """A profile is missing or invalid; the message names the file and key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataSettings(_Strict):
    """Where the study's subjects come from."""

    source: Literal["twin", "manifest"] = Field(
        description="'twin' builds the digital twin into the manifest's folder; "
        "'manifest' reads an existing manifest (real data).")
    manifest: Path = Field(description="Path of the manifest CSV.")
    verify_checksums: bool = Field(
        default=True, description="Check every file's SHA-256 against the manifest.")


class OutputSettings(_Strict):
    """Where a run writes."""

    root: Path = Field(description="Working folder of the run (executed notebooks, "
                       "step outputs, logs).")
    figures: Path = Field(description="Folder of the paper's figures and tables.")
    book: Path = Field(description="Folder that receives the rendered book's _build/.")
    shared: dict[str, Path] = Field(
        default_factory=dict, description="Steps whose folder is another run's: a design "
        "arm (leukoct.arms) reads what it does not change from the study it varies.")


#: An arm's name becomes a folder name and a rule name.
ARM_NAME = r"^[a-z][a-z0-9_]*$"


class Arm(_Strict):
    """One design arm: the study with some knobs changed (``leukoct.arms``)."""

    description: str = Field(description="What the arm changes and why, in a sentence.")
    steps: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="The knobs the arm sets, keyed by step, as a "
        "profile's steps: section; every other knob is the profile's.")


class Profile(_Strict):
    """A validated profile with absolute paths."""

    name: str
    description: str
    seed: int = Field(ge=0, description="Seed of every random draw of the run.")
    threads: int = Field(default=2, ge=1, description="Threads per job.")
    data: DataSettings
    twin: TwinSettings | None = None
    outputs: OutputSettings
    steps: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per-step knobs, keyed by step name: what the file "
        "sets, then (once loaded) every knob, the paper's value where the file sets none.")
    arms: dict[str, Arm] = Field(
        default_factory=dict, description="Design arms run beside the study, by name "
        "(lower case, digits and _; leukoct.arms).")
    path: Path | None = Field(default=None, description="The profile file.")
    root: Path | None = Field(default=None, description="The project root.")

    @property
    def manifest(self) -> Path:
        """Absolute path of the manifest CSV."""
        return self.data.manifest

    def step_dir(self, step: str) -> Path:
        """Output folder of one study step (another run's, where the step is shared)."""
        return self.outputs.shared.get(step, self.outputs.root / step)


def find_project_root(start: Path | None = None) -> Path:
    """Return the project root: ``$LEUKOCT_ROOT`` or the nearest folder up
    from ``start`` (default: the current directory, then this package) that
    holds both ``Snakefile`` and ``profiles/``."""
    env = os.environ.get("LEUKOCT_ROOT")
    if env:
        return Path(env).resolve()
    candidates = [Path(start or Path.cwd()).resolve(), Path(__file__).resolve()]
    for origin in candidates:
        for folder in (origin, *origin.parents):
            if (folder / "Snakefile").is_file() and (folder / PROFILE_DIR).is_dir():
                return folder
    raise ProfileError(
        "cannot find the leukoct project root (a folder with Snakefile and profiles/): "
        "run from inside the repository or set LEUKOCT_ROOT")


def profile_path(name_or_path: str | os.PathLike[str], root: Path | None = None) -> Path:
    """Resolve a profile name (``demo``) or a path to its YAML file."""
    candidate = Path(name_or_path)
    if candidate.suffix in {".yaml", ".yml"}:
        if not candidate.is_absolute():
            candidate = (root or find_project_root()) / candidate
        if not candidate.is_file():
            raise ProfileError(f"profile file {candidate} does not exist")
        return candidate
    root = root or find_project_root()
    path = root / PROFILE_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in (root / PROFILE_DIR).glob("*.yaml"))
        raise ProfileError(
            f"unknown profile {str(name_or_path)!r}: no {path}. Known profiles: "
            + ", ".join(known))
    return path


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ProfileError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ProfileError(f"{path}: a profile is a mapping of settings, not a "
                           f"{type(raw).__name__}")
    return raw


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``: mappings merge key by key, anything else replaces."""
    out = dict(base)
    for key, value in over.items():
        out[key] = (_merged(out[key], value) if isinstance(value, dict)
                    and isinstance(out.get(key), dict) else value)
    return out


def profile_source(name_or_path: str | os.PathLike[str], root: Path | None = None,
                   _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A profile file's settings as written, on top of those of the profile it ``extends``.

    ``extends: demo`` (a name in ``profiles/`` or a YAML path) makes a file
    hold only what differs from that profile: its mappings merge key by key
    into the base's, every other value replaces the base's.  Chains are
    followed; a cycle is an error naming the files.
    """
    path = profile_path(name_or_path, root)
    raw = _read_yaml(path)
    base = raw.pop("extends", None)
    if base is None:
        return raw
    parent = profile_path(base, root)
    chain = (*_seen, path)
    if parent in chain:
        raise ProfileError(f"{path}: extends {base!r}, which extends back to it ("
                           + " -> ".join(p.name for p in (*chain, parent)) + "); fix: remove "
                           "one of the extends: lines")
    return _merged(profile_source(parent, root, chain), raw)


def load_profile(name_or_path: str | os.PathLike[str] = "demo",
                 root: Path | None = None) -> Profile:
    """Load and validate a profile; relative paths become absolute.

    Parameters
    ----------
    name_or_path
        A profile name from ``profiles/`` (``ci``, ``demo``, ``paper``, ``real``)
        or the path of a profile YAML file.
    root
        Project root against which relative paths resolve; found
        automatically when omitted.

    Returns
    -------
    Profile
        The validated profile.

    Raises
    ------
    ProfileError
        With the file and the key at fault.
    """
    root = (root or find_project_root()).resolve()
    path = profile_path(name_or_path, root)
    raw = profile_source(path, root)
    try:
        profile = Profile.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{path}: invalid profile"]
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"])
            lines.append(f"  {key}: {err['msg']}")
        raise ProfileError("\n".join(lines)) from exc

    def absolute(p: Path) -> Path:
        return p if p.is_absolute() else (root / p)

    profile.data.manifest = absolute(profile.data.manifest)
    profile.outputs.root = absolute(profile.outputs.root)
    profile.outputs.figures = absolute(profile.outputs.figures)
    profile.outputs.book = absolute(profile.outputs.book)
    profile.outputs.shared = {k: absolute(v) for k, v in profile.outputs.shared.items()}
    profile.path = path
    profile.root = root
    problems = step_problems(profile)
    if problems:
        raise ProfileError("\n".join([f"{path}: invalid profile", *problems]))
    # A profile sets only the knobs in which it departs from the paper; the
    # rest take the paper's values (leukoct.knobs; `leukoct profile show`).
    from leukoct.knobs import resolved_steps

    profile.steps = resolved_steps(profile.steps)
    return profile


def notebook_knobs(notebook: Path) -> set[str]:
    """Names assigned in a notebook's ``parameters`` cell: what papermill can set.

    Read with :mod:`json` and :mod:`ast` rather than
    ``papermill.inspect_notebook``: every workflow job loads its profile, and
    importing papermill there costs seconds per job.
    """
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    names: set[str] = set()
    for cell in cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            tree = ast.parse("".join(cell["source"]))
            for node in ast.walk(tree):
                if isinstance(node, (ast.Assign, ast.AnnAssign)):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def _nearest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def step_problems(profile: Profile) -> list[str]:
    """Unknown steps, unknown knobs and bad values under ``steps:``, one line each.

    A step is a name of :data:`leukoct.steps.STEPS`; its knobs, their types
    and ranges are :data:`leukoct.knobs.STEP_KNOBS` (which the suite keeps
    equal to each notebook's ``parameters`` cell).  Without this check a
    misspelled step or knob is silently ignored and the default used, and a
    wrong value fails deep inside a job.
    """
    import re

    problems = _knob_problems(profile.steps, "steps")
    for name, arm in profile.arms.items():
        if not re.match(ARM_NAME, name):
            problems.append(f"  arms.{name}: an arm's name is lower case letters, digits and _, "
                            "starting with a letter (it names a folder and a rule)")
        if not arm.steps:
            problems.append(f"  arms.{name}.steps: the arm changes no knob; fix: set the knobs "
                            "it changes, or remove the arm")
        problems += _knob_problems(arm.steps, f"arms.{name}.steps")
    return problems


def _knob_problems(steps: dict[str, dict[str, Any]], prefix: str) -> list[str]:
    from leukoct.knobs import STEP_KNOBS, knob_problem

    problems = []
    for step, knobs in steps.items():
        if step not in STEP_KNOBS:
            problems.append(f"  {prefix}.{step}: not a study step"
                            f"{_nearest(step, list(STEP_KNOBS))}; the steps are "
                            f"{', '.join(STEP_KNOBS)}")
            continue
        allowed = list(STEP_KNOBS[step])
        for knob, value in (knobs or {}).items():
            if knob not in allowed:
                problems.append(f"  {prefix}.{step}.{knob}: not a knob of the {step} step"
                                f"{_nearest(str(knob), allowed)}; its knobs are "
                                f"{', '.join(sorted(allowed))}")
            elif (why := knob_problem(step, knob, value)) is not None:
                problems.append(f"  {prefix}.{step}.{knob}: {why}")
        if step == "training" and knobs and knobs.get("cv_folds") is not None \
                and (knobs.get("train_share") or 1.0) < 1.0:
            # Two knobs that each choose who trains (TrainingSettings refuses both).
            problems.append(f"  {prefix}.training: cv_folds and train_share both choose who "
                            "trains; fix: set one of them (a learning curve keeps the paper's "
                            "split, cv_folds null)")
        if step == "registration" and knobs and knobs.get("direction") == "ct_to_flair" \
                and knobs.get("type_of_transform", "SyNR") not in ("Identity", "Rigid", "Affine"):
            # RegistrationSettings refuses it too; said here with the profile's own words.
            problems.append(f"  {prefix}.registration: direction ct_to_flair resamples the CT "
                            "through the inverse of a linear transform; fix: set "
                            "type_of_transform: Rigid beside it (seed 003's)")
    return problems


#: Notebook parameters that are paths: injected relative to the project root
#: (what the executed notebook, and so the book, shows), absolute once
#: :func:`step_parameters` has resolved them (what the code uses).
PATH_PARAMETERS: tuple[str, ...] = ("profile", "manifest", "output_dir", "figures_dir")


def public_path(value: str | os.PathLike[str], root: Path | None = None) -> str:
    """A path as an output may show it: never the build machine's absolute path.

    Inside the project: relative to its root (``build/demo/data/manifest.csv``).
    Outside it (a real study's data folder, whose names may carry a patient's):
    the file name only, as ``<outside the project>/ct.nii.gz``.
    """
    path = Path(value)
    if not path.is_absolute():
        return path.as_posix()
    try:
        base = (root or find_project_root()).resolve()
        return path.resolve().relative_to(base).as_posix()
    except (ValueError, ProfileError):
        return f"<outside the project>/{path.name}"


def public_parameters(parameters: dict[str, Any], root: Path | None = None) -> dict[str, Any]:
    """``parameters`` with every absolute-path string shown by :func:`public_path`."""
    return {k: public_path(v, root) if isinstance(v, str) and os.path.isabs(v) else v
            for k, v in parameters.items()}


def notebook_parameters(profile: Profile, step: str) -> dict[str, Any]:
    """Parameters papermill injects into a step's ``parameters`` cell.

    Every notebook receives the common parameters (profile, seed, manifest,
    its output folder, the figures folder) and the knobs listed under
    ``steps.<step>`` in the profile.  Values are plain JSON types so that
    they print cleanly in the executed notebook; paths are relative to the
    project root (:data:`PATH_PARAMETERS`), so that no absolute path of the
    build machine reaches the book.
    """
    assert profile.path is not None
    params: dict[str, Any] = {
        "profile": str(profile.path),
        "seed": profile.seed,
        "threads": profile.threads,
        "manifest": str(profile.manifest),
        "verify_checksums": profile.data.verify_checksums,
        "output_dir": str(profile.step_dir(step)),
        "figures_dir": str(profile.outputs.figures),
    }
    params.update(profile.steps.get(step, {}))
    for key in PATH_PARAMETERS:
        params[key] = _relative_to(Path(params[key]), profile.root)
    return params


def _relative_to(path: Path, root: Path | None) -> str:
    """``path`` relative to ``root`` where it lies below it, else as it is."""
    if root is not None and path.is_absolute():
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            pass
    return str(path)


def step_parameters(step: str, profile: str | os.PathLike[str] = "demo",
                    overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything a step's notebook runs with: the profile's settings, then ``overrides``.

    A notebook's ``parameters`` cell holds only ``profile`` (the workflow
    injects its path) and ``overrides`` (``None``); every setting is read
    here from the profile, so a notebook opened in JupyterLab runs exactly
    as the workflow runs it, and a value tried by hand is one dict entry.

    Parameters
    ----------
    step
        The step's name (:data:`leukoct.steps.STEPS`).
    profile
        A profile name or YAML path.
    overrides
        ``{name: value}`` replacing a knob of the step (checked as a profile's
        would be) or ``seed``, ``threads``, ``verify_checksums``.  Paths are
        not overridden: a step's files are where its profile puts them.

    Raises
    ------
    ProfileError
        An override names no parameter of the step, or has a value the knob
        does not allow; the message lists the step's parameters.

    Examples
    --------
    >>> P = step_parameters("external", "ci", {"confidence": 0.9})  # doctest: +SKIP
    >>> P["confidence"], P["min_n"]  # doctest: +SKIP
    (0.9, 3)
    """
    from leukoct.knobs import STEP_KNOBS, knob_problem

    loaded = load_profile(profile)
    resolved = notebook_parameters(loaded, step)
    chosen = dict(overrides or {})
    paths = sorted(set(chosen) & {"profile", *PATH_PARAMETERS})
    if paths:
        # Where a step reads and writes is its profile's (leukoct.run.Run), so
        # that every file a later step reads is where that step looks for it.
        raise ProfileError(
            f"overrides for step {step!r}: {', '.join(paths)} cannot be overridden; fix: "
            "point the notebook at a profile whose data.manifest and outputs are where you "
            "want them (a copy of profiles/ci.yaml, say)")
    unknown = sorted(set(chosen) - set(resolved))
    if unknown:
        raise ProfileError(
            f"overrides for step {step!r}: no parameter {', '.join(unknown)}; its parameters "
            f"are {', '.join(sorted(resolved))}")
    problems = [f"{knob}: {why}" for knob, value in chosen.items()
                if knob in STEP_KNOBS.get(step, {})
                and (why := knob_problem(step, knob, value)) is not None]
    if problems:
        raise ProfileError(f"overrides for step {step!r}: " + "; ".join(problems))
    resolved.update(chosen)
    assert loaded.root is not None
    for key in PATH_PARAMETERS:
        path = Path(resolved[key])
        resolved[key] = str(path if path.is_absolute() else loaded.root / path)
    return resolved
