"""Read and write binary masks with their full geometry.

Formats, chosen by file name: ``.nrrd`` / ``.nhdr``, Slicer's segmentation ``.seg.nrrd``
(through slicerio, :mod:`.segmentations`: one segment is read, on its reference grid, and
written as a single segment), and NIfTI ``.nii`` /
``.nii.gz``. The world convention inside the library is LPS (as NRRD and Slicer files);
NIfTI stores RAS, converted on the way in and out. Sheared grids are kept exactly (NIfTI:
through the sform).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Tuple, Union

import numpy as np
from numba import njit

from .._shared.arrays import c_order, fortran_order
from .._shared.atomic import atomic_output, check_writable
from .._shared.errors import VoxelRearrangementError
from ..grids.geometry import LPS_TO_RAS, Grid, Mask, binary
from .segmentations import read_segment, write_segment

PathLike = Union[str, os.PathLike]

_LPS_NAMES = {"left-posterior-superior", "lps"}
_RAS_NAMES = {"right-anterior-superior", "ras", "scanner-xyz"}


#: File-name endings of the mask formats (longest first) -> format.
MASK_SUFFIXES = {".seg.nrrd": "seg.nrrd", ".nrrd": "nrrd", ".nhdr": "nrrd", ".nii.gz": "nifti",
                 ".nii": "nifti"}


def mask_suffix(path: PathLike) -> Optional[str]:
    """The mask-format ending of ``path``'s name (``'.seg.nrrd'``, ``'.nii.gz'``, ...), or None."""
    name = Path(path).name.lower()
    return next((suffix for suffix in MASK_SUFFIXES if name.endswith(suffix)), None)


def mask_format(path: PathLike) -> str:
    """``'seg.nrrd'``, ``'nrrd'`` or ``'nifti'`` from the file name; error for anything else."""
    suffix = mask_suffix(path)
    if suffix is None:
        raise VoxelRearrangementError(
            f"{path}: unknown mask format (use .nrrd, .seg.nrrd, .nii or .nii.gz)")
    return MASK_SUFFIXES[suffix]


def existing(path: PathLike) -> Tuple[Path, str]:
    """``path`` and its format, or a clear error when the name or the file is wrong."""
    path = Path(path)
    fmt = mask_format(path)
    if not path.is_file():
        raise VoxelRearrangementError(f"{path}: no such file")
    return path, fmt


def read_mask(path: PathLike, segment: Optional[str] = None) -> Mask:
    """Read a binary mask.

    ``segment`` picks a segment (by ID or name) of a ``.seg.nrrd`` holding several; a plain
    labelmap must have at most two distinct values (0 and one other), any other is an error.
    """
    path, fmt = existing(path)
    data, matrix = read_volume(path, fmt, segment)
    return Mask(c_order(_binarize(data, path)), matrix)


def read_volume(path: Path, fmt: str, segment: Optional[str] = None):
    """``(data, ijk_to_lps)`` of an existing NRRD / NIfTI / segmentation file of format
    ``fmt``; a corrupt or unreadable file raises an error naming it and the reason."""
    try:
        return read_nifti(path) if fmt == "nifti" else read_nrrd(path, segment)
    except VoxelRearrangementError:
        raise
    except Exception as exc:
        raise VoxelRearrangementError(f"{path}: cannot read it as {fmt} ({exc})") from exc


def read_grid(path: PathLike) -> Grid:
    """The voxel grid of an image or mask file, reading only its header."""
    path, fmt = existing(path)
    try:
        if fmt == "nifti":
            import nibabel as nib
            _check_voxel_size(path)
            img = nib.load(str(path))
            if len(img.shape) < 3:
                raise VoxelRearrangementError(f"{path}: a grid must be 3D, this image is {len(img.shape)}D")
            return Grid(img.shape[:3], LPS_TO_RAS @ np.asarray(img.affine, dtype=np.float64))
        import nrrd
        header = nrrd.read_header(str(path))
        if int(header["dimension"]) < 3:
            raise VoxelRearrangementError(
                f"{path}: a grid must be 3D, this image is {int(header['dimension'])}D")
        spatial = _spatial_axes(header, int(header["dimension"]))
        return Grid([int(header["sizes"][a]) for a in spatial], _nrrd_matrix(header, spatial))
    except VoxelRearrangementError:
        raise
    except Exception as exc:
        raise VoxelRearrangementError(f"{path}: cannot read its header ({exc})") from exc


def check_mask_output(path: PathLike) -> None:
    """Fail at once, before any long work, if ``path`` is not a writable mask file name."""
    mask_format(path)
    check_writable(path)


def write_mask(path: PathLike, mask: Mask, segment_name: str = "Segment_1",
               compress: bool = True) -> Path:
    """Write ``mask`` to ``path`` (format from the name) atomically: a temporary file in the same
    folder is renamed over ``path`` only once complete, so a failure never leaves half a file."""
    path = Path(path)
    fmt = mask_format(path)
    suffix = ".nii.gz" if path.name.lower().endswith(".gz") else (".nii" if fmt == "nifti" else ".nrrd")
    array = fortran_order(binary(mask, f"the mask to write to {path}").array)
    with atomic_output(path, suffix) as tmp:
        if fmt == "nifti":
            write_nifti(tmp, array, mask.ijk_to_lps)
        elif fmt == "seg.nrrd":
            write_segment(tmp, array, mask.ijk_to_lps, segment_name, compress=compress)
        else:
            write_nrrd(tmp, array, mask.ijk_to_lps, compress)
    return path


# --- NRRD -----------------------------------------------------------------------------------

def _nrrd_matrix(header: dict, spatial_axes: Tuple[int, ...]) -> np.ndarray:
    """4 x 4 IJK-to-LPS matrix from a NRRD header (space directions/origin, or spacings)."""
    m = np.eye(4)
    space = str(header.get("space", "left-posterior-superior")).lower()
    if "space directions" in header:
        dirs = np.asarray(header["space directions"], dtype=np.float64)
        m[:3, :3] = dirs[list(spatial_axes)].T
        if "space origin" in header:
            m[:3, 3] = np.asarray(header["space origin"], dtype=np.float64)
    elif "spacings" in header:
        m[:3, :3] = np.diag(np.asarray(header["spacings"], dtype=np.float64)[list(spatial_axes)])
    if space in _RAS_NAMES:
        m = LPS_TO_RAS @ m
    elif space not in _LPS_NAMES:
        raise VoxelRearrangementError(f"unsupported NRRD space '{space}' (use LPS or RAS)")
    return m


def _spatial_axes(header: dict, ndim: int) -> Tuple[int, ...]:
    """The three space axes of a NRRD (by their kinds; the last three when kinds say nothing)."""
    kinds = [str(k).lower() for k in header.get("kinds", ["domain"] * ndim)]
    spatial = tuple(a for a, k in enumerate(kinds) if k in ("domain", "space"))
    return spatial if len(spatial) == 3 else tuple(range(ndim))[-3:]


def read_nrrd(path: Path, segment: Optional[str]):
    """``(data, matrix)`` of a NRRD file; Slicer segmentations (segment fields in the
    header) through :func:`.segmentations.read_segment`, whatever the file is named."""
    import nrrd
    header = nrrd.read_header(str(path))
    if any(k.startswith("Segment") and k.endswith("_ID") for k in header):
        return read_segment(path, segment)
    data, header = nrrd.read(str(path))
    spatial = _spatial_axes(header, data.ndim)
    if data.ndim == 4 and data.shape[0] == 1:
        data = data[0]
    if data.ndim != 3:
        raise VoxelRearrangementError(f"{path}: expected a 3D mask, found {data.ndim} dimensions")
    return data, _nrrd_matrix(header, spatial)


def write_nrrd(path: str, array: np.ndarray, matrix: np.ndarray, compress: bool) -> None:
    """Write a 3D ``array`` (its own voxel type) with its LPS geometry as NRRD."""
    import nrrd
    header = {
        "dimension": 3, "space": "left-posterior-superior",
        "space directions": matrix[:3, :3].T.copy(), "space origin": matrix[:3, 3].copy(),
        "kinds": ["domain", "domain", "domain"],
        "encoding": "gzip" if compress else "raw",
    }
    nrrd.write(path, array, header, compression_level=1)


# --- NIfTI ----------------------------------------------------------------------------------

def read_nifti(path: Path):
    import nibabel as nib
    _check_voxel_size(path)
    img = nib.load(str(path))
    data = np.asanyarray(img.dataobj)
    while data.ndim > 3 and data.shape[-1] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise VoxelRearrangementError(f"{path}: expected a 3D mask, found shape {data.shape}")
    return data, LPS_TO_RAS @ np.asarray(img.affine, dtype=np.float64)


def _check_voxel_size(path: Path) -> None:
    """An error when a NIfTI file's header gives a voxel size of 0 and no sform (read raw,
    before nibabel, which would silently take 1 mm)."""
    import gzip
    import struct
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as f:
        head = f.read(348)
    if len(head) == 348:
        order = "<" if struct.unpack("<i", head[:4])[0] == 348 else ">"
        pixdim = struct.unpack(order + "8f", head[76:108])[1:4]
        sform_code = struct.unpack(order + "h", head[254:256])[0]
        if sform_code == 0 and min(pixdim) <= 0:
            raise VoxelRearrangementError(
                f"{path}: the NIfTI header gives a voxel size of {list(pixdim)} mm; a voxel "
                "size must be positive")


def write_nifti(path: str, array: np.ndarray, matrix: np.ndarray) -> None:
    import nibabel as nib
    affine = LPS_TO_RAS @ matrix
    img = nib.Nifti1Image(array, affine)
    img.set_sform(affine, code=1)  # the sform keeps shear exactly; the qform is a rigid fit
    img.set_qform(affine, code=1)
    nib.save(img, path)


# --- values ---------------------------------------------------------------------------------

def _binarize(data: np.ndarray, path: Path) -> np.ndarray:
    """uint8 0/1 array from a labelmap of at most one non-zero value."""
    if data.dtype == bool:
        return data.astype(np.uint8)
    if not np.issubdtype(data.dtype, np.number) or np.issubdtype(data.dtype, np.complexfloating):
        raise VoxelRearrangementError(f"{path}: voxel type {data.dtype} is not numeric")
    if np.issubdtype(data.dtype, np.integer) and data.size:
        low, high = _min_max(data.reshape(-1, order="A"))
        if low >= 0 and high <= 1:  # already 0/1 (the usual case): one pass, at most one copy
            owned = data.dtype == np.uint8 and not isinstance(data, np.memmap)
            return data if owned else data.astype(np.uint8)
    nonzero = data != 0
    values = data[nonzero]
    if values.size:
        first = values.flat[0]
        if np.any(values != first):
            other = values[values != first].flat[0]
            raise VoxelRearrangementError(
                f"{path}: not a binary mask (it holds {first}, {other} and maybe more values "
                "besides 0); give a single-label mask or choose a segment")
    return nonzero.astype(np.uint8)


@njit(cache=True, nogil=True)
def _min_max(flat):
    low = flat[0]
    high = flat[0]
    for v in flat:
        if v < low:
            low = v
        elif v > high:
            high = v
    return low, high


# --- probabilities --------------------------------------------------------------------------

def write_probability(path: PathLike, probability: np.ndarray, ijk_to_lps: np.ndarray,
                      compress: bool = True) -> Path:
    """Write a float32 probability map (axes i, j, k) as NRRD with its LPS geometry, atomically
    (gzip, or raw with ``compress=False``)."""
    import nrrd

    path = Path(path)
    if not path.name.lower().endswith(".nrrd"):
        raise VoxelRearrangementError(f"{path}: probabilities are written as .nrrd")
    with atomic_output(path, ".nrrd") as tmp:
        nrrd.write(tmp, np.ascontiguousarray(probability, dtype=np.float32),
                   {"space": "left-posterior-superior", "kinds": ["domain"] * 3,
                    "space directions": ijk_to_lps[:3, :3].T.copy(),
                    "space origin": ijk_to_lps[:3, 3].copy(),
                    "encoding": "gzip" if compress else "raw"},
                   compression_level=1)
    return path
