"""CLI command of the learned rearrangement: ``train-rearrangement`` (inference is
``refine --method learned``)."""
from __future__ import annotations

import argparse

from .commands_completion import add_training_arguments, set_threads
from .rearrangement_train import DEFAULT_HOLDOUT, DEFAULT_TRAIN


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train-rearrangement",
                       help="train the learned voxel rearrangement network (SkullFix)")
    add_training_arguments(p, DEFAULT_TRAIN, DEFAULT_HOLDOUT, "--steps-per-epoch batches")
    p.add_argument("--batch-size", type=int, default=4, help="patches per step")
    p.add_argument("--steps-per-epoch", type=int, default=100)
    p.add_argument("--patches-per-case", type=int, default=96,
                   help="64^3 target patches cached per skull (90 %% on the surface band)")
    p.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    from .cli import print_progress
    from .errors import VoxelRearrangementError
    from .rearrangement_train import train_rearrangement
    from .training_loop import parse_cases
    if min(args.batch_size, args.steps_per_epoch, args.patches_per_case) < 1:
        raise VoxelRearrangementError("--batch-size, --steps-per-epoch and --patches-per-case "
                                      "must be at least 1")
    set_threads(args.threads)
    history = train_rearrangement(
        args.data, args.out, args.epochs, device=args.device, resume=args.resume,
        cache_dir=args.cache, checkpoint_dir=args.checkpoint_dir,
        train_cases=parse_cases(args.train_cases), holdout_cases=parse_cases(args.holdout_cases),
        seed=args.seed, lr=args.lr, batch_size=args.batch_size,
        steps_per_epoch=args.steps_per_epoch, patches_per_case=args.patches_per_case,
        max_minutes=args.max_minutes, progress=print_progress)
    if history:
        best = max(history, key=lambda h: h["band_accuracy"])
        print(f"best epoch {best['epoch']}: hold-out band accuracy {best['band_accuracy']:.4f} "
              f"(trilinear {best['band_accuracy_trilinear']:.4f}); weights in {args.out}")
    return 0
