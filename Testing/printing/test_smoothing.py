"""Windowed-sinc smoothing: the compiled filter against VTK's own on closed, open and
non-manifold meshes, on sheared grids, for any number of threads; bad input."""
import numpy as np
import pytest

from helpers import ball_mask, sheared_matrix, shell
from VoxelRearrangementLib import VoxelRearrangementError
from VoxelRearrangementLib.printing import smoothing
from VoxelRearrangementLib.printing.meshing import iso_surface, polydata_to_arrays
from VoxelRearrangementLib.printing.smoothing import chebyshev_coefficients, vtk_windowed_sinc, windowed_sinc


def vtk_has_the_filter() -> bool:
    from vtkmodules.vtkFiltersCore import vtkWindowedSincPolyDataFilter
    return hasattr(vtkWindowedSincPolyDataFilter(), "SetWindowFunctionToNuttall")


#: The comparisons with VTK need a VTK whose filter has the Nuttall window (9.3 has none).
needs_vtk_nuttall = pytest.mark.skipif(
    not vtk_has_the_filter(), reason="this VTK's windowed sinc has only a Hamming window, not "
    "the Nuttall filter reproduced here: nothing to compare with (the pinned VTK 9.6 has it)")


def surface(mask):
    return polydata_to_arrays(iso_surface(mask))


def same_as_vtk(vertices, faces, iterations=20, pass_band=0.01):
    ours = windowed_sinc(vertices, faces, iterations, pass_band)
    return np.abs(ours - vtk_windowed_sinc(vertices, faces, iterations, pass_band)).max() < 1e-9


def grid_patch(n=12, seed=0):
    """An open, jittered, curved n x n patch of triangles (its border: boundary edges that
    bend, so boundary vertices move)."""
    rng = np.random.default_rng(seed)
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    vertices = np.stack([i, j, 0.05 * (i - n / 2) ** 2], axis=-1).reshape(-1, 3).astype(float)
    vertices += rng.normal(scale=0.15, size=vertices.shape)
    k = (i[:-1, :-1] * n + j[:-1, :-1]).ravel()
    faces = np.concatenate([np.stack([k, k + n, k + 1], 1), np.stack([k + 1, k + n, k + n + 1], 1)])
    return vertices, faces


@pytest.fixture(scope="module")
def skull_surface():
    return surface(shell(matrix=sheared_matrix()))


@needs_vtk_nuttall
@pytest.mark.parametrize("iterations,pass_band", [(60, 1e-4), (20, 1e-2), (5, 0.5)])
def test_a_closed_surface_is_smoothed_as_vtk_smooths_it(skull_surface, iterations, pass_band):
    vertices, faces = skull_surface
    ours = windowed_sinc(vertices, faces, iterations, pass_band)
    assert np.abs(ours - vertices).max() > 1e-3        # it did smooth (mm)
    assert same_as_vtk(vertices, faces, iterations, pass_band)


@needs_vtk_nuttall
def test_boundaries_and_non_manifold_edges_are_treated_as_vtk_treats_them():
    # an open patch whose boundary bends: its boundary vertices slide along it (or stay where
    # the boundary turns by more than 15 degrees)
    vertices, faces = grid_patch()
    moved = np.abs(windowed_sinc(vertices, faces, 20, 0.01) - vertices).max(axis=1)
    border = np.zeros((12, 12), bool)
    border[[0, -1], :] = border[:, [0, -1]] = True
    assert moved[border.ravel()].max() > 0.05
    assert same_as_vtk(vertices, faces)
    # a face doubled at the border: vertex 1 keeps its two boundary edges but gets two
    # non-manifold ones (fixed); a fin on an inner edge (non-manifold: every use counted)
    fin = len(vertices)
    extra = np.array([[1, 13, 12], [50, 51, fin]])
    assert same_as_vtk(np.concatenate([vertices, [[2.0, 4.5, 3.0]]]), np.concatenate([faces, extra]))
    # a closed sphere with its cap removed, and two spheres glued along a band of vertices
    vertices, faces = surface(ball_mask((10.0,)))
    open_faces = faces[vertices[faces].mean(axis=1)[:, 0] < vertices[:, 0].mean() + 6.0]
    both = np.concatenate([vertices, vertices + [25.0, 0.0, 0.0]])
    near = np.abs(vertices[:, 0] - vertices[:, 0].max()) < 0.3
    remap = np.arange(len(both))
    remap[len(vertices):][near] = np.flatnonzero(near)   # glue: those vertices are shared
    glued = np.concatenate([faces, remap[faces + len(vertices)]])
    assert same_as_vtk(vertices, open_faces)
    assert same_as_vtk(both, glued)


def test_the_result_does_not_depend_on_the_number_of_threads(skull_surface, monkeypatch):
    vertices, faces = skull_surface
    one = windowed_sinc(vertices, faces, 20, 0.01, threads=1)
    monkeypatch.setattr(smoothing, "_MIN_VERTICES_PER_THREAD", 100)  # this small mesh in 3 threads
    assert np.array_equal(one, windowed_sinc(vertices, faces, 20, 0.01, threads=3))


def test_the_filter_passes_its_pass_band_and_degenerate_meshes_are_handled():
    for iterations, pass_band in ((60, 1e-4), (20, 1e-2)):
        c = chebyshev_coefficients(iterations, pass_band)
        k = np.arange(iterations + 1)
        assert c @ np.cos(k * np.arccos(1 - pass_band / 2)) == pytest.approx(1.0, abs=1e-3)
    v = np.random.default_rng(0).normal(size=(5, 3))
    assert np.array_equal(windowed_sinc(v, np.zeros((0, 3), int), 20, 0.1), v)
    assert np.array_equal(windowed_sinc(v, [[0, 1, 2]], 0, 0.1), v)
    assert windowed_sinc(np.zeros((0, 3)), np.zeros((0, 3), int), 20, 0.1).shape == (0, 3)
    with pytest.raises(VoxelRearrangementError, match="does not exist"):
        windowed_sinc(v, [[0, 1, 10 ** 6]], 5, 0.1)
    with pytest.raises(VoxelRearrangementError, match="does not exist"):
        windowed_sinc(v, [[0, 1, -1]], 5, 0.1)
    with pytest.raises(VoxelRearrangementError, match="at least 1 iteration"):
        chebyshev_coefficients(0, 0.1)


@needs_vtk_nuttall
def test_an_isolated_vertex_and_few_iterations_are_smoothed_as_vtk_smooths_them():
    vertices, faces = grid_patch(6)
    far = np.concatenate([vertices, [[100.0, 100.0, 100.0]]])   # an isolated vertex
    for iterations in (1, 10):
        assert same_as_vtk(far, faces, iterations, 0.1)
