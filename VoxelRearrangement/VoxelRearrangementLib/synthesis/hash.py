"""Template synthesis by hashing: look up the votes of template voxels (:mod:`.votes`) by the
query's parent code, in an O(1) hash table.

Prediction: each band voxel takes the majority vote of its key; a code absent from the table
(or an offset class with no vote) takes the pooled votes of the codes at Hamming distance 1,
then 2, ... up to ``hamming_radius``; a tie or no vote at all keeps the trilinear value.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Tuple

import numpy as np

from .._shared.sections import sections
from . import kernels
from .codes import hamming_ball
from .votes import CodeVotes

#: Fewer query codes than this are decided in one thread.
_MIN_CODES_PER_THREAD = 256
#: Parts per worker: the codes that need a Hamming search cost far more than exact matches
#: and are not spread evenly over the sorted codes, so each worker takes several parts.
_PARTS_PER_WORKER = 8


class HashPredictor:
    """Looks up a query level's parent codes in a :class:`CodeVotes` table (O(1) hashing);
    the codes are decided in ``workers`` threads (compiled, GIL released)."""

    def __init__(self, votes: CodeVotes, hamming_radius: int = 2,
                 hamming_margin: float = 0.0, workers: int = 1) -> None:
        self.votes = votes
        self.table = votes.code_table()
        self.hamming_radius = int(hamming_radius)
        self.hamming_margin = float(hamming_margin)
        self.workers = max(1, int(workers))
        ball = hamming_ball(self.hamming_radius)
        self._masks = np.concatenate([np.zeros(0, dtype=np.int64)] + ball)
        self._mask_ptr = np.cumsum([0] + [m.size for m in ball]).astype(np.int64)

    def decisions(self, query_codes: np.ndarray, used: np.ndarray) -> Tuple[np.ndarray, dict]:
        """Decision (1, 0 or KEEP_TRILINEAR) per unique query code and offset class, shape
        (codes, classes) int8, and counts of how codes were resolved. ``used`` (same shape,
        bool) marks the entries some band voxel needs: only those go to the Hamming search."""
        codes = np.ascontiguousarray(query_codes, dtype=np.int64)
        used = np.ascontiguousarray(used, dtype=bool)
        threads = min(self.workers, codes.size // _MIN_CODES_PER_THREAD)
        if threads <= 1:
            results = [self._decide(codes, used)]
        else:
            parts = sections(codes.size, threads * _PARTS_PER_WORKER)
            with ThreadPoolExecutor(max_workers=threads) as pool:
                results = list(pool.map(lambda p: self._decide(codes[p.start:p.stop],
                                                               used[p.start:p.stop]), parts))
        stats = {"codes": int(codes.size), "exact": int(sum(r[1] for r in results))}
        filled = np.sum([r[2] for r in results], axis=0)
        reached = np.any([r[3] for r in results], axis=0)
        for distance in range(1, self.hamming_radius + 1):
            if not reached[distance - 1]:
                break
            stats[f"hamming{distance}"] = int(filled[distance - 1])
        return np.concatenate([r[0] for r in results]), stats

    def _decide(self, codes: np.ndarray, used: np.ndarray):
        v, table = self.votes, self.table
        return kernels.hash_decisions(codes, used, self._masks, self._mask_ptr,
                                      self.hamming_margin, table.slot_keys, table.slot_rows,
                                      table.bits, v.indptr, v.classes, v.ones, v.total)
