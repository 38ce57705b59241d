"""Training data of the coarse completion network: cached coarse cases, defects, augmentation,
the network's input channels. No torch here.

Two sources, each case read once at full resolution and cached as ``.npz`` (~0.3 MB):

* labelled SkullFix cases (``complete/`` + ``implant/``): the coarse complete skull (the
  target), its challenge defect cut at full resolution and downsampled, and the
  downsampling's values of both skulls (for cutting synthetic defects with partial volume,
  :mod:`.defects`, and for networks that see values);
* unlabelled defective skulls (``skullfix-test/defective``: other patients, each with an
  unknown challenge defect): the coarse defective skull is the target around a *second*,
  synthetic defect cut into its intact bone; the region of the original defect (the
  directions from the skull's centre that leave the vault without crossing bone, widened by
  :data:`IGNORE_MARGIN_DEG`) is left out of the loss (``ignore``).

A sample (:func:`training_sample`) is a defect (the challenge's or a synthetic one of any kind),
then the same random left-right flip, rotation (tilted heads: up to 25 degrees about the
left-right axis), per-axis scale and shift (sometimes to the volume's border) of the input,
the target and the ignored region. The network sees the defective skull and its mirror image
about the skull's mid-sagittal plane (:func:`network_input`).

Two kinds of network (``values`` in its configuration): a *mask* network sees and predicts
the challenge's 0/1 coarse masks (``zoom > 0.5``); a *values* network sees and predicts the
downsampling's values themselves (0..1: how much of each coarse voxel's neighbourhood is
bone), which keep the bone's surfaces to a fraction of a coarse voxel. Its samples are made
from the values (cut, turned and scaled as values), so its target stays what the
downsampling of a turned skull gives, not a mask interpolated and thresholded again.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from ..._shared.arrays import foreground_bounds
from ...evaluation.closure import open_directions, skull_centre, sphere_directions
from ...grids.geometry import Mask, challenge_coarse_grid
from ...grids.resample import downsample_values, downsample_with_values
from ...io.masks import read_mask
from ...io.skullfix import read_case
from ..case_cache import cached_cases
from .defects import KIND_WEIGHTS, Defect, cut, defect_fraction, random_defect

#: Share of labelled samples that use the case's own challenge defect.
P_CHALLENGE = 0.3
#: Angle (degrees) by which the unlabelled skulls' open directions are widened for the loss mask.
IGNORE_MARGIN_DEG = 6.0
#: A synthetic defect must remove at least this many coarse voxels of bone.
MIN_DEFECT_VOXELS = 150
#: Range of the random scale along (i, j) and along k: the same head framed differently. The
#: SkullBreak volumes (512^3 at 0.4 mm) show a head 1.15-1.2x larger in-plane and 0.75x in k
#: at 128 x 128 x 64 than SkullFix does, with empty space above the vertex.
SCALE_RANGE_IJ = (0.85, 1.25)
SCALE_RANGE_K = (0.7, 1.1)
#: Largest random rotation (degrees) about the left-right (i), anterior-posterior (j) and
#: superior (k) index axes: heads are scanned tilted forwards or backwards by up to 20-30.
MAX_ANGLES_DEG = (25.0, 10.0, 10.0)


@dataclass
class CoarseCase:
    """One case at 128 x 128 x 64 (uint8 arrays, axes i, j, k, LPS-aligned as SkullFix):
    ``target`` (the skull to restore), ``defective`` (its challenge defect; for an unlabelled
    case the skull itself), ``value`` and ``defective_value`` (the downsampling's values of
    ``target`` and ``defective`` at full resolution, 0..255), ``ignore`` (voxels left out of
    the loss) and the grid."""

    case: str
    target: np.ndarray
    defective: np.ndarray
    value: np.ndarray
    defective_value: np.ndarray
    ignore: np.ndarray
    ijk_to_lps: np.ndarray

    @property
    def labelled(self) -> bool:
        return not self.ignore.any()


def quantized(value: np.ndarray) -> np.ndarray:
    """Downsampling values (about 0..1, a spline may overshoot) as uint8 0..255."""
    return np.clip(np.rint(value * 255.0), 0, 255).astype(np.uint8)


def make_labelled(data_dir: Path, case: str) -> CoarseCase:
    """A SkullFix case: challenge defect cut at full resolution, both skulls downsampled."""
    complete, _, defective = read_case(data_dir, case)
    value = downsample_values(complete)
    defective_value, _ = downsample_with_values(defective)
    target = (value > 0.5).astype(np.uint8)
    coarse_defective = (defective_value > 0.5) & target  # downsample(defective)'s mask
    return CoarseCase(case, target, coarse_defective.astype(np.uint8), quantized(value),
                      quantized(defective_value), np.zeros_like(target),
                      challenge_coarse_grid(complete.grid).ijk_to_lps)


def ignored_region(skull: Mask, margin_deg: float = IGNORE_MARGIN_DEG) -> np.ndarray:
    """Bool volume: voxels whose direction from the skull's centre lies within ``margin_deg``
    of a vault direction that leaves without crossing bone (where a defect must be)."""
    directions = sphere_directions()
    centre = skull_centre(skull)
    holes = directions[open_directions(skull, directions, centre)]
    out = np.zeros(skull.array.shape, dtype=bool)
    if not len(holes):
        return out
    idx = np.indices(skull.array.shape, dtype=np.float32).reshape(3, -1).T
    v = idx @ skull.ijk_to_lps[:3, :3].T.astype(np.float32) + (skull.ijk_to_lps[:3, 3] - centre)
    v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-6)
    spacing = np.sqrt(4 * np.pi / len(directions))  # radians between neighbouring rays
    chord = 2 * np.sin((np.deg2rad(margin_deg) + spacing) / 2)
    distance, _ = cKDTree(holes).query(v, distance_upper_bound=chord)
    out.reshape(-1)[:] = np.isfinite(distance)
    return out


def make_unlabelled(folder: Path, case: str) -> CoarseCase:
    """An unlabelled defective skull ``<folder>/<case>.nrrd``: target = itself; the region of
    its unknown defect ignored."""
    skull = read_mask(Path(folder) / f"{case}.nrrd")
    value = downsample_values(skull)
    target = (value > 0.5).astype(np.uint8)
    coarse = Mask(target, challenge_coarse_grid(skull.grid).ijk_to_lps)
    return CoarseCase(case, target, target, quantized(value), quantized(value),
                      ignored_region(coarse).astype(np.uint8), coarse.ijk_to_lps)


def load_cases(data_dir: Optional[Path], cases: Sequence[str], cache_dir: Path,
               unlabelled_dir: Optional[Path] = None, unlabelled: Sequence[str] = (),
               progress: Optional[Callable[[float, str], None]] = None) -> List[CoarseCase]:
    """The labelled ``cases`` of the SkullFix folder ``data_dir`` and the ``unlabelled`` ones
    of ``unlabelled_dir``, computed once and cached in ``cache_dir``."""
    out = cached_cases(CoarseCase, cases, cache_dir, lambda case: f"labelled-{case}-v4.npz",
                       lambda case: make_labelled(data_dir, case), progress, "labelled cases")
    if unlabelled:
        out += cached_cases(CoarseCase, list(unlabelled), cache_dir,
                            lambda case: f"unlabelled-{case}-v4.npz",
                            lambda case: make_unlabelled(unlabelled_dir, case), progress,
                            "unlabelled cases")
    return out


def cut_defect(case: CoarseCase, defect: Defect, values: bool = False
               ) -> Tuple[np.ndarray, np.ndarray]:
    """``(defective, removed)``: ``case.target`` with ``defect`` cut out (partial volume as at
    full resolution), and the bone it removed (uint8). ``defective`` is the cut skull (uint8),
    or with ``values`` its downsampling values (float32, 0..1)."""
    value = _values(case.value)
    centre = skull_centre(Mask(case.target, case.ijk_to_lps))
    # a mask only needs the voxels that can stay bone; values are cut wherever they are not
    # zero, so that no faint trace of the removed surfaces is left in the defect
    where = value > 0.0 if values else value > 0.05
    fraction = defect_fraction(defect, where, case.ijk_to_lps, centre)
    defective = cut(value, fraction) & case.target
    removed = case.target & (1 - defective)
    return (value * (1.0 - fraction) if values else defective), removed


def synthetic_sample(case: CoarseCase, rng: np.random.Generator, kind: Optional[str] = None,
                     tries: int = 6, kind_weights: Sequence[float] = KIND_WEIGHTS,
                     values: bool = False) -> Tuple[np.ndarray, str]:
    """``(defective, kind)``: ``case.target`` with a random synthetic defect (of ``kind``, or
    drawn with ``kind_weights``) that removes at least :data:`MIN_DEFECT_VOXELS` of bone,
    mostly outside the ignored region; ``defective`` as :func:`cut_defect` gives it."""
    defective = defect = None
    for _ in range(max(1, tries)):
        defect = random_defect(rng, kind, kind_weights=kind_weights)
        defective, removed = cut_defect(case, defect, values)
        n = int(removed.sum())
        if n >= MIN_DEFECT_VOXELS and (removed & case.ignore).sum() < 0.3 * n:
            break
    return defective, defect.kind


def case_values(case: CoarseCase) -> Tuple[np.ndarray, np.ndarray]:
    """``(target, defective)`` of a case as downsampling values (float32, 0..1)."""
    return _values(case.value), _values(case.defective_value)


def _values(quantized_values: np.ndarray) -> np.ndarray:
    """Values stored by :func:`quantized` (uint8) as float32 0..1."""
    return quantized_values.astype(np.float32) / 255.0


def _rotation(angles_rad: Sequence[float]) -> np.ndarray:
    rot = np.eye(3)
    for axis, a in enumerate(angles_rad):
        c, s = np.cos(a), np.sin(a)
        r = np.eye(3)
        p, q = [x for x in range(3) if x != axis]
        r[p, p], r[p, q], r[q, p], r[q, q] = c, -s, s, c
        rot = rot @ r
    return rot


def augment_pair(target: np.ndarray, defective: np.ndarray, ignore: np.ndarray,
                 rng: np.random.Generator, max_shift: float = 4.0, values: bool = False
                 ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The same random left-right flip (axis i), rotation (:data:`MAX_ANGLES_DEG`), per-axis
    scale (:data:`SCALE_RANGE_IJ`, :data:`SCALE_RANGE_K`) and shift (up to ``max_shift``
    voxels plus the room a shrunk skull leaves; one sample in six is pushed against a border
    of the volume) of the three volumes, by linear interpolation; the defective skull is kept
    inside the target. Masks (uint8) are thresholded at 0.5; with ``values``, ``target`` and
    ``defective`` are downsampling values and stay values (float32, clipped to 0..1)."""
    if rng.random() < 0.5:
        target, defective, ignore = (np.flip(a, 0) for a in (target, defective, ignore))
    rot = _rotation(np.deg2rad([rng.uniform(-a, a) for a in MAX_ANGLES_DEG]))
    ranges = (SCALE_RANGE_IJ, SCALE_RANGE_IJ, SCALE_RANGE_K)
    scale = np.exp([rng.uniform(np.log(lo), np.log(hi)) for lo, hi in ranges])
    shape = np.asarray(target.shape, dtype=np.float64)
    room = max_shift + np.maximum(1.0 - scale, 0.0) * shape / 2
    shift = rng.uniform(-room, room)
    if rng.random() < 1 / 6:  # against a border: part of the head leaves the volume
        axis = rng.integers(3)
        shift[axis] = np.sign(rng.uniform(-1, 1)) * (room[axis] + rng.uniform(2, 10))
    matrix = rot @ np.diag(1.0 / scale)  # output index -> input index
    centre = (shape - 1) / 2.0
    offset = centre - matrix @ centre + shift
    t, d, i = (ndimage.affine_transform(np.ascontiguousarray(m, dtype=np.float32), matrix, offset,
                                        order=1, mode="constant")
               for m in (target, defective, ignore))
    if values:
        t = np.clip(t, 0.0, 1.0)
        return t, np.minimum(np.clip(d, 0.0, 1.0), t), (i > 0.5).astype(np.uint8)
    t, d = t > 0.5, d > 0.5
    return t.astype(np.uint8), (d & t).astype(np.uint8), (i > 0.5).astype(np.uint8)


def mirror_total(skull: np.ndarray) -> Optional[int]:
    """The mid-sagittal plane :func:`mirrored` takes, as the ``total`` of the mirror
    ``i -> total - i``: the middle of the extent of ``skull`` (values above 0.5) along i (None
    when it is empty)."""
    bounds = foreground_bounds(skull > 0.5)
    return None if bounds is None else int(bounds[0][0] + bounds[1][0] - 1)


def mirrored(skull: np.ndarray, total: Optional[int] = None) -> np.ndarray:
    """``skull`` (axes i, j, k; i left-right; a mask, or downsampling values) mirrored about
    its mid-sagittal plane ``i -> total - i`` (default :func:`mirror_total`; zeros where the
    mirror falls outside)."""
    total = mirror_total(skull) if total is None else total
    out = np.zeros_like(skull)
    if total is None:
        return out
    n = skull.shape[0]
    lo, hi = max(0, total - n + 1), min(n, total + 1)
    out[lo:hi] = skull[total - np.arange(lo, hi)]
    return out


def network_input(defective: np.ndarray, total: Optional[int] = None) -> np.ndarray:
    """The network's input (2, I, J, K) float32: the defective skull and its mirror image
    (about ``i -> total - i``, default :func:`mirror_total`)."""
    d = np.asarray(defective, dtype=np.float32)
    return np.stack([d, mirrored(d, total)])


def training_sample(case: CoarseCase, rng: np.random.Generator, p_challenge: float = P_CHALLENGE,
                    kind_weights: Sequence[float] = KIND_WEIGHTS, values: bool = False
                    ) -> Tuple[np.ndarray, np.ndarray]:
    """One sample: the network input (2, I, J, K) and the target (2, I, J, K): the skull to
    restore and the loss weight (0 in the ignored region). Synthetic defects are drawn with
    ``kind_weights`` (one per :data:`~.defects.KINDS`). With ``values`` the input and the
    skull to restore are downsampling values (see the module), else masks."""
    target, challenge = case_values(case) if values else (case.target, case.defective)
    if case.labelled and rng.random() < p_challenge:
        defective = challenge
    else:
        defective, _ = synthetic_sample(case, rng, kind_weights=kind_weights, values=values)
    target, defective, ignore = augment_pair(target, defective, case.ignore, rng, values=values)
    return network_input(defective), np.stack([target, 1 - ignore]).astype(np.float32)
