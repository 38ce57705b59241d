"""Benchmark of the printing step: meshing speed and memory, mesh fidelity and printability
per upsampling method, implant metrics per method, and a render of skull + implant.

* Meshing: the bundled full-resolution skull (case 069, 512 x 512 x 236) meshed raw and
  smoothed, each in a fresh process: wall time and peak memory added by the meshing
  (target <= 5 s, <= 1 GB).
* Per SkullFix case (default the validation split 060-079; nothing here is fitted to them):
  the ground-truth complete skull is degraded to the challenge's coarse format and brought
  back to full resolution by each ``--methods`` entry (``nearest``, ``trilinear``, ``hash``,
  ``kdtree``, ... via ``synthesis.refine``); completed skull = upsampled | defective, with
  defective = complete & ~implant.
  - implant metrics (DSC, boundary DSC, HD95) of our clean-up (``implant.extract_implant``)
    per method, and of the reference clean-up on trilinear (one-voxel opening + largest
    piece);
  - for the first ``--fidelity-cases`` cases, the skull meshes of each method, raw marching
    cubes and smoothed, against the ground-truth skull's raw marching-cubes surface:
    distances (mean, p95 mm), staircase index, printability.
* A render of skull + implant for ``--render-case`` into Resources/Screenshots/.

Prints markdown tables and writes JSON to benchmarks/results/printing.json. Example:
    python benchmarks/benchmark_printing.py --cases 060-079 --methods nearest,trilinear
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

from _common import ROOT, SAMPLES, SHARED_DATA, PeakMemory, parse_cases
from VoxelRearrangementLib import (
    Mask,
    downsample,
    extract_implant,
    implant_metrics,
    mask_to_mesh,
    printability_report,
    read_mask,
    refine,
)
from VoxelRearrangementLib.evaluation.fidelity import fidelity_report
from VoxelRearrangementLib.io.skullfix import read_case
from VoxelRearrangementLib.printing.implant import raw_implant
from VoxelRearrangementLib.printing.meshing import DEFAULT_SMOOTHING

SAMPLE = SAMPLES / "skull069_complete.nrrd"


def _mesh_child(path: str, smoothing: float, decimate: float, queue) -> None:
    mask = read_mask(path)
    mask_to_mesh(Mask(mask.array[:8, :8, :8] | 1, mask.ijk_to_lps))  # warm up imports
    with PeakMemory() as mem:
        t = time.perf_counter()
        mesh = mask_to_mesh(mask, smoothing=smoothing, decimate=decimate)
        seconds = time.perf_counter() - t
    rep = printability_report(mesh)
    queue.put({"smoothing": smoothing, "decimate": decimate, "seconds": round(seconds, 2),
               "peak_added_mb": round(mem.peak_mb, 1),
               "triangles": mesh.triangle_count, "watertight": rep["watertight"],
               "components": rep["pieces"], "volume_ml": round(rep["volume_ml"], 2)})


def meshing_speed(settings) -> list:
    """Time and peak memory of meshing the bundled full-resolution skull, fresh process each."""
    ctx = multiprocessing.get_context("spawn")
    rows = []
    for smoothing, decimate in settings:
        queue = ctx.Queue()
        proc = ctx.Process(target=_mesh_child, args=(str(SAMPLE), smoothing, decimate, queue))
        proc.start()
        rows.append(queue.get())
        proc.join()
    return rows


def reference_cleanup(completed: Mask, defective: Mask) -> Mask:
    """The reference: completed minus defective, one-voxel opening, largest piece."""
    opened = ndimage.binary_opening(raw_implant(completed, defective))
    labels, n = ndimage.label(opened)
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    return Mask((labels == np.argmax(sizes)).astype(np.uint8), defective.ijk_to_lps)


def upsample(coarse: Mask, method: str, grid) -> Mask:
    return refine(coarse, method, target_grid=grid).mask


def run_case(case: str, data: Path, methods, fidelity: bool, render_to: Path = None) -> dict:
    t0 = time.perf_counter()
    complete, truth, defective = read_case(data, case)
    coarse = downsample(complete)
    out = {"case": case, "shape": list(complete.array.shape), "sheared": complete.grid.is_sheared,
           "implant": {}, "skull": {}}
    truth_mesh = mask_to_mesh(complete, smoothing=0) if fidelity else None
    if fidelity:
        smooth_truth = mask_to_mesh(complete, smoothing=DEFAULT_SMOOTHING)
        out["skull"]["truth-smoothed"] = _skull_row(smooth_truth, truth_mesh)
    for method in methods:
        t = time.perf_counter()
        up = upsample(coarse, method, complete.grid)
        up_s = time.perf_counter() - t
        completed = Mask((up.array | defective.array).astype(np.uint8), complete.ijk_to_lps)
        if method == "trilinear":
            out["implant"]["reference (trilinear)"] = implant_metrics(
                reference_cleanup(completed, defective), truth, defective)
        t = time.perf_counter()
        ours = extract_implant(completed, defective)
        row = implant_metrics(ours, truth, defective)
        row["cleanup_s"] = round(time.perf_counter() - t, 2)
        row["upsample_s"] = round(up_s, 2)
        mesh = mask_to_mesh(ours)
        rep = printability_report(mesh, thickness=True)
        row.update({"mesh_watertight": rep["watertight"], "mesh_components": rep["pieces"],
                    "wall_min_mm": rep["wall_thickness_mm"]["min"],
                    "wall_p5_mm": rep["wall_thickness_mm"]["p5"]})
        out["implant"][method] = row
        if render_to is not None and method == "trilinear":
            from VoxelRearrangementLib.printing.render import render_png
            render_png(render_to, defective, ours,
                       title=f"SkullFix {case}: defective skull (grey) and implant (orange), "
                             "trilinear + clean-up")
        if fidelity:
            for smoothing in (0.0, DEFAULT_SMOOTHING):
                mesh = mask_to_mesh(up, smoothing=smoothing)
                name = f"{method} {'raw MC' if smoothing == 0 else 'smoothed'}"
                out["skull"][name] = _skull_row(mesh, truth_mesh)
        del up, completed
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def _skull_row(mesh, truth_mesh) -> dict:
    fid = fidelity_report(mesh, truth_mesh)
    rep = printability_report(mesh)
    return {**{k: round(v, 4) for k, v in fid.items()},
            "watertight": rep["watertight"], "non_manifold_edges": rep["non_manifold_edges"],
            "components": rep["pieces"], "triangles": rep["triangles"],
            "volume_ml": round(rep["volume_ml"], 2)}


def summary(results: list) -> dict:
    """Per implant method: mean metrics, and per-case wins over the reference."""
    table = {}
    names = list(results[0]["implant"]) if results else []
    for name in names:
        rows = [r["implant"][name] for r in results]
        table[name] = {k: float(np.mean([row[k] for row in rows])) for k in ("dsc", "bdsc", "hd95_mm")}
        table[name]["min_dsc"] = float(min(row["dsc"] for row in rows))
        ref = [r["implant"].get("reference (trilinear)") for r in results]
        if all(ref) and not name.startswith("reference"):
            table[name]["cases_beating_reference"] = (
                f"{sum(row['dsc'] > q['dsc'] and row['hd95_mm'] <= q['hd95_mm'] for row, q in zip(rows, ref))}"
                f"/{len(rows)}")
    return table


def markdown(meshing: list, results: list, implant_table: dict) -> str:
    lines = []
    if meshing:
        lines += ["### Meshing a full-resolution skull (512 x 512 x 236)", "",
                  "| smoothing | decimate | time (s) | peak memory added (MB) | triangles | watertight |",
                  "| --- | --- | --- | --- | --- | --- |"]
        lines += [f"| {r['smoothing']} | {r['decimate']} | {r['seconds']} | {r['peak_added_mb']} | "
                  f"{r['triangles']} | {r['watertight']} |" for r in meshing]
        lines.append("")
    skull = [r for r in results if r["skull"]]
    if skull:
        names = list(skull[0]["skull"])
        lines += [f"### Skull mesh fidelity vs the ground truth (cases {', '.join(r['case'] for r in skull)})", "",
                  "| mesh | mean dist (mm) | p95 dist (mm) | staircase index | watertight | components | triangles |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for n in names:
            rows = [r["skull"][n] for r in skull]
            lines.append(f"| {n} | {np.mean([x['mean_mm'] for x in rows]):.3f} | "
                         f"{np.mean([x['p95_mm'] for x in rows]):.3f} | "
                         f"{np.mean([x['staircase_index'] for x in rows]):.4f} | "
                         f"{all(x['watertight'] for x in rows)} | "
                         f"{np.mean([x['components'] for x in rows]):.0f} | "
                         f"{np.mean([x['triangles'] for x in rows]):.0f} |")
        lines.append("")
    if implant_table:
        lines += [f"### Implant metrics (SkullFix {results[0]['case']}-{results[-1]['case']}, "
                  f"{len(results)} cases; completed skull = upsampled coarse ground truth)", "",
                  "| completed skull + clean-up | DSC | boundary DSC | HD95 (mm) | worst DSC | beats reference (DSC and HD95) |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for name, r in implant_table.items():
            label = name if name.startswith("reference") else f"{name} + ours"
            lines.append(f"| {label} | {r['dsc']:.4f} | {r['bdsc']:.4f} | {r['hd95_mm']:.3f} | "
                         f"{r['min_dsc']:.4f} | {r.get('cases_beating_reference', '-')} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(SHARED_DATA))
    parser.add_argument("--cases", default="060-079",
                        help="e.g. 060-079 or 060,065; 'none' for the meshing speed alone")
    parser.add_argument("--methods", default="nearest,trilinear",
                        help="comma-separated upsampling methods (nearest, trilinear, median, "
                             "gaussian, hash, kdtree)")
    parser.add_argument("--fidelity-cases", type=int, default=2,
                        help="how many of the cases also get the skull-mesh fidelity (slow)")
    parser.add_argument("--render-case", default="069")
    parser.add_argument("--no-meshing-speed", action="store_true")
    parser.add_argument("--decimation-timing", action="store_true",
                        help="also time smoothing + 50 %% decimation (slow: ~30 s)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "printing.json"))
    parser.add_argument("--merge", nargs="+", metavar="JSON",
                        help="only combine earlier runs (their meshing rows and cases) into --out")
    args = parser.parse_args()
    if args.merge:
        runs = [json.loads(Path(p).read_text()) for p in args.merge]
        write_results([m for run in runs for m in run.get("meshing", [])],
                      [c for run in runs for c in run.get("cases", [])],
                      next((run["methods"] for run in runs if "methods" in run), []), Path(args.out))
        return

    settings = [(0.0, 0.0), (DEFAULT_SMOOTHING, 0.0)] + \
        ([(DEFAULT_SMOOTHING, 0.5)] if args.decimation_timing else [])
    meshing = [] if args.no_meshing_speed else meshing_speed(settings)
    if args.cases == "none":
        print(json.dumps(meshing, indent=1))
        Path(args.out).write_text(json.dumps({"meshing": meshing}, indent=1, default=float))
        return
    data = Path(args.data) / "skullfix"
    cases = parse_cases(args.cases)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    results = []
    for n, case in enumerate(cases):
        render = ROOT / "Resources" / "Screenshots" / f"skull_implant_{case}.png" if case == args.render_case else None
        if render is not None:
            render.parent.mkdir(parents=True, exist_ok=True)
        results.append(run_case(case, data, methods, n < args.fidelity_cases, render))
        print(f"case {case}: " + ", ".join(f"{k} dsc {v['dsc']:.4f} hd95 {v['hd95_mm']:.2f}"
                                           for k, v in results[-1]["implant"].items()), flush=True)
    write_results(meshing, results, methods, Path(args.out))


def write_results(meshing: list, results: list, methods: list, out: Path) -> None:
    """Print the markdown tables and write them with every number to ``out`` (JSON)."""
    table = summary(results)
    text = markdown(meshing, results, table)
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meshing": meshing, "cases": results, "implant_summary": table,
                               "methods": methods, "markdown": text}, indent=1, default=float))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
