"""AbstractByteWriter: typed values written as bytes."""

__all__ = ["AbstractByteWriter"]


class AbstractByteWriter:
    """Writes the low 8, 16, 32 or 64 bits of integers, and runs of bytes."""

    __slots__ = ()

    def write_byte(self, byte_value):
        """Writes the lowest byte of byte_value."""
        raise NotImplementedError

    def write_bytes(self, byte_iterable):
        """Writes bytes, a bytearray, or an iterable of byte values or byte strings."""
        raise NotImplementedError

    def write_short(self, short_value):
        """Writes the two lowest bytes of short_value."""
        raise NotImplementedError

    def write_int(self, int_value):
        """Writes the four lowest bytes of int_value."""
        raise NotImplementedError

    def write_long(self, long_value):
        """Writes the eight lowest bytes of long_value."""
        raise NotImplementedError

    def get_n_bytes_written(self):
        """How many bytes have been written in total."""
        raise NotImplementedError
