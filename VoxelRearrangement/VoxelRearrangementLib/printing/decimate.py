"""Decimation of a closed mesh that keeps it watertight and within a distance of the original.

Edge collapse ordered by quadric error (Garland and Heckbert, 1997), in :data:`ROUNDS` rounds
of rising error bound (numba; each round orders the edges into :data:`ERROR_BUCKETS` buckets of
error, in mesh order within a bucket, which keeps memory access local, and sweeps them once;
on a 2.3 M-triangle skull this took half the time of a full sort in 4 rounds, for the same
measured deviation): every vertex carries the sum of the squared-distance quadrics of the
planes of its original faces (unit normals, not weighted by area), so ``p' Q p`` is the sum
of the squared distances of a new position ``p`` to all the original planes merged into it. An edge
collapses to the quadric's minimum (or the better of its ends and its midpoint) only when

* that error is at most ``tolerance_mm`` squared (so ``p`` is within the tolerance of every
  merged plane),
* the edge has exactly two faces and its ends share exactly the two opposite vertices (the
  link condition: the mesh stays a closed 2-manifold, no fold or pinch is created),
* no face around it turns by more than :data:`MAX_TURN_DEGREES` or becomes degenerate,
* and the original vertices it has absorbed stay within the tolerance of the new faces around
  it: each vertex carries up to :data:`GHOSTS` of the original positions merged into it (the
  farthest ones), and every collapse measures their distance to its new faces. Quadrics alone
  let a thin fin or a spike shrink along its own planes at no cost: on SkullFix 069 meshed by
  VTK 9.3 that left original vertices 0.40 mm from the decimated surface.

It stops at ``target_triangles`` or when no edge is left within the tolerance. The mesh is
cut into :data:`PARTS` slabs along its longest extent, decimated at once in as many threads
(the vertices on the seams frozen, so each slab touches only its own faces); each slab aims
at its share of the target, and the slabs that can go further then take over what a slab
stopped by the tolerance left (in slab order: the same result on any machine). VTK's filters
were measured on a 2.3 M-triangle skull and rejected: quadric decimation opened holes and
non-manifold edges (38 and 25 at 75 %), DecimatePro with topology preservation left 3
non-manifold edges and moved the surface by up to 0.24 mm, and both took 15-30 s.
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
from numba import njit

from .meshing import Mesh
from .surface_grid import SurfaceGrid, point_triangle2

#: A collapse is refused when a face around it would turn by more than this.
MAX_TURN_DEGREES = 60.0
#: Default bound (mm) of a collapse's quadric error.
DEFAULT_TOLERANCE_MM = 0.1
#: Bytes per triangle of a binary STL file (after its 84-byte header).
STL_BYTES_PER_TRIANGLE = 50
#: Pieces (closed surfaces) of fewer faces are left as they are: collapsing a speck of a few
#: dozen triangles gains nothing and could turn it inside out.
MIN_PIECE_FACES = 200
#: Original positions a vertex keeps to check its collapses against.
GHOSTS = 4
_MAX_RING = 64  # vertices around an edge beyond which it is left alone
#: Buckets of collapse error a round orders its edges into (mesh order within a bucket).
ERROR_BUCKETS = 16
#: Rounds of rising error bound: (r / ROUNDS)^2 of the tolerance squared in round r.
ROUNDS = 2
#: Slabs of the mesh (along its longest extent) decimated at once, one thread each, the
#: vertices on their seams frozen: fixed, so the result does not depend on the machine.
PARTS = 2
#: Slabs of fewer faces are not worth a thread.
MIN_PART_FACES = 50000


def decimated(mesh: Mesh, max_triangles: int, tolerance_mm: float = DEFAULT_TOLERANCE_MM) -> Mesh:
    """``mesh`` with at most ``max_triangles`` triangles, or as few as the tolerance allows
    (see the module docstring); the mesh itself when it is small enough already."""
    if mesh.triangle_count <= max_triangles:
        return mesh
    vertices, faces = decimate_mesh(mesh.vertices, mesh.faces, max_triangles, tolerance_mm)
    return Mesh(vertices, faces, mesh.grid_matrix)


def triangles_for_megabytes(megabytes: float) -> int:
    """How many triangles a binary STL of ``megabytes`` (10^6 bytes) holds."""
    return max(int((megabytes * 1e6 - 84) // STL_BYTES_PER_TRIANGLE), 4)


def surface_distances(points: np.ndarray, mesh: Mesh) -> np.ndarray:
    """Distance (mm) from each of ``points`` (N x 3, LPS mm) to the surface of ``mesh``."""
    return SurfaceGrid(mesh.vertices, mesh.faces).distances(points)


def surface_deviation(original: Mesh, simplified: Mesh, samples: int = 20000,
                      seed: int = 0) -> dict:
    """How far the two surfaces are apart: distances (mm) of ``samples`` vertices of each to
    the other surface (both ways, exact: :mod:`.surface_grid`), their maximum and 99.9th
    percentile."""
    rng = np.random.default_rng(seed)
    d = []
    for a, b in ((original, simplified), (simplified, original)):
        pick = rng.choice(len(a.vertices), size=min(samples, len(a.vertices)), replace=False)
        d.append(surface_distances(a.vertices[pick], b))
    both = np.concatenate(d)
    return {"max_mm": round(float(both.max()), 3), "p999_mm": round(float(np.percentile(both, 99.9)), 3),
            "sampled_vertices": int(both.size)}


def decimate_mesh(vertices: np.ndarray, faces: np.ndarray, target_triangles: int,
                  tolerance_mm: float, parts: int = PARTS) -> Tuple[np.ndarray, np.ndarray]:
    """``(vertices, faces)`` of the decimated mesh (see the module docstring); the input is a
    closed, consistently oriented triangle mesh (N x 3 float64 mm, M x 3 int64). ``parts``
    slabs are decimated at once in as many threads (see :data:`PARTS`)."""
    from concurrent.futures import ThreadPoolExecutor

    from .printability import mesh_components
    v = np.ascontiguousarray(vertices, dtype=np.float64).copy()
    f = np.ascontiguousarray(faces, dtype=np.int64).copy()
    if len(f) <= target_triangles:
        return v, f
    count, labels = mesh_components(Mesh(v, f))
    small = np.bincount(labels, minlength=count) < MIN_PIECE_FACES
    frozen = np.zeros(len(v), dtype=np.bool_)
    frozen[f[small[labels]].ravel()] = True
    slab = _slabs(v, f, max(1, min(int(parts), len(f) // MIN_PART_FACES)))
    n_parts = int(slab.max()) + 1
    tol2, min_cos = float(tolerance_mm) ** 2, float(np.cos(np.deg2rad(MAX_TURN_DEGREES)))
    if n_parts == 1:
        parts_of = [_Slab(v, f, frozen, None)]
    else:
        faces_of = [f[slab == p] for p in range(n_parts)]
        used = []
        for part_faces in faces_of:
            used.append(np.zeros(len(v), dtype=np.bool_))
            used[-1][part_faces.ravel()] = True
        # a vertex of faces in two slabs is on a seam: frozen, so each slab's collapses
        # touch only its own faces and vertices
        frozen |= np.sum(used, axis=0) > 1
        parts_of = [_Slab(v, part_faces, frozen, mark) for part_faces, mark in zip(faces_of, used)]

    def first_pass(p: _Slab) -> None:
        p.sweep(int(target_triangles * len(p.faces) // len(f)), tol2, min_cos)

    if n_parts == 1:
        first_pass(parts_of[0])
    else:
        with ThreadPoolExecutor(max_workers=n_parts) as pool:  # the sweeps release the GIL
            list(pool.map(first_pass, parts_of))
    # a slab that ran out of collapses within the tolerance left faces over its share: the
    # others go on for them, one after the other (in slab order: the same result every time)
    excess = sum(p.count for p in parts_of) - int(target_triangles)
    for p in parts_of:
        if excess <= 0:
            break
        before = p.count
        p.sweep(before - excess, tol2, min_cos)
        excess -= before - p.count
    for p in parts_of:
        v[p.vertices[~p.frozen]] = p.v[~p.frozen]  # a slab moves only its own vertices
    f = np.concatenate([p.alive_faces() for p in parts_of])
    marked = np.zeros(len(v), dtype=np.bool_)
    marked[f.ravel()] = True
    used = np.flatnonzero(marked)
    remap = np.full(len(v), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    return v[used], remap[f]


class _Slab:
    """One slab's faces on its own copy of their vertices, and the state of its sweeps."""

    def __init__(self, v: np.ndarray, faces: np.ndarray, frozen: np.ndarray,
                 used: Optional[np.ndarray]) -> None:
        """``used``: which vertices the slab's faces use (bool); None for the whole mesh."""
        self.faces = faces
        if used is None:  # local indices are the global ones
            self.vertices, self.local = np.arange(len(v)), faces
        else:
            self.vertices = np.flatnonzero(used)  # global index of each local vertex
            remap = np.empty(len(v), dtype=np.int64)
            remap[self.vertices] = np.arange(len(self.vertices))
            self.local = remap[faces]
        self.v = v[self.vertices]
        self.frozen = frozen[self.vertices]
        self.state = None
        self.count = len(faces)
        self.round = 1

    def sweep(self, target: int, tol2: float, min_cos: float) -> None:
        """Collapse until at most ``target`` faces are left (or nothing within the bound)."""
        if self.round > ROUNDS or self.count <= target:
            return
        if self.state is None:
            self.state = _collapse_state(self.v, self.local, self.frozen)
        self.count, self.round = _collapse_sweep(self.v, self.local, self.state, int(target),
                                                 tol2, min_cos, self.round)

    def alive_faces(self) -> np.ndarray:
        """The slab's faces left, in global vertex indices."""
        faces = self.local if self.state is None else self.local[self.state[0]]
        return self.vertices[faces]


def _slabs(v: np.ndarray, f: np.ndarray, parts: int) -> np.ndarray:
    """Slab (0 .. parts - 1) of every face: by its first vertex along the mesh's longest
    extent, at quantiles of the faces (equal counts)."""
    if parts == 1:
        return np.zeros(len(f), dtype=np.int64)
    axis = int(np.argmax(np.ptp(v, axis=0)))
    x = v[f[:, 0], axis]
    cuts = np.quantile(x, np.arange(1, parts) / parts)
    return np.searchsorted(cuts, x, side="right").astype(np.int64)


@njit(cache=True, inline="always")
def _collapsed(f, v, t, a, b, px, py, pz):
    """The corners (9 floats) of face ``t`` once vertices ``a`` and ``b`` have moved to p."""
    x0, x1, x2 = f[t, 0], f[t, 1], f[t, 2]
    c0x, c0y, c0z = (px, py, pz) if (x0 == a or x0 == b) else (v[x0, 0], v[x0, 1], v[x0, 2])
    c1x, c1y, c1z = (px, py, pz) if (x1 == a or x1 == b) else (v[x1, 0], v[x1, 1], v[x1, 2])
    c2x, c2y, c2z = (px, py, pz) if (x2 == a or x2 == b) else (v[x2, 0], v[x2, 1], v[x2, 2])
    return c0x, c0y, c0z, c1x, c1y, c1z, c2x, c2y, c2z


@njit(cache=True, inline="always")
def _cross(ax, ay, az, bx, by, bz, cx, cy, cz):
    ux, uy, uz = bx - ax, by - ay, bz - az
    wx, wy, wz = cx - ax, cy - ay, cz - az
    return uy * wz - uz * wy, uz * wx - ux * wz, ux * wy - uy * wx


@njit(cache=True, nogil=True)
def _plane_quadrics(v, f):
    """Per vertex: the sum of the quadrics of the planes of its faces (10 coefficients)."""
    q = np.zeros((len(v), 10))
    for t in range(len(f)):
        a, b, c = f[t, 0], f[t, 1], f[t, 2]
        nx, ny, nz = _cross(v[a, 0], v[a, 1], v[a, 2], v[b, 0], v[b, 1], v[b, 2],
                            v[c, 0], v[c, 1], v[c, 2])
        length = np.sqrt(nx * nx + ny * ny + nz * nz)
        if length == 0.0:
            continue
        nx, ny, nz = nx / length, ny / length, nz / length
        d = -(nx * v[a, 0] + ny * v[a, 1] + nz * v[a, 2])
        for w in (a, b, c):
            q[w, 0] += nx * nx
            q[w, 1] += nx * ny
            q[w, 2] += nx * nz
            q[w, 3] += nx * d
            q[w, 4] += ny * ny
            q[w, 5] += ny * nz
            q[w, 6] += ny * d
            q[w, 7] += nz * nz
            q[w, 8] += nz * d
            q[w, 9] += d * d
    return q


@njit(cache=True, inline="always")
def _error(q, a, b, x, y, z):
    """Quadric error of the point (x, y, z) under ``q[a] + q[b]`` (no temporary arrays)."""
    e = 0.0
    coefficients = (x * x, 2 * x * y, 2 * x * z, 2 * x, y * y, 2 * y * z, 2 * y, z * z, 2 * z, 1.0)
    for k in range(10):
        e += (q[a, k] + q[b, k]) * coefficients[k]
    return max(e, 0.0)


@njit(cache=True)
def _best(q, v, a, b):
    """The best of the quadric's own minimum (when well defined and within the edge's reach),
    the ends ``a``, ``b`` and their midpoint: (error, x, y, z)."""
    best = _error(q, a, b, v[a, 0], v[a, 1], v[a, 2])
    x, y, z = v[a, 0], v[a, 1], v[a, 2]
    e = _error(q, a, b, v[b, 0], v[b, 1], v[b, 2])
    if e < best:
        best, x, y, z = e, v[b, 0], v[b, 1], v[b, 2]
    mx, my, mz = 0.5 * (v[a, 0] + v[b, 0]), 0.5 * (v[a, 1] + v[b, 1]), 0.5 * (v[a, 2] + v[b, 2])
    e = _error(q, a, b, mx, my, mz)
    if e < best:
        best, x, y, z = e, mx, my, mz
    # minimum of the quadric: A p = -r with A = [[q0 q1 q2] [q1 q4 q5] [q2 q5 q7]], r = (q3 q6 q8)
    a0, a1, a2 = q[a, 0] + q[b, 0], q[a, 1] + q[b, 1], q[a, 2] + q[b, 2]
    a4, a5, a7 = q[a, 4] + q[b, 4], q[a, 5] + q[b, 5], q[a, 7] + q[b, 7]
    r0, r1, r2 = -(q[a, 3] + q[b, 3]), -(q[a, 6] + q[b, 6]), -(q[a, 8] + q[b, 8])
    c00, c01, c02 = a4 * a7 - a5 * a5, a2 * a5 - a1 * a7, a1 * a5 - a2 * a4
    det = a0 * c00 + a1 * c01 + a2 * c02
    scale = a0 + a4 + a7
    if abs(det) > 1e-6 * scale * scale * scale:
        c11, c12, c22 = a0 * a7 - a2 * a2, a1 * a2 - a0 * a5, a0 * a4 - a1 * a1
        ox = (c00 * r0 + c01 * r1 + c02 * r2) / det
        oy = (c01 * r0 + c11 * r1 + c12 * r2) / det
        oz = (c02 * r0 + c12 * r1 + c22 * r2) / det
        dx, dy, dz = ox - mx, oy - my, oz - mz
        ex, ey, ez = v[a, 0] - v[b, 0], v[a, 1] - v[b, 1], v[a, 2] - v[b, 2]
        if dx * dx + dy * dy + dz * dz <= ex * ex + ey * ey + ez * ez:  # near the edge
            e = _error(q, a, b, ox, oy, oz)
            if e < best:
                best, x, y, z = e, ox, oy, oz
    return best, x, y, z


@njit(cache=True)
def _faces_of(vertex, head, nxt, pool, alive, out):
    """Alive faces around ``vertex`` into ``out``; their count (-1 when more than fit)."""
    n = 0
    e = head[vertex]
    while e != -1:
        t = pool[e]
        if alive[t]:
            if n == len(out):
                return -1
            out[n] = t
            n += 1
        e = nxt[e]
    return n


@njit(cache=True, nogil=True)
def _collapse_state(v, f, frozen):
    """What the sweeps of :func:`_collapse_sweep` carry from one call to the next: alive
    faces, quadrics, the vertex -> faces lists (linked lists in one pool, spliced together on
    a collapse and rebuilt from the alive faces every round, dropping the dead ones), the
    vertices no longer (or never: frozen) an end of a collapse, and the ghosts."""
    n_v, n_f = len(v), len(f)
    alive = np.ones(n_f, dtype=np.bool_)
    q = _plane_quadrics(v, f)
    head = -np.ones(n_v, dtype=np.int64)
    tail = -np.ones(n_v, dtype=np.int64)
    nxt = -np.ones(3 * n_f, dtype=np.int64)
    pool = np.empty(3 * n_f, dtype=np.int64)
    gone = frozen.copy()
    ghosts = np.zeros((n_v, GHOSTS, 3))
    ghosts[:, 0, :] = v
    n_ghost = np.ones(n_v, dtype=np.int64)
    return alive, q, head, tail, nxt, pool, gone, ghosts, n_ghost


@njit(cache=True, nogil=True)
def _collapse_sweep(v, f, state, target, tol2, min_cos, first_round):
    """Collapse edges in rounds of rising error, from round ``first_round``: each round sorts
    the edges by the error of their collapse and sweeps them in that order, collapsing those
    still valid (checked on the current mesh) whose error stays under the round's bound.
    Stops once at most ``target`` faces are alive. Returns the alive faces' count and the
    round it stopped in (``ROUNDS + 1``: every round done, nothing left within the bound);
    calling it again from that round goes on from there."""
    alive, q, head, tail, nxt, pool, gone, ghosts, n_ghost = state
    n_f = len(f)
    work = (np.empty(_MAX_RING, dtype=np.int64), np.empty(_MAX_RING, dtype=np.int64),
            np.empty(3 * _MAX_RING, dtype=np.int64), np.empty(2 * _MAX_RING, dtype=np.int64))
    cand = np.empty((2 * GHOSTS, 3))
    dist = np.empty(2 * GHOSTS)
    count = 0
    for t in range(n_f):
        count += alive[t]
    if count <= target:
        return count, first_round
    for r in range(first_round, ROUNDS + 1):
        bound = tol2 * (r / ROUNDS) ** 2
        _face_lists(f, alive, head, tail, nxt, pool)
        ea = np.empty(3 * n_f // 2 + 1, dtype=np.int64)
        eb = np.empty(3 * n_f // 2 + 1, dtype=np.int64)
        cost = np.empty(3 * n_f // 2 + 1)
        n_e = 0
        for t in range(n_f):
            if not alive[t]:
                continue
            for c in range(3):
                a, b = f[t, c], f[t, (c + 1) % 3]
                if a < b and n_e < len(ea):
                    err, _, _, _ = _best(q, v, a, b)
                    if err <= bound:
                        ea[n_e], eb[n_e], cost[n_e] = a, b, err
                        n_e += 1
        order = _bucket_order(cost[:n_e], bound, ERROR_BUCKETS)
        for k in range(n_e):
            e = order[k]
            a, b = ea[e], eb[e]
            if gone[a] or gone[b]:
                continue
            removed = _try_collapse(a, b, bound, min_cos, v, f, q, alive, head, tail, nxt, pool,
                                    gone, work, ghosts, n_ghost, cand, dist)
            count -= removed
            if count <= target:
                return count, r
    return count, ROUNDS + 1


@njit(cache=True, nogil=True)
def _face_lists(f, alive, head, tail, nxt, pool):
    """(Re)build the vertex -> face lists from the alive faces."""
    head[:] = -1
    tail[:] = -1
    e = 0
    for t in range(len(f)):
        if not alive[t]:
            continue
        for c in range(3):
            pool[e] = t
            w = f[t, c]
            if head[w] == -1:
                tail[w] = e
            nxt[e] = head[w]
            head[w] = e
            e += 1


@njit(cache=True)
def _try_collapse(a, b, bound, min_cos, v, f, q, alive, head, tail, nxt, pool, gone, work,
                  ghosts, n_ghost, cand, dist):
    """Collapse edge (a, b) into a when it is valid (module docstring); the faces removed."""
    faces_u, faces_v, ring_u, around = work
    err, px, py, pz = _best(q, v, a, b)  # cheapest test first: the error on the current mesh
    if err > bound:
        return 0
    nu = _faces_of(a, head, nxt, pool, alive, faces_u)
    nv = _faces_of(b, head, nxt, pool, alive, faces_v)
    if nu < 0 or nv < 0:
        return 0
    shared = 0
    for i in range(nv):
        t = faces_v[i]
        if f[t, 0] == a or f[t, 1] == a or f[t, 2] == a:
            shared += 1
    if shared != 2:
        return 0
    n_ring = 0
    for i in range(nu):
        for c in range(3):
            w = f[faces_u[i], c]
            if w != a and w != b:
                ring_u[n_ring] = w
                n_ring += 1
    # the link condition: the ends share exactly two neighbours, the opposite vertices
    distinct = 0
    for i in range(nv):
        for c in range(3):
            w = f[faces_v[i], c]
            if w == a or w == b:
                continue
            in_u = False
            for j in range(n_ring):
                if ring_u[j] == w:
                    in_u = True
                    break
            if not in_u:
                continue
            first = True
            for i2 in range(i):
                for c2 in range(3):
                    if f[faces_v[i2], c2] == w:
                        first = False
            if first:
                distinct += 1
    if distinct != 2:
        return 0
    # the faces around the edge that the collapse keeps (the two on the edge go)
    n_around = 0
    for side in range(2):
        n_side = nu if side == 0 else nv
        for i in range(n_side):
            t = faces_u[i] if side == 0 else faces_v[i]
            x0, x1, x2 = f[t, 0], f[t, 1], f[t, 2]
            if not ((x0 == a or x1 == a or x2 == a) and (x0 == b or x1 == b or x2 == b)):
                around[n_around] = t
                n_around += 1
    # none of them may turn too far or collapse to nothing
    for m in range(n_around):
        t = around[m]
        x0, x1, x2 = f[t, 0], f[t, 1], f[t, 2]
        ox, oy, oz = _cross(v[x0, 0], v[x0, 1], v[x0, 2], v[x1, 0], v[x1, 1], v[x1, 2],
                            v[x2, 0], v[x2, 1], v[x2, 2])
        c0x, c0y, c0z, c1x, c1y, c1z, c2x, c2y, c2z = _collapsed(f, v, t, a, b, px, py, pz)
        nx, ny, nz = _cross(c0x, c0y, c0z, c1x, c1y, c1z, c2x, c2y, c2z)
        lo = np.sqrt(ox * ox + oy * oy + oz * oz)
        ln = np.sqrt(nx * nx + ny * ny + nz * nz)
        if ln <= 1e-12 * (lo + 1e-300) or ox * nx + oy * ny + oz * nz < min_cos * lo * ln:
            return 0
    # the original positions absorbed by both ends must stay near the new faces around p
    n_c = 0
    for w in (a, b):
        for g in range(n_ghost[w]):
            cand[n_c] = ghosts[w, g]
            n_c += 1
    for g in range(n_c):
        best = np.inf
        for m in range(n_around):
            c0x, c0y, c0z, c1x, c1y, c1z, c2x, c2y, c2z = _collapsed(f, v, around[m], a, b, px, py, pz)
            d2 = point_triangle2(cand[g, 0], cand[g, 1], cand[g, 2], c0x, c0y, c0z,
                                  c1x, c1y, c1z, c2x, c2y, c2z)
            if d2 < best:
                best = d2
        if best > bound:
            return 0
        dist[g] = best
    n_keep = min(n_c, GHOSTS)
    for slot in range(n_keep):  # the farthest first (a selection sort of at most 2 GHOSTS)
        far = -1
        for g in range(n_c):
            if dist[g] >= 0.0 and (far < 0 or dist[g] > dist[far]):
                far = g
        for k in range(3):
            ghosts[a, slot, k] = cand[far, k]
        dist[far] = -1.0
    n_ghost[a] = n_keep
    v[a, 0], v[a, 1], v[a, 2] = px, py, pz
    for k in range(10):
        q[a, k] += q[b, k]
    removed = 0
    for i in range(nv):
        t = faces_v[i]
        if f[t, 0] == a or f[t, 1] == a or f[t, 2] == a:
            alive[t] = False
            removed += 1
        else:
            for c in range(3):
                if f[t, c] == b:
                    f[t, c] = a
    nxt[tail[a]] = head[b]
    tail[a] = tail[b]
    gone[b] = True
    return removed


@njit(cache=True, nogil=True)
def _bucket_order(cost, bound, n_buckets):
    """Indices of ``cost`` ordered by bucket of width ``bound / n_buckets`` and by index
    within a bucket (a counting sort: linear time)."""
    scale = n_buckets / max(bound, 1e-300)
    key = np.empty(len(cost), dtype=np.int64)
    start = np.zeros(n_buckets + 1, dtype=np.int64)
    for i in range(len(cost)):
        k = min(int(cost[i] * scale), n_buckets - 1)
        key[i] = k
        start[k + 1] += 1
    for k in range(n_buckets):
        start[k + 1] += start[k]
    order = np.empty(len(cost), dtype=np.int64)
    for i in range(len(cost)):
        order[start[key[i]]] = i
        start[key[i]] += 1
    return order
