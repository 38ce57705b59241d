"""Meshes for printing: volume and area, orientation, LPS geometry on sheared grids, topology checks, pieces, decimation, errors."""
import numpy as np
import pytest

from helpers import ball_mask, sheared_matrix
from VoxelRearrangementLib._shared.errors import VoxelRearrangementError
from VoxelRearrangementLib.grids.geometry import Mask
from VoxelRearrangementLib.io.meshes import read_mesh, write_mesh
from VoxelRearrangementLib.printing.meshing import Mesh, mask_to_mesh
from VoxelRearrangementLib.printing.printability import (
    edge_topology,
    mesh_components,
    printability_report,
    wall_thickness,
)


def test_sphere_volume_and_area_match_the_analytic_values(sphere):
    volume, area = 4 / 3 * np.pi * 10.0 ** 3, 4 * np.pi * 10.0 ** 2
    raw = mask_to_mesh(sphere, smoothing=0)
    smooth = mask_to_mesh(sphere)
    rep = printability_report(smooth)
    assert rep["watertight"] and rep["consistently_oriented"] and rep["outward_normals"]
    assert rep["pieces"] == 1 and rep["degenerate_triangles"] == 0
    assert rep["volume_ml"] * 1000 == pytest.approx(volume, rel=0.01)
    assert rep["area_mm2"] == pytest.approx(area, rel=0.02)
    # the staircase of raw marching cubes inflates the area; smoothing removes it
    assert raw.face_areas().sum() > 1.04 * area
    # non-shrinking smoothing: volume change within 1 %
    assert smooth.signed_volume_mm3() == pytest.approx(raw.signed_volume_mm3(), rel=0.01)
    assert np.allclose(rep["bbox_size_mm"], 20.0, atol=0.6)


def test_hollow_shell_reports_two_surfaces_with_the_cavity_facing_inwards():
    shell = ball_mask((12.0, 8.0))
    mesh = mask_to_mesh(shell)
    rep = printability_report(mesh)
    assert rep["watertight"] and rep["pieces"] == 1
    assert rep["shells"]["count"] == 1 and rep["cavities"]["count"] == 1
    assert rep["volume_ml"] * 1000 == pytest.approx(4 / 3 * np.pi * (12.0 ** 3 - 8.0 ** 3), rel=0.01)
    assert rep["area_mm2"] == pytest.approx(4 * np.pi * (12.0 ** 2 + 8.0 ** 2), rel=0.02)
    # the outer surface encloses the shell, the cavity wall a void (normals into the cavity)
    outer, = rep["shells"]["largest_volumes_ml"]
    assert outer * 1000 == pytest.approx(4 / 3 * np.pi * 12.0 ** 3, rel=0.02)
    assert rep["cavities"]["volume_ml"] * 1000 == pytest.approx(4 / 3 * np.pi * 8.0 ** 3, rel=0.02)
    # wall thickness by ray casting: 4 mm (rays from both surfaces cross the wall)
    t = wall_thickness(mesh, max_rays=3000)
    assert t["median"] == pytest.approx(4.0, abs=0.25) and t["min"] > 3.0


def test_normals_point_outwards_on_a_flipped_sheared_grid():
    m = sheared_matrix()
    assert np.linalg.det(m[:3, :3]) < 0  # the grid flips handedness
    arr = np.zeros((30, 30, 30), np.uint8)
    idx = np.indices(arr.shape)
    arr[np.sum((idx - 14.5) ** 2, axis=0) <= 10 ** 2] = 1
    mesh = mask_to_mesh(Mask(arr, m), smoothing=0.3)
    a, b, c = mesh.face_corners()
    centre = mesh.vertices.mean(axis=0)
    assert np.all(np.einsum("ij,ij->i", (a + b + c) / 3 - centre, mesh.face_normals()) > 0)
    assert edge_topology(mesh)["misoriented_edges"] == 0


def test_vertices_land_on_voxel_edges_in_lps_on_a_sheared_grid(tmp_path):
    m = sheared_matrix()
    arr = np.zeros((9, 8, 7), np.uint8)
    arr[3:6, 2:5, 4] = 1
    arr[4, 3, 5] = 1
    mesh = mask_to_mesh(Mask(arr, m), smoothing=0)
    ijk = np.linalg.solve(m[:3, :3], (mesh.vertices - m[:3, 3]).T).T
    # raw marching cubes: every vertex is half-way between a voxel inside and one outside
    frac = np.abs(ijk - np.round(ijk))
    assert np.all(np.sum(frac > 0.25, axis=1) == 1)
    assert np.allclose(np.sort(frac, axis=1)[:, 2], 0.5, atol=1e-5)
    half = np.argmax(frac, axis=1)
    lo = np.round(ijk).astype(int)
    rows = np.arange(len(ijk))
    lo[rows, half] = np.floor(ijk[rows, half]).astype(int)
    hi = lo.copy()
    hi[rows, half] += 1
    assert np.all(arr[tuple(lo.T)] != arr[tuple(hi.T)])
    # the STL keeps LPS millimetres; RAS flips x and y, and the header says which
    for space, sign in (("LPS", [1, 1, 1]), ("RAS", [-1, -1, 1])):
        path = write_mesh(tmp_path / f"m_{space}.stl", mesh, space=space)
        assert f"SPACE={space}".encode() in path.read_bytes()[:80]
        raw = np.fromfile(path, dtype=np.float32, offset=84 + 12, count=9)  # first facet's corners
        assert np.allclose(raw.reshape(3, 3) * sign, mesh.vertices[mesh.faces[0]], atol=1e-4)
        back = read_mesh(path)  # converted back to LPS
        assert np.allclose(np.sort(back.vertices, axis=0), np.sort(mesh.vertices, axis=0), atol=1e-4)


def test_topology_checks_fail_on_broken_meshes(sphere):
    mesh = mask_to_mesh(sphere, smoothing=0)
    holed = Mesh(mesh.vertices, mesh.faces[1:])
    rep = printability_report(holed)
    assert not rep["watertight"] and rep["boundary_edges"] == 3
    doubled = Mesh(mesh.vertices, np.vstack([mesh.faces, mesh.faces[:1, ::-1]]))
    rep = printability_report(doubled)
    assert not rep["watertight"] and rep["non_manifold_edges"] == 3
    flipped = mesh.faces.copy()
    flipped[0] = flipped[0, ::-1]
    rep = printability_report(Mesh(mesh.vertices, flipped))
    assert rep["misoriented_edges"] == 3 and not rep["consistently_oriented"]
    inside_out = printability_report(mesh.flipped())
    assert inside_out["watertight"] and not inside_out["outward_normals"]


def test_disconnected_pieces_are_kept_and_reported():
    a = ball_mask((5.0,), half_extent_mm=12.0)
    arr = a.array.copy()
    arr[:, :, :] = 0
    arr[2:10, 2:10, 2:10] = 1
    arr[20:30, 20:30, 20:30] = 1
    mesh = mask_to_mesh(Mask(arr, a.ijk_to_lps))
    count, labels = mesh_components(mesh)
    assert count == 2 and labels.shape == (mesh.triangle_count,)
    rep = printability_report(mesh)
    assert rep["pieces"] == 2 and rep["watertight"] and rep["cavities"]["count"] == 0
    assert rep["shells"]["largest_volumes_ml"][0] > rep["shells"]["largest_volumes_ml"][1] > 0


def test_decimation_keeps_a_closed_surface_and_the_volume(sphere):
    full = mask_to_mesh(sphere)
    half = mask_to_mesh(sphere, decimate=0.5)
    rep = printability_report(half)
    assert rep["watertight"] and rep["outward_normals"]
    assert half.triangle_count == pytest.approx(full.triangle_count / 2, rel=0.05)
    assert half.signed_volume_mm3() == pytest.approx(full.signed_volume_mm3(), rel=0.01)


def test_bad_requests_raise_clear_errors(sphere, tmp_path):
    with pytest.raises(VoxelRearrangementError, match="empty"):
        mask_to_mesh(Mask(np.zeros((4, 4, 4), np.uint8), np.eye(4)))
    with pytest.raises(VoxelRearrangementError, match="smoothing"):
        mask_to_mesh(sphere, smoothing=2)
    with pytest.raises(VoxelRearrangementError, match="decimate"):
        mask_to_mesh(sphere, decimate=1.0)
    mesh = mask_to_mesh(sphere)
    with pytest.raises(VoxelRearrangementError, match="unknown mesh format"):
        write_mesh(tmp_path / "x.vtk", mesh)
    with pytest.raises(VoxelRearrangementError, match="does not exist"):
        write_mesh(tmp_path / "missing" / "x.stl", mesh)
    with pytest.raises(VoxelRearrangementError, match="empty"):
        write_mesh(tmp_path / "x.stl", Mesh(np.zeros((0, 3)), np.zeros((0, 3))))
