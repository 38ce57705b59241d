"""The AutoImplant challenge's implant metrics, in millimetres, on any (sheared) grid.

* ``dsc``: Dice of the predicted and true implants.
* ``bdsc``: boundary Dice, the Dice restricted to the band of voxels within ``band_mm``
  (10 mm) of the defective skull, where the implant must fit the defect's rim. Distances are
  world distances (KD-tree on the voxel centres of the defective skull's surface), exact on
  sheared grids.
* ``hd95_mm``: the challenge's 95th-percentile Hausdorff distance of the implant surfaces
  (:func:`~.metrics.surface_distance_metrics`).
"""
from __future__ import annotations

from typing import Dict

import numpy as np
from scipy.spatial import cKDTree

from .._shared.errors import VoxelRearrangementError
from ..grids.geometry import Mask, index_to_lps, require_same_grid
from .metrics import dice, surface_distance_metrics, surface_voxels

#: Width (mm) of the band around the defective skull of the boundary Dice.
BOUNDARY_BAND_MM = 10.0


def boundary_band(defective: Mask, where: np.ndarray, band_mm: float = BOUNDARY_BAND_MM
                  ) -> np.ndarray:
    """Boolean volume: the voxels of ``where`` within ``band_mm`` (world mm) of the defective
    skull. Only ``where`` is measured, so the cost scales with the implant, not the head."""
    idx = np.argwhere(where)
    out = np.zeros(where.shape, dtype=bool)
    if len(idx) == 0:
        return out
    m = defective.ijk_to_lps
    reach = np.ceil(band_mm * np.linalg.norm(np.linalg.inv(m[:3, :3]), axis=1)).astype(int) + 1
    lo = np.maximum(idx.min(axis=0) - reach, 0)
    hi = np.minimum(idx.max(axis=0) + reach + 1, where.shape)
    box = tuple(slice(a, b) for a, b in zip(lo, hi))
    # distance to a solid is the distance to its surface for points outside it
    wall = np.argwhere(surface_voxels(defective.array[box])) + lo
    if len(wall) == 0:
        return out
    dist, _ = cKDTree(index_to_lps(m, wall)).query(index_to_lps(m, idx), workers=-1,
                                                   distance_upper_bound=band_mm * 1.0001)
    near = idx[dist <= band_mm]
    out[tuple(near.T)] = True
    return out


def implant_metrics(prediction: Mask, truth: Mask, defective: Mask,
                    band_mm: float = BOUNDARY_BAND_MM) -> Dict[str, float]:
    """``dsc``, ``bdsc`` and ``hd95_mm`` of a predicted implant against the true one."""
    require_same_grid(prediction.grid, truth.grid, "the predicted implant", "the true implant")
    require_same_grid(defective.grid, truth.grid, "the defective skull", "the true implant")
    if not truth.array.any():
        raise VoxelRearrangementError("the true implant is empty")
    if not prediction.array.any():
        return {"dsc": 0.0, "bdsc": 0.0, "hd95_mm": float("inf")}
    p = prediction.array.astype(bool)
    t = truth.array.astype(bool)
    band = boundary_band(defective, p | t, band_mm)
    return {"dsc": dice(p, t), "bdsc": dice(p & band, t & band),
            "hd95_mm": surface_distance_metrics(prediction, truth)["hd95_mm"]}
