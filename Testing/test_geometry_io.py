"""Masks with geometry: reading and writing every format, sheared grids, the coarse format."""
import nibabel as nib
import nrrd
import numpy as np
import pytest
from scipy import ndimage

from conftest import sheared_matrix
from VoxelRearrangementLib.errors import VoxelRearrangementError
from VoxelRearrangementLib.geometry import (CHALLENGE_COARSE_SHAPE, Grid, axis_aligned_scale,
                                            corner_aligned_grid, index_to_lps, intermediate_grid,
                                            upsampled_grid)
from VoxelRearrangementLib.mask_io import Mask, read_grid, read_mask, write_mask
from VoxelRearrangementLib.resample import downsample, resample_mask


@pytest.fixture
def sheared_mask():
    rng = np.random.default_rng(0)
    array = (rng.random((20, 17, 11)) > 0.7).astype(np.uint8)
    return Mask(array, sheared_matrix())


@pytest.mark.parametrize("name", ["m.nrrd", "m.seg.nrrd", "m.nii", "m.nii.gz"])
def test_round_trip_keeps_voxels_and_sheared_geometry(tmp_path, sheared_mask, name):
    path = write_mask(tmp_path / name, sheared_mask)
    back = read_mask(path)
    assert np.array_equal(back.array, sheared_mask.array)
    assert np.allclose(back.ijk_to_lps, sheared_mask.ijk_to_lps, atol=1e-5)
    assert read_grid(path).same_as(sheared_mask.grid)
    assert not list(tmp_path.glob(".tmp-*")), "temporary files left behind"


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


def test_downsample_is_the_challenge_zoom_with_corner_aligned_geometry(sheared_mask):
    rng = np.random.default_rng(1)
    hr = Mask(ndimage.binary_opening(rng.random((64, 60, 40)) > 0.4).astype(np.uint8),
              sheared_matrix())
    coarse = downsample(hr, (16, 15, 10))
    expected = ndimage.zoom(hr.array.astype(np.int32), (16 / 64, 15 / 60, 10 / 40), order=2) > 0.5
    assert np.array_equal(coarse.array, expected)
    # first and last voxel centres coincide in world space (not the challenge files' spacing)
    for corner_hr, corner_c in [((0, 0, 0), (0, 0, 0)), ((63, 59, 39), (15, 14, 9))]:
        assert np.allclose(index_to_lps(hr.ijk_to_lps, np.array([corner_hr])),
                           index_to_lps(coarse.ijk_to_lps, np.array([corner_c])))
    assert np.allclose(coarse.grid.spacing, hr.grid.spacing * (np.array([63, 59, 39]) / [15, 14, 9]))


def test_downsample_of_a_small_object_in_a_large_volume_equals_zoom():
    """The prefilter runs on a crop around the object: results must not change."""
    array = np.zeros((90, 80, 50), np.uint8)
    array[30:52, 20:41, 5:30] = ndimage.binary_opening(np.random.default_rng(2).random((22, 21, 25)) > 0.3)
    hr = Mask(array, sheared_matrix())
    for shape in [(23, 20, 13), (45, 40, 25), (16, 16, 8)]:
        expected = ndimage.zoom(array.astype(np.int32), np.array(shape) / array.shape, order=2) > 0.5
        assert np.array_equal(downsample(hr, shape).array, expected)
    assert not downsample(Mask(np.zeros((9, 9, 9), np.uint8), np.eye(4)), (3, 3, 3)).array.any()


def test_grids_between_levels_are_axis_aligned_and_not_index_div_4():
    hr = Grid((512, 512, 237), sheared_matrix())
    coarse = corner_aligned_grid(hr, CHALLENGE_COARSE_SHAPE)
    scale, offset = axis_aligned_scale(coarse, hr)
    assert np.allclose(offset, 0) and np.allclose(scale, [127 / 511, 127 / 511, 63 / 236])
    assert not np.allclose(scale, 0.25)  # a fine voxel's parent is not index // 4
    mid = intermediate_grid(coarse, hr)
    assert mid.shape == (256, 256, 123)
    assert upsampled_grid(coarse).shape == (512, 512, 256)


def test_trilinear_resampling_is_separable_on_aligned_grids_and_general_otherwise(sheared_mask):
    coarse = downsample(Mask(ndimage.binary_dilation(sheared_mask.array, iterations=2).astype(np.uint8),
                             sheared_mask.ijk_to_lps), (10, 9, 6))
    fine = upsampled_grid(coarse.grid, 2)
    separable = resample_mask(coarse, fine).array
    rotated = Grid(fine.shape, fine.ijk_to_lps @ np.diag([1, 1, 1, 1.0]))
    rotated_m = rotated.ijk_to_lps.copy()
    rotated_m[:3, :3] = rotated_m[:3, :3] @ np.array([[1, 1e-3, 0], [0, 1, 0], [0, 0, 1]])
    general = resample_mask(coarse, Grid(fine.shape, rotated_m)).array
    assert np.mean(separable == general) > 0.98
