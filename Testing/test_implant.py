"""Implant extraction and clean-up, and the challenge's implant metrics."""
import numpy as np
import pytest
from scipy import ndimage

from conftest import sheared_matrix
from synthetic import shell
from VoxelRearrangementLib.errors import GridMismatchError, VoxelRearrangementError
from VoxelRearrangementLib.geometry import Grid
from VoxelRearrangementLib.implant import ball_structure, extract_implant, raw_implant
from VoxelRearrangementLib.implant_metrics import boundary_band, implant_metrics
from VoxelRearrangementLib.mask_io import Mask
from VoxelRearrangementLib.metrics import dice


def skull_with_defect(matrix):
    """Synthetic complete skull (thick shell), its defective version (a block removed from the
    top) and the true implant."""
    complete = shell((56, 52, 44), radii=(25.0, 23.0, 19.0), thickness=5.0, matrix=matrix)
    implant = np.zeros_like(complete.array)
    implant[18:38, 16:36, 30:] = complete.array[18:38, 16:36, 30:]
    defective = Mask(complete.array & (1 - implant), matrix)
    return complete, defective, Mask(implant, matrix)


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
    largest_only = extract_implant(complete, defective2, smoothing_mm=0, min_component_ml=1e6)
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
        extract_implant(complete, defective, opening_mm=10.0)


def test_metrics_of_the_true_implant_and_a_shifted_one():
    m = sheared_matrix()
    _, defective, truth = skull_with_defect(m)
    same = implant_metrics(truth, truth, defective)
    assert same == {"dsc": 1.0, "bdsc": 1.0, "hd95_mm": 0.0}
    shifted = Mask(np.roll(truth.array, 1, axis=0), m)
    r = implant_metrics(shifted, truth, defective)
    assert 0.5 < r["dsc"] < 1 and 0.5 < r["bdsc"] < 1 and r["hd95_mm"] == pytest.approx(0.45, abs=0.01)
    band = boundary_band(defective, truth.array.astype(bool), band_mm=1.0)
    assert band.any() and not band.all() and not np.any(band & ~truth.array.astype(bool))
