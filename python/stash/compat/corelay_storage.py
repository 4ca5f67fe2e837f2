"""corelay.io.storage on stash: change the import, keep the code.

    from stash.compat.corelay_storage import HDF5Storage, PickleStorage, NoStorage
    # was: from corelay.io.storage import HDF5Storage, PickleStorage, NoStorage
    from stash.compat.corelay_storage import ext_hash   # was: from corelay.io.hashing import ...

    with HDF5Storage("results.h5", mode="a", data_key="attributions") as s:
        s.write(attributions)                  # or s["attributions"] = attributions
        s.at(data_key="labels").write(labels)  # a copy of s with another key
        assert "labels" in s and s.read().shape == attributions.shape

The classes, methods, defaults, modes, exceptions and messages are
corelay's: DataStorageBase, HDF5Storage, PickleStorage,
NoStorage, HashedHDF5, NoDataSource, NoDataTarget, StringInfo, Storable,
and corelay.io.hashing's ext_hash, Hasher, numpy_id, persistent_id,
Tensor and TensorPlaceholder. HDF5Storage is stash's hdf5: store and
PickleStorage its pickle: store (docs/store.md), which write and read the
files corelay writes and reads: an HDF5Storage file is corelay's layout
for h5py, a PickleStorage file corelay's record after record. HDF5Storage
reads back as corelay does: groups as collections.OrderedDict with
decimal names as int keys, scalars as NumPy scalars (numpy.int64,
numpy.float64, numpy.bool_, numpy.complex128), strings as str. HashedHDF5
works on the h5py Group it is given, as corelay's does, in corelay's layout
and with corelay's hash (MetroHash128 of a pickle), so it finds what
corelay wrote.

What differs, each on purpose:

- A write replaces the value under the key. corelay's require_dataset
  silently keeps the old value when the new one has the same shape and
  dtype (and raises TypeError when not), and a dict written over a dict
  keeps the old members the new one does not name.
- Tuples come back as tuples, in order, and lists as lists. corelay
  writes a tuple as a group of members "0", "1", ... and reads it back as
  an OrderedDict with int keys in name order (0, 1, 10, 11, 2, ...); a
  file corelay wrote still reads that way, as it has no mark of a tuple.
- Dicts come back in the order they were written (corelay: name order).
- None, lists, bytes, nested dicts and empty dicts and tuples are stored
  (corelay raises TypeError or ValueError, or writes nothing for empty
  ones). A value that cannot be stored raises before anything is written
  (corelay may leave half a group behind).
- at() gives an independent copy: its data_key is its own, a later at()
  on it changes nothing else, and at(data_key=...) works on a storage
  given data_key at construction. corelay's copies share one container
  of parameters, so a.at(data_key="x").at(data_key="y") changes the first
  copy too, and at() has no effect on a data_key given to the
  constructor. As in corelay, copies share the file: closing one closes
  them all.
- PickleStorage in "a" mode sees every record of the file, before and
  after its own writes, and so does keys() (corelay caches records and
  loads the file only while its cache is empty; in "a" mode it cannot
  read at all, so earlier records are invisible). Every handle sees what
  other handles and processes appended.
- PickleStorage reads records with stash's safe pickle reader: plain
  values and NumPy arrays and scalars, nothing imported or called. A
  record that would import or call (an object of a class) raises
  stash.Unsafe, a pickle.UnpicklingError, unless the storage was made
  with allow_unsafe_pickle=True: then Python's pickle reads the file, as
  corelay does. It writes the values stash holds (None, bool, int, float,
  complex, str, bytes, list, tuple, dict with str keys, NumPy arrays and
  scalars, NumPy scalars as 0-d arrays); anything else raises TypeError
  and writes nothing (corelay pickles anything, and updates its cache
  even when the write fails).
- Keys follow stash's rules (docs/store.md, "Keys and URIs"): 1 to 1024
  bytes of UTF-8, "/"-separated parts that are not empty, "." or "..".
  exists() and `in` are False for a key that breaks them; read and write
  raise stash.InvalidArgument, a ValueError.
- HDF5Storage opens its file for each call, under stash's lock, and
  closes it, so storages of one file can be open at once, in one process
  or several, and each call sees the others' writes. corelay's h5py.File
  holds the file open, and HDF5's file lock, from open to close.
- io is the stash.Store behind the storage (corelay's is the h5py.File
  or the file object), and PickleStorage.data reads every key's value
  from the file when asked (corelay's is the cache it keeps).
- A storage opened "r" refuses writes with stash.NotWritable, which is
  both corelay's ValueError (h5py) and io.UnsupportedOperation (pickle),
  and remembers nothing of them.
- Arrays read back are the caller's own, writable copies (as from h5py);
  NumPy scalars, strings and bytes are whole values.
- An ASCII (not UTF-8) string dataset written by another program reads
  back as bytes; corelay decodes it to str. corelay and stash write UTF-8.
- A decimal name in a group reads back as an int key only when it is
  ASCII digits ("²" stays a str; corelay raises ValueError).
- HashedHDF5.write of an input and meta written before replaces the
  entry (corelay raises OSError, name already exists); a value it cannot
  store (a leaf that is not an array, meta that JSON cannot encode) raises
  TypeError before anything is written (corelay writes the data first);
  the entry is written under a temporary name and moved into place, so a
  failure leaves the old entry. HashedHDF5.read orders a tuple's members by
  number, so tuples of over 1000 items keep their order.
- ext_hash is corelay's, bit for bit (MetroHash128 of the pickle at
  Python's default protocol). Where the metrohash module is not installed,
  MetroHash128 runs in pure Python, at some tens of MB/s (a 1 MiB array
  in about 50 ms): fine for keys, slow for hashing large arrays.
"""
import abc
import collections.abc
import copy as _copy
import importlib.util
import json
import os
import pickle
import struct
import sys
from collections import OrderedDict
from typing import Any, NamedTuple, Protocol

import numpy as np

import stash

__all__ = ["DataStorageBase", "HDF5Storage", "PickleStorage", "NoStorage", "HashedHDF5",
           "NoDataSource", "NoDataTarget", "StringInfo", "Storable", "ext_hash", "Hasher",
           "MetroHash128", "numpy_id", "persistent_id", "TensorPlaceholder"]


class NoDataSource(Exception):
    """Raised when there is no data to read (a missing key, NoStorage)."""

    def __init__(self, message: str = "No Data Source available.") -> None:
        super().__init__(message)


class NoDataTarget(Exception):
    """Raised when there is nowhere to write (NoStorage)."""

    def __init__(self) -> None:
        super().__init__("No Data Target available.")


class StringInfo(NamedTuple):
    """What h5py.check_string_dtype returns: the encoding and length of a string type."""

    encoding: str
    length: int


class Storable(Protocol):
    """An object with corelay's read(data_in, meta) and write(data_out, data_in, meta)."""

    def read(self, data_in: Any, meta: Any) -> Any:
        ...

    def write(self, data_out: Any, data_in: Any, meta: Any) -> None:
        ...


_UNSET_KEY = ('"Param" object "data_key" has been accessed without being set and no default '
              'value is available.')


class DataStorageBase(abc.ABC):
    """A key-value store: read, write, exists and keys of the value under data_key.

    io is the open stash.Store (None for NoStorage); copies made by at()
    share it. s[key], s[key] = value and key in s act on s.at(data_key=key).
    """

    _params: tuple = ()    # the names at() accepts, each a str

    def __init__(self, **kwargs: Any) -> None:
        self.io = None
        self._set_params(kwargs, "__init__")

    def _set_params(self, kwargs, method):
        for name, value in kwargs.items():
            if name not in self._params:
                raise TypeError(f"'{name}' is an invalid keyword argument for "
                                f"'{type(self).__name__}.{method}'.")
            if not isinstance(value, str):
                raise TypeError(f"'{name}' must be a str, not {type(value).__name__}")
        for name, value in kwargs.items():
            setattr(self, "_" + name, value)

    @property
    def data_key(self) -> str:
        key = getattr(self, "_data_key", None)
        if key is None:
            raise TypeError(_UNSET_KEY)
        return key

    def at(self, **kwargs: Any) -> "DataStorageBase":
        """A copy of this storage with the given parameters (data_key=...) set.

        The copy shares the open file; its parameters are its own.
        """
        clone = _copy.copy(self)
        clone._set_params(kwargs, "at")
        return clone

    @abc.abstractmethod
    def read(self, data_in: Any = None, meta: Any = None) -> Any:
        """The value under data_key; NoDataSource if there is none."""

    @abc.abstractmethod
    def write(self, data_out: Any, data_in: Any = None, meta: Any = None) -> None:
        """Stores data_out under data_key, replacing what was there."""

    @abc.abstractmethod
    def exists(self) -> bool:
        """True if data_key holds a value."""

    @abc.abstractmethod
    def keys(self) -> collections.abc.KeysView:
        """The keys of the storage."""

    def __enter__(self) -> "DataStorageBase":
        return self

    def __exit__(self, exception_type, exception, traceback) -> None:
        self.close()

    @staticmethod
    def _check_key(key):
        if not isinstance(key, str):
            raise TypeError(f'The specified key "{key}" is not a string.')

    def __getitem__(self, key: str) -> Any:
        self._check_key(key)
        return self.at(data_key=key).read()

    def __setitem__(self, key: str, value: Any) -> None:
        self._check_key(key)
        self.at(data_key=key).write(value)

    def __contains__(self, key: str) -> bool:
        self._check_key(key)
        return self.at(data_key=key).exists()

    def __bool__(self) -> bool:
        return bool(self.io)

    def close(self) -> None:
        """Closes the file, for this storage and every copy at() made of it."""
        if self.io is not None:
            self.io.close()


def _check_mode(mode):
    if mode not in ("w", "r", "a"):
        raise ValueError('Mode should be set to "w", "r", or "a".')


def _open_store(scheme, path, mode, **options):
    """The stash.Store of path; FileNotFoundError naming path if "r" finds none."""
    try:
        return stash.Store(f"{scheme}:{path}", read_only=mode == "r", **options)
    except FileNotFoundError as error:
        raise FileNotFoundError(error.errno, error.strerror, path) from None


class _KeyedStorage(DataStorageBase):
    """What HDF5Storage and PickleStorage share: a stash.Store read and written under data_key."""

    _params = ("data_key",)

    def _get(self):
        key = self.data_key
        try:
            return self.io[key]
        except stash.NotFound:
            raise NoDataSource(f"Key: '{key}' does not exist.") from None

    def write(self, data_out: Any, data_in: Any = None, meta: Any = None) -> None:
        """Stores data_out under data_key, replacing what was there (data_in and meta are not used)."""
        self.io[self.data_key] = data_out

    def exists(self) -> bool:
        """True if data_key holds a value (False for a key stash refuses)."""
        try:
            return self.data_key in self.io
        except (stash.InvalidArgument, stash.LimitExceeded):
            return False

    def __repr__(self):
        return (f"<{type(self).__name__} {self.io.uri!r} "
                f"data_key={getattr(self, '_data_key', None)!r}>")


class HDF5Storage(_KeyedStorage):
    """HDF5Storage(path, mode="r", data_key=None): values in one HDF5 file, in corelay's layout.

    mode "r" reads an existing file, "w" makes a new one (replacing any),
    "a" opens or creates one to read and write. Each call opens the file
    under its lock and closes it (docs/store.md, "hdf5:"), so storages of
    one file, in one process or several, can be open at once.
    """

    def __init__(self, path, mode: str = "r", data_key: str = None, **kwargs: Any) -> None:
        _check_mode(mode)
        if data_key is not None:
            kwargs["data_key"] = data_key
        super().__init__(**kwargs)
        path = os.fspath(path)
        if mode == "w":
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        self.io = _open_store("hdf5", path, mode)

    def read(self, data_in: Any = None, meta: Any = None) -> Any:
        """The value under data_key, as corelay reads it; NoDataSource if there is none."""
        return _as_corelay(self._get())

    def keys(self) -> collections.abc.KeysView:
        """The names at the top of the file, in name order, as h5py lists them."""
        return dict.fromkeys(sorted({key.split("/", 1)[0] for key in self.io})).keys()


def _group_key(name):
    return int(name) if name.isascii() and name.isdigit() else name


def _as_corelay(value):
    """A value read from hdf5: as corelay's reader gives it (see the module's docstring)."""
    if isinstance(value, dict):
        return OrderedDict((_group_key(k), _as_corelay(v)) for k, v in value.items())
    if isinstance(value, tuple):
        return tuple(_as_corelay(v) for v in value)
    if isinstance(value, list):
        return [_as_corelay(v) for v in value]
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return value[()]
        return value if value.flags.writeable else np.array(value)
    if isinstance(value, bool):
        return np.bool_(value)
    if isinstance(value, int):
        return np.int64(value)
    if isinstance(value, float):
        return np.float64(value)
    return value


class PickleStorage(_KeyedStorage):
    """PickleStorage(path, mode="r", data_key=None, *, allow_unsafe_pickle=False)

    Values in one file of pickled records {"data": value, "key": key}, as
    corelay's PickleStorage writes them; keys are whole strings ("a/b" is
    one key). mode "r" reads an existing file, "w" empties or creates it,
    "a" opens or creates it to read and append.
    """

    def __init__(self, path, mode: str = "r", data_key: str = None, *,
                 allow_unsafe_pickle: bool = False, **kwargs: Any) -> None:
        _check_mode(mode)
        if data_key is not None:
            kwargs["data_key"] = data_key
        super().__init__(**kwargs)
        self._path = os.fspath(path)
        self._allow_unsafe_pickle = allow_unsafe_pickle
        if mode == "w":
            with open(self._path, "wb"):
                pass
        self.io = _open_store("pickle", self._path, mode)

    def read(self, data_in: Any = None, meta: Any = None) -> Any:
        """The value of data_key's last record; NoDataSource if there is none."""
        try:
            value = self._get()
        except stash.Unsafe:
            if not self._allow_unsafe_pickle:
                raise
            return self._read_unsafe()
        return _own_arrays(value)

    def _read_unsafe(self):
        """corelay's reading: Python's pickle loads every record; the last of the key wins."""
        found, value = False, None
        with open(self._path, "rb") as file:
            while True:
                try:
                    record = pickle.load(file)
                except EOFError:
                    break
                if record.get("key") == self.data_key:
                    found, value = True, record.get("data")
        if not found:
            raise NoDataSource(f"Key: '{self.data_key}' does not exist.")
        return value

    def keys(self) -> collections.abc.KeysView:
        """Every key of the file, in the order each was first written."""
        return dict.fromkeys(self.io).keys()

    @property
    def data(self) -> dict:
        """Every key's value, read from the file now (corelay's is the cache it keeps)."""
        return {key: self.at(data_key=key).read() for key in self.keys()}


def _own_arrays(value):
    """value with its arrays copied into writable arrays of the caller's own."""
    if isinstance(value, dict):
        return {k: _own_arrays(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_own_arrays(v) for v in value)
    if isinstance(value, list):
        return [_own_arrays(v) for v in value]
    if isinstance(value, np.ndarray) and not value.flags.writeable:
        return np.array(value)
    return value


class NoStorage(DataStorageBase):
    """A storage that holds nothing: false, reads raise NoDataSource, writes NoDataTarget."""

    def __bool__(self) -> bool:
        return False

    def read(self, data_in: Any = None, meta: Any = None) -> Any:
        raise NoDataSource()

    def write(self, data_out: Any, data_in: Any = None, meta: Any = None) -> None:
        raise NoDataTarget()

    def exists(self) -> bool:
        raise NoDataSource()

    def keys(self) -> collections.abc.KeysView:
        raise NoDataSource()


# ---- HashedHDF5: results under the hash of their inputs, in an h5py group ------------------

class HashedHDF5:
    """HashedHDF5(h5group): data_out under ext_hash((data_in, meta)) in an h5py Group.

    The group named by the hash holds "data" (an array, or a group of
    members "000", "001", ... for a tuple, nested for nested tuples),
    and "meta", "input" and "output" as JSON strings, as corelay writes them.
    """

    def __init__(self, h5group) -> None:
        self.base = h5group

    def write(self, data_out: Any, data_in: Any, meta: Any) -> None:
        """Stores data_out (an array or a tuple tree of arrays), replacing an earlier entry."""
        _check_array_tree(data_out)
        texts = {"meta": json.dumps(meta), "input": json.dumps(_hash_tree(data_in)),
                 "output": json.dumps(_hash_tree(data_out))}
        key = ext_hash((data_in, meta))
        import h5py  # corelay's HashedHDF5 is for h5py groups; only it needs h5py

        temp = f"{key}.stash-put-{os.getpid()}"
        if temp in self.base:
            del self.base[temp]
        group = self.base.create_group(temp)
        _write_array_tree(group, "data", data_out)
        for name, text in texts.items():
            group.create_dataset(name, data=text, dtype=h5py.string_dtype("utf-8"))
        if key in self.base:
            del self.base[key]
        self.base.move(temp, key)

    def read(self, data_in: Any, meta: Any) -> Any:
        """The data_out written for (data_in, meta); NoDataSource if there is none."""
        key = ext_hash((data_in, meta))
        if key not in self.base:
            raise NoDataSource()
        return _read_array_tree(self.base[key]["data"])


def _check_array_tree(value):
    if isinstance(value, tuple):
        for item in value:
            _check_array_tree(item)
    elif not isinstance(value, np.ndarray):
        raise TypeError(f"HashedHDF5 stores arrays and tuples of them, not "
                        f"{type(value).__name__}")


def _write_array_tree(group, name, value):
    if isinstance(value, tuple):
        member = group.create_group(name)
        for index, item in enumerate(value):
            _write_array_tree(member, f"{index:03d}", item)
    else:
        group.create_dataset(name, data=value)


def _read_array_tree(node):
    if hasattr(node, "keys"):
        names = sorted(node.keys(), key=lambda n: (not n.isdigit(), int(n) if n.isdigit() else 0, n))
        return tuple(_read_array_tree(node[n]) for n in names)
    return node[()]


def _hash_tree(value):
    """corelay's tree of hashes: tuples become lists, every other value its ext_hash."""
    if isinstance(value, tuple):
        return [_hash_tree(item) for item in value]
    return ext_hash(value)


# ---- corelay.io.hashing: ext_hash ----------------------------------------------------------

_MASK = (1 << 64) - 1
_K0, _K1, _K2, _K3 = 0xC83A91E1, 0x8648DBDB, 0x7BDEC03B, 0x2F5870A5


def _rotr(value, bits):
    return ((value >> bits) | (value << (64 - bits))) & _MASK


class MetroHash128:
    """MetroHash128 (J. Andrew Rogers' 128-bit hash), seed 0 unless given; streaming.

    update(data) adds bytes; hexdigest() is the 16 bytes of the hash as
    32 lowercase hex digits, in the order metrohash-python prints them.
    """

    def __init__(self, seed: int = 0) -> None:
        self._v = [((seed - _K0) * _K3) & _MASK, ((seed + _K1) * _K2) & _MASK,
                   ((seed + _K0) * _K2) & _MASK, ((seed - _K1) * _K3) & _MASK]
        self._pending = bytearray()
        self._total = 0

    def update(self, data) -> None:
        data = memoryview(data).cast("B")
        self._total += len(data)
        if self._pending:
            take = min(len(data), 32 - len(self._pending))
            self._pending += data[:take]
            data = data[take:]
            if len(self._pending) < 32:
                return
            self._blocks(bytes(self._pending))
            self._pending.clear()
        whole = len(data) - len(data) % 32
        if whole:
            self._blocks(data[:whole])
        self._pending += data[whole:]

    def _blocks(self, data):
        v0, v1, v2, v3 = self._v
        m = _MASK
        for w0, w1, w2, w3 in struct.iter_unpack("<4Q", data):
            v0 = (v0 + w0 * _K0) & m
            v0 = (((v0 >> 29) | (v0 << 35)) + v2) & m
            v1 = (v1 + w1 * _K1) & m
            v1 = (((v1 >> 29) | (v1 << 35)) + v3) & m
            v2 = (v2 + w2 * _K2) & m
            v2 = (((v2 >> 29) | (v2 << 35)) + v0) & m
            v3 = (v3 + w3 * _K3) & m
            v3 = (((v3 >> 29) | (v3 << 35)) + v1) & m
        self._v = [v0, v1, v2, v3]

    def digest(self) -> bytes:
        v0, v1, v2, v3 = self._v
        m = _MASK
        if self._total >= 32:
            v2 ^= (_rotr((((v0 + v3) * _K0) + v1) & m, 21) * _K1) & m
            v3 ^= (_rotr((((v1 + v2) * _K1) + v0) & m, 21) * _K0) & m
            v0 ^= (_rotr((((v0 + v2) * _K0) + v3) & m, 21) * _K1) & m
            v1 ^= (_rotr((((v1 + v3) * _K1) + v2) & m, 21) * _K0) & m
        tail = bytes(self._pending)
        at = 0
        if len(tail) - at >= 16:
            w0, w1 = struct.unpack_from("<2Q", tail, at)
            at += 16
            v0 = (_rotr((v0 + w0 * _K2) & m, 33) * _K3) & m
            v1 = (_rotr((v1 + w1 * _K2) & m, 33) * _K3) & m
            v0 ^= (_rotr((v0 * _K2 + v1) & m, 45) * _K1) & m
            v1 ^= (_rotr((v1 * _K3 + v0) & m, 45) * _K0) & m
        if len(tail) - at >= 8:
            (w,) = struct.unpack_from("<Q", tail, at)
            at += 8
            v0 = (_rotr((v0 + w * _K2) & m, 33) * _K3) & m
            v0 ^= (_rotr((v0 * _K2 + v1) & m, 27) * _K1) & m
        if len(tail) - at >= 4:
            (w,) = struct.unpack_from("<I", tail, at)
            at += 4
            v1 = (_rotr((v1 + w * _K2) & m, 33) * _K3) & m
            v1 ^= (_rotr((v1 * _K3 + v0) & m, 46) * _K0) & m
        if len(tail) - at >= 2:
            (w,) = struct.unpack_from("<H", tail, at)
            at += 2
            v0 = (_rotr((v0 + w * _K2) & m, 33) * _K3) & m
            v0 ^= (_rotr((v0 * _K2 + v1) & m, 22) * _K1) & m
        if len(tail) - at >= 1:
            w = tail[at]
            v1 = (_rotr((v1 + w * _K2) & m, 33) * _K3) & m
            v1 ^= (_rotr((v1 * _K3 + v0) & m, 58) * _K0) & m
        v0 = (v0 + _rotr((v0 * _K0 + v1) & m, 13)) & m
        v1 = (v1 + _rotr((v1 * _K1 + v0) & m, 37)) & m
        v0 = (v0 + _rotr((v0 * _K2 + v1) & m, 13)) & m
        v1 = (v1 + _rotr((v1 * _K3 + v0) & m, 37)) & m
        return struct.pack("<2Q", v0, v1)

    def hexdigest(self) -> str:
        return self.digest().hex()


def _metrohash128():
    """The metrohash module's MetroHash128 where it is installed (C, fast), else ours."""
    if importlib.util.find_spec("metrohash") is not None:
        import metrohash
        return metrohash.MetroHash128()
    return MetroHash128()


class Hasher:
    """A file that hashes what is written to it (MetroHash128): pickle.dump into it."""

    def __init__(self) -> None:
        self.hash = _metrohash128()

    def write(self, data) -> int:
        self.hash.update(data)
        return len(memoryview(data).cast("B"))

    def digest(self) -> str:
        """The hash so far, as 32 lowercase hex digits."""
        return self.hash.hexdigest()

    hexdigest = digest


class TensorPlaceholder:
    """Stands in for torch.Tensor where torch is not installed."""

    def numpy(self) -> np.ndarray:
        raise NotImplementedError("TensorPlaceholder is not a torch.Tensor: install torch.")


def __getattr__(name):
    # Tensor is torch's where torch is installed, imported only when asked for.
    if name == "Tensor":
        if importlib.util.find_spec("torch") is None:
            return TensorPlaceholder
        import torch
        return torch.Tensor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def numpy_id(array: np.ndarray) -> tuple:
    """What ext_hash hashes for an array: dtype name, shape, mantissas rounded to 2
    decimals and exponents (numpy.frexp), as bytes."""
    mantissa, exponent = np.frexp(array)
    return (array.dtype.name, array.shape, bytes(np.round(mantissa, 2)), bytes(exponent))


def _is_tensor(obj):
    if isinstance(obj, TensorPlaceholder):
        return True
    torch = sys.modules.get("torch")  # a real tensor exists only once torch is imported
    return torch is not None and isinstance(obj, torch.Tensor)


def persistent_id(obj: Any):
    """numpy_id of an array or tensor, None for anything else (pickled as usual)."""
    if isinstance(obj, np.ndarray):
        return numpy_id(obj)
    if _is_tensor(obj):
        return numpy_id(obj.numpy())
    return None


class _HashPickler(pickle.Pickler):
    def persistent_id(self, obj):
        return persistent_id(obj)


def ext_hash(obj: Any) -> str:
    """corelay's hash of obj: MetroHash128 of its pickle at Python's default protocol,
    arrays replaced by numpy_id; 32 lowercase hex digits."""
    hasher = Hasher()
    _HashPickler(hasher, protocol=pickle.DEFAULT_PROTOCOL).dump(obj)
    return hasher.digest()
