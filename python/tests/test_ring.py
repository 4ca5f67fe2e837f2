"""stash.Ring: the shared ring from Python, across threads, processes, fork and spawn.

Rings live in /dev/shm: every test takes its names from the `names` fixture,
which removes them afterwards, also when the test fails. Nothing here times
anything; deadlines are hang detectors only.
"""
import io
import itertools
import multiprocessing
import os
import pathlib
import pickle
import platform
import signal
import subprocess
import threading
import time
import weakref

import numpy as np
import pytest

import stash

HANG = 120  # seconds: a hang detector, never a speed test
_counter = itertools.count()


@pytest.fixture
def names():
    """A maker of fresh ring names in /dev/shm, all removed after the test."""
    made = []

    def make(what="ring"):
        name = f"pytest-ring-{os.getpid()}-{next(_counter)}-{what}"
        made.append(name)
        return name

    yield make
    for name in made:
        try:
            stash.Ring.remove(name)
        except stash.NotFound:
            pass


def frames(first, end, channels, dtype=np.float32):
    """Sample k, channel c holds k * 10 + c."""
    k = np.arange(first, end, dtype=np.float64)[:, None]
    return (k * 10 + np.arange(channels)).astype(dtype)


def stash_tool():
    build = os.environ.get("STASH_BUILD_DIR")
    tool = pathlib.Path(build, "stash") if build else None
    if not tool or not tool.exists():
        pytest.skip("the stash program is not built (STASH_BUILD_DIR)")
    return str(tool)


def run_tool(*args, **kwargs):
    """The stash program: without the ASan runtime preloaded for python (it links its own)."""
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    return subprocess.run([stash_tool(), *args], env=env, capture_output=True, timeout=HANG,
                          **kwargs)


# ---- every call --------------------------------------------------------------------------

def test_create_and_its_properties(names):
    name = names()
    with stash.Ring.create(name, 3, 64, rate=250.0) as ring:
        assert ring.name == name
        assert ring.channels == 3 and ring.capacity == 64 and ring.rate == 250.0
        assert ring.dtype == np.dtype("float32") and isinstance(ring.dtype, np.dtype)
        assert ring.written == 0 and ring.readable_from == 0
        assert ring.is_writer and ring.writer_attached and not ring.closed
        assert ring.mapping == "pocket"  # 64 samples of 12 bytes are not whole pages
        assert ring.labels == ("", "", "") and ring.units == ("", "", "")
        assert "writer" in repr(ring) and name in repr(ring)
    assert ring.closed and "closed" in repr(ring)
    assert ring.channels == 3 and ring.name == name  # what never changes stays readable


@pytest.mark.parametrize("capacity, mapping", [(64, "pocket"), (1024, "mirrored")])
def test_put_window_read_wrapped_or_not(names, capacity, mapping):
    with stash.Ring.create(names(), 3, capacity) as ring:
        assert ring.mapping == mapping
        data = frames(0, capacity + capacity // 2, 3)
        ring.put(data[: capacity - 2])
        assert ring.written == capacity - 2
        np.testing.assert_array_equal(ring.window(0, capacity - 2), data[: capacity - 2])
        ring.put(data[capacity - 2:])  # wraps
        written = len(data)
        assert ring.written == written and ring.readable_from == written - capacity
        for first, end in [(capacity - 3, capacity + 3), (written - capacity, written),
                           (written - 1, written), (written, written)]:
            window = ring.window(first, end)
            assert window.shape == (end - first, 3) and window.dtype == np.float32
            np.testing.assert_array_equal(window, data[first:end])
            assert ring.validate(first)
            copy = ring.read(first, end)
            np.testing.assert_array_equal(copy, data[first:end])
            assert copy.flags.writeable and copy.flags.c_contiguous


def test_windows_are_read_only_zero_copy_views(names):
    with stash.Ring.create(names(), 2, 16) as ring:
        ring.put(frames(0, 4, 2))
        window = ring.window(0, 8 - 4)
        again = ring.window(0, 4)
        assert np.shares_memory(window, again)
        assert not window.flags.writeable
        with pytest.raises(ValueError):
            window[0, 0] = 1
        with pytest.raises(ValueError):
            window.flags.writeable = True
        ring.put(frames(4, 20, 2))  # the writer overwrites slots 0..3: the view sees it
        np.testing.assert_array_equal(window, frames(16, 20, 2))
        assert not ring.validate(0)


def test_one_channel_takes_a_flat_array_and_windows_stay_2d(names):
    with stash.Ring.create(names(), 1, 8, dtype=np.int16) as ring:
        ring.put(np.arange(5, dtype=np.int16))
        ring.put(np.arange(5, 7, dtype=np.int16).reshape(2, 1))
        assert ring.window(0, 7).shape == (7, 1)
        np.testing.assert_array_equal(ring.read(0, 7)[:, 0], np.arange(7))


@pytest.mark.parametrize("dtype", ["uint8", "int16", "<f8", np.complex64, np.dtype("bool")])
def test_every_kind_of_dtype(names, dtype):
    with stash.Ring.create(names(), 2, 32, dtype=dtype) as ring:
        want = np.dtype(dtype)
        assert ring.dtype == want
        data = (np.arange(20).reshape(10, 2) % 2 if want.kind == "b"
                else np.arange(20).reshape(10, 2)).astype(want)
        ring.put(data)
        np.testing.assert_array_equal(ring.window(0, 10), data)
        np.testing.assert_array_equal(ring.read(0, 10), data)


def test_puts_take_any_contiguous_buffer_and_swap_big_endian(names):
    with stash.Ring.create(names(), 2, 32, dtype="float64") as ring:
        ring.put(frames(0, 3, 2, ">f8"))  # swapped on the way in
        ring.put(np.asfortranarray(frames(3, 6, 2, np.float64)))  # reordered
        ring.put(memoryview(frames(6, 8, 2, np.float64)))
        np.testing.assert_array_equal(ring.window(0, 8), frames(0, 8, 2, np.float64))


def test_put_refuses_other_shapes_and_dtypes(names):
    with stash.Ring.create(names(), 3, 16) as ring:
        for bad in [np.zeros((2, 4), np.float32), np.zeros((2, 3), np.float64),
                    np.zeros(6, np.float32), np.zeros((2, 3, 1), np.float32)]:
            with pytest.raises(stash.ShapeMismatch) as caught:
                ring.put(bad)
            assert isinstance(caught.value, ValueError) and "(n, 3)" in str(caught.value)
        with pytest.raises(BufferError):
            ring.put(np.zeros((4, 6), np.float32)[:, ::2])
        with pytest.raises(TypeError):
            ring.put([[1.0, 2.0, 3.0]])
        with pytest.raises(stash.UnsupportedDtype):
            ring.put(np.zeros((1, 3), [("a", "<i2"), ("b", "<i2")]))
        assert ring.written == 0


def test_validate_and_read_report_overwrites(names):
    with stash.Ring.create(names(), 1, 8) as ring:
        ring.put(frames(0, 6, 1))
        window = ring.window(0, 6)
        assert ring.validate(0) is True
        ring.put(frames(6, 10, 1))
        assert ring.validate(0) is False and ring.validate(2) is True
        assert window.shape == (6, 1)  # still a view; the bytes are not trusted
        with pytest.raises(stash.Overwritten) as caught:
            ring.read(0, 4)
        assert isinstance(caught.value, IndexError) and caught.value.name == "STASH_E_OVERWRITTEN"
        with pytest.raises(stash.NotYetWritten):
            ring.read(8, 11)
        with pytest.raises(stash.NotYetWritten):
            ring.window(10, 11)
        with pytest.raises(stash.Overwritten):
            ring.window(1, 2)


def test_wait(names):
    name = names()
    with stash.Ring.create(name, 2, 16) as ring, stash.Ring.attach(name) as reader:
        ring.put(frames(0, 3, 2))
        assert reader.wait(3) == 3 and reader.wait(0, timeout=0) == 3
        with pytest.raises(stash.Timeout) as caught:
            reader.wait(4, timeout=0)
        assert isinstance(caught.value, TimeoutError)
        with pytest.raises(stash.Timeout):
            reader.wait(4, timeout=0.12)  # more than one slice
        with pytest.raises(stash.InvalidArgument):
            reader.wait(4, timeout=-1)
        with pytest.raises(stash.InvalidArgument):
            reader.wait(4, timeout=float("nan"))
        putter = threading.Timer(0.05, ring.put, [frames(3, 5, 2)])
        putter.start()
        assert reader.wait(5, timeout=HANG) >= 5  # woken by the put in another thread
        putter.join()
        assert reader.wait(5, None) == 5
        np.testing.assert_array_equal(reader.read(0, 5), frames(0, 5, 2))


def test_wait_forever_is_woken_and_learns_the_writer_left(names):
    name = names()
    ring = stash.Ring.create(name, 1, 16)
    with stash.Ring.attach(name) as reader:
        got = []
        waiter = threading.Thread(target=lambda: got.append(reader.wait(2)))
        waiter.start()
        ring.put(frames(0, 2, 1))
        waiter.join(HANG)
        assert got == [2]
        ring.close()
        with pytest.raises(stash.WriterGone) as caught:
            reader.wait(3, timeout=HANG)
        assert isinstance(caught.value, EOFError)


def test_a_wait_in_flight_outlives_close_in_another_thread(names):
    name = names()
    with stash.Ring.create(name, 1, 16) as ring:
        reader = stash.Ring.attach(name)
        got, tid = [], []

        def wait():
            tid.append(threading.get_native_id())
            try:
                got.append(reader.wait(1, timeout=HANG))
            except stash.Closed:
                got.append("closed first")  # the signal below came too early

        waiter = threading.Thread(target=wait)
        waiter.start()
        while not tid:
            time.sleep(0.001)
        _until_waiting(os.getpid(), tid[0], name)
        reader.close()
        ring.put(frames(0, 1, 1))
        waiter.join(HANG)
        assert got == [1]
        assert reader.closed


def test_closing_a_writer_with_windows_alive_ends_its_claim(names):
    name = names()
    ring = stash.Ring.create(name, 1, 16)
    ring.put(frames(0, 4, 1))
    window = ring.window(0, 4)
    with stash.Ring.attach(name) as reader:
        ring.close()
        assert not reader.writer_attached
        with pytest.raises(stash.WriterGone):
            reader.wait(5, timeout=HANG)
        with stash.Ring.attach(name, writer=True) as writer:
            writer.put(frames(4, 16, 1))
            np.testing.assert_array_equal(window, frames(0, 4, 1))  # still mapped
            writer.put(frames(16, 17, 1))
            assert window[0, 0] == 160  # the same memory, written by the new writer


def test_threads_share_a_writer(names, run_threads):
    with stash.Ring.create(names(), 4, 1 << 16, dtype="float64") as ring:
        block = np.ones((1 << 12, 4))  # 128 KiB: put runs without the GIL

        def put_many():
            for _ in range(20):
                ring.put(block)

        run_threads(*[put_many] * 3, timeout=HANG)
        assert ring.written == 3 * 20 * (1 << 12)
        assert ring.read(ring.written - 10, ring.written).sum() == 40


def test_views_outlive_close_and_remove(names):
    name = names()
    ring = stash.Ring.create(name, 2, 16)
    ring.put(frames(0, 10, 2))
    reader = stash.Ring.attach(name)
    window, mine = reader.window(2, 10), ring.window(0, 10)
    reader.close()
    ring.close()
    stash.Ring.remove(name)
    np.testing.assert_array_equal(window, frames(2, 10, 2))
    np.testing.assert_array_equal(mine, frames(0, 10, 2))
    del window, mine  # the handles go now: nothing to see but no crash
    import gc
    gc.collect()


def test_closed_rings_refuse_every_call(names):
    ring = stash.Ring.create(names(), 1, 8)
    ring.close()
    ring.close()  # twice is fine
    for call in [lambda: ring.put(np.zeros(1, np.float32)), lambda: ring.window(0, 0),
                 lambda: ring.validate(0), lambda: ring.read(0, 0), lambda: ring.wait(0),
                 lambda: ring.written, lambda: ring.readable_from, lambda: ring.__enter__()]:
        with pytest.raises(stash.Closed) as caught:
            call()
        assert isinstance(caught.value, ValueError)


def test_a_close_by_a_finalizer_during_read_is_refused_not_a_crash(names, python_child):
    # read() allocates its output (Python objects): a collection may run there and a
    # finalizer close the ring; the copy must then see it closed, not a freed handle.
    # The tuple free list is drained so the allocation really reaches the collector.
    child = python_child("""
        import gc, sys
        import numpy as np
        import stash
        ring = stash.Ring.create(sys.argv[1], 4, 1 << 16, dtype="float64")
        ring.put(np.zeros((1 << 15, 4)))
        def close_once(phase, info):
            if phase == "start" and not ring.closed:
                ring.close()
        keep = [(i, -i) for i in range(10000)]
        gc.set_threshold(1)
        gc.callbacks.append(close_once)
        try:
            ring.read(0, 1 << 14)
            print("copied")
        except stash.Closed:
            print("closed")
        gc.callbacks.clear()
    """, names(), stdout=subprocess.PIPE)
    out, _ = child.communicate(timeout=HANG)
    assert child.returncode == 0
    assert out.strip() in (b"closed", b"copied")


def test_a_ring_is_weakly_referenceable_and_freed(names):
    ring = stash.Ring.create(names(), 1, 8)
    ref = weakref.ref(ring)
    del ring
    assert ref() is None


def test_mode(names):
    name = names()
    with stash.Ring.create(name, 1, 8, mode=0o640):
        assert os.stat(f"/dev/shm/{name}").st_mode & 0o777 == 0o640


def test_remove_on_close(names):
    name = names()
    with stash.Ring.create(name, 1, 8, remove_on_close=True):
        with stash.Ring.attach(name):
            pass
    with pytest.raises(stash.NotFound):
        stash.Ring.attach(name)


def test_pickles_by_name(names):
    name = names()
    with stash.Ring.create(name, 2, 16) as ring:
        ring.put(frames(0, 4, 2))
        with pickle.loads(pickle.dumps(ring)) as copy:
            assert copy.name == name and not copy.is_writer
            np.testing.assert_array_equal(copy.window(0, 4), frames(0, 4, 2))


# ---- errors -------------------------------------------------------------------------------

def test_one_writer_at_a_time(names):
    name = names()
    with stash.Ring.create(name, 1, 8) as ring:
        with pytest.raises(stash.Busy) as caught:
            stash.Ring.attach(name, writer=True)
        assert isinstance(caught.value, BlockingIOError)
        with stash.Ring.attach(name) as reader:
            with pytest.raises(stash.NotWritable) as caught:
                reader.put(np.zeros(1, np.float32))
            assert isinstance(caught.value, io.UnsupportedOperation)
        ring.put(np.zeros(1, np.float32))
    with stash.Ring.attach(name, writer=True) as writer:
        writer.put(np.ones(2, np.float32))
        assert writer.written == 3


@pytest.mark.parametrize("bad", ["", ".hidden", "a" * 300, "bad/name/", "sp ace", "x\0y"])
def test_bad_names_are_invalid(bad):
    for call in [lambda: stash.Ring.create(bad, 1, 8), lambda: stash.Ring.attach(bad),
                 lambda: stash.Ring.remove(bad)]:
        with pytest.raises(stash.InvalidArgument) as caught:
            call()
        assert isinstance(caught.value, ValueError)


def test_missing_existing_and_foreign_rings(names, tmp_path):
    name = names()
    with pytest.raises(stash.NotFound) as caught:
        stash.Ring.attach(name)
    assert isinstance(caught.value, KeyError) and caught.value.name == "STASH_E_NOT_FOUND"
    with pytest.raises(stash.NotFound):
        stash.Ring.remove(name)
    with pytest.raises(stash.Timeout):
        stash.Ring.attach(name, timeout=0.08)
    with stash.Ring.create(name, 1, 8):
        with pytest.raises(FileExistsError):
            stash.Ring.create(name, 1, 8)
    not_a_ring = tmp_path / "plain.ring"
    not_a_ring.write_bytes(b"hello" * 1000)
    with pytest.raises(stash.Corrupt):
        stash.Ring.attach(not_a_ring)
    with pytest.raises(stash.Corrupt):
        stash.Ring.remove(str(not_a_ring))
    assert not_a_ring.exists()


def test_a_file_ring_by_path(tmp_path):
    path = tmp_path / "eeg.ring"
    with stash.Ring.create(path, 2, 16) as ring:  # os.PathLike names a file
        assert ring.name == str(path)
        ring.put(frames(0, 2, 2))
        with stash.Ring.attach(str(path)) as reader:
            np.testing.assert_array_equal(reader.read(0, 2), frames(0, 2, 2))
    stash.Ring.remove(path)
    assert not path.exists()


def test_hostile_geometry_and_windows(names):
    name = names()
    for channels, capacity in [(0, 8), (1, 0), (70000, 8), (1, 1 << 62)]:
        with pytest.raises(ValueError):  # InvalidArgument or OutOfRange
            stash.Ring.create(name, channels, capacity)
    with pytest.raises(stash.OutOfRange):
        stash.Ring.create(name, -1, 8)
    with pytest.raises(stash.UnsupportedDtype):
        stash.Ring.create(name, 1, 8, dtype=object)
    for mode in (-1, 0, 0o10000):
        with pytest.raises(stash.InvalidArgument):
            stash.Ring.create(name, 1, 8, mode=mode)
    with pytest.raises(TypeError):
        stash.Ring.create(name, 1, 8, bogus=1)
    with pytest.raises(TypeError):
        stash.Ring()
    with stash.Ring.create(name, 2, 8) as ring:
        ring.put(frames(0, 4, 2))
        for first, end in [(3, 2), (0, 9), (-1, 2), (0, 1 << 64)]:
            for call in (ring.window, ring.read):
                with pytest.raises(stash.OutOfRange) as caught:
                    call(first, end)
                assert isinstance(caught.value, ValueError)
        with pytest.raises(stash.OutOfRange):
            ring.validate(-1)
        with pytest.raises(TypeError):
            ring.window("0", 1)
        with pytest.raises(TypeError):
            ring.window(0)
        with pytest.raises(TypeError):
            ring.read(0, 1, 2)
        assert ring.window(np.int64(1), np.uint8(3)).shape == (2, 2)  # any __index__


# ---- across processes ---------------------------------------------------------------------

def test_written_by_python_read_by_the_program_and_back(names):
    name = names()
    with stash.Ring.create(name, 3, 64) as ring:
        ring.put(frames(0, 100, 3))
        got = run_tool("ring", "read", name, "--first", "40", "--end", "100", check=True).stdout
        assert got == frames(40, 100, 3).tobytes()  # wrapped, as the C library gives it
    # The program claims the ring (its writer closed) and goes on; Python reads.
    written = run_tool("ring", "write", name, input=frames(100, 130, 3).tobytes())
    assert written.returncode == 0, written.stderr
    with stash.Ring.attach(name) as reader:
        assert reader.written == 130
        np.testing.assert_array_equal(reader.read(70, 130), frames(70, 130, 3))


def test_created_by_the_program_written_by_python(names):
    name = names()
    run_tool("ring", "create", name, "--channels", "2", "--capacity", "32", "--dtype", "int32",
             "--rate", "500", check=True)
    with stash.Ring.attach(name, writer=True) as ring:
        assert ring.dtype == np.int32 and ring.rate == 500.0 and ring.is_writer
        ring.put(frames(0, 10, 2, np.int32))
        got = run_tool("ring", "read", name, "--first", "0", "--end", "10", check=True).stdout
        assert got == frames(0, 10, 2, np.int32).tobytes()


def test_a_python_writer_in_another_process(names, python_child):
    name = names()
    with stash.Ring.create(name, 2, 256):
        pass  # the ring stays, without a writer
    with stash.Ring.attach(name) as reader:
        child = python_child("""
            import sys, numpy as np, stash
            with stash.Ring.attach(sys.argv[1], writer=True) as ring:
                for k in range(0, 100, 10):
                    ring.put((np.arange(k, k + 10)[:, None] * 10 + np.arange(2)).astype("f4"))
            """, name)
        assert reader.wait(100, timeout=HANG) >= 100
        np.testing.assert_array_equal(reader.read(0, 100), frames(0, 100, 2))
        assert child.wait(HANG) == 0


def _until_waiting(pid, task, name):
    """Returns once the task (/proc/PID/task/TID) sleeps in futex(2) on a word of the
    ring name (stash_ring_wait's sleep, not the GIL's); where that cannot be seen,
    after half a second."""
    number = {"x86_64": "202", "aarch64": "98"}.get(platform.machine())
    inode = os.stat(f"/dev/shm/{name}").st_ino
    deadline = time.monotonic() + HANG
    try:
        while number and time.monotonic() < deadline:
            ranges = [tuple(int(x, 16) for x in line.split()[0].split("-"))
                      for line in pathlib.Path(f"/proc/{pid}/maps").read_text().splitlines()
                      if int(line.split()[4]) == inode]
            call = pathlib.Path(f"/proc/{pid}/task/{task}/syscall").read_text().split()
            if call[0] == number and any(lo <= int(call[1], 16) < hi for lo, hi in ranges):
                return
            time.sleep(0.005)
    except (OSError, IndexError, ValueError):
        pass
    time.sleep(0.5)


def test_ctrl_c_interrupts_a_wait_without_timeout(names, python_child):
    name = names()
    with stash.Ring.create(name, 1, 16):
        child = python_child("""
            import sys, stash
            ring = stash.Ring.attach(sys.argv[1])
            print("ready", flush=True)
            try:
                ring.wait(10**6)
            except KeyboardInterrupt:
                print("interrupted", flush=True)
                sys.exit(3)
            sys.exit(1)
            """, name, stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout.readline() == "ready\n"
            _until_waiting(child.pid, child.pid, name)
            child.send_signal(signal.SIGINT)
            assert child.wait(HANG) == 3
            assert child.stdout.read() == "interrupted\n"
        finally:
            child.kill()
            child.wait()
            child.stdout.close()


# ---- fork and spawn -----------------------------------------------------------------------

def _forked(body):
    """Runs body() in a forked child; its exit status (0 if body returned True)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = 0 if body() else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_a_forked_child_reads_and_leaves_the_parent_the_writer(names):
    name = names()
    ring = stash.Ring.create(name, 2, 64)
    ring.put(frames(0, 10, 2))
    inherited = ring.window(0, 10)

    def child():
        assert ring.closed  # the parent's handle is not the child's
        with pytest.raises(stash.Closed):
            ring.put(frames(10, 11, 2))
        np.testing.assert_array_equal(inherited, frames(0, 10, 2))  # views stay mapped
        with stash.Ring.attach(name) as reader:
            np.testing.assert_array_equal(reader.read(0, 10), frames(0, 10, 2))
        return True

    assert _forked(child) == 0
    assert not ring.closed
    ring.put(frames(10, 20, 2))  # the parent writes on
    with stash.Ring.attach(name) as reader:
        assert reader.writer_attached
        with pytest.raises(stash.Timeout):  # not WriterGone: the child's exit took nothing
            reader.wait(21, timeout=0)
        np.testing.assert_array_equal(reader.read(0, 20), frames(0, 20, 2))
    with pytest.raises(stash.Busy):
        stash.Ring.attach(name, writer=True)
    ring.close()
    with stash.Ring.attach(name, writer=True) as writer:  # no child keeps the claim
        writer.put(frames(20, 21, 2))
    del inherited


def test_a_forked_child_writes(names):
    name = names()
    with stash.Ring.create(name, 2, 64):
        pass
    with stash.Ring.attach(name) as reader:
        def child():
            with stash.Ring.attach(name, writer=True) as writer:
                writer.put(frames(0, 30, 2))
            return True

        assert _forked(child) == 0
        assert reader.wait(30, timeout=HANG) == 30
        np.testing.assert_array_equal(reader.read(0, 30), frames(0, 30, 2))
        assert not reader.closed and not reader.writer_attached


def _spawned_reader(ring, end, queue):
    queue.put((ring.is_writer, ring.wait(end, timeout=HANG), ring.read(0, end).tolist()))
    ring.close()


def test_spawn_receives_a_pickled_ring(names):
    name = names()
    with stash.Ring.create(name, 2, 64) as ring:
        ring.put(frames(0, 5, 2))
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        process = context.Process(target=_spawned_reader, args=(ring, 8, queue))
        process.start()
        ring.put(frames(5, 8, 2))
        is_writer, written, got = queue.get(timeout=HANG)
        process.join(HANG)
        assert process.exitcode == 0
        assert not is_writer and written >= 8
        np.testing.assert_array_equal(np.array(got, np.float32), frames(0, 8, 2))
        ring.put(frames(8, 9, 2))  # still the writer


def test_signatures_say_the_positional_only_calls_they_are(names):
    # window, read, validate and put take no keywords: inspect and help() must not offer them.
    import inspect
    with stash.Ring.create(names(), 1, 8) as ring:
        for method in (ring.window, ring.read, ring.validate, ring.put, stash.Ring.remove):
            kinds = {p.kind for p in inspect.signature(method).parameters.values()}
            assert kinds == {inspect.Parameter.POSITIONAL_ONLY}, method
        with pytest.raises(TypeError):
            ring.window(start=0, end=0)
