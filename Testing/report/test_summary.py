"""The summary block and report.html: a good implant is printable; one with an opening and
one in pieces are not, and say why; the page is self-contained."""
import numpy as np
import pytest

from VoxelRearrangementLib import (
    Mask,
    PipelineOptions,
    defect_coverage,
    mask_to_mesh,
    printability_report,
    read_mask,
)
from VoxelRearrangementLib.printing.fit import rim_gap_mm
from VoxelRearrangementLib.report.page import report_html
from VoxelRearrangementLib.report.summary import LIMITS, run_summary, summary_lines


@pytest.fixture(scope="module")
def case069(sample_dir):
    return read_mask(sample_dir / "skull069_defective.nrrd"), read_mask(sample_dir / "skull069_implant.nrrd")


def summary_of(defective, implant, clearance=0.0, safety_net=None, face=None, reframed=False,
               levelled_deg=None, straightened_deg=None):
    """The summary of a pipeline report holding what run measures on ``implant`` (and
    ``face``, the report's block on where the face was taken to lie; ``reframed``: whether the
    volume was reframed for the network; ``levelled_deg``: the tilt levelled for it;
    ``straightened_deg``: the turn about the vertical straightened for it)."""
    report = {"safety_net": safety_net or {},"mode": "complete", "method": "hash", "volumes_ml": {"implant": implant.volume_ml},
              "implant": printability_report(mask_to_mesh(implant), thickness=True),
              "defect_coverage": defect_coverage(defective, implant),
              "fit": {"clearance_mm": clearance, "min_edge_mm": 0.0,
                      "rim_gap_mm": round(rim_gap_mm(implant, defective), 2)},
              "completion_device": "cpu", "reframed_for_network": reframed,
              "levelled_for_network_deg": levelled_deg,
              "straightened_for_network_deg": straightened_deg}
    if face is not None:
        report["face"] = face
    return run_summary(report, PipelineOptions())


def altered(implant, cut):
    """``implant`` with the voxels where ``cut(i, j)`` holds removed (a cut through it)."""
    array = np.ascontiguousarray(implant.array).copy()
    centre = np.argwhere(array).mean(axis=0)
    i, j = np.indices(array.shape[:2])
    array[cut(i - centre[0], j - centre[1])] = 0
    return Mask(array, implant.ijk_to_lps)


def test_the_ground_truth_implant_is_printable(case069):
    defective, implant = case069
    summary = summary_of(defective, implant)
    assert summary["printable"] and summary["reasons"] == []
    facts = summary["implant"]
    assert facts["pieces"] == 1 and facts["watertight"] and facts["closed_fraction"] == 1.0
    assert facts["volume_ml"] == pytest.approx(implant.volume_ml, abs=0.1)
    assert 60 < max(facts["size_mm"]) < 120 and facts["thinnest_wall_mm"] >= 1.0
    assert len(facts["thinnest_point_lps"]) == 3
    assert summary["run"]["method"] == "hash" and "bundled" in summary["run"]["table"]
    assert summary["run"]["device"] == {"completion": "cpu"}
    assert {"VoxelRearrangementLib", "numpy", "python"} <= set(summary["run"]["versions"])
    assert LIMITS in summary["caveats"]
    assert summary_lines(summary)[0] == "PRINTABLE: yes"
    assert "face" not in summary["run"] and not any(
        line.startswith(("Face:", "Framing:", "Tilt:", "Turn:")) for line in summary_lines(summary))


def test_a_reframed_volume_is_said(case069):
    summary = summary_of(*case069, reframed=True)
    assert "cut or padded" in summary["run"]["framing"]
    assert any(line.startswith("Framing:") for line in summary_lines(summary))


def test_a_levelled_head_is_said(case069):
    summary = summary_of(*case069, levelled_deg=21.6)
    assert "tilted 22 degrees" in summary["run"]["tilt"]
    assert any(line.startswith("Tilt:") for line in summary_lines(summary))


def test_stray_bone_left_out_is_said(case069):
    summary = summary_of(*case069, safety_net={"stray_dropped_ml": 1.3})
    assert summary["implant"]["stray_dropped_ml"] == 1.3
    assert any(line.startswith("Stray: 1.3 mL") for line in summary_lines(summary))
    assert not any(line.startswith("Stray:") for line in summary_lines(summary_of(*case069)))


def test_a_straightened_head_is_said(case069):
    summary = summary_of(*case069, straightened_deg=-18.4)
    assert "turned 18 degrees about the vertical" in summary["run"]["turn"]
    assert any(line.startswith("Turn:") for line in summary_lines(summary))


def test_a_head_turned_round_is_said_and_an_unsure_check_is_a_caveat(case069):
    asked = summary_of(*case069, face={"asked": "posterior", "used": "posterior"})
    assert "as asked" in asked["run"]["face"]
    assert any(line.startswith("Face:") and "posterior" in line for line in summary_lines(asked))
    found = summary_of(*case069, face={"asked": "auto", "used": "posterior", "check_logit": 6.6,
                                       "check_sure": True})
    assert "orientation check (logit +6.6" in found["run"]["face"]
    assert not any("could not tell" in c for c in found["caveats"])
    unsure = summary_of(*case069, face={"asked": "auto", "used": "anterior", "check_logit": 1.2,
                                        "check_sure": False})
    assert "face" not in unsure["run"]
    assert any("could not tell which way the head faces (logit +1.2)" in c for c in unsure["caveats"])
    assert unsure["printable"]  # a caveat, not a reason


def test_an_implant_with_an_opening_is_not_printable_and_says_where_it_is_open(case069):
    defective, implant = case069
    summary = summary_of(defective, altered(implant, lambda di, dj: np.hypot(di, dj) < 25))
    assert not summary["printable"]
    assert summary["implant"]["closed_fraction"] < 0.98 and summary["implant"]["open_directions"] > 0
    assert any("open" in reason for reason in summary["reasons"])
    assert summary_lines(summary)[0] == "PRINTABLE: no, because"


def test_an_implant_in_pieces_is_not_printable(case069):
    defective, implant = case069
    summary = summary_of(defective, altered(implant, lambda di, dj: np.abs(di) < 4))
    assert not summary["printable"] and summary["implant"]["pieces"] == 2
    assert "the implant is in 2 pieces" in summary["reasons"]


def test_a_gap_smaller_than_asked_for_is_a_reason(case069):
    defective, implant = case069
    summary = summary_of(defective, implant, clearance=1.0)   # the ground truth touches the bone
    assert any("gap at the rim" in reason for reason in summary["reasons"])


def test_the_page_is_self_contained_and_leads_with_the_verdict(case069):
    defective, implant = case069
    summary = summary_of(defective, implant)
    page = report_html(summary, {"summary": summary, "mode": "complete"},
                       {"picture": b"\x89PNG fake", "missing": None})
    assert page.index("PRINTABLE: yes") < page.index("Summary") < page.index("Engineering detail")
    assert "data:image/png;base64," in page and "matplotlib is not installed" in page
    assert "src='http" not in page and "<script" not in page and "<link" not in page  # offline
    assert LIMITS in page


def test_the_summary_says_what_the_safety_net_closed_and_what_it_left(case069):
    defective, implant = case069
    holed = altered(implant, lambda di, dj: np.hypot(di, dj) < 25)
    net = {"open_rays_before": 40, "open_rays_after": 12, "open_rays_elsewhere": 5, "added_ml": 3.2}
    summary = summary_of(defective, holed, safety_net=net)
    text = "\n".join(summary_lines(summary))
    assert "the safety net closed 28 by continuing the skull's shell (3.2 mL added) and 12 stay open" in text
    assert any("5 of them through an opening of the skull away from the implant" in r
               for r in summary["reasons"])
    nothing = dict(net, open_rays_after=40, added_ml=0.0)
    assert "could not close them" in "\n".join(summary_lines(summary_of(defective, holed, safety_net=nothing)))


def test_a_skull_mesh_left_above_the_size_asked_for_is_said(case069):
    defective, implant = case069
    report = {"mode": "refine", "method": "hash", "volumes_ml": {"skull": 600.0},
              "skull": {"watertight": True, "triangles": 900000,
                        "decimation": {"target_mb": 30.0, "stl_mb": 45.0, "tolerance_mm": 0.1}}}
    caveats = run_summary(report, PipelineOptions())["caveats"]
    assert any("skull.stl is 45.0 MB, above the 30 MB asked for" in c for c in caveats)
    report["skull"]["decimation"]["stl_mb"] = 30.0
    assert not any("asked for" in c for c in run_summary(report, PipelineOptions())["caveats"])
