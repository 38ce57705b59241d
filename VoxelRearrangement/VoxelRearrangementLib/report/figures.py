"""Pictures of ``report.html`` (matplotlib, PNG bytes): the skull with its implant seen from
the defect's side, and three slices through the defect with the implant in colour."""
from __future__ import annotations

import io
import textwrap
from typing import List, Tuple

import numpy as np

from ..grids.geometry import Mask
from ..printing.render import view_image

Panel = Tuple[np.ndarray, float, str]  # RGB image (rows top to bottom), pixel aspect, title
_BONE, _IMPLANT, _BACKGROUND = (0.85, 0.82, 0.75), (0.95, 0.45, 0.10), (0.08, 0.08, 0.10)


def defect_view(defective: Mask, implant: Mask) -> Panel:
    """The skull (grey) and the implant (orange) seen from outside, looking at the defect:
    along the index axis closest to the line from the skull's centre to the implant's."""
    centre, defect = _centroid(defective), _centroid(implant)
    look = centre - defect
    look = look / max(np.linalg.norm(look), 1e-9)
    superior = np.array([0.0, 0.0, 1.0])
    up = superior - (superior @ look) * look
    if np.linalg.norm(up) < 1e-3:  # looking straight down or up: anterior at the top
        up = np.array([0.0, -1.0, 0.0])
    rgb, aspect = view_image(defective.array, implant.array, defective.ijk_to_lps, look,
                             up / np.linalg.norm(up))
    return rgb, aspect, "from the defect's side"


def defect_slices(defective: Mask, implant: Mask) -> List[Panel]:
    """Three index-axis slices through the implant's centre: bone grey, implant orange."""
    inverse = np.linalg.inv(defective.ijk_to_lps)
    centre = np.rint(inverse[:3, :3] @ _centroid(implant) + inverse[:3, 3]).astype(int)
    centre = np.clip(centre, 0, np.array(defective.array.shape) - 1)
    spacing = np.linalg.norm(defective.ijk_to_lps[:3, :3], axis=0)
    panels = []
    for axis in range(3):
        index = [slice(None)] * 3
        index[axis] = int(centre[axis])
        bone, part = defective.array[tuple(index)] > 0, implant.array[tuple(index)] > 0
        rgb = np.empty(bone.shape + (3,), dtype=np.float32)
        rgb[:] = _BACKGROUND
        rgb[bone] = _BONE
        rgb[part] = _IMPLANT
        rows, cols = [a for a in range(3) if a != axis]
        panels.append((np.transpose(rgb, (1, 0, 2))[::-1], float(spacing[cols] / spacing[rows]),
                       f"slice {'ijk'[axis]} = {centre[axis]}"))
    return panels


def panels_png(panels: List[Panel], title: str = "") -> bytes:
    """The panels side by side as one PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.4))
    for ax, (rgb, aspect, name) in zip(np.atleast_1d(axes), panels):
        ax.imshow(rgb, aspect=aspect, interpolation="antialiased")
        ax.set_title(name)
        ax.axis("off")
    if title:  # wrapped to the figure's width
        fig.suptitle(textwrap.fill(title, 42 * len(panels)))
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")  # no title cut off
    plt.close(fig)
    return buffer.getvalue()


def _centroid(mask: Mask) -> np.ndarray:
    """World (LPS mm) centre of the voxels of ``mask``, from every third voxel per axis (or
    all of them when that misses the mask)."""
    voxels = np.argwhere(mask.array[::3, ::3, ::3]) * 3
    if len(voxels) == 0:
        voxels = np.argwhere(mask.array)
    return mask.ijk_to_lps[:3, :3] @ voxels.mean(axis=0) + mask.ijk_to_lps[:3, 3]
