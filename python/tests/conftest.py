"""Shared fixtures for the Python package's tests."""
import os
import sys

import pytest

# Tests run from CTest with PYTHONPATH set to <build>/python; running pytest by
# hand from a build directory works the same.
build = os.environ.get("STASH_BUILD_DIR")
if build and os.path.join(build, "python") not in sys.path:
    sys.path.insert(0, os.path.join(build, "python"))


@pytest.fixture
def under_asan():
    """True when the tests run with AddressSanitizer preloaded (slow forks)."""
    return bool(os.environ.get("STASH_UNDER_ASAN"))
