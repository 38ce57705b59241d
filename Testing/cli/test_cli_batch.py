"""``batch`` on the command line: the defective sample and a broken case on two local
workers, the exit status, summary.csv and a resumed run."""
import csv

import pytest

from helpers import failed_cleanly, run_cli

pytest.importorskip("distributed", reason="batch runs need the [batch] extra (Dask)")
pytest.importorskip("torch", reason="complete mode needs the [learn] extra (PyTorch)")


def test_batch_completes_the_sample_records_a_broken_case_and_resumes(sample_dir, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "skull069.nrrd").symlink_to(sample_dir / "skull069_defective.nrrd")
    (folder / "broken.nrrd").write_text("NRRD0004\nnot a header\n")
    out = tmp_path / "out"
    proc = run_cli("batch", "--input-dir", folder, "--output-dir", out, "--workers", 2, "--no-render")
    assert proc.returncode == 4, proc.stderr          # ExitCode.SOME_FAILED
    assert "PROGRESS 1.000" in proc.stdout and "1 done, 0 skipped (finished before), 1 failed" in proc.stdout
    with open(out / "summary.csv", newline="") as f:
        rows = {row["case"]: row for row in csv.DictReader(f)}
    assert rows["skull069"]["status"] == "done" and rows["broken"]["status"] == "failed"
    assert "broken.nrrd" in rows["broken"]["error"]
    assert 30 < float(rows["skull069"]["implant_ml"]) < 70
    assert float(rows["skull069"]["closed_fraction"]) > 0.95
    assert rows["skull069"]["implant_watertight"] == "True"
    assert (out / "skull069" / "implant.stl").is_file()

    again = run_cli("batch", "--input-dir", folder, "--output-dir", out, "--workers", 1, "--no-render")
    assert again.returncode == 4
    assert "0 done, 1 skipped (finished before), 1 failed" in again.stdout


def test_batch_without_cases_is_a_clean_error(tmp_path):
    (tmp_path / "in").mkdir()
    failed_cleanly(run_cli("batch", "--input-dir", tmp_path / "in", "--output-dir", tmp_path / "out"),
                   "no case")
    failed_cleanly(run_cli("batch", "--input-dir", tmp_path / "in", "--output-dir", tmp_path / "out",
                           "--workers", 0), "--workers")
