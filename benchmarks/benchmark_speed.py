"""Speed and memory of template synthesis and learned rearrangement, beside trilinear in one run.

Measures on one SkullFix validation skull (default 060): building the vote tables of new
templates (uncached; file reading timed apart), loading the bundled table, and refining the
128 x 128 x 64 coarse skull to full resolution with trilinear, hash (1 and 2 workers, checked
bit-identical), kdtree and learned (1 and 2 CPU threads). Peak memory is the resident set size above the level before each
call. Prints a markdown table; writes benchmarks/results/speed.json.

Usage: python benchmarks/benchmark_speed.py [--data ../shared/data] [--case 060] [--templates 000,001,002]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from _common import ROOT, SHARED_DATA, PeakMemory
from VoxelRearrangementLib import downsample, read_mask, refine
from VoxelRearrangementLib._shared.resources import DEFAULT_TABLES, resource_path
from VoxelRearrangementLib.synthesis.tables import StepTables, learn_template


def timed(fn):
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        value = fn()
        seconds = time.perf_counter() - t0
    return value, seconds, mem.peak_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(SHARED_DATA))
    parser.add_argument("--case", default="060")
    parser.add_argument("--templates", default="000,001,002")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args()
    complete = Path(args.data) / "skullfix" / "complete"
    rows = []

    for t in args.templates.split(","):
        mask, read_s, _ = timed(lambda: read_mask(complete / f"{t}.nrrd"))
        _, s, mb = timed(lambda: learn_template(mask, 4))
        rows.append({"what": f"build table of template {t} (uncached)", "seconds": s, "peak_mb": mb,
                     "note": f"reading the file: {read_s:.1f} s"})
    tables, s, mb = timed(lambda: StepTables.load(resource_path(*DEFAULT_TABLES)))
    rows.append({"what": "load bundled table (60 skulls)", "seconds": s, "peak_mb": mb, "note": ""})

    truth = read_mask(complete / f"{args.case}.nrrd")
    coarse = downsample(truth)
    results = {}
    for label, method, workers in (("trilinear", "trilinear", 1), ("hash, 1 worker", "hash", 1),
                                   ("hash, 2 workers", "hash", 2), ("kdtree, 1 worker", "kdtree", 1),
                                   ("learned, 1 thread", "learned", 1), ("learned, 2 threads", "learned", 2)):
        r, s, mb = timed(lambda: refine(coarse, method, tables=tables, target_grid=truth.grid,
                                        workers=workers))
        results[label] = r.mask.array
        steps = r.report.get("steps", [])
        note = ", ".join(f"L{n + 1} {st['seconds']:.1f} s" for n, st in enumerate(steps))
        if "learned" in r.report:
            lr = r.report["learned"]
            note = (f"network {lr['network_seconds']:.1f} s on {lr['tiles_run']}/{lr['tiles']} tiles, "
                    f"{lr['band_voxels'] / 1e6:.1f} M band voxels")
        rows.append({"what": f"refine {args.case} to {list(truth.array.shape)}: {label}", "seconds": s,
                     "peak_mb": mb, "note": note})
    identical = bool(np.array_equal(results["hash, 1 worker"], results["hash, 2 workers"]))
    tri = next(r["seconds"] for r in rows if r["what"].endswith("trilinear"))
    lines = ["| what | time (s) | x trilinear | peak memory (MB) | note |", "| --- | --- | --- | --- | --- |"]
    for r in rows:
        ratio = f"{r['seconds'] / tri:.1f}" if r["what"].startswith("refine") else ""
        lines.append(f"| {r['what']} | {r['seconds']:.2f} | {ratio} | {r['peak_mb']:.0f} | {r['note']} |")
    lines.append(f"\nhash with 2 workers bit-identical to 1 worker: {identical}; "
                 f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}")
    md = "\n".join(lines)
    print(md)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "speed.json").write_text(json.dumps({"rows": rows, "parallel_identical": identical}, indent=1))
    (out / "speed.md").write_text(md + "\n")


if __name__ == "__main__":
    main()
