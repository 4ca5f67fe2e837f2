"""Helpers of SpiNNaker's ``spinn_storage_handlers.utils``."""
import os

__all__ = ["file_length"]


def file_length(f):
    """The size in bytes of the open file f (flushed first, as a reader would see it)."""
    f.flush()
    return os.fstat(f.fileno()).st_size
