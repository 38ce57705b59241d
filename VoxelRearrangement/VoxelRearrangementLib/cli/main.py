"""Entry point of the command line: one sub-command per command-group module, of which a run
imports only its own command's (:mod:`.commands`).

Bad input exits with :attr:`~.protocol.ExitCode.BAD_INPUT` after one ``error:`` line;
SIGINT (Ctrl+C) and SIGTERM end a run as :attr:`~.protocol.ExitCode.CANCELLED`. A run started
in the background by a shell (``cmd &``, nohup) inherits SIGINT ignored and keeps it so, as
Unix programs do (Python installs no handler then); SIGTERM still cancels it.
"""
from __future__ import annotations

import argparse
import signal
import sys
from typing import List, Optional, Sequence

from .._shared.errors import Cancelled, VoxelRearrangementError
from .commands import add_commands
from .protocol import ExitCode, print_cancelled, print_error


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors follow the protocol: one ``error:`` line, exit 2."""

    def error(self, message: str):
        print_error(f"{message} ({self.prog} --help tells more)")
        raise SystemExit(int(ExitCode.BAD_INPUT))


def build_parser(argv: Optional[Sequence[str]] = None) -> argparse.ArgumentParser:
    """The parser of the command line ``argv``: its command's module registers its commands in
    full, every other command is listed by name and help; with no ``argv``, every command in
    full."""
    parser = Parser(
        prog="VoxelRearrangementLib",
        description="High-resolution skulls and cranial implants from coarse skull masks.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_commands(sub, None if argv is None else (list(argv) or [""])[0])
    return parser


def _terminate(signum, frame) -> None:
    raise Cancelled(f"stopped by signal {signal.Signals(signum).name}")


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv).parse_args(argv)
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
