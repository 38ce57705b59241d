"""Down- and upsampling of masks between grids.

``downsample`` makes the AutoImplant challenge's coarse format (``zoom(order=2) > 0.5``)
with the correct coarse geometry. Upsampling between corner-aligned grids is separable (one
1D map per axis, :class:`AxisMap`) and fast; any other pair of grids goes through
``map_coordinates`` in slabs so memory stays bounded.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np
from scipy import ndimage

from .._shared.arrays import foreground_bounds
from .._shared.errors import VoxelRearrangementError
from ..grids.geometry import Mask
from .geometry import CHALLENGE_COARSE_SHAPE, Grid, axis_aligned_scale, binary, corner_aligned_grid, index_map

#: Voxels kept around the mask when cropping before the spline prefilter: the order-2 spline
#: coefficients of a zero region decay by a factor 0.17 per voxel away from the mask, so
#: beyond 16 voxels they are below 1e-12 and the zoom is unchanged by the crop.
_SPLINE_MARGIN = 16


def downsample(mask: Mask, shape: Sequence[int] = CHALLENGE_COARSE_SHAPE) -> Mask:
    """The challenge's coarse format: ``zoom(array, shape / array.shape, order=2) > 0.5``.

    The returned geometry is the corner-aligned grid (``zoom`` maps the first and last voxel
    centres onto each other), not the high-resolution spacing the challenge files kept.
    """
    return downsample_many(mask, [shape])[0]


def downsample_many(mask: Mask, shapes: Sequence[Sequence[int]]) -> List[Mask]:
    """``downsample`` to several shapes; the spline prefilter runs only on the bounding box
    of the mask (plus a margin): the same voxels as ``zoom``, faster."""
    mask = binary(mask)
    return [Mask((values > 0.5).astype(np.uint8), matrix)
            for values, matrix in _zoom_values(mask, shapes)]


def downsample_with_values(mask: Mask, shape: Sequence[int] = CHALLENGE_COARSE_SHAPE
                           ) -> Tuple[np.ndarray, np.ndarray]:
    """``(values, ijk_to_lps)``: the values :func:`downsample` thresholds (float64, its mask
    is ``values > 0.5``) and the coarse grid's matrix, from one downsampling."""
    return _zoom_values(binary(mask), [shape])[0]


def downsample_values(mask: Mask, shape: Sequence[int] = CHALLENGE_COARSE_SHAPE) -> np.ndarray:
    """The values (float32, about 0..1) that :func:`downsample` thresholds at 0.5: how much of
    each coarse voxel's (order-2 spline) neighbourhood is foreground."""
    return downsample_with_values(mask, shape)[0].astype(np.float32)


def _zoom_values(mask: Mask, shapes: Sequence[Sequence[int]]) -> List[Tuple[np.ndarray, np.ndarray]]:
    """``(zoom values (float64), coarse IJK-to-LPS matrix)`` for each of ``shapes``.

    ``zoom(order=2)`` is a separable linear map: per axis, the spline prefilter along that
    axis, then the order-2 B-spline at the output positions. The axes are taken one after
    the other, each prefiltered on the array already reduced along the axes before it, so
    only the first (the last index axis, contiguous in memory: the fastest to filter) runs
    on the full (cropped) volume: the same values as ``zoom`` to ~1e-15."""
    shapes = [tuple(int(n) for n in s) for s in shapes]
    n_in = np.array(mask.array.shape)
    if any(n < 2 for n in n_in) or any(len(s) != 3 or min(s) < 2 for s in shapes):
        raise VoxelRearrangementError(f"cannot downsample a mask of shape {mask.array.shape} "
                                      f"to {shapes}")
    matrices = [corner_aligned_grid(mask.grid, s).ijk_to_lps for s in shapes]
    bounds = foreground_bounds(mask.array)
    if bounds is None:
        return [(np.zeros(s), m) for s, m in zip(shapes, matrices)]
    lo = np.maximum(bounds[0] - _SPLINE_MARGIN, 0)
    hi = np.minimum(bounds[1] + _SPLINE_MARGIN, n_in)
    box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))
    out = []
    for s, matrix in zip(shapes, matrices):
        # the output voxels whose positions fall in the box, and those positions
        scale = (n_in - 1) / (np.array(s) - 1.0)  # input index per output index (zoom's rule)
        o_lo = np.ceil(lo / scale - 1e-9).astype(int)
        o_hi = np.minimum(np.floor((hi - 1) / scale + 1e-9).astype(int) + 1, s)
        full = np.zeros(s)
        if np.all(o_hi > o_lo):
            pos = [np.arange(a, b) * scale[d] - lo[d] for d, (a, b) in enumerate(zip(o_lo, o_hi))]
            values = _filter_and_sample_last_axis(mask.array[box], pos[2])
            for axis in (1, 0):  # in place: the filter works on copies of each line
                ndimage.spline_filter1d(values, order=2, axis=axis, mode="constant", output=values)
                values = _spline_sample(values, pos[axis], axis)
            full[tuple(slice(a, b) for a, b in zip(o_lo, o_hi))] = values
        out.append((full, matrix))
    return out


def _filter_and_sample_last_axis(data: np.ndarray, positions: np.ndarray, threads: int = 2,
                                 slabs: int = 8) -> np.ndarray:
    """Prefilter ``data`` (3D) along axis 2 (order-2 spline, SciPy's ``mode="constant"``) and
    sample it there at ``positions`` (float64 axis-2 indices), float64. Done in ``slabs``
    slabs along axis 0 (bounded memory), in ``threads`` threads (SciPy releases the GIL while
    it filters)."""
    from concurrent.futures import ThreadPoolExecutor
    edges = np.linspace(0, data.shape[0], min(slabs, data.shape[0]) + 1).astype(int)
    out = np.empty(data.shape[:2] + (len(positions),))

    def one(a: int, b: int) -> None:
        coefficients = ndimage.spline_filter1d(data[a:b], order=2, axis=2, mode="constant",
                                               output=np.float64)
        out[a:b] = _spline_sample(coefficients, positions, 2)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(lambda ab: one(*ab), zip(edges[:-1], edges[1:])))
    return out


def _spline_sample(coefficients: np.ndarray, positions: np.ndarray, axis: int) -> np.ndarray:
    """The order-2 B-spline of ``coefficients`` (3D) along ``axis`` at ``positions`` (indices
    within the axis): three taps per position, mirrored at the ends as SciPy's ``constant``
    mode does for points inside the array."""
    n = coefficients.shape[axis]
    centre = np.floor(positions + 0.5).astype(np.intp)
    t = positions - centre
    shape = [1, 1, 1]
    shape[axis] = -1
    out = None
    for tap, weight in ((-1, 0.5 * (0.5 - t) ** 2), (0, 0.75 - t * t), (1, 0.5 * (0.5 + t) ** 2)):
        index = np.abs(centre + tap)
        index = np.where(index > n - 1, 2 * (n - 1) - index, index)
        term = np.take(coefficients, index, axis=axis)
        term *= weight.reshape(shape)
        if out is None:
            out = term
        else:
            out += term
    return out


@dataclass(frozen=True)
class AxisMap:
    """How target voxels along one axis sit in the source axis.

    ``position`` is the continuous source index of every target index; ``nearest`` the
    source voxel whose centre is closest (the *parent*); ``lower``/``weight`` the linear
    interpolation pair (``(1 - w) * src[lower] + w * src[lower + 1]``); positions outside
    the source are clamped to its first/last voxel."""

    position: np.ndarray
    nearest: np.ndarray
    lower: np.ndarray
    weight: np.ndarray

    @classmethod
    def make(cls, n_source: int, n_target: int, scale: float, offset: float,
             first: int = 0) -> "AxisMap":
        """Map of the ``n_target`` target indices ``first, first + 1, ...`` (``first`` may be
        negative: windows that reach beyond the target, clamped like any outside position)."""
        # rounded so that positions on a half voxel (exact ratios such as 2) do not fall
        # either side of it by floating-point noise in the grid matrices
        pos = np.round(scale * np.arange(first, first + n_target, dtype=np.float64) + offset, 9)
        clamped = np.clip(pos, 0, n_source - 1)
        nearest = np.clip(np.floor(clamped + 0.5), 0, n_source - 1).astype(np.intp)
        lower = np.clip(np.floor(clamped), 0, max(n_source - 2, 0)).astype(np.intp)
        weight = (clamped - lower).astype(np.float32)
        return cls(pos, nearest, lower, weight)


def axis_maps(source: Grid, target: Grid) -> Tuple[AxisMap, AxisMap, AxisMap]:
    """Per-axis maps from ``target`` voxels into ``source``; error if the grids mix axes."""
    aligned = axis_aligned_scale(source, target)
    if aligned is None:
        raise VoxelRearrangementError("the grids are rotated or sheared relative to each other; "
                                      "separable resampling needs axis-aligned grids")
    scale, offset = aligned
    return tuple(AxisMap.make(source.shape[a], target.shape[a], scale[a], offset[a])
                 for a in range(3))


def upsample_nearest(array: np.ndarray, maps: Sequence[AxisMap]) -> np.ndarray:
    """Each target voxel takes the value of its nearest source voxel (array dtype kept)."""
    out = array
    for a, m in enumerate(maps):
        out = np.take(out, m.nearest, axis=a)
    return out


def upsample_linear(array: np.ndarray, maps: Sequence[AxisMap]) -> np.ndarray:
    """Separable (tri)linear interpolation of ``array`` onto the target grid, as float32."""
    out = array.astype(np.float32, copy=False)
    for a, m in enumerate(maps):
        shape = [1, 1, 1]
        shape[a] = -1
        w = m.weight.reshape(shape)
        lo = np.take(out, m.lower, axis=a)
        hi = np.take(out, np.minimum(m.lower + 1, out.shape[a] - 1), axis=a)
        hi -= lo
        hi *= w
        lo += hi
        out = lo
    return out


def linear_at(array: np.ndarray, maps: Sequence[AxisMap], i: np.ndarray, j: np.ndarray,
              k: np.ndarray) -> np.ndarray:
    """Trilinear value (float32) of ``array`` at the target voxels ``(i, j, k)`` only."""
    idx, wts = [], []
    for m, t in zip(maps, (i, j, k)):
        lo = m.lower[t]
        idx.append((lo, lo + 1))
        wts.append(m.weight[t])
    n = [array.shape[a] for a in range(3)]
    out = np.zeros(len(i), dtype=np.float32)
    for ci in (0, 1):
        wi = wts[0] if ci else 1 - wts[0]
        ii = np.minimum(idx[0][ci], n[0] - 1)
        for cj in (0, 1):
            wj = wts[1] if cj else 1 - wts[1]
            jj = np.minimum(idx[1][cj], n[1] - 1)
            for ck in (0, 1):
                wk = wts[2] if ck else 1 - wts[2]
                kk = np.minimum(idx[2][ck], n[2] - 1)
                out += wi * wj * wk * array[ii, jj, kk]
    return out


def resample_general(array: np.ndarray, source: Grid, target: Grid, order: int = 1,
                     slab: int = 16, outside: Optional[float] = None) -> np.ndarray:
    """Resample ``array`` (on ``source``) onto any ``target`` grid with ``map_coordinates``
    (``order`` 0 nearest or 1 linear), ``slab`` target k-slices at a time; float32 result.
    Beyond ``source`` the nearest border value is repeated, or ``outside`` when given."""
    a = index_map(source, target)
    ni, nj, nk = target.shape
    out = np.empty(target.shape, dtype=np.float32)
    ii, jj = np.meshgrid(np.arange(ni, dtype=np.float32), np.arange(nj, dtype=np.float32),
                         indexing="ij")
    src = array.astype(np.float32, copy=False)
    for k0 in range(0, nk, slab):
        ks = np.arange(k0, min(k0 + slab, nk), dtype=np.float32)
        coords = [a[r, 0] * ii[..., None] + a[r, 1] * jj[..., None] + a[r, 2] * ks[None, None, :]
                  + a[r, 3] for r in range(3)]
        out[:, :, k0:k0 + len(ks)] = ndimage.map_coordinates(
            src, coords, order=order, mode="nearest" if outside is None else "constant",
            cval=0.0 if outside is None else outside)
    return out


def resample_mask(mask: Mask, target: Grid, order: int = 1) -> Mask:
    """``mask`` on the ``target`` grid: nearest (``order=0``) or linear + threshold 0.5."""
    mask = binary(mask)
    aligned = axis_aligned_scale(mask.grid, target)
    if aligned is not None:
        maps = axis_maps(mask.grid, target)
        if order == 0:
            arr = upsample_nearest(mask.array, maps)
        else:
            arr = (upsample_linear(mask.array, maps) > 0.5).astype(np.uint8)
    else:
        arr = (resample_general(mask.array, mask.grid, target, order=order) > 0.5).astype(np.uint8)
    return Mask(np.ascontiguousarray(arr), target.ijk_to_lps)
