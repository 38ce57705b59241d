"""The scriptable Logic API, without Qt: what ``VoxelRearrangementLogic`` in the module file
inherits, and what the headless tests drive on ``slicer-core``.

Inside Slicer the subclass supplies the scene (``slicer.mrmlScene``), PythonSlicer as the
worker's interpreter, Slicer's startup environment, Slicer's temporary folder and the PyTorch
check; everything else is here.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, List, Optional, Sequence, Union

from VoxelRearrangementLib._shared.errors import VoxelRearrangementError
from VoxelRearrangementLib._shared.progress import ProgressCallback
from VoxelRearrangementLib._shared.resources import sample_path
from VoxelRearrangementLib.io.masks import read_mask
from VoxelRearrangementLib.options import MODES, PipelineOptions

from . import models
from .job import JobInputs, PipelineJob, PipelineResult, TemplateLike
from .segment_arrays import new_segmentation_node
from .worker import WorkerEnvironment

MODULE_DIR = Path(__file__).resolve().parents[1]


class LogicCore:
    """Nodes in, nodes out. ``scene`` is the MRML scene the input nodes belong to."""

    def __init__(self, scene=None, temp_root: Optional[str] = None) -> None:
        self.scene = scene
        self.temp_root = temp_root

    # Overridden inside Slicer -------------------------------------------------------------

    def workerEnvironment(self, device: Optional[str] = None) -> WorkerEnvironment:
        """How to start the worker (here: this Python, with the Lib's folder on PYTHONPATH)."""
        extra = {"CUDA_VISIBLE_DEVICES": "-1"} if device == "cpu" else {}
        return WorkerEnvironment(lib_parent=str(MODULE_DIR), extra_env=extra)

    def ensureTorch(self) -> None:
        """Make sure the worker can import torch (inside Slicer: ask to install it)."""

    def ensurePythonPackages(self) -> None:
        """Make sure this process and the worker can import the Lib's other dependencies
        (inside Slicer: ask to install pynrrd, which Slicer does not bundle)."""

    # API ----------------------------------------------------------------------------------

    def startJob(self, inputSegmentation, segmentId: Optional[str] = None,
                 template: Union[None, TemplateLike, Sequence[TemplateLike]] = None,
                 referenceGrid=None, outputName: Optional[str] = None,
                 options: Optional[PipelineOptions] = None, **optionValues) -> PipelineJob:
        """Check the inputs and start the pipeline in a background process; returns the job
        (poll it, cancel it). Bad inputs raise VoxelRearrangementError before anything starts.
        See :meth:`process` for the arguments."""
        options = (options or PipelineOptions()).replace(**optionValues)
        templates = list(template) if isinstance(template, (list, tuple)) else [template]
        inputs = JobInputs(inputSegmentation, segmentId, templates, referenceGrid, outputName)
        scene = self.scene if self.scene is not None else (
            inputSegmentation.GetScene() if inputSegmentation is not None else None)
        job = PipelineJob(scene, inputs, options, self.workerEnvironment(options.device),
                          self.temp_root)
        self.ensurePythonPackages()
        if options.mode == "complete" or options.method == "learned":
            self.ensureTorch()
        return job.start()

    def process(self, inputSegmentation, segmentId: Optional[str] = None,
                template: Union[None, TemplateLike, Sequence[TemplateLike]] = None,
                referenceGrid=None, outputName: Optional[str] = None,
                options: Optional[PipelineOptions] = None,
                progress: Optional[ProgressCallback] = None,
                cancel: Optional[Callable[[], bool]] = None, **optionValues) -> PipelineResult:
        """Run the whole pipeline and wait for it.

        :param inputSegmentation: segmentation node holding the skull: the defective skull at
            full resolution (``mode="complete"``) or a coarse complete skull (``mode="refine"``).
        :param segmentId: segment ID or name; may be omitted when there is only one segment.
        :param template: None (the bundled vote tables of the SkullFix training skulls), a
            segmentation node, a mask file path, or a list of these; only the template
            methods (hash, kdtree) use it.
        :param referenceGrid: refine mode only: volume or segmentation node whose grid the
            refined skull is made on (default: 4x finer than the coarse grid, corner aligned).
        :param outputName: base name of the created nodes (default: the input's name).
        :param options: a :class:`~VoxelRearrangementLib.options.PipelineOptions`; keyword
            arguments named as its fields (``mode``, ``method``, ``device``, ``workers``,
            ``hamming_radius``, ``opening_mm``, ``smoothing``, ...) override it. ``device``:
            ``auto`` (the GPU when there is one), ``cpu`` (GPUs hidden from the worker) or
            ``cuda``.
        :param progress: called as ``progress(fraction, message)``.
        :param cancel: polled; return True to stop (raises Cancelled, scene unchanged).
        :return: :class:`PipelineResult` with the created segmentation and model nodes, the
            subject-hierarchy folder, the report and a one-line summary.
        """
        job = self.startJob(inputSegmentation, segmentId, template, referenceGrid, outputName,
                            options, **optionValues)
        return job.wait(progress, cancel)

    def exportForPrinting(self, modelNodes: Sequence, folder) -> List[Path]:
        """Write the models as STL (LPS mm) plus ``printability_report.json`` into ``folder``."""
        return models.export_for_printing(modelNodes, folder)

    def loadSample(self, name: str = "skull069_coarse", scene=None):
        """Add a bundled sample (``VoxelRearrangementLib._shared.resources.SAMPLES``) to the
        scene as a one-segment segmentation node."""
        path = sample_path(name)
        scene = scene if scene is not None else self.scene
        if scene is None:
            raise VoxelRearrangementError("no scene to load the sample into")
        segment = "implant" if name.endswith("implant") else "skull"
        self.ensurePythonPackages()
        mask = read_mask(path)
        node = new_segmentation_node([(segment, mask, (0.945, 0.839, 0.569))], name)
        scene.AddNode(node)
        node.CreateDefaultDisplayNodes()
        return node

    @staticmethod
    def modes() -> Sequence[str]:
        return MODES
