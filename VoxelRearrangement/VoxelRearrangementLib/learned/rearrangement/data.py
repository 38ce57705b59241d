"""Training pairs of the learned rearrangement: coarse skulls and fine target patches.

For every SkullFix complete skull the coarse input is made exactly as at inference (the
challenge coarse format, :func:`~.resample.downsample`); the fine targets are patches of the
full-resolution skull, ``PATCH`` voxels per side, 90 % centred on the band (a random coarse
voxel on the coarse surface, jittered) and 10 % anywhere in the skull's bounding box. A case is
cached as npz (coarse mask, fine<-coarse index map, patch corners, bit-packed patches: ~3 MB),
so training never reads the 512^2 files again. Network inputs are interpolated from the coarse
mask on the fly (:func:`~.learned_synthesis.window_input`), with the halo the network needs.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
from scipy import ndimage

from ..._shared.errors import VoxelRearrangementError
from ...grids.geometry import axis_aligned_scale
from ...grids.resample import downsample
from ...io.masks import read_mask
from ..case_cache import cached_cases
from .inference import window_input

#: Fine voxels per side of a training target patch.
PATCH = 64


@dataclass
class CasePatches:
    """One skull: ``coarse`` (uint8, 128 x 128 x 64), ``scale``/``offset`` (coarse index =
    scale * fine index + offset, per axis), ``starts`` (P, 3) first fine voxel of each patch,
    ``targets`` (P, PATCH^3 / 8) bit-packed fine skull patches."""

    case: str
    coarse: np.ndarray
    scale: np.ndarray
    offset: np.ndarray
    starts: np.ndarray
    targets: np.ndarray

    def target(self, n: int) -> np.ndarray:
        """Patch ``n`` as uint8 (PATCH, PATCH, PATCH)."""
        return np.unpackbits(self.targets[n])[:PATCH ** 3].reshape((PATCH,) * 3)


def make_case(data_dir: Path, case: str, n_patches: int, rng: np.random.Generator) -> CasePatches:
    """Read ``complete/<case>.nrrd``, make its coarse input and sample ``n_patches`` patches."""
    full = read_mask(Path(data_dir) / "complete" / f"{case}.nrrd")
    if min(full.array.shape) < PATCH:
        raise VoxelRearrangementError(f"case {case}: smaller than a {PATCH}^3 patch")
    coarse = downsample(full)
    scale, offset = axis_aligned_scale(coarse.grid, full.grid)
    c = coarse.array.astype(bool)
    surface = np.argwhere(ndimage.binary_dilation(c) & ~ndimage.binary_erosion(c))
    bone = np.argwhere(full.array[::4, ::4, ::4]) * 4
    n_band = int(round(0.9 * n_patches))
    centres = (surface[rng.integers(len(surface), size=n_band)] - offset) / scale
    centres += rng.uniform(-4, 4, size=centres.shape)
    lo, hi = bone.min(0), bone.max(0)
    centres = np.concatenate([centres, rng.uniform(lo, hi + 1, size=(n_patches - n_band, 3))])
    limit = np.array(full.array.shape) - PATCH
    starts = np.clip(np.round(centres).astype(int) - PATCH // 2, 0, limit)
    targets = np.stack([np.packbits(full.array[s[0]:s[0] + PATCH, s[1]:s[1] + PATCH,
                                               s[2]:s[2] + PATCH]) for s in starts])
    return CasePatches(case, coarse.array, scale, offset, starts, targets)


def load_cases(data_dir: Path, cases: Sequence[str], cache_dir: Path, n_patches: int,
               seed: int, progress: Optional[Callable[[float, str], None]] = None
               ) -> List[CasePatches]:
    """The patches of ``cases`` (seeded per case), made once and cached in ``cache_dir``."""
    return cached_cases(
        CasePatches, cases, cache_dir, lambda case: f"{case}-p{n_patches}-s{seed}.npz",
        lambda case: make_case(data_dir, case, n_patches, np.random.default_rng([seed, int(case)])),
        progress, "training patches")


def patch_pair(item: CasePatches, n: int, halo: int) -> Tuple[np.ndarray, np.ndarray]:
    """Network input window (float32, PATCH + 2 halo per side) and target (uint8, PATCH^3)."""
    start = item.starts[n] - halo
    window = window_input(item.coarse.astype(np.float32), item.scale, item.offset, start,
                          (PATCH + 2 * halo,) * 3)
    return window, item.target(n)


def augment_patch(window: np.ndarray, target: np.ndarray, rng: np.random.Generator
            ) -> Tuple[np.ndarray, np.ndarray]:
    """The same random flips (each axis, p = 0.5) and i/j swap (p = 0.5) of input and target;
    the degradation is symmetric under both (corner-aligned zoom, equal in-plane spacing)."""
    for axis in range(3):
        if rng.random() < 0.5:
            window, target = np.flip(window, axis), np.flip(target, axis)
    if rng.random() < 0.5:
        window, target = window.transpose(1, 0, 2), target.transpose(1, 0, 2)
    return np.ascontiguousarray(window), np.ascontiguousarray(target)
