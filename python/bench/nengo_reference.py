"""nengo.utils.nco's read, as its documentation gives it, in plain Python and NumPy:
the baseline the NCO benchmarks measure stash against (bench_nco, bench_compat_nengo_nco).

A struct header, then pickle.load and numpy.load, each through a Subfile window of
the file that counts down what it may still read and clamps seeks into the window.
"""
import os
import pickle
import struct

import numpy as np

HEADER = "@3sBLLLL"
HEADER_BYTES = struct.calcsize(HEADER)


class NengoSubfile:
    """nengo's Subfile: reads bounded by a countdown, seeks clamped into the window."""

    def __init__(self, fileobj, start, end):
        self.fileobj, self.start, self.end = fileobj, start, end
        self.max_size = end - start
        fileobj.seek(start)

    def read(self, size=None):
        size = min(size, self.max_size) if size is not None else self.max_size
        self.max_size -= size
        return self.fileobj.read(size)

    def readinto(self, b):
        size = self.fileobj.readinto(b)
        self.max_size -= size
        return size

    def readline(self, size=None):
        size = min(size, self.max_size) if size is not None else self.max_size
        data = self.fileobj.readline(size)
        self.max_size = self.end - self.fileobj.tell()
        return data

    def seek(self, offset, whence=os.SEEK_SET):
        base = {os.SEEK_SET: self.start, os.SEEK_CUR: self.fileobj.tell(),
                os.SEEK_END: self.end}[whence]
        offset = max(self.start, min(self.end, base + offset))
        self.max_size = self.end - offset
        self.fileobj.seek(offset)

    def tell(self):
        return self.fileobj.tell() - self.start


def nengo_read(fileobj):
    """nengo's read: the header with struct, then pickle.load and numpy.load."""
    magic, version, pickle_start, pickle_end, array_start, array_end = struct.unpack(
        HEADER, fileobj.read(HEADER_BYTES))
    if magic != b"NCO" or version != 0:
        raise OSError("Not a Nengo cache object file.")
    metadata = pickle.load(NengoSubfile(fileobj, pickle_start, pickle_end))
    array = np.load(NengoSubfile(fileobj, array_start, array_end))
    return metadata, array
