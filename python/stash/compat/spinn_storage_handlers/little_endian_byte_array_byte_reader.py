"""LittleEndianByteArrayByteReader: unsigned little-endian values from a bytes-like object."""
from ._byte_array_codecs import ByteArrayByteReader

__all__ = ["LittleEndianByteArrayByteReader"]


class LittleEndianByteArrayByteReader(ByteArrayByteReader):
    """Reads data (any bytes-like object, not copied) as little-endian values."""

    __slots__ = ()
    _ORDER = "<"
