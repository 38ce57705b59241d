"""Vote tables learned from template skulls, one per pyramid step, with an on-disk cache.

Building the tables of a template costs a few seconds (two zooms of the full-resolution
template and the band votes), so they are cached under ``cache_dir`` (default
``$VOXELREARRANGEMENT_CACHE`` or ``~/.cache/VoxelRearrangement``), keyed by a hash of the
template's voxels, geometry and the table settings. Several templates' tables are pooled into
one :class:`StepTables`, which can also be saved and shipped (a table built from many
training skulls).
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence, Tuple, Union

import numpy as np

from .._shared.atomic import atomic_output
from .._shared.errors import VoxelRearrangementError
from ..grids.geometry import CHALLENGE_COARSE_SHAPE, Mask
from ..grids.pyramid import degrade_template
from ..io.masks import read_mask
from .hashtable import CodeHashTable
from .level_step import LevelStep, SourceLevel
from .votes import CodeVotes

TABLE_FORMAT_VERSION = 4
#: The arrays of a step kept unpacked, memory-mapped, in the cache (see :meth:`StepTables.load`).
_UNPACKED = ("codes", "indptr", "classes", "ones", "total", "slot_keys", "slot_rows")
#: The entry arrays that a format-4 file stores as they are unpacked (copied, not decoded).
_STORED_AS_IS = ("classes", "ones", "total")


@dataclass
class StepTables:
    """Vote tables of the two pyramid steps, L0 -> L1 and L1 -> L2.

    Saved (``.npz``, compressed) as, per step, the gaps between the sorted codes, the count of
    offset classes per code, each entry's class and its votes; format 3 (sorted keys as gaps)
    is still read. Loading unpacks a file once into the cache folder as plain arrays with the
    built hash tables and memory-maps them afterwards: a load then costs milliseconds, and
    only the pages a refinement reads are brought into memory."""

    steps: Sequence[CodeVotes]
    n_templates: int

    @property
    def offset_bins(self) -> int:
        return self.steps[0].offset_bins

    def save(self, path: os.PathLike) -> None:
        arrays = {"version": TABLE_FORMAT_VERSION, "n_templates": self.n_templates,
                  "offset_bins": self.offset_bins}
        for s, v in enumerate(self.steps):  # gaps and counts compress far better than keys
            arrays.update({f"code_gaps{s}": np.diff(v.codes, prepend=0).astype(np.uint32),
                           f"counts{s}": np.diff(v.indptr).astype(np.uint8),
                           f"classes{s}": v.classes, f"ones{s}": v.ones, f"total{s}": v.total})
        with atomic_output(path, ".npz") as tmp:
            np.savez_compressed(tmp, **arrays)

    @classmethod
    def load(cls, path: os.PathLike, cache: bool = True) -> "StepTables":
        """The tables of a file written by :meth:`save`; with ``cache``, through the unpacked,
        memory-mapped copy in :func:`default_cache_dir` (made on first use)."""
        path = Path(path)
        if not path.is_file():
            raise VoxelRearrangementError(f"{path}: no such vote table")
        tables = _cached(path, _unpacked_folder(path)) if cache else None
        return tables if tables is not None else _read(path)

    @classmethod
    def merge(cls, tables: Sequence["StepTables"]) -> "StepTables":
        return cls([CodeVotes.merge(t.steps[s] for t in tables) for s in (0, 1)],
                   sum(t.n_templates for t in tables))


def _read_steps(path: Path, entries: bool = True) -> Iterator[Tuple[CodeVotes, int]]:
    """Each step's votes in turn, read from a file (formats 3 and 4) when asked for, so that
    only one step is in memory at a time, with the file's template count; a clear error
    naming the file when it is not a vote table. Without ``entries``, a format-4 file's entry
    arrays (:data:`_STORED_AS_IS`, most of its size) are left unread (None), to be copied
    from the file as they are (:func:`_unpack`)."""
    try:
        with np.load(path) as z:
            version = int(z["version"])
            if version not in (3, TABLE_FORMAT_VERSION):
                raise VoxelRearrangementError(
                    f"{path}: table format {version}, expected {TABLE_FORMAT_VERSION}")
            bins, n_templates = int(z["offset_bins"]), int(z["n_templates"])
            for s in (0, 1):  # no name holds a step while the next is decoded
                if version == 3:
                    yield CodeVotes.from_keys(np.cumsum(z[f"key_gaps{s}"]).astype(np.int64),
                                              z[f"ones{s}"], z[f"total{s}"], bins), n_templates
                else:
                    yield CodeVotes(
                        np.cumsum(z[f"code_gaps{s}"], dtype=np.int64).astype(np.int32),
                        np.concatenate([[0], np.cumsum(z[f"counts{s}"], dtype=np.int64)]),
                        *(z[f"{name}{s}"] if entries else None for name in _STORED_AS_IS),
                        bins), n_templates
    except VoxelRearrangementError:
        raise
    except Exception as exc:
        raise VoxelRearrangementError(f"{path}: not a readable vote table ({exc})") from exc


def _read(path: Path) -> StepTables:
    """The tables of a file, in memory."""
    steps, n_templates = [], 0
    for votes, n_templates in _read_steps(path):
        steps.append(votes)
    return StepTables(steps, n_templates)


def _unpacked_folder(path: Path) -> Optional[Path]:
    """The cache folder of a table file (by its resolved path, size and modification time)."""
    stat = path.stat()
    key = hashlib.sha256(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|"
                         f"{TABLE_FORMAT_VERSION}".encode()).hexdigest()[:24]
    return default_cache_dir() / f"table-{key}"


def _cached(path: Path, folder: Path) -> Optional[StepTables]:
    """The tables of ``path`` memory-mapped from its cache ``folder``, unpacked there first
    when absent or damaged; None when the cache can be neither written nor read."""
    import shutil
    if (folder / "meta.json").is_file():
        try:
            return _mapped(folder)
        except Exception:
            pass
    if folder.exists():  # a damaged entry (an entry is complete once it exists): unpacked again
        shutil.rmtree(folder, ignore_errors=True)
    if not _unpack(path, folder):
        return None
    try:
        return _mapped(folder)
    except Exception:
        return None


def _unpack(path: Path, folder: Path) -> bool:
    """Write the tables of the file ``path`` (with their hash tables) as plain arrays into
    ``folder``, one step at a time, the entry arrays of a format-4 file streamed from it as
    they are (the first use's peak memory is about a step's codes and hash table), atomically (a
    temporary folder renamed, removed when anything fails); False when the cache cannot be
    written (that only costs time)."""
    import json
    import shutil
    import tempfile
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{os.getpid()}-", dir=folder.parent))
    except OSError:
        return False
    try:
        meta = {"bits": []}
        for s, (votes, n_templates) in enumerate(_read_steps(path, entries=False)):
            table = votes.code_table()
            arrays = {"codes": votes.codes, "indptr": votes.indptr, "classes": votes.classes,
                      "ones": votes.ones, "total": votes.total, "slot_keys": table.slot_keys,
                      "slot_rows": table.slot_rows}
            for name in _UNPACKED:
                if arrays[name] is None:  # stored as it is unpacked: copied, never in memory
                    _copy_member(path, f"{name}{s}.npy", tmp / f"{name}{s}.npy")
                else:
                    np.save(tmp / f"{name}{s}.npy", arrays[name])
            meta.update(n_templates=n_templates, offset_bins=votes.offset_bins)
            meta["bits"].append(table.bits)
            del votes, table, arrays
        (tmp / "meta.json").write_text(json.dumps(meta))
    except BaseException as exc:  # nothing half-written is left in the cache
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            return False
        raise
    try:
        os.replace(tmp, folder)
    except OSError:  # another process unpacked it first
        shutil.rmtree(tmp, ignore_errors=True)
    return True


def _copy_member(path: Path, member: str, destination: Path) -> None:
    """Stream the array file ``member`` of the archive ``path`` to ``destination``."""
    import shutil
    import zipfile
    import zlib
    try:
        with zipfile.ZipFile(path) as archive, archive.open(member) as source, \
                open(destination, "wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)
    except (zipfile.BadZipFile, zlib.error, EOFError, KeyError, ValueError) as exc:
        raise VoxelRearrangementError(f"{path}: not a readable vote table ({exc})") from exc


def _mapped(folder: Path) -> StepTables:
    """The tables of an unpacked cache folder, memory-mapped (read-only)."""
    import json
    meta = json.loads((folder / "meta.json").read_text())
    steps = []
    for s in (0, 1):
        a = {name: np.load(folder / f"{name}{s}.npy", mmap_mode="r") for name in _UNPACKED}
        table = CodeHashTable.from_slots(a["slot_keys"], a["slot_rows"], meta["bits"][s])
        steps.append(CodeVotes(a["codes"], a["indptr"], a["classes"], a["ones"], a["total"],
                               int(meta["offset_bins"]), table))
    return StepTables(steps, int(meta["n_templates"]))


def default_tables() -> "StepTables":
    """The bundled vote tables of the SkullFix training skulls 000-059."""
    from .._shared.resources import DEFAULT_TABLES, resource_path
    return StepTables.load(resource_path(*DEFAULT_TABLES))


def default_cache_dir() -> Path:
    return Path(os.environ.get("VOXELREARRANGEMENT_CACHE",
                               Path.home() / ".cache" / "VoxelRearrangement"))


def _template_key(template: Union[Mask, os.PathLike, str], offset_bins: int,
                  coarse_shape: Sequence[int]) -> str:
    """Cache key: a hash of the template file's bytes, or of a mask's voxels and geometry."""
    h = hashlib.sha256()
    if isinstance(template, Mask):
        h.update(np.packbits(template.array.astype(bool)).tobytes())
        h.update(np.asarray(template.array.shape, dtype=np.int64).tobytes())
        h.update(np.round(template.ijk_to_lps, 6).tobytes())
    else:
        h.update(Path(template).read_bytes())
    h.update(f"bins={offset_bins};coarse={tuple(coarse_shape)};v={TABLE_FORMAT_VERSION}".encode())
    return h.hexdigest()[:32]


def learn_template(template: Mask, offset_bins: int,
                   coarse_shape: Sequence[int] = CHALLENGE_COARSE_SHAPE) -> StepTables:
    """Degrade one template as a query is degraded (to ``coarse_shape``) and learn the votes
    of both steps."""
    if not template.array.any():
        raise VoxelRearrangementError("a template skull is empty (no voxel set)")
    if any(n <= c for n, c in zip(template.array.shape, coarse_shape)):
        raise VoxelRearrangementError(
            f"a template skull of {template.array.shape} voxels is not finer than the coarse "
            f"grid {tuple(coarse_shape)}: templates must be high-resolution skulls")
    levels = degrade_template(template, coarse_shape)
    steps = []
    for s in (0, 1):
        source = SourceLevel.prepare(levels[s].array)
        if not source.mixed.any():
            raise VoxelRearrangementError("a template skull has no surface at the coarse level")
        step = LevelStep(levels[s].grid, levels[s + 1].grid, offset_bins)
        steps.append(CodeVotes.learn(source, step, levels[s + 1].array))
    return StepTables(steps, 1)


def template_tables(templates: Sequence[Union[Mask, os.PathLike, str]], offset_bins: int,
                    cache_dir: Optional[os.PathLike] = None, use_cache: bool = True,
                    progress=None, coarse_shape: Sequence[int] = CHALLENGE_COARSE_SHAPE,
                    check: Optional[Callable[[Mask, str], None]] = None) -> StepTables:
    """Pooled vote tables of ``templates`` (masks, or mask files read only when their tables
    are not cached yet), each read from or written to the cache. ``check(mask, what)`` is
    called on every template that is learned (e.g. :func:`~..checks.check_skull`)."""
    if not templates:
        raise VoxelRearrangementError("template synthesis needs at least one template skull")
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    tables = []
    for n, template in enumerate(templates):
        if progress is not None:
            progress(n / len(templates), f"template {n + 1} of {len(templates)}")
        if not isinstance(template, Mask) and not Path(template).is_file():
            raise VoxelRearrangementError(f"{template}: no such template file")
        path = folder / f"votes-{_template_key(template, offset_bins, coarse_shape)}.npz"
        if use_cache and path.is_file():
            tables.append(StepTables.load(path, cache=False))
            continue
        mask = template if isinstance(template, Mask) else read_mask(template)
        if check is not None:
            check(mask, f"template {template if not isinstance(template, Mask) else n + 1}")
        table = learn_template(mask, offset_bins, coarse_shape)
        if use_cache:
            try:
                folder.mkdir(parents=True, exist_ok=True)
                table.save(path)
            except OSError:
                pass  # an unwritable cache only costs time
        tables.append(table)
    return StepTables.merge(tables) if len(tables) > 1 else tables[0]
