"""One background process of the Lib's command line (the worker), polled without blocking.

The worker follows :mod:`VoxelRearrangementLib.cli.protocol` (progress lines on stdout,
``error:`` lines on stderr, :class:`~VoxelRearrangementLib.cli.protocol.ExitCode`). Its output is read
in a thread into a queue, so :meth:`WorkerProcess.poll` never blocks: Slicer's GUI polls it
from a timer, scripts and tests wait on it. Cancel kills the whole process tree (the worker
may start pools of processes), with psutil when available and the process group otherwise.
"""
from __future__ import annotations

import collections
import os
import queue
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

from VoxelRearrangementLib._shared.errors import Cancelled, VoxelRearrangementError
from VoxelRearrangementLib._shared.progress import ProgressCallback
from VoxelRearrangementLib.cli.protocol import ExitCode, parse_error, parse_progress


class WorkerCrashed(RuntimeError):
    """The worker failed unexpectedly (not a bad-input error); the message holds its last lines."""


@dataclass
class WorkerStep:
    """One run of the worker: its arguments after ``-m VoxelRearrangementLib`` and a label
    shown to the user."""

    arguments: List[str]
    label: str


@dataclass
class WorkerEnvironment:
    """How to start the worker: the Python executable (PythonSlicer inside Slicer), the module
    run with ``-m``, the environment (None: inherit this process's), the folder that holds
    ``VoxelRearrangementLib`` (prepended to PYTHONPATH) and extra variables."""

    python: str = sys.executable
    module: str = "VoxelRearrangementLib"
    env: Optional[Dict[str, str]] = None
    lib_parent: Optional[str] = None
    extra_env: Dict[str, str] = field(default_factory=dict)

    def command(self, arguments: Sequence[str]) -> List[str]:
        return [self.python, "-m", self.module, *arguments]

    def environment(self) -> Dict[str, str]:
        env = dict(os.environ if self.env is None else self.env)
        if self.lib_parent:
            env["PYTHONPATH"] = os.pathsep.join(p for p in (self.lib_parent, env.get("PYTHONPATH")) if p)
        env.setdefault("PYTHONUNBUFFERED", "1")
        env.update(self.extra_env)
        return env


def kill_process_tree(pid: int) -> None:
    """Kill a process and all its descendants, and wait for them to be gone."""
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        try:
            parent = psutil.Process(pid)
            procs = parent.children(recursive=True) + [parent]
        except psutil.NoSuchProcess:
            return
        for proc in procs:
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(procs, timeout=10)
    elif os.name == "nt":
        subprocess.run(["taskkill", "/F", "/T", "/PID", str(pid)], capture_output=True, check=False)
    else:
        try:
            os.killpg(os.getpgid(pid), signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class WorkerProcess:
    """A started worker. Call :meth:`poll` until it returns True, then read :attr:`returncode`
    (or catch what :meth:`raise_for_status` raises)."""

    def __init__(self, step: WorkerStep, environment: WorkerEnvironment, cwd: str,
                 on_progress: Optional[ProgressCallback] = None,
                 on_line: Optional[Callable[[str], None]] = None) -> None:
        self.step = step
        self.on_progress = on_progress
        self.on_line = on_line
        self.tail = collections.deque(maxlen=40)
        self.errors: List[str] = []
        self.cancelled = False
        self.returncode: Optional[int] = None
        self._lines: "queue.Queue[Optional[str]]" = queue.Queue()
        kwargs = {}
        if os.name == "nt":
            startup = subprocess.STARTUPINFO()
            startup.dwFlags |= subprocess.STARTF_USESHOWWINDOW  # no console window
            kwargs["startupinfo"] = startup
            kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
        else:
            kwargs["start_new_session"] = True  # own process group, for the fallback kill
        self.process = subprocess.Popen(
            environment.command(step.arguments), cwd=cwd, env=environment.environment(),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, encoding="utf-8", errors="replace", bufsize=1, **kwargs)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\r\n"))
        self._lines.put(None)

    def poll(self) -> bool:
        """Handle the output printed so far; True once the worker has exited and all its
        output has been handled."""
        while True:
            try:
                line = self._lines.get_nowait()
            except queue.Empty:
                return False
            if line is None:
                self.returncode = self.process.wait()
                self.process.stdout.close()
                return True
            self._handle(line)

    def _handle(self, line: str) -> None:
        progress = parse_progress(line)
        if progress is not None:
            if self.on_progress is not None:
                self.on_progress(*progress)
            return
        error = parse_error(line)
        if error is not None:
            self.errors.append(error)
        if line.strip():
            self.tail.append(line)
        if self.on_line is not None:
            self.on_line(line)

    def cancel(self) -> None:
        """Kill the worker and everything it started; :meth:`poll` then reports the end."""
        self.cancelled = True
        if self.process.poll() is None:
            kill_process_tree(self.process.pid)

    def raise_for_status(self) -> None:
        """Raise Cancelled, VoxelRearrangementError (bad input) or WorkerCrashed unless the
        worker succeeded."""
        code = self.returncode
        if self.cancelled or code == ExitCode.CANCELLED:
            raise Cancelled(f"{self.step.label}: cancelled")
        if code == ExitCode.OK:
            return
        if code == ExitCode.BAD_INPUT:
            message = "; ".join(self.errors) or (self.tail[-1] if self.tail else "bad input")
            raise VoxelRearrangementError(message)
        raise WorkerCrashed(f"{self.step.label} failed (exit status {code}):\n" + "\n".join(self.tail))
