"""``implant`` and ``mesh`` on the command line, end to end on the bundled sample (case 069,
validation split, never tuned on; cropped around the defect so the tests stay fast), and
their errors (status 2, ``error: ...``, no traceback, no file left behind)."""
import json

import numpy as np
import pytest
from scipy import ndimage

from helpers import failed_cleanly, run_cli
from VoxelRearrangementLib.cli import main
from VoxelRearrangementLib.evaluation.implant_metrics import implant_metrics
from VoxelRearrangementLib.grids.geometry import Mask
from VoxelRearrangementLib.grids.resample import resample_mask
from VoxelRearrangementLib.io.masks import read_mask, write_mask
from VoxelRearrangementLib.io.meshes import read_mesh
from VoxelRearrangementLib.printing.implant import raw_implant
from VoxelRearrangementLib.printing.printability import printability_report


@pytest.fixture(scope="module")
def case(sample_dir, tmp_path_factory):
    """Cropped sample files: true implant, defective skull, and the trilinear upsampling of the
    bundled coarse skull (challenge format) as the completed skull."""
    folder = tmp_path_factory.mktemp("case069")
    truth = read_mask(sample_dir / "skull069_implant.nrrd")
    defective = read_mask(sample_dir / "skull069_defective.nrrd")
    coarse = read_mask(sample_dir / "skull069_coarse.nrrd")
    box = []
    for a in range(3):
        nz = np.flatnonzero(truth.array.any(axis=tuple(b for b in range(3) if b != a)))
        box.append(slice(max(nz[0] - 30, 0), min(nz[-1] + 31, truth.array.shape[a])))
    m = truth.ijk_to_lps.copy()
    m[:3, 3] = m[:3, :3] @ [s.start for s in box] + m[:3, 3]
    masks = {"implant": Mask(truth.array[tuple(box)], m),
             "defective": Mask(defective.array[tuple(box)], m)}
    masks["upsampled"] = resample_mask(coarse, masks["implant"].grid, order=1)
    for name, mask in masks.items():
        write_mask(folder / f"{name}.nrrd", mask)
    write_mask(folder / "coarse.nrrd", coarse)
    return folder, masks


def test_implant_command_beats_the_plain_clean_up(case, tmp_path):
    folder, masks = case
    out = tmp_path / "implant.nrrd"
    # the clean-up alone (no fitting gap, no edge trim: the ground truth touches the bone)
    proc = run_cli("implant", "--complete", folder / "upsampled.nrrd",
                   "--defective", folder / "defective.nrrd", "--output", out,
                   "--clearance-mm", 0, "--min-edge-mm", 0)
    assert proc.returncode == 0, proc.stderr
    progress = [float(line.split()[1]) for line in proc.stdout.splitlines() if line.startswith("PROGRESS")]
    assert progress == sorted(progress) and progress[-1] == 1.0
    ours = read_mask(out)
    defective, truth = masks["defective"], masks["implant"]
    assert np.allclose(ours.ijk_to_lps, truth.ijk_to_lps)
    assert not np.any(ours.array & defective.array)
    # the reference: trilinear minus defective, one-voxel opening, largest piece
    plain = ndimage.binary_opening(raw_implant(masks["upsampled"], defective))
    labels, _ = ndimage.label(plain)
    plain = (labels == np.argmax(np.bincount(labels.ravel())[1:]) + 1).astype(np.uint8)
    ref = implant_metrics(Mask(plain, truth.ijk_to_lps), truth, defective)
    got = implant_metrics(ours, truth, defective)
    assert got["dsc"] > ref["dsc"] + 0.01 and got["bdsc"] > ref["bdsc"]
    assert got["hd95_mm"] <= ref["hd95_mm"]


def test_mesh_command_writes_a_watertight_lps_stl_and_its_report(case, tmp_path):
    folder, masks = case
    out, report = tmp_path / "implant.stl", tmp_path / "report.json"
    proc = run_cli("mesh", "--input", folder / "implant.nrrd", "--output", out,
                   "--report", report, "--thickness")
    assert proc.returncode == 0, proc.stderr
    assert b"SPACE=LPS" in out.read_bytes()[:80]
    rep = json.loads(report.read_text())
    assert rep["watertight"] and rep["outward_normals"] and rep["pieces"] == 1
    assert rep["volume_ml"] == pytest.approx(masks["implant"].volume_ml, rel=0.02)
    assert 0 < rep["wall_thickness_mm"]["min"] < rep["wall_thickness_mm"]["median"] < 15
    mesh = read_mesh(out)
    assert printability_report(mesh)["watertight"]
    # the mesh lies where the voxels are, in LPS mm
    centre = masks["implant"].ijk_to_lps @ np.r_[np.argwhere(masks["implant"].array).mean(0), 1]
    assert np.allclose(mesh.vertices.mean(axis=0), centre[:3], atol=3.0)
    assert main(["mesh", "--input", str(folder / "implant.nrrd"), "--output", str(tmp_path / "i.ply"),
                 "--smoothing", "0", "--decimate", "0.5", "--space", "RAS"]) == 0
    assert printability_report(read_mesh(tmp_path / "i.ply"))["watertight"]


def test_bad_inputs_fail_cleanly_and_leave_outputs_alone(case, tmp_path, capsys):
    folder, _ = case
    out = tmp_path / "implant.nrrd"
    out.write_bytes(b"keep me")
    # one real process (exit status, no traceback), the rest in-process for speed
    failed_cleanly(run_cli("implant", "--complete", folder / "coarse.nrrd",
                           "--defective", folder / "defective.nrrd", "--output", out),
                   "not on the same voxel grid")

    def fails(message, *args):
        assert main([str(a) for a in args]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err

    fails("the implant is empty", "implant", "--complete", folder / "defective.nrrd",
          "--defective", folder / "defective.nrrd", "--output", out)
    assert out.read_bytes() == b"keep me"
    fails("does not exist", "implant", "--complete", folder / "upsampled.nrrd",
          "--defective", folder / "defective.nrrd", "--output", tmp_path / "missing" / "i.nrrd")
    fails("unknown mesh format", "mesh", "--input", folder / "implant.nrrd",
          "--output", tmp_path / "i.vtk")
    write_mask(tmp_path / "empty.nrrd", Mask(np.zeros((4, 4, 4), np.uint8), np.eye(4)))
    fails("empty", "mesh", "--input", tmp_path / "empty.nrrd", "--output", tmp_path / "e.stl")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.nrrd", "implant.nrrd"]
