"""CLI commands of the synthesis step: ``downsample``, ``refine`` and ``build-table``."""
from __future__ import annotations

import argparse
import json

from .._shared.atomic import check_outputs, write_text
from .._shared.bounds import argument
from ..checks import check_skull
from ..grids.resample import downsample
from ..io.masks import check_mask_output, read_grid, read_mask, write_mask
from ..learned.weights import DEFAULT_DEVICE, DEVICES
from ..synthesis.refine import METHODS, TEMPLATE_METHODS, refine
from ..synthesis.tables import StepTables, template_tables
from .commands import add_command
from .protocol import print_progress


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "downsample")
    p.add_argument("--input", required=True, help="high-resolution mask (.nrrd, .seg.nrrd, .nii[.gz])")
    p.add_argument("--output", required=True, help="coarse mask to write")
    p.add_argument("--segment", help="segment name or ID when the input holds several")
    p.set_defaults(func=_downsample)

    p = add_command(sub, "refine")
    p.add_argument("--coarse", required=True, help="coarse mask (e.g. 128 x 128 x 64)")
    p.add_argument("--template", action="append", default=[],
                   help="high-resolution template skull (repeat for several)")
    p.add_argument("--table", help="prebuilt vote table (.npz from build-table); default for "
                                   "hash/kdtree without --template: the bundled SkullFix 000-059 table")
    p.add_argument("--method", choices=METHODS, default="hash")
    p.add_argument("--output", required=True, help="refined mask to write")
    p.add_argument("--reference-grid", help="image or mask whose grid is the target "
                                            "(default: 4x the coarse grid on every axis)")
    p.add_argument("--workers", type=argument("workers", "--workers"), default=1,
                   help="parallel sections (threads)")
    p.add_argument("--hamming-radius", type=argument("hamming_radius", "--hamming-radius"), default=2)
    p.add_argument("--hamming-margin", type=argument("hamming_margin", "--hamming-margin"),
                   default=0.2,
                   help="share beyond 1/2 that Hamming-neighbour votes need to override trilinear")
    p.add_argument("--offset-bins", type=argument("offset_bins", "--offset-bins"),
                   help="sub-voxel offset classes per axis (1-4) of tables learned from "
                        "--template (default 4)")
    p.add_argument("--weights", help="learned: network weights (default: the bundled ones)")
    p.add_argument("--device", default=DEFAULT_DEVICE, choices=DEVICES,
                   help="learned: where the network runs")
    p.add_argument("--report", help="write the run report (timings, lookup statistics) as JSON")
    p.add_argument("--segment", help="segment name or ID of the coarse input")
    p.set_defaults(func=_refine)

    p = add_command(sub, "build-table")
    p.add_argument("--template", action="append", required=True)
    p.add_argument("--output", required=True, help=".npz file to write")
    p.add_argument("--offset-bins", type=argument("offset_bins", "--offset-bins"), default=4)
    p.set_defaults(func=_build_table)


def _downsample(args) -> int:
    check_mask_output(args.output)
    check_outputs([args.output], [args.input])
    print_progress(0.0, "reading")
    mask = read_mask(args.input, args.segment)
    print_progress(0.3, "downsampling")
    write_mask(args.output, downsample(mask))
    print_progress(1.0, "done")
    return 0


def _refine(args) -> int:
    check_mask_output(args.output)
    check_outputs([args.output, args.report],
                  [args.coarse, args.reference_grid, args.table, args.weights, *args.template])
    print_progress(0.0, "reading inputs")
    coarse = read_mask(args.coarse, args.segment)
    check_skull(coarse, f"--coarse {args.coarse}")
    target = read_grid(args.reference_grid) if args.reference_grid else None
    template_method = args.method in TEMPLATE_METHODS
    tables = StepTables.load(args.table) if template_method and args.table else None
    result = refine(coarse, args.method, list(args.template) if template_method else [], target,
                    tables=tables, check_templates=check_skull,
                    workers=args.workers, hamming_radius=args.hamming_radius,
                    hamming_margin=args.hamming_margin, offset_bins=args.offset_bins,
                    weights=args.weights, device=args.device,
                    progress=lambda f, m: print_progress(0.1 + 0.8 * f, m))
    print_progress(0.9, "writing")
    write_mask(args.output, result.mask)
    if args.report:
        write_text(args.report, json.dumps(result.report, indent=2))
    print_progress(1.0, "done")
    return 0


def _build_table(args) -> int:
    check_outputs([args.output], args.template)
    tables = template_tables(args.template, args.offset_bins, progress=print_progress,
                             check=check_skull)
    tables.save(args.output)
    print_progress(1.0, f"{tables.n_templates} templates -> {args.output}")
    return 0
