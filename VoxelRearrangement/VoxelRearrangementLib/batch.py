"""The pipeline over a folder of cases, on Dask (``batch``; needs the ``batch`` extra).

Every file of the input folder that matches the pattern and is a mask (``.nrrd``,
``.seg.nrrd``, ``.nii``, ``.nii.gz``) is a case, named by its file name without the ending.
Case ``NAME`` runs :func:`~.pipeline.run_pipeline` into ``OUT/NAME/`` (the files of ``run``).

* Resumable: a case whose folder already holds ``report.json`` (written last, and only when
  the whole run succeeded) is skipped and its row taken from that report.
* A case that fails is recorded with its error (and, for an unexpected exception, its
  traceback in ``OUT/logs/NAME.txt``) while the others go on; its folder is left untouched.
* ``OUT/summary.csv``: one row per case (:data:`SUMMARY_COLUMNS`), rewritten after every case,
  so an interrupted batch keeps what it finished.
* Workers: by default a ``dask.distributed.LocalCluster`` of N worker processes, each with
  ``threads_per_worker`` threads for its refinement and a memory limit (the nanny restarts a
  worker that goes beyond it; its case is then recorded as failed). With the address of a
  running scheduler the cases go to its workers instead: they need this package installed
  and the input and output folders at the same paths.
"""
from __future__ import annotations

import csv
import io
import os
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Union

from ._shared.atomic import write_text
from ._shared.errors import VoxelRearrangementError
from .cli import protocol
from .io.masks import mask_suffix
from .options import PipelineOptions

PathLike = Union[str, os.PathLike]
#: Memory limit of one local worker. A 512 x 512 x 236 case peaks at 1.2 GB in ``run``
#: (complete mode, measured with ``/usr/bin/time -v``); 4 GB leaves room for 512^3 grids.
DEFAULT_MEMORY_PER_WORKER = "4GB"
SUMMARY = "summary.csv"
LOGS = "logs"
#: Columns of ``summary.csv``. status: ``done`` (run now), ``skipped`` (finished before),
#: ``failed`` (``error`` says why). Volumes in mL; closed_fraction: the share of the defect's
#: directions the implant closes (complete mode); face: where the face was taken to lie
#: (``anterior`` or ``posterior`` of the header, complete mode); seconds: the run's timings
#: added up.
SUMMARY_COLUMNS = ("case", "status", "input", "skull_ml", "implant_ml", "implant_pieces",
                   "closed_fraction", "face", "skull_watertight", "implant_watertight", "seconds",
                   "error")


@dataclass(frozen=True)
class Case:
    """One input file and the folder its outputs go to."""

    name: str
    source: Path
    output_dir: Path


def find_cases(input_dir: PathLike, output_dir: PathLike, pattern: str = "*") -> List[Case]:
    """The cases of ``input_dir`` (files matching ``pattern`` with a mask ending), sorted by
    name; clear errors for a missing folder, no case, or two files with the same case name."""
    folder = Path(input_dir)
    if not folder.is_dir():
        raise VoxelRearrangementError(f"{folder}: the input folder does not exist")
    cases: Dict[str, Case] = {}
    for path in sorted(folder.glob(pattern)):
        suffix = mask_suffix(path)
        if not path.is_file() or suffix is None or path.name.startswith("."):
            continue
        name = path.name[: -len(suffix)]
        if name in cases:
            raise VoxelRearrangementError(
                f"{cases[name].source.name} and {path.name} would both be case '{name}': "
                "narrow --pattern")
        cases[name] = Case(name, path.absolute(), Path(output_dir).absolute() / name)
    if not cases:
        raise VoxelRearrangementError(
            f"no case in {folder} matches '{pattern}' (masks: .nrrd, .seg.nrrd, .nii, .nii.gz)")
    return list(cases.values())


def finished(case: Case) -> bool:
    """True when the case's folder holds a finished run (its report)."""
    return (case.output_dir / protocol.REPORT).is_file()


def summary_row(case: Case, status: str, report: Optional[dict] = None, error: str = "") -> dict:
    """The ``summary.csv`` row of a case from its report (None for a failed case)."""
    row = {column: "" for column in SUMMARY_COLUMNS}
    row.update(case=case.name, status=status, input=str(case.source), error=error)
    if report is None:
        return row
    volumes = report.get("volumes_ml", {})
    row["skull_ml"] = _rounded(volumes.get("completed", volumes.get("skull")), 2)
    row["skull_watertight"] = report.get("skull", {}).get("watertight", "")
    if report.get("mode") in ("complete", "ct"):
        row["implant_ml"] = _rounded(volumes.get("implant"), 2)
        row["implant_pieces"] = report["implant"]["pieces"]
        row["implant_watertight"] = report["implant"]["watertight"]
        row["closed_fraction"] = _rounded(report["defect_coverage"]["closed_fraction"], 3)
        row["face"] = report.get("face", {}).get("used", "")
    row["seconds"] = _rounded(sum(report.get("timings_s", {}).values()), 1)
    return row


def _rounded(value, digits: int):
    return "" if value is None else round(float(value), digits)


def run_case(case: Case, options: PipelineOptions, segment: Optional[str] = None) -> dict:
    """Run one case (on a worker) and return its summary row; never raises for the case's
    own failure: the row says what went wrong."""
    from .pipeline import run_pipeline
    try:
        report = run_pipeline(case.source, case.output_dir, options, segment=segment)
    except VoxelRearrangementError as exc:
        return summary_row(case, "failed", error=str(exc))
    except MemoryError:
        return summary_row(case, "failed", error="not enough memory for this case")
    except Exception as exc:  # a bug: keep the traceback, go on with the other cases
        log = case.output_dir.parent / LOGS / f"{case.name}.txt"
        log.parent.mkdir(exist_ok=True)
        write_text(log, traceback.format_exc())
        return summary_row(case, "failed", error=f"{type(exc).__name__}: {exc} (traceback: {log})")
    return summary_row(case, "done", report)


def write_summary(path: PathLike, rows: Sequence[dict]) -> Path:
    """Write the rows (sorted by case) as CSV with :data:`SUMMARY_COLUMNS`, atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SUMMARY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(sorted(rows, key=lambda row: row["case"]))
    return write_text(path, buffer.getvalue())


def _require_distributed():
    try:
        import distributed
    except ImportError:
        raise VoxelRearrangementError(
            "batch runs need Dask: pip install 'VoxelRearrangementLib[batch]'") from None
    return distributed


def _client(workers: int, threads_per_worker: int, memory_per_worker: str,
            scheduler: Optional[str]):
    """A Dask client: of the scheduler at ``scheduler``, or of a new local cluster."""
    distributed = _require_distributed()
    import dask
    if scheduler:
        try:
            return distributed.Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise VoxelRearrangementError(
                f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    threads = str(threads_per_worker)
    # A case that kills its worker (memory) fails once instead of being retried on the others.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True,
            memory_limit=memory_per_worker, dashboard_address=None, silence_logs=50,
            env={"NUMBA_NUM_THREADS": threads, "OMP_NUM_THREADS": threads,
                 "MKL_NUM_THREADS": threads})
    return distributed.Client(cluster)


def run_batch(input_dir: PathLike, output_dir: PathLike, options: Optional[PipelineOptions] = None,
              pattern: str = "*", workers: int = 1, threads_per_worker: int = 1,
              memory_per_worker: str = DEFAULT_MEMORY_PER_WORKER, scheduler: Optional[str] = None,
              segment: Optional[str] = None,
              progress: Optional[Callable[[float, str], None]] = None) -> List[dict]:
    """Run the pipeline on every case of ``input_dir`` into ``output_dir`` (see the module
    docstring); returns the summary rows, also written to ``output_dir/summary.csv``."""
    options = (options or PipelineOptions()).replace(workers=threads_per_worker)
    options = options.replace(templates=tuple(str(Path(t).resolve()) for t in options.templates))
    if options.weights:
        options = options.replace(weights=str(Path(options.weights).resolve()))
    out = Path(output_dir)
    if out.exists() and not out.is_dir():
        raise VoxelRearrangementError(f"{out}: the output folder is an existing file")
    cases = find_cases(input_dir, out, pattern)
    out.mkdir(parents=True, exist_ok=True)
    rows = [_skipped_row(case) for case in cases if finished(case)]
    todo = [case for case in cases if not finished(case)]
    total = len(cases)

    def report(case_name: str, status: str) -> None:
        write_summary(out / SUMMARY, rows)
        if progress is not None:
            done = len(rows)
            bar = "#" * round(20 * done / total)
            progress(done / total, f"[{bar:<20}] {done}/{total} cases: {case_name} {status}")

    for row in rows:
        report(row["case"], "skipped (finished before)")
    if not todo:
        return rows
    distributed = _require_distributed()
    client = _client(workers, threads_per_worker, memory_per_worker, scheduler)
    try:
        # At most one case per worker thread is handed out at a time: a worker that dies (its
        # memory limit) takes only its own case down, and the others are still to be given.
        slots = max(1, sum(client.nthreads().values()))
        waiting = list(reversed(todo))
        futures = {}

        def submit(pending) -> None:
            case = waiting.pop()
            future = client.submit(run_case, case, options, segment, key=f"case-{case.name}",
                                   pure=False)
            futures[future] = case
            pending.add(future)

        pending = distributed.as_completed()
        for _ in range(min(slots, len(waiting))):
            submit(pending)
        for future in pending:
            case = futures.pop(future)
            try:
                row = future.result()
            except distributed.KilledWorker:
                row = summary_row(case, "failed", error=(
                    f"its worker died (more than the {memory_per_worker} memory limit per worker, "
                    "or a crash)"))
            rows.append(row)
            report(case.name, row["status"] + (f": {row['error']}" if row["error"] else ""))
            if waiting:
                submit(pending)
    finally:
        cluster = getattr(client, "cluster", None)
        client.close()
        if cluster is not None and not scheduler:
            cluster.close()
    return rows


def _skipped_row(case: Case) -> dict:
    import json
    try:
        report = json.loads((case.output_dir / protocol.REPORT).read_text())
    except (OSError, ValueError) as exc:
        return summary_row(case, "skipped", error=f"finished before, but its report is unreadable: {exc}")
    try:
        return summary_row(case, "skipped", report)
    except (KeyError, TypeError, AttributeError) as exc:  # a report of another version
        return summary_row(case, "skipped", error=f"finished before, but its report lacks {exc} "
                                                   "(another version?): remove the folder to run it again")
