"""The exceptions of SpiNNaker's ``spinn_storage_handlers``, with its names and bases."""

__all__ = ["DataReadException", "DataWriteException",
           "BufferedBytearrayOperationNotImplemented"]


class DataReadException(Exception):
    """Reading from the underlying medium failed (also: a file that cannot be opened)."""


class DataWriteException(Exception):
    """Writing to the underlying medium failed, or the data is of an unsuitable type."""


class BufferedBytearrayOperationNotImplemented(NotImplementedError):
    """The operation is not available on a BufferedBytearrayDataStorage."""
