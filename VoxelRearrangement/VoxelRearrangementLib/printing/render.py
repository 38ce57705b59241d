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


def view_image(label: np.ndarray, matrix: np.ndarray, look: np.ndarray, up: np.ndarray
          ) -> Tuple[np.ndarray, float]:
    """RGB image (rows top to bottom, float 0..1) of ``label`` seen along world ``look``
    with world ``up`` at the top; and the pixel aspect (row mm / column mm)."""
    dirs = matrix[:3, :3] / np.linalg.norm(matrix[:3, :3], axis=0)
    spacing = np.linalg.norm(matrix[:3, :3], axis=0)
    axis = int(np.argmax(np.abs(dirs.T @ look)))
    others = [a for a in range(3) if a != axis]
    row = max(others, key=lambda a: abs(dirs[:, a] @ up))
    col = [a for a in others if a != row][0]
    arr = np.transpose(label, (axis, row, col))
    if dirs[:, axis] @ look < 0:  # we look along -axis: start from the high end
        arr = arr[::-1]
    if dirs[:, row] @ up > 0:  # up at the top: high index first
        arr = arr[:, ::-1]
    depth, lab = _first_hit(arr)
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
def _first_hit(arr):
    """Per column of ``arr`` (along axis 0): the index of the first non-zero voxel (0 when
    none) and its value (0 when none)."""
    n, rows, cols = arr.shape
    depth = np.zeros((rows, cols), dtype=np.int64)
    label = np.zeros((rows, cols), dtype=arr.dtype)
    for r in range(rows):
        for c in range(cols):
            for i in range(n):
                if arr[i, r, c] > 0:
                    depth[r, c] = i
                    label[r, c] = arr[i, r, c]
                    break
    return depth, label


def render_png(path: Path, skull: Mask, implant: Optional[Mask] = None,
               title: str = "", views: Sequence[str] = ("top", "left")) -> Path:
    """Write a PNG of ``skull`` (grey) and ``implant`` (orange, same grid) from ``views``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    label = skull.array.astype(np.uint8)
    if implant is not None:
        label = np.where(implant.array > 0, np.uint8(2), label)
    setups = {"top": (np.array([0, 0, -1.0]), np.array([0, -1.0, 0])),   # look down, anterior up
              "left": (np.array([-1.0, 0, 0]), np.array([0, 0, 1.0])),   # from the left, superior up
              "front": (np.array([0, 1.0, 0]), np.array([0, 0, 1.0]))}   # from the front
    fig, axes = plt.subplots(1, len(views), figsize=(5 * len(views), 5))
    for ax, name in zip(np.atleast_1d(axes), views):
        rgb, aspect = view_image(label, skull.ijk_to_lps, *setups[name])
        ax.imshow(rgb, aspect=aspect, interpolation="antialiased")
        ax.set_title(f"{name} view")
        ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
