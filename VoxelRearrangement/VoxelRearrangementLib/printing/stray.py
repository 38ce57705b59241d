"""Pieces of the implant that close nothing: bone the completion added away from the defect.

A completion network now and then adds a piece of bone where nothing is missing (seen at the
face: SkullFix 054 turned 10 degrees about the vertical, a piece 169 mm from its defect). The
clean-up (:mod:`.implant`) keeps a piece besides the largest when it holds 1 mL or more and
touches the skull, which such a piece does. :func:`drop_stray_pieces` keeps only the pieces
that a ray through the defect crosses (the rays of
:func:`~..evaluation.closure.defect_directions`, from the skull's centre): a piece that closes
no direction of the defect is not part of the implant. When no piece is crossed (the defect
was not found, or the network missed it), nothing is dropped.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np
from scipy import ndimage

from .._shared.arrays import box, foreground_bounds
from ..evaluation.closure import ray_samples
from ..grids.geometry import Mask
from .implant import FACE_NEIGHBOURS


def drop_stray_pieces(implant: Mask, centre_mm: np.ndarray, defect_directions: np.ndarray
                      ) -> Tuple[Mask, float]:
    """``(implant, dropped_ml)``: ``implant`` (uint8 0/1) without its face-connected pieces
    that no ray from ``centre_mm`` (world mm) along ``defect_directions`` (n x 3 unit LPS
    vectors) crosses, and their volume (mL); ``implant`` itself when nothing is dropped."""
    bounds = foreground_bounds(implant.array)
    if bounds is None or len(defect_directions) == 0:
        return implant, 0.0
    part = box(*bounds)
    labels, n = ndimage.label(implant.array[part] != 0, FACE_NEIGHBOURS)  # the implant's box only
    if n == 1:
        return implant, 0.0
    crossed = np.zeros(n + 1, dtype=bool)
    for _, ijk, inside in ray_samples(implant, centre_mm, defect_directions):
        at = ijk[inside] - bounds[0]
        at = at[np.all((at >= 0) & (at < labels.shape), axis=1)]
        crossed[labels[tuple(at.T)]] = True
    crossed[0] = False  # background
    if not crossed.any() or crossed[1:].all():
        return implant, 0.0
    stray = (labels != 0) & ~crossed[labels]
    out = np.array(implant.array, dtype=np.uint8)
    out[part][stray] = 0
    dropped = float(stray.sum()) * implant.grid.voxel_volume_mm3 / 1000.0
    return Mask(out, implant.ijk_to_lps), round(dropped, 2)
