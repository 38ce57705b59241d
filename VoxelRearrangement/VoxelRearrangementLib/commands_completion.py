"""CLI commands of the completion network: ``train-completion``, ``complete`` and the
end-to-end ``run`` (:mod:`.pipeline`, also the Slicer module's background worker)."""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Sequence

from .completion_train import DEFAULT_HOLDOUT, DEFAULT_TRAIN
from .errors import VoxelRearrangementError
from .mask_io import read_mask, write_mask


def add_training_arguments(p: argparse.ArgumentParser, train: Sequence[str],
                           holdout: Sequence[str], epoch: str) -> None:
    """The options both training commands share (data, split, epochs, device, resuming)."""
    p.add_argument("--data", required=True, type=Path,
                   help="SkullFix folder with complete/NNN.nrrd and implant/NNN.nrrd")
    p.add_argument("--epochs", required=True, type=int, help=f"total epochs ({epoch} each)")
    p.add_argument("--out", required=True, type=Path, help="weights file (.pt) of the best epoch")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    p.add_argument("--resume", type=Path, help="checkpoint (last.pt) to continue from")
    p.add_argument("--cache", type=Path, help="folder of cached training data (default: <checkpoints>/cache)")
    p.add_argument("--checkpoint-dir", type=Path, help="default: <out folder>/<out stem>_checkpoints")
    p.add_argument("--train-cases", default=f"{train[0]}-{train[-1]}")
    p.add_argument("--holdout-cases", default=f"{holdout[0]}-{holdout[-1]}",
                   help="cases that choose the epoch (never 060-079)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--max-minutes", type=float, help="stop after the epoch that crosses this budget")
    p.add_argument("--threads", type=int, help="torch CPU threads")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train-completion", help="train the coarse completion network (SkullFix)")
    add_training_arguments(p, DEFAULT_TRAIN, DEFAULT_HOLDOUT, "one pass over the training cases")
    p.add_argument("--p-synthetic", type=float, default=0.5, help="share of synthetic defects")
    p.set_defaults(func=_train)

    c = sub.add_parser("complete", help="complete a defective skull with the bundled network")
    c.add_argument("--defective", required=True, type=Path, help="defective skull mask (any grid)")
    c.add_argument("--output", required=True, type=Path,
                   help="completed skull (coarse 128x128x64, or full resolution with --refine)")
    c.add_argument("--probabilities", type=Path, help="also write the coarse probabilities (.nrrd)")
    c.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    c.add_argument("--weights", type=Path, help="weights file (default: the bundled one)")
    c.add_argument("--segment", help="segment of a .seg.nrrd input")
    c.add_argument("--refine", metavar="METHOD",
                   help="bring the result to the defective skull's own grid (hash, kdtree, trilinear, ...)")
    c.add_argument("--template", type=Path, action="append", default=[],
                   help="template skull(s) for --refine hash/kdtree (default: the bundled one)")
    c.add_argument("--workers", type=int, default=1, help="threads for --refine")
    c.set_defaults(func=_complete)

    r = sub.add_parser("run", help="defective skull -> completed skull, implant, meshes, report")
    r.add_argument("--defective", required=True, type=Path, help="defective skull mask (any grid)")
    r.add_argument("--template", type=Path, action="append", default=[],
                   help="template skull(s) for hash/kdtree (default: the bundled tables/template)")
    r.add_argument("--method", default="hash", help="refinement: hash, kdtree, trilinear, ...")
    r.add_argument("--output-dir", required=True, type=Path)
    r.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    r.add_argument("--weights", type=Path, help="completion weights (default: the bundled ones)")
    r.add_argument("--workers", type=int, default=1, help="threads for the refinement")
    r.add_argument("--hamming-radius", type=int, help="hash lookup radius (refine's default)")
    r.add_argument("--opening-mm", type=float, help="implant clean-up radius (mm)")
    r.add_argument("--smoothing", type=float, help="mesh smoothing 0..1 (default: Slicer's 0.5)")
    r.add_argument("--no-render", action="store_true", help="skip render.png")
    r.set_defaults(func=_run)


def set_threads(n) -> None:
    if n is not None:
        import torch
        if n < 1:
            raise VoxelRearrangementError("--threads must be at least 1")
        torch.set_num_threads(n)


def _train(args: argparse.Namespace) -> int:
    from .cli import print_progress
    from .completion_train import train_completion
    from .training_loop import parse_cases
    set_threads(args.threads)
    history = train_completion(
        args.data, args.out, args.epochs, device=args.device, resume=args.resume,
        cache_dir=args.cache, checkpoint_dir=args.checkpoint_dir,
        train_cases=parse_cases(args.train_cases), holdout_cases=parse_cases(args.holdout_cases),
        seed=args.seed, lr=args.lr, p_synthetic=args.p_synthetic, max_minutes=args.max_minutes,
        progress=print_progress)
    if history:
        best = max(history, key=lambda h: h["dice_restored"])
        print(f"best epoch {best['epoch']}: hold-out Dice {best['dice']:.4f}, restored "
              f"{best['dice_restored']:.4f}; weights in {args.out}")
    return 0


def _complete(args: argparse.Namespace) -> int:
    from .cli import print_progress
    from .completion import complete_skull, write_probability
    from .progress import Stage
    t0 = time.perf_counter()
    stage = Stage(print_progress)
    defective = read_mask(args.defective, args.segment)
    result = complete_skull(defective, args.weights, args.device,
                            progress=stage.sub(0.0, 0.3 if args.refine else 1.0).report)
    out = result.mask
    if args.refine:
        from .pipeline import refine_to
        from .synthesis import TEMPLATE_METHODS
        templates = list(args.template) if args.refine in TEMPLATE_METHODS else []
        out = refine_to(out, args.refine, templates, defective.grid, args.workers,
                        stage.sub(0.3, 1.0), device=args.device)
    write_mask(args.output, out)
    if args.probabilities:
        write_probability(args.probabilities, result.probability, result.mask.ijk_to_lps)
    print(f"completed skull written to {args.output} ({out.array.shape}, "
          f"{time.perf_counter() - t0:.1f} s)")
    return 0


def _run(args: argparse.Namespace) -> int:
    from .cli import print_progress
    from .pipeline import run_pipeline
    report = run_pipeline(args.defective, args.output_dir, args.template, args.method,
                          args.device, args.weights, args.workers, args.opening_mm,
                          args.smoothing, args.hamming_radius, render=not args.no_render,
                          progress=print_progress)
    cov = report["defect_coverage"]
    print(f"implant {report['volumes_ml']['implant']:.1f} mL, covers "
          f"{100 * cov['covered_fraction']:.0f}% of the defect; files in {args.output_dir}")
    return 0
