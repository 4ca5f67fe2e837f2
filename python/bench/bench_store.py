"""The result store from Python beside joblib and numpy.load (issue 19's targets).

A memoized hit with small arguments and with a large array argument beside
joblib.Memory's hit, content_key of a large array beside joblib.hash, and a
Store get of a 1 MiB array from dir: beside numpy.load of the same array.
Quick runs use 8 MiB where the full run uses 512 MiB.
"""
import os
import shutil
import tempfile
import warnings

import numpy as np

from harness import compare
import stash


def rows(quick):
    try:
        import joblib
    except ImportError:  # Debian's python3-joblib is the baseline; without it, no rows
        return []
    big_bytes = (8 if quick else 512) << 20
    big_label = f"{big_bytes >> 20} MiB"
    scratch = tempfile.mkdtemp(prefix="bench_store-")
    try:
        store = stash.Store(f"dir:{scratch}/stash")
        memory = joblib.Memory(f"{scratch}/joblib", verbose=0)

        def add(x, y=2):
            return x + y

        ours, theirs = store.memoize(add), memory.cache(add)
        ours(1, 2), theirs(1, 2)
        small = compare("memoize hit, small arguments", lambda: ours(1, 2),
                        "joblib.Memory hit", lambda: theirs(1, 2), quick=quick,
                        max_ratio=1 / 40)
        assert ours.last_hit

        big = np.random.default_rng(0).random(big_bytes // 8)

        def total(a):
            return float(a[:16].sum())

        ours, theirs = store.memoize(total), memory.cache(total)
        with warnings.catch_warnings():  # joblib warns that persisting the input was slow
            warnings.simplefilter("ignore")
            ours(big), theirs(big)
        large = compare(f"memoize hit, {big_label} array argument", lambda: ours(big),
                        "joblib.Memory hit", lambda: theirs(big), quick=quick,
                        max_ratio=1 / 10)
        key = compare(f"content_key of a {big_label} float64 array",
                      lambda: stash.content_key(big), "joblib.hash",
                      lambda: joblib.hash(big), quick=quick, max_ratio=0.1)

        one = np.random.default_rng(1).random(1 << 17)  # 1 MiB
        store["one"] = one
        npy = os.path.join(scratch, "one.npy")
        np.save(npy, one)
        get = compare("Store get of a 1 MiB array from dir:", lambda: store["one"],
                      "numpy.load", lambda: np.load(npy), quick=quick, max_ratio=1 / 3,
                      note="the get is a read-only view of the mapped entry; "
                           "numpy.load reads a copy")
        store.close()
        return [small, large, key, get]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
