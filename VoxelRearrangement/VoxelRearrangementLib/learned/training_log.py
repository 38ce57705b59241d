"""What the two training commands share: learning-rate schedule, progress bar, CSV logs."""
from __future__ import annotations

import csv
import io
import sys
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np

from .._shared.atomic import write_text


def cosine_lr(lr: float, step: int, total: int, floor: float = 0.05) -> float:
    """Cosine decay from ``lr`` at step 0 to ``floor * lr`` at step ``total``."""
    return float(lr * (floor + (1 - floor) * 0.5 * (1 + np.cos(np.pi * step / max(total, 1)))))


def show_progress(fraction: float, message: str, width: int = 30) -> None:
    """A ``[####....] message`` bar on stderr, redrawn in place when stderr is a terminal."""
    if sys.stderr.isatty():
        n = int(round(fraction * width))
        print(f"\r[{'#' * n}{'.' * (width - n)}] {message}", end="", file=sys.stderr, flush=True)


def append_row(path: Path, row: Sequence) -> None:
    """One line appended to a CSV file (the per-step loss log)."""
    with open(path, "a", newline="") as f:
        csv.writer(f).writerow(row)


def write_log(path: Path, history: List[Dict]) -> None:
    """The per-epoch history as a CSV table, written atomically."""
    keys = list(dict.fromkeys(k for row in history for k in row))
    table = io.StringIO(newline="")
    w = csv.DictWriter(table, keys)
    w.writeheader()
    w.writerows(history)
    write_text(path, table.getvalue())


def epoch_line(line: str) -> None:
    """An end-of-epoch summary on stderr (after the progress bar's line when there is one)."""
    print(("\n" if sys.stderr.isatty() else "") + line, file=sys.stderr, flush=True)
