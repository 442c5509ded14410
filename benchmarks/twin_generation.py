"""Time the digital twin at the sizes of the study's profiles.

Run: ``python benchmarks/twin_generation.py [--profiles ci demo] [--workers N]``.
Sizes, grids and seeds come from ``profiles/<name>.yaml``, so the figures
printed are those of ``make book`` (demo) and the tests (ci).  Prints
wall-clock seconds (atlas loading included), seconds per subject, the
study's size on disk and whether its manifest validates.  Target (issue 3):
demo ≤ 120 s on a 2-core laptop.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from leukoct.config import find_project_root, load_profile
from leukoct.manifest import validate_manifest
from leukoct.twin import generate_study


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profiles", nargs="+", default=["ci", "demo"],
                        help="profile names or YAML paths (default: ci demo)")
    parser.add_argument("--workers", type=int, default=None,
                        help="worker processes (default: the profile's)")
    args = parser.parse_args()
    root = find_project_root()
    for name in args.profiles:
        profile = load_profile(name, root=root)
        if profile.twin is None:
            print(f"{name}: uses a real manifest, no twin to time")
            continue
        settings = profile.twin
        workers = args.workers or settings.workers
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            manifest = generate_study(settings, Path(tmp), seed=profile.seed,
                                      workers=workers, progress=False)
            elapsed = time.perf_counter() - start
            ok = validate_manifest(manifest).ok
            size_mb = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file()) / 1e6
        n = settings.development + settings.external + settings.us + settings.clinical
        print(f"{profile.name:6s} subjects={n:5d} ct_inplane={settings.ct_inplane_mm} mm "
              f"workers={workers} time={elapsed:6.1f} s ({elapsed / n:.2f} s/subject) "
              f"size={size_mb:7.1f} MB manifest_valid={ok}")


if __name__ == "__main__":
    main()
