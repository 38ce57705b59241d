"""Votes of template voxels, keyed by their parent's 27-bit neighbourhood code and their
quantized sub-voxel offset: what both template methods (hash, KD-tree) learn and look up.

Learning (per pyramid step, per template): the template is degraded as the query was (its
coarser level made by the challenge's zoom), and every band voxel of the finer level votes
with its *true* value under the key ``(code of its parent's 3 x 3 x 3 neighbourhood in the
degraded level, offset class)``. Unlike the authors' table, the key never contains the voxel
being predicted, so an exact match carries information the input did not have.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, List, Optional

import numpy as np

from .._shared.errors import VoxelRearrangementError
from .._shared.sections import sections
from .hashtable import CodeHashTable
from .level_step import LevelStep, SourceLevel

#: Decision codes of a (query code, offset class) pair.
KEEP_TRILINEAR = -1


@dataclass
class CodeVotes:
    """Votes of template voxels per key (code, offset class), stored by code: the sorted
    unique ``codes`` (int32), for code row ``r`` the entries ``indptr[r]:indptr[r + 1]``
    (int64), each entry's offset ``classes`` (uint8) and votes: ``ones`` voxels were 1 out of
    ``total`` (uint32). Sparse: a table learned from 60 skulls has ~10^6 codes but only a few
    classes each. The arrays may be memory-mapped (read-only)."""

    codes: np.ndarray
    indptr: np.ndarray
    classes: np.ndarray
    ones: np.ndarray
    total: np.ndarray
    offset_bins: int
    table: Optional[CodeHashTable] = field(default=None, repr=False)

    @classmethod
    def from_keys(cls, keys: np.ndarray, ones: np.ndarray, total: np.ndarray,
                  offset_bins: int) -> "CodeVotes":
        """From sorted unique keys ``code * offset_bins ** 3 + offset class``."""
        n_cls = offset_bins ** 3
        code_of_key = keys // n_cls  # keys are sorted, so equal codes are adjacent
        starts = np.flatnonzero(np.r_[True, code_of_key[1:] != code_of_key[:-1]])
        return cls(code_of_key[starts].astype(np.int32), np.append(starts, keys.size).astype(np.int64),
                   (keys % n_cls).astype(np.uint8), np.asarray(ones, dtype=np.uint32),
                   np.asarray(total, dtype=np.uint32), offset_bins)

    @property
    def n_offset_classes(self) -> int:
        return self.offset_bins ** 3

    @property
    def keys(self) -> np.ndarray:
        """Sorted unique int64 keys ``code * n_offset_classes + class`` (computed on demand)."""
        counts = np.diff(self.indptr)
        return np.repeat(self.codes.astype(np.int64), counts) * self.n_offset_classes + self.classes

    def code_table(self) -> CodeHashTable:
        """The hash table of the codes (built on first use, then kept with the votes)."""
        if self.table is None:
            self.table = CodeHashTable(self.codes)
        return self.table

    @classmethod
    def learn(cls, source: SourceLevel, step: LevelStep, truth: np.ndarray,
              section_count: int = 8) -> "CodeVotes":
        """Votes of every band voxel of ``truth`` (the template on the step's target grid)."""
        n_cls = step.n_offset_classes
        keys: List[np.ndarray] = []
        ones: List[np.ndarray] = []
        total: List[np.ndarray] = []
        for section in sections(step.target.shape[0], section_count):
            i, j, k = step.band(source.mixed, section)
            code = source.code_volume[step.parents(i, j, k)].astype(np.int64)
            key = code * n_cls + step.offset_class(i, j, k)
            u, inv = np.unique(key, return_inverse=True)
            keys.append(u)
            ones.append(np.bincount(inv, weights=truth[i, j, k], minlength=u.size))
            total.append(np.bincount(inv, minlength=u.size).astype(np.float64))
        return cls._pooled(keys, ones, total, step.offset_bins)

    @classmethod
    def _pooled(cls, keys: List[np.ndarray], ones: List[np.ndarray], total: List[np.ndarray],
                offset_bins: int) -> "CodeVotes":
        u, inv = np.unique(np.concatenate(keys), return_inverse=True)
        o = np.bincount(inv, weights=np.concatenate(ones), minlength=u.size)
        t = np.bincount(inv, weights=np.concatenate(total), minlength=u.size)
        return cls.from_keys(u, o.astype(np.uint32), t.astype(np.uint32), offset_bins)

    @classmethod
    def merge(cls, tables: Iterable["CodeVotes"]) -> "CodeVotes":
        """Pool the votes of several templates."""
        tables = list(tables)
        bins = {t.offset_bins for t in tables}
        if len(bins) != 1:
            raise VoxelRearrangementError("cannot merge vote tables with different offset bins")
        return cls._pooled([t.keys for t in tables], [t.ones.astype(np.float64) for t in tables],
                           [t.total.astype(np.float64) for t in tables], bins.pop())
