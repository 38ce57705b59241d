"""3D Slicer segmentation files (``.seg.nrrd``) through :mod:`slicerio`, the maintained reader.

Reading picks a segment by name or ID (the only one when there is one), honours its label
value and layer, and puts it back on the segmentation's full reference grid: Slicer crops a
saved labelmap to the segments' extent and records where the crop sits
(``Segmentation_ReferenceImageExtentOffset``) and the reference grid itself (the "Reference
image geometry" conversion parameter), so a coarse 128 x 128 x 64 segmentation saved by Slicer
reads back as 128 x 128 x 64. Writing stores one segment on the mask's grid, with that grid as
the reference geometry.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence, Tuple

import numpy as np

from .._shared.errors import VoxelRearrangementError
from ..grids.geometry import LPS_TO_RAS

_REFERENCE = "Reference image geometry"
_REFERENCE_HELP = ("Image geometry description string determining the geometry of the labelmap "
                   "that is created in course of conversion. Can be copied from a volume, using "
                   "the button.")


def choose_segment(segments: Sequence[Tuple[str, str]], segment: Optional[str], where: str,
                   hint: str) -> int:
    """The index of the segment ``segment`` (an ID or a name; None or "": the only one) among
    ``segments`` (``(id, name)`` pairs); clear errors naming ``where`` otherwise (``hint``
    says how to choose)."""
    if not segments:
        raise VoxelRearrangementError(f"{where} has no segments")
    if not segment:
        if len(segments) > 1:
            names = ", ".join(f"'{name or sid}'" for sid, name in segments)
            raise VoxelRearrangementError(
                f"{where} holds {len(segments)} segments ({names}); {hint}")
        return 0
    for key in (0, 1):  # an ID first, then a name
        for n, pair in enumerate(segments):
            if pair[key] == segment:
                return n
    raise VoxelRearrangementError(f"{where} has no segment with ID or name '{segment}'")


def _choose(segments: Sequence[dict], segment: Optional[str], path: Path) -> dict:
    pairs = [(s.get("id"), s.get("name")) for s in segments]
    return segments[choose_segment(pairs, segment, str(path), "choose one (--segment on the command line)")]


def _reference(segmentation: dict) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """(reference index -> LPS matrix, extent (6,)) of the reference geometry, if recorded."""
    for parameter in segmentation.get("conversionParameters", []):
        if parameter.get("name") == _REFERENCE:
            values = [v for v in str(parameter.get("value", "")).split(";") if v.strip()]
            if len(values) != 22:
                return None
            ras = np.array([float(v) for v in values[:16]]).reshape(4, 4)
            return LPS_TO_RAS @ ras, np.array([int(float(v)) for v in values[16:]])
    return None


def _on_reference_grid(segmentation: dict, mask: np.ndarray, matrix: np.ndarray
                       ) -> Tuple[np.ndarray, np.ndarray]:
    """``mask`` (on the file's, possibly cropped, grid) placed on the full reference grid when
    the file records one that agrees with its own geometry; else as it is."""
    reference = _reference(segmentation)
    if reference is None:
        return mask, matrix
    ref_matrix, extent = reference
    offset = np.asarray(segmentation.get("referenceImageExtentOffset", [0, 0, 0]), dtype=float)
    agrees = np.allclose(ref_matrix[:3, :3], matrix[:3, :3], atol=1e-5) and np.allclose(
        ref_matrix[:3, :3] @ offset + ref_matrix[:3, 3], matrix[:3, 3], atol=1e-3)
    lo, hi = extent[0::2], extent[1::2] + 1
    if not agrees or np.any(hi <= lo):
        return mask, matrix
    full = np.zeros(tuple(hi - lo), dtype=mask.dtype)
    start = offset.astype(int) - lo
    src = tuple(slice(max(-s, 0), min(n, f - s)) for s, n, f in zip(start, mask.shape, full.shape))
    dst = tuple(slice(a.start + s, a.stop + s) for a, s in zip(src, start))
    full[dst] = mask[src]
    if full.sum() != mask.sum():
        return mask, matrix  # the crop reaches beyond its reference: keep the file's grid
    out = ref_matrix.copy()
    out[:3, 3] = ref_matrix[:3, :3] @ lo + ref_matrix[:3, 3]
    return full, out


def read_segment(path: Path, segment: Optional[str] = None) -> Tuple[np.ndarray, np.ndarray]:
    """``(uint8 0/1 array (i, j, k), IJK-to-LPS matrix)`` of one segment of a Slicer
    segmentation file; a file without segment fields is read as a labelmap (any non-zero)."""
    import slicerio
    segmentation = slicerio.read_segmentation(str(path))
    voxels = segmentation["voxels"]
    matrix = np.asarray(segmentation["ijkToLPS"], dtype=np.float64)
    segments = segmentation.get("segments", [])
    if not segments:
        if voxels.ndim != 3:
            raise VoxelRearrangementError(f"{path}: expected a 3D mask, found {voxels.ndim} dimensions")
        return (voxels != 0).astype(np.uint8), matrix
    chosen = _choose(segments, segment, path)
    mask = slicerio.segment_mask(segmentation, chosen)
    if not mask.any():
        raise VoxelRearrangementError(
            f"{path}: segment '{chosen.get('name') or chosen.get('id')}' (label "
            f"{chosen.get('labelValue', 1)}) occurs in no voxel (an empty segment, or a header "
            "that does not match the data)")
    full, matrix = _on_reference_grid(segmentation, mask, matrix)
    return full.astype(np.uint8), matrix


def _geometry_string(array_shape: Sequence[int], matrix: np.ndarray) -> str:
    ras = (LPS_TO_RAS @ matrix).ravel()
    extent = [v for n in array_shape for v in (0, int(n) - 1)]
    return "".join(f"{v:.10g};" for v in ras) + "".join(f"{v};" for v in extent)


def write_segment(path: str, array: np.ndarray, matrix: np.ndarray, name: str,
                  color: Sequence[float] = (0.945, 0.839, 0.569), compress: bool = True) -> None:
    """Write ``array`` (0/1, axes i, j, k) as the one segment ``name`` of a Slicer
    segmentation file on the grid ``matrix`` (IJK-to-LPS), recorded as its reference geometry."""
    import slicerio
    segmentation = slicerio.create_segmentation(array.shape, matrix)
    slicerio.add_segment(segmentation, np.asarray(array, dtype=bool),
                         {"id": name, "name": name, "color": [float(c) for c in color]})
    segmentation["containedRepresentationNames"] = ["Binary labelmap"]
    segmentation["conversionParameters"] = [
        {"name": _REFERENCE, "value": _geometry_string(array.shape, matrix), "description": _REFERENCE_HELP}]
    segmentation["encoding"] = "gzip" if compress else "raw"
    slicerio.write_segmentation(path, segmentation, compression_level=1)
