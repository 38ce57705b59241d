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
OFFSETS = np.array([(di, dj, dk) for di in (-1, 0, 1) for dj in (-1, 0, 1) for dk in (-1, 0, 1)],
                   dtype=np.intp)


def codes_at(binary: np.ndarray, i: np.ndarray, j: np.ndarray, k: np.ndarray) -> np.ndarray:
    """27-bit codes (int64) of the voxels ``(i, j, k)`` of a 0/1 volume (axes i, j, k)."""
    padded = np.pad(binary.astype(np.uint8, copy=False), 1)
    strides = np.array([padded.shape[1] * padded.shape[2], padded.shape[2], 1], dtype=np.intp)
    flat = padded.ravel()
    centre = (np.asarray(i, np.intp) + 1) * strides[0] + (np.asarray(j, np.intp) + 1) * strides[1] \
        + (np.asarray(k, np.intp) + 1)
    code = np.zeros(centre.shape, dtype=np.int64)
    for b, off in enumerate(OFFSETS):
        code |= flat[centre + int(off @ strides)].astype(np.int64) << b
    return code


def mixed_voxels(binary: np.ndarray) -> np.ndarray:
    """Boolean volume: True where the 3 x 3 x 3 neighbourhood (zero outside) is not uniform,
    i.e. the code is neither 0 nor ``FULL`` — the voxels within one voxel of a surface."""
    from scipy import ndimage
    b = binary.astype(bool, copy=False)
    grown = ndimage.binary_dilation(b, structure=np.ones((3, 3, 3), bool))
    shrunk = ndimage.binary_erosion(b, structure=np.ones((3, 3, 3), bool), border_value=0)
    return grown & ~shrunk


def hamming_ball(radius: int) -> List[np.ndarray]:
    """XOR masks at Hamming distance 1, 2, ..., ``radius`` (one int64 array per distance)."""
    return [np.array([sum(1 << b for b in bits) for bits in combinations(range(N_BITS), d)],
                     dtype=np.int64) for d in range(1, radius + 1)]
