"""Template synthesis by hashing: look up the votes of template voxels (:mod:`.votes`) by the
query's parent code, in an O(1) hash table.

Prediction: each band voxel takes the majority vote of its key; a code absent from the table
(or an offset class with no vote) takes the pooled votes of the codes at Hamming distance 1,
then 2, ... up to ``hamming_radius``; a tie or no vote at all keeps the trilinear value.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

from .codes import hamming_ball
from .votes import KEEP_TRILINEAR, CodeVotes


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
