"""pyppin's MemFile (pyppin.file.memfile), backed by stash.MemFile.

Change one line::

    from pyppin.file.memfile import MemFile          # before
    from stash.compat.pyppin_memfile import MemFile  # after

and keep the rest: ``MemFile(name="memfile")``, ``open(mode, buffering,
encoding, errors, newline)`` returning the handle type io.open returns for the
mode (raw handles with pyppin's ``pread``/``pwrite``, text handles writing
through to their buffer as pyppin's do), ``pread(offset, size, buffer=None)
-> (n, data)`` with ``data`` a new ``bytearray``, or the caller's buffer cast
to bytes as a ``memoryview``, ``pwrite(offset, data) -> n``, ``size()``,
``truncate(length)``, ``str(f)``, ``name``, and the ``readable``, ``writable``
and ``bytes`` properties. Holes read as zeros; a buffer smaller than ``size``
raises ValueError; writing through a handle opened for reading (or reading
one opened for writing) raises OSError (``io.UnsupportedOperation``).

The bytes live in one stash memory file instead of a Python ``bytearray``:
every call is thread-safe, large copies run without the GIL, and handles
keep the memory alive. Where pyppin is wrong, this module is not. The
differences:

1. A negative offset or size raises ``OSError`` (EINVAL), as pyppin's docs
   promise and ``os.pread`` does. pyppin asserts (``AssertionError``, or
   nothing under ``python -O``), and its ``pwrite`` at a negative offset
   inserts the data before the end ("hel", ``pwrite(-2, b"ZZ")`` ->
   "hZZel").
2. ``truncate(length)`` also extends the file with zeros, as ``os.truncate``
   and io's ``truncate`` do, on the MemFile and on handles; it returns the
   new size. pyppin's only ever shrinks.
3. ``bytes`` is a ``bytes`` copy of the content at that moment. pyppin's is
   its live ``bytearray``, which goes stale (stops being the file) the first
   time a write past the end grows the file; write through ``pwrite`` or a
   handle instead. For the same reason a shallow ``copy.copy`` of a MemFile
   shares the file for good (pyppin's stops sharing when the file grows);
   pickles and deep copies are new files with the content, as pyppin's.
4. Modes, arguments and handles follow ``io.open`` exactly: ``"a"`` appends
   every write at the end as it is at that moment (pyppin's only starts at
   the end, then overwrites what other handles append), ``"x"`` opens an
   empty file for writing and raises ``FileExistsError`` if it has data
   (pyppin's raises ``io.UnsupportedOperation`` on the first write), modes
   io.open refuses (``"rw"``, ``"rU"``, ``"rbt"``, ``""``) raise
   ``ValueError("invalid mode: ...")`` (pyppin's read them letter by
   letter), ``encoding`` or ``newline`` in binary mode raise ``ValueError``
   (pyppin's ignores them), and ``buffering=1`` in binary mode warns and
   buffers (pyppin's raises ``ValueError``).
5. Raw handles (``buffering=0``) behave as io's: ``readline`` and
   ``readlines`` work (pyppin's return ``b""`` and ``[]``), ``read()`` past
   the end returns ``b""`` (pyppin's asserts), ``seek`` to a negative
   position or with an unknown ``whence`` raises ``stash.InvalidArgument``,
   a ValueError (pyppin's takes it), and a closed handle raises
   ``ValueError`` as every io object does (pyppin's raw handles raise
   ``OSError``).
6. ``fileno()`` is a method returning a descriptor for the same bytes, owned
   by the MemFile; from then on the file cannot shrink (``stash.Busy``).
   pyppin's ``fileno`` is a property that always raises ``OSError``.
7. Additions: ``name``; ``close()``, ``closed`` and the context manager,
   which release the memory at once, or when the last open handle closes
   (after ``close()`` the MemFile's calls, and ``pread``/``pwrite`` on its
   raw handles, raise ``stash.Closed``, a ValueError; ``readable`` and
   ``writable`` are False); and ``max_size``, which bounds the file (writes
   past it raise ``stash.Full``, an OSError). Each MemFile reserves
   ``max_size`` of address space (64 GiB by default; address space, not
   memory), so about 2000 default-sized MemFiles fit in a 64-bit process at
   once: pass a smaller ``max_size`` to have more.
"""
import errno
import io
import weakref

import stash

__all__ = ["MemFile"]


def _invalid(error):
    """The OSError pyppin's docs promise for a negative offset or size."""
    return OSError(errno.EINVAL, str(error))


class MemFile:
    """A block of RAM opened as any number of file handles, as pyppin's MemFile.

    MemFile(name="memfile", *, max_size=None): see the module's docstring
    for the differences from pyppin's class. pread(offset, size,
    buffer=None) -> (n, data) and size() are set on each instance (a small
    read costs a quarter less that way): see _pread_function.
    """

    def __init__(self, name="memfile", *, max_size=None):
        self._file = stash.MemFile(name, max_size)
        self._name = name
        self._max_size = max_size
        # Per-instance calls (see _pread_function), and the C call itself
        # where nothing needs translating: a Python method around it would
        # double a small call's cost.
        self._read = self._file.pread
        self.pread = _pread_function(self._read)
        self.size = self._file.size

    def __str__(self):
        return self._name

    def __repr__(self):
        return f"<stash.compat.pyppin_memfile.MemFile {self._name!r}>"

    @property
    def name(self):
        return self._name

    @property
    def readable(self):
        """True: the file can be opened for reading (until close())."""
        return not self._file.closed

    @property
    def writable(self):
        """True: the file can be opened for writing or changed (until close())."""
        return not self._file.closed

    @property
    def bytes(self):
        """A copy of the whole content (pyppin's is its live bytearray)."""
        return self._read(0, 2**63 - 1)[1]

    @property
    def closed(self):
        return self._file.closed

    def pwrite(self, offset, data):
        """Writes all of data (any bytes-like object) at offset; returns its size
        in bytes. A gap before offset reads as zeros. OSError for a negative
        offset; stash.Full past max_size."""
        try:
            return self._file.pwrite(offset, data)
        except stash.InvalidArgument as error:
            raise _invalid(error) from None

    def truncate(self, length):
        """Sets the size to length, shrinking or extending with zeros; returns it."""
        try:
            return self._file.truncate(length)
        except stash.InvalidArgument as error:
            raise _invalid(error) from None

    def fileno(self):
        """A descriptor for the same bytes, owned by this MemFile (see stash.MemFile)."""
        return self._file.fileno()

    def open(self, mode="r", buffering=-1, encoding=None, errors=None, newline=None):
        """A new handle with its own position, of the type io.open returns for the mode."""
        handle = self._file.open(mode, buffering, encoding, errors, newline)
        if isinstance(handle, io.TextIOWrapper):
            handle.reconfigure(write_through=True)  # as pyppin's text handles
            raw = handle.buffer.raw
        else:
            raw = getattr(handle, "raw", handle)
        _add_positional_calls(raw, self)
        return handle

    def close(self):
        """Releases the memory once no handle uses it; calling it again does nothing."""
        self._file.close()

    def __copy__(self):
        """Another MemFile object over the same file, as a shallow copy of
        pyppin's shares its bytearray (here it never stops sharing)."""
        twin = object.__new__(type(self))
        twin.__dict__.update(self.__dict__)
        return twin

    def __reduce__(self):
        """Pickles (and deep copies) the name and content, as pyppin's pickle:
        loading makes a new file."""
        return _unpickled, (self._name, self._max_size, self.bytes)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False


def _unpickled(name, max_size, content):
    file = MemFile(name, max_size=max_size)
    file.pwrite(0, content)
    return file


def _pread_function(read):
    """MemFile.pread over read, a stash.MemFile's pread.

    A closure bound to each instance rather than a method: a small read is
    mostly call overhead, and this saves the method binding and the
    attribute lookups (a quarter of an 8-byte read's time, measured).
    """

    def pread(offset, size, buffer=None):
        """Reads up to size bytes at offset: (n, data), n being how many were there.

        Without a buffer, data is a new bytearray of n bytes; with one (any
        writable buffer of at least size bytes), the bytes land at its start
        and data is memoryview(buffer).cast("B"). OSError for a negative
        offset or size, ValueError for a buffer smaller than size.
        """
        if buffer is not None:
            return _pread_into(read, offset, size, buffer)
        try:
            n, data = read(offset, size)
        except stash.InvalidArgument as error:
            raise _invalid(error) from None
        return n, bytearray(data)

    return pread


def _pread_into(read, offset, size, buffer):
    if offset < 0 or size < 0:
        raise OSError(errno.EINVAL, "negative offset or size")
    view = memoryview(buffer).cast("B")
    if size > len(view):
        raise ValueError(f"buffer too small: {size} bytes asked of a buffer of {len(view)}")
    if view.readonly:
        raise TypeError("cannot read into a read-only buffer")
    return read(offset, size, view)[0], view


def _add_positional_calls(raw, memfile):
    """pyppin's raw handles also read and write at absolute offsets, leaving the
    position alone, if the handle was opened for that direction.

    The calls reach the handle through a weak reference: a strong one, from
    the handle's own attributes, would be a cycle, and a handle dropped
    unclosed would then hold the memory until the cycle collector ran.
    """
    handle = weakref.ref(raw)

    def pread(offset, size, buffer=None):
        if not handle().readable():  # ValueError once closed, as every io call
            raise io.UnsupportedOperation("handle was not opened for reading")
        return memfile.pread(offset, size, buffer)

    def pwrite(offset, data):
        if not handle().writable():
            raise io.UnsupportedOperation("handle was not opened for writing")
        return memfile.pwrite(offset, data)

    raw.pread, raw.pwrite = pread, pwrite
