"""stash.Storage and stash.StoragePool: every call, separate pointers, hostile inputs."""
import io
import os
import pathlib
import threading

import pytest

import stash


@pytest.fixture(params=["memory", "file", "temp"])
def storage(request, tmp_path):
    """A read-write storage of each kind."""
    if request.param == "memory":
        st = stash.Storage.memory()
    elif request.param == "file":
        st = stash.Storage.file(tmp_path / "data.bin", "w+")
    else:
        pool = stash.StoragePool(4, tmp_path)
        st = stash.Storage.temp(pool)
        pool.close()  # the storage holds the pool
    yield st
    st.close()


def test_write_returns_the_length_and_moves_only_the_write_pointer(storage):
    assert storage.write(b"hello") == 5
    assert (storage.tell_read(), storage.tell_write(), storage.length) == (0, 5, 5)
    assert storage.read(2) == b"he"
    assert (storage.tell_read(), storage.tell_write()) == (2, 5)
    assert storage.write(b" world") == 6
    assert storage.read() == b"llo world"
    assert storage.eof()


def test_write_takes_any_bytes_like(storage):
    import array
    import numpy as np
    storage.write(bytearray(b"ab"))
    storage.write(memoryview(b"cd"))
    storage.write(array.array("B", [101, 102]))
    storage.write(np.frombuffer(b"gh", dtype=np.uint8))
    assert storage.read_all() == b"abcdefgh"
    with pytest.raises(TypeError):
        storage.write("text")


def test_read_to_the_end_and_past_it(storage):
    storage.write(b"0123456789")
    assert storage.read(-1) == b"0123456789"
    assert storage.read(5) == b""
    assert storage.read() == b""
    storage.seek_read(7)
    assert storage.read(None) == b"789"
    storage.seek_read(0)
    assert storage.read(2**70) == b"0123456789"  # a huge count reads what there is


def test_read_refuses_negative_sizes_but_minus_one(storage):
    with pytest.raises(stash.InvalidArgument):
        storage.read(-2)
    with pytest.raises(TypeError):
        storage.read(1.5)


def test_readinto_fills_a_writable_buffer(storage):
    import numpy as np
    storage.write(b"abcdef")
    buf = bytearray(4)
    assert storage.readinto(buf) == 4 and buf == b"abcd"
    arr = np.zeros(8, dtype=np.uint8)
    assert storage.readinto(arr) == 2 and bytes(arr[:2]) == b"ef"
    assert storage.readinto(buf) == 0
    with pytest.raises(BufferError):
        storage.readinto(b"read-only")


def test_read_all_copies_everything_and_moves_the_read_pointer_to_the_end(storage):
    storage.write(b"abc")
    storage.read(1)
    assert storage.read_all() == b"abc"
    assert storage.tell_read() == 3 and storage.eof()


def test_seeks_clamp_into_the_content(storage):
    storage.write(b"0123456789")
    assert storage.seek_read(4) == 4 and storage.read(2) == b"45"
    assert storage.seek_read(-3, os.SEEK_CUR) == 3
    assert storage.seek_read(-2, os.SEEK_END) == 8 and storage.read() == b"89"
    assert storage.seek_read(100) == 10
    assert storage.seek_read(-100, os.SEEK_CUR) == 0
    assert storage.seek_write(2, whence=os.SEEK_SET) == 2
    storage.write(b"xy")
    assert storage.seek_write(50, os.SEEK_END) == 10
    assert storage.read_all() == b"01xy456789"


def test_a_bad_whence_is_an_invalid_argument(storage):
    for seek in (storage.seek_read, storage.seek_write):
        with pytest.raises(stash.InvalidArgument) as caught:
            seek(0, 3)
        assert isinstance(caught.value, ValueError)
        assert caught.value.name == "STASH_E_INVALID"


def test_offsets_beyond_int64_are_overflow_errors(storage):
    storage.write(b"abc")
    assert storage.seek_read(2**63 - 1) == 3
    assert storage.seek_write(-2**63, os.SEEK_END) == 0
    for seek in (storage.seek_read, storage.seek_write):
        with pytest.raises(OverflowError):
            seek(2**64)


def test_eof_is_true_on_an_empty_storage(storage):
    assert storage.eof()
    storage.write(b"x")
    assert not storage.eof()


def test_close_is_idempotent_and_later_calls_raise_closed(storage):
    storage.write(b"x")
    storage.close()
    storage.close()
    assert storage.closed
    for call in (lambda: storage.write(b"y"), storage.read, storage.read_all, storage.eof,
                 storage.tell_read, storage.tell_write, lambda: storage.seek_read(0),
                 lambda: storage.readinto(bytearray(1)), lambda: storage.length):
        with pytest.raises(stash.Closed):
            call()
    assert "closed" in repr(storage)


def test_context_manager_closes(tmp_path):
    with stash.Storage.memory() as st:
        st.write(b"abc")
        assert st.kind == "memory" and st.filename is None
    assert st.closed
    with pytest.raises(stash.Closed):
        with st:
            pass


def test_repr_says_kind_and_pointers(tmp_path):
    st = stash.Storage.file(str(tmp_path / "r.bin"), "w+")
    st.write(b"abc")
    assert repr(st) == f"<stash.Storage file {str(tmp_path / 'r.bin')!r} mode='w+' rp=0 wp=3 length=3>"
    st.close()
    assert repr(stash.Storage.memory()) == "<stash.Storage memory rp=0 wp=0 length=0>"


# ---- files -------------------------------------------------------------------------------

def test_file_storages_keep_their_data_and_take_path_like_names(tmp_path):
    path = tmp_path / "kept.bin"
    with stash.Storage.file(path, "w") as st:
        st.write(b"kept")
        assert st.filename == str(path) and st.kind == "file"
    assert path.read_bytes() == b"kept"
    with stash.Storage.file(str(path).encode(), "r") as st:
        assert st.read_all() == b"kept"
    with stash.Storage.file(path) as st:  # mode "r" by default
        assert st.read(2) == b"ke"


def test_a_missing_file_is_file_not_found_with_its_name(tmp_path):
    missing = tmp_path / "missing.bin"
    with pytest.raises(FileNotFoundError) as caught:
        stash.Storage.file(missing, "r")
    assert caught.value.filename == str(missing)
    assert caught.value.name == "ENOENT"


def test_a_directory_is_is_a_directory_error(tmp_path):
    with pytest.raises(IsADirectoryError):
        stash.Storage.file(tmp_path, "r")


def test_a_bad_mode_is_bad_mode(tmp_path):
    for mode in ("q", "rw", "w++", "much-too-long-a-mode"):
        with pytest.raises(stash.BadMode):
            stash.Storage.file(tmp_path / "x", mode)


def test_reading_a_write_only_storage_is_not_readable(tmp_path):
    with stash.Storage.file(tmp_path / "w.bin", "w") as st:
        st.write(b"abc")
        for call in (st.read, st.read_all, lambda: st.readinto(bytearray(2))):
            with pytest.raises(stash.NotReadable) as caught:
                call()
            assert isinstance(caught.value, io.UnsupportedOperation)


def test_writing_a_read_only_storage_is_not_writable(tmp_path):
    path = tmp_path / "r.bin"
    path.write_bytes(b"abc")
    with stash.Storage.file(path, "r") as st:
        with pytest.raises(stash.NotWritable):
            st.write(b"x")
        assert st.read_all() == b"abc"


def test_append_mode_writes_at_the_end(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"abc")
    with stash.Storage.file(path, "a+") as st:
        st.write(b"de")
        assert st.read_all() == b"abcde"


def test_a_fifo_is_not_a_file(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for mode in ("r", "w", "r+"):
        with pytest.raises(stash.NotAFile) as caught:
            stash.Storage.file(fifo, mode)  # at once: never waits for a peer
        assert isinstance(caught.value, OSError)
        assert caught.value.filename == str(fifo)


def test_storage_cannot_be_made_directly():
    with pytest.raises(TypeError):
        stash.Storage()


# ---- temp storages and pools -------------------------------------------------------------

def test_more_temps_than_max_open_work_and_the_pool_stays_bounded(tmp_path):
    pool = stash.StoragePool(3, tmp_path)
    temps = [stash.Storage.temp(pool) for _ in range(10)]
    for round_ in range(3):
        for i, st in enumerate(temps):
            st.write(bytes([i]) * (1000 + round_))
            st.flush()  # reaches the file, so the descriptor is opened
            assert pool.open_count <= 3
    for i, st in enumerate(temps):
        assert st.read_all() == bytes([i]) * 3003
        assert pool.open_count <= 3
    assert pool.max_open == 3
    assert repr(pool).startswith("<stash.StoragePool max_open=3 open=")
    for st in temps:
        st.close()
    pool.close()
    assert pool.closed and pool.open_count == 0
    assert list(tmp_path.iterdir()) == []  # the private directory went with the last


def test_temps_outlive_their_pool_object(tmp_path):
    with stash.StoragePool(1, tmp_path) as pool:
        st = stash.Storage.temp(pool)
    st.write(b"still here")
    assert st.read_all() == b"still here" and st.kind == "temp"
    st.close()


def test_a_closed_pool_makes_no_temps(tmp_path):
    pool = stash.StoragePool(1, tmp_path)
    pool.close()
    with pytest.raises(stash.Closed):
        stash.Storage.temp(pool)
    with pytest.raises(TypeError):
        stash.Storage.temp("not a pool")


def test_a_pool_needs_at_least_one_descriptor(tmp_path):
    for bad in (0, -1):
        with pytest.raises(stash.InvalidArgument):
            stash.StoragePool(bad)
    with pytest.raises(FileNotFoundError):
        stash.StoragePool(1, tmp_path / "missing")


# ---- threads -----------------------------------------------------------------------------

def test_threads_share_a_storage_through_its_lock(tmp_path):
    st = stash.Storage.file(tmp_path / "t.bin", "w+")
    chunk = b"x" * (128 * 1024)  # big enough to run without the GIL
    def writer():
        for _ in range(8):
            st.write(chunk)
    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    total = 0
    while any(t.is_alive() for t in threads):
        total += len(st.read(64 * 1024))
    for t in threads:
        t.join()
    total += len(st.read())
    assert total == st.length == 4 * 8 * len(chunk)
    st.close()


def test_big_reads_and_writes_round_trip(storage):
    data = os.urandom(3 * 1024 * 1024 + 7)
    assert storage.write(data) == len(data)
    assert storage.read(len(data)) == data
    buf = bytearray(len(data))
    storage.seek_read(0)
    assert storage.readinto(buf) == len(data) and buf == data
    assert storage.read_all() == data
