"""grids.levelling: the scan's cut of a tilted head found and levelled for the network."""
import numpy as np
import pytest

from helpers import shell, tilted
from VoxelRearrangementLib import Mask, read_mask
from VoxelRearrangementLib.grids.geometry import index_map
from VoxelRearrangementLib.grids.levelling import cut_plane, levelling
from VoxelRearrangementLib.grids.orientation import Reorientation
from VoxelRearrangementLib.grids.resample import downsample_with_values
from VoxelRearrangementLib.grids.symmetry import mid_sagittal_yaw


def _seen(mask):
    """(coarse canonical mask, its downsampling values) of ``mask``."""
    values, matrix = downsample_with_values(Reorientation.of(mask.ijk_to_lps).mask(mask))
    return Mask((values > 0.5).astype(np.uint8), matrix), values


def _tilt_of(mask):
    """Tilt (degrees) of the largest downward planar face of ``mask``'s bone (index axes
    scaled by spacing, as levelling measures it)."""
    spacing = np.linalg.norm(mask.ijk_to_lps[:3, :3], axis=0)
    normal, _ = cut_plane(np.argwhere(mask.array) * spacing)
    return np.degrees(np.arccos(-normal[2]))


@pytest.fixture(scope="module")
def coarse(sample_dir):
    return read_mask(sample_dir / "skull069_coarse.nrrd")  # SkullFix 069, sheared grid


def test_a_level_cut_is_left_as_it_is(coarse):
    assert levelling(_seen(coarse)[0]) is None


def test_a_closed_shell_has_no_cut():
    assert levelling(_seen(shell())[0]) is None


@pytest.mark.parametrize("degrees, world_axis", [(20, 0), (-25, 0), (15, 1)])
def test_a_tilted_cut_is_found_and_the_network_sees_it_level(coarse, degrees, world_axis):
    skull, = tilted([coarse], degrees, world_axis, pad=16)
    seen, values = _seen(skull)
    level = levelling(seen)
    assert level is not None
    assert abs(level.tilt_deg - abs(degrees)) < 1.5
    network_view = Mask((level.to_network(values, seen.grid) > 0.5).astype(np.uint8),
                        level.grid.ijk_to_lps)
    assert _tilt_of(network_view) < 2.0
    # the whole skull lies inside the network's grid, sitting on its bottom slice
    inside = index_map(level.grid, seen.grid) @ np.c_[np.argwhere(seen.array), np.ones(seen.array.sum())].T
    assert np.all(inside[:3] > -1.0) and np.all(inside[:3].T < np.array(level.grid.shape))
    assert np.argwhere(network_view.array)[:, 2].min() <= 1
    # and the network's prediction comes back onto the coarse grid where it belongs
    back = level.from_network(network_view.array, seen.grid) > 0.5
    both = back & seen.array.astype(bool)
    assert 2 * both.sum() / (back.sum() + seen.array.sum()) > 0.93  # 0.95-0.96


@pytest.mark.parametrize("tilt", [0.0, 20.0])
def test_a_head_turned_about_the_vertical_is_seen_straight(coarse, tilt):
    # SkullFix 069 (its own plane turned about 4 degrees: left alone) turned 25 degrees about
    # the vertical, and also tilted 20 degrees about left-right: the network's grid has the
    # skull's mid-sagittal plane along its own, the cut level, and the whole skull inside
    skull, = tilted([coarse], tilt, 0, pad=16) if tilt else [coarse]
    skull, = tilted([skull], 25.0, 2, pad_ij=24)
    seen, values = _seen(skull)
    level = levelling(seen)
    assert level is not None and level.yaw_deg == pytest.approx(29, abs=2.5)
    assert level.tilt_deg == pytest.approx(tilt, abs=1.5)
    view = level.to_network(values, seen.grid) > 0.5
    spacing = np.linalg.norm(level.grid.ijk_to_lps[:3, :3], axis=0)
    assert abs(mid_sagittal_yaw(view, spacing)) < 2.5
    inside = index_map(level.grid, seen.grid) @ np.c_[np.argwhere(seen.array), np.ones(seen.array.sum())].T
    assert np.all(inside[:3] > -1.0) and np.all(inside[:3].T < np.array(level.grid.shape))
