"""Pieces of the implant that close no direction of the defect are dropped (printing.stray),
by the safety net and in the pipeline's completed skull."""
import numpy as np
import pytest

from VoxelRearrangementLib import Mask, read_mask
from VoxelRearrangementLib.evaluation.closure import defect_directions, skull_centre, sphere_directions
from VoxelRearrangementLib.printing.openings import close_openings
from VoxelRearrangementLib.printing.stray import drop_stray_pieces


@pytest.fixture(scope="module")
def case069(sample_dir):
    return read_mask(sample_dir / "skull069_defective.nrrd"), read_mask(sample_dir / "skull069_implant.nrrd")


def _with_blob(implant: Mask, defective: Mask) -> Mask:
    """``implant`` plus a 20 x 20 x 10 voxel block on the outside of the skull's lowest bone
    in front (as a network's stray bone at the face lies), away from the defect."""
    bone = np.argwhere(defective.array[::2, ::2, ::2]) * 2
    low = bone[bone[:, 2] < np.percentile(bone[:, 2], 5)]
    front = low[np.argsort(low[:, 1])[len(low) // 2]]  # a voxel of the low bone, mid front-back
    array = np.array(implant.array, dtype=np.uint8)
    lo = np.maximum(front - [10, 10, 0], 0)
    block = tuple(slice(a, a + n) for a, n in zip(lo, (20, 20, 10)))
    array[block] = np.where(defective.array[block] != 0, 0, 1)
    return Mask(array, implant.ijk_to_lps)


def test_a_piece_away_from_the_defect_is_dropped(case069):
    defective, truth = case069
    strayed = _with_blob(truth, defective)
    centre, directions = skull_centre(defective), sphere_directions()
    defect = defect_directions(defective, directions, centre)
    kept, dropped_ml = drop_stray_pieces(strayed, centre, directions[defect])
    assert np.array_equal(kept.array != 0, truth.array != 0)
    extra = (strayed.array != 0).sum() - (truth.array != 0).sum()
    assert extra > 1000 and dropped_ml == pytest.approx(extra * truth.grid.voxel_volume_mm3 / 1000, abs=0.01)
    fixed, report = close_openings(defective, strayed)  # the safety net drops it too
    assert report["stray_dropped_ml"] == dropped_ml and np.array_equal(fixed.array, kept.array)


def test_pieces_that_close_the_defect_are_kept(case069):
    # the true implant cut in two across its middle: both halves close part of the defect
    defective, truth = case069
    array = np.array(truth.array, dtype=np.uint8)
    i = np.argwhere(array)[:, 0]
    array[int(np.median(i)) - 1:int(np.median(i)) + 2] = 0
    halves = Mask(array, truth.ijk_to_lps)
    centre, directions = skull_centre(defective), sphere_directions()
    defect = defect_directions(defective, directions, centre)
    kept, dropped_ml = drop_stray_pieces(halves, centre, directions[defect])
    assert kept is halves and dropped_ml == 0.0


def test_nothing_is_dropped_when_no_piece_closes_the_defect(case069):
    # a network that missed the defect altogether: its bone is left for the safety net to judge
    defective, truth = case069
    only_blob = _with_blob(Mask(np.zeros_like(truth.array), truth.ijk_to_lps), defective)
    two = Mask(np.maximum(only_blob.array, np.roll(only_blob.array, 40, axis=0)), truth.ijk_to_lps)
    two.array[defective.array != 0] = 0
    centre, directions = skull_centre(defective), sphere_directions()
    defect = defect_directions(defective, directions, centre)
    kept, dropped_ml = drop_stray_pieces(two, centre, directions[defect])
    assert kept is two and dropped_ml == 0.0
