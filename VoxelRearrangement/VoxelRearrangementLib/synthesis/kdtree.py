"""Template synthesis by nearest-neighbour search: a KD-tree over PCA-reduced features.

Each band voxel is described by 152 binary features: its 5 x 5 x 5 neighbourhood at the
current level (the nearest-parent upsampling, seen from the centre of the voxel's offset
class) and the 3 x 3 x 3 neighbourhood of its parent at the coarser level. Both depend only on
the voxel's key (parent code, offset class), so every distinct key is described and searched
once (the work scales with the number of distinct keys, not of voxels). Features are reduced
to 20 principal components (fitted on the template keys, seeded subsample, deterministic);
a KD-tree over the template keys of the same offset class gives each query key its nearest
template key, whose vote (template voxels that were 1 / all) decides; a tie keeps the
trilinear value. Unlike the hash, every query finds a neighbour: no Hamming fallback.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np
from scipy.spatial import cKDTree

from . import kernels
from .codes import N_BITS
from .votes import KEEP_TRILINEAR, CodeVotes

N_COMPONENTS = 20
PCA_SAMPLE = 50000
#: About how many template keys the KD-trees hold (the most frequent ones).
HELD_KEYS = 1 << 19
#: Approximation of the nearest-neighbour search: a returned neighbour is within (1 + EPS)
#: times the true nearest distance (much faster in 20 dimensions).
EPS = 1.0
CHUNK = 1 << 15


def class_bits(offset_bins: int, ratio: np.ndarray) -> np.ndarray:
    """(classes, 125) int64: for each offset class, the bit of the parent's code that holds
    each of the 5 x 5 x 5 fine neighbours (seen from the class centre) of a step that refines
    by ``ratio`` (target voxels per source voxel, per axis)."""
    b = offset_bins
    classes = np.arange(b ** 3)
    cls_axes = np.stack([classes // (b * b), (classes // b) % b, classes % b], axis=1)
    centre = (cls_axes + 0.5) / b - 0.5  # sub-voxel offset of the class centre, parent units
    d = np.arange(-2, 3)
    # parent-level offset (-1..1) of each of the 5 fine neighbours, per axis: (classes, 3, 5)
    par = np.clip(np.floor(centre[:, :, None] + d[None, None, :] / ratio[None, :, None] + 0.5),
                  -1, 1).astype(np.int64) + 1
    return (9 * par[:, 0, :, None, None] + 3 * par[:, 1, None, :, None]
            + par[:, 2, None, None, :]).reshape(len(classes), -1)


def key_features(codes: np.ndarray, classes: np.ndarray, offset_bins: int,
                 ratio: np.ndarray) -> np.ndarray:
    """(n, 152) float32 features of keys ``(codes[n], classes[n])`` for a step that refines
    by ``ratio``: the 5 x 5 x 5 neighbourhood at the current level and the parent's 3 x 3 x 3."""
    return kernels.key_features(np.ascontiguousarray(codes, dtype=np.int64),
                                np.ascontiguousarray(classes, dtype=np.int64),
                                class_bits(offset_bins, ratio), N_BITS)


class KDTreePredictor:
    """Nearest template key in PCA space for every query key, one KD-tree per offset class
    (a voxel is only compared with template voxels at the same sub-voxel position; this also
    keeps each tree small, which matters in 20 dimensions). Keys present in the templates
    are found exactly first (binary search in the sorted keys); the trees serve the rest."""

    def __init__(self, votes: CodeVotes, ratio: np.ndarray, n_components: int = N_COMPONENTS,
                 seed: int = 0, workers: int = 1) -> None:
        self.votes = votes
        self.ratio = np.asarray(ratio, dtype=np.float64)
        self._bits = class_bits(votes.offset_bins, self.ratio)
        self.workers = workers
        held = self._held_entries()
        rng = np.random.default_rng(seed)
        sample = np.sort(rng.choice(held, min(PCA_SAMPLE, held.size), replace=False))
        feats = self._features(sample)
        self._mean = feats.mean(axis=0, dtype=np.float64)
        centred = feats - self._mean
        _, vectors = np.linalg.eigh(centred.T @ centred)  # ascending eigenvalues
        self._basis = vectors[:, ::-1][:, :n_components].astype(np.float32)
        points = np.concatenate(self._map(lambda a: self._project(self._features(held[a:a + CHUNK])),
                                          range(0, held.size, CHUNK)))
        classes = votes.classes[held]
        self._trees = {}
        for cls in np.unique(classes):
            members = np.flatnonzero(classes == cls)
            self._trees[int(cls)] = (cKDTree(points[members]), held[members])

    def _map(self, fn, items) -> list:
        """``[fn(item) ...]`` in ``workers`` threads (the chunks' numba and BLAS work releases
        the GIL); the same results in the same order as one thread."""
        items = list(items)
        if self.workers <= 1 or len(items) < 2:
            return [fn(item) for item in items]
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return list(pool.map(fn, items))

    def _held_entries(self) -> np.ndarray:
        """Entries the trees hold: the ``HELD_KEYS`` keys with the most votes (all keys with
        more votes than the last one held), which carry nearly all template voxels and keep
        the trees small enough for fast queries."""
        total = self.votes.total
        if total.size <= HELD_KEYS:
            return np.arange(total.size)
        threshold = np.partition(total, total.size - HELD_KEYS)[total.size - HELD_KEYS]
        return np.flatnonzero(total > threshold) if threshold > 1 else np.flatnonzero(total >= 2)

    def _features(self, entries: np.ndarray) -> np.ndarray:
        v = self.votes
        code_rows = np.searchsorted(v.indptr, entries, side="right") - 1
        return kernels.key_features(v.codes[code_rows].astype(np.int64),
                                    v.classes[entries].astype(np.int64), self._bits, N_BITS)

    def _project(self, feats: np.ndarray) -> np.ndarray:
        return ((feats - self._mean) @ self._basis).astype(np.float32)

    def decisions(self, query_codes: np.ndarray, used: np.ndarray) -> Tuple[np.ndarray, dict]:
        """Decision per (query code, offset class) entry marked in ``used``; see hash."""
        decision = np.full(used.shape, KEEP_TRILINEAR, dtype=np.int8)
        r, c = np.nonzero(used)
        v = self.votes
        match = kernels.find_entries(v.code_table().lookup(query_codes)[r], c.astype(np.int64),
                                     v.indptr, v.classes)
        exact = match >= 0
        searched = np.flatnonzero(~exact)
        searched = searched[np.argsort(c[searched], kind="stable")]  # grouped by class, in order
        bounds = np.flatnonzero(np.diff(c[searched])) + 1

        def query(todo: np.ndarray) -> None:
            cls = int(c[todo[0]])
            if cls not in self._trees:
                return  # no template voxel at this sub-voxel position: keep trilinear
            tree, members = self._trees[cls]
            feats = kernels.key_features(query_codes[r[todo]].astype(np.int64),
                                         c[todo].astype(np.int64), self._bits, N_BITS)
            match[todo] = members[tree.query(self._project(feats), k=1, eps=EPS,
                                             workers=self.workers)[1]]

        for todo in np.split(searched, bounds) if searched.size else []:
            query(todo)
        found = match >= 0
        ones = self.votes.ones[match[found]].astype(np.float64)
        total = self.votes.total[match[found]].astype(np.float64)
        d = np.full(r.size, KEEP_TRILINEAR, dtype=np.int8)
        d[np.nonzero(found)[0][2 * ones > total]] = 1
        d[np.nonzero(found)[0][2 * ones < total]] = 0
        decision[r, c] = d
        return decision, {"codes": int(query_codes.size), "keys": int(r.size),
                          "exact": int(exact.sum()), "searched": int((~exact).sum())}
