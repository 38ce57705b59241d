"""CLI commands that train the networks: ``train-completion``, ``train-facing`` and
``train-rearrangement`` (inference: ``complete`` / ``run``, and ``refine --method learned``)."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Optional, Sequence

from .._shared.bounds import argument
from .._shared.errors import VoxelRearrangementError
from ..io.skullfix import parse_cases
from ..learned.completion import facing_train
from ..learned.completion import train as completion_train
from ..learned.completion.defects import KIND_WEIGHTS, KINDS
from ..learned.rearrangement import train as rearrangement_train
from ..learned.weights import DEFAULT_DEVICE, DEVICES
from .commands import add_command
from .protocol import print_progress


def add_training_arguments(p: argparse.ArgumentParser, train: Sequence[str],
                           holdout: Sequence[str], epoch: str) -> None:
    """The options both training commands share (data, split, epochs, device, resuming)."""
    p.add_argument("--data", required=True, type=Path,
                   help="SkullFix folder with complete/NNN.nrrd and implant/NNN.nrrd")
    p.add_argument("--epochs", required=True, type=int, help=f"total epochs ({epoch} each)")
    p.add_argument("--out", required=True, type=Path, help="weights file (.pt) of the best epoch")
    p.add_argument("--device", default=DEFAULT_DEVICE, choices=DEVICES,
                   help="where to train (auto: the GPU when there is one)")
    p.add_argument("--resume", type=Path, help="checkpoint (last.pt) to continue from")
    p.add_argument("--cache", type=Path, help="folder of cached training data (default: <checkpoints>/cache)")
    p.add_argument("--checkpoint-dir", type=Path, help="default: <out folder>/<out stem>_checkpoints")
    p.add_argument("--train-cases", default=f"{train[0]}-{train[-1]}")
    p.add_argument("--holdout-cases", default=f"{holdout[0]}-{holdout[-1]}",
                   help="cases that choose the epoch (never 060-079)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--max-minutes", type=float, help="stop after the epoch that crosses this budget")
    p.add_argument("--threads", type=argument("threads", "--threads"), help="torch CPU threads")
    p.add_argument("--loader-workers", type=argument("loader_workers", "--loader-workers"), default=0,
                   help="processes that make the training samples ahead of the steps (e.g. the "
                        "CPU cores beside a GPU; default 0: made in this process)")


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "train-completion")
    add_training_arguments(p, completion_train.DEFAULT_TRAIN, completion_train.DEFAULT_HOLDOUT,
                           "one pass over the training cases")
    p.add_argument("--unlabelled", type=Path,
                   help="folder of defective skulls without ground truth (NNN.nrrd, e.g. "
                        "skullfix-test/defective) to train on with second, synthetic defects")
    p.add_argument("--unlabelled-cases", help="ids of --unlabelled to use (default: all)")
    p.add_argument("--init", type=Path,
                   help="start from these completion weights (widened to the new inputs)")
    p.add_argument("--kind-weights", type=_weights, default=KIND_WEIGHTS,
                   help="how often each kind of synthetic defect is drawn, comma-separated in "
                        f"this order: {','.join(KINDS)} (default "
                        f"{','.join(f'{w:g}' for w in KIND_WEIGHTS)})")
    p.add_argument("--width", type=_width,
                   help="HALF,BASE: the channels of a new network at half resolution and at 1/4 "
                        "(2 BASE at 1/8, 4 BASE at 1/16); default 8,32, the bundled network's "
                        "(a resumed run keeps its checkpoint's)")
    p.add_argument("--input", choices=("masks", "values"),
                   help="what the network sees and predicts: the challenge's 0/1 coarse masks, "
                        "or the downsampling's values (0..1), which keep the bone's surfaces to "
                        "a fraction of a coarse voxel (default: masks, or what a resumed run was "
                        "trained on)")
    p.set_defaults(func=_train_completion)

    p = add_command(sub, "train-facing")
    p.add_argument("--data", required=True, type=Path,
                   help="SkullFix folder with complete/NNN.nrrd and implant/NNN.nrrd")
    p.add_argument("--out", required=True, type=Path, help="weights file (.pt)")
    p.add_argument("--cache", required=True, type=Path,
                   help="folder of cached coarse cases (the completion training's cache serves)")
    p.add_argument("--unlabelled", type=Path,
                   help="folder of defective skulls without ground truth (NNN.nrrd)")
    p.add_argument("--unlabelled-holdout-cases", default="040-049",
                   help="ids of --unlabelled scored, not trained on (the others train)")
    p.add_argument("--train-cases", default=f"{facing_train.DEFAULT_TRAIN[0]}-"
                                            f"{facing_train.DEFAULT_TRAIN[-1]}")
    p.add_argument("--holdout-cases", default=f"{facing_train.DEFAULT_HOLDOUT[0]}-"
                                              f"{facing_train.DEFAULT_HOLDOUT[-1]}",
                   help="cases scored at the end (never 060-079)")
    p.add_argument("--samples", type=int, default=2400, help="augmented training skulls made once")
    p.add_argument("--holdout-samples", type=int, default=400)
    p.add_argument("--steps", type=int, default=1500, help="training steps of 16 skulls")
    p.add_argument("--workers", type=argument("workers", "--workers"), default=1,
                   help="processes that make the samples (the same samples with any number)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=argument("threads", "--threads"), help="torch CPU threads")
    p.set_defaults(func=_train_facing)

    p = add_command(sub, "train-rearrangement")
    add_training_arguments(p, rearrangement_train.DEFAULT_TRAIN, rearrangement_train.DEFAULT_HOLDOUT,
                           "--steps-per-epoch batches")
    p.add_argument("--batch-size", type=int, default=4, help="patches per step")
    p.add_argument("--steps-per-epoch", type=int, default=100)
    p.add_argument("--patches-per-case", type=int, default=96,
                   help="64^3 target patches cached per skull (90 %% on the surface band)")
    p.set_defaults(func=_train_rearrangement)


def _weights(text: str) -> tuple:
    try:
        return tuple(float(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not comma-separated numbers: {text!r}") from None


def _width(text: str) -> tuple:
    try:
        half, base = (int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not two whole numbers HALF,BASE: {text!r}") from None
    if half < 1 or base < 1:
        raise argparse.ArgumentTypeError(f"the widths must be at least 1: {text!r}")
    return half, base


def set_threads(n: Optional[int]) -> None:
    """``--threads``: torch's CPU threads (untouched when None)."""
    if n is not None:
        import torch
        if n < 1:
            raise VoxelRearrangementError("--threads must be at least 1")
        torch.set_num_threads(n)


def _common(args: argparse.Namespace) -> dict:
    """The keyword arguments both training functions take from the shared options."""
    set_threads(args.threads)
    return dict(device=args.device, resume=args.resume, cache_dir=args.cache,
                checkpoint_dir=args.checkpoint_dir, train_cases=parse_cases(args.train_cases),
                holdout_cases=parse_cases(args.holdout_cases), seed=args.seed, lr=args.lr,
                max_minutes=args.max_minutes, loader_workers=args.loader_workers,
                progress=print_progress)


def _train_completion(args: argparse.Namespace) -> int:
    unlabelled: list = []
    if args.unlabelled is not None:
        if not args.unlabelled.is_dir():
            raise VoxelRearrangementError(f"{args.unlabelled}: no such folder")
        unlabelled = (parse_cases(args.unlabelled_cases) if args.unlabelled_cases
                      else sorted(p.name[:-5] for p in args.unlabelled.glob("*.nrrd")))
    history = completion_train.train_completion(
        args.data, args.out, args.epochs, unlabelled_dir=args.unlabelled, unlabelled=unlabelled,
        init=args.init, kind_weights=args.kind_weights,
        values=None if args.input is None else args.input == "values",
        config=None if args.width is None else dict(completion_train.DEFAULT_CONFIG,
                                                    half=args.width[0], base=args.width[1]),
        **_common(args))
    if history:
        best = max(history, key=lambda h: h["dice_restored"])
        print(f"best epoch {best['epoch']}: hold-out Dice {best['dice']:.4f}, restored "
              f"{best['dice_restored']:.4f}; weights in {args.out}")
    return 0


def _train_facing(args: argparse.Namespace) -> int:
    set_threads(args.threads)
    unlabelled: list = []
    held: list = []
    if args.unlabelled is not None:
        if not args.unlabelled.is_dir():
            raise VoxelRearrangementError(f"{args.unlabelled}: no such folder")
        held = parse_cases(args.unlabelled_holdout_cases)
        unlabelled = [c for c in sorted(p.name[:-5] for p in args.unlabelled.glob("*.nrrd"))
                      if c not in held]
    facing_train.train_facing(
        args.data, args.out, args.cache, unlabelled_dir=args.unlabelled, unlabelled=unlabelled,
        holdout_unlabelled=held, train_cases=parse_cases(args.train_cases),
        holdout_cases=parse_cases(args.holdout_cases), samples=args.samples,
        holdout_samples=args.holdout_samples, steps=args.steps, seed=args.seed,
        workers=args.workers, progress=print_progress)
    print(f"weights in {args.out}")
    return 0


def _train_rearrangement(args: argparse.Namespace) -> int:
    if min(args.batch_size, args.steps_per_epoch, args.patches_per_case) < 1:
        raise VoxelRearrangementError("--batch-size, --steps-per-epoch and --patches-per-case "
                                      "must be at least 1")
    history = rearrangement_train.train_rearrangement(
        args.data, args.out, args.epochs, batch_size=args.batch_size,
        steps_per_epoch=args.steps_per_epoch, patches_per_case=args.patches_per_case,
        **_common(args))
    if history:
        best = max(history, key=lambda h: h["band_accuracy"])
        print(f"best epoch {best['epoch']}: hold-out band accuracy {best['band_accuracy']:.4f} "
              f"(trilinear {best['band_accuracy_trilinear']:.4f}); weights in {args.out}")
    return 0
