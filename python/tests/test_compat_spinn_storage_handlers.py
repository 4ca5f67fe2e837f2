"""stash.compat.spinn_storage_handlers: SpiNNaker's storage handlers (5.x) over stash.

The first part runs the behaviours SpiNNaker's own tests check (ported to
Python 3, with the fixture files made in a temp dir); the second shows each
documented difference from the original; the last checks the module layout.
"""
import gc
import io
import os
import subprocess
import sys

import pytest

import stash
from stash.compat import spinn_storage_handlers as ssh
from stash.compat.spinn_storage_handlers import (
    BigEndianByteArrayByteReader, BigEndianByteArrayByteWriter, BufferedBytearrayDataStorage,
    BufferedFileDataStorage, BufferedTempfileDataStorage, FileDataReader, FileDataWriter,
    LittleEndianByteArrayByteReader, LittleEndianByteArrayByteWriter,
    LittleEndianDataReaderByteReader)
from stash.compat.spinn_storage_handlers.abstract_classes.abstract_data_reader import (
    AbstractDataReader)
from stash.compat.spinn_storage_handlers.exceptions import (
    BufferedBytearrayOperationNotImplemented, DataReadException, DataWriteException)

TESTDATA = bytearray(b"ABcd1234")
MANY_TEMP_FILES = 2000


# ---- the original's behaviours: BufferedBytearrayDataStorage ---------------------------

def test_bytearray_write_then_read_all_equals_data():
    storage = BufferedBytearrayDataStorage()
    storage.write(TESTDATA)
    assert storage.read_all() == TESTDATA
    storage.close()


def test_bytearray_readinto_is_not_implemented():
    storage = BufferedBytearrayDataStorage()
    with pytest.raises(BufferedBytearrayOperationNotImplemented, match="operation unavailable"):
        storage.readinto(bytearray(123))
    assert issubclass(BufferedBytearrayOperationNotImplemented, NotImplementedError)


def test_bytearray_sequence_of_reads_writes_and_seeks():
    with BufferedBytearrayDataStorage() as buf:
        assert (buf.tell_read(), buf.tell_write(), buf.eof()) == (0, 0, True)
        assert buf.read(123) == b""
        buf.write(bytearray(b"abc"))
        with pytest.raises(DataWriteException):
            buf.write(b"def")  # only bytearrays, as the original's test checks
        assert (buf.tell_write(), buf.tell_read(), buf.eof()) == (3, 0, False)
        assert buf.read(1) == b"a"
        assert (buf.tell_read(), buf.tell_write()) == (1, 3)
        assert buf.read(5) == b"bc"
        assert (buf.tell_read(), buf.eof()) == (3, True)
        buf.seek_read(2)
        assert buf.read(5) == b"c"
        assert buf.eof() is True
        buf.write(bytearray(b"def"))
        assert buf.eof() is False
        buf.seek_read(2)
        assert buf.read(5) == b"cdef"
        assert buf.eof() is True
        buf.seek_write(2)
        buf.write(bytearray(b"PQR"))
        buf.seek_read(0)
        assert buf.read(4) == b"abPQ"
        assert buf.eof() is False
        buf.seek_write(6)
        buf.write(bytearray(b"gh"))
        buf.seek_read(1, os.SEEK_SET)
        assert buf.read(1) == b"b"
        buf.seek_read(1, os.SEEK_CUR)
        assert buf.read(1) == b"Q"
        buf.seek_read(-2, os.SEEK_END)
        assert buf.read(1) == b"g"
        with pytest.raises(IOError, match="unrecognised 'whence'"):
            buf.seek_read(0, "no such flag")


def test_bytearray_reads_return_bytearrays():
    with BufferedBytearrayDataStorage() as buf:
        buf.write(bytearray(b"xyz"))
        assert type(buf.read(1)) is bytearray
        assert type(buf.read_all()) is bytearray


# ---- the original's behaviours: seeks in every storage ---------------------------------

def _storages(tmp_path):
    file_storage = BufferedFileDataStorage(str(tmp_path / "seeking.bin"), "w+")
    return [BufferedBytearrayDataStorage(), file_storage, BufferedTempfileDataStorage()]


@pytest.mark.parametrize("kind", [0, 1, 2], ids=["bytearray", "file", "tempfile"])
def test_seeking(tmp_path, kind):
    with _storages(tmp_path)[kind] as f:
        f.write(bytearray(b"abPQRcd"))
        f.seek_read(1, os.SEEK_SET)
        assert f.read(1) == b"b"
        f.seek_read(1, os.SEEK_CUR)
        assert f.read(1) == b"Q"
        f.seek_read(-2, os.SEEK_END)
        assert f.read(1) == b"c"
        assert f.eof() is False
        f.read(1)
        assert f.eof() is True
        with pytest.raises(IOError):
            f.seek_read(0, "no such flag")
        with pytest.raises(IOError):
            f.seek_write(0, 7)


@pytest.mark.parametrize("kind", [0, 1, 2], ids=["bytearray", "file", "tempfile"])
def test_seek_end_ignores_the_offsets_sign(tmp_path, kind):
    with _storages(tmp_path)[kind] as f:
        f.write(bytearray(b"abcdef"))
        f.seek_read(2, os.SEEK_END)
        assert f.tell_read() == 4
        f.seek_read(-2, os.SEEK_END)
        assert f.tell_read() == 4
        f.seek_write(1, os.SEEK_END)
        assert f.tell_write() == 5


@pytest.mark.parametrize("kind", [0, 1, 2], ids=["bytearray", "file", "tempfile"])
def test_seeks_clamp_into_the_storage(tmp_path, kind):
    with _storages(tmp_path)[kind] as f:
        f.write(bytearray(b"abcdef"))
        f.seek_read(100)
        assert f.tell_read() == 6 and f.read(3) == b""
        f.seek_read(-100, os.SEEK_CUR)
        assert f.tell_read() == 0
        f.seek_write(100, os.SEEK_END)
        assert f.tell_write() == 0
        f.seek_write(2**80)  # beyond 64 bits clamps too
        assert f.tell_write() == 6
        f.seek_read(-2**80, os.SEEK_CUR)
        assert f.tell_read() == 0
        f.write(bytearray(b"gh"))  # no holes: the write lands at the end
        assert f.read_all() == b"abcdefgh"


# ---- the original's behaviours: BufferedFileDataStorage, FileDataReader/Writer ----------

def test_read_file(tmp_path):
    p = tmp_path / "test_read_file.txt"
    p.write_bytes(TESTDATA)
    fdr = FileDataReader(str(p))
    assert len(fdr.readall()) == len(TESTDATA)
    fdr.close()


def test_write_file(tmp_path):
    p = tmp_path / "test_write_file.txt"
    fdw = FileDataWriter(str(p))
    assert fdw.filename == str(p)
    fdw.write(TESTDATA)
    fdw.close()
    assert len(p.read_bytes()) == len(TESTDATA)


def test_readwrite_file_buffer(tmp_path):
    p = tmp_path / "test_readwrite_file_buffer.txt"
    assert not p.exists()
    bfds = BufferedFileDataStorage(str(p), "w+b")
    assert p.exists() and p.stat().st_size == 0
    assert bfds._file_len == 0
    bfds.write(TESTDATA)
    bfds.read_all()  # the original's way to force a flush to the system
    assert p.stat().st_size == len(TESTDATA)
    assert bfds._file_len == len(TESTDATA)
    assert bfds.read_all() == TESTDATA
    assert bfds.filename == str(p)
    bfds.close()
    assert p.exists()


def test_no_such_file_is_a_read_exception(tmp_path):
    p = str(tmp_path / "test_no_such_file.txt")
    with pytest.raises(DataReadException) as info:
        BufferedFileDataStorage(p, "r")
    assert isinstance(info.value.__cause__, FileNotFoundError)
    assert p in str(info.value)
    with pytest.raises(DataReadException):
        FileDataReader(p)


def test_bad_mode_is_a_value_error(tmp_path):
    with pytest.raises(ValueError):
        BufferedFileDataStorage(str(tmp_path / "m.bin"), "q")


def test_readonly_file(tmp_path):
    p = tmp_path / "test_readonly.txt"
    p.write_bytes(b"")
    with BufferedFileDataStorage(str(p), "r") as f:
        with pytest.raises(DataWriteException):
            f.write(b"foo")
        assert f.read(100) == b""
        f.seek_read(0)
        assert f.readinto(bytearray(100)) == 0
    with FileDataReader(str(p)) as f:
        assert f.read(100) == b""
        assert f.tell() == 0
        assert f.readinto(bytearray(100)) == 0
        assert f.tell() == 0
        assert f.readall() == b""


def test_writeonly_file(tmp_path):
    p = tmp_path / "test_writeonly.txt"
    with BufferedFileDataStorage(str(p), "w") as f:
        f.write(b"foo")
        with pytest.raises(IOError):
            f.read(100)
        with pytest.raises(io.UnsupportedOperation):
            f.read(100)
        f.seek_write(0)
        with pytest.raises(DataWriteException):
            f.write(12345)
        assert f.tell_write() == 0
    with FileDataWriter(str(p)) as f:
        assert f.tell() == 0
        f.write(b"abcde")
        assert f.tell() == 5


def _write_then_open(tmp_path, name, data):
    path = str(tmp_path / name)
    writer = FileDataWriter(path)
    writer.write(data)
    writer.close()
    return path


def test_fixture_one_byte(tmp_path):
    path = _write_then_open(tmp_path, "txt_one_byte", bytearray([1]))
    with open(path, "rb") as f:
        assert f.read() == b"\x01"
    with FileDataReader(path) as reader:
        assert reader.read(1) == b"\x01"


def test_fixture_readinto_one_byte(tmp_path):
    path = _write_then_open(tmp_path, "txt_one_byte", bytearray([5]))
    with FileDataReader(path) as reader:
        buffer = bytearray(1)
        assert reader.readinto(buffer) == 1
        assert buffer[0] == 5


def test_fixture_five_bytes(tmp_path):
    path = _write_then_open(tmp_path, "txt_5_bytes", bytearray([1, 2, 3, 4, 5]))
    with open(path, "rb") as f:
        assert f.read() == b"\x01\x02\x03\x04\x05"
    with FileDataReader(path) as reader:
        assert reader.read(5) == b"\x01\x02\x03\x04\x05"


def test_fixture_empty_file(tmp_path):
    path = _write_then_open(tmp_path, "txt_empty", bytearray())
    assert os.path.getsize(path) == 0
    with FileDataReader(path) as reader:
        assert len(reader.read(1)) == 0


def test_fixture_reads_raw_bytes_not_characters(tmp_path):
    path = _write_then_open(tmp_path, "txt_one_byte_from_multiple_bytes",
                            bytearray([0xF0, 0xA4, 0xAD, 0xA2]))
    with FileDataReader(path) as reader:
        assert reader.read(2) == b"\xf0\xa4"


def test_fixture_writer_writes_one_nul(tmp_path):
    path = _write_then_open(tmp_path, "txt_zero", bytearray([0]))
    assert open(path, "rb").read() == b"\x00"


# ---- the original's behaviours: BufferedTempfileDataStorage ----------------------------

def test_readwrite_tempfile_buffer():
    btds = BufferedTempfileDataStorage()
    assert btds._file_len == 0
    btds.write(TESTDATA)
    assert btds._file_len == len(TESTDATA)
    assert btds.read_all() == TESTDATA
    assert type(btds.read_all()) is bytearray
    btds.close()


def test_lots_of_tempfiles():
    temps = []
    for i in range(MANY_TEMP_FILES):
        b = BufferedTempfileDataStorage()
        assert b not in temps
        temps.append(b)
        b.write(bytearray(str(i).encode("latin-1")))
        assert b._write_pointer > 0
    values = []
    for t in temps:
        values.append(int(t.read_all()))
        assert t._read_pointer != 0
    assert values == sorted(values) == list(range(MANY_TEMP_FILES))
    for t in temps:
        name = t._name
        assert os.path.isfile(name)
        t.close()
        assert not os.path.isfile(name)


def test_tempfile_basic_ops():
    with BufferedTempfileDataStorage() as f:
        with pytest.raises(IOError):
            f.write("abcde")
        f.write(bytearray(b"abcde"))
        f.seek_write(3)
        f.write(bytearray(b"ba"))
        f.seek_read(1)
        for b in [BufferedTempfileDataStorage() for _ in range(MANY_TEMP_FILES)]:
            b.close()  # evicts f's descriptor many times over
        assert f.read(3) == b"bcb"
        assert f.eof() is False
        assert f.tell_read() == 4
        assert f.tell_write() == 5
        f.write(bytearray(b"f"))
        f.seek_read(0)
        b = bytearray(6)
        assert f.readinto(b) == 6
        assert b == b"abcbaf"
        assert f.eof() is True


def test_tempfile_close_all_removes_live_files():
    temps = [BufferedTempfileDataStorage() for _ in range(5)]
    files = [t._name for t in temps]
    assert all(os.path.isfile(f) for f in files)
    BufferedTempfileDataStorage._close_all()
    assert not any(os.path.isfile(f) for f in files)


def _open_files_under(directory):
    """The paths under directory that this process has open now (Linux)."""
    paths = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            path = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # the descriptor listdir itself used
        if path.startswith(directory + os.sep):
            paths.append(path)
    return paths


def test_tempfile_initialise_sets_the_descriptor_limit():
    try:
        BufferedTempfileDataStorage.initialise(3)
        temps = [BufferedTempfileDataStorage() for _ in range(10)]
        for i, t in enumerate(temps):
            t.write(b"%d" % i)
            assert os.path.isfile(t._name)  # asking for the name puts it in its file
        assert [int(t.read_all()) for t in temps] == list(range(10))
        assert 1 <= len(_open_files_under(os.path.dirname(temps[0]._name))) <= 3
        for t in temps:
            t.close()
    finally:
        BufferedTempfileDataStorage.initialise(100)


# ---- the original's behaviours: byte readers and writers -------------------------------

def test_little_endian_writer():
    writer = LittleEndianByteArrayByteWriter()
    assert writer.get_n_bytes_written() == 0 and writer.data == bytearray()
    writer.write_byte(1)
    writer.write_byte(0xFF37)  # the lowest byte is kept
    assert writer.data == bytearray([1, 0x37])
    writer = LittleEndianByteArrayByteWriter()
    writer.write_bytes([1, 2, 3, 4, 5, 6])
    assert writer.get_n_bytes_written() == 6 and writer.data == bytearray([1, 2, 3, 4, 5, 6])
    for method, value, expected in [
            ("write_short", 0xF1F2, [0xF2, 0xF1]),
            ("write_int", 0xF1F2F3F4, [0xF4, 0xF3, 0xF2, 0xF1]),
            ("write_long", 0xF1F2F3F4F5F6F7F8, [0xF8, 0xF7, 0xF6, 0xF5, 0xF4, 0xF3, 0xF2, 0xF1])]:
        writer = LittleEndianByteArrayByteWriter()
        getattr(writer, method)(value)
        assert writer.get_n_bytes_written() == len(expected)
        assert writer.data == bytearray(expected)


def test_writers_keep_the_low_bits():
    writer = LittleEndianByteArrayByteWriter()
    writer.write_short(0x12345)
    writer.write_int(-1)
    writer.write_long(2**64 + 7)
    assert writer.data == bytearray(b"\x45\x23" + b"\xff" * 4 + b"\x07" + b"\x00" * 7)


def test_big_endian_writer():
    writer = BigEndianByteArrayByteWriter()
    writer.write_short(0xF1F2)
    writer.write_int(0xF1F2F3F4)
    writer.write_long(0x0102030405060708)
    writer.write_bytes(b"\xaa")
    writer.write_bytes([b"\xbb", 0xCC])
    assert writer.data == bytearray(b"\xf1\xf2\xf1\xf2\xf3\xf4\x01\x02\x03\x04\x05\x06\x07\x08"
                                    b"\xaa\xbb\xcc")
    assert writer.get_n_bytes_written() == 17


@pytest.mark.parametrize("reader_class, order", [(LittleEndianByteArrayByteReader, "little"),
                                                 (BigEndianByteArrayByteReader, "big")])
def test_byte_array_readers(reader_class, order):
    data = bytearray(range(1, 16))
    reader = reader_class(data)
    assert reader.is_at_end() is False
    assert reader.read_byte() == 1
    assert reader.read_short() == int.from_bytes(data[1:3], order)
    assert reader.read_int() == int.from_bytes(data[3:7], order)
    assert reader.read_long() == int.from_bytes(data[7:15], order)
    assert reader.is_at_end() is True
    assert reader.read_bytes() == bytearray()  # None at the end: empty
    with pytest.raises(EOFError, match="End of stream"):
        reader.read_byte()


@pytest.mark.parametrize("method, size, message", [("read_short", 1, "a short"),
                                                   ("read_int", 3, "an int"),
                                                   ("read_long", 7, "a long")])
def test_byte_array_reader_short_input_keeps_its_pointer(method, size, message):
    reader = LittleEndianByteArrayByteReader(bytes(size))
    with pytest.raises(EOFError, match=f"Not enough bytes to read {message}"):
        getattr(reader, method)()
    assert reader.read_bytes(size) == bytes(size)  # nothing was consumed
    with pytest.raises(EOFError, match="Not enough bytes to read 1 bytes"):
        reader.read_bytes(1)


def test_byte_array_reader_read_bytes():
    reader = LittleEndianByteArrayByteReader(b"abcdef")
    assert reader.read_bytes(2) == b"ab"
    assert type(reader.read_bytes(1)) is bytearray
    assert reader.read_bytes(None) == b"def"


class ListDataReader(AbstractDataReader):
    """The original's test reader: read returns a list of byte values."""

    def __init__(self, data):
        self._data = data
        self._index = 0

    def read(self, n_bytes):
        taken = list(self._data[self._index:self._index + n_bytes])
        self._index += len(taken)
        return taken

    def readinto(self, data):
        pass

    def readall(self):
        return self.read(len(self._data))


def test_data_reader_byte_reader_values():
    reader = LittleEndianDataReaderByteReader(ListDataReader(bytearray([1, 2, 3, 4, 5])))
    assert [reader.read_byte() for _ in range(5)] == [1, 2, 3, 4, 5]
    with pytest.raises(EOFError):
        reader.read_byte()
    reader = LittleEndianDataReaderByteReader(ListDataReader(bytearray([1, 2, 3, 4, 5])))
    assert reader.read_bytes(5) == bytearray([1, 2, 3, 4, 5])
    reader = LittleEndianDataReaderByteReader(ListDataReader(bytearray([1, 2, 3, 4, 5])))
    with pytest.raises(EOFError):
        reader.read_bytes(6)
    for method, data, value in [
            ("read_short", [0xF1, 0xF2], 0xF2F1),
            ("read_int", [0xF1, 0xF2, 0xF3, 0xF4], 0xF4F3F2F1),
            ("read_long", [0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8], 0xF8F7F6F5F4F3F2F1)]:
        reader = LittleEndianDataReaderByteReader(ListDataReader(bytearray(data)))
        assert getattr(reader, method)() == value
        reader = LittleEndianDataReaderByteReader(ListDataReader(bytearray(data[:-1])))
        with pytest.raises(EOFError):
            getattr(reader, method)()


def test_data_reader_byte_reader_over_a_file_reader(tmp_path):
    path = _write_then_open(tmp_path, "values.bin", b"\x01\x02\x00\x03\x00\x00\x00tail")
    with FileDataReader(path) as file_reader:
        reader = LittleEndianDataReaderByteReader(file_reader)
        assert (reader.read_byte(), reader.read_short(), reader.read_int()) == (1, 2, 3)
        assert reader.read_bytes() == b"tail"
        assert reader.is_at_end() is True


# ---- differences from the original, on purpose -----------------------------------------

@pytest.mark.parametrize("kind", [0, 1, 2], ids=["bytearray", "file", "tempfile"])
def test_difference_read_minus_one_reads_to_the_end(tmp_path, kind):
    with _storages(tmp_path)[kind] as f:
        f.write(bytearray(b"abcdef"))
        f.seek_read(1)
        assert f.read(-1) == b"bcdef"  # the bytearray storage's was one byte short
        f.seek_read(1)
        assert f.read(None) == b"bcdef"
        f.seek_read(1)
        assert f.read(-7) == b"bcdef"
        f.seek_read(1)
        assert f.read() == b"bcdef"


def test_difference_bytearray_read_all_is_a_copy_and_moves_the_read_pointer():
    storage = BufferedBytearrayDataStorage()
    storage.write(bytearray(b"abc"))
    everything = storage.read_all()
    everything[0:1] = b"Z"
    everything.extend(b"more")
    assert storage.read_all() == b"abc"  # the original handed out its own buffer
    assert storage.tell_read() == 3 and storage.eof()  # and left the read pointer at 0


@pytest.mark.parametrize("kind", [0, 1, 2], ids=["bytearray", "file", "tempfile"])
def test_difference_close_is_idempotent_and_later_calls_raise_closed(tmp_path, kind):
    f = _storages(tmp_path)[kind]
    f.write(bytearray(b"x"))
    f.close()
    f.close()  # a temp storage's second close raised KeyError
    for call in (lambda: f.read(1), lambda: f.write(bytearray(b"y")), f.read_all, f.eof,
                 f.tell_read, lambda: f.seek_read(0)):
        with pytest.raises(stash.Closed):
            call()
        with pytest.raises(ValueError):
            call()


def test_difference_writer_open_failure_is_a_write_exception(tmp_path):
    missing_dir = str(tmp_path / "no" / "such" / "dir.bin")
    with pytest.raises(DataWriteException) as info:
        FileDataWriter(missing_dir)  # the original raised DataReadException
    assert isinstance(info.value.__cause__, FileNotFoundError)
    with pytest.raises(DataWriteException) as info:
        FileDataWriter(str(tmp_path))
    assert isinstance(info.value.__cause__, IsADirectoryError)


def test_difference_reader_readall_returns_the_rest(tmp_path):
    path = _write_then_open(tmp_path, "rest.bin", b"0123456789")
    with FileDataReader(path) as reader:
        assert reader.read(4) == b"0123"
        assert reader.readall() == b"456789"  # the original re-read from byte 0
        assert reader.tell() == 10
        assert reader.readall() == b""
    with FileDataReader(path) as reader:
        reader.read(8)
        assert reader.read() == b"89"


def test_difference_file_write_takes_any_bytes_like_and_refuses_str(tmp_path):
    import array
    with BufferedFileDataStorage(str(tmp_path / "w.bin"), "w+") as f:
        f.write(memoryview(b"ab"))
        f.write(array.array("B", [0x63]))
        with pytest.raises(DataWriteException, match="suitable format"):
            f.write("text")  # the original let the file object raise TypeError
        assert f.tell_write() == 3
        assert f.read_all() == b"abc"


def test_difference_tempfile_write_takes_any_bytes_like():
    with BufferedTempfileDataStorage() as f:
        f.write(b"ab")
        f.write(memoryview(bytearray(b"cd")))
        with pytest.raises(IOError):
            f.write(42)
        assert f.read_all() == b"abcd"


def test_difference_initialise_keeps_existing_storages_working():
    try:
        before = BufferedTempfileDataStorage()
        before.write(b"old pool")
        old_dir = os.path.dirname(before._name)
        BufferedTempfileDataStorage.initialise(2)  # the original leaked before's handle
        after = [BufferedTempfileDataStorage() for _ in range(4)]
        for t in after:
            t.write(b"new")
        assert before.read_all() == b"old pool"
        assert old_dir != os.path.dirname(after[0]._name)
        before.close()
        assert not os.path.exists(old_dir)  # the old pool's directory went with it
        for t in after:
            t.close()
    finally:
        BufferedTempfileDataStorage.initialise(100)


def _temp_files_now():
    from stash.compat.spinn_storage_handlers import buffered_tempfile_data_storage as module
    directory = module._pools.directory
    return set(os.listdir(directory)) if directory and os.path.isdir(directory) else set()


def test_difference_small_tempfile_storage_stays_in_memory_until_it_grows():
    files_before = _temp_files_now()
    storage = BufferedTempfileDataStorage()
    storage.write(b"0123456789")
    storage.seek_read(3)
    storage.seek_write(5)
    assert _temp_files_now() == files_before  # no file for a small storage
    big = bytes(range(256)) * (BufferedTempfileDataStorage.SPILL_BYTES // 256)
    storage.write(big)  # grows past SPILL_BYTES: moves into its file, pointers kept
    assert len(_temp_files_now() - files_before) == 1
    assert (storage.tell_read(), storage.tell_write()) == (3, 5 + len(big))
    assert storage.read(4) == b"34" + big[:2]  # the write overwrote from byte 5 on
    assert storage.read_all() == b"01234" + big
    name = storage._name
    assert os.path.getsize(name) <= storage._file_len  # the rest may sit in its buffer
    storage.close()
    assert not os.path.exists(name)


def test_tempfile_storage_at_the_spill_size_stays_in_memory():
    files_before = _temp_files_now()
    with BufferedTempfileDataStorage() as storage:
        storage.write(bytes(BufferedTempfileDataStorage.SPILL_BYTES))
        assert _temp_files_now() == files_before
        storage.seek_write(0)
        storage.write(b"overwrites, does not grow")
        assert _temp_files_now() == files_before
        storage.seek_write(0, os.SEEK_END)
        storage.write(b"!")
        assert len(_temp_files_now() - files_before) == 1
        assert storage.read_all().startswith(b"overwrites")


def test_difference_initialise_rejects_a_limit_below_one():
    with pytest.raises(ValueError):
        BufferedTempfileDataStorage.initialise(0)
    with pytest.raises(TypeError):
        BufferedTempfileDataStorage.initialise(2.5)


def test_difference_dropped_tempfile_is_removed_when_collected():
    storage = BufferedTempfileDataStorage()
    storage.write(b"forgotten")
    name = storage._name
    assert os.path.isfile(name)
    del storage
    gc.collect()
    assert not os.path.exists(name)  # the original kept the file until exit


def test_difference_eviction_never_loses_or_crosses_data():
    try:
        BufferedTempfileDataStorage.initialise(1)
        a, b = BufferedTempfileDataStorage(), BufferedTempfileDataStorage()
        assert a._name != b._name  # both in their files now
        a.write(b"aaaa")
        b.write(b"bb")  # evicts a's descriptor with a's bytes still buffered
        a.write(b"A")
        assert (a.read_all(), b.read_all()) == (b"aaaaA", b"bb")
        a.close()
        b.close()
    finally:
        BufferedTempfileDataStorage.initialise(100)


def test_difference_temp_files_are_removed_at_exit(tmp_path):
    script = ("import os\n"
              "from stash.compat.spinn_storage_handlers import BufferedTempfileDataStorage as T\n"
              "keep = [T() for _ in range(3)]\n"
              "keep[0].write(b'x')\n"
              "print(os.path.dirname(os.path.dirname(keep[0]._name)))\n")
    env = dict(os.environ, TMPDIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", script], env=env, check=True,
                         capture_output=True, text=True).stdout.strip()
    assert out.startswith(str(tmp_path))
    assert os.listdir(tmp_path) == []  # files, pool directory and its parent all gone


def test_difference_forked_child_leaves_parents_files():
    storage = BufferedTempfileDataStorage()
    storage.write(b"parent's")
    name = storage._name
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            inherited_ok = storage.read_all() == b"parent's"
            child_own = BufferedTempfileDataStorage()
            child_own.write(b"child's")
            own_dir = os.path.dirname(child_own._name)  # a pool of its own
            BufferedTempfileDataStorage._close_all()    # closes only its own storages
            code = 0 if inherited_ok and own_dir != os.path.dirname(name) else 2
            from stash.compat.spinn_storage_handlers import buffered_tempfile_data_storage
            pools = buffered_tempfile_data_storage._pools
            buffered_tempfile_data_storage._remove_at_exit(pools.parent)  # os._exit skips it
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert os.path.isfile(name)
    assert storage.read_all() == b"parent's"
    later = BufferedTempfileDataStorage()
    assert os.path.dirname(later._name) == os.path.dirname(name)  # the parent's pool works on
    later.close()
    storage.close()


def test_forked_child_exit_leaves_parents_files(tmp_path):
    script = ("import os, sys\n"
              "from stash.compat.spinn_storage_handlers import BufferedTempfileDataStorage as T\n"
              "t = T(); t.write(b'kept'); name = t._name\n"
              "if os.fork() == 0:\n"
              "    T()._name\n"
              "    sys.exit(0)  # through the exit handlers\n"
              "os.wait()\n"
              "assert os.path.isfile(name) and t.read_all() == b'kept'\n"
              "assert T()._name\n")
    env = dict(os.environ, TMPDIR=str(tmp_path))
    subprocess.run([sys.executable, "-c", script], env=env, check=True)
    assert os.listdir(tmp_path) == []


def test_difference_file_storage_tracks_its_own_length(tmp_path):
    path = tmp_path / "grow.bin"
    path.write_bytes(b"abc")
    with BufferedFileDataStorage(str(path), "r") as f:
        with open(path, "ab") as other:
            other.write(b"def")
        assert f._file_len == 3  # the original asked fstat each time: 6
        assert f.read_all() == b"abc"


def test_difference_data_reader_short_read_consumes_nothing():
    reader = LittleEndianDataReaderByteReader(ListDataReader(bytearray([0xF1, 0xF2, 0xF3])))
    with pytest.raises(EOFError, match="an int"):  # the original always said "a short"
        reader.read_int()
    assert reader.read_short() == 0xF2F1  # the original had consumed these bytes
    assert reader.is_at_end() is False  # the original raised NotImplementedError
    assert reader.read_byte() == 0xF3
    assert reader.is_at_end() is True
    with pytest.raises(EOFError, match="a long"):
        reader.read_long()


def test_data_reader_byte_reader_refuses_a_negative_size():
    reader = LittleEndianDataReaderByteReader(ListDataReader(bytearray([1, 2])))
    with pytest.raises(ValueError):
        reader.read_bytes(-1)
    assert reader.read_bytes(2) == b"\x01\x02"


def test_difference_byte_array_reader_holds_the_buffer():
    data = bytearray(b"\x01\x00")
    reader = LittleEndianByteArrayByteReader(data)
    with pytest.raises(BufferError):
        data.extend(b"more")  # the original read the growing bytearray
    data[0] = 2  # changes in place are seen: nothing was copied
    assert reader.read_short() == 2
    with pytest.raises(ValueError):
        reader.read_bytes(-1)  # the original moved its pointer back
    del reader
    data.extend(b"ok")


def test_difference_writer_data_is_a_copy():
    writer = LittleEndianByteArrayByteWriter()
    writer.write_bytes(b"ab")
    data = writer.data
    data[0:1] = b"Z"
    assert writer.data == b"ab"  # the original returned its own bytearray


def test_writer_write_bytes_with_a_bad_item_writes_nothing():
    writer = LittleEndianByteArrayByteWriter()
    with pytest.raises(TypeError):
        writer.write_bytes([1, "x"])
    with pytest.raises(ValueError):
        writer.write_bytes([1, 256])
    assert writer.get_n_bytes_written() == 0


# ---- layout: the original's module names and exception bases ---------------------------

def test_submodules_have_the_originals_names():
    import importlib
    names = ["buffered_bytearray_data_storage", "buffered_file_data_storage",
             "buffered_tempfile_data_storage", "file_data_reader", "file_data_writer",
             "exceptions", "utils", "little_endian_byte_array_byte_reader",
             "little_endian_byte_array_byte_writer", "big_endian_byte_array_byte_reader",
             "big_endian_byte_array_byte_writer", "little_endian_data_reader_byte_reader",
             "abstract_classes", "abstract_classes.abstract_buffered_data_storage",
             "abstract_classes.abstract_byte_reader", "abstract_classes.abstract_byte_writer",
             "abstract_classes.abstract_context_manager", "abstract_classes.abstract_data_reader",
             "abstract_classes.abstract_data_writer"]
    for name in names:
        importlib.import_module(f"stash.compat.spinn_storage_handlers.{name}")
    from stash.compat.spinn_storage_handlers.buffered_file_data_storage import (  # noqa: F401
        BufferedFileDataStorage as Same)
    assert Same is BufferedFileDataStorage
    from stash.compat.spinn_storage_handlers.abstract_classes import (
        AbstractBufferedDataStorage, AbstractByteReader, AbstractByteWriter,
        AbstractContextManager, AbstractDataWriter)
    for storage_class in (BufferedBytearrayDataStorage, BufferedFileDataStorage,
                          BufferedTempfileDataStorage):
        assert issubclass(storage_class, AbstractBufferedDataStorage)
        assert issubclass(storage_class, AbstractContextManager)
    assert issubclass(FileDataReader, AbstractDataReader)
    assert issubclass(FileDataWriter, AbstractDataWriter)
    assert issubclass(LittleEndianDataReaderByteReader, AbstractByteReader)
    assert issubclass(BigEndianByteArrayByteWriter, AbstractByteWriter)
    for name in ssh.__all__:
        assert hasattr(ssh, name)


def test_exception_bases():
    assert issubclass(DataReadException, Exception)
    assert issubclass(DataWriteException, Exception)
    assert not issubclass(DataReadException, OSError)
    assert issubclass(BufferedBytearrayOperationNotImplemented, NotImplementedError)


def test_context_manager_closes_and_lets_exceptions_through(tmp_path):
    with pytest.raises(KeyError):
        with BufferedFileDataStorage(str(tmp_path / "cm.bin"), "w+") as f:
            raise KeyError("propagates")
    with pytest.raises(stash.Closed):
        f.eof()


def test_utils_file_length(tmp_path):
    from stash.compat.spinn_storage_handlers.utils import file_length
    with open(tmp_path / "len.bin", "wb") as f:
        f.write(b"12345")
        assert file_length(f) == 5
