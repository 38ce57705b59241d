"""Fitting the implant into the defect: a gap at the rim and a minimum edge thickness.

After :func:`~.implant.extract_implant` the implant touches the defective skull along the
defect's rim and thins out there to nothing (a feathered edge). For printing and seating it:

1. *gap* (``clearance_mm``): every implant voxel closer to the defective bone than the gap is
   cut away, so that the implant's surface stays at least ``clearance_mm`` from the bone's
   all along the rim. Distances are world millimetres between voxel centres (exact on
   sheared grids); a voxel is kept when its centre is at least ``clearance_mm`` plus the
   grid's largest spacing from every bone voxel centre, because each 0.5 iso-surface lies
   up to half a voxel from its centres.
2. *edge* (``min_edge_mm``): every part of the implant thinner than ``min_edge_mm`` is then
   trimmed away (an opening by a ball of that diameter) and the pieces are selected again.
   Trimmed, not thickened: thickening would push the edge out of the skull's contour (a
   palpable step outside, or into the dura inside), while trimming only widens the gap
   where the edge was too thin to print or to handle.
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
from scipy import ndimage

from .._shared.arrays import foreground_bounds
from .._shared.bounds import check
from .._shared.errors import VoxelRearrangementError
from .._shared.progress import CancelCallback, ProgressCallback, Stage
from ..grids.geometry import Grid, Mask, binary, require_same_grid
from .implant import DEFAULT_MIN_COMPONENT_ML, Sparse, ball_structure, keep_pieces

#: Default gap (mm) between the implant's rim and the defective bone, surface to surface:
#: about a millimetre all round is the allowance commonly designed into patient-specific
#: cranial implants so they seat without force (it absorbs printing tolerance and the
#: irregular bone edge). 0 gives an implant that touches the bone.
DEFAULT_CLEARANCE_MM = 1.0
#: Default thinnest edge (mm) left at the implant's rim: thinner feathered edges break when
#: printed or handled (a few nozzle or laser tracks).
DEFAULT_MIN_EDGE_MM = 1.5


def fit_implant(implant: Mask, defective: Mask, clearance_mm: float = DEFAULT_CLEARANCE_MM,
                min_edge_mm: float = DEFAULT_MIN_EDGE_MM,
                min_component_ml: float = DEFAULT_MIN_COMPONENT_ML,
                progress: Optional[ProgressCallback] = None,
                cancel: Optional[CancelCallback] = None) -> Mask:
    """The implant with a gap of ``clearance_mm`` to ``defective`` and its edge trimmed to
    ``min_edge_mm`` (both in mm; 0 disables either), on the same grid (see the module
    docstring). Pieces are selected as in :func:`~.implant.extract_implant`."""
    return fit_and_seat(implant, defective, clearance_mm, min_edge_mm, min_component_ml,
                        progress, cancel)[0]


def fit_and_seat(implant: Mask, defective: Mask, clearance_mm: float = DEFAULT_CLEARANCE_MM,
                 min_edge_mm: float = DEFAULT_MIN_EDGE_MM,
                 min_component_ml: float = DEFAULT_MIN_COMPONENT_ML,
                 progress: Optional[ProgressCallback] = None,
                 cancel: Optional[CancelCallback] = None) -> Tuple[Mask, Mask]:
    """``(fitted, seated)``: :func:`fit_implant`'s implant, and the same plus the gap at its
    rim, i.e. the voxels of ``implant`` within ``clearance_mm`` of ``defective``: what closes
    the defect once the implant is seated, for measuring closure. The gap is meant to be
    open; pieces and thin parts the fit trimmed away are not, and stay open in ``seated``."""
    clearance_mm = check("clearance_mm", clearance_mm)
    min_edge_mm = check("min_edge_mm", min_edge_mm)
    min_component_ml = check("min_component_ml", min_component_ml)
    implant = binary(implant, "the implant")
    defective = binary(defective, "the defective skull")
    require_same_grid(implant.grid, defective.grid, "the implant", "the defective skull")
    if clearance_mm == 0 and min_edge_mm == 0:
        return implant, implant
    stage = Stage(progress, cancel)
    stage.report(0.0, f"fitting the implant: {clearance_mm:g} mm gap, edge of at least {min_edge_mm:g} mm")
    box, grid = _box(implant, clearance_mm)
    part = np.ascontiguousarray(implant.array[box] != 0)
    wall = np.ascontiguousarray(defective.array[box] != 0)
    designed = part.copy()
    gap = tuple(_gap_voxels(part, wall, grid, clearance_mm).T)
    part[gap] = False
    stage.check_cancel()
    ball = ball_structure(grid, min_edge_mm / 2.0)
    sparse = Sparse(part.shape, np.array(ball.shape) // 2 + 1)
    flat = sparse.flat(np.argwhere(part))
    if ball.sum() > 1:
        flat = sparse.open(flat, ball)
    # the pieces that touched the bone before the gap and the trim touch what they cut away
    opened = np.zeros(part.shape, dtype=bool)
    opened[tuple(sparse.coords(flat).T)] = True
    contact = wall | (designed & ~opened)
    flat = keep_pieces(sparse, flat, contact, grid.voxel_volume_mm3, min_component_ml)
    if len(flat) == 0:
        raise VoxelRearrangementError(
            f"fitting removed the whole implant ({clearance_mm:g} mm gap, edge of at least "
            f"{min_edge_mm:g} mm): use a smaller --clearance-mm or --min-edge-mm")
    out = np.zeros(implant.array.shape, dtype=np.uint8)
    fitted = np.zeros(part.shape, dtype=np.uint8)
    fitted[tuple(sparse.coords(flat).T)] = 1
    out[box] = fitted & ~wall
    seated = out.copy()
    seated[box][gap] = 1
    stage.report(1.0, "implant fitted")
    return Mask(out, implant.ijk_to_lps), Mask(seated, implant.ijk_to_lps)


def _gap_voxels(part: np.ndarray, wall: np.ndarray, grid: Grid, clearance_mm: float) -> np.ndarray:
    """(n, 3) indices of the voxels of ``part`` that the gap of ``clearance_mm`` cuts away:
    centres nearer ``wall``'s than the gap plus the largest spacing (module docstring)."""
    if clearance_mm == 0:
        return np.zeros((0, 3), dtype=np.int64)
    reach = clearance_mm + float(grid.spacing.max())
    return np.argwhere(part)[wall_distances(part, wall, grid, reach) < reach]


def rim_gap_mm(implant: Mask, defective: Mask, reach_mm: float = 5.0) -> float:
    """The smallest gap (mm) between the implant's and the defective skull's surfaces, from
    voxel centres (the centre distance minus the largest spacing, at least 0); ``reach_mm``
    when they are farther apart than that everywhere."""
    implant = binary(implant, "the implant")
    box, grid = _box(implant, reach_mm)
    part = np.ascontiguousarray(implant.array[box] != 0)
    wall = np.ascontiguousarray(defective.array[box] != 0)
    spacing = float(grid.spacing.max())
    if not part.any():
        return reach_mm
    # the nearest pair is searched within a growing distance (short searches are fast): the
    # first distance within which any pair lies holds the nearest one
    limit = reach_mm + spacing
    bound = min(4 * spacing, limit)
    nearest = wall_distances(part, wall, grid, bound).min()
    while not np.isfinite(nearest) and bound < limit:
        bound = min(2 * bound, limit)
        nearest = wall_distances(part, wall, grid, bound).min()
    return float(min(max(nearest - spacing, 0.0), reach_mm))


def wall_distances(part: np.ndarray, wall: np.ndarray, grid: Grid, reach_mm: float) -> np.ndarray:
    """World distance (mm) from every voxel of ``part`` (in ``np.argwhere`` order) to the
    nearest voxel centre of ``wall`` (same grid), or inf beyond ``reach_mm``."""
    from scipy.spatial import cKDTree
    lin, origin = grid.ijk_to_lps[:3, :3], grid.ijk_to_lps[:3, 3]
    voxels = np.argwhere(part)
    distance = np.full(len(voxels), np.inf)
    # a wall voxel within reach of a part voxel lies in the box of ``band`` voxels around it
    # (and the other way round): only such pairs are measured
    band = tuple(2 * (np.ceil(reach_mm * np.linalg.norm(np.linalg.inv(lin), axis=1)).astype(int) + 1) + 1)
    near_wall = ndimage.maximum_filter(part, size=band) & wall
    if not near_wall.any():
        return distance
    near_part = ndimage.maximum_filter(wall, size=band)[part]
    tree = cKDTree(np.argwhere(near_wall) @ lin.T + origin)
    distance[near_part] = tree.query(voxels[near_part] @ lin.T + origin,
                                     distance_upper_bound=reach_mm)[0]
    return distance


def _box(implant: Mask, reach_mm: float):
    """The implant's bounding box widened by ``reach_mm`` plus two voxels, and its sub-grid."""
    bounds = foreground_bounds(implant.array)
    if bounds is None:
        raise VoxelRearrangementError("the implant is empty")
    lin = implant.ijk_to_lps[:3, :3]
    margin = np.ceil((reach_mm + implant.grid.spacing.max()) *
                     np.linalg.norm(np.linalg.inv(lin), axis=1)).astype(int) + 2
    lo = np.maximum(bounds[0] - margin, 0)
    hi = np.minimum(bounds[1] + margin, implant.array.shape)
    matrix = np.array(implant.ijk_to_lps, dtype=np.float64)
    matrix[:3, 3] = lin @ lo + matrix[:3, 3]
    return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi)), Grid(tuple(hi - lo), matrix)
