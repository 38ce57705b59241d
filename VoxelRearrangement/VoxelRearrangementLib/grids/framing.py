"""How a skull is framed in its volume, and a reframing to the framing the networks learned.

The completion network sees the whole volume downsampled to 128 x 128 x 64, so how much of
the volume the skull fills decides how large it looks to the network. It was trained on
SkullFix, whose volumes are cropped alike: in the canonical orientation
(:mod:`.orientation`) the skull spans 49-69 % of the volume left to right, 67-94 % front to
back and 90-100 % bottom to top, sitting on the bottom slice (the scan's cut), with the
left-right and front-back margins about even (SkullFix 000-059, defective skulls;
:data:`TRAINED_SPAN`). A volume framed otherwise (a wider field of view, empty slices above
the vertex or below the cut: the SkullBreak file is 75 % / 90 % / 62 %) shows the network a
smaller or squashed skull; on the hold-out skulls 050-059 a volume padded by a quarter on
each side in-plane cost the implant up to 0.15 DSC.

:func:`network_framing` gives the box (voxel indices of the canonical view; it may reach
outside the volume, where it is empty) that frames such a skull (the bone the downsampling
keeps, so that specks of noise do not count) as the median SkullFix skull
is framed (:data:`MEDIAN_SPAN`, :data:`MEDIAN_LOW_MARGIN`), or None when the volume's own
framing lies within what the network was trained on (then nothing changes). :func:`reframed`
cuts or pads a mask to a box, its geometry kept: every voxel stays where it is in the world.
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from .._shared.arrays import foreground_bounds
from .geometry import Mask

#: Share of the volume the skull spans along the canonical i (left-right), j (front-back) and
#: k (bottom-top) axes in SkullFix 000-059 (defective skulls): (least, most), widened by
#: :data:`SPAN_TOLERANCE`.
TRAINED_SPAN = ((0.488, 0.686), (0.668, 0.936), (0.896, 1.0))
#: Slack on :data:`TRAINED_SPAN` before a volume is reframed.
SPAN_TOLERANCE = 0.02
#: Most of the canonical k axis below the skull (empty slices under the scan's cut) that
#: still counts as SkullFix framing (there: none; one slice in fifty allowed).
TRAINED_LOW_K = 0.02
#: Median span of SkullFix 000-059 along i, j, k: the framing a reframed volume gets.
MEDIAN_SPAN = (0.575, 0.784, 0.964)
#: Median share of the margin that lies below the skull along i, j, k (the rest above):
#: about even in-plane, none below the skull along k.
MEDIAN_LOW_MARGIN = (0.47, 0.5, 0.0)


def network_framing(mask: Mask, seen: np.ndarray) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """``(lo, hi)`` voxel indices (int, half-open, may reach outside the array) of the box that
    frames the skull of ``mask`` (canonical orientation) as the median SkullFix skull, or None
    when its framing is within :data:`TRAINED_SPAN` (and no more than :data:`TRAINED_LOW_K` of
    k lies below it) or there is no skull.

    ``seen``: the challenge downsampling of ``mask`` (its 0/1 coarse array, corner aligned with
    it), what the network would see: the skull is the bone of ``mask`` within one coarse voxel
    of the bone of ``seen``, so specks of noise far from the skull (which the downsampling
    drops) do not frame it."""
    coarse = foreground_bounds(seen)
    if coarse is None:
        return None
    n = np.array(mask.array.shape)
    per_coarse = n / np.array(seen.shape)  # voxels of mask per coarse voxel, along each axis
    near_lo = np.maximum(np.floor((coarse[0] - 1) * per_coarse).astype(np.int64), 0)
    near_hi = np.minimum(np.ceil((coarse[1] + 1) * per_coarse).astype(np.int64), n)
    bounds = foreground_bounds(mask.array[tuple(slice(a, b) for a, b in zip(near_lo, near_hi))])
    if bounds is None:
        return None
    lo, extent = bounds[0] + near_lo, bounds[1] - bounds[0]
    span = extent / n
    trained = all(low - SPAN_TOLERANCE <= s <= high + SPAN_TOLERANCE
                  for s, (low, high) in zip(span, TRAINED_SPAN))
    if trained and lo[2] <= TRAINED_LOW_K * n[2]:
        return None
    size = np.maximum(np.round(extent / np.array(MEDIAN_SPAN)).astype(np.int64), extent)
    start = lo - np.round((size - extent) * np.array(MEDIAN_LOW_MARGIN)).astype(np.int64)
    return start, start + size


def reframed(mask: Mask, box: Tuple[np.ndarray, np.ndarray]) -> Mask:
    """``mask`` cut or padded (with zeros) to the voxel box ``(lo, hi)``, on the grid whose
    voxel ``(0, 0, 0)`` is ``mask``'s voxel ``lo``: the same world positions."""
    lo, hi = (np.asarray(b, dtype=np.int64) for b in box)
    n = np.array(mask.array.shape)
    out = np.zeros(tuple(hi - lo), dtype=mask.array.dtype)
    src_lo, src_hi = np.maximum(lo, 0), np.minimum(hi, n)
    if np.all(src_hi > src_lo):
        src = tuple(slice(a, b) for a, b in zip(src_lo, src_hi))
        dst = tuple(slice(a, b) for a, b in zip(src_lo - lo, src_hi - lo))
        out[dst] = mask.array[src]
    matrix = np.array(mask.ijk_to_lps, dtype=np.float64)
    matrix[:3, 3] = matrix[:3, :3] @ lo + matrix[:3, 3]
    return Mask(out, matrix)
