"""rdaclient's ringbuffer on stash's shared ring: change the import, keep the code.

    from ringbuffer import RingBuffer, BufferError, datatypes               # before
    from stash.compat.ringbuffer import RingBuffer, BufferError, datatypes  # after

A two-dimensional ring (samples x channels) that several processes share, as
in rdaclient: one process calls ``initialize``, passes ``buf.raw`` to the
others (through ``multiprocessing`` with fork or spawn), and each of them
calls ``initialize_from_raw(raw)`` to use the same ring. Samples are numbered
from 0 by a count that never wraps; ``get_data(start, end)`` is the window
[start, end) as a read-only NumPy view of the shared memory, without a copy.

Underneath is a ``stash.Ring`` in /dev/shm under a generated name. What
differs from the original (rdaclient's src/ringbuffer.py):

- Every window of up to ``bufSize`` samples, wrapped or not, is a zero-copy
  view of the right length and content. The original returned short windows
  (a wrapped window that fits the pocket), garbage (an empty window off a
  multiple of bufSize), the whole buffer (an empty window at a multiple of
  bufSize) or a copy ("slow mode", a wrapped window longer than the pocket);
  and its put_data failed with a NumPy ValueError for a wrapped write that
  fits the pocket. ``windowSize`` is kept as ``pocketSize`` and changes
  nothing else.
- ``check_availablility`` (and ``check_availability``) also return 5 for
  start > end and for a window longer than ``bufSize``, which the original
  called available and then read wrongly. An empty window (start == end > 0)
  is available once it is reached and gives 0 rows. 2 includes samples the
  writer is overwriting at that moment (the original saw them only once the
  write was counted), so checking again after using a view is a sound test
  that the view was intact.
- ``get_data(..., wprotect=False)`` returns a writable copy of the window
  (checked against overwrites while it was copied). The original returned a
  writable view of the shared array, so writes went into the ring behind
  the writer's back; stash's readers map the ring read-only, and only
  put_data writes it, so a reader's check stays true and both copies of a
  pocket ring stay equal.
- One writer at a time: the first ``put_data`` of a RingBuffer claims the
  ring's writer role (any RingBuffer may: the one that called initialize or
  one made from raw) and keeps it until the RingBuffer is closed. A second
  writer raises ``stash.Busy`` (a ``BlockingIOError``); a writer that died
  is replaced. The original let every process write at once, unguarded.
- Samples are published after they are written, with memory ordering, and
  put_data does not sleep (the original slept 1 ms per call).
- ``nSamplesWritten`` is read-only (the ring's count; the original let any
  process set it).
- ``raw`` is a small picklable handle naming the ring (``RawRing``), not the
  bytes: ``len(raw)`` and the original's 36-byte ``BufferHeader`` layout are
  gone (the layout is stash's ring, docs/ring.md). It works across fork and
  spawn alike: ``initialize_from_raw`` attaches by name. ``initialize_from_raw``
  also takes a ``stash.Ring`` or a ring's name.
- ``nptype`` may be any of stash's element types (``datatypes.types``:
  float32 and int16 keep codes 0 and 1); the original took only those two.
  Others raise ValueError, as the original did.
- Put data of another dtype is converted as NumPy assignment would (the
  original assigned into its array); of another shape, ``BufferError(4)``.
- ``str(buf)`` shows the samples still held, one row per channel (the
  original showed its whole data section, then its pocket).
- Additions: ``close()``, ``with RingBuffer() as buf``, and a RingBuffer
  pickles as its raw (the receiver attaches).

Lifetime. ``initialize`` creates the ring as /dev/shm/stash-ringbuffer-<pid>-
<n>-<random>. That name is removed when the RingBuffer that created it is
closed, or, if it is never closed, when it and every ``raw`` taken from it in
the creating process are garbage-collected (or that process exits normally).
Other processes' RingBuffers keep working after the name is gone: the memory
is freed when the last of them closes. A forked child never removes the
name. A creator killed by a signal leaves the ring behind; ``stash ring rm
--stale`` removes rings no process uses.

Threads. As with stash.Ring: reads from any number of threads; put_data from
one thread at a time per ring.
"""
import itertools
import logging
import operator
import os
import secrets
import weakref

import numpy as np

import stash

__all__ = ["RingBuffer", "BufferError", "datatypes", "RawRing"]

_log = logging.getLogger(__name__)
_names = itertools.count()
_builtin_BufferError = BufferError  # numpy raises it for a buffer it cannot take


class BufferError(Exception):  # noqa: A001  (the original's name, shadowing the builtin)
    """A buffer error; .code is the original's number (1, 2, 3, 4 or 5)."""

    _messages = {
        1: "buffer is not initialized",
        2: "unable to get indices",
        3: "unable to get indices",
        4: "writing incompatible data",
        5: "negative index",
    }

    def __init__(self, code):
        super().__init__(code)
        self.code = code

    def __str__(self):
        text = self._messages.get(self.code)
        return f"{text} (error {self.code})" if text else f"(error {self.code})"


class datatypes:  # noqa: N801  (the original's name)
    """The element types by code: the original's two first, then the rest of stash's."""

    types = {0: "float32", 1: "int16"}
    for _name in ("bool", "int8", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                  "float16", "float64", "complex64", "complex128"):
        types[len(types)] = _name
    del _name

    @classmethod
    def get_code(cls, type):  # noqa: A002  (the original's parameter name)
        """The code of a type name ('float32') or NumPy dtype; ValueError if there is none."""
        try:
            name = np.dtype(type).name
        except TypeError:
            name = type
        for code, known in cls.types.items():
            if known == name:
                return code
        raise ValueError(f"{type!r} is not in list")

    @classmethod
    def get_type(cls, code):
        """The type name of a code; KeyError if there is none."""
        return cls.types[code]


class _Lease:
    """The creator's hold on a ring's name: removed when the last holder in its process goes."""

    __slots__ = ("name", "remove", "__weakref__")

    def __init__(self, name):
        self.name = name
        self.remove = weakref.finalize(self, _remove_name, name, os.getpid())


def _remove_name(name, pid):
    if os.getpid() != pid:  # a forked child: the name is its parent's
        return
    try:
        stash.Ring.remove(name)
    except stash.NotFound:
        pass


class RawRing:
    """What ``RingBuffer.raw`` gives: the ring's name, to pass to another process.

    It pickles by name (for spawn); a forked child may use the one it
    inherited. In the creating process it also keeps the ring's name from
    being removed until it is gone (see the module's Lifetime).
    """

    __slots__ = ("name", "pocket_size", "_lease")

    def __init__(self, name, pocket_size=1, _lease=None):
        self.name = name
        self.pocket_size = pocket_size
        self._lease = _lease

    def __reduce__(self):
        return RawRing, (self.name, self.pocket_size)

    def __eq__(self, other):
        return isinstance(other, RawRing) and other.name == self.name

    def __hash__(self):
        return hash(self.name)

    def __repr__(self):
        return f"RawRing({self.name!r}, pocket_size={self.pocket_size})"


class _Uninitialized:
    """The ring of a RingBuffer that has none: every use is BufferError(1)."""

    def __getattr__(self, name):
        raise BufferError(1)


_UNINITIALIZED = _Uninitialized()


class _Reattach:
    """A forked child's ring: attached by name, as a reader, on first use.

    stash closes every Ring a child inherits as the fork returns (the
    parent's handles are the parent's); the hook below puts one of these in
    their place, so a RingBuffer carries on in the child without a check on
    every call. stash.NotFound if the creator has removed the ring since.
    """

    __slots__ = ("_buf",)

    def __init__(self, buf):
        self._buf = buf

    def __getattr__(self, name):
        buf = self._buf
        if buf._ring is self:  # else attached already, through another reference to self
            buf._ring = stash.Ring.attach(buf._raw.name)
        return getattr(buf._ring, name)


_live = weakref.WeakSet()  # the initialized RingBuffers, for the fork hook


def _after_fork_in_child():
    for buf in list(_live):
        buf._forked()


os.register_at_fork(after_in_child=_after_fork_in_child)

# stash's window errors as the original's codes.
_CODES = ((stash.Overwritten, 2), (stash.NotYetWritten, 3), (stash.OutOfRange, 5))


class RingBuffer:
    """A two-dimensional circular buffer shared between processes (rdaclient's RingBuffer).

    ``initialize`` makes a new ring, ``initialize_from_raw`` uses another
    RingBuffer's (its ``raw``, passed to this process).
    """

    def __init__(self):
        self._ring = _UNINITIALIZED  # a stash.Ring, or a stand-in (above)
        self._raw = None
        self._lease = None  # the creator's: its close removes the name

    # ---- making and closing ------------------------------------------------------------

    def initialize(self, nChannels, nSamples, windowSize=1, nptype="float32"):  # noqa: N803
        """Makes a new ring of nSamples samples of nChannels values of nptype.

        Sizes below 1 are logged as warnings and made 1, as the original did.
        windowSize is kept as pocketSize (every window is a view anyway).
        An nptype that is not in ``datatypes.types`` raises ValueError.
        """
        nChannels = _at_least_one(nChannels, "nChannels")
        nSamples = _at_least_one(nSamples, "nSamples")
        windowSize = _at_least_one(windowSize, "windowSize")
        dtype = datatypes.get_type(datatypes.get_code(nptype))
        name = f"stash-ringbuffer-{os.getpid()}-{next(_names)}-{secrets.token_hex(4)}"
        # Made, then attached as a reader with the maker's writer claim given up: the first
        # put_data, in any process, claims it.
        lease = _Lease(name)
        with stash.Ring.create(name, nChannels, nSamples, dtype=dtype):
            ring = stash.Ring.attach(name)
        self._use(ring, RawRing(name, windowSize, lease))
        self._lease = lease

    def initialize_from_raw(self, raw):
        """Uses the ring of another RingBuffer: its ``raw`` (a RawRing), a stash.Ring or a name."""
        if isinstance(raw, stash.Ring):
            raw = RawRing(raw.name)
        elif not isinstance(raw, RawRing):
            raw = RawRing(os.fspath(raw))
        self._use(stash.Ring.attach(raw.name), raw)

    def _use(self, ring, raw):
        self.close()
        self._ring, self._raw = ring, raw
        self._dtype = ring.dtype
        _live.add(self)

    def close(self):
        """Ends this RingBuffer's use of the ring (is_initialized becomes False).

        A writer's claim is given up; the creator's close removes the ring's
        name (other processes attached keep it until they close). Views
        already taken stay valid. Closing twice does nothing.
        """
        ring, lease = self._ring, self._lease
        self._ring, self._raw, self._lease = _UNINITIALIZED, None, None
        self.__dict__.pop("_put", None)
        _live.discard(self)
        try:
            if isinstance(ring, stash.Ring):
                ring.close()
        finally:
            if lease is not None:
                lease.remove()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __reduce__(self):
        return _from_raw, (self._raw,)

    def _forked(self):
        """In a forked child: the inherited ring (closed by stash) is attached anew on use."""
        self._ring = _Reattach(self)
        self.__dict__.pop("_put", None)

    # ---- reading -------------------------------------------------------------------------

    def check_availablility(self, sampleStart, sampleEnd):  # noqa: N803  (sic: the original's)
        """0 if samples [sampleStart, sampleEnd) can be read, else why not.

        5: a negative index, end <= 0, start > end, or a window longer than
        bufSize; 3: not all written yet; 2: some overwritten (or being so).
        """
        if sampleStart < 0 or sampleEnd <= 0 or sampleStart > sampleEnd \
                or sampleEnd - sampleStart > self.bufSize:
            return 5
        ring = self._ring
        written = ring.written
        if sampleEnd > written:
            return 3
        if sampleStart < sampleEnd and not ring.validate(sampleStart):
            return 2
        return 0

    check_availability = check_availablility

    def get_data(self, sampleStart, sampleEnd, wprotect=True):  # noqa: N803
        """Samples [sampleStart, sampleEnd) as an array of shape (n, nChannels).

        A read-only view of the shared memory (no copy): the writer may
        overwrite it later, so check_availablility(sampleStart, sampleEnd)
        after using it says whether it was intact. wprotect=False gives a
        writable copy instead. BufferError(code) if check_availablility
        would not return 0.
        """
        if sampleEnd <= 0:
            raise BufferError(5)
        try:
            if wprotect:
                return self._ring.window(sampleStart, sampleEnd)
            return self._ring.read(sampleStart, sampleEnd)
        except stash.StashError as exc:
            for kind, code in _CODES:
                if isinstance(exc, kind):
                    raise BufferError(code) from exc
            raise

    # ---- writing -------------------------------------------------------------------------

    def put_data(self, data):
        """Appends samples: shape (n, nChannels), or (n,) for one channel.

        Data of another dtype is converted; another shape is BufferError(4).
        More than bufSize samples keeps the last bufSize and counts all. The
        first put_data claims the ring's writer role (stash.Busy, a
        BlockingIOError, while another live process holds it).
        """
        try:
            self._put(data)
        except (stash.ShapeMismatch, TypeError, _builtin_BufferError):
            self._put(self._conform(data))

    def _claim_and_put(self, data):
        if self._raw is None:
            raise BufferError(1)
        writer = stash.Ring.attach(self._raw.name, writer=True)
        reader, self._ring, self._put = self._ring, writer, writer.put
        if isinstance(reader, stash.Ring):
            reader.close()
        writer.put(data)

    # Until the first put_data claims the writer's role; then the writer's own put (no cycle).
    _put = _claim_and_put

    def _conform(self, data):
        """data as the ring takes it, converted as NumPy assignment would; else BufferError(4)."""
        array = np.asarray(data)
        channels = self.nChannels
        if not (array.ndim == 2 and array.shape[1] == channels
                or array.ndim == 1 and channels == 1):
            raise BufferError(4)
        try:
            return np.ascontiguousarray(array, dtype=self._dtype)
        except (TypeError, ValueError) as exc:
            raise BufferError(4) from exc

    # ---- properties ----------------------------------------------------------------------

    @property
    def is_initialized(self):
        """True once initialize or initialize_from_raw has run (and close has not)."""
        return self._raw is not None

    # Straight to the ring's attributes (no Python frame): BufferError(1) before initialize.
    nChannels = property(operator.attrgetter("_ring.channels"), doc="Values per sample.")
    bufSize = property(operator.attrgetter("_ring.capacity"), doc="The capacity in samples.")
    nSamplesWritten = property(operator.attrgetter("_ring.written"),
                               doc="Samples written since the ring was made (never wraps).")

    @property
    def pocketSize(self):  # noqa: N802
        """initialize's windowSize (1 for a ring attached by name)."""
        return self.raw.pocket_size

    @property
    def nptype(self):
        """The element type's name ('float32')."""
        return self._ring.dtype.name

    @property
    def writePtr(self):  # noqa: N802
        """Where the next sample goes: nSamplesWritten % bufSize."""
        ring = self._ring
        return ring.written % ring.capacity

    @property
    def raw(self):
        """A picklable handle naming the ring, for initialize_from_raw in another process."""
        if self._raw is None:
            raise BufferError(1)
        return self._raw

    def __repr__(self):
        if self._raw is None:
            return "<RingBuffer, not initialized>"
        writer = isinstance(self._ring, stash.Ring) and self._ring.is_writer
        return (f"<RingBuffer {self._raw.name!r}: {self.nChannels} x {self.nptype}, "
                f"bufSize {self.bufSize}, {'writer' if writer else 'reader'}>")

    def __str__(self):
        """The samples still held, one row per channel (as the original printed its data)."""
        if self._raw is None:
            return repr(self)
        end = self.nSamplesWritten
        return str(self._ring.read(max(0, end - self.bufSize), end).T)


def _at_least_one(value, what):
    if value < 1:
        _log.warning("%s = %r is less than 1: using 1", what, value)
        return 1
    return value


def _from_raw(raw):
    buf = RingBuffer()
    if raw is not None:
        buf.initialize_from_raw(raw)
    return buf
