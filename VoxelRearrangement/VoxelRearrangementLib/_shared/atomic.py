"""Output files that are never half-written: checks of output paths and one atomic writer.

Every file the library writes (masks, meshes, reports, tables, weights, logs) goes through
:func:`atomic_output`: the content is written to a temporary file with a per-process unique
name beside the destination (``.tmp-<random><suffix>``) and renamed over it only once complete,
so a failure, a second process writing the same file, or an interruption never leaves a
partial file at the destination; the temporary file is removed on failure.
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
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=suffix, dir=folder)
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
