"""``refine``: a coarse skull mask to a binary mask on a fine target grid, by any method.

Methods: ``hash`` and ``kdtree`` (template synthesis through the L0 -> L1 -> L2 pyramid),
``learned`` (the bundled rearrangement network, :mod:`.learned_synthesis`) and the baselines
``nearest``, ``trilinear``, ``median`` and ``gaussian``. The target grid is
by default 4x finer on every axis and corner aligned with the coarse grid; pass the original
high-resolution grid when it is known. A target grid rotated relative to the coarse one is
synthesized on an aligned grid of the same density, then resampled (trilinear) onto it.
"""
from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence, Tuple, Union

import numpy as np

from .._shared.bounds import check
from .._shared.errors import VoxelRearrangementError
from .._shared.progress import CancelCallback, ProgressCallback, Stage
from .._shared.sections import Section, sections
from ..checks import check_coarse_input
from ..grids.geometry import (
    Grid,
    Mask,
    axis_aligned_scale,
    binary,
    corner_aligned_grid,
    index_map,
    upsampled_grid,
)
from ..grids.pyramid import PyramidGrids
from ..grids.resample import resample_mask
from ..learned.weights import DEFAULT_DEVICE
from . import baselines
from .hash import HashPredictor
from .kdtree import KDTreePredictor
from .level_step import MAX_OFFSET_BINS, LevelStep, SourceLevel
from .tables import StepTables, default_tables, template_tables

TEMPLATE_METHODS = ("hash", "kdtree")
BASELINE_METHODS = {"nearest": baselines.nearest, "trilinear": baselines.trilinear,
                    "median": baselines.median, "gaussian": baselines.gaussian}
LEARNED_METHOD = "learned"
METHODS = TEMPLATE_METHODS + (LEARNED_METHOD,) + tuple(BASELINE_METHODS)


@dataclass
class Refinement:
    """The refined mask and a report (method, grids, timings in s, lookup statistics)."""

    mask: Mask
    report: dict = field(default_factory=dict)


def _section_runner(workers: int) -> Callable:
    """``run(fn, items)``: ``fn`` of each item (sections, or slab numbers), results in order,
    serial or in ``workers`` threads. Each item writes a disjoint part of the output, so the
    result does not depend on ``workers``."""
    def run(fn, items: List):
        if workers <= 1:
            return [fn(s) for s in items]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(fn, items))
    return run


def _aligned_target(coarse: Grid, target: Grid) -> Grid:
    """``target`` itself if axis-aligned with ``coarse``; else an aligned grid as dense."""
    if axis_aligned_scale(coarse, target) is not None:
        return target
    ratio = np.linalg.norm(index_map(target, coarse)[:3, :3], axis=0)
    return corner_aligned_grid(coarse, 1 + np.round((np.array(coarse.shape) - 1) * ratio).astype(int))


def _clear_beyond(array: np.ndarray, coarse: Grid, target: Grid) -> None:
    """Set to 0 (in place) the voxels of ``array`` (on ``target``) that lie beyond the coarse
    grid's extent (farther than half a coarse voxel past its outer voxel centres): the coarse
    mask says nothing there, and the methods would repeat its border (a coarse grid that frames
    part of the target only: :mod:`..grids.framing`). A coarse grid that covers the target, as
    the challenge's does, clears nothing. A target rotated against the coarse grid is already
    resampled from a grid of the coarse grid's extent (:func:`_on_target`)."""
    mapping = axis_aligned_scale(coarse, target)
    if mapping is None:
        return
    for axis, (scale, offset) in enumerate(zip(*mapping)):
        at = scale * np.arange(target.shape[axis]) + offset  # coarse index of each target index
        beyond = (at < -0.5 - 1e-6) | (at > coarse.shape[axis] - 0.5 + 1e-6)
        if beyond.any():
            index = [slice(None)] * 3
            index[axis] = beyond
            array[tuple(index)] = 0


def check_coarse(coarse: Mask, what: str = "the coarse mask") -> None:
    """Clear errors for masks that cannot be refined."""
    if not coarse.array.any():
        raise VoxelRearrangementError(f"{what} is empty (no voxel set)")
    if coarse.array.all():
        raise VoxelRearrangementError(f"{what} is full (every voxel set): it has no surface")


def refine(coarse: Mask, method: str = "hash", templates: Sequence[Union[Mask, os.PathLike, str]] = (),
           target_grid: Optional[Grid] = None, *, tables: Optional[StepTables] = None,
           workers: int = 1, hamming_radius: int = 2, hamming_margin: float = 0.2,
           offset_bins: Optional[int] = None,
           cache_dir: Optional[os.PathLike] = None,
           check_templates: Optional[Callable[[Mask, str], None]] = None,
           weights: Optional[Union[os.PathLike, str]] = None, device: str = DEFAULT_DEVICE,
           progress: Optional[ProgressCallback] = None,
           cancel: Optional[CancelCallback] = None) -> Refinement:
    """Bring ``coarse`` (0/1 mask with geometry) to ``target_grid`` with ``method``.

    Template methods learn from ``templates`` (high-resolution skull masks or their files, any
    size and spacing; degraded to the coarse mask's shape) or prebuilt ``tables`` (both: pooled);
    with neither they use the bundled tables of SkullFix 000-059; ``offset_bins`` (1-4, default
    4) is the sub-voxel resolution of tables learned from templates (given with prebuilt tables
    only, it must be theirs). ``workers`` threads process sections of the volume in parallel
    (bit-identical to one worker); ``hamming_radius`` and ``hamming_margin`` (how far beyond
    1/2 the pooled votes of Hamming neighbours must be to override trilinear; 0.2 was chosen
    on held-out training skulls 054-058) tune the hash fallback. ``learned`` runs the network
    of ``weights`` (default: the bundled one) on ``device`` (auto, cpu, cuda) with ``workers``
    CPU threads. ``check_templates(mask, what)`` is called on every template learned (e.g.
    :func:`~..checks.check_skull`). ``progress(fraction, message)`` and ``cancel()`` are
    called between stages.
    """
    if method not in METHODS:
        raise VoxelRearrangementError(f"unknown method '{method}' (choose from {', '.join(METHODS)})")
    coarse = binary(coarse, "the coarse mask")
    check_coarse(coarse)
    workers = check("workers", workers)
    hamming_radius = check("hamming_radius", hamming_radius)
    hamming_margin = check("hamming_margin", hamming_margin)
    offset_bins = None if offset_bins is None else check("offset_bins", offset_bins)
    stage = Stage(progress, cancel)
    target = target_grid if target_grid is not None else upsampled_grid(coarse.grid)
    check_coarse_input(coarse, target=target)
    report = {"method": method, "target_shape": list(target.shape), "workers": workers}
    t0 = time.perf_counter()
    stage.report(0.0, f"refining with {method}")
    if method in BASELINE_METHODS:
        array = BASELINE_METHODS[method](coarse, target)
    elif method == LEARNED_METHOD:
        array = _learned(coarse, target, weights, device, workers, stage, report)
    else:
        array = _synthesize(coarse, method, templates, target, tables, workers, hamming_radius,
                            hamming_margin, offset_bins, cache_dir, check_templates, stage, report)
    _clear_beyond(array, coarse.grid, target)
    report["seconds"] = round(time.perf_counter() - t0, 3)
    stage.report(1.0, "refinement done")
    return Refinement(Mask(array, target.ijk_to_lps), report)


def _on_target(array: np.ndarray, aligned: Grid, target: Grid) -> np.ndarray:
    """``array`` (on ``aligned``) itself, or resampled (trilinear) onto a rotated ``target``."""
    if aligned is target:
        return array
    return resample_mask(Mask(array, aligned.ijk_to_lps), target, order=1).array


def _learned(coarse: Mask, target: Grid, weights, device: str, workers: int, stage: Stage,
             report: dict) -> np.ndarray:
    from ..learned.rearrangement.inference import load_rearrangement_model, rearrange
    from ..learned.weights import require_torch, resolve_device
    torch = require_torch()
    aligned = _aligned_target(coarse.grid, target)
    report["device"] = resolve_device(device)
    model = load_rearrangement_model(weights, report["device"])
    threads = torch.get_num_threads()
    torch.set_num_threads(workers)
    try:
        array, report["learned"] = rearrange(coarse, aligned, model, stage=stage.sub(0.05, 1.0))
    finally:
        torch.set_num_threads(threads)
    return _on_target(array, aligned, target)


def _synthesize(coarse: Mask, method: str, templates: Sequence, target: Grid,
                tables: Optional[StepTables], workers: int, hamming_radius: int,
                hamming_margin: float, offset_bins: int, cache_dir, check_templates,
                stage: Stage, report: dict) -> np.ndarray:
    aligned = _aligned_target(coarse.grid, target)
    grids = PyramidGrids.make(coarse.grid, aligned)
    report["level_shapes"] = [list(g.shape) for g in grids.levels]
    t = time.perf_counter()
    tables = _tables(templates, tables, offset_bins, cache_dir, coarse.array.shape,
                     check_templates, stage.sub(0.0, 0.3))
    report["n_templates"] = tables.n_templates
    report["tables_seconds"] = round(time.perf_counter() - t, 3)
    run = _section_runner(workers)
    current = coarse.array
    report["steps"] = []
    for s in (0, 1):
        stage.sub(0.3 + 0.35 * s, 0.65 + 0.35 * s).report(0.0, f"level {s + 1} of 2")
        t = time.perf_counter()
        step = LevelStep(grids.levels[s], grids.levels[s + 1], tables.offset_bins)
        if method == "hash":
            predictor = HashPredictor(tables.steps[s], hamming_radius, hamming_margin, workers)
        else:
            predictor = KDTreePredictor(tables.steps[s], step.ratio, workers=workers)
        source = SourceLevel.prepare(current, workers)
        section_list = list(sections(step.target.shape[0], workers * 4))
        current, stats = _refine_step(predictor, source, step, section_list, run, workers)
        stats["seconds"] = round(time.perf_counter() - t, 3)
        report["steps"].append(stats)
    return _on_target(current, aligned, target)


def _tables(templates: Sequence, tables: Optional[StepTables], offset_bins: int, cache_dir,
            coarse_shape: Sequence[int], check_templates, stage: Stage) -> StepTables:
    """The vote tables to use: of ``templates`` (cached), pooled with ``tables`` when both are
    given; the bundled SkullFix 000-059 tables when neither is."""
    if not templates:
        tables = tables if tables is not None else default_tables()
        if offset_bins is not None and offset_bins != tables.offset_bins:
            raise VoxelRearrangementError(
                f"the vote tables hold {tables.offset_bins} offset bins per axis, not "
                f"{offset_bins}: --offset-bins only applies to tables learned from --template")
        return tables
    bins = tables.offset_bins if tables is not None else (offset_bins or MAX_OFFSET_BINS)
    learned = template_tables(templates, bins,
                              cache_dir, progress=stage.report, coarse_shape=coarse_shape,
                              check=check_templates)
    return learned if tables is None else StepTables.merge([tables, learned])


def _refine_step(predictor, source: SourceLevel, step: LevelStep,
                 section_list: List[Section], run_sections, workers: int
                 ) -> Tuple[np.ndarray, dict]:
    """Refine ``source`` onto ``step.target``: nearest parent value outside the band, the
    predictor's decision inside it (trilinear on ties). ``run_sections(fn, items)`` maps a
    function over sections (serially or in parallel) and returns the results in order."""
    slabs = list(sections(source.binary.shape[0], workers))
    query_codes, code_row, used = step.query(source, slabs, run_sections)
    decision, stats = predictor.decisions(query_codes, used)
    out = np.empty(step.target.shape, dtype=np.uint8)

    def one(section: Section) -> int:
        return step.fill(out[section.start:section.stop], section, source, code_row, decision)

    ties = run_sections(one, section_list)
    stats["trilinear_ties_voxels"] = int(sum(ties))
    return out, stats
