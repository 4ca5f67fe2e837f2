"""hdf5: store interop with h5py (run by CTest with /usr/bin/python3).

usage: store_h5py.py PATH_TO_stash PATH_TO_store_tool

  1. stash -> h5py: stash puts every kind of value (every dtype in both byte
     orders, Fortran order, 0-d and zero-length arrays, scalars, strings,
     bytes, null, nested dicts, lists, tuples of 13, hierarchical keys, content
     keys and a memoised result), and h5py reads each one with the types,
     values and attributes docs/store.md describes; corelay's own readers
     (HDF5Storage._unpack, HashedHDF5.read, reproduced below) read them too.
  2. h5py -> stash: files written as corelay's HDF5Storage.write and
     HashedHDF5.write do (reproduced below), h5py's track_order groups,
     compressed datasets, fixed-length and ASCII strings and stash's type
     attributes set by h5py are read by stash (store_tool get, stash store
     get to .json and .npy) with the expected values.
  3. Hostile files (links that leave the file or loop, groups that contain
     their ancestors or multiply, huge unwritten datasets, types stash has
     no twin for, forged type attributes, damaged files): stash exits
     non-zero with one line on stderr, within seconds, without crashing and
     without HDF5's diagnostic stack; puts and deletes through links change
     nothing.
store_tool (tests/interop/store_tool.c) prints values as stash's JSON with
{"$tuple": [...]} for tuples, so tuples are told from lists.
Exits 77 (CTest's skip) if h5py or NumPy is missing.
"""
import base64
import collections
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
import traceback

try:
    import numpy as np
    import h5py
except ImportError as e:
    print(f"skipped: {e}")
    sys.exit(77)

TIMEOUT = 60        # seconds for any one stash process before it counts as hung
HOSTILE_BOUND = 10  # seconds a refusal may take
KEY_RE = re.compile(r"^xxh3-128:[0-9a-f]{32}$")
FAILED = object()   # what Run.get gives when stash refused (None is a value)


# ---- Checks and processes -----------------------------------------------------------

class Run:
    def __init__(self, stash, tool, work):
        self.stash, self.tool, self.work = stash, tool, work
        self.checks = self.failures = 0

    def check(self, ok, what):
        self.checks += 1
        if not ok:
            self.failures += 1
            print("FAIL:", str(what)[:600])
        return ok

    def path(self, name):
        return os.path.join(self.work, name)

    def proc(self, *args):
        """A finished process (returncode None if it hung), and its duration."""
        start = time.monotonic()
        try:
            r = subprocess.run(args, capture_output=True, text=True, errors="replace",
                               timeout=TIMEOUT)
        except subprocess.TimeoutExpired as e:
            r = subprocess.CompletedProcess(args, None, e.stdout or "", e.stderr or "")
        return r, time.monotonic() - start

    def cli(self, *args):
        return self.proc(self.stash, "store", *args)[0]

    def no_diag(self, r, what):
        self.check("HDF5-DIAG" not in r.stderr + r.stdout,
                   f"{what}: HDF5's diagnostic stack was printed: {r.stderr[:300]!r}")

    def quiet(self, r, what):
        """A store_tool run that worked says nothing on stderr (nor does a sanitizer)."""
        self.no_diag(r, what)
        self.check(r.returncode != 0 or r.stderr == "", f"{what}: stderr {r.stderr[:300]!r}")

    def put(self, uri, key, value, what=None):
        """Puts value through store_tool (tuples and all); True on success."""
        src = self.path("put.json")
        with open(src, "w") as f:
            json.dump(to_json(value), f, allow_nan=False)
        r, _ = self.proc(self.tool, "put", uri, key, src)
        self.quiet(r, what or key)
        return self.check(r.returncode == 0,
                          f"put {what or key}: rc {r.returncode} {r.stdout}{r.stderr}")

    def get(self, uri, key, what=None):
        """The value under key through store_tool, or FAILED after a failed check."""
        r, _ = self.proc(self.tool, "get", uri, key)
        self.quiet(r, what or key)
        if not self.check(r.returncode == 0,
                          f"get {what or key}: rc {r.returncode} {r.stdout}{r.stderr}"):
            return FAILED
        return from_json(json.loads(r.stdout))

    def memo(self, uri, inputs, meta, result):
        paths = []
        for name, v in (("in.json", inputs), ("meta.json", meta), ("out.json", result)):
            paths.append(self.path(name))
            with open(paths[-1], "w") as f:
                json.dump(to_json(v), f, allow_nan=False)
        if meta is None:
            paths[1] = "-"
        r, _ = self.proc(self.tool, "memo", uri, *paths)
        self.quiet(r, "memo")
        if not self.check(r.returncode == 0, f"memo: rc {r.returncode} {r.stdout}{r.stderr}"):
            return None
        out = json.loads(r.stdout)
        out["result"] = from_json(out["result"])
        return out


# ---- Values: stash's JSON mapping (stash/value.h) with {"$tuple": [...]} ------------

def b64(data):
    return base64.b64encode(data).decode()


def to_json(v):
    if isinstance(v, np.ndarray):
        fortran = v.flags.f_contiguous and not v.flags.c_contiguous
        return {"$array": {"descr": v.dtype.str, "fortran_order": bool(fortran),
                           "shape": list(v.shape),
                           "data": b64(v.tobytes(order="F" if fortran else "C"))}}
    if isinstance(v, float) and not math.isfinite(v):
        return {"$float": "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")}
    if isinstance(v, bytes):
        return {"$bytes": b64(v)}
    if isinstance(v, tuple):
        return {"$tuple": [to_json(x) for x in v]}
    if isinstance(v, list):
        return [to_json(x) for x in v]
    if isinstance(v, dict):
        return {k: to_json(x) for k, x in v.items()}
    return v


def from_json(j):
    if isinstance(j, list):
        return [from_json(x) for x in j]
    if not isinstance(j, dict):
        return j
    if len(j) == 1:
        (tag, body), = j.items()
        if tag == "$array" and isinstance(body, dict):
            dtype = np.dtype(body["descr"])
            a = np.frombuffer(base64.b64decode(body["data"]), dtype=dtype)
            return a.reshape(body["shape"], order="F" if body["fortran_order"] else "C")
        if tag == "$bytes" and isinstance(body, str):
            return base64.b64decode(body)
        if tag == "$float" and isinstance(body, str):
            return float(body)
        if tag == "$tuple" and isinstance(body, list):
            return tuple(from_json(x) for x in body)
    return {k: from_json(x) for k, x in j.items()}


def same(a, b):
    """Equal kinds and values: arrays by dtype (byte order too), shape and
    elements, floats with NaN equal to NaN and the sign of zero kept, dicts in
    the same order."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        if a.dtype.str != b.dtype.str or a.shape != b.shape:
            return False
        parts = [(a.real, b.real), (a.imag, b.imag)] if a.dtype.kind == "c" else [(a, b)]
        if a.dtype.kind in "fc" and not all(np.array_equal(np.signbit(x), np.signbit(y))
                                            for x, y in parts):
            return False  # -0.0 is not 0.0
        return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (
            a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def plain(v):
    """What comes back through stash store get to .json: tuples as lists."""
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    return v


# ---- Sample arrays ------------------------------------------------------------------------

CODES = ["?", "i1", "u1", "i2", "i4", "i8", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16"]


def variants():
    """(name, dtype) for every dtype, in both byte orders where it has them."""
    for code in CODES:
        dt = np.dtype(code)
        if dt.itemsize == 1:
            yield dt.name, dt
        else:
            for order, tag in (("<", "le"), (">", "be")):
                yield f"{dt.name}-{tag}", dt.newbyteorder(order)


def sample(dtype, shape, seed=0):
    """Distinct values of dtype in shape, with the extremes and the odd floats."""
    n = int(np.prod(shape, dtype=np.int64))
    i = np.arange(n, dtype=np.int64) + seed
    kind = dtype.kind
    if kind == "b":
        v = (i % 3) == 1
    elif kind in "iu":
        info = np.iinfo(dtype)
        v = np.array([info.min + (k * 7919) % (int(info.max) - int(info.min)) for k in i.tolist()],
                     dtype=object)
        if n >= 2:
            v[0], v[1] = info.min, info.max
    elif kind == "f":
        v = i * 1.25 - 3.5
        for k, special in enumerate([math.nan, math.inf, -math.inf, -0.0][: n]):
            v[k] = special
    else:
        v = (i * 1.5 - 2.0) + 1j * (i * 0.5 + 1.0)
        if n >= 2:
            v[1] = complex(math.nan, -0.0)
    return np.array(v).astype(dtype).reshape(shape)


def fortran(dtype, shape, seed=0):
    a = np.asfortranarray(sample(dtype, shape, seed))
    assert a.flags.f_contiguous and not a.flags.c_contiguous
    return a


# ---- corelay's readers and writers, reproduced (corelay/io/storage.py) ------------------

def corelay_unpack(key, value):
    """HDF5Storage._unpack: groups as OrderedDicts with digit keys as ints."""
    if key.isdigit():
        key = int(key)
    if isinstance(value, h5py.Dataset):
        check = h5py.check_string_dtype(value.dtype)
        value = value[()]
        if check is not None:
            value = value.decode(check.encoding)
    elif isinstance(value, h5py.Group):
        value = collections.OrderedDict(corelay_unpack(k, v) for k, v in value.items())
    return key, value


def corelay_hashed_read(group):
    """HashedHDF5.read's _iterread of a group's "data"."""
    def iterread(base):
        if isinstance(base, h5py.Group):
            return tuple(iterread(base[key]) for key in sorted(base))
        return base[()]
    return iterread(group["data"])


def corelay_shape_dtype(value):
    """HDF5Storage._get_shape_dtype."""
    if isinstance(value, np.ndarray):
        return value.shape, value.dtype
    if isinstance(value, str):
        return (), h5py.string_dtype(encoding="utf-8")
    return (), np.dtype(type(value))


def corelay_write(f, data_key, data_out):
    """HDF5Storage.write."""
    if isinstance(data_out, dict):
        for key, value in data_out.items():
            shape, dtype = corelay_shape_dtype(value)
            f.require_dataset(data=value, shape=shape, dtype=dtype, name=f"{data_key}/{key}")
    elif isinstance(data_out, tuple):
        for key, value in enumerate(data_out):
            shape, dtype = corelay_shape_dtype(value)
            f.require_dataset(data=value, shape=shape, dtype=dtype, name=f"{data_key}/{key}")
    else:
        shape, dtype = corelay_shape_dtype(data_out)
        f.require_dataset(data=data_out, shape=shape, dtype=dtype, name=data_key)


def hashed_write(f, hashval, data_out, input_keys, meta, names="{:03d}"):
    """HashedHDF5.write, under a given content key (corelay names groups by its
    own hash; stash reads any group named like a content key). Tuples of
    arrays go in as corelay means to (its loop walks data_out, not data: the
    same for the flat tuples here)."""
    group = f.require_group(hashval)
    if isinstance(data_out, tuple):
        g = group.require_group("data")
        order = list(enumerate(data_out))
        if names != "{:03d}":
            order = order[1::2] + order[0::2]  # creation order must not matter
        for n, array in order:
            g[names.format(n)] = array
    else:
        group["data"] = data_out
    group["meta"] = json.dumps(meta)
    group["input"] = json.dumps(input_keys)
    group["output"] = json.dumps(["xxh3-128:" + "%032x" % n for n in range(3)])


# ---- Reading stash's layout with h5py (docs/store.md, "hdf5:: corelay's layouts") ------

def layout_read(obj):
    """A value from h5py objects as stash's layout says, with h5py's own types checked."""
    word = obj.attrs.get("stash:type")
    if isinstance(obj, h5py.Group):
        if word in ("tuple", "list"):
            items = [layout_read(obj[k]) for k in sorted(obj, key=int)]
            return tuple(items) if word == "tuple" else items
        assert word is None, word
        return {k: layout_read(obj[k]) for k in obj}
    if word == "null":
        assert obj.shape is None and isinstance(obj[()], h5py.Empty)
        return None
    if word == "bytes":
        assert obj.dtype == np.uint8 and obj.ndim == 1
        return obj[()].tobytes()
    if h5py.check_string_dtype(obj.dtype):
        assert obj.shape == () and isinstance(obj[()], bytes)
        return obj.asstr()[()]
    v = obj[()]
    if word == "array":
        assert obj.shape == () and type(v) is obj.dtype.type
        return np.array(v, dtype=obj.dtype)
    if obj.shape == ():
        kinds = {np.dtype("<i8"): (np.int64, int), np.dtype("<f8"): (np.float64, float),
                 np.dtype(bool): (np.bool_, bool)}
        scalar, python = kinds[obj.dtype]
        assert type(v) is scalar, (type(v), scalar)
        return python(v)
    return v


def walk_names(f):
    names = []
    f.visit(names.append)
    return names


# ---- 1. stash writes, h5py reads -----------------------------------------------------------

SCALARS = {
    "int0": 0, "int1": 1, "int-1": -1, "int-max": 2**63 - 1, "int-min": -2**63, "int40": 2**40,
    "float": 2.5, "float-zero": 0.0, "float-negzero": -0.0, "float-big": 1e300,
    "float-subnormal": -2.5e-310, "float-nan": math.nan, "float-inf": math.inf,
    "float-ninf": -math.inf, "true": True, "false": False,
    "str": "héllo €😀", "str-empty": "", "str-escapes": "a\nb\"c\\d\t", "str-long": "x" * 5000,
    "bytes": b"\x00\x01\xff", "bytes-empty": b"", "bytes-all": bytes(range(256)), "null": None,
}

TREE = {
    "zeta": {"inner": {"deep": [1, (2.5, "x", None)]}, "arr": np.arange(4.0)},
    "alpha": [],
    "mid": (),
    "empty": {},
    "ключ": "a key in Cyrillic",
    "list": [1, "two", None, [3.0], {"k": b"v"}],
    "0": "a key that looks like a member number",
}

TUPLE13 = (0, 1.5, "two", b"three", None, True, np.arange(3, dtype=">i2"), [1], (2,),
           {"k": "v"}, np.array(2.5, dtype="<f4"), -7, "last")


def array_dict(dtype, seed=0):
    return {"c": sample(dtype, (2, 3), seed), "f": fortran(dtype, (3, 4), seed),
            "f3": fortran(dtype, (2, 3, 4), seed), "0d": sample(dtype, (), seed),
            "empty": sample(dtype, (0,)), "empty2": sample(dtype, (2, 0, 3)),
            "long": sample(dtype, (1000,), seed)}


def check_array_dataset(run, ds, want, what):
    if not run.check(isinstance(ds, h5py.Dataset), f"{what}: not a dataset: {ds!r}"):
        return
    run.check(ds.dtype.str == want.dtype.str,
              f"{what}: h5py reads dtype {ds.dtype.str}, expected {want.dtype.str}")
    run.check(ds.shape == want.shape, f"{what}: shape {ds.shape}, expected {want.shape}")
    got = ds[()]
    if want.ndim == 0:
        run.check(type(got) is want.dtype.type and ds.attrs.get("stash:type") == "array",
                  f"{what}: 0-d read as {type(got)} with attribute {ds.attrs.get('stash:type')!r}")
        got = np.array(got, dtype=ds.dtype)
    else:
        run.check("stash:type" not in ds.attrs, f"{what}: unexpected type attribute")
    run.check(same(np.asarray(got, dtype=ds.dtype), want) if got.shape == want.shape else False,
              f"{what}: h5py reads {got!r}, expected {want!r}")


def stash_arrays(run, uri, path):
    """Every dtype and byte order, C and Fortran order, 0-d and zero-length."""
    cases = {}
    for name, dtype in variants():
        arrays = array_dict(dtype, seed=len(cases))
        cases[name] = arrays
        run.put(uri, f"arrays/{name}", arrays)
        # The command line's own path: an NPY file in Fortran order.
        npy = run.path("f.npy")
        np.save(npy, arrays["f"])
        r = run.cli("put", uri, f"npy/{name}", npy)
        run.check(r.returncode == 0, f"stash store put npy/{name}: {r.stderr}")
        r = run.cli("get", uri, f"npy/{name}", run.path("back.npy"))
        run.check(r.returncode == 0 and same(np.load(run.path("back.npy")), arrays["f"]),
                  f"stash store get npy/{name} gives back other values: {r.stderr}")
    with h5py.File(path, "r") as f:
        for name, arrays in cases.items():
            g = f[f"arrays/{name}"]
            run.check(isinstance(g, h5py.Group) and list(g) == list(arrays),
                      f"arrays/{name}: members {list(g)} (expected {list(arrays)})")
            for member, want in arrays.items():
                check_array_dataset(run, g[member], want, f"arrays/{name}/{member}")
            check_array_dataset(run, f[f"npy/{name}"], arrays["f"], f"npy/{name}")
            if name.startswith("bool"):
                t = g["c"].id.get_type()
                run.check(isinstance(t, h5py.h5t.TypeEnumID) and t.get_size() == 1 and
                          [t.get_member_name(i) for i in range(t.get_nmembers())] == [b"FALSE", b"TRUE"],
                          "bool: not h5py's int8 enum {FALSE, TRUE}")
            if name.startswith("complex"):
                t = g["c"].id.get_type()
                run.check(isinstance(t, h5py.h5t.TypeCompoundID) and
                          [t.get_member_name(i) for i in range(2)] == [b"r", b"i"],
                          f"{name}: not a compound {{r, i}}")
            if name.startswith("float16"):
                t = g["c"].id.get_type()
                run.check(isinstance(t, h5py.h5t.TypeFloatID) and t.get_size() == 2 and
                          t.get_fields() == (15, 10, 5, 0, 10) and t.get_ebias() == 15,
                          f"{name}: not IEEE half precision: {t.get_fields()}")
            if name.endswith("-be"):
                t = g["c"].id.get_type()
                if isinstance(t, h5py.h5t.TypeCompoundID):
                    t = t.get_member_type(0)
                run.check(t.get_order() == h5py.h5t.ORDER_BE, f"{name}: not big-endian in the file")
    back = run.get(uri, "arrays/float64-be")
    run.check(back is not FAILED and same(back["c"], cases["float64-be"]["c"]),
              "arrays/float64-be: stash does not read back its own value")


def stash_scalars(run, uri, path):
    run.put(uri, "scalars", SCALARS)
    for key, v in (("answer", 42), ("greeting", "héllo"), ("nothing", None), ("blob", b"\xff\x00"),
                   ("pi", 3.25), ("yes", True)):
        run.put(uri, key, v)
    with h5py.File(path, "r") as f:
        g = f["scalars"]
        run.check(list(g) == list(SCALARS), f"scalars: members {list(g)}")
        for name, want in SCALARS.items():
            check_scalar(run, g[name], want, f"scalars/{name}")
        for key, want in (("answer", 42), ("greeting", "héllo"), ("nothing", None),
                          ("blob", b"\xff\x00"), ("pi", 3.25), ("yes", True)):
            check_scalar(run, f[key], want, key)


def check_scalar(run, ds, want, what):
    word = ds.attrs.get("stash:type")
    if want is None:
        run.check(ds.shape is None and isinstance(ds[()], h5py.Empty) and word == "null",
                  f"{what}: null read as shape {ds.shape}, attribute {word!r}")
    elif isinstance(want, bytes):
        got = ds[()]
        run.check(ds.dtype == np.uint8 and ds.shape == (len(want),) and word == "bytes" and
                  got.tobytes() == want, f"{what}: bytes read as {ds.dtype} {ds.shape} {word!r}")
    elif isinstance(want, str):
        info = h5py.check_string_dtype(ds.dtype)
        got = ds[()]
        run.check(info is not None and info.encoding == "utf-8" and info.length is None and
                  ds.shape == () and word is None,
                  f"{what}: str is not a scalar variable-length UTF-8 string: {info}")
        run.check(isinstance(got, bytes) and got == want.encode() and ds.asstr()[()] == want,
                  f"{what}: h5py reads {got!r}")
    else:
        scalar = {bool: np.bool_, int: np.int64, float: np.float64}[type(want)]
        got = ds[()]
        run.check(ds.shape == () and word is None and type(got) is scalar and
                  ds.dtype == np.dtype(scalar) and ds.dtype.byteorder in "=<|",
                  f"{what}: read as {type(got)} {ds.dtype.str} (expected {scalar.__name__})")
        run.check(same(type(want)(got), want), f"{what}: h5py reads {got!r}, expected {want!r}")


def stash_containers(run, uri, path):
    run.put(uri, "tree", TREE)
    run.put(uri, "tuple13", TUPLE13)
    run.put(uri, "pair", (np.arange(3.0), 7))
    run.put(uri, "a/b/c", 1)
    run.put(uri, "a/b/d", "x")
    run.put(uri, "a/e", [1])
    run.put(uri, "a/b/c", "replaced")
    r = run.cli("rm", uri, "a/e")
    run.check(r.returncode == 0, f"stash store rm a/e: {r.stderr}")
    with h5py.File(path, "r") as f:
        tree = f["tree"]
        run.check(list(tree) == list(TREE), f"tree: members {list(tree)}, not in insertion order")
        flags = tree.id.get_create_plist().get_link_creation_order()
        run.check(flags == h5py.h5p.CRT_ORDER_TRACKED | h5py.h5p.CRT_ORDER_INDEXED,
                  f"tree: creation order not tracked and indexed ({flags})")
        run.check(same(layout_read(tree), TREE), f"tree: h5py reads {layout_read(tree)!r}")
        run.check(tree["list"].attrs.get("stash:type") == "list" and
                  list(tree["list"]) == ["0", "1", "2", "3", "4"],
                  f"tree/list: {dict(tree['list'].attrs)} {list(tree['list'])}")
        run.check(tree["mid"].attrs.get("stash:type") == "tuple" and len(tree["mid"]) == 0 and
                  tree["alpha"].attrs.get("stash:type") == "list" and len(tree["alpha"]) == 0 and
                  isinstance(tree["empty"], h5py.Group) and len(tree["empty"]) == 0 and
                  "stash:type" not in tree["empty"].attrs,
                  "tree: empty tuple, list and dict are not as documented")
        run.check(tree["zeta/inner/deep/1"].attrs.get("stash:type") == "tuple",
                  "tree: a tuple nested in a list lost its attribute")
        t = f["tuple13"]
        run.check(isinstance(t, h5py.Group) and t.attrs.get("stash:type") == "tuple" and
                  list(t) == [str(i) for i in range(13)],
                  f"tuple13: attribute {t.attrs.get('stash:type')!r}, members {list(t)}")
        run.check(same(layout_read(t), TUPLE13), f"tuple13: h5py reads {layout_read(t)!r}")
        run.check(t["6"].dtype.str == ">i2", "tuple13: a big-endian member lost its order")
        # corelay's reader sees the tuple as a dict of numbered members.
        _, pair = corelay_unpack("pair", f["pair"])
        run.check(isinstance(pair, collections.OrderedDict) and list(pair) == [0, 1] and
                  same(pair[0], np.arange(3.0)) and pair[1] == 7 and type(pair[1]) is np.int64,
                  f"pair: corelay's HDF5Storage reads {pair!r}")
        _, scalars = corelay_unpack("scalars", f["scalars"])
        run.check(scalars["str"] == SCALARS["str"] and scalars["int-max"] == 2**63 - 1 and
                  scalars["true"] is np.True_,
                  "scalars: corelay's HDF5Storage reads other values")
        run.check(isinstance(f["a"], h5py.Group) and isinstance(f["a/b"], h5py.Group) and
                  f["a/b/c"].asstr()[()] == "replaced" and f["a/b/d"].asstr()[()] == "x" and
                  "e" not in f["a"], f"a/b/c: hierarchical keys: {walk_names(f['a'])}")
        leftovers = [n for n in walk_names(f) if ".stash-put-" in n]
        run.check(not leftovers, f"temporary names left in the file: {leftovers}")
    back = run.get(uri, "tuple13")
    run.check(same(back, TUPLE13), f"tuple13: stash reads back {back!r}")
    back = run.get(uri, "tree")
    run.check(same(back, TREE), f"tree: stash reads back {back!r}")
    r = run.cli("get", uri, "tuple13", run.path("t.json"))
    with open(run.path("t.json")) as fh:
        run.check(r.returncode == 0 and same(from_json(json.load(fh)), plain(TUPLE13)),
                  "tuple13: stash store get to .json does not give the tuple as a list")


def stash_content_keys(run, uri, path):
    results = tuple(sample(np.dtype("<f8" if i % 2 else ">i4"), (i + 1,), i) for i in range(12))
    plain_key = "xxh3-128:" + "0123456789abcdef" * 2
    run.put(uri, plain_key, results)
    inputs = (np.arange(5.0), [np.arange(2, dtype="<i4"), "s"], 3)
    meta = {"rate": 1000, "name": "stash"}
    first = run.memo(uri, inputs, meta, results)
    second = run.memo(uri, inputs, meta, results)
    # One array with metadata: the key `stash store hash` prints.
    single_in = np.arange(6, dtype="<f4").reshape(2, 3)
    third = run.memo(uri, single_in, None, np.arange(3.0))
    if first is None or second is None or third is None:
        return
    run.check(KEY_RE.match(first["key"]) and not first["hit"] and first["stored"] and
              same(first["result"], results), f"memo: first call {first['key']} {first['hit']}")
    run.check(second["key"] == first["key"] and second["hit"] and not second["stored"] and
              same(second["result"], results), "memo: second call is not a hit with the same result")
    np.save(run.path("single.npy"), single_in)
    r = run.cli("hash", run.path("single.npy"))
    run.check(r.returncode == 0 and r.stdout.strip() == third["key"],
              f"memo key {third['key']} is not stash store hash's {r.stdout.strip()}")
    with h5py.File(path, "r") as f:
        g = f[plain_key]
        run.check(list(g) == ["data"], f"{plain_key}: members {list(g)} (a put has only data)")
        data = g["data"]
        run.check(data.attrs.get("stash:type") == "tuple" and
                  list(data) == ["%03d" % i for i in range(12)],
                  f"{plain_key}/data: members {list(data)}")
        run.check(same(corelay_hashed_read(g), results),
                  f"{plain_key}: corelay's HashedHDF5 reads {corelay_hashed_read(g)!r}")
        g = f[first["key"]]
        run.check(sorted(g) == ["data", "input", "meta", "output"],
                  f"memo group members {sorted(g)}")
        texts = {}
        for name in ("meta", "input", "output"):
            ds = g[name]
            info = h5py.check_string_dtype(ds.dtype)
            run.check(info is not None and info.length is None and ds.shape == (),
                      f"memo/{name}: not a scalar variable-length string")
            texts[name] = ds.asstr()[()]
        try:
            run.check(json.loads(texts["meta"]) == meta, f"memo/meta: {texts['meta']}")
            ins, outs = json.loads(texts["input"]), json.loads(texts["output"])
        except ValueError as e:
            run.check(False, f"memo: meta, input or output is not JSON: {e}")
            return
        shaped = isinstance(ins, list) and len(ins) == 3 and isinstance(ins[1], list) and \
            len(ins[1]) == 2
        run.check(shaped and all(KEY_RE.match(k) for k in (ins[0], ins[1][0], ins[1][1], ins[2])),
                  f"memo/input: not a tree of content keys shaped as the inputs: {ins}")
        run.check(isinstance(outs, list) and len(outs) == 12 and len(set(outs)) == 12 and
                  all(KEY_RE.match(k) for k in outs),
                  f"memo/output: not 12 distinct content keys: {outs}")
        run.check(same(corelay_hashed_read(g), results), "memo: corelay's HashedHDF5 reads other data")
        g = f[third["key"]]
        run.check(g["meta"].asstr()[()] == "null" and same(g["data"][()], np.arange(3.0)),
                  "memo without meta: meta is not null or data is not the array")


def deepest_keys(f):
    """The keys `stash store ls` gives (docs/store.md, "Listing"): datasets, typed, empty and
    multiply linked groups, content-key groups at the top, and links, under plain groups."""
    keys = []

    def walk(group, prefix, top):
        for name in sorted(group.keys()):
            key = prefix + name
            link = group.get(name, getlink=True)
            if not isinstance(link, h5py.HardLink):
                keys.append(key)
                continue
            obj = group[name]
            plain_group = (isinstance(obj, h5py.Group) and "stash:type" not in obj.attrs and
                           len(obj) > 0 and not (top and KEY_RE.match(name)) and
                           h5py.h5o.get_info(obj.id).rc == 1)
            if plain_group:
                walk(obj, key + "/", False)
            else:
                keys.append(key)

    walk(f, "", True)
    return sorted(keys)


def stash_listing(run, uri, path):
    r = run.cli("ls", uri, "--json")
    run.no_diag(r, "ls")
    if not run.check(r.returncode == 0, f"stash store ls: {r.stderr}"):
        return
    listing = json.loads(r.stdout)
    with h5py.File(path, "r") as f:
        names = deepest_keys(f)
    run.check(listing["backend"] == "hdf5" and [e["key"] for e in listing["entries"]] == names,
              f"ls: {[e['key'] for e in listing['entries']]} (h5py: {names})")


def test_stash_to_h5py(run):
    path = run.path("stash.h5")
    uri = "hdf5:" + path
    stash_arrays(run, uri, path)
    stash_scalars(run, uri, path)
    stash_containers(run, uri, path)
    stash_content_keys(run, uri, path)
    stash_listing(run, uri, path)


# ---- 2. h5py writes, stash reads ---------------------------------------------------------

def h5py_written(path):
    """Writes the file; returns {key: value stash should give back}."""
    want = {}
    with h5py.File(path, "w") as f:
        arrays = {name: sample(dt, (2, 3), k) for k, (name, dt) in enumerate(variants())}
        corelay_write(f, "arrays", arrays)
        want["arrays"] = dict(sorted(arrays.items()))  # h5py's groups list members by name
        a = fortran(np.dtype("<f8"), (3, 4))
        corelay_write(f, "forder", a)
        want["forder"] = np.ascontiguousarray(a)
        scalars = {"n": 3, "x": 2.5, "flag": True, "off": False, "name": "héllo €", "z": 1 + 2j,
                   "big": 2**62, "neg": -5, "nan": math.nan, "i32": np.int32(7),
                   "f32": np.float32(0.5), "u8": np.uint8(200), "b": np.bool_(False)}
        corelay_write(f, "scalars", scalars)
        w = {k: v for k, v in scalars.items()}
        w.update(z=np.array(1 + 2j), i32=np.array(7, dtype="<i4"), f32=np.array(0.5, dtype="<f4"),
                 u8=np.array(200, dtype="u1"), b=False)
        want["scalars"] = dict(sorted(w.items()))
        corelay_write(f, "pair", (np.arange(3.0), 7, "s"))
        want["pair"] = {"0": np.arange(3.0), "1": 7, "2": "s"}
        many = tuple(range(100, 113))
        corelay_write(f, "tuple13", many)
        want["tuple13"] = {str(i): v for i, v in sorted(enumerate(many), key=lambda e: str(e[0]))}
        for key, v in (("single_int", 5), ("single_str", "solo"), ("single_float", -0.0),
                       ("single_arr", np.arange(4, dtype=">u2"))):
            corelay_write(f, key, v)
            want[key] = v
        # HashedHDF5 groups: "data" is a tuple however its members are named.
        k1, k2, k3 = ("xxh3-128:" + "%032x" % n for n in (0xA1, 0xB2, 0xC3))
        outs = tuple(sample(np.dtype("<f4"), (i + 2,), i) for i in range(12))
        hashed_write(f, k1, outs, ["xxh3-128:" + "0" * 32], {"rate": 3})
        want[k1] = outs
        hashed_write(f, k2, np.arange(5, dtype="<i8"), [], None)
        want[k2] = np.arange(5, dtype="<i8")
        hashed_write(f, k3, outs, [], {}, names="{}")
        want[k3] = outs
        # h5py's own creation order.
        g = f.create_group("tracked", track_order=True)
        g["zeta"], g["alpha"] = 1, 2
        inner = g.create_group("mid", track_order=True)
        inner["z"], inner["a"] = "last", "first"
        g["beta"] = np.arange(2.0)
        want["tracked"] = {"zeta": 1, "alpha": 2, "mid": {"z": "last", "a": "first"},
                           "beta": np.arange(2.0)}
        # Compressed and checksummed datasets.
        big = np.arange(200000, dtype="<f8").reshape(200, 1000) / 7
        f.create_dataset("gz/gzip", data=big, compression="gzip", compression_opts=9)
        f.create_dataset("gz/shuffle", data=big.astype(">i4"), compression="gzip", shuffle=True,
                         fletcher32=True, chunks=(17, 100))
        f.create_dataset("gz/bool", data=np.arange(5000) % 3 == 0, compression="gzip")
        f.create_dataset("gz/chunked", data=np.arange(10, dtype="<c8"), chunks=(3,))
        want["gz"] = {"bool": np.arange(5000) % 3 == 0, "chunked": np.arange(10, dtype="<c8"),
                      "gzip": big, "shuffle": big.astype(">i4")}
        # Strings as h5py writes them.
        f["strings/fixed"] = np.bytes_(b"hello")
        f.create_dataset("strings/padded", data=np.bytes_(b"abc"), dtype="S10")
        f.create_dataset("strings/fixed_utf8", data="héllo".encode(),
                         dtype=h5py.string_dtype("utf-8", 16))
        f["strings/vlen_ascii"] = b"raw\xff"
        f["strings/vlen_utf8"] = "😀"
        want["strings"] = {"fixed": b"hello", "fixed_utf8": "héllo", "padded": b"abc",
                           "vlen_ascii": b"raw\xff", "vlen_utf8": "😀"}
        # stash's attributes set by h5py, in both string forms.
        g = f.create_group("marked/tuple")
        g.attrs["stash:type"] = "tuple"
        for i in (2, 0, 1, 10, 3, 4, 5, 6, 7, 8, 9):
            g[str(i)] = i
        g = f.create_group("marked/list")
        g.attrs.create("stash:type", np.bytes_(b"list"))
        g["0"], g["1"] = "a", "b"
        f["marked/bytes"] = np.frombuffer(b"\x00ab", dtype="u1")
        f["marked/bytes"].attrs["stash:type"] = "bytes"
        f["marked/zero_d"] = np.float32(2.5)
        f["marked/zero_d"].attrs["stash:type"] = "array"
        f["marked/empty"] = h5py.Empty("f8")
        f.create_dataset("marked/be_int", data=5, dtype=">i8")
        f.create_dataset("marked/be_float", data=0.5, dtype=">f8")
        want["marked"] = {"be_float": 0.5, "be_int": 5, "bytes": b"\x00ab", "empty": None,
                          "list": ["a", "b"], "tuple": tuple(range(11)),
                          "zero_d": np.array(2.5, dtype="<f4")}
        # A second name for a dict (a hard link): each key reads alone.
        f["alias"] = f["tracked"]
        want["alias"] = want["tracked"]
    return want


def test_h5py_to_stash(run):
    path = run.path("h5py.h5")
    uri = "hdf5:" + path
    want = h5py_written(path)
    for key, value in want.items():
        got = run.get(uri, key)
        if got is not FAILED:
            run.check(same(got, value), f"{key}: stash reads {got!r}, expected {value!r}")
    # The command line, to .json and .npy.
    for key in ("scalars", "tracked", "xxh3-128:" + "%032x" % 0xA1):
        out = run.path("cli.json")
        r = run.cli("get", uri, key, out)
        run.no_diag(r, f"get {key} .json")
        if run.check(r.returncode == 0, f"stash store get {key} to .json: {r.stderr}"):
            with open(out) as fh:
                got = from_json(json.load(fh))
            run.check(same(got, plain(want[key])), f"{key}: stash store get gives {got!r}")
    for key, value in (("forder", want["forder"]), ("single_arr", want["single_arr"]),
                       ("gz/shuffle", want["gz"]["shuffle"])):
        out = run.path("cli.npy")
        r = run.cli("get", uri, key, out)
        run.check(r.returncode == 0 and same(np.load(out), value),
                  f"{key}: stash store get to .npy: {r.stderr}")
    r = run.cli("ls", uri, "--json")
    with h5py.File(path, "r") as f:
        names = deepest_keys(f)
    run.check(r.returncode == 0 and [e["key"] for e in json.loads(r.stdout)["entries"]] == names,
              f"ls of h5py's file: {r.stdout} {r.stderr}")
    # stash writes into h5py's file and h5py still reads both.
    run.put(uri, "from_stash", {"t": (1, 2)})
    with h5py.File(path, "r") as f:
        run.check(same(layout_read(f["from_stash"]), {"t": (1, 2)}) and
                  f["pair/2"].asstr()[()] == "s", "h5py cannot read its file after a stash put")


# ---- 3. Hostile files -----------------------------------------------------------------------

UNSUPPORTED = "operation not supported by this backend"
CORRUPT = "data is corrupt or not in the expected format"
LIMIT = "input exceeds a configured limit"
TRUNCATED = "data is shorter than its header says"
DTYPE = "unsupported array element type"
RANGE = "offset or length outside the valid range"
NOT_FOUND = "no such entry"


def hostile_file(path, other):
    """Writes the file; returns [(key, message stash should refuse it with)]."""
    with h5py.File(other, "w") as o:
        o.create_group("secret")["x"] = np.arange(3.0)
    cases = []
    with h5py.File(path, "w") as f:
        f["plain"] = np.arange(3.0)
        f["ext"] = h5py.ExternalLink(other, "/secret")
        f["ext_missing"] = h5py.ExternalLink(path + ".missing", "/x")
        cases += [("ext", UNSUPPORTED), ("ext/x", UNSUPPORTED), ("ext_missing", UNSUPPORTED)]
        f["loop"] = h5py.SoftLink("/loop")
        f["ping"], f["pong"] = h5py.SoftLink("/pong"), h5py.SoftLink("/ping")
        f.create_group("real")["v"] = 1
        f["soft"] = h5py.SoftLink("/real")
        cases += [("loop", UNSUPPORTED), ("loop/x", UNSUPPORTED), ("ping", UNSUPPORTED),
                  ("soft", UNSUPPORTED), ("soft/v", UNSUPPORTED)]
        g = f.create_group("with_soft")
        g["a"], g["b"] = 1, h5py.SoftLink("/plain")
        cases.append(("with_soft", UNSUPPORTED))
        g = f.create_group("g")
        g["x"], g["up"] = 1, f["/"]
        cases += [("g", UNSUPPORTED), ("g/up/g", UNSUPPORTED)]
        g = f.create_group("self")
        g["me"] = g
        cases.append(("self", UNSUPPORTED))
        prev = f.create_group("dag/l40")  # 2**40 paths through 41 groups
        prev["v"] = 1
        for i in range(39, -1, -1):
            g = f.create_group(f"dag/l{i}")
            g["a"], g["b"] = prev, prev
            prev = g
        cases.append(("dag/l0", UNSUPPORTED))
        g = f.create_group("deep")
        for _ in range(600):
            g = g.create_group("d")
        cases.append(("deep", LIMIT))
        f.create_dataset("huge", shape=(2**40,), dtype="f8")
        f.create_dataset("huge_chunked", shape=(2**40,), dtype="f8", chunks=(2**16,))
        f.create_dataset("huge_gzip", shape=(2**40,), dtype="f8", chunks=(2**16,),
                         compression="gzip")
        f.create_dataset("huge_2d", shape=(2**62, 8), dtype="f8", chunks=(1, 8))
        f.create_group("in_dict")["huge"] = f["huge"]
        cases += [("huge", TRUNCATED), ("huge_chunked", TRUNCATED), ("huge_gzip", LIMIT),
                  ("huge_2d", RANGE), ("in_dict", TRUNCATED)]
        f.create_dataset("vlen", (3,), dtype=h5py.vlen_dtype(np.int32))
        f.create_dataset("refs", (2,), dtype=h5py.ref_dtype)
        f["compound"] = np.zeros(2, dtype=[("a", "<i4"), ("b", "<f8")])
        f["opaque"] = np.void(b"\x01\x02\x03")
        f.create_dataset("enum3", data=np.arange(3, dtype="i1"),
                         dtype=h5py.enum_dtype({"A": 0, "B": 1, "C": 2}, basetype="i1"))
        f["named_type"] = np.dtype("<f8")
        cases += [("vlen", DTYPE), ("refs", DTYPE), ("compound", DTYPE), ("opaque", DTYPE),
                  ("enum3", DTYPE), ("named_type", UNSUPPORTED)]
        f["str_array"] = np.array([b"ab", b"cd"])
        f.create_dataset("vlen_str_array", data=["x", "yz"], dtype=h5py.string_dtype())
        cases += [("str_array", UNSUPPORTED), ("vlen_str_array", UNSUPPORTED)]
        f.create_dataset("bad_utf8", data=b"\xc3(", dtype=h5py.string_dtype())
        f.create_dataset("bad_utf8_fixed", data=b"\xc3(", dtype=h5py.string_dtype("utf-8", 2))
        cases += [("bad_utf8", CORRUPT), ("bad_utf8_fixed", CORRUPT)]
        for name, target, word, message in (
                ("word_dataset", np.arange(3), "frob", UNSUPPORTED),
                ("word_tuple_on_dataset", np.arange(3), "tuple", UNSUPPORTED),
                ("word_bytes_on_floats", np.arange(3.0), "bytes", CORRUPT),
                ("word_bytes_on_scalar", np.uint8(3), "bytes", CORRUPT),
                ("word_null_on_data", np.arange(3), "null", CORRUPT),
                ("word_array_on_string", "text", "array", CORRUPT)):
            f[name] = target
            f[name].attrs["stash:type"] = word
            cases.append((name, message))
        g = f.create_group("word_group")
        g.attrs["stash:type"] = "frob"
        g = f.create_group("word_bytes_on_group")
        g.attrs["stash:type"] = "bytes"
        cases += [("word_group", UNSUPPORTED), ("word_bytes_on_group", UNSUPPORTED)]
        for name, attr in (("attr_fixed_array", np.array([b"a" * 8] * 100)),
                           ("attr_vlen_array", ["tuple", "list", "x", "y"]),
                           ("attr_int", np.int64(3)),
                           ("attr_long", "tuple" + "x" * 100)):
            f[name] = np.arange(3)
            f[name].attrs["stash:type"] = attr
            cases.append((name, CORRUPT if name != "attr_long" else UNSUPPORTED))
        f.create_group("attr_fixed_long").attrs.create("stash:type", np.bytes_(b"t" * 64))
        cases.append(("attr_fixed_long", CORRUPT))
        g = f.create_group("tuple_gap")
        g.attrs["stash:type"] = "tuple"
        g["0"], g["2"] = 0, 2
        g = f.create_group("tuple_named")
        g.attrs["stash:type"] = "list"
        g["0"], g["x"] = 0, 1
        g = f.create_group("tuple_twice")
        g.attrs["stash:type"] = "tuple"
        g["0"], g["00"] = 0, 1
        cases += [("tuple_gap", CORRUPT), ("tuple_named", CORRUPT), ("tuple_twice", CORRUPT)]
        f.create_dataset("lzf", data=np.arange(100.0), compression="lzf")
        cases.append(("lzf", CORRUPT))  # h5py's own filter, which libhdf5 lacks
        f.create_dataset("unwritten", shape=(10,), dtype="<i4")
        cases.append(("unwritten", TRUNCATED))
    return cases


def check_refusal(run, args, what, message=None, out=None):
    r, took = run.proc(run.stash, "store", *args)
    lines = r.stderr.strip().splitlines()
    run.check(r.returncode is not None, f"{what}: hung for {TIMEOUT} s")
    crashed = " (a signal: crashed)" if (r.returncode or 0) < 0 else ""
    run.check(r.returncode is None or r.returncode > 0,
              f"{what}: exit {r.returncode}{crashed}, expected a refusal")
    run.check(took < HOSTILE_BOUND, f"{what}: took {took:.1f} s")
    run.check(len(lines) == 1 and lines[0].startswith("stash store: "),
              f"{what}: stderr is not one line: {r.stderr[:300]!r}")
    run.no_diag(r, what)
    if message:
        run.check(bool(lines) and lines[0].endswith(": " + message),
                  f"{what}: {lines[0] if lines else ''!r} (expected {message!r})")
    if out:
        run.check(not os.path.exists(out), f"{what}: wrote {out} anyway")


def test_hostile(run):
    path, other = run.path("hostile.h5"), run.path("other.h5")
    uri = "hdf5:" + path
    cases = hostile_file(path, other)
    out = run.path("hostile-out.json")
    for key, message in cases:
        if os.path.exists(out):
            os.unlink(out)
        check_refusal(run, ("get", uri, key, out), f"get {key}", message, out)
    # What stash can read in the same file still reads.
    got = run.get(uri, "plain")
    run.check(same(got, np.arange(3.0)), "plain: not readable beside the rest")
    got = run.get(uri, "dag/l40")
    run.check(same(got, {"v": 1}), "dag/l40: the shared group alone is not readable")
    r = run.cli("ls", uri)
    run.no_diag(r, "ls hostile")
    run.check(r.returncode == 0 and "ext" in r.stdout.split(), f"ls of the hostile file: {r.stderr}")
    # Puts and deletes never go through links, into this file or another.
    value = run.path("one.json")
    with open(value, "w") as fh:
        fh.write("[1]")
    for args in (("put", uri, "ext/new", value), ("put", uri, "soft/new", value),
                 ("rm", uri, "ext/x"), ("rm", uri, "soft/v"), ("put", uri, "plain/x", value)):
        check_refusal(run, args, " ".join(args[:1] + args[2:3]), UNSUPPORTED)
    with h5py.File(other, "r") as o, h5py.File(path, "r") as f:
        run.check(list(o["secret"]) == ["x"] and list(f["real"]) == ["v"],
                  f"a put or delete through a link changed {list(o['secret'])} {list(f['real'])}")
    # Files that are not HDF5, or not whole.
    with open(run.path("text.h5"), "w") as fh:
        fh.write("not an HDF5 file\n" * 100)
    with open(path, "rb") as fh:
        data = fh.read()
    with open(run.path("cut.h5"), "wb") as fh:
        fh.write(data[: len(data) // 3])
    with open(run.path("cut-head.h5"), "wb") as fh:
        fh.write(data[:600])
    for name in ("text.h5", "cut.h5", "cut-head.h5"):
        u = "hdf5:" + run.path(name)
        check_refusal(run, ("get", u, "plain", out), f"get from {name}")
        check_refusal(run, ("ls", u), f"ls of {name}")
        check_refusal(run, ("put", u, "k", value), f"put into {name}")
    check_refusal(run, ("get", "hdf5:" + run.path("missing.h5"), "k", out), "get from a missing file")


# ---- Main ----------------------------------------------------------------------------------

TESTS = [test_stash_to_h5py, test_h5py_to_stash, test_hostile]


def main():
    if len(sys.argv) != 3:
        print("usage: store_h5py.py PATH_TO_stash PATH_TO_store_tool")
        return 2
    stash, tool = (os.path.abspath(p) for p in sys.argv[1:])
    with tempfile.TemporaryDirectory() as work:
        run = Run(stash, tool, work)
        for test in TESTS:
            try:
                test(run)
            except Exception as e:  # a layout h5py cannot read as expected, say
                traceback.print_exc()
                run.check(False, f"{test.__name__} stopped: {type(e).__name__}: {e}")
    print(f"{run.checks - run.failures}/{run.checks} checks passed")
    return 1 if run.failures else 0


if __name__ == "__main__":
    sys.exit(main())
