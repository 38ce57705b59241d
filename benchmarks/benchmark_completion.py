"""Benchmark of the coarse completion network and of the end-to-end pipeline.

On SkullFix validation cases 060-079 (never used for training or for choices):

- coarse (128 x 128 x 64): Dice of the completed skull against the challenge coarse format of
  the true complete skull, and Dice of the restored part (completed minus input) against the
  coarse missing bone; the do-nothing baseline (the defective skull itself) for scale;
- end to end at full resolution (defective skull -> completion -> refinement ``--method`` on
  the defective skull's own grid -> completed | defective -> ``extract_implant``): implant
  DSC, boundary DSC (10 mm) and HD95 (mm), the AutoImplant challenge definitions
  (:mod:`VoxelRearrangementLib.evaluation.implant_metrics`);
- network inference time (2 threads) and peak memory (RSS of this process, measured before
  any 512^2 volume is read), per-case completion and refinement times;
- optionally the SkullBreak parietotemporal skull (no ground truth): the full ``run``
  pipeline, its defect coverage and a render.

Prints a markdown table and writes JSON to benchmarks/results/completion.json.

    python benchmarks/benchmark_completion.py --data ../shared/data/skullfix --method hash \\
        --skullbreak ../shared/data/skullbreak/parietotemporal_001.nii.gz
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from _common import ROOT, SHARED_DATA, PeakMemory, parse_cases
from VoxelRearrangementLib import (
    Mask,
    PipelineOptions,
    complete_skull,
    downsample,
    extract_implant,
    implant_metrics,
    refine,
    run_pipeline,
)
from VoxelRearrangementLib.evaluation.metrics import dice
from VoxelRearrangementLib.io.skullfix import read_case
from VoxelRearrangementLib.learned.completion.inference import complete_coarse, load_completion_model

ANCHORS = {"AutoImplant 2020 baseline (authors)": {"dsc": 0.8555},
           "3D U-Net on SkullFix (literature)": {"dsc": 0.91, "bdsc": 0.95, "hd95_mm": 1.79}}


def inference_speed(model, repeats: int = 5) -> dict:
    """Median wall time of one 128 x 128 x 64 forward pass and its peak memory (MB above the
    level before it, the first pass included)."""
    rng = np.random.default_rng(0)
    x = Mask((rng.random((128, 128, 64)) > 0.9).astype(np.uint8), np.eye(4))
    times = []
    with PeakMemory() as mem:
        complete_coarse(x, model)  # warm-up (oneDNN primitive creation)
        for _ in range(repeats):
            t = time.perf_counter()
            complete_coarse(x, model)
            times.append(time.perf_counter() - t)
    return {"inference_s_median": float(np.median(times)), "inference_s_max": float(max(times)),
            "inference_peak_mb": mem.peak_mb}


def evaluate_case(data: Path, case: str, model, method: str, end_to_end: bool, workers: int,
                  templates: list) -> dict:
    complete, truth, defective = read_case(data, case)
    t = time.perf_counter()
    res = complete_skull(defective, model=model)
    row = {"case": case, "completion_s": time.perf_counter() - t}
    target = downsample(complete).array.astype(bool)
    inp = res.defective.array.astype(bool)
    out = res.mask.array.astype(bool)
    row.update({"coarse_dice": dice(out, target), "coarse_dice_do_nothing": dice(inp, target),
                "coarse_restored_dice": dice(out & ~inp, target & ~inp)})
    del complete
    if end_to_end:
        t = time.perf_counter()
        refined = refine(res.mask, method, templates, defective.grid, workers=workers).mask
        row["refinement_s"] = time.perf_counter() - t
        completed = Mask((refined.array | defective.array).astype(np.uint8), defective.ijk_to_lps)
        del refined
        t = time.perf_counter()
        try:
            implant = extract_implant(completed, defective)
        except Exception as exc:  # an empty implant is a result (DSC 0), not a crash
            print(f"  {case}: {exc}", file=sys.stderr)
            implant = Mask(np.zeros_like(defective.array), defective.ijk_to_lps)
        row["implant_s"] = time.perf_counter() - t
        row.update(implant_metrics(implant, truth, defective))
    return row


def skullbreak_run(path: Path, method: str, workers: int, out_dir: Path, templates: list) -> dict:
    t = time.perf_counter()
    report = run_pipeline(path, out_dir, PipelineOptions(templates=templates, method=method,
                                                         device="cpu", workers=workers))
    return {"input": str(path), "seconds": time.perf_counter() - t,
            "defect_coverage": report["defect_coverage"], "volumes_ml": report["volumes_ml"],
            "implant_watertight": report["implant"]["watertight"],
            "implant_components": report["implant"]["pieces"],
            "timings_s": report["timings_s"], "output_dir": str(out_dir)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=SHARED_DATA / "skullfix")
    ap.add_argument("--cases", default="060-079")
    ap.add_argument("--method", default="hash", help="refinement method for the end-to-end metrics")
    ap.add_argument("--weights", type=Path, help="default: the bundled weights")
    ap.add_argument("--template", type=Path, action="append", default=[],
                    help="template skull(s) of the refinement (default: the bundled table of "
                         "SkullFix 000-059, as in `run`)")
    ap.add_argument("--coarse-only", action="store_true", help="skip refinement and implant metrics")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=1, help="refinement threads")
    ap.add_argument("--skullbreak", type=Path, help="SkullBreak skull to run end to end (no truth)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "completion.json")
    args = ap.parse_args()

    import torch
    torch.set_num_threads(args.threads)
    model = load_completion_model(args.weights, "cpu")
    from VoxelRearrangementLib.learned.completion.model import count_parameters
    speed = {"threads": args.threads, "parameters": count_parameters(model),
             **inference_speed(model)}
    print(f"inference {speed['inference_s_median']:.2f} s (median, {args.threads} threads), "
          f"peak memory {speed['inference_peak_mb']:.0f} MB", flush=True)
    templates = args.template
    rows = []
    for case in parse_cases(args.cases):
        row = evaluate_case(args.data, case, model, args.method, not args.coarse_only, args.workers,
                            templates)
        rows.append(row)
        print("  " + ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                               for k, v in row.items()), flush=True)
    keys = [k for k in rows[0] if k != "case"]
    summary = {k: {"mean": float(np.mean([r[k] for r in rows])),
                   "std": float(np.std([r[k] for r in rows])),
                   "min": float(np.min([r[k] for r in rows]))} for k in keys}
    result = {"cases": parse_cases(args.cases), "method": None if args.coarse_only else args.method,
              "templates": [str(t) for t in templates] or "bundled table of SkullFix 000-059",
              "speed": speed, "summary": summary, "per_case": rows, "anchors": ANCHORS}
    if args.skullbreak:
        out_dir = ROOT / "benchmarks" / "out" / "skullbreak"
        result["skullbreak"] = skullbreak_run(args.skullbreak, args.method, args.workers, out_dir,
                                              templates)
        images = ROOT / "Resources" / "Screenshots"
        images.mkdir(parents=True, exist_ok=True)
        shutil.copy(out_dir / "render.png", images / "completion_skullbreak.png")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))

    print(f"\n| metric ({len(rows)} cases {args.cases}) | mean | std | min |\n| --- | --- | --- | --- |")
    for k, v in summary.items():
        print(f"| {k} | {v['mean']:.4f} | {v['std']:.4f} | {v['min']:.4f} |")
    if "skullbreak" in result:
        cov = result["skullbreak"]["defect_coverage"]
        print(f"\nSkullBreak: implant covers {100 * cov['closed_fraction']:.1f}% of the "
              f"{cov['defect_rays']} upper-vault rays leaving through the defect; "
              f"{result['skullbreak']['volumes_ml']['implant']:.1f} mL")
    print(f"\nJSON: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
