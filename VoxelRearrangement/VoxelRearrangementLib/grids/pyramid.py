"""The three-level synthesis pyramid and the degradation of template skulls.

Level L0 is the coarse grid, L2 the target grid, L1 the corner-aligned grid in between
(:func:`~.geometry.intermediate_grid`). A template skull is degraded exactly as the query
was: its L0 is the challenge coarse format of the template (``zoom(order=2) > 0.5``), its L1
the same zoom to its own L1 grid, and its L2 is the template itself.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

from ..grids.geometry import Mask
from .geometry import CHALLENGE_COARSE_SHAPE, Grid, corner_aligned_grid, intermediate_grid
from .resample import downsample_many


@dataclass(frozen=True)
class PyramidGrids:
    """The grids of levels L0 (coarse), L1 and L2 (target)."""

    levels: Tuple[Grid, Grid, Grid]

    @classmethod
    def make(cls, coarse: Grid, target: Grid) -> "PyramidGrids":
        return cls((coarse, intermediate_grid(coarse, target), target))


def degrade_template(template: Mask, coarse_shape=CHALLENGE_COARSE_SHAPE) -> Tuple[Mask, Mask, Mask]:
    """Template levels (L0, L1, L2): the coarse format, its L1 counterpart and the template."""
    level1_grid = intermediate_grid(corner_aligned_grid(template.grid, coarse_shape), template.grid)
    level0, level1 = downsample_many(template, [coarse_shape, level1_grid.shape])
    return level0, level1, template
