"""Near-equal contiguous parts of a range: the units of parallel work."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np


@dataclass(frozen=True)
class Section:
    """Indices [start, stop) of a range (e.g. target slices along axis i, or vertices)."""

    start: int
    stop: int


def sections(n: int, count: int) -> Iterator[Section]:
    """Split ``range(n)`` into at most ``count`` near-equal non-empty sections, in order."""
    edges = np.linspace(0, n, max(1, min(count, n)) + 1).round().astype(int)
    for a, b in zip(edges[:-1], edges[1:]):
        if b > a:
            yield Section(int(a), int(b))
