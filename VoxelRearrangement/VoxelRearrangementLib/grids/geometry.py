"""Voxel grids, masks on them, and the maps between grids.

Conventions used everywhere in the library:

* A volume is a numpy array indexed ``array[i, j, k]`` in the order the file stores its axes
  (NRRD/NIfTI fastest axis first), with a 4 x 4 matrix ``ijk_to_lps`` that maps a voxel index
  (the voxel *centre*) to world coordinates in millimetres, in the LPS convention used by
  DICOM, NRRD and Slicer files. The 3 x 3 part may be any invertible matrix: spacing,
  direction cosines and shear (tilted CT gantries) are all kept.
* Grids related by ``scipy.ndimage.zoom`` (the challenge's coarse format) are *corner
  aligned*: the first and last voxel centres of every axis coincide, so index ``c`` of an
  ``n``-voxel axis maps to ``c * (N - 1) / (n - 1)`` on the ``N``-voxel axis.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np

from .._shared.errors import GridMismatchError, VoxelRearrangementError

#: Shape of the AutoImplant challenge's coarse format (voxels along i, j, k).
CHALLENGE_COARSE_SHAPE: Tuple[int, int, int] = (128, 128, 64)

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


@dataclass(frozen=True)
class Grid:
    """A voxel grid: ``shape`` (i, j, k) and the 4 x 4 ``ijk_to_lps`` matrix (mm)."""

    shape: Tuple[int, int, int]
    ijk_to_lps: np.ndarray

    def __post_init__(self) -> None:
        m = np.asarray(self.ijk_to_lps, dtype=np.float64)
        if m.shape != (4, 4) or not np.all(np.isfinite(m)):
            raise VoxelRearrangementError("a grid needs a finite 4 x 4 IJK-to-LPS matrix")
        if abs(np.linalg.det(m[:3, :3])) < 1e-12:
            raise VoxelRearrangementError("the IJK-to-LPS matrix of a grid is singular")
        object.__setattr__(self, "ijk_to_lps", m)
        object.__setattr__(self, "shape", tuple(int(n) for n in self.shape))

    @property
    def spacing(self) -> np.ndarray:
        """Distance in mm between neighbouring voxel centres along i, j and k."""
        return np.linalg.norm(self.ijk_to_lps[:3, :3], axis=0)

    @property
    def voxel_volume_mm3(self) -> float:
        """Volume of one voxel in mm^3 (exact for sheared grids)."""
        return float(abs(np.linalg.det(self.ijk_to_lps[:3, :3])))

    @property
    def is_sheared(self) -> bool:
        """True if the voxel axes are not mutually perpendicular."""
        d = self.ijk_to_lps[:3, :3] / self.spacing
        return not np.allclose(d.T @ d, np.eye(3), atol=1e-6)

    def same_as(self, other: "Grid", tol_mm: float = 1e-3) -> bool:
        """True if both grids have the same shape and voxel centres within ``tol_mm``."""
        if self.shape != other.shape:
            return False
        corners = np.array([[0, 0, 0, 1], [*(np.array(self.shape) - 1), 1]], dtype=float).T
        a = self.ijk_to_lps @ corners
        b = other.ijk_to_lps @ corners
        return bool(np.allclose(self.ijk_to_lps[:3, :3], other.ijk_to_lps[:3, :3],
                                atol=tol_mm / max(self.shape)) and np.allclose(a, b, atol=tol_mm))


@dataclass
class Mask:
    """A binary mask: ``array`` (uint8 0/1, axes i, j, k) on the grid ``ijk_to_lps`` (4 x 4, mm)."""

    array: np.ndarray
    ijk_to_lps: np.ndarray

    def __post_init__(self) -> None:
        if self.array.ndim != 3:
            raise VoxelRearrangementError(f"a mask must be 3D, got an array of shape {self.array.shape}")
        self.grid  # validates the matrix

    @property
    def grid(self) -> Grid:
        return Grid(self.array.shape, self.ijk_to_lps)

    @property
    def volume_ml(self) -> float:
        """Volume of the foreground in millilitres."""
        return float(np.count_nonzero(self.array)) * self.grid.voxel_volume_mm3 / 1000.0


@dataclass
class Image:
    """A scalar volume, e.g. a CT in Hounsfield units: ``array`` (any real dtype, axes i, j, k)
    on the grid ``ijk_to_lps`` (4 x 4, mm)."""

    array: np.ndarray
    ijk_to_lps: np.ndarray

    def __post_init__(self) -> None:
        if self.array.ndim != 3:
            raise VoxelRearrangementError(f"an image must be 3D, got an array of shape {self.array.shape}")
        if not np.issubdtype(self.array.dtype, np.number) or np.issubdtype(self.array.dtype,
                                                                            np.complexfloating):
            raise VoxelRearrangementError(f"an image needs real numbers, not {self.array.dtype}")
        self.grid  # validates the matrix

    @property
    def grid(self) -> Grid:
        return Grid(self.array.shape, self.ijk_to_lps)


def binary(mask: Mask, what: str = "the mask") -> Mask:
    """``mask`` with a uint8 0/1 array: the same mask when it already is one, booleans and
    numbers 0/1 converted; a clear error naming ``what`` for any other value, NaN or infinity
    (a 0/255 labelmap must be thresholded first, e.g. ``array > 0``)."""
    a = mask.array
    if a.dtype == np.uint8:
        top = int(a.max()) if a.size else 0
        if top <= 1:
            return mask
        raise VoxelRearrangementError(
            f"{what} is not binary: it holds {top} besides 0 and 1 (threshold it, e.g. array > 0)")
    if a.dtype == bool:
        return Mask(a.view(np.uint8), mask.ijk_to_lps)
    if not np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.complexfloating):
        raise VoxelRearrangementError(f"{what} has voxels of type {a.dtype}, not numbers")
    if np.issubdtype(a.dtype, np.floating) and not np.isfinite(a).all():
        raise VoxelRearrangementError(f"{what} holds values that are not finite (NaN or infinite)")
    other = (a != 0) & (a != 1)
    if other.any():
        value = a[other].flat[0]
        raise VoxelRearrangementError(
            f"{what} is not binary: it holds {value:g} besides 0 and 1 (threshold it, e.g. array > 0)")
    return Mask(a.astype(np.uint8), mask.ijk_to_lps)


def require_same_grid(a: Grid, b: Grid, what_a: str, what_b: str) -> None:
    """Raise :class:`GridMismatchError` naming both inputs unless ``a`` and ``b`` match."""
    if not a.same_as(b):
        raise GridMismatchError(
            f"{what_a} and {what_b} are not on the same voxel grid "
            f"(shapes {a.shape} and {b.shape}, spacing {np.round(a.spacing, 4).tolist()} and "
            f"{np.round(b.spacing, 4).tolist()} mm, origins {np.round(a.ijk_to_lps[:3, 3], 3).tolist()} "
            f"and {np.round(b.ijk_to_lps[:3, 3], 3).tolist()} mm)")


def corner_aligned_grid(grid: Grid, shape: Sequence[int]) -> Grid:
    """The grid of ``shape`` whose first and last voxel centres coincide with ``grid``'s.

    This is the geometry of ``scipy.ndimage.zoom(array, shape / grid.shape)``: the columns of
    the matrix are scaled by ``(N - 1) / (n - 1)``; the origin (centre of voxel 0) is kept.
    """
    shape = tuple(int(n) for n in shape)
    if len(shape) != 3 or min(shape) < 2 or min(grid.shape) < 2:
        raise VoxelRearrangementError(f"cannot corner-align grids of shapes {grid.shape} and {shape}: "
                                      "every axis needs at least 2 voxels")
    scale = (np.array(grid.shape) - 1.0) / (np.array(shape) - 1.0)
    m = grid.ijk_to_lps.copy()
    m[:3, :3] = m[:3, :3] * scale[None, :]
    return Grid(shape, m)


def challenge_coarse_grid(grid: Grid) -> Grid:
    """The correct geometry of the challenge's 128 x 128 x 64 coarse format of ``grid``."""
    return corner_aligned_grid(grid, CHALLENGE_COARSE_SHAPE)


def upsampled_grid(coarse: Grid, factor: int = 4) -> Grid:
    """Default target grid when only a coarse mask is known: ``factor`` times as many voxels on
    every axis (512 x 512 x 256 for the 128 x 128 x 64 challenge format), corner aligned with
    ``coarse`` as the challenge's zoom-made coarse files are with their original grid."""
    return corner_aligned_grid(coarse, [factor * n for n in coarse.shape])


def index_map(source: Grid, target: Grid) -> np.ndarray:
    """4 x 4 affine mapping a voxel index of ``target`` to a (continuous) index of ``source``."""
    return np.linalg.solve(source.ijk_to_lps, target.ijk_to_lps)


def axis_aligned_scale(source: Grid, target: Grid, tol: float = 1e-6
                       ) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """``(scale, offset)`` with ``source_index[a] = scale[a] * target_index[a] + offset[a]``.

    Returns None when the map between the two grids mixes axes (rotated or differently
    sheared grids); callers then fall back to a general (slower) resampling.
    """
    a = index_map(source, target)
    lin = a[:3, :3]
    off_diag = lin - np.diag(np.diag(lin))
    if np.max(np.abs(off_diag)) > tol * max(1.0, np.max(np.abs(lin))):
        return None
    return np.diag(lin).copy(), a[:3, 3].copy()


def intermediate_grid(coarse: Grid, target: Grid) -> Grid:
    """Level L1 of the synthesis pyramid: corner aligned with ``coarse``, with (per axis) the
    geometric mean of the coarse and target sampling densities, so both steps refine by about
    the same ratio even when it is not a power of two (SkullFix k: 64 -> ~125 -> 211..394)."""
    lin = index_map(target, coarse)[:3, :3]
    ratio = np.maximum(np.linalg.norm(lin, axis=0), 1.0)  # target voxels per coarse step
    n0 = np.array(coarse.shape, dtype=float)
    n1 = 1 + np.round((n0 - 1) * np.sqrt(ratio)).astype(int)
    return corner_aligned_grid(coarse, n1)


def index_to_lps(grid_matrix: np.ndarray, ijk: np.ndarray) -> np.ndarray:
    """World LPS coordinates (mm) of voxel indices ``ijk`` (N x 3) through a 4 x 4 matrix."""
    ijk = np.asarray(ijk, dtype=np.float64)
    return ijk @ grid_matrix[:3, :3].T + grid_matrix[:3, 3]
