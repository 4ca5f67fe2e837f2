"""FileDataWriter: writes a file in order."""
from .abstract_classes import AbstractContextManager, AbstractDataWriter
from .buffered_file_data_storage import BufferedFileDataStorage
from .exceptions import DataReadException, DataWriteException

__all__ = ["FileDataWriter"]


class FileDataWriter(AbstractDataWriter, AbstractContextManager):
    """Creates or truncates filename and writes it.

    DataWriteException (chained from the OSError) if it cannot be opened for
    writing or its data cannot be written or flushed.
    """

    __slots__ = ("_file_container",)

    def __init__(self, filename):
        try:
            self._file_container = BufferedFileDataStorage(filename, "w+b")
        except DataReadException as e:
            raise DataWriteException(str(e)) from e.__cause__

    def write(self, data):
        """Writes any bytes-like object."""
        self._file_container.write(data)

    def tell(self):
        return self._file_container.tell_write()

    def flush(self):
        """Hands buffered bytes to the system (no fsync)."""
        try:
            self._file_container._storage.flush()
        except OSError as e:
            raise DataWriteException(f"unable to flush file {self.filename}: {e}") from e

    def close(self):
        try:
            self._file_container.close()
        except DataReadException as e:
            raise DataWriteException(str(e)) from e.__cause__

    @property
    def filename(self):
        """The name of the file being written."""
        return self._file_container.filename
