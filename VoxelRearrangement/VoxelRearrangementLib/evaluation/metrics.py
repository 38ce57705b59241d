"""Segmentation metrics in physical units, honouring the full (possibly sheared) geometry.

* ``dice``: 2|A & B| / (|A| + |B|).
* Surface distances: the surface voxels of a mask are its voxels with a 6-neighbour outside
  (as in the AutoImplant challenge's medpy code); the distance between two voxel centres is
  the world length (mm) of their index step through the IJK-to-LPS matrix, so distances are
  exact on sheared grids (where an EDT with per-axis spacing is not). Each surface voxel's
  nearest voxel of the other surface is first looked for among the index steps of a small
  window, shortest first (compiled; a hit is the nearest when no step outside the window can
  be shorter); the few voxels farther than that from the other surface go to a KD-tree of its
  world points. HD95 is the challenge definition: the 95th percentile of both directed
  distance sets pooled. ASSD is their mean.
* ``surface_smoothness``: on the raw iso-surface of the mask (the surface that is meshed for
  printing: VTK flying edges, :func:`~..printing.meshing.iso_surface`), (a) ``roughness_mm``, the
  RMS displacement of the vertices under strong non-shrinking smoothing (windowed sinc,
  :mod:`~..printing.smoothing`, pass band 1e-4, 60 iterations), which flattens the terraces
  of an upsampled coarse grid but keeps the skull's shape: the amplitude of the staircase
  that a print shows as ridges (on SkullFix 069: ground truth 0.35 mm, nearest upsampling
  0.64 mm, trilinear 0.45 mm); and (b)
  ``staircase_fraction``, the share of surface area whose normal lies within 1 degree of a
  voxel axis (flat terraces; 0.38 for the ground truth, 0.79 for nearest upsampling), as
  :func:`~.fidelity.staircase_index` measures it.
"""
from __future__ import annotations

from typing import Callable, Dict, Tuple, Union

import numpy as np
from numba import njit
from scipy.spatial import cKDTree

from .._shared.arrays import box, foreground_bounds
from .._shared.errors import VoxelRearrangementError
from ..grids.geometry import Mask, binary, index_to_lps, require_same_grid

#: Strong non-shrinking smoothing that flattens the terraces of an upsampled coarse grid but
#: keeps the skull's shape (windowed sinc): the roughness is the vertices' RMS displacement.
ROUGHNESS_ITERATIONS = 60
ROUGHNESS_PASS_BAND = 1e-4
#: Half-width (voxels) of the window of index steps searched before the KD-tree.
SEARCH_WINDOW = 4


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice coefficient of two 0/1 arrays of the same shape (1.0 when both are empty)."""
    a, b = (x.view(bool) if x.dtype == np.uint8 else x.astype(bool, copy=False) for x in (a, b))
    denom = int(np.count_nonzero(a)) + int(np.count_nonzero(b))
    return 1.0 if denom == 0 else 2.0 * np.count_nonzero(a & b) / denom


def surface_voxels(array: np.ndarray) -> np.ndarray:
    """Boolean volume of the voxels of ``array`` that have a 6-neighbour outside it (or the
    volume's border)."""
    return _surface(np.ascontiguousarray(array).view(np.uint8) if array.dtype == bool
                    else np.ascontiguousarray(array, dtype=np.uint8)).view(bool)


@njit(cache=True, nogil=True)
def _surface(a):
    n0, n1, n2 = a.shape
    out = np.zeros_like(a)
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                if a[i, j, k] and (i == 0 or j == 0 or k == 0 or i == n0 - 1 or j == n1 - 1
                                   or k == n2 - 1 or not a[i - 1, j, k] or not a[i + 1, j, k]
                                   or not a[i, j - 1, k] or not a[i, j + 1, k]
                                   or not a[i, j, k - 1] or not a[i, j, k + 1]):
                    out[i, j, k] = 1
    return out


class _Crop:
    """Both masks (uint8 0/1, same grid) cropped to the bounding box of their union plus one
    voxel, C-ordered: every metric reads only there. ``offset`` is the box's first index."""

    def __init__(self, a: Mask, b: Mask):
        require_same_grid(a.grid, b.grid, "the prediction", "the reference")
        bounds = [foreground_bounds(m.array) for m in (a, b)]
        if any(x is None for x in bounds):
            raise VoxelRearrangementError("surface distances need two non-empty masks")
        lo = np.minimum(bounds[0][0], bounds[1][0])
        hi = np.maximum(bounds[0][1], bounds[1][1])
        region = box(lo, hi, margin=(1, 1, 1), shape=a.array.shape)
        self.a = np.ascontiguousarray(a.array[region])
        self.b = np.ascontiguousarray(b.array[region])
        self.offset = np.array([s.start for s in region])
        self.matrix = a.ijk_to_lps

    def directed_distances(self) -> Tuple[np.ndarray, np.ndarray]:
        """Distances (mm) from each surface voxel of ``a`` to the surface of ``b`` and back."""
        sa, sb = surface_voxels(self.a), surface_voxels(self.b)
        ia, ib = np.flatnonzero(sa), np.flatnonzero(sb)  # each surface found once
        steps, lengths, reach = window_steps(self.matrix, SEARCH_WINDOW)
        return (self._distances(ia, sb, ib, steps, lengths, reach),
                self._distances(ib, sa, ia, steps, lengths, reach))

    def _distances(self, src: np.ndarray, dst_surface: np.ndarray, dst: np.ndarray,
                   steps: np.ndarray, lengths: np.ndarray, reach: float) -> np.ndarray:
        """Distance (mm) from the crop's voxels at C-order flat indices ``src`` to the nearest
        voxel of ``dst_surface`` (bool volume, whose voxels are at the flat indices ``dst``)."""
        out = _window_distances(src, dst_surface, steps, lengths)
        far = np.flatnonzero(out < 0)
        if far.size:
            tree = cKDTree(self._world(dst), balanced_tree=False, compact_nodes=False)
            out[far] = tree.query(self._world(src[far]), workers=-1)[0]
        return out

    def _world(self, flat: np.ndarray) -> np.ndarray:
        """World LPS (mm, N x 3) of the crop's voxels at C-order flat indices ``flat``."""
        ijk = np.stack(np.unravel_index(flat, self.a.shape), axis=1) + self.offset
        return index_to_lps(self.matrix, ijk)


def window_steps(ijk_to_lps: np.ndarray, half_width: int) -> Tuple[np.ndarray, np.ndarray, float]:
    """``(steps, lengths, reach)``: the index steps (int64, N x 3) of the window
    ``[-half_width, half_width]^3`` whose world length (mm, through the matrix's linear part)
    is below ``reach``, shortest first, and their lengths. Every step outside the window is at
    least ``reach`` long: it has an index component of at least ``half_width + 1``, so its
    length is at least that times the matrix's smallest singular value."""
    lin = np.asarray(ijk_to_lps, dtype=np.float64)[:3, :3]
    r = np.arange(-half_width, half_width + 1)
    steps = np.stack(np.meshgrid(r, r, r, indexing="ij"), axis=-1).reshape(-1, 3)
    lengths = np.sqrt(((steps @ lin.T) ** 2).sum(axis=1))
    reach = float((half_width + 1) * np.linalg.svd(lin, compute_uv=False).min())
    keep = np.flatnonzero(lengths < reach)
    order = keep[np.argsort(lengths[keep], kind="stable")]
    return np.ascontiguousarray(steps[order]), np.ascontiguousarray(lengths[order]), reach


@njit(cache=True, nogil=True)
def _window_distances(src, dst_surface, steps, lengths):
    """Per C-order flat index of ``src``: the length of the shortest of ``steps`` (sorted by
    ``lengths``) that reaches a voxel of ``dst_surface``, or -1 when none does."""
    n0, n1, n2 = dst_surface.shape
    out = np.empty(src.size, dtype=np.float64)
    for p in range(src.size):
        f = src[p]
        i, j, k = f // (n1 * n2), (f // n2) % n1, f % n2
        out[p] = -1.0
        for s in range(steps.shape[0]):
            x, y, z = i + steps[s, 0], j + steps[s, 1], k + steps[s, 2]
            if 0 <= x < n0 and 0 <= y < n1 and 0 <= z < n2 and dst_surface[x, y, z]:
                out[p] = lengths[s]
                break
    return out


def directed_surface_distances(a: Mask, b: Mask) -> Tuple[np.ndarray, np.ndarray]:
    """Distances (mm) from each surface voxel of ``a`` to the surface of ``b`` and back."""
    return _Crop(a, b).directed_distances()


def _distance_summary(d1: np.ndarray, d2: np.ndarray) -> Dict[str, float]:
    pooled = np.concatenate([d1, d2])
    return {"hd95_mm": float(np.percentile(pooled, 95)), "assd_mm": float(pooled.mean()),
            "hausdorff_mm": float(pooled.max())}


def surface_distance_metrics(prediction: Mask, reference: Mask) -> Dict[str, float]:
    """HD95 (challenge: pooled 95th percentile), ASSD and the maximum (Hausdorff), in mm."""
    return _distance_summary(*directed_surface_distances(prediction, reference))


def surface_smoothness(mask: Mask) -> Dict[str, float]:
    """``roughness_mm`` and ``staircase_fraction`` of the mask's raw iso-surface, the surface
    that is meshed and printed (:func:`~..printing.meshing.iso_surface`)."""
    from ..printing.meshing import Mesh, iso_surface, polydata_to_arrays
    from ..printing.smoothing import windowed_sinc
    from .fidelity import staircase_index
    if not mask.array.any():
        raise VoxelRearrangementError("cannot build a surface from an empty mask")
    world, faces = polydata_to_arrays(iso_surface(mask))
    smooth = windowed_sinc(world, faces, ROUGHNESS_ITERATIONS, ROUGHNESS_PASS_BAND)
    roughness = float(np.sqrt(np.mean(np.sum((smooth - world) ** 2, axis=1))))
    return {"roughness_mm": roughness,
            "staircase_fraction": staircase_index(Mesh(world, faces, mask.ijk_to_lps))}


def evaluate(prediction: Mask, reference: Union[Mask, Callable[[], Mask]],
             smoothness: bool = True) -> Dict[str, float]:
    """All metrics of ``prediction`` against ``reference`` (same grid). ``reference`` may be a
    function that returns it: it is called once the smoothness of ``prediction`` is under way
    (e.g. to read the reference's file meanwhile)."""
    prediction = binary(prediction, "the prediction")
    smooth = None
    if smoothness:  # the mesh smoothing (compiled, GIL released) runs beside the distances
        from concurrent.futures import ThreadPoolExecutor
        pool = ThreadPoolExecutor(max_workers=1)
        smooth = pool.submit(surface_smoothness, prediction)
    try:
        reference = binary(reference if isinstance(reference, Mask) else reference(),
                           "the reference")
        require_same_grid(prediction.grid, reference.grid, "the prediction", "the reference")
        crop = _Crop(prediction, reference)
        out = {"dice": dice(crop.a, crop.b)}
        out.update(_distance_summary(*crop.directed_distances()))
    finally:
        if smooth is not None:
            pool.shutdown(wait=True)
    if smooth is not None:
        out.update(smooth.result())
    return out
