"""BigEndianByteArrayByteWriter: big-endian values into memory."""
from ._byte_array_codecs import ByteArrayByteWriter

__all__ = ["BigEndianByteArrayByteWriter"]


class BigEndianByteArrayByteWriter(ByteArrayByteWriter):
    """Writes big-endian values; data is a copy of what was written."""

    __slots__ = ()
    _ORDER = ">"
