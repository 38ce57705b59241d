"""Baseline upsampling methods to compare template synthesis and learned rearrangement with.

All take the coarse mask and the target grid and return a 0/1 uint8 array on the target grid.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import ndimage

from ..grids.geometry import Grid, Mask
from ..grids.resample import resample_mask

#: Median window of the median baseline, in target voxels along (i, j, k).
MEDIAN_WINDOW = (15, 15, 11)
#: Full width at half maximum of the Gaussian baseline, in mm.
GAUSSIAN_FWHM_MM = 3.0


def nearest(coarse: Mask, target: Grid) -> np.ndarray:
    """Each target voxel takes the value of the nearest coarse voxel (staircase surfaces)."""
    return resample_mask(coarse, target, order=0).array


def trilinear(coarse: Mask, target: Grid) -> np.ndarray:
    """Trilinear interpolation of the 0/1 coarse mask, thresholded at 0.5."""
    return resample_mask(coarse, target, order=1).array


def median(coarse: Mask, target: Grid, window: Sequence[int] = MEDIAN_WINDOW) -> np.ndarray:
    """Median filter (``window`` target voxels) of the nearest upsampling. For a 0/1 volume and
    an odd window the median is the majority, i.e. the box mean > 0.5: computed that way,
    separably, as ``scipy.ndimage.median_filter`` would be far slower on 10^8 voxels."""
    up = nearest(coarse, target).astype(np.float32)
    return (ndimage.uniform_filter(up, size=tuple(window), mode="reflect") > 0.5).astype(np.uint8)


def gaussian(coarse: Mask, target: Grid, fwhm_mm: float = GAUSSIAN_FWHM_MM) -> np.ndarray:
    """Gaussian smoothing (FWHM ``fwhm_mm``, per-axis sigma from the voxel spacing) of the
    nearest upsampling, thresholded at 0.5."""
    up = nearest(coarse, target).astype(np.float32)
    sigma_vox = (fwhm_mm / (2.0 * np.sqrt(2.0 * np.log(2.0)))) / target.spacing
    return (ndimage.gaussian_filter(up, sigma=sigma_vox, mode="nearest") > 0.5).astype(np.uint8)
