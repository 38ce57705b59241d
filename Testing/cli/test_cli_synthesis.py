"""The command line on the bundled sample, end to end, and its errors (no tracebacks)."""
import json

import nrrd
import numpy as np

from helpers import failed_cleanly, run_cli
from VoxelRearrangementLib.grids.geometry import Mask
from VoxelRearrangementLib.io.masks import read_mask, write_mask


def test_downsample_reproduces_the_bundled_coarse_sample(sample_dir, tmp_path):
    proc = run_cli("downsample", "--input", sample_dir / "skull069_complete.nrrd",
                   "--output", tmp_path / "c.nrrd")
    assert proc.returncode == 0, proc.stderr
    assert "PROGRESS 1.000" in proc.stdout
    ours, bundled = read_mask(tmp_path / "c.nrrd"), read_mask(sample_dir / "skull069_coarse.nrrd")
    assert np.array_equal(ours.array, bundled.array)
    assert np.allclose(ours.ijk_to_lps, bundled.ijk_to_lps)


def test_refine_and_evaluate_end_to_end(sample_dir, tmp_path):
    out = tmp_path / "hash.nii.gz"
    proc = run_cli("refine", "--coarse", sample_dir / "skull069_coarse.nrrd", "--method", "hash",
                   "--template", sample_dir / "template005.nrrd", "--output", out,
                   "--reference-grid", sample_dir / "skull069_complete.nrrd", "--workers", 2,
                   "--report", tmp_path / "report.json")
    assert proc.returncode == 0, proc.stderr
    progress = [float(line.split()[1]) for line in proc.stdout.splitlines() if line.startswith("PROGRESS")]
    assert progress == sorted(progress) and progress[-1] == 1.0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["method"] == "hash" and report["target_shape"] == [512, 512, 236]
    proc = run_cli("evaluate", "--prediction", out, "--reference", sample_dir / "skull069_complete.nrrd",
                   "--json", tmp_path / "m.json", "--no-smoothness")
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["dice"] > 0.9 and metrics["assd_mm"] < 0.5




def test_bad_inputs_give_clear_errors(sample_dir, tmp_path):
    coarse = read_mask(sample_dir / "skull069_coarse.nrrd")
    nrrd.write(str(tmp_path / "ct.nrrd"), np.arange(64, dtype=np.int16).reshape(4, 4, 4))
    failed_cleanly(run_cli("refine", "--coarse", tmp_path / "ct.nrrd", "--method", "trilinear",
                          "--output", tmp_path / "o.nrrd"), "not a binary mask")
    (tmp_path / "bad.nrrd").write_text("garbage")
    failed_cleanly(run_cli("downsample", "--input", tmp_path / "bad.nrrd", "--output",
                          tmp_path / "o.nrrd"), "bad.nrrd", "cannot read")
    write_mask(tmp_path / "empty.nrrd", Mask(np.zeros_like(coarse.array), coarse.ijk_to_lps))
    failed_cleanly(run_cli("refine", "--coarse", tmp_path / "empty.nrrd", "--method", "trilinear",
                          "--output", tmp_path / "o.nrrd"), "empty")
    speck = np.zeros((256, 256, 128), np.uint8)
    speck[130, 130, 60] = 1  # vanishes at the coarse level: nothing to learn from
    write_mask(tmp_path / "speck.nrrd", Mask(speck, np.eye(4)))
    failed_cleanly(run_cli("refine", "--coarse", sample_dir / "skull069_coarse.nrrd", "--method", "hash",
                          "--template", tmp_path / "speck.nrrd", "--output", tmp_path / "o.nrrd"),
                  "does not look like a skull")
    failed_cleanly(run_cli("refine", "--coarse", sample_dir / "skull069_coarse.nrrd", "--method", "hash",
                          "--template", sample_dir / "skull069_coarse.nrrd", "--output", tmp_path / "o.nrrd"),
                  "not finer than the coarse grid")
    failed_cleanly(run_cli("evaluate", "--prediction", sample_dir / "skull069_coarse.nrrd",
                          "--reference", sample_dir / "skull069_complete.nrrd"), "not on the same voxel grid")
    failed_cleanly(run_cli("evaluate", "--prediction", sample_dir / "skull069_coarse.nrrd",
                          "--reference", tmp_path / "empty.nrrd"), "empty.nrrd: the reference mask is empty")
    failed_cleanly(run_cli("refine", "--coarse", sample_dir / "skull069_coarse.nrrd", "--method",
                          "trilinear", "--output", tmp_path / "missing" / "o.nrrd"), "does not exist")
    assert not (tmp_path / "o.nrrd").exists()
