"""stash.nco: nengo's file-object API both ways, NCO files mapped, hostile objects refused."""
import functools
import gc
import io
import os
import pickle
import struct

import numpy as np
import pytest

import stash

# ---- nengo's procedure (nengo.utils.nco), reimplemented for the test -------
# A header "@3sBLLLL" (magic, version, then the absolute offsets of the
# pickle and of the NPY data), the pickle and the NPY file each on a 16-byte
# boundary, written header last; read through windows of the file.

NENGO_HEADER = "@3sBLLLL"
NENGO_HEADER_BYTES = struct.calcsize(NENGO_HEADER)
assert NENGO_HEADER_BYTES == 40  # LP64, the layout stash reads and writes


def align16(n):
    return -(-n // 16) * 16


def nengo_write(fileobj, metadata, array):
    start = fileobj.tell()
    pickle_start = align16(start + NENGO_HEADER_BYTES)
    fileobj.seek(pickle_start)
    pickle.dump(metadata, fileobj, pickle.HIGHEST_PROTOCOL)
    pickle_end = fileobj.tell()
    array_start = align16(pickle_end)
    fileobj.seek(array_start)
    np.save(fileobj, array)
    array_end = fileobj.tell()
    fileobj.seek(start)
    fileobj.write(struct.pack(NENGO_HEADER, b"NCO", 0, pickle_start, pickle_end, array_start,
                              array_end))
    fileobj.seek(array_end)


class Window:
    """Reads and seeks limited to [start, end) of a file, as nengo's Subfile."""

    def __init__(self, fileobj, start, end):
        self.fileobj, self.start, self.end = fileobj, start, end
        fileobj.seek(start)

    def _left(self, size):
        left = max(0, self.end - self.fileobj.tell())
        return left if size is None or size < 0 else min(size, left)

    def read(self, size=-1):
        return self.fileobj.read(self._left(size))

    def readline(self, size=-1):
        return self.fileobj.readline(self._left(size))

    def seek(self, offset, whence=os.SEEK_SET):
        base = {os.SEEK_SET: self.start, os.SEEK_CUR: self.fileobj.tell(),
                os.SEEK_END: self.end}[whence]
        self.fileobj.seek(max(self.start, min(self.end, base + offset)))

    def tell(self):
        return self.fileobj.tell() - self.start


def nengo_read(fileobj):
    header = fileobj.read(NENGO_HEADER_BYTES)
    magic, version, pickle_start, pickle_end, array_start, array_end = struct.unpack(
        NENGO_HEADER, header)
    assert magic == b"NCO" and version == 0
    metadata = pickle.load(Window(fileobj, pickle_start, pickle_end))
    array = np.load(Window(fileobj, array_start, array_end))
    return metadata, array


# ---- samples -----------------------------------------------------------------

METADATA = [
    None, True, 7, -2**63, 1.5, float("inf"), "text ü", b"\x00bytes", [], (), {},
    {"name": "decoders", "shape": (3, 4), "seed": 12, "params": [1.0, None, "lif"],
     "nested": {"a": [b"x", (1, 2.5)], "empty": ()}},
]

ARRAYS = [
    np.arange(12.0).reshape(3, 4),
    np.asfortranarray(np.arange(12, dtype=">i4").reshape(3, 4)),
    np.float32(3.5) * np.ones(()),
    np.zeros((0, 5), dtype=np.int16),
    (np.arange(6) + 1j).astype(np.complex64),
    np.array([True, False, True]),
    np.arange(10, dtype=">f8"),
]


def same_array(a, b):
    assert a.dtype == b.dtype
    assert a.shape == b.shape
    assert a.flags.f_contiguous == b.flags.f_contiguous
    assert a.tobytes("A") == b.tobytes("A")


def same_meta(a, b):
    assert type(a) is type(b)
    assert a == b


# ---- the file-object API against nengo's ---------------------------------

@pytest.mark.parametrize("metadata", METADATA)
def test_stash_reads_what_nengo_writes(metadata):
    for array in ARRAYS:
        f = io.BytesIO()
        nengo_write(f, metadata, array)
        end = f.tell()
        f.seek(0)
        got_meta, got_array = stash.nco.read(f)
        same_meta(got_meta, metadata)
        same_array(got_array, array)
        assert f.tell() == end


@pytest.mark.parametrize("metadata", METADATA)
def test_nengo_reads_what_stash_writes(metadata):
    for array in ARRAYS:
        f = io.BytesIO()
        stash.nco.write(f, metadata, array)
        end = f.tell()
        f.seek(0)
        got_meta, got_array = nengo_read(f)
        same_meta(got_meta, metadata)
        same_array(got_array, array)
        assert f.tell() == end


def test_read_returns_a_writable_array_as_nengo_does():
    f = io.BytesIO()
    nengo_write(f, None, np.arange(4.0))
    f.seek(0)
    _, array = stash.nco.read(f)
    f.seek(0)
    _, theirs = nengo_read(f)
    assert array.flags.writeable and theirs.flags.writeable
    array[0] = 9
    f.seek(0)
    assert stash.nco.read(f)[1][0] == 0


@pytest.mark.parametrize("offset", [0, 1, 3, 16, 40, 63, 1000])
def test_offsets_are_the_files_when_objects_start_mid_way(offset):
    """The header's offsets are absolute, as nengo writes them, wherever the object starts."""
    meta, array = {"at": offset}, np.arange(offset + 1, dtype=np.float64)
    f = io.BytesIO(b"\xff" * offset)
    f.seek(offset)
    nengo_write(f, meta, array)
    f.seek(offset)
    got = stash.nco.read(f)
    same_meta(got[0], meta)
    same_array(got[1], array)

    g = io.BytesIO(b"\xff" * offset)
    g.seek(offset)
    stash.nco.write(g, meta, array)
    assert g.getvalue()[:offset] == b"\xff" * offset
    g.seek(offset)
    got = nengo_read(g)
    same_meta(got[0], meta)
    same_array(got[1], array)


def test_chains_go_both_ways():
    """nengo's legacy cache chained objects: each header where the last array ends."""
    f = io.BytesIO()
    for i, array in enumerate(ARRAYS):
        nengo_write(f, {"i": i}, array)
    f.seek(0)
    for i, array in enumerate(ARRAYS):
        meta, got = stash.nco.read(f)
        assert meta == {"i": i}
        same_array(got, array)
    with pytest.raises(stash.EndOfData):
        stash.nco.read(f)

    g = io.BytesIO()
    for i, array in enumerate(ARRAYS):
        stash.nco.write(g, {"i": i}, array)
    g.seek(0)
    for i, array in enumerate(ARRAYS):
        meta, got = nengo_read(g)
        assert meta == {"i": i}
        same_array(got, array)


def test_the_array_data_is_aligned_in_memory_as_in_the_file():
    """stash writes the NPY data 64-byte aligned in the file; read keeps it so in memory."""
    for offset in (0, 5, 40):
        f = io.BytesIO(b"\x00" * offset)
        f.seek(offset)
        stash.nco.write(f, {"k": 1}, np.arange(8, dtype=np.complex128))
        f.seek(offset)
        _, array = stash.nco.read(f)
        assert array.ctypes.data % 64 == 0


@pytest.mark.parametrize("buffering", [0, -1])
def test_real_files_buffered_or_raw(tmp_path, buffering):
    path = tmp_path / "a.nco"
    big = np.random.default_rng(2).standard_normal((300, 300))  # past the GIL-free size
    with open(path, "wb", buffering=buffering) as f:
        stash.nco.write(f, {"big": True}, big)
        stash.nco.write(f, None, np.arange(3))
    with open(path, "rb", buffering=buffering) as f:
        meta, array = stash.nco.read(f)
        assert meta == {"big": True}
        same_array(array, big)
        meta, array = stash.nco.read(f)
        assert meta is None
        same_array(array, np.arange(3))
    with open(path, "rb") as f:
        same_array(nengo_read(f)[1], big)


class ReadOnlyStream:
    """A file object with read and tell only, and reads that come in small parts."""

    def __init__(self, data):
        self.data, self.pos = data, 0

    def tell(self):
        return self.pos

    def read(self, size):
        part = self.data[self.pos:self.pos + min(size, 7)]
        self.pos += len(part)
        return part


def test_file_objects_without_readinto_and_with_short_reads():
    f = io.BytesIO()
    stash.nco.write(f, {"x": [1, 2]}, np.arange(50))
    meta, array = stash.nco.read(ReadOnlyStream(f.getvalue()))
    assert meta == {"x": [1, 2]}
    same_array(array, np.arange(50))


class KeepingWriter:
    """A file object that keeps what it is given instead of copying it."""

    def __init__(self):
        self.parts = []

    def tell(self):
        return sum(len(memoryview(p)) for p in self.parts)

    def write(self, data):
        self.parts.append(data)
        return len(memoryview(data))


def test_a_writer_that_keeps_the_buffer_keeps_it_valid():
    w = KeepingWriter()
    stash.nco.write(w, {"kept": 1}, np.arange(1000.0))
    gc.collect()
    data = b"".join(bytes(p) for p in w.parts)
    meta, array = stash.nco.read(io.BytesIO(data))
    assert meta == {"kept": 1}
    same_array(array, np.arange(1000.0))


# ---- append, pack, open ------------------------------------------------------

def test_append_pack_and_open(tmp_path):
    path = tmp_path / "cache.nco"
    stash.nco.pack(path, {"first": True}, ARRAYS[0])
    for i, array in enumerate(ARRAYS[1:]):
        stash.nco.append(str(path), {"i": i}, array, durable=(i == 0))
    with stash.nco.open(path) as f:
        assert len(f) == len(ARRAYS)
        assert f.meta(0) == {"first": True}
        assert f.meta(-1) == {"i": len(ARRAYS) - 2}
        for i, (meta, array) in enumerate(f):
            same_array(array, ARRAYS[i])
            assert not array.flags.writeable
        meta, array = f[2]
        assert meta == {"i": 1}
        with pytest.raises(IndexError):
            f.array(len(ARRAYS))
        with pytest.raises(IndexError):
            f.meta(-len(ARRAYS) - 1)
    assert f.closed
    with pytest.raises(stash.Closed):
        f.meta(0)
    with pytest.raises(stash.Closed):
        len(f)
    f.close()  # twice is fine


def test_pack_replaces_the_file(tmp_path):
    path = tmp_path / "a.nco"
    stash.nco.pack(path, None, np.zeros(3))
    old = stash.nco.open(path)
    stash.nco.pack(path, "new", np.ones(2))
    assert len(old) == 1 and not old.array(0).any()  # renamed over: the old map stands
    with stash.nco.open(path) as new:
        assert new.meta(0) == "new"
        same_array(new.array(0), np.ones(2))
    old.close()


def test_arrays_outlive_close_and_the_file_object(tmp_path):
    path = tmp_path / "a.nco"
    stash.nco.pack(path, None, np.arange(100.0))
    f = stash.nco.open(path)
    array = f.array(0)[10:20]
    raw = f.meta_bytes(0)
    f.close()
    del f
    os.unlink(path)
    gc.collect()
    np.testing.assert_array_equal(array, np.arange(10.0, 20.0))
    assert pickle.loads(raw) is None


def test_open_reads_nengo_written_files_and_nengo_reads_appended_ones(tmp_path):
    path = tmp_path / "nengo.nco"
    with open(path, "wb") as f:
        for i, array in enumerate(ARRAYS):
            nengo_write(f, {"i": i}, array)
    with stash.nco.open(path) as f:
        assert len(f) == len(ARRAYS)
        for i, (meta, array) in enumerate(f):
            assert meta == {"i": i}
            same_array(array, ARRAYS[i])
    stash.nco.append(path, "last", np.arange(3))
    with open(path, "rb") as f:
        for _ in ARRAYS:
            nengo_read(f)
        meta, array = nengo_read(f)
    assert meta == "last"
    same_array(array, np.arange(3))


def test_meta_bytes_is_the_pickle(tmp_path):
    stash.nco.pack(tmp_path / "a.nco", {"a": [1, "b"]}, np.zeros(1))
    with stash.nco.open(tmp_path / "a.nco") as f:
        raw = f.meta_bytes(0)
        assert isinstance(raw, memoryview) and raw.readonly
        assert pickle.loads(raw) == {"a": [1, "b"]}


def test_threads_read_one_file_at_once(tmp_path, run_threads):
    path = tmp_path / "a.nco"
    for i in range(8):
        stash.nco.append(path, i, np.full(1000, i))
    with stash.nco.open(path) as f:
        def work():
            for _ in range(50):
                for i, (meta, array) in enumerate(f):
                    assert meta == i and (array == i).all()

        run_threads(*[work] * 4)


# ---- what the writers refuse -------------------------------------------------

def test_metadata_that_is_not_a_plain_value_is_a_type_error(tmp_path):
    for bad in ({1, 2}, object(), {1: "int key"}):
        with pytest.raises(TypeError):
            stash.nco.write(io.BytesIO(), bad, np.zeros(1))
        with pytest.raises(TypeError):
            stash.nco.append(tmp_path / "a.nco", bad, np.zeros(1))
    assert not (tmp_path / "a.nco").exists()


def test_metadata_with_arrays_and_numpy_scalars_round_trips(tmp_path):
    """Pickled as NumPy pickles them; read back by the safe reader, NumPy's pickle.load too."""
    meta = {"rmse": np.float64(0.1), "weights": np.arange(6.0).reshape(2, 3), "z": 1 + 2j,
            "order": np.asfortranarray(np.ones((2, 2), ">i4"))}
    f = io.BytesIO()
    stash.nco.write(f, meta, np.zeros(1))
    f.seek(0)
    got, array = stash.nco.read(f)
    assert set(got) == set(meta)
    for key, value in meta.items():
        assert np.array_equal(got[key], value)
        assert np.asarray(got[key]).dtype == np.asarray(value).dtype
    stash.nco.append(tmp_path / "a.nco", meta, np.zeros(1))
    with stash.nco.open(tmp_path / "a.nco") as objects:
        assert np.array_equal(objects.meta(0)["weights"], meta["weights"])
        by_python = pickle.loads(bytes(objects.meta_bytes(0)))
        assert np.array_equal(by_python["order"], meta["order"])


def test_non_contiguous_arrays_are_a_buffer_error(tmp_path):
    f = io.BytesIO()
    with pytest.raises(BufferError, match="ascontiguousarray"):
        stash.nco.write(f, None, np.arange(10)[::2])
    with pytest.raises(BufferError):
        stash.nco.pack(tmp_path / "a.nco", None, np.arange(10)[::2])
    assert f.getvalue() == b""


def test_missing_files_raise_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        stash.nco.open(tmp_path / "missing.nco")
    with pytest.raises(FileNotFoundError):
        stash.nco.append(tmp_path / "no" / "a.nco", None, np.zeros(1))


# ---- hostile objects: the right subclass, nothing run, nothing crashed ------

def stash_object(meta=None, array=np.arange(4.0)):
    f = io.BytesIO()
    stash.nco.write(f, meta, array)
    return bytearray(f.getvalue())


def read_bytes(data):
    return stash.nco.read(io.BytesIO(bytes(data)))


def test_bad_magic_is_corrupt():
    data = stash_object()
    data[0:3] = b"NCX"
    with pytest.raises(stash.Corrupt):
        read_bytes(data)


def test_another_version_is_refused():
    data = stash_object()
    data[3] = 1
    with pytest.raises(stash.UnsupportedVersion):
        read_bytes(data)


@pytest.mark.parametrize("keep", [1, 10, 39, 41, 100, -1])
def test_truncated_objects_are_truncated(keep):
    data = stash_object({"k": "v"})
    with pytest.raises(stash.Truncated):
        read_bytes(data[:keep])


def test_an_empty_file_is_the_end_of_data():
    with pytest.raises(stash.EndOfData):
        read_bytes(b"")
    assert issubclass(stash.EndOfData, EOFError)


@pytest.mark.parametrize("field, value", [(0, 8), (1, 0), (2, 0), (3, 0), (0, 2**64 - 1)])
def test_offsets_out_of_order_are_out_of_range(field, value):
    data = stash_object()
    offsets = list(struct.unpack("<4Q", data[8:40]))
    offsets[field] = value
    data[8:40] = struct.pack("<4Q", *offsets)
    with pytest.raises((stash.OutOfRange, stash.Truncated)):
        read_bytes(data)


def test_a_huge_array_end_reads_what_exists_and_stops():
    data = stash_object()
    offsets = list(struct.unpack("<4Q", data[8:40]))
    offsets[3] = 2**62  # an object of 4 EiB in a file of a few hundred bytes
    data[8:40] = struct.pack("<4Q", *offsets)
    with pytest.raises((stash.Truncated, stash.OutOfRange)):
        read_bytes(data)


def test_a_huge_shape_in_the_npy_header_is_out_of_range(tmp_path):
    data = stash_object(None, np.zeros(2, dtype="<f8"))
    npy = bytes(data).index(b"\x93NUMPY")
    length = struct.unpack("<H", data[npy + 8:npy + 10])[0]
    text = bytes(data[npy + 10:npy + 10 + length])
    text = text.replace(b"(2,)", b"(4611686018427387904, 4)").rstrip(b" \n")
    data[npy + 10:npy + 10 + length] = text.ljust(length - 1) + b"\n"
    with pytest.raises(stash.OutOfRange):
        read_bytes(data)
    (tmp_path / "a.nco").write_bytes(data)
    with stash.nco.open(tmp_path / "a.nco") as f:
        assert f.meta(0) is None
        with pytest.raises(stash.OutOfRange):
            f.array(0)


class RunsCode:
    """Pickles as a call of os.system: what a hostile cache file would hold."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def hostile_file(tmp_path, marker):
    f = io.BytesIO()
    nengo_write(f, {"ok": [RunsCode(marker)]}, np.arange(3.0))
    return f.getvalue()


def test_a_pickle_that_would_run_code_is_unsafe_and_runs_nothing(tmp_path):
    marker = tmp_path / "ran"
    data = hostile_file(tmp_path, marker)
    assert b"system" in data
    with pytest.raises(stash.Unsafe) as caught:
        read_bytes(data)
    assert isinstance(caught.value, pickle.UnpicklingError)
    assert "REDUCE" in str(caught.value) or "GLOBAL" in str(caught.value)
    assert not marker.exists()


def object_with_pickle(raw, array=np.arange(3.0)):
    """An NCO object, laid out as nengo lays it out, around the pickle bytes given."""
    npy = io.BytesIO()
    np.save(npy, array)
    pickle_end = align16(NENGO_HEADER_BYTES) + len(raw)
    array_start = align16(pickle_end)
    header = struct.pack(NENGO_HEADER, b"NCO", 0, align16(NENGO_HEADER_BYTES), pickle_end,
                         array_start, array_start + len(npy.getvalue()))
    return (header.ljust(align16(NENGO_HEADER_BYTES), b"\0") + raw).ljust(array_start, b"\0") \
        + npy.getvalue()


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_a_global_naming_os_system_is_unsafe_at_every_protocol(tmp_path, protocol):
    marker = tmp_path / "ran"
    if protocol == 0:  # GLOBAL, written by hand as an attacker would
        raw = b"cos\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR."
    else:              # GLOBAL (2) or STACK_GLOBAL (4, 5), as pickle writes them
        raw = pickle.dumps(RunsCode(marker), protocol)
    safe = pickle.dumps("safe", protocol)
    assert stash.nco.read(io.BytesIO(object_with_pickle(safe)))[0] == "safe"  # well formed
    f = io.BytesIO(object_with_pickle(raw))
    with pytest.raises(stash.Unsafe, match="GLOBAL"):
        stash.nco.read(f)
    assert not marker.exists()


def test_an_unsafe_object_in_a_file_keeps_its_array(tmp_path):
    marker = tmp_path / "ran"
    (tmp_path / "a.nco").write_bytes(hostile_file(tmp_path, marker))
    with stash.nco.open(tmp_path / "a.nco") as f:
        with pytest.raises(stash.Unsafe):
            f.meta(0)
        with pytest.raises(stash.Unsafe):
            list(f)
        same_array(f.array(0), np.arange(3.0))
        assert bytes(f.meta_bytes(0)).count(b"system") == 1
    assert not marker.exists()


def test_an_empty_or_foreign_file_is_not_an_nco_file(tmp_path):
    (tmp_path / "empty.nco").write_bytes(b"")
    with pytest.raises(stash.Corrupt):
        stash.nco.open(tmp_path / "empty.nco")
    (tmp_path / "npy.nco").write_bytes(b"\x93NUMPY" + bytes(200))
    with pytest.raises(stash.Corrupt):
        stash.nco.open(tmp_path / "npy.nco")


def test_random_damage_never_crashes():
    rng = np.random.default_rng(7)
    clean = stash_object({"a": [1, 2.5, "x"], "b": (None, b"y")}, np.arange(20, dtype=">i4"))
    for _ in range(2000):
        data = bytearray(clean)
        for _ in range(rng.integers(1, 4)):
            data[rng.integers(len(data))] = rng.integers(256)
        try:
            read_bytes(data[:rng.integers(len(data) + 1)])
        except stash.StashError:
            pass


# ---- batches -------------------------------------------------------------------

def test_a_batch_appends_many_objects_under_one_lock(tmp_path):
    path = tmp_path / "many.nco"
    stash.nco.pack(path, "first", np.zeros(1))
    with stash.nco.batch(path) as b:
        for i in range(100):
            b.add({"i": i}, np.full((4, 4), i, dtype=np.float32))
        with stash.nco.open(path) as f:  # readers walk the chain before the close
            assert len(f) == 101
    assert b.closed
    with pytest.raises(stash.Closed):
        b.add(None, np.zeros(1))
    b.close()  # twice is fine
    assert os.path.exists(str(path) + ".stashidx")
    with stash.nco.open(path) as f:
        assert len(f) == 101 and f.meta(0) == "first"
        for i in range(100):
            assert f.meta(i + 1) == {"i": i} and (f.array(i + 1) == i).all()


def test_a_batch_creates_a_missing_file_and_refuses_bad_metadata(tmp_path):
    path = tmp_path / "new.nco"
    b = stash.nco.NcoBatch(path, durable=True)
    with pytest.raises(TypeError):
        b.add({1, 2}, np.zeros(1))
    assert not path.exists()
    b.add(None, np.arange(3))
    b.close()
    with stash.nco.open(path) as f:
        assert len(f) == 1 and f.meta(0) is None


def test_a_batch_shared_by_threads(tmp_path, run_threads):
    path = tmp_path / "threads.nco"
    with stash.nco.batch(path) as b:
        def work(n):
            for i in range(25):
                b.add([n, i], np.full(10, n))

        run_threads(*(functools.partial(work, n) for n in range(4)))
    with stash.nco.open(path) as f:
        assert sorted(tuple(meta) for meta, _ in f) == [(n, i) for n in range(4)
                                                         for i in range(25)]


def test_a_batch_into_a_missing_directory_raises_file_not_found(tmp_path):
    b = stash.nco.batch(tmp_path / "no" / "a.nco")
    with pytest.raises(FileNotFoundError):
        b.add(None, np.zeros(1))
    b.close()


def test_a_short_header_is_truncated_and_a_foreign_one_corrupt():
    for data, error in ((b"N", stash.Truncated), (b"NC", stash.Truncated),
                        (b"NCO", stash.Truncated), (b"NCO\x00" + bytes(10), stash.Truncated),
                        (b"XY", stash.Corrupt), (b"\x93NUMPY", stash.Corrupt)):
        with pytest.raises(error):
            read_bytes(data)


# ---- not mapped: pread and copies ------------------------------------------------

def test_an_unmapped_file_reads_copies(tmp_path):
    path = tmp_path / "a.nco"
    for i, array in enumerate(ARRAYS):
        stash.nco.append(path, {"i": i}, array)
    with stash.nco.open(path, mapped=False) as f:
        assert len(f) == len(ARRAYS)
        for i, (meta, array) in enumerate(f):
            assert meta == {"i": i}
            same_array(array, ARRAYS[i])
            assert array.flags.writeable
        raw = f.meta_bytes(0)
        assert isinstance(raw, bytes) and pickle.loads(raw) == {"i": 0}
        kept = f.array(0)
    kept[0, 0] = 42  # a copy: the file is untouched
    with stash.nco.open(path) as f:
        assert f.array(0)[0, 0] == ARRAYS[0][0, 0]


def test_an_unmapped_file_cut_short_raises_truncated(tmp_path):
    path = tmp_path / "a.nco"
    stash.nco.pack(path, "meta", np.arange(1000.0))
    with stash.nco.NcoFile(path, mapped=False) as f:
        os.truncate(path, 100)
        with pytest.raises(stash.Truncated):
            f.array(0)
