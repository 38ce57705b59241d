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
from .masks import existing, mask_format, read_volume, write_nifti, write_nrrd

PathLike = Union[str, os.PathLike]


def read_image(path: PathLike) -> Image:
    """Read a 3D scalar image (any real voxel type; NRRD or NIfTI)."""
    path, fmt = existing(path)
    if fmt == "seg.nrrd":
        raise VoxelRearrangementError(f"{path}: a segmentation, not an image (give the CT volume)")
    data, matrix = read_volume(path, fmt)
    return Image(np.asarray(data), matrix)


def write_image(path: PathLike, image: Image, compress: bool = True) -> Path:
    """Write ``image`` (its own voxel type) to ``path`` atomically, NRRD or NIfTI by name."""
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
            write_nrrd(tmp, array, m, compress)
    return path
