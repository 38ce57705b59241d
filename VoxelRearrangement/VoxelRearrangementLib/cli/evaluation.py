"""CLI command ``evaluate``: a refined mask against a reference on the same grid."""
from __future__ import annotations

import argparse
import json
from concurrent.futures import ThreadPoolExecutor

from .._shared.atomic import check_outputs, write_text
from .._shared.errors import VoxelRearrangementError
from ..evaluation.metrics import evaluate
from ..io.masks import read_mask
from .commands import add_command


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "evaluate")
    p.add_argument("--prediction", required=True)
    p.add_argument("--reference", required=True)
    p.add_argument("--json", help="also write the metrics to this JSON file")
    p.add_argument("--no-smoothness", action="store_true", help="skip the surface smoothness")
    p.set_defaults(func=_evaluate)


def _evaluate(args) -> int:
    check_outputs([args.json], [args.prediction, args.reference])

    def reference():
        mask = read.result()
        if not mask.array.any():
            raise VoxelRearrangementError(f"{args.reference}: the reference mask is empty")
        return mask

    # the reference is read (the decompression releases the GIL) while the prediction is, and
    # then while the prediction's surface is smoothed
    with ThreadPoolExecutor(max_workers=1) as pool:
        read = pool.submit(read_mask, args.reference)
        metrics = evaluate(read_mask(args.prediction), reference,
                           smoothness=not args.no_smoothness)
    for name, value in metrics.items():
        print(f"{name}: {value:.4f}")
    if args.json:
        write_text(args.json, json.dumps(metrics, indent=2))
    return 0
