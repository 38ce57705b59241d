"""Whole commands of two versions of the library side by side: ``run``, ``evaluate``,
``refine --method hash`` (2 workers) and ``samples`` on the bundled sample in fresh processes, the versions alternating (the machine is a shared virtual
one: only what runs in the same minutes compares). The other version is the library of a git
commit, taken with ``git archive`` into a temporary folder; the first round warms both
(compiled kernels cached) and is not counted.

Usage: python benchmarks/benchmark_side_by_side.py --before COMMIT [--repeats 3]
       [--commands run,evaluate]
"""
from __future__ import annotations

import argparse
import io
import os
import subprocess
import tarfile
import tempfile
from pathlib import Path

import numpy as np

from _common import ROOT, SAMPLES, process

LIB = "VoxelRearrangement/VoxelRearrangementLib"


def library_of(commit: str, folder: Path) -> Path:
    """The ``VoxelRearrangement`` folder (holding the library) of ``commit``, under ``folder``."""
    tar = subprocess.run(["git", "-C", str(ROOT), "archive", commit, LIB], capture_output=True,
                         check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        archive.extractall(folder, filter="data")
    return folder / "VoxelRearrangement"


def commands(work: Path, trilinear: Path) -> dict:
    """argv of each command (after ``python -m VoxelRearrangementLib``)."""
    return {"run": ["run", "--defective", SAMPLES / "skull069_defective.nrrd", "--output-dir",
                    work / "run", "--device", "cpu"],
            "evaluate": ["evaluate", "--prediction", trilinear, "--reference",
                         SAMPLES / "skull069_complete.nrrd"],
            "refine": ["refine", "--coarse", SAMPLES / "skull069_coarse.nrrd", "--reference-grid",
                       SAMPLES / "skull069_complete.nrrd", "--method", "hash", "--workers", "2",
                       "--output", work / "hash.nrrd"],
            "samples": ["samples"]}


def seconds(argv, library: Path) -> float:
    """Wall seconds of one command with the library of ``library``."""
    return process(argv, env=dict(os.environ, PYTHONPATH=str(library)))["wall_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True, help="git commit of the other version")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--commands", default="run,evaluate")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        versions = {f"before ({args.before})": library_of(args.before, work / "before"),
                    "now": ROOT / "VoxelRearrangement"}
        trilinear = work / "trilinear.nrrd"
        seconds(["refine", "--coarse", SAMPLES / "skull069_coarse.nrrd", "--reference-grid",
                 SAMPLES / "skull069_complete.nrrd", "--method", "trilinear", "--output", trilinear],
                versions["now"])
        argvs = commands(work, trilinear)
        chosen = args.commands.split(",")
        times = {(c, v): [] for c in chosen for v in versions}
        for round_ in range(args.repeats + 1):
            for c in chosen:
                for v, library in versions.items():
                    s = seconds(argvs[c], library)
                    if round_:
                        times[(c, v)].append(s)
        print("| command | version | seconds (each round) | median |")
        print("| --- | --- | --- | --- |")
        for (c, v), ts in times.items():
            print(f"| {c} | {v} | {' / '.join(f'{t:.2f}' for t in ts)} | {np.median(ts):.2f} |")
        for c in chosen:
            now, before = (np.median(times[(c, v)]) for v in reversed(list(versions)))
            print(f"{c}: now / before = {now / before:.2f}x")


if __name__ == "__main__":
    main()
