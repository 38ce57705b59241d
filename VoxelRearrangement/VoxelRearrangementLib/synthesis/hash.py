"""Template synthesis by hashing: look up the votes of template voxels (:mod:`.votes`) by the
query's parent code, in an O(1) hash table.

Prediction: each band voxel takes the majority vote of its key; a code absent from the table
(or an offset class with no vote) takes the pooled votes of the codes at Hamming distance 1,
then 2, ... up to ``hamming_radius``; a tie or no vote at all keeps the trilinear value.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

from . import kernels
from .codes import hamming_ball
from .votes import CodeVotes


class HashPredictor:
    """Looks up a query level's parent codes in a :class:`CodeVotes` table (O(1) hashing);
    the Hamming search runs in ``workers`` threads (compiled, GIL released)."""

    def __init__(self, votes: CodeVotes, hamming_radius: int = 2,
                 hamming_margin: float = 0.0, workers: int = 1) -> None:
        self.votes = votes
        self.table = votes.code_table()
        self.hamming_radius = int(hamming_radius)
        self.hamming_margin = float(hamming_margin)
        self.workers = max(1, int(workers))

    def decisions(self, query_codes: np.ndarray, used: np.ndarray) -> Tuple[np.ndarray, dict]:
        """Decision (1, 0 or KEEP_TRILINEAR) per unique query code and offset class, shape
        (codes, classes) int8, and counts of how codes were resolved. ``used`` (same shape,
        bool) marks the entries some band voxel needs: only those go to the Hamming search."""
        rows = self.table.lookup(query_codes)
        ones, total = self.votes.votes_of_rows(rows)
        stats = {"codes": int(query_codes.size), "exact": int(np.count_nonzero(rows >= 0))}
        need = (total == 0) & used
        from_hamming = np.zeros(ones.shape, dtype=bool)
        for distance, masks in enumerate(hamming_ball(self.hamming_radius), start=1):
            todo = np.flatnonzero(need.any(axis=1))
            if not todo.size:
                break
            o, t = self._pooled_votes(query_codes[todo], masks)
            stats[f"hamming{distance}"] = int(kernels.hamming_fill(todo, o, t, need, ones, total,
                                                                   from_hamming))
        return kernels.decide(ones, total, from_hamming, self.hamming_margin), stats

    def _pooled_votes(self, codes: np.ndarray, masks: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Votes pooled over the table codes ``code ^ mask`` for every mask, per code (the
        codes split among the worker threads)."""
        v, table = self.votes, self.table
        codes = np.ascontiguousarray(codes, dtype=np.int64)

        def part(chunk: np.ndarray):
            return kernels.pooled_votes(chunk, masks, v.n_offset_classes, table.slot_keys,
                                        table.slot_rows, table.bits, v.indptr, v.classes,
                                        v.ones, v.total)

        chunks = np.array_split(codes, self.workers) if self.workers > 1 and codes.size > 256 \
            else [codes]
        if len(chunks) == 1:
            return part(codes)
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(max_workers=len(chunks)) as pool:
            parts = list(pool.map(part, chunks))
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
