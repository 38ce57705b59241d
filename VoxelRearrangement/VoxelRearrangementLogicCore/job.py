"""The module's pipeline as a job: inputs checked, written as NRRD to a temporary folder, one
run of the Lib's worker (``run``, :mod:`VoxelRearrangementLib.pipeline`) in a background
process, results read back, nodes created last.

Three modes (:class:`~VoxelRearrangementLib.options.PipelineOptions`): ``complete`` (a
defective skull at full resolution: completion, refinement, implant, meshes), ``ct`` (a head
CT volume: the skull is segmented from it, added to the scene for checking, then as
``complete``) and ``refine`` (an already coarse complete skull: refinement and mesh).

Guarantees: the user's nodes are only read; a failed or cancelled job adds nothing to the scene
(results are all read back before the first node is created, and created nodes are removed
again if creating a later one fails); the temporary folder is removed in every outcome.

Usage: ``job = PipelineJob(scene, inputs, options); job.start()``, then call ``job.poll()``
(from a GUI timer) until it returns True and read ``job.result`` / ``job.error``; or
``job.wait()``.
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

from VoxelRearrangementLib._shared.errors import Cancelled, VoxelRearrangementError
from VoxelRearrangementLib._shared.progress import ProgressCallback
from VoxelRearrangementLib.checks import check_skull
from VoxelRearrangementLib.cli import protocol
from VoxelRearrangementLib.grids.geometry import LPS_TO_RAS, Image, Mask
from VoxelRearrangementLib.io.images import write_image
from VoxelRearrangementLib.io.masks import read_mask, write_mask
from VoxelRearrangementLib.options import PipelineOptions, run_argv
from VoxelRearrangementLib.report.summary import summary_lines
from VoxelRearrangementLib.synthesis.refine import TEMPLATE_METHODS

from . import models
from .segment_arrays import matrix_to_numpy, new_segmentation_node, segment_to_mask, volume_to_image
from .worker import WorkerEnvironment, WorkerProcess, WorkerStep

SKULL_COLOR = (0.945, 0.839, 0.569)
IMPLANT_COLOR = (0.353, 0.706, 0.902)

#: A template's voxels must be this much finer than a coarse input's (refine mode).
TEMPLATE_FINER_BY = 1.5

TemplateLike = Union[str, Path, object]  # a mask file, or a segmentation node


@dataclass
class JobInputs:
    """The nodes a job reads: the skull segment (or, in ct mode, a scalar volume node: the head
    CT), template skulls (segmentation nodes or mask files; empty: the bundled vote tables),
    the refine mode's target grid (a volume or segmentation node) and the base name of the
    created nodes (default: the input's name)."""

    segmentation: object
    segment: Optional[str] = None
    templates: Sequence[TemplateLike] = ()
    reference_grid: Optional[object] = None
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
    ct_skull_segmentation: object = None  #: ct mode: the skull segmented from the CT

    @property
    def nodes(self) -> List[object]:
        return [n for n in (self.ct_skull_segmentation, self.skull_segmentation,
                            self.implant_segmentation, self.skull_model, self.implant_model)
                if n is not None]


@dataclass
class _Outputs:
    """Everything read back from the worker, before any node exists."""

    skull: Mask
    skull_mesh: object
    report: dict
    implant: Optional[Mask] = None
    implant_mesh: object = None
    ct_skull: Optional[Mask] = None


@dataclass
class JobState:
    status: str = "ready"  # ready, running, succeeded, failed, cancelled
    fraction: float = 0.0
    message: str = ""
    log: List[str] = field(default_factory=list)


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

    def __init__(self, scene, inputs: JobInputs, options: PipelineOptions,
                 environment: Optional[WorkerEnvironment] = None,
                 temp_root: Optional[str] = None) -> None:
        self.scene = scene
        self.inputs = inputs
        self.options = options
        self.environment = environment or WorkerEnvironment()
        self.temp_root = temp_root
        self.state = JobState()
        self.result: Optional[PipelineResult] = None
        self.error: Optional[BaseException] = None
        self.on_progress: Optional[ProgressCallback] = None
        self._folder: Optional[Path] = None
        self._worker: Optional[WorkerProcess] = None
        self._label = ""
        self._cancel_requested = False
        segmentation = inputs.segmentation
        if segmentation is not None and segmentation.IsA("vtkMRMLScalarVolumeNode"):
            if options.mode == "refine":
                raise VoxelRearrangementError("refine mode takes a coarse skull segmentation, not a CT volume")
            self.options = options = options.replace(mode="ct")
            self._input = volume_to_image(segmentation)
        elif segmentation is None or not segmentation.IsA("vtkMRMLSegmentationNode"):
            raise VoxelRearrangementError("choose an input segmentation (or a CT volume)")
        elif options.mode == "ct":
            raise VoxelRearrangementError("ct mode takes a CT volume node, not a segmentation")
        if inputs.reference_grid is not None and options.mode != "refine":
            raise VoxelRearrangementError("a reference grid is only used when refining a coarse skull")
        if options.mode != "ct":
            self._input = segment_to_mask(segmentation, inputs.segment)
            check_skull(self._input, f"the segment of '{segmentation.GetName()}'")
        self._templates = [self._template(t) for t in inputs.templates if t is not None] \
            if options.method in TEMPLATE_METHODS else []
        self._reference = grid_of_node(inputs.reference_grid) if inputs.reference_grid else None

    # --- inputs ---------------------------------------------------------------------------

    def _template(self, template: TemplateLike):
        """A template file path (checked by the worker) or a Mask from a node."""
        if isinstance(template, (str, Path)):
            if not Path(template).is_file():
                raise VoxelRearrangementError(f"template file {template} does not exist")
            return Path(template)
        if template is self.inputs.segmentation:
            raise VoxelRearrangementError("the template must be another skull than the input")
        mask = segment_to_mask(template)
        what = f"template '{template.GetName()}'"
        check_skull(mask, what)
        finer = _mean_spacing(self._input) / _mean_spacing(mask)
        needed = TEMPLATE_FINER_BY if self.options.mode == "refine" else 0.5
        if finer < needed:
            raise VoxelRearrangementError(
                f"{what} is on an incompatible grid: its voxels ({_mean_spacing(mask):.2f} mm) "
                f"are not finer than the input's ({_mean_spacing(self._input):.2f} mm); "
                "use a high-resolution skull as template")
        return mask

    # --- running --------------------------------------------------------------------------

    def start(self) -> "PipelineJob":
        """Write the inputs and start the worker."""
        self.state.status = "running"
        self._report(0.0, "writing inputs")
        self._folder = Path(tempfile.mkdtemp(prefix="VoxelRearrangement-", dir=self.temp_root))
        try:
            step = self._write_inputs_and_plan()
            self._label = step.label
            self._report(0.05, step.label)
            self._worker = WorkerProcess(step, self.environment, str(self._folder),
                                         self._on_worker_progress, self.state.log.append)
            if self._cancel_requested:
                self._worker.cancel()
        except BaseException as exc:
            self._finish(exc)
        return self

    def _write_inputs_and_plan(self) -> WorkerStep:
        folder = self._folder
        (folder / "in").mkdir()
        templates = []
        for index, template in enumerate(self._templates):
            if isinstance(template, Mask):
                template = write_mask(folder / "in" / f"template{index}.nrrd", template,
                                      compress=False)
            templates.append(str(template))
        reference = None
        if self._reference is not None:
            reference = str(write_mask(folder / "in" / "reference.nrrd", self._reference))
        if isinstance(self._input, Image):
            input_path = write_image(folder / "in" / "ct.nrrd", self._input, compress=False)
        else:
            input_path = write_mask(folder / "in" / "input.nrrd", self._input, compress=False)
        # no render: render.png is not read back, and it needs matplotlib, which Slicer lacks;
        # raw masks: they are read back at once from this temporary folder
        options = self.options.replace(templates=templates, reference_grid=reference, render=False,
                                       compress=False)
        label = {"complete": "completing the skull and designing the implant",
                 "ct": "segmenting the skull, completing it and designing the implant",
                 "refine": "refining the skull"}[options.mode]
        return WorkerStep(run_argv(str(input_path), str(folder / "out"), options), label)

    def _on_worker_progress(self, fraction: float, message: str) -> None:
        self._report(0.05 + 0.9 * fraction, f"{self._label}: {message}")

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
        report = json.loads((out / protocol.REPORT).read_text())
        skull_mesh = models.read_stl(out / protocol.SKULL_STL)
        if self.options.mode != "refine":
            ct_skull = read_mask(out / protocol.SKULL_FROM_CT) if self.options.mode == "ct" else None
            return _Outputs(read_mask(out / protocol.COMPLETED), skull_mesh, report,
                            read_mask(out / protocol.IMPLANT), models.read_stl(out / protocol.IMPLANT_STL),
                            ct_skull)
        return _Outputs(read_mask(out / protocol.REFINED), skull_mesh, report)

    def _create_nodes(self, outputs: _Outputs) -> PipelineResult:
        mode = self.options.mode
        base = self.inputs.output_name or self.inputs.segmentation.GetName()
        complete = mode != "refine"
        skull_watertight = models.is_watertight(outputs.skull_mesh)
        implant_watertight = models.is_watertight(outputs.implant_mesh) if complete else None
        report = dict(outputs.report, skull_volume_ml=round(outputs.skull.volume_ml, 3),
                      skull_watertight=skull_watertight)
        skull_report = dict(report.get("skull", {}), watertight=skull_watertight)
        implant_report = None
        if complete:
            report.update(implant_volume_ml=round(outputs.implant.volume_ml, 3),
                          implant_watertight=implant_watertight)
            implant_report = dict(report.get("implant", {}), watertight=implant_watertight,
                                  volume_ml=round(outputs.implant.volume_ml, 3))
        summary = "\n".join(summary_lines(outputs.report["summary"]))

        created = []
        try:
            ct_seg = None
            if outputs.ct_skull is not None:  # first: what the user checks (or edits) first
                ct_seg = self._add(new_segmentation_node(
                    [("skull", outputs.ct_skull, SKULL_COLOR)], f"{base} skull from CT"), created)
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
            for seg in (skull_seg, implant_seg, ct_seg):
                if seg is not None:
                    seg.CreateDefaultDisplayNodes()
                    seg.GetDisplayNode().SetVisibility3D(False)  # the models show it in 3D
            folder = models.put_in_folder(self.scene, created,
                                          f"{base} VoxelRearrangement ({self.options.method})")
        except BaseException:
            for node in reversed(created):
                self.scene.RemoveNode(node)
            raise
        return PipelineResult(mode, skull_seg, skull_model, folder, report, summary,
                              implant_seg, implant_model, ct_seg)

    def _add(self, node, created: list):
        self.scene.AddNode(node)
        created.append(node)
        return node
