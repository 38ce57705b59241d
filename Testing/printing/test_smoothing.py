"""Windowed-sinc smoothing: the compiled filter against VTK's own on closed, open and
non-manifold meshes, on sheared grids, for any number of threads."""
import numpy as np
import pytest

from helpers import ball_mask, sheared_matrix, shell
from VoxelRearrangementLib.printing.meshing import Mesh, iso_surface, mesh_to_polydata, polydata_to_arrays
from VoxelRearrangementLib.printing.smoothing import chebyshev_coefficients, windowed_sinc


def vtk_windowed_sinc(vertices, faces, iterations, pass_band):
    """VTK's filter with the settings of this package (the reference)."""
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkFiltersCore import vtkWindowedSincPolyDataFilter
    f = vtkWindowedSincPolyDataFilter()
    f.SetInputData(mesh_to_polydata(Mesh(vertices, faces)))
    f.SetNumberOfIterations(iterations)
    f.SetPassBand(pass_band)
    f.BoundarySmoothingOff()
    f.FeatureEdgeSmoothingOff()
    f.NonManifoldSmoothingOn()
    f.NormalizeCoordinatesOn()
    f.Update()
    return vtk_to_numpy(f.GetOutput().GetPoints().GetData()).astype(np.float64)


def surface(mask):
    return polydata_to_arrays(iso_surface(mask))


@pytest.fixture(scope="module")
def skull_surface():
    return surface(shell(matrix=sheared_matrix()))


@pytest.mark.parametrize("iterations,pass_band", [(60, 1e-4), (20, 1e-2), (5, 0.5)])
def test_a_closed_surface_is_smoothed_as_vtk_smooths_it(skull_surface, iterations, pass_band):
    vertices, faces = skull_surface
    ours = windowed_sinc(vertices, faces, iterations, pass_band)
    theirs = vtk_windowed_sinc(vertices, faces, iterations, pass_band)
    assert np.abs(ours - vertices).max() > 1e-3        # it did smooth (mm)
    assert np.abs(ours - theirs).max() < 1e-9


def test_boundaries_and_non_manifold_edges_are_treated_as_vtk_treats_them():
    vertices, faces = surface(ball_mask((10.0,)))
    centre = vertices.mean(axis=0)
    # open: the faces of a cap removed (boundary edges; corners with more than two of them)
    open_faces = faces[vertices[faces].mean(axis=1)[:, 0] < centre[0] + 6.0]
    # non-manifold: a second, shifted copy of the sphere sharing one band of the vertices
    shifted = vertices + [25.0, 0.0, 0.0]
    both = np.concatenate([vertices, shifted])
    second = faces + len(vertices)
    near = np.abs(vertices[:, 0] - vertices[:, 0].max()) < 0.3
    remap = np.arange(len(both))
    remap[len(vertices):][near] = np.flatnonzero(near)   # glue: those vertices are shared
    glued = np.concatenate([faces, remap[second]])
    for v, f in ((vertices, open_faces), (both, glued)):
        ours = windowed_sinc(v, f, 20, 0.01)
        assert np.abs(ours - vtk_windowed_sinc(v, f, 20, 0.01)).max() < 1e-9


def test_the_result_does_not_depend_on_the_number_of_threads(skull_surface):
    vertices, faces = skull_surface
    one = windowed_sinc(vertices, faces, 20, 0.01, threads=1)
    from VoxelRearrangementLib.printing import smoothing
    previous = smoothing._MIN_VERTICES_PER_THREAD
    smoothing._MIN_VERTICES_PER_THREAD = 100           # this small mesh split over 3 threads
    try:
        assert np.array_equal(one, windowed_sinc(vertices, faces, 20, 0.01, threads=3))
    finally:
        smoothing._MIN_VERTICES_PER_THREAD = previous


def test_the_filter_passes_its_pass_band_and_nothing_degenerate_breaks_it():
    for iterations, pass_band in ((60, 1e-4), (20, 1e-2)):
        c = chebyshev_coefficients(iterations, pass_band)
        k = np.arange(iterations + 1)
        assert c @ np.cos(k * np.arccos(1 - pass_band / 2)) == pytest.approx(1.0, abs=1e-3)
    v = np.random.default_rng(0).normal(size=(5, 3))
    assert np.array_equal(windowed_sinc(v, np.zeros((0, 3), int), 20, 0.1), v)
    assert np.array_equal(windowed_sinc(v, [[0, 1, 2]], 0, 0.1), v)
