"""nengo's cache objects (NCO): pickled metadata and an NPY array in one file.

    stash.nco.write(fileobj, metadata, array)     # nengo.utils.nco.write
    stash.nco.read(fileobj) -> (metadata, array)  # nengo.utils.nco.read
    stash.nco.append(path, metadata, array, durable=False)
    stash.nco.pack(path, metadata, array, durable=False)
    with stash.nco.batch(path) as b:              # many appends, one lock, one index
        b.add(metadata, array)
    with stash.nco.open(path) as f:               # an NcoFile: mapped, zero copy
        for metadata, array in f: ...

The layout is nengo's, byte for byte (docs/nco.md), so files go both ways
between stash and nengo. Metadata is a plain value - None, bool, int, float,
str, bytes, list, tuple, dict with str keys - pickled by stash and read back
by stash's safe pickle reader, which never imports or calls anything: a
pickle that would (a class instance, a GLOBAL naming os.system) raises
stash.Unsafe, a pickle.UnpicklingError, and nothing runs. Other errors:
stash.Corrupt (not an NCO object), stash.UnsupportedVersion,
stash.Truncated (cut short), stash.OutOfRange (offsets out of order),
stash.EndOfData (read at the end of a file), TypeError for metadata that
is not a plain value, BufferError for a non-contiguous array (pass
numpy.ascontiguousarray(x)).
"""
from . import _stash

__all__ = ["write", "read", "append", "pack", "batch", "open", "NcoFile", "NcoBatch"]


def write(fileobj, metadata, array) -> None:
    """Writes one object at fileobj's position, as nengo.utils.nco.write does.

    fileobj is any binary file object with tell() and write(): the object is
    built in memory with the header's offsets counted from fileobj.tell(),
    as nengo counts them, and written with one fileobj.write; the file is
    left at the object's end, where the next object of a chain starts.
    Gaps are zeros, and the array's data is 64-byte aligned in the file.
    """
    _stash._nco_write(fileobj, metadata, array)


def read(fileobj):
    """Reads the object at fileobj's position: (metadata, array), as nengo's read.

    fileobj is any binary file object with tell() and read() (readinto() is
    used when it has one). The offsets in the header are the file's, as
    nengo writes them; the object's bytes are read in one go up to its
    array's end, where the file is left, so calling read again reads the
    next object of a chain (and raises stash.EndOfData at the file's end).
    The array is a new writable array, as numpy.load returns.
    """
    return _stash._nco_read(fileobj)


def append(path, metadata, array, durable: bool = False) -> None:
    """Appends one object to the NCO file at path (created if missing).

    Appenders in other threads and processes wait for each other (a flock);
    a crash leaves every committed object readable; the index beside the
    file (path + ".stashidx") is rewritten. durable=True fsyncs so that
    this also holds across power loss.
    """
    _stash._nco_append(path, metadata, array, durable)


def pack(path, metadata, array, durable: bool = False) -> None:
    """Writes a new NCO file at path holding one object, atomically.

    The file is written beside path and renamed over it: readers see the
    old file or the new one.
    """
    _stash._nco_pack(path, metadata, array, durable)


class NcoBatch(_stash._NcoBatch):
    """Many appends to one NCO file: NcoBatch(path, durable=False) or stash.nco.batch(path).

    b.add(metadata, array) appends one object, committed when add returns (a
    crash loses nothing added before it); the first add takes the file's
    exclusive lock, which the batch holds until close(), so other appenders
    wait for it and readers never do. close() writes the index once (until
    then readers find the new objects by walking the chain); a batch that is
    never closed is closed when it is collected, with nowhere to report an
    error: close it, or use it as a context manager. For many small objects
    this is much faster than append(), which locks, finds the chain's end and
    rewrites the index for each. One thread at a time uses it (calls from
    several threads take turns).
    """

    __slots__ = ()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def batch(path, durable: bool = False) -> NcoBatch:
    """Starts a batch of appends to the NCO file at path: an NcoBatch."""
    return NcoBatch(path, durable)


class NcoFile(_stash._NcoFile):
    """An NCO file's objects: NcoFile(path, mapped=True) or stash.nco.open(path).

    len(f) objects; f.meta(i) is object i's metadata (read safely, as read()
    does), f.array(i) its array, f[i] both as a pair, and iterating gives
    the pairs in order. f.meta_bytes(i) is the metadata's pickle itself, for
    callers who trust the file and want pickle.loads of what the safe reader
    refuses. The objects are those committed when the file was opened.
    Usable from any number of threads at once.

    Mapped (the default), arrays are read-only views of the file, zero copy,
    and meta_bytes a read-only memoryview; they keep the mapping alive after
    close() and after the NcoFile is gone. A program that truncates the file
    in place (cp over it) makes reading the lost pages raise SIGBUS; for
    files others may rewrite so, open with mapped=False: every call then
    reads the file with pread and returns copies (writable arrays, bytes),
    and a file cut short meanwhile raises stash.Truncated.
    """

    __slots__ = ()

    def __getitem__(self, i):
        return self.meta(i), self.array(i)

    def __iter__(self):
        for i in range(len(self)):
            yield self.meta(i), self.array(i)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __repr__(self):
        state = "closed" if self.closed else f"{len(self)} objects"
        return f"<stash.nco.NcoFile, {state}>"


def open(path, *, mapped: bool = True) -> NcoFile:  # noqa: A001  (shadows the builtin here only)
    """Opens the NCO file at path: an NcoFile (a context manager)."""
    return NcoFile(path, mapped=mapped)
