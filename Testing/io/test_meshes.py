"""Mesh files: STL, PLY and OBJ round trips with their world convention."""
import pytest

from VoxelRearrangementLib.io.meshes import read_mesh, write_mesh
from VoxelRearrangementLib.printing.meshing import mask_to_mesh
from VoxelRearrangementLib.printing.printability import printability_report


@pytest.mark.parametrize("suffix", [".stl", ".ply", ".obj"])
def test_writers_round_trip_a_watertight_mesh(sphere, tmp_path, suffix):
    mesh = mask_to_mesh(sphere)
    path = write_mesh(tmp_path / f"sphere{suffix}", mesh)
    back = read_mesh(path)
    rep = printability_report(back)
    assert rep["watertight"] and rep["outward_normals"] and rep["triangles"] == mesh.triangle_count
    assert rep["volume_ml"] == pytest.approx(mesh.signed_volume_mm3() / 1000, rel=1e-5)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left
