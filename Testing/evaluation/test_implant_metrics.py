"""The challenge's implant metrics (DSC, boundary DSC, HD95) on sheared grids."""
import numpy as np
import pytest

from helpers import sheared_matrix, skull_with_defect
from VoxelRearrangementLib.evaluation.implant_metrics import boundary_band, implant_metrics
from VoxelRearrangementLib.grids.geometry import Mask


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
