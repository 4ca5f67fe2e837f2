"""stash.compat.ringbuffer: rdaclient's RingBuffer, its behaviours and the differences.

The original (rdaclient's src/ringbuffer.py) has no tests of its own; these
follow its documentation, its demo and what probing it showed. Every ring
this file makes is removed by the `no_ring_left` fixture, also when a test
fails (the `buffers` fixture closes the RingBuffers it made first).
Nothing is timed: deadlines are hang detectors only, and the processes that
stream take turns through a semaphore, so no reader is lapped by chance.
"""
import gc
import glob
import logging
import multiprocessing
import os
import pickle
import time

import numpy as np
import pytest

import stash
from stash.compat import ringbuffer
from stash.compat.ringbuffer import BufferError, RingBuffer, datatypes

HANG = 120  # seconds: a hang detector, never a speed test


def shm_path(buf_or_raw):
    raw = buf_or_raw.raw if isinstance(buf_or_raw, RingBuffer) else buf_or_raw
    return os.path.join("/dev/shm", raw.name)


def own_rings():
    return glob.glob(f"/dev/shm/stash-ringbuffer-{os.getpid()}-*")


@pytest.fixture(autouse=True)
def no_ring_left():
    """Removes every ring name this process made in the test, also when it failed."""
    yield
    for path in own_rings():
        stash.Ring.remove(os.path.basename(path))


@pytest.fixture
def buffers():
    """A maker of initialized RingBuffers, every one closed after the test."""
    made = []

    def make(nChannels, nSamples, windowSize=1, nptype="float32"):  # noqa: N803
        buf = RingBuffer()
        made.append(buf)
        buf.initialize(nChannels, nSamples, windowSize, nptype)
        return buf

    make.made = made
    yield make
    for buf in made:
        buf.close()


def attached(raw, made):
    buf = RingBuffer()
    buf.initialize_from_raw(raw)
    made.append(buf)
    return buf


def frames(first, end, channels, dtype=np.float32):
    """Sample k, channel c holds k * 10 + c."""
    k = np.arange(first, end, dtype=np.float64)[:, None]
    return (k * 10 + np.arange(channels)).astype(dtype)


def column(first, end):
    return np.arange(first, end, dtype=np.float32)


# ---- the original's behaviours ------------------------------------------------------------

def test_geometry_and_properties(buffers):
    buf = buffers(1, 10, 3)
    assert buf.is_initialized
    assert (buf.nChannels, buf.bufSize, buf.pocketSize, buf.nptype) == (1, 10, 3, "float32")
    assert buf.nSamplesWritten == 0 and buf.writePtr == 0
    assert isinstance(buf.raw, ringbuffer.RawRing)


def test_a_fresh_buffer_has_nothing_available(buffers):
    buf = buffers(1, 10, 3)
    assert buf.check_availablility(0, 1) == 3
    assert buf.check_availablility(-1, 1) == 5
    assert buf.check_availablility(0, 0) == 5
    assert buf.check_availability(0, 1) == 3  # the spelled-out alias
    for start, end, code in [(0, 1, 3), (-1, 1, 5), (0, 0, 5)]:
        with pytest.raises(BufferError) as error:
            buf.get_data(start, end)
        assert error.value.code == code


def test_put_then_get_then_wrap(buffers):
    buf = buffers(1, 10, 3)
    buf.put_data(column(0, 8))
    assert buf.nSamplesWritten == 8 and buf.writePtr == 8
    np.testing.assert_array_equal(buf.get_data(0, 8)[:, 0], column(0, 8))
    with pytest.raises(BufferError) as error:
        buf.get_data(0, 9)
    assert error.value.code == 3 and str(error.value) == "unable to get indices (error 3)"

    buf.put_data(column(8, 12))  # wraps
    assert buf.nSamplesWritten == 12 and buf.writePtr == 2
    np.testing.assert_array_equal(buf.get_data(8, 12)[:, 0], column(8, 12))
    with pytest.raises(BufferError) as error:
        buf.get_data(1, 3)
    assert error.value.code == 2 and str(error.value) == "unable to get indices (error 2)"
    assert buf.check_availablility(1, 3) == 2
    np.testing.assert_array_equal(buf.get_data(2, 12)[:, 0], column(2, 12))


def test_windows_are_read_only_zero_copy_views(buffers):
    buf = buffers(2, 16)
    buf.put_data(frames(0, 8, 2))
    window = buf.get_data(1, 4)
    assert window.shape == (3, 2) and window.dtype == np.float32
    assert not window.flags.writeable
    with pytest.raises(ValueError):
        window[0, 0] = 1
    assert np.shares_memory(window, buf.get_data(2, 6))
    buf.put_data(frames(8, 17, 2))  # sample 16 lands in the slot of sample 0 ...
    np.testing.assert_array_equal(window, frames(1, 4, 2))  # ... not in the window's
    buf.put_data(frames(17, 20, 2))  # samples 17..19 in slots 1..3: the view shows them
    np.testing.assert_array_equal(window, frames(17, 20, 2))
    assert buf.check_availablility(1, 4) == 2  # checking again after use tells


def test_wrong_channel_count_is_error_4(buffers):
    buf = buffers(3, 10)
    for bad in [frames(0, 2, 2), frames(0, 2, 4), column(0, 3), np.zeros((2, 3, 1), np.float32)]:
        with pytest.raises(BufferError) as error:
            buf.put_data(bad)
        assert error.value.code == 4 and str(error.value) == "writing incompatible data (error 4)"
    assert buf.nSamplesWritten == 0


def test_more_than_bufsize_keeps_the_last_and_counts_all(buffers):
    buf = buffers(2, 5)
    buf.put_data(frames(0, 12, 2))
    assert buf.nSamplesWritten == 12
    np.testing.assert_array_equal(buf.get_data(7, 12), frames(7, 12, 2))
    assert buf.check_availablility(6, 12) == 5  # longer than the buffer


def test_a_second_buffer_on_the_same_raw_sees_the_same(buffers):
    buf = buffers(2, 10, 4)
    other = attached(buf.raw, buffers.made)
    buf.put_data(frames(0, 6, 2))
    assert other.nSamplesWritten == 6 and other.writePtr == 6
    assert (other.nChannels, other.bufSize, other.pocketSize, other.nptype) == (2, 10, 4,
                                                                                "float32")
    np.testing.assert_array_equal(other.get_data(1, 6), frames(1, 6, 2))


def test_the_demo_sharing_raw_and_a_read_only_window(buffers):
    buf = buffers(2, 10)
    reader = attached(buf.raw, buffers.made)
    buf.put_data(frames(0, 5, 2))
    window = reader.get_data(1, 4)
    with pytest.raises(ValueError):
        window += 1


def test_int16(buffers):
    buf = buffers(3, 8, nptype="int16")
    buf.put_data(frames(0, 6, 3, np.int16))
    window = buf.get_data(0, 6)
    assert buf.nptype == "int16" and window.dtype == np.int16
    np.testing.assert_array_equal(window, frames(0, 6, 3, np.int16))


@pytest.mark.parametrize("nptype", ["float128", "object", "U4", "complex256"])
def test_types_stash_cannot_hold_are_value_errors(nptype):
    buf = RingBuffer()
    with pytest.raises(ValueError):
        buf.initialize(1, 10, nptype=nptype)
    assert not buf.is_initialized


def test_datatypes():
    assert datatypes.types[0] == "float32" and datatypes.types[1] == "int16"
    assert datatypes.get_code("float32") == 0 and datatypes.get_code("int16") == 1
    assert datatypes.get_code(np.float32) == 0
    assert datatypes.get_type(1) == "int16"
    assert set(datatypes.types.values()) == {
        "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
        "float16", "float32", "float64", "complex64", "complex128"}
    with pytest.raises(ValueError):
        datatypes.get_code("float128")
    with pytest.raises(KeyError):
        datatypes.get_type(99)


def test_everything_before_initialize_is_error_1():
    buf = RingBuffer()
    assert not buf.is_initialized
    for name in ["nChannels", "bufSize", "pocketSize", "nptype", "writePtr",
                 "nSamplesWritten", "raw"]:
        with pytest.raises(BufferError) as error:
            getattr(buf, name)
        assert error.value.code == 1 and str(error.value) == "buffer is not initialized (error 1)"
    for call in [lambda: buf.get_data(0, 1), lambda: buf.put_data(column(0, 1)),
                 lambda: buf.check_availablility(0, 1)]:
        with pytest.raises(BufferError) as error:
            call()
        assert error.value.code == 1
    buf.close()  # nothing to close


def test_sizes_below_one_are_warned_about_and_made_one(buffers, caplog):
    with caplog.at_level(logging.WARNING, logger="stash.compat.ringbuffer"):
        buf = buffers(0, -3, 0)
    assert (buf.nChannels, buf.bufSize, buf.pocketSize) == (1, 1, 1)
    assert len(caplog.records) == 3


def test_buffer_error_messages():
    expected = {1: "buffer is not initialized (error 1)", 2: "unable to get indices (error 2)",
                3: "unable to get indices (error 3)", 4: "writing incompatible data (error 4)",
                5: "negative index (error 5)", 7: "(error 7)"}
    for code, message in expected.items():
        error = BufferError(code)
        assert error.code == code and str(error) == message
        assert isinstance(error, Exception)


def test_put_data_converts_as_assignment_would(buffers):
    buf = buffers(2, 10)
    buf.put_data(frames(0, 2, 2, np.float64))          # another dtype
    buf.put_data(np.asfortranarray(frames(2, 5, 2)))   # another memory order
    buf.put_data(frames(5, 7, 2).tolist())             # a list
    buf.put_data(frames(7, 8, 2).astype(">f4"))        # big-endian
    np.testing.assert_array_equal(buf.get_data(0, 8), frames(0, 8, 2))
    one = buffers(1, 10)
    one.put_data(np.arange(3, dtype=np.int64))          # (n,) for one channel
    np.testing.assert_array_equal(one.get_data(0, 3)[:, 0], [0, 1, 2])


# ---- the differences ----------------------------------------------------------------------

def test_wrapped_windows_are_whole_views_of_the_right_samples(buffers):
    """The original: short windows (fitting the pocket) or copies ("slow mode")."""
    buf = buffers(2, 10, 3)
    buf.put_data(frames(0, 13, 2))
    for start, end in [(8, 11), (9, 12), (8, 13), (3, 13), (10, 13), (12, 13)]:
        window = buf.get_data(start, end)
        assert window.shape == (end - start, 2)
        np.testing.assert_array_equal(window, frames(start, end, 2))
        assert not window.flags.writeable and not window.flags.owndata  # a view, no copy
    assert np.shares_memory(buf.get_data(8, 13), buf.get_data(9, 12))  # the same rows


def test_wrapped_writes_that_fit_the_pocket_work(buffers):
    """The original raised a NumPy ValueError and wrote nothing."""
    buf = buffers(2, 10, 3)
    buf.put_data(frames(0, 9, 2))
    buf.put_data(frames(9, 11, 2))  # slots 9 and 0
    assert buf.nSamplesWritten == 11
    np.testing.assert_array_equal(buf.get_data(1, 11), frames(1, 11, 2))


def test_empty_windows_are_empty(buffers):
    """The original returned the whole buffer at a multiple of bufSize, else garbage."""
    buf = buffers(2, 10, 3)
    buf.put_data(frames(0, 12, 2))
    for at in [10, 5, 12]:
        assert buf.check_availablility(at, at) == 0
        assert buf.get_data(at, at).shape == (0, 2)
    assert buf.check_availablility(13, 13) == 3


def test_reversed_and_too_long_windows_are_5(buffers):
    """The original called them available and read them wrongly."""
    buf = buffers(1, 10)
    buf.put_data(column(0, 12))
    for start, end in [(6, 4), (1, 12)]:
        assert buf.check_availablility(start, end) == 5
        with pytest.raises(BufferError) as error:
            buf.get_data(start, end)
        assert error.value.code == 5 and str(error.value) == "negative index (error 5)"


def test_wprotect_false_is_a_writable_copy(buffers):
    """The original gave a writable view: writes went into the shared ring."""
    buf = buffers(2, 10)
    buf.put_data(frames(0, 4, 2))
    copy = buf.get_data(0, 4, wprotect=False)
    assert copy.flags.writeable and copy.flags.owndata
    copy[:] = -1
    np.testing.assert_array_equal(buf.get_data(0, 4), frames(0, 4, 2))
    with pytest.raises(BufferError) as error:
        buf.get_data(0, 5, wprotect=False)
    assert error.value.code == 3


def test_float64_and_the_rest_of_stashs_types(buffers):
    """The original took float32 and int16 only ('float64' is not in list)."""
    for nptype in ["float64", "uint8", "complex64", "bool"]:
        buf = buffers(2, 8, nptype=nptype)
        data = (frames(0, 3, 2) % 2).astype(nptype)
        buf.put_data(data)
        assert buf.nptype == nptype
        np.testing.assert_array_equal(buf.get_data(0, 3), data)


def test_one_writer_at_a_time(buffers):
    """The original let every process write at once."""
    owner = buffers(2, 10)
    first, second = attached(owner.raw, buffers.made), attached(owner.raw, buffers.made)
    first.put_data(frames(0, 2, 2))
    with pytest.raises(stash.Busy):  # a BlockingIOError
        second.put_data(frames(2, 3, 2))
    assert second.nSamplesWritten == 2
    first.close()  # gives the writer's role up
    second.put_data(frames(2, 3, 2))
    np.testing.assert_array_equal(owner.get_data(0, 3), frames(0, 3, 2))


def test_nsampleswritten_is_read_only(buffers):
    buf = buffers(1, 10)
    with pytest.raises(AttributeError):
        buf.nSamplesWritten = 5


def test_raw_is_a_small_picklable_name(buffers):
    """The original's raw was the shared bytes (36-byte header, then the data)."""
    buf = buffers(64, 4096, 32)
    raw = buf.raw
    data = pickle.dumps(raw)
    assert len(data) < 200 and pickle.loads(data) == raw
    assert os.path.exists(shm_path(raw))
    again = attached(pickle.loads(data), buffers.made)
    assert again.pocketSize == 32 and again.bufSize == 4096
    by_name = attached(raw.name, buffers.made)
    from_ring = attached(stash.Ring.attach(raw.name), buffers.made)
    assert by_name.pocketSize == 1 and from_ring.nChannels == 64


def test_a_ringbuffer_pickles_as_its_raw(buffers):
    buf = buffers(2, 10)
    buf.put_data(frames(0, 3, 2))
    copy = pickle.loads(pickle.dumps(buf))
    buffers.made.append(copy)
    np.testing.assert_array_equal(copy.get_data(0, 3), frames(0, 3, 2))
    assert not pickle.loads(pickle.dumps(RingBuffer())).is_initialized


def test_str_shows_the_samples_held_one_row_per_channel(buffers):
    """The original showed its whole data section, then its pocket."""
    buf = buffers(2, 10, 3)
    buf.put_data(frames(0, 12, 2))
    assert str(buf) == str(frames(2, 12, 2).T)
    assert "not initialized" in str(RingBuffer()) and buf.raw.name in repr(buf)


def test_context_manager_and_close(buffers):
    with buffers(2, 10) as buf:
        buf.put_data(frames(0, 3, 2))
        window = buf.get_data(0, 3)
    assert not buf.is_initialized
    with pytest.raises(BufferError):
        buf.get_data(0, 3)
    np.testing.assert_array_equal(window, frames(0, 3, 2))  # views outlive close
    buf.close()


# ---- lifetime of the ring's name ----------------------------------------------------------

def test_the_creators_close_removes_the_name_others_keep_reading(buffers):
    buf = buffers(2, 10)
    other = attached(buf.raw, buffers.made)
    buf.put_data(frames(0, 4, 2))
    path = shm_path(buf)
    other.close()
    assert os.path.exists(path)  # only the creator's close removes
    other = attached(buf.raw, buffers.made)
    buf.close()
    assert not os.path.exists(path)
    np.testing.assert_array_equal(other.get_data(0, 4), frames(0, 4, 2))


def test_garbage_collection_removes_the_name_once_raw_is_gone_too():
    buf = RingBuffer()
    buf.initialize(2, 10)
    raw = buf.raw
    path = shm_path(raw)
    del buf
    gc.collect()
    assert os.path.exists(path)  # raw still holds it
    del raw
    gc.collect()
    assert not os.path.exists(path)


def test_reinitializing_removes_the_old_ring(buffers):
    buf = buffers(2, 10)
    old = shm_path(buf)
    buf.initialize(3, 20)
    assert not os.path.exists(old) and os.path.exists(shm_path(buf))
    assert buf.nChannels == 3


# ---- processes: the rdaclient pattern -----------------------------------------------------

CHANNELS, CAPACITY, CHUNK, CHUNKS, WINDOW = 4, 100, 32, 20, 48
CREDITS = 2  # chunks the writer may run ahead of the reader: never more than the ring holds


def _stream(raw, credits):
    """The writer process (rdaclient's Streamer): attach by raw and put chunk after chunk."""
    buf = RingBuffer()
    buf.initialize_from_raw(raw)
    for i in range(CHUNKS):
        credits.acquire()
        buf.put_data(frames(i * CHUNK, (i + 1) * CHUNK, CHANNELS))
    buf.close()


def _read_windows(buf, credits, process):
    """The parent: windows by sample number, as rdaclient's Client.wait then get_data."""
    deadline = time.monotonic() + HANG
    seen = []
    for i in range(CHUNKS):
        end = (i + 1) * CHUNK
        while buf.check_availablility(max(0, end - WINDOW), end) == 3:
            assert process.exitcode in (None, 0) and time.monotonic() < deadline
            time.sleep(0.001)
        start = max(0, end - WINDOW)
        window = buf.get_data(start, end)
        np.testing.assert_array_equal(window, frames(start, end, CHANNELS))
        assert buf.check_availablility(start, end) == 0  # still intact after use
        seen.append(window.shape[0])
        credits.release()
    return seen


def _finish(process, credits):
    """Lets the writer finish, also after a failed read (it never waits forever), and reaps it."""
    for _ in range(CHUNKS):
        credits.release()
    process.join(HANG)
    if process.is_alive():
        process.kill()
        process.join()


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_a_writer_process_streams_and_the_parent_reads(buffers, method):
    context = multiprocessing.get_context(method)
    buf = buffers(CHANNELS, CAPACITY, WINDOW)
    credits = context.Semaphore(CREDITS)
    process = context.Process(target=_stream, args=(buf.raw, credits))
    process.start()
    try:
        seen = _read_windows(buf, credits, process)
    finally:
        _finish(process, credits)
    assert process.exitcode == 0
    assert seen == [32] + [WINDOW] * (CHUNKS - 1)
    assert buf.nSamplesWritten == CHUNK * CHUNKS
    assert os.path.exists(shm_path(buf))  # the child did not remove the parent's ring


def _use_inherited(buf, credits):
    """A forked child using the RingBuffer it inherited (stash closed its ring at fork)."""
    for i in range(CHUNKS):
        credits.acquire()
        buf.put_data(frames(i * CHUNK, (i + 1) * CHUNK, CHANNELS))
    assert buf.get_data(CHUNK * CHUNKS - 4, CHUNK * CHUNKS).shape == (4, CHANNELS)
    buf.close()  # in the child: the parent's name stays


def test_a_forked_child_reattaches_an_inherited_ringbuffer(buffers):
    context = multiprocessing.get_context("fork")
    buf = buffers(CHANNELS, CAPACITY, WINDOW)
    credits = context.Semaphore(CREDITS)
    process = context.Process(target=_use_inherited, args=(buf, credits))
    process.start()
    try:
        _read_windows(buf, credits, process)
    finally:
        _finish(process, credits)
    assert process.exitcode == 0
    assert os.path.exists(shm_path(buf))
    assert buf.nSamplesWritten == CHUNK * CHUNKS


def test_a_forked_child_of_the_writer_cannot_write_while_it_does(buffers):
    buf = buffers(2, 10)
    buf.put_data(frames(0, 2, 2))
    pid = os.fork()
    if pid == 0:  # the child: no pytest past this point, only an exit status
        status = 1
        try:
            assert buf.check_availablility(0, 2) == 0  # attached anew, by name, once
            assert buf.nSamplesWritten == 2 and buf.writePtr == 2
            np.testing.assert_array_equal(buf.get_data(0, 2), frames(0, 2, 2))
            try:
                buf.put_data(frames(2, 3, 2))
            except stash.Busy:
                status = 0
            buf.close()  # the child's close: the parent's name stays
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert os.path.exists(shm_path(buf))
    buf.put_data(frames(2, 3, 2))  # still the writer
    np.testing.assert_array_equal(buf.get_data(0, 3), frames(0, 3, 2))


def _spawned_reads(buf, queue):
    queue.put(buf.get_data(0, 3).tolist())
    buf.close()


def test_spawn_receives_a_pickled_ringbuffer(buffers):
    context = multiprocessing.get_context("spawn")
    buf = buffers(2, 10)
    buf.put_data(frames(0, 3, 2))
    queue = context.Queue()
    process = context.Process(target=_spawned_reads, args=(buf, queue))
    process.start()
    try:
        got = queue.get(timeout=HANG)
    finally:
        process.join(HANG)
    assert process.exitcode == 0
    np.testing.assert_array_equal(got, frames(0, 3, 2))
    assert os.path.exists(shm_path(buf))
