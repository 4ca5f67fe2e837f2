"""BufferedBytearrayDataStorage: bytes in memory with two pointers (a stash memory storage)."""
from stash import Storage

from ._storage import StashStorage, _count
from .exceptions import BufferedBytearrayOperationNotImplemented, DataWriteException

__all__ = ["BufferedBytearrayDataStorage"]


class BufferedBytearrayDataStorage(StashStorage):
    """Data storage in memory with a read pointer and a write pointer.

    Kept from SpiNNaker's original (its tests check both): write takes only a
    bytearray, and readinto raises BufferedBytearrayOperationNotImplemented.
    stash.Storage.memory() has neither limit.
    """

    __slots__ = ()

    def __init__(self):
        self._storage = Storage.memory()

    def write(self, data):
        """Stores a bytearray at the write pointer (overwriting, then growing)."""
        if not isinstance(data, bytearray):
            raise DataWriteException("can only write bytearrays")
        self._storage.write(data)

    def read(self, data_size=None):
        """Up to data_size bytes as a bytearray; None or negative: to the end."""
        return bytearray(self._storage.read(_count(data_size)))

    def readinto(self, data):
        raise BufferedBytearrayOperationNotImplemented("operation unavailable")

    def read_all(self):
        """A copy of everything; the read pointer moves to the end."""
        return bytearray(self._storage.read_all())
