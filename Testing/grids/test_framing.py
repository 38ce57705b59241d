"""grids.framing: when a volume is reframed for the network, the box, and world positions kept."""
import numpy as np

from helpers import sheared_matrix
from VoxelRearrangementLib import downsample, read_mask
from VoxelRearrangementLib.grids.framing import MEDIAN_SPAN, network_framing, reframed
from VoxelRearrangementLib.grids.geometry import Mask, index_to_lps


def _framing(mask):
    return network_framing(mask, downsample(mask).array)


def _padded(mask, lo, hi):
    """``mask`` with ``lo`` / ``hi`` empty voxels added before / after each axis."""
    n = np.array(mask.array.shape)
    return reframed(mask, (-np.asarray(lo), n + np.asarray(hi)))


def test_a_skullfix_framed_skull_is_left_as_it_is(sample_dir):
    # the bundled coarse sample is framed as SkullFix frames its skulls
    coarse = read_mask(sample_dir / "skull069_coarse.nrrd")
    assert _framing(coarse) is None


def test_the_box_frames_the_skull_the_same_however_the_volume_did(sample_dir):
    coarse = read_mask(sample_dir / "skull069_coarse.nrrd")  # sheared grid, skull on the cut
    skull = np.argwhere(coarse.array)
    extent = skull.max(axis=0) + 1 - skull.min(axis=0)
    framings = [_padded(coarse, (32, 32, 0), (32, 32, 0)),  # a wider field of view
                _padded(coarse, (0, 0, 25), (0, 0, 0)),  # empty slices under the cut
                _padded(coarse, (0, 0, 0), (0, 0, 30)),  # empty slices above the vertex
                reframed(coarse, (skull.min(axis=0) - 2, skull.max(axis=0) + 3))]  # cropped tight
    seen = []
    for volume in framings:
        box = _framing(volume)
        assert box is not None
        framed = reframed(volume, box)
        assert np.array_equal(framed.array.sum(), coarse.array.sum())  # no bone lost
        span = extent / np.array(framed.array.shape)
        assert np.allclose(span, MEDIAN_SPAN, atol=0.01)
        assert np.argwhere(framed.array)[:, 2].min() == 0  # the skull sits on the bottom slice
        seen.append(framed)
    for other in seen[1:]:  # the same voxels at the same world positions, whatever the framing
        assert np.array_equal(other.array, seen[0].array)
        assert np.allclose(other.ijk_to_lps, seen[0].ijk_to_lps)


def test_a_speck_far_from_the_skull_does_not_frame_it(sample_dir):
    # one voxel of noise in a corner spans the whole volume: framed on all the bone, the
    # skull would have been shrunk to 0.575 of that; the downsampling drops the speck
    defective = read_mask(sample_dir / "skull069_defective.nrrd")
    array = defective.array.copy()
    array[2, 2, 200] = 1
    assert _framing(Mask(array, defective.ijk_to_lps)) is None


def test_reframing_keeps_every_voxel_where_it_is_in_the_world():
    rng = np.random.default_rng(0)
    mask = Mask((rng.random((20, 18, 12)) > 0.5).astype(np.uint8), sheared_matrix())
    lo, hi = np.array([-3, 4, -2]), np.array([15, 25, 10])  # padded and cut at once
    out = reframed(mask, (lo, hi))
    assert out.array.shape == tuple(hi - lo)
    ijk = np.argwhere(np.ones(out.array.shape, dtype=bool))
    source = ijk + lo
    inside = np.all((source >= 0) & (source < mask.array.shape), axis=1)
    assert np.allclose(index_to_lps(out.ijk_to_lps, ijk[inside]),
                       index_to_lps(mask.ijk_to_lps, source[inside]))
    assert np.array_equal(out.array[tuple(ijk[inside].T)], mask.array[tuple(source[inside].T)])
    assert not out.array[tuple(ijk[~inside].T)].any()  # padding is empty
