"""stash: store and move scientific data.

A Python package over the stash C library: memory files, NumPy's NPY files,
nengo-compatible cache objects, a content-keyed result store and a shared
ring of samples, with zero-copy NumPy views wherever the data sits in memory.
See docs/python.md for the tour.
"""

from ._stash import *  # noqa: F401,F403  (the exception classes and the C types)
from ._stash import __version__  # noqa: F401
from . import npy, nco  # noqa: F401
from ._stash import Ring  # noqa: F401,E402
from . import _memfile  # noqa: F401,E402  (MemFile.open: the io layers over its handles)
from .store import Store, memoize, content_key  # noqa: F401,E402
from ._stash import Relay  # noqa: F401,E402  (a ring followed across machines over ZeroMQ)
