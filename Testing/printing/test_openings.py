"""The safety net: an opening left in the middle of an implant is closed by interpolating the
skull's shell, and the patch follows the true skull's contour; a closed implant is kept."""
import numpy as np
import pytest
from scipy import ndimage

from helpers import implant_with_hole
from VoxelRearrangementLib import Mask, defect_coverage, read_mask
from VoxelRearrangementLib.evaluation.closure import closure, skull_centre
from VoxelRearrangementLib.evaluation.metrics import dice
from VoxelRearrangementLib.learned.completion.defects import circular_defect, cut_skull
from VoxelRearrangementLib.printing.openings import close_openings


@pytest.fixture(scope="module")
def case069(sample_dir):
    return read_mask(sample_dir / "skull069_defective.nrrd"), read_mask(sample_dir / "skull069_implant.nrrd")


def test_an_opening_is_closed_along_the_skulls_contour(case069):
    defective, truth = case069
    holed = implant_with_hole(truth, 40)
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


def test_an_opening_far_from_the_implant_is_not_its_to_close(case069):
    """A second hole in the skull (as a natural opening of a tilted head can look), away from
    the implant: the safety net leaves it, so the implant stays one piece."""
    defective, truth = case069
    centre = skull_centre(defective)
    towards = truth.ijk_to_lps[:3, :3] @ (np.argwhere(truth.array[::4, ::4, ::4]).mean(axis=0) * 4) \
        + truth.ijk_to_lps[:3, 3] - centre
    away = np.array([-towards[0], -towards[1], np.hypot(towards[0], towards[1])])  # other side, up
    holed_skull, _ = cut_skull(defective, circular_defect(away, 15.0), centre)
    assert defect_coverage(holed_skull, truth)["closed_fraction"] < 1.0  # the far hole counts there
    fixed, report = close_openings(holed_skull, truth)
    assert report["open_rays_before"] == 0 and report["added_ml"] == 0.0
    assert np.array_equal(fixed.array, truth.array)


def test_a_defect_the_network_left_wholly_open_is_closed(case069):
    """No implant at all in the defect (what a completion network can give for a defect unlike
    any it was trained on): the largest opening is the implant's, and is patched."""
    defective, truth = case069
    nothing = truth.array.copy()
    nothing[:] = 0
    empty = type(truth)(nothing, truth.ijk_to_lps)
    fixed, report = close_openings(defective, empty)
    assert report["open_rays_before"] > 100 and report["open_rays_after"] == 0
    assert defect_coverage(defective, fixed)["closed_fraction"] >= 0.99
    assert dice(fixed.array, truth.array) > 0.6


@pytest.mark.parametrize("where", ["left", "front"])
def test_a_defect_reaching_below_the_vault_cone_is_closed_there_too(sample_dir, where):
    """A defect cut low (centred 25 degrees below the horizontal) into the complete skull, on
    the left side or straight ahead across the midline, and no implant at all: the patch
    covers the defect's lower rays as well (followed by left-right symmetry, or in the front
    wedge)."""
    complete = read_mask(sample_dir / "skull069_complete.nrrd")
    e = np.deg2rad(-25.0)
    direction = np.array([np.cos(e), 0.0, np.sin(e)]) if where == "left" else \
        np.array([0.0, -np.cos(e), np.sin(e)])
    defective, truth = cut_skull(complete, circular_defect(direction, 35.0), skull_centre(complete))
    empty = Mask(np.zeros_like(defective.array), defective.ijk_to_lps)
    fixed, report = close_openings(defective, empty)
    coverage = defect_coverage(defective, fixed)
    assert coverage["defect_rays"] > 180 and coverage["closed_fraction"] >= 0.99
    assert closure(defective, fixed, truth)["closed_fraction"] >= 0.99  # the cut, not the rule


def test_the_patch_continues_the_outer_shell_not_bone_inside_it():
    """A vault (a shell 54-60 mm from the origin) with a hole in the middle of its implant,
    and a plate of bone inside the head under part of the opening (as the orbital roof lies
    under a fronto-orbital defect): the patch stays in the outer shell."""
    h, n = 1.5, 90
    matrix = np.diag([h, h, h, 1.0])
    matrix[:3, 3] = -(n - 1) / 2 * h
    x, y, z = np.indices((n, n, n)) * h - (n - 1) / 2 * h
    r = np.sqrt(x ** 2 + y ** 2 + z ** 2)
    shell = (r >= 54) & (r <= 60) & (z > -20)
    cap = shell & (z > r * np.sin(np.deg2rad(55)))
    ring = cap & (z < r * np.sin(np.deg2rad(70)))
    plate = (z >= 30) & (z <= 33) & (x > 5) & (np.hypot(x, y) < 50)
    defective = Mask(((shell & ~cap) | plate).astype(np.uint8), matrix)
    fixed, report = close_openings(defective, Mask(ring.astype(np.uint8), matrix))
    added = fixed.array.astype(bool) & ~ring
    assert report["open_rays_after"] <= 0.05 * report["open_rays_before"]
    assert added.sum() > 0.3 * (cap & ~ring).sum()
    assert (added & (r < 51)).sum() <= 0.05 * added.sum()  # not down towards the plate
