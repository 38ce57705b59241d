"""Mesh fidelity: surface distances and the staircase index."""
import pytest

from helpers import ball_mask
from VoxelRearrangementLib.evaluation.fidelity import fidelity_report, staircase_index
from VoxelRearrangementLib.printing.meshing import mask_to_mesh


def test_fidelity_distance_and_staircase_index(sphere):
    truth = mask_to_mesh(sphere)
    raw = mask_to_mesh(sphere, smoothing=0)
    same = fidelity_report(truth, truth)
    assert same["mean_mm"] < 1e-6 and same["p95_mm"] < 1e-6
    # a ball 0.5 mm larger: distances about 0.5 mm, and outside (positive signed mean)
    bigger = mask_to_mesh(ball_mask((10.5,)))
    rep = fidelity_report(bigger, truth)
    assert rep["mean_mm"] == pytest.approx(0.5, abs=0.12) and rep["signed_mean_mm"] > 0.35
    assert staircase_index(raw) > 0.2 > 0.05 > staircase_index(truth)
