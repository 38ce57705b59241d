"""Segmentation metrics in physical units, honouring the full (possibly sheared) geometry.

* ``dice``: 2|A & B| / (|A| + |B|).
* Surface distances: the surface voxels of a mask are its voxels with a 6-neighbour outside
  (as in the AutoImplant challenge's medpy code); their centres are mapped to world mm with
  the IJK-to-LPS matrix and distances found with a KD-tree, so they are exact on sheared grids
  (where an EDT with per-axis spacing is not). HD95 is the challenge definition: the 95th
  percentile of both directed distance sets pooled. ASSD is their mean.
* ``surface_smoothness``: on the raw iso-surface of the mask (the surface that is meshed for
  printing: VTK flying edges, :func:`~..printing.meshing.iso_surface`), (a) ``roughness_mm``, the
  RMS displacement of the vertices under strong non-shrinking smoothing (VTK windowed sinc,
  pass band 1e-4, 60 iterations), which flattens the terraces of an upsampled coarse grid but
  keeps the skull's shape: the amplitude of the staircase that a print shows as ridges (on
  SkullFix 069: ground truth 0.35 mm, nearest upsampling 0.64 mm, trilinear 0.45 mm); and (b)
  ``staircase_fraction``, the share of surface area whose normal lies within 1 degree of a
  voxel axis (flat terraces; 0.38 for the ground truth, 0.79 for nearest upsampling), as
  :func:`~.fidelity.staircase_index` measures it.
"""
from __future__ import annotations

from typing import Dict, Tuple

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from .._shared.arrays import box, foreground_bounds
from .._shared.errors import VoxelRearrangementError
from ..grids.geometry import Mask, binary, index_to_lps, require_same_grid

_SIX = ndimage.generate_binary_structure(3, 1)
#: Strong non-shrinking smoothing that flattens the terraces of an upsampled coarse grid but
#: keeps the skull's shape (windowed sinc): the roughness is the vertices' RMS displacement.
ROUGHNESS_ITERATIONS = 60
ROUGHNESS_PASS_BAND = 1e-4


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice coefficient of two 0/1 arrays of the same shape (1.0 when both are empty)."""
    a = a.astype(bool, copy=False)
    b = b.astype(bool, copy=False)
    denom = int(np.count_nonzero(a)) + int(np.count_nonzero(b))
    return 1.0 if denom == 0 else 2.0 * np.count_nonzero(a & b) / denom


def surface_voxels(array: np.ndarray) -> np.ndarray:
    """Boolean volume of the voxels of ``array`` that have a 6-neighbour outside it."""
    a = array.astype(bool, copy=False)
    return a & ~ndimage.binary_erosion(a, structure=_SIX, border_value=0)


def directed_surface_distances(a: Mask, b: Mask) -> Tuple[np.ndarray, np.ndarray]:
    """Distances (mm) from each surface voxel of ``a`` to the surface of ``b`` and back."""
    require_same_grid(a.grid, b.grid, "the prediction", "the reference")
    if not a.array.any() or not b.array.any():
        raise VoxelRearrangementError("surface distances need two non-empty masks")
    union = np.logical_or(a.array, b.array)
    region = box(*foreground_bounds(union), margin=(1, 1, 1), shape=union.shape)
    del union
    offset = np.array([s.start for s in region])
    sa = surface_voxels(a.array[region])
    sb = surface_voxels(b.array[region])
    return (_distances_to(sa, sb, offset, a.ijk_to_lps),
            _distances_to(sb, sa, offset, a.ijk_to_lps))


def _distances_to(src: np.ndarray, dst: np.ndarray, offset: np.ndarray,
                  matrix: np.ndarray) -> np.ndarray:
    """Distance (mm) from every voxel of ``src`` to the nearest voxel of ``dst``."""
    shared = src & dst  # coinciding surface voxels are at distance 0
    out = np.zeros(int(np.count_nonzero(src)), dtype=np.float64)
    only = (src & ~dst)[src]
    if only.any():
        tree = cKDTree(index_to_lps(matrix, np.argwhere(dst) + offset))
        pts = index_to_lps(matrix, np.argwhere(src & ~shared) + offset)
        out[only] = tree.query(pts, workers=-1)[0]
    return out


def surface_distance_metrics(prediction: Mask, reference: Mask) -> Dict[str, float]:
    """HD95 (challenge: pooled 95th percentile), ASSD and the maximum (Hausdorff), in mm."""
    d1, d2 = directed_surface_distances(prediction, reference)
    pooled = np.concatenate([d1, d2])
    return {"hd95_mm": float(np.percentile(pooled, 95)), "assd_mm": float(pooled.mean()),
            "hausdorff_mm": float(pooled.max())}


def surface_smoothness(mask: Mask) -> Dict[str, float]:
    """``roughness_mm`` and ``staircase_fraction`` of the mask's raw iso-surface, the surface
    that is meshed and printed (:func:`~..printing.meshing.iso_surface`)."""
    from vtkmodules.util.numpy_support import vtk_to_numpy

    from ..printing.meshing import Mesh, iso_surface, polydata_to_arrays, windowed_sinc
    from .fidelity import staircase_index
    if not mask.array.any():
        raise VoxelRearrangementError("cannot build a surface from an empty mask")
    poly = iso_surface(mask)
    world, faces = polydata_to_arrays(poly)
    smooth = vtk_to_numpy(windowed_sinc(poly, ROUGHNESS_ITERATIONS, ROUGHNESS_PASS_BAND)
                          .GetPoints().GetData()).astype(np.float64)
    roughness = float(np.sqrt(np.mean(np.sum((smooth - world) ** 2, axis=1))))
    return {"roughness_mm": roughness,
            "staircase_fraction": staircase_index(Mesh(world, faces, mask.ijk_to_lps))}


def evaluate(prediction: Mask, reference: Mask, smoothness: bool = True) -> Dict[str, float]:
    """All metrics of ``prediction`` against ``reference`` (same grid)."""
    prediction, reference = binary(prediction, "the prediction"), binary(reference, "the reference")
    require_same_grid(prediction.grid, reference.grid, "the prediction", "the reference")
    out = {"dice": dice(prediction.array, reference.array)}
    out.update(surface_distance_metrics(prediction, reference))
    if smoothness:
        out.update(surface_smoothness(prediction))
    return out
