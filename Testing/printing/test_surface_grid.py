"""Exact distances and ray hits through the grid of cells, against brute force and VTK."""
import numpy as np
import pytest

from helpers import ball_mask, sheared_matrix
from VoxelRearrangementLib import Mask, mask_to_mesh
from VoxelRearrangementLib.printing.surface_grid import SurfaceGrid


def brute_force(points, v, f):
    """Distance to each triangle by projecting onto its plane / edges / corners, numpy."""
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    out = []
    for p in points:
        best = np.inf
        for x, y, z in zip(a, b, c):
            best = min(best, _point_triangle(p, x, y, z))
        out.append(best)
    return np.array(out)


def _point_triangle(p, a, b, c):
    n = np.cross(b - a, c - a)
    n = n / np.linalg.norm(n)
    q = p - (p - a) @ n * n  # projection on the plane
    inside = all(np.cross(e1 - e0, q - e0) @ n >= 0 for e0, e1 in ((a, b), (b, c), (c, a)))
    if inside:
        return abs((p - a) @ n)

    def seg(x, y):
        t = np.clip((p - x) @ (y - x) / ((y - x) @ (y - x)), 0, 1)
        return np.linalg.norm(p - (x + t * (y - x)))
    return min(seg(a, b), seg(b, c), seg(c, a))


def test_distances_equal_brute_force_near_inside_and_far():
    rng = np.random.default_rng(2)
    v = rng.random((60, 3)) * 10
    f = np.array([rng.choice(60, 3, replace=False) for _ in range(40)])
    points = np.vstack([v[:20] + rng.normal(0, 0.3, (20, 3)), rng.random((20, 3)) * 10,
                        rng.random((5, 3)) * 80 - 40])
    got = SurfaceGrid(v, f).distances(points)
    assert np.allclose(got, brute_force(points, v, f), atol=1e-9)


def test_distances_to_a_sheared_ball_equal_vtk():
    from vtkmodules.util import numpy_support
    from vtkmodules.vtkCommonCore import vtkDoubleArray
    from vtkmodules.vtkFiltersCore import vtkImplicitPolyDataDistance

    from VoxelRearrangementLib.printing.meshing import mesh_to_polydata
    ball = ball_mask((10.0, 7.0))
    mesh = mask_to_mesh(Mask(ball.array, sheared_matrix()))
    rng = np.random.default_rng(0)
    points = np.vstack([mesh.vertices[rng.choice(len(mesh.vertices), 3000)] + rng.normal(0, 0.4, (3000, 3)),
                        mesh.vertices.mean(axis=0) + rng.normal(0, 8.0, (500, 3))])
    implicit = vtkImplicitPolyDataDistance()
    implicit.SetInput(mesh_to_polydata(mesh))
    out = vtkDoubleArray()
    implicit.FunctionValue(numpy_support.numpy_to_vtk(points, deep=True), out)
    got = SurfaceGrid(mesh.vertices, mesh.faces).distances(points)
    assert got == pytest.approx(np.abs(numpy_support.vtk_to_numpy(out)), abs=1e-9)


def test_a_mesh_without_faces_is_refused():
    with pytest.raises(ValueError, match="without faces"):
        SurfaceGrid(np.zeros((3, 3)), np.zeros((0, 3), dtype=np.int64))


def test_first_hits_equal_brute_force():
    rng = np.random.default_rng(5)
    v = rng.random((90, 3)) * 10
    f = np.array([rng.choice(90, 3, replace=False) for _ in range(60)])
    starts = rng.random((300, 3)) * 14 - 2
    ends = starts + rng.normal(0, 8, (300, 3))
    got = SurfaceGrid(v, f).first_hits(starts, ends)
    expected = np.full(len(starts), np.inf)
    for r, (o, e) in enumerate(zip(starts, ends)):
        for a, b, c in v[f]:
            # the segment's parameter where it meets the plane, then inside the triangle?
            n = np.cross(b - a, c - a)
            denom = (e - o) @ n
            if denom == 0:
                continue
            t = (a - o) @ n / denom
            x = o + t * (e - o)
            inside = all(np.cross(q1 - q0, x - q0) @ n >= 0 for q0, q1 in ((a, b), (b, c), (c, a)))
            if 0 <= t <= 1 and inside:
                expected[r] = min(expected[r], t)
    assert np.isfinite(expected).sum() > 30  # enough segments hit something
    assert np.allclose(got, expected, atol=1e-9)
