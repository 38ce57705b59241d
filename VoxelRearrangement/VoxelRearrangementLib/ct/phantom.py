"""A synthetic head CT made from a real skull mask, for tests and demos.

No head CT ships with this project (the SkullFix data are bone masks), so the CT path is
tested on CTs synthesised from real skulls: air (-1000 HU), the scalp and brain (40 and
30 HU) filling the head, the skull and other bone (:data:`BONE_HU`), and what a real scan
adds around them: a CT table under the head (above the bone threshold on purpose), a loose
bone fragment inside the head, a mandible and a vertebra below the skull (separate from it,
as across joint spaces), then the scanner's blur (partial volume) and noise. What it does not
have: metal and beam-hardening artefacts, contrast, the texture of real cancellous bone, and
thin bone below the threshold (a real CT's orbits and temporal squama can read under 300 HU).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .._shared.arrays import block_any
from ..grids.geometry import Image, Mask, binary

#: HU of the tissues of the phantom.
AIR_HU, SOFT_HU, BRAIN_HU, BONE_HU, TABLE_HU = -1000.0, 40.0, 30.0, 1100.0, 600.0
#: Scanner blur (Gaussian sigma, voxels) and noise (HU, standard deviation).
BLUR_VOXELS, NOISE_HU = 0.6, 25.0


@dataclass
class SyntheticCt:
    """The CT (int16 HU) and the skull it was made from, on the CT's grid."""

    ct: Image
    skull: Mask


def synthetic_head_ct(skull: Mask, below_mm: float = 60.0, seed: int = 0) -> SyntheticCt:
    """A head CT around ``skull`` on its grid extended by ``below_mm`` towards the feet (see
    the module docstring). Deterministic for a given ``seed``."""
    skull = binary(skull, "the skull")
    rng = np.random.default_rng(seed)
    grid, bone = _extended(skull, below_mm)
    spacing = np.linalg.norm(grid[:3, :3], axis=0)
    world = _world_axes(bone.shape, grid)  # per axis: LPS coordinates of each index (broadcast)
    head = _head(bone, spacing)
    hu = np.full(bone.shape, AIR_HU, dtype=np.float32)
    hu[head] = SOFT_HU
    hu[head & ndimage.binary_erosion(head, iterations=max(1, int(round(8 / spacing.min()))))] = BRAIN_HU
    centre = _centre(bone, grid)
    lowest = _lowest_superior(bone, grid)
    x, y, z = world
    # neck: soft tissue below the skull base, a vertebra in it (a gap of 8 mm below the skull)
    neck = (np.hypot(x - centre[0], y - centre[1] - 10) < 55) & (z < lowest + 20)
    hu[neck & (hu == AIR_HU)] = SOFT_HU
    vertebra = (np.hypot(x - centre[0], y - centre[1] - 15) < 12) & (z < lowest - 8)
    # mandible: an arc in front, below the skull's lowest bone, 4 mm clear of it
    r = np.hypot(x - centre[0], y - centre[1] + 20)
    arc = (r > 38) & (r < 46) & (y < centre[1] - 25) & (z < lowest - 4) & (z > lowest - 24)
    # table: a curved slab behind the head (posterior is +y in LPS), clear of the scalp
    back = float(np.max(np.where(head, y, -np.inf)))
    table = (y > back + 12) & (y < back + 20) & (np.abs(x - centre[0]) < 110)
    # a loose fragment inside the head, 3 mm in radius, at least 4 mm from any bone
    fragment = _fragment(bone, head, grid, rng)
    solid = bone | vertebra | arc | fragment
    hu[solid] = BONE_HU
    hu[table] = TABLE_HU
    del solid, head, neck, vertebra, arc, r, table
    hu = ndimage.gaussian_filter(hu, BLUR_VOXELS, output=np.float32)
    hu += rng.normal(0.0, NOISE_HU, size=hu.shape).astype(np.float32)
    ct = Image(np.clip(np.rint(hu), -1024, 3071).astype(np.int16), grid)
    return SyntheticCt(ct, Mask(bone.astype(np.uint8), grid))


def _extended(skull: Mask, below_mm: float):
    """The skull's grid extended by ``below_mm`` along the index axis closest to inferior,
    and the skull on it."""
    lin = skull.ijk_to_lps[:3, :3]
    axis = int(np.argmax(np.abs(lin[2]) / np.linalg.norm(lin, axis=0)))
    extra = int(np.ceil(below_mm / abs(lin[2, axis])))
    pad = [(0, 0)] * 3
    pad[axis] = (extra, 0) if lin[2, axis] > 0 else (0, extra)
    matrix = np.array(skull.ijk_to_lps, dtype=np.float64)
    shift = np.zeros(3)
    shift[axis] = -pad[axis][0]
    matrix[:3, 3] = lin @ shift + matrix[:3, 3]
    return matrix, np.pad(skull.array.astype(bool), pad)


def _world_axes(shape, matrix):
    """LPS coordinates x, y, z of every voxel, as broadcastable sums over the index axes."""
    idx = [np.arange(n, dtype=np.float32).reshape([-1 if a == b else 1 for b in range(3)])
           for a, n in enumerate(shape)]
    return [sum(np.float32(matrix[c, a]) * idx[a] for a in range(3)) + np.float32(matrix[c, 3])
            for c in range(3)]


def _head(bone: np.ndarray, spacing: np.ndarray) -> np.ndarray:
    """Head (scalp, brain, skull) from the bone: on a 4x coarser grid (block maximum, so thin
    bone survives), closed, filled slice by slice along every axis, widened by a 5 mm scalp."""
    f = 4
    small = block_any(bone, f)
    closed = ndimage.binary_closing(small, iterations=2)
    filled = np.zeros_like(closed)
    for axis in range(3):
        filled |= np.stack([ndimage.binary_fill_holes(s) for s in np.moveaxis(closed, axis, 0)],
                           axis=axis)
    filled = ndimage.binary_dilation(filled, iterations=int(np.ceil(5.0 / (f * spacing.min()))))
    big = np.repeat(np.repeat(np.repeat(filled, f, 0), f, 1), f, 2)
    return big[:bone.shape[0], :bone.shape[1], :bone.shape[2]] | bone


def _centre(bone: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    voxels = np.argwhere(bone[::3, ::3, ::3]) * 3
    return matrix[:3, :3] @ voxels.mean(axis=0) + matrix[:3, 3]


def _lowest_superior(bone: np.ndarray, matrix: np.ndarray) -> float:
    voxels = np.argwhere(bone[::2, ::2, ::2]) * 2
    return float((voxels @ matrix[2, :3] + matrix[2, 3]).min())


def _fragment(bone, head, matrix, rng) -> np.ndarray:
    """A ball of 3 mm radius inside the head, 4 mm or more from the bone: on the line from the
    skull's centre up towards the vertex, at a random height, moved down until it is clear."""
    lin, origin = matrix[:3, :3], matrix[:3, 3]
    inverse = np.linalg.inv(lin)
    spacing = np.linalg.norm(lin, axis=0)
    centre = _centre(bone, matrix)
    reach = np.ceil(7.0 / spacing).astype(int)
    idx = np.indices(bone.shape, sparse=True)
    for height in np.arange(rng.uniform(40.0, 60.0), 0.0, -2.0):
        at = np.rint(inverse @ (centre + [0.0, 0.0, height] - origin)).astype(int)
        lo, hi = np.maximum(at - reach, 0), np.minimum(at + reach + 1, bone.shape)
        if np.any(at < 0) or np.any(at >= bone.shape) or not head[tuple(at)]:
            continue
        if not bone[tuple(slice(a, b) for a, b in zip(lo, hi))].any():
            d2 = sum(((idx[a] - at[a]) * spacing[a]) ** 2 for a in range(3))
            return d2 <= 9.0
    return np.zeros_like(bone)
