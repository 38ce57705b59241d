"""The faces of a triangle mesh binned into a uniform grid of cells over its bounding box (a
face in every cell its bounding box overlaps), for exact queries that look at a few cells
only (numba, GIL released):

* distance (mm) from points to the surface: each point searches the cells around its own in
  growing cubes, skipping cells farther than the best distance found (closest point on each
  candidate triangle, by region), until nothing outside the searched cube can be nearer;
* first hit of rays: each ray walks the cells it crosses in order (Amanatides and Woo's
  traversal), testing their faces (Moeller-Trumbore), until a hit lies within the cells
  walked so far.
"""
from __future__ import annotations

import numpy as np
from numba import njit

#: Cells of the grid per face of the mesh, at most (bounds the grid's memory).
CELLS_PER_FACE = 1.0
#: Cell edge in mean triangle edges, at least.
CELL_EDGES = 2.0


class SurfaceGrid:
    """The grid of a mesh (``vertices`` N x 3 mm, ``faces`` M x 3), built here (~0.3 s for
    2.3 M triangles). A distance query near the surface (within a few cells, ~1 mm) costs a
    few microseconds, a far one much more (the cubes grow cell by cell; still exact)."""

    def __init__(self, vertices: np.ndarray, faces: np.ndarray) -> None:
        self.v = np.ascontiguousarray(vertices, dtype=np.float64)
        self.f = np.ascontiguousarray(faces, dtype=np.int64)
        if len(self.f) == 0:
            raise ValueError("cannot measure distances to a mesh without faces")
        self.lo = self.v.min(axis=0)
        extent = np.maximum(self.v.max(axis=0) - self.lo, 1e-9)
        sample = self.f[:: max(1, len(self.f) // 10000)]
        edge = float(np.linalg.norm(self.v[sample[:, 0]] - self.v[sample[:, 1]], axis=1).mean())
        cell = max(CELL_EDGES * edge, float(np.prod(extent) / (CELLS_PER_FACE * len(self.f))) ** (1 / 3))
        self.cell = max(cell, float(extent.max()) / 2048.0, 1e-9)
        self.dims = (np.floor(extent / self.cell).astype(np.int64) + 1)
        self.start, self.items = _bin_faces(self.v, self.f, self.lo, self.cell, self.dims)

    def distances(self, points: np.ndarray) -> np.ndarray:
        """Unsigned distances (mm) of ``points`` (K x 3, LPS mm) to the surface."""
        points = np.ascontiguousarray(points, dtype=np.float64).reshape(-1, 3)
        return _distances(points, self.v, self.f, self.lo, self.cell, self.dims, self.start,
                          self.items)

    def first_hits(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Where each segment ``starts[r] -> ends[r]`` (K x 3, mm) first meets the surface, as
        the fraction of its length (inf where it meets nothing)."""
        starts = np.ascontiguousarray(starts, dtype=np.float64).reshape(-1, 3)
        ends = np.ascontiguousarray(ends, dtype=np.float64).reshape(-1, 3)
        return _first_hits(starts, ends, self.v, self.f, self.lo, self.cell, self.dims,
                           self.start, self.items)


@njit(cache=True, nogil=True)
def _cell_range(lo, cell, dims, x0, x1, axis):
    a = int(np.floor((x0 - lo[axis]) / cell))
    b = int(np.floor((x1 - lo[axis]) / cell))
    return max(a, 0), min(b, dims[axis] - 1)


@njit(cache=True, nogil=True)
def _bin_faces(v, f, lo, cell, dims):
    """CSR lists of the faces in each cell (``start`` int64 of cells + 1, ``items`` int32)."""
    n_cells = dims[0] * dims[1] * dims[2]
    count = np.zeros(n_cells + 1, dtype=np.int64)
    for pass_ in range(2):
        if pass_ == 1:
            for c in range(n_cells):
                count[c + 1] += count[c]
            items = np.empty(count[n_cells], dtype=np.int32)
            fill = count[:n_cells].copy()
        for t in range(f.shape[0]):
            a, b, c = f[t, 0], f[t, 1], f[t, 2]
            i0, i1 = _cell_range(lo, cell, dims, min(v[a, 0], v[b, 0], v[c, 0]),
                                 max(v[a, 0], v[b, 0], v[c, 0]), 0)
            j0, j1 = _cell_range(lo, cell, dims, min(v[a, 1], v[b, 1], v[c, 1]),
                                 max(v[a, 1], v[b, 1], v[c, 1]), 1)
            k0, k1 = _cell_range(lo, cell, dims, min(v[a, 2], v[b, 2], v[c, 2]),
                                 max(v[a, 2], v[b, 2], v[c, 2]), 2)
            for i in range(i0, i1 + 1):
                for j in range(j0, j1 + 1):
                    for k in range(k0, k1 + 1):
                        idx = (i * dims[1] + j) * dims[2] + k
                        if pass_ == 0:
                            count[idx + 1] += 1
                        else:
                            items[fill[idx]] = t
                            fill[idx] += 1
    return count, items


@njit(cache=True, nogil=True)
def _box_gap2(p, lo, cell, i, j, k):
    """Squared distance from point ``p`` to cell ``(i, j, k)``."""
    d2 = 0.0
    for axis, n in ((0, i), (1, j), (2, k)):
        a = lo[axis] + n * cell
        b = a + cell
        if p[axis] < a:
            d2 += (a - p[axis]) ** 2
        elif p[axis] > b:
            d2 += (p[axis] - b) ** 2
    return d2


@njit(cache=True, nogil=True)
def _distances(points, v, f, lo, cell, dims, start, items):
    out = np.empty(points.shape[0])
    centre = np.empty(3, dtype=np.int64)
    for n in range(points.shape[0]):
        p = points[n]
        for axis in range(3):
            centre[axis] = min(max(int(np.floor((p[axis] - lo[axis]) / cell)), 0), dims[axis] - 1)
        best = np.inf
        r = 0
        while True:
            for i in range(max(centre[0] - r, 0), min(centre[0] + r, dims[0] - 1) + 1):
                for j in range(max(centre[1] - r, 0), min(centre[1] + r, dims[1] - 1) + 1):
                    for k in range(max(centre[2] - r, 0), min(centre[2] + r, dims[2] - 1) + 1):
                        if max(abs(i - centre[0]), abs(j - centre[1]), abs(k - centre[2])) != r:
                            continue  # searched in a smaller cube
                        if _box_gap2(p, lo, cell, i, j, k) >= best:
                            continue
                        idx = (i * dims[1] + j) * dims[2] + k
                        for e in range(start[idx], start[idx + 1]):
                            t = items[e]
                            a, b, c = f[t, 0], f[t, 1], f[t, 2]
                            d2 = point_triangle2(p[0], p[1], p[2], v[a, 0], v[a, 1], v[a, 2],
                                                 v[b, 0], v[b, 1], v[b, 2], v[c, 0], v[c, 1], v[c, 2])
                            if d2 < best:
                                best = d2
            # a face outside the searched cube lies wholly outside it: at least this far
            covers = True
            margin = np.inf
            for axis in range(3):
                a = centre[axis] - r
                b = centre[axis] + r + 1
                if a > 0:
                    covers = False
                    margin = min(margin, p[axis] - (lo[axis] + a * cell))
                if b < dims[axis]:
                    covers = False
                    margin = min(margin, lo[axis] + b * cell - p[axis])
            if covers or (margin > 0 and best <= margin * margin):
                break
            r += 1
        out[n] = np.sqrt(best)
    return out


@njit(cache=True, nogil=True)
def _ray_triangle(o, d, v, a, b, c):
    """Parameter t of the hit of the ray ``o + t d`` with triangle abc (inf: none); edges and
    corners count as hits (Moeller-Trumbore, double precision)."""
    e1x, e1y, e1z = v[b, 0] - v[a, 0], v[b, 1] - v[a, 1], v[b, 2] - v[a, 2]
    e2x, e2y, e2z = v[c, 0] - v[a, 0], v[c, 1] - v[a, 1], v[c, 2] - v[a, 2]
    px = d[1] * e2z - d[2] * e2y
    py = d[2] * e2x - d[0] * e2z
    pz = d[0] * e2y - d[1] * e2x
    det = e1x * px + e1y * py + e1z * pz
    if det == 0.0:
        return np.inf
    sx, sy, sz = o[0] - v[a, 0], o[1] - v[a, 1], o[2] - v[a, 2]
    u = (sx * px + sy * py + sz * pz) / det
    if u < 0.0 or u > 1.0:
        return np.inf
    qx = sy * e1z - sz * e1y
    qy = sz * e1x - sx * e1z
    qz = sx * e1y - sy * e1x
    w = (d[0] * qx + d[1] * qy + d[2] * qz) / det
    if w < 0.0 or u + w > 1.0:
        return np.inf
    t = (e2x * qx + e2y * qy + e2z * qz) / det
    return t if t >= 0.0 else np.inf


@njit(cache=True, nogil=True)
def _first_hits(starts, ends, v, f, lo, cell, dims, start, items):
    out = np.full(starts.shape[0], np.inf)
    d = np.empty(3)
    cur = np.empty(3, dtype=np.int64)
    step = np.empty(3, dtype=np.int64)
    t_max = np.empty(3)
    t_delta = np.empty(3)
    for r in range(starts.shape[0]):
        o = starts[r]
        for axis in range(3):
            d[axis] = ends[r, axis] - o[axis]
        # the part of the segment (t in [t0, t1] of [0, 1]) inside the grid's box
        t0, t1 = 0.0, 1.0
        for axis in range(3):
            a = lo[axis]
            b = lo[axis] + dims[axis] * cell
            if d[axis] == 0.0:
                if o[axis] < a or o[axis] > b:
                    t0, t1 = 1.0, 0.0
            else:
                ta, tb = (a - o[axis]) / d[axis], (b - o[axis]) / d[axis]
                t0, t1 = max(t0, min(ta, tb)), min(t1, max(ta, tb))
        if t0 > t1:
            continue
        for axis in range(3):
            x = o[axis] + t0 * d[axis]
            cur[axis] = min(max(int(np.floor((x - lo[axis]) / cell)), 0), dims[axis] - 1)
            if d[axis] > 0.0:
                step[axis] = 1
                t_max[axis] = (lo[axis] + (cur[axis] + 1) * cell - o[axis]) / d[axis]
                t_delta[axis] = cell / d[axis]
            elif d[axis] < 0.0:
                step[axis] = -1
                t_max[axis] = (lo[axis] + cur[axis] * cell - o[axis]) / d[axis]
                t_delta[axis] = -cell / d[axis]
            else:
                step[axis] = 0
                t_max[axis] = np.inf
                t_delta[axis] = np.inf
        best = np.inf
        while True:
            idx = (cur[0] * dims[1] + cur[1]) * dims[2] + cur[2]
            for e in range(start[idx], start[idx + 1]):
                t = items[e]
                h = _ray_triangle(o, d, v, f[t, 0], f[t, 1], f[t, 2])
                if h <= 1.0 and h < best:
                    best = h
            axis = 0
            if t_max[1] < t_max[axis]:
                axis = 1
            if t_max[2] < t_max[axis]:
                axis = 2
            if best <= t_max[axis] or t_max[axis] > t1:
                break  # a hit within the cells walked, or the segment's end
            cur[axis] += step[axis]
            if cur[axis] < 0 or cur[axis] >= dims[axis]:
                break
            t_max[axis] += t_delta[axis]
        out[r] = best
    return out


@njit(cache=True, inline="always")
def point_triangle2(px, py, pz, ax, ay, az, bx, by, bz, cx, cy, cz):
    """Squared distance from point p to the triangle abc (closest point by region)."""
    abx, aby, abz = bx - ax, by - ay, bz - az
    acx, acy, acz = cx - ax, cy - ay, cz - az
    apx, apy, apz = px - ax, py - ay, pz - az
    d1 = abx * apx + aby * apy + abz * apz
    d2 = acx * apx + acy * apy + acz * apz
    if d1 <= 0.0 and d2 <= 0.0:
        qx, qy, qz = ax, ay, az
    else:
        bpx, bpy, bpz = px - bx, py - by, pz - bz
        d3 = abx * bpx + aby * bpy + abz * bpz
        d4 = acx * bpx + acy * bpy + acz * bpz
        cpx, cpy, cpz = px - cx, py - cy, pz - cz
        d5 = abx * cpx + aby * cpy + abz * cpz
        d6 = acx * cpx + acy * cpy + acz * cpz
        vc = d1 * d4 - d3 * d2
        vb = d5 * d2 - d1 * d6
        va = d3 * d6 - d5 * d4
        if d3 >= 0.0 and d4 <= d3:
            qx, qy, qz = bx, by, bz
        elif vc <= 0.0 and d1 >= 0.0 and d3 <= 0.0:
            t = d1 / (d1 - d3)
            qx, qy, qz = ax + t * abx, ay + t * aby, az + t * abz
        elif d6 >= 0.0 and d5 <= d6:
            qx, qy, qz = cx, cy, cz
        elif vb <= 0.0 and d2 >= 0.0 and d6 <= 0.0:
            t = d2 / (d2 - d6)
            qx, qy, qz = ax + t * acx, ay + t * acy, az + t * acz
        elif va <= 0.0 and (d4 - d3) >= 0.0 and (d5 - d6) >= 0.0:
            t = (d4 - d3) / ((d4 - d3) + (d5 - d6))
            qx, qy, qz = bx + t * (cx - bx), by + t * (cy - by), bz + t * (cz - bz)
        else:
            denom = va + vb + vc
            if denom == 0.0:
                qx, qy, qz = ax, ay, az
            else:
                sv, sw = vb / denom, vc / denom
                qx = ax + abx * sv + acx * sw
                qy = ay + aby * sv + acy * sw
                qz = az + abz * sv + acz * sw
    dx, dy, dz = px - qx, py - qy, pz - qz
    return dx * dx + dy * dy + dz * dz
