"""Every status is an exception a Python user can catch by its builtin."""
import errno
import io
import pickle

import pytest

import stash


def test_version():
    assert stash.__version__.count(".") == 2


@pytest.mark.parametrize("name, builtin", [
    ("EndOfData", EOFError), ("InvalidArgument", ValueError), ("Closed", ValueError),
    ("NotReadable", io.UnsupportedOperation), ("NotWritable", io.UnsupportedOperation),
    ("OutOfRange", ValueError), ("NotFound", KeyError), ("Timeout", TimeoutError),
    ("UnsupportedDtype", ValueError), ("ShapeMismatch", ValueError),
    ("Unsafe", pickle.UnpicklingError), ("Overwritten", IndexError),
    ("NotYetWritten", IndexError), ("Busy", BlockingIOError), ("NotAFile", OSError),
])
def test_classes_inherit_their_builtin(name, builtin):
    cls = getattr(stash, name)
    assert issubclass(cls, stash.StashError)
    assert issubclass(cls, builtin)
    assert cls.__module__ == "stash"
