"""Are two runs' tables and ledger values the same, byte for byte?

A refactoring that should change no result (issue 18: "behaviour unchanged")
is checked by running one profile before and after it and comparing what a
reader sees as numbers: every CSV under the figures folder (the paper's
tables, the chapters' own tables) and every value a chapter saved for the
claims ledger (``<run>/values/**/*.values.csv``).  Figures (PNG/PDF) carry
the renderer's metadata and are not compared; provenance sidecars carry the
commit and are not compared either.

Usage::

    python benchmarks/compare_runs.py RUN_A FIGURES_A RUN_B FIGURES_B

e.g. two clones built with ``make book PROFILE=ci``:
``python benchmarks/compare_runs.py old/build/ci old/figures new/build/ci new/figures``
(the ci profile writes its figures under its run folder: pass that folder).
Prints one line per differing or missing file and exits 1 if there is any.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def tables(run: Path, figures: Path) -> dict[str, Path]:
    """The files compared, keyed by a name that is the same in both runs."""
    found = {f"figures/{p.relative_to(figures).as_posix()}": p for p in figures.rglob("*.csv")}
    values = run / "values"
    found.update({f"values/{p.relative_to(values).as_posix()}": p
                  for p in values.rglob("*.values.csv")})
    return found


def compare(a: dict[str, Path], b: dict[str, Path]) -> list[str]:
    """One line per file that differs or exists in one run only."""
    problems = [f"only in A: {name}" for name in sorted(a.keys() - b.keys())]
    problems += [f"only in B: {name}" for name in sorted(b.keys() - a.keys())]
    problems += [f"differs: {name}" for name in sorted(a.keys() & b.keys())
                 if a[name].read_bytes() != b[name].read_bytes()]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for side in ("a", "b"):
        parser.add_argument(f"run_{side}", type=Path, help=f"run folder {side.upper()}")
        parser.add_argument(f"figures_{side}", type=Path, help=f"figures folder {side.upper()}")
    args = parser.parse_args(argv)
    for folder in (args.run_a, args.figures_a, args.run_b, args.figures_b):
        if not folder.is_dir():
            print(f"error: {folder} is not a folder (build both runs first)", file=sys.stderr)
            return 2
    a, b = tables(args.run_a, args.figures_a), tables(args.run_b, args.figures_b)
    problems = compare(a, b)
    print(f"{len(a)} files in A, {len(b)} in B; {len(problems)} differ or are missing")
    for line in problems:
        print("  " + line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
