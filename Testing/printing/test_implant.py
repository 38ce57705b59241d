"""Implant extraction: the ball in millimetres, the clean-up, kept pieces, errors."""
import numpy as np
import pytest
from scipy import ndimage

from helpers import sheared_matrix, skull_with_defect
from VoxelRearrangementLib._shared.errors import GridMismatchError, VoxelRearrangementError
from VoxelRearrangementLib.evaluation.metrics import dice
from VoxelRearrangementLib.grids.geometry import Grid, Mask
from VoxelRearrangementLib.printing.implant import ball_structure, extract_implant, raw_implant


def test_ball_structure_is_sized_in_millimetres():
    iso = ball_structure(Grid((9, 9, 9), np.eye(4)), 1.0)
    assert iso.shape == (3, 3, 3) and iso.sum() == 7  # the 6-neighbourhood and the centre
    aniso = ball_structure(Grid((9, 9, 9), np.diag([0.5, 0.5, 1.0, 1.0])), 1.0)
    assert aniso.shape == (5, 5, 3)
    assert ball_structure(Grid((9, 9, 9), np.eye(4)), 0.5).sum() == 1  # below one voxel: no-op
    m = sheared_matrix()
    ball = ball_structure(Grid((9, 9, 9), m), 1.0)
    offsets = np.argwhere(ball) - np.array(ball.shape) // 2
    assert np.all(np.linalg.norm(offsets @ m[:3, :3].T, axis=1) <= 1.0 + 1e-9)
    assert ball.sum() > 7
    with pytest.raises(VoxelRearrangementError, match="opening radius"):
        ball_structure(Grid((9, 9, 9), m), -1.0)


@pytest.mark.parametrize("matrix", [np.diag([0.5, 0.5, 0.6, 1.0]), sheared_matrix()],
                         ids=["anisotropic", "sheared"])
def test_clean_up_removes_slivers_and_noise_and_never_overlaps_the_defective_skull(matrix):
    complete, defective, truth = skull_with_defect(matrix)
    # a completed skull that is one voxel too thick all around (slivers on the whole skull),
    # plus a noise blob away from the skull
    noisy = ndimage.binary_dilation(complete.array, iterations=1).astype(np.uint8)
    noisy[2:5, 2:5, 2:5] = 1
    raw = raw_implant(Mask(noisy, matrix), defective)
    assert dice(raw, truth.array) < 0.75
    cleaned = extract_implant(Mask(noisy, matrix), defective, opening_mm=0.6, smoothing_mm=0)
    assert not np.any(cleaned.array & defective.array)
    assert not cleaned.array[:8, :8, :8].any()  # the blob is gone
    assert dice(cleaned.array, truth.array) > max(0.8, dice(raw, truth.array) + 0.1)
    smoothed = extract_implant(Mask(noisy, matrix), defective)
    assert not np.any(smoothed.array & defective.array)
    assert np.allclose(smoothed.ijk_to_lps, matrix) and smoothed.array.dtype == np.uint8


def test_large_pieces_touching_the_defect_are_kept():
    matrix = np.eye(4)
    complete, defective, truth = skull_with_defect(matrix)
    second = np.zeros_like(complete.array)
    second[18:38, 16:36, :10] = complete.array[18:38, 16:36, :10]  # a second defect, below
    defective2 = Mask(defective.array & (1 - second), matrix)
    both = extract_implant(complete, defective2, smoothing_mm=0, min_component_ml=0.5)
    assert both.array[:, :, :10].any() and both.array[:, :, 30:].any()
    largest_only = extract_implant(complete, defective2, smoothing_mm=0, min_component_ml=100)
    assert largest_only.array[:, :, :10].any() != largest_only.array[:, :, 30:].any()


def test_bad_inputs_raise_clear_errors():
    complete, defective, _ = skull_with_defect(np.eye(4))
    with pytest.raises(GridMismatchError, match="completed skull and the defective skull"):
        extract_implant(Mask(complete.array, np.diag([0.5, 0.5, 0.5, 1.0])), defective)
    with pytest.raises(GridMismatchError):
        extract_implant(Mask(complete.array[:-1], np.eye(4)), defective)
    with pytest.raises(VoxelRearrangementError, match="implant is empty"):
        extract_implant(defective, defective)
    with pytest.raises(VoxelRearrangementError, match="removed the whole implant"):
        extract_implant(complete, defective, opening_mm=3.0)
    with pytest.raises(VoxelRearrangementError, match="from 0.0 to 3.0"):
        extract_implant(complete, defective, opening_mm=10.0)
