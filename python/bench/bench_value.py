"""Values into and out of stash trees (informative: what every store call pays)."""
import pickle

import numpy as np

from harness import compare
from stash import _stash

SMALL = {"run": 3, "rate": 1000.0, "channels": ["a", "b", "c"], "tags": ("x", "y")}


def rows(quick):
    small = compare("a small dict through a value tree and back",
                    lambda: _stash._value_roundtrip(SMALL),
                    "pickle.loads(pickle.dumps(...))",
                    lambda: pickle.loads(pickle.dumps(SMALL, protocol=5)), quick=quick)
    array = np.zeros(1 << 17)  # 1 MiB
    big = compare("a 1 MiB array through a value tree and back (one copy in)",
                  lambda: _stash._value_roundtrip(array),
                  "array.copy()", array.copy, quick=quick)
    return [small, big]
