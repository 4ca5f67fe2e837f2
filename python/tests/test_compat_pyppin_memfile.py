"""stash.compat.pyppin_memfile: pyppin's MemFile API over stash.MemFile.

First pyppin's own four tests (tests/file/memfile_test.py), ported to
pytest (its raw and buffered tests as one parametrized test); then the rest
of pyppin's behaviour; then a test for each difference the module's
docstring lists. Each test before the differences passes against pyppin's
own MemFile too, and each difference test fails there.
"""
import array
import copy
import io
import locale
import os
import pickle
import threading
import weakref

import pytest

import stash
from stash.compat.pyppin_memfile import MemFile

HOLEY = b"\0\0\0\0\x0012345"  # pwrite(5, b"12345") on an empty file


@pytest.fixture
def holey():
    """A file holding five zeros and then "12345", as pyppin's tests set up."""
    file = MemFile()
    assert file.pwrite(5, b"12345") == 5
    assert file.pread(0, 20) == (10, HOLEY)
    yield file
    file.close()


# ---- pyppin's own tests ----------------------------------------------------

def test_native_methods():
    file = MemFile()
    assert file.size() == 0
    assert file.pread(0, 10) == (0, b"")
    assert file.pread(5, 10) == (0, b"")
    with pytest.raises(ValueError):
        file.pread(0, 10, bytearray())
    buf = bytearray(10)
    assert file.pread(0, 10, buf) == (0, buf)

    assert file.pwrite(0, b"12345") == 5
    assert file.size() == 5
    assert file.pread(0, 10) == (5, b"12345")
    assert file.pread(0, 3) == (3, b"123")
    assert file.pread(2, 10) == (3, b"345")

    assert file.pwrite(15, b"67890") == 5  # after a hole
    assert file.size() == 20
    assert file.pread(0, 100) == (20, b"12345" + bytes(10) + b"67890")
    assert file.pread(8, 5) == (5, bytes(5))  # starts inside the hole
    assert file.pread(4, 5) == (5, b"5" + bytes(4))  # starts at the last written byte


@pytest.mark.parametrize("buffering, types", [
    (0, (io.RawIOBase, io.RawIOBase, io.RawIOBase)),
    (-1, (io.BufferedReader, io.BufferedRandom, io.BufferedRandom)),
])
def test_binary_handles(holey, buffering, types):
    reader_type, update_type, truncating_type = types
    with holey.open("rb", buffering=buffering) as handle:
        assert isinstance(handle, reader_type)
        assert handle.seek(-7, os.SEEK_END) == 3
        assert handle.read(5) == b"\0\x00123"
        with pytest.raises(OSError):
            handle.write(b"67890")

    with holey.open("r+b", buffering=buffering) as handle:
        assert isinstance(handle, update_type)
        assert handle.seek(-7, os.SEEK_END) == 3
        assert handle.read(5) == b"\0\x00123"
        assert handle.seek(-7, os.SEEK_END) == 3
        assert handle.write(b"67890") == 5
        assert handle.seek(0, os.SEEK_SET) == 0
        assert handle.read(20) == b"\0\0\x006789045"
        assert holey.pread(0, 20) == (10, b"\0\0\x006789045")  # the file itself changed

    with holey.open("w+b", buffering=buffering) as handle:
        assert isinstance(handle, truncating_type)
        assert holey.size() == 0
        assert handle.read(20) == b""
        assert handle.write(b"123") == 3
        assert handle.tell() == 3
        assert handle.seek(0, os.SEEK_SET) == 0
        assert handle.read(20) == b"123"


def test_text_handles(holey):
    with holey.open("r") as handle:
        assert isinstance(handle, io.TextIOBase)
        assert handle.seek(3, os.SEEK_SET) == 3
        assert handle.read(5) == "\0\x00123"
        with pytest.raises(OSError):
            handle.write("67890")

    with holey.open("r+") as handle:
        assert isinstance(handle, io.TextIOBase)
        assert handle.seek(3, os.SEEK_SET) == 3
        assert handle.read(5) == "\0\x00123"
        assert handle.seek(3, os.SEEK_SET) == 3
        assert handle.write("67890") == 5
        assert handle.seek(0, os.SEEK_SET) == 0
        assert handle.read(20) == "\0\0\x006789045"
        assert holey.pread(0, 20) == (10, b"\0\0\x006789045")

    with holey.open("w+") as handle:
        assert isinstance(handle, io.TextIOBase)
        assert holey.size() == 0
        assert handle.read(20) == ""
        assert handle.write("123") == 3
        assert handle.tell() == 3
        assert handle.seek(0, os.SEEK_SET) == 0
        assert handle.read(20) == "123"


# ---- The rest of pyppin's API ---------------------------------------------------

def test_str_is_the_name_and_the_file_is_readable_and_writable():
    file = MemFile()
    assert str(file) == "memfile"
    assert file.readable is True and file.writable is True
    assert str(MemFile(name="upload.csv")) == "upload.csv"


def test_pread_returns_a_new_bytearray_of_the_bytes_read(holey):
    n, data = holey.pread(4, 100)
    assert (n, type(data), data) == (6, bytearray, b"\x0012345")
    data[0] = 0x41  # the caller's own copy: the file is unchanged
    assert holey.pread(4, 1) == (1, b"\0")
    assert holey.pread(10, 5) == (0, b"") and holey.pread(99, 5) == (0, b"")


def test_pread_into_a_buffer_returns_it_cast_to_bytes(holey):
    buf = bytearray(b"x" * 8)
    n, data = holey.pread(6, 6, buf)
    assert n == 4 and buf == b"2345xxxx"  # n bytes at the start, the rest untouched
    assert isinstance(data, memoryview) and data.format == "B" and data.obj is buf
    words = array.array("i", [0, 0])
    n, data = holey.pread(5, 8, words)  # any buffer: its size counts in bytes
    assert n == 5 and words.tobytes() == b"12345\0\0\0" and len(data) == 8
    with pytest.raises(ValueError):
        holey.pread(0, 9, array.array("i", [0, 0]))


def test_pwrite_counts_bytes_of_any_bytes_like():
    file = MemFile()
    assert file.pwrite(0, array.array("i", [1, 2])) == 8
    assert file.pwrite(8, memoryview(b"abc")) == 3
    assert file.pwrite(2, bytearray(b"zz")) == 2
    assert file.size() == 11


def test_pickles_and_deep_copies_are_new_files_with_the_content(holey):
    for twin in (pickle.loads(pickle.dumps(holey)), copy.deepcopy(holey)):
        assert str(twin) == "memfile" and twin.bytes == HOLEY
        twin.pwrite(0, b"T")
        assert holey.pread(0, 1) == (1, b"\0")
        twin.close()


def test_wrong_direction_raises_oserror(holey):
    with holey.open("wb", buffering=0) as raw, holey.open("w") as text:
        with pytest.raises(OSError):
            raw.read(1)
        with pytest.raises(OSError):
            text.read()


def test_raw_handles_pread_and_pwrite_leave_the_position(holey):
    with holey.open("r+b", buffering=0) as handle:
        handle.seek(2)
        assert handle.pread(5, 3) == (3, b"123")
        assert handle.pwrite(0, b"ab") == 2
        assert handle.tell() == 2
        assert holey.pread(0, 3) == (3, b"ab\0")
    with holey.open("rb", buffering=0) as reader, holey.open("ab", buffering=0) as writer:
        with pytest.raises(OSError):
            reader.pwrite(0, b"x")
        with pytest.raises(OSError):
            writer.pread(0, 1)
    with holey.open("rb") as buffered:  # under a buffered handle: .raw
        assert buffered.raw.pread(5, 1) == (1, b"1")


@pytest.mark.parametrize("mode, buffering", [("rb", 0), ("rb", -1), ("r", -1)])
def test_a_dropped_handle_is_freed_at_once(holey, mode, buffering):
    handle = holey.open(mode, buffering)
    raw = weakref.ref(getattr(getattr(handle, "buffer", handle), "raw", handle))
    del handle
    assert raw() is None  # no cycle through pread/pwrite waits for the collector


def test_handles_share_the_file_and_buffers_cache(holey):
    reader = holey.open("rb")
    assert reader.read(1) == b"\0"  # fills its buffer with the whole file
    with holey.open("r+b") as writer:
        writer.write(b"W")
        assert holey.pread(0, 1) == (1, b"\0")  # still in the writer's buffer
        writer.flush()
        assert holey.pread(0, 1) == (1, b"W")
    assert reader.read(1) == b"\0"  # served from the reader's buffer, as with files
    reader.close()


def test_w_empties_the_file_for_every_handle(holey):
    with holey.open("rb", buffering=0) as reader:
        holey.open("w").close()
        assert holey.size() == 0 and reader.read() == b""


def test_raw_handle_basics(holey):
    handle = holey.open("r+b", buffering=0)
    handle.writelines([b"ab", b"cd"])
    assert holey.pread(0, 5) == (5, b"abcd\0")
    assert handle.flush() is None and handle.isatty() is False
    assert handle.readable() and handle.writable() and handle.seekable()
    handle.close()
    handle.close()  # twice is fine
    assert handle.closed


def test_text_handles_write_through_and_decode_as_open_does(holey):
    with holey.open("r+", newline="") as handle:
        assert handle.write_through  # as pyppin's: each write goes to the buffer
        assert handle.encoding == locale.getpreferredencoding(False)
    with holey.open("w", encoding="utf-16") as handle:
        handle.write("é")
    assert holey.bytes == "é".encode("utf-16")


@pytest.mark.parametrize("kwargs", [
    {"mode": "rb", "errors": "strict"},   # errors only in text mode
    {"mode": "r", "buffering": 0},        # no unbuffered text
])
def test_open_argument_errors(kwargs):
    with pytest.raises(ValueError):
        MemFile().open(**kwargs)


def test_threads_see_each_write_whole():
    """pyppin's class leaves this to its callers; every call here is thread-safe."""
    file = MemFile()
    block = 1 << 17  # large enough to be copied without the GIL
    file.pwrite(0, bytes(block))
    done = threading.Event()

    def writer():
        for i in range(200):
            file.pwrite(0, bytes([i % 256]) * block)
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    while not done.is_set():
        n, data = file.pread(0, block)
        assert n == block and data.count(data[0]) == block  # one write's bytes, not two
    thread.join()
    file.close()


# ---- Each difference from pyppin (the module's docstring) -----------------------

@pytest.mark.parametrize("call", [
    lambda f: f.pread(-1, 2), lambda f: f.pread(0, -2), lambda f: f.pread(-1, 2, bytearray(2)),
    lambda f: f.pwrite(-2, b"ZZ"), lambda f: f.truncate(-1),
])
def test_difference_negative_offsets_raise_oserror(call):
    file = MemFile()
    file.pwrite(0, b"hel")
    with pytest.raises(OSError):
        call(file)
    assert file.bytes == b"hel"  # pyppin's pwrite(-2, b"ZZ") makes it b"hZZel"


def test_difference_truncate_extends_with_zeros(holey):
    assert holey.truncate(12) == 12
    assert holey.pread(0, 20) == (12, HOLEY + b"\0\0")
    assert holey.truncate(3) == 3 and holey.size() == 3
    with holey.open("r+b") as handle:
        assert handle.truncate(6) == 6
    assert holey.bytes == bytes(6)


def test_difference_bytes_is_a_copy_that_never_goes_stale():
    file = MemFile()
    file.pwrite(0, b"ab")
    before = file.bytes
    file.pwrite(10, b"cd")  # growth by a hole: where pyppin's .bytes goes stale
    assert before == b"ab" and type(before) is bytes
    assert file.bytes == b"ab" + bytes(8) + b"cd"
    with pytest.raises(TypeError):
        file.bytes[0] = 1  # write through pwrite or a handle


def test_difference_a_shallow_copy_shares_the_file_for_good(holey):
    twin = copy.copy(holey)
    twin.pwrite(20, b"grown")  # where pyppin's copies stop sharing
    assert holey.bytes == twin.bytes == HOLEY + bytes(10) + b"grown"


def test_difference_append_mode_appends_every_write(holey):
    with holey.open("ab", buffering=0) as appender, holey.open("r+b", buffering=0) as other:
        other.seek(0, os.SEEK_END)
        other.write(b"XY")  # grows the file after the appender opened
        appender.write(b"a")
    assert holey.bytes == HOLEY + b"XYa"  # pyppin's appender overwrites "X"


def test_difference_exclusive_mode_needs_an_empty_file(holey):
    with pytest.raises(FileExistsError):
        holey.open("x")
    empty = MemFile()
    with empty.open("xb") as handle:
        assert handle.write(b"new") == 3  # pyppin's raises io.UnsupportedOperation
    assert empty.bytes == b"new"


@pytest.mark.parametrize("mode", ["rw", "rU", "rbt", "rr", ""])
def test_difference_modes_are_checked_as_open_does(mode):
    with pytest.raises(ValueError, match="invalid mode"):
        MemFile().open(mode)  # pyppin's opens each of these


@pytest.mark.parametrize("argument", ["encoding", "newline"])
def test_difference_text_arguments_in_binary_mode_raise(argument):
    with pytest.raises(ValueError):
        MemFile().open("rb", **{argument: "utf-8" if argument == "encoding" else ""})


def test_difference_line_buffered_binary_warns_as_open_does():
    with pytest.warns(RuntimeWarning):
        handle = MemFile().open("wb", buffering=1)  # pyppin: ValueError
    assert isinstance(handle, io.BufferedWriter)
    handle.close()


def test_difference_raw_handles_behave_as_io_does(holey):
    handle = holey.open("rb", buffering=0)
    assert handle.readline() == HOLEY  # pyppin's returns b""
    handle.seek(0)
    assert handle.readlines() == [HOLEY]
    handle.seek(50)
    assert handle.read() == b""  # pyppin's asserts
    with pytest.raises(ValueError):
        handle.seek(-1)  # pyppin's goes to position -1
    with pytest.raises(ValueError):
        handle.seek(0, 7)  # pyppin's ignores an unknown whence
    handle.close()
    with pytest.raises(ValueError):  # pyppin's raw handles raise OSError
        handle.read(1)
    with pytest.raises(ValueError):
        handle.pread(0, 1)


def test_difference_fileno_exports_the_bytes():
    file = MemFile()
    file.pwrite(0, b"shared")
    fd = file.fileno()  # pyppin's is a property that raises OSError
    assert os.pread(fd, 6, 0) == b"shared"
    os.pwrite(fd, b"S", 0)
    assert file.pread(0, 1) == (1, b"S")
    with pytest.raises(stash.Busy):
        file.truncate(0)  # an exported file cannot shrink
    file.close()


def test_difference_name_is_a_property_too():
    assert MemFile().name == "memfile" and MemFile("run-3").name == "run-3"


def test_difference_close_and_context_manager_release_the_file(holey):
    handle = holey.open("rb")
    with MemFile() as file:
        assert not file.closed
    assert file.closed and not file.readable and not file.writable
    for call in (file.size, lambda: file.pread(0, 1), lambda: file.pwrite(0, b"x"),
                 lambda: file.open("rb")):
        with pytest.raises(stash.Closed):
            call()
    file.close()  # again: nothing
    holey.close()
    assert handle.read() == HOLEY  # an open handle keeps the memory
    handle.close()


def test_difference_max_size_bounds_the_file():
    file = MemFile("bounded", max_size=4096)
    assert file.pwrite(0, bytes(4096)) == 4096
    with pytest.raises(stash.Full):
        file.pwrite(4096, b"x")
    with pytest.raises(OSError):  # stash.Full is an OSError
        file.pwrite(4096, b"x")
    assert file.size() == 4096
