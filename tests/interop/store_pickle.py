"""pickle: store interop with Python's pickle and NumPy (run by CTest with /usr/bin/python3).

usage: store_pickle.py PATH_TO_store_tool PATH_TO_pickle_tool

  1. Python -> stash: files written as corelay's PickleStorage writes them
     (write() below does what its write() does: pickle.dump of
     {"data": value, "key": key} onto the end of the file), in protocols 2
     to 5, holding arrays of every dtype stash has in both byte orders, C
     and Fortran order, 0-d to 5-d, empty arrays, NumPy scalars, and the
     same pickles with NumPy 2's module names (numpy._core...) put in by
     byte surgery, since this NumPy writes only numpy.core: stash reads every
     record equal, and the last record of a key wins.
  2. stash -> Python: stash puts the same arrays (store_tool, protocol 4)
     and pickles them with pickle_tool in protocols 3, 4 and 5; corelay's
     reader (_load_data below: pickle.load until EOFError) and pickle.load
     give equal ndarrays.
  3. Hostile records: one that would call os.system (its marker file must
     not appear), numpy.load and builtins.eval by name, a _reconstruct whose
     shape and bytes disagree, a dtype state claiming 2^62-byte items: each
     refused with its status, nothing run.
Exits 77 (CTest's skip) if NumPy is missing.
"""
import base64
import json
import os
import pickle
import pickletools
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError as e:
    print(f"skipped: {e}")
    sys.exit(77)

# status codes of include/stash/error.h
E_CORRUPT, E_DTYPE, E_UNSAFE, E_SHAPE = -40011, -40015, -40017, -40024

DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float16", "float32", "float64", "complex64", "complex128"]
SHAPES = [(), (5,), (2, 3), (2, 3, 2), (1, 2, 3, 2), (2, 1, 2, 1, 3)]


class Run:
    def __init__(self, tool, pickler, work):
        self.tool, self.pickler, self.work = tool, pickler, work
        self.checks = self.failures = 0

    def check(self, ok, what):
        self.checks += 1
        if not ok:
            self.failures += 1
            print("FAIL:", str(what)[:600])
        return ok

    def path(self, name):
        return os.path.join(self.work, name)

    def tool_run(self, *args):
        return subprocess.run([self.tool, *args], capture_output=True, text=True, timeout=120)


# ---- corelay's PickleStorage, its few lines of file handling --------------------------

def write(path, key, value, protocol):
    """PickleStorage.write: one record appended ("a" mode)."""
    with open(path, "ab") as f:
        pickle.dump({"data": value, "key": key}, f, protocol)


def load_data(path):
    """PickleStorage._load_data: every record until EOFError; later ones win."""
    data = {}
    with open(path, "rb") as f:
        try:
            while True:
                dc = pickle.load(f)
                data.update({dc["key"]: dc["data"]})
        except EOFError:
            pass
    return data


# ---- Values -------------------------------------------------------------------------

def arrays_of(dtype):
    """Every layout of one dtype: both byte orders, C and F, 0-d to 5-d, and empty."""
    out = {}
    rng = np.random.default_rng(len(dtype))
    for order_char in "<>":
        t = np.dtype(dtype).newbyteorder(order_char)
        for ndim, shape in enumerate(SHAPES):
            n = int(np.prod(shape))
            if t.kind == "b":
                flat = rng.integers(0, 2, n).astype(bool)
            elif t.kind in "iu":
                info = np.iinfo(t)
                flat = rng.integers(info.min, info.max, n, dtype=np.dtype(dtype), endpoint=True)
            elif t.kind == "c":
                flat = rng.standard_normal(n) + 1j * rng.standard_normal(n)
            else:
                flat = rng.standard_normal(n) * 100
            a = flat.astype(t).reshape(shape)
            out[f"{order_char}C{ndim}"] = np.ascontiguousarray(a)
            out[f"{order_char}F{ndim}"] = np.asfortranarray(a)
        out[f"{order_char}empty"] = np.zeros((0, 3), dtype=t)
    out["scalar"] = np.dtype(dtype).type(out["<C0"][()])
    return out


def from_json(v):
    """stash's JSON mapping back to Python, $array as ndarray (byte order as stash gives it)."""
    if isinstance(v, dict):
        if list(v) == ["$array"]:
            a = v["$array"]
            flat = np.frombuffer(base64.b64decode(a["data"]), dtype=np.dtype(a["descr"]))
            return flat.reshape(a["shape"], order="F" if a["fortran_order"] else "C")
        if list(v) == ["$tuple"]:
            return tuple(from_json(x) for x in v["$tuple"])
        if list(v) == ["$bytes"]:
            return base64.b64decode(v["$bytes"])
        return {k: from_json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [from_json(x) for x in v]
    return v


def to_json(v):
    if isinstance(v, (np.ndarray, np.generic)):
        v = np.asarray(v)
        fortran = v.flags.f_contiguous and not v.flags.c_contiguous
        return {"$array": {"descr": v.dtype.str, "fortran_order": bool(fortran),
                           "shape": list(v.shape),
                           "data": base64.b64encode(v.tobytes(order="F" if fortran else "C"))
                           .decode()}}
    if isinstance(v, dict):
        return {k: to_json(x) for k, x in v.items()}
    return v


def same_array(got, want, keep_order=True):
    """Equal values, kind, size and shape; with keep_order the byte order too."""
    want = np.asarray(want)
    if not isinstance(got, np.ndarray) or got.shape != want.shape:
        return False
    if keep_order and want.dtype.itemsize > 1 and got.dtype.str != want.dtype.str:
        return False
    if got.dtype.newbyteorder("=") != want.dtype.newbyteorder("="):
        return False
    if want.dtype.kind in "fc":
        return np.array_equal(got, want, equal_nan=True)
    return np.array_equal(got, want)


# ---- NumPy 2's names, by byte surgery -------------------------------------------------

def numpy2_names(data):
    """The same pickle naming numpy._core, as NumPy 2 writes it (frames rebuilt)."""
    for old in (b"numpy.core.multiarray", b"numpy.core.numeric"):
        new = old.replace(b"numpy.core", b"numpy._core")
        data = data.replace(b"c" + old + b"\n", b"c" + new + b"\n")  # GLOBAL, protocols 2-3
        data = data.replace(b"\x8c" + bytes([len(old)]) + old,      # SHORT_BINUNICODE, 4-5
                            b"\x8c" + bytes([len(new)]) + new)
    return pickletools.optimize(data)  # re-frames protocol 4 and 5 pickles


# ---- 1. Python -> stash ---------------------------------------------------------------

def test_python_to_stash(run):
    for numpy2 in (False, True):
        path = run.path("py2stash%s.pkl" % ("-np2" if numpy2 else ""))
        want = {}
        for protocol in (2, 3, 4, 5):
            for dtype in DTYPES:
                key = f"p{protocol}/{dtype}"
                value = arrays_of(dtype)
                if numpy2:
                    blob = pickle.dumps({"data": value, "key": key}, protocol)
                    with open(path, "ab") as f:
                        f.write(numpy2_names(blob))
                else:
                    write(path, key, value, protocol)
                want[key] = (protocol, value)
        # A key written twice: the last record wins.
        write(path, "again", {"v": np.arange(3)}, 4)
        write(path, "again", {"v": np.arange(4.0)}, 2)
        want["again"] = (2, {"v": np.arange(4.0)})
        if not numpy2:
            python_view = load_data(path)
            run.check(sorted(python_view) == sorted(want), "Python's own reading differs")
        label = "NumPy 2 names" if numpy2 else "NumPy 1 names"
        for key, (protocol, value) in want.items():
            r = run.tool_run("get", "pickle:" + path, key)
            if not run.check(r.returncode == 0, f"{label}: get {key}: {r.stdout}{r.stderr}"):
                continue
            got = from_json(json.loads(r.stdout))
            for name, a in value.items():
                # NumPy converts protocol 2-4 arrays to native order when it loads them;
                # stash keeps the order pickled, which is the original's.
                ok = name in got and same_array(got[name], a)
                run.check(ok, f"{label}: {key}/{name}: got {got.get(name)!r:.200}, "
                              f"want {np.asarray(a)!r:.200} ({np.asarray(a).dtype.str})")


# ---- 2. stash -> Python ---------------------------------------------------------------

def test_stash_to_python(run):
    path = run.path("stash2py.pkl")
    want = {}
    for dtype in DTYPES:
        value = {k: v for k, v in arrays_of(dtype).items() if k != "scalar"}
        src = run.path("value.json")
        with open(src, "w") as f:
            json.dump(to_json(value), f)
        r = run.tool_run("put", "pickle:" + path, dtype, src)
        run.check(r.returncode == 0, f"put {dtype}: {r.stdout}{r.stderr}")
        want[dtype] = value
        for protocol in (3, 4, 5):
            out = run.path(f"{dtype}-{protocol}.pkl")
            r = subprocess.run([run.pickler, "write", src, out, str(protocol)],
                               capture_output=True, text=True)
            if not run.check(r.returncode == 0, f"pickle_tool {protocol}: {r.stdout}"):
                continue
            with open(out, "rb") as f:
                got = pickle.load(f)
            for name, a in value.items():
                ok = isinstance(got, dict) and same_array(got.get(name), a, keep_order=False)
                ok = ok and got[name].flags.f_contiguous == a.flags.f_contiguous
                run.check(ok, f"protocol {protocol}: {dtype}/{name}: {got.get(name)!r:.200}")
    data = load_data(path)  # corelay's reader
    run.check(sorted(data) == sorted(want), f"keys: {sorted(data)}")
    for dtype, value in want.items():
        for name, a in value.items():
            got = data.get(dtype, {}).get(name)
            run.check(same_array(got, a, keep_order=False),
                      f"corelay reads {dtype}/{name} as {got!r:.200}")


# ---- 3. Hostile records -----------------------------------------------------------------

class CallsCode:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class ByName:
    """A reference to module.name and a call of it, as a pickle of it would hold."""
    def __init__(self, fn, arg):
        self.fn, self.arg = fn, arg

    def __reduce__(self):
        return (self.fn, (self.arg,))


def patched(data, old, new):
    assert old in data, (old, data)
    return data.replace(old, new, 1)


def test_hostile(run):
    marker = run.path("MARKER")
    good = pickle.dumps({"data": np.arange(6, dtype="<i4").reshape(2, 3), "key": "x"}, 2)
    dtype_state = b"K\x03X\x01\x00\x00\x00<q"
    cases = [
        ("os.system", pickle.dumps({"data": CallsCode("touch " + marker), "key": "x"}, 4),
         E_UNSAFE),
        ("numpy.load by name", pickle.dumps({"data": ByName(np.load, "x.npy"), "key": "x"}, 4),
         E_UNSAFE),
        ("builtins.eval by name", pickle.dumps({"data": ByName(eval, "1 + 1"), "key": "x"}, 2),
         E_UNSAFE),
        ("shape and bytes disagree", patched(good, b"K\x02K\x03\x86", b"K\x02K\x04\x86"),
         E_SHAPE),
        ("2^62-byte items", patched(good, b"J\xff\xff\xff\xffJ\xff\xff\xff\xff",
                                    b"\x8a\x08" + (1 << 62).to_bytes(8, "little") +
                                    b"J\xff\xff\xff\xff"), E_CORRUPT),
        ("unicode dtype", pickle.dumps({"data": np.array(["ab"]), "key": "x"}, 4), E_DTYPE),
        ("object dtype", pickle.dumps({"data": np.array([None]), "key": "x"}, 4), E_DTYPE),
    ]
    assert dtype_state in good
    # The control: Python's own pickle runs the payload.
    pickle.loads(pickle.dumps(CallsCode("touch " + marker + ".control"), 4))
    run.check(os.path.exists(marker + ".control"), "the control payload did not run")
    for name, blob, status in cases:
        path = run.path("hostile.pkl")
        with open(path, "wb") as f:
            f.write(blob)
        r = run.tool_run("get", "pickle:" + path, "x")
        run.check(r.returncode == 2 and r.stdout.startswith(f"refused {status} "),
                  f"{name}: rc {r.returncode}, {r.stdout.strip()} (want {status})")
    run.check(not os.path.exists(marker), "the os.system payload ran")


TESTS = [test_python_to_stash, test_stash_to_python, test_hostile]


def main():
    if len(sys.argv) != 3:
        print("usage: store_pickle.py PATH_TO_store_tool PATH_TO_pickle_tool")
        return 2
    tool, pickler = (os.path.abspath(p) for p in sys.argv[1:])
    with tempfile.TemporaryDirectory() as work:
        run = Run(tool, pickler, work)
        for test in TESTS:
            try:
                test(run)
            except Exception as e:
                import traceback
                traceback.print_exc()
                run.check(False, f"{test.__name__} stopped: {type(e).__name__}: {e}")
    print(f"{run.checks - run.failures}/{run.checks} checks passed")
    return 1 if run.failures else 0


if __name__ == "__main__":
    sys.exit(main())
