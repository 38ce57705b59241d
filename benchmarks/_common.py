"""What the benchmark scripts share: peak-memory measurement, timed command runs, case
lists, the data folders."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Optional

import psutil

from VoxelRearrangementLib.io.skullfix import parse_cases  # noqa: F401  (re-exported for the scripts)

ROOT = Path(__file__).resolve().parents[1]
#: ../shared/data beside the project (CI has it; a fresh clone does not).
SHARED_DATA = ROOT.parent / "shared" / "data"
#: The samples bundled with the library (SkullFix 069: defective, coarse, complete).
SAMPLES = ROOT / "VoxelRearrangement" / "VoxelRearrangementLib" / "data" / "samples"


def process(argv, cwd=None, env: Optional[dict] = None) -> dict:
    """Wall and CPU seconds (user + system, children included) of one run of
    ``python -m VoxelRearrangementLib ARGV`` (``env``: its environment, default this one's)."""
    cmd = [sys.executable, "-m", "VoxelRearrangementLib", *map(str, argv)]
    before = os.times()
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env)
    wall = time.perf_counter() - t0
    after = os.times()
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr}")
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return {"wall_s": wall, "cpu_s": cpu}


class PeakMemory:
    """Peak resident memory (MB) of this process above its level when the block starts,
    sampled every 10 ms while the block runs (the one way every benchmark measures memory)."""

    def __enter__(self):
        self._proc = psutil.Process()
        self._base = self._proc.memory_info().rss
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, (self._proc.memory_info().rss - self._base) / 1e6)
            time.sleep(0.01)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, (self._proc.memory_info().rss - self._base) / 1e6)
