"""The worker protocol, defined once: what the command line prints and returns, and the files
``run`` writes. The Slicer Logic (``VoxelRearrangementLogicCore.worker``) reads the same.

* stdout: progress lines ``PROGRESS <fraction 0..1> <message>`` (flushed as they happen) and
  free text;
* stderr: ``error: <what is wrong>`` for bad input, ``cancelled: <why>`` when interrupted;
* exit status: :class:`ExitCode` (anything else, e.g. 1 with a traceback, is a crash: a bug).
"""
from __future__ import annotations

import sys
from enum import IntEnum
from typing import List, Optional, Tuple

PROGRESS_PREFIX = "PROGRESS "
ERROR_PREFIX = "error: "
CANCELLED_PREFIX = "cancelled: "


class ExitCode(IntEnum):
    OK = 0
    #: Bad input or request; the ``error:`` line says what.
    BAD_INPUT = 2
    #: Stopped by SIGINT (Ctrl+C) or SIGTERM; nothing is left in the output folder.
    CANCELLED = 3
    #: ``batch``: every case ran, but some failed (``summary.csv`` says which and why).
    SOME_FAILED = 4


def format_progress(fraction: float, message: str) -> str:
    return f"{PROGRESS_PREFIX}{fraction:.3f} {message}"


def parse_progress(line: str) -> Optional[Tuple[float, str]]:
    """``(fraction, message)`` from a progress line (fraction clamped to 0..1), else None."""
    if not line.startswith(PROGRESS_PREFIX):
        return None
    parts = line.split(" ", 2)
    try:
        fraction = float(parts[1])
    except (IndexError, ValueError):
        return None
    return min(max(fraction, 0.0), 1.0), (parts[2] if len(parts) > 2 else "")


def parse_error(line: str) -> Optional[str]:
    """The message of an ``error:`` line, else None."""
    return line[len(ERROR_PREFIX):] if line.startswith(ERROR_PREFIX) else None


def print_progress(fraction: float, message: str) -> None:
    """Progress callback of the command line: one progress line on stdout, flushed."""
    print(format_progress(fraction, message), flush=True)


def print_error(message: str) -> None:
    print(f"{ERROR_PREFIX}{message}", file=sys.stderr, flush=True)


def print_cancelled(message: str) -> None:
    print(f"{CANCELLED_PREFIX}{message}", file=sys.stderr, flush=True)


# --- the files of ``run`` -------------------------------------------------------------------

COMPLETED = "completed.nrrd"                      #: complete mode: the full-resolution completed skull
COMPLETED_COARSE = "completed_coarse.nrrd"        #: complete mode: the network's binary output
PROBABILITY = "completed_probability.nrrd"        #: complete mode: the network's probabilities
IMPLANT = "implant.nrrd"                          #: complete mode: the implant mask
IMPLANT_STL = "implant.stl"                       #: complete mode: the implant mesh (LPS mm)
REFINED = "refined.nrrd"                          #: refine mode: the refined skull
SKULL_FROM_CT = "skull_from_ct.nrrd"              #: ct mode: the skull segmented from the CT
SKULL_STL = "skull.stl"                           #: the skull mesh (LPS mm)
REPORT = "report.json"                            #: what was run and measured (its summary first)
REPORT_HTML = "report.html"                       #: the summary and pictures, one page for people
RENDER = "render.png"                             #: complete mode, unless --no-render


def run_outputs(mode: str, render: bool) -> List[str]:
    """The files ``run`` writes in ``mode`` (``complete``, ``refine`` or ``ct``)."""
    if mode == "refine":
        return [REFINED, SKULL_STL, REPORT, REPORT_HTML]
    return ([SKULL_FROM_CT] if mode == "ct" else []) + [COMPLETED, COMPLETED_COARSE, PROBABILITY, IMPLANT, SKULL_STL, IMPLANT_STL, REPORT,
            REPORT_HTML] + ([RENDER] if render else [])
