"""stash.compat.nengo_nco against nengo.utils.nco's own procedure.

The figure (issue 21): walking a chain of 1000 cache objects in one file,
read() after read(), as nengo's legacy decoder cache kept them. The baseline
is nengo's read as its documentation gives it, in plain Python and NumPy: a
struct header, then pickle.load and numpy.load through a Subfile window of
the file. Target: at least 2x faster.
"""
import os
import pickle
import struct
import tempfile

import numpy as np

from harness import compare
from stash.compat import nengo_nco

HEADER = "@3sBLLLL"
HEADER_BYTES = struct.calcsize(HEADER)
OBJECTS = 1000


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


def rows(quick):
    tmp = tempfile.TemporaryDirectory()
    path = os.path.join(tmp.name, "chain.nco")
    rng = np.random.default_rng(0)
    with open(path, "wb") as f:
        for i in range(OBJECTS):
            metadata = {"solver": "LstsqL2", "seed": i, "shape": (8, 4), "rmses": [0.01, 0.02]}
            nengo_nco.write(f, metadata, rng.standard_normal((8, 4)))
    f = open(path, "rb")

    def walk(read):
        def run():
            f.seek(0)
            for _ in range(OBJECTS):
                read(f)
        return run

    f.seek(0)
    assert [nengo_nco.read(f)[0]["seed"] for _ in range(3)] == [0, 1, 2]
    f.seek(0)
    assert [nengo_read(f)[0]["seed"] for _ in range(3)] == [0, 1, 2]
    try:
        return [compare(f"nengo_nco.read, a walk of a {OBJECTS}-object chain (8x4 float64, "
                        "a 4-key dict each), a file", walk(nengo_nco.read),
                        "nengo's procedure (struct, pickle.load, numpy.load through Subfile)",
                        walk(nengo_read), quick=quick, max_ratio=0.5)]
    finally:
        f.close()
        tmp.cleanup()
