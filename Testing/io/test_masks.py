"""Mask files with their geometry: every format, sheared grids, Slicer segmentations, errors."""
import nibabel as nib
import nrrd
import numpy as np
import pytest

from helpers import sheared_matrix
from VoxelRearrangementLib._shared.arrays import c_order, fortran_order
from VoxelRearrangementLib._shared.errors import VoxelRearrangementError
from VoxelRearrangementLib.io.masks import read_grid, read_mask, write_mask


@pytest.mark.parametrize("name", ["m.nrrd", "m.seg.nrrd", "m.nii", "m.nii.gz"])
def test_round_trip_keeps_voxels_and_sheared_geometry(tmp_path, sheared_mask, name):
    path = write_mask(tmp_path / name, sheared_mask)
    back = read_mask(path)
    assert np.array_equal(back.array, sheared_mask.array)
    assert np.allclose(back.ijk_to_lps, sheared_mask.ijk_to_lps, atol=1e-5)
    assert read_grid(path).same_as(sheared_mask.grid)
    assert not list(tmp_path.glob(".tmp-*")), "temporary files left behind"


@pytest.mark.parametrize("shape", [(37, 18, 21), (5, 40, 3)])
def test_blocked_copies_between_c_and_fortran_order_keep_every_voxel(shape):
    array = np.random.default_rng(1).integers(0, 255, shape, dtype=np.uint8)
    f = fortran_order(array)
    assert f.flags.f_contiguous and np.array_equal(f, array)
    c = c_order(np.asfortranarray(array))
    assert c.flags.c_contiguous and np.array_equal(c, array)
    assert c_order(array) is array


def test_nifti_is_stored_in_ras(tmp_path, sheared_mask):
    write_mask(tmp_path / "m.nii.gz", sheared_mask)
    affine = nib.load(str(tmp_path / "m.nii.gz")).affine
    assert np.allclose(affine, np.diag([-1, -1, 1, 1]) @ sheared_mask.ijk_to_lps, atol=1e-5)


def test_ras_nrrd_is_converted_to_lps(tmp_path):
    m = sheared_matrix()
    ras = np.diag([-1, -1, 1, 1]) @ m
    nrrd.write(str(tmp_path / "ras.nrrd"), np.ones((3, 4, 5), np.uint8),
               {"space": "right-anterior-superior", "space directions": ras[:3, :3].T,
                "space origin": ras[:3, 3], "kinds": ["domain"] * 3})
    assert np.allclose(read_mask(tmp_path / "ras.nrrd").ijk_to_lps, m)


def test_seg_nrrd_written_is_a_single_slicer_segment(tmp_path, sheared_mask):
    write_mask(tmp_path / "s.seg.nrrd", sheared_mask, segment_name="skull")
    header = nrrd.read_header(str(tmp_path / "s.seg.nrrd"))
    assert header["Segment0_Name"] == "skull" and header["Segment0_LabelValue"] == "1"
    assert header["space"] == "left-posterior-superior"


def test_multi_segment_needs_a_choice(tmp_path):
    data = np.zeros((6, 6, 6), np.uint8)
    data[1:3] = 1
    data[4:6] = 2
    header = {"space": "left-posterior-superior", "space directions": np.eye(3),
              "space origin": np.zeros(3), "kinds": ["domain"] * 3,
              "Segment0_ID": "a", "Segment0_Name": "bone", "Segment0_LabelValue": "1",
              "Segment0_Layer": "0", "Segment1_ID": "b", "Segment1_Name": "implant",
              "Segment1_LabelValue": "2", "Segment1_Layer": "0"}
    path = tmp_path / "two.seg.nrrd"
    nrrd.write(str(path), data, header, custom_field_map={k: "string" for k in header if k.startswith("Seg")})
    with pytest.raises(VoxelRearrangementError, match="2 segments.*bone.*implant"):
        read_mask(path)
    assert read_mask(path, segment="implant").array.sum() == 2 * 36
    with pytest.raises(VoxelRearrangementError, match="no segment"):
        read_mask(path, segment="brain")


def test_non_binary_and_unreadable_inputs_are_named(tmp_path):
    nrrd.write(str(tmp_path / "ct.nrrd"), np.arange(27, dtype=np.int16).reshape(3, 3, 3))
    with pytest.raises(VoxelRearrangementError, match="not a binary mask"):
        read_mask(tmp_path / "ct.nrrd")
    (tmp_path / "junk.nrrd").write_bytes(b"not a nrrd file")
    with pytest.raises(VoxelRearrangementError, match="junk.nrrd"):
        read_mask(tmp_path / "junk.nrrd")
    with pytest.raises(VoxelRearrangementError, match="unknown mask format"):
        read_mask(tmp_path / "mask.png")
    with pytest.raises(VoxelRearrangementError, match="no such file"):
        read_mask(tmp_path / "missing.nrrd")


def test_write_to_missing_folder_is_a_clear_error(tmp_path, sheared_mask):
    with pytest.raises(VoxelRearrangementError, match="does not exist"):
        write_mask(tmp_path / "nope" / "m.nrrd", sheared_mask)
