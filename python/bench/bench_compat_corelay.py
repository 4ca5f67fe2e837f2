"""stash.compat.corelay_storage against corelay.io.storage's own procedure.

The figure (issue 21): an HDF5Storage session that writes a 1 MiB array
and one that reads it back, as a corelay pipeline stores a result and a
later run loads it. The baseline is corelay's HDF5Storage as its
documentation gives it, in plain h5py: h5py.File(path, "w"),
require_dataset(key, shape, dtype, data=array), close; h5py.File(path,
"r"), dataset[()], close. Target: at least 2x faster.
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

    def stash_cycle():
        with HDF5Storage(ours, mode="w", data_key=KEY) as s:
            s.write(array)
        with HDF5Storage(ours, mode="r", data_key=KEY) as s:
            return s.read()

    def corelay_cycle():
        with h5py.File(theirs, "w") as f:
            f.require_dataset(KEY, array.shape, array.dtype, data=array)
        with h5py.File(theirs, "r") as f:
            return f[KEY][()]

    assert np.array_equal(stash_cycle(), array) and np.array_equal(corelay_cycle(), array)
    try:
        return [compare("corelay_storage.HDF5Storage: write 1 MiB (float64) in a \"w\" session, "
                        "read it in an \"r\" session", stash_cycle,
                        "corelay's HDF5Storage procedure (h5py File, require_dataset, [()])",
                        corelay_cycle, quick=quick, max_ratio=0.5)]
    finally:
        tmp.cleanup()
