"""Ways to run the bundled completion network at inference, side by side at the coarse scale.

On hold-out cases (default SkullFix 050-059: held out of training, never the report split
060-079), each with its challenge defect and ``--per-kind`` seeded synthetic defects of every
training kind (``learned/completion/defects.py``), completed at 128 x 128 x 64 by:

* ``bundled``: as ``run`` does (the skull and its mirror image; averaged with the prediction
  for the left-right flipped skull), threshold 0.5;
* ``no flip``: one pass;
* ``flip + shifts``: also the skull shifted by one coarse voxel either way along each axis
  (zeros shifted in), the predictions shifted back and averaged (14 passes);
* ``checkpoint's last epoch``: the resumable checkpoint's (450) instead of the bundled 417;
* ``weights averaged``: the parameters of the two averaged;
* ``mirror by overlap``: the mirror image about the plane where the skull overlaps its mirror
  most (within 8 half-voxels of the extent's middle) instead of the middle of its extent;
* ``bundled, threshold T``: the bundled probabilities cut at T.

Score: Dice of the restored part (the bone the completed skull adds beyond the input, against
the true skull's), mean per kind and over all, and the network passes each variant needs;
also how far each way of finding the mirror plane lies from the complete skull's (half
coarse voxels). Prints a markdown table; writes
benchmarks/results/completion_variants.json.

    python benchmarks/benchmark_completion_variants.py [--cases 050-059] [--per-kind 2] \\
        [--threads 2]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from _common import ROOT, SHARED_DATA, parse_cases
from VoxelRearrangementLib.evaluation.metrics import dice
from VoxelRearrangementLib.learned.completion.data import (load_cases, mirror_total, mirrored,
                                                           network_input, synthetic_sample)
from VoxelRearrangementLib.learned.completion.defects import KINDS
from VoxelRearrangementLib.learned.completion.inference import (_probability, complete_coarse,
                                                                load_completion_model)
from VoxelRearrangementLib.learned.training import read_checkpoint

CHECKPOINT = ROOT / "benchmarks" / "checkpoints" / "completion_v2" / "last.pt"
THRESHOLDS = (0.4, 0.45, 0.55, 0.6)
OVERLAP_REACH = 8


def checkpoint_model(path: Path, like):
    """A copy of the network ``like`` with the weights of a resumable checkpoint."""
    import copy
    model = copy.deepcopy(like)
    model.load_state_dict(read_checkpoint(path)["model"])
    return model.eval()


def averaged_model(a, b):
    """A copy of ``a`` whose parameters are the mean of ``a``'s and ``b``'s."""
    import copy
    model = copy.deepcopy(a)
    sb = b.state_dict()
    model.load_state_dict({k: (v + sb[k]) / 2 if v.is_floating_point() else v
                           for k, v in a.state_dict().items()})
    return model.eval()


def shifted(a: np.ndarray, axis: int, step: int) -> np.ndarray:
    """``a`` moved by ``step`` voxels along ``axis`` (zeros shifted in)."""
    out = np.zeros_like(a)
    src = [slice(None)] * a.ndim
    dst = [slice(None)] * a.ndim
    src[axis] = slice(max(0, -step), a.shape[axis] - max(0, step))
    dst[axis] = slice(max(0, step), a.shape[axis] - max(0, -step))
    out[tuple(dst)] = a[tuple(src)]
    return out


def overlap_total(skull: np.ndarray) -> int:
    """The mirror plane ``i -> total - i`` where ``skull`` overlaps its mirror image most,
    within :data:`OVERLAP_REACH` of the extent's middle."""
    around = mirror_total(skull)
    scores = []
    for total in range(around - OVERLAP_REACH, around + OVERLAP_REACH + 1):
        overlap = np.count_nonzero((mirrored(skull, total) > 0) & (skull > 0))
        scores.append((int(overlap), -abs(total - around), total))
    return max(scores)[2]


def by_overlap(skull: np.ndarray, model) -> np.ndarray:
    """The flip-averaged prediction with the mirror image about :func:`overlap_total`."""
    probs = []
    for flip in (False, True):
        d = np.ascontiguousarray(skull[::-1]) if flip else skull
        p = _probability(model, network_input(d, overlap_total(d)))
        probs.append(p[::-1] if flip else p)
    return 0.5 * (probs[0] + probs[1])


def with_shifts(skull: np.ndarray, model) -> np.ndarray:
    """The flip-averaged prediction averaged over the skull as is and shifted by one voxel
    either way along each axis."""
    probs = [complete_coarse(skull, model)]
    for axis in range(3):
        for step in (-1, 1):
            p = complete_coarse(shifted(skull, axis, step), model)
            probs.append(shifted(p, axis, -step))
    return np.mean(probs, axis=0)


def samples(cases, per_kind: int):
    """(defective, target, kind) of each case: its challenge defect and seeded synthetic ones."""
    for n, case in enumerate(cases):
        yield case.defective, case.target, "challenge"
        for k, kind in enumerate(KINDS):
            for s in range(per_kind):
                rng = np.random.default_rng([7, 20_000 + int(case.case), k, s])
                yield synthetic_sample(case, rng, kind)[0], case.target, kind


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=SHARED_DATA)
    ap.add_argument("--cases", default="050-059")
    ap.add_argument("--per-kind", type=int, default=2)
    ap.add_argument("--cache", type=Path, default=ROOT / "benchmarks" / "out" / "completion_cache")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "completion_variants.json")
    args = ap.parse_args()
    if args.per_kind < 1:
        ap.error("--per-kind needs at least 1 defect of each kind")
    import torch
    torch.set_num_threads(args.threads)
    ids = parse_cases(args.cases)
    if any(60 <= int(c) <= 79 for c in ids):
        print("warning: 060-079 are the report split; choose on 000-059", file=sys.stderr)
    cases = load_cases(args.data / "skullfix", ids, args.cache)
    bundled = load_completion_model(None, "cpu")
    last = checkpoint_model(CHECKPOINT, bundled)
    averaged = averaged_model(bundled, last)
    epoch = read_checkpoint(CHECKPOINT)["epoch"] + 1  # the checkpoint counts from 0
    variants = {
        "bundled": (2, lambda d: complete_coarse(d, bundled)),
        "no flip": (1, lambda d: complete_coarse(d, bundled, flip_average=False)),
        "flip + shifts": (14, lambda d: with_shifts(d, bundled)),
        f"checkpoint's last epoch ({epoch})": (2, lambda d: complete_coarse(d, last)),
        f"weights averaged (bundled, {epoch})": (2, lambda d: complete_coarse(d, averaged)),
        "mirror by overlap": (2, lambda d: by_overlap(d, bundled)),
    }
    scores: dict = {}
    planes: dict = {}
    for n, (defective, target, kind) in enumerate(samples(cases, args.per_kind)):
        given = defective.astype(bool)
        restored = target.astype(bool) & ~given
        for name, (_, predict) in variants.items():
            prob = predict(defective)
            cuts = [0.5] + (list(THRESHOLDS) if name == "bundled" else [])
            for cut in cuts:
                label = name if cut == 0.5 else f"bundled, threshold {cut}"
                score = dice(((prob > cut) | given) & ~given, restored)
                scores.setdefault(label, {}).setdefault(kind, []).append(float(score))
        truth_plane = mirror_total(target)
        planes.setdefault(kind, []).append((mirror_total(defective) - truth_plane,
                                            overlap_total(defective) - truth_plane))
        print(f"{n + 1} inputs", end="\r", file=sys.stderr, flush=True)
    kinds = ["challenge", *KINDS]
    header = "| variant | passes | all | " + " | ".join(kinds) + " |"
    lines = [header, "| " + " | ".join(["---"] * (len(kinds) + 3)) + " |"]
    for label, by_kind in scores.items():
        passes = variants[label][0] if label in variants else 2
        every = np.mean([x for v in by_kind.values() for x in v])
        lines.append(f"| {label} | {passes} | {every:.4f} | "
                     + " | ".join(f"{np.mean(by_kind[k]):.4f}" for k in kinds) + " |")
    plane_lines = ["| kind | extent's middle: mean / largest distance | largest overlap: mean / largest |",
                   "| --- | --- | --- |"]
    for kind in kinds:
        a = np.abs(np.array(planes[kind]))
        plane_lines.append(f"| {kind} | {a[:, 0].mean():.2f} / {a[:, 0].max()} | {a[:, 1].mean():.2f} / {a[:, 1].max()} |")
    print("\n".join(lines))
    print("\nMirror plane of the defective skull against the complete skull's (half coarse voxels):\n")
    print("\n".join(plane_lines))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "cases": ids, "per_kind": args.per_kind, "threads": args.threads,
        "score": "Dice of the restored part at 128 x 128 x 64",
        "restored_dice": {label: {k: [round(x, 5) for x in v] for k, v in by_kind.items()}
                          for label, by_kind in scores.items()},
        "mean": {label: {"all": round(float(np.mean([x for v in by_kind.values() for x in v])), 5),
                         **{k: round(float(np.mean(v)), 5) for k, v in by_kind.items()}}
                 for label, by_kind in scores.items()},
        "mirror_plane_offsets_half_voxels": {k: [list(map(int, p)) for p in v] for k, v in planes.items()},
    }, indent=1))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
