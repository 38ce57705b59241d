"""PNG render of a skull with its implant: depth-shaded orthographic views (matplotlib).

Two views from outside the head, a top view (looking down the superior axis) and a side
view (from the patient's left), each the first surface hit along the index axis closest to
that direction, shaded by the slope of the depth map; bone grey, implant orange. Index-axis
projections are a picture, not a measurement (on sheared grids they are slightly oblique).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence, Tuple

import numpy as np
from numba import njit

from ..grids.geometry import Mask

_COLOURS = {1: (0.90, 0.87, 0.80), 2: (0.95, 0.55, 0.18)}


def view_image(skull: np.ndarray, implant: Optional[np.ndarray], matrix: np.ndarray,
               look: np.ndarray, up: np.ndarray) -> Tuple[np.ndarray, float]:
    """RGB image (rows top to bottom, float 0..1) of ``skull`` and ``implant`` (0/1 volumes
    of one grid; the implant in front where both are set) seen along world ``look`` with
    world ``up`` at the top; and the pixel aspect (row mm / column mm)."""
    dirs = matrix[:3, :3] / np.linalg.norm(matrix[:3, :3], axis=0)
    spacing = np.linalg.norm(matrix[:3, :3], axis=0)
    axis = int(np.argmax(np.abs(dirs.T @ look)))
    others = [a for a in range(3) if a != axis]
    row = max(others, key=lambda a: abs(dirs[:, a] @ up))
    col = [a for a in others if a != row][0]
    none = np.zeros((1, 1, 1), dtype=np.uint8)
    # from the high end when we look along -axis
    depth, lab = _first_hit(np.ascontiguousarray(skull), none if implant is None else
                            np.ascontiguousarray(implant), axis, bool(dirs[:, axis] @ look < 0))
    if row > col:  # the first hit's axes are in index order: (row, col) wanted
        depth, lab = depth.T, lab.T
    if dirs[:, row] @ up > 0:  # up at the top: high index first
        depth, lab = depth[::-1], lab[::-1]
    seen = lab > 0
    d = depth.astype(np.float32) * spacing[axis]
    gy, gx = np.gradient(d, spacing[row], spacing[col])
    shade = 1.0 / np.sqrt(1.0 + gx ** 2 + gy ** 2)
    shade = 0.25 + 0.75 * np.clip(shade, 0, 1) * (1.0 - 0.35 * d / max(d[seen].max(), 1.0) if seen.any() else 1.0)
    rgb = np.ones(lab.shape + (3,), dtype=np.float32)
    for value, colour in _COLOURS.items():
        sel = seen & (lab == value)
        rgb[sel] = np.asarray(colour, dtype=np.float32) * shade[sel, None]
    return rgb, float(spacing[row] / spacing[col])


@njit(cache=True, nogil=True)
def _first_hit(skull, implant, axis, from_high):
    """Per line of the volumes along ``axis`` (from its high end when ``from_high``): the
    depth (voxels from that end) of the first voxel set in ``skull`` or ``implant`` (0 when
    none) and what it is (2 implant, 1 skull, 0 none); 2D, the other two axes in index
    order. The volumes are read in memory order (``implant`` of shape (1, 1, 1): none)."""
    n0, n1, n2 = skull.shape
    has_implant = implant.shape == skull.shape
    n = skull.shape[axis]
    if axis == 0:
        rows, cols = n1, n2
    elif axis == 1:
        rows, cols = n0, n2
    else:
        rows, cols = n0, n1
    depth = np.zeros((rows, cols), dtype=np.int64)
    label = np.zeros((rows, cols), dtype=np.uint8)
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                value = 2 if has_implant and implant[i, j, k] else (1 if skull[i, j, k] else 0)
                if value == 0:
                    continue
                if axis == 0:
                    r, c, x = j, k, i
                elif axis == 1:
                    r, c, x = i, k, j
                else:
                    r, c, x = i, j, k
                d = n - 1 - x if from_high else x
                if label[r, c] == 0 or d < depth[r, c]:
                    depth[r, c] = d
                    label[r, c] = value
    return depth, label


def render_png(path: Path, skull: Mask, implant: Optional[Mask] = None,
               title: str = "", views: Sequence[str] = ("top", "left")) -> Path:
    """Write a PNG of ``skull`` (grey) and ``implant`` (orange, same grid) from ``views``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    setups = {"top": (np.array([0, 0, -1.0]), np.array([0, -1.0, 0])),   # look down, anterior up
              "left": (np.array([-1.0, 0, 0]), np.array([0, 0, 1.0])),   # from the left, superior up
              "front": (np.array([0, 1.0, 0]), np.array([0, 0, 1.0]))}   # from the front
    fig, axes = plt.subplots(1, len(views), figsize=(5 * len(views), 5))
    for ax, name in zip(np.atleast_1d(axes), views):
        rgb, aspect = view_image(skull.array, None if implant is None else implant.array,
                                 skull.ijk_to_lps, *setups[name])
        ax.imshow(rgb, aspect=aspect, interpolation="antialiased")
        ax.set_title(f"{name} view")
        ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
