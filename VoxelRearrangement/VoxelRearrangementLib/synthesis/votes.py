"""Votes of template voxels, keyed by their parent's 27-bit neighbourhood code and their
quantized sub-voxel offset: what both template methods (hash, KD-tree) learn and look up.

Learning (per pyramid step, per template): the template is degraded as the query was (its
coarser level made by the challenge's zoom), and every band voxel of the finer level votes
with its *true* value under the key ``(code of its parent's 3 x 3 x 3 neighbourhood in the
degraded level, offset class)``. Unlike the authors' table, the key never contains the voxel
being predicted, so an exact match carries information the input did not have.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, List, Tuple

import numpy as np

from .._shared.errors import VoxelRearrangementError
from .hashtable import Int64HashTable
from .level_step import LevelStep, SourceLevel, sections

#: Decision codes of a (query code, offset class) pair.
KEEP_TRILINEAR = -1


@dataclass
class CodeVotes:
    """Votes of template voxels per key ``code * n_offset_classes + offset class``, for the keys
    seen (sorted, unique): ``ones`` voxels were 1 out of ``total``. Sparse: a table learned
    from 60 skulls has ~10^6 codes but only a few classes each."""

    keys: np.ndarray
    ones: np.ndarray
    total: np.ndarray
    offset_bins: int

    def __post_init__(self) -> None:
        n_cls = self.n_offset_classes
        code_of_key = self.keys // n_cls  # keys are sorted, so equal codes are adjacent
        starts = np.flatnonzero(np.r_[True, code_of_key[1:] != code_of_key[:-1]])
        self.codes = code_of_key[starts]
        self.indptr = np.append(starts, self.keys.size).astype(np.int64)
        self.classes = (self.keys % n_cls).astype(np.uint8 if n_cls <= 256 else np.int64)

    @property
    def n_offset_classes(self) -> int:
        return self.offset_bins ** 3

    def code_table(self) -> Int64HashTable:
        """The hash table of the codes (built on first use, then kept with the votes)."""
        if getattr(self, "_code_table", None) is None:
            self._code_table = Int64HashTable(self.codes)
        return self._code_table

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
        return cls(u, o.astype(np.uint32), t.astype(np.uint32), offset_bins)

    @classmethod
    def merge(cls, tables: Iterable["CodeVotes"]) -> "CodeVotes":
        """Pool the votes of several templates."""
        tables = list(tables)
        bins = {t.offset_bins for t in tables}
        if len(bins) != 1:
            raise VoxelRearrangementError("cannot merge vote tables with different offset bins")
        return cls._pooled([t.keys for t in tables], [t.ones.astype(np.float64) for t in tables],
                           [t.total.astype(np.float64) for t in tables], bins.pop())

    def votes_of_codes(self, owner: np.ndarray, rows: np.ndarray, n_owners: int
                       ) -> Tuple[np.ndarray, np.ndarray]:
        """Sum the votes of code rows ``rows`` into ``owner`` rows: (n_owners, classes) arrays
        of ones and totals."""
        counts = self.indptr[rows + 1] - self.indptr[rows]
        entry = np.repeat(self.indptr[rows] - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        slot = np.repeat(owner, counts) * self.n_offset_classes + self.classes[entry].astype(np.int64)
        size = n_owners * self.n_offset_classes
        ones = np.bincount(slot, weights=self.ones[entry], minlength=size)
        total = np.bincount(slot, weights=self.total[entry], minlength=size)
        return ones.reshape(n_owners, -1), total.reshape(n_owners, -1)
