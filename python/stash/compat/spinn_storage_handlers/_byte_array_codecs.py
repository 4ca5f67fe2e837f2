"""Byte-array readers and writers over stash.ByteReader and stash.ByteWriter.

The public modules (little_endian_byte_array_byte_reader, ...) name the
byte order; the code is here once. Values are unsigned, as SpiNNaker's were;
writers keep the low 8/16/32/64 bits, as SpiNNaker's did.
"""
from stash import ByteReader, ByteWriter, EndOfData

from .abstract_classes import AbstractByteReader, AbstractByteWriter


class ByteArrayByteReader(AbstractByteReader):
    """Reads a bytes-like object in place (zero copy) in the subclass's byte order.

    The buffer is held while the reader lives, so a bytearray under it
    cannot be resized meanwhile (BufferError). A short read raises EOFError
    and consumes nothing.
    """

    __slots__ = ("_reader",)
    _ORDER = "<"

    def __init__(self, data):
        self._reader = ByteReader(data, self._ORDER)

    def is_at_end(self):
        return self._reader.eof()

    def read_byte(self):
        try:
            return self._reader.u8()
        except EndOfData:
            raise EOFError("End of stream") from None

    def read_bytes(self, size=None):
        """Exactly size bytes as a bytearray; None: the rest (empty at the end)."""
        try:
            return bytearray(self._reader.bytes(size))
        except EndOfData:
            raise EOFError(f"Not enough bytes to read {size} bytes") from None

    def read_short(self):
        try:
            return self._reader.u16()
        except EndOfData:
            raise EOFError("Not enough bytes to read a short") from None

    def read_int(self):
        try:
            return self._reader.u32()
        except EndOfData:
            raise EOFError("Not enough bytes to read an int") from None

    def read_long(self):
        try:
            return self._reader.u64()
        except EndOfData:
            raise EOFError("Not enough bytes to read a long") from None


class ByteArrayByteWriter(AbstractByteWriter):
    """Writes to memory in the subclass's byte order; data is a copy of what was written."""

    __slots__ = ("_writer",)
    _ORDER = "<"

    def __init__(self):
        self._writer = ByteWriter(self._ORDER)

    def write_byte(self, byte_value):
        self._writer.u8(byte_value & 0xFF)

    def write_bytes(self, byte_iterable):
        """Writes a bytes-like object, or an iterable of byte values and byte strings."""
        try:
            self._writer.bytes(byte_iterable)
        except TypeError:
            # Gathered first, so a bad item writes nothing.
            gathered = bytearray()
            for item in byte_iterable:
                if isinstance(item, int):
                    gathered.append(item)
                else:
                    gathered += item
            self._writer.bytes(gathered)

    def write_short(self, short_value):
        self._writer.u16(short_value & 0xFFFF)

    def write_int(self, int_value):
        self._writer.u32(int_value & 0xFFFFFFFF)

    def write_long(self, long_value):
        self._writer.u64(long_value & 0xFFFFFFFFFFFFFFFF)

    def get_n_bytes_written(self):
        return self._writer.bytes_written

    @property
    def data(self):
        """A copy of the bytes written, as a bytearray."""
        return bytearray(self._writer.getvalue())
