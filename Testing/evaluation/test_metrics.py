"""Metrics in physical units: Dice, HD95 (challenge definition), ASSD, smoothness."""
import numpy as np
import pytest
from scipy import ndimage
from scipy.spatial import cKDTree

from helpers import sheared_matrix, shell
from VoxelRearrangementLib._shared.errors import GridMismatchError
from VoxelRearrangementLib.evaluation.metrics import (
    SEARCH_WINDOW,
    dice,
    directed_surface_distances,
    evaluate,
    surface_distance_metrics,
    surface_smoothness,
    surface_voxels,
    window_steps,
)
from VoxelRearrangementLib.grids.geometry import Mask, index_to_lps
from VoxelRearrangementLib.grids.resample import downsample, resample_mask


def _edt_reference(a, b, spacing):
    """The challenge's (medpy) formulation: EDT from the other mask's border, orthogonal grids."""
    sa = a & ~ndimage.binary_erosion(a, ndimage.generate_binary_structure(3, 1))
    sb = b & ~ndimage.binary_erosion(b, ndimage.generate_binary_structure(3, 1))
    d_ab = ndimage.distance_transform_edt(~sb, sampling=spacing)[sa]
    d_ba = ndimage.distance_transform_edt(~sa, sampling=spacing)[sb]
    return np.concatenate([d_ab, d_ba])


def test_hd95_and_assd_match_the_challenge_definition_on_an_orthogonal_grid():
    spacing = (0.45, 0.5, 0.62)
    a = shell().array.astype(bool)
    b = ndimage.binary_dilation(a, iterations=1) & (np.random.default_rng(0).random(a.shape) > 0.2)
    m = np.diag([*spacing, 1.0])
    ours = surface_distance_metrics(Mask(a.astype(np.uint8), m), Mask(b.astype(np.uint8), m))
    ref = _edt_reference(a, b, spacing)
    assert ours["hd95_mm"] == pytest.approx(np.percentile(ref, 95))
    assert ours["assd_mm"] == pytest.approx(ref.mean())


def test_distances_honour_shear():
    """A mask shifted by one voxel along k is 1 k-step away in world mm (the column norm),
    whatever the shear; an EDT with per-axis spacing would not know the direction."""
    a = shell(matrix=sheared_matrix())
    b = Mask(np.roll(a.array, 1, axis=2), a.ijk_to_lps)
    d_ab, _ = directed_surface_distances(a, b)
    step = np.linalg.norm(sheared_matrix()[:3, 2])
    assert np.max(d_ab) <= step + 1e-9
    assert np.median(d_ab) == pytest.approx(0.0) or np.median(d_ab) <= step


def _brute_force(a: Mask, b: Mask):
    """Directed distances between the surface voxels' world centres by KD-trees of all points."""
    pa, pb = (index_to_lps(m.ijk_to_lps, np.argwhere(surface_voxels(m.array))) for m in (a, b))
    return cKDTree(pb).query(pa)[0], cKDTree(pa).query(pb)[0]


@pytest.mark.parametrize("matrix", [sheared_matrix(), np.diag([0.4, 0.45, 2.5, 1.0])],
                         ids=["sheared", "anisotropic"])
def test_window_search_gives_the_nearest_surface_voxel_near_and_far(matrix):
    """The window of index steps and the KD-tree behind it give every distance as a search of
    all points does: near ones (inside the window) and far ones (a blob well away from the
    other surface, and a shell cut away by 10 slices), on sheared and anisotropic grids."""
    a = shell(matrix=matrix)
    rng = np.random.default_rng(3)
    other = ndimage.binary_dilation(a.array, iterations=2) & (rng.random(a.array.shape) > 0.3)
    other[:10] = 0
    other[-6:, -6:, -6:] = 1  # far from a's surface
    b = Mask(other.astype(np.uint8), matrix)
    ours, truth = directed_surface_distances(a, b), _brute_force(a, b)
    reach = window_steps(matrix, SEARCH_WINDOW)[2]
    assert max(d.max() for d in truth) > reach and min(d.min() for d in truth) == 0.0
    for d, t in zip(ours, truth):
        np.testing.assert_allclose(d, t, rtol=0, atol=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_no_step_outside_the_window_is_shorter_than_its_reach(seed):
    """The bound that makes a hit inside the window the nearest one: every index step with a
    component beyond the window is at least ``reach`` long (random sheared matrices)."""
    rng = np.random.default_rng(seed)
    m = np.eye(4)
    m[:3, :3] = np.diag(rng.uniform(0.3, 2.5, 3)) + rng.uniform(-0.4, 0.4, (3, 3))
    steps, lengths, reach = window_steps(m, 2)
    assert np.all(np.diff(lengths) >= 0) and np.all(lengths < reach)
    r = np.arange(-6, 7)
    grid = np.stack(np.meshgrid(r, r, r, indexing="ij"), axis=-1).reshape(-1, 3)
    outside = grid[np.abs(grid).max(axis=1) > 2]
    assert np.sqrt(((outside @ m[:3, :3].T) ** 2).sum(axis=1)).min() >= reach - 1e-12


def test_the_reference_may_come_later_as_a_function():
    """``evaluate`` takes the reference or a function that gives it (read meanwhile)."""
    a = shell()
    b = Mask(np.roll(a.array, 1, axis=0), a.ijk_to_lps)
    assert evaluate(a, lambda: b, smoothness=False) == evaluate(a, b, smoothness=False)


def test_dice_and_grid_checks():
    a = shell()
    assert dice(a.array, a.array) == 1.0
    assert dice(np.zeros(3), np.zeros(3)) == 1.0
    other = Mask(a.array, np.diag([2.0, 1, 1, 1]))
    with pytest.raises(GridMismatchError, match="not on the same voxel grid"):
        surface_distance_metrics(a, other)


def test_smoothness_ranks_a_staircase_rougher_than_the_truth():
    truth = shell((96, 88, 72), radii=(40, 36, 30), thickness=8, matrix=np.diag([0.5, 0.5, 0.6, 1]))
    coarse = downsample(truth, (24, 22, 18))
    stairs = resample_mask(coarse, truth.grid, order=0)
    s_truth, s_stairs = surface_smoothness(truth), surface_smoothness(stairs)
    assert s_stairs["staircase_fraction"] > s_truth["staircase_fraction"] + 0.1
    assert s_stairs["roughness_mm"] > 1.2 * s_truth["roughness_mm"]
