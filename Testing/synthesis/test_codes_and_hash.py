"""Neighbourhood codes, the vectorised hash table, and hash synthesis against brute force."""
from itertools import product

import numpy as np
import pytest

from helpers import sheared_matrix, shell
from VoxelRearrangementLib._shared.sections import sections
from VoxelRearrangementLib.grids.geometry import intermediate_grid
from VoxelRearrangementLib.grids.pyramid import degrade_template
from VoxelRearrangementLib.grids.resample import downsample
from VoxelRearrangementLib.synthesis import kernels
from VoxelRearrangementLib.synthesis.codes import FULL, hamming_ball, level_codes
from VoxelRearrangementLib.synthesis.hashtable import CodeHashTable
from VoxelRearrangementLib.synthesis.level_step import SourceLevel
from VoxelRearrangementLib.synthesis.refine import refine
from VoxelRearrangementLib.synthesis.tables import learn_template


def test_code_bit_order():
    vol = np.zeros((5, 5, 5), np.uint8)
    vol[2, 2, 2] = 1
    assert level_codes(vol)[1][2, 2, 2] == 1 << 13  # the voxel itself is bit 13
    vol[:] = 0
    vol[1, 1, 1] = 1  # offset (-1, -1, -1) of (2, 2, 2): bit 0
    vol[3, 2, 1] = 1  # offset (+1, 0, -1): bit 9*2 + 3*1 + 0 = 21
    assert level_codes(vol)[1][2, 2, 2] == (1 << 0) | (1 << 21)
    # outside the volume counts as 0
    corner = np.ones((3, 3, 3), np.uint8)
    assert level_codes(corner)[1][0, 0, 0] == sum(
        1 << (9 * a + 3 * b + c) for a, b, c in product((1, 2), repeat=3))
    mixed, codes = level_codes(corner)
    assert not mixed[1, 1, 1] and codes[1, 1, 1] == 0  # FULL: not mixed, no code kept


def test_mixed_voxels_and_codes_equal_brute_force():
    rng = np.random.default_rng(3)
    vol = (rng.random((9, 8, 7)) > 0.8).astype(np.uint8)
    mixed, codes = level_codes(vol)
    for idx in np.ndindex(vol.shape):
        code = _code(vol, idx)
        assert mixed[idx] == (code not in (0, FULL))
        assert codes[idx] == (code if mixed[idx] else 0)


@pytest.mark.parametrize("workers", [2, 3, 5])
def test_codes_in_parallel_slabs_equal_one_pass(workers):
    rng = np.random.default_rng(4)
    vol = (rng.random((41, 9, 7)) > 0.6).astype(np.uint8)
    one = SourceLevel.prepare(vol)
    many = SourceLevel.prepare(vol, workers)
    assert np.array_equal(one.mixed, many.mixed) and np.array_equal(one.code_volume, many.code_volume)
    assert one.mixed.any() and one.code_volume.dtype == many.code_volume.dtype


@pytest.mark.parametrize("slabs", [1, 2, 3])
def test_distinct_codes_rows_and_classes_equal_numpy(slabs):
    """The compiled query of a level (a bit set of the 27-bit codes, ranks by popcount) gives
    what np.unique gives, and each code's offset classes pooled from its voxels."""
    rng = np.random.default_rng(5)
    vol = (rng.random((23, 11, 9)) > 0.6).astype(np.uint8)
    source = SourceLevel.prepare(vol)
    masks = [rng.integers(0, 2 ** 64, n, dtype=np.uint64, endpoint=False) for n in vol.shape]
    mixed = source.mixed.view(np.uint8)
    words, before, codes = kernels.code_set(mixed, source.code_volume)
    expected, inverse = np.unique(source.code_volume[source.mixed], return_inverse=True)
    assert np.array_equal(codes, expected)
    code_row = np.empty(vol.shape, np.int32)
    pooled = np.zeros((slabs, codes.size), np.uint64)
    for n, part in enumerate(sections(vol.shape[0], slabs)):
        kernels.code_rows(mixed, source.code_volume, part.start, part.stop, words, before,
                          *masks, code_row, pooled[n])
    assert np.array_equal(code_row[source.mixed], inverse.ravel())
    assert np.all(code_row[~source.mixed] == -1)
    want = np.zeros(codes.size, np.uint64)
    i, j, k = np.nonzero(source.mixed)
    np.bitwise_or.at(want, inverse.ravel(), masks[0][i] & masks[1][j] & masks[2][k])
    flags = kernels.class_flags(pooled, 64)
    assert np.array_equal(flags, (want[:, None] >> np.arange(64, dtype=np.uint64)) & 1 == 1)


def test_hamming_ball_contents():
    d1, d2, d3 = hamming_ball(3)
    assert len(d1) == 27 and len(d2) == 351 and len(d3) == 2925
    for masks, d in ((d1, 1), (d2, 2), (d3, 3)):
        assert len(set(masks.tolist())) == len(masks)
        assert all(bin(int(m)).count("1") == d for m in masks)
        assert masks.max() < 1 << 27


def test_hash_table_lookup_equals_a_dict():
    rng = np.random.default_rng(5)
    keys = np.unique(rng.integers(0, 1 << 27, 20000))
    table = CodeHashTable(keys)
    queries = np.concatenate([keys, rng.integers(0, 1 << 27, 5000)])
    expected = {int(k): n for n, k in enumerate(keys)}
    assert table.lookup(queries).tolist() == [expected.get(int(q), -1) for q in queries]
    with pytest.raises(ValueError):
        CodeHashTable(np.array([3, 3]))
    with pytest.raises(ValueError):
        CodeHashTable(np.array([1 << 33]))


# --- brute-force reference of hash synthesis ---------------------------------------------

def _parent_and_class(src_grid, tgt_grid, bins, t):
    """Parent index and offset class of target voxel ``t`` from world coordinates."""
    world = tgt_grid.ijk_to_lps @ np.array([*t, 1.0])
    pos = np.linalg.solve(src_grid.ijk_to_lps, world)[:3]
    pos = np.clip(np.round(pos, 9), 0, np.array(src_grid.shape) - 1)
    parent = np.floor(pos + 0.5).astype(int)
    b = np.clip(np.floor((pos - parent + 0.5) * bins), 0, bins - 1).astype(int)
    return tuple(parent), (b[0] * bins + b[1]) * bins + b[2]


def _code(vol, p):
    code = 0
    for bit, (a, b, c) in enumerate(product((-1, 0, 1), repeat=3)):
        q = (p[0] + a, p[1] + b, p[2] + c)
        if all(0 <= q[x] < vol.shape[x] for x in range(3)) and vol[q]:
            code |= 1 << bit
    return code


def _brute_votes(src, tgt, bins):
    votes = {}
    for t in np.ndindex(tgt.array.shape):
        p, cls = _parent_and_class(src.grid, tgt.grid, bins, t)
        code = _code(src.array, p)
        if code in (0, FULL):
            continue
        o, n = votes.get((code, cls), (0, 0))
        votes[(code, cls)] = (o + int(tgt.array[t]), n + 1)
    return votes


def _brute_step(src_array, src_grid, tgt_grid, votes, bins, radius, margin):
    out = np.zeros(tgt_grid.shape, np.uint8)
    by_code = {}
    for (code, cls), v in votes.items():
        by_code.setdefault(code, {})[cls] = v
    for t in np.ndindex(tgt_grid.shape):
        p, cls = _parent_and_class(src_grid, tgt_grid, bins, t)
        code = _code(src_array, p)
        if code in (0, FULL):
            out[t] = src_array[p]
            continue
        o, n = by_code.get(code, {}).get(cls, (0, 0))
        m = 0.0 if n else margin  # pooled Hamming votes must beat 1/2 by the margin
        d = 1
        while n == 0 and d <= radius:
            for other, per_cls in by_code.items():
                if bin(other ^ code).count("1") == d and cls in per_cls:
                    o += per_cls[cls][0]
                    n += per_cls[cls][1]
            d += 1
        if o - 0.5 * n > m * n:
            out[t] = 1
        elif 0.5 * n - o > m * n:
            out[t] = 0
        else:  # tie or nothing: trilinear
            world = tgt_grid.ijk_to_lps @ np.array([*t, 1.0])
            pos = np.round(np.linalg.solve(src_grid.ijk_to_lps, world)[:3], 9)
            from scipy.ndimage import map_coordinates
            out[t] = map_coordinates(src_array.astype(float), pos.reshape(3, 1), order=1,
                                     mode="nearest")[0] > 0.5
    return out


def test_vectorised_hash_synthesis_equals_brute_force():
    bins, radius, margin, coarse_shape = 3, 2, 0.2, (8, 7, 6)
    template = shell((26, 24, 20), radii=(11, 10, 8), thickness=3, matrix=sheared_matrix())
    truth = shell((24, 22, 18), radii=(10, 9.5, 7.5), thickness=3, centre_shift=(0.6, -0.4, 0.3),
                  matrix=sheared_matrix())
    coarse = downsample(truth, coarse_shape)
    tables = learn_template(template, bins, coarse_shape)
    result = refine(coarse, "hash", tables=tables, target_grid=truth.grid, hamming_radius=radius,
                    hamming_margin=margin)

    t0, t1, t2 = degrade_template(template, coarse_shape)
    votes = [_brute_votes(t0, t1, bins), _brute_votes(t1, t2, bins)]
    for s, v in enumerate(votes):  # the learned tables hold exactly the brute-force votes
        t = tables.steps[s]
        learned = {(int(key) // t.n_offset_classes, int(key) % t.n_offset_classes): (int(o), int(n))
                   for key, o, n in zip(t.keys, t.ones, t.total)}
        assert learned == v
    l1 = intermediate_grid(coarse.grid, truth.grid)
    level1 = _brute_step(coarse.array, coarse.grid, l1, votes[0], bins, radius, margin)
    level2 = _brute_step(level1, l1, truth.grid, votes[1], bins, radius, margin)
    assert np.array_equal(result.mask.array, level2)
