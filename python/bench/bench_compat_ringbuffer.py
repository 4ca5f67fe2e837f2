"""stash.compat.ringbuffer against rdaclient's RingBuffer design (issue 21: at least 2x faster).

The workload is rdaclient's: a writer appends 32-sample chunks of 64
channels (float32) and a reader takes the newest 32 samples by sample
number. Each step is put_data, nSamplesWritten, get_data. A second row,
for information, is a wrapped window longer than the pocket: a view in
stash, a copy in the original ("slow mode").

The baseline is the original's design rebuilt from its documentation in
plain Python + NumPy: one shared multiprocessing byte array holding a packed
ctypes header (buffer and pocket sizes in bytes, type code, channels, samples
written), the data section and the pocket; put_data checks the shape, copies
into the data section (and the pocket where the rows it mirrors change) and
then adds to the header's count; get_data checks availability against the
header's count and slices a NumPy view, marked read-only. Two things of the
original are left out, both in the baseline's favour: the 1 ms sleep between
writing and counting in put_data, and reading the geometry back from the
header on every property access.
"""
import ctypes
import functools
import multiprocessing

import numpy as np

from harness import compare
from stash.compat.ringbuffer import RingBuffer

CHANNELS, CAPACITY, CHUNK = 64, 4096, 32
WRAPPED = 256  # a window longer than the pocket (CHUNK samples)


class _Header(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("bufSizeBytes", ctypes.c_ulong), ("pocketSizeBytes", ctypes.c_ulong),
                ("dataType", ctypes.c_uint), ("nChannels", ctypes.c_ulong),
                ("nSamplesWritten", ctypes.c_ulong)]


class OriginalDesign:
    """rdaclient's ring as its documentation describes it (float32 only, here)."""

    def __init__(self, channels, samples, window):
        itemsize = np.dtype(np.float32).itemsize
        header = ctypes.sizeof(_Header)
        self.raw = multiprocessing.Array("c", header + (samples + window) * channels * itemsize,
                                         lock=False)
        self.header = _Header.from_buffer(self.raw)
        self.header.bufSizeBytes = samples * channels * itemsize
        self.header.pocketSizeBytes = window * channels * itemsize
        self.header.nChannels = channels
        rows = np.frombuffer(self.raw, np.float32, (samples + window) * channels, header)
        self.rows = rows.reshape(samples + window, channels)
        self.data, self.pocket = self.rows[:samples], self.rows[samples:]
        self.channels, self.size, self.pocket_size = channels, samples, window

    @property
    def nSamplesWritten(self):  # noqa: N802
        return self.header.nSamplesWritten

    def check_availablility(self, start, end):
        if start < 0 or end <= 0:
            return 5
        written = self.header.nSamplesWritten
        if end > written:
            return 3
        if written - start > self.size:
            return 2
        return 0

    def get_data(self, start, end, wprotect=True):
        code = self.check_availablility(start, end)
        if code:
            raise ValueError(code)
        first, last = start % self.size, end % self.size
        if first == last == 0:
            chunk = self.data
        elif last > first:
            chunk = self.data[first:last]
        elif end - start > self.pocket_size:  # "slow mode": a copy
            chunk = self.data[np.r_[first:self.size, 0:last]]
        else:  # through the pocket (what the original meant to do)
            chunk = self.rows[first:self.size + last]
        chunk.setflags(write=not wprotect)
        return chunk

    def put_data(self, data):
        data = np.asarray(data)
        if data.ndim == 1 and self.channels == 1:
            data = data[:, None]
        elif data.ndim != 2 or data.shape[1] != self.channels:
            raise ValueError(4)
        count = len(data)
        end = self.header.nSamplesWritten + count
        if count > self.size:
            data = data[-self.size:]
        start = end - len(data)
        first = start % self.size
        if first + len(data) <= self.size:
            self.data[first:first + len(data)] = data
            if first < self.pocket_size:
                mirrored = min(self.pocket_size, first + len(data))
                self.pocket[first:mirrored] = data[:mirrored - first]
        else:
            split = self.size - first
            self.data[first:] = data[:split]
            self.data[:len(data) - split] = data[split:]
            self.pocket[:] = self.data[:self.pocket_size]
        self.header.nSamplesWritten += count


def _step(buf, chunk):
    buf.put_data(chunk)
    end = buf.nSamplesWritten
    return buf.get_data(end - CHUNK, end)


def rows(quick):
    chunk = np.ones((CHUNK, CHANNELS), np.float32)
    buf = RingBuffer()
    buf.initialize(CHANNELS, CAPACITY, CHUNK)
    try:
        original = OriginalDesign(CHANNELS, CAPACITY, CHUNK)
        for ring in (buf, original):  # both full and wrapping from the start
            ring.put_data(np.zeros((CAPACITY, CHANNELS), np.float32))
        step = compare("RingBuffer put_data + get_data, 32-sample chunks x 64 float32",
                       functools.partial(_step, buf, chunk),
                       "the original's design (shared array, NumPy views)",
                       functools.partial(_step, original, chunk),
                       quick=quick, max_ratio=0.5,
                       note="the original's 1 ms sleep per put_data left out")
        written = max(buf.nSamplesWritten, original.nSamplesWritten)
        end = (written // CAPACITY + 1) * CAPACITY + WRAPPED // 2
        for ring in (buf, original):  # both at the same sample count, a window across the end
            ring.put_data(np.ones((end - ring.nSamplesWritten, CHANNELS), np.float32))
        wrapped = compare("RingBuffer get_data of a wrapped 256 x 64 window (a view)",
                          functools.partial(buf.get_data, end - WRAPPED, end),
                          "the original's design: longer than the pocket, a copy",
                          functools.partial(original.get_data, end - WRAPPED, end),
                          quick=quick, note="informational: no target")
        return [step, wrapped]
    finally:
        buf.close()
