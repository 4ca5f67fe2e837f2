"""stash.npy: numpy.save's bytes, numpy.load's arrays, zero-copy maps that outlive everything."""
import ctypes
import errno
import functools
import gc
import os
import pathlib
import struct

import numpy as np
import pytest

import stash

NUMERIC = ["?", "i1", "u1", "<i2", ">i2", "<i4", ">i4", "<i8", ">i8", "<u2", ">u2", "<u4",
           ">u4", "<u8", ">u8", "<f2", ">f2", "<f4", ">f4", "<f8", ">f8", "<c8", ">c8",
           "<c16", ">c16"]
SHAPES = [(), (0,), (5,), (2, 3), (2, 0, 3), (3, 4, 5)]


def sample(dtype, shape):
    count = int(np.prod(shape, dtype=np.int64))
    values = np.arange(count, dtype=np.float64) * 1.5 - 3
    if np.dtype(dtype).kind == "c":
        values = values + 0.25j * values
    return values.astype(dtype).reshape(shape)


def same_array(a, b):
    assert a.dtype == b.dtype
    assert a.shape == b.shape
    assert a.flags.f_contiguous == b.flags.f_contiguous
    assert a.flags.c_contiguous == b.flags.c_contiguous
    assert a.tobytes("A") == b.tobytes("A")


@pytest.mark.parametrize("dtype", NUMERIC)
@pytest.mark.parametrize("shape", SHAPES)
def test_save_writes_numpy_saves_bytes(tmp_path, dtype, shape):
    a = sample(dtype, shape)
    stash.npy.save(tmp_path / "stash.npy", a)
    np.save(tmp_path / "numpy.npy", a)
    assert (tmp_path / "stash.npy").read_bytes() == (tmp_path / "numpy.npy").read_bytes()


@pytest.mark.parametrize("dtype", ["<f8", ">i4", "<c16", "?"])
@pytest.mark.parametrize("shape", [(2, 3), (3, 4, 5), (1, 7)])
def test_fortran_order_is_written_as_numpy_writes_it(tmp_path, dtype, shape):
    a = np.asfortranarray(sample(dtype, shape))
    stash.npy.save(tmp_path / "stash.npy", a)
    np.save(tmp_path / "numpy.npy", a)
    assert (tmp_path / "stash.npy").read_bytes() == (tmp_path / "numpy.npy").read_bytes()
    same_array(np.load(tmp_path / "stash.npy"), a)
    same_array(stash.npy.load(tmp_path / "numpy.npy"), np.load(tmp_path / "numpy.npy"))
    same_array(stash.npy.map(tmp_path / "numpy.npy"), np.load(tmp_path / "numpy.npy"))


@pytest.mark.parametrize("dtype", NUMERIC)
@pytest.mark.parametrize("shape", SHAPES)
def test_load_and_map_read_numpy_files(tmp_path, dtype, shape):
    a = sample(dtype, shape)
    np.save(tmp_path / "a.npy", a)
    same_array(stash.npy.load(tmp_path / "a.npy"), a)
    same_array(stash.npy.map(tmp_path / "a.npy"), a)


def test_numpy_load_reads_what_stash_saves(tmp_path):
    for dtype in NUMERIC:
        a = sample(dtype, (4, 3))
        stash.npy.save(tmp_path / "a.npy", a)
        same_array(np.load(tmp_path / "a.npy"), a)


def test_numpy_scalars_and_buffers_save_as_numpy_would(tmp_path):
    for value in (np.float32(2.5), np.int16(-3), np.complex128(1 + 2j), np.bool_(True)):
        stash.npy.save(tmp_path / "s.npy", value)
        np.save(tmp_path / "n.npy", value)
        assert (tmp_path / "s.npy").read_bytes() == (tmp_path / "n.npy").read_bytes()
    stash.npy.save(tmp_path / "b.npy", bytearray(b"abc"))
    np.save(tmp_path / "n.npy", np.frombuffer(b"abc", dtype=np.uint8))
    assert (tmp_path / "b.npy").read_bytes() == (tmp_path / "n.npy").read_bytes()


def test_load_returns_a_writable_copy_as_numpy_load_does(tmp_path):
    a = sample("<f8", (3, 3))
    stash.npy.save(tmp_path / "a.npy", a)
    b = stash.npy.load(tmp_path / "a.npy")
    assert b.flags.writeable and np.load(tmp_path / "a.npy").flags.writeable
    b[0, 0] = 99
    assert stash.npy.load(tmp_path / "a.npy")[0, 0] == a[0, 0]
    assert stash.npy.map(tmp_path / "a.npy")[0, 0] == a[0, 0]


def test_large_arrays_round_trip(tmp_path):
    a = np.random.default_rng(1).standard_normal((512, 300))  # over the GIL-free size
    stash.npy.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "n.npy", a)
    assert (tmp_path / "a.npy").read_bytes() == (tmp_path / "n.npy").read_bytes()
    same_array(stash.npy.load(tmp_path / "a.npy"), a)
    same_array(stash.npy.map(tmp_path / "a.npy"), a)


def test_map_is_read_only_and_zero_copy(tmp_path):
    stash.npy.save(tmp_path / "a.npy", sample("<i8", (64,)))
    m = stash.npy.map(tmp_path / "a.npy")
    assert not m.flags.writeable
    with pytest.raises(ValueError):
        m[0] = 1
    assert not m.flags.owndata
    assert m.ctypes.data % 64 == 0  # the NPY data is 64-byte aligned, and so is the map


def test_map_outlives_every_other_reference(tmp_path):
    a = sample("<f4", (100, 10))
    path = tmp_path / "a.npy"
    stash.npy.save(path, a)
    m = stash.npy.map(path)
    view = m[10:20, ::2]
    del m
    gc.collect()
    os.unlink(path)
    gc.collect()
    np.testing.assert_array_equal(view, a[10:20, ::2])


class _Py_buffer(ctypes.Structure):
    _fields_ = [("buf", ctypes.c_void_p), ("obj", ctypes.py_object), ("len", ctypes.c_ssize_t),
                ("itemsize", ctypes.c_ssize_t), ("readonly", ctypes.c_int),
                ("ndim", ctypes.c_int), ("format", ctypes.c_char_p),
                ("shape", ctypes.POINTER(ctypes.c_ssize_t)),
                ("strides", ctypes.POINTER(ctypes.c_ssize_t)), ("suboffsets", ctypes.c_void_p),
                ("internal", ctypes.c_void_p)]


def _export(obj, flags):
    """obj's buffer for flags as C consumers get it (PyObject_GetBuffer): (format, itemsize,
    len, ndim), or None for a BufferError."""
    get, release = ctypes.pythonapi.PyObject_GetBuffer, ctypes.pythonapi.PyBuffer_Release
    get.argtypes = [ctypes.py_object, ctypes.POINTER(_Py_buffer), ctypes.c_int]
    release.argtypes = [ctypes.POINTER(_Py_buffer)]
    view = _Py_buffer()
    try:
        get(obj, ctypes.byref(view), flags)
    except BufferError:
        return None
    try:
        return view.format, view.itemsize, view.len, view.ndim
    finally:
        release(ctypes.byref(view))


def _exports(obj, flags):
    return _export(obj, flags) is not None


def test_a_mapped_view_refuses_an_order_it_is_not_in(tmp_path):
    # A consumer asking for C (or Fortran) contiguity reads no strides: a Fortran-ordered
    # view must refuse it rather than hand out bytes in the other order.
    c_contiguous, f_contiguous, any_contiguous = 0x38, 0x58, 0x98  # PyBUF_*_CONTIGUOUS
    np.save(tmp_path / "f.npy", np.asfortranarray(np.arange(6.0).reshape(2, 3)))
    np.save(tmp_path / "c.npy", np.arange(6.0).reshape(2, 3))
    np.save(tmp_path / "v.npy", np.arange(6.0).reshape(6, 1))  # both orders at once
    fortran, c, vector = (stash.npy.map(tmp_path / f"{n}.npy").base.obj for n in "fcv")
    assert type(fortran).__name__ == "View"  # what the ndarray's memoryview exports
    assert not _exports(fortran, c_contiguous)
    assert _exports(fortran, f_contiguous) and _exports(fortran, any_contiguous)
    assert _exports(c, c_contiguous) and not _exports(c, f_contiguous)
    assert _exports(vector, c_contiguous) and _exports(vector, f_contiguous)


def test_a_mapped_view_without_a_shape_is_bytes_in_every_field(tmp_path):
    # Asked for a format but no shape (PyBUF_FORMAT alone), a consumer gets the bytes:
    # the format must then say bytes too, as the itemsize of 1 does.
    np.save(tmp_path / "a.npy", np.arange(6.0))
    view = stash.npy.map(tmp_path / "a.npy").base.obj
    form, itemsize, length, ndim = _export(view, 0x0004)  # PyBUF_FORMAT
    assert (itemsize, length, ndim) == (1, 48, 1)
    assert struct.calcsize(form.decode()) == itemsize


def test_save_over_a_mapped_file_leaves_the_map_intact(tmp_path):
    path = tmp_path / "a.npy"
    stash.npy.save(path, np.zeros(1000))
    m = stash.npy.map(path)
    stash.npy.save(path, np.ones(10))  # renamed over it
    assert m.shape == (1000,) and not m.any()
    assert stash.npy.load(path).shape == (10,)


def test_info_describes_the_header(tmp_path):
    a = np.asfortranarray(sample(">f8", (3, 4)))
    np.save(tmp_path / "a.npy", a)
    info = stash.npy.info(tmp_path / "a.npy")
    assert info == (info.shape, info.dtype, info.fortran_order, info.version,
                    info.data_offset, info.data_bytes)
    assert info.shape == (3, 4)
    assert info.dtype == np.dtype(">f8")
    assert info.fortran_order is True
    assert info.version == (1, 0)
    assert info.data_offset == 128
    assert info.data_bytes == 96
    assert os.path.getsize(tmp_path / "a.npy") == info.data_offset + info.data_bytes


def test_paths_may_be_str_bytes_or_pathlike(tmp_path):
    a = sample("<i4", (3,))
    for path in (str(tmp_path / "s.npy"), os.fsencode(tmp_path / "b.npy"),
                 pathlib.Path(tmp_path / "p.npy")):
        stash.npy.save(path, a)
        same_array(stash.npy.load(path), a)
        same_array(stash.npy.map(path), a)
        assert stash.npy.info(path).shape == (3,)


def test_durable_save_writes_the_same_bytes(tmp_path):
    a = sample("<f8", (5,))
    stash.npy.save(tmp_path / "a.npy", a, durable=True)
    np.save(tmp_path / "n.npy", a)
    assert (tmp_path / "a.npy").read_bytes() == (tmp_path / "n.npy").read_bytes()


def test_save_refuses_a_non_contiguous_array(tmp_path):
    with pytest.raises(BufferError, match="ascontiguousarray"):
        stash.npy.save(tmp_path / "a.npy", np.arange(10)[::2])
    assert not (tmp_path / "a.npy").exists()


@pytest.mark.parametrize("array", [np.array(["a", "b"]), np.array([1, None], dtype=object),
                                   np.zeros(2, dtype=[("x", "<f8"), ("y", "<i4")]),
                                   np.zeros(2, dtype="<M8[s]")])
def test_save_refuses_types_stash_cannot_hold(tmp_path, array):
    # stash.UnsupportedDtype, or NumPy's own ValueError for types it will not
    # export through the buffer protocol (datetimes): a ValueError either way.
    with pytest.raises(ValueError):
        stash.npy.save(tmp_path / "a.npy", array)


def test_missing_files_raise_file_not_found_with_the_name(tmp_path):
    for call in (stash.npy.load, stash.npy.map, stash.npy.info):
        with pytest.raises(FileNotFoundError) as caught:
            call(tmp_path / "missing.npy")
        assert caught.value.filename == str(tmp_path / "missing.npy")
        assert caught.value.errno == errno.ENOENT and caught.value.name == "ENOENT"


def test_saving_into_a_missing_directory_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        stash.npy.save(tmp_path / "no" / "a.npy", np.zeros(2))


def test_a_directory_is_not_an_npy_file(tmp_path):
    with pytest.raises(IsADirectoryError):
        stash.npy.load(tmp_path)


# ---- hostile files: each refusal is its own subclass, and nothing crashes

def header(text, version=(1, 0)):
    body = text.encode("latin1")
    pad = 64 - (10 + len(body) + 1) % 64
    body += b" " * (pad % 64) + b"\n"
    return b"\x93NUMPY" + bytes(version) + struct.pack("<H", len(body)) + body


def every_reader(path, error):
    for call in (stash.npy.load, stash.npy.map, stash.npy.info):
        with pytest.raises(error):
            call(path)


def test_bad_magic_is_corrupt(tmp_path):
    (tmp_path / "a.npy").write_bytes(b"PK\x03\x04 not an npy file at all" + bytes(100))
    every_reader(tmp_path / "a.npy", stash.Corrupt)


def test_an_empty_file_is_not_an_npy_file(tmp_path):
    (tmp_path / "a.npy").write_bytes(b"")
    every_reader(tmp_path / "a.npy", stash.Truncated)


def test_truncated_data_is_truncated(tmp_path):
    np.save(tmp_path / "a.npy", np.arange(100.0))
    data = (tmp_path / "a.npy").read_bytes()
    (tmp_path / "a.npy").write_bytes(data[:-8])
    every_reader(tmp_path / "a.npy", stash.Truncated)
    (tmp_path / "a.npy").write_bytes(data[:20])  # inside the header
    every_reader(tmp_path / "a.npy", stash.Truncated)


def test_a_huge_shape_is_refused_before_anything_is_allocated(tmp_path):
    (tmp_path / "a.npy").write_bytes(
        header("{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 8), }"))
    every_reader(tmp_path / "a.npy", stash.OutOfRange)
    # A shape that fits 63 bits but not the file: truncated, not a 1 TiB allocation.
    (tmp_path / "a.npy").write_bytes(
        header("{'descr': '<f8', 'fortran_order': False, 'shape': (137438953472,), }"))
    every_reader(tmp_path / "a.npy", stash.Truncated)


def test_an_unknown_version_is_refused(tmp_path):
    (tmp_path / "a.npy").write_bytes(
        header("{'descr': '<f8', 'fortran_order': False, 'shape': (0,), }", version=(9, 0)))
    every_reader(tmp_path / "a.npy", stash.UnsupportedVersion)


def test_object_arrays_are_refused_not_unpickled(tmp_path):
    np.save(tmp_path / "a.npy", np.array([1, None], dtype=object), allow_pickle=True)
    every_reader(tmp_path / "a.npy", stash.UnsupportedDtype)


def test_a_header_that_is_not_a_dict_is_corrupt(tmp_path):
    (tmp_path / "a.npy").write_bytes(header("__import__('os').system('false')"))
    every_reader(tmp_path / "a.npy", stash.Corrupt)


def test_threads_save_and_load_at_once(tmp_path, run_threads):
    def work(n):
        a = np.full((200, 100), n, dtype=np.int32)
        for _ in range(20):
            stash.npy.save(tmp_path / f"{n}.npy", a)
            assert (stash.npy.load(tmp_path / f"{n}.npy") == n).all()
            assert (stash.npy.map(tmp_path / f"{n}.npy") == n).all()

    run_threads(*(functools.partial(work, n) for n in range(4)))
