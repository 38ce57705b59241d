"""The end-to-end pipeline (``run``), also the Slicer module's background worker.

Defective skull (any grid) -> coarse completion (bundled network, 128 x 128 x 64) ->
refinement to the defective skull's own grid (template synthesis or a baseline) -> completed
skull (refined | defective bone) -> implant (:func:`~.implant.extract_implant`) -> meshes ->
files in the output folder:

- ``completed.nrrd`` (full-resolution completed skull), ``completed_coarse.nrrd`` and
  ``completed_probability.nrrd`` (the network's output), ``implant.nrrd``;
- ``skull.stl`` (the completed skull) and ``implant.stl`` (LPS mm);
- ``report.json``: timings, volumes, the printability reports of both meshes (keys
  ``skull`` and ``implant``), defect coverage (needs no ground truth,
  :func:`defect_coverage`); ``render.png``: the defective skull with the implant.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Callable, Dict, Optional, Sequence, Union

import numpy as np

from .errors import VoxelRearrangementError
from .geometry import Grid
from .mask_io import Mask, read_mask, write_mask
from .progress import Stage

PathLike = Union[str, os.PathLike]


def refine_to(coarse: Mask, method: str, templates: Sequence[Union[Mask, PathLike]], target: Grid,
              workers: int = 1, stage: Optional[Stage] = None, **options) -> Mask:
    """``coarse`` refined onto ``target`` with :func:`~.synthesis.refine`. Template methods
    without ``templates`` use the bundled vote tables of SkullFix 000-059; ``options`` (e.g.
    ``hamming_radius``) go to ``refine``."""
    from .synthesis import TEMPLATE_METHODS, refine
    from .template_tables import default_tables
    tables = default_tables() if method in TEMPLATE_METHODS and not templates else None
    stage = stage or Stage()
    return refine(coarse, method, templates, target, tables=tables, workers=workers,
                  progress=stage.report, **options).mask


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


def run_pipeline(defective: Union[PathLike, Mask], output_dir: PathLike,
                 templates: Sequence[PathLike] = (), method: str = "hash",
                 device: str = "auto", weights: Optional[PathLike] = None, workers: int = 1,
                 opening_mm: Optional[float] = None, smoothing: Optional[float] = None,
                 hamming_radius: Optional[int] = None, render: bool = True, progress: Optional[Callable[[float, str], None]] = None,
                 cancel: Optional[Callable[[], bool]] = None) -> dict:
    """Run everything and write the files listed in the module docstring; returns the report."""
    from . import implant as implant_mod
    from .completion import complete_skull, write_probability
    from .mesh_io import write_mesh
    from .meshing import DEFAULT_SMOOTHING, mask_to_mesh
    from .printability import printability_report

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    if not os.access(out, os.W_OK):
        raise VoxelRearrangementError(f"{out}: the output folder is not writable")
    stage = Stage(progress, cancel)
    times: Dict[str, float] = {}
    t = time.perf_counter()
    source = None
    if not isinstance(defective, Mask):
        source = str(defective)
        stage.report(0.0, "reading the defective skull")
        defective = read_mask(defective)
    times["read_s"] = time.perf_counter() - t

    t = time.perf_counter()
    result = complete_skull(defective, weights, device, progress=stage.sub(0.02, 0.12).report)
    times["completion_s"] = time.perf_counter() - t

    t = time.perf_counter()
    tpl = list(templates)  # files: their vote tables are cached by content
    options = {"device": device}  # where the learned method's network runs
    if hamming_radius is not None:
        options["hamming_radius"] = hamming_radius
    refined = refine_to(result.mask, method, tpl, defective.grid, workers, stage.sub(0.12, 0.6),
                        **options)
    completed = Mask((refined.array | defective.array).astype(np.uint8), defective.ijk_to_lps)
    del refined
    times["refinement_s"] = time.perf_counter() - t

    t = time.perf_counter()
    kw = {} if opening_mm is None else {"opening_mm": opening_mm}
    implant = implant_mod.extract_implant(completed, defective, progress=stage.sub(0.6, 0.7).report, **kw)
    times["implant_s"] = time.perf_counter() - t

    stage.sub(0.7, 0.75).report(0.0, "writing masks")
    write_mask(out / "completed.nrrd", completed)
    write_mask(out / "completed_coarse.nrrd", result.mask)
    write_probability(out / "completed_probability.nrrd", result.probability, result.mask.ijk_to_lps)
    write_mask(out / "implant.nrrd", implant)

    t = time.perf_counter()
    smooth = DEFAULT_SMOOTHING if smoothing is None else smoothing
    skull_mesh = mask_to_mesh(completed, smooth, progress=stage.sub(0.75, 0.85).report)
    write_mesh(out / "skull.stl", skull_mesh)
    skull_print = printability_report(skull_mesh)
    del skull_mesh
    implant_mesh = mask_to_mesh(implant, smooth, progress=stage.sub(0.85, 0.9).report)
    write_mesh(out / "implant.stl", implant_mesh)
    implant_print = printability_report(implant_mesh, thickness=True)
    times["meshing_s"] = time.perf_counter() - t

    stage.report(0.92, "checking the defect coverage")
    coverage = defect_coverage(defective, implant)
    if render:
        from .render import render_png
        stage.report(0.95, "rendering")
        render_png(out / "render.png", defective, implant, title="skull (grey) and implant (orange)")
    report = {
        "input": source, "input_shape": list(defective.array.shape), "method": method,
        "device": device, "coarse_shape": list(result.mask.array.shape),
        "volumes_ml": {"defective": defective.volume_ml, "completed": completed.volume_ml,
                       "implant": implant.volume_ml},
        "defect_coverage": coverage,
        "skull": skull_print, "implant": implant_print,
        "timings_s": {k: round(v, 2) for k, v in times.items()},
        "files": sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) + ["report.json"],
    }
    tmp = out / ".tmp-report.json"
    tmp.write_text(json.dumps(report, indent=2, default=float))
    os.replace(tmp, out / "report.json")
    stage.report(1.0, "done")
    return report
