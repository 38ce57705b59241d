"""A vectorised open-addressing hash table from non-negative int64 keys to row numbers.

Keys are placed by multiplicative hashing with linear probing, all keys of a probe round at
once, so building and looking up are numpy operations over whole arrays (no per-key Python
loop) and cost O(1) expected per key at the load factor used (at most 1/2).
"""
from __future__ import annotations

import numpy as np

_EMPTY = np.int64(-1)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _distinct(keys: np.ndarray) -> bool:
    """True if no key repeats (O(n) for the usual strictly increasing keys)."""
    if np.all(keys[1:] > keys[:-1]):
        return True
    return np.unique(keys).size == keys.size


class Int64HashTable:
    """Maps each of ``keys`` (unique, >= 0) to its position in ``keys``; -1 when absent."""

    def __init__(self, keys: np.ndarray) -> None:
        keys = np.asarray(keys, dtype=np.int64)
        if keys.size and (keys.min() < 0 or not _distinct(keys)):
            raise ValueError("hash table keys must be unique and non-negative")
        self._bits = max(4, int(np.ceil(np.log2(max(2 * keys.size, 1)))))
        self._mask = np.int64((1 << self._bits) - 1)
        self._keys = np.full(1 << self._bits, _EMPTY, dtype=np.int64)
        self._rows = np.full(1 << self._bits, -1, dtype=np.int64)
        pending = np.arange(keys.size, dtype=np.int64)
        slot = self._home(keys)
        self.max_probes = 0
        while pending.size:
            self.max_probes += 1
            s = slot[pending]
            free = self._keys[s] == _EMPTY
            free_slots, first = np.unique(s[free], return_index=True)
            winners = pending[free][first]
            self._keys[free_slots] = keys[winners]
            self._rows[free_slots] = winners
            placed = np.zeros(keys.size, dtype=bool)
            placed[winners] = True
            pending = pending[~placed[pending]]
            slot[pending] = (slot[pending] + 1) & self._mask

    def __len__(self) -> int:
        return int(np.count_nonzero(self._keys != _EMPTY))

    def _home(self, keys: np.ndarray) -> np.ndarray:
        h = keys.astype(np.uint64) * _GOLDEN
        return (h >> np.uint64(64 - self._bits)).astype(np.int64)

    def lookup(self, queries: np.ndarray) -> np.ndarray:
        """Row of each query key in the key array given at construction, or -1."""
        queries = np.asarray(queries, dtype=np.int64)
        out = np.full(queries.shape, -1, dtype=np.int64)
        slot = self._home(queries)
        active = np.arange(queries.size, dtype=np.int64)
        for _ in range(self.max_probes):
            if not active.size:
                break
            s = slot[active]
            found = self._keys[s]
            hit = found == queries[active]
            out[active[hit]] = self._rows[s[hit]]
            active = active[~hit & (found != _EMPTY)]
            slot[active] = (slot[active] + 1) & self._mask
        return out
