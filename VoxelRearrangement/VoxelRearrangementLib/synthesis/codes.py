"""3 x 3 x 3 neighbourhoods of a binary volume packed as 27-bit integer codes.

Bit ``b = 9 * (di + 1) + 3 * (dj + 1) + (dk + 1)`` of a voxel's code holds the value of its
neighbour at offset ``(di, dj, dk)`` (each in -1, 0, 1); bit 13 is the voxel itself. Voxels
outside the volume count as 0. Codes 0 and ``FULL`` (all 27 set) are the uniform
neighbourhoods far from any surface.
"""
from __future__ import annotations

from itertools import combinations
from typing import List

import numpy as np

N_BITS = 27
FULL = (1 << N_BITS) - 1


def level_codes(binary: np.ndarray):
    """``(mixed, codes)`` of a 0/1 volume: bool where the 3 x 3 x 3 neighbourhood (zero
    outside) is not uniform (the voxels within one voxel of a surface), and there its code
    (int32; 0 elsewhere). Compiled: :func:`.kernels.level_codes`."""
    from . import kernels
    mixed, codes = kernels.level_codes(np.ascontiguousarray(binary, dtype=np.uint8))
    return mixed.view(bool), codes


def hamming_ball(radius: int) -> List[np.ndarray]:
    """XOR masks at Hamming distance 1, 2, ..., ``radius`` (one int64 array per distance)."""
    return [np.array([sum(1 << b for b in bits) for bits in combinations(range(N_BITS), d)],
                     dtype=np.int64) for d in range(1, radius + 1)]
