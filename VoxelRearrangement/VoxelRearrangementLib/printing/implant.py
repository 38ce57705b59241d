"""The implant: completed skull minus defective skull, cleaned up automatically in 3D.

``completed & ~defective`` holds the implant plus debris: thin slivers where the completed
skull's surface lies a little outside the defective skull's (all around the skull and along
the defect rim) and isolated noise. The clean-up, with no per-case tuning:

1. a morphological opening by a *ball of radius* ``opening_mm`` in world millimetres (the
   structuring element is built from the full IJK-to-LPS matrix, so anisotropic and sheared
   voxels are honoured), which removes every part thinner than about ``2 * opening_mm``;
2. connected pieces (26-connectivity) are kept if they are the largest, or if they touch the
   defective skull (the defect border) and hold at least ``min_component_ml``;
3. the implant's surfaces are smoothed jointly with the defective skull (Gaussian of sigma
   ``smoothing_mm`` of ``implant | defective``, threshold 0.5, kept near the implant), which
   removes the terraces of an upsampled completion and keeps the rim flush with the bone;
   the pieces are selected again;
4. nothing that overlaps the defective skull is ever kept.

The fit to the defect (a gap at the rim, a minimum edge thickness) is the next step,
:func:`~.fit.fit_implant`.

The opening and the piece selection work on the foreground voxels only (flat indices, one
vectorised step per neighbourhood offset) and the smoothing on the implant's bounding box,
so a 512 x 512 x 250 head takes a few seconds (5-9 s measured on a busy 2-core machine).
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
from numba import njit
from scipy import ndimage

from .._shared.bounds import check
from .._shared.errors import VoxelRearrangementError
from .._shared.progress import CancelCallback, ProgressCallback, Stage
from ..checks import check_implant_size
from ..grids.geometry import Grid, Mask, binary, require_same_grid

#: Default radius (mm) of the ball used in the opening (tuned on SkullFix 000-059).
DEFAULT_OPENING_MM = 1.0
#: Default sigma (mm) of the Gaussian smoothing of the implant's surfaces (tuned likewise).
DEFAULT_SMOOTHING_MM = 1.75
#: Default smallest volume (mL) of an extra piece kept besides the largest.
DEFAULT_MIN_COMPONENT_ML = 1.0

#: The 6 face neighbours (and the centre): pieces joined only by an edge or a corner are apart.
FACE_NEIGHBOURS = ndimage.generate_binary_structure(3, 1)
_FULL = np.ones((3, 3, 3), dtype=bool)


def ball_structure(grid: Grid, radius_mm: float) -> np.ndarray:
    """Boolean structuring element (odd-sized, centred) of the voxel offsets whose world
    length through ``grid``'s matrix is at most ``radius_mm`` (just the centre when the
    radius is below the smallest spacing)."""
    if radius_mm < 0 or not np.isfinite(radius_mm):
        raise VoxelRearrangementError(f"the opening radius must be >= 0 mm, got {radius_mm}")
    lin = grid.ijk_to_lps[:3, :3]
    # reach along each index axis: the ball's extent, |row a of inv(lin)| * radius
    reach = np.floor(radius_mm * np.linalg.norm(np.linalg.inv(lin), axis=1) + 1e-9).astype(int)
    axes = [np.arange(-r, r + 1) for r in reach]
    offsets = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
    length = np.linalg.norm(offsets @ lin.T, axis=-1)
    return length <= radius_mm * (1 + 1e-9)


def raw_implant(complete: Mask, defective: Mask) -> np.ndarray:
    """``complete & ~defective`` as uint8, after checking both share one grid."""
    require_same_grid(complete.grid, defective.grid, "the completed skull", "the defective skull")
    return (np.not_equal(complete.array, 0) & np.equal(defective.array, 0)).astype(np.uint8)


class Sparse:
    """Morphology on the few foreground voxels of a large volume of ``shape``: voxels are kept
    as flat indices into the volume padded by ``pad`` voxels, so each neighbourhood offset is
    one constant added to all of them (vectorised over voxels; loops run over offsets only)."""

    def __init__(self, shape: Tuple[int, ...], pad: np.ndarray) -> None:
        self.pad = np.asarray(pad, dtype=np.int64)
        self.shape = tuple(int(n) + 2 * int(p) for n, p in zip(shape, self.pad))
        self.strides = np.array([self.shape[1] * self.shape[2], self.shape[2], 1], dtype=np.int64)
        self.size = int(np.prod(self.shape))

    def flat(self, coords: np.ndarray) -> np.ndarray:
        """Sorted padded flat indices of voxel ``coords`` (N x 3, unpadded, C order)."""
        return np.sort((coords + self.pad) @ self.strides)

    def coords(self, flat: np.ndarray) -> np.ndarray:
        """Unpadded voxel coordinates (N x 3) of padded flat indices."""
        return np.stack(np.unravel_index(flat, self.shape), axis=1) - self.pad

    def offsets(self, structure: np.ndarray) -> np.ndarray:
        """Flat offsets of the true elements of a centred, odd-sized ``structure``."""
        return (np.argwhere(structure) - np.array(structure.shape) // 2) @ self.strides

    def _volume(self, flat: np.ndarray) -> np.ndarray:
        inside = np.zeros(self.size, dtype=bool)
        inside[flat] = True
        return inside

    def open(self, flat: np.ndarray, ball: np.ndarray) -> np.ndarray:
        """Sorted flat indices of the opening of the voxels ``flat`` by ``ball``."""
        offs = self.offsets(ball)
        inside = self._volume(flat)
        keep = np.ones(len(flat), dtype=bool)
        for o in offs:  # erosion: the whole ball inside
            keep &= inside[flat + o]
        core = flat[keep]
        inside[flat] = False
        for o in offs:  # dilation of the eroded core
            inside[core + o] = True
        return np.flatnonzero(inside)

    def components(self, flat: np.ndarray) -> Tuple[int, np.ndarray]:
        """6-connected (face-connected) components of the voxels ``flat`` (sorted): count and
        labels. Face connectivity matches the marching-cubes surface: voxels joined only by an
        edge or a corner mesh as separate pieces, so they must count as separate pieces here."""
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components
        inside = self._volume(flat)
        rows, cols = [np.arange(len(flat))], [np.arange(len(flat))]
        for o in self.offsets(FACE_NEIGHBOURS)[:3]:  # half of the 6 neighbours: each edge once
            hit = np.flatnonzero(inside[flat + o])
            rows.append(hit)
            cols.append(np.searchsorted(flat, flat[hit] + o))
        r, c = np.concatenate(rows), np.concatenate(cols)
        graph = coo_matrix((np.ones(len(r), dtype=np.int8), (r, c)), shape=(len(flat),) * 2)
        return connected_components(graph, directed=False)

    def touching(self, flat: np.ndarray, wall: np.ndarray) -> np.ndarray:
        """Which voxels ``flat`` have a 26-neighbour in ``wall`` (the unpadded volume)."""
        xyz = self.coords(flat)
        hi = np.array(wall.shape) - 1
        out = np.zeros(len(flat), dtype=bool)
        for d in np.argwhere(_FULL) - 1:
            q = np.clip(xyz + d, 0, hi)
            out |= wall[q[:, 0], q[:, 1], q[:, 2]] != 0
        return out


def extract_implant(complete: Mask, defective: Mask, opening_mm: float = DEFAULT_OPENING_MM,
                    smoothing_mm: float = DEFAULT_SMOOTHING_MM,
                    min_component_ml: float = DEFAULT_MIN_COMPONENT_ML,
                    progress: Optional[ProgressCallback] = None,
                    cancel: Optional[CancelCallback] = None) -> Mask:
    """The cleaned implant (uint8 0/1 on the defective skull's grid).

    ``opening_mm``: radius (mm) of the ball of the opening (0 disables it); parts thinner than
    about twice this are removed. ``smoothing_mm``: sigma (mm) of the Gaussian smoothing of
    the implant's surfaces (0 disables it). ``min_component_ml``: besides the largest piece,
    pieces that touch the defective skull are kept when at least this large (mL).
    Raises :class:`VoxelRearrangementError` for masks on different grids and when the implant
    is empty (before or after the clean-up).
    """
    opening_mm = check("opening_mm", opening_mm)
    smoothing_mm = check("smoothing_mm", smoothing_mm)
    min_component_ml = check("min_component_ml", min_component_ml)
    complete = binary(complete, "the completed skull")
    defective = binary(defective, "the defective skull")
    require_same_grid(complete.grid, defective.grid, "the completed skull", "the defective skull")
    stage = Stage(progress, cancel)
    stage.report(0.0, "subtracting the defective skull")
    # work on C-ordered views (NRRD files load Fortran-ordered): transpose axes and matrix
    perm = (2, 1, 0) if defective.array.flags.f_contiguous and defective.array.ndim == 3 \
        and not defective.array.flags.c_contiguous else (0, 1, 2)
    wall = np.transpose(defective.array, perm)
    m = np.array(defective.ijk_to_lps, dtype=np.float64)
    grid = Grid(wall.shape, np.column_stack([m[:, list(perm)], m[:, 3]]))
    flat = _added_voxels(np.transpose(complete.array, perm), wall)
    if len(flat) == 0:
        raise VoxelRearrangementError(
            "the implant is empty: the completed skull adds nothing to the defective skull "
            "(are the two files swapped, or is the completed skull the defective one?)")
    check_implant_size(len(flat) * grid.voxel_volume_mm3 / 1000.0)
    ball = ball_structure(grid, opening_mm)
    sparse = Sparse(wall.shape, np.array(ball.shape) // 2 + 1)
    flat = sparse.flat(np.stack(np.unravel_index(flat, wall.shape), axis=1))
    if ball.sum() > 1:
        stage.report(0.1, f"opening with a ball of {opening_mm:g} mm")
        flat = sparse.open(flat, ball)
    stage.report(0.4, "selecting the pieces of the implant")
    flat = keep_pieces(sparse, flat, wall, grid.voxel_volume_mm3, min_component_ml)
    if len(flat) == 0:
        raise VoxelRearrangementError(
            f"the clean-up removed the whole implant (opening of {opening_mm:g} mm): "
            "use a smaller --opening-mm")
    xyz = sparse.coords(flat)
    margin = np.ceil(3 * smoothing_mm / grid.spacing).astype(int) + 2
    lo = np.maximum(xyz.min(axis=0) - margin, 0)
    hi = np.minimum(xyz.max(axis=0) + margin + 1, wall.shape)
    box = tuple(slice(a, b) for a, b in zip(lo, hi))
    part = np.zeros(tuple(hi - lo), dtype=bool)
    part[tuple((xyz - lo).T)] = True
    local_wall = wall[box] != 0
    if smoothing_mm > 0:
        stage.report(0.6, f"smoothing the implant's surfaces ({smoothing_mm:g} mm)")
        part = _smooth(part, local_wall, grid.spacing, smoothing_mm)
        stage.report(0.85, "selecting the pieces of the implant")
        local = Sparse(part.shape, np.ones(3, dtype=int))
        kept = keep_pieces(local, local.flat(np.argwhere(part)), local_wall,
                            grid.voxel_volume_mm3, min_component_ml)
        part[:] = False
        part[tuple(local.coords(kept).T)] = True
    part &= ~local_wall  # never a voxel of the defective skull
    if not part.any():
        raise VoxelRearrangementError("the clean-up removed the whole implant: use a smaller "
                                      "--smoothing-mm or --opening-mm")
    out = np.zeros(wall.shape, dtype=np.uint8)
    out[box] = part
    stage.report(1.0, "implant extracted")
    return Mask(np.transpose(out, perm), m)


@njit(cache=True, nogil=True)
def _added_voxels(complete, wall):
    """Flat C-order indices (int64) of the voxels set in ``complete`` and not in ``wall``."""
    n0, n1, n2 = complete.shape
    count = 0
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                if complete[i, j, k] and not wall[i, j, k]:
                    count += 1
    out = np.empty(count, dtype=np.int64)
    n = 0
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                if complete[i, j, k] and not wall[i, j, k]:
                    out[n] = (i * n1 + j) * n2 + k
                    n += 1
    return out


def _smooth(part: np.ndarray, wall: np.ndarray, spacing: np.ndarray, sigma_mm: float) -> np.ndarray:
    """Implant voxels of ``gaussian(part | wall) > 0.5`` near ``part``: the implant's surfaces
    smoothed jointly with the defective skull ``wall`` they continue, so the rim stays flush.
    Sigma is ``sigma_mm`` along every index axis (nearly isotropic on sheared grids)."""
    sigma = sigma_mm / spacing
    field = ndimage.gaussian_filter((part | wall).astype(np.float32), sigma, truncate=3.0)
    near = ndimage.gaussian_filter(part.astype(np.float32), sigma, truncate=3.0) > 0.05
    return (field > 0.5) & near & ~wall


def keep_pieces(sparse: Sparse, flat: np.ndarray, wall: np.ndarray, voxel_mm3: float,
                 min_component_ml: float) -> np.ndarray:
    """Of the voxels ``flat``: the largest 26-connected piece plus the pieces touching
    ``wall`` (unpadded volume) that hold at least ``min_component_ml``."""
    if len(flat) == 0:
        return flat
    n, labels = sparse.components(flat)
    if n == 1:
        return flat
    sizes = np.bincount(labels, minlength=n)
    largest = int(np.argmax(sizes))
    keep = sizes * voxel_mm3 / 1000.0 >= min_component_ml
    keep[largest] = False
    if keep.any():  # big enough: keep those touching the defective skull
        pick = np.flatnonzero(keep[labels])
        touch = sparse.touching(flat[pick], wall)
        keep &= np.bincount(labels[pick[touch]], minlength=n) > 0
    keep[largest] = True
    return flat[keep[labels]]
