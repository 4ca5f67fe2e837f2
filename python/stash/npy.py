"""NumPy's NPY files: save, load, map and inspect.

    stash.npy.save(path, array, durable=False)   # the bytes numpy.save writes
    stash.npy.load(path) -> ndarray              # a writable copy, as numpy.load
    stash.npy.map(path) -> ndarray               # read-only, zero copy
    stash.npy.info(path) -> NpyInfo              # the header alone

Paths are str, bytes or os.PathLike and are used as given (numpy.save adds
".npy" to a name without it; stash does not). Errors are stash's exceptions:
stash.Corrupt for a file that is not NPY, stash.Truncated for one cut short,
stash.UnsupportedDtype for object, string or structured arrays,
stash.OutOfRange for a shape too large to exist, FileNotFoundError and the
other OSError subclasses from the system.
"""
from typing import NamedTuple, Tuple

from . import _stash

__all__ = ["save", "load", "map", "info", "NpyInfo"]


def save(path, array, durable: bool = False) -> None:
    """Writes array to path, byte for byte as numpy.save would.

    array is any C- or Fortran-contiguous buffer of a numeric type (bool,
    int8..uint64, float16..float64, complex64, complex128, either byte
    order); a non-contiguous one raises BufferError (pass
    numpy.ascontiguousarray(x)). The file is written beside path and renamed
    over it, so readers (and maps) see the old file or the new one, never a
    part; durable=True also fsyncs the file and its directory.
    """
    _stash._npy_save(path, array, durable)


def load(path):
    """Reads the whole file into a new writable array, as numpy.load does.

    The array has the file's byte order and memory order. The data is read
    with read(2), so a file another program truncates meanwhile raises
    stash.Truncated rather than a signal.
    """
    return _stash._npy_load(path)


def map(path):  # noqa: A001  (shadows the builtin inside this module only)
    """A read-only array over the file's data, mapped, with zero copies.

    The array keeps the mapping alive by itself (its base is a stash View):
    it stays valid after every other reference to the file is gone.
    stash.npy.save replaces files by renaming, which leaves existing maps
    intact; a program that truncates the file in place (cp over it) makes
    reading the lost pages kill the process with SIGBUS: use load for files
    others rewrite.
    """
    return _stash._npy_map(path)


class NpyInfo(NamedTuple):
    """What an NPY header says, without reading the data."""
    shape: Tuple[int, ...]
    dtype: object             # a numpy.dtype, e.g. dtype('<f8')
    fortran_order: bool
    version: Tuple[int, int]  # (1, 0), (2, 0) or (3, 0)
    data_offset: int          # bytes from the file's start to the data: the header's size
    data_bytes: int           # the data's size in bytes


def info(path) -> NpyInfo:
    """Reads the header of the NPY file at path and checks the data is all there."""
    return NpyInfo(*_stash._npy_info(path))
