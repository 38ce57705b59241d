"""Template synthesis by hashing: votes of template voxels keyed by their parent's 27-bit
neighbourhood code and their quantized sub-voxel offset.

Learning (per pyramid step, per template): the template is degraded as the query was (its
coarser level made by the challenge's zoom), and every band voxel of the finer level votes
with its *true* value under the key ``(code of its parent's 3 x 3 x 3 neighbourhood in the
degraded level, offset class)``. Unlike the authors' table, the key never contains the voxel
being predicted, so an exact match carries information the input did not have.

Prediction: each band voxel takes the majority vote of its key; a code absent from the table
(or an offset class with no vote) takes the pooled votes of the codes at Hamming distance 1,
then 2, ... up to ``hamming_radius``; a tie or no vote at all keeps the trilinear value.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, List, Tuple

import numpy as np

from .codes import hamming_ball
from .errors import VoxelRearrangementError
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


class HashPredictor:
    """Looks up a query level's parent codes in a :class:`CodeVotes` table (O(1) hashing)."""

    def __init__(self, votes: CodeVotes, hamming_radius: int = 2,
                 hamming_margin: float = 0.0) -> None:
        self.votes = votes
        self.table = votes.code_table()
        self.hamming_radius = int(hamming_radius)
        self.hamming_margin = float(hamming_margin)

    def decisions(self, query_codes: np.ndarray, used: np.ndarray) -> Tuple[np.ndarray, dict]:
        """Decision (1, 0 or KEEP_TRILINEAR) per unique query code and offset class, shape
        (codes, classes) int8, and counts of how codes were resolved. ``used`` (same shape,
        bool) marks the entries some band voxel needs: only those go to the Hamming search."""
        rows = self.table.lookup(query_codes)
        found = np.nonzero(rows >= 0)[0]
        ones, total = self.votes.votes_of_codes(found, rows[found], query_codes.size)
        stats = {"codes": int(query_codes.size), "exact": int(found.size)}
        need = (total == 0) & used
        margin = np.zeros_like(total)  # votes must beat 1/2 by this share of their total
        for distance, masks in enumerate(hamming_ball(self.hamming_radius), start=1):
            todo = np.nonzero(need.any(axis=1))[0]
            if not todo.size:
                break
            o, t = self._pooled_votes(query_codes[todo], masks)
            fill = need[todo] & (t > 0)
            r, c = np.nonzero(fill)
            ones[todo[r], c] = o[r, c]
            total[todo[r], c] = t[r, c]
            margin[todo[r], c] = self.hamming_margin
            need[todo[r], c] = False
            stats[f"hamming{distance}"] = int(fill.any(axis=1).sum())
        decision = np.full(ones.shape, KEEP_TRILINEAR, dtype=np.int8)
        margin *= total
        decision[ones - 0.5 * total > margin] = 1
        decision[0.5 * total - ones > margin] = 0
        return decision, stats

    def _pooled_votes(self, codes: np.ndarray, masks: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Votes pooled over the table codes ``code ^ mask`` for every mask, per code."""
        rows = self.table.lookup((codes[:, None] ^ masks[None, :]).ravel())
        hit = np.nonzero(rows >= 0)[0]
        return self.votes.votes_of_codes(hit // masks.size, rows[hit], codes.size)
