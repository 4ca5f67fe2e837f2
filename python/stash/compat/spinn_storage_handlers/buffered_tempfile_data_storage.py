"""BufferedTempfileDataStorage: temp files with two pointers, few descriptors open.

SpiNNaker's original made a temp file per storage and kept a class-wide LRU
cache of open file objects. Here a storage stays in memory (a stash memory
storage) until it outgrows the buffer a temp file would keep in memory
anyway; creating a file is what a small storage costs most. The temp files
of this module share one stash.StoragePool, which keeps at most
lru_max descriptors open and reopens an evicted storage's file on its next
use; eviction only closes a descriptor, so it never writes another
storage's data. The pool is made on first use (importing this module makes
no directory) inside a private directory of this process, so that a
storage can name its file (``_name``, which the original's tests read):
the pool's files are "t0", "t1", ... in the order they are opened.
"""
import atexit
import ctypes
import operator
import os
import tempfile
import threading
import weakref

from stash import Storage, StoragePool

from ._storage import StashStorage, _count

__all__ = ["BufferedTempfileDataStorage"]

_LRU_MAX = 100


class _Pools:
    """The pool new storages use, made on first use. Guarded by lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.lru_max = _LRU_MAX
        self.pool = None          # the current stash.StoragePool
        self.directory = None     # its private directory
        self.next_id = 0          # the number of its next file, "t<n>"
        self.parent = None        # this process's directory for its pools
        self.parent_pid = None

    def open_storage(self):
        """A new temp storage, with its directory and file number."""
        with self.lock:
            if self.pool is None:
                self._make_pool()
            storage = Storage.temp(self.pool)
            number = self.next_id
            self.next_id += 1
            return storage, self.directory, number

    def _make_pool(self):
        if self.parent is None:
            self.parent = tempfile.mkdtemp(prefix="spinn_storage_handlers-")
            self.parent_pid = os.getpid()
            atexit.register(_remove_at_exit, self.parent)
        before = set(os.listdir(self.parent))
        self.pool = StoragePool(self.lru_max, self.parent)
        (name,) = set(os.listdir(self.parent)) - before
        self.directory = os.path.join(self.parent, name)
        self.next_id = 0

    def forget_inherited(self, storages):
        """In a forked child: new temp files go to a pool and directory of its own.

        The parent's stash storages and pool are never freed in the child:
        freeing a temp storage removes its file, and freeing a pool's last
        reference its directory, and those are the parent's. So each gets a
        reference that is never dropped (the child can still use them, and
        close() one on purpose).
        """
        self.lock = threading.Lock()  # another thread may have held it at the fork
        for kept in storages + ([self.pool] if self.pool is not None else []):
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(kept))
        self.pool = self.parent = self.parent_pid = None

    def replace(self, lru_max):
        """New storages use a new pool of lru_max; the old one lives on in its storages."""
        with self.lock:
            old, self.pool, self.lru_max = self.pool, None, lru_max
        if old is not None:
            old.close()  # its directory goes with its last storage


_pools = _Pools()


def _remove_at_exit(parent):
    if _pools.parent_pid != os.getpid() or _pools.parent != parent:
        return  # a handler inherited through fork: the parent's files are not ours
    BufferedTempfileDataStorage._close_all()
    _pools.replace(_pools.lru_max)
    try:
        os.rmdir(parent)
    except OSError:
        pass  # a storage made after this handler ran; stash removes its files


class BufferedTempfileDataStorage(StashStorage):
    """Data storage in a temp file with a read pointer and a write pointer.

    A storage starts in memory and moves into its temp file when it would
    grow past SPILL_BYTES (16 KiB, the buffer each stash temp storage keeps
    in memory anyway), or when its ``_name`` is asked for, so small storages
    cost no file and no descriptor. At most lru_max (100, or as set by
    initialise) temp files of this class are open at once; more storages
    than that all work. The file is removed at close, when the storage is
    garbage-collected, or at exit. A storage serves one thread at a time,
    as SpiNNaker's did.
    """

    __slots__ = ("_directory", "_number", "__weakref__")

    SPILL_BYTES = 16 * 1024

    # The live storages, for _close_all (weak: a dropped storage is collected).
    _ALL = weakref.WeakSet()

    def __init__(self):
        self._storage = Storage.memory()
        self._directory = None  # in memory until _spill sets it
        self._ALL.add(self)

    @classmethod
    def initialise(cls, lru_max):
        """Temp files made from now on keep at most lru_max descriptors open.

        Existing temp files keep their pool (and its limit) until they close.
        lru_max must be an int >= 1 (else ValueError).
        """
        lru_max = operator.index(lru_max)
        if lru_max < 1:
            raise ValueError(f"lru_max must be at least 1, not {lru_max}")
        _pools.replace(lru_max)

    @classmethod
    def _close_all(cls):
        """Closes (and removes) every live storage; also run at exit."""
        for storage in list(cls._ALL):
            storage.close()

    def _spill(self):
        """Moves the content and both pointers into a new temp file; returns its storage."""
        memory = self._storage
        read_at, write_at = memory.tell_read(), memory.tell_write()  # stash.Closed if closed
        content = memory.read_all()
        temp, self._directory, self._number = _pools.open_storage()
        try:
            temp.write(content)
            temp.seek_read(read_at)
            temp.seek_write(write_at)
        except BaseException:
            temp.close()
            self._directory = None
            raise
        self._storage = temp
        memory.close()
        return temp

    def write(self, data):
        """Stores any bytes-like object at the write pointer; anything else is IOError."""
        try:
            size = memoryview(data).nbytes
        except TypeError:
            raise IOError("can only write bytes or bytearrays") from None
        storage = self._storage
        if self._directory is None and storage.tell_write() + size > self.SPILL_BYTES:
            storage = self._spill()
        storage.write(data)

    def read(self, data_size=None):
        """Up to data_size bytes as a bytearray; None or negative: to the end."""
        return bytearray(self._storage.read(_count(data_size)))

    def readinto(self, data):
        return self._storage.readinto(data)

    def read_all(self):
        """A copy of everything; the read pointer moves to the end."""
        return bytearray(self._storage.read_all())

    def close(self):
        """Closes the storage and removes its temp file; again is a no-op."""
        self._storage.close()
        self._ALL.discard(self)

    @property
    def _name(self):
        """The temp file's path (the original's private attribute, which its tests
        read); a storage still in memory moves into its file first, so the path exists."""
        if self._directory is None:
            self._spill()
        return os.path.join(self._directory, f"t{self._number}")


def _after_fork_in_child():
    # A forked child must not close (and remove) its parent's temp files at
    # its exit, nor number files in its parent's pool; it can still use the
    # storages it inherited.
    inherited = [storage._storage for storage in BufferedTempfileDataStorage._ALL]
    BufferedTempfileDataStorage._ALL = weakref.WeakSet()
    _pools.forget_inherited(inherited)


os.register_at_fork(after_in_child=_after_fork_in_child)
