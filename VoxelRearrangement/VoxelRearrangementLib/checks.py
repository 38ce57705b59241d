"""Checks made before heavy work, by the command line, the pipeline and the Slicer Logic alike:
does a mask look like a skull, and is a target grid of a size a computer can hold.

A skull (complete, defective or coarse) spans more than :data:`MIN_EXTENT_MM` along its
longest axis and :data:`MIN_THICKNESS_MM` along its shortest, holds between
:data:`MIN_BONE_ML` and :data:`MAX_BONE_ML` of bone, and is a shell, not a solid: at most
:data:`MAX_FILL` of its bounding box is bone (SkullFix skulls fill 0.10-0.15 of it, a solid
ball 0.52). An implant larger than :data:`MAX_IMPLANT_ML` is a sign that the "completed
skull" is not one (a hemicraniectomy implant is about 100-150 mL).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from ._shared.arrays import foreground_bounds
from ._shared.errors import VoxelRearrangementError
from .grids.geometry import Grid, Mask

MIN_EXTENT_MM = 80.0
MIN_THICKNESS_MM = 20.0
MIN_BONE_ML = 30.0
MAX_BONE_ML = 2000.0
MAX_FILL = 0.4
MAX_IMPLANT_ML = 500.0
#: Largest target grid of a refinement (voxels): 512 x 512 x 1024; one uint8 copy is 268 MB.
MAX_TARGET_VOXELS = 512 * 512 * 1024
#: Largest grid of a coarse input (voxels): a coarse skull is usually 128 x 128 x 64.
MAX_COARSE_VOXELS = 256 * 256 * 256


def _shape(shape) -> str:
    return " x ".join(str(int(n)) for n in shape)


def check_skull(mask: Mask, what: str) -> None:
    """A clear error unless ``mask`` looks like a skull (see the module docstring)."""
    bounds = foreground_bounds(mask.array)
    if bounds is None:
        raise VoxelRearrangementError(f"{what} is empty (no voxel set)")
    lin = mask.ijk_to_lps[:3, :3]
    extent = (bounds[1] - bounds[0]) * mask.grid.spacing  # mm along the index axes
    if extent.max() < MIN_EXTENT_MM or extent.min() < MIN_THICKNESS_MM:
        raise VoxelRearrangementError(
            f"{what} does not look like a skull: it spans {' x '.join(f'{e:.0f}' for e in extent)}"
            f" mm (a skull spans more than {MIN_EXTENT_MM:.0f} mm, and {MIN_THICKNESS_MM:.0f} mm "
            "along every axis)")
    volume = mask.volume_ml
    if not MIN_BONE_ML <= volume <= MAX_BONE_ML:
        raise VoxelRearrangementError(
            f"{what} does not look like a skull: it holds {volume:.0f} mL (a skull holds "
            f"{MIN_BONE_ML:.0f} to {MAX_BONE_ML:.0f} mL of bone)")
    box_ml = float(np.prod(bounds[1] - bounds[0])) * abs(np.linalg.det(lin)) / 1000.0
    if volume > MAX_FILL * box_ml:
        raise VoxelRearrangementError(
            f"{what} does not look like a skull: it is a solid, filling {volume / box_ml:.0%} of "
            f"its bounding box (a skull is a shell and fills less than {MAX_FILL:.0%})")


def check_coarse_input(coarse: Mask, what: str = "the coarse mask",
                       target: Optional[Grid] = None) -> None:
    """A clear error when ``coarse`` is too large to be a coarse mask, or the ``target`` grid of
    its refinement too large to hold (checked before anything is allocated)."""
    if target is not None and int(np.prod(target.shape)) > MAX_TARGET_VOXELS:
        hint = ""
        if int(np.prod(coarse.array.shape)) > MAX_COARSE_VOXELS:
            hint = (f"; {what} is {_shape(coarse.array.shape)} voxels, a full-resolution mask "
                    "rather than a coarse one (usually 128 x 128 x 64)")
        raise VoxelRearrangementError(
            f"the target grid {_shape(target.shape)} ({np.prod(target.shape) / 1e9:.1f} G voxels) "
            f"is larger than the largest refinement supported ({_shape((512, 512, 1024))}){hint}")


def check_implant_size(raw_implant_ml: float) -> None:
    """A clear error when completed minus defective holds more than :data:`MAX_IMPLANT_ML`."""
    if raw_implant_ml > MAX_IMPLANT_ML:
        raise VoxelRearrangementError(
            f"the completed skull adds {raw_implant_ml:.0f} mL to the defective skull (an implant "
            f"is at most {MAX_IMPLANT_ML:.0f} mL): is the completed skull a skull?")
