"""The skull's mid-sagittal plane: how far a head is turned about the vertical in its volume.

A skull is close to mirror-symmetric about its mid-sagittal plane; the completion network
reads the skull's mirror image about the grid's mid-plane as a second input, and was trained on
SkullFix's heads, whose planes are turned by up to 11 degrees from the grid's, turned by up to
10 degrees more. :func:`mid_sagittal_yaw` finds the plane among the vertical ones (those
that hold the levelled frame's k axis: a turn about the vertical, once the scan's cut is
level) as the one whose mirror image of the skull's surface lies closest to the skull: the
mean distance (mm, each capped at :data:`CAP_MM`, so that a defect, which has no mirror image,
weighs no more than a few millimetres) from the mirrored surface points to the nearest bone,
over a grid of angles and offsets, then a finer one around the best.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np
from scipy import ndimage

from .._shared.arrays import block_any

#: Turns about the vertical searched (degrees either way from the left-right index axis; one
#: of skullfix-test's 50 heads is turned 42 degrees, the others 11 at most).
MAX_YAW_DEG = 60.0
#: Distance (mm) at which a mirrored point counts as missing its mirror image.
CAP_MM = 6.0
#: Surface points used (every n-th of the skull's surface voxels).
POINTS = 2000
#: The search: (yaw step in degrees, offset step in the grid's largest spacing, steps either
#: way, interpolation order of the distances), from the whole range of angles (offsets of a
#: few mm: a defect moves the skull's centre little) to a quarter of a degree around the best.
SEARCH = ((4.0, 2.0, None, 0), (1.0, 0.5, 3, 1), (0.25, 0.25, 3, 1))


def _distance_map(bone: np.ndarray, spacing: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """``(distance, step)``: the distance (mm, float32) from each voxel of ``bone`` at half its
    resolution (a 2 x 2 x 2 block is bone when any voxel is) to the nearest bone, and the
    half-resolution spacing (mm). Half resolution: 10x faster, and the score only compares
    planes."""
    half = block_any(bone, 2)
    step = 2.0 * spacing
    return ndimage.distance_transform_edt(~half, sampling=step).astype(np.float32), step


def _scores(points: np.ndarray, yaw_deg: np.ndarray, offsets: np.ndarray, distance: np.ndarray,
            step: np.ndarray, to_frame: np.ndarray, centre: np.ndarray, order: int) -> np.ndarray:
    """Capped mean distance (mm) of the mirrored ``points`` (n x 3, mm of the volume's index
    axes) to the bone (``distance`` on a grid of ``step`` mm, voxel centres at half a step,
    interpolated with spline ``order``), for planes of normal (cos yaw, sin yaw, 0) in the
    frame (``to_frame`` @ (p - ``centre``)) at each of ``offsets`` (mm from ``centre``):
    array (len(yaw_deg), len(offsets))."""
    out = np.empty((len(yaw_deg), len(offsets)))
    for a, yaw in enumerate(np.radians(yaw_deg)):
        normal = to_frame.T @ np.array([np.cos(yaw), np.sin(yaw), 0.0])  # in the volume's mm
        along = (points - centre) @ normal
        mirrored = points[None] - 2.0 * (along[None] - offsets[:, None])[..., None] * normal
        index = (mirrored / step - 0.5).reshape(-1, 3).T
        d = ndimage.map_coordinates(distance, index, order=order, mode="constant", cval=CAP_MM)
        out[a] = np.minimum(d, CAP_MM).reshape(len(offsets), -1).mean(axis=1)
    return out


def mid_sagittal_yaw(bone: np.ndarray, spacing: np.ndarray,
                     to_frame: np.ndarray = np.eye(3)) -> float:
    """The turn (degrees, about the frame's k axis, from its i axis towards its j axis; in the
    canonical view, positive turns the face to the patient's left) of the normal of ``bone``'s
    mid-sagittal plane (0 for fewer than 10 surface voxels).

    ``bone``: bool volume (i, j, k; i left-right) on a grid of ``spacing`` (mm per index
    axis; shear ignored); ``to_frame``: rotation (3 x 3) from the volume's index axes (in mm)
    to the frame in which the plane is vertical (a levelled frame; default: the volume's)."""
    bone = np.asarray(bone, dtype=bool)
    spacing = np.asarray(spacing, dtype=np.float64)
    surface = np.argwhere(bone & ~ndimage.binary_erosion(bone)) * spacing
    if len(surface) < 10:
        return 0.0
    points = surface[:: max(1, len(surface) // POINTS)]
    distance, step = _distance_map(bone, spacing)
    centre = points.mean(axis=0)
    unit = float(spacing.max())
    yaw, offset = 0.0, 0.0
    for yaw_step, offset_step, n, order in SEARCH:
        if n is None:  # every angle
            yaws = np.arange(-MAX_YAW_DEG, MAX_YAW_DEG + 1e-9, yaw_step)
            offsets = np.arange(-2, 3) * offset_step * unit
        else:
            yaws = yaw + np.arange(-n, n + 1) * yaw_step
            offsets = offset + np.arange(-2, 3) * offset_step * unit
        scores = _scores(points, yaws, offsets, distance, step, to_frame, centre, order)
        a, b = np.unravel_index(int(np.argmin(scores)), scores.shape)
        yaw, offset = float(yaws[a]), float(offsets[b])
    return yaw
