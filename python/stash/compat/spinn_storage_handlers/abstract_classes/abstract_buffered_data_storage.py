"""AbstractBufferedDataStorage: bytes with independent read and write pointers."""
import os

__all__ = ["AbstractBufferedDataStorage"]


class AbstractBufferedDataStorage:
    """Stores bytes and reads them back; both pointers start at 0.

    As in SpiNNaker's original, the methods are not enforced abstract: a
    subclass implements the ones it needs, the rest raise NotImplementedError.
    """

    __slots__ = ()

    def write(self, data):
        """Stores data at the write pointer and advances it."""
        raise NotImplementedError

    def read(self, data_size):
        """Up to data_size bytes from the read pointer, advancing it."""
        raise NotImplementedError

    def readinto(self, data):
        """Reads into a writable buffer; returns how many bytes were stored."""
        raise NotImplementedError

    def read_all(self):
        """Everything from position 0 to the end."""
        raise NotImplementedError

    def seek_read(self, offset, whence=os.SEEK_SET):
        """Moves the read pointer (clamped into [0, length])."""
        raise NotImplementedError

    def seek_write(self, offset, whence=os.SEEK_SET):
        """Moves the write pointer (clamped into [0, length])."""
        raise NotImplementedError

    def tell_read(self):
        """The read pointer."""
        raise NotImplementedError

    def tell_write(self):
        """The write pointer."""
        raise NotImplementedError

    def eof(self):
        """True if the read pointer is at the end."""
        raise NotImplementedError

    def close(self):
        """Releases the storage."""
        raise NotImplementedError
