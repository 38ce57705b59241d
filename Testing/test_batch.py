"""``run_batch``: every case of a folder on a local Dask cluster, one folder per case,
failures recorded while the others go on, resumable, summary.csv."""
import csv
import time

import numpy as np
import pytest

pytest.importorskip("distributed", reason="batch runs need the [batch] extra (Dask)")

from helpers import skull_like  # noqa: E402
from VoxelRearrangementLib import Mask, PipelineOptions, VoxelRearrangementError, write_mask  # noqa: E402
from VoxelRearrangementLib.batch import SUMMARY, SUMMARY_COLUMNS, find_cases, run_batch  # noqa: E402
from VoxelRearrangementLib.cli import protocol  # noqa: E402

REFINE = PipelineOptions(mode="refine", method="trilinear", smoothing=0.0)


def read_summary(folder):
    with open(folder / SUMMARY, newline="") as f:
        return {row["case"]: row for row in csv.DictReader(f)}


@pytest.fixture
def cases(tmp_path):
    """Two small coarse skulls (different grids) and one empty mask, which fails."""
    folder = tmp_path / "in"
    folder.mkdir()
    skull, _ = skull_like()
    write_mask(folder / "a.nrrd", skull)
    write_mask(folder / "b.nii.gz", skull_like(shape=(36, 40, 30), spacing=(5.5, 5.0, 5.2))[0])
    write_mask(folder / "empty.nrrd", Mask(np.zeros((20, 20, 20), np.uint8), np.eye(4)))
    (folder / "notes.txt").write_text("not a case")
    return folder


def test_a_batch_runs_every_case_records_the_failure_and_resumes(cases, tmp_path):
    out = tmp_path / "out"
    progress = []
    rows = run_batch(cases, out, REFINE, workers=2, progress=lambda f, m: progress.append((f, m)))
    assert sorted(r["case"] for r in rows) == ["a", "b", "empty"]
    summary = read_summary(out)
    assert list(next(iter(summary.values())).keys()) == list(SUMMARY_COLUMNS)
    assert summary["a"]["status"] == summary["b"]["status"] == "done"
    assert summary["empty"]["status"] == "failed" and "empty" in summary["empty"]["error"]
    for name in ("a", "b"):
        assert sorted(p.name for p in (out / name).iterdir()) == sorted(protocol.run_outputs("refine", False))
        assert float(summary[name]["skull_ml"]) > 100 and summary[name]["skull_watertight"] == "True"
    assert not (out / "empty").exists()            # a failed case leaves nothing behind
    assert [round(f, 3) for f, _ in progress] == [0.333, 0.667, 1.0]
    assert "3/3 cases" in progress[-1][1]

    # Resumed: the finished cases are skipped (their files untouched), the failed one re-runs.
    stamp = (out / "a" / "report.json").stat().st_mtime_ns
    (out / "b" / "report.json").unlink()            # as if b had been interrupted
    time.sleep(0.01)
    rows = run_batch(cases, out, REFINE, workers=1)
    summary = read_summary(out)
    assert summary["a"]["status"] == "skipped" and float(summary["a"]["skull_ml"]) > 100
    assert summary["b"]["status"] == "done" and summary["empty"]["status"] == "failed"
    assert (out / "a" / "report.json").stat().st_mtime_ns == stamp


def test_a_pattern_selects_the_cases_and_name_clashes_are_an_error(cases, tmp_path):
    assert [c.name for c in find_cases(cases, tmp_path / "out", "*.nii.gz")] == ["b"]
    with pytest.raises(VoxelRearrangementError, match="no case"):
        find_cases(cases, tmp_path / "out", "*.seg.nrrd")
    write_mask(cases / "a.nii", skull_like()[0])
    with pytest.raises(VoxelRearrangementError, match="case 'a'"):
        find_cases(cases, tmp_path / "out")
    with pytest.raises(VoxelRearrangementError, match="does not exist"):
        find_cases(tmp_path / "missing", tmp_path / "out")


def test_a_case_beyond_the_memory_limit_fails_and_the_batch_goes_on(sample_dir, tmp_path):
    """The coarse sample refined to 512 x 512 x 256 peaks at 1.15 GB (``/usr/bin/time -v``),
    beyond a 700 MB limit: its worker is stopped by the nanny and the case recorded as failed.
    The small case peaks at 0.27 GB alone, plus the Dask worker's own ~0.1 GB: it fits (a
    400 MB limit was too tight for it on CI's machine)."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "big.nrrd").symlink_to(sample_dir / "skull069_coarse.nrrd")
    write_mask(folder / "small.nrrd", skull_like()[0])   # fits: the limit is not too low to start
    run_batch(folder, tmp_path / "out", REFINE, workers=1, memory_per_worker="700MB")
    summary = read_summary(tmp_path / "out")
    assert summary["big"]["status"] == "failed" and "700MB memory limit" in summary["big"]["error"]
    assert summary["small"]["status"] == "done"


def test_a_completed_case_row_says_where_the_face_was_taken_to_lie(tmp_path):
    from VoxelRearrangementLib.batch import Case, summary_row
    report = {"mode": "complete", "volumes_ml": {"completed": 600.0, "implant": 40.2},
              "implant": {"pieces": 1, "watertight": True}, "skull": {"watertight": True},
              "defect_coverage": {"closed_fraction": 0.9025},
              "face": {"asked": "auto", "used": "posterior", "check_logit": 13.9, "check_sure": True},
              "timings_s": {"completion_s": 1.0, "refinement_s": 2.0}}
    row = summary_row(Case("sb", tmp_path / "sb.nii.gz", tmp_path / "out" / "sb"), "done", report)
    assert row["face"] == "posterior" and row["implant_ml"] == 40.2 and row["seconds"] == 3.0
    assert summary_row(Case("x", tmp_path / "x.nrrd", tmp_path / "out" / "x"), "failed")["face"] == ""
