"""Grids and resampling: the challenge's coarse format, pyramid levels, trilinear resampling on sheared grids."""
import numpy as np
import pytest
from scipy import ndimage

from helpers import sheared_matrix
from VoxelRearrangementLib.grids.geometry import (
    CHALLENGE_COARSE_SHAPE,
    Grid,
    Mask,
    axis_aligned_scale,
    corner_aligned_grid,
    index_to_lps,
    intermediate_grid,
    upsampled_grid,
)
from VoxelRearrangementLib.grids.resample import (
    downsample,
    downsample_many,
    downsample_values,
    resample_mask,
)


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


@pytest.mark.parametrize("shape,out", [((17, 9, 6), (5, 3, 2)), ((40, 31, 12), (10, 8, 3)),
                                       ((33, 20, 64), (9, 5, 16))])
def test_separable_zoom_values_are_scipys_zoom(shape, out):
    # the mask touches the volume's faces (mirrored taps) and fills its middle (cropped box)
    values = (np.random.default_rng(3).random(shape) > 0.6).astype(np.uint8)
    expected = ndimage.zoom(values.astype(np.float64), np.array(out) / np.array(shape), order=2)
    got = downsample_values(Mask(values, np.eye(4)), out)
    assert np.abs(got - expected).max() < 1e-6  # float32 of values equal to ~1e-15
    small = np.zeros((70, 60, 50), np.uint8)
    small[30:40, 5:9, 20:45] = values[:10, :4, :25] if shape[2] >= 25 else 1
    both = downsample_many(Mask(small, np.eye(4)), [out, (35, 30, 25)])
    for mask, s in zip(both, [out, (35, 30, 25)]):
        zoomed = ndimage.zoom(small.astype(np.float64), np.array(s) / np.array(small.shape), order=2)
        assert np.array_equal(mask.array, zoomed > 0.5)


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
