"""Fitting the implant: the gap at the rim holds everywhere (measured between the meshes),
the edge trim sets the thinnest wall, and the options are checked."""
import numpy as np
import pytest
from scipy import ndimage

from helpers import bevelled_defect, sheared_matrix
from VoxelRearrangementLib import (
    Mask,
    VoxelRearrangementError,
    extract_implant,
    mask_to_mesh,
    printability_report,
)
from VoxelRearrangementLib.printing.decimate import surface_distances
from VoxelRearrangementLib.printing.fit import fit_and_seat, fit_implant, rim_gap_mm


@pytest.fixture(scope="module")
def bevelled():
    """Defective skull (sheared grid) and its raw implant, whose rim tapers to nothing."""
    complete, defective = bevelled_defect(sheared_matrix())
    designed = extract_implant(complete, defective, opening_mm=0.0, smoothing_mm=0.0)
    return defective, designed, mask_to_mesh(defective, smoothing=0.0)


def rim_distance_mm(implant, defective_mesh) -> float:
    """The smallest distance from the implant's mesh to the defective skull's mesh."""
    return float(surface_distances(mask_to_mesh(implant, smoothing=0.0).vertices, defective_mesh).min())


def thinnest_wall_mm(implant) -> float:
    """The 1st percentile of the wall thickness (ray casting) of the implant's printed mesh
    (default smoothing: the raw staircase's corners would read thinner than the wall is)."""
    return printability_report(mask_to_mesh(implant), thickness=True)["wall_thickness_mm"]["p1"]


@pytest.mark.parametrize("clearance", [0.5, 1.0, 2.0])
def test_the_gap_holds_everywhere_along_the_rim(bevelled, clearance):
    defective, designed, defective_mesh = bevelled
    assert rim_distance_mm(designed, defective_mesh) < 0.05      # unfitted: it touches the bone
    fitted = fit_implant(designed, defective, clearance_mm=clearance, min_edge_mm=0.0)
    assert rim_distance_mm(fitted, defective_mesh) >= clearance
    assert rim_gap_mm(fitted, defective) >= clearance
    assert not (fitted.array & defective.array).any()


def test_the_edge_trim_sets_the_thinnest_wall(bevelled):
    """Untrimmed, the feathered rim is thinner than any minimum edge tested (0.16 mm with VTK
    9.6, 1.0 mm with 9.3, whose smoothing differs); trimmed, the thinnest wall of the printed
    mesh (1st percentile of 20 000 rays) is at least the minimum edge."""
    defective, designed, _ = bevelled
    assert thinnest_wall_mm(fit_implant(designed, defective, 0.0, 0.0)) < 1.5
    for edge in (1.5, 2.0):
        trimmed = fit_implant(designed, defective, clearance_mm=1.0, min_edge_mm=edge)
        assert thinnest_wall_mm(trimmed) >= edge
    assert fit_implant(designed, defective, 1.0, 2.0).volume_ml < fit_implant(designed, defective, 1.0, 0.0).volume_ml


def test_zero_leaves_the_implant_as_it_is_and_bad_values_are_refused(bevelled):
    defective, designed, _ = bevelled
    assert np.array_equal(fit_implant(designed, defective, 0.0, 0.0).array, designed.array)
    with pytest.raises(VoxelRearrangementError, match="clearance_mm"):
        fit_implant(designed, defective, clearance_mm=-1.0)
    with pytest.raises(VoxelRearrangementError, match="min_edge_mm"):
        fit_implant(designed, defective, min_edge_mm=9.0)
    with pytest.raises(VoxelRearrangementError, match="removed the whole implant"):
        fit_implant(designed, defective, clearance_mm=3.0, min_edge_mm=4.0)


def test_every_piece_that_sat_on_the_bone_is_kept():
    """Two implants of one skull (two defects): after the gap neither touches the bone, and
    both are still there."""
    bone = np.zeros((40, 30, 20), dtype=np.uint8)
    bone[:, :, :5] = 1
    implant = np.zeros_like(bone)
    implant[3:15, 5:25, 5:12] = 1
    implant[25:37, 5:25, 5:12] = 1
    matrix = np.diag([0.8, 0.8, 0.8, 1.0])
    fitted = fit_implant(Mask(implant, matrix), Mask(bone, matrix), clearance_mm=1.0,
                         min_edge_mm=1.5, min_component_ml=0.1)
    assert ndimage.label(fitted.array)[1] == 2
    assert not fitted.array[:, :, :7].any()  # centres 1 mm + a voxel (1.8 mm) above the bone


def test_closure_after_the_fit_counts_the_gap_but_not_what_was_trimmed():
    bone = np.zeros((40, 30, 20), dtype=np.uint8)
    bone[:, :, :5] = 1
    designed = np.zeros_like(bone)
    designed[3:37, 5:25, 5:12] = 1
    matrix = np.diag([0.8, 0.8, 0.8, 1.0])
    d, b = Mask(designed, matrix), Mask(bone, matrix)
    fitted, seated = fit_and_seat(d, b, clearance_mm=1.0, min_edge_mm=0.0)
    assert np.array_equal(fitted.array, fit_implant(d, b, clearance_mm=1.0, min_edge_mm=0.0).array)
    assert np.array_equal(seated.array, designed)  # the gap counts as closed
    finned = designed.copy()
    finned[18, 5:25, 12:18] = 1  # a fin one voxel (0.8 mm) thin: the edge trim cuts it off
    fitted, seated = fit_and_seat(Mask(finned, matrix), b, clearance_mm=1.0, min_edge_mm=2.5)
    assert not fitted.array[18, :, 14:].any() and not seated.array[18, :, 14:].any()
    assert (seated.array >= fitted.array).all()
    assert seated.array[:, :, 5:7].sum() > fitted.array[:, :, 5:7].sum() == 0  # the gap, closed