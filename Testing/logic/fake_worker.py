"""A stand-in worker for the runner tests (``python -m fake_worker <behaviour>``): it follows
the worker contract (PROGRESS lines, ``error:`` on stderr, exit 2/3) without doing real work.

Behaviours: ``ok`` (progress, exit 0), ``bad`` (exit 2 with an error line), ``crash``
(a traceback, exit 1), ``hang`` (start a child process, print both PIDs, then sleep).
"""
import subprocess
import sys
import time


def main(behaviour: str) -> int:
    print("PROGRESS 0.100 starting", flush=True)
    if behaviour == "ok":
        print("some log line", flush=True)
        print("PROGRESS 1.000 done", flush=True)
        return 0
    if behaviour == "bad":
        print("error: the coarse mask is empty (no voxel set)", file=sys.stderr, flush=True)
        return 2
    if behaviour == "crash":
        raise RuntimeError("unexpected failure inside the worker")
    if behaviour == "hang":
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        print(f"PIDS {child.pid}", flush=True)
        print("PROGRESS 0.200 working", flush=True)
        time.sleep(600)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
