"""Synthetic cranial defects of every kind, for training and for benchmarks (numpy only).

A defect is a patch of the skull seen from the skull's centre: every bone voxel whose
direction from the centre falls inside an outline drawn on the sphere around a defect
direction is removed, so the cut goes through the whole thickness of the bone, as a
craniectomy does. The outline is measured in millimetres along the surface (angles times
:data:`SURFACE_RADIUS_MM`) in a tangent frame at the defect direction.

* Kinds (where on the head, world LPS directions from the centre): ``vault`` (top, like the
  challenge's), ``lateral`` (parietotemporal, left or right), ``frontal``, ``fronto-orbital``
  (low frontal, reaching the orbits), ``occipital``, ``bilateral`` (two mirrored lateral or
  bifrontal patches) and ``large`` (up to a hemisphere's vault: 50-75 mm half-widths, so the
  centre lies 45 mm and more from any bone).
* Outlines: ``ellipse``, ``rounded`` (a rounded rectangle), ``irregular`` (an ellipse with
  a random wavy rim) and ``craniotomy`` (a rounded rectangle with 1-4 burr holes of 5-7 mm
  radius at its corners).

Partial volume, as if cut at full resolution: :func:`defect_fraction` gives the share of
each coarse voxel inside the defect (2 x 2 x 2 sub-samples); a coarse voxel of the cut skull
is bone when ``value * (1 - fraction) > 0.5``, where ``value`` is the challenge downsampling's
value of the intact skull (:func:`~...grids.resample.downsample_values`): the same rule as
downsampling a skull cut at full resolution, to first order.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np

#: Nominal radius (mm) turning angles from the centre into millimetres along the skull.
SURFACE_RADIUS_MM = 75.0
#: Kinds of defect and how often training draws each.
KINDS = ("vault", "lateral", "frontal", "fronto-orbital", "occipital", "bilateral", "large")
KIND_WEIGHTS = (0.16, 0.2, 0.14, 0.1, 0.1, 0.1, 0.2)
OUTLINES = ("ellipse", "rounded", "irregular", "craniotomy")
OUTLINE_WEIGHTS = (0.3, 0.2, 0.3, 0.2)

#: (azimuth range, elevation range) in degrees and half-width range in mm per kind. Azimuth 0
#: is anterior (-y in LPS), 90 the patient's left (+x); elevation 90 is the vertex.
_PLACES = {
    "vault": ((-180, 180), (45, 90), (18, 50)),
    "lateral": ((55, 125), (-15, 40), (22, 55)),
    "frontal": ((-35, 35), (5, 45), (18, 45)),
    "fronto-orbital": ((-30, 30), (-25, 10), (15, 35)),
    "occipital": ((145, 215), (-10, 35), (18, 45)),
    "bilateral": ((50, 110), (0, 45), (15, 35)),
    "large": ((50, 130), (15, 60), (50, 75)),
}


@dataclass
class Patch:
    """One outline on the sphere: its direction (unit LPS vector), tangent frame, half-widths
    (mm), outline kind and shape parameters."""

    direction: np.ndarray
    e1: np.ndarray
    e2: np.ndarray
    half_widths: Tuple[float, float]
    outline: str
    exponent: float = 2.0
    wave: Tuple[np.ndarray, np.ndarray] = field(default_factory=lambda: (np.zeros(0), np.zeros(0)))
    burr_holes: List[Tuple[float, float, float]] = field(default_factory=list)  # (x, y, r) mm


@dataclass
class Defect:
    """A synthetic defect: its kind and one or two patches."""

    kind: str
    patches: List[Patch]


def _direction(azimuth_deg: float, elevation_deg: float) -> np.ndarray:
    az, el = np.deg2rad(azimuth_deg), np.deg2rad(elevation_deg)
    return np.array([np.sin(az) * np.cos(el), -np.cos(az) * np.cos(el), np.sin(el)])


def _frame(n: np.ndarray, angle: float) -> Tuple[np.ndarray, np.ndarray]:
    """Tangent unit vectors at ``n``, rotated by ``angle`` (radians) about it."""
    helper = np.array([0.0, 0.0, 1.0]) if abs(n[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    e1 = np.cross(helper, n)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(n, e1)
    c, s = np.cos(angle), np.sin(angle)
    return c * e1 + s * e2, -s * e1 + c * e2


def _patch(rng: np.random.Generator, direction: np.ndarray, widths: Tuple[float, float],
           outline: str) -> Patch:
    a, b = rng.uniform(*widths), rng.uniform(*widths)
    e1, e2 = _frame(direction, rng.uniform(0, np.pi))
    patch = Patch(direction, e1, e2, (a, b), outline)
    if outline in ("rounded", "craniotomy"):
        patch.exponent = rng.uniform(3.0, 6.0)
    if outline == "irregular":
        k = np.arange(2, 6)
        patch.wave = (rng.uniform(-0.15, 0.15, size=k.size), rng.uniform(0, 2 * np.pi, size=k.size))
    if outline == "craniotomy":
        corner = 2.0 ** (-1.0 / patch.exponent)
        corners = [(sx * a * corner, sy * b * corner) for sx in (-1, 1) for sy in (-1, 1)]
        for n in rng.choice(4, size=rng.integers(1, 5), replace=False):
            patch.burr_holes.append((*corners[n], rng.uniform(5.0, 7.0)))
    return patch


def random_defect(rng: np.random.Generator, kind: Optional[str] = None,
                  outline: Optional[str] = None,
                  kind_weights: Sequence[float] = KIND_WEIGHTS) -> Defect:
    """A random defect of ``kind`` (drawn with ``kind_weights``, one per :data:`KINDS`, when
    None)."""
    kind = kind or str(rng.choice(KINDS, p=kind_weights))
    outline = outline or str(rng.choice(OUTLINES, p=OUTLINE_WEIGHTS))
    az_range, el_range, widths = _PLACES[kind]
    az, el = rng.uniform(*az_range), rng.uniform(*el_range)
    if kind in ("lateral", "large") and rng.random() < 0.5:
        az = -az  # the patient's right
    if kind == "bilateral":
        if rng.random() < 0.5:  # both sides
            dirs = [_direction(az, el), _direction(-az, el + rng.uniform(-8, 8))]
        else:  # bifrontal
            spread = rng.uniform(18, 30)
            dirs = [_direction(spread, el * 0.6), _direction(-spread, el * 0.6)]
        return Defect(kind, [_patch(rng, d, widths, outline) for d in dirs])
    return Defect(kind, [_patch(rng, _direction(az, el), widths, outline)])


def _inside(patch: Patch, v: np.ndarray) -> np.ndarray:
    """Bool (n,): which offsets ``v`` (n, 3, mm from the centre) point inside the patch."""
    along = v @ patch.direction
    x = SURFACE_RADIUS_MM * np.arctan2(v @ patch.e1, along)
    y = SURFACE_RADIUS_MM * np.arctan2(v @ patch.e2, along)
    a, b = patch.half_widths
    front = along > 0
    if patch.outline == "irregular":
        r = np.hypot(x / a, y / b)
        psi = np.arctan2(y / b, x / a)
        amp, phase = patch.wave
        k = np.arange(2, 2 + amp.size)
        rho = 1.0 + (amp[None, :] * np.cos(k[None, :] * psi[:, None] + phase[None, :])).sum(1)
        inside = r <= rho
    else:
        p = patch.exponent
        inside = np.abs(x / a) ** p + np.abs(y / b) ** p <= 1.0
    for bx, by, br in patch.burr_holes:
        inside |= (x - bx) ** 2 + (y - by) ** 2 <= br ** 2
    return inside & front


def defect_fraction(defect: Defect, where: np.ndarray, ijk_to_lps: np.ndarray,
                    centre_mm: np.ndarray) -> np.ndarray:
    """Float32 volume (shape of ``where``): the share of each voxel of ``where`` (bool; the
    voxels that can be bone) inside the defect, from 2 x 2 x 2 sub-samples; 0 elsewhere."""
    idx = np.argwhere(where).astype(np.float64)
    out = np.zeros(where.shape, dtype=np.float32)
    if not len(idx):
        return out
    m = np.asarray(ijk_to_lps, dtype=np.float64)
    count = np.zeros(len(idx), dtype=np.float32)
    for offset in np.array(np.meshgrid(*[(-0.25, 0.25)] * 3, indexing="ij")).reshape(3, -1).T:
        v = (idx + offset) @ m[:3, :3].T + m[:3, 3] - centre_mm
        hit = np.zeros(len(idx), dtype=bool)
        for patch in defect.patches:
            hit |= _inside(patch, v)
        count += hit
    out[tuple(idx.astype(np.int64).T)] = count / 8.0
    return out


def cut(value: np.ndarray, fraction: np.ndarray) -> np.ndarray:
    """The cut skull (uint8): bone where ``value * (1 - fraction) > 0.5`` (see the module)."""
    return (value * (1.0 - fraction) > 0.5).astype(np.uint8)



def cut_skull(complete, defect: Defect, centre_mm: np.ndarray):
    """A complete skull (a :class:`~...grids.geometry.Mask` at full resolution) cut by
    ``defect``: ``(defective, implant)`` on its grid, the implant being the bone removed
    (voxel centres inside the outline)."""
    from ...grids.geometry import Mask
    bone = np.argwhere(complete.array)
    m = np.asarray(complete.ijk_to_lps, dtype=np.float64)
    v = bone @ m[:3, :3].T + m[:3, 3] - centre_mm
    hit = np.zeros(len(bone), dtype=bool)
    for patch in defect.patches:
        hit |= _inside(patch, v)
    implant = np.zeros(complete.array.shape, dtype=np.uint8)
    implant[tuple(bone[hit].T)] = 1
    defective = (complete.array.astype(bool) & ~implant.astype(bool)).astype(np.uint8)
    return Mask(defective, complete.ijk_to_lps), Mask(implant, complete.ijk_to_lps)


def circular_defect(direction: np.ndarray, radius_mm: float, kind: str = "vault") -> Defect:
    """A round defect of ``radius_mm`` (along the surface) around the LPS ``direction``."""
    direction = np.asarray(direction, dtype=np.float64)
    direction = direction / np.linalg.norm(direction)
    e1, e2 = _frame(direction, 0.0)
    return Defect(kind, [Patch(direction, e1, e2, (radius_mm, radius_mm), "ellipse")])
