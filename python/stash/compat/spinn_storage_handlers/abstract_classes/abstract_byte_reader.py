"""AbstractByteReader: typed values (unsigned) read from a byte source."""

__all__ = ["AbstractByteReader"]


class AbstractByteReader:
    """Reads bytes, shorts (2), ints (4) and longs (8), all unsigned.

    Each read raises EOFError when too few bytes remain.
    """

    __slots__ = ()

    def is_at_end(self):
        """True if no byte remains."""
        raise NotImplementedError

    def read_byte(self):
        """The next byte, as an int."""
        raise NotImplementedError

    def read_bytes(self, size=None):
        """Exactly size bytes as a bytearray; None: all that remain (empty at the end)."""
        raise NotImplementedError

    def read_short(self):
        """The next 2 bytes as an unsigned int."""
        raise NotImplementedError

    def read_int(self):
        """The next 4 bytes as an unsigned int."""
        raise NotImplementedError

    def read_long(self):
        """The next 8 bytes as an unsigned int."""
        raise NotImplementedError
