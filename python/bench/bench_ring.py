"""The ring from Python: a window to a NumPy view, and validate (issue 19's budgets).

Each beside the nearest thing Python does anyway: slicing an ndarray of the
same shape (what a window is made of), and a bare method call with one
argument (what validate cannot be cheaper than). Calls go through
functools.partial, the harness's cheapest way to call with arguments.
"""
import functools
import os

import numpy as np

from harness import compare
import stash

CHANNELS, CAPACITY, WINDOW = 64, 4096, 256


def rows(quick):
    name = f"bench-ring-{os.getpid()}"
    ring = stash.Ring.create(name, CHANNELS, CAPACITY, remove_on_close=True)
    try:
        ring.put(np.zeros((CAPACITY + WINDOW // 2, CHANNELS), np.float32))
        first = ring.written - WINDOW  # slots 3 968..4 095, then 0..127: wrapped
        plain = np.zeros((2 * CAPACITY, CHANNELS), np.float32)
        row = first % CAPACITY
        window = compare("Ring.window to a NumPy view (256 x 64 float32, wrapped)",
                         functools.partial(ring.window, first, first + WINDOW),
                         "ndarray[a:b] of the same shape",
                         functools.partial(plain.__getitem__, slice(row, row + WINDOW)),
                         quick=quick, budget=1e-6)
        items = [first]
        validate = compare("Ring.validate", functools.partial(ring.validate, first),
                           "list.count(x), a bare one-argument method call",
                           functools.partial(items.count, first), quick=quick, budget=100e-9)
        return [window, validate]
    finally:
        ring.close()
