"""The closure measure: rays from the skull's centre that leave through the defect must meet
the implant. It reads 1 for the true implant and drops for an implant with a hole; defects
cut at full resolution give the true implant the measure is scored against."""
import numpy as np
import pytest

from helpers import implant_with_hole
from VoxelRearrangementLib import Mask, defect_coverage, read_mask
from VoxelRearrangementLib.evaluation import closure as closure_module
from VoxelRearrangementLib.evaluation.closure import (
    closure,
    defect_directions,
    open_directions,
    paired_openings,
    ray_hits,
    skull_centre,
    sphere_directions,
    vault_cone,
)
from VoxelRearrangementLib.learned.completion.defects import (
    circular_defect,
    cut_skull,
    random_defect,
)


@pytest.fixture(scope="module")
def case069(sample_dir):
    return tuple(read_mask(sample_dir / f"skull069_{name}.nrrd")
                 for name in ("complete", "defective", "implant"))


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


def _facing(mask: Mask, face_posterior: bool):
    """``(mask, ahead_y)``: with ``face_posterior`` the mask under a header that swaps anterior
    and posterior (matrix mirrored in world y, voxels kept), and the world y of straight ahead."""
    if not face_posterior:
        return mask, -1.0
    return Mask(mask.array, np.diag([1.0, -1.0, 1.0, 1.0]) @ mask.ijk_to_lps), 1.0


def _direction(azimuth_deg, elevation_deg):
    a, e = np.deg2rad(azimuth_deg), np.deg2rad(elevation_deg)
    return np.array([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)])


def test_a_low_lateral_defect_is_followed_below_the_vault_cone_by_symmetry(case069):
    """A round defect on the left side centred 25 degrees below the horizontal: the cone alone
    sees only its upper part; the mirror rule adds exactly its lower rays (their mirror images
    meet the intact right side), and a complete skull's natural openings stay out."""
    complete, _, _ = case069
    directions = sphere_directions()
    assert not defect_directions(complete, directions).any()
    defective, implant = cut_skull(complete, circular_defect(_direction(0, -25), 35.0),
                                   skull_centre(complete))
    centre = skull_centre(defective)
    truth = ray_hits(implant, centre, directions) & ~ray_hits(defective, centre, directions)
    below = ~vault_cone(directions)
    cone_only = open_directions(defective, directions, centre)
    followed = defect_directions(defective, directions, centre)
    assert (truth & below).sum() > 40 and not (cone_only & below).any()
    assert np.array_equal(followed, truth)


@pytest.mark.parametrize("face_posterior", [False, True])
def test_a_low_frontal_defect_across_the_midline_is_followed_in_the_front_wedge(
        case069, monkeypatch, face_posterior):
    """A round defect straight ahead, centred 25 degrees below the horizontal: its lower rays
    have open mirror images (it spans the midline), so the mirror rule alone cannot follow
    them; the front wedge, where complete skulls have bone, does, and adds nothing else below
    the cone. With ``face_posterior`` the skull's header swaps anterior and posterior (its
    matrix mirrored in world y, the voxels kept: the face where the header says posterior):
    the wedge follows the face there, and only there."""
    complete, ahead_y = _facing(case069[0], face_posterior)
    directions = sphere_directions()
    down = np.deg2rad(25)
    defective, implant = cut_skull(complete, circular_defect(
        np.array([0.0, ahead_y * np.cos(down), -np.sin(down)]), 30.0), skull_centre(complete))
    centre = skull_centre(defective)
    truth = ray_hits(implant, centre, directions) & ~ray_hits(defective, centre, directions)
    below = ~vault_cone(directions)
    assert (truth & below).sum() > 30
    followed = defect_directions(defective, directions, centre, face_posterior=face_posterior)
    assert np.array_equal(followed & below, truth & below)
    other_way = defect_directions(defective, directions, centre, face_posterior=not face_posterior)
    assert (other_way & below & truth).sum() < (truth & below).sum() // 2
    monkeypatch.setattr(closure_module, "FRONT_WEDGE_DEG", -1.0)  # the mirror rule alone
    assert not (defect_directions(defective, directions, centre, face_posterior=face_posterior)
                & below & truth).any()


@pytest.mark.parametrize("face_posterior", [False, True])
def test_paired_low_openings_in_front_are_natural_not_a_defect(case069, face_posterior):
    """Two small holes cut low in front, mirror images of each other (as the orbits look
    through gaps of thin orbital roofs when a scan frames them into the vault cone), are left
    out of the defect; the sample's own defect is kept ray for ray. One such hole alone is a
    defect, and so is the pair when the face is taken to be at the back."""
    defective, ahead_y = _facing(case069[1], face_posterior)
    directions = sphere_directions()
    centre = skull_centre(defective)
    before = defect_directions(defective, directions, centre, face_posterior=face_posterior)

    def cut(mask, azimuth_deg):
        a, e = np.deg2rad(azimuth_deg), np.deg2rad(-22.0)
        way = np.array([np.sin(a) * np.cos(e), ahead_y * np.cos(a) * np.cos(e), np.sin(e)])
        return cut_skull(mask, circular_defect(way, 9.0), centre)

    one, hole = cut(defective, 25.0)
    both, other = cut(one, -25.0)
    holes = ray_hits(Mask(hole.array | other.array, hole.ijk_to_lps), centre, directions)
    assert (holes & vault_cone(directions)).sum() >= 8
    assert np.array_equal(defect_directions(both, directions, centre, face_posterior=face_posterior),
                          before)
    alone = defect_directions(one, directions, centre, face_posterior=face_posterior)
    assert (alone & ~before).sum() >= 4 and not (before & ~alone).any()
    cone_openings = open_directions(both, directions, centre)
    assert paired_openings(cone_openings, directions, both, centre, face_posterior).sum() >= 8
    assert not paired_openings(cone_openings, directions, both, centre, not face_posterior).any()
