"""Shared fixtures for the Python package's tests."""
import os
import subprocess
import sys
import textwrap
import threading

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


def _python_child(code, *args, **kwargs):
    """A child Python running code (dedented) with argv args and this package importable;
    env adds variables to this process's."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p),
               **kwargs.pop("env", {}))
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
                            env=env, **kwargs)


@pytest.fixture
def python_child():
    """Starts a child Python (subprocess.Popen keywords pass through): for crashes,
    hangs, signals and processes that share a resource with the test."""
    return _python_child


@pytest.fixture
def run_threads():
    """Runs each callable given in a thread of its own, waits for them all, and raises
    the first exception any of them raised, so a failed assert in a thread fails the test."""
    def run(*targets, timeout=120):
        errors = []

        def guarded(target):
            try:
                target()
            except BaseException as error:  # noqa: BLE001  (raised below)
                errors.append(error)

        threads = [threading.Thread(target=guarded, args=(target,)) for target in targets]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout)
        assert not any(thread.is_alive() for thread in threads), "a thread hangs"
        if errors:
            raise errors[0]
    return run
