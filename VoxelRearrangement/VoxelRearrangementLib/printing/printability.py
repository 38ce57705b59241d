"""Printability report of a triangle mesh (all lengths in mm, volumes in mL).

Topology is read from the faces alone: an edge (pair of vertex indices) used by exactly two
faces, once in each direction, is manifold and consistently oriented; used once it is a hole
border; used three or more times it is non-manifold. A mesh is *watertight* when every edge
is used by exactly two faces. Wall thickness is measured by ray casting: from the centre of
sampled faces along the inward normal to the first face hit (:mod:`.surface_grid`), the local
thickness a printer sees across the wall.
"""
from __future__ import annotations

from typing import Dict, Tuple

import numpy as np
from numba import njit

from .meshing import Mesh

#: Faces narrower than this (mm^2) count as degenerate.
DEGENERATE_AREA_MM2 = 1e-10


def edge_topology(mesh: Mesh) -> Dict[str, int]:
    """Counts of ``edges``, ``boundary_edges`` (used by one face), ``non_manifold_edges``
    (three or more faces) and ``misoriented_edges`` (two faces traversing it the same way)."""
    # one sort: undirected edge, then its direction; runs of one edge, runs of one direction
    keys = np.sort(_edge_keys(mesh.faces, np.int64(max(len(mesh.vertices), 1))))
    return dict(zip(("edges", "boundary_edges", "non_manifold_edges", "misoriented_edges"),
                    (int(c) for c in _edge_counts(keys))))


@njit(cache=True, nogil=True)
def _edge_keys(faces, n):
    """``undirected edge * 2 + direction`` of the three edges of every face (int64)."""
    out = np.empty(3 * faces.shape[0], dtype=np.int64)
    for f in range(faces.shape[0]):
        for e in range(3):
            a, b = faces[f, e], faces[f, (e + 1) % 3]
            out[3 * f + e] = (min(a, b) * n + max(a, b)) * 2 + (1 if a > b else 0)
    return out


@njit(cache=True, nogil=True)
def _edge_counts(keys):
    """(edges, used once, used three or more times, traversed twice the same way) of sorted
    keys ``undirected edge * 2 + direction``."""
    edges = once = many = same = 0
    i = 0
    while i < keys.size:
        j = i
        while j < keys.size and keys[j] // 2 == keys[i] // 2:
            j += 1
        uses = j - i
        edges += 1
        if uses == 1:
            once += 1
        elif uses > 2:
            many += 1
        for m in range(i + 1, j):  # each directed edge used more than once counts once
            if keys[m] == keys[m - 1] and (m == i + 1 or keys[m - 1] != keys[m - 2]):
                same += 1
        i = j
    return edges, once, many, same


def _watertight(topology: Dict[str, int], triangles: int) -> bool:
    return bool(topology["boundary_edges"] == 0 and topology["non_manifold_edges"] == 0
                and triangles > 0)


def is_watertight(mesh: Mesh) -> bool:
    """Watertight: the mesh has triangles and every edge is used by exactly two faces."""
    return _watertight(edge_topology(mesh), mesh.triangle_count)


def mesh_components(mesh: Mesh) -> Tuple[int, np.ndarray]:
    """``(count, label of every face)``: pieces connected through shared vertices (labels
    0..count-1, in the order of each piece's first face)."""
    if len(mesh.faces) == 0:
        return 0, np.zeros(0, dtype=np.int64)
    count, labels = _face_components(mesh.faces, len(mesh.vertices))
    return int(count), labels


@njit(cache=True, nogil=True)
def _face_components(faces, n_vertices):
    """Union-find over the vertices of each face; a label per face."""
    parent = np.arange(n_vertices)

    def root(v):
        while parent[v] != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    for f in range(faces.shape[0]):
        a = root(faces[f, 0])
        for c in range(1, 3):
            b = root(faces[f, c])
            if a != b:
                parent[b] = a
    label_of_root = np.full(n_vertices, -1, dtype=np.int64)
    labels = np.empty(faces.shape[0], dtype=np.int64)
    count = 0
    for f in range(faces.shape[0]):
        r = root(faces[f, 0])
        if label_of_root[r] < 0:
            label_of_root[r] = count
            count += 1
        labels[f] = label_of_root[r]
    return count, labels


def wall_thickness(mesh: Mesh, max_rays: int = 20000, seed: int = 0) -> Dict[str, float]:
    """Local wall thickness (mm) by inward ray casting from up to ``max_rays`` face centres
    (drawn with probability proportional to face area; all faces when there are fewer).

    Returns ``min``, ``p1``, ``p5`` and ``median`` over the rays that hit, ``rays``, and
    ``min_at_lps``: where the thinnest ray starts (LPS mm, on the surface). A
    watertight mesh with outward normals is expected; rays that leave it hit nothing and are
    not counted.
    """
    from .surface_grid import SurfaceGrid
    areas = mesh.face_areas()
    ok = np.flatnonzero(areas > DEGENERATE_AREA_MM2)
    if len(ok) > max_rays:
        rng = np.random.default_rng(seed)
        ok = np.sort(rng.choice(ok, size=max_rays, replace=False, p=areas[ok] / areas[ok].sum()))
    a, b, c = (v[ok] for v in mesh.face_corners())
    centre = (a + b + c) / 3.0
    normal = mesh.face_normals()[ok]
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    length = float(np.linalg.norm(np.ptp(mesh.vertices, axis=0))) + 1.0 if len(ok) else 0.0
    starts = centre - 1e-4 * normal  # just inside: the ray cannot hit its own face
    ends = centre - length * normal
    out = np.full(len(ok), np.nan)
    if len(ok):
        along = SurfaceGrid(mesh.vertices, mesh.faces).first_hits(starts, ends)
        hit = np.isfinite(along)
        out[hit] = np.linalg.norm(starts[hit] + along[hit, None] * (ends[hit] - starts[hit])
                                  - centre[hit], axis=1)
    hit = np.isfinite(out)
    if not hit.any():
        return {"min": float("nan"), "p1": float("nan"), "p5": float("nan"),
                "median": float("nan"), "rays": 0, "min_at_lps": None}
    at = centre[hit][int(np.argmin(out[hit]))]
    out = out[hit]
    return {"min": float(out.min()), "p1": float(np.percentile(out, 1)),
            "p5": float(np.percentile(out, 5)), "median": float(np.median(out)),
            "rays": int(out.size), "min_at_lps": [round(float(x), 1) for x in at]}


#: How many shells are listed one by one (the rest are counted).
LISTED_SHELLS = 10


def printability_report(mesh: Mesh, thickness: bool = False, max_rays: int = 20000) -> dict:
    """Everything a printing tool checks, as a JSON-ready dict (lengths mm, areas mm^2,
    volumes mL, coordinates LPS mm).

    ``watertight`` (no hole borders, no non-manifold edges), edge counts, ``consistently_oriented``,
    ``outward_normals`` (positive enclosed volume), the closed surfaces sorted into
    ``shells`` (surfaces around material: the separate solid ``pieces``, with the volume and
    area of the largest) and ``cavities`` (surfaces around a void inside material, whose
    normals face into the void: count and total volume), ``volume_ml`` (material), ``area_mm2``,
    bounding box, triangle and vertex counts, ``degenerate_triangles``, and with
    ``thickness`` the wall thickness (see :func:`wall_thickness`).
    """
    topo = edge_topology(mesh)
    areas = mesh.face_areas()
    count, labels = mesh_components(mesh)
    vols = mesh.face_signed_volumes()
    comp_vol = np.bincount(labels, weights=vols, minlength=count) / 1000.0
    comp_area = np.bincount(labels, weights=areas, minlength=count)
    shells = np.flatnonzero(comp_vol > 0)
    shells = shells[np.argsort(-comp_vol[shells])]
    cavities = np.flatnonzero(comp_vol <= 0)
    volume_ml = float(vols.sum() / 1000.0)
    lo = mesh.vertices.min(axis=0) if len(mesh.vertices) else np.zeros(3)
    hi = mesh.vertices.max(axis=0) if len(mesh.vertices) else np.zeros(3)
    listed = shells[:LISTED_SHELLS]
    report = {
        "watertight": _watertight(topo, mesh.triangle_count),
        **topo,
        "consistently_oriented": bool(topo["misoriented_edges"] == 0),
        "outward_normals": bool(volume_ml > 0),
        "pieces": int(len(shells)),
        "shells": {"count": int(len(shells)),
                   "largest_volumes_ml": [round(float(comp_vol[i]), 3) for i in listed],
                   "largest_areas_mm2": [round(float(comp_area[i]), 1) for i in listed]},
        "cavities": {"count": int(len(cavities)),
                     "volume_ml": round(float(-comp_vol[cavities].sum()), 3)},
        "volume_ml": volume_ml,
        "area_mm2": float(areas.sum()),
        "bbox_min_mm": lo.tolist(), "bbox_max_mm": hi.tolist(), "bbox_size_mm": (hi - lo).tolist(),
        "triangles": mesh.triangle_count, "vertices": int(len(mesh.vertices)),
        "degenerate_triangles": int(np.count_nonzero(areas <= DEGENERATE_AREA_MM2)),
        "space": "LPS",
    }
    if thickness:
        report["wall_thickness_mm"] = {**wall_thickness(mesh, max_rays=max_rays),
                                       "method": "inward-normal ray casting from face centres"}
    return report
