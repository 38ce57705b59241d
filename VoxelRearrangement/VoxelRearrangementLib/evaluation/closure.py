"""How well an implant closes the defect of a skull, measured without ground truth."""
from __future__ import annotations

from typing import Dict

import numpy as np

from .._shared.errors import VoxelRearrangementError
from ..grids.geometry import Mask


def defect_coverage(defective: Mask, implant: Mask, n_rays: int = 4000,
                    min_superior: float = 0.0, step_mm: float = 0.5,
                    reach_mm: float = 160.0) -> Dict[str, float]:
    """How well the implant closes the skull, without ground truth.

    Rays from the centre of the skull's bounding box go out in ``n_rays`` evenly spread
    directions of the vault (superior component > ``min_superior``: the upper half of the
    head, top and sides, which avoids the skull base, orbits and foramen magnum; on the
    complete SkullFix skull 069 no such ray escapes). A ray that crosses no bone of the
    defective skull leaves through the defect; ``covered_fraction`` is the share of those
    that cross the implant; ``defect_solid_angle_fraction`` the share of all rays that leave
    through a defect."""
    m = defective.ijk_to_lps
    inv = np.linalg.inv(m)
    idx = np.argwhere(defective.array)
    if len(idx) == 0:
        raise VoxelRearrangementError("the defective skull is empty")
    centre = m[:3, :3] @ ((idx.min(0) + idx.max(0)) / 2.0) + m[:3, 3]
    k = np.arange(n_rays) + 0.5  # Fibonacci lattice on the cap z > min_superior (equal areas)
    z = 1 - (1 - min_superior) * k / n_rays
    phi = np.pi * (1 + 5 ** 0.5) * k
    r = np.sqrt(1 - z ** 2)
    dirs = np.stack([r * np.cos(phi), r * np.sin(phi), z], 1)
    ts = np.arange(0, reach_mm, step_mm)
    hit_bone = np.zeros(len(dirs), dtype=bool)
    hit_implant = np.zeros(len(dirs), dtype=bool)
    shape = np.array(defective.array.shape)
    for s in range(0, len(dirs), 256):
        pts = centre + dirs[s:s + 256, None, :] * ts[None, :, None]  # (rays, steps, 3) mm
        ijk = np.rint(pts @ inv[:3, :3].T + inv[:3, 3]).astype(np.int64)
        ok = np.all((ijk >= 0) & (ijk < shape), axis=-1)
        ijk = np.clip(ijk, 0, shape - 1)
        sel = tuple(ijk[..., a] for a in range(3))
        hit_bone[s:s + 256] = np.any(ok & (defective.array[sel] > 0), axis=1)
        hit_implant[s:s + 256] = np.any(ok & (implant.array[sel] > 0), axis=1)
    open_rays = ~hit_bone
    n_open = int(open_rays.sum())
    return {"vault_rays": int(len(dirs)), "defect_rays": n_open,
            "defect_solid_angle_fraction": n_open / max(len(dirs), 1),
            "covered_fraction": float(hit_implant[open_rays].mean()) if n_open else 1.0}
