"""refine(): every method's contract, determinism, parallel sections, and bad input."""
import numpy as np
import pytest

from helpers import sheared_matrix, shell
from VoxelRearrangementLib._shared.errors import Cancelled, VoxelRearrangementError
from VoxelRearrangementLib import read_mask
from VoxelRearrangementLib.evaluation.metrics import dice
from VoxelRearrangementLib.grids.framing import reframed
from VoxelRearrangementLib.grids.geometry import Grid, Mask, upsampled_grid
from VoxelRearrangementLib.grids.resample import downsample
from VoxelRearrangementLib.synthesis.refine import METHODS, refine
from VoxelRearrangementLib.synthesis.tables import learn_template, template_tables

COARSE_SHAPE = (12, 11, 9)


@pytest.fixture(scope="module")
def case():
    truth = shell(matrix=sheared_matrix(), centre_shift=(0.7, -0.3, 0.4))
    templates = [shell(matrix=sheared_matrix(), radii=r, thickness=t)
                 for r, t in (((19, 17, 14), 4), ((18, 17.5, 13.5), 3.5), ((20, 16, 14.5), 4.5))]
    return truth, downsample(truth, COARSE_SHAPE), templates


@pytest.mark.parametrize("method", METHODS)
def test_every_method_returns_a_binary_mask_on_the_target_grid(case, method, tmp_path):
    if method == "learned":
        pytest.importorskip("torch", reason="the learned method needs the [learn] extra (PyTorch)")
    truth, coarse, templates = case
    result = refine(coarse, method, templates, truth.grid, cache_dir=tmp_path)
    assert result.mask.grid.same_as(truth.grid)
    assert result.mask.array.dtype == np.uint8 and set(np.unique(result.mask.array)) <= {0, 1}
    if method not in ("median", "gaussian"):  # their fixed windows (15 voxels, 3 mm) are for skulls
        assert dice(result.mask.array, truth.array) > 0.6
    assert result.report["method"] == method


@pytest.mark.parametrize("method", ["hash", "kdtree"])
def test_parallel_sections_are_bit_identical_to_one_worker(case, method, tmp_path):
    truth, coarse, templates = case
    one = refine(coarse, method, templates, truth.grid, workers=1, cache_dir=tmp_path).mask.array
    three = refine(coarse, method, templates, truth.grid, workers=3, cache_dir=tmp_path).mask.array
    again = refine(coarse, method, templates, truth.grid, workers=1, cache_dir=tmp_path).mask.array
    assert np.array_equal(one, three) and np.array_equal(one, again)


def test_only_band_voxels_change(case, tmp_path):
    """Voxels whose parent's 3x3x3 neighbourhood is uniform keep the nearest upsampled value."""
    truth, coarse, templates = case
    hashed = refine(coarse, "hash", templates, truth.grid, cache_dir=tmp_path).mask.array
    near = refine(coarse, "nearest", target_grid=truth.grid).mask.array
    assert 0 < np.count_nonzero(hashed != near) < 0.2 * near.size


def test_default_target_grid_is_4x_corner_aligned(case, tmp_path):
    _, coarse, templates = case
    result = refine(coarse, "trilinear")
    assert result.mask.grid.same_as(upsampled_grid(coarse.grid))


def test_a_rotated_target_grid_is_supported(case, tmp_path):
    truth, coarse, templates = case
    m = truth.ijk_to_lps.copy()
    m[:3, :3] = m[:3, :3] @ np.array([[1, 0.02, 0], [0, 1, 0], [0, 0, 1]])
    grid = Grid(truth.grid.shape, m)
    result = refine(coarse, "hash", templates, grid, cache_dir=tmp_path)
    assert result.mask.grid.same_as(grid) and dice(result.mask.array, truth.array) > 0.6


def test_tables_are_cached_and_shared(case, tmp_path):
    truth, coarse, templates = case
    first = template_tables(templates[:1], 4, tmp_path, coarse_shape=COARSE_SHAPE)
    assert len(list(tmp_path.glob("votes-*.npz"))) == 1
    second = template_tables(templates[:1], 4, tmp_path, coarse_shape=COARSE_SHAPE)
    assert np.array_equal(first.steps[1].ones, second.steps[1].ones)
    assert np.array_equal(first.steps[1].keys, second.steps[1].keys)
    fresh = learn_template(templates[0], 4, COARSE_SHAPE)
    assert np.array_equal(first.steps[0].total, fresh.steps[0].total)


def test_progress_is_reported_and_cancel_stops(case, tmp_path):
    truth, coarse, templates = case
    seen = []
    refine(coarse, "hash", templates, truth.grid, cache_dir=tmp_path,
           progress=lambda f, m: seen.append(f))
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)
    with pytest.raises(Cancelled):
        refine(coarse, "hash", templates, truth.grid, cache_dir=tmp_path, cancel=lambda: True)


def test_template_methods_without_templates_use_the_bundled_tables(case):
    _, coarse, _ = case
    result = refine(coarse, "hash")
    assert result.report["n_templates"] == 60  # SkullFix 000-059
    assert result.mask.array.shape == tuple(4 * n for n in coarse.array.shape)


def test_bad_inputs_are_named(case, tmp_path):
    truth, coarse, templates = case
    empty = Mask(np.zeros_like(coarse.array), coarse.ijk_to_lps)
    with pytest.raises(VoxelRearrangementError, match="empty"):
        refine(empty, "trilinear")
    with pytest.raises(VoxelRearrangementError, match="unknown method"):
        refine(coarse, "bicubic")
    flat = Mask(np.zeros((30, 30, 30), np.uint8), np.eye(4))
    with pytest.raises(VoxelRearrangementError, match="template skull is empty"):
        refine(coarse, "hash", [flat], cache_dir=tmp_path)
    speck = flat.array.copy()
    speck[15, 15, 15] = 1  # vanishes at the coarse level: no surface to learn from
    with pytest.raises(VoxelRearrangementError, match="no surface"):
        refine(coarse, "hash", [Mask(speck, np.eye(4))], cache_dir=tmp_path)


@pytest.mark.parametrize("method", ["nearest", "trilinear", "hash"])
def test_a_target_beyond_the_coarse_grid_is_empty_there(sample_dir, method):
    # The skull sits on the coarse grid's bottom slice (the scan's cut). A target grid with
    # 60 more slices below (a coarse grid framed on part of the target, grids.framing) was
    # filled there with the bottom slice repeated (over 0.5 M voxels of stray bone); now
    # only the voxels within half a coarse voxel of its last slice may be set, and the
    # rest of the target is refined exactly as without the extra slices.
    coarse = read_mask(sample_dir / "skull069_coarse.nrrd")
    reference = read_mask(sample_dir / "skull069_complete.nrrd")
    assert coarse.array[:, :, 0].any()
    n = np.array(reference.array.shape)
    taller = reframed(reference, (np.array([0, 0, -60]), n)).grid
    as_is = refine(coarse, method, target_grid=reference.grid).mask.array
    below = refine(coarse, method, target_grid=taller).mask.array
    assert not below[:, :, :56].any()
    assert np.array_equal(below[:, :, 60:], as_is)
