"""The implant: completed skull minus defective skull, cleaned up automatically in 3D.

``completed & ~defective`` holds the implant plus debris: thin slivers where the completed
skull's surface lies a little outside the defective skull's (all around the skull and along
the defect rim) and isolated noise. The clean-up, with no per-case tuning:

1. a morphological opening by a *ball of radius* ``opening_mm`` in world millimetres (the
   structuring element is built from the full IJK-to-LPS matrix, so anisotropic and sheared
   voxels are honoured), which removes every part thinner than about ``2 * opening_mm``;
2. connected pieces (26-connectivity) are kept if they are the largest, or if they touch the
   defective skull (the defect border) and hold at least ``min_component_ml``;
3. nothing that overlaps the defective skull is ever kept.
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
from scipy import ndimage

from .errors import VoxelRearrangementError
from .geometry import Grid, require_same_grid
from .mask_io import Mask
from .progress import CancelCallback, ProgressCallback, Stage

#: Default radius (mm) of the ball used in the opening (tuned on SkullFix 000-059).
DEFAULT_OPENING_MM = 1.0
#: Default smallest volume (mL) of an extra piece kept besides the largest.
DEFAULT_MIN_COMPONENT_ML = 1.0

_FULL = np.ones((3, 3, 3), dtype=bool)


def ball_structure(grid: Grid, radius_mm: float) -> np.ndarray:
    """Boolean structuring element (odd-sized, centred) of the voxel offsets whose world
    length through ``grid``'s matrix is at most ``radius_mm`` (just the centre when the
    radius is below the smallest spacing)."""
    if radius_mm < 0 or not np.isfinite(radius_mm):
        raise VoxelRearrangementError(f"the opening radius must be >= 0 mm, got {radius_mm}")
    lin = grid.ijk_to_lps[:3, :3]
    # reach along each index axis: the ball's extent, |row a of inv(lin)| * radius
    reach = np.floor(radius_mm * np.linalg.norm(np.linalg.inv(lin), axis=1) + 1e-9).astype(int)
    axes = [np.arange(-r, r + 1) for r in reach]
    offsets = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
    length = np.linalg.norm(offsets @ lin.T, axis=-1)
    return length <= radius_mm * (1 + 1e-9)


def raw_implant(complete: Mask, defective: Mask) -> np.ndarray:
    """``complete & ~defective`` as uint8, after checking both share one grid."""
    require_same_grid(complete.grid, defective.grid, "the completed skull", "the defective skull")
    return (complete.array.astype(bool) & ~defective.array.astype(bool)).astype(np.uint8)


def _bbox(array: np.ndarray, margin: np.ndarray) -> Tuple[slice, ...]:
    """Bounding box of the non-zero voxels of ``array``, grown by ``margin`` voxels per axis."""
    box = []
    for a in range(3):
        nz = np.flatnonzero(array.any(axis=tuple(b for b in range(3) if b != a)))
        box.append(slice(max(int(nz[0]) - int(margin[a]), 0),
                         min(int(nz[-1]) + 1 + int(margin[a]), array.shape[a])))
    return tuple(box)


def extract_implant(complete: Mask, defective: Mask, opening_mm: float = DEFAULT_OPENING_MM,
                    min_component_ml: float = DEFAULT_MIN_COMPONENT_ML,
                    progress: Optional[ProgressCallback] = None,
                    cancel: Optional[CancelCallback] = None) -> Mask:
    """The cleaned implant (uint8 0/1 on the defective skull's grid).

    ``opening_mm``: radius (mm) of the ball of the opening (0 disables it); parts thinner than
    about twice this are removed. ``min_component_ml``: besides the largest piece, pieces that
    touch the defective skull are kept when at least this large (mL).
    Raises :class:`VoxelRearrangementError` for masks on different grids and when the implant
    is empty (before or after the clean-up).
    """
    if min_component_ml < 0:
        raise VoxelRearrangementError(f"min_component_ml must be >= 0, got {min_component_ml}")
    stage = Stage(progress, cancel)
    stage.report(0.0, "subtracting the defective skull")
    raw = raw_implant(complete, defective)
    if not raw.any():
        raise VoxelRearrangementError(
            "the implant is empty: the completed skull adds nothing to the defective skull "
            "(are the two files swapped, or is the completed skull the defective one?)")
    ball = ball_structure(complete.grid, opening_mm)
    box = _bbox(raw, np.array(ball.shape) // 2 + 2)
    part = raw[box].astype(bool)
    wall = defective.array[box].astype(bool)
    del raw
    if ball.sum() > 1:
        stage.report(0.2, f"opening with a ball of {opening_mm:g} mm")
        part = ndimage.binary_opening(part, structure=ball)
    stage.report(0.7, "selecting the pieces of the implant")
    part = _keep_pieces(part, wall, complete.grid.voxel_volume_mm3, min_component_ml)
    part &= ~wall  # never a voxel of the defective skull
    if not part.any():
        raise VoxelRearrangementError(
            f"the clean-up removed the whole implant (opening of {opening_mm:g} mm): "
            "use a smaller --opening-mm")
    out = np.zeros(defective.array.shape, dtype=np.uint8)
    out[box] = part
    stage.report(1.0, "implant extracted")
    return Mask(out, np.array(defective.ijk_to_lps, dtype=np.float64))


def _keep_pieces(part: np.ndarray, wall: np.ndarray, voxel_mm3: float,
                 min_component_ml: float) -> np.ndarray:
    """The largest 26-connected piece of ``part`` plus pieces touching ``wall`` that hold at
    least ``min_component_ml``."""
    labels, n = ndimage.label(part, structure=_FULL)
    if n <= 1:
        return part
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    sizes[0] = 0
    touching = np.zeros(n + 1, dtype=bool)
    touching[np.unique(labels[ndimage.binary_dilation(wall, structure=_FULL) & part])] = True
    keep = touching & (sizes * voxel_mm3 / 1000.0 >= min_component_ml)
    keep[np.argmax(sizes)] = True
    keep[0] = False
    return keep[labels]
