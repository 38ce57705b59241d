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
from numba import njit

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
        elif fmt == "ply":
            _write_ply(tmp, Mesh(vertices, mesh.faces), space)
        else:
            _write_stl(tmp, Mesh(vertices, mesh.faces), space)
    return path


def _write_stl(path: str, mesh: Mesh, space: str) -> None:
    """Binary STL: an 80-byte header (``SPACE=...``, as Slicer writes it), the triangle
    count and one 50-byte record per triangle: unit normal and corners (float32), then an
    empty attribute word."""
    records = np.zeros((mesh.triangle_count, 25), dtype=np.uint16)  # 25 words = 50 bytes
    records[:, :24] = _stl_values(mesh.vertices, mesh.faces).view(np.uint16)
    header = f"VoxelRearrangement output. SPACE={space}".encode().ljust(80, b" ")
    with open(path, "wb") as f:
        f.write(header)
        f.write(np.uint32(mesh.triangle_count).tobytes())
        records.tofile(f)


@njit(cache=True, nogil=True)
def _stl_values(vertices, faces):
    """(faces, 12) float32: unit normal (zero for a degenerate face), then the three corners."""
    out = np.zeros((faces.shape[0], 12), dtype=np.float32)
    for f in range(faces.shape[0]):
        a, b, c = vertices[faces[f, 0]], vertices[faces[f, 1]], vertices[faces[f, 2]]
        u0, u1, u2 = b[0] - a[0], b[1] - a[1], b[2] - a[2]
        v0, v1, v2 = c[0] - a[0], c[1] - a[1], c[2] - a[2]
        n0, n1, n2 = u1 * v2 - u2 * v1, u2 * v0 - u0 * v2, u0 * v1 - u1 * v0
        length = np.sqrt(n0 * n0 + n1 * n1 + n2 * n2)
        if length > 0:
            out[f, 0], out[f, 1], out[f, 2] = n0 / length, n1 / length, n2 / length
        for corner in range(3):
            for axis in range(3):
                out[f, 3 + 3 * corner + axis] = vertices[faces[f, corner], axis]
    return out


def _write_ply(path: str, mesh: Mesh, space: str) -> None:
    from vtkmodules.vtkIOPLY import vtkPLYWriter
    writer = vtkPLYWriter()
    writer.AddComment(f"SPACE={space}")
    writer.SetFileTypeToBinary()
    writer.SetInputData(mesh_to_polydata(mesh))
    writer.SetFileName(path)
    if not writer.Write():
        raise VoxelRearrangementError(f"{path}: writing the PLY file failed")


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
