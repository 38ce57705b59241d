"""The closure measure: rays from the skull's centre that leave through the defect must meet
the implant. It reads 1 for the true implant and drops for an implant with a hole; defects
cut at full resolution give the true implant the measure is scored against."""
import numpy as np
import pytest

from helpers import implant_with_hole
from VoxelRearrangementLib import Mask, defect_coverage, read_mask
from VoxelRearrangementLib.evaluation.closure import closure, skull_centre
from VoxelRearrangementLib.learned.completion.defects import cut_skull, random_defect


@pytest.fixture(scope="module")
def case069(sample_dir):
    return (read_mask(sample_dir / "skull069_complete.nrrd"), read_mask(sample_dir / "skull069_defective.nrrd"),
            read_mask(sample_dir / "skull069_implant.nrrd"))


def test_the_true_implant_closes_its_defect_and_one_with_a_hole_does_not(case069):
    _, defective, truth = case069
    assert closure(defective, truth, truth)["closed_fraction"] == 1.0
    assert defect_coverage(defective, truth)["closed_fraction"] == 1.0
    with_hole = implant_with_hole(truth, 30)
    with_gt = closure(defective, with_hole, truth)
    without_gt = defect_coverage(defective, with_hole)
    assert with_gt["closed_fraction"] < 0.95 and with_gt["open_rays"] > 10
    assert without_gt["closed_fraction"] < 0.95
    assert abs(with_gt["closed_fraction"] - without_gt["closed_fraction"]) < 0.05
    empty = Mask(np.zeros_like(truth.array), truth.ijk_to_lps)
    assert closure(defective, empty, truth)["closed_fraction"] == 0.0


def test_a_full_resolution_cut_removes_exactly_the_bone_inside_the_outline(case069):
    complete, _, _ = case069
    rng = np.random.default_rng(3)
    defective, implant = cut_skull(complete, random_defect(rng, "lateral"), skull_centre(complete))
    assert implant.volume_ml > 5 and not (defective.array & implant.array).any()
    assert np.array_equal(defective.array | implant.array, complete.array.astype(np.uint8))
    assert closure(defective, implant, implant)["closed_fraction"] == 1.0
