"""Time the digital twin at the ``ci`` and ``demo`` sizes.

Run: ``python benchmarks/twin_generation.py [--workers N] [--only ci|demo]``.
Prints wall-clock seconds per size (atlas loading included) and the
validation status of each manifest.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from leukoct.manifest import validate_manifest
from leukoct.twin import TwinSettings, generate_study

SIZES: dict[str, TwinSettings] = {
    "ci": TwinSettings(development=8, external=4, us=2, clinical=12,
                       atlas_resolution_mm=2, ct_inplane_mm=2.0),
    "demo": TwinSettings(development=40, external=20, us=8, clinical=160,
                         atlas_resolution_mm=2, ct_inplane_mm=1.5),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=sorted(SIZES))
    args = parser.parse_args()
    for name, settings in SIZES.items():
        if args.only and name != args.only:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            manifest = generate_study(settings, Path(tmp), seed=args.seed,
                                      workers=args.workers, progress=False)
            elapsed = time.perf_counter() - start
            ok = validate_manifest(manifest).ok
            size_mb = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file()) / 1e6
            n = settings.development + settings.external + settings.us + settings.clinical
            print(f"{name:5s} subjects={n:4d} workers={args.workers} time={elapsed:6.1f} s "
                  f"size={size_mb:7.1f} MB manifest_valid={ok}")


if __name__ == "__main__":
    main()
