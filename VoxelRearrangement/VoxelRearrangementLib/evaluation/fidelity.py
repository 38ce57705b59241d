"""How close and how smooth a mesh is: surface distance to a reference mesh and a staircase index.

* Distances: face centres drawn with probability proportional to area (up to ``max_points``
  per surface) are measured to the other surface exactly (point-to-triangle, VTK implicit
  poly-data distance; positive outside the reference when its normals point outwards). Both
  directions are pooled, as for HD95: ``mean_mm``, ``p95_mm`` and ``max_mm``; ``signed_mean_mm``
  is the mean signed distance from the mesh to the reference (> 0: the mesh is too large).
* Staircase index: the share of surface area whose normal lies within ``tolerance_deg``
  (1 degree, as :func:`~.metrics.surface_smoothness`) of a voxel axis of the grid the mesh was
  made from (the terraces of upsampled masks; a smooth surface has about 0.05 %).
"""
from __future__ import annotations

from typing import Dict, Optional

import numpy as np
from numba import njit

from .._shared.errors import VoxelRearrangementError
from ..printing.meshing import Mesh, mesh_to_polydata

#: Default number of sample points per surface for the distances.
DEFAULT_POINTS = 100_000


def sample_surface(mesh: Mesh, max_points: int = DEFAULT_POINTS, seed: int = 0) -> np.ndarray:
    """Face centres (K x 3, mm): all faces, or ``max_points`` drawn with probability
    proportional to area (so every square millimetre counts the same)."""
    if mesh.triangle_count == 0:
        raise VoxelRearrangementError("cannot sample an empty mesh")
    faces = np.arange(mesh.triangle_count)
    if mesh.triangle_count > max_points:
        areas = mesh.face_areas()
        faces = np.random.default_rng(seed).choice(faces, size=max_points, p=areas / areas.sum())
    v = mesh.vertices
    f = mesh.faces[faces]
    return (v[f[:, 0]] + v[f[:, 1]] + v[f[:, 2]]) / 3.0


def signed_distances(points: np.ndarray, reference: Mesh) -> np.ndarray:
    """Signed distance (mm) from each point (K x 3) to the surface of ``reference``."""
    from vtkmodules.util import numpy_support
    from vtkmodules.vtkCommonCore import vtkDoubleArray
    from vtkmodules.vtkFiltersCore import vtkImplicitPolyDataDistance
    implicit = vtkImplicitPolyDataDistance()
    implicit.SetInput(mesh_to_polydata(reference))
    out = vtkDoubleArray()
    implicit.FunctionValue(numpy_support.numpy_to_vtk(np.ascontiguousarray(points, np.float64),
                                                      deep=True), out)
    return numpy_support.vtk_to_numpy(out).copy()


def staircase_index(mesh: Mesh, tolerance_deg: float = 1.0,
                    grid_matrix: Optional[np.ndarray] = None) -> float:
    """Share of the area whose normal is within ``tolerance_deg`` of a voxel axis of
    ``grid_matrix`` (default the mesh's own grid; world axes when it has none). A normal
    ``n`` in world space is ``M^T n`` in index space (normals transform by the inverse
    transpose of the IJK-to-LPS matrix ``M``), so sheared grids are handled exactly."""
    m = mesh.grid_matrix if grid_matrix is None else grid_matrix
    lin = np.eye(3) if m is None else np.asarray(m, dtype=np.float64)[:3, :3]
    aligned, total = _staircase_area(mesh.vertices, mesh.faces, np.ascontiguousarray(lin),
                                     float(np.cos(np.deg2rad(tolerance_deg))))
    return float(aligned / max(total, 1e-300))


@njit(cache=True, nogil=True)
def _staircase_area(vertices, faces, lin, cos_tolerance):
    """(area whose index-space normal is within the tolerance of an axis, total area), mm^2."""
    aligned = 0.0
    total = 0.0
    for f in range(faces.shape[0]):  # scalars only: no small arrays allocated per face
        a, b, c = faces[f, 0], faces[f, 1], faces[f, 2]
        u0, u1, u2 = (vertices[b, 0] - vertices[a, 0], vertices[b, 1] - vertices[a, 1],
                      vertices[b, 2] - vertices[a, 2])
        v0, v1, v2 = (vertices[c, 0] - vertices[a, 0], vertices[c, 1] - vertices[a, 1],
                      vertices[c, 2] - vertices[a, 2])
        n0, n1, n2 = u1 * v2 - u2 * v1, u2 * v0 - u0 * v2, u0 * v1 - u1 * v0
        area = 0.5 * np.sqrt(n0 * n0 + n1 * n1 + n2 * n2)
        total += area
        m0 = n0 * lin[0, 0] + n1 * lin[1, 0] + n2 * lin[2, 0]
        m1 = n0 * lin[0, 1] + n1 * lin[1, 1] + n2 * lin[2, 1]
        m2 = n0 * lin[0, 2] + n1 * lin[1, 2] + n2 * lin[2, 2]
        length = np.sqrt(m0 * m0 + m1 * m1 + m2 * m2)
        if length > 0 and max(abs(m0), abs(m1), abs(m2)) / length > cos_tolerance:
            aligned += area
    return aligned, total


def fidelity_report(mesh: Mesh, reference: Mesh, max_points: int = DEFAULT_POINTS,
                    seed: int = 0) -> Dict[str, float]:
    """Surface distances (mm) between ``mesh`` and ``reference`` (both LPS mm) and the
    staircase index of ``mesh``; see the module docstring."""
    forward = signed_distances(sample_surface(mesh, max_points, seed), reference)
    backward = np.abs(signed_distances(sample_surface(reference, max_points, seed + 1), mesh))
    pooled = np.concatenate([np.abs(forward), backward])
    return {"mean_mm": float(pooled.mean()), "p95_mm": float(np.percentile(pooled, 95)),
            "max_mm": float(pooled.max()), "signed_mean_mm": float(forward.mean()),
            "staircase_index": staircase_index(mesh)}
