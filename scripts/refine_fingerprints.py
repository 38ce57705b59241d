"""Record (or check) fingerprints of every refine method's output on the bundled sample.

The coarse sample skull (SkullFix 069, 128 x 128 x 64) is refined to its own full-resolution
grid by each method (template methods with the bundled SkullFix 000-059 table, 1 and 2
workers) and the SHA-256 of the output voxels (uint8, C order) plus its shape is recorded in
``Testing/data/refine_fingerprints.json``. The test suite compares against it, so a change that
alters any output (a refactor, a speed-up) is caught.

Usage: python scripts/refine_fingerprints.py [--check] [--methods hash,kdtree,...]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RECORD = ROOT / "Testing" / "data" / "refine_fingerprints.json"
SAMPLE = ROOT / "VoxelRearrangement" / "VoxelRearrangementLib" / "data" / "samples"
CASES = [("hash", 1), ("hash", 2), ("kdtree", 1), ("kdtree", 2), ("learned", 1),
         ("nearest", 1), ("trilinear", 1), ("median", 1), ("gaussian", 1)]


def fingerprint(array: np.ndarray) -> str:
    """SHA-256 of the voxels (as uint8, C order) and the shape."""
    h = hashlib.sha256(np.ascontiguousarray(array, dtype=np.uint8).tobytes())
    h.update(str(tuple(array.shape)).encode())
    return h.hexdigest()


def refine_sample(method: str, workers: int) -> np.ndarray:
    """The coarse sample refined to the complete sample's grid (bundled tables, CPU)."""
    from VoxelRearrangementLib import read_grid, read_mask, refine
    coarse = read_mask(SAMPLE / "skull069_coarse.nrrd")
    target = read_grid(SAMPLE / "skull069_complete.nrrd")
    return refine(coarse, method, target_grid=target, workers=workers, device="cpu").mask.array


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the record")
    parser.add_argument("--methods", help="comma-separated subset")
    args = parser.parse_args()
    wanted = set(args.methods.split(",")) if args.methods else None
    record = json.loads(RECORD.read_text()) if RECORD.is_file() else {}
    failed = False
    for method, workers in CASES:
        if wanted and method not in wanted:
            continue
        key = f"{method}/workers={workers}"
        fp = fingerprint(refine_sample(method, workers))
        if args.check:
            ok = record.get(key) == fp
            failed |= not ok
            print(f"{key}: {'same' if ok else 'DIFFERENT'}")
        else:
            record[key] = fp
            print(f"{key}: {fp}")
    if not args.check:
        RECORD.write_text(json.dumps(record, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
