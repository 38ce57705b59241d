"""What the benchmark scripts share: peak-memory measurement, case lists, the data folder."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import psutil

from VoxelRearrangementLib.io.skullfix import parse_cases  # noqa: F401  (re-exported for the scripts)

ROOT = Path(__file__).resolve().parents[1]
#: ../shared/data beside the project (CI has it; a fresh clone does not).
SHARED_DATA = ROOT.parent / "shared" / "data"


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
