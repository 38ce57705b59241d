"""Training data of the coarse completion network: cached coarse pairs and defects.

Every SkullFix case is read once at full resolution, its challenge defect is cut there
(defective = complete & ~implant) and both skulls are brought to the challenge coarse format
with :func:`~VoxelRearrangementLib.grids.resample.downsample` (exactly the inference path); the
coarse pairs are cached as ``.npz`` (about 60 KB each) so training never touches the 512^2
files again. Synthetic defects (spheres, ellipsoids, cuboids around random points of the
upper vault and sides, in millimetres) are cut on the fly at coarse resolution, see
:func:`synthetic_defect`. No torch here.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from scipy import ndimage

from ...grids.resample import downsample
from ...io.skullfix import read_case
from ..case_cache import cached_cases


@dataclass
class CoarsePair:
    """One case at 128 x 128 x 64: complete and defective skull (uint8 0/1) and the grid."""

    case: str
    complete: np.ndarray
    defective: np.ndarray
    ijk_to_lps: np.ndarray


def make_pair(data_dir: Path, case: str) -> CoarsePair:
    """Read one case, cut its challenge defect at full resolution, downsample both skulls."""
    complete, _, defective = read_case(data_dir, case)
    c = downsample(complete)
    d = downsample(defective)
    return CoarsePair(case, c.array, d.array & c.array, c.ijk_to_lps)


def load_pairs(data_dir: Path, cases: Sequence[str], cache_dir: Path,
               progress: Optional[Callable[[float, str], None]] = None) -> List[CoarsePair]:
    """The coarse pairs of ``cases``, computed once and cached in ``cache_dir`` as npz."""
    return cached_cases(CoarsePair, cases, cache_dir, lambda case: f"{case}.npz",
                        lambda case: make_pair(data_dir, case), progress, "coarse pairs")


def _world_offsets(shape: Tuple[int, int, int], matrix: np.ndarray, centre: np.ndarray,
                   reach_mm: float) -> Tuple[Tuple[slice, ...], np.ndarray]:
    """The index box around ``centre`` (voxel index) that holds every voxel within
    ``reach_mm`` of it, and the LPS offsets in mm (3, box) of its voxels from the centre."""
    inv = np.linalg.inv(matrix[:3, :3])
    half = reach_mm * np.linalg.norm(inv, axis=1)  # index extent of a ball of that radius
    lo = np.maximum(np.floor(centre - half), 0).astype(int)
    hi = np.minimum(np.ceil(centre + half) + 1, shape).astype(int)
    box = tuple(slice(a, b) for a, b in zip(lo, hi))
    idx = np.indices(hi - lo, dtype=np.float32).reshape(3, -1)
    idx += (lo - centre).reshape(3, 1).astype(np.float32)
    return box, (matrix[:3, :3].astype(np.float32) @ idx).reshape((3,) + tuple(hi - lo))


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    return (q * np.sign(np.diag(r))).astype(np.float32)


def vault_points(complete: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Indices (n, 3) of the outer-surface skull voxels of the vault: above the level of the
    skull's centroid minus 10 % of its height (LPS superior), i.e. the top and the sides."""
    filled = ndimage.binary_fill_holes(complete)  # not closed at the base: outer shell kept
    surface = complete.astype(bool) & ~ndimage.binary_erosion(filled)
    pts = np.argwhere(surface)
    if len(pts) == 0:
        return pts
    s = pts @ matrix[2, :3] + matrix[2, 3]
    lo, hi = np.percentile(s, [1, 99])
    centre = 0.5 * (lo + hi)
    return pts[s > centre - 0.1 * (hi - lo)]


def synthetic_defect(complete: np.ndarray, matrix: np.ndarray, rng: np.random.Generator,
                     points: Optional[np.ndarray] = None) -> np.ndarray:
    """A random defect region (bool, same shape) to remove from ``complete``.

    Shape: sphere, ellipsoid or (rotated) cuboid; size 15-45 mm half-extent along the surface,
    centred on a random outer-surface point of the vault (top, sides, front or back), so the
    cut goes through the whole bone thickness. Cut at coarse resolution (documented choice: a
    full-resolution cut changes only the partial-volume voxels at the defect rim).
    """
    pts = vault_points(complete, matrix) if points is None else points
    if len(pts) == 0:
        return np.zeros(complete.shape, dtype=bool)
    centre = pts[rng.integers(len(pts))].astype(np.float64)
    kind = rng.choice(["sphere", "ellipsoid", "cuboid"], p=[0.25, 0.4, 0.35])
    if kind == "sphere":
        radii = np.full(3, rng.uniform(15, 40), dtype=np.float32)
    else:
        radii = rng.uniform(15, 45, size=3).astype(np.float32)
    rot = _random_rotation(rng)
    box, offsets = _world_offsets(complete.shape, matrix, centre, float(np.linalg.norm(radii)))
    local = np.tensordot(rot, offsets, axes=1)
    if kind == "cuboid":
        inside = np.all(np.abs(local) <= radii.reshape(3, 1, 1, 1), axis=0)
    else:
        inside = np.sum((local / radii.reshape(3, 1, 1, 1)) ** 2, axis=0) <= 1.0
    region = np.zeros(complete.shape, dtype=bool)
    region[box] = inside & complete[box].astype(bool)
    return region


#: Range of the random scale along (i, j) and along k: the same head framed differently. The
#: SkullBreak volumes (512^3 at 0.4 mm) show a head 1.15-1.2x larger in-plane and 0.75x in k
#: at 128 x 128 x 64 than SkullFix does, with empty space above the vertex.
SCALE_RANGE_IJ = (0.85, 1.25)
SCALE_RANGE_K = (0.7, 1.1)


def augment_pair(complete: np.ndarray, defective: np.ndarray, rng: np.random.Generator,
            max_angle_deg: float = 8.0, max_shift: float = 4.0, flip_axis: int = 0
            ) -> Tuple[np.ndarray, np.ndarray]:
    """Same random flip (along ``flip_axis``, left-right in SkullFix), small rotation, per-axis
    scale (:data:`SCALE_RANGE_IJ`, :data:`SCALE_RANGE_K`) and shift (up to ``max_shift``
    voxels, plus the room a shrunk skull leaves) of both masks; linear interpolation then
    threshold 0.5; defective kept inside complete."""
    if rng.random() < 0.5:
        complete, defective = np.flip(complete, flip_axis), np.flip(defective, flip_axis)
    angles = np.deg2rad(rng.uniform(-max_angle_deg, max_angle_deg, size=3))
    rot = np.eye(3)
    for axis, a in enumerate(angles):
        c, s = np.cos(a), np.sin(a)
        r = np.eye(3)
        p, q = [x for x in range(3) if x != axis]
        r[p, p], r[p, q], r[q, p], r[q, q] = c, -s, s, c
        rot = rot @ r
    ranges = (SCALE_RANGE_IJ, SCALE_RANGE_IJ, SCALE_RANGE_K)
    scale = np.exp([rng.uniform(np.log(lo), np.log(hi)) for lo, hi in ranges])
    shape = np.asarray(complete.shape, dtype=np.float64)
    room = max_shift + np.maximum(1.0 - scale, 0.0) * shape / 2
    matrix = rot @ np.diag(1.0 / scale)  # output index -> input index
    centre = (shape - 1) / 2.0
    offset = centre - matrix @ centre + rng.uniform(-room, room)
    out = []
    for m in (complete, defective):
        t = ndimage.affine_transform(np.ascontiguousarray(m, dtype=np.float32), matrix, offset,
                                     order=1, mode="constant")
        out.append(t > 0.5)
    comp, dfct = out
    return comp.astype(np.uint8), (dfct & comp).astype(np.uint8)


def training_sample(pair: CoarsePair, rng: np.random.Generator, p_synthetic: float = 0.5,
                    points_cache: Optional[Dict[str, np.ndarray]] = None
                    ) -> Tuple[np.ndarray, np.ndarray]:
    """One (defective, complete) uint8 pair: the challenge defect or a synthetic one
    (probability ``p_synthetic``), then :func:`augment_pair`."""
    complete = pair.complete
    if rng.random() < p_synthetic:
        pts = None
        if points_cache is not None:
            if pair.case not in points_cache:
                points_cache[pair.case] = vault_points(complete, pair.ijk_to_lps)
            pts = points_cache[pair.case]
        for _ in range(4):  # a defect that removes too little teaches nothing
            region = synthetic_defect(complete, pair.ijk_to_lps, rng, pts)
            if region.sum() > 200:
                break
        defective = (complete.astype(bool) & ~region).astype(np.uint8)
    else:
        defective = pair.defective
    return augment_pair(complete, defective, rng)[::-1]
