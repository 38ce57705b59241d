"""Speed and memory of every step, side by side in one run (compare ratios: the machine is a
shared virtual one), beside the authors' figures.

In this process (the median of ``--repeats`` runs; peak memory above the level before each
call): loading the bundled vote table (first use: unpacked into the cache; then memory-mapped),
building the tables of new templates, refining one SkullFix validation skull (default 060) from
its 128 x 128 x 64 coarse format to its own grid with trilinear, hash and KD-tree (1 and 2
workers, checked bit-identical) and learned (1 and 2 threads, bfloat16 where the CPU runs it
fast, and float32), and ``evaluate``; the two-worker speed-up of the hash method once more
with 1 and 2 workers alternating for 3 x ``--repeats`` rounds, beside what the machine gives
two processes in the same minutes. In fresh processes, as a user runs them (wall and CPU
time): ``refine --method trilinear`` against ``refine --method hash`` (table loading, pyramid,
lookups and writing included), ``run`` and ``complete`` on the bundled defective sample, and
``evaluate``. Last, what the machine itself gives two threads: a compiled compute-bound loop
in one and in two processes at once.

Prints a markdown table; writes benchmarks/results/speed.{json,md} and a plot
(Resources/Screenshots/speed.png; with another ``--out``, all three there). With
``--workers-only N``, only the two-worker speed-up of the hash method, N times in a row (each
as above, the machine's own two-process speed-up after it), to judge a target near this
shared machine's ceiling: writes speed_workers.json in ``--out``.

Usage: python benchmarks/benchmark_speed.py [--data ../shared/data] [--case 060] [--repeats 3]
       [--workers-only N]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import ROOT, SAMPLES, SHARED_DATA, PeakMemory, process
from VoxelRearrangementLib import downsample, evaluate, read_mask, refine
from VoxelRearrangementLib._shared.resources import DEFAULT_TABLES, resource_path
from VoxelRearrangementLib.synthesis.tables import StepTables, learn_template

#: The authors' hash synthesis (Li et al. 2021), as reported in the issue that set the targets.
AUTHORS = {"hash L1": 101.0, "hash L2": 7 * 60.0}


RESULTS = ROOT / "benchmarks" / "results"
PLOT = ROOT / "Resources" / "Screenshots" / "speed.png"


def timed(fn, repeats: int = 1):
    """(value, median seconds, peak MB of the slowest) of ``repeats`` calls."""
    times, peaks, value = [], [], None
    for _ in range(repeats):
        with PeakMemory() as mem:
            t0 = time.perf_counter()
            value = fn()
            times.append(time.perf_counter() - t0)
        peaks.append(mem.peak_mb)
    return value, float(np.median(times)), float(max(peaks))


def worker_speed_up(coarse, tables, grid, rounds: int) -> dict:
    """Hash refinement with 1 and 2 workers, alternating for ``rounds`` rounds (so that the
    machine's drift hits both alike), then the machine's own two-process speed-up: the ratio
    of the medians beside its ceiling, measured in the same minutes."""
    times = {1: [], 2: []}
    for _ in range(rounds):
        for workers in (1, 2):
            t0 = time.perf_counter()
            refine(coarse, "hash", tables=tables, target_grid=grid, workers=workers)
            times[workers].append(time.perf_counter() - t0)
    one, two = (float(np.median(times[w])) for w in (1, 2))
    return {"rounds": rounds, "one_worker_s": one, "two_workers_s": two, "speed_up": one / two,
            "machine": machine_parallelism()}


def workers_only(args) -> None:
    """``--workers-only N``: :func:`worker_speed_up` N times on the case, printed and written
    to speed_workers.json with their median."""
    truth = read_mask(Path(args.data) / "skullfix" / "complete" / f"{args.case}.nrrd")
    coarse = downsample(truth)
    tables = StepTables.load(resource_path(*DEFAULT_TABLES))
    for workers in (1, 2):  # warm: compiled kernels, the mapped table's pages
        refine(coarse, "hash", tables=tables, target_grid=truth.grid, workers=workers)
    runs = []
    for n in range(args.workers_only):
        w = worker_speed_up(coarse, tables, truth.grid, 3 * args.repeats)
        runs.append(w)
        print(f"run {n + 1}: 2 workers {w['speed_up']:.2f}x one ({w['one_worker_s']:.3f} s against "
              f"{w['two_workers_s']:.3f} s); the machine: two processes {w['machine']['speed_up']:.2f}x one")
    ups = [w["speed_up"] for w in runs]
    print(f"median {np.median(ups):.2f}x, {min(ups):.2f}-{max(ups):.2f}x over {len(ups)} runs "
          f"({_cpu_name()})")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "speed_workers.json").write_text(json.dumps(
        {"case": args.case, "cpu": _cpu_name(), "runs": runs, "median_speed_up": float(np.median(ups))},
        indent=1))


def best_process(argv, repeats: int) -> dict:
    runs = [process(argv) for _ in range(repeats)]
    return {k: float(np.median([r[k] for r in runs])) for k in runs[0]}


def smoothing_side_by_side(mask, repeats: int):
    """The roughness's 60 windowed-sinc iterations on the iso-surface of ``mask``: the compiled
    filter (``printing/smoothing.py``) against VTK's own with the same settings, alternating."""
    from VoxelRearrangementLib.printing.meshing import iso_surface, polydata_to_arrays
    from VoxelRearrangementLib.printing.smoothing import vtk_windowed_sinc, windowed_sinc
    vertices, faces = polydata_to_arrays(iso_surface(mask))
    windowed_sinc(vertices, faces[:1000], 2, 0.1)  # warm: the compiled kernels loaded
    ours, theirs = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        a = windowed_sinc(vertices, faces, 60, 1e-4)
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        b = vtk_windowed_sinc(vertices, faces, 60, 1e-4)
        theirs.append(time.perf_counter() - t)
    differ = float(np.abs(a - b).max())
    n = f"{len(vertices) / 1e6:.2f} M vertices"
    return [("smoothing, 60 windowed-sinc iterations: compiled here", float(np.median(ours)),
             f"{n}; largest difference from VTK's {differ:.1e} mm"),
            ("smoothing, 60 windowed-sinc iterations: VTK (every core)", float(np.median(theirs)),
             f"{n}; its polydata built inside the time")]


def machine_parallelism() -> dict:
    """Seconds of a compiled compute-bound loop alone and as two processes at once."""
    code = ("import time, numpy as np\nfrom numba import njit\n@njit\ndef w(n):\n s = 0.0\n"
            " for i in range(n):\n  s += np.sin(i * 1e-6)\n return s\nw(10)\n"
            "t = time.perf_counter(); w(60_000_000); print(time.perf_counter() - t)")
    one = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout)
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    two = max(float(p.communicate()[0]) for p in procs)
    return {"one_s": one, "two_at_once_s": two, "speed_up": 2 * one / two}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(SHARED_DATA))
    parser.add_argument("--case", default="060")
    parser.add_argument("--templates", default="000,001")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(RESULTS), help="folder of speed.{json,md} (the plot "
                        "goes to the README's screenshots only for the default folder)")
    parser.add_argument("--workers-only", type=int, metavar="N",
                        help="only the hash method's two-worker speed-up, N times in a row")
    args = parser.parse_args()
    if args.workers_only is not None:
        if args.workers_only < 1:
            parser.error("--workers-only needs at least 1 run")
        return workers_only(args)
    complete = Path(args.data) / "skullfix" / "complete"
    rows = []

    def row(what, seconds, peak_mb, note="", group="in process"):
        rows.append({"what": what, "seconds": seconds, "peak_mb": peak_mb, "note": note, "group": group})

    with tempfile.TemporaryDirectory() as cache:  # a cold cache: the first load unpacks
        os.environ["VOXELREARRANGEMENT_CACHE"] = cache
        path = resource_path(*DEFAULT_TABLES)
        _, s, mb = timed(lambda: StepTables.load(path))
        row("load bundled table, first use (unpacks into the cache)", s, mb)
        tables, s, mb = timed(lambda: StepTables.load(path), args.repeats)
        row("load bundled table (60 skulls), memory-mapped", s, mb)
        for t in args.templates.split(","):
            mask = read_mask(complete / f"{t}.nrrd")
            _, s, mb = timed(lambda: learn_template(mask, 4))
            row(f"build the tables of template {t} (new template)", s, mb)

        truth = read_mask(complete / f"{args.case}.nrrd")
        coarse = downsample(truth)
        shape = " x ".join(map(str, truth.array.shape))
        results = {}
        runs = (("trilinear", "trilinear", 1, {}), ("hash, 1 worker", "hash", 1, {}),
                ("hash, 2 workers", "hash", 2, {}), ("kdtree, 1 worker", "kdtree", 1, {}),
                ("kdtree, 2 workers", "kdtree", 2, {}), ("learned, 1 thread", "learned", 1, {}),
                ("learned, 2 threads", "learned", 2, {}))
        for label, method, workers, kw in runs:
            refine(coarse, method, tables=tables, target_grid=truth.grid, workers=workers,
                   device="cpu")  # warm: compiled kernels, oneDNN primitives
            r, s, mb = timed(lambda: refine(coarse, method, tables=tables, target_grid=truth.grid,
                                            workers=workers, device="cpu", **kw), args.repeats)
            results[label] = r.mask.array
            note = ", ".join(f"L{n + 1} {st['seconds']:.2f} s" for n, st in enumerate(r.report.get("steps", [])))
            if "learned" in r.report:
                lr = r.report["learned"]
                note = (f"{lr['precision']}; network {lr['network_seconds']:.1f} s on "
                        f"{lr['tiles_run']}/{lr['tiles']} tiles, {lr['band_voxels'] / 1e6:.1f} M band voxels")
            row(f"refine {args.case} ({shape}): {label}", s, mb, note, "refine")
        from VoxelRearrangementLib.learned.rearrangement.inference import load_rearrangement_model, rearrange
        model = load_rearrangement_model(None, "cpu")
        import torch
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        (arr32, st), s, mb = timed(lambda: rearrange(coarse, truth.grid, model, precision="float32"))
        torch.set_num_threads(threads)
        differ = int((arr32 != results["learned, 1 thread"]).sum())
        row(f"refine {args.case} ({shape}): learned, 1 thread, float32", s, mb,
            f"network {st['network_seconds']:.1f} s; {differ} voxels differ from the default", "refine")
        identical = {m: bool(np.array_equal(results[f"{m}, 1 worker"], results[f"{m}, 2 workers"]))
                     for m in ("hash", "kdtree")}
        workers = worker_speed_up(coarse, tables, truth.grid, 3 * args.repeats)
        pred = read_mask(SAMPLES / "skull069_complete.nrrd")
        sample_coarse = read_mask(SAMPLES / "skull069_coarse.nrrd")
        tri = refine(sample_coarse, "trilinear", target_grid=pred.grid).mask
        evaluate(tri, pred, smoothness=False)
        _, s, mb = timed(lambda: evaluate(tri, pred), args.repeats)
        row("evaluate the sample (all metrics)", s, mb, "the roughness's windowed-sinc smoothing is most of it")
        _, s, mb = timed(lambda: evaluate(tri, pred, smoothness=False), args.repeats)
        row("evaluate the sample (no smoothness)", s, mb)
        for label, seconds, note in smoothing_side_by_side(tri, args.repeats):
            row(label, seconds, float("nan"), note)

        with tempfile.TemporaryDirectory() as work:
            w = Path(work)
            ref = ["--coarse", SAMPLES / "skull069_coarse.nrrd", "--reference-grid",
                   SAMPLES / "skull069_complete.nrrd"]
            process(["refine", *ref, "--method", "hash", "--output", w / "h.nrrd"])  # warm caches
            procs = {m: best_process(["refine", *ref, "--method", m, "--output", w / f"{m}.nrrd"],
                                     args.repeats) for m in ("trilinear", "hash")}
            for m, p in procs.items():
                row(f"refine --method {m} (a process: 512 x 512 x 236 sample)", p["wall_s"], float("nan"),
                    f"CPU {p['cpu_s']:.2f} s", "process")
            run = best_process(["run", "--defective", SAMPLES / "skull069_defective.nrrd",
                                "--output-dir", w / "run", "--device", "cpu"], args.repeats)
            row("run --defective (the bundled sample, end to end)", run["wall_s"], float("nan"),
                f"CPU {run['cpu_s']:.2f} s; skull.stl decimated to 30 MB", "process")
            full = best_process(["run", "--defective", SAMPLES / "skull069_defective.nrrd",
                                 "--output-dir", w / "run_full", "--device", "cpu",
                                 "--skull-stl-mb", "0"], args.repeats)
            row("run --defective --skull-stl-mb 0 (every triangle: 115 MB skull.stl)", full["wall_s"],
                float("nan"), f"CPU {full['cpu_s']:.2f} s", "process")
            comp = best_process(["complete", "--defective", SAMPLES / "skull069_defective.nrrd",
                                 "--output", w / "c.nrrd", "--device", "cpu"], args.repeats)
            row("complete --defective (the bundled sample)", comp["wall_s"], float("nan"),
                f"CPU {comp['cpu_s']:.2f} s", "process")
            ev = best_process(["evaluate", "--prediction", w / "trilinear.nrrd", "--reference",
                               SAMPLES / "skull069_complete.nrrd"], args.repeats)
            row("evaluate (a process: both files read)", ev["wall_s"], float("nan"),
                f"CPU {ev['cpu_s']:.2f} s", "process")
    machine = machine_parallelism()
    cpu_ratio = procs["hash"]["cpu_s"] / procs["trilinear"]["cpu_s"]
    write(rows, identical, workers, machine, cpu_ratio, Path(args.out), args.case)


def write(rows, identical, workers, machine, cpu_ratio, out: Path, case: str) -> None:
    tri = next(r["seconds"] for r in rows if r["what"].endswith(": trilinear"))
    lines = ["| what | time (s) | x trilinear | peak memory (MB) | note |",
             "| --- | --- | --- | --- | --- |"]
    for r in rows:
        ratio = f"{r['seconds'] / tri:.1f}" if r["group"] == "refine" else ""
        mb = "" if np.isnan(r["peak_mb"]) else f"{r['peak_mb']:.0f}"
        lines.append(f"| {r['what']} | {r['seconds']:.2f} | {ratio} | {mb} | {r['note']} |")
    for what, seconds in AUTHORS.items():
        lines.append(f"| authors' code (Li et al.): {what} | {seconds:.0f} | | | as reported |")
    lines.append("")
    lines.append(f"hash: 2 workers {workers['speed_up']:.2f}x one worker ({workers['rounds']} rounds "
                 f"alternating: {workers['one_worker_s']:.2f} s against {workers['two_workers_s']:.2f} s, "
                 f"medians; the machine right after: two compute-bound processes at once "
                 f"{workers['machine']['speed_up']:.2f}x one); bit-identical to one worker: hash "
                 f"{identical['hash']}, kdtree {identical['kdtree']}. Process CPU time, hash / "
                 f"trilinear: {cpu_ratio:.2f}. This machine: {os.cpu_count()} cores "
                 f"({platform.machine()}, {_cpu_name()}); at the end a compute-bound loop in two "
                 f"processes at once ran {machine['speed_up']:.2f}x one, alone in "
                 f"{machine['one_s']:.2f} s (the ceiling of any two-thread speed-up here).")
    md = "\n".join(lines)
    print(md)
    out.mkdir(parents=True, exist_ok=True)
    (out / "speed.json").write_text(json.dumps({"case": case, "rows": rows, "parallel_identical": identical,
                                                "machine_two_process_speed_up": machine,
                                                "hash_workers": workers, "cpu": _cpu_name(),
                                                "hash_over_trilinear_process_cpu": cpu_ratio,
                                                "authors_seconds": AUTHORS}, indent=1, default=float))
    (out / "speed.md").write_text(md + "\n")
    plot(rows, PLOT if out.resolve() == RESULTS.resolve() else out / "speed.png")


def _cpu_name() -> str:
    """The processor's model name (the same virtual machine may run on other hosts)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown processor"


def plot(rows, path: Path) -> None:
    """Horizontal bars (log seconds) of the refinements and the processes, authors' beside."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    shown = [r for r in rows if r["group"] in ("refine", "process")]
    labels = [r["what"].split(": ", 1)[-1] if r["group"] == "refine" else r["what"].split(" (")[0]
              for r in shown] + [f"authors: {k}" for k in AUTHORS]
    seconds = [r["seconds"] for r in shown] + list(AUTHORS.values())
    colours = ["#4c72b0" if r["group"] == "refine" else "#55a868" for r in shown] + ["#c44e52"] * len(AUTHORS)
    fig, ax = plt.subplots(figsize=(9, 0.38 * len(labels) + 1))
    ax.barh(range(len(labels)), seconds, color=colours)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("seconds (log scale)")
    ax.set_title("blue: refining a 512 x 512 skull in process; green: whole commands; "
                 "red: the authors' code", fontsize=9)
    for n, s in enumerate(seconds):
        ax.text(s, n, f" {s:.2f}", va="center", fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    if sys.argv[1:] == ["--plot-only"]:  # redraw the plot from the last results
        plot(json.loads((RESULTS / "speed.json").read_text())["rows"], PLOT)
    else:
        main()
