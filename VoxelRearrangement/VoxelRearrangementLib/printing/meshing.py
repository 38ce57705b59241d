"""Binary mask to a closed triangle mesh in world LPS millimetres.

World convention: vertices are LPS millimetres (as NRRD, DICOM and Slicer files), obtained
by mapping the index-space surface through the mask's full 4 x 4 ``ijk_to_lps`` matrix, so
sheared, rotated and flipped grids land exactly where the CT is. The surface is the 0.5
iso-surface of the binary volume (VTK flying edges, i.e. marching cubes), extracted from the
volume cropped to the foreground and padded with one background voxel on every side so that
every surface closes. Faces are oriented with outward normals (counter-clockwise seen from
outside; the inner wall of a cavity faces into the cavity).

Optional smoothing is the windowed-sinc filter (:mod:`.smoothing`, VTK's filter compiled
here), which does not shrink the shape (Slicer's closed-surface recipe: 20 iterations, pass
band ``10 ** (-4 * smoothing)``), run on world coordinates so anisotropic voxels are smoothed
isotropically in millimetres. Optional decimation (:mod:`.decimate`) keeps the mesh watertight
and within 0.1 mm of the surface.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
from numba import njit

from .._shared.arrays import foreground_bounds
from .._shared.bounds import check
from .._shared.errors import VoxelRearrangementError
from .._shared.progress import CancelCallback, ProgressCallback, Stage
from ..grids.geometry import Mask, binary
from .smoothing import windowed_sinc

#: Default smoothing strength (Slicer's default for closed surfaces), in [0, 1].
DEFAULT_SMOOTHING = 0.5
#: Windowed-sinc iterations of the mesh smoothing (Slicer's closed-surface recipe).
SMOOTHING_ITERATIONS = 20

_CHUNK = 1 << 19  # faces per chunk in face-wise computations (bounds temporary memory)


@dataclass
class Mesh:
    """A triangle mesh: ``vertices`` (N x 3 float64, LPS mm) and ``faces`` (M x 3 int64 vertex
    indices, counter-clockwise seen from outside). ``grid_matrix`` is the 4 x 4 IJK-to-LPS
    matrix of the voxel grid the mesh was made from (None for a mesh read from a file); it
    defines the voxel axes of the staircase index."""

    vertices: np.ndarray
    faces: np.ndarray
    grid_matrix: Optional[np.ndarray] = None

    def __post_init__(self) -> None:
        self.vertices = np.asarray(self.vertices, dtype=np.float64).reshape(-1, 3)
        self.faces = np.asarray(self.faces, dtype=np.int64).reshape(-1, 3)
        if self.faces.size and (self.faces.min() < 0 or self.faces.max() >= len(self.vertices)):
            raise VoxelRearrangementError("a mesh face refers to a vertex that does not exist")

    @property
    def triangle_count(self) -> int:
        return int(len(self.faces))

    def face_corners(self, start: int = 0, stop: Optional[int] = None
                     ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The three corners (each M x 3, mm) of faces ``start:stop`` (all by default)."""
        f = self.faces[start:stop]
        v = self.vertices
        return v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]

    def face_normals(self, start: int = 0, stop: Optional[int] = None) -> np.ndarray:
        """Un-normalised normals (M x 3) of faces ``start:stop``; length = twice the area (mm^2)."""
        a, b, c = self.face_corners(start, stop)
        b -= a
        c -= a
        return np.cross(b, c)

    def face_areas(self) -> np.ndarray:
        """Area of every face in mm^2."""
        return _face_measures(self.vertices, self.faces)[0]

    def face_signed_volumes(self) -> np.ndarray:
        """Each face's contribution (mm^3) to the enclosed volume (its tetrahedron with the
        origin; divergence theorem)."""
        return _face_measures(self.vertices, self.faces)[1]

    def signed_volume_mm3(self) -> float:
        """Enclosed volume in mm^3 (positive for outward normals)."""
        return float(self.face_signed_volumes().sum())

    def flipped(self) -> "Mesh":
        """The same surface with every face's orientation reversed."""
        return Mesh(self.vertices, self.faces[:, ::-1].copy(), self.grid_matrix)


@njit(cache=True, nogil=True)
def _face_measures(vertices, faces):
    """(area mm^2, signed volume mm^3 of the tetrahedron with the origin) of every face."""
    n = faces.shape[0]
    areas = np.empty(n)
    volumes = np.empty(n)
    for f in range(n):
        a, b, c = vertices[faces[f, 0]], vertices[faces[f, 1]], vertices[faces[f, 2]]
        u0, u1, u2 = b[0] - a[0], b[1] - a[1], b[2] - a[2]
        v0, v1, v2 = c[0] - a[0], c[1] - a[1], c[2] - a[2]
        n0, n1, n2 = u1 * v2 - u2 * v1, u2 * v0 - u0 * v2, u0 * v1 - u1 * v0
        areas[f] = 0.5 * np.sqrt(n0 * n0 + n1 * n1 + n2 * n2)
        volumes[f] = (a[0] * (b[1] * c[2] - b[2] * c[1]) + a[1] * (b[2] * c[0] - b[0] * c[2])
                      + a[2] * (b[0] * c[1] - b[1] * c[0])) / 6.0
    return areas, volumes


def mask_to_mesh(mask: Mask, smoothing: float = DEFAULT_SMOOTHING, decimate: float = 0.0,
                 progress: Optional[ProgressCallback] = None,
                 cancel: Optional[CancelCallback] = None) -> Mesh:
    """Closed triangle mesh (LPS mm, outward normals) of the foreground of ``mask``.

    ``smoothing`` in [0, 1]: 0 keeps the raw marching-cubes surface, 0.5 is Slicer's default,
    1 is very strong (windowed sinc, non-shrinking). ``decimate`` in [0, 1): the fraction of
    triangles to remove (:func:`.decimate.decimated`: at most, since no collapse moves the
    surface beyond 0.1 mm; the mesh stays watertight); 0 keeps all.
    Several disconnected pieces are all kept (see ``printability.mesh_components``).
    """
    smoothing = check("smoothing", smoothing)
    decimate = check("decimate", decimate)
    mask = binary(mask, "the mask")
    stage = Stage(progress, cancel)
    stage.report(0.0, "extracting the surface")
    vertices, faces = polydata_to_arrays(iso_surface(mask))
    stage.report(0.4, "surface extracted")
    if smoothing > 0:
        vertices = windowed_sinc(vertices, faces, SMOOTHING_ITERATIONS, 10.0 ** (-4.0 * smoothing))
        stage.report(0.75, "surface smoothed")
    mesh = Mesh(vertices, faces, np.array(mask.ijk_to_lps, dtype=np.float64))
    if mesh.signed_volume_mm3() < 0:
        mesh = mesh.flipped()
    if decimate > 0:
        from .decimate import decimated
        mesh = decimated(mesh, int(round((1.0 - decimate) * mesh.triangle_count)))
        stage.report(0.95, "surface decimated")
    stage.report(1.0, f"mesh of {mesh.triangle_count} triangles")
    return mesh


@functools.lru_cache(maxsize=None)
def use_vtk_threads() -> None:
    """Let VTK's filters (flying edges) run on every core. VTK's Python wheels start with the
    sequential backend of ``vtkSMPTools``; its STDThread backend gives the same meshes
    (identical points and faces, measured on the sample) about twice as fast on 2 cores. A
    backend chosen by the host (3D Slicer sets its own) or by the ``VTK_SMP_BACKEND_IN_USE``
    environment variable is left as it is (checked once)."""
    import os

    from vtkmodules.vtkCommonCore import vtkSMPTools
    if "VTK_SMP_BACKEND_IN_USE" not in os.environ and vtkSMPTools.GetBackend() == "Sequential":
        vtkSMPTools.SetBackend("STDThread")


def iso_surface(mask: Mask):
    """vtkPolyData of the 0.5 iso-surface of ``mask`` with world (LPS mm) points: the raw
    surface that is printed (and that the metrics score)."""
    from vtkmodules.util import numpy_support
    from vtkmodules.vtkCommonCore import VTK_UNSIGNED_CHAR, vtkPoints
    from vtkmodules.vtkCommonDataModel import vtkImageData, vtkPolyData
    from vtkmodules.vtkFiltersCore import vtkFlyingEdges3D

    use_vtk_threads()
    arr = mask.array
    bounds = foreground_bounds(arr)
    if bounds is None:
        raise VoxelRearrangementError("the mask is empty: there is no surface to mesh")
    lo, hi = bounds
    crop = arr[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
    padded = np.zeros(tuple(hi - lo + 2), dtype=np.uint8, order="F")
    np.not_equal(crop, 0, out=padded[1:-1, 1:-1, 1:-1], casting="unsafe")
    image = vtkImageData()
    image.SetDimensions(*padded.shape)  # i fastest, as vtk expects: Fortran order
    scalars = numpy_support.numpy_to_vtk(padded.ravel(order="F"), deep=False,
                                         array_type=VTK_UNSIGNED_CHAR)
    image.GetPointData().SetScalars(scalars)
    fe = vtkFlyingEdges3D()
    fe.SetInputData(image)
    fe.SetValue(0, 0.5)
    fe.ComputeNormalsOff()
    fe.ComputeGradientsOff()
    fe.ComputeScalarsOff()
    fe.InterpolateAttributesOff()
    fe.Update()
    poly = fe.GetOutput()
    # index of the padded volume -> index of the mask -> LPS mm (any affine, shear included)
    m = np.asarray(mask.ijk_to_lps, dtype=np.float64)
    shift = lo - 1.0
    world = numpy_support.vtk_to_numpy(poly.GetPoints().GetData()).astype(np.float64)
    world += shift
    world = world @ m[:3, :3].T
    world += m[:3, 3]
    out = vtkPolyData()
    points = vtkPoints()
    points.SetData(numpy_support.numpy_to_vtk(world, deep=True))
    out.SetPoints(points)
    out.SetPolys(poly.GetPolys())
    return out


def polydata_to_arrays(poly) -> Tuple[np.ndarray, np.ndarray]:
    """``(vertices N x 3 float64, faces M x 3 int64)`` of a vtkPolyData made of triangles."""
    from vtkmodules.util import numpy_support
    if poly.GetNumberOfPoints() == 0:
        return np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64)
    vertices = numpy_support.vtk_to_numpy(poly.GetPoints().GetData()).astype(np.float64)
    polys = poly.GetPolys()
    offsets = numpy_support.vtk_to_numpy(polys.GetOffsetsArray())
    if np.any(np.diff(offsets) != 3):
        raise VoxelRearrangementError("the mesh has polygons other than triangles")
    faces = numpy_support.vtk_to_numpy(polys.GetConnectivityArray()).astype(np.int64, copy=False)
    return vertices, faces.reshape(-1, 3)


def arrays_to_polydata(vertices: np.ndarray, faces: np.ndarray):
    """vtkPolyData with the given vertices (N x 3) and triangles (M x 3)."""
    from vtkmodules.util import numpy_support
    from vtkmodules.vtkCommonCore import vtkPoints
    from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
    poly = vtkPolyData()
    points = vtkPoints()
    points.SetData(numpy_support.numpy_to_vtk(np.ascontiguousarray(vertices, dtype=np.float64),
                                              deep=True))
    poly.SetPoints(points)
    cells = vtkCellArray()
    offsets = np.arange(0, 3 * len(faces) + 1, 3, dtype=np.int64)
    cells.SetData(numpy_support.numpy_to_vtkIdTypeArray(offsets, deep=True),
                  numpy_support.numpy_to_vtkIdTypeArray(
                      np.ascontiguousarray(faces, dtype=np.int64).ravel(), deep=True))
    poly.SetPolys(cells)
    return poly


def mesh_to_polydata(mesh: Mesh):
    """vtkPolyData of ``mesh`` (for VTK filters and writers)."""
    return arrays_to_polydata(mesh.vertices, mesh.faces)
