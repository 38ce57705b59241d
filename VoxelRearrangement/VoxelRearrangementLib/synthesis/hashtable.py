"""An open-addressing hash table from 27-bit neighbourhood codes to row numbers.

Codes are placed by multiplicative hashing with linear probing at a load factor of at most
1/2, so a lookup costs O(1) expected probes; building and looking up run as compiled loops
(:mod:`.kernels`), which also release the GIL for parallel sections.
"""
from __future__ import annotations

import numpy as np

from . import kernels

#: Codes are below 2 ** 31 (27 bits in practice): slots are int32.
_MAX_KEY = np.iinfo(np.int32).max


def _distinct(keys: np.ndarray) -> bool:
    """True if no key repeats (O(n) for the usual strictly increasing keys)."""
    if np.all(keys[1:] > keys[:-1]):
        return True
    return np.unique(keys).size == keys.size


class CodeHashTable:
    """Maps each of ``keys`` (unique, 0 <= key < 2 ** 31) to its position in ``keys``; -1 when
    absent. ``slot_keys``/``slot_rows`` (int32) and ``bits`` are the table itself (they can be
    stored and given back to :meth:`from_slots`)."""

    def __init__(self, keys: np.ndarray) -> None:
        keys = np.asarray(keys, dtype=np.int64)
        if keys.size and (keys.min() < 0 or keys.max() > _MAX_KEY or not _distinct(keys)):
            raise ValueError("hash table keys must be unique, non-negative and below 2 ** 31")
        self.bits = max(4, int(np.ceil(np.log2(max(2 * keys.size, 1)))))
        self.slot_keys, self.slot_rows = kernels.build_table(keys.astype(np.int32), self.bits)

    @classmethod
    def from_slots(cls, slot_keys: np.ndarray, slot_rows: np.ndarray, bits: int) -> "CodeHashTable":
        table = cls.__new__(cls)
        table.slot_keys, table.slot_rows, table.bits = slot_keys, slot_rows, int(bits)
        return table

    def __len__(self) -> int:
        return int(np.count_nonzero(self.slot_keys != -1))

    def lookup(self, queries: np.ndarray) -> np.ndarray:
        """Row (int64) of each query key in the key array given at construction, or -1."""
        return kernels.lookup(self.slot_keys, self.slot_rows, self.bits,
                              np.ascontiguousarray(queries, dtype=np.int64))
