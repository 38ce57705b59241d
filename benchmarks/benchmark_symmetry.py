"""What a defect does to the two uses of left-right symmetry outside the network.

1. The mid-sagittal plane (``grids/symmetry.py``, which decides whether a head is straightened
   for the network): on SkullFix cases (default 000-049, the training split: a place for
   choices), the turn found for each defective skull at 128 x 128 x 64 against the turn found
   for its complete skull; the challenge defect and ``--per-kind`` seeded synthetic defects of
   each training kind.
2. The defect's directions without ground truth (``evaluation/closure.py``,
   ``defect_directions``: the vault cone, followed lower by the mirror image about the world
   sagittal plane), against the rays that cross the true implant and no bone, on full-resolution
   cases (default 050-059) with the six kinds of ``benchmark_completion.py``, each head turned
   about the world's vertical by each of ``--yaws`` degrees as that script turns it: recall (the
   share of the true defect rays found) and extra rays (found, not in the truth, per true ray).

Prints markdown tables; writes benchmarks/results/symmetry.json.

    python benchmarks/benchmark_symmetry.py [--plane-cases 000-049] [--direction-cases 050-059] \\
        [--yaws 0,20,-20]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from _common import ROOT, SHARED_DATA, parse_cases
from benchmark_completion import KINDS as BENCHMARK_KINDS, defect_of, tilted
from VoxelRearrangementLib.evaluation.closure import defect_directions, ray_hits, skull_centre, sphere_directions
from VoxelRearrangementLib.grids.symmetry import mid_sagittal_yaw
from VoxelRearrangementLib.io.skullfix import read_case
from VoxelRearrangementLib.learned.completion.data import load_cases, synthetic_sample
from VoxelRearrangementLib.learned.completion.defects import KINDS


def plane_shifts(data: Path, ids, cache: Path, per_kind: int) -> dict:
    """{kind: [turn of the defective skull - turn of the complete one (degrees)]}."""
    out: dict = {}
    for case in load_cases(data / "skullfix", ids, cache):
        spacing = np.linalg.norm(case.ijk_to_lps[:3, :3], axis=0)
        ref = mid_sagittal_yaw(case.target.astype(bool), spacing)
        out.setdefault("complete skull's own turn", []).append(round(float(ref), 3))
        inputs = [("challenge", case.defective)]
        for k, kind in enumerate(KINDS):
            for s in range(per_kind):
                rng = np.random.default_rng([9, int(case.case), k, s])
                inputs.append((kind, synthetic_sample(case, rng, kind)[0]))
        for kind, skull in inputs:
            shift = mid_sagittal_yaw(skull.astype(bool), spacing) - ref
            out.setdefault(kind, []).append(round(float(shift), 3))
        print(f"plane: case {case.case}", end="\r", file=sys.stderr, flush=True)
    return out


def direction_scores(data: Path, ids, yaws) -> dict:
    """{kind: {yaw: [(recall, extra)]}} of the defect directions without ground truth."""
    directions = sphere_directions()
    out: dict = {}
    for case in ids:
        complete, truth, defective = read_case(data / "skullfix", case)
        for kind in BENCHMARK_KINDS:
            cut, true_implant = defect_of(kind, case, complete, truth, defective)
            for yaw in yaws:
                d, t = tilted([cut, true_implant], yaw, "superior") if yaw else (cut, true_implant)
                centre = skull_centre(d)
                true_rays = ray_hits(t, centre, directions) & ~ray_hits(d, centre, directions)
                found = defect_directions(d, directions, centre)
                n = max(int(true_rays.sum()), 1)
                out.setdefault(kind, {}).setdefault(str(yaw), []).append(
                    (round(float((found & true_rays).sum() / n), 4), round(float((found & ~true_rays).sum() / n), 4)))
        print(f"directions: case {case}", end="\r", file=sys.stderr, flush=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=SHARED_DATA)
    ap.add_argument("--plane-cases", default="000-049")
    ap.add_argument("--per-kind", type=int, default=2)
    ap.add_argument("--direction-cases", default="050-059")
    ap.add_argument("--yaws", default="0,20,-20")
    ap.add_argument("--cache", type=Path, default=ROOT / "benchmarks" / "out" / "completion_cache")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "symmetry.json")
    args = ap.parse_args()
    yaws = [float(y) for y in args.yaws.split(",")]
    planes = plane_shifts(args.data, parse_cases(args.plane_cases), args.cache, args.per_kind)
    kinds = ["challenge", *KINDS]
    own = planes["complete skull's own turn"]
    print(f"Turn found for the defective skull minus that of the complete one (degrees), SkullFix "
          f"{args.plane_cases} (the complete skulls' own turns: {min(own):g} to {max(own):g}):\n")
    print("| defect | inputs | mean of the shift's size | 95th percentile | largest |")
    print("| --- | --- | --- | --- | --- |")
    for kind in kinds + ["all"]:
        a = np.abs(np.concatenate([planes[k] for k in kinds]) if kind == "all" else planes[kind])
        print(f"| {kind} | {a.size} | {a.mean():.2f} | {np.percentile(a, 95):.2f} | {a.max():.2f} |")
    found = direction_scores(args.data, parse_cases(args.direction_cases), yaws)
    print(f"\nDefect directions without ground truth, SkullFix {args.direction_cases} (recall mean / "
          f"worst; extra rays mean / worst, per true ray):\n")
    print("| kind | " + " | ".join(f"turned {y:g} degrees" for y in yaws) + " |")
    print("| " + " | ".join(["---"] * (len(yaws) + 1)) + " |")
    for kind, by_yaw in found.items():
        cells = []
        for y in yaws:
            a = np.array(by_yaw[str(y)])
            cells.append(f"{a[:, 0].mean():.3f} / {a[:, 0].min():.3f}; {a[:, 1].mean():.3f} / {a[:, 1].max():.3f}")
        print(f"| {kind} | " + " | ".join(cells) + " |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"plane_cases": args.plane_cases, "per_kind": args.per_kind,
                                    "plane_shift_deg": planes, "direction_cases": args.direction_cases,
                                    "yaws_deg": yaws, "directions_recall_extra": found}, indent=1))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
