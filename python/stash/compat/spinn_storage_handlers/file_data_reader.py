"""FileDataReader: reads a file in order."""
from .abstract_classes import AbstractContextManager, AbstractDataReader
from .buffered_file_data_storage import BufferedFileDataStorage

__all__ = ["FileDataReader"]


class FileDataReader(AbstractDataReader, AbstractContextManager):
    """Reads the file filename; DataReadException if it cannot be opened for reading."""

    __slots__ = ("_file_container",)

    def __init__(self, filename):
        self._file_container = BufferedFileDataStorage(filename, "r")

    def read(self, n_bytes=None):
        """Up to n_bytes bytes; None or negative: the rest; b"" at the end."""
        return self._file_container.read(n_bytes)

    def readall(self):
        """The rest of the file, from the cursor on (as documented; see the module's notes)."""
        return self._file_container.read(None)

    def readinto(self, data):
        return self._file_container.readinto(data)

    def tell(self):
        return self._file_container.tell_read()

    def close(self):
        self._file_container.close()
