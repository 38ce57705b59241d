"""VoxelRearrangement: a coarse or defective skull segmentation in, a smooth high-resolution
skull and a cranial implant out, as segmentations and watertight models ready for 3D printing.

Module (metadata, sample data), parameter node, Widget (thin Qt glue), Logic (nodes in, nodes
out) and Test (Slicer self-test). The Logic's body lives in ``VoxelRearrangementLogicCore``
(no Qt, tested headless on slicer-core); the heavy work runs in a background process, the
Lib's command line (``VoxelRearrangementLib``) started with PythonSlicer.
"""
import importlib
import logging
import os
import shutil
import time
from typing import Annotated, Optional

import qt
import slicer
import vtk
from slicer import vtkMRMLModelNode, vtkMRMLScalarVolumeNode, vtkMRMLSegmentationNode
from slicer.i18n import tr as _
from slicer.i18n import translate
from slicer.parameterNodeWrapper import Choice, WithinRange, parameterNodeWrapper
from slicer.ScriptedLoadableModule import (
    ScriptedLoadableModule,
    ScriptedLoadableModuleLogic,
    ScriptedLoadableModuleTest,
    ScriptedLoadableModuleWidget,
)
from slicer.util import VTKObservationMixin

from VoxelRearrangementLib._shared.bounds import BOUNDS
from VoxelRearrangementLib._shared.errors import Cancelled, VoxelRearrangementError
from VoxelRearrangementLib._shared.resources import sample_path
from VoxelRearrangementLib.grids.orientation import FACES
from VoxelRearrangementLib.learned.weights import DEVICES
from VoxelRearrangementLib.options import MODES, PipelineOptions
from VoxelRearrangementLib.synthesis.refine import METHODS
from VoxelRearrangementLogicCore.logic import LogicCore
from VoxelRearrangementLogicCore.requirements import missing_requirements, read_requirements
from VoxelRearrangementLogicCore.worker import WorkerEnvironment

MODULE_DIR = os.path.dirname(os.path.abspath(__file__))
#: The oldest PyTorch the networks run on (pyproject.toml's ``learn`` extra); the PyTorch
#: extension chooses the build (CPU or the GPU's CUDA).
TORCH_REQUIREMENT = ">=2.2"
#: The Python packages the worker needs that Slicer does not bundle, declared once.
REQUIREMENTS_FILE = os.path.join(MODULE_DIR, "Resources", "requirements.txt")
POLL_INTERVAL_MS = 100
#: The pipeline's defaults, shared with the command line.
DEFAULTS = PipelineOptions()


def fitConsequences(clearanceMm: float, minEdgeMm: float) -> str:
    """What the fit options do to the printed implant, in a sentence for the panel."""
    gap = (_("The implant touches the bone at the rim (no gap to seat it).") if clearanceMm <= 0 else
           _("A {gap:g} mm gap is left between the implant and the bone all around the rim.").format(
               gap=clearanceMm))
    edge = (_("Its edge is not trimmed: the rim may be thinner than can be printed.") if minEdgeMm <= 0
            else _("Parts thinner than {edge:g} mm are trimmed, so the printed wall is at least "
                   "that thick (the report says the thinnest wall measured).").format(edge=minEdgeMm))
    return f"{gap} {edge}"


def within(name: str) -> WithinRange:
    """The panel's range of an option: the one the command line and the Lib check."""
    return WithinRange(BOUNDS[name].lo, BOUNDS[name].hi)


#
# VoxelRearrangement
#


class VoxelRearrangement(ScriptedLoadableModule):
    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = _("Voxel Rearrangement")
        self.parent.categories = [translate("qSlicerAbstractCoreModule", "Segmentation")]
        self.parent.dependencies = []
        self.parent.contributors = ["VoxelRearrangement developers"]
        self.parent.helpText = _("""
Turns a skull segmentation into a smooth high-resolution skull and a cranial implant for 3D
printing.<br>
<b>Inputs</b>: a segmentation and its skull segment, either the <i>defective skull at full
resolution</i> (mode "complete": the skull is completed, refined and the implant designed) or an
already <i>coarse complete skull</i> (mode "refine": it is only brought to high resolution); or a
<i>head CT</i> (mode "ct": the skull is segmented by a bone threshold, added to the scene for
checking, then completed).
<b>Implant fit</b>: a gap at the rim (default 1 mm) for seating the implant, and its edge trimmed
where thinner than the minimum edge (default 1.5 mm).
<b>Face</b> (Advanced): the completion sees the head as the image's orientation says; "auto" (the
default) checks which way the face points and turns the head round when the orientation swaps
anterior and posterior (the summary says so); "anterior" or "posterior" decides by hand.
The template methods learn from template skulls: by default the bundled tables built from SkullFix
training skulls, or any high-resolution skull segmentation in the scene.<br>
<b>Methods</b>: hash (lookup of 3x3x3 neighbourhood codes built from the template), kdtree
(nearest neighbours of PCA features), learned (the bundled voxel-rearrangement network, trained
on SkullFix), and the baselines nearest, trilinear, median and gaussian.<br>
<b>Outputs</b>: completed-skull and implant segmentations and watertight skull and implant models
in one folder, and a summary with a printable yes/no and its reasons; "Export for 3D printing"
writes them as STL (LPS millimetres) with a printability report.<br>
<b>Limits</b>: research software, not a medical device; the completion model was trained on
SkullFix skulls (one CT source) with synthetic defects of many kinds, and is weakest on defects
reaching the orbits; check every implant before use.
See <a href="https://github.com/VoxelRearrangement/VoxelRearrangement">the project page</a>.
""")
        self.parent.acknowledgementText = _("""
Method: J. Li, A. Pepe, C. Gsaxner, Y. Jin, J. Egger, "Learning to Rearrange Voxels in Binary
Segmentation Masks for Smooth Manifold Triangulation", 2021.<br>
Bundled sample skulls and trained weights are derived from SkullFix (AutoImplant 2020; from the
CQ500 collection) and distributed under CC BY-NC-SA 4.0: Kodym O., Li J., Pepe A., et al.,
"SkullBreak / SkullFix - Dataset for automatic cranial implant design and a benchmark for
volumetric shape learning tasks", Data in Brief 35:106902, 2021.
""")
        slicer.app.connect("startupCompleted()", registerSampleData)


def registerSampleData():
    """Register the bundled sample (loaded from the extension's own files, no download)."""
    import SampleData

    iconsPath = os.path.join(MODULE_DIR, "Resources", "Icons")
    for sampleName, stems, thumbnail in (
            ("SkullFix069Coarse", ["skull069_coarse"], "SkullFix069Coarse.png"),
            ("SkullFix069Defective", ["skull069_defective"], "SkullFix069Defective.png"),
            ("SkullFixTemplate005", ["template005"], "SkullFixTemplate005.png")):
        SampleData.SampleDataLogic.registerCustomSampleDataSource(
            category="VoxelRearrangement",
            sampleName=sampleName,
            thumbnailFileName=os.path.join(iconsPath, thumbnail),
            uris=[qt.QUrl.fromLocalFile(str(sample_path(stem))).toString() for stem in stems],
            fileNames=[f"{stem}.nrrd" for stem in stems],
            nodeNames=stems,
            loadFileType=["SegmentationFile"] * len(stems),  # "loadFileTypes" only from Slicer 5.8
        )


#
# Parameter node
#


@parameterNodeWrapper
class VoxelRearrangementParameterNode:
    """Inputs, options and outputs of the module panel (saved with the scene).

    inputSegmentation/inputSegmentId - the skull segment (defective, or coarse in refine mode).
    inputVolume, boneHu - ct mode: the head CT and the bone threshold (HU).
    mode - "complete" (defective skull at full resolution), "ct" (a head CT) or "refine"
    (coarse skull).
    templateSegmentation - template skull; None uses the bundled SkullFix vote tables.
    method - refinement method; hammingRadius, workers - synthesis options.
    smoothing - mesh smoothing factor (0..1); openingMm - implant clean-up (mm).
    clearanceMm - gap between the implant and the bone at the rim (mm); minEdgeMm - the
    implant's edge is trimmed where thinner (mm).
    device - where the networks run (auto: the GPU when there is one).
    face - where the face lies in the image's frame: auto (a check decides), anterior (the
    orientation is right) or posterior (anterior and posterior swapped in the file).
    Defaults are those of PipelineOptions (the command line's).
    skullSegmentation, implantSegmentation, skullModel, implantModel - the last outputs.
    """

    inputSegmentation: vtkMRMLSegmentationNode
    inputSegmentId: str = ""
    inputVolume: vtkMRMLScalarVolumeNode
    boneHu: Annotated[float, within("bone_hu")] = DEFAULTS.bone_hu
    mode: Annotated[str, Choice(list(MODES))] = DEFAULTS.mode
    templateSegmentation: vtkMRMLSegmentationNode
    method: Annotated[str, Choice(list(METHODS))] = DEFAULTS.method
    hammingRadius: Annotated[int, within("hamming_radius")] = DEFAULTS.hamming_radius
    workers: Annotated[int, within("workers")] = max(1, min(8, os.cpu_count() or 1))
    smoothing: Annotated[float, within("smoothing")] = DEFAULTS.smoothing
    openingMm: Annotated[float, within("opening_mm")] = DEFAULTS.opening_mm
    clearanceMm: Annotated[float, within("clearance_mm")] = DEFAULTS.clearance_mm
    minEdgeMm: Annotated[float, within("min_edge_mm")] = DEFAULTS.min_edge_mm
    device: Annotated[str, Choice(list(DEVICES))] = DEFAULTS.device
    face: Annotated[str, Choice(list(FACES))] = DEFAULTS.face
    skullSegmentation: vtkMRMLSegmentationNode
    implantSegmentation: vtkMRMLSegmentationNode
    skullModel: vtkMRMLModelNode
    implantModel: vtkMRMLModelNode


#
# VoxelRearrangementWidget
#


class VoxelRearrangementWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    def __init__(self, parent=None) -> None:
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = None
        self._parameterNode = None
        self._parameterNodeGuiTag = None
        self._job = None

    def setup(self) -> None:
        ScriptedLoadableModuleWidget.setup(self)
        uiWidget = slicer.util.loadUI(self.resourcePath("UI/VoxelRearrangement.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        uiWidget.setMRMLScene(slicer.mrmlScene)
        self.ui.inputSegmentSelector.setMRMLScene(slicer.mrmlScene)

        self.logic = VoxelRearrangementLogic()

        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)

        self.ui.inputSegmentSelector.connect("currentSegmentChanged(QString)", self.onInputSegmentChanged)
        self.ui.applyButton.connect("clicked(bool)", self.onApplyButton)
        self.ui.exportButton.connect("clicked(bool)", self.onExportButton)
        self.ui.progressBar.setVisible(False)

        self.initializeParameterNode()

    def cleanup(self) -> None:
        job, self._job = self._job, None
        if job is not None:  # no timer will poll it any more: end it here (removes its files)
            job.cancel()
            while not job.poll():
                time.sleep(0.01)
        self.removeObservers()

    def enter(self) -> None:
        self.initializeParameterNode()

    def exit(self) -> None:
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self._parameterNodeGuiTag = None
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._updateGui)

    def onSceneStartClose(self, caller, event) -> None:
        if self._job is not None:
            self._job.cancel()
        self.setParameterNode(None)

    def onSceneEndClose(self, caller, event) -> None:
        if self.parent.isEntered:
            self.initializeParameterNode()

    def initializeParameterNode(self) -> None:
        self.setParameterNode(self.logic.getParameterNode())
        if not self._parameterNode.inputSegmentation:
            node = slicer.mrmlScene.GetFirstNodeByClass("vtkMRMLSegmentationNode")
            if node:
                self._parameterNode.inputSegmentation = node

    def setParameterNode(self, inputParameterNode: Optional[VoxelRearrangementParameterNode]) -> None:
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._updateGui)
        self._parameterNode = inputParameterNode
        if self._parameterNode:
            self._parameterNodeGuiTag = self._parameterNode.connectGui(self.ui)
            self.addObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._updateGui)
            self._updateGui()

    def onInputSegmentChanged(self, segmentId) -> None:
        if self._parameterNode and self._parameterNode.inputSegmentId != segmentId:
            self._parameterNode.inputSegmentId = segmentId or ""

    def _updateGui(self, caller=None, event=None) -> None:
        p = self._parameterNode
        if p is None:
            return
        if self.ui.inputSegmentSelector.currentNode() != p.inputSegmentation:
            self.ui.inputSegmentSelector.setCurrentNode(p.inputSegmentation)
        if p.inputSegmentId and self.ui.inputSegmentSelector.currentSegmentID() != p.inputSegmentId:
            self.ui.inputSegmentSelector.setCurrentSegmentID(p.inputSegmentId)
        refine, ct = p.mode == "refine", p.mode == "ct"
        for widget in (self.ui.inputVolumeLabel, self.ui.inputVolumeSelector, self.ui.boneHuLabel,
                       self.ui.boneHuSliderWidget):
            widget.visible = ct
        for widget in (self.ui.inputSegmentationLabel, self.ui.inputSegmentationSelector,
                       self.ui.inputSegmentLabel, self.ui.inputSegmentSelector):
            widget.visible = not ct
        self.ui.openingSliderWidget.enabled = not refine
        self.ui.faceComboBox.enabled = not refine
        self.ui.fitCollapsibleButton.enabled = not refine
        self.ui.fitConsequenceLabel.text = fitConsequences(p.clearanceMm, p.minEdgeMm)
        self.ui.deviceComboBox.enabled = not refine or p.method == "learned"
        self.ui.implantModelSelector.enabled = not refine
        self.ui.exportButton.enabled = self._job is None and bool(p.skullModel or p.implantModel)
        if self._job is not None:
            return
        reason = self._whyNotReady()
        self.ui.applyButton.enabled = reason is None
        self.ui.applyButton.toolTip = reason or _("Run the pipeline in a background process")
        self.ui.statusLabel.text = reason or _("Ready")

    def _whyNotReady(self) -> Optional[str]:
        p = self._parameterNode
        if p.mode == "ct":
            return None if p.inputVolume else _("Select the head CT")
        if not p.inputSegmentation:
            return _("Select the input segmentation")
        segmentation = p.inputSegmentation.GetSegmentation()
        if segmentation.GetNumberOfSegments() == 0:
            return _("The input segmentation has no segments")
        if not p.inputSegmentId and segmentation.GetNumberOfSegments() > 1:
            return _("Select the skull segment")
        if p.templateSegmentation and p.templateSegmentation == p.inputSegmentation:
            return _("The template must be another skull than the input")
        return None

    def onApplyButton(self) -> None:
        if self._job is not None:
            self.ui.statusLabel.text = _("Cancelling...")
            self._job.cancel()
            return
        p = self._parameterNode
        with slicer.util.tryWithErrorDisplay(_("Cannot start."), waitCursor=True):
            options = PipelineOptions(mode=p.mode, method=p.method, workers=p.workers,
                                      hamming_radius=p.hammingRadius, smoothing=p.smoothing,
                                      opening_mm=p.openingMm, clearance_mm=p.clearanceMm,
                                      min_edge_mm=p.minEdgeMm, bone_hu=p.boneHu, device=p.device,
                                      face="auto" if p.mode == "refine" else p.face)
            ct = p.mode == "ct"
            self._job = self.logic.startJob(
                p.inputVolume if ct else p.inputSegmentation, None if ct else (p.inputSegmentId or None),
                template=p.templateSegmentation, options=options)
            self._job.on_progress = self._onProgress
            self.ui.applyButton.text = _("Cancel")
            self.ui.applyButton.toolTip = _("Stop the running job; nothing is added to the scene")
            self.ui.progressBar.setValue(0)
            self.ui.progressBar.setVisible(True)
            self.ui.exportButton.enabled = False
            qt.QTimer.singleShot(POLL_INTERVAL_MS, self._pollJob)

    def _onProgress(self, fraction: float, message: str) -> None:
        self.ui.progressBar.setValue(int(round(100 * fraction)))
        self.ui.statusLabel.text = message

    def _pollJob(self) -> None:
        job = self._job
        if job is None:
            return
        try:
            finished = job.poll()
        except Exception as exc:  # poll stores errors; this is a last resort
            logging.exception("VoxelRearrangement job failed")
            job.error, finished = exc, True
        if not finished:
            qt.QTimer.singleShot(POLL_INTERVAL_MS, self._pollJob)
            return
        self._job = None
        self.ui.applyButton.text = _("Apply")
        self.ui.progressBar.setVisible(False)
        if job.result is not None:
            self._showResult(job.result)
        elif isinstance(job.error, Cancelled):
            self.ui.statusLabel.text = _("Cancelled: nothing was added to the scene")
        else:
            self.ui.statusLabel.text = _("Failed")
            slicer.util.errorDisplay(_("Voxel rearrangement failed: {error}").format(error=job.error),
                                     detailedText="\n".join(job.state.log[-40:]))
        self._updateGui()

    def _showResult(self, result) -> None:
        p = self._parameterNode
        p.skullSegmentation = result.skull_segmentation
        p.implantSegmentation = result.implant_segmentation
        p.skullModel = result.skull_model
        p.implantModel = result.implant_model
        self.ui.summaryLabel.text = result.summary
        self.ui.statusLabel.text = _("Done")
        summary = result.report.get("summary", {})
        if not summary.get("printable", True):  # say it where it cannot be missed
            self.ui.statusLabel.text = _("Done: NOT printable as it is, see the summary")
            slicer.util.warningDisplay(
                _("The implant is not printable as it is:") + "\n- " + "\n- ".join(summary["reasons"]),
                windowTitle=_("Voxel Rearrangement"))
        layoutManager = slicer.app.layoutManager()
        if layoutManager and layoutManager.threeDWidget(0):
            layoutManager.threeDWidget(0).threeDView().resetFocalPoint()

    def onExportButton(self) -> None:
        p = self._parameterNode
        folder = qt.QFileDialog.getExistingDirectory(
            slicer.util.mainWindow(), _("Export models for 3D printing"), "")
        if not folder:
            return
        with slicer.util.tryWithErrorDisplay(_("Export failed."), waitCursor=True):
            written = self.logic.exportForPrinting([p.skullModel, p.implantModel], folder)
            self.ui.statusLabel.text = _("Exported {count} files to {folder}").format(
                count=len(written), folder=folder)


#
# VoxelRearrangementLogic
#


class VoxelRearrangementLogic(ScriptedLoadableModuleLogic, LogicCore):
    """Scriptable from the Python console, e.g.::

        logic = slicer.util.getModuleLogic("VoxelRearrangement")
        coarse = logic.loadSample("skull069_coarse")
        result = logic.process(coarse, mode="refine", method="hash")
        print(result.summary)

    The pipeline itself is :class:`VoxelRearrangementLogicCore.logic.LogicCore`; this class
    adds what needs the Slicer application: the scene, PythonSlicer, Slicer's startup
    environment and temporary folder, and installing PyTorch on demand.
    """

    def __init__(self) -> None:
        ScriptedLoadableModuleLogic.__init__(self)
        LogicCore.__init__(self, slicer.mrmlScene, slicer.app.temporaryPath)

    def getParameterNode(self):
        return VoxelRearrangementParameterNode(super().getParameterNode())

    def workerEnvironment(self, device: Optional[str] = None) -> WorkerEnvironment:
        python = shutil.which("PythonSlicer")
        if not python:
            raise VoxelRearrangementError("PythonSlicer was not found next to Slicer")
        extra = {"CUDA_VISIBLE_DEVICES": "-1"} if device == "cpu" else {}
        return WorkerEnvironment(python=python, env=slicer.util.startupEnvironment(),
                                 lib_parent=MODULE_DIR, extra_env=extra)

    def ensureTorch(self) -> None:
        """PyTorch comes from the PyTorch extension, installed only after asking the user."""
        try:
            import PyTorchUtils
        except ModuleNotFoundError:
            raise VoxelRearrangementError(
                "this needs the PyTorch extension: install 'PyTorch' from the Extensions Manager")
        torchLogic = PyTorchUtils.PyTorchUtilsLogic()
        if torchLogic.torchInstalled():
            return
        if torchLogic.installTorch(askConfirmation=True, torchVersionRequirement=TORCH_REQUIREMENT) is None:
            raise VoxelRearrangementError("PyTorch is required for completion and the learned method")

    def ensurePythonPackages(self) -> None:
        """Install what ``Resources/requirements.txt`` lists and is missing, after asking the
        user once with the list shown: ``slicer.packaging.pip_ensure`` where this Slicer has it
        (5.12+), otherwise ``slicer.util.pip_install``."""
        try:
            import slicer.packaging as packaging
        except ImportError:
            packaging = None
        if packaging is not None and hasattr(packaging, "pip_ensure"):
            packaging.pip_ensure(packaging.load_requirements(REQUIREMENTS_FILE),
                                 requester="Voxel Rearrangement")
            return
        missing = missing_requirements(read_requirements(REQUIREMENTS_FILE))
        if not missing:
            return
        if not slicer.util.confirmOkCancelDisplay(
                _("Voxel Rearrangement needs these Python packages, which will now be downloaded and "
                  "installed: {packages}").format(packages=", ".join(missing))):
            raise VoxelRearrangementError(f"the Python packages {', '.join(missing)} are required")
        slicer.util.pip_install(missing)
        importlib.invalidate_caches()

    def loadSample(self, name: str = "skull069_coarse", scene=None):
        node = LogicCore.loadSample(self, name, scene)
        shNode = slicer.mrmlScene.GetSubjectHierarchyNode()
        if not shNode.GetItemByDataNode(node):
            shNode.CreateItem(shNode.GetSceneItemID(), node)
        return node


#
# VoxelRearrangementTest
#


class VoxelRearrangementTest(ScriptedLoadableModuleTest):
    """Runs inside Slicer (Developer mode > Reload and Test, or ctest): the bundled sample
    through the whole pipeline, asserting on the created nodes."""

    def setUp(self):
        slicer.mrmlScene.Clear()

    def runTest(self):
        self.setUp()
        self.test_refine_coarse_sample()
        self.setUp()
        self.test_bad_input_leaves_scene_unchanged()
        self.setUp()
        self.test_complete_defective_sample()
        self.setUp()
        self.test_refine_coarse_sample_learned()
        self.setUp()
        self.test_complete_from_a_ct()

    def _refine_sample(self, method: str):
        """Refine the coarse sample with ``method``; checks shared by the refine tests."""
        self.delayDisplay(f"Refining the coarse sample ({method})")
        logic = VoxelRearrangementLogic()
        coarse = logic.loadSample("skull069_coarse")
        before = slicer.mrmlScene.GetNumberOfNodes()
        result = logic.process(coarse, mode="refine", method=method, device="cpu")
        self.assertEqual(len(result.nodes), 2)
        self.assertGreater(slicer.mrmlScene.GetNumberOfNodes(), before)
        labelmap = result.skull_segmentation.GetBinaryLabelmapInternalRepresentation("skull")
        self.assertEqual(labelmap.GetDimensions(), (512, 512, 256))
        self.assertEqual(result.report["method"], method)
        self.assertTrue(result.report["skull_watertight"])
        return result

    def test_refine_coarse_sample(self):
        result = self._refine_sample("trilinear")
        bounds = [0.0] * 6
        result.skull_model.GetRASBounds(bounds)
        self.assertGreater(bounds[1] - bounds[0], 100.0)  # a skull is wider than 10 cm
        self.delayDisplay("Refine test passed")

    def test_refine_coarse_sample_learned(self):
        import importlib.util
        if importlib.util.find_spec("torch") is None:
            self.delayDisplay("Skipped the learned method: PyTorch is not installed")
            return
        self._refine_sample("learned")
        self.delayDisplay("Learned refine test passed")

    def test_bad_input_leaves_scene_unchanged(self):
        logic = VoxelRearrangementLogic()
        empty = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode", "empty")
        empty.GetSegmentation().AddEmptySegment("skull")
        before = slicer.mrmlScene.GetNumberOfNodes()
        with self.assertRaises(VoxelRearrangementError):
            logic.process(empty, mode="refine", method="trilinear")
        self.assertEqual(slicer.mrmlScene.GetNumberOfNodes(), before)
        self.delayDisplay("Bad-input test passed")

    def test_complete_defective_sample(self):
        self.delayDisplay("Completing the defective sample")
        logic = VoxelRearrangementLogic()
        defective = logic.loadSample("skull069_defective")
        result = logic.process(defective, mode="complete", method="hash", device="cpu")
        self.assertEqual(len(result.nodes), 4)
        self.assertTrue(result.report["skull_watertight"])
        self.assertTrue(result.report["implant_watertight"])
        # SkullFix 069's true implant is 50.0 mL; the tolerance allows for the completion model.
        self.assertGreater(result.report["implant_volume_ml"], 25.0)
        self.assertLess(result.report["implant_volume_ml"], 100.0)
        folder = os.path.join(slicer.app.temporaryPath, "VoxelRearrangementExportTest")
        written = logic.exportForPrinting([result.skull_model, result.implant_model], folder)
        self.assertEqual(len(written), 3)
        shutil.rmtree(folder, ignore_errors=True)
        self.delayDisplay("Complete test passed")

    def test_complete_from_a_ct(self):
        """A synthetic head CT made from the defective sample (no head CT ships with the
        extension), every second voxel for speed."""
        import numpy as np

        from VoxelRearrangementLib.ct.phantom import synthetic_head_ct
        from VoxelRearrangementLib.grids.geometry import LPS_TO_RAS, Mask
        from VoxelRearrangementLogicCore.segment_arrays import segment_to_mask
        self.delayDisplay("Completing a skull from a synthetic CT")
        logic = VoxelRearrangementLogic()
        mask = segment_to_mask(logic.loadSample("skull069_defective"))
        matrix = mask.ijk_to_lps.copy()
        matrix[:3, :3] *= 2
        ct = synthetic_head_ct(Mask(np.ascontiguousarray(mask.array[::2, ::2, ::2]), matrix)).ct
        volume = slicer.util.addVolumeFromArray(ct.array.transpose(2, 1, 0).copy(),
                                                ijkToRAS=LPS_TO_RAS @ ct.ijk_to_lps, name="head CT")
        result = logic.process(volume, method="hash", device="cpu")
        self.assertEqual(result.mode, "ct")
        self.assertEqual(len(result.nodes), 5)
        self.assertIsNotNone(result.ct_skull_segmentation)
        self.assertGreater(result.report["implant_volume_ml"], 20.0)
        self.delayDisplay("CT test passed")
