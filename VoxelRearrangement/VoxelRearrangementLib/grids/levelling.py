"""The scan's cut levelled, and the head straightened, for the completion network: a head
tilted or turned in its volume.

SkullFix skulls (the completion network's training data) are cut by the scan's bottom slice:
in the canonical view (:mod:`.orientation`) the cut is a k-slice of the volume, tilted 0.0
degrees in every one of SkullFix 000-079, the 50 skulls of skullfix-test and the SkullBreak
file. A head scanned tilted forwards or backwards (or to a side) shows an oblique cut instead,
often by 20-30 degrees; on the hold-out skulls 050-059 turned by 20-30 degrees the challenge
implants lost 0.016-0.038 DSC (levelled: 0.008-0.023 of it back; README, "A head scanned
tilted").

The cut is the largest planar face of the skull's convex hull that faces down: a hull is
curved everywhere else (vault, face), so its facets within a few degrees of one plane add up
to the cut's area (SkullFix: 5,100-19,100 mm2 on the coarse grid). :func:`levelling` finds it
on the coarse skull (index axes scaled by their spacing: the frame the network sees, shear
ignored) and, when it is tilted by more than :data:`LEVEL_TOLERANCE_DEG`, gives the coarse grid
on which the skull sits level and is framed as the median SkullFix skull
(:data:`.framing.MEDIAN_SPAN`): the network sees the skull there, and the bone it adds is
brought back to the input's coarse grid (:meth:`Levelling.to_network`,
:meth:`Levelling.from_network`: linear interpolation of the coarse values, as the training's
rotations were made; sampling a downsampling twice as fine instead gave the same implants
and took 1.5 s more).

A head turned about the vertical (the cut stays level) turns the mid-sagittal plane away from
the grid's, about which the network reads the skull's mirror image: turned 20 degrees, the
hold-out implants lost up to 0.05 DSC (lateral defects). The plane is found by symmetry
(:mod:`.symmetry`, in the levelled frame) and, when turned by :data:`YAW_TOLERANCE_DEG` or
more, the grid is turned about the vertical as well. The tolerance lies
above the turns of SkullFix's own heads (at most 11 degrees in 000-079 and in 49 of
skullfix-test's 50; the training turned them by up to 10 more): straightening those changed
the hold-out implants by -0.003 DSC (the interpolation costs what the mirror gains).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError

from .framing import MEDIAN_LOW_MARGIN, MEDIAN_SPAN
from .geometry import Grid, Mask
from .resample import resample_general
from .symmetry import mid_sagittal_yaw

#: Tilts of the cut (degrees) below this are left alone (SkullFix: 0.0).
LEVEL_TOLERANCE_DEG = 3.0
#: Turns of the head about the vertical (degrees) below this are left alone (SkullFix: 11 at
#: most; see the module).
YAW_TOLERANCE_DEG = 12.0
#: A planar face tilted more than this from the canonical inferior direction is not taken for
#: the scan's cut (the training's augmentation turned heads by up to 25 degrees).
MAX_TILT_DEG = 45.0
#: Hull facets whose normals lie within this angle of each other form one plane.
PLANE_TOLERANCE_DEG = 4.0
#: Smallest area (mm2) of a planar face taken for the cut (SkullFix: 5,100 and more).
MIN_CUT_AREA_MM2 = 2500.0


@dataclass(frozen=True)
class Levelling:
    """The network's coarse grid for a tilted or turned skull: ``grid`` (the input's coarse
    shape, in the world, the cut level along its k slices and the mid-sagittal plane along its
    j-k planes), ``tilt_deg`` (the cut's tilt levelled; 0 when it was level) and ``yaw_deg``
    (the turn about the vertical straightened, positive when the face was turned to the
    patient's left; 0 when below :data:`YAW_TOLERANCE_DEG`)."""

    grid: Grid
    tilt_deg: float
    yaw_deg: float = 0.0

    def to_network(self, values: np.ndarray, source: Grid) -> np.ndarray:
        """``values`` (i, j, k on ``source``) sampled on the network's :attr:`grid` (linear; 0
        beyond ``source``), float32."""
        return resample_general(values, source, self.grid, order=1, outside=0.0)

    def from_network(self, values: np.ndarray, target: Grid) -> np.ndarray:
        """``values`` of the network's :attr:`grid` sampled on ``target`` (linear; 0 beyond
        :attr:`grid`), float32."""
        return resample_general(values, self.grid, target, order=1, outside=0.0)


def cut_plane(points_mm: np.ndarray) -> Optional[Tuple[np.ndarray, float]]:
    """``(normal, area_mm2)`` of the largest planar face of the convex hull of ``points_mm``
    (n x 3, canonical axes: i left, j posterior, k superior) whose outward normal lies within
    :data:`MAX_TILT_DEG` of inferior (-k), or None when there is none of
    :data:`MIN_CUT_AREA_MM2`. The normal is the area-weighted mean of the face's facets."""
    try:
        hull = ConvexHull(points_mm)
    except (QhullError, ValueError):  # flat or too few points: no hull, no cut
        return None
    normals = hull.equations[:, :3]
    a, b, c = (points_mm[hull.simplices[:, m]] for m in range(3))
    area = 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)
    down = normals[:, 2] < -np.cos(np.radians(MAX_TILT_DEG))
    if not down.any():
        return None
    together = normals[down] @ normals.T > np.cos(np.radians(PLANE_TOLERANCE_DEG))
    planar = together @ area  # area of the facets within the tolerance of each candidate
    best = int(np.argmax(planar))
    if planar[best] < MIN_CUT_AREA_MM2:
        return None
    face = together[best]
    normal = (normals[face] * area[face, None]).sum(axis=0)
    return normal / np.linalg.norm(normal), float(planar[best])


def _rotation_onto(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest rotation (3 x 3) that turns unit vector ``a`` onto unit vector ``b``."""
    axis = np.cross(a, b)
    s, c = np.linalg.norm(axis), float(a @ b)
    if s < 1e-12:
        return np.eye(3)
    k = axis / s
    cross = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + s * cross + (1 - c) * cross @ cross


def levelling(coarse: Mask) -> Optional[Levelling]:
    """The levelled coarse grid for the skull of ``coarse`` (its challenge coarse mask in the
    canonical view), or None when its cut is within :data:`LEVEL_TOLERANCE_DEG` of level (or
    no cut is found) and its mid-sagittal plane turned by less than :data:`YAW_TOLERANCE_DEG`
    from the volume's (:mod:`.symmetry`): then nothing changes."""
    bone = coarse.array.astype(bool)
    if bone.sum() < 4:
        return None
    spacing = np.linalg.norm(coarse.ijk_to_lps[:3, :3], axis=0)
    surface = bone & ~ndimage.binary_erosion(bone)
    points = np.argwhere(surface) * spacing
    found = cut_plane(points)
    tilt = 0.0 if found is None else \
        float(np.degrees(np.arccos(np.clip(-found[0][2], -1.0, 1.0))))
    turn = np.eye(3)  # canonical mm -> levelled mm
    if tilt >= LEVEL_TOLERANCE_DEG:
        turn = _rotation_onto(found[0], np.array([0.0, 0.0, -1.0]))
    else:
        tilt = 0.0
    yaw = mid_sagittal_yaw(bone, spacing, turn)
    if abs(yaw) >= YAW_TOLERANCE_DEG:
        c, s = np.cos(np.radians(yaw)), np.sin(np.radians(yaw))
        turn = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]]) @ turn
    else:
        yaw = 0.0
    if tilt == 0.0 and yaw == 0.0:
        return None
    centre = points.mean(axis=0)
    levelled = (np.argwhere(bone) * spacing - centre) @ turn.T
    shape = np.array(coarse.array.shape)
    extent = levelled.max(axis=0) - levelled.min(axis=0) + spacing.mean()
    size = extent / np.array(MEDIAN_SPAN)  # mm of the levelled box along each axis
    start = levelled.min(axis=0) - (size - extent) * np.array(MEDIAN_LOW_MARGIN)
    step = size / shape  # mm per levelled coarse voxel
    to_source = np.eye(4)  # levelled index -> levelled mm -> canonical mm -> coarse index
    to_source[:3, :3] = np.diag(1 / spacing) @ turn.T @ np.diag(step)
    to_source[:3, 3] = (turn.T @ (start + step / 2) + centre) / spacing
    grid = Grid(tuple(int(n) for n in shape), coarse.ijk_to_lps @ to_source)
    return Levelling(grid, tilt, yaw)
