"""BigEndianByteArrayByteReader: unsigned big-endian values from a bytes-like object."""
from ._byte_array_codecs import ByteArrayByteReader

__all__ = ["BigEndianByteArrayByteReader"]


class BigEndianByteArrayByteReader(ByteArrayByteReader):
    """Reads data (any bytes-like object, not copied) as big-endian values."""

    __slots__ = ()
    _ORDER = ">"
