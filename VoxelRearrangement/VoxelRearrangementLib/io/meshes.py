"""Write and read triangle meshes: binary STL (default), binary PLY and OBJ.

Files are in millimetres and carry their world convention the way 3D Slicer writes it: the
STL header holds ``SPACE=LPS`` (or ``SPACE=RAS``), PLY a ``SPACE=...`` comment, OBJ a
``# SPACE=...`` first line; Slicer reads these and puts the model where the CT is. Writing
is atomic (a temporary file in the same folder is renamed over the target once complete).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Union

import numpy as np

from .._shared.errors import VoxelRearrangementError
from ..grids.geometry import LPS_TO_RAS
from ..printing.meshing import Mesh, mesh_to_polydata, polydata_to_arrays
from .masks import atomic_output

PathLike = Union[str, os.PathLike]

MESH_SUFFIXES = (".stl", ".ply", ".obj")
SPACES = ("LPS", "RAS")


def mesh_format(path: PathLike) -> str:
    """``'stl'``, ``'ply'`` or ``'obj'`` from the file name; error for anything else."""
    suffix = Path(path).suffix.lower()
    if suffix not in MESH_SUFFIXES:
        raise VoxelRearrangementError(f"{path}: unknown mesh format (use .stl, .ply or .obj)")
    return suffix[1:]


def write_mesh(path: PathLike, mesh: Mesh, space: str = "LPS") -> Path:
    """Write ``mesh`` (LPS mm) to ``path`` (format from the suffix), converted to ``space``
    (``'LPS'``, the default and Slicer's convention for files, or ``'RAS'``)."""
    fmt = mesh_format(path)
    space = space.upper()
    if space not in SPACES:
        raise VoxelRearrangementError(f"unknown world convention '{space}' (use LPS or RAS)")
    if mesh.triangle_count == 0:
        raise VoxelRearrangementError(f"{path}: the mesh is empty, nothing to write")
    path = Path(path)
    vertices = mesh.vertices if space == "LPS" else mesh.vertices * LPS_TO_RAS.diagonal()[:3]
    with atomic_output(path, "." + fmt) as tmp:
        if fmt == "obj":
            _write_obj(tmp, vertices, mesh.faces, space)
        else:
            _write_vtk(tmp, fmt, Mesh(vertices, mesh.faces), space)
    return path


def _write_vtk(path: str, fmt: str, mesh: Mesh, space: str) -> None:
    if fmt == "stl":
        from vtkmodules.vtkIOGeometry import vtkSTLWriter
        writer = vtkSTLWriter()
        writer.SetHeader(f"VoxelRearrangement output. SPACE={space}")
    else:
        from vtkmodules.vtkIOPLY import vtkPLYWriter
        writer = vtkPLYWriter()
        writer.AddComment(f"SPACE={space}")
    writer.SetFileTypeToBinary()
    writer.SetInputData(mesh_to_polydata(mesh))
    writer.SetFileName(path)
    if not writer.Write():
        raise VoxelRearrangementError(f"{path}: writing the {fmt.upper()} file failed")


def _write_obj(path: str, vertices: np.ndarray, faces: np.ndarray, space: str) -> None:
    with open(path, "w") as f:
        f.write(f"# SPACE={space}\n# VoxelRearrangement output, millimetres\n")
        np.savetxt(f, vertices, fmt="v %.6f %.6f %.6f")
        np.savetxt(f, faces + 1, fmt="f %d %d %d")


def read_mesh(path: PathLike) -> Mesh:
    """Read a triangle mesh written by :func:`write_mesh` (or Slicer) as LPS mm; a file that
    says ``SPACE=RAS`` is converted, one that says nothing is taken as LPS. Coincident STL
    vertices are merged, so the topology of the file can be checked."""
    path = Path(path)
    fmt = mesh_format(path)
    if not path.is_file():
        raise VoxelRearrangementError(f"{path}: no such file")
    if fmt == "stl":
        from vtkmodules.vtkIOGeometry import vtkSTLReader
        reader = vtkSTLReader()
        reader.MergingOn()
    elif fmt == "ply":
        from vtkmodules.vtkIOPLY import vtkPLYReader
        reader = vtkPLYReader()
    else:
        from vtkmodules.vtkIOGeometry import vtkOBJReader
        reader = vtkOBJReader()
    reader.SetFileName(str(path))
    reader.Update()
    poly = reader.GetOutput()
    if poly.GetNumberOfPolys() == 0:
        raise VoxelRearrangementError(f"{path}: holds no triangles (corrupt or not a {fmt.upper()} file?)")
    vertices, faces = polydata_to_arrays(poly)
    if _file_space(path, fmt, reader) == "RAS":
        vertices = vertices * LPS_TO_RAS.diagonal()[:3]
    return Mesh(vertices, faces)


def _file_space(path: Path, fmt: str, reader) -> str:
    """The ``SPACE=`` tag of a mesh file (``'LPS'`` when absent)."""
    if fmt == "stl":
        text = reader.GetHeader() or ""
    elif fmt == "ply":
        comments = reader.GetComments()
        text = " ".join(comments.GetValue(i) for i in range(comments.GetNumberOfValues()))
    else:
        text = reader.GetComment() or ""
    return "RAS" if "SPACE=RAS" in text.upper() else "LPS"
