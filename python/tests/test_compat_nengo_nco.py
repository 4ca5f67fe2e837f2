"""stash.compat.nengo_nco: nengo.utils.nco's API and files, with safe metadata.

The first part is nengo's own test_nco.py's behaviour (Subfile windows of a
text file, a bad magic, a bad version, a round trip), for text and binary
files; then byte-compatibility with nengo's writer and reader, reimplemented
here from nengo's documentation (struct, pickle, numpy.save and numpy.load);
then one test for each documented difference from nengo.
"""
import io
import os
import pickle
import struct
from collections import OrderedDict

import numpy as np
import pytest
from numpy.testing import assert_equal

import stash
from stash.compat import nengo_nco as nco
from stash.compat.nengo_nco import CacheIOError, Subfile

DATA = "0123456789\n123456789"


@pytest.fixture(params=["text", "binary"])
def opener(request, tmp_path):
    """Opens a file holding DATA, in text or binary mode; converts DATA slices to match."""
    path = tmp_path / "file.txt"
    path.write_text(DATA)
    binary = request.param == "binary"

    def open_file():
        return open(path, "rb" if binary else "r")

    open_file.expect = (lambda s: s.encode()) if binary else (lambda s: s)
    return open_file


# ---- nengo's test_nco.py: Subfile ------------------------------------------------


def test_reads_only_from_start_to_end(opener):
    want = opener.expect(DATA[2:6])
    for call in (lambda s: s.read(), lambda s: s.read(8), lambda s: s.readline(),
                 lambda s: s.readline(8)):
        with opener() as f:
            assert call(Subfile(f, 2, 6)) == want


def test_respects_read_size(opener):
    with opener() as f:
        assert Subfile(f, 2, 6).read(2) == opener.expect(DATA[2:4])
    with opener() as f:
        assert Subfile(f, 2, 6).readline(2) == opener.expect(DATA[2:4])


def test_readline_stops_after_the_newline(opener):
    with opener() as f:
        assert Subfile(f, 2, 14).readline() == opener.expect(DATA[2:11])
    with opener() as f:
        assert Subfile(f, 2, 14).readline(15) == opener.expect(DATA[2:11])


def test_readinto(tmp_path):
    path = tmp_path / "file.txt"
    path.write_text(DATA)
    b = bytearray(4)
    with open(path, "rb") as f:
        assert Subfile(f, 2, 6).readinto(b) == 4
    assert b == b"2345"


def test_seek(opener):
    with opener() as f:
        sf = Subfile(f, 2, 6)
        sf.seek(2)
        assert sf.read() == opener.expect(DATA[4:6])
    with opener() as f:
        sf = Subfile(f, 2, 6)
        sf.read(1)
        sf.seek(2, os.SEEK_CUR)
        assert sf.read() == opener.expect(DATA[5:6])
    with opener() as f:
        sf = Subfile(f, 2, 6)
        sf.seek(-2, os.SEEK_END)
        assert sf.read() == opener.expect(DATA[4:6])


def test_seek_before_start_clamps_to_start(opener):
    for moves in ((lambda s: s.seek(-2)), (lambda s: (s.read(1), s.seek(-4, os.SEEK_CUR))),
                  (lambda s: s.seek(-8, os.SEEK_END))):
        with opener() as f:
            sf = Subfile(f, 2, 6)
            moves(sf)
            assert sf.read() == opener.expect(DATA[2:6])


def test_seek_after_end_clamps_to_end(opener):
    for moves in ((lambda s: s.seek(8)), (lambda s: (s.read(1), s.seek(8, os.SEEK_CUR))),
                  (lambda s: s.seek(8, os.SEEK_END))):
        with opener() as f:
            sf = Subfile(f, 2, 6)
            moves(sf)
            assert sf.read() == opener.expect("")


def test_tell(opener):
    with opener() as f:
        sf = Subfile(f, 2, 6)
        assert sf.tell() == 0
        sf.seek(3)
        assert sf.tell() == 3


def test_seek_with_another_whence_is_not_implemented(opener):
    with opener() as f:
        with pytest.raises(NotImplementedError):
            Subfile(f, 2, 6).seek(0, 3)


# ---- nengo's test_nco.py: read errors and the round trip --------------------------


def custom_header(magic=b"NCO", version=0):
    return struct.pack(f"@{len(magic)}sBLLLL", magic, version, 0, 1, 2, 3)


def test_bad_magic_is_a_cache_io_error():
    with pytest.raises(CacheIOError, match="Not a Nengo cache object file"):
        nco.read(io.BytesIO(custom_header(magic=b"BAD")))


def test_bad_version_is_a_cache_io_error():
    with pytest.raises(CacheIOError, match="NCO protocol version 255 is"):
        nco.read(io.BytesIO(custom_header(version=255)))


def test_header_is_checked_before_the_file_is_moved():
    class FakeFile:  # nengo's older test: a file object with read() alone
        def read(self, size):
            return bytes(size)

    with pytest.raises(CacheIOError):
        nco.read(FakeFile())


def test_short_header_is_a_struct_error_as_in_nengo():
    for data in (b"", b"NCO\0", custom_header()[:39]):
        with pytest.raises(struct.error):
            nco.read(io.BytesIO(data))


def test_cache_io_error_is_nengos():
    assert issubclass(CacheIOError, nco.NengoException)
    assert issubclass(CacheIOError, IOError)
    assert issubclass(nco.NengoException, Exception)


def test_constants():
    assert nco.MAGIC_STRING == b"NCO"
    assert nco.SUPPORTED_PROTOCOLS == [0]
    assert nco.HEADER_FORMAT == "@3sBLLLL"
    assert nco.HEADER_SIZE == struct.calcsize("@3sBLLLL") == 40
    assert nco.ALIGNMENT == 16


def test_nco_roundtrip(tmp_path):
    path = tmp_path / "test.nco"
    metadata = {"0": 237, "str": "foobar"}
    array = np.array([[4, 3], [2, 1]])
    with path.open("wb") as f:
        nco.write(f, metadata, array)
    with path.open("rb") as f:
        metadata2, array2 = nco.read(f)
    assert metadata == metadata2
    assert_equal(array, array2)
    assert array2.dtype == array.dtype and array2.flags.writeable


def test_chain_walk_leaves_each_read_at_the_next_object(tmp_path):
    path = tmp_path / "chain.nco"
    objects = [({"i": i, "name": "x" * i}, np.arange(i, dtype=np.float32)) for i in range(20)]
    with path.open("wb") as f:
        for metadata, array in objects:
            nco.write(f, metadata, array)
        end = f.tell()
    with path.open("rb") as f:
        for metadata, array in objects:
            got_metadata, got_array = nco.read(f)
            assert got_metadata == metadata
            assert_equal(got_array, array)
        assert f.tell() == end
        with pytest.raises(struct.error):
            nco.read(f)


# ---- byte-compatibility with nengo's writer and reader ----------------------------
# nengo's write: the pickle (highest protocol) at the header's end rounded up
# to 16, the NPY (numpy.save) at the pickle's end rounded up to 16, seeking
# over the gaps, the header "@3sBLLLL" written last with absolute offsets.


def align16(n):
    return -(-n // 16) * 16


def nengo_write(fileobj, metadata, array):
    start = fileobj.tell()
    pickle_start = align16(start + 40)
    fileobj.seek(pickle_start)
    pickle.dump(metadata, fileobj, pickle.HIGHEST_PROTOCOL)
    pickle_end = fileobj.tell()
    array_start = align16(pickle_end)
    fileobj.seek(array_start)
    np.save(fileobj, array)
    array_end = fileobj.tell()
    fileobj.seek(start)
    fileobj.write(struct.pack("@3sBLLLL", b"NCO", 0, pickle_start, pickle_end, array_start,
                              array_end))
    fileobj.seek(array_end)


def nengo_read(fileobj):
    _, _, pickle_start, pickle_end, array_start, array_end = struct.unpack(
        "@3sBLLLL", fileobj.read(40))
    fileobj.seek(pickle_start)
    metadata = pickle.loads(fileobj.read(pickle_end - pickle_start))
    fileobj.seek(array_start)
    return metadata, np.load(io.BytesIO(fileobj.read(array_end - array_start)))


OBJECTS = [
    ({"0": 237, "str": "foobar"}, np.array([[4, 3], [2, 1]])),
    (None, np.zeros(0)),
    ([1, 2.5, "x", b"y", (1, 2), {"nested": [None, True]}], np.float32(3.5)),
    ("x" * 1000, np.arange(12, dtype=">i8").reshape(3, 4)),
    ({"solver": "LstsqL2", "info": {"rmses": np.ones(3)}}, np.asfortranarray(np.eye(3))),
    (OrderedDict(a=1), np.arange(10)[::2]),
    ({"names": ["a"]}, np.array(["a", "bc"])),
    ({}, np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")])),
    (b"\x00" * 70, np.array([True, False])),
]


@pytest.mark.parametrize("start", [0, 7])
def test_write_is_nengos_bytes(start):
    ours, theirs = io.BytesIO(), io.BytesIO()
    for f in (ours, theirs):
        f.write(b"\0" * start)
    for metadata, array in OBJECTS:
        nco.write(ours, metadata, array)
        nengo_write(theirs, metadata, array)
        assert ours.tell() == theirs.tell()
    assert ours.getvalue() == theirs.getvalue()


def test_nengos_reader_reads_ours_and_ours_nengos():
    ours, theirs = io.BytesIO(), io.BytesIO()
    for metadata, array in OBJECTS:
        nco.write(ours, metadata, array)
        nengo_write(theirs, metadata, array)
    for f, reader in ((ours, nengo_read),
                      (theirs, lambda f: nco.read(f, allow_unsafe_pickle=True))):
        f.seek(0)
        for metadata, array in OBJECTS:
            got_metadata, got_array = reader(f)
            assert pickle.dumps(got_metadata) == pickle.dumps(metadata)
            assert_equal(got_array, array)
            assert got_array.dtype == np.asarray(array).dtype


def test_stash_nco_reads_what_we_write(tmp_path):
    path = tmp_path / "chain.nco"
    with path.open("wb") as f:
        nco.write(f, {"seed": 1}, np.zeros(3))
        nco.write(f, {"seed": 2}, np.ones(3))
    with stash.nco.open(path) as cache:
        assert [m for m, _ in cache] == [{"seed": 1}, {"seed": 2}]
        assert_equal(cache.array(1), np.ones(3))


# ---- the differences from nengo, each documented ------------------------------------


RAN = []


def record(command):  # stands for os.system: what a hostile pickle would call
    RAN.append(command)


class Hostile:
    def __reduce__(self):
        return (record, ("rm -rf ~",))


def hostile_object():
    f = io.BytesIO()
    nengo_write(f, Hostile(), np.arange(3))
    return f.getvalue()


def test_a_pickle_that_would_run_code_raises_unsafe():
    data = hostile_object()
    RAN.clear()
    with pytest.raises(stash.Unsafe) as caught:
        nco.read(io.BytesIO(data))
    assert isinstance(caught.value, pickle.UnpicklingError)
    assert RAN == []
    f = io.BytesIO(data)  # allowed: Python's pickle runs it, as nengo's read does
    metadata, array = nco.read(f, allow_unsafe_pickle=True)
    assert RAN == ["rm -rf ~"] and metadata is None
    assert_equal(array, np.arange(3))
    assert f.tell() == len(data)


def test_class_instances_in_metadata_need_allow_unsafe_pickle():
    f = io.BytesIO()
    nco.write(f, OrderedDict(a=1), np.zeros(2))
    f.seek(0)
    with pytest.raises(stash.Unsafe):
        nco.read(f)
    f.seek(0)
    assert nco.read(f, allow_unsafe_pickle=True)[0] == OrderedDict(a=1)


def test_numpy_values_in_metadata_are_written_as_nengo_writes_them():
    metadata = {"rmses": np.array([0.5, 0.25]), "scale": np.float64(2.0)}
    f = io.BytesIO()
    nco.write(f, metadata, np.zeros(2))  # Python's pickle: nengo's bytes
    f.seek(0)
    assert_equal(nengo_read(f)[0], metadata)
    f.seek(0)
    try:  # stash's safe reader refuses NumPy values, or (once it takes them) reads them
        safe = nco.read(f)[0]
    except stash.Unsafe:
        pass
    else:
        assert_equal(safe, metadata)
    f.seek(0)
    assert_equal(nco.read(f, allow_unsafe_pickle=True)[0], metadata)


def test_plain_values_stash_does_not_hold_are_read_safely_by_pythons_pickle():
    for metadata in ({1: "a"}, {1, 2}, frozenset({3}), 2 ** 70, {"s": {1}, "k": {(1, 2): 3}}):
        f = io.BytesIO()
        nco.write(f, metadata, np.arange(2))
        nco.write(f, "next", np.arange(3))
        f.seek(0)
        got, array = nco.read(f)
        assert got == metadata and type(got) is type(metadata)
        assert_equal(array, np.arange(2))
        assert nco.read(f)[0] == "next"
    data = io.BytesIO()  # a set, and a call after it: the stash error, nothing run
    nengo_write(data, [{1}, Hostile()], np.arange(2))
    RAN.clear()
    with pytest.raises(stash.Unsupported):
        nco.read(io.BytesIO(data.getvalue()))
    assert RAN == []
    assert nco.read(io.BytesIO(data.getvalue()), allow_unsafe_pickle=True)[0] == [{1}, None]
    assert RAN == ["rm -rf ~"]


def object_bytes(pickle_start, pickle_end, array_start, array_end, tail=b""):
    """A header with the given offsets over the body of a real object."""
    f = io.BytesIO()
    nengo_write(f, {"a": 1}, np.arange(4))
    return struct.pack("@3sBLLLL", b"NCO", 0, pickle_start, pickle_end, array_start,
                       array_end) + f.getvalue()[40:] + tail


def test_damage_nengo_reads_through_is_a_cache_io_error_and_stashs_class():
    f = io.BytesIO()
    nengo_write(f, {"a": 1}, np.arange(4))
    _, _, ps, pe, as_, ae = struct.unpack("@3sBLLLL", f.getvalue()[:40])
    cases = [
        (object_bytes(pe, ps, as_, ae), stash.OutOfRange),       # pickle ends before it starts
        (object_bytes(8, pe, as_, ae), stash.OutOfRange),        # pickle inside the header
        (object_bytes(ps, pe, as_, ae + 100), stash.Truncated),  # the file ends first
        (object_bytes(ps, pe, as_ + 1, ae), stash.Corrupt),      # not an NPY at array_start
    ]
    for data, stash_class in cases:
        with pytest.raises(CacheIOError) as caught:
            nco.read(io.BytesIO(data))
        assert isinstance(caught.value, stash_class) and isinstance(caught.value, ValueError)
        assert caught.value.name.startswith("STASH_E_") and caught.value.status < 0


def test_the_file_is_left_at_the_objects_end():
    for array in (np.arange(4), np.array(["numpy", "reads"])):  # stash's path, NumPy's path
        f = io.BytesIO()
        nengo_write(f, {"a": 1}, array)
        data = bytearray(f.getvalue() + bytes(16))
        ps, pe, as_, ae = struct.unpack("@4xLLLL", data[:40])
        data[:40] = struct.pack("@3sBLLLL", b"NCO", 0, ps, pe, as_, ae + 16)  # padding after
        f = io.BytesIO(bytes(data) + b"next")
        assert_equal(nco.read(f)[1], array)
        assert f.read() == b"next"


def test_arrays_stash_does_not_hold_are_read_by_numpy():
    for array in (np.array(["a", "bc"]), np.array([(1, 2.0)], dtype="i4,f8"),
                  np.array(["2024-01-01"], dtype="datetime64[D]")):
        f = io.BytesIO()
        nco.write(f, {"kind": array.dtype.kind}, array)
        f.seek(0)
        metadata, got = nco.read(f)
        assert metadata == {"kind": array.dtype.kind}
        assert_equal(got, array) and got.dtype == array.dtype
    f = io.BytesIO()
    nco.write(f, Hostile(), np.array(["a"]))
    f.seek(0)
    with pytest.raises(stash.Unsafe):  # the safe reader still reads that metadata
        nco.read(f)


def test_object_arrays_read_back_with_allow_unsafe_pickle_only():
    array = np.array([{"a": 1}, None], dtype=object)
    f = io.BytesIO()
    nco.write(f, "objects", array)
    f.seek(0)
    with pytest.raises(ValueError, match="allow_pickle"):  # nengo's read fails so, always
        nco.read(f)
    f.seek(0)
    metadata, got = nco.read(f, allow_unsafe_pickle=True)
    assert metadata == "objects" and list(got) == [{"a": 1}, None]


def test_write_gaps_are_zeros_and_the_header_goes_last(tmp_path):
    path = tmp_path / "reused.nco"
    path.write_bytes(b"\xff" * 400)  # an old file written over in place
    with path.open("r+b") as f:
        nco.write(f, "m", np.arange(3))
        end = f.tell()
    data = path.read_bytes()
    _, _, ps, pe, as_, ae = struct.unpack("@3sBLLLL", data[:40])
    assert ae == end and data[40:ps] == bytes(ps - 40) and data[pe:as_] == bytes(as_ - pe)

    class Failing(io.BytesIO):  # the array cannot be written: no header lands
        def write(self, b):
            if len(self.getvalue()) > 0:
                raise OSError("disk full")
            return super().write(b)

    f = Failing()
    with pytest.raises(OSError):
        nco.write(f, "m", np.arange(3))
    assert f.getvalue()[:40] == bytes(40)


def test_subfile_negative_sizes_stay_in_the_window(opener):
    with opener() as f:
        assert Subfile(f, 2, 6).read(-1) == opener.expect(DATA[2:6])
    with opener() as f:
        assert Subfile(f, 2, 14).readline(-1) == opener.expect(DATA[2:11])


def test_subfile_read_counts_what_it_got(opener):
    with opener() as f:  # the window runs past the file's end
        sf = Subfile(f, 15, 40)
        assert sf.read(10) == opener.expect(DATA[15:])
        assert sf.max_size == 40 - len(DATA)


def test_subfile_readinto_stays_in_the_window(tmp_path):
    path = tmp_path / "file.txt"
    path.write_text(DATA)
    b = bytearray(b"." * 8)
    with open(path, "rb") as f:
        sf = Subfile(f, 2, 6)
        assert sf.readinto(b) == 4 and b == b"2345...."
        assert sf.readinto(b) == 0 and sf.read() == b""


def test_subfile_seek_returns_the_position(opener):
    with opener() as f:
        sf = Subfile(f, 2, 6)
        assert sf.seek(3) == 3
        assert sf.seek(-1, os.SEEK_CUR) == 2
        assert sf.seek(8, os.SEEK_END) == 4


def test_subfile_ending_before_it_starts_is_refused(opener):
    with opener() as f:
        with pytest.raises(ValueError):
            Subfile(f, 6, 2)
