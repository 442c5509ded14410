"""Cold build versus the rebuild after one clinical field changes.

Run: ``python benchmarks/incremental_rebuild.py [--profile demo] [--mode author|twin]
[--cores N] [--keep DIR]``.

Builds the whole study (every step, the book) from nothing into a temporary
folder with the profile's settings, then changes the 3-month mRS of one
clinical patient in its manifest and builds again.  Prints both wall-clock
times, the rules the second build re-ran and the ratio.  Target (issue 9):
the incremental build takes at most 5 % of the cold one on ``demo``.

``--mode author`` (default) is an author's situation: the data exist (the
profile's twin is generated first, untimed) and the workflow reads them as
a real-data manifest, so the twin's own chapter is not part of the study.
``--mode twin`` builds the twin inside the timed cold run; its chapter then
re-runs after the edit too, as it shows every cell of the manifest it
generated.  The ``ci`` profile is too small for the ratio to mean much (the
book's rendering is a fixed cost).
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from leukoct.config import find_project_root, load_profile


def _profile_in(root: Path, name: str, folder: Path, author: bool) -> Path:
    """The profile with its manifest and every output under ``folder``; for an
    author, the generated twin read as a real-data manifest."""
    source = load_profile(name, root=root).path
    raw = yaml.safe_load(Path(source).read_text(encoding="utf-8"))
    raw["data"]["manifest"] = str(folder / "data" / "manifest.csv")
    raw["outputs"] = {"root": str(folder / "run"), "figures": str(folder / "figures"),
                      "book": str(folder / "book")}
    path = folder / "profile.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    if author:
        subprocess.run([str(Path(sys.executable).parent / "leukoct"), "twin", "--profile",
                        str(path)], check=True, capture_output=True, text=True)
        raw["data"]["source"] = "manifest"
        raw.pop("twin", None)
        path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def _snakemake(root: Path, folder: Path, profile: Path, cores: int) -> tuple[float, str]:
    env = {**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    start = time.perf_counter()
    result = subprocess.run(
        [str(Path(sys.executable).parent / "snakemake"), "--snakefile", str(root / "Snakefile"),
         "--directory", str(folder), "--cores", str(cores), "--config", f"profile={profile}"],
        capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"snakemake failed:\n{result.stderr[-4000:]}")
    return elapsed, result.stdout + result.stderr


def _rules_run(log: str) -> list[str]:
    """Rule names of the jobs a Snakemake log reports as started."""
    return sorted(set(re.findall(r"^(?:local)?rule (\w+):", log, re.M)))


def _edit_clinical_field(manifest: Path) -> str:
    with open(manifest, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header, rows = list(reader.fieldnames or []), list(reader)
    row = next(r for r in rows if r["cohort"] == "clinical")
    row["mrs_3m"] = str((int(row["mrs_3m"] or 0) + 1) % 7)
    with open(manifest, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return row["subject_id"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", default="demo",
                        help="profile name or YAML path (default: demo)")
    parser.add_argument("--mode", choices=("author", "twin"), default="author",
                        help="author: data exist before the cold build (default); "
                             "twin: the cold build generates them")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--keep", type=Path, default=None,
                        help="build in this folder and keep it (default: a temporary one)")
    args = parser.parse_args()
    root = find_project_root()
    with tempfile.TemporaryDirectory() as tmp:
        folder = (args.keep or Path(tmp)).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        profile = _profile_in(root, args.profile, folder, args.mode == "author")
        cold, _ = _snakemake(root, folder, profile, args.cores)
        noop, _ = _snakemake(root, folder, profile, args.cores)
        subject = _edit_clinical_field(folder / "data" / "manifest.csv")
        warm, log = _snakemake(root, folder, profile, args.cores)
    print(f"profile {args.profile}, mode {args.mode}, {args.cores} cores")
    print(f"cold build              {cold:8.1f} s")
    print(f"nothing changed         {noop:8.1f} s")
    print(f"one clinical field      {warm:8.1f} s  ({100 * warm / cold:.1f} % of cold; "
          f"target <= 5 % on demo)  mRS of {subject}; re-ran: {', '.join(_rules_run(log))}")


if __name__ == "__main__":
    main()
