"""Refine outputs on the bundled sample are exactly what was recorded (Testing/data/
refine_fingerprints.json, written by scripts/refine_fingerprints.py before the last change
that was meant to keep them): a refactor or a speed-up that changes a single voxel fails here.

The numpy methods are deterministic on any machine. ``learned`` is recorded too, but its
float32 convolutions may round differently on another CPU (oneDNN picks kernels by
instruction set), so the suite checks its quality instead (learned/test_rearrangement.py);
``scripts/refine_fingerprints.py --check`` compares it on one machine."""
import importlib.util
import json

import pytest

from helpers import ROOT

_spec = importlib.util.spec_from_file_location("refine_fingerprints",
                                               ROOT / "scripts" / "refine_fingerprints.py")
recorder = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(recorder)
RECORDED = json.loads(recorder.RECORD.read_text())


@pytest.mark.parametrize("method,workers", [("hash", 1), ("hash", 2), ("kdtree", 1),
                                            ("nearest", 1), ("trilinear", 1), ("median", 1),
                                            ("gaussian", 1)])
def test_refine_output_is_the_recorded_one(method, workers):
    got = recorder.fingerprint(recorder.refine_sample(method, workers))
    assert got == RECORDED[f"{method}/workers={workers}"], (
        f"{method} ({workers} workers) changed its output on the bundled sample; if that is "
        "intended, record it again with scripts/refine_fingerprints.py and say why")
