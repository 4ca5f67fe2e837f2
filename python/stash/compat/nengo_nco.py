"""nengo.utils.nco on stash: change the import, keep the code.

    from stash.compat import nengo_nco as nco      # was: from nengo.utils import nco
    from stash.compat.nengo_nco import CacheIOError  # was: from nengo.exceptions import ...

    nco.write(fileobj, metadata, array)
    metadata, array = nco.read(fileobj)             # stash's safe pickle reader
    metadata, array = nco.read(fileobj, allow_unsafe_pickle=True)  # Python's pickle, as nengo
    nco.Subfile(fileobj, start, end)                # a read-only window of a file

The API, constants and file layout are nengo's (nengo 3 and 4, 64-bit
Linux): write() produces nengo's bytes exactly, and read() reads every
file nengo writes. What differs, each difference on purpose:

- read() parses the metadata with stash's safe pickle reader, which never
  imports or calls anything: a pickle that would (a class instance, a
  GLOBAL naming os.system; NumPy arrays and scalars are rebuilt from
  NumPy's own pickle patterns without calling NumPy) raises stash.Unsafe, a pickle.UnpicklingError, and
  nothing runs. read(fileobj, allow_unsafe_pickle=True) reads such
  metadata with Python's pickle, as nengo does, for files the caller trusts.
  Plain values stash's reader does not hold (sets, dicts with non-str keys,
  ints beyond 64 bits) Python's pickle reads once a scan of the pickle's
  opcodes shows that it imports and calls nothing; a pickle that holds one
  and also would import or call raises stash.Unsupported.
- read() checks the object before using it: offsets out of order, a body
  cut short, an NPY header that does not parse or a shape too large raise
  CacheIOError (as bad magic and an unsupported version do in nengo), of
  a class that is also stash's (stash.OutOfRange, stash.Truncated,
  stash.Corrupt, stash.LimitExceeded: all ValueError too). nengo reads
  through such offsets and fails, if at all, somewhere in pickle or NumPy.
- read() leaves the file at the object's end (array_end), where the next
  object of a chain starts, whatever the array's NPY header says.
- Arrays of dtypes stash does not hold (strings, structured, datetime)
  are read by numpy.load as nengo reads them; object arrays only with
  allow_unsafe_pickle=True (nengo writes them and never reads them back).
- write() writes the gaps between header, pickle and array as zeros
  (nengo seeks over them, leaving whatever an overwritten file held there),
  so the header stays zero, which every reader takes as no object, until
  it is written last.
- Subfile.read(size) with a negative size reads to the window's end (nengo
  reads to the file's end and then lets the window grow); read counts the
  characters it got, not those asked for; readinto stays inside the window
  (nengo's fills the whole buffer from the file); seek returns the new
  position in the window (nengo's returns None); Subfile(f, start, end)
  with end < start raises ValueError (nengo's then reads without bound).

Short headers raise struct.error, as in nengo (nengo's decoder cache takes
that as a miss), and a bad magic or version CacheIOError with nengo's
messages.
"""
import io
import os
import pickle
import pickletools
import struct

import numpy as np

import stash

__all__ = ["Subfile", "write", "read", "CacheIOError", "NengoException", "MAGIC_STRING",
           "SUPPORTED_PROTOCOLS", "HEADER_FORMAT", "HEADER_SIZE", "ALIGNMENT"]

MAGIC_STRING = b"NCO"
SUPPORTED_PROTOCOLS = [0]
HEADER_FORMAT = f"@{len(MAGIC_STRING)}sBLLLL"
HEADER_SIZE = struct.calcsize(HEADER_FORMAT)
ALIGNMENT = 16

_HEADER = struct.Struct(HEADER_FORMAT)


class NengoException(Exception):
    """The base of nengo's exceptions (nengo.exceptions.NengoException)."""


class CacheIOError(NengoException, IOError):
    """A file that is not a readable cache object (nengo.exceptions.CacheIOError)."""


def _bad_file_class(stash_class):
    """stash_class raised as nengo's CacheIOError: catchable as either."""
    name = stash_class.__name__
    doc = f"{name} in a cache object: a CacheIOError and a stash.{name}."
    return type(name, (CacheIOError, stash_class),
                {"__module__": __name__, "__doc__": doc})


# The damage stash finds that nengo's reader does not look for.
_BAD_FILE = {cls: _bad_file_class(cls) for cls in (
    stash.Corrupt, stash.UnsupportedVersion, stash.Truncated, stash.OutOfRange,
    stash.LimitExceeded)}
_BAD_FILE_TYPES = tuple(_BAD_FILE)


def _as_cache_error(error):
    """The CacheIOError for a stash error about a bad file, with its message, status and name."""
    cache_error = _BAD_FILE[type(error)](*error.args)
    cache_error.status, cache_error.name = error.status, error.name
    return cache_error


def _align(offset):
    return -(-offset // ALIGNMENT) * ALIGNMENT


class Subfile:
    """A read-only window [start, end) of a file object, text or binary, as nengo's.

    The constructor seeks fileobj to start. read and readline never go past
    end; seek (whence os.SEEK_SET, SEEK_CUR or SEEK_END; anything else
    NotImplementedError) clamps the position into the window and returns
    it; tell is the position in the window. nengo's numpy.load and
    pickle.load read through it.
    """

    def __init__(self, fileobj, start, end):
        if end < start:
            raise ValueError(f"Subfile: end {end} is before start {start}")
        self.fileobj = fileobj
        self.start = start
        self.end = end
        self.max_size = end - start
        fileobj.seek(start)

    def _limit(self, size):
        left = max(0, self.max_size)  # never a negative size, which reads to the file's end
        return left if size is None or size < 0 else min(size, left)

    def read(self, size=None):
        data = self.fileobj.read(self._limit(size))
        self.max_size -= len(data)
        return data

    def readinto(self, b):
        with memoryview(b) as view, view.cast("B") as target:
            size = self.fileobj.readinto(target[:self._limit(len(target))])
        self.max_size -= size
        return size

    def readline(self, size=None):
        data = self.fileobj.readline(self._limit(size))
        self.max_size = self.end - self.fileobj.tell()
        return data

    def seek(self, offset, whence=os.SEEK_SET):
        if whence == os.SEEK_CUR:
            offset = self.fileobj.tell() + offset
        elif whence == os.SEEK_SET:
            offset = self.start + offset
        elif whence == os.SEEK_END:
            offset = self.end + offset
        else:
            raise NotImplementedError()
        offset = max(self.start, min(self.end, offset))
        self.max_size = self.end - offset
        self.fileobj.seek(offset)
        return offset - self.start

    def tell(self):
        return self.fileobj.tell() - self.start


def write(fileobj, metadata, array):
    """Writes a cache object at fileobj's position, byte for byte as nengo's write.

    The metadata is pickled by Python's pickle at the highest protocol and
    the array saved by numpy.save, as nengo does, so anything nengo can
    write is written (NumPy values in the metadata too, which read back
    safely).
    The offsets are the file's; the header is written last, and the file
    is left at the object's end, where the next object of a chain goes.
    """
    start = fileobj.tell()
    pickle_start = _align(start + HEADER_SIZE)
    pickled = pickle.dumps(metadata, pickle.HIGHEST_PROTOCOL)
    pickle_end = pickle_start + len(pickled)
    array_start = _align(pickle_end)
    fileobj.write(b"".join((bytes(pickle_start - start), pickled,
                            bytes(array_start - pickle_end))))
    np.save(fileobj, array)
    array_end = fileobj.tell()
    fileobj.seek(start)
    fileobj.write(_HEADER.pack(MAGIC_STRING, 0, pickle_start, pickle_end, array_start, array_end))
    fileobj.seek(array_end)


def read(fileobj, *, allow_unsafe_pickle=False):
    """Reads the cache object at fileobj's position: (metadata, array), as nengo's read.

    fileobj is a binary file object with read, seek and tell. The metadata
    is read by stash's safe pickle reader (stash.Unsafe if the pickle would
    import or call anything) unless allow_unsafe_pickle=True, which reads
    such a pickle with Python's pickle, as nengo does. The array is a new
    writable array. The file is left at the object's end.
    """
    header = fileobj.read(HEADER_SIZE)
    magic, version, pickle_start, pickle_end, array_start, array_end = _HEADER.unpack(header)
    if magic != MAGIC_STRING:
        raise CacheIOError("Not a Nengo cache object file.")
    if version not in SUPPORTED_PROTOCOLS:
        raise CacheIOError(f"NCO protocol version {version} is not supported.")
    fileobj.seek(-HEADER_SIZE, os.SEEK_CUR)
    try:
        return stash.nco.read(fileobj)
    except _BAD_FILE_TYPES as error:
        raise _as_cache_error(error) from None
    except stash.Unsafe:
        if not allow_unsafe_pickle:
            raise
    except (stash.Unsupported, stash.UnsupportedDtype):
        pass  # a value or a dtype stash does not hold: Python's pickle and NumPy read them
    # stash checked the offsets and that the file holds the object.
    pickled = Subfile(fileobj, pickle_start, pickle_end).read()
    metadata = pickle.loads(pickled) if allow_unsafe_pickle else _safe_loads(pickled)
    array = np.load(Subfile(fileobj, array_start, array_end), allow_pickle=allow_unsafe_pickle)
    fileobj.seek(array_end)
    return metadata, array


# The opcodes that import or call: what stash's safe reader refuses as unsafe.
_RUNS_CODE = frozenset(("GLOBAL", "STACK_GLOBAL", "REDUCE", "BUILD", "INST", "OBJ", "NEWOBJ",
                        "NEWOBJ_EX", "EXT1", "EXT2", "EXT4", "PERSID", "BINPERSID"))
_EMPTY_NPY = None


def _safe_loads(pickled):
    """A pickle's value, never importing or calling anything.

    stash's safe reader reads it when its values can hold it; one it leaves
    (a set, a dict with int keys, an int beyond 64 bits) Python's pickle
    reads if no opcode of it imports or calls: then unpickling builds
    builtins only.
    """
    try:
        return _stash_loads(pickled)
    except stash.Unsupported:
        try:
            runs_code = any(op.name in _RUNS_CODE for op, _, _ in pickletools.genops(pickled))
        except ValueError:  # not a pickle: stash's error says where
            runs_code = True
        if runs_code:
            raise
    return pickle.loads(pickled)


def _stash_loads(pickled):
    """stash's safe reader, reached through stash.nco.read: an object of the
    pickle and an empty array, in memory."""
    global _EMPTY_NPY
    if _EMPTY_NPY is None:
        buffer = io.BytesIO()
        np.save(buffer, np.zeros(0, np.uint8))
        _EMPTY_NPY = buffer.getvalue()
    pickle_end = HEADER_SIZE + len(pickled)
    array_start = _align(pickle_end)
    header = _HEADER.pack(MAGIC_STRING, 0, HEADER_SIZE, pickle_end, array_start,
                          array_start + len(_EMPTY_NPY))
    body = b"".join((header, pickled, bytes(array_start - pickle_end), _EMPTY_NPY))
    return stash.nco.read(io.BytesIO(body))[0]
