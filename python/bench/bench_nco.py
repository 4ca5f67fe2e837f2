"""stash.nco and stash.npy against the pure-Python ways nengo and NumPy users have.

The target (issue 19): stash.nco.read of a small object at least 5x faster
than nengo's procedure - a struct header, pickle.load and numpy.load, each
through a window of the file - which is reimplemented here as nengo.utils.nco
does it (nengo_reference.py). The NPY rows are informative: they compare with numpy.load.
"""
import io
import os
import tempfile

import numpy as np

import stash
from harness import compare
from nengo_reference import nengo_read

def rows(quick):
    small_meta = {"name": "decoders", "seed": 12, "shape": (4, 4), "solver": "LstsqL2"}
    small = np.arange(16, dtype=np.float32).reshape(4, 4)
    buffer = io.BytesIO()
    stash.nco.write(buffer, small_meta, small)
    data = buffer.getvalue()
    f = io.BytesIO(data)

    def stash_read():
        f.seek(0)
        return stash.nco.read(f)

    def nengo_baseline():
        f.seek(0)
        return nengo_read(f)

    assert stash_read()[0] == nengo_baseline()[0] == small_meta

    out = [compare("stash.nco.read of a small object (a 4x4 float32, a 4-key dict), BytesIO",
                   stash_read, "nengo's pure-Python procedure (struct, pickle, numpy.load)",
                   nengo_baseline, quick=quick, max_ratio=0.2)]

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "a.npy")
        array = np.random.default_rng(0).standard_normal(1 << 17)  # 1 MiB
        np.save(path, array)
        out.append(compare("stash.npy.map of a 1 MiB array", lambda: stash.npy.map(path),
                           "numpy.load(mmap_mode='r')", lambda: np.load(path, mmap_mode="r"),
                           quick=quick, note="informative"))
        out.append(compare("stash.npy.load of a 1 MiB array", lambda: stash.npy.load(path),
                           "numpy.load", lambda: np.load(path), quick=quick,
                           note="informative"))
        tiny = os.path.join(tmp, "tiny.npy")
        np.save(tiny, small)
        out.append(compare("stash.npy.load of a 4x4 float32", lambda: stash.npy.load(tiny),
                           "numpy.load", lambda: np.load(tiny), quick=quick,
                           note="informative"))
        out.append(compare("stash.npy.save of a 1 MiB array", lambda: stash.npy.save(path, array),
                           "numpy.save", lambda: np.save(path, array), quick=quick,
                           note="informative; stash writes aside and renames"))
    return out
