"""Vote table files: the unpacked, memory-mapped cache gives exactly the file's tables."""
import struct
import zipfile

import numpy as np
import pytest

from helpers import sheared_matrix, shell
from VoxelRearrangementLib._shared.errors import VoxelRearrangementError
from VoxelRearrangementLib.synthesis.tables import StepTables, learn_template

ARRAYS = ("codes", "indptr", "classes", "ones", "total")


@pytest.fixture(scope="module")
def table_file(tmp_path_factory):
    template = shell(matrix=sheared_matrix(), radii=(19, 17, 14), thickness=4)
    path = tmp_path_factory.mktemp("tables") / "t.npz"
    learn_template(template, 4, (12, 11, 9)).save(path)
    return path


def assert_same(a: StepTables, b: StepTables) -> None:
    assert a.n_templates == b.n_templates and a.offset_bins == b.offset_bins
    for sa, sb in zip(a.steps, b.steps):
        for name in ARRAYS:
            x, y = getattr(sa, name), getattr(sb, name)
            assert x.dtype == y.dtype and np.array_equal(x, y), name
        queries = np.concatenate([sb.codes[::3].astype(np.int64), [7, 2 ** 27 - 1]])
        assert np.array_equal(sa.code_table().lookup(queries), sb.code_table().lookup(queries))


def test_the_cached_tables_are_the_files_memory_mapped(table_file, tmp_path, monkeypatch):
    monkeypatch.setenv("VOXELREARRANGEMENT_CACHE", str(tmp_path))
    in_memory = StepTables.load(table_file, cache=False)
    first = StepTables.load(table_file)  # unpacks into the cache
    again = StepTables.load(table_file)  # maps what the first one unpacked
    assert len(list(tmp_path.glob("table-*/meta.json"))) == 1
    assert isinstance(first.steps[1].ones, np.memmap) and isinstance(again.steps[0].total, np.memmap)
    assert_same(first, in_memory)
    assert_same(again, in_memory)


@pytest.mark.parametrize("damage", ["truncated array", "no meta.json"])
def test_a_damaged_cache_entry_is_unpacked_again(table_file, tmp_path, monkeypatch, damage):
    monkeypatch.setenv("VOXELREARRANGEMENT_CACHE", str(tmp_path))
    StepTables.load(table_file)
    entry = next(tmp_path.glob("table-*"))
    size = (entry / "ones1.npy").stat().st_size
    if damage == "truncated array":
        (entry / "ones1.npy").write_bytes((entry / "ones1.npy").read_bytes()[:40])
    else:
        (entry / "meta.json").unlink()
    repaired = StepTables.load(table_file)
    assert isinstance(repaired.steps[1].ones, np.memmap)  # mapped again, not read into memory
    assert (entry / "ones1.npy").stat().st_size == size and (entry / "meta.json").is_file()
    assert_same(repaired, StepTables.load(table_file, cache=False))


def test_an_unwritable_cache_only_costs_time(table_file, tmp_path, monkeypatch):
    blocked = tmp_path / "a file, not a folder"
    blocked.write_text("")
    monkeypatch.setenv("VOXELREARRANGEMENT_CACHE", str(blocked / "cache"))
    tables = StepTables.load(table_file)
    assert not isinstance(tables.steps[1].ones, np.memmap)
    assert_same(tables, StepTables.load(table_file, cache=False))


@pytest.mark.parametrize("cache", [True, False])
def test_a_file_that_is_no_table_is_named(tmp_path, monkeypatch, cache):
    monkeypatch.setenv("VOXELREARRANGEMENT_CACHE", str(tmp_path / "cache"))
    bad = tmp_path / "not_a_table.npz"
    bad.write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(VoxelRearrangementError, match="not_a_table.npz: not a readable vote table"):
        StepTables.load(bad, cache=cache)
    other = tmp_path / "other.npz"
    np.savez(other, version=4, n_templates=1, offset_bins=4)  # the step arrays missing
    with pytest.raises(VoxelRearrangementError, match="other.npz: not a readable vote table"):
        StepTables.load(other, cache=cache)
    cached = tmp_path / "cache"
    assert not cached.exists() or not any(cached.iterdir())  # nothing half-unpacked is left


def test_a_table_damaged_inside_an_array_is_named_and_leaves_no_cache(table_file, tmp_path,
                                                                     monkeypatch):
    # the deflate stream of an entry array streamed into the cache (ones1) is damaged at its
    # start (zlib's "invalid block type"), after step 0 was unpacked
    monkeypatch.setenv("VOXELREARRANGEMENT_CACHE", str(tmp_path / "cache"))
    bad = tmp_path / "damaged.npz"
    data = bytearray(table_file.read_bytes())
    with zipfile.ZipFile(table_file) as archive:
        offset = archive.getinfo("ones1.npy").header_offset
    name_length, extra_length = struct.unpack("<HH", data[offset + 26:offset + 30])
    start = offset + 30 + name_length + extra_length  # the member's data, after its local header
    data[start:start + 4] = b"\xff" * 4
    bad.write_bytes(bytes(data))
    for cache in (True, False):
        with pytest.raises(VoxelRearrangementError, match="damaged.npz: not a readable vote table"):
            StepTables.load(bad, cache=cache)
    assert not any((tmp_path / "cache").iterdir())  # nothing half-unpacked is left
