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

from ..evaluation.closure import ray_samples
from ..grids.geometry import Mask
from .implant import Sparse


def drop_stray_pieces(implant: Mask, centre_mm: np.ndarray, defect_directions: np.ndarray
                      ) -> Tuple[Mask, float]:
    """``(implant, dropped_ml)``: ``implant`` (uint8 0/1) without its face-connected pieces
    that no ray from ``centre_mm`` (world mm) along ``defect_directions`` (n x 3 unit LPS
    vectors) crosses, and their volume (mL); ``implant`` itself when nothing is dropped."""
    coords = np.argwhere(implant.array)
    if len(coords) == 0 or len(defect_directions) == 0:
        return implant, 0.0
    sparse = Sparse(implant.array.shape, np.ones(3, dtype=np.int64))
    flat = sparse.flat(coords)
    n, labels = sparse.components(flat)
    if n == 1:
        return implant, 0.0
    crossed = np.zeros(n, dtype=bool)
    for _, ijk, inside in ray_samples(implant, centre_mm, defect_directions):
        at = (ijk[inside] + sparse.pad) @ sparse.strides
        pos = np.minimum(np.searchsorted(flat, at), len(flat) - 1)
        crossed[labels[pos[flat[pos] == at]]] = True
    if not crossed.any() or crossed.all():
        return implant, 0.0
    out = np.zeros_like(implant.array, dtype=np.uint8)
    kept = sparse.coords(flat[crossed[labels]])
    out[tuple(kept.T)] = 1
    dropped = (len(flat) - len(kept)) * implant.grid.voxel_volume_mm3 / 1000.0
    return Mask(out, implant.ijk_to_lps), round(float(dropped), 2)
