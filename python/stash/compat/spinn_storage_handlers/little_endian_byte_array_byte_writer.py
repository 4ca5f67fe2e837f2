"""LittleEndianByteArrayByteWriter: little-endian values into memory."""
from ._byte_array_codecs import ByteArrayByteWriter

__all__ = ["LittleEndianByteArrayByteWriter"]


class LittleEndianByteArrayByteWriter(ByteArrayByteWriter):
    """Writes little-endian values; data is a copy of what was written."""

    __slots__ = ()
    _ORDER = "<"
