"""LittleEndianDataReaderByteReader: unsigned little-endian values from a data reader."""
from .abstract_classes import AbstractByteReader

__all__ = ["LittleEndianDataReaderByteReader"]


class LittleEndianDataReaderByteReader(AbstractByteReader):
    """Reads little-endian values through data_reader.read(n) and .readall().

    data_reader is any AbstractDataReader (a FileDataReader, say) whose read
    returns bytes, a bytearray or a list of byte values. Bytes fetched for a
    read that then fails for want of more are kept for the next read, so a
    short read consumes nothing.
    """

    __slots__ = ("_data_reader", "_pending")

    def __init__(self, data_reader):
        self._data_reader = data_reader
        self._pending = bytearray()   # fetched from data_reader, not yet returned

    def _fill(self, size):
        """Fetches until size bytes are pending or the reader has no more."""
        pending = self._pending
        while len(pending) < size:
            got = self._data_reader.read(size - len(pending))
            if not got:
                break
            pending.extend(got)
        return len(pending) >= size

    def _take(self, size, what):
        if size < 0:
            raise ValueError(f"cannot read {size} bytes")
        if not self._fill(size):
            raise EOFError(f"Not enough bytes to read {what}")
        taken = bytes(self._pending[:size])
        del self._pending[:size]
        return taken

    def is_at_end(self):
        return not self._fill(1)

    def read_byte(self):
        if not self._fill(1):
            raise EOFError("Not enough data to read a byte")
        return self._pending.pop(0)

    def read_bytes(self, size=None):
        """Exactly size bytes as a bytearray; None: the rest (empty at the end)."""
        if size is None:
            rest = self._pending
            self._pending = bytearray()
            rest.extend(self._data_reader.readall())
            return rest
        return bytearray(self._take(size, f"{size} bytes"))

    def read_short(self):
        return int.from_bytes(self._take(2, "a short"), "little")

    def read_int(self):
        return int.from_bytes(self._take(4, "an int"), "little")

    def read_long(self):
        return int.from_bytes(self._take(8, "a long"), "little")
