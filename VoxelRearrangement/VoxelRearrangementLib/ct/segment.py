"""The skull from a head CT, in the form the completion network was trained on (SkullFix).

1. *Bone*: voxels of at least ``bone_hu`` Hounsfield units (default
   :data:`DEFAULT_BONE_HU`, 300 HU: the bone threshold of 3D Slicer's CT skull recipes;
   cancellous bone is about 300-400 HU and cortical bone over 1000, soft tissue below 100).
2. *The skull alone*: one face-connected piece of bone: of the pieces holding at least
   :data:`CANDIDATE_SHARE` of the largest one's voxels, the one most spread out along its
   thinnest principal direction (world mm, so a plate tilted in the grid stays thin). A skull is bulky (well over 100 mm along every axis), while a CT
   table or head rest, which can hold as many voxels above the threshold, is a plate: sorting
   by size alone picked the table of one synthetic CT in ten. Loose bone fragments, the
   mandible and the cervical spine (joined to the skull only across joint spaces, below the
   threshold) are separate pieces; all the others are dropped and the report lists them.
3. *Down to the skull base*: SkullFix skulls stop about 150 mm below the vertex (measured on
   the training skulls 000-059: median 151 mm, 131-214 mm), their grids a few millimetres
   beyond the bone. Bone lower than ``skull_height_mm`` below the highest bone voxel is
   dropped (a horizontal cut in world coordinates, also on tilted grids) and the grid is
   cropped along the index axis closest to the patient's superior direction to what is left
   (and 5 mm above it), so the network sees a volume of the extent it was trained on,
   whatever the scan's field of view; the largest piece is taken again inside the crop.

The result is a :class:`~..grids.geometry.Mask` on a sub-grid of the CT (same voxels, the
cropped index range), so it overlays the CT exactly.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np
from scipy import ndimage

from .._shared.bounds import check
from .._shared.errors import VoxelRearrangementError
from .._shared.progress import CancelCallback, ProgressCallback, Stage
from ..grids.geometry import Image, Mask

#: Default bone threshold (HU).
DEFAULT_BONE_HU = 300.0
#: Default height (mm) kept below the vertex: about that of the SkullFix training skulls.
DEFAULT_SKULL_HEIGHT_MM = 150.0
#: Grid margin (mm) kept above the vertex (SkullFix grids end a few mm beyond the bone).
MARGIN_MM = 5.0
#: The dropped pieces listed by volume in the report (the rest are counted).
LISTED_PIECES = 5
#: Pieces with at least this share of the largest piece's voxels may be the skull.
CANDIDATE_SHARE = 0.2
#: Every n-th voxel of a piece enters its principal spread.
SPREAD_SAMPLE = 7


@dataclass
class CtSkull:
    """The skull segmented from a CT, and what was done (``report``: JSON-ready)."""

    skull: Mask
    report: dict = field(default_factory=dict)


def skull_from_ct(ct: Image, bone_hu: float = DEFAULT_BONE_HU,
                  skull_height_mm: float = DEFAULT_SKULL_HEIGHT_MM,
                  progress: Optional[ProgressCallback] = None,
                  cancel: Optional[CancelCallback] = None) -> CtSkull:
    """Segment the skull of ``ct`` (values in HU; see the module docstring)."""
    bone_hu = check("bone_hu", bone_hu)
    skull_height_mm = check("skull_height_mm", skull_height_mm)
    stage = Stage(progress, cancel)
    values = ct.array
    low, high = float(np.min(values)), float(np.max(values))
    if high < bone_hu:
        raise VoxelRearrangementError(
            f"no voxel of the CT reaches the bone threshold of {bone_hu:g} HU (its values run "
            f"from {low:g} to {high:g}): is it a CT in Hounsfield units? (--bone-hu sets the threshold)")
    if low > -200:
        raise VoxelRearrangementError(
            f"the CT's lowest value is {low:g}: a head CT in Hounsfield units has air at about "
            "-1000 HU (is this a mask, or a CT stored without its rescale?)")
    stage.report(0.0, f"thresholding the bone at {bone_hu:g} HU")
    bone = values >= bone_hu
    stage.report(0.3, "keeping the skull (the largest piece of bone)")
    skull, dropped = _skull_piece(bone, ct.ijk_to_lps)
    stage.check_cancel()
    kept, axis, box = _crop(skull, ct.ijk_to_lps, skull_height_mm)
    cropped = kept[box]
    if cropped.sum() != skull.sum():
        stage.report(0.7, f"cropping {skull_height_mm:g} mm below the vertex")
        cropped, more = _skull_piece(cropped, ct.ijk_to_lps)
        dropped += more
    matrix = np.array(ct.ijk_to_lps, dtype=np.float64)
    start = np.array([s.start for s in box], dtype=np.float64)
    matrix[:3, 3] = matrix[:3, :3] @ start + matrix[:3, 3]
    mask = Mask(np.ascontiguousarray(cropped, dtype=np.uint8), matrix)
    voxel_ml = mask.grid.voxel_volume_mm3 / 1000.0
    dropped_ml = sorted((n * voxel_ml for n in dropped), reverse=True)
    report = {
        "bone_hu": bone_hu, "skull_height_mm": skull_height_mm,
        "ct_shape": list(values.shape), "ct_range_hu": [low, high],
        "crop_axis": "ijk"[axis], "crop_index_range": [int(box[axis].start), int(box[axis].stop)],
        "skull_shape": list(mask.array.shape), "skull_ml": round(mask.volume_ml, 1),
        "dropped_pieces": len(dropped), "dropped_ml": round(float(sum(dropped_ml)), 1),
        "largest_dropped_ml": [round(v, 1) for v in dropped_ml[:LISTED_PIECES]],
    }
    stage.report(1.0, f"skull segmented: {mask.volume_ml:.0f} mL")
    return CtSkull(mask, report)


def _skull_piece(bone: np.ndarray, matrix: np.ndarray):
    """The piece of ``bone`` that is the skull (see the module docstring) and the voxel counts
    of the others."""
    labels, n = ndimage.label(bone)
    if n == 0:
        raise VoxelRearrangementError("no bone left to make a skull of")
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    sizes[0] = 0
    candidates = np.flatnonzero(sizes >= CANDIDATE_SHARE * sizes.max())
    keep = int(candidates[int(np.argmax([_thinnest_spread_mm(labels, c, matrix) for c in candidates]))])
    others: List[int] = [int(s) for i, s in enumerate(sizes) if i not in (0, keep) and s > 0]
    return labels == keep, others


def _thinnest_spread_mm(labels: np.ndarray, label: int, matrix: np.ndarray) -> float:
    """The spread (mm, standard deviation) of piece ``label`` along its thinnest principal
    direction in world coordinates: large for a skull, near zero for a plate whatever its
    orientation in the grid (index-axis extents grow for a plate tilted in the grid)."""
    ijk = np.argwhere(labels == label)[::SPREAD_SAMPLE]
    world = ijk @ matrix[:3, :3].T
    if len(world) < 4:
        return 0.0
    return float(np.sqrt(max(np.linalg.eigvalsh(np.cov(world.T))[0], 0.0)))


def _crop(skull: np.ndarray, matrix: np.ndarray, height_mm: float):
    """``skull`` without its bone lower than ``height_mm`` below its highest voxel (world
    superior coordinates: a horizontal cut, also on a tilted grid), the index axis closest to
    superior, and the box of that axis's range that holds the rest (plus :data:`MARGIN_MM`
    above it)."""
    lin, origin = matrix[:3, :3], matrix[:3, 3]
    superior = lin[2] / np.linalg.norm(lin, axis=0)  # cosine of each index axis with S
    axis = int(np.argmax(np.abs(superior)))
    # S of the voxel centres, slab by slab along i: s_i * i + (the same plane for every slab)
    plane = (lin[2, 1] * np.arange(skull.shape[1])[:, None]
             + lin[2, 2] * np.arange(skull.shape[2])[None, :] + origin[2]).astype(np.float32)
    slabs = [i for i in range(skull.shape[0]) if skull[i].any()]
    top = max(float(plane[skull[i]].max()) + lin[2, 0] * i for i in slabs)
    kept = np.zeros_like(skull)
    for i in slabs:
        kept[i] = skull[i] & (plane + np.float32(lin[2, 0] * i) >= top - height_mm)
    step_mm = float(lin[2, axis])  # mm of S per index along that axis (signed)
    layers = np.flatnonzero(kept.any(axis=tuple(a for a in range(3) if a != axis)))
    above = int(np.ceil(MARGIN_MM / abs(step_mm)))
    lo, hi = int(layers[0]), int(layers[-1]) + 1
    lo, hi = (lo, min(hi + above, skull.shape[axis])) if step_mm > 0 else (max(lo - above, 0), hi)
    box = [slice(0, n) for n in skull.shape]
    box[axis] = slice(lo, hi)
    return kept, axis, tuple(box)