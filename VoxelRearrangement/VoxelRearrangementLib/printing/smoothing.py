"""Windowed-sinc smoothing of a triangle mesh (Taubin, Zhang and Golub 1996), compiled.

The same filter as VTK's ``vtkWindowedSincPolyDataFilter`` (the versions that offer a choice
of window, e.g. 9.6, whose default is Nuttall's; 9.3 has only a Hamming window) with the settings
this package (and Slicer's closed-surface recipe) uses: Nuttall window, coordinates
normalised into the unit cube while smoothing, non-manifold edges smoothed (every use of such
an edge counted), no feature-edge smoothing (:func:`vtk_windowed_sinc` is that VTK filter, for
comparison). Written here because the filter is most of the time of ``evaluate`` (the
roughness metric) and of the skull's mesh in ``run``: the per-vertex stencils are built once
in compiled code and the iterations are split over threads that release the GIL. The
vertices agree with VTK 9.6's to 1e-13 mm on the bundled skull (the tests compare both on
closed, open and non-manifold meshes).

Stencil of a vertex (its neighbours along mesh edges, in ascending order): every neighbour,
weighted by the number of faces that use the edge to it, when no edge at the vertex is a
boundary edge (used by one face); the two boundary neighbours when the vertex has exactly two
boundary edges, no non-manifold edge (used by more than two faces) and a turn of at most
:data:`EDGE_ANGLE_DEG` between them (VTK smooths such boundaries even with its
``BoundarySmoothingOff`` once non-manifold smoothing is on); otherwise the vertex does not
move (apart from the filter's gain at zero frequency, as in VTK).
"""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

import numpy as np
from numba import njit

from .._shared.cores import usable_cores
from .._shared.errors import VoxelRearrangementError
from .._shared.sections import sections

#: A vertex on a boundary is fixed where its two boundary edges turn by more than this.
EDGE_ANGLE_DEG = 15.0
#: A vertex with this many edge uses or more is fixed (VTK's limit; VTK also wraps stencils
#: of more than 255 uses around, which this filter does not).
MAX_EDGE_USES = 510
_MIN_VERTICES_PER_THREAD = 50_000


def windowed_sinc(vertices: np.ndarray, faces: np.ndarray, iterations: int, pass_band: float,
                  threads: Optional[int] = None) -> np.ndarray:
    """Smoothed copy of ``vertices`` (N x 3, mm) of the triangle mesh ``faces`` (M x 3 vertex
    indices): ``iterations`` Chebyshev terms of a windowed sinc low-pass filter with pass band
    ``pass_band`` (in (0, 2]; smaller is smoother), non-shrinking from 2 iterations on. The
    result does not depend on ``threads`` (default: the usable cores, at most 8)."""
    vertices = np.ascontiguousarray(vertices, dtype=np.float64).reshape(-1, 3)
    faces = np.ascontiguousarray(faces, dtype=np.int64).reshape(-1, 3)
    if faces.size and (faces.min() < 0 or faces.max() >= len(vertices)):
        raise VoxelRearrangementError("a mesh face refers to a vertex that does not exist")
    if iterations <= 0 or len(vertices) == 0 or len(faces) == 0:
        return vertices.copy()
    offsets, neighbours = _stencils(vertices, faces, math.cos(math.radians(EDGE_ANGLE_DEG)))
    lo, hi = vertices.min(axis=0), vertices.max(axis=0)
    center = (hi + lo) / 2.0
    length = float(np.sqrt(np.sum((hi - lo) ** 2)))
    length = length if length > 0 else 1.0
    c = chebyshev_coefficients(iterations, pass_band)
    x0 = (vertices - center) / length
    x1, x2, out = np.empty_like(x0), np.empty_like(x0), np.empty_like(x0)
    n = len(vertices)
    threads = max(1, min(threads or min(8, usable_cores()), n // _MIN_VERTICES_PER_THREAD))
    parts = list(sections(n, threads))
    with ThreadPoolExecutor(max_workers=len(parts)) as pool:
        def each_range(kernel, *args):
            list(pool.map(lambda p: kernel(*args, p.start, p.stop), parts))

        each_range(_first_term, x0, x1, out, offsets, neighbours, c[0], c[1])
        previous, current, following = x0, x1, x2
        for k in range(2, iterations + 1):
            each_range(_next_term, previous, current, following, out, offsets, neighbours, c[k])
            previous, current, following = current, following, previous
    out *= length
    out += center
    return out


def chebyshev_coefficients(iterations: int, pass_band: float) -> np.ndarray:
    """The ``iterations + 1`` Chebyshev coefficients of the Nuttall-windowed sinc filter,
    its cut-off moved (Newton's method, at most 500 steps, as in VTK) until its response at the
    pass band is 1 to 1e-3. With 1 iteration there is no search (VTK's choice: the mesh then
    shrinks); for very few iterations the search is chaotic and the coefficients may differ
    from VTK's in the 4th digit; from about 10 on they agree to rounding."""
    n = int(iterations)
    if n < 1:
        raise VoxelRearrangementError(f"windowed-sinc smoothing needs at least 1 iteration, not {n}")
    cos_pb = 1.0 - 0.5 * pass_band
    theta = math.acos(cos_pb)
    i = np.arange(n + 1, dtype=np.float64)
    phase = i * math.pi / (n + 1)
    window = 0.355768 + 0.487396 * np.cos(phase) + 0.144232 * np.cos(2 * phase) + 0.012604 * np.cos(3 * phase)
    at_pass_band = np.cos(i * theta)
    at_pass_band[1] = cos_pb
    sigma = 0.0
    for _ in range(500):
        c = np.empty(n + 1)
        c[0] = window[0] * (theta + sigma) / math.pi
        c[1:] = 2.0 * window[1:] * np.sin(i[1:] * (theta + sigma)) / (i[1:] * math.pi)
        if n <= 1:
            break
        derivative = np.zeros(n + 1)  # Chebyshev coefficients of the filter's derivative
        derivative[n - 2] = 2.0 * (n - 1) * c[n - 1]
        for j in range(n - 3, -1, -1):
            derivative[j] = derivative[j + 2] + 2.0 * (j + 1) * c[j + 1]
        response = float(c @ at_pass_band)
        if abs(response - 1.0) < 1e-3:
            break
        sigma -= (response - 1.0) / float(derivative @ at_pass_band)
    return c


def vtk_windowed_sinc(vertices: np.ndarray, faces: np.ndarray, iterations: int,
                      pass_band: float) -> np.ndarray:
    """The same smoothing by VTK's own filter (the reference this module reproduces; tests
    and the speed benchmark compare the two): the smoothed vertices (N x 3, mm)."""
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkFiltersCore import vtkWindowedSincPolyDataFilter

    from .meshing import Mesh, mesh_to_polydata, use_vtk_threads
    use_vtk_threads()
    f = vtkWindowedSincPolyDataFilter()
    if not hasattr(f, "SetWindowFunctionToNuttall"):
        from vtkmodules.vtkCommonCore import vtkVersion
        raise VoxelRearrangementError(
            f"VTK {vtkVersion.GetVTKVersion()} smooths with a Hamming window only: it is not "
            "the filter this module reproduces (VTK with SetWindowFunction, e.g. 9.6)")
    f.SetInputData(mesh_to_polydata(Mesh(vertices, faces)))
    f.SetNumberOfIterations(iterations)
    f.SetPassBand(pass_band)
    f.SetWindowFunctionToNuttall()
    f.BoundarySmoothingOff()
    f.FeatureEdgeSmoothingOff()
    f.NonManifoldSmoothingOn()
    f.NormalizeCoordinatesOn()
    f.Update()
    return vtk_to_numpy(f.GetOutput().GetPoints().GetData()).astype(np.float64)


@njit(cache=True, nogil=True)
def _stencils(vertices, faces, cos_edge_angle):
    """CSR stencils ``(offsets (N + 1), neighbours)`` of every vertex (module docstring)."""
    n = vertices.shape[0]
    starts = np.zeros(n + 1, np.int64)
    for f in range(faces.shape[0]):
        for j in range(3):
            starts[faces[f, j] + 1] += 2
    for p in range(n):
        starts[p + 1] += starts[p]
    fill = starts[:-1].copy()
    uses = np.empty(starts[n], np.int64)  # per vertex: both neighbours along each of its faces
    for f in range(faces.shape[0]):
        for j in range(3):
            p = faces[f, j]
            uses[fill[p]] = faces[f, (j + 2) % 3]
            uses[fill[p] + 1] = faces[f, (j + 1) % 3]
            fill[p] += 2
    size = np.zeros(n, np.int64)
    for p in range(n):
        a, m = starts[p], starts[p + 1] - starts[p]
        if m >= MAX_EDGE_USES:
            continue
        for i in range(a + 1, a + m):  # insertion sort: a handful of neighbours
            v = uses[i]
            k = i - 1
            while k >= a and uses[k] > v:
                uses[k + 1] = uses[k]
                k -= 1
            uses[k + 1] = v
        n_boundary, n_nonmanifold = 0, 0
        b0, b1 = -1, -1
        fixed = False
        s = 0
        while s < m:  # the uses of one edge are consecutive once sorted
            t = s + 1
            while t < m and uses[a + t] == uses[a + s]:
                t += 1
            if t - s == 1:  # a boundary edge
                if n_boundary == 2:
                    fixed = True
                    break
                if n_boundary == 0:
                    b0 = uses[a + s]
                else:
                    b1 = uses[a + s]
                n_boundary += 1
            elif t - s > 2:
                n_nonmanifold += 1
            s = t
        if fixed:
            continue
        if n_boundary == 0 and n_nonmanifold == 0:  # each neighbour twice: once is the same mean
            for j in range(m // 2):
                uses[a + j] = uses[a + 2 * j]
            size[p] = m // 2
        elif n_boundary == 0:  # every use of every edge
            size[p] = m
        elif n_boundary == 2 and n_nonmanifold == 0 and not _turns(vertices, b0, p, b1,
                                                                   cos_edge_angle):
            uses[a] = b0
            uses[a + 1] = b1
            size[p] = 2
    offsets = np.zeros(n + 1, np.int64)
    for p in range(n):
        offsets[p + 1] = offsets[p] + size[p]
    neighbours = np.empty(offsets[n], np.int32)
    for p in range(n):
        for j in range(size[p]):
            neighbours[offsets[p] + j] = uses[starts[p] + j]
    return offsets, neighbours


@njit(cache=True, nogil=True)
def _turns(vertices, a, p, b, cos_edge_angle):
    """True when the path a -> p -> b turns by more than the edge angle (or has a null edge)."""
    u = vertices[p] - vertices[a]
    v = vertices[b] - vertices[p]
    nu = np.sqrt((u * u).sum())
    nv = np.sqrt((v * v).sum())
    if nu > 0:
        u = u / nu
    if nv > 0:
        v = v / nv
    return (u * v).sum() < cos_edge_angle


@njit(cache=True, nogil=True, inline="always")
def _umbrella(x, p, offsets, neighbours):
    """The umbrella operator at vertex p: x[p] minus the mean of its stencil (0 without one)."""
    a, b = offsets[p], offsets[p + 1]
    d0 = d1 = d2 = 0.0
    for j in range(a, b):
        q = neighbours[j]
        d0 += x[p, 0] - x[q, 0]
        d1 += x[p, 1] - x[q, 1]
        d2 += x[p, 2] - x[q, 2]
    if b > a:
        d0 /= b - a
        d1 /= b - a
        d2 /= b - a
    return d0, d1, d2


@njit(cache=True, nogil=True)
def _first_term(x0, x1, out, offsets, neighbours, c0, c1, lo, hi):
    """x1 = x0 - L(x0) / 2 and out = c0 x0 + c1 x1 for vertices lo:hi (L: :func:`_umbrella`)."""
    for p in range(lo, hi):
        d = _umbrella(x0, p, offsets, neighbours)
        for k in range(3):
            x1[p, k] = x0[p, k] - 0.5 * d[k]
            out[p, k] = c0 * x0[p, k] + c1 * x1[p, k]


@njit(cache=True, nogil=True)
def _next_term(previous, current, following, out, offsets, neighbours, ck, lo, hi):
    """The Chebyshev recurrence x_k = 2 x_{k-1} - x_{k-2} - L(x_{k-1}), and out += ck x_k,
    for vertices lo:hi."""
    for p in range(lo, hi):
        d = _umbrella(current, p, offsets, neighbours)
        for k in range(3):
            x = current[p, k] - previous[p, k] + current[p, k] - d[k]
            following[p, k] = x
            out[p, k] += ck * x
