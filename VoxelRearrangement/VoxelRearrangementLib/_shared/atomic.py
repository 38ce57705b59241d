"""Output files that are never half-written: checks of output paths and one atomic writer.

Every file the library writes (masks, meshes, reports, tables, weights, logs) goes through
:func:`atomic_output`: the content is written to a temporary file with a per-process unique
name beside the destination (``.tmp-<pid>-<random><suffix>``) and renamed over it only once
complete, so a failure, a second process writing the same file, or an interruption never
leaves a partial file at the destination; the temporary file is removed on failure. A process
killed outright (SIGKILL) cannot clean up: the next write into the folder removes temporary
files of processes that no longer run (:func:`remove_stale`).
"""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Union

from .errors import VoxelRearrangementError

PathLike = Union[str, os.PathLike]
#: Prefix of the temporary files of :func:`atomic_output` (hidden on POSIX).
TEMP_PREFIX = ".tmp-"


def temporary_prefix(stem: str = "") -> str:
    """The prefix of this process's temporary names: ``.tmp-<stem><pid>-``."""
    return f"{TEMP_PREFIX}{stem}{os.getpid()}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(folder: PathLike, stem: str = "") -> None:
    """Remove ``folder``'s temporary files and folders (``.tmp-<stem><pid>-...``) left by
    processes that no longer run."""
    import shutil
    start = TEMP_PREFIX + stem
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return
    for entry in entries:
        if not entry.name.startswith(start):
            continue
        pid = entry.name[len(start):].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                try:
                    entry.unlink()
                except OSError:
                    pass


def check_outputs(outputs, inputs=()) -> None:
    """Before any work: every output path can be written (its folder exists and is writable),
    no two outputs are the same file, and no output is one of the ``inputs`` (which a run
    would destroy). ``None`` entries are skipped."""
    seen = {}
    given = [Path(p) for p in inputs if p is not None]
    for out in (Path(p) for p in outputs if p is not None):
        check_writable(out)
        key = out.resolve()
        if key in seen:
            raise VoxelRearrangementError(f"{out} is given as two outputs")
        seen[key] = out
        for source in given:
            if source.resolve() == key or (source.exists() and out.exists()
                                            and os.path.samefile(source, out)):
                raise VoxelRearrangementError(
                    f"{out} is also an input: writing it would destroy the input; choose "
                    "another output name")


def check_writable(path: PathLike) -> Path:
    """The folder of ``path`` if a file can be written there; a clear error otherwise.
    Call it before long work so that a bad output path fails at once."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise VoxelRearrangementError(f"{path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise VoxelRearrangementError(f"{path}: the folder {folder} is not writable")
    if path.is_dir():
        raise VoxelRearrangementError(f"{path} is a folder, not a file name")
    return folder


@contextmanager
def atomic_output(path: PathLike, suffix: str = "") -> Iterator[str]:
    """Yield a temporary file name beside ``path`` (ending in ``suffix``, so writers that go
    by the extension work); on success it is renamed over ``path`` with the usual
    permissions, on failure removed: ``path`` is never half-written."""
    path = Path(path)
    folder = check_writable(path)
    remove_stale(folder)
    fd, tmp = tempfile.mkstemp(prefix=temporary_prefix(), suffix=suffix, dir=folder)
    os.close(fd)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_text(path: PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_output`)."""
    with atomic_output(path, Path(path).suffix) as tmp:
        Path(tmp).write_text(text)
    return Path(path)
