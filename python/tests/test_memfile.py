"""stash.MemFile: one block of RAM, positional calls, io handles, a view, a descriptor."""
import array
import functools
import gc
import io
import os
import threading
import uuid

import numpy as np
import pytest

import stash

BIG = 1 << 20  # past STASHPY_GIL_FREE_BYTES: copied without the GIL


def unique_name():
    return f"stash-test-{uuid.uuid4().hex[:12]}"


def mapped(name):
    """Whether this process still maps the memory file called name."""
    with open("/proc/self/maps") as maps:
        return any(f"/memfd:{name} " in line for line in maps)


@pytest.fixture
def mf():
    with stash.MemFile() as f:
        yield f


# ---- Creation, size, repr --------------------------------------------------

def test_new_file_is_empty_and_named():
    f = stash.MemFile()
    assert f.size() == 0
    assert f.name == "memfile"
    assert not f.closed
    assert repr(f) == "<stash.MemFile 'memfile', 0 bytes>"
    f.close()
    assert f.closed
    assert repr(f) == "<stash.MemFile 'memfile', closed>"


def test_name_and_max_size_by_keyword():
    with stash.MemFile(name="run-3", max_size=1 << 20) as f:
        assert f.name == "run-3"
        assert f.pwrite(0, b"x") == 1


# ---- pread and pwrite ---------------------------------------------------------

@pytest.mark.parametrize("data", [
    b"hello", bytearray(b"hello"), memoryview(b"xhellox")[1:6], array.array("B", b"hello"),
    np.frombuffer(b"hello", dtype=np.uint8),
])
def test_pwrite_takes_any_bytes_like(mf, data):
    assert mf.pwrite(0, data) == 5
    assert mf.pread(0, 5) == (5, b"hello")


def test_pwrite_counts_bytes_not_items(mf):
    a = np.arange(10, dtype=np.float64)
    assert mf.pwrite(0, a) == 80
    n, data = mf.pread(0, 80)
    assert n == 80 and np.array_equal(np.frombuffer(data), a)


def test_pread_returns_what_is_there(mf):
    mf.pwrite(0, b"0123456789")
    assert mf.pread(2, 3) == (3, b"234")
    assert mf.pread(8, 100) == (2, b"89")
    assert mf.pread(10, 5) == (0, b"")
    assert mf.pread(1000, 5) == (0, b"")
    assert mf.pread(0, 0) == (0, b"")
    assert type(mf.pread(0, 3)[1]) is bytes


def test_pwrite_past_the_end_leaves_a_zero_gap(mf):
    mf.pwrite(0, b"ab")
    mf.pwrite(6, b"cd")
    assert mf.size() == 8
    assert mf.pread(0, 8) == (8, b"ab\0\0\0\0cd")


def test_pread_and_pwrite_by_keyword(mf):
    assert mf.pwrite(offset=1, data=b"xyz") == 3
    assert mf.pread(offset=1, size=3) == (3, b"xyz")
    buffer = bytearray(3)
    assert mf.pread(1, size=3, buffer=buffer) == (3, buffer)
    assert buffer == b"xyz"


def test_pread_into_a_buffer_fills_it_and_returns_it(mf):
    mf.pwrite(0, b"abcdef")
    buffer = bytearray(10)
    n, data = mf.pread(1, 4, buffer)
    assert n == 4 and data is buffer
    assert buffer == b"bcde" + bytes(6)
    n, data = mf.pread(4, 10, buffer)  # short read at the end
    assert n == 2 and buffer[:2] == b"ef"


def test_pread_into_a_numpy_array(mf):
    src = np.arange(1000, dtype=np.int32)
    mf.pwrite(0, src)
    out = np.zeros(1000, dtype=np.int32)
    assert mf.pread(0, out.nbytes, out)[0] == out.nbytes
    assert np.array_equal(out, src)


def test_pread_into_a_small_or_read_only_buffer_is_refused(mf):
    mf.pwrite(0, b"abcdef")
    with pytest.raises(stash.InvalidArgument):
        mf.pread(0, 5, bytearray(4))
    with pytest.raises(BufferError):
        mf.pread(0, 3, b"xxx")


def test_large_reads_and_writes_round_trip(mf):
    data = np.random.default_rng(1).integers(0, 256, 3 * BIG + 5, dtype=np.uint8).tobytes()
    assert mf.pwrite(7, data) == len(data)
    assert mf.pread(7, len(data)) == (len(data), data)
    out = bytearray(len(data))
    assert mf.pread(7, len(data), out)[0] == len(data)
    assert out == data
    assert mf.pread(0, 1 << 40)[0] == len(data) + 7  # a huge size reads what is there


def test_pwrite_from_a_slice_of_its_own_view_overlapping(mf):
    mf.pwrite(0, b"0123456789")
    view = mf.view()
    mf.pwrite(2, view[0:8])  # source and target overlap
    assert mf.pread(0, 10)[1] == b"0101234567"
    handle = mf.open("r+b", buffering=0)
    handle.seek(1)
    handle.write(view[0:4])
    handle.close()
    assert mf.pread(0, 10)[1] == b"0010134567"


# ---- size and truncate -------------------------------------------------------

def test_truncate_shrinks_and_extends_with_zeros(mf):
    mf.pwrite(0, b"abcdef")
    assert mf.truncate(3) == 3
    assert mf.size() == 3
    assert mf.truncate(6) == 6
    assert mf.pread(0, 6) == (6, b"abc\0\0\0")
    assert mf.truncate(0) == 0 and mf.size() == 0


# ---- The view ------------------------------------------------------------------

def test_view_is_read_only_and_zero_copy(mf):
    mf.pwrite(0, b"abcdef")
    view = mf.view()
    assert isinstance(view, memoryview) and view.readonly
    assert view.tobytes() == b"abcdef"
    mf.pwrite(0, b"XY")  # the same memory: the view sees the write
    assert view[:2] == b"XY"
    with pytest.raises(TypeError):
        view[0] = 1
    array_view = np.frombuffer(view, dtype=np.uint8)
    assert not array_view.flags.writeable and bytes(array_view[:2]) == b"XY"


def test_view_of_an_empty_file(mf):
    assert len(mf.view()) == 0


def test_view_survives_growth(mf):
    mf.pwrite(0, b"abc")
    view = mf.view()
    mf.pwrite(8 * BIG, b"z")  # far past the first capacity: the memory does not move
    mf.truncate(16 * BIG)
    assert view.tobytes() == b"abc"
    assert mf.pread(8 * BIG, 1) == (1, b"z")


def test_view_outlives_close_and_the_memory_goes_with_the_last_view():
    name = unique_name()
    f = stash.MemFile(name)
    f.pwrite(0, b"kept alive")
    view = f.view()
    array_view = np.asarray(view[5:])
    del view
    f.close()
    assert f.closed
    assert array_view.tobytes() == b"alive"
    assert mapped(name)
    del array_view
    gc.collect()
    assert not mapped(name)


def test_close_without_views_releases_the_memory_at_once():
    name = unique_name()
    f = stash.MemFile(name)
    f.pwrite(0, b"x")
    assert mapped(name)
    f.close()
    assert not mapped(name)


def test_shrinking_under_a_view_raises_buffer_error(mf):
    mf.pwrite(0, b"abcdef")
    view = mf.view()
    with pytest.raises(BufferError):
        mf.truncate(2)
    with pytest.raises(BufferError):
        mf.open("w")
    handle = mf.open("r+b")
    with pytest.raises(BufferError):
        handle.truncate(1)
    handle.close()
    assert mf.size() == 6 and view.tobytes() == b"abcdef"
    assert mf.truncate(10) == 10  # growing is safe
    with pytest.raises(BufferError):
        mf.truncate(6)  # any shrink, as bytearray and mmap refuse any resize
    del view
    gc.collect()
    assert mf.truncate(2) == 2


# ---- close and the context manager -----------------------------------------------

def test_calls_on_a_closed_file_raise_closed():
    f = stash.MemFile()
    f.close()
    f.close()  # twice is fine
    for call in (lambda: f.pread(0, 1), lambda: f.pwrite(0, b"x"), f.size, lambda: f.truncate(0),
                 f.fileno, f.view, f.open, lambda: f.open("rb")):
        with pytest.raises(stash.Closed) as raised:
            call()
        assert isinstance(raised.value, ValueError)
        assert raised.value.name == "STASH_E_CLOSED"
    with pytest.raises(stash.Closed):
        with f:
            pass


def test_context_manager_closes():
    with stash.MemFile() as f:
        f.pwrite(0, b"x")
    assert f.closed


# ---- open(): what io.open would give -----------------------------------------------

@pytest.mark.parametrize("mode,buffering,cls", [
    ("rb", 0, io.RawIOBase), ("r+b", 0, io.RawIOBase), ("wb", 0, io.RawIOBase),
    ("rb", -1, io.BufferedReader), ("r+b", -1, io.BufferedRandom),
    ("w+b", -1, io.BufferedRandom), ("a+b", -1, io.BufferedRandom),
    ("wb", -1, io.BufferedWriter), ("ab", -1, io.BufferedWriter), ("xb", -1, io.BufferedWriter),
    ("r", -1, io.TextIOWrapper), ("w", -1, io.TextIOWrapper), ("r+", 1, io.TextIOWrapper),
    ("a+t", 4096, io.TextIOWrapper),
])
def test_open_gives_the_type_io_open_gives(mode, buffering, cls):
    with stash.MemFile() as f, f.open(mode, buffering) as handle:
        assert isinstance(handle, cls)
        assert handle.mode == {"r+b": "rb+", "w+b": "rb+", "a+b": "ab+", "r+": "r+",
                               "r": "r", "w": "w", "a+t": "a+t"}.get(mode, mode)
        assert handle.name == "memfile"
    assert handle.closed


def test_raw_handle_is_registered_as_raw_io():
    with stash.MemFile() as f, f.open("rb", buffering=0) as raw:
        assert isinstance(raw, io.RawIOBase) and isinstance(raw, io.IOBase)
        assert raw.readable() and not raw.writable() and raw.seekable()
        assert not raw.isatty()


@pytest.mark.parametrize("mode,kwargs", [
    ("rw", {}), ("rr", {}), ("q", {}), ("", {}), ("rbt", {}), ("r", {"buffering": 0}),
    ("rb", {"encoding": "utf-8"}), ("rb", {"errors": "strict"}), ("rb", {"newline": ""}),
])
def test_open_refuses_what_io_open_refuses(mode, kwargs):
    with stash.MemFile() as f:
        with pytest.raises(ValueError):
            f.open(mode, **kwargs)


def test_open_with_a_bad_encoding_raises_lookup_error_and_leaks_no_handle():
    name = unique_name()
    f = stash.MemFile(name)
    with pytest.raises(LookupError) as raised:
        f.open("r", encoding="no-such-codec")
    f.close()
    assert not mapped(name)  # the raw handle was closed, though its frame is still alive
    del raised


def binary_script(handle):
    """The same calls on a handle and on io.BytesIO; returns what they saw."""
    seen = []
    handle.write(b"first line\nsecond\r\nthird")
    seen.append(handle.tell())
    seen.append(handle.seek(0))
    seen.append(handle.readline())
    seen.append(handle.read(4))
    seen.append(handle.seek(-3, io.SEEK_END))
    seen.append(handle.read())
    seen.append(handle.seek(2, io.SEEK_SET))
    handle.write(b"XX")
    seen.append(handle.tell())
    seen.append(handle.seek(0))
    seen.append(handle.readlines())
    seen.append(handle.seek(30))
    handle.write(b"!")  # leaves a gap
    seen.append(handle.seek(0, io.SEEK_END))
    seen.append(handle.seek(0))
    seen.append(handle.read())
    seen.append(handle.truncate(5))
    seen.append(handle.tell())
    seen.append(handle.seek(0))
    seen.append(handle.read())
    return seen


@pytest.mark.parametrize("buffering", [0, -1, 7])
def test_binary_handles_behave_as_bytes_io(buffering):
    with stash.MemFile() as f, f.open("w+b", buffering) as handle:
        assert binary_script(handle) == binary_script(io.BytesIO())


def text_script(handle):
    seen = []
    seen.append(handle.write("héllo\nwörld\nline three\n"))
    seen.append(handle.seek(0))
    seen.append(handle.readline())
    position = handle.tell()
    seen.append(handle.readline())
    handle.seek(position)
    seen.append(handle.readline())
    seen.append(handle.read())
    handle.seek(0)
    seen.append(list(handle))
    handle.write("more\n")
    handle.seek(0)
    seen.append(handle.read())
    return seen


@pytest.mark.parametrize("newline", [None, "", "\n", "\r\n"])
def test_text_handles_behave_as_text_over_bytes_io(newline):
    with stash.MemFile() as f, f.open("w+", encoding="utf-8", newline=newline) as handle:
        got = text_script(handle)
        handle.flush()
        raw = f.pread(0, 1000)[1]
    reference = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline=newline)
    assert got == text_script(reference)
    reference.flush()
    assert raw == reference.buffer.getvalue()


def test_text_round_trip_between_handles(mf):
    with mf.open("w", encoding="utf-8") as out:
        out.write("α\nβ\n")
    with mf.open("r", encoding="utf-8") as back:
        assert back.readlines() == ["α\n", "β\n"]
    assert mf.pread(0, 100)[1] == "α\nβ\n".encode()


def test_handles_have_their_own_positions(mf):
    mf.pwrite(0, b"0123456789")
    a = mf.open("rb", buffering=0)
    b = mf.open("rb")
    assert a.read(3) == b"012"
    assert b.read(5) == b"01234"
    assert a.read(2) == b"34"
    assert a.tell() == 5 and b.tell() == 5
    b.seek(8)
    assert a.read(1) == b"5"
    a.close()
    b.close()


def test_handles_and_positional_calls_see_each_others_writes(mf):
    writer = mf.open("r+b", buffering=0)
    reader = mf.open("rb", buffering=0)
    writer.write(b"abc")
    assert reader.read() == b"abc"
    mf.pwrite(3, b"def")
    assert reader.read() == b"def"
    buffered = mf.open("ab")
    buffered.write(b"ghi")
    assert mf.size() == 6  # still in the buffer
    buffered.flush()
    assert mf.pread(0, 9) == (9, b"abcdefghi")
    writer.close()
    reader.close()
    buffered.close()


def test_append_writes_at_the_end_as_it_is_at_each_write(mf):
    appender = mf.open("ab", buffering=0)
    assert appender.tell() == 0
    appender.write(b"one")
    mf.pwrite(3, b"-grown-")
    appender.write(b"two")
    assert mf.pread(0, 100)[1] == b"one-grown-two"
    assert appender.tell() == 13
    appender.close()


def test_w_empties_and_x_refuses_a_non_empty_file(mf):
    mf.pwrite(0, b"old")
    with pytest.raises(FileExistsError):
        mf.open("x")
    mf.open("w").close()
    assert mf.size() == 0
    with mf.open("x") as created:
        created.write("new")
    assert mf.pread(0, 10)[1] == b"new"


def test_handle_directions_are_enforced(mf):
    mf.pwrite(0, b"abc")
    with mf.open("rb", buffering=0) as reader:
        with pytest.raises(io.UnsupportedOperation):
            reader.write(b"x")
        with pytest.raises(io.UnsupportedOperation):
            reader.truncate(0)
    with mf.open("ab", buffering=0) as appender:
        with pytest.raises(io.UnsupportedOperation):
            appender.read(1)
    with mf.open("rb") as buffered:
        with pytest.raises(io.UnsupportedOperation):
            buffered.write(b"x")
    assert mf.pread(0, 3) == (3, b"abc")


def test_handle_has_no_descriptor_of_its_own(mf):
    with mf.open("rb") as handle:
        with pytest.raises(io.UnsupportedOperation):
            handle.fileno()


def test_raw_truncate_keeps_the_position(mf):
    with mf.open("w+b", buffering=0) as handle:
        handle.write(b"abcdef")
        assert handle.truncate(2) == 2
        assert handle.tell() == 6
        assert handle.truncate() == 6  # to the position
        assert mf.pread(0, 10)[1] == b"ab\0\0\0\0"


def test_handle_outlives_close_of_the_file():
    name = unique_name()
    f = stash.MemFile(name)
    f.pwrite(0, b"still here")
    handle = f.open("rb")
    f.close()
    assert handle.read() == b"still here"
    assert mapped(name)
    handle.close()
    assert not mapped(name)


def test_handles_used_without_a_name(mf):
    mf.pwrite(0, b"abc\ndef")
    assert mf.open("rb", buffering=0).read() == b"abc\ndef"
    assert mf.open("rb", 0).seek(0, io.SEEK_END) == 7
    assert mf.open("rb").read(3) == b"abc"
    assert mf.open().readlines() == ["abc\n", "def"]


def test_a_handle_dropped_unclosed_lets_the_memory_go():
    name = unique_name()
    f = stash.MemFile(name)
    f.pwrite(0, b"x")
    f.open("rb", buffering=0)
    f.open("r+b")
    f.close()
    gc.collect()
    assert not mapped(name)


def test_calls_on_a_closed_handle_raise_value_error(mf):
    handle = mf.open("r+b", buffering=0)
    handle.close()
    handle.close()
    for call in (lambda: handle.read(1), lambda: handle.write(b"x"), handle.tell,
                 lambda: handle.seek(0), handle.readable, lambda: handle.readinto(bytearray(1))):
        with pytest.raises(ValueError):
            call()


def test_large_reads_through_a_handle(mf):
    data = bytes(range(256)) * (BIG // 256)
    mf.pwrite(0, data)
    with mf.open("rb", buffering=0) as raw:
        assert raw.read() == data
        raw.seek(0)
        out = bytearray(BIG)
        assert raw.readinto(out) == BIG and out == data
    with mf.open("rb") as buffered:
        assert buffered.read() == data


# ---- The descriptor --------------------------------------------------------------

def test_fileno_reads_and_writes_the_same_bytes(mf):
    mf.pwrite(0, b"through the descriptor")
    fd = mf.fileno()
    assert mf.fileno() == fd  # one descriptor, owned by the file
    assert os.pread(fd, 7, 0) == b"through"
    os.pwrite(fd, b"THE", 8)
    assert mf.pread(8, 3) == (3, b"THE")
    os.pwrite(fd, b"+grown", mf.size())
    assert mf.pread(0, 100)[1] == b"through THE descriptor+grown"
    assert os.fstat(fd).st_size == mf.size()


def test_exported_file_cannot_shrink(mf):
    mf.pwrite(0, b"abcdef")
    mf.fileno()
    with pytest.raises(stash.Busy):
        mf.truncate(2)
    assert mf.truncate(10) == 10


def test_growth_through_the_descriptor_past_max_size():
    small = stash.MemFile(max_size=4096)
    fd = small.fileno()
    os.pwrite(fd, b"x", 8192)  # a descriptor cannot be held to max_size
    assert small.size() == 8193
    assert small.pread(8190, 5) == (3, b"\0\0x")  # read past the mapping with pread(2)
    with pytest.raises(stash.Full):
        small.view()  # the view cannot cover it
    with pytest.raises(stash.Full):
        small.pwrite(8193, b"y")
    small.close()


def test_close_closes_the_descriptor():
    f = stash.MemFile()
    fd = f.fileno()
    f.close()
    with pytest.raises(OSError):
        os.fstat(fd)


# ---- Threads ---------------------------------------------------------------------

@pytest.mark.parametrize("chunk", [64, BIG // 4])
def test_threads_write_disjoint_ranges(mf, chunk, run_threads):
    threads_count, rounds = 4, 16

    def work(k):
        for r in range(rounds):
            offset = (r * threads_count + k) * chunk
            mf.pwrite(offset, bytes([k + 1]) * chunk)

    run_threads(*(functools.partial(work, k) for k in range(threads_count)))
    assert mf.size() == threads_count * rounds * chunk
    for r in range(rounds):
        for k in range(threads_count):
            offset = (r * threads_count + k) * chunk
            assert mf.pread(offset, chunk)[1] == bytes([k + 1]) * chunk


def test_threads_read_whole_writes(mf):
    """Each write of one byte value over BIG bytes is seen entirely or not at all."""
    mf.pwrite(0, bytes(BIG))
    stop = threading.Event()
    torn = []

    def writer():
        value = 0
        while not stop.is_set():
            value = (value + 1) % 256
            mf.pwrite(0, bytes([value]) * BIG)

    def reader():
        out = bytearray(BIG)
        for _ in range(50):
            mf.pread(0, BIG, out)
            if out.count(out[0]) != BIG:
                torn.append(True)
        stop.set()

    threads = [threading.Thread(target=writer), threading.Thread(target=reader),
               threading.Thread(target=reader)]
    for t in threads:
        t.start()
    threads[1].join()
    threads[2].join()
    stop.set()
    threads[0].join()
    assert not torn


def test_threads_with_their_own_handles(mf, run_threads):
    def work(k):
        with mf.open("r+b", buffering=0) as handle:
            handle.seek(k * 1000)
            for _ in range(100):
                handle.write(bytes([65 + k]) * 10)

    run_threads(*(functools.partial(work, k) for k in range(4)))
    for k in range(4):
        assert mf.pread(k * 1000, 1000)[1] == bytes([65 + k]) * 1000


def test_close_from_another_thread_while_copying():
    f = stash.MemFile()
    f.pwrite(0, bytes(4 * BIG))
    errors = []

    def work():
        out = bytearray(4 * BIG)
        try:
            for _ in range(200):
                f.pread(0, 4 * BIG, out)
                f.pwrite(0, out)
        except stash.Closed:
            pass
        except BaseException as error:  # anything else is a bug
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    f.close()
    for t in threads:
        t.join()
    assert not errors


# ---- Limits and hostile arguments ----------------------------------------------------

def test_max_size_is_enforced():
    small = stash.MemFile(max_size=4096)
    assert small.pwrite(4095, b"x") == 1
    with pytest.raises(stash.Full) as raised:
        small.pwrite(4096, b"x")
    assert isinstance(raised.value, OSError)
    with pytest.raises(stash.Full):
        small.pwrite(4000, bytes(97))
    with pytest.raises(stash.Full):
        small.truncate(4097)
    with small.open("ab", buffering=0) as appender:
        with pytest.raises(stash.Full):
            appender.write(b"y")
    assert small.size() == 4096
    small.close()


def test_max_size_rounds_up_to_a_page():
    with stash.MemFile(max_size=1) as f:
        assert f.pwrite(0, bytes(os.sysconf("SC_PAGESIZE"))) == os.sysconf("SC_PAGESIZE")


@pytest.mark.parametrize("call,error", [
    (lambda f: f.pread(-1, 1), stash.InvalidArgument),
    (lambda f: f.pread(0, -1), stash.InvalidArgument),
    (lambda f: f.pread(-2**70, 1), stash.InvalidArgument),
    (lambda f: f.pread(2**63, 1), stash.OutOfRange),
    (lambda f: f.pread(0, 2**64), stash.OutOfRange),
    (lambda f: f.pwrite(-1, b"x"), stash.InvalidArgument),
    (lambda f: f.pwrite(2**63 - 1, b"xy"), stash.OutOfRange),
    (lambda f: f.pwrite(2**100, b"x"), stash.OutOfRange),
    (lambda f: f.pwrite(2**62, b"x"), stash.Full),
    (lambda f: f.truncate(-1), stash.InvalidArgument),
    (lambda f: f.truncate(2**63), stash.OutOfRange),
    (lambda f: f.truncate(2**62), stash.Full),
    (lambda f: f.open("rb", 0).seek(-1), stash.InvalidArgument),
    (lambda f: f.open("rb", 0).seek(0, 7), stash.InvalidArgument),
    (lambda f: f.open("rb", 0).seek(2**64), stash.OutOfRange),
    (lambda f: f.open("r+b", 0).truncate(-1), stash.InvalidArgument),
])
def test_hostile_arguments_raise_the_right_class(call, error):
    with stash.MemFile(max_size=1 << 20) as f:
        with pytest.raises(error) as raised:
            call(f)
        assert raised.value.status < 0
        assert f.size() == 0  # nothing changed


@pytest.mark.parametrize("call", [
    lambda f: f.pread(1.5, 1), lambda f: f.pread("0", 1), lambda f: f.pread(0, None),
    lambda f: f.pwrite(0, "text"), lambda f: f.pwrite(0, None), lambda f: f.truncate(None),
    lambda f: f.pread(), lambda f: f.pread(0, 1, None, 4), lambda f: f.pread(0, 1, bogus=1),
    lambda f: f.pwrite(0), lambda f: f.open(mode=3), lambda f: f._open_stream(None),
])
def test_arguments_of_the_wrong_type_raise_type_error(call):
    with stash.MemFile() as f:
        with pytest.raises(TypeError):
            call(f)


@pytest.mark.parametrize("call", [
    lambda f: f.pwrite(0, np.zeros((4, 4))[:, ::2]),
    lambda f: f.pread(0, 8, np.zeros((4, 4))[:, ::2]),
    lambda f: f.pwrite(0, memoryview(b"abcd")[::2]),
    lambda f: f.open("r+b", 0).write(memoryview(b"abcd")[::2]),
])
def test_non_contiguous_buffers_are_refused(call):
    with stash.MemFile() as f:
        with pytest.raises((BufferError, ValueError)):
            call(f)
        assert f.size() == 0


@pytest.mark.parametrize("kwargs,error", [
    ({"max_size": -1}, stash.InvalidArgument), ({"max_size": 2**70}, stash.OutOfRange),
    ({"max_size": 1 << 62}, OSError), ({"name": "a\0b"}, ValueError),
    ({"name": 3}, TypeError), ({"max_size": "big"}, TypeError),
])
def test_hostile_creation_arguments(kwargs, error):
    with pytest.raises(error):
        stash.MemFile(**kwargs)


def test_numpy_view_keeps_the_memory(mf):
    values = np.arange(100, dtype=np.float64)
    mf.pwrite(0, values)
    view = np.frombuffer(mf.view(), dtype=np.float64)
    mf.close()
    assert np.array_equal(view, values)
