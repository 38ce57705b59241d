"""Learned voxel rearrangement: tiling, exactness of tiled inference, bundled weights,
errors, and training on tiny data."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from helpers import TINY_REARRANGEMENT, fake_skullfix, shell  # noqa: E402
from VoxelRearrangementLib import (  # noqa: E402
    Mask,
    VoxelRearrangementError,
    downsample,
    evaluate,
    read_grid,
    read_mask,
    refine,
)
from VoxelRearrangementLib.grids.geometry import upsampled_grid  # noqa: E402
from VoxelRearrangementLib.learned.rearrangement.data import load_cases, patch_pair  # noqa: E402
from VoxelRearrangementLib.learned.rearrangement.inference import (  # noqa: E402
    halo_for,
    load_rearrangement_model,
    rearrange,
)
from VoxelRearrangementLib.learned.rearrangement.model import new_model  # noqa: E402
from VoxelRearrangementLib.learned.rearrangement.train import band_loss, train_rearrangement  # noqa: E402
from VoxelRearrangementLib.learned.tiling import tiles  # noqa: E402


@pytest.mark.parametrize("shape,core,halo,fold", [((37, 50, 23), 16, 8, 4), ((9, 64, 65), 32, 12, 4),
                                                  ((5, 7, 3), 4, 0, 2)])
def test_tile_cores_cover_every_voxel_exactly_once(shape, core, halo, fold):
    count = np.zeros(shape, dtype=np.int32)
    for tile in tiles(shape, core, halo, fold):
        count[tile.core] += 1
        assert all(s % fold == 0 for s in tile.shape)
        assert all(st % fold == 0 for st in tile.start)  # same folding phase in every tile
        inner = tile.core_in_window
        assert all(sl.start >= halo and sl.stop <= n - halo for sl, n in zip(inner, tile.shape))
    assert count.min() == 1 and count.max() == 1
    with pytest.raises(VoxelRearrangementError, match="multiples"):
        list(tiles(shape, core + 1, halo, 4))


def test_tiled_inference_equals_whole_volume_inference(tiny_rearrangement_weights):
    """Blending by cores is exact: small tiles (Z not a multiple of the tile, odd sizes) give
    the same mask as one tile holding the whole volume."""
    coarse = downsample(shell((70, 66, 45)), (23, 21, 13))
    target = upsampled_grid(coarse.grid)  # 92 x 84 x 52
    model = load_rearrangement_model(tiny_rearrangement_weights)
    whole, s1 = rearrange(coarse, target, model, tile_core=128)
    tiled, s2 = rearrange(coarse, target, model, tile_core=16)
    assert s1["tiles"] == 1 and s2["tiles"] == 6 * 6 * 4
    assert 0 < s2["tiles_run"] < s2["tiles"]  # tiles without band voxels are skipped
    assert np.array_equal(whole, tiled)
    trilinear = refine(coarse, "trilinear", target_grid=target).mask.array
    assert not np.array_equal(whole, trilinear)  # the network did decide band voxels
    band_free = (trilinear == whole)
    assert band_free.mean() > 0.9


def test_learned_on_a_sheared_grid_keeps_the_geometry(tiny_rearrangement_weights):
    from helpers import sheared_matrix
    coarse = downsample(shell((60, 56, 40), matrix=sheared_matrix()), (20, 18, 12))
    out = refine(coarse, "learned", weights=tiny_rearrangement_weights).mask
    grid = upsampled_grid(coarse.grid)
    assert out.array.shape == grid.shape and np.allclose(out.ijk_to_lps, grid.ijk_to_lps)


def test_missing_or_corrupt_weights_name_the_file(tmp_path, tiny_completion_weights):
    coarse = downsample(shell(), (12, 11, 9))
    with pytest.raises(VoxelRearrangementError, match="nothere.pt"):
        refine(coarse, "learned", weights=tmp_path / "nothere.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(VoxelRearrangementError, match="bad.pt"):
        refine(coarse, "learned", weights=bad)
    with pytest.raises(VoxelRearrangementError, match="learned rearrangement"):
        refine(coarse, "learned", weights=tiny_completion_weights)


def test_bundled_weights_improve_on_trilinear_for_the_sample(sample_dir):
    """The sample is SkullFix 069 (a report case, never trained on). Margin: on 060-079 the
    bundled network lowers ASSD by 30 % and roughness by 29 % on average relative to trilinear
    (32 % and 28 % on 069; benchmarks/results/synthesis.json), the hash method by 16 % and 23 %.
    The test asks for 15 % on both, about half of what the network does: a broken network or
    loading path (which falls back towards trilinear) fails, a retrained one that is slightly
    different passes (the result is deterministic for given weights)."""
    coarse = read_mask(sample_dir / "skull069_coarse.nrrd")
    truth = read_mask(sample_dir / "skull069_complete.nrrd")
    grid = read_grid(sample_dir / "skull069_complete.nrrd")
    learned = refine(coarse, "learned", target_grid=grid, workers=2).mask
    trilinear = refine(coarse, "trilinear", target_grid=grid).mask
    m_l, m_t = evaluate(learned, truth), evaluate(trilinear, truth)
    assert m_l["dice"] > m_t["dice"] + 0.01
    assert m_l["assd_mm"] < 0.85 * m_t["assd_mm"]
    assert m_l["roughness_mm"] < 0.85 * m_t["roughness_mm"]


@pytest.fixture(scope="module")
def fake_data(tmp_path_factory):
    def case(k):
        skull = shell((150, 140, 100 + 4 * k), radii=(60.0, 55.0, 40.0), thickness=9.0)
        return skull, Mask(np.zeros_like(skull.array), skull.ijk_to_lps)
    return fake_skullfix(tmp_path_factory.mktemp("skullfix"), [case(k) for k in range(3)])


def test_a_few_steps_lower_the_band_loss(fake_data, tmp_path):
    cases = load_cases(fake_data, ["000"], tmp_path, n_patches=2, seed=0)
    torch.manual_seed(0)
    model = new_model(TINY_REARRANGEMENT)
    halo = halo_for(model)
    window, target = patch_pair(cases[0], 0, halo)
    x = torch.from_numpy(window)[None, None]
    y = torch.from_numpy(target.astype(np.float32))[None, None]
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(25):
        loss = band_loss(model, x, y, halo)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.95 * losses[0]  # seeded: 0.229 -> 0.208 here


def test_train_command_checkpoints_logs_and_resumes(fake_data, tmp_path):
    out = tmp_path / "w.pt"
    kw = dict(train_cases=["000", "001"], holdout_cases=["002"], config=TINY_REARRANGEMENT, batch_size=1,
              steps_per_epoch=2, patches_per_case=3, cache_dir=tmp_path / "cache")
    h1 = train_rearrangement(fake_data, out, 2, max_minutes=0.0, **kw)  # stops after epoch 1
    assert len(h1) == 1 and out.is_file()
    h2 = train_rearrangement(fake_data, out, 2, resume=tmp_path / "w_checkpoints" / "last.pt", **kw)
    assert [h["epoch"] for h in h2] == [1, 2]
    assert 0 < h2[-1]["band_accuracy"] <= 1 and 0 < h2[-1]["band_accuracy_trilinear"] <= 1
    log = (tmp_path / "w_checkpoints" / "log.csv").read_text().splitlines()
    assert log[0].startswith("epoch,train_loss") and len(log) == 3
    assert load_rearrangement_model(out).config == TINY_REARRANGEMENT
    with pytest.raises(VoxelRearrangementError, match="report split"):
        train_rearrangement(fake_data, out, 1, train_cases=["000", "070"], holdout_cases=["002"])
