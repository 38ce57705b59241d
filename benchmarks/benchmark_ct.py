"""Skull segmentation from head CTs: synthetic CTs made from real SkullFix skulls (no head CT
ships here; see VoxelRearrangementLib/ct/phantom.py), segmented at several bone thresholds,
scored against the skull each CT was made from (Dice, and the share of segmented voxels
farther than 2 voxels from it: what was not removed). Prints a table, writes JSON and a
picture of one case.

    python benchmarks/benchmark_ct.py [--cases 060-069] [--thresholds 200,300,400]
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
from scipy import ndimage

from _common import ROOT, SHARED_DATA, parse_cases
from VoxelRearrangementLib import read_mask
from VoxelRearrangementLib.ct.phantom import synthetic_head_ct
from VoxelRearrangementLib.ct.segment import skull_from_ct
from VoxelRearrangementLib.evaluation.metrics import dice

OUT = ROOT / "benchmarks" / "results" / "ct.json"
PICTURE = ROOT / "Resources" / "Screenshots" / "ct_segmentation.png"


def on_ct_grid(mask, ct):
    offset = np.rint(np.linalg.inv(ct.ijk_to_lps) @ mask.ijk_to_lps[:, 3])[:3].astype(int)
    out = np.zeros(ct.array.shape, dtype=np.uint8)
    out[tuple(slice(o, o + n) for o, n in zip(offset, mask.array.shape))] = mask.array
    return out


def picture(ct, segmented, truth, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    i = ct.array.shape[0] // 2
    fig, axes = plt.subplots(1, 2, figsize=(10, 5))
    for ax, (title, overlay) in zip(axes, (("synthetic CT (HU)", None),
                                           ("segmented skull (orange) over the source mask (grey)", 1))):
        ax.imshow(np.clip(ct.array[i].T[::-1], -200, 1500), cmap="gray", aspect="auto")
        if overlay:
            rgba = np.zeros(truth[i].T.shape + (4,))
            rgba[truth[i].T[::-1] > 0] = (0.8, 0.8, 0.8, 0.6)
            rgba[segmented[i].T[::-1] > 0] = (0.95, 0.45, 0.1, 0.7)
            ax.imshow(rgba, aspect="auto")
        ax.set_title(title)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="060-069")
    parser.add_argument("--thresholds", default="200,300,400")
    args = parser.parse_args()
    thresholds = [float(t) for t in args.thresholds.split(",")]
    rows = []
    for n, case in enumerate(parse_cases(args.cases)):
        complete = read_mask(SHARED_DATA / "skullfix" / "complete" / f"{case}.nrrd")
        implant = read_mask(SHARED_DATA / "skullfix" / "implant" / f"{case}.nrrd")
        defective = complete.__class__((complete.array & ~implant.array.astype(bool)).astype(np.uint8),
                                       complete.ijk_to_lps)
        synthetic = synthetic_head_ct(defective, seed=int(case))
        truth = synthetic.skull.array
        near = ndimage.binary_dilation(truth, iterations=2)
        row = {"case": case, "sheared": bool(np.abs(complete.ijk_to_lps[:3, :3] -
                                                            np.diag(np.diag(complete.ijk_to_lps[:3, :3]))).max() > 1e-6)}
        for hu in thresholds:
            t = time.perf_counter()
            got = skull_from_ct(synthetic.ct, bone_hu=hu)
            seconds = time.perf_counter() - t
            placed = on_ct_grid(got.skull, synthetic.ct)
            row[f"dice_{hu:g}"] = round(float(dice(placed, truth)), 4)
            row[f"kept_outside_{hu:g}"] = round(float((placed.astype(bool) & ~near).sum() / max(placed.sum(), 1)), 5)
            row[f"seconds_{hu:g}"] = round(seconds, 2)
            if n == 0 and hu == 300:
                picture(synthetic.ct, placed, truth, PICTURE)
        rows.append(row)
        print(row, flush=True)
    summary = {f"mean_dice_{hu:g}": round(float(np.mean([r[f"dice_{hu:g}"] for r in rows])), 4)
               for hu in thresholds}
    summary.update({f"min_dice_{hu:g}": round(float(np.min([r[f"dice_{hu:g}"] for r in rows])), 4)
                    for hu in thresholds})
    OUT.write_text(json.dumps({"cases": rows, "summary": summary}, indent=1))
    print("\n| bone threshold (HU) | mean Dice | min Dice | voxels kept beyond 2 voxels of the skull |")
    print("| --- | --- | --- | --- |")
    for hu in thresholds:
        kept = max(r[f"kept_outside_{hu:g}"] for r in rows)
        print(f"| {hu:g} | {summary[f'mean_dice_{hu:g}']:.3f} | {summary[f'min_dice_{hu:g}']:.3f} | "
              f"at most {100 * kept:.3f}% |")


if __name__ == "__main__":
    main()
