"""stash.Store, stash.memoize and stash.content_key: the result store from Python."""
import collections.abc
import functools
import gc
import io
import json
import os
import pathlib
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import stash

ROOT = pathlib.Path(__file__).resolve().parents[2]
STASH = pathlib.Path(os.environ.get("STASH_BUILD_DIR", ROOT / "build")) / "stash"

# One of every kind a store holds, each as it comes back from a get.
VALUES = {
    "none": None, "true": True, "int": -(2**63), "float": 2.5, "str": "héllo\u2603",
    "bytes": b"\x00\xff", "list": [1, [2, "x"]], "tuple": (1, (2.5, None)),
    "dict": {"a": {"b": [1, 2]}, "c": ()}, "complex": 1 + 2j,
    "array": np.arange(12, dtype=">i4").reshape(3, 4),
    "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
    "empty": np.zeros((0, 3), dtype="<f4"), "scalar": np.float32(1.5),
    "bool array": np.array([True, False]),
}


def same(a, b):
    """Equal in kind, value, dtype and shape (arrays), recursively."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
                and a.shape == b.shape and np.array_equal(a, b))
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, dict):
        return type(b) is dict and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if complex in (type(a), type(b)):  # a Python complex comes back as numpy.complex128
        return {type(a), type(b)} <= {complex, np.complex128} and a == b
    return type(a) is type(b) and a == b


@pytest.fixture(params=["dir", "hdf5"])
def uri(request, tmp_path):
    return f"dir:{tmp_path / 'store'}" if request.param == "dir" else f"hdf5:{tmp_path / 's.h5'}"


@pytest.fixture
def store(uri):
    with stash.Store(uri) as s:
        yield s


@pytest.fixture
def dir_store(tmp_path):
    with stash.Store(f"dir:{tmp_path / 'store'}") as s:
        yield s


# ---- The mapping ---------------------------------------------------------------------------

def test_store_is_a_mutable_mapping(store):
    assert isinstance(store, collections.abc.MutableMapping)
    assert store and len(store) == 0 and list(store) == []
    store["a"] = 1
    store["run/3"] = [2.5]  # hdf5: lists the deepest keys: a dict here would list "run/3/x"
    assert "a" in store and "run/3" in store and "b" not in store and 1 not in store
    assert sorted(store) == ["a", "run/3"] and len(store) == 2
    assert store["a"] == 1 and store.get("b", 7) == 7
    assert dict(store.items()) == {"a": 1, "run/3": [2.5]}
    store.update(b=2)
    assert store.pop("b") == 2 and store.setdefault("c", 3) == 3
    del store["a"]
    assert "a" not in store
    with pytest.raises(KeyError):
        del store["a"]


def test_put_replaces(store):
    store["k"] = 1
    store["k"] = [2]
    assert store["k"] == [2]


@pytest.mark.parametrize("name", list(VALUES))
def test_every_value_kind_round_trips(store, name):
    store[name.replace(" ", "-")] = VALUES[name]
    assert same(store[name.replace(" ", "-")], VALUES[name])


def test_missing_key_is_not_found_a_key_error(store):
    with pytest.raises(stash.NotFound) as caught:
        store["nothing"]
    assert isinstance(caught.value, KeyError) and "nothing" in str(caught.value)


def test_backend_repr_bool_and_context_manager(uri):
    with stash.Store(uri) as s:
        assert s.backend == uri.split(":")[0] and s.uri == uri and not s.closed
        assert repr(s) == f"<stash.Store {uri!r} ({s.backend})>"
    assert s.closed and not s and repr(s).endswith("(closed)>")
    with pytest.raises(stash.Closed):
        s["a"]
    with pytest.raises(ValueError):
        s["a"] = 1
    s.close()  # twice is fine


def test_bare_path_is_dir(tmp_path):
    with stash.Store(tmp_path / "plain") as s:
        assert s.backend == "dir"
        s["a"] = 1
    assert (tmp_path / "plain" / ".stash-store").exists()


def test_mistyped_scheme_is_refused_and_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(stash.InvalidArgument, match="hdf5:"):
        stash.Store("hdf:x.h5")
    assert list(tmp_path.iterdir()) == []


def test_read_only_refuses_puts(uri):
    with stash.Store(uri) as s:
        s["a"] = 1
    with stash.Store(uri, read_only=True) as s:
        assert s["a"] == 1
        with pytest.raises(stash.NotWritable) as caught:
            s["b"] = 2
        assert isinstance(caught.value, io.UnsupportedOperation)
        with pytest.raises(stash.NotWritable):
            del s["a"]


def test_durable_and_exclusive_open(uri):
    with stash.Store(uri, durable=True, exclusive=True) as s:
        s["a"] = np.arange(3)
        assert list(s["a"]) == [0, 1, 2]


def test_none_holds_nothing():
    with stash.Store("none:") as s:
        assert not s and s.backend == "none"
        assert len(s) == 0 and list(s) == [] and "a" not in s
        with pytest.raises(KeyError) as caught:
            s["a"]
        assert isinstance(caught.value, stash.NoSource)
        with pytest.raises(stash.NoTarget):
            s["a"] = 1
        with pytest.raises(stash.NoTarget):
            s.gc(0)


def test_gc_evicts_least_recently_used(dir_store):
    for i in range(4):
        dir_store[f"k{i}"] = np.zeros(2048)  # 16 KiB each
    dir_store["k0"]  # k0 is now the most recently used
    stats = dir_store.gc(40 * 1024)
    assert stats["entries"] == 4 and stats["evicted_entries"] == 2
    assert "k0" in dir_store and "k3" in dir_store and "k1" not in dir_store


def test_hostile_byte_budgets_are_value_errors(tmp_path):
    # As MemFile's sizes: negative is stash.InvalidArgument, past 2**63 - 1 stash.OutOfRange.
    for bad, error in ((-1, stash.InvalidArgument), (2**64, stash.OutOfRange)):
        with pytest.raises(error) as caught:
            stash.Store(f"dir:{tmp_path}/s", max_bytes=bad)
        assert isinstance(caught.value, ValueError)
        with stash.Store(f"dir:{tmp_path}/s") as s, pytest.raises(error):
            s.gc(bad)
    with pytest.raises(TypeError):
        stash.Store(f"dir:{tmp_path}/s", max_bytes=1.5)


def test_max_bytes_evicts_on_put(tmp_path):
    with stash.Store(f"dir:{tmp_path}/s", max_bytes=64 * 1024) as s:
        for i in range(10):
            s[f"k{i}"] = np.zeros(2048)
        assert len(s) < 10 and "k9" in s


def test_gc_on_hdf5_is_unsupported(tmp_path):
    with stash.Store(f"hdf5:{tmp_path}/s.h5") as s:
        with pytest.raises(stash.Unsupported):
            s.gc(0)


# ---- Keys ----------------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["", "../x", "/a", "a//b", "a/./b", "a/", "tab\there", "nul\0"])
def test_keys_that_break_the_rule_are_value_errors(store, key):
    for call in (lambda: store[key], lambda: store.__setitem__(key, 1),
                 lambda: store.__delitem__(key), lambda: key in store):
        with pytest.raises(stash.InvalidArgument) as caught:
            call()
        assert isinstance(caught.value, ValueError) and "refused" in str(caught.value)


def test_too_long_key_is_limit_exceeded(store):
    with pytest.raises(stash.LimitExceeded) as caught:
        store["k" * 1025] = 1
    assert isinstance(caught.value, ValueError)


def test_keys_are_str(store):
    with pytest.raises(TypeError, match="str"):
        store[b"a"] = 1
    with pytest.raises(TypeError):
        store[1]


def test_surrogate_key_is_a_value_error(store):
    with pytest.raises(ValueError):
        store["\udc80"] = 1


# ---- Zero copy and lifetimes --------------------------------------------------------------

def mapped_file(address):
    """The file mapped at address in this process, or None."""
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split(maxsplit=5)
            low, high = (int(x, 16) for x in fields[0].split("-"))
            if low <= address < high:
                return fields[5].strip() if len(fields) > 5 else None
    return None


def test_dir_get_is_read_only_and_zero_copy(dir_store, tmp_path):
    dir_store["big"] = {"a": np.arange(1 << 16, dtype="<f8")}
    got = dir_store["big"]["a"]
    assert not got.flags.writeable and not got.flags.owndata
    with pytest.raises(ValueError):
        got[0] = 1
    # The array's memory is the entry's file, mapped: no copy was made.
    where = mapped_file(got.__array_interface__["data"][0])
    assert where and where.startswith(str(tmp_path / "store")) and where.endswith("big.nco")
    base = got
    while getattr(base, "base", None) is not None:
        base = base.base
    assert type(base).__name__ in ("View", "memoryview")


def test_put_borrows_the_array(dir_store):
    a = np.arange(1 << 16, dtype="<f8")
    dir_store["a"] = a
    assert a.flags.writeable  # the buffer was only borrowed for the put
    a[0] = 7
    assert dir_store["a"][0] == 0


def test_views_outlive_close_and_delete(tmp_path):
    s = stash.Store(f"dir:{tmp_path}/s")
    s["a"] = np.arange(1 << 16, dtype="<i8")
    got = s["a"]
    del s["a"]
    s.close()
    del s
    gc.collect()
    assert got.sum() == (1 << 16) * ((1 << 16) - 1) // 2


@pytest.mark.parametrize("uri", ["hdf5:{}/s.h5", "pickle:{}/s.pkl", "dir:{}/d"])
def test_gets_that_copy_give_writable_arrays_of_the_callers_own(tmp_path, uri):
    """hdf5:, pickle: and dir: with copy=True copy each get: the arrays are the caller's."""
    copy = uri.startswith("dir:")
    with stash.Store(uri.format(tmp_path), copy=copy) as s:
        s["a"] = {"x": np.arange(10.0)}
        got, again = s["a"]["x"], s["a"]["x"]
        got[3] = -1.0  # no one else sees it: not the store, not the next get
        assert again[3] == 3.0 and s["a"]["x"][3] == 3.0
    assert got.flags.writeable and got[3] == -1.0


# ---- Across implementations -----------------------------------------------------------------

def h5py_json(body, path, *args):
    """What body prints (JSON), run by Debian's python3 in a process of its own with
    h5py.File f open on path; sys.argv holds path and args. Skips without h5py."""
    script = ("import h5py, json, sys\nwith h5py.File(sys.argv[1], 'r') as f:\n" +
              textwrap.indent(textwrap.dedent(body), "    "))
    ran = subprocess.run(["/usr/bin/python3", "-c", script, str(path), *args],
                         capture_output=True, text=True)
    if ran.returncode and "No module named 'h5py'" in ran.stderr:
        pytest.skip("h5py is not installed")
    assert ran.returncode == 0, ran.stderr
    return json.loads(ran.stdout)


def test_hdf5_file_reads_in_h5py(tmp_path):
    path = tmp_path / "s.h5"
    with stash.Store(f"hdf5:{path}") as s:
        s["run/x"] = np.arange(6, dtype=">i4").reshape(2, 3)
        s["meta"] = {"rate": 1000.0, "name": "abc"}
    assert h5py_json("""
        x = f['run/x']
        print(json.dumps([x.dtype.str, list(x.shape), x[()].tolist(),
                          float(f['meta/rate'][()]), f['meta/name'][()].decode()]))
        """, path) == [">i4", [2, 3], [[0, 1, 2], [3, 4, 5]], 1000.0, "abc"]


def spec_key(value):
    """docs/store.md's encoding, from tests/interop/store_keys.py (xxhash and NumPy)."""
    pytest.importorskip("xxhash")
    sys.path.insert(0, str(ROOT / "tests" / "interop"))
    try:
        import store_keys
    finally:
        sys.path.pop(0)
    return store_keys.key(value)


@pytest.mark.parametrize("value, meta", [
    (None, None), ({"b": 1, "a": 2}, None), (np.arange(3, dtype="<i4"), {"rate": 1000}),
    ([1, (2.5, "x"), b"y", True, float("nan"), -0.0], "meta"),
    (np.asfortranarray(np.arange(6, dtype=">f8").reshape(2, 3)), [1, 2]),
])
def test_content_key_follows_the_spec(value, meta):
    assert stash.content_key(value, meta) == spec_key((value, meta))


def test_content_key_with_no_meta_is_that_of_null_meta():
    assert stash.content_key([1]) == stash.content_key([1], None) == spec_key(([1], None))


@pytest.mark.parametrize("meta", [None, {"rate": 1000, "who": "x"}])
def test_content_key_equals_the_cli(tmp_path, meta):
    if not STASH.exists():
        pytest.skip("no stash program in the build")
    a = np.asfortranarray(np.arange(24, dtype=">f4").reshape(2, 3, 4))
    np.save(tmp_path / "a.npy", a)
    cmd = [str(STASH), "store", "hash", str(tmp_path / "a.npy")]
    if meta is not None:
        cmd += ["--meta", json.dumps(meta)]
    # An instrumented program brings its own sanitizer runtime: no preloaded second one.
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    cli = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout.strip()
    assert stash.content_key(a, meta) == cli


def test_content_key_names_layout_free_content():
    a = np.arange(12.0).reshape(3, 4)
    key = stash.content_key(a)
    assert key.startswith("xxh3-128:") and len(key) == 41
    assert stash.content_key(np.asfortranarray(a)) == key == stash.content_key(a.astype(">f8"))
    assert stash.content_key(a[:, :2]) == stash.content_key(a[:, :2].copy())
    assert stash.content_key({"a": 1, "b": 2}) == stash.content_key({"b": 2, "a": 1})
    assert stash.content_key([1]) != stash.content_key((1,))


def test_content_key_of_what_it_cannot_hold_is_a_type_error():
    with pytest.raises(TypeError, match="set"):
        stash.content_key({"a": {1}})


# ---- Hostile entries ----------------------------------------------------------------------

def test_entry_copied_under_another_key_is_corrupt(dir_store, tmp_path):
    dir_store["a"] = [1, 2]
    dir_store["b"] = [3]
    root = tmp_path / "store"
    shutil.copyfile(root / "a.nco", root / "b.nco")
    with pytest.raises(stash.Corrupt) as caught:
        dir_store["b"]
    assert isinstance(caught.value, ValueError)
    assert dir_store["a"] == [1, 2]


def test_garbage_entry_is_refused_not_returned(dir_store, tmp_path):
    dir_store["a"] = np.arange(1000)
    (tmp_path / "store" / "a.nco").write_bytes(b"\x80\x04garbage" * 100)
    with pytest.raises(stash.StashError) as caught:
        dir_store["a"]
    assert isinstance(caught.value, ValueError)


def test_symlink_entry_is_corrupt(dir_store, tmp_path):
    dir_store["a"] = 1
    os.symlink("/etc/passwd", tmp_path / "store" / "b.nco")
    with pytest.raises(stash.Corrupt):
        dir_store["b"]


# ---- memoize --------------------------------------------------------------------------------

def counting(store, **options):
    calls = []

    @store.memoize(**options)
    def f(x, y=2):
        calls.append((x, y))
        return {"sum": x + y, "args": (x, y)}

    return f, calls


def test_memoize_hits_and_misses(store):
    f, calls = counting(store)
    assert f(1) == {"sum": 3, "args": (1, 2)} and not f.last_hit
    assert f(1) == {"sum": 3, "args": (1, 2)} and f.last_hit
    assert f(x=1) == f(1, 2) == f(1, y=2) and f.last_hit
    assert f(2) and not f.last_hit
    assert calls == [(1, 2), (2, 2)]


def test_memoize_bare_and_keeps_the_function_name(store):
    @store.memoize
    def g(a):
        """Doc."""
        return a

    assert g.__name__ == "g" and g.__doc__ == "Doc." and g.__wrapped__(5) == 5
    assert g(4) == 4 and g(4) == 4 and g.last_hit and g.store is store


@pytest.mark.parametrize("name", list(VALUES))
def test_memoize_every_value_kind(store, name):
    value = VALUES[name]
    calls = []

    @store.memoize
    def echo(v):
        calls.append(1)
        return [v, {"v": v}]

    first = echo(value)
    again = echo(value)
    assert echo.last_hit and len(calls) == 1
    assert same(again, [value, {"v": value}])
    assert first[0] is value  # a miss returns what the function returned


def test_memoize_key_is_content_key_of_bound_arguments(store):
    @store.memoize(name="mine", version=3)
    def f(x, y=2):
        return x * y

    f(5)
    assert store[stash.content_key({"x": 5, "y": 2}, {"function": "mine", "version": 3})] == 10


def test_default_name_is_module_and_qualname(store):
    @store.memoize
    def f(x):
        return x

    f(1)
    name = f"{__name__}.test_default_name_is_module_and_qualname.<locals>.f"
    assert store[stash.content_key({"x": 1}, {"function": name, "version": None})] == 1


def test_version_and_name_separate_entries(store):
    f1, calls1 = counting(store, name="f", version=1)
    f2, calls2 = counting(store, name="f", version=2)
    f1(1), f2(1)
    assert not f2.last_hit
    g, calls3 = counting(store, name="f", version=1)
    g(1)
    assert g.last_hit and calls3 == []


def test_variadic_parameters_bind_as_inspect_does(store):
    calls = []

    @store.memoize
    def f(a, /, b, *rest, c=1, **more):
        calls.append(1)
        return [a, b, rest, c, more]

    assert f(1, 2, 3, c=4, d=5) == [1, 2, (3,), 4, {"d": 5}]
    assert f(1, b=2) == [1, 2, (), 1, {}]
    f(1, 2, 3, d=5, c=4)
    assert f.last_hit
    f(1, 2)
    assert f.last_hit and len(calls) == 2
    with pytest.raises(TypeError):
        f(b=2)  # a is positional-only: Python's own binding error
    with pytest.raises(TypeError, match="multiple values"):
        f(1, 2, b=3)


def test_key_function_gives_the_inputs(store):
    calls = []

    @store.memoize(key=lambda model, data: data)
    def fit(model, data):
        calls.append(1)
        return data * 2

    assert fit(object(), 3) == 6 and fit(object(), 3) == 6 and fit.last_hit
    assert len(calls) == 1


def test_unstorable_argument_is_a_type_error_naming_it(store):
    @store.memoize
    def f(x, weights):
        return 1

    with pytest.raises(TypeError, match="argument 'weights'") as caught:
        f(1, {"a": {1, 2}})
    assert "set" in str(caught.value) and isinstance(caught.value.__cause__, TypeError)
    with pytest.raises(TypeError, match="argument 'weights'"):
        f(1, np.array([object()]))


def test_unstorable_result_is_a_type_error(store):
    @store.memoize
    def f(x):
        return {x}

    with pytest.raises(TypeError, match="result"):
        f(1)


def test_exception_from_the_function_comes_out_unchanged(store):
    error = ZeroDivisionError("mine")

    @store.memoize
    def f(x):
        raise error

    with pytest.raises(ZeroDivisionError) as caught:
        f(1)
    assert caught.value is error
    with pytest.raises(ZeroDivisionError):
        f(1)  # nothing was stored
    assert not f.last_hit


def test_memoize_on_none_always_computes():
    with stash.Store("none:") as s:
        f, calls = counting(s)
        assert f(1)["sum"] == 3 and f(1)["sum"] == 3
        assert not f.last_hit and len(calls) == 2


def test_memoize_hit_returns_zero_copy_read_only_arrays(dir_store, tmp_path):
    @dir_store.memoize
    def grid(n):
        return np.ones((n, n))

    grid(256)
    got = grid(256)
    assert grid.last_hit and not got.flags.writeable
    assert str(tmp_path / "store") in mapped_file(got.__array_interface__["data"][0])


def test_memoize_big_array_argument(dir_store):
    a = np.random.default_rng(1).random(1 << 18)

    @dir_store.memoize
    def total(a):
        return float(a.sum())

    assert total(a) == total(a.copy()) and total.last_hit
    assert total(np.asfortranarray(a)) and total.last_hit


def test_recursion_through_the_store(store):
    @store.memoize
    def fib(n):
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    assert fib(30) == 832040
    assert fib(30) == 832040 and fib.last_hit


def test_memoized_methods_bind_self(store):
    class Model:
        def __init__(self, k):
            self.k = k

        @store.memoize(key=lambda self, x: [self.k, x])
        def predict(self, x):
            return self.k * x

    assert Model(2).predict(3) == 6 and Model(2).predict(3) == 6
    assert Model.predict.last_hit


def test_damaged_entry_is_recomputed(dir_store, tmp_path):
    f, calls = counting(dir_store)
    f(1)
    for entry in (tmp_path / "store").glob("xxh3-128*.nco"):
        entry.write_bytes(b"not an entry")
    assert f(1)["sum"] == 3 and not f.last_hit and len(calls) == 2
    assert f(1)["sum"] == 3 and f.last_hit


def test_a_finalizer_using_the_store_while_a_result_is_refused_does_not_deadlock(
        tmp_path, python_child):
    # The result's conversion (and the TypeError it raises) may start a collection whose
    # finalizers call the store: it must not run under the handle's lock. The tuple free
    # list is drained so that the error's objects really reach the collector.
    child = python_child("""
        import gc, sys
        import stash
        s = stash.Store("dir:" + sys.argv[1])
        armed, bad = [], {1, 2}  # a set: the store cannot hold it
        @s.memoize
        def f(x):
            armed.append(1)
            return bad
        def finalizer(phase, info):
            if phase == "start" and armed:
                len(s)
        keep = [(i, -i) for i in range(10000)]
        gc.set_threshold(1)
        gc.callbacks.append(finalizer)
        try:
            f(1)
        except TypeError:
            print("refused")
        gc.callbacks.clear()
    """, tmp_path, stdout=subprocess.PIPE, text=True)
    out, _ = child.communicate(timeout=60)
    assert child.returncode == 0
    assert out.strip() == "refused"


def test_stash_memoize_opens_once_and_lazily(tmp_path):
    path = tmp_path / "lazy"
    calls = []

    @stash.memoize(f"dir:{path}", version="1")
    def f(x):
        calls.append(x)
        return x + 1

    assert f.store is None and not path.exists()
    assert f(1) == 2 and f(1) == 2 and f.last_hit and calls == [1]
    store = f.store
    assert isinstance(store, stash.Store) and store.backend == "dir"
    f(2)
    assert f.store is store


def test_stash_memoize_bare_is_an_error_without_uri():
    with pytest.raises(TypeError):
        stash.memoize(lambda x: x)(1)


def test_close_inside_the_function_waits_for_the_call(tmp_path):
    s = stash.Store(f"dir:{tmp_path}/s")

    @s.memoize
    def f(x):
        s.close()
        return x

    assert f(1) == 1 and s.closed
    with pytest.raises(stash.Closed):
        f(1)
    with stash.Store(f"dir:{tmp_path}/s") as again:
        assert len(again) == 1  # the result was stored before the handle closed


# ---- Threads --------------------------------------------------------------------------------

def test_threads_share_a_store_and_a_memoized_function(store, run_threads):
    @store.memoize
    def square(x):
        return np.full(100, x * x)

    def work(t):
        for i in range(50):
            store[f"t{t}/{i}"] = i
            assert store[f"t{t}/{i}"] == i
            assert square(i % 7)[0] == (i % 7) ** 2

    run_threads(*(functools.partial(work, t) for t in range(4)))
    assert len([k for k in store if k.startswith("t")]) == 200


# ---- More of hdf5: ----------------------------------------------------------------------------

def test_hdf5_memoized_entry_is_hashed_hdf5_in_h5py(tmp_path):
    path = tmp_path / "m.h5"
    with stash.Store(f"hdf5:{path}") as s:
        @s.memoize(name="f", version=2)
        def f(x):
            return np.arange(x)

        f(4)
        key = stash.content_key({"x": 4}, {"function": "f", "version": 2})
    members, data, meta = h5py_json("""
        g = f[sys.argv[2]]
        print(json.dumps([sorted(g), g['data'][()].tolist(), json.loads(g['meta'][()])]))
        """, path, key)
    assert members == ["data", "input", "meta", "output"]
    assert data == [0, 1, 2, 3] and meta == {"function": "f", "version": 2}


def test_result_the_backend_cannot_hold_fails_the_call(tmp_path):
    with stash.Store(f"hdf5:{tmp_path}/s.h5") as s:
        @s.memoize
        def f(x):
            return {"a/b": x}  # a "/" in a dict key is a path in HDF5

        with pytest.raises(stash.Unsupported, match="memoized"):
            f(1)
        assert not f.last_hit


def test_uri_must_be_a_path(tmp_path):
    with pytest.raises(TypeError):
        stash.Store(3)
    with pytest.raises(ValueError):
        stash.Store(f"dir:{tmp_path}/a\0b")


def test_closed_store_refuses_everything(tmp_path):
    s = stash.Store(f"dir:{tmp_path}/s")
    s.close()
    for call in (lambda: len(s), lambda: list(s), lambda: "a" in s, lambda: s.gc(0),
                 lambda: s.backend, lambda: s.__enter__()):
        with pytest.raises(stash.Closed):
            call()
