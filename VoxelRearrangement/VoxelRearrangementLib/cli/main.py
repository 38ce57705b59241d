"""Entry point of the command line: one sub-command per command-group module.

Bad input exits with :attr:`~.protocol.ExitCode.BAD_INPUT` after one ``error:`` line;
SIGINT (Ctrl+C) and SIGTERM end a run as :attr:`~.protocol.ExitCode.CANCELLED`. A run started
in the background by a shell (``cmd &``, nohup) inherits SIGINT ignored and keeps it so, as
Unix programs do (Python installs no handler then); SIGTERM still cancels it.
"""
from __future__ import annotations

import argparse
import signal
from typing import List, Optional

from .._shared.errors import Cancelled, VoxelRearrangementError
from . import batch, completion, evaluation, printing, run, samples, synthesis, training
from .protocol import ExitCode, print_cancelled, print_error

COMMAND_MODULES = (synthesis, evaluation, completion, training, printing, run, batch, samples)


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors follow the protocol: one ``error:`` line, exit 2."""

    def error(self, message: str):
        print_error(f"{message} ({self.prog} --help tells more)")
        raise SystemExit(int(ExitCode.BAD_INPUT))


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="VoxelRearrangementLib",
        description="High-resolution skulls and cranial implants from coarse skull masks.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def _terminate(signum, frame) -> None:
    raise Cancelled(f"stopped by signal {signal.Signals(signum).name}")


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return int(args.func(args) or 0)
    except VoxelRearrangementError as exc:
        print_error(str(exc))
        return ExitCode.BAD_INPUT
    except Cancelled as exc:
        print_cancelled(str(exc))
        return ExitCode.CANCELLED
    except KeyboardInterrupt:
        print_cancelled("stopped by SIGINT")
        return ExitCode.CANCELLED
    except MemoryError:
        print_error("not enough memory for this volume")
        return ExitCode.BAD_INPUT
    finally:
        signal.signal(signal.SIGTERM, previous)
