"""The background-process runner of the Logic, against a stand-in worker (no Slicer needed):
progress parsing, exit statuses, and cancel killing the whole process tree."""
import time
from pathlib import Path

import psutil
import pytest

from VoxelRearrangementLib._shared.errors import Cancelled, VoxelRearrangementError
from VoxelRearrangementLogicCore.worker import (
    WorkerCrashed,
    WorkerEnvironment,
    WorkerProcess,
    WorkerStep,
    parse_progress,
)

FAKE = WorkerEnvironment(module="fake_worker", lib_parent=str(Path(__file__).parent))


def run_to_end(worker: WorkerProcess, timeout_s: float = 30.0) -> None:
    end = time.monotonic() + timeout_s
    while not worker.poll():
        assert time.monotonic() < end, "the worker did not finish in time"
        time.sleep(0.02)


def test_parse_progress():
    assert parse_progress("PROGRESS 0.420 building pyramid") == (0.42, "building pyramid")
    assert parse_progress("PROGRESS 1.5 over") == (1.0, "over")
    assert parse_progress("PROGRESS x y") is None
    assert parse_progress("a log line") is None


def test_progress_and_success(tmp_path):
    seen, lines = [], []
    worker = WorkerProcess(WorkerStep(["ok"], "fake"), FAKE, str(tmp_path),
                           lambda f, m: seen.append((f, m)), lines.append)
    run_to_end(worker)
    worker.raise_for_status()
    assert seen == [(0.1, "starting"), (1.0, "done")]
    assert lines == ["some log line"]


def test_bad_input_becomes_error_with_the_workers_message(tmp_path):
    worker = WorkerProcess(WorkerStep(["bad"], "fake"), FAKE, str(tmp_path))
    run_to_end(worker)
    with pytest.raises(VoxelRearrangementError, match="the coarse mask is empty"):
        worker.raise_for_status()


def test_crash_reports_the_traceback_tail(tmp_path):
    worker = WorkerProcess(WorkerStep(["crash"], "fake"), FAKE, str(tmp_path))
    run_to_end(worker)
    with pytest.raises(WorkerCrashed, match="unexpected failure inside the worker"):
        worker.raise_for_status()


def test_cancel_kills_the_whole_process_tree(tmp_path):
    pids = []
    worker = WorkerProcess(WorkerStep(["hang"], "fake"), FAKE, str(tmp_path),
                           on_line=lambda line: pids.extend(int(p) for p in line.split()[1:]
                                                            if line.startswith("PIDS")))
    end = time.monotonic() + 30
    while not pids:
        assert not worker.poll() and time.monotonic() < end
        time.sleep(0.02)
    worker.cancel()
    run_to_end(worker, 15)
    with pytest.raises(Cancelled):
        worker.raise_for_status()
    for pid in (worker.process.pid, *pids):
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
