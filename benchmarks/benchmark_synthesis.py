"""Benchmark of refinement methods on SkullFix validation skulls (060-079).

For each case: coarse = challenge downsampling of the complete skull; every method brings it
back to the original grid; metrics against the full-resolution ground truth (Dice, HD95,
ASSD, roughness, staircase share), wall time and peak memory (resident set size above the
level before the call, sampled every 10 ms) of the refinement alone. Template methods use
vote tables learned from the training skulls 000-059 only (the bundled table). All methods of
a case run side by side in one process, so ratios between them are meaningful even on a
noisy machine.

Usage:
  python benchmarks/benchmark_synthesis.py [--data ../shared/data] [--cases 060-079]
      [--methods nearest,trilinear,median,gaussian,hash,kdtree] [--workers 1]
      [--out benchmarks/results] [--render-case 069]
  python benchmarks/benchmark_synthesis.py --summarize RUN1.json RUN2.json ...  (merge runs;
      a case+method measured again in a later run replaces the earlier row)
  python benchmarks/benchmark_synthesis.py --render-only --render-case 069
Prints a markdown table; writes synthesis.json and synthesis.md in --out and a render PNG
(trilinear, hash, kdtree, learned) into Resources/Screenshots/.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from _common import ROOT, SHARED_DATA, PeakMemory, parse_cases
from VoxelRearrangementLib import Mask, downsample, evaluate, mask_to_mesh, read_mask, refine
from VoxelRearrangementLib.evaluation.metrics import surface_smoothness
from VoxelRearrangementLib.synthesis.refine import METHODS
from VoxelRearrangementLib.synthesis.tables import StepTables, default_tables

#: Methods drawn in Resources/Screenshots/synthesis_comparison.png.
RENDERED = ("trilinear", "hash", "kdtree", "learned")


def summarize(rows, methods, keys):
    table = {}
    for m in methods:
        sel = [r for r in rows if r["method"] == m]
        table[m] = {k: (float(np.mean([r[k] for r in sel])), float(np.std([r[k] for r in sel])))
                    for k in keys}
        if m != "trilinear" and any(r["method"] == "trilinear" for r in rows):
            tri = {r["case"]: r for r in rows if r["method"] == "trilinear"}
            table[m]["cases_better_assd_than_trilinear"] = int(sum(
                r["assd_mm"] < tri[r["case"]]["assd_mm"] for r in sel))
            table[m]["cases_dice_not_below_trilinear"] = int(sum(
                r["dice"] >= tri[r["case"]]["dice"] for r in sel))
    return table


def markdown(table, n_cases, truth_smooth):
    lines = ["| method | Dice | HD95 (mm) | ASSD (mm) | roughness (mm) | staircase share | time (s) | peak memory (MB) | ASSD better than trilinear |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for m, t in table.items():
        wins = t.get("cases_better_assd_than_trilinear")
        lines.append(
            f"| {m} | {t['dice'][0]:.4f} ± {t['dice'][1]:.4f} | {t['hd95_mm'][0]:.3f} | "
            f"{t['assd_mm'][0]:.3f} ± {t['assd_mm'][1]:.3f} | {t['roughness_mm'][0]:.3f} | "
            f"{t['staircase_fraction'][0]:.3f} | {t['seconds'][0]:.2f} | {t['peak_mb'][0]:.0f} | "
            f"{'—' if wins is None else f'{wins}/{n_cases}'} |")
    lines.append(f"| ground truth (full resolution) | 1 | 0 | 0 | {truth_smooth['roughness_mm']:.3f} | "
                 f"{truth_smooth['staircase_fraction']:.3f} | | | |")
    return "\n".join(lines)


def render(case: str, truth: Mask, results: dict, path: Path) -> None:
    """Top: the outer surface of a patch of the vault per method. Bottom: a slice through the
    skull wall, the method's mask (grey) under the ground-truth boundary (orange)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    k_top = int(np.nonzero(truth.array.any(axis=(0, 1)))[0].max())
    ci, cj = (np.array(truth.array.shape[:2]) // 2)
    box = (slice(ci - 40, ci + 40), slice(cj - 40, cj + 40), slice(max(k_top - 30, 0), k_top + 1))
    j_slice = cj + 90  # a slice through the side of the vault, where the wall is oblique
    column = truth.array[:, j_slice, :]
    ks = np.nonzero(column.any(axis=0))[0]
    panels = [("ground truth", truth.array)] + list(results.items())
    fig = plt.figure(figsize=(4 * len(panels), 8))
    for n, (title, array) in enumerate(panels):
        patch = Mask(np.ascontiguousarray(array[box]), np.diag([*truth.grid.spacing, 1.0]))
        surface = mask_to_mesh(patch, smoothing=0.0)
        verts, faces = surface.vertices, surface.faces
        ax = fig.add_subplot(2, len(panels), n + 1, projection="3d")
        tri = verts[faces]
        normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-9)
        shade = 0.45 + 0.55 * np.abs(normals @ np.array([0.5, -0.4, 0.77]))
        mesh = Poly3DCollection(tri, linewidths=0, edgecolors="none")
        mesh.set_facecolor(np.c_[np.outer(shade, [0.95, 0.88, 0.72]), np.ones(len(shade))])
        ax.add_collection3d(mesh)
        lo, hi = verts.min(axis=0), verts.max(axis=0)
        ax.set_xlim(lo[0], hi[0]); ax.set_ylim(lo[1], hi[1]); ax.set_zlim(hi[2] - 8, hi[2])
        ax.view_init(elev=60, azim=-50)
        ax.set_box_aspect((hi[0] - lo[0], hi[1] - lo[1], 8))
        ax.set_axis_off()
        ax.set_title(f"{title}: outer surface")
        ax2 = fig.add_subplot(2, len(panels), len(panels) + n + 1)
        rows = slice(int(np.nonzero(column.any(axis=1))[0].min()), int(np.nonzero(column.any(axis=1))[0].min()) + 60)
        ksl = slice(int(ks.max()) - 45, int(ks.max()) + 3)
        ax2.imshow(array[rows, j_slice, ksl].T, origin="lower", cmap="Greys", vmin=0, vmax=1.6,
                   interpolation="nearest", aspect=truth.grid.spacing[2] / truth.grid.spacing[0])
        ax2.contour(truth.array[rows, j_slice, ksl].T, levels=[0.5], colors="#f08c28", linewidths=1.2)
        ax2.set_xticks([]); ax2.set_yticks([])
        ax2.set_title(f"{title}: slice j={j_slice}")
    fig.suptitle(f"SkullFix case {case} refined from the 128 x 128 x 64 coarse mask "
                 "(orange: ground-truth boundary)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def render_only(case: str, data: Path, tables: StepTables) -> None:
    """Refine one case with the methods of ``RENDERED`` and draw the comparison picture."""
    truth = read_mask(data / "skullfix" / "complete" / f"{case}.nrrd")
    coarse = downsample(truth)
    kept = {m: refine(coarse, m, tables=tables, target_grid=truth.grid).mask.array
            for m in RENDERED}
    render(case, truth, kept, ROOT / "Resources" / "Screenshots" / "synthesis_comparison.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(SHARED_DATA))
    parser.add_argument("--cases", default="060-079")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--table", default=None, help="vote tables (default: the bundled 000-059 table)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    parser.add_argument("--render-case", default="",
                        help="also draw the comparison picture of this case (all of RENDERED must run)")
    parser.add_argument("--render-only", action="store_true",
                        help="only refine --render-case and draw the comparison picture")
    parser.add_argument("--summarize", nargs="+", metavar="JSON",
                        help="only combine the rows of earlier runs (e.g. two halves of the cases)")
    args = parser.parse_args()
    methods = args.methods.split(",")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.summarize:
        runs = [json.loads(Path(p).read_text()) for p in args.summarize]
        # a (case, method) measured again in a later run replaces the earlier row
        rows = list({(r["case"], r["method"]): r for run in runs for r in run["rows"]}.values())
        seen, n_cases = set(), []  # ground-truth smoothness weighted by the cases a run adds
        for run in runs:
            n_cases.append(len(set(run["cases"]) - seen))
            seen |= set(run["cases"])
        smooth = {k: float(sum(run["ground_truth_smoothness"][k] * n for run, n in zip(runs, n_cases))
                           / sum(n_cases)) for k in runs[0]["ground_truth_smoothness"]}
        write_summary(rows, [m for m in methods if any(r["method"] == m for r in rows)], smooth, out)
        return
    tables = StepTables.load(args.table) if args.table else default_tables()
    if args.render_only:
        render_only(args.render_case, Path(args.data), tables)
        return
    rows, truth_smooth = [], []
    for case in parse_cases(args.cases):
        truth = read_mask(Path(args.data) / "skullfix" / "complete" / f"{case}.nrrd")
        coarse = downsample(truth)
        truth_smooth.append(surface_smoothness(truth))
        kept = {}
        for method in methods:
            with PeakMemory() as mem:
                t0 = time.perf_counter()
                result = refine(coarse, method, tables=tables, target_grid=truth.grid,
                                workers=args.workers)
                seconds = time.perf_counter() - t0
            row = {"case": case, "method": method, "seconds": seconds, "peak_mb": mem.peak_mb,
                   **evaluate(result.mask, truth)}
            if "steps" in result.report:
                row["steps"] = result.report["steps"]
            rows.append(row)
            print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v)
                              for k, v in row.items() if k != "steps"}), flush=True)
            if case == args.render_case and method in RENDERED:
                kept[method] = result.mask.array
        if len(kept) == len(RENDERED):
            render(case, truth, kept, ROOT / "Resources" / "Screenshots" / "synthesis_comparison.png")
        (out / "synthesis.json").write_text(json.dumps(
            {"cases": sorted(set(r["case"] for r in rows)), "rows": rows,
             "ground_truth_smoothness": {k: float(np.mean([s[k] for s in truth_smooth]))
                                         for k in truth_smooth[0]}}, indent=1, default=float))
    smooth = {k: float(np.mean([s[k] for s in truth_smooth])) for k in truth_smooth[0]}
    write_summary(rows, methods, smooth, out)


def write_summary(rows, methods, smooth, out: Path) -> None:
    """Print and write the markdown table and the JSON (summary and every row)."""
    keys = ["dice", "hd95_mm", "assd_mm", "roughness_mm", "staircase_fraction", "seconds", "peak_mb"]
    table = summarize(rows, methods, keys)
    md = markdown(table, len(set(r["case"] for r in rows)), smooth)
    print(md)
    (out / "synthesis.md").write_text(md + "\n")
    (out / "synthesis.json").write_text(json.dumps(
        {"cases": sorted(set(r["case"] for r in rows)), "summary": table,
         "ground_truth_smoothness": smooth, "rows": rows}, indent=1, default=float))


if __name__ == "__main__":
    main()
