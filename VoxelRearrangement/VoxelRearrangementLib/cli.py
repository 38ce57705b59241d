"""Command line: ``python -m VoxelRearrangementLib <command> ...`` (also the Slicer worker).

Each ``commands_*`` module registers its sub-commands. Long commands print machine-readable
progress lines ``PROGRESS <fraction> <message>`` on stdout. Bad input prints
``error: <what is wrong>`` on stderr and exits with status 2 (no traceback); a cancelled run
exits with status 3.
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from . import commands_completion, commands_learned, commands_printing, commands_synthesis
from .errors import Cancelled, VoxelRearrangementError

COMMAND_MODULES = (commands_synthesis, commands_completion, commands_learned, commands_printing)


def print_progress(fraction: float, message: str) -> None:
    """Progress callback of the CLI: one ``PROGRESS <fraction> <message>`` line, flushed."""
    print(f"PROGRESS {fraction:.3f} {message}", flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="VoxelRearrangementLib",
        description="High-resolution skulls and cranial implants from coarse skull masks.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except VoxelRearrangementError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 2
    except Cancelled as exc:
        print(f"cancelled: {exc}", file=sys.stderr, flush=True)
        return 3
    except MemoryError:
        print("error: not enough memory for this volume", file=sys.stderr, flush=True)
        return 2
