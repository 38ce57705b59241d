"""The safety net: an opening left in the middle of an implant is closed by interpolating the
skull's shell, and the patch follows the true skull's contour; a closed implant is kept."""
import numpy as np
import pytest
from scipy import ndimage

from VoxelRearrangementLib import Mask, defect_coverage, read_mask
from VoxelRearrangementLib.evaluation.metrics import dice
from VoxelRearrangementLib.printing.openings import close_openings


@pytest.fixture(scope="module")
def case069(sample_dir):
    return read_mask(sample_dir / "skull069_defective.nrrd"), read_mask(sample_dir / "skull069_implant.nrrd")


def with_hole(implant: Mask, radius_voxels: float = 40) -> Mask:
    """The implant with a hole through its middle (as a completion can leave in a large defect)."""
    array = np.ascontiguousarray(implant.array).copy()
    centre = np.argwhere(array).mean(axis=0)
    i, j = np.indices(array.shape[:2])
    array[np.hypot(i - centre[0], j - centre[1]) < radius_voxels] = 0
    return Mask(array, implant.ijk_to_lps)


def test_an_opening_is_closed_along_the_skulls_contour(case069):
    defective, truth = case069
    holed = with_hole(truth)
    assert defect_coverage(defective, holed)["closed_fraction"] < 0.9
    fixed, report = close_openings(defective, holed)
    assert report["open_rays_before"] > 20 and report["open_rays_after"] == 0
    assert defect_coverage(defective, fixed)["closed_fraction"] == 1.0
    assert dice(fixed.array, truth.array) > dice(holed.array, truth.array) + 0.03
    added = fixed.array.astype(bool) & ~holed.array.astype(bool)
    away = ndimage.distance_transform_edt(~truth.array.astype(bool), sampling=truth.grid.spacing)
    assert np.percentile(away[added], 95) <= 1.5  # mm from the true implant: it follows the contour
    assert not (fixed.array & defective.array).any()


def test_a_closed_implant_is_left_as_it_is(case069):
    defective, truth = case069
    same, report = close_openings(defective, truth)
    assert report["open_rays_before"] == 0 and report["added_ml"] == 0.0
    assert np.array_equal(same.array, truth.array)
