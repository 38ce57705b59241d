"""Overlap-tile partition of a volume for fully convolutional inference with bounded memory.

Every voxel belongs to the *core* of exactly one tile; a tile's input *window* is its core
plus ``halo`` voxels each side (reaching beyond the volume where the core touches its border).
With a halo at least the network's receptive radius and no per-tile normalisation, the
overlapping windows give the same output on the shared voxels, so blending them reduces to
keeping each tile's core: the tiled result equals running the network on the whole volume.
Windows start at multiples of ``multiple`` (the network's fold), so every tile folds the fine
grid in the same phase.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence, Tuple

from .._shared.errors import VoxelRearrangementError


@dataclass(frozen=True)
class Tile:
    """``core``: the volume voxels this tile writes; ``start``/``shape``: its input window in
    volume indices (``start`` may be negative, the window may pass the volume's end)."""

    core: Tuple[slice, slice, slice]
    start: Tuple[int, int, int]
    shape: Tuple[int, int, int]

    @property
    def core_in_window(self) -> Tuple[slice, slice, slice]:
        """The core as slices of the window array."""
        return tuple(slice(c.start - s, c.stop - s) for c, s in zip(self.core, self.start))


def tiles(shape: Sequence[int], core: int, halo: int, multiple: int = 1) -> Iterator[Tile]:
    """Tiles of ``core`` voxels per side (fewer at the volume's far ends) covering ``shape``;
    ``core`` and ``halo`` must be multiples of ``multiple``; window sides are rounded up to
    multiples of it."""
    if core < 1 or halo < 0 or core % multiple or halo % multiple:
        raise VoxelRearrangementError(
            f"tile core {core} and halo {halo} must be positive multiples of {multiple}")
    per_axis = []
    for n in shape:
        axis = []
        for a in range(0, int(n), core):
            b = min(a + core, int(n))
            length = (b - a) + 2 * halo
            axis.append((slice(a, b), a - halo, -(-length // multiple) * multiple))
        per_axis.append(axis)
    for ti in per_axis[0]:
        for tj in per_axis[1]:
            for tk in per_axis[2]:
                yield Tile((ti[0], tj[0], tk[0]), (ti[1], tj[1], tk[1]), (ti[2], tj[2], tk[2]))

