"""How long does `leukoct manifest validate` take as a study grows?

Writes a synthetic manifest of N subjects with one CT of a given size each
(into a temporary folder) and times validation with and without checksum
verification.  Checksums dominate: they read every byte of every image.

    .venv/bin/python benchmarks/manifest_validation.py [--subjects 500] [--mb 8]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from leukoct.manifest import fill_checksums, validate_manifest, write_manifest


def build(folder: Path, subjects: int, megabytes: float) -> Path:
    rng = np.random.default_rng(0)
    payload_size = int(megabytes * 1e6)
    rows = []
    for i in range(subjects):
        image = folder / "images" / f"B-{i:05d}_ct.nii.gz"
        image.parent.mkdir(parents=True, exist_ok=True)
        # Random bytes stand in for a compressed image: hashing cost depends on size only.
        image.write_bytes(rng.bytes(payload_size))
        rows.append({"subject_id": f"B-{i:05d}", "cohort": "clinical", "site": "C1",
                     "ct_path": str(image), "age": 70, "sex": "F"})
    path = write_manifest(pd.DataFrame(rows), folder / "manifest.csv")
    fill_checksums(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=500)
    parser.add_argument("--mb", type=float, default=8.0, help="size of each image in MB")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = build(Path(tmp), args.subjects, args.mb)
        for checksums in (False, True):
            start = time.perf_counter()
            report = validate_manifest(path, verify_checksums=checksums)
            elapsed = time.perf_counter() - start
            assert report.ok, report.problems[:3]
            total_mb = args.subjects * args.mb
            print(f"{args.subjects} subjects, {total_mb:.0f} MB, checksums={checksums}: "
                  f"{elapsed:.2f} s ({elapsed / args.subjects * 1000:.1f} ms/subject)")


if __name__ == "__main__":
    main()
