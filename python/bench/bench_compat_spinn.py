"""stash.compat.spinn_storage_handlers against SpiNNaker's temp-file procedure.

BufferedTempfileDataStorage: create, write to, read back and close many
storages, through the stash-backed module and through SpiNNaker's procedure
reimplemented in plain Python: each storage a NamedTemporaryFile(delete=False),
closed and reopened "r+b" through a class-wide LRU of at most 100 open
handles (eviction closes the least recently used), a flush before reads, and
unlink at close.

- 2000 small storages (200 in quick mode), the issue's figure (target: half
  the original's time at most). stash keeps a storage this small in memory,
  so no file is made at all;
- 500 storages of 32 KiB (100 in quick mode), informative: these outgrow
  memory, so both make a file per storage, and creating files is most of
  the time on either side.
"""
import collections
import os
import tempfile

from stash.compat.spinn_storage_handlers import BufferedTempfileDataStorage

from harness import compare

LRU_MAX = 100


class OriginalTempfileStorage:
    """SpiNNaker's BufferedTempfileDataStorage procedure, the parts this bench uses."""

    _lru = collections.OrderedDict()   # file name -> open handle, most recent last

    def __init__(self):
        f = tempfile.NamedTemporaryFile(delete=False)
        self.name = f.name
        f.close()
        self._handle.seek(0)
        self.read_pointer = self.write_pointer = 0
        self.flush_pending = False

    @property
    def _handle(self):
        lru = self._lru
        handle = lru.get(self.name)
        if handle is not None:
            lru.move_to_end(self.name)
            return handle
        handle = open(self.name, "r+b")
        lru[self.name] = handle
        if len(lru) > LRU_MAX:
            lru.popitem(last=False)[1].close()
        return handle

    def write(self, data):
        f = self._handle
        f.seek(self.write_pointer)
        f.write(data)
        self.flush_pending = True
        self.write_pointer += len(data)

    def read_all(self):
        f = self._handle
        if self.flush_pending:
            f.flush()
            self.flush_pending = False
        f.seek(0)
        data = f.read()
        self.read_pointer = f.tell()
        return bytearray(data)

    def close(self):
        handle = self._lru.pop(self.name, None)
        if handle is not None:
            handle.close()
        os.unlink(self.name)


def _cycle(storage_class, count, size=0):
    padding = bytes(size)

    def run():
        storages = [storage_class() for _ in range(count)]
        for i, storage in enumerate(storages):
            storage.write(b"%d" % i + padding)
        for i, storage in enumerate(storages):
            assert storage.read_all() == b"%d" % i + padding
        for storage in storages:
            storage.close()
    return run


def rows(quick: bool):
    count = 200 if quick else 2000
    result = [compare(f"BufferedTempfileDataStorage × {count}: create, write, read, close",
                      _cycle(BufferedTempfileDataStorage, count),
                      "NamedTemporaryFile + LRU of 100 handles (SpiNNaker's procedure)",
                      _cycle(OriginalTempfileStorage, count), quick=quick, max_ratio=0.5,
                      note="small storages stay in memory: no file is made")]
    count, size = (100, 32 * 1024) if quick else (500, 32 * 1024)
    result.append(compare(f"BufferedTempfileDataStorage × {count} of 32 KiB (in files)",
                          _cycle(BufferedTempfileDataStorage, count, size),
                          "the same through SpiNNaker's procedure",
                          _cycle(OriginalTempfileStorage, count, size), quick=quick,
                          note="a file per storage on both sides; informative"))
    return result
