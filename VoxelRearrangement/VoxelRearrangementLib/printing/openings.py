"""The safety net after completion: openings left in the implant are closed by interpolating
the skull's shell across them.

Seen from the skull's centre, the vault is a shell: along each direction a ray meets the wall
between an inner and an outer radius. Where rays through the defect miss the implant
(:func:`~..evaluation.closure.defect_coverage`), those two radii are interpolated from the
directions around the opening that do meet the wall (bone or implant), weighted by the inverse
square of the angle between the directions, and the voxels between them are added to the
implant: the patch continues the surrounding curvature instead of bridging it flat. The
openings this closes are the ones completion networks leave in the middle of large defects,
far from any bone; an opening that the patch cannot close (no wall around it to interpolate
from) is left, and the report says so. Before that, pieces of the implant that no ray through
the defect crosses are dropped (:mod:`.stray`).
"""
from __future__ import annotations

from typing import Dict, Optional, Tuple

import numpy as np
from scipy import ndimage

from .._shared.progress import ProgressCallback, Stage
from ..evaluation.closure import (
    N_RAYS,
    REACH_MM,
    STEP_MM,
    defect_directions,
    neighbour_distance,
    ray_groups,
    ray_hits,
    ray_samples,
    skull_centre,
    sphere_directions,
)
from ..grids.geometry import Mask, binary, require_same_grid
from .stray import drop_stray_pieces

#: Directions around an opening the radii are interpolated from.
NEIGHBOURS = 16
#: Gaps (mm) along a ray that still count as one layer of bone (diploe, noise in the mask).
LAYER_GAP_MM = 2.0
#: A neighbour whose outer radius is under this share of the neighbours' upper quartile is
#: not the shell.
SHADOWED_SHARE = 0.8


def close_openings(defective: Mask, implant: Mask, n_rays: int = N_RAYS,
                   progress: Optional[ProgressCallback] = None, face_posterior: bool = False
                   ) -> Tuple[Mask, Dict[str, float]]:
    """``implant`` with its openings closed (see the module docstring; ``face_posterior``: the
    face lies at world posterior, :func:`~..evaluation.closure.front_wedge`), and a report:
    ``open_rays_before``, ``open_rays_after`` (rays through the defect that miss the implant,
    in the openings that are the implant's to close: :func:`_implants_openings`),
    ``open_rays_elsewhere`` (in openings of the skull away from the implant, left alone),
    ``added_ml``, ``stray_dropped_ml`` (pieces that closed nothing, :mod:`.stray`)."""
    defective = binary(defective, "the defective skull")
    implant = binary(implant, "the implant")
    require_same_grid(defective.grid, implant.grid, "the defective skull", "the implant")
    stage = Stage(progress)
    directions = sphere_directions(n_rays)
    centre = skull_centre(defective)
    defect = defect_directions(defective, directions, centre, face_posterior)
    implant, stray_ml = drop_stray_pieces(implant, centre, directions[defect])
    covered = ray_hits(implant, centre, directions)
    missing = _implants_openings(defect, covered, directions)
    report = {"open_rays_before": int(missing.sum()), "open_rays_after": int(missing.sum()),
              "open_rays_elsewhere": int((defect & ~covered & ~missing).sum()),
              "added_ml": 0.0, "stray_dropped_ml": stray_ml,
              "method": "radial interpolation of the shell"}
    if not missing.any():
        return implant, report
    stage.report(0.1, f"closing {int(missing.sum())} open directions of the implant")
    wall = Mask(((defective.array != 0) | (implant.array != 0)).astype(np.uint8), defective.ijk_to_lps)
    inner, outer = _shell_radii(wall, centre, directions)
    known = np.isfinite(inner) & ~missing
    if known.sum() < NEIGHBOURS:
        return implant, report
    r_in, r_out = _interpolated(directions, known, inner, outer, missing)
    patch = _fill(wall.grid.shape, wall.ijk_to_lps, centre, directions, missing, r_in, r_out)
    patch &= defective.array == 0
    added = patch & (implant.array == 0)
    out = Mask(((implant.array != 0) | patch).astype(np.uint8), implant.ijk_to_lps)
    after = missing & ~ray_hits(out, centre, directions)
    report.update(open_rays_after=int(after.sum()),
                  added_ml=round(float(added.sum()) * implant.grid.voxel_volume_mm3 / 1000.0, 2))
    stage.report(1.0, "openings closed" if not after.any() else "openings left")
    return out, report


def _implants_openings(defect: np.ndarray, covered: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """The open directions of the defect that are the implant's to close, as groups
    (:func:`~..evaluation.closure.ray_groups`): the groups that touch a ``covered`` direction (holes
    in, or gaps at the edge of, the implant) or, where the implant meets no direction of the
    defect at all (the network left the whole defect open), the largest group. Openings of
    the skull the implant comes nowhere near, beside an implant that does cover its defect (a
    natural opening low in a tilted head), are not the implant's to close."""
    from scipy.spatial import cKDTree
    idx, labels = ray_groups(defect & ~covered, directions)
    out = np.zeros(len(directions), dtype=bool)
    if not len(idx):
        return out
    if (defect & covered).any():
        distance, _ = cKDTree(directions[covered]).query(directions[idx])
        chosen = np.unique(labels[distance <= neighbour_distance(len(directions))])
    else:
        chosen = [np.argmax(np.bincount(labels))]
    out[idx[np.isin(labels, chosen)]] = True
    return out


def _shell_radii(wall: Mask, centre: np.ndarray, directions: np.ndarray):
    """Per direction: the inner and outer radius (mm) of the outermost layer of wall along its
    ray (the last run of wall voxels, gaps up to :data:`LAYER_GAP_MM` bridged), NaN where the
    ray meets no wall. Only the outermost layer: where a ray crosses two (the orbital roof
    under the frontal bone, the walls of a sinus), the patch must not fill the space between."""
    ts = np.arange(0.0, REACH_MM, STEP_MM)  # the radii of ray_samples' points
    inner = np.full(len(directions), np.nan)
    outer = np.full(len(directions), np.nan)
    bridge = 2 * int(round(LAYER_GAP_MM / STEP_MM / 2)) + 1
    for s, ijk, inside in ray_samples(wall, centre, directions, STEP_MM, REACH_MM):
        hit = inside & (wall.array[tuple(ijk[..., a] for a in range(3))] != 0)
        hit = ndimage.binary_closing(hit, structure=np.ones((1, bridge)), border_value=0) | hit
        any_hit = hit.any(axis=1)
        starts = hit & ~np.pad(hit, ((0, 0), (1, 0)))[:, :-1]
        first = len(ts) - 1 - np.argmax(starts[:, ::-1], axis=1)  # the start of the last run
        last = len(ts) - 1 - np.argmax(hit[:, ::-1], axis=1)
        inner[s:s + len(ijk)] = np.where(any_hit, ts[first], np.nan)
        outer[s:s + len(ijk)] = np.where(any_hit, ts[last], np.nan)
    return inner, outer


def _interpolated(directions, known, inner, outer, wanted):
    """Inverse-square-angle weighted radii at the ``wanted`` directions from the ``known``
    ones; a neighbour whose outer radius lies under :data:`SHADOWED_SHARE` of the upper
    quartile of the neighbours' is left out (its ray meets only bone deep inside the head, such as the
    orbital roof seen through a fronto-orbital defect, not the shell being continued)."""
    from scipy.spatial import cKDTree
    tree = cKDTree(directions[known])
    chord, idx = tree.query(directions[wanted], k=NEIGHBOURS)
    r_o, r_i = outer[known][idx], inner[known][idx]
    weight = 1.0 / np.maximum(chord, 1e-6) ** 2
    weight *= r_o >= SHADOWED_SHARE * np.percentile(r_o, 75, axis=1, keepdims=True)
    weight /= weight.sum(axis=1, keepdims=True)
    r_in = np.full(len(directions), np.nan)
    r_out = np.full(len(directions), np.nan)
    r_in[wanted] = (weight * r_i).sum(axis=1)
    r_out[wanted] = (weight * r_o).sum(axis=1)
    return r_in, r_out


def _fill(shape, matrix, centre, directions, missing, r_in, r_out) -> np.ndarray:
    """Voxels whose nearest direction is missing and whose radius lies between the
    interpolated inner and outer radii (half a voxel of slack on both sides)."""
    from scipy.spatial import cKDTree
    lin, origin = matrix[:3, :3], matrix[:3, 3]
    half_voxel = 0.5 * float(np.linalg.norm(lin, axis=0).max())
    reach = float(np.nanmax(r_out[missing])) + half_voxel
    # the box of the cone of missing directions out to the largest radius
    tips = centre + directions[missing] * reach
    corners = np.vstack([tips, centre + directions[missing] * np.nanmin(r_in[missing]) * 0.9])
    ijk = np.linalg.solve(lin, (corners - origin).T).T
    lo = np.maximum(np.floor(ijk.min(axis=0)).astype(int) - 1, 0)
    hi = np.minimum(np.ceil(ijk.max(axis=0)).astype(int) + 2, shape)
    out = np.zeros(shape, dtype=bool)
    if np.any(hi <= lo):
        return out
    tree = cKDTree(directions)
    r_lo = float(np.nanmin(r_in[missing])) - half_voxel
    axis_dir = directions[missing].mean(axis=0)
    axis_dir /= max(np.linalg.norm(axis_dir), 1e-9)
    cos_cone = float((directions[missing] @ axis_dir).min()) - 0.05
    j, k = np.meshgrid(np.arange(lo[1], hi[1]), np.arange(lo[2], hi[2]), indexing="ij")
    plane = np.stack([np.zeros(j.size, dtype=np.int64), j.ravel(), k.ravel()], axis=1)
    for i in range(lo[0], hi[0]):  # slice by slice: the voxels of the shell's band in the cone
        plane[:, 0] = i
        rel = plane @ lin.T + (origin - centre)
        radius = np.linalg.norm(rel, axis=1)
        unit = rel / np.maximum(radius[:, None], 1e-9)
        band = (radius >= r_lo) & (radius <= reach) & (unit @ axis_dir >= cos_cone)
        if not band.any():
            continue
        _, nearest = tree.query(unit[band])
        sel = missing[nearest]
        rb = radius[band]
        sel &= (rb >= r_in[nearest] - half_voxel) & (rb <= r_out[nearest] + half_voxel)
        hit = plane[band][sel]
        out[hit[:, 0], hit[:, 1], hit[:, 2]] = True
    return out
