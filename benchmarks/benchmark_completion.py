"""Implants end to end, per kind of defect: the completion network, the refinement and the
implant with its safety net, exactly as ``run`` designs them (``pipeline.design_implant``).

On SkullFix cases (default 060-079, the report split; 050-059 were held out of training for
choices: ``--cases 050-059``), every case is cut in several ways:

* ``challenge``: its real SkullFix defect (a block off the vault);
* ``lateral``, ``frontal``, ``fronto-orbital``, ``large`` (up to 75 mm half-widths) and
  ``irregular`` (a wavy outline, or a craniotomy with burr holes, on the vault, the side or
  the front): synthetic defects cut into the complete skull at full resolution
  (``learned/completion/defects.py``), seeded by the case number, so every run and every
  model sees the same defects.

For each: the implant's DSC, boundary DSC (10 mm), HD95 and largest deviation (Hausdorff) from
the true implant's surface (mm), its closure with ground truth (the rays that leave through
the defect and meet the implant), its pieces, what the safety net added, and the times. The
implant is scored before the fit (``--clearance-mm``, ``--min-edge-mm``: the ground truth
touches the bone). Also the network's inference time and memory, and optionally the
SkullBreak skull (no ground truth: closure without it) and renders. With
``--flip-anterior-posterior`` every SkullFix case (defective and true implant) gets a header
with anterior and posterior swapped (its IJK-to-LPS matrix mirrored in world y, its voxels as
they were): the face then lies where the header says posterior, as in a file whose header is
wrong that way. ``--face`` is ``run``'s option for those cases (default ``auto``, as ``run``:
the facing check decides; ``posterior`` turns the head round for the network and the closure
checks: with ``--flip-anterior-posterior --face posterior`` a case is seen as with neither).
The SkullBreak file in ../shared/data is such a file (its header calls the face's side
posterior); ``--skullbreak-face`` is its ``--face`` (default ``auto``). Each implant's row
says where the face was taken to lie and the check's logit. ``--framing`` frames every SkullFix
case (defective and true implant alike, world positions kept) otherwise than SkullFix does, as
other scanners and crops do: ``wider`` (a quarter of the volume's width more on each side,
in-plane: a wider field of view), ``above`` (30 % more slices above the vertex), ``below`` (40 %
more slices under the scan's cut) or ``tight`` (in-plane margins cut to 4 % of the volume
beside the skull); index axes of the SkullFix files (left-right, front-back, bottom-top).
``--tilt DEG`` turns every SkullFix head (defective and true implant alike, after the defect is
cut) by DEG degrees about the world's left-right axis through the skull's centre, inside a
volume with a quarter of its slices more above and below so that nothing leaves it (positive:
the face turned down, the chin towards the chest): a head scanned tilted, its bottom cut
oblique in the volume. ``--yaw DEG`` turns them about the world's vertical instead, in a volume
an eighth of its width wider on each side in-plane (positive: the face to the patient's left;
0 pads the volume only): a head turned in the scanner.

Prints markdown tables; writes benchmarks/results/completion.json.

    python benchmarks/benchmark_completion.py [--cases 060-079] [--weights W.pt] \\
        [--skullbreak ../shared/data/skullbreak/parietotemporal_001.nii.gz] [--render] \\
        [--skullbreak-face auto|anterior|posterior] [--flip-anterior-posterior] \\
        [--face auto|anterior|posterior] [--framing as-is|wider|above|below|tight] \\
        [--tilt DEG] [--yaw DEG]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

from _common import ROOT, SHARED_DATA, PeakMemory, parse_cases
from VoxelRearrangementLib import Mask, PipelineOptions, defect_coverage, implant_metrics, read_mask
from VoxelRearrangementLib.evaluation.closure import closure, skull_centre
from VoxelRearrangementLib.evaluation.metrics import surface_distance_metrics
from VoxelRearrangementLib.grids.framing import reframed
from VoxelRearrangementLib.grids.orientation import FACES
from VoxelRearrangementLib.io.skullfix import read_case
from VoxelRearrangementLib.learned.completion.defects import cut_skull, random_defect
from VoxelRearrangementLib.learned.completion.inference import complete_coarse, load_completion_model
from VoxelRearrangementLib.pipeline import design_implant

KINDS = ("challenge", "lateral", "frontal", "fronto-orbital", "large", "irregular")
FRAMINGS = ("as-is", "wider", "above", "below", "tight")
ANCHORS = {"AutoImplant 2020 baseline (authors)": {"dsc": 0.8555},
           "3D U-Net on SkullFix (literature)": {"dsc": 0.91, "bdsc": 0.95, "hd95_mm": 1.79},
           "Wodzinski et al. 2024 (SkullFix, heavy augmentation)": {"dsc": 0.96}}
SCREENSHOTS = ROOT / "Resources" / "Screenshots"


def inference_speed(model, repeats: int = 5) -> dict:
    """Median wall time of one 128 x 128 x 64 forward pass and its peak memory (MB above the
    level before it, the first pass included)."""
    rng = np.random.default_rng(0)
    x = (rng.random((128, 128, 64)) > 0.9).astype(np.uint8)
    times = []
    with PeakMemory() as mem:
        complete_coarse(x, model)  # warm-up (oneDNN primitive creation)
        for _ in range(repeats):
            t = time.perf_counter()
            complete_coarse(x, model)
            times.append(time.perf_counter() - t)
    return {"inference_s_median": float(np.median(times)), "inference_s_max": float(max(times)),
            "inference_peak_mb": mem.peak_mb}


def defect_of(kind: str, case: str, complete: Mask, truth: Mask, defective: Mask):
    """(defective, true implant) of one kind of defect for one case."""
    if kind == "challenge":
        return defective, truth
    rng = np.random.default_rng(1000 * int(case) + KINDS.index(kind))
    if kind == "irregular":
        defect = random_defect(rng, str(rng.choice(["vault", "lateral", "frontal"])),
                               str(rng.choice(["irregular", "craniotomy"])))
    else:
        defect = random_defect(rng, kind)
    return cut_skull(complete, defect, skull_centre(complete))


def flip_anterior_posterior(mask: Mask) -> Mask:
    """``mask`` under a header with anterior and posterior swapped (the IJK-to-LPS matrix
    mirrored in world y; the array as it was): the head's world is its true one mirrored
    front to back, tilt and all."""
    return Mask(mask.array, np.diag([1.0, -1.0, 1.0, 1.0]) @ mask.ijk_to_lps)


def framing_box(framing: str, defective: Mask, truth: Mask):
    """The voxel box (lo, hi; may reach outside the volume) of ``--framing`` for one case."""
    n = np.array(defective.array.shape)
    lo, hi = np.zeros(3, dtype=np.int64), n.copy()
    if framing == "wider":
        lo[:2], hi[:2] = -(n[:2] // 4), n[:2] + n[:2] // 4
    elif framing == "above":
        hi[2] = n[2] + round(0.3 * n[2])
    elif framing == "below":
        lo[2] = -round(0.4 * n[2])
    elif framing == "tight":
        skull = np.argwhere((defective.array != 0) | (truth.array != 0))
        margin = np.round(0.04 * n[:2]).astype(np.int64)
        lo[:2] = np.maximum(skull.min(axis=0)[:2] - margin, 0)
        hi[:2] = np.minimum(skull.max(axis=0)[:2] + 1 + margin, n[:2])
    return lo, hi


def tilted(masks, degrees: float, axis: str = "left-right"):
    """``masks`` (one grid) turned by ``degrees`` about the world ``axis`` through the first
    one's centre, nearest neighbour, in their volume padded so that nothing leaves it (world
    positions of the grid kept). ``left-right`` (LPS x; a quarter of the slices more above and
    below): positive turns the face down. ``superior`` (LPS z; an eighth of the width more on
    each side in-plane): positive turns the face to the patient's left."""
    n = np.array(masks[0].array.shape)
    pad = np.array([0, 0, round(0.25 * n[2])]) if axis == "left-right" else \
        np.array([round(n[0] / 8), round(n[1] / 8), 0])
    masks = [reframed(m, (-pad, n + pad)) for m in masks]
    a, t = masks[0].ijk_to_lps[:3, :3], masks[0].ijk_to_lps[:3, 3]
    centre = a @ np.argwhere(masks[0].array).mean(axis=0) + t
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    # the inverse turn (R transposed)
    back = np.array([[1.0, 0, 0], [0, c, s], [0, -s, c]]) if axis == "left-right" else \
        np.array([[c, s, 0], [-s, c, 0], [0, 0, 1.0]])
    inv = np.linalg.inv(a)
    matrix = inv @ back @ a
    offset = inv @ (back @ (t - centre) + centre - t)
    return [Mask(ndimage.affine_transform(m.array, matrix, offset, order=0), m.ijk_to_lps)
            for m in masks]


def faces(asked: str, design) -> dict:
    """Where the face was asked to lie, where it was taken to lie, and the check's logit."""
    logit = design.completion.face_logit
    return {"face_asked": asked, "face": design.completion.face,
            "face_logit": None if logit is None else round(logit, 2)}


def evaluate(defective: Mask, truth: Mask, options: PipelineOptions) -> dict:
    design = design_implant(defective, options)
    implant = design.implant
    row = dict(implant_metrics(implant, truth, defective))
    row["max_deviation_mm"] = surface_distance_metrics(implant, truth)["hausdorff_mm"] \
        if implant.array.any() else float("inf")
    row["closure"] = closure(defective, implant, truth)["closed_fraction"]
    row["safety_net_ml"] = design.safety_net["added_ml"]
    row["true_implant_ml"] = round(truth.volume_ml, 1)
    row.update(faces(options.face, design))
    row.update({k: round(v, 2) for k, v in design.times.items()})
    return row, design


def render(defective: Mask, implant: Mask, path: Path, title: str) -> None:
    from VoxelRearrangementLib.report.figures import defect_view, panels_png
    path.write_bytes(panels_png([defect_view(defective, implant)], title))


def summarise(rows, kinds) -> dict:
    keys = ("dsc", "bdsc", "hd95_mm", "max_deviation_mm", "closure")
    out = {}
    for kind in (*kinds, "all"):
        sel = [r for r in rows if kind in ("all", r["kind"])]
        if not sel:
            continue
        out[kind] = {k: {"mean": float(np.mean([r[k] for r in sel])),
                         "worst": float(max(r[k] for r in sel) if k.endswith("_mm")
                                        else min(r[k] for r in sel))} for k in keys}
        out[kind]["cases"] = len(sel)
        out[kind]["closed_99"] = int(sum(r["closure"] >= 0.99 for r in sel))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=SHARED_DATA / "skullfix")
    ap.add_argument("--cases", default="060-079")
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--method", default="hash", help="refinement method (run's default)")
    ap.add_argument("--weights", type=Path, help="default: the bundled weights")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skullbreak", type=Path, help="SkullBreak skull (no ground truth)")
    ap.add_argument("--render", action="store_true",
                    help="renders of the first case's lateral defect and of the SkullBreak skull")
    ap.add_argument("--flip-anterior-posterior", action="store_true",
                    help="swap anterior and posterior in every skull's header (voxels kept)")
    ap.add_argument("--face", choices=FACES, default="auto", help="run's --face for the SkullFix cases")
    ap.add_argument("--skullbreak-face", choices=FACES, default="auto",
                    help="run's --face for the SkullBreak skull (parietotemporal_001's header "
                         "swaps anterior and posterior)")
    ap.add_argument("--framing", choices=FRAMINGS, default="as-is",
                    help="frame the SkullFix volumes otherwise (see the module's docstring)")
    ap.add_argument("--tilt", type=float, default=0.0,
                    help="turn every SkullFix head by this many degrees about left-right "
                         "(positive: face down; see the module's docstring)")
    ap.add_argument("--yaw", type=float, default=None,
                    help="turn every SkullFix head by this many degrees about the vertical "
                         "(positive: face to the patient's left; 0 pads the volume only)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "completion.json")
    args = ap.parse_args()
    kinds = tuple(args.kinds.split(","))
    suffix = ("_ap_flipped" if args.flip_anterior_posterior else "") + \
        ("" if args.face == "auto" else f"_face_{args.face}") + \
        ("" if args.framing == "as-is" else f"_{args.framing}") + \
        (f"_tilt{args.tilt:g}" if args.tilt else "") + \
        ("" if args.yaw is None else f"_yaw{args.yaw:g}")  # the lateral render's

    import torch
    torch.set_num_threads(args.threads)
    model = load_completion_model(args.weights, "cpu")
    speed = {"threads": args.threads, **inference_speed(model)}
    del model
    print(f"inference {speed['inference_s_median']:.2f} s (median, {args.threads} threads), "
          f"peak memory {speed['inference_peak_mb']:.0f} MB", flush=True)
    options = PipelineOptions(method=args.method, device="cpu", workers=args.threads,
                              weights=str(args.weights) if args.weights else None,
                              face=args.face)
    rows = []
    for n, case in enumerate(parse_cases(args.cases)):
        complete, truth, defective = read_case(args.data, case)
        for kind in kinds:
            cut_defective, cut_truth = defect_of(kind, case, complete, truth, defective)
            if args.flip_anterior_posterior:
                cut_defective, cut_truth = map(flip_anterior_posterior, (cut_defective, cut_truth))
            if args.framing != "as-is":
                box = framing_box(args.framing, cut_defective, cut_truth)
                cut_defective, cut_truth = (reframed(m, box) for m in (cut_defective, cut_truth))
            if args.tilt:
                cut_defective, cut_truth = tilted([cut_defective, cut_truth], args.tilt)
            if args.yaw is not None:
                cut_defective, cut_truth = tilted([cut_defective, cut_truth], args.yaw, "superior")
            row, design = evaluate(cut_defective, cut_truth, options)
            rows.append({"case": case, "kind": kind, **row})
            print(f"  {case} {kind:15s} DSC {row['dsc']:.3f} bDSC {row['bdsc']:.3f} HD95 "
                  f"{row['hd95_mm']:.2f} max {row['max_deviation_mm']:.1f} mm closure "
                  f"{row['closure']:.3f} net {row['safety_net_ml']:.1f} mL", flush=True)
            if args.render and n == 0 and kind == "lateral":
                render(cut_defective, design.implant, SCREENSHOTS / f"completion_lateral{suffix}.png",
                       f"SkullFix {case}, synthetic lateral defect: implant (orange)")
    summary = summarise(rows, kinds)
    result = {"cases": args.cases, "method": args.method,
              "anterior_posterior_flipped": args.flip_anterior_posterior,
              "face": args.face, "framing": args.framing, "tilt_deg": args.tilt,
              "yaw_deg": args.yaw,
              "weights": str(args.weights) if args.weights else "bundled",
              "speed": speed, "summary": summary, "per_case": rows, "anchors": ANCHORS,
              "scored": "the implant before the fit (no gap, no edge trim), against the true implant"}
    if args.skullbreak:
        defective = read_mask(args.skullbreak)
        t = time.perf_counter()
        design = design_implant(defective, options.replace(face=args.skullbreak_face))
        result["skullbreak"] = {"input": str(args.skullbreak), **faces(args.skullbreak_face, design),
                                "seconds": time.perf_counter() - t,
                                "defect_coverage": defect_coverage(
                                    defective, design.implant,
                                    face_posterior=design.completion.face == "posterior"),
                                "implant_ml": design.implant.volume_ml,
                                "safety_net": design.safety_net}
        if args.render:
            render(defective, design.implant, SCREENSHOTS / "completion_skullbreak.png",
                   "SkullBreak parietotemporal defect: implant (orange)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, default=float))

    print(f"\n| defect ({args.cases}) | cases | DSC mean / worst | bDSC mean / worst | HD95 mm mean / "
          "worst | max deviation mm mean / worst | closure mean / worst | closed >= 99% |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for kind, s in summary.items():
        print(f"| {kind} | {s['cases']} | {s['dsc']['mean']:.3f} / {s['dsc']['worst']:.3f} | "
              f"{s['bdsc']['mean']:.3f} / {s['bdsc']['worst']:.3f} | {s['hd95_mm']['mean']:.2f} / "
              f"{s['hd95_mm']['worst']:.2f} | {s['max_deviation_mm']['mean']:.1f} / "
              f"{s['max_deviation_mm']['worst']:.1f} | {s['closure']['mean']:.3f} / "
              f"{s['closure']['worst']:.3f} | {s['closed_99']} of {s['cases']} |")
    for name, anchor in ANCHORS.items():
        print(f"| {name} | | {anchor.get('dsc', '')} | {anchor.get('bdsc', '')} | "
              f"{anchor.get('hd95_mm', '')} | | | |")
    if "skullbreak" in result:
        cov = result["skullbreak"]["defect_coverage"]
        print(f"\nSkullBreak: the implant closes {100 * cov['closed_fraction']:.1f}% of the "
              f"{cov['defect_rays']} rays leaving through the defect; "
              f"{result['skullbreak']['implant_ml']:.1f} mL; safety net "
              f"{result['skullbreak']['safety_net']}")
    print(f"\ninference {speed['inference_s_median']:.2f} s, {speed['inference_peak_mb']:.0f} MB; "
          f"JSON: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
