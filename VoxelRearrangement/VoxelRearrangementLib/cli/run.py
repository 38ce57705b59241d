"""CLI command ``run``: the end-to-end pipeline (:mod:`..pipeline`), also the Slicer worker.

``run --defective D --output-dir OUT`` completes a defective skull and designs its implant;
``run --coarse C --output-dir OUT`` refines a coarse skull and meshes it; ``run --ct CT
--output-dir OUT`` segments the skull from a head CT first. The options are
those of :class:`~..options.PipelineOptions`.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from .. import options as pipeline_options
from .commands import add_command
from .protocol import print_progress


def register(sub: argparse._SubParsersAction) -> None:
    r = add_command(sub, "run")
    source = r.add_mutually_exclusive_group(required=True)
    source.add_argument("--defective", type=Path, help="defective skull mask (any grid)")
    source.add_argument("--coarse", type=Path, help="coarse complete skull to refine and mesh")
    source.add_argument("--ct", type=Path, help="head CT (NRRD or NIfTI, Hounsfield units): the "
                                                "skull is segmented from it, then completed")
    r.add_argument("--output-dir", required=True, type=Path)
    r.add_argument("--segment", help="segment name or ID when the input holds several")
    pipeline_options.add_arguments(r)
    r.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from ..pipeline import run_pipeline
    mode = "ct" if args.ct is not None else "refine" if args.coarse is not None else "complete"
    options = pipeline_options.from_arguments(args, mode)
    source = {"complete": args.defective, "refine": args.coarse, "ct": args.ct}[mode]
    report = run_pipeline(source, args.output_dir, options, progress=print_progress,
                          segment=args.segment)
    from ..report.summary import summary_lines
    print("\n".join(summary_lines(report["summary"])))
    print(f"files in {args.output_dir} (report.html: the summary with pictures)")
    return 0
