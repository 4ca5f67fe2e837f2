"""stash.compat.corelay_storage against corelay.io.storage's own procedure.

The figure (issue 21): an HDF5Storage session that writes a 1 MiB array
and one that reads it back, as a corelay pipeline stores a result and a
later run loads it. The baseline is corelay's HDF5Storage as its
documentation gives it, in plain h5py: h5py.File(path, "w"),
require_dataset(key, shape, dtype, data=array), close; h5py.File(path,
"r"), dataset[()], close. Target: at least 2x faster. The two sessions are
also timed apart, for information.
"""
import os
import tempfile

import h5py
import numpy as np

from harness import compare
from stash.compat.corelay_storage import HDF5Storage

KEY = "attributions"


def rows(quick):
    tmp = tempfile.TemporaryDirectory()
    ours, theirs = os.path.join(tmp.name, "stash.h5"), os.path.join(tmp.name, "h5py.h5")
    array = np.random.default_rng(0).random(1 << 17)  # 1 MiB of float64

    def stash_write():
        with HDF5Storage(ours, mode="w", data_key=KEY) as s:
            s.write(array)

    def stash_read():
        with HDF5Storage(ours, mode="r", data_key=KEY) as s:
            return s.read()

    def corelay_write():
        with h5py.File(theirs, "w") as f:
            f.require_dataset(KEY, array.shape, array.dtype, data=array)

    def corelay_read():
        with h5py.File(theirs, "r") as f:
            return f[KEY][()]

    def stash_cycle():
        stash_write()
        return stash_read()

    def corelay_cycle():
        corelay_write()
        return corelay_read()

    assert np.array_equal(stash_cycle(), array) and np.array_equal(corelay_cycle(), array)
    try:
        return [compare("corelay_storage.HDF5Storage: write 1 MiB (float64) in a \"w\" session, "
                        "read it in an \"r\" session", stash_cycle,
                        "corelay's HDF5Storage procedure (h5py File, require_dataset, [()])",
                        corelay_cycle, quick=quick, max_ratio=0.5),
                compare("  the \"w\" session alone", stash_write, "h5py's", corelay_write,
                        quick=quick),
                compare("  the \"r\" session alone (the array copied to be writable)",
                        stash_read, "h5py's", corelay_read, quick=quick)]
    finally:
        tmp.cleanup()
