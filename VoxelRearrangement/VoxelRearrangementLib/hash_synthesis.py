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
from scipy import sparse

from .codes import hamming_ball
from .errors import VoxelRearrangementError
from .hashtable import Int64HashTable
from .level_step import LevelStep, SourceLevel, sections

#: Decision codes of a (query code, offset class) pair.
KEEP_TRILINEAR = -1


@dataclass
class CodeVotes:
    """For each parent code (sorted, unique) and offset class: template voxels that were 1
    (``ones``) and all template voxels (``total``); arrays of shape (codes, offset classes)."""

    codes: np.ndarray
    ones: np.ndarray
    total: np.ndarray
    offset_bins: int

    @property
    def n_offset_classes(self) -> int:
        return self.offset_bins ** 3

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
        return cls._from_key_counts(np.concatenate(keys), np.concatenate(ones),
                                    np.concatenate(total), step.offset_bins)

    @classmethod
    def _from_key_counts(cls, keys: np.ndarray, ones: np.ndarray, total: np.ndarray,
                         offset_bins: int) -> "CodeVotes":
        n_cls = offset_bins ** 3
        u, inv = np.unique(keys, return_inverse=True)
        ones = np.bincount(inv, weights=ones, minlength=u.size)
        total = np.bincount(inv, weights=total, minlength=u.size)
        codes, row = np.unique(u // n_cls, return_inverse=True)
        o = np.zeros((codes.size, n_cls), dtype=np.uint32)
        t = np.zeros((codes.size, n_cls), dtype=np.uint32)
        o[row, u % n_cls] = ones
        t[row, u % n_cls] = total
        return cls(codes, o, t, offset_bins)

    @classmethod
    def merge(cls, tables: Iterable["CodeVotes"]) -> "CodeVotes":
        """Pool the votes of several templates."""
        tables = list(tables)
        bins = {t.offset_bins for t in tables}
        if len(bins) != 1:
            raise VoxelRearrangementError("cannot merge vote tables with different offset bins")
        n_cls = tables[0].n_offset_classes
        keys, ones, total = [], [], []
        for t in tables:
            r, c = np.nonzero(t.total)
            keys.append(t.codes[r] * n_cls + c)
            ones.append(t.ones[r, c].astype(np.float64))
            total.append(t.total[r, c].astype(np.float64))
        return cls._from_key_counts(np.concatenate(keys), np.concatenate(ones),
                                    np.concatenate(total), bins.pop())


class HashPredictor:
    """Looks up a query level's parent codes in a :class:`CodeVotes` table (O(1) hashing)."""

    def __init__(self, votes: CodeVotes, hamming_radius: int = 2) -> None:
        self.votes = votes
        self.table = Int64HashTable(votes.codes)
        self.hamming_radius = int(hamming_radius)

    def decisions(self, query_codes: np.ndarray, used: np.ndarray) -> Tuple[np.ndarray, dict]:
        """Decision (1, 0 or KEEP_TRILINEAR) per unique query code and offset class, shape
        (codes, classes) int8, and counts of how codes were resolved. ``used`` (same shape,
        bool) marks the entries some band voxel needs: only those go to the Hamming search."""
        rows = self.table.lookup(query_codes)
        found = rows >= 0
        ones = np.zeros(used.shape, dtype=np.float64)
        total = np.zeros_like(ones)
        ones[found] = self.votes.ones[rows[found]]
        total[found] = self.votes.total[rows[found]]
        stats = {"codes": int(query_codes.size), "exact": int(found.sum())}
        need = (total == 0) & used
        for distance, masks in enumerate(hamming_ball(self.hamming_radius), start=1):
            todo = np.nonzero(need.any(axis=1))[0]
            if not todo.size:
                break
            o, t = self._pooled_votes(query_codes[todo], masks)
            fill = need[todo] & (t > 0)
            r, c = np.nonzero(fill)
            ones[todo[r], c] = o[r, c]
            total[todo[r], c] = t[r, c]
            need[todo[r], c] = False
            stats[f"hamming{distance}"] = int(fill.any(axis=1).sum())
        decision = np.full(ones.shape, KEEP_TRILINEAR, dtype=np.int8)
        decision[2 * ones > total] = 1
        decision[2 * ones < total] = 0
        return decision, stats

    def _pooled_votes(self, codes: np.ndarray, masks: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Votes pooled over the table codes ``code ^ mask`` for every mask, per code."""
        cand = (codes[:, None] ^ masks[None, :]).ravel()
        rows = self.table.lookup(cand)
        hit = rows >= 0
        owner = np.repeat(np.arange(codes.size), masks.size)[hit]
        pick = sparse.csr_matrix((np.ones(int(hit.sum())), (owner, rows[hit])),
                                 shape=(codes.size, self.votes.codes.size))
        return pick @ self.votes.ones.astype(np.float64), pick @ self.votes.total.astype(np.float64)
