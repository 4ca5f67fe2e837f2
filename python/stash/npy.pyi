# Type stubs for stash.npy: NumPy's NPY files.
import os
from typing import NamedTuple, Tuple, Union

import numpy as np
from numpy.typing import ArrayLike

_Path = Union[str, bytes, os.PathLike]

class NpyInfo(NamedTuple):
    shape: Tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    version: Tuple[int, int]
    data_offset: int
    data_bytes: int

def save(path: _Path, array: ArrayLike, durable: bool = ...) -> None: ...
def load(path: _Path) -> np.ndarray: ...
def map(path: _Path) -> np.ndarray: ...
def info(path: _Path) -> NpyInfo: ...
