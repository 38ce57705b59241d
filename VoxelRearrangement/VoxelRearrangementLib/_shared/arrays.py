"""Small helpers on volumes (numpy arrays indexed i, j, k)."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np
from numba import njit


def foreground_bounds(array: np.ndarray) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """``(lo, hi)``: the first and one past the last index of the non-zero voxels along each
    axis (int64 arrays of length 3), or None when the volume is empty."""
    columns = np.any(array, axis=2)  # (i, j): one pass over the volume
    i = np.flatnonzero(columns.any(axis=1))
    if i.size == 0:
        return None
    j = np.flatnonzero(columns.any(axis=0))
    k = np.flatnonzero(np.any(array[i[0]:i[-1] + 1, j[0]:j[-1] + 1], axis=(0, 1)))
    lo = np.array([i[0], j[0], k[0]], dtype=np.int64)
    hi = np.array([i[-1], j[-1], k[-1]], dtype=np.int64) + 1
    return lo, hi


def block_any(array: np.ndarray, factor: int) -> np.ndarray:
    """Bool volume ``factor`` times coarser along each axis: a block is set when any of its
    voxels is (thin structures survive; the volume is padded with zeros at its far ends to a
    multiple of ``factor``)."""
    padded = np.pad(np.asarray(array, dtype=bool), [(0, (-n) % factor) for n in array.shape])
    a, b, c = (n // factor for n in padded.shape)
    return padded.reshape(a, factor, b, factor, c, factor).any(axis=(1, 3, 5))


def box(lo: Sequence[int], hi: Sequence[int], margin: Sequence[int] = (0, 0, 0),
        shape: Optional[Sequence[int]] = None) -> Tuple[slice, slice, slice]:
    """Slices of the box ``[lo - margin, hi + margin)``, clipped to ``shape`` when given."""
    lo = np.asarray(lo) - np.asarray(margin)
    hi = np.asarray(hi) + np.asarray(margin)
    lo = np.maximum(lo, 0)
    if shape is not None:
        hi = np.minimum(hi, shape)
    return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))


def fortran_order(array: np.ndarray) -> np.ndarray:
    """``array`` (3D) laid out in Fortran order, as file formats that store the first axis
    fastest (NRRD, NIfTI) want it: the same array when it already is, else a blocked copy
    (about 2.5x faster than numpy's strided one on a 512 x 512 x 236 volume)."""
    if array.flags.f_contiguous or array.ndim != 3:
        return np.asfortranarray(array)
    return _blocked_transpose(np.ascontiguousarray(array)).T


def c_order(array: np.ndarray) -> np.ndarray:
    """``array`` (3D) laid out in C order, as the library works on it: the same array when it
    already is; a Fortran-ordered one (as read from NRRD or NIfTI) by the blocked copy."""
    if array.flags.c_contiguous or array.ndim != 3 or not array.flags.f_contiguous:
        return np.ascontiguousarray(array)
    return _blocked_transpose(array.T)


@njit(cache=True, nogil=True)
def _blocked_transpose(a, block=16):
    """C-ordered (n2, n1, n0) copy of a C-ordered (n0, n1, n2) array: its transpose, one
    (n0, n2) plane at a time in ``block`` x ``block`` tiles."""
    n0, n1, n2 = a.shape
    out = np.empty((n2, n1, n0), dtype=a.dtype)
    for j in range(n1):
        for i0 in range(0, n0, block):
            for k0 in range(0, n2, block):
                for k in range(k0, min(k0 + block, n2)):
                    for i in range(i0, min(i0 + block, n0)):
                        out[k, j, i] = a[i, j, k]
    return out
