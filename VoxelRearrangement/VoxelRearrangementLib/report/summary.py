"""The summary a clinician reads first: the ``summary`` block at the top of ``report.json``.

:func:`run_summary` turns the pipeline's engineering report into a few facts (the implant's
volume and size, its pieces, how much of the defect it closes, its thinnest wall and where,
watertightness, the gap at the rim), a verdict (``printable``: yes or no, with the reasons),
caveats, and what was run (method, vote table or templates, network weights, device,
versions). :func:`summary_lines` writes it as plain text: the command line prints it, the
Slicer panel shows it and ``report.html`` holds it.

The verdict's thresholds are :data:`PRINTABLE`; they are checks of the file, not of the
clinical fit, and the caveats say so.
"""
from __future__ import annotations

import platform
import sys
from typing import Dict, List, Optional

from .._shared.resources import COMPLETION_WEIGHTS, DEFAULT_TABLES

#: What a printable implant needs: a watertight mesh in one piece, closing at least
#: ``min_closed_fraction`` of the defect's directions, a wall of at least ``min_wall_mm`` over
#: 99% of its surface (1st percentile of the ray-cast thickness: single rays grazing the
#: rounded rim read thinner than the wall is), and the requested gap at the rim (within
#: ``gap_tolerance_mm``).
PRINTABLE = {"min_closed_fraction": 0.98, "min_wall_mm": 1.0, "gap_tolerance_mm": 0.1}
LIMITS = ("Research software, not a medical device: the implant is a proposal to be reviewed "
          "and adapted by qualified people before any clinical use.")


def versions() -> Dict[str, str]:
    """Versions of this package, Python and the libraries that shaped the result."""
    from .. import __version__
    out = {"VoxelRearrangementLib": __version__, "python": platform.python_version()}
    for name in ("numpy", "scipy", "numba", "torch"):
        module = sys.modules.get(name)
        if module is not None:
            out[name] = str(getattr(module, "__version__", "?"))
    if "vtkmodules" in sys.modules:
        from vtkmodules.vtkCommonCore import vtkVersion
        out["vtk"] = vtkVersion.GetVTKVersion()
    return out


def what_ran(report: dict, options) -> dict:
    """Method, vote table or templates, network weights and device of a pipeline run."""
    ran = {"mode": report["mode"], "method": report["method"]}
    if report["method"] in ("hash", "kdtree"):
        if options.templates:
            ran["templates"] = [str(t) for t in options.templates]
        else:
            ran["table"] = f"bundled {DEFAULT_TABLES[-1]} (SkullFix training skulls 000-059)"
    devices = {}
    if report["mode"] != "refine":
        ran["completion_weights"] = str(options.weights) if options.weights else \
            f"bundled {COMPLETION_WEIGHTS[-1]}"
        devices["completion"] = report.get("completion_device", options.device)
        face = report.get("face", {})
        if face.get("used") == "posterior":
            how = ("as asked" if face["asked"] == "posterior" else
                   f"found by the orientation check (logit {face['check_logit']:+.1f}; setting "
                   "the face to anterior overrides it)")
            ran["face"] = (f"at the image's posterior, {how}: the head was turned round for the "
                           "completion")
        if report.get("reframed_for_network"):
            ran["framing"] = ("the volume frames the skull otherwise than the training scans "
                              "(SkullFix), so it was cut or padded to their framing for the "
                              "completion; every output is on the input's grid")
        if report.get("levelled_for_network_deg"):
            ran["tilt"] = (f"the scan's cut is tilted {report['levelled_for_network_deg']:.0f} "
                           "degrees in the volume (a head scanned tilted), so the completion "
                           "saw the skull turned level; every output is on the input's grid")
        if report.get("straightened_for_network_deg"):
            ran["turn"] = (f"the head is turned {abs(report['straightened_for_network_deg']):.0f} "
                           "degrees about the vertical in the volume (its mid-sagittal plane "
                           "found by symmetry), so the completion saw it straightened; every "
                           "output is on the input's grid")
    refine = report.get("refine", {})
    if report["method"] == "learned":
        devices["refinement"] = refine.get("device", options.device)
    ran["device"] = devices or "cpu (no network)"
    ran["versions"] = versions()
    return ran


def run_summary(report: dict, options) -> dict:
    """The ``summary`` block of a pipeline report (see the module docstring)."""
    ran = what_ran(report, options)
    if report["mode"] == "refine":
        skull = report["skull"]
        reasons = [] if skull["watertight"] else ["the skull mesh is not watertight"]
        return {"printable": not reasons, "reasons": reasons,
                "skull": {"volume_ml": round(report["volumes_ml"]["skull"], 1),
                          "watertight": skull["watertight"], "triangles": skull["triangles"]},
                "caveats": _mesh_caveats(report) + [LIMITS], "run": ran}
    implant, fit, cover = report["implant"], report["fit"], report["defect_coverage"]
    wall = implant.get("wall_thickness_mm", {})
    net = report.get("safety_net", {})
    facts = {
        "volume_ml": round(report["volumes_ml"]["implant"], 1),
        "size_mm": [round(float(x), 1) for x in implant["bbox_size_mm"]],
        "pieces": implant["pieces"],
        "watertight": implant["watertight"],
        "closed_fraction": round(cover["closed_fraction"], 3),
        "open_directions": cover["open_rays"],
        "directions_checked": cover["defect_rays"],
        "thinnest_wall_mm": _rounded(wall.get("p1")),
        "thinnest_point_mm": _rounded(wall.get("min")),
        "thinnest_point_lps": wall.get("min_at_lps"),
        "openings_found": net.get("open_rays_before", 0),
        "openings_left": net.get("open_rays_after", 0),
        "openings_elsewhere": net.get("open_rays_elsewhere", 0),
        "openings_added_ml": net.get("added_ml", 0.0),
        "stray_dropped_ml": net.get("stray_dropped_ml", 0.0),
        "rim_gap_mm": fit["rim_gap_mm"],
        "clearance_mm": fit["clearance_mm"],
        "min_edge_mm": fit["min_edge_mm"],
    }
    reasons = _reasons(facts)
    summary = {"printable": not reasons, "reasons": reasons, "implant": facts,
               "caveats": _mesh_caveats(report) + _face_caveats(report) + _caveats(facts),
               "run": ran}
    if "ct" in report:
        ct = report["ct"]
        summary["ct"] = {k: ct[k] for k in ("bone_hu", "skull_ml", "dropped_pieces", "dropped_ml",
                                            "largest_dropped_ml")}
        summary["caveats"].insert(0, "The skull was segmented from the CT by a threshold: check "
                                     "the segmentation (skull_from_ct.nrrd) before the implant.")
    return summary


def _face_caveats(report: dict) -> List[str]:
    face = report.get("face", {})
    if face.get("check_sure", True):
        return []
    return [f"The orientation check could not tell which way the head faces (logit "
            f"{face['check_logit']:+.1f}): the image's orientation was kept. Check that the face "
            "points anterior; if it points posterior, run again with the face set to posterior."]


def _rounded(value: Optional[float]) -> Optional[float]:
    return None if value is None or value != value else round(float(value), 2)


def _reasons(facts: dict) -> List[str]:
    reasons = []
    if not facts["watertight"]:
        reasons.append("the implant mesh is not watertight (it has holes or non-manifold edges)")
    if facts["pieces"] != 1:
        reasons.append(f"the implant is in {facts['pieces']} pieces")
    if facts["closed_fraction"] < PRINTABLE["min_closed_fraction"]:
        elsewhere = facts["openings_elsewhere"]
        reasons.append(f"the implant leaves {100 * (1 - facts['closed_fraction']):.0f}% of the "
                       f"defect open ({facts['open_directions']} of {facts['directions_checked']} "
                       "directions through the defect miss it"
                       + (f"; {elsewhere} of them through an opening of the skull away from the "
                          "implant: a second defect, or a natural opening of a tilted head; check it)"
                          if elsewhere else ")"))
    wall = facts["thinnest_wall_mm"]
    if wall is None or wall < PRINTABLE["min_wall_mm"]:
        where = facts["thinnest_point_lps"]
        reasons.append(f"its wall is thinner than {PRINTABLE['min_wall_mm']} mm on more than 1% of "
                       f"its surface ({wall} mm; thinnest {facts['thinnest_point_mm']} mm"
                       + (f" near LPS {where} mm)" if where else ")"))
    if facts["clearance_mm"] > 0 and \
            facts["rim_gap_mm"] < facts["clearance_mm"] - PRINTABLE["gap_tolerance_mm"]:
        reasons.append(f"the gap at the rim is {facts['rim_gap_mm']} mm, less than the "
                       f"{facts['clearance_mm']} mm asked for")
    return reasons


def _mesh_caveats(report: dict) -> List[str]:
    """A caveat for each STL the decimation left above the size asked for."""
    out = []
    for name in ("skull", "implant"):
        d = report.get(name, {}).get("decimation")
        if d and d.get("stl_mb", 0) > 1.05 * d.get("target_mb", float("inf")):
            out.append(f"{name}.stl is {d['stl_mb']} MB, above the {d['target_mb']:g} MB asked for: "
                       f"the decimation stopped where going further would move the surface more "
                       f"than {d['tolerance_mm']} mm")
    return out


def _caveats(facts: dict) -> List[str]:
    return [
        f"'Closes {100 * facts['closed_fraction']:.0f}% of the defect' counts the directions from "
        f"the skull's centre through the defect ({facts['directions_checked']} checked) that meet "
        "the implant: it shows the defect is covered, not that the implant fits the patient. "
        "Check the slices.",
        "The thickness and the gap are measured on the files written, not on the printed part.",
        LIMITS,
    ]


def _safety_net_line(facts: dict) -> str:
    """What the safety net did, for the closure line ('' when it had nothing to do)."""
    found, left = facts["openings_found"], facts["openings_left"]
    if not found:
        return ""
    if facts["openings_added_ml"] == 0:
        return (f"; the completion had left {found} of them open and the safety net could not "
                "close them (no wall around them to continue)")
    return (f"; the completion had left {found} of them open, the safety net closed "
            f"{found - left} by continuing the skull's shell ({facts['openings_added_ml']} mL added)"
            + (f" and {left} stay open" if left else ""))


def summary_lines(summary: dict) -> List[str]:
    """The summary as short lines of plain text (command line, Slicer panel, report.html)."""
    lines = ["PRINTABLE: yes" if summary["printable"] else "PRINTABLE: no, because"]
    lines += [f"  - {reason}" for reason in summary["reasons"]]
    facts = summary.get("implant")
    if facts is not None:
        size = " x ".join(f"{x:.0f}" for x in facts["size_mm"])
        lines += [
            f"Implant: {facts['volume_ml']} mL, {size} mm, {facts['pieces']} piece(s), "
            + ("watertight" if facts["watertight"] else "NOT watertight"),
            f"Defect closed in {100 * facts['closed_fraction']:.0f}% of the directions checked "
            f"({facts['directions_checked'] - facts['open_directions']} of {facts['directions_checked']})"
            + _safety_net_line(facts),
            f"Wall: at least {facts['thinnest_wall_mm']} mm over 99% of the surface; thinnest "
            f"{facts['thinnest_point_mm']} mm"
            + (f" near LPS {facts['thinnest_point_lps']} mm" if facts["thinnest_point_lps"] else ""),
            f"Gap at the rim: {facts['rim_gap_mm']} mm (asked: {facts['clearance_mm']} mm; edge "
            f"trimmed to at least {facts['min_edge_mm']} mm)",
        ]
        if facts.get("stray_dropped_ml"):
            lines.append(f"Stray: {facts['stray_dropped_ml']} mL of bone the completion added away "
                         "from the defect (closing none of its directions) was left out of the "
                         "implant and the skull")
    else:
        skull = summary["skull"]
        lines.append(f"Skull: {skull['volume_ml']} mL, {skull['triangles']} triangles, "
                     + ("watertight" if skull["watertight"] else "NOT watertight"))
    ct = summary.get("ct")
    if ct is not None:
        lines.append(f"Skull from the CT: bone of {ct['bone_hu']:g} HU and more, {ct['skull_ml']} mL; "
                     f"{ct['dropped_pieces']} other pieces dropped ({ct['dropped_ml']} mL: table, "
                     "loose fragments, mandible, spine)")
    ran = summary["run"]
    source = ran.get("table") or ", ".join(ran.get("templates", [])) or "no templates"
    device = ran["device"] if isinstance(ran["device"], str) else \
        ", ".join(f"{k} on {v}" for k, v in ran["device"].items())
    lines.append(f"Ran: {ran['method']} refinement ({source}); {device}; "
                 f"VoxelRearrangementLib {ran['versions']['VoxelRearrangementLib']}")
    if "face" in ran:
        lines.append(f"Face: {ran['face']}")
    if "framing" in ran:
        lines.append(f"Framing: {ran['framing']}")
    if "tilt" in ran:
        lines.append(f"Tilt: {ran['tilt']}")
    if "turn" in ran:
        lines.append(f"Turn: {ran['turn']}")
    lines += [f"Note: {caveat}" for caveat in summary["caveats"]]
    return lines
