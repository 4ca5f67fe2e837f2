"""stash.ByteReader and stash.ByteWriter: typed values against struct, arrays against NumPy."""
import math
import os
import struct

import numpy as np
import pytest

import stash

# codec name -> (struct code, sample values including both ends of the range)
CODECS = {
    "u8": ("B", [0, 1, 127, 128, 255]),
    "u16": ("H", [0, 1, 0x1234, 0xFFFF]),
    "u32": ("I", [0, 1, 0x12345678, 0xFFFFFFFF]),
    "u64": ("Q", [0, 1, 0x123456789ABCDEF0, 2**64 - 1]),
    "i8": ("b", [-128, -1, 0, 1, 127]),
    "i16": ("h", [-32768, -1, 0, 0x1234, 32767]),
    "i32": ("i", [-2**31, -1, 0, 0x12345678, 2**31 - 1]),
    "i64": ("q", [-2**63, -1, 0, 0x123456789ABCDEF0, 2**63 - 1]),
    "f32": ("f", [0.0, -0.0, 1.5, -2.25, 3.4028234663852886e38, 1e-45, math.inf, -math.inf]),
    "f64": ("d", [0.0, -0.0, 1.5, math.pi, 1.7976931348623157e308, 5e-324, math.inf, -math.inf]),
}
DTYPES = {"u8": "u1", "u16": "u2", "u32": "u4", "u64": "u8", "i8": "i1", "i16": "i2",
          "i32": "i4", "i64": "i8", "f32": "f4", "f64": "f8"}
ORDERS = [("<", "<"), (">", ">"), ("little", "<"), ("big", ">")]


@pytest.mark.parametrize("order, prefix", ORDERS)
@pytest.mark.parametrize("name", CODECS)
def test_every_value_round_trips_in_both_orders_as_struct_packs_it(name, order, prefix):
    code, values = CODECS[name]
    expected = struct.pack(prefix + code * len(values), *values)
    writer = stash.ByteWriter(order)
    for value in values:
        assert getattr(writer, name)(value) is None
    assert writer.getvalue() == expected
    assert writer.bytes_written == len(expected) == writer.position == writer.tell()
    reader = stash.ByteReader(expected, order)
    read = [getattr(reader, name)() for _ in values]
    assert read == list(struct.unpack(prefix + code * len(values), expected))
    assert [math.copysign(1, v) for v in read if isinstance(v, float)] == \
        [math.copysign(1, v) for v in values if isinstance(v, float)]
    assert reader.eof() and reader.remaining == 0


@pytest.mark.parametrize("order", ["<", ">"])
def test_nan_passes_through(order):
    writer = stash.ByteWriter(order)
    writer.f32(math.nan)
    writer.f64(math.nan)
    data = writer.getvalue()
    assert data == struct.pack(order + "fd", math.nan, math.nan)
    reader = stash.ByteReader(data, order)
    assert math.isnan(reader.f32()) and math.isnan(reader.f64())


@pytest.mark.parametrize("name", [n for n in CODECS if n[0] in "ui"])
def test_writers_refuse_integers_outside_the_range(name):
    code, values = CODECS[name]
    low, high = min(values), max(values)
    writer = stash.ByteWriter()
    for bad in (low - 1, high + 1, 2**200, -2**200):
        with pytest.raises(OverflowError):
            getattr(writer, name)(bad)
    with pytest.raises(TypeError):
        getattr(writer, name)(1.0)
    with pytest.raises(TypeError):
        getattr(writer, name)("1")
    assert writer.getvalue() == b""
    getattr(writer, name)(np.int8(1))  # anything with __index__
    getattr(writer, name)(True)
    assert len(writer.getvalue()) == 2 * struct.calcsize(code)


def test_u8_of_256_is_an_overflow_error():
    with pytest.raises(OverflowError, match="u8 takes 0..255, not 256"):
        stash.ByteWriter().u8(256)


def test_f32_refuses_finite_values_it_cannot_hold_as_struct_does():
    with pytest.raises(OverflowError):
        stash.ByteWriter().f32(1e39)
    with pytest.raises(OverflowError):
        struct.pack("<f", 1e39)
    writer = stash.ByteWriter()
    writer.f32(3)  # ints are floats here, as in struct
    writer.f64(2**1000)
    with pytest.raises(TypeError):
        writer.f64("1.0")
    assert writer.getvalue() == struct.pack("<fd", 3, 2**1000)


def test_short_reads_raise_end_of_data_and_consume_nothing():
    reader = stash.ByteReader(b"\x01\x02\x03")
    with pytest.raises(stash.EndOfData) as caught:
        reader.u32()
    assert isinstance(caught.value, EOFError)
    assert "u32 at byte 0" in str(caught.value)
    assert reader.position == 0
    assert reader.u16() == 0x0201
    with pytest.raises(EOFError):
        reader.u16()
    assert reader.u8() == 3
    for name in CODECS:
        with pytest.raises(stash.EndOfData):
            getattr(reader, name)()


def test_reader_positions_and_seeks():
    reader = stash.ByteReader(bytes(range(16)), order=">")
    assert (reader.position, reader.tell(), reader.remaining) == (0, 0, 16)
    assert reader.seek(4) == 4 and reader.u8() == 4
    assert reader.seek(2, os.SEEK_CUR) == 7 and reader.u8() == 7
    assert reader.seek(-2, os.SEEK_END) == 14 and reader.u16() == 0x0E0F
    assert reader.eof()
    assert reader.seek(100) == 100 and reader.remaining == 0 and reader.eof()
    with pytest.raises(stash.EndOfData):
        reader.u8()
    with pytest.raises(stash.InvalidArgument):
        reader.seek(-1)
    with pytest.raises(stash.InvalidArgument):
        reader.seek(0, 7)
    assert reader.order == ">"


def test_reader_bytes():
    reader = stash.ByteReader(b"abcdef")
    assert reader.bytes(2) == b"ab"
    assert reader.bytes(0) == b""
    with pytest.raises(stash.EndOfData):
        reader.bytes(5)
    assert reader.bytes() == b"cdef"
    assert reader.bytes(None) == b""
    with pytest.raises(stash.InvalidArgument):
        reader.bytes(-1)
    with pytest.raises(stash.EndOfData):
        reader.bytes(2**62)


def test_reader_is_zero_copy_over_its_source_and_holds_it():
    source = bytearray(b"\x01\x00\x00\x00")
    reader = stash.ByteReader(source)
    source[0] = 7  # the reader sees the object, not a copy
    assert reader.u32() == 7
    with pytest.raises(BufferError):
        source.extend(b"more")  # held for the reader's life
    reader.close()
    source.extend(b"more")
    assert reader.closed
    with pytest.raises(stash.Closed):
        reader.u8()


def test_reader_takes_any_bytes_like():
    values = np.arange(4, dtype="<u4")
    assert stash.ByteReader(values).u32() == 0
    assert stash.ByteReader(memoryview(b"\x05")).u8() == 5
    assert stash.ByteReader(b"").eof()
    with pytest.raises(TypeError):
        stash.ByteReader("text")
    with pytest.raises(BufferError):
        stash.ByteReader(memoryview(b"abcd")[::2])  # not contiguous


def test_a_bad_order_is_refused():
    for bad in ("=", "native", "", "<<"):
        with pytest.raises(stash.InvalidArgument):
            stash.ByteReader(b"", bad)
        with pytest.raises(stash.InvalidArgument):
            stash.ByteWriter(bad)
    with pytest.raises(TypeError):
        stash.ByteWriter(1)


# ---- arrays ------------------------------------------------------------------------------

@pytest.mark.parametrize("order, prefix", ORDERS[:2])
@pytest.mark.parametrize("name", CODECS)
def test_arrays_read_as_numpy_reads_them(name, order, prefix):
    dtype = np.dtype(prefix + DTYPES[name])
    values = np.array(CODECS[name][1], dtype=dtype)
    data = b"\xAA" + values.tobytes()
    reader = stash.ByteReader(data, order)
    reader.seek(1)  # unaligned on purpose
    got = reader.array(DTYPES[name], len(values))
    assert got.dtype == dtype.newbyteorder("=") and got.dtype.isnative
    assert got.tolist() == values.tolist()
    assert got.flags.writeable and got.flags.owndata  # a copy
    assert reader.eof()


@pytest.mark.parametrize("source_order", ["<", ">"])
@pytest.mark.parametrize("order, prefix", ORDERS[:2])
@pytest.mark.parametrize("name", CODECS)
def test_arrays_write_as_numpy_converts_them(name, order, prefix, source_order):
    values = np.array(CODECS[name][1], dtype=source_order + DTYPES[name])
    writer = stash.ByteWriter(order)
    writer.array(values)
    writer.array(values.reshape(1, -1))  # any shape, in C order
    expected = values.astype(prefix + DTYPES[name]).tobytes()
    assert writer.getvalue() == expected * 2


def test_array_writes_unaligned_and_large_sources():
    big = np.arange(100_000, dtype="<u4")
    raw = b"\x00" + big.tobytes()
    unaligned = np.frombuffer(raw, dtype="<u4", offset=1)
    writer = stash.ByteWriter(">")
    writer.array(unaligned)
    assert writer.getvalue() == big.astype(">u4").tobytes()
    reader = stash.ByteReader(writer.getvalue(), ">")
    assert np.array_equal(reader.array(np.uint32, 100_000), big)


def test_array_takes_dtypes_in_any_form():
    data = np.arange(3, dtype="<f8").tobytes()
    for dtype in (np.float64, "float64", "<f8", ">f8", np.dtype("f8")):
        reader = stash.ByteReader(data)
        assert reader.array(dtype, 3).tolist() == [0.0, 1.0, 2.0]


def test_array_refuses_hostile_counts_without_allocating():
    reader = stash.ByteReader(b"\x00" * 16)
    with pytest.raises(stash.EndOfData):
        reader.array("u8", 2**62)
    with pytest.raises(stash.EndOfData):
        reader.array("u1", 17)
    with pytest.raises(stash.InvalidArgument):
        reader.array("u4", -1)
    with pytest.raises(OverflowError):
        reader.array("u4", 2**64)
    assert reader.position == 0
    assert reader.array("u4", 0).shape == (0,)
    assert reader.array("u4", 4).shape == (4,)


def test_array_refuses_types_without_a_codec():
    reader = stash.ByteReader(b"\x00" * 16)
    for dtype in ("f2", "c8", "?"):
        with pytest.raises(stash.UnsupportedDtype):
            reader.array(dtype, 1)
        with pytest.raises(stash.UnsupportedDtype):
            stash.ByteWriter().array(np.zeros(1, dtype=dtype))
    with pytest.raises(TypeError):
        reader.array("no such dtype", 1)
    with pytest.raises(BufferError):
        stash.ByteWriter().array(np.zeros((2, 3), dtype="u4")[:, ::2])
    with pytest.raises(BufferError):
        stash.ByteWriter().array(np.zeros((2, 3), dtype="u4", order="F"))


# ---- writers -----------------------------------------------------------------------------

def test_writer_bytes_seek_and_close():
    writer = stash.ByteWriter()
    writer.bytes(b"abcd")
    writer.bytes(bytearray(b"ef"))
    assert writer.seek(1) == 1
    writer.u8(ord("X"))
    assert writer.seek(0, os.SEEK_END) == 6
    assert writer.seek(8) == 8
    writer.u8(1)  # past the end: a zero-filled gap
    assert writer.getvalue() == b"aXcdef\x00\x00\x01"
    assert writer.bytes_written == 8
    assert repr(writer) == "<stash.ByteWriter '<' position=9 size=9>"
    with writer:
        pass
    assert writer.closed and "closed" in repr(writer)
    for call in (writer.getvalue, lambda: writer.u8(1), writer.tell):
        with pytest.raises(stash.Closed):
            call()
    writer.close()


def test_files_round_trip(tmp_path):
    path = tmp_path / "values.bin"
    with stash.ByteWriter.file(path, ">") as writer:
        writer.u32(0xDEADBEEF)
        writer.f64(2.5)
        writer.array(np.arange(100_000, dtype=np.int16))
        writer.bytes(b"tail")
        assert writer.filename == str(path)
        with pytest.raises(stash.Unsupported):
            writer.getvalue()
        writer.flush()
    expected = struct.pack(">Id", 0xDEADBEEF, 2.5) + np.arange(100_000, dtype=">i2").tobytes()
    assert path.read_bytes() == expected + b"tail"
    with stash.ByteReader.file(path, order="big") as reader:
        assert reader.filename == str(path) and repr(reader).startswith("<stash.ByteReader file")
        assert (reader.u32(), reader.f64()) == (0xDEADBEEF, 2.5)
        assert np.array_equal(reader.array("i2", 100_000), np.arange(100_000, dtype=np.int16))
        assert reader.remaining == 4 and reader.bytes() == b"tail"
        with pytest.raises(stash.EndOfData):
            reader.u8()
    with stash.ByteWriter.file(str(path), mode="a") as writer:
        writer.u16(1)
    assert path.read_bytes()[-2:] == b"\x01\x00"


def test_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError) as caught:
        stash.ByteReader.file(tmp_path / "missing")
    assert caught.value.filename == str(tmp_path / "missing")
    with pytest.raises(IsADirectoryError):
        stash.ByteWriter.file(tmp_path)
    with pytest.raises(FileExistsError):
        stash.ByteWriter.file(tmp_path, mode="x")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(stash.NotAFile):
        stash.ByteReader.file(fifo)
    with pytest.raises(stash.NotAFile):
        stash.ByteWriter.file(fifo)
    (tmp_path / "ro").write_bytes(b"x")
    with stash.ByteWriter.file(tmp_path / "ro", mode="r") as writer:
        with pytest.raises(stash.NotWritable):
            writer.u8(1)


def test_threads_share_a_reader(run_threads):
    values = np.arange(1 << 18, dtype="<u4")  # 1 MiB: arrays move without the GIL
    reader = stash.ByteReader(values.tobytes())
    chunks = []
    def take():
        while True:
            try:
                chunks.append(reader.array("u4", 1 << 14))
            except stash.EndOfData:
                return
    run_threads(*[take] * 4)
    got = np.sort(np.concatenate(chunks))
    assert np.array_equal(got, values)
