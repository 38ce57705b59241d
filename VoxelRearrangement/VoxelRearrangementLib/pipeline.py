"""The end-to-end pipeline (``run``), also the Slicer module's background worker.

Two modes (:class:`~.options.PipelineOptions`):

* ``complete`` — defective skull (any grid) -> coarse completion (bundled network, 128 x 128
  x 64) -> refinement to the defective skull's own grid -> completed skull (refined | defective
  bone) -> implant (:func:`~.printing.implant.extract_implant`) -> meshes;
* ``refine`` — coarse complete skull -> refinement (to ``reference_grid``, or 4x finer) -> mesh.

Files (names in :mod:`.cli.protocol`): complete mode ``completed.nrrd``,
``completed_coarse.nrrd``, ``completed_probability.nrrd``, ``implant.nrrd``, ``skull.stl``,
``implant.stl``, ``report.json`` and ``render.png``; refine mode ``refined.nrrd``,
``skull.stl`` and ``report.json``. The report holds timings, volumes, the printability
reports of the meshes (keys ``skull`` and ``implant``) and, in complete mode, the defect
coverage (no ground truth needed, :func:`~.evaluation.closure.defect_coverage`).

Every file is written into a fresh hidden folder beside the output folder and moved into
place only when the whole run has succeeded: a failure or an interruption leaves the output
folder exactly as it was.
"""
from __future__ import annotations

import importlib
import importlib.util
import json
import os
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterator, Optional, Union

import numpy as np

from ._shared.atomic import remove_stale, temporary_prefix, write_text
from ._shared.errors import VoxelRearrangementError
from ._shared.progress import CancelCallback, ProgressCallback, Stage
from .checks import check_skull
from .cli import protocol
from .grids.geometry import Image, Mask, binary
from .io.masks import read_grid, read_mask, write_mask, write_probability
from .options import PipelineOptions
from .report.page import write_report_html
from .report.summary import run_summary

PathLike = Union[str, os.PathLike]
#: How to read the numbers of report.json.
UNITS = {"lengths": "mm", "areas": "mm^2", "volumes": "mL", "coordinates": "LPS mm (as NRRD and Slicer)",
         "times": "s"}


def run_pipeline(source: Union[PathLike, Mask], output_dir: PathLike,
                 options: Optional[PipelineOptions] = None,
                 progress: Optional[ProgressCallback] = None,
                 cancel: Optional[CancelCallback] = None, segment: Optional[str] = None) -> dict:
    """Run the pipeline on ``source`` (a mask or its file, of which ``segment`` when it holds
    several: the defective skull in complete mode, the coarse skull in refine mode; in ct
    mode a head CT, an :class:`~.grids.geometry.Image` or its file) and write its files into
    ``output_dir``; returns the report."""
    options = options or PipelineOptions()
    notes = []
    if options.render and options.mode != "refine" and importlib.util.find_spec("matplotlib") is None:
        options = options.replace(render=False)
        notes.append(f"no {protocol.RENDER}: it needs matplotlib "
                     "(pip install 'VoxelRearrangementLib[render]')")
    out = Path(output_dir)
    names = protocol.run_outputs(options.mode, options.render)
    _check_outputs(source, options, out, names)
    stage = Stage(progress, cancel)
    if options.mode != "refine" or options.method == "learned":
        _import_torch_meanwhile()
    segmented = None
    if options.mode == "ct":
        segmented = _segmented(source, options, stage.sub(0.0, 0.02))
        skull, source_name, what = segmented.skull, segmented.report["input"], "skull segmented from the CT"
    else:
        what = "defective skull" if options.mode == "complete" else "coarse skull"
        skull, source_name = _read(source, segment, stage, what)
    check_skull(skull, f"the {what}" + (f" {source_name}" if source_name else ""))
    with _staging(out) as staging:
        if options.mode == "refine":
            report, pictures = _refine(skull, source_name, options, staging, stage), {}
        else:
            if segmented is not None:
                write_mask(staging / protocol.SKULL_FROM_CT, skull, compress=options.compress,
                           segment_name="Skull from CT")
            report, pictures = _complete(skull, source_name, options, staging, stage)
            if segmented is not None:
                report["ct"] = segmented.report
        report["files"] = names
        report["notes"] = notes
        report = {"summary": run_summary(report, options), "units": UNITS, **report}
        write_text(staging / protocol.REPORT, json.dumps(report, indent=2, default=float))
        write_report_html(staging / protocol.REPORT_HTML, report["summary"], report, pictures)
        stage.check_cancel()
        _publish(staging, out, names)
    stage.report(1.0, "done")
    return report


def _import_torch_meanwhile() -> None:
    """Start importing PyTorch (about a second) in a thread, beside the reading and the
    downsampling that come before the network needs it."""
    if importlib.util.find_spec("torch") is not None:
        threading.Thread(target=importlib.import_module, args=("torch",), daemon=True).start()


def _check_outputs(source, options: PipelineOptions, out: Path, names) -> None:
    """Clear errors, before any work, when the output folder cannot be written or a file it
    would receive is one of the inputs."""
    if out.exists() and not out.is_dir():
        raise VoxelRearrangementError(f"{out}: the output folder is an existing file")
    parent = out.resolve().parent
    if not parent.is_dir():
        raise VoxelRearrangementError(f"{out}: the folder {parent} does not exist")
    for folder in (out, parent):
        if folder.is_dir() and not _writable(folder):
            raise VoxelRearrangementError(f"{folder}: the folder is not writable")
    inputs = [p for p in (source, options.weights, options.reference_grid, *options.templates)
              if isinstance(p, (str, os.PathLike))]
    targets = {(out / n).resolve() for n in names}
    for p in inputs:
        if Path(p).resolve() in targets:
            raise VoxelRearrangementError(
                f"{p} is an input and would be overwritten by an output of the run: choose "
                "another output folder")


def _writable(folder: Path) -> bool:
    """True if a file can be created in ``folder`` (tried: permissions alone do not tell on a
    read-only file system, or for the superuser)."""
    try:
        fd, probe = tempfile.mkstemp(prefix=temporary_prefix("probe-"), dir=folder)
    except OSError:
        return False
    os.close(fd)
    os.remove(probe)
    return True


@contextmanager
def _staging(out: Path) -> Iterator[Path]:
    """A fresh hidden folder beside ``out`` for the run's files, removed in every outcome (and,
    for a run killed outright, by the next run: :func:`~._shared.atomic.remove_stale`)."""
    parent = out.resolve().parent
    remove_stale(parent, "run-")
    folder = Path(tempfile.mkdtemp(prefix=temporary_prefix("run-"), dir=parent))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _publish(staging: Path, out: Path, names) -> None:
    """Move the finished files into ``out`` (created when missing)."""
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        os.replace(staging / name, out / name)


def _segmented(source, options: PipelineOptions, stage: Stage):
    """The skull segmented from the CT ``source`` (an Image or its file)."""
    from .ct.segment import skull_from_ct
    from .io.images import read_image
    name = None
    if not isinstance(source, Image):
        stage.report(0.0, "reading the CT")
        name, source = str(source), read_image(source)
    segmented = skull_from_ct(source, options.bone_hu, options.skull_height_mm, progress=stage.report)
    segmented.report["input"] = name
    return segmented


def _read(source: Union[PathLike, Mask], segment: Optional[str], stage: Stage, what: str):
    if isinstance(source, Mask):
        return binary(source, f"the {what}"), None
    stage.report(0.0, f"reading the {what}")
    return read_mask(source, segment), str(source)


def _meshed(mask: Mask, path: Path, smoothing: float, stage: Stage, thickness: bool = False,
            max_mb: float = 0.0) -> dict:
    """Mesh ``mask`` (decimated to at most ``max_mb`` of STL when that is not 0), write it
    to ``path`` and return its printability report (with the decimation's measured deviation)."""
    from .io.meshes import write_mesh
    from .printing.decimate import (
        DEFAULT_TOLERANCE_MM,
        decimated,
        surface_deviation,
        triangles_for_megabytes,
    )
    from .printing.meshing import mask_to_mesh
    from .printing.printability import printability_report
    mesh = mask_to_mesh(mask, smoothing, progress=stage.sub(0.0, 0.7).report)
    decimation = None
    if max_mb > 0 and mesh.triangle_count > triangles_for_megabytes(max_mb):
        stage.report(0.75, f"decimating to {max_mb:g} MB")
        full = mesh
        mesh = decimated(full, triangles_for_megabytes(max_mb))
        deviation = surface_deviation(full, mesh)
        decimation = {"triangles_before": full.triangle_count, "triangles_after": mesh.triangle_count,
                      "tolerance_mm": DEFAULT_TOLERANCE_MM, "deviation": deviation}
        del full
    write_mesh(path, mesh)
    report = printability_report(mesh, thickness=thickness)
    if decimation is not None:
        decimation.update(target_mb=max_mb, stl_mb=round(path.stat().st_size / 1e6, 1))
        report["decimation"] = decimation
    return report


def _refined(coarse: Mask, options: PipelineOptions, target, stage: Stage):
    from .synthesis.refine import TEMPLATE_METHODS, refine
    templates = list(options.templates) if options.method in TEMPLATE_METHODS else []
    return refine(coarse, options.method, templates, target, workers=options.workers,
                  hamming_radius=options.hamming_radius, device=options.device,
                  check_templates=check_skull, progress=stage.report)


@dataclass
class Design:
    """The implant designed for a defective skull, before it is fitted: the coarse
    completion, the completed skull at full resolution, the implant (cleaned, openings
    closed), the safety net's report and the times (s) of the steps."""

    completion: object
    completed: Mask
    implant: Mask
    safety_net: dict
    times: Dict[str, float]


def design_implant(defective: Mask, options: PipelineOptions, stage: Optional[Stage] = None,
                   on_completed: Optional[Callable[[Mask], None]] = None) -> Design:
    """Completion, refinement to the defective skull's grid, the implant and the safety net
    (what ``run`` does before the fit; the benchmarks call it as well). ``on_completed`` is
    called with the completed skull as soon as it is refined (e.g. to start meshing it); the
    safety net may patch it afterwards (then ``Design.completed`` is another mask)."""
    from .learned.completion.inference import complete_skull
    from .printing.implant import extract_implant
    from .printing.openings import close_openings
    stage = stage or Stage()
    times: Dict[str, float] = {}
    t = time.perf_counter()
    result = complete_skull(defective, options.weights, options.device,
                            progress=stage.sub(0.02, 0.12).report, face=options.face)
    times["completion_s"] = time.perf_counter() - t

    t = time.perf_counter()
    refined = _refined(result.mask, options, defective.grid, stage.sub(0.12, 0.6)).mask
    completed = Mask((refined.array | defective.array).astype(np.uint8), defective.ijk_to_lps)
    del refined
    times["refinement_s"] = time.perf_counter() - t
    if on_completed is not None:
        on_completed(completed)

    t = time.perf_counter()
    if (completed.array > defective.array).any():
        implant = extract_implant(completed, defective, opening_mm=options.opening_mm,
                                  progress=stage.sub(0.6, 0.64).report)
    else:  # the network added nothing: the safety net may still close the opening
        implant = Mask(np.zeros_like(defective.array, dtype=np.uint8), defective.ijk_to_lps)
    extracted = implant
    implant, safety_net = close_openings(defective, implant, progress=stage.sub(0.64, 0.66).report,
                                         face_posterior=result.face == "posterior")
    if safety_net["stray_dropped_ml"] > 0:  # pieces that closed nothing: off the skull too
        stray = (extracted.array != 0) & (implant.array == 0)
        completed = Mask(((completed.array != 0) & ~stray).astype(np.uint8), completed.ijk_to_lps)
    if not implant.array.any():
        raise VoxelRearrangementError(
            "no implant: the completion network added no bone to the defective skull and no "
            "opening of the vault was found to close (is there a defect?)")
    if safety_net["added_ml"] > 0:  # the skull's mesh shows the patch too
        completed = Mask((completed.array | implant.array).astype(np.uint8), completed.ijk_to_lps)
    times["implant_s"] = time.perf_counter() - t
    return Design(result, completed, implant, safety_net, times)


def _complete(defective: Mask, source_name: Optional[str], options: PipelineOptions,
              staging: Path, stage: Stage) -> dict:
    from .evaluation.closure import defect_coverage
    from .printing.fit import fit_and_seat, rim_gap_mm

    # the skull's mesh (the longest step: meshing and decimation, which release the GIL) is
    # made in its own thread from the moment the skull is completed, beside the implant, the
    # fit and the implant's mesh; the files are written in a third
    with ThreadPoolExecutor(max_workers=1) as writer, ThreadPoolExecutor(max_workers=1) as mesher:
        skull = {}

        def mesh_skull(completed: Mask) -> None:
            stale = threading.Event()  # set: the mesh is no longer wanted
            skull.update(mask=completed, stale=stale, job=mesher.submit(
                _meshed, completed, staging / protocol.SKULL_STL, options.smoothing,
                stage.silent(stale.is_set), max_mb=options.skull_stl_mb))

        try:  # whatever fails, a skull mesh still running is no longer wanted
            design = design_implant(defective, options, stage, on_completed=mesh_skull)
            result, completed, designed, safety_net, times = (design.completion, design.completed,
                                                              design.implant, design.safety_net,
                                                              design.times)
            if completed is not skull["mask"]:  # the safety net patched the skull: mesh that one
                skull["stale"].set()
                mesh_skull(completed)
            skull_job = skull["job"]
            compress = options.compress
            done = [writer.submit(write_mask, staging / protocol.COMPLETED, completed, compress=compress),
                    writer.submit(write_mask, staging / protocol.COMPLETED_COARSE, result.mask,
                                  compress=compress),
                    writer.submit(write_probability, staging / protocol.PROBABILITY,
                                  result.probability, result.mask.ijk_to_lps, compress)]
            t = time.perf_counter()
            implant, seated = fit_and_seat(designed, defective, options.clearance_mm,
                                           options.min_edge_mm, progress=stage.sub(0.66, 0.7).report)
            fit = {"clearance_mm": options.clearance_mm, "min_edge_mm": options.min_edge_mm,
                   "rim_gap_mm": round(rim_gap_mm(implant, defective), 2),
                   "trimmed_ml": round(designed.volume_ml - implant.volume_ml, 2)}
            times["implant_s"] += time.perf_counter() - t

            t = time.perf_counter()
            stage.report(0.7, "meshing the skull and the implant")
            done.append(writer.submit(write_mask, staging / protocol.IMPLANT, implant, compress=compress))
            if options.render:
                from .printing.render import render_png
                done.append(writer.submit(render_png, staging / protocol.RENDER, defective, implant,
                                          title="skull (grey) and implant (orange)"))
            implant_print = _meshed(implant, staging / protocol.IMPLANT_STL, options.smoothing,
                                    stage.sub(0.7, 0.8), thickness=True, max_mb=options.implant_stl_mb)
            stage.report(0.8, "checking the defect coverage")
            coverage = defect_coverage(defective, seated,
                                       face_posterior=result.face == "posterior")
            pictures = _pictures(defective, implant)
            stage.report(0.85, "meshing the skull")
            skull_print = skull_job.result()
            stage.report(0.95, "writing the masks")
            for future in done:
                future.result()
        except BaseException:
            if skull:
                skull["stale"].set()
            raise
    times["meshing_and_writing_s"] = time.perf_counter() - t
    return {
        "mode": options.mode, "input": source_name, "input_shape": list(defective.array.shape),
        "method": options.method, "device": options.device,
        "coarse_shape": list(result.mask.array.shape), "completion_device": result.device,
        "reframed_for_network": result.reframed, "levelled_for_network_deg": result.levelled_deg,
        "straightened_for_network_deg": result.straightened_deg,
        "face": _face_report(options.face, result),
        "volumes_ml": {"defective": defective.volume_ml, "completed": completed.volume_ml,
                       "implant": implant.volume_ml},
        "defect_coverage": coverage, "safety_net": safety_net, "fit": fit,
        "skull": skull_print, "implant": implant_print,
        "timings_s": {k: round(v, 2) for k, v in times.items()},
    }, pictures


def _face_report(asked: str, result) -> dict:
    """Where the face was asked to lie, where it was taken to lie, and the check's logit and
    whether it was sure (``auto`` only)."""
    out = {"asked": asked, "used": result.face}
    if result.face_logit is not None:
        from .learned.completion.facing import DECISIVE_LOGIT
        out.update(check_logit=round(result.face_logit, 2),
                   check_sure=abs(result.face_logit) > DECISIVE_LOGIT)
    return out


def _pictures(defective: Mask, implant: Mask) -> Dict[str, Optional[bytes]]:
    """The pictures of report.html (None when matplotlib is missing)."""
    captions = ("The skull and the implant (orange), from the defect's side",
                "Slices through the defect: bone grey, implant orange")
    if importlib.util.find_spec("matplotlib") is None:
        return dict.fromkeys(captions)
    from .report.figures import defect_slices, defect_view, panels_png
    return {captions[0]: panels_png([defect_view(defective, implant)]),
            captions[1]: panels_png(defect_slices(defective, implant))}


def _refine(coarse: Mask, source_name: Optional[str], options: PipelineOptions,
            staging: Path, stage: Stage) -> dict:
    times: Dict[str, float] = {}
    target = read_grid(options.reference_grid) if options.reference_grid else None

    t = time.perf_counter()
    refinement = _refined(coarse, options, target, stage.sub(0.02, 0.8))
    times["refinement_s"] = time.perf_counter() - t
    skull = refinement.mask
    stage.report(0.8, "writing the refined skull")
    write_mask(staging / protocol.REFINED, skull, compress=options.compress)

    t = time.perf_counter()
    skull_print = _meshed(skull, staging / protocol.SKULL_STL, options.smoothing,
                          stage.sub(0.82, 0.98), max_mb=options.skull_stl_mb)
    times["meshing_s"] = time.perf_counter() - t
    return {
        "mode": "refine", "input": source_name, "input_shape": list(coarse.array.shape),
        "method": options.method, "device": options.device,
        "target_shape": list(skull.array.shape),
        "volumes_ml": {"skull": skull.volume_ml},
        "refine": refinement.report, "skull": skull_print,
        "timings_s": {k: round(v, 2) for k, v in times.items()},
    }
