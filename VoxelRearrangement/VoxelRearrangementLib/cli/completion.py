"""CLI command ``complete``: a defective skull completed by the bundled network (coarse, or
brought to the defective skull's own grid with ``--refine``)."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from .._shared.atomic import check_outputs
from .._shared.bounds import argument
from .._shared.errors import VoxelRearrangementError
from .._shared.progress import Stage
from ..checks import check_skull
from ..io.masks import check_mask_output, read_mask, write_mask, write_probability
from ..learned.weights import DEFAULT_DEVICE, DEVICES
from ..options import PipelineOptions, add_arguments
from ..synthesis.refine import METHODS, TEMPLATE_METHODS
from .commands import add_command
from .protocol import print_progress


def register(sub: argparse._SubParsersAction) -> None:
    c = add_command(sub, "complete")
    c.add_argument("--defective", required=True, type=Path, help="defective skull mask (any grid)")
    c.add_argument("--output", required=True, type=Path,
                   help="completed skull (coarse 128x128x64, or full resolution with --refine)")
    c.add_argument("--probabilities", type=Path, help="also write the coarse probabilities (.nrrd)")
    c.add_argument("--device", default=DEFAULT_DEVICE, choices=DEVICES)
    c.add_argument("--weights", type=Path, help="weights file (default: the bundled one)")
    c.add_argument("--segment", help="segment of a .seg.nrrd input")
    c.add_argument("--refine", metavar="METHOD", choices=METHODS,
                   help="bring the result to the defective skull's own grid (hash, kdtree, trilinear, ...)")
    c.add_argument("--template", type=Path, action="append", default=[],
                   help="template skull(s) for --refine hash/kdtree (default: the bundled tables)")
    c.add_argument("--workers", type=argument("workers", "--workers"), default=1,
                   help="threads for --refine")
    add_arguments(c, only=("face",))
    c.set_defaults(func=_complete)


def _complete(args: argparse.Namespace) -> int:
    from ..learned.completion.inference import complete_skull
    from ..synthesis.refine import refine
    check_mask_output(args.output)
    if args.probabilities is not None and not args.probabilities.name.lower().endswith(".nrrd"):
        raise VoxelRearrangementError(f"{args.probabilities}: probabilities are written as .nrrd")
    check_outputs([args.output, args.probabilities],
                  [args.defective, args.weights, *args.template])
    t0 = time.perf_counter()
    stage = Stage(print_progress)
    defective = read_mask(args.defective, args.segment)
    check_skull(defective, f"--defective {args.defective}")
    result = complete_skull(defective, args.weights, args.device,
                            progress=stage.sub(0.0, 0.3 if args.refine else 1.0).report,
                            face=args.face or PipelineOptions.face)
    out = result.mask
    if args.refine:
        templates = list(args.template) if args.refine in TEMPLATE_METHODS else []
        out = refine(out, args.refine, templates, defective.grid, workers=args.workers,
                     device=args.device, progress=stage.sub(0.3, 1.0).report).mask
    write_mask(args.output, out)
    if args.probabilities:
        write_probability(args.probabilities, result.probability, result.mask.ijk_to_lps)
    print(f"completed skull written to {args.output} ({out.array.shape}, "
          f"{time.perf_counter() - t0:.1f} s)")
    return 0
