"""The module's Logic on Slicer's real MRML libraries (slicer-core), headless.

Node <-> array with exact geometry (sheared grids, cropped extents, parent transforms, files
written by Slicer's own storage nodes), bad inputs, and the pipeline through the real
background worker (``run``, both modes), cancel and errors.
"""
import time

import numpy as np
import psutil
import pytest

slicer = pytest.importorskip("slicer", reason="needs slicer-core (Slicer's MRML libraries from PyPI)")

import vtk  # noqa: E402
from vtk.util import numpy_support  # noqa: E402

import slicer_app  # noqa: E402
from helpers import sheared_matrix
from VoxelRearrangementLib._shared.errors import Cancelled, VoxelRearrangementError
from VoxelRearrangementLib.grids.geometry import LPS_TO_RAS, Mask, upsampled_grid
from VoxelRearrangementLib.io.masks import read_mask, write_mask
from VoxelRearrangementLogicCore import models
from VoxelRearrangementLogicCore.logic import LogicCore
from VoxelRearrangementLogicCore.segment_arrays import (
    mask_to_oriented_image,
    new_segmentation_node,
    numpy_to_matrix,
    segment_to_mask,
)


@pytest.fixture
def core():
    app = slicer_app.start_slicer_core()
    yield app
    app.close()


@pytest.fixture(scope="module")
def coarse(sample_dir) -> Mask:
    return read_mask(sample_dir / "skull069_coarse.nrrd")


def add_segmentation(core, mask: Mask, name="skull", segment="skull"):
    node = new_segmentation_node([(segment, mask, (1.0, 1.0, 1.0))], name)
    core.scene.AddNode(node)
    return node


def sheared(mask: Mask) -> Mask:
    return Mask(mask.array, sheared_matrix())


def scene_snapshot(scene):
    return [scene.GetNthNode(i).GetID() for i in range(scene.GetNumberOfNodes())]


# --- node <-> array ---------------------------------------------------------------------------

def test_round_trip_on_sheared_grid_is_exact(core, coarse):
    mask = sheared(coarse)
    back = segment_to_mask(add_segmentation(core, mask))
    assert back.array.dtype == np.uint8 and back.array.shape == mask.array.shape
    assert np.array_equal(back.array, mask.array)
    np.testing.assert_allclose(back.ijk_to_lps, mask.ijk_to_lps, atol=1e-9)


def test_geometry_agrees_with_slicers_labelmap_import(core, coarse):
    """A labelmap volume node made the Slicer way (IJK-to-RAS matrix) and imported by Slicer's
    Segmentations logic reads back in LPS with our matrix: the conventions agree."""
    mask = sheared(coarse)
    image = vtk.vtkImageData()
    image.SetDimensions(*mask.array.shape)
    image.AllocateScalars(vtk.VTK_UNSIGNED_CHAR, 1)
    numpy_support.vtk_to_numpy(image.GetPointData().GetScalars())[:] = mask.array.ravel(order="F")
    labelmap = core.scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "labels")
    labelmap.SetAndObserveImageData(image)
    labelmap.SetIJKToRASMatrix(numpy_to_matrix(LPS_TO_RAS @ mask.ijk_to_lps))
    seg = core.scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "imported")
    assert slicer.vtkSlicerSegmentationsModuleLogic.ImportLabelmapToSegmentationNode(labelmap, seg)
    back = segment_to_mask(seg)
    nz = np.argwhere(mask.array)
    world = nz @ mask.ijk_to_lps[:3, :3].T + mask.ijk_to_lps[:3, 3]
    back_idx = np.rint((world - back.ijk_to_lps[:3, 3]) @ np.linalg.inv(back.ijk_to_lps[:3, :3]).T).astype(int)
    assert np.all(back.array[tuple(back_idx.T)] == 1)
    assert back.array.sum() == mask.array.sum()
    assert abs(np.linalg.det(back.ijk_to_lps[:3, :3]) - np.linalg.det(mask.ijk_to_lps[:3, :3])) < 1e-9


def test_seg_nrrd_written_by_the_lib_loads_in_slicer_with_its_geometry(core, coarse, tmp_path):
    """Slicer's storage node reads the .seg.nrrd cropped to the segment's extent (the file has
    no reference geometry); the voxels still land at the same world positions."""
    mask = sheared(coarse)
    path = write_mask(tmp_path / "skull.seg.nrrd", mask, segment_name="skull")
    seg = core.scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "loaded")
    storage = slicer.vtkMRMLSegmentationStorageNode()
    storage.SetFileName(str(path))
    assert storage.ReadData(seg)
    back = segment_to_mask(seg, "skull")
    np.testing.assert_allclose(back.ijk_to_lps[:3, :3], mask.ijk_to_lps[:3, :3], atol=1e-6)
    offset = np.linalg.solve(mask.ijk_to_lps[:3, :3], back.ijk_to_lps[:3, 3] - mask.ijk_to_lps[:3, 3])
    np.testing.assert_allclose(offset, np.rint(offset), atol=1e-4)
    i, j, k = np.rint(offset).astype(int)
    a, b, c = back.array.shape
    assert np.array_equal(back.array, mask.array[i:i + a, j:j + b, k:k + c])
    assert back.array.sum() == mask.array.sum()


def test_a_segmentation_saved_by_slicer_reads_back_on_its_full_reference_grid(core, coarse, tmp_path):
    """Slicer crops a saved labelmap to the segment's extent and records the offset and the
    reference geometry; read_mask puts the segment back on the full 128 x 128 x 64 grid."""
    part = coarse.array.copy()
    part[:40], part[:, :, 50:] = 0, 0  # a segment smaller than its grid
    mask = Mask(part, sheared_matrix())
    node = add_segmentation(core, mask, "coarse")
    path = tmp_path / "saved.seg.nrrd"
    storage = slicer.vtkMRMLSegmentationStorageNode()
    storage.SetFileName(str(path))
    storage.SetCropToMinimumExtent(True)  # as Slicer saves an edited segmentation
    assert storage.WriteData(node)
    import nrrd
    assert nrrd.read_header(str(path))["sizes"].tolist() != list(mask.array.shape)  # cropped
    back = read_mask(path)
    assert back.array.shape == mask.array.shape
    np.testing.assert_allclose(back.ijk_to_lps, mask.ijk_to_lps, atol=1e-5)
    assert np.array_equal(back.array, mask.array)


def test_cropped_extent_and_reference_geometry(core, coarse):
    """A labelmap stored cropped (extent not starting at 0) comes back on the full reference
    grid; without a reference geometry, on the cropped grid with the origin shifted."""
    mask = sheared(coarse)
    full = mask_to_oriented_image(mask)
    cropped = slicer.vtkOrientedImageData()
    extract = vtk.vtkExtractVOI()
    extract.SetInputData(full)
    extract.SetVOI(10, 100, 5, 120, 3, 60)
    extract.Update()
    cropped.ShallowCopy(extract.GetOutput())
    matrix = vtk.vtkMatrix4x4()
    full.GetImageToWorldMatrix(matrix)
    cropped.SetImageToWorldMatrix(matrix)
    node = new_segmentation_node([("skull", mask, (1, 1, 1))], "cropped")
    segmentation = node.GetSegmentation()
    segmentation.GetSegment("skull").AddRepresentation("Binary labelmap", cropped)
    core.scene.AddNode(node)
    back = segment_to_mask(node)
    expected = np.zeros_like(mask.array)
    expected[10:101, 5:121, 3:61] = mask.array[10:101, 5:121, 3:61]
    assert np.array_equal(back.array, expected)
    np.testing.assert_allclose(back.ijk_to_lps, mask.ijk_to_lps, atol=1e-9)

    segmentation.RemoveConversionParameter(
        slicer.vtkSegmentationConverter.GetReferenceImageGeometryParameterName()) \
        if hasattr(segmentation, "RemoveConversionParameter") else segmentation.SetConversionParameter(
        slicer.vtkSegmentationConverter.GetReferenceImageGeometryParameterName(), "")
    back = segment_to_mask(node)
    assert back.array.shape == (91, 116, 58)
    np.testing.assert_allclose(back.ijk_to_lps[:3, 3], mask.ijk_to_lps[:3, :3] @ [10, 5, 3] + mask.ijk_to_lps[:3, 3])


def test_parent_transform_is_folded_into_the_geometry(core, coarse):
    node = add_segmentation(core, sheared(coarse))
    shift = np.eye(4)
    shift[:3, 3] = [5.0, -7.0, 11.0]  # RAS
    transform = core.scene.AddNewNodeByClass("vtkMRMLLinearTransformNode")
    transform.SetMatrixTransformToParent(numpy_to_matrix(shift))
    node.SetAndObserveTransformNodeID(transform.GetID())
    back = segment_to_mask(node)
    np.testing.assert_allclose(back.ijk_to_lps[:3, 3], sheared_matrix()[:3, 3] + [-5.0, 7.0, 11.0])


def test_full_resolution_skullfix_mask_round_trip(core, shared_data):
    """Real SkullFix case 069 (tilted grid) at full resolution, cropped to keep it quick."""
    mask = read_mask(shared_data / "skullfix" / "complete" / "069.nrrd")
    crop = Mask(mask.array[100:400, 100:400, 60:200].copy(), mask.ijk_to_lps.copy())
    crop.ijk_to_lps[:3, 3] = mask.ijk_to_lps[:3, :3] @ [100, 100, 60] + mask.ijk_to_lps[:3, 3]
    back = segment_to_mask(add_segmentation(core, crop))
    assert np.array_equal(back.array, crop.array)
    np.testing.assert_allclose(back.ijk_to_lps, crop.ijk_to_lps, atol=1e-9)


# --- bad inputs: clear errors, scene unchanged ---------------------------------------------------

def test_bad_inputs_give_clear_errors_and_change_nothing(core, coarse, tmp_path):
    logic = LogicCore(core.scene, str(tmp_path))
    good = add_segmentation(core, coarse, "coarse")
    empty = core.scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "empty")
    empty.GetSegmentation().AddEmptySegment("skull")
    two = new_segmentation_node([("skull", coarse, (1, 1, 1)), ("other", coarse, (1, 0, 0))], "two")
    core.scene.AddNode(two)
    tiny_array = np.zeros((20, 20, 20), np.uint8)
    tiny_array[5:15, 5:15, 5:15] = 1
    tiny = add_segmentation(core, Mask(tiny_array, np.diag([0.5, 0.5, 0.5, 1.0])), "tiny")
    before = scene_snapshot(core.scene)
    cases = [
        (dict(inputSegmentation=empty), "is empty"),
        (dict(inputSegmentation=two), "holds 2 segments"),
        (dict(inputSegmentation=two, segmentId="nope"), "no segment with ID or name 'nope'"),
        (dict(inputSegmentation=tiny), "does not look like a skull"),
        (dict(inputSegmentation=good, template=good, method="hash"), "another skull than the input"),
        (dict(inputSegmentation=good, template=add_segmentation(core, coarse, "coarse2"), method="hash"),
         "incompatible grid"),
        (dict(inputSegmentation=good, method="magic"), "unknown method"),
        (dict(inputSegmentation=None), "choose an input segmentation"),
    ]
    before = scene_snapshot(core.scene)
    for kwargs, message in cases:
        with pytest.raises(VoxelRearrangementError, match=message):
            logic.process(mode="refine", **{"method": "trilinear", **kwargs})
        assert scene_snapshot(core.scene) == before
    assert list(tmp_path.iterdir()) == []


# --- the pipeline through the real worker ------------------------------------------------------

def test_refine_pipeline_creates_nodes_and_exports_stl_in_lps(core, coarse, tmp_path):
    temp_root = tmp_path / "temp"
    temp_root.mkdir()
    logic = LogicCore(core.scene, str(temp_root))
    node = add_segmentation(core, coarse, "coarse")
    # target: 2x finer than the coarse grid (corner aligned), given as a reference volume;
    # smaller than the 4x default to keep the test quick
    target = upsampled_grid(coarse.grid, 2)
    reference = core.scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "reference")
    image = vtk.vtkImageData()
    image.SetDimensions(*target.shape)
    image.AllocateScalars(vtk.VTK_UNSIGNED_CHAR, 1)
    reference.SetAndObserveImageData(image)
    reference.SetIJKToRASMatrix(numpy_to_matrix(LPS_TO_RAS @ target.ijk_to_lps))
    before = set(scene_snapshot(core.scene))
    seen = []
    result = logic.process(node, mode="refine", method="trilinear", referenceGrid=reference,
                           device="cpu", progress=lambda f, m: seen.append(f))
    assert seen and seen == sorted(seen) and seen[-1] == 1.0
    assert list(temp_root.iterdir()) == []  # temporary folder removed

    # the created nodes: a segmentation and a model, in one subject-hierarchy folder
    assert result.implant_segmentation is None and result.implant_model is None
    assert len(result.nodes) == 2
    added = set(scene_snapshot(core.scene)) - before
    assert {n.GetID() for n in result.nodes} <= added
    sh = core.scene.GetSubjectHierarchyNode()
    for n in result.nodes:
        assert sh.GetItemParent(sh.GetItemByDataNode(n)) == result.folder_item_id
    assert result.skull_model.GetDisplayNode().GetVisibility3D()

    # the refined skull: on the reference grid, close to the coarse one in volume
    refined = segment_to_mask(result.skull_segmentation, "skull")
    assert refined.array.shape == target.shape
    np.testing.assert_allclose(refined.ijk_to_lps, target.ijk_to_lps, atol=1e-6)
    assert abs(refined.volume_ml - coarse.volume_ml) < 0.2 * coarse.volume_ml
    assert result.report["skull_watertight"] and models.is_watertight(result.skull_model.GetPolyData())
    assert "mL" in result.summary

    # export: the STL is in LPS mm, where the voxels are
    written = logic.exportForPrinting([result.skull_model], tmp_path / "print")
    stl = [p for p in written if p.suffix == ".stl"][0]
    assert (tmp_path / "print" / "printability_report.json").is_file()
    reader = vtk.vtkSTLReader()
    reader.SetFileName(str(stl))
    reader.Update()
    points = numpy_support.vtk_to_numpy(reader.GetOutput().GetPoints().GetData())
    voxels = np.argwhere(refined.array)
    centres = voxels @ refined.ijk_to_lps[:3, :3].T + refined.ijk_to_lps[:3, 3]
    tolerance = 2 * refined.grid.spacing.max()
    np.testing.assert_allclose(points.min(axis=0), centres.min(axis=0), atol=tolerance)
    np.testing.assert_allclose(points.max(axis=0), centres.max(axis=0), atol=tolerance)
    assert b"SPACE=LPS" in stl.read_bytes()[:80]


def test_learned_refinement_through_the_worker(core, coarse, tmp_path):
    """The learned method with the bundled weights, on the CPU, through the real worker."""
    logic = LogicCore(core.scene, str(tmp_path))
    node = add_segmentation(core, coarse, "coarse")
    result = logic.process(node, mode="refine", method="learned", device="cpu")
    refined = segment_to_mask(result.skull_segmentation, "skull")
    assert refined.grid.same_as(upsampled_grid(coarse.grid))
    assert abs(refined.volume_ml - coarse.volume_ml) < 0.1 * coarse.volume_ml
    assert result.report["method"] == "learned" and result.report["skull_watertight"]
    assert list(tmp_path.iterdir()) == []


def test_cancel_mid_run_leaves_scene_processes_and_files_unchanged(core, coarse, tmp_path):
    logic = LogicCore(core.scene, str(tmp_path))
    node = add_segmentation(core, coarse, "coarse")
    before = scene_snapshot(core.scene)
    progressed = []
    with pytest.raises(Cancelled):
        logic.process(node, mode="refine", method="trilinear", device="cpu",
                      progress=lambda f, m: progressed.append(m),
                      cancel=lambda: any(m.startswith("refining the skull:") for m in progressed))
    assert scene_snapshot(core.scene) == before
    assert list(tmp_path.iterdir()) == []
    deadline = time.monotonic() + 5
    while psutil.Process().children(recursive=True) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert psutil.Process().children(recursive=True) == []


def test_worker_error_leaves_scene_unchanged(core, coarse, tmp_path):
    """A bad input only the worker can detect (here: a full mask, which has no surface)."""
    logic = LogicCore(core.scene, str(tmp_path))
    full = Mask(np.ones((128, 128, 64), np.uint8), coarse.ijk_to_lps)
    node = add_segmentation(core, full, "full")
    before = scene_snapshot(core.scene)
    with pytest.raises(VoxelRearrangementError, match="full"):
        logic.process(node, mode="refine", method="trilinear", device="cpu")
    assert scene_snapshot(core.scene) == before
    assert list(tmp_path.iterdir()) == []


def test_complete_pipeline_on_the_defective_sample(core, sample_dir, tmp_path):
    logic = LogicCore(core.scene, str(tmp_path))
    node = logic.loadSample("skull069_defective")
    result = logic.process(node, mode="complete", method="hash", device="cpu")
    assert len(result.nodes) == 4
    assert list(tmp_path.iterdir()) == []
    implant = segment_to_mask(result.implant_segmentation, "implant")
    truth = read_mask(sample_dir / "skull069_implant.nrrd")
    assert implant.grid.same_as(truth.grid)
    assert 0.5 * truth.volume_ml < implant.volume_ml < 2.0 * truth.volume_ml
    assert result.report["skull_watertight"] and result.report["implant_watertight"]
    decimation = result.report["skull"]["decimation"]  # skull.stl of at most 30 MB, within 0.1 mm
    assert decimation["triangles_after"] * 50 + 84 <= 30e6 and decimation["deviation"]["max_mm"] <= 0.1


def add_volume(core, image, name="head CT"):
    """A scalar volume node holding ``image`` (its LPS geometry as Slicer's IJK-to-RAS)."""
    data = vtk.vtkImageData()
    data.SetDimensions(*image.array.shape)
    scalars = numpy_support.numpy_to_vtk(np.asfortranarray(image.array).ravel(order="F"), deep=True)
    data.GetPointData().SetScalars(scalars)
    node = slicer.vtkMRMLScalarVolumeNode()
    node.SetName(name)
    node.SetAndObserveImageData(data)
    node.SetIJKToRASMatrix(numpy_to_matrix(LPS_TO_RAS @ image.ijk_to_lps))
    core.scene.AddNode(node)
    return node


def test_a_ct_volume_node_reads_back_exactly(core):
    from VoxelRearrangementLib.grids.geometry import Image
    from VoxelRearrangementLogicCore.segment_arrays import volume_to_image
    rng = np.random.default_rng(0)
    image = Image(rng.integers(-1000, 2000, (9, 7, 5)).astype(np.int16), sheared_matrix())
    back = volume_to_image(add_volume(core, image))
    assert back.array.dtype == np.int16 and np.array_equal(back.array, image.array)
    assert np.allclose(back.ijk_to_lps, image.ijk_to_lps)


def test_ct_pipeline_adds_the_segmented_skull_and_the_implant(core, sample_dir, tmp_path):
    from VoxelRearrangementLib.ct.phantom import synthetic_head_ct
    defective = read_mask(sample_dir / "skull069_defective.nrrd")
    matrix = defective.ijk_to_lps.copy()
    matrix[:3, :3] *= 2  # every second voxel: a fast run
    ct = synthetic_head_ct(Mask(np.ascontiguousarray(defective.array[::2, ::2, ::2]), matrix)).ct
    volume = add_volume(core, ct)
    logic = LogicCore(core.scene, str(tmp_path))
    result = logic.process(volume, method="hash", device="cpu")
    assert result.mode == "ct" and len(result.nodes) == 5
    skull = segment_to_mask(result.ct_skull_segmentation, "skull")
    assert np.allclose(skull.ijk_to_lps[:3, :3], ct.ijk_to_lps[:3, :3])  # a sub-grid of the CT
    implant = segment_to_mask(result.implant_segmentation, "implant")
    assert 20 < implant.volume_ml < 80
    assert "Skull from the CT" in result.summary and result.report["ct"]["bone_hu"] == 300.0
    assert volume.GetImageData() is not None and list(tmp_path.iterdir()) == []
    with pytest.raises(VoxelRearrangementError, match="not a CT volume"):
        logic.process(volume, mode="refine", method="trilinear")
