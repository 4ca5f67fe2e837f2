"""stash.compat.nengo_nco against nengo.utils.nco's own procedure.

The figure (issue 21): walking a chain of 1000 cache objects in one file,
read() after read(), as nengo's legacy decoder cache kept them. The baseline
is nengo's read as its documentation gives it, in plain Python and NumPy: a
struct header, then pickle.load and numpy.load through a Subfile window of
the file. Target: at least 2x faster.
"""
import os
import tempfile

import numpy as np

from harness import compare
from nengo_reference import nengo_read
from stash.compat import nengo_nco

OBJECTS = 1000


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
