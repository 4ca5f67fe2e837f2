"""The result store: stash.Store, a MutableMapping over a dir:, hdf5: or
none: store, and memoize, which caches a function's results in one.

The work is in C (stash._stash._Store and _Memoized, python/src/store.c):
this module adds the Mapping methods and reads a function's signature once,
so a memoized call binds its arguments in C (docs/python.md, "The result
store").
"""
import collections.abc
import functools
import inspect

from . import _stash

__all__ = ["Store", "memoize", "content_key"]

content_key = _stash.content_key


class Store(_stash._Store, collections.abc.MutableMapping):
    """Store(uri, *, max_bytes=0, read_only=False, durable=False, exclusive=False, copy=False)

    Values under str keys in the store uri names: "dir:PATH" (a bare path
    means dir:), "hdf5:PATH", "pickle:PATH" or "none:". Values are trees of
    None, bool, int, float, complex, str, bytes, list, tuple, dict with str
    keys, NumPy arrays and scalars; from dir: arrays come back read-only,
    viewing the entry in place, from the other backends (and dir: with
    copy=True) as writable copies. A missing key raises stash.NotFound, a
    KeyError.
    """

    __slots__ = ()

    def memoize(self, func=None, *, name=None, version=None, key=None):
        """Caches func's results in this store under the content key of its
        arguments, its qualified name (or name) and version. Usable bare
        (@s.memoize) or with arguments (@s.memoize(version=2))."""
        return _decorator(self, None, func, name, version, key)


def memoize(uri, func=None, *, name=None, version=None, key=None, max_bytes=0, read_only=False,
            durable=False, exclusive=False, copy=False):
    """Store(uri, ...).memoize(func, ...) without a Store in hand: the store
    is opened once, at the first call."""
    opener = functools.partial(Store, uri, max_bytes=max_bytes, read_only=read_only,
                               durable=durable, exclusive=exclusive, copy=copy)
    return _decorator(None, opener, func, name, version, key)


def _decorator(store, opener, func, name, version, key):
    if func is None:
        return lambda f: _memoized(store, opener, f, name, version, key)
    return _memoized(store, opener, func, name, version, key)


def _memoized(store, opener, func, name, version, key):
    if not callable(func):
        raise TypeError(f"memoize: {func!r} is not callable")
    if key is not None and not callable(key):
        raise TypeError(f"memoize: key={key!r} is not callable")
    if name is None:
        name = f"{func.__module__}.{func.__qualname__}"
    signature = inspect.signature(func)
    params = list(signature.parameters.values())

    def bind(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return bound.arguments

    wrapper = _stash._Memoized(
        store, opener, func, key, bind,
        tuple(p.name for p in params), tuple(int(p.kind) for p in params),
        tuple(p.default for p in params), inspect.Parameter.empty,
        {"function": name, "version": version})
    functools.update_wrapper(wrapper, func)
    return wrapper
