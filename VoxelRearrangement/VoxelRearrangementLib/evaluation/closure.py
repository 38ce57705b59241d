"""Does an implant close the defect? Rays from the skull's centre, in world millimetres.

Rays leave the centre of the skull (the centre of its bounding box) in evenly spread
directions (a Fibonacci lattice: equal solid angle per ray). A ray that crosses no bone of
the defective skull leaves the head through an opening; an implant closes the defect when
every such ray through the defect crosses it.

* With ground truth (:func:`closure`): the rays through the defect are those that cross the
  true implant (or the cut-out region of a synthetic defect) and no defective bone;
  ``closed_fraction`` is the share of them that cross the predicted implant.
* Without ground truth (:func:`defect_coverage`, what the pipeline reports): the rays through
  the defect are the rays of the *vault cone* (directions at most :data:`VAULT_MIN_ELEVATION_DEG`
  below the horizontal through the centre) that cross no defective bone. On the complete
  SkullFix training skulls at most 0.2 % of the vault cone's rays escape (natural openings
  lie lower: foramen magnum, and the open bottom of the scan), so an escaping ray of the cone
  is a defect ray. Escaping rays in groups of fewer than :data:`MIN_OPENING_RAYS` neighbours
  are thin-bone gaps of the scan, not a defect (a burr hole of 5 mm radius holds about 7
  rays). A defect that reaches lower than the cone (fronto-orbital, low lateral) is followed
  down to :data:`EXTENSION_MIN_ELEVATION_DEG` by left-right symmetry
  (:func:`defect_directions`): below the cone, an escaping ray joins the defect when its
  mirror image about the sagittal plane through the centre meets bone and it neighbours the
  cone's defect rays; natural openings (orbits, foramen magnum, the scan's open bottom) are
  symmetric and stay out. In the front wedge (within :data:`FRONT_WEDGE_DEG` of straight
  ahead) complete skulls have bone down to that elevation, so there an escaping ray next to
  the cone's defect rays joins the defect without the mirror rule: a low frontal defect
  across the midline, whose mirror image is open too, is followed as well. Where a scan
  frames the head so that the orbits rise into the cone (SkullBreak's volumes, cut at the
  skull base, put them 21-29 degrees below the centre), rays through gaps of the thin
  orbital roofs escape in the cone; such openings come in pairs, are low, in front and
  apart from the midline, so openings of the cone that lie wholly below
  :data:`PAIRED_MAX_ELEVATION_DEG`, within :data:`PAIRED_AZIMUTH_DEG` of straight ahead, on
  one side of the midline, and whose mirror image is open too are taken for natural openings
  (:func:`paired_openings`), not a defect.

Directions are world LPS unit vectors (superior = +z); grids may be sheared or rotated.
"""
from __future__ import annotations

from typing import Dict, Optional

import numpy as np

from .._shared.arrays import foreground_bounds
from .._shared.errors import VoxelRearrangementError
from ..grids.geometry import Mask, require_same_grid

#: Lowest elevation (degrees below the horizontal through the skull's centre) of the vault
#: cone, where complete skulls have no openings (calibrated on SkullFix 000-059).
VAULT_MIN_ELEVATION_DEG = -30.0
#: Lowest elevation (degrees) a defect is followed to below the vault cone, by symmetry.
EXTENSION_MIN_ELEVATION_DEG = -60.0
#: Half-width (degrees of azimuth about straight ahead, anterior) of the front wedge below the
#: vault cone where complete skulls have bone down to :data:`EXTENSION_MIN_ELEVATION_DEG` (the
#: frontal and nasal bones, the back of the orbits seen from the centre): of its 122 rays,
#: 43 of the complete skulls SkullFix 000-059 let none escape, 15 one to four, two 7 and 10
#: (gaps in thin bone).
FRONT_WEDGE_DEG = 30.0
#: A pair of openings of the vault cone that lie wholly below this elevation (degrees) ...
PAIRED_MAX_ELEVATION_DEG = -15.0
#: ... within this azimuth (degrees) of straight ahead, mirror images of each other, are
#: natural openings (the orbits through gaps of thin orbital roofs), not a defect.
PAIRED_AZIMUTH_DEG = 45.0
#: Rays per full sphere (a ray per 3.1e-3 sr, neighbours about 3.2 degrees apart).
N_RAYS = 4000
#: Fewest neighbouring escaping rays that make an opening (see the module docstring).
MIN_OPENING_RAYS = 4
#: Two directions closer than this many ray spacings are neighbours (in one opening).
NEIGHBOUR_SPACINGS = 1.5
#: March step and reach of a ray (mm).
STEP_MM = 0.5
REACH_MM = 180.0


def sphere_directions(n: int = N_RAYS) -> np.ndarray:
    """(n, 3) unit vectors spread evenly over the sphere (Fibonacci lattice)."""
    k = np.arange(n) + 0.5
    z = 1 - 2 * k / n
    phi = np.pi * (1 + 5 ** 0.5) * k
    r = np.sqrt(1 - z ** 2)
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)


def skull_centre(mask: Mask) -> np.ndarray:
    """World position (mm) of the centre of the bounding box of the mask's voxels."""
    bounds = foreground_bounds(mask.array)
    if bounds is None:
        raise VoxelRearrangementError("the skull is empty")
    centre = (bounds[0] + bounds[1] - 1) / 2.0
    return mask.ijk_to_lps[:3, :3] @ centre + mask.ijk_to_lps[:3, 3]


def ray_samples(volume: Mask, centre_mm: np.ndarray, directions: np.ndarray,
                step_mm: float = STEP_MM, reach_mm: float = REACH_MM, chunk: int = 256):
    """Per chunk of ``chunk`` directions: ``(start, ijk, inside)``: the nearest voxel (int64,
    rays x steps x 3, clipped to ``volume``) of the points every ``step_mm`` along each ray
    from ``centre_mm`` within ``reach_mm``, and whether the point lies inside the volume."""
    inv = np.linalg.inv(volume.ijk_to_lps)
    shape = np.array(volume.array.shape)
    ts = np.arange(0.0, reach_mm, step_mm)
    for s in range(0, len(directions), chunk):
        pts = centre_mm + directions[s:s + chunk, None, :] * ts[None, :, None]  # (rays, steps, 3)
        ijk = np.rint(pts @ inv[:3, :3].T + inv[:3, 3]).astype(np.int64)
        inside = np.all((ijk >= 0) & (ijk < shape), axis=-1)
        yield s, np.clip(ijk, 0, shape - 1), inside


def ray_hits(volume: Mask, centre_mm: np.ndarray, directions: np.ndarray,
             step_mm: float = STEP_MM, reach_mm: float = REACH_MM) -> np.ndarray:
    """Bool (n,): whether the ray from ``centre_mm`` along each direction crosses a voxel of
    ``volume`` within ``reach_mm`` (sampled every ``step_mm``, nearest voxel)."""
    out = np.zeros(len(directions), dtype=bool)
    for s, ijk, inside in ray_samples(volume, centre_mm, directions, step_mm, reach_mm):
        hit = volume.array[tuple(ijk[..., a] for a in range(3))] != 0
        out[s:s + len(ijk)] = np.any(inside & hit, axis=1)
    return out


def vault_cone(directions: np.ndarray, min_elevation_deg: float = VAULT_MIN_ELEVATION_DEG
               ) -> np.ndarray:
    """Bool (n,): the directions of the vault cone."""
    return directions[:, 2] >= np.sin(np.deg2rad(min_elevation_deg))


def ray_groups(rays: np.ndarray, directions: np.ndarray):
    """The indices of the ``rays`` (bool, n) that are set, and a group label for each:
    neighbours (closer than :data:`NEIGHBOUR_SPACINGS` ray spacings on the sphere) share one."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree
    idx = np.flatnonzero(rays)
    if not len(idx):
        return idx, np.zeros(0, dtype=np.int64)
    pairs = cKDTree(directions[idx]).query_pairs(neighbour_distance(len(directions)),
                                                 output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])) if len(pairs) else
                       ([], ([], [])), shape=(len(idx), len(idx)))
    return idx, connected_components(graph, directed=False)[1]


def neighbour_distance(n_rays: int) -> float:
    """Chord length within which two of ``n_rays`` evenly spread directions are neighbours."""
    return NEIGHBOUR_SPACINGS * float(np.sqrt(4 * np.pi / n_rays))


def openings(open_rays: np.ndarray, directions: np.ndarray,
             min_rays: int = MIN_OPENING_RAYS) -> np.ndarray:
    """``open_rays`` (bool, n) without the groups (:func:`ray_groups`) of fewer than
    ``min_rays`` rays."""
    idx, labels = ray_groups(open_rays, directions)
    out = np.zeros(len(directions), dtype=bool)
    if not len(idx):
        return out
    sizes = np.bincount(labels)
    out[idx[sizes[labels] >= min_rays]] = True
    return out


def open_directions(defective: Mask, directions: Optional[np.ndarray] = None,
                    centre_mm: Optional[np.ndarray] = None) -> np.ndarray:
    """Bool (n,): directions of the vault cone whose ray crosses no bone of ``defective``,
    in openings of at least :data:`MIN_OPENING_RAYS` rays."""
    directions = sphere_directions() if directions is None else directions
    centre = skull_centre(defective) if centre_mm is None else centre_mm
    return openings(vault_cone(directions) & ~ray_hits(defective, centre, directions), directions)


def azimuth_deg(directions: np.ndarray, face_posterior: bool = False) -> np.ndarray:
    """Azimuth (degrees, -180..180) of each direction from straight ahead (anterior, world
    LPS -y; +y when ``face_posterior``: a header with anterior and posterior swapped)."""
    ahead_y = 1.0 if face_posterior else -1.0
    return np.degrees(np.arctan2(directions[:, 0], ahead_y * directions[:, 1]))


def front_wedge(directions: np.ndarray, face_posterior: bool = False) -> np.ndarray:
    """Bool (n,): the directions within :data:`FRONT_WEDGE_DEG` of azimuth of straight ahead
    (:func:`azimuth_deg`), at any elevation."""
    return np.abs(azimuth_deg(directions, face_posterior)) <= FRONT_WEDGE_DEG


def mirrored(directions: np.ndarray) -> np.ndarray:
    """The directions mirrored about the sagittal plane (world LPS: x, left-right, negated)."""
    return directions * np.array([-1.0, 1.0, 1.0])


def paired_openings(openings_: np.ndarray, directions: np.ndarray, defective: Mask,
                    centre_mm: np.ndarray, face_posterior: bool = False) -> np.ndarray:
    """Bool (n,): the rays of the groups of ``openings_`` (:func:`ray_groups`) that are natural
    openings seen through thin bone (module docstring): wholly below
    :data:`PAIRED_MAX_ELEVATION_DEG`, within :data:`PAIRED_AZIMUTH_DEG` of straight ahead, on
    one side of the midline, and with at least half of their mirror images (:func:`mirrored`)
    crossing no bone of ``defective`` either."""
    idx, labels = ray_groups(openings_, directions)
    out = np.zeros(len(directions), dtype=bool)
    low = np.sin(np.deg2rad(PAIRED_MAX_ELEVATION_DEG))
    for group in np.unique(labels):
        rays = idx[labels == group]
        d = directions[rays]
        if (d[:, 2].max() >= low or not (np.all(d[:, 0] > 0) or np.all(d[:, 0] < 0))
                or np.abs(azimuth_deg(d, face_posterior)).max() > PAIRED_AZIMUTH_DEG):
            continue
        if (~ray_hits(defective, centre_mm, mirrored(d))).mean() >= 0.5:
            out[rays] = True
    return out


def defect_directions(defective: Mask, directions: Optional[np.ndarray] = None,
                      centre_mm: Optional[np.ndarray] = None, face_posterior: bool = False
                      ) -> np.ndarray:
    """Bool (n,): the directions through the defect as far as they can be told without ground
    truth: :func:`open_directions` (the vault cone) less its :func:`paired_openings`,
    followed below the cone down to
    :data:`EXTENSION_MIN_ELEVATION_DEG` by rays that cross no bone while their mirror image
    (:func:`mirrored`) does or that lie in the :func:`front_wedge`, in groups
    (:func:`ray_groups`) that reach the cone's defect rays. The mirror plane is the world
    sagittal plane through the skull's centre: a head turned or rolled in the scanner's frame
    shifts it (the extension then misses rays, or takes an asymmetry of the skull base for
    defect), and the part of a defect that lies below the cone on both sides of the midline
    outside the front wedge (low occipital) is not followed: its mirror image is open too.
    ``face_posterior``: the face lies at world posterior (see :func:`front_wedge`)."""
    directions = sphere_directions() if directions is None else directions
    centre = skull_centre(defective) if centre_mm is None else centre_mm
    cone = vault_cone(directions)
    hits = ray_hits(defective, centre, directions)
    defect = openings(cone & ~hits, directions)
    defect &= ~paired_openings(defect, directions, defective, centre, face_posterior)
    low = vault_cone(directions, EXTENSION_MIN_ELEVATION_DEG) & ~cone & ~hits
    if not defect.any() or not low.any():
        return defect
    candidates = low & front_wedge(directions, face_posterior)
    side = low & ~candidates
    candidates[side] = ray_hits(defective, centre, mirrored(directions[side]))
    idx, labels = ray_groups(defect | candidates, directions)
    reached = np.unique(labels[defect[idx]])
    extended = np.zeros(len(directions), dtype=bool)
    extended[idx[np.isin(labels, reached)]] = True
    return defect | (extended & candidates)


def _summary(defect_rays: np.ndarray, covered: np.ndarray, n_rays: int) -> Dict[str, float]:
    n = int(defect_rays.sum())
    return {"rays": n_rays, "defect_rays": n,
            "defect_solid_angle_fraction": n / max(n_rays, 1),
            "closed_fraction": float(covered[defect_rays].mean()) if n else 1.0,
            "open_rays": int((defect_rays & ~covered).sum())}


def defect_coverage(defective: Mask, implant: Mask, n_rays: int = N_RAYS,
                    face_posterior: bool = False) -> Dict[str, float]:
    """Closure without ground truth: of the rays through the defect
    (:func:`defect_directions`; ``face_posterior`` as there), the share that cross the implant
    (``closed_fraction``), with the counts."""
    require_same_grid(defective.grid, implant.grid, "the defective skull", "the implant")
    directions = sphere_directions(n_rays)
    centre = skull_centre(defective)
    defect = defect_directions(defective, directions, centre, face_posterior)
    covered = ray_hits(implant, centre, directions) if defect.any() else np.zeros(n_rays, bool)
    return _summary(defect, covered, n_rays)


def closure(defective: Mask, implant: Mask, truth: Mask, n_rays: int = N_RAYS) -> Dict[str, float]:
    """Closure with ground truth: of the rays that cross the true implant ``truth`` and no
    defective bone, the share that cross the predicted ``implant`` (all directions)."""
    require_same_grid(defective.grid, implant.grid, "the defective skull", "the implant")
    require_same_grid(defective.grid, truth.grid, "the defective skull", "the true implant")
    directions = sphere_directions(n_rays)
    centre = skull_centre(defective)
    defect = ray_hits(truth, centre, directions) & ~ray_hits(defective, centre, directions)
    covered = ray_hits(implant, centre, directions) if defect.any() else np.zeros(n_rays, bool)
    return _summary(defect, covered, n_rays)
