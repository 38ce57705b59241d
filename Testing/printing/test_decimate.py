"""Decimation keeps the mesh watertight, in the same pieces and within 0.1 mm of the surface;
the skull of ``run`` fits in 30 MB of STL."""
import numpy as np
import pytest

from helpers import ball_mask, sheared_matrix
from VoxelRearrangementLib import Mask, mask_to_mesh, printability_report, read_mask
from VoxelRearrangementLib.printing.decimate import (
    decimated,
    surface_deviation,
    surface_distances,
    triangles_for_megabytes,
)
from VoxelRearrangementLib.printing.meshing import Mesh


def assert_closed_and_close(full, fewer, within_mm=0.1):
    rep = printability_report(fewer)
    assert rep["watertight"] and rep["non_manifold_edges"] == 0 and rep["consistently_oriented"]
    assert rep["pieces"] == printability_report(full)["pieces"]
    assert rep["cavities"]["count"] == printability_report(full)["cavities"]["count"]
    assert surface_deviation(full, fewer)["max_mm"] <= within_mm
    assert fewer.signed_volume_mm3() == pytest.approx(full.signed_volume_mm3(), rel=0.002)


def test_a_full_resolution_skull_fits_in_30_mb_within_a_tenth_of_a_mm(sample_dir):
    full = mask_to_mesh(read_mask(sample_dir / "skull069_complete.nrrd"))
    budget = triangles_for_megabytes(30.0)
    assert full.triangle_count > 3 * budget  # 2.3 M triangles, 115 MB
    fewer = decimated(full, budget)
    assert fewer.triangle_count <= budget
    assert_closed_and_close(full, fewer)


def test_a_sheared_hollow_shell_keeps_its_cavity():
    shell = ball_mask((12.0, 8.0))
    shell = Mask(shell.array, sheared_matrix() @ np.diag([1.0, 1.0, 1.0, 1.0]))
    full = mask_to_mesh(shell)
    fewer = decimated(full, full.triangle_count // 3)
    assert fewer.triangle_count < full.triangle_count // 2
    assert_closed_and_close(full, fewer)


def test_the_tolerance_wins_over_the_target(sphere):
    """A small sphere cannot lose 99% of its triangles within 0.02 mm: decimation stops."""
    full = mask_to_mesh(sphere)
    fewer = decimated(full, full.triangle_count // 100, tolerance_mm=0.02)
    assert fewer.triangle_count > full.triangle_count // 10
    assert surface_deviation(full, fewer)["max_mm"] <= 0.02


def test_surface_distances_are_distances_to_the_surface(sphere):
    mesh = mask_to_mesh(sphere, smoothing=0.0)
    centre = mesh.vertices.mean(axis=0)
    radius = np.linalg.norm(mesh.vertices - centre, axis=1).mean()
    points = centre + np.array([[radius + 5.0, 0, 0], [0, 0, 0]])
    d = surface_distances(points, mesh)
    assert d[0] == pytest.approx(5.0, abs=0.5) and d[1] == pytest.approx(radius, abs=0.5)


def test_slabs_decimated_apart_still_meet_the_budget_together(monkeypatch):
    """A box (flat: decimates far) beside a ball (curved: stops early, within 0.1 mm) in two
    slabs: the box's slab takes over what the ball's cannot remove; seams stay closed."""
    from VoxelRearrangementLib.printing import decimate
    array = np.zeros((70, 30, 30), np.uint8)
    array[4:30, 4:26, 4:26] = 1
    x, y, z = np.mgrid[:70, :30, :30]
    array[(x - 50) ** 2 + (y - 15) ** 2 + (z - 15) ** 2 <= 81] = 1
    full = mask_to_mesh(Mask(array, sheared_matrix()))
    monkeypatch.setattr(decimate, "MIN_PART_FACES", 100)
    budget = 2000
    alone = []
    for p in decimate._slabs(full.vertices, full.faces, 2)[None, :] == np.arange(2)[:, None]:
        piece = full.faces[p]
        alone.append(len(decimate.decimate_mesh(full.vertices, piece, budget // 2, 0.1, parts=1)[1]))
    assert max(alone) > budget // 2 >= min(alone)  # one slab alone cannot reach its half
    v, f = decimate.decimate_mesh(full.vertices, full.faces, budget, 0.1, parts=2)
    fewer = Mesh(v, f)
    assert fewer.triangle_count <= budget
    assert_closed_and_close(full, fewer)
