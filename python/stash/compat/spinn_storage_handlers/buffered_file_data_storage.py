"""BufferedFileDataStorage: a named file with two pointers (a stash file storage)."""
from stash import Storage

from ._storage import StashStorage, _count
from .exceptions import DataReadException, DataWriteException

__all__ = ["BufferedFileDataStorage"]


class BufferedFileDataStorage(StashStorage):
    """Data storage in a named file with a read pointer and a write pointer.

    mode is open()'s ("r", "r+", "w", "w+", "a", "a+", "x", "x+"; "b" is
    implied). A file that cannot be opened raises DataReadException (chained
    from the OSError); a bad mode raises ValueError. "r" refuses writes
    (DataWriteException) and "w" and "a" refuse reads (io.UnsupportedOperation,
    an IOError). The file stays after close.
    """

    __slots__ = ("_filename",)

    def __init__(self, filename, mode):
        self._filename = filename
        try:
            self._storage = Storage.file(filename, mode)
        except OSError as e:
            raise DataReadException(f"unable to open file {filename}; {e}") from e

    def write(self, data):
        """Stores any bytes-like object at the write pointer and advances it."""
        try:
            self._storage.write(data)
        except TypeError:
            raise DataWriteException(
                "data to write is not in a suitable format (bytearray or bytes). "
                f"Current data format: {type(data)}") from None
        except OSError as e:  # refused by an "r" file, or a full disk
            raise DataWriteException(f"unable to write to file {self._filename}: "
                                     f"caused by {e}") from e

    # Reads flush pending writes first, as the original's did, so that
    # whatever was read is in the file for other readers too.

    def read(self, data_size=None):
        """Up to data_size bytes as bytes; None or negative: to the end."""
        self._storage.flush()
        return self._storage.read(_count(data_size))

    def readinto(self, data):
        self._storage.flush()
        return self._storage.readinto(data)

    def read_all(self):
        """The whole file from byte 0; the read pointer moves to the end."""
        self._storage.flush()
        return self._storage.read_all()

    def close(self):
        """Flushes and closes the file; again is a no-op."""
        try:
            self._storage.close()
        except OSError as e:
            raise DataReadException(f"file {self._filename} cannot be closed; {e}") from e

    @property
    def filename(self):
        """The file's name, as given."""
        return self._filename
