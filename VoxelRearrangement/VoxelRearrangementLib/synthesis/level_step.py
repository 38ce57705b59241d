"""One refinement step of the pyramid: from a binary mask on a source grid to a finer grid.

Every target voxel has a *parent*, the source voxel whose centre is nearest to it (found from
the actual geometry: with zoom-made grids the parent is not ``index // ratio`` and the
sub-voxel offset drifts across the volume), and a sub-voxel offset in [-0.5, 0.5] per axis,
quantized into ``offset_bins`` classes per axis. Target voxels whose parent's 3 x 3 x 3
neighbourhood is mixed form the *band* that a synthesis method updates; every other voxel
keeps the value of its parent (which is also what trilinear upsampling gives there).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Sequence, Tuple

import numpy as np

from .._shared.errors import VoxelRearrangementError
from .._shared.sections import Section, sections
from ..grids.geometry import Grid
from ..grids.resample import AxisMap, axis_maps, upsample_nearest
from . import kernels
from .codes import level_codes

#: Offset classes per axis at most: 4 ** 3 = 64 classes fit the 64-bit class masks.
MAX_OFFSET_BINS = 4


class LevelStep:
    """The geometry of one step: parent, offset class and band of every target voxel."""

    def __init__(self, source: Grid, target: Grid, offset_bins: int) -> None:
        self.source = source
        self.target = target
        if not 1 <= int(offset_bins) <= MAX_OFFSET_BINS:
            raise VoxelRearrangementError(
                f"offset bins must be 1 to {MAX_OFFSET_BINS} per axis, not {offset_bins}")
        self.offset_bins = int(offset_bins)
        self.maps: Tuple[AxisMap, AxisMap, AxisMap] = axis_maps(source, target)
        self._axis_bins = [self._bins(m, n) for m, n in zip(self.maps, source.shape)]
        # per axis and source voxel, a 64-bit mask of the offset classes whose bin along that
        # axis some child of the voxel has; a parent's classes are the AND of its three masks
        b = self.offset_bins
        cls_bins = np.stack(np.unravel_index(np.arange(b ** 3), (b, b, b)), axis=1)
        self._class_masks = []
        for axis, (m, bins, n) in enumerate(zip(self.maps, self._axis_bins, source.shape)):
            has = np.zeros((n, b), dtype=bool)
            has[m.nearest, bins] = True
            of_bin = np.array([np.sum(np.uint64(1) << np.flatnonzero(cls_bins[:, axis] == k)
                                      .astype(np.uint64), dtype=np.uint64) for k in range(b)],
                              dtype=np.uint64)
            self._class_masks.append(np.bitwise_or.reduce(np.where(has, of_bin[None, :],
                                                                   np.uint64(0)), axis=1))

    @property
    def ratio(self) -> np.ndarray:
        """Target voxels per source voxel along each axis."""
        return np.array([1.0 / abs(m.position[1] - m.position[0]) if len(m.position) > 1 else 1.0
                         for m in self.maps])

    @property
    def n_offset_classes(self) -> int:
        return self.offset_bins ** 3

    def _bins(self, m: AxisMap, n_source: int) -> np.ndarray:
        frac = np.clip(m.position, 0, n_source - 1) - m.nearest
        return np.clip(np.floor((frac + 0.5) * self.offset_bins), 0, self.offset_bins - 1
                       ).astype(np.int64)

    def offset_class(self, i: np.ndarray, j: np.ndarray, k: np.ndarray) -> np.ndarray:
        """Quantized sub-voxel offset of target voxels, in [0, offset_bins ** 3)."""
        b = self.offset_bins
        return (self._axis_bins[0][i] * b + self._axis_bins[1][j]) * b + self._axis_bins[2][k]

    def query(self, source: "SourceLevel", slabs: Sequence[Section], run
              ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(codes, code_row, used)`` of ``source``: its mixed voxels' distinct codes (int64,
        ascending), the row of each voxel's code among them (int32 volume, -1 where not
        mixed) and the offset classes that each code's band voxels need ((codes, classes)
        bool). The distinct codes are found in one pass; the rows and classes over the source
        ``slabs`` (axis 0) with ``run(fn, items)``, which may run them in parallel (the result
        does not depend on the split)."""
        mixed = source.mixed.view(np.uint8)
        words, before, codes = kernels.code_set(mixed, source.code_volume)
        code_row = np.empty(source.binary.shape, dtype=np.int32)
        pooled = np.zeros((len(slabs), codes.size), dtype=np.uint64)
        m = self._class_masks
        run(lambda n: kernels.code_rows(mixed, source.code_volume, slabs[n].start, slabs[n].stop,
                                        words, before, m[0], m[1], m[2], code_row, pooled[n]),
            list(range(len(slabs))))
        return codes, code_row, kernels.class_flags(pooled, self.n_offset_classes)

    def parents(self, i: np.ndarray, j: np.ndarray, k: np.ndarray) -> Tuple[np.ndarray, ...]:
        """Source index (nearest voxel centre) of target voxels ``(i, j, k)``."""
        return self.maps[0].nearest[i], self.maps[1].nearest[j], self.maps[2].nearest[k]

    def section_maps(self, section: Section) -> Sequence[AxisMap]:
        m0 = self.maps[0]
        s = slice(section.start, section.stop)
        return (AxisMap(m0.position[s], m0.nearest[s], m0.lower[s], m0.weight[s]),
                self.maps[1], self.maps[2])

    def band(self, source_mixed: np.ndarray, section: Section) -> Tuple[np.ndarray, ...]:
        """Target voxels ``(i, j, k)`` of ``section`` whose parent is mixed (i is global)."""
        flags = upsample_nearest(source_mixed, self.section_maps(section))
        i, j, k = np.nonzero(flags)
        return i + section.start, j, k

    def nearest(self, source_binary: np.ndarray, section: Section) -> np.ndarray:
        """The section of the nearest-parent upsampling of ``source_binary`` (uint8)."""
        return upsample_nearest(source_binary, self.section_maps(section))

    def fill(self, out: np.ndarray, section: Section, source: "SourceLevel",
             code_row: np.ndarray, decision: np.ndarray) -> int:
        """Write the step's result on ``section`` into ``out`` (its slab of the target): the
        parent's value, or for band voxels ``decision[code_row[parent], offset class]``
        (trilinear > 0.5 where it is KEEP_TRILINEAR). Returns the number of such ties."""
        m = self.maps
        return kernels.fill_section(
            out, section.start, source.binary, source.mixed.view(np.uint8), code_row, decision,
            tuple(a.nearest.astype(np.int64) for a in m), tuple(self._axis_bins),
            tuple(a.lower.astype(np.int64) for a in m), tuple(a.weight for a in m),
            self.offset_bins)


@dataclass
class SourceLevel:
    """A source mask prepared for a step: the binary array, its mixed voxels and their codes."""

    binary: np.ndarray
    mixed: np.ndarray
    code_volume: np.ndarray  # int32; the 27-bit code at mixed voxels, 0 elsewhere

    @classmethod
    def prepare(cls, binary: np.ndarray, workers: int = 1) -> "SourceLevel":
        """Mixed voxels and codes of ``binary``, in ``workers`` slabs along axis 0 at once
        (each computed with a one-voxel halo, so the result does not depend on ``workers``)."""
        binary = np.ascontiguousarray(binary, dtype=np.uint8)
        slabs = list(sections(binary.shape[0], workers if binary.shape[0] >= 8 * workers else 1))
        if len(slabs) == 1:
            mixed, codes = level_codes(binary)
            return cls(binary, mixed, codes)
        mixed = np.empty(binary.shape, dtype=bool)
        codes = np.empty(binary.shape, dtype=np.int32)

        def one(slab: Section) -> None:
            lo, hi = max(slab.start - 1, 0), min(slab.stop + 1, binary.shape[0])
            m, c = level_codes(binary[lo:hi])
            inner = slice(slab.start - lo, slab.stop - lo)
            mixed[slab.start:slab.stop] = m[inner]
            codes[slab.start:slab.stop] = c[inner]

        with ThreadPoolExecutor(max_workers=len(slabs)) as pool:
            list(pool.map(one, slabs))
        return cls(binary, mixed, codes)
