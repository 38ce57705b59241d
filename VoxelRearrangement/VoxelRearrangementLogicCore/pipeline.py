"""The module's pipeline as a job: inputs checked, written as NRRD to a temporary folder, the
Lib's worker run as a sequence of background steps, results read back, nodes created last.

Two modes:

* ``complete`` — the defective skull at full resolution: one ``run`` step (completion,
  refinement, implant, meshes) writing ``completed.nrrd``, ``implant.nrrd``, ``skull.stl``,
  ``implant.stl`` and ``report.json``.
* ``refine`` — an already coarse (completed) skull: ``refine`` then ``mesh``.

Guarantees: the user's nodes are only read; a failed or cancelled job adds nothing to the scene
(results are all read back before the first node is created, and created nodes are removed
again if creating a later one fails); the temporary folder is removed in every outcome.

Usage: ``job = PipelineJob(scene, request); job.start()``, then call ``job.poll()`` (from a
GUI timer) until it returns True and read ``job.result`` / ``job.error``; or ``job.wait()``.
"""
from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Union

import numpy as np
import vtk

from VoxelRearrangementLib.errors import Cancelled, VoxelRearrangementError
from VoxelRearrangementLib.geometry import LPS_TO_RAS
from VoxelRearrangementLib.mask_io import Mask, read_mask, write_mask
from VoxelRearrangementLib.synthesis import METHODS, TEMPLATE_METHODS

from . import models
from .segment_arrays import matrix_to_numpy, new_segmentation_node, segment_to_mask
from .worker import ProgressCallback, WorkerEnvironment, WorkerProcess, WorkerStep

MODES = ("complete", "refine")
#: Methods that use no template: the baselines and learned (the worker's bundled tables serve
#: the template methods when no template is chosen).
TEMPLATE_FREE = tuple(m for m in METHODS if m not in TEMPLATE_METHODS)
SKULL_COLOR = (0.945, 0.839, 0.569)
IMPLANT_COLOR = (0.353, 0.706, 0.902)

#: A skull spans well over this along its longest axis, and over the second value along its
#: shortest; a mask smaller than that is not a skull (mm).
MIN_SKULL_EXTENT_MM = (80.0, 20.0)
#: A template's voxels must be this much finer than a coarse input's (refine mode).
TEMPLATE_FINER_BY = 1.5

TemplateLike = Union[None, str, Path, object]  # None (bundled), a file, or a segmentation node


@dataclass
class PipelineRequest:
    """What to run. Optional numbers left None use the worker's defaults."""

    input_segmentation: object
    segment: Optional[str] = None
    mode: str = "complete"
    templates: Sequence[TemplateLike] = ()  # empty or None: the worker's bundled default
    method: str = "hash"
    reference_grid: Optional[object] = None  # refine mode: volume/segmentation node of the target grid
    workers: Optional[int] = None
    hamming_radius: Optional[int] = None
    smoothing: Optional[float] = None  # mesh smoothing factor (0: none .. 1: strong), as `mesh --smoothing`
    opening_mm: Optional[float] = None
    device: Optional[str] = None  # auto, cpu (GPUs also hidden from the worker), cuda; None: auto
    output_name: Optional[str] = None


@dataclass
class PipelineResult:
    """Nodes created by a successful job (all in one subject-hierarchy folder)."""

    mode: str
    skull_segmentation: object
    skull_model: object
    folder_item_id: int
    report: dict
    summary: str
    implant_segmentation: object = None
    implant_model: object = None

    @property
    def nodes(self) -> List[object]:
        return [n for n in (self.skull_segmentation, self.implant_segmentation,
                            self.skull_model, self.implant_model) if n is not None]


@dataclass
class _Outputs:
    """Everything read back from the worker, before any node exists."""

    skull: Mask
    skull_mesh: object
    report: dict
    implant: Optional[Mask] = None
    implant_mesh: object = None


@dataclass
class JobState:
    status: str = "ready"  # ready, running, succeeded, failed, cancelled
    fraction: float = 0.0
    message: str = ""
    log: List[str] = field(default_factory=list)


def check_skull(mask: Mask, what: str) -> None:
    """Error unless ``mask`` is big enough to be a skull (see MIN_SKULL_EXTENT_MM)."""
    nonzero = np.nonzero(mask.array.any(axis=(1, 2)))[0], np.nonzero(mask.array.any(axis=(0, 2)))[0], \
        np.nonzero(mask.array.any(axis=(0, 1)))[0]
    if any(a.size == 0 for a in nonzero):
        raise VoxelRearrangementError(f"{what} is empty")
    extent = np.array([a[-1] - a[0] + 1 for a in nonzero]) * mask.grid.spacing
    longest, shortest = float(extent.max()), float(extent.min())
    if longest < MIN_SKULL_EXTENT_MM[0] or shortest < MIN_SKULL_EXTENT_MM[1]:
        raise VoxelRearrangementError(
            f"{what} does not look like a skull: it spans only "
            f"{' x '.join(f'{e:.0f}' for e in extent)} mm (a skull spans more than "
            f"{MIN_SKULL_EXTENT_MM[0]:.0f} mm)")


def _mean_spacing(mask: Mask) -> float:
    return float(np.mean(mask.grid.spacing))


def grid_of_node(node) -> Mask:
    """An all-zero mask on the voxel grid of a volume node or of a segmentation's first segment."""
    if node.IsA("vtkMRMLSegmentationNode"):
        mask = segment_to_mask(node, node.GetSegmentation().GetNthSegmentID(0)
                               if node.GetSegmentation().GetNumberOfSegments() else None)
        return Mask(np.zeros_like(mask.array), mask.ijk_to_lps)
    if node.IsA("vtkMRMLVolumeNode") and node.GetImageData() is not None:
        matrix = vtk.vtkMatrix4x4()
        node.GetIJKToRASMatrix(matrix)
        dims = node.GetImageData().GetDimensions()
        return Mask(np.zeros(dims, dtype=np.uint8), LPS_TO_RAS @ matrix_to_numpy(matrix))
    raise VoxelRearrangementError("the reference grid must be a volume or a segmentation node")


class PipelineJob:
    """One run of the pipeline on a scene. Constructing it reads and checks the inputs (the
    scene is not changed); :meth:`start` launches the worker."""

    def __init__(self, scene, request: PipelineRequest,
                 environment: Optional[WorkerEnvironment] = None,
                 temp_root: Optional[str] = None) -> None:
        self.scene = scene
        self.request = request
        self.environment = environment or WorkerEnvironment()
        self.temp_root = temp_root
        self.state = JobState()
        self.result: Optional[PipelineResult] = None
        self.error: Optional[BaseException] = None
        self.on_progress: Optional[ProgressCallback] = None
        self._folder: Optional[Path] = None
        self._steps: List[WorkerStep] = []
        self._step_index = -1
        self._worker: Optional[WorkerProcess] = None
        self._cancel_requested = False
        self._check_request()
        self._input = segment_to_mask(request.input_segmentation, request.segment)
        what = f"the segment of '{request.input_segmentation.GetName()}'"
        check_skull(self._input, what)
        self._templates = [] if request.method in TEMPLATE_FREE else \
            [self._template(t) for t in request.templates if t is not None]
        self._reference = grid_of_node(request.reference_grid) if request.reference_grid else None

    # --- inputs ---------------------------------------------------------------------------

    def _check_request(self) -> None:
        r = self.request
        if r.input_segmentation is None or not r.input_segmentation.IsA("vtkMRMLSegmentationNode"):
            raise VoxelRearrangementError("choose an input segmentation")
        if r.mode not in MODES:
            raise VoxelRearrangementError(f"unknown mode '{r.mode}' (choose from {', '.join(MODES)})")
        if r.method not in METHODS:
            raise VoxelRearrangementError(f"unknown method '{r.method}' (choose from {', '.join(METHODS)})")
        if r.workers is not None and r.workers < 1:
            raise VoxelRearrangementError("workers must be at least 1")
        if r.device not in (None, "auto", "cpu", "cuda"):
            raise VoxelRearrangementError(f"unknown device '{r.device}' (choose from auto, cpu, cuda)")
        if r.reference_grid is not None and r.mode != "refine":
            raise VoxelRearrangementError("a reference grid is only used when refining a coarse skull")

    def _template(self, template: TemplateLike):
        """A template file path (checked by the worker) or a Mask from a node."""
        if isinstance(template, (str, Path)):
            if not Path(template).is_file():
                raise VoxelRearrangementError(f"template file {template} does not exist")
            return Path(template)
        if template is self.request.input_segmentation:
            raise VoxelRearrangementError("the template must be another skull than the input")
        mask = segment_to_mask(template)
        what = f"template '{template.GetName()}'"
        check_skull(mask, what)
        finer = _mean_spacing(self._input) / _mean_spacing(mask)
        needed = TEMPLATE_FINER_BY if self.request.mode == "refine" else 0.5
        if finer < needed:
            raise VoxelRearrangementError(
                f"{what} is on an incompatible grid: its voxels ({_mean_spacing(mask):.2f} mm) "
                f"are not finer than the input's ({_mean_spacing(self._input):.2f} mm); "
                "use a high-resolution skull as template")
        return mask

    # --- running --------------------------------------------------------------------------

    def start(self) -> "PipelineJob":
        """Write the inputs and start the first worker step."""
        self.state.status = "running"
        self._report(0.0, "writing inputs")
        self._folder = Path(tempfile.mkdtemp(prefix="VoxelRearrangement-", dir=self.temp_root))
        try:
            self._steps = self._write_inputs_and_plan()
            self._next_step()
        except BaseException as exc:
            self._finish(exc)
        return self

    def _write_inputs_and_plan(self) -> List[WorkerStep]:
        r, folder = self.request, self._folder
        (folder / "in").mkdir()
        (folder / "out").mkdir()
        template_args: List[str] = []
        for index, template in enumerate(self._templates):
            if isinstance(template, Mask):
                path = write_mask(folder / "in" / f"template{index}.nrrd", template, compress=False)
            else:
                path = template
            template_args += ["--template", str(path)]
        input_path = write_mask(folder / "in" / "input.nrrd", self._input, compress=False)
        options: List[str] = []
        if r.workers is not None:
            options += ["--workers", str(int(r.workers))]
        if r.hamming_radius is not None:
            options += ["--hamming-radius", str(int(r.hamming_radius))]
        mesh_options: List[str] = []
        if r.smoothing is not None:
            mesh_options += ["--smoothing", str(float(r.smoothing))]
        out = folder / "out"
        if r.mode == "complete":
            extra = ["--opening-mm", str(float(r.opening_mm))] if r.opening_mm is not None else []
            if r.device is not None:
                extra += ["--device", r.device]
            # --no-render: render.png is not read back, and it needs matplotlib, which Slicer lacks
            return [WorkerStep(["run", "--defective", str(input_path), *template_args,
                                "--method", r.method, "--output-dir", str(out), "--no-render",
                                *options, *extra, *mesh_options],
                               "completing the skull and designing the implant", 1.0)]
        refine = ["refine", "--coarse", str(input_path), *template_args, "--method", r.method,
                  "--output", str(out / "refined.nrrd"), "--report", str(out / "refine_report.json"),
                  *options]
        if r.device is not None:
            refine += ["--device", r.device]
        if self._reference is not None:
            reference = write_mask(folder / "in" / "reference.nrrd", self._reference, compress=True)
            refine += ["--reference-grid", str(reference)]
        return [WorkerStep(refine, "refining the skull", 0.85),
                WorkerStep(["mesh", "--input", str(out / "refined.nrrd"),
                            "--output", str(out / "skull.stl"),
                            "--report", str(out / "skull_report.json"), *mesh_options],
                           "meshing the skull", 0.15)]

    def _next_step(self) -> None:
        self._step_index += 1
        step = self._steps[self._step_index]
        done = sum(s.weight for s in self._steps[:self._step_index])
        total = sum(s.weight for s in self._steps)
        start, end = 0.05 + 0.9 * done / total, 0.05 + 0.9 * (done + step.weight) / total

        def on_progress(fraction: float, message: str) -> None:
            self._report(start + fraction * (end - start), f"{step.label}: {message}")

        self._report(start, step.label)
        self._worker = WorkerProcess(step, self.environment, str(self._folder), on_progress,
                                     self.state.log.append)
        if self._cancel_requested:
            self._worker.cancel()

    def poll(self) -> bool:
        """Advance the job without blocking; True once it has ended (see result/error)."""
        if self.state.status != "running":
            return True
        try:
            if not self._worker.poll():
                return False
            self._worker.raise_for_status()
            if self._cancel_requested:
                raise Cancelled("cancelled by the user")
            if self._step_index + 1 < len(self._steps):
                self._next_step()
                return False
            self._report(0.95, "reading results")
            outputs = self._read_outputs()
            self._report(0.97, "creating nodes")
            self.result = self._create_nodes(outputs)
            self._finish(None)
        except BaseException as exc:
            self._finish(exc)
        return True

    def cancel(self) -> None:
        """Stop the job: the worker's process tree is killed; nothing is added to the scene."""
        self._cancel_requested = True
        if self._worker is not None:
            self._worker.cancel()

    def wait(self, progress: Optional[ProgressCallback] = None,
             cancel: Optional[Callable[[], bool]] = None, interval_s: float = 0.05) -> PipelineResult:
        """Block until the job ends; ``cancel()`` is asked between polls. Returns the result or
        raises the job's error (Cancelled, VoxelRearrangementError, WorkerCrashed)."""
        if progress is not None:
            self.on_progress = progress
        if self.state.status == "ready":
            self.start()
        while not self.poll():
            if cancel is not None and not self._cancel_requested and cancel():
                self.cancel()
            time.sleep(interval_s)
        if self.error is not None:
            raise self.error
        return self.result

    def _report(self, fraction: float, message: str) -> None:
        fraction = max(fraction, self.state.fraction)  # a progress bar never goes back
        self.state.fraction, self.state.message = fraction, message
        if self.on_progress is not None:
            self.on_progress(fraction, message)

    def _finish(self, error: Optional[BaseException]) -> None:
        if self._worker is not None and self._worker.returncode is None:
            self._worker.cancel()
            while not self._worker.poll():
                time.sleep(0.01)
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
        self.error = error
        if error is None:
            self.state.status = "succeeded"
            self._report(1.0, self.result.summary)
        elif isinstance(error, Cancelled):
            self.state.status, self.state.message = "cancelled", "cancelled"
        else:
            self.state.status, self.state.message = "failed", str(error)

    # --- results --------------------------------------------------------------------------

    def _read_outputs(self) -> _Outputs:
        out = self._folder / "out"
        if self.request.mode == "complete":
            return _Outputs(read_mask(out / "completed.nrrd"), models.read_stl(out / "skull.stl"),
                            _read_json(out / "report.json"), read_mask(out / "implant.nrrd"), models.read_stl(out / "implant.stl"))
        return _Outputs(read_mask(out / "refined.nrrd"), models.read_stl(out / "skull.stl"),
                        {"refine": _read_json(out / "refine_report.json"),
                         "skull": _read_json(out / "skull_report.json")})

    def _create_nodes(self, outputs: _Outputs) -> PipelineResult:
        r = self.request
        base = r.output_name or r.input_segmentation.GetName()
        complete = r.mode == "complete"
        skull_watertight = models.is_watertight(outputs.skull_mesh)
        implant_watertight = models.is_watertight(outputs.implant_mesh) if complete else None
        report = dict(outputs.report, mode=r.mode, method=r.method,
                      skull_volume_ml=round(outputs.skull.volume_ml, 3),
                      skull_watertight=skull_watertight)
        skull_report = dict(report.get("skull", {}) if isinstance(report.get("skull"), dict) else {},
                            watertight=skull_watertight)
        implant_report = None
        if complete:
            report.update(implant_volume_ml=round(outputs.implant.volume_ml, 3),
                          implant_watertight=implant_watertight)
            implant_report = dict(report.get("implant", {}) if isinstance(report.get("implant"), dict) else {},
                                  watertight=implant_watertight,
                                  volume_ml=round(outputs.implant.volume_ml, 3))
            summary = (f"Implant {outputs.implant.volume_ml:.1f} mL; implant mesh "
                       f"{_tight(implant_watertight)}, skull mesh {_tight(skull_watertight)}")
        else:
            shape = " x ".join(str(n) for n in outputs.skull.array.shape)
            summary = (f"Refined skull {outputs.skull.volume_ml:.0f} mL on a {shape} grid; "
                       f"mesh {_tight(skull_watertight)}")

        created = []
        try:
            skull_seg = self._add(new_segmentation_node(
                [("skull", outputs.skull, SKULL_COLOR)],
                f"{base} {'completed' if complete else 'refined'}"), created)
            implant_seg = implant_model = None
            if complete:
                implant_seg = self._add(new_segmentation_node(
                    [("implant", outputs.implant, IMPLANT_COLOR)], f"{base} implant"), created)
            skull_model = self._add(models.new_model_node(
                outputs.skull_mesh, f"{base} skull model", skull_report), created)
            models.show_model(skull_model, SKULL_COLOR)
            if complete:
                implant_model = self._add(models.new_model_node(
                    outputs.implant_mesh, f"{base} implant model", implant_report), created)
                models.show_model(implant_model, IMPLANT_COLOR)
            for seg in (skull_seg, implant_seg):
                if seg is not None:
                    seg.CreateDefaultDisplayNodes()
                    seg.GetDisplayNode().SetVisibility3D(False)  # the models show it in 3D
            folder = models.put_in_folder(self.scene, created, f"{base} VoxelRearrangement ({r.method})")
        except BaseException:
            for node in reversed(created):
                self.scene.RemoveNode(node)
            raise
        return PipelineResult(r.mode, skull_seg, skull_model, folder, report, summary,
                              implant_seg, implant_model)

    def _add(self, node, created: list):
        self.scene.AddNode(node)
        created.append(node)
        return node


def _read_json(path: Path) -> dict:
    """A report written by the worker ({} when it wrote none)."""
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    return data if isinstance(data, dict) else {"value": data}


def _tight(watertight: Optional[bool]) -> str:
    return "watertight" if watertight else "NOT watertight"
