"""Read and write scalar images (a head CT in Hounsfield units) with their full geometry:
NRRD (``.nrrd``, ``.nhdr``) and NIfTI (``.nii``, ``.nii.gz``), LPS inside the library as for
masks (:mod:`.masks`); a DICOM series is loaded in 3D Slicer (or converted to NRRD first)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Union

import numpy as np

from .._shared.arrays import fortran_order
from .._shared.atomic import atomic_output
from .._shared.errors import VoxelRearrangementError
from ..grids.geometry import Image
from .masks import existing, mask_format, read_nifti, read_nrrd, write_nifti

PathLike = Union[str, os.PathLike]


def read_image(path: PathLike) -> Image:
    """Read a 3D scalar image (any real voxel type; NRRD or NIfTI)."""
    path, fmt = existing(path)
    if fmt == "seg.nrrd":
        raise VoxelRearrangementError(f"{path}: a segmentation, not an image (give the CT volume)")
    try:
        data, matrix = read_nifti(path) if fmt == "nifti" else read_nrrd(path, None)
    except VoxelRearrangementError:
        raise
    except Exception as exc:
        raise VoxelRearrangementError(f"{path}: cannot read it as {fmt} ({exc})") from exc
    return Image(np.asarray(data), matrix)


def write_image(path: PathLike, image: Image, compress: bool = True) -> Path:
    """Write ``image`` (its own voxel type) to ``path`` atomically, NRRD or NIfTI by name."""
    import nrrd
    path = Path(path)
    fmt = mask_format(path)
    if fmt == "seg.nrrd":
        raise VoxelRearrangementError(f"{path}: write an image as .nrrd or .nii[.gz], not .seg.nrrd")
    suffix = ".nii.gz" if path.name.lower().endswith(".gz") else (".nii" if fmt == "nifti" else ".nrrd")
    array = fortran_order(image.array)
    m = image.ijk_to_lps
    with atomic_output(path, suffix) as tmp:
        if fmt == "nifti":
            write_nifti(tmp, array, m)
        else:
            nrrd.write(tmp, array, {"space": "left-posterior-superior", "kinds": ["domain"] * 3,
                                    "space directions": m[:3, :3].T.copy(),
                                    "space origin": m[:3, 3].copy(),
                                    "encoding": "gzip" if compress else "raw"},
                       compression_level=1)
    return path
