"""What the three storages share: one stash.Storage and SpiNNaker's seek rule.

Each storage class wraps a stash.Storage (stash.Storage cannot be
subclassed) and adds only what the original did differently: its argument
checks, its exception classes and its return types.
"""
import os

from .abstract_classes import AbstractBufferedDataStorage, AbstractContextManager

_INT64_MAX = 2**63 - 1


def _count(data_size):
    """A read size for stash: None or any negative size means "to the end"."""
    return -1 if data_size is None or data_size < 0 else data_size


class StashStorage(AbstractBufferedDataStorage, AbstractContextManager):
    """A storage over self._storage, a stash.Storage set by the subclass."""

    __slots__ = ("_storage",)

    def _seek(self, seek, offset, whence):
        # SpiNNaker's rule, kept: END counts back from the end whatever the
        # offset's sign; the result is clamped into [0, length] (by stash).
        if whence == os.SEEK_END:
            offset, whence = -abs(offset), os.SEEK_END
        elif whence == os.SEEK_SET:
            whence = os.SEEK_SET
        elif whence == os.SEEK_CUR:
            whence = os.SEEK_CUR
        else:
            raise IOError("unrecognised 'whence'")
        try:
            seek(offset, whence)
        except OverflowError:
            # Beyond 64 bits: clamps like any other seek past either end.
            seek(max(-_INT64_MAX, min(offset, _INT64_MAX)), whence)

    def seek_read(self, offset, whence=os.SEEK_SET):
        self._seek(self._storage.seek_read, offset, whence)

    def seek_write(self, offset, whence=os.SEEK_SET):
        self._seek(self._storage.seek_write, offset, whence)

    def tell_read(self):
        return self._storage.tell_read()

    def tell_write(self):
        return self._storage.tell_write()

    def eof(self):
        return self._storage.eof()

    def close(self):
        self._storage.close()

    # The original's private attributes, which its own tests read.
    @property
    def _file_len(self):
        return self._storage.length

    @property
    def _read_pointer(self):
        return self._storage.tell_read()

    @property
    def _write_pointer(self):
        return self._storage.tell_write()

    def __repr__(self):
        return f"<{type(self).__name__} over {getattr(self, '_storage', None)!r}>"
