"""stash.Store over redis:// and redis+unix:// URIs, on a redis-server this test starts."""
import os
import shutil
import signal
import subprocess
import tempfile
import time

import numpy as np
import pytest

import stash

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None,
                                reason="needs redis-server (scripts/setup-deps)")


@pytest.fixture
def server(tmp_path):
    """A redis-server on a Unix socket, killed by pid at the end. The socket lives in a short
    directory of its own: a socket's path holds at most 107 bytes, and tmp_path under a
    build tree's TMPDIR in a deep checkout is longer."""
    sockets = tempfile.mkdtemp(prefix="stash-redis-", dir="/tmp")
    sock = os.path.join(sockets, "redis.sock")
    proc = subprocess.Popen(
        ["redis-server", "--port", "0", "--unixsocket", str(sock), "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path), "--loglevel", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                stash.Store(f"redis+unix://{sock}").close()
                break
            except stash.Unavailable:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        yield proc, f"redis+unix://{sock}"
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)
            proc.kill()
            proc.wait()
        shutil.rmtree(sockets, ignore_errors=True)


def test_values_round_trip_and_list(server):
    _, uri = server
    store = stash.Store(uri + "?prefix=py:")
    values = {"a": np.arange(12, dtype=">i4").reshape(3, 4), "b": {"x": [1, "two"]},
              "big": np.arange(3 << 20, dtype=np.float64)}  # 24 MiB: three chunks
    for key, value in values.items():
        store[key] = value
    assert sorted(store) == ["a", "b", "big"]
    assert np.array_equal(store["a"], values["a"]) and store["a"].dtype == values["a"].dtype
    assert store["b"] == values["b"]
    assert np.array_equal(store["big"], values["big"])
    del store["a"]
    assert "a" not in store
    with pytest.raises(KeyError):
        store["a"]
    store.close()


def test_a_paused_server_raises_unavailable_a_connection_error(server):
    proc, uri = server
    store = stash.Store(uri + "?timeout_ms=300")
    store["k"] = 1
    os.kill(proc.pid, signal.SIGSTOP)
    try:
        with pytest.raises(stash.Unavailable) as caught:
            store["k"]
        assert isinstance(caught.value, ConnectionError)
    finally:
        os.kill(proc.pid, signal.SIGCONT)
    assert store["k"] == 1
    store.close()


def test_memoize_still_returns_when_the_server_is_gone(server):
    proc, uri = server
    store = stash.Store(uri + "?timeout_ms=300")
    calls = []

    @store.memoize
    def double(x):
        calls.append(x)
        return 2 * x

    assert double(4) == 8 and double(4) == 8
    assert calls == [4]
    proc.kill()
    proc.wait()
    assert double(5) == 10  # unavailable: a miss, computed and returned, not stored
    assert calls == [4, 5]
    store.close()
