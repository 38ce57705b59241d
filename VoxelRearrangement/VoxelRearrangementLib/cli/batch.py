"""CLI command ``batch``: ``run`` on every case of a folder, on Dask (:mod:`..batch`).

``batch --input-dir DIR --output-dir OUT [--pattern GLOB] [--workers N] [--scheduler ADDRESS]
[run options]``. Exit status: OK when no case failed, SOME_FAILED when some did
(``OUT/summary.csv`` says which and why), BAD_INPUT when nothing could start.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from .. import options as pipeline_options
from .._shared.bounds import argument
from .._shared.cores import usable_cores
from .commands import add_command
from .protocol import ExitCode, print_progress


def register(sub: argparse._SubParsersAction) -> None:
    from ..batch import DEFAULT_MEMORY_PER_WORKER
    b = add_command(sub, "batch")
    b.add_argument("--input-dir", required=True, type=Path, help="folder of the input masks")
    b.add_argument("--output-dir", required=True, type=Path,
                   help="one folder per case is made here, and summary.csv")
    b.add_argument("--pattern", default="*",
                   help="which files of the input folder are cases (glob, default *: every mask)")
    b.add_argument("--refine", action="store_true",
                   help="the inputs are coarse complete skulls to refine (default: defective skulls)")
    b.add_argument("--segment", help="segment name or ID when the inputs hold several")
    b.add_argument("--workers", type=argument("batch_workers", "--workers"), default=None,
                   help="local worker processes (default: one per core, at most one per "
                        f"{DEFAULT_MEMORY_PER_WORKER} of memory)")
    b.add_argument("--threads-per-worker", type=argument("workers", "--threads-per-worker"),
                   default=1, help="threads of each case's refinement (default 1)")
    b.add_argument("--memory-per-worker", default=DEFAULT_MEMORY_PER_WORKER,
                   help=f"memory limit of each local worker (default {DEFAULT_MEMORY_PER_WORKER}); "
                        "a case beyond it fails")
    b.add_argument("--scheduler", help="address of a running Dask scheduler (tcp://host:8786) "
                                       "whose workers run the cases, instead of a local cluster")
    pipeline_options.add_arguments(b, exclude=("workers",))
    b.set_defaults(func=_batch)


def _default_workers(memory_per_worker: str) -> int:
    from dask.utils import parse_bytes
    cores = usable_cores()
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return cores
    return max(1, min(cores, total // parse_bytes(memory_per_worker)))


def _batch(args: argparse.Namespace) -> int:
    from ..batch import _require_distributed, run_batch
    _require_distributed()
    mode = "refine" if args.refine else "complete"
    options = pipeline_options.from_arguments(args, mode)
    workers = args.workers or _default_workers(args.memory_per_worker)
    rows = run_batch(args.input_dir, args.output_dir, options, pattern=args.pattern,
                     workers=workers, threads_per_worker=args.threads_per_worker,
                     memory_per_worker=args.memory_per_worker, scheduler=args.scheduler,
                     segment=args.segment, progress=print_progress)
    counts = {status: sum(row["status"] == status for row in rows)
              for status in ("done", "skipped", "failed")}
    print(f"{counts['done']} done, {counts['skipped']} skipped (finished before), "
          f"{counts['failed']} failed; summary in {args.output_dir / 'summary.csv'}")
    return ExitCode.SOME_FAILED if counts["failed"] else ExitCode.OK
