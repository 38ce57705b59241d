"""Segments of MRML segmentation nodes <-> binary masks with exact geometry.

A :class:`~VoxelRearrangementLib.io.masks.Mask` is a uint8 array indexed ``[i, j, k]`` with a
4 x 4 IJK-to-LPS matrix (mm). Slicer keeps a segment as a ``vtkOrientedImageData`` whose
image-to-world matrix maps *extent* indices (which need not start at 0) to RAS. Here:

* ``ijk_to_lps = LPS_TO_RAS @ parent_transform_to_world @ image_to_world @ shift(extent_min)``;
* a segment stored in a shared labelmap layer is selected by its label value;
* the array covers the segmentation's reference geometry (the grid of the volume it was made
  from, e.g. 128 x 128 x 64 for a coarse mask) when that grid matches the labelmap, not just the
  cropped extent, so grids that downstream code corner-aligns stay intact.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np
import slicer
import vtk
from vtk.util import numpy_support

from VoxelRearrangementLib._shared.errors import VoxelRearrangementError
from VoxelRearrangementLib.grids.geometry import LPS_TO_RAS, Image, Mask
from VoxelRearrangementLib.io.segmentations import choose_segment

BINARY_LABELMAP = "Binary labelmap"


def matrix_to_numpy(vmatrix: vtk.vtkMatrix4x4) -> np.ndarray:
    """4 x 4 numpy copy of a vtkMatrix4x4."""
    return np.array([[vmatrix.GetElement(r, c) for c in range(4)] for r in range(4)])


def numpy_to_matrix(array: np.ndarray) -> vtk.vtkMatrix4x4:
    """vtkMatrix4x4 from a 4 x 4 array."""
    vmatrix = vtk.vtkMatrix4x4()
    for r in range(4):
        for c in range(4):
            vmatrix.SetElement(r, c, float(array[r, c]))
    return vmatrix


def _node_label(node) -> str:
    return f"segmentation '{node.GetName()}'"


def resolve_segment_id(segmentation_node, segment: Optional[str] = None) -> str:
    """ID of the segment to use: ``segment`` (an ID or a name), or the only segment there is."""
    segmentation = segmentation_node.GetSegmentation()
    ids = list(segmentation.GetSegmentIDs())
    pairs = [(i, segmentation.GetSegment(i).GetName()) for i in ids]
    return ids[choose_segment(pairs, segment, _node_label(segmentation_node), "choose the skull segment")]


def _labelmap_of(segmentation_node, segment_id: str):
    """(vtkOrientedImageData, label value) holding ``segment_id``; converts a copy of the
    segmentation when its source representation is not a binary labelmap (the node itself
    is never modified)."""
    segmentation = segmentation_node.GetSegmentation()
    if not segmentation.ContainsRepresentation(BINARY_LABELMAP):
        copy = slicer.vtkSegmentation()
        copy.DeepCopy(segmentation)
        if not copy.CreateRepresentation(BINARY_LABELMAP):
            raise VoxelRearrangementError(
                f"{_node_label(segmentation_node)}: cannot convert it to a binary labelmap")
        segmentation = copy
    image = segmentation.GetSegmentRepresentation(segment_id, BINARY_LABELMAP)
    label = segmentation.GetSegment(segment_id).GetLabelValue()
    if image is None:
        raise VoxelRearrangementError(
            f"{_node_label(segmentation_node)}: segment '{segment_id}' has no binary labelmap")
    return image, label


def _reference_extent(segmentation_node, image_to_world: np.ndarray) -> Optional[Sequence[int]]:
    """Extent of the segmentation's reference geometry if it is on the labelmap's grid."""
    segmentation = segmentation_node.GetSegmentation()
    text = segmentation.GetConversionParameter(
        slicer.vtkSegmentationConverter.GetReferenceImageGeometryParameterName())
    if not text:
        return None
    reference = slicer.vtkOrientedImageData()
    if not slicer.vtkSegmentationConverter.DeserializeImageGeometry(text, reference, False):
        return None
    matrix = vtk.vtkMatrix4x4()
    reference.GetImageToWorldMatrix(matrix)
    if not np.allclose(matrix_to_numpy(matrix), image_to_world, atol=1e-6):
        return None
    extent = reference.GetExtent()
    if extent[1] < extent[0] or extent[3] < extent[2] or extent[5] < extent[4]:
        return None
    return extent


def _parent_transform_to_world(node) -> np.ndarray:
    """4 x 4 RAS-to-RAS matrix of the node's parent transform (identity when none)."""
    transform = node.GetParentTransformNode()
    if transform is None:
        return np.eye(4)
    if not transform.IsTransformToWorldLinear():
        raise VoxelRearrangementError(
            f"{_node_label(node)} is under the non-linear transform '{transform.GetName()}': "
            "harden the transform first")
    matrix = vtk.vtkMatrix4x4()
    transform.GetMatrixTransformToWorld(matrix)
    return matrix_to_numpy(matrix)


def segment_to_mask(segmentation_node, segment: Optional[str] = None) -> Mask:
    """The segment (ID or name; the only one when None) as a Mask in world LPS millimetres.

    Raises :class:`VoxelRearrangementError` when the segment cannot be chosen or is empty.
    """
    segment_id = resolve_segment_id(segmentation_node, segment)
    image, label = _labelmap_of(segmentation_node, segment_id)
    extent = image.GetExtent()
    name = segmentation_node.GetSegmentation().GetSegment(segment_id).GetName()
    if extent[1] < extent[0] or extent[3] < extent[2] or extent[5] < extent[4]:
        raise VoxelRearrangementError(f"{_node_label(segmentation_node)}: segment '{name}' is empty")
    matrix = vtk.vtkMatrix4x4()
    image.GetImageToWorldMatrix(matrix)
    image_to_world = matrix_to_numpy(matrix)

    dims = [extent[2 * a + 1] - extent[2 * a] + 1 for a in range(3)]
    scalars = numpy_support.vtk_to_numpy(image.GetPointData().GetScalars())
    part = (scalars.reshape(dims[::-1]) == label).transpose(2, 1, 0)  # VTK: i fastest
    if not part.any():
        raise VoxelRearrangementError(f"{_node_label(segmentation_node)}: segment '{name}' is empty")

    reference = _reference_extent(segmentation_node, image_to_world)
    lo = [extent[2 * a] for a in range(3)]
    hi = [extent[2 * a + 1] for a in range(3)]
    if reference is not None:
        lo = [min(lo[a], reference[2 * a]) for a in range(3)]
        hi = [max(hi[a], reference[2 * a + 1]) for a in range(3)]
    array = np.zeros([hi[a] - lo[a] + 1 for a in range(3)], dtype=np.uint8)
    array[tuple(slice(extent[2 * a] - lo[a], extent[2 * a] - lo[a] + dims[a]) for a in range(3))] = part

    shift = np.eye(4)
    shift[:3, 3] = lo
    ijk_to_ras = _parent_transform_to_world(segmentation_node) @ image_to_world @ shift
    return Mask(array, LPS_TO_RAS @ ijk_to_ras)


def volume_to_image(volume_node) -> Image:
    """A scalar volume node (e.g. a CT in HU) as an Image in world LPS millimetres (its parent
    transform applied when linear)."""
    image = volume_node.GetImageData() if volume_node is not None else None
    if image is None or image.GetPointData().GetScalars() is None:
        raise VoxelRearrangementError(f"{_node_label(volume_node)} holds no image")
    if image.GetNumberOfScalarComponents() != 1:
        raise VoxelRearrangementError(f"{_node_label(volume_node)} is not a scalar volume (a CT)")
    dims = image.GetDimensions()
    array = numpy_support.vtk_to_numpy(image.GetPointData().GetScalars()).reshape(dims[::-1])
    matrix = vtk.vtkMatrix4x4()
    volume_node.GetIJKToRASMatrix(matrix)
    ijk_to_ras = _parent_transform_to_world(volume_node) @ matrix_to_numpy(matrix)
    return Image(np.ascontiguousarray(array.transpose(2, 1, 0)), LPS_TO_RAS @ ijk_to_ras)


def mask_to_oriented_image(mask: Mask) -> "slicer.vtkOrientedImageData":
    """A vtkOrientedImageData (extent from 0, RAS image-to-world) holding ``mask``'s array."""
    array = np.ascontiguousarray(mask.array, dtype=np.uint8)
    image = slicer.vtkOrientedImageData()
    image.SetDimensions(*array.shape)
    image.AllocateScalars(vtk.VTK_UNSIGNED_CHAR, 1)
    numpy_support.vtk_to_numpy(image.GetPointData().GetScalars())[:] = array.transpose(2, 1, 0).ravel()
    image.SetImageToWorldMatrix(numpy_to_matrix(LPS_TO_RAS @ mask.ijk_to_lps))
    return image


def new_segmentation_node(segments: Sequence[Tuple[str, Mask, Tuple[float, float, float]]],
                          name: str):
    """A segmentation node (not yet in a scene) with one segment per ``(name, mask, rgb)``.

    The first mask's grid becomes the reference geometry, so the node reads back on it.
    """
    node = slicer.vtkMRMLSegmentationNode()
    node.SetName(name)
    segmentation = node.GetSegmentation()
    segmentation.SetSourceRepresentationName(BINARY_LABELMAP)
    for index, (segment_name, mask, color) in enumerate(segments):
        image = mask_to_oriented_image(mask)
        if index == 0:
            segmentation.SetConversionParameter(
                slicer.vtkSegmentationConverter.GetReferenceImageGeometryParameterName(),
                slicer.vtkSegmentationConverter.SerializeImageGeometry(image))
        segment = slicer.vtkSegment()
        segment.SetName(segment_name)
        segment.SetColor(*color)
        segment.AddRepresentation(BINARY_LABELMAP, image)
        segmentation.AddSegment(segment, segment_name)
    return node
