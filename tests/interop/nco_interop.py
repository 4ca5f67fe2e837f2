"""NCO interop with nengo (run by CTest with /usr/bin/python3).

nengo's nengo/utils/nco.py (read, write, byte_align and the header format) is
reproduced below, and NCO files go both ways between it and `stash nco`:
  1. stash -> nengo: arrays of several dtypes, byte orders, memory orders and
     shapes, with JSON metadata, packed by stash, read back by nengo's reader
     with the same values; headers, alignment and padding as documented;
  2. a chain packed and appended by stash is walked by nengo's reader object
     by object, and `stash nco ls --json` sees the same objects;
  3. nengo -> stash: single objects and a legacy chain written by nengo's
     writer are unpacked by stash to the same arrays, with the metadata in
     stash's JSON mapping (tuples as lists, $bytes, $float);
  4. metadata pickles that would call code are never run by stash: the array
     still unpacks and the metadata comes back as the exact pickle bytes;
  5. damaged files fail with one line on stderr;
  6. an append that never committed (zero header, garbage) is reported as a
     tail, and the next append replaces it.
Exits 77 (CTest's skip) if NumPy is missing.
"""
import base64
import collections
import io
import json
import os
import pickle
import shlex
import struct
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError:
    print("numpy is not installed: skipping")
    sys.exit(77)


# ---- nengo/utils/nco.py, reproduced -----------------------------------------

class CacheIOError(IOError):
    pass


MAGIC_STRING = b"NCO"
SUPPORTED_PROTOCOLS = [0]
ALIGNMENT = 16
HEADER_FORMAT = "@3sBLLLL"
HEADER_SIZE = struct.calcsize(HEADER_FORMAT)

Header = collections.namedtuple(
    "Header", "magic version pickle_start pickle_end array_start array_end")


def byte_align(size, alignment):
    return size if size % alignment == 0 else (size | (alignment - 1)) + 1


def write(fileobj, metadata, array):
    """nengo's nco.write: header, pickled metadata, NPY array, at fileobj.tell()."""
    start = fileobj.tell()
    pickle_start = byte_align(start + HEADER_SIZE, ALIGNMENT)
    fileobj.seek(pickle_start)
    pickle.dump(metadata, fileobj, pickle.HIGHEST_PROTOCOL)
    pickle_end = fileobj.tell()
    array_start = byte_align(pickle_end, ALIGNMENT)
    fileobj.seek(array_start)
    np.save(fileobj, array, allow_pickle=False)
    array_end = fileobj.tell()
    fileobj.seek(start)
    fileobj.write(struct.pack(HEADER_FORMAT, MAGIC_STRING, 0, pickle_start, pickle_end,
                              array_start, array_end))
    fileobj.seek(array_end)


def read_range(fileobj, start, end):
    """The bytes [start, end) of fileobj, as nengo's Subfile bounds them."""
    fileobj.seek(start)
    data = fileobj.read(end - start)
    if len(data) != end - start:
        raise CacheIOError("range [%d, %d) runs past the end of the file" % (start, end))
    return data


def read_header(fileobj):
    header = Header(*struct.unpack(HEADER_FORMAT, fileobj.read(HEADER_SIZE)))
    if header.magic != MAGIC_STRING:
        raise CacheIOError("Not a Nengo cache object file.")
    if header.version not in SUPPORTED_PROTOCOLS:
        raise CacheIOError("NCO protocol version %d is not supported." % header.version)
    return header


def read(fileobj):
    """nengo's nco.read at fileobj.tell(); also returns the header, and
    leaves fileobj at array_end, where the next object of a chain starts."""
    header = read_header(fileobj)
    metadata = pickle.loads(read_range(fileobj, header.pickle_start, header.pickle_end))
    array = np.load(io.BytesIO(read_range(fileobj, header.array_start, header.array_end)),
                    allow_pickle=False)
    fileobj.seek(header.array_end)
    return metadata, array, header


def walk(path):
    """Reads a chain as nengo's legacy cache did: [(start, meta, array, header)], size."""
    objects = []
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        while f.tell() < size:
            start = f.tell()
            objects.append((start,) + read(f))
    return objects, size


def nengo_write_file(path, objects):
    """Writes [(metadata, array)] back to back, as nengo's legacy chain."""
    with open(path, "wb") as f:
        for metadata, array in objects:
            write(f, metadata, array)


# ---- Test data ----------------------------------------------------------------

DTYPES = ["int64", "float32", ">f8", "bool", "complex128", "uint16"]
SHAPES = [((), "C"), ((0,), "C"), ((5,), "C"), ((3, 4), "C"), ((3, 4), "F"),
          ((2, 3, 4), "C")]

# JSON metadata and the Python value nengo's reader must unpickle from it.
JSON_METAS = [
    ({"0": 237, "str": "foobar"}, {"0": 237, "str": "foobar"}),
    ({"outer": {"inner": [1, 2.5, [True, False], {}], "empty": []}, "n": -3},
     {"outer": {"inner": [1, 2.5, [True, False], {}], "empty": []}, "n": -3}),
    ({"h\u00e9llo": "w\u00f6rld", "\u65e5\u672c": "\u8a9e", "emoji": "\U0001f600 \u2028",
      "escapes": "tab\t\"quote\"\\ nl\n"},
     {"h\u00e9llo": "w\u00f6rld", "\u65e5\u672c": "\u8a9e", "emoji": "\U0001f600 \u2028",
      "escapes": "tab\t\"quote\"\\ nl\n"}),
    ({"max": 2 ** 63 - 1, "min": -2 ** 63, "tenth": 0.1, "tiny": 5e-324,
      "huge": 1.7976931348623157e308, "negzero": -0.0, "one": 1.0, "zero": 0},
     {"max": 2 ** 63 - 1, "min": -2 ** 63, "tenth": 0.1, "tiny": 5e-324,
      "huge": 1.7976931348623157e308, "negzero": -0.0, "one": 1.0, "zero": 0}),
    ([1, "two", 3.0, [[]]], [1, "two", 3.0, [[]]]),
    ("a plain string", "a plain string"),
    ({"b": {"$bytes": base64.b64encode(b"\x00\xffraw").decode()},
      "f": [{"$float": "inf"}, {"$float": "-inf"}]},
     {"b": b"\x00\xffraw", "f": [float("inf"), float("-inf")]}),
]


def make_array(dtype, shape, order):
    count = int(np.prod(shape)) if shape else 1
    values = np.arange(count) * 37 % 251
    if np.dtype(dtype).kind == "b":
        values = values % 3 == 0
    array = values.astype(dtype)
    if np.dtype(dtype).kind == "c":
        array = array + 1j * array[::-1]
    return np.asarray(array.reshape(shape), dtype=dtype, order=order)


def same(a, b):
    """Equal values of the same types, all the way down (-0.0 is not 0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return repr(a) == repr(b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def to_stash_json(value):
    """The JSON value stash gives for a Python metadata value."""
    if isinstance(value, (list, tuple)):
        return [to_stash_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_stash_json(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    if isinstance(value, float) and value != value:
        return {"$float": "nan"}
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return {"$float": "inf" if value > 0 else "-inf"}
    return value


def array_problems(got, expected):
    problems = []
    if got.dtype != expected.dtype:
        problems.append("dtype %s != %s" % (got.dtype.str, expected.dtype.str))
    if got.shape != expected.shape:
        problems.append("shape %s != %s" % (got.shape, expected.shape))
    elif not np.array_equal(got, expected):
        problems.append("values differ")
    if (got.ndim > 1 and got.size > 1 and
            got.flags.f_contiguous != expected.flags.f_contiguous):
        problems.append("memory order differs")
    return problems


# ---- Running stash ------------------------------------------------------------

class Run:
    def __init__(self, tool, tmp):
        self.tool, self.tmp = tool, tmp
        self.failures = 0
        self.checks = 0
        self.counter = 0

    def path(self, name):
        self.counter += 1
        return os.path.join(self.tmp, "%03d_%s" % (self.counter, name))

    def stash(self, *args):
        done = subprocess.run([self.tool] + list(args), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
        return (done.returncode, done.stdout.decode("utf-8", "replace"),
                done.stderr.decode("utf-8", "replace"))

    def check(self, ok, what):
        self.checks += 1
        if not ok:
            self.failures += 1
            print("FAIL %s" % what)
        return ok

    def ok_run(self, what, *args):
        """Runs stash, expecting success; returns stdout, or None on failure."""
        rc, out, err = self.stash(*args)
        if not self.check(rc == 0, "%s: stash %s exited %d: %s" % (
                what, " ".join(args), rc, err.strip().replace("\n", " | "))):
            return None
        return out

    def pack(self, what, nco, array, meta_json=None, append=False):
        npy = self.path("in.npy")
        np.save(npy, array)
        args = ["nco", "pack", nco, npy]
        if meta_json is not None:
            meta_file = self.path("meta.json")
            with open(meta_file, "w", encoding="utf-8") as f:
                json.dump(meta_json, f, ensure_ascii=False)
            args += ["--meta", "@" + meta_file]
        if append:
            args.append("--append")
        return self.ok_run(what, *args) is not None

    def ls_json(self, what, nco):
        out = self.ok_run(what, "nco", "ls", nco, "--json")
        return json.loads(out) if out is not None else None

    def unpack(self, what, nco, index):
        """stash nco unpack of object index: (array, metadata JSON, stderr) or None."""
        npy, meta = self.path("out.npy"), self.path("out.json")
        rc, _, err = self.stash("nco", "unpack", nco, npy, "--index", str(index),
                                "--meta-out", meta)
        if not self.check(rc == 0, "%s: unpack exited %d: %s" % (what, rc, err.strip())):
            return None
        with open(meta, encoding="utf-8") as f:
            return np.load(npy, allow_pickle=False), json.load(f), err


# ---- 1. stash -> nengo ------------------------------------------------------------

def check_layout(run, what, data, start, header):
    """Alignment, ordering and zero padding of one object stash wrote."""
    raw = data[start:start + HEADER_SIZE]
    run.check(raw == struct.pack(HEADER_FORMAT, *header),
              "%s: header bytes are not nengo's packing of its fields" % what)
    run.check(header.pickle_start % ALIGNMENT == 0 and header.array_start % 64 == 0,
              "%s: pickle_start %d not 16-aligned or array_start %d not 64-aligned"
              % (what, header.pickle_start, header.array_start))
    run.check(start + HEADER_SIZE <= header.pickle_start <= header.pickle_end
              <= header.array_start <= header.array_end,
              "%s: offsets out of order: %s" % (what, tuple(header)))
    run.check(not data[start + HEADER_SIZE:header.pickle_start].strip(b"\0"),
              "%s: padding after the header is not zeros" % what)
    run.check(not data[header.pickle_end:header.array_start].strip(b"\0"),
              "%s: padding after the pickle is not zeros" % what)


def test_stash_to_nengo(run):
    n = 0
    for dtype in DTYPES:
        for shape, order in SHAPES:
            array = make_array(dtype, shape, order)
            meta_json, meta_expected = JSON_METAS[n % len(JSON_METAS)]
            n += 1
            what = "stash->nengo %s %s %s" % (dtype, shape, order)
            nco = run.path("single.nco")
            if not run.pack(what, nco, array, meta_json):
                continue
            with open(nco, "rb") as f:
                data = f.read()
                f.seek(0)
                try:
                    metadata, got, header = read(f)
                except Exception as e:
                    run.check(False, "%s: nengo's read failed: %s" % (what, e))
                    continue
            problems = array_problems(got, array)
            if not same(metadata, meta_expected):
                problems.append("metadata %r != %r" % (metadata, meta_expected))
            if header.array_end != len(data):
                problems.append("array_end %d != file size %d" % (header.array_end, len(data)))
            run.check(not problems, "%s: %s" % (what, "; ".join(problems)))
            check_layout(run, what, data, 0, header)


# ---- 2. A chain stash appended, walked by nengo -------------------------------------

def chain_objects():
    return [(make_array(dtype, shape, order), JSON_METAS[i % len(JSON_METAS)])
            for i, (dtype, (shape, order)) in enumerate(zip(DTYPES, SHAPES))]


def check_walk(run, what, nco, expected):
    """nengo's walker reads expected [(array, python meta)]; returns its starts."""
    try:
        objects, size = walk(nco)
    except Exception as e:
        run.check(False, "%s: nengo's walk failed: %s" % (what, e))
        return None
    run.check(len(objects) == len(expected),
              "%s: nengo read %d objects, expected %d" % (what, len(objects), len(expected)))
    with open(nco, "rb") as f:
        data = f.read()
    for i, ((start, meta, got, header), (array, meta_expected)) in enumerate(
            zip(objects, expected)):
        problems = array_problems(got, array)
        if not same(meta, meta_expected):
            problems.append("metadata %r != %r" % (meta, meta_expected))
        run.check(not problems, "%s: object %d: %s" % (what, i, "; ".join(problems)))
        check_layout(run, "%s: object %d" % (what, i), data, start, header)
    if objects:
        run.check(objects[-1][3].array_end == size,
                  "%s: file is %d bytes, the last object ends at %d"
                  % (what, size, objects[-1][3].array_end))
    return [o[0] for o in objects]


def test_stash_chain(run):
    what = "stash chain"
    nco = run.path("chain.nco")
    objects = chain_objects()
    for i, (array, (meta_json, _)) in enumerate(objects):
        if not run.pack("%s: object %d" % (what, i), nco, array, meta_json, append=i > 0):
            return
    expected = [(array, meta) for array, (_, meta) in objects]
    starts = check_walk(run, what, nco, expected)
    listing = run.ls_json(what, nco)
    if starts is None or listing is None:
        return
    run.check([o["start"] for o in listing["objects"]] == starts,
              "%s: ls starts %s != nengo's %s"
              % (what, [o["start"] for o in listing["objects"]], starts))
    run.check(listing["tail_bytes"] == 0 and listing["file_bytes"] == os.path.getsize(nco),
              "%s: ls reports tail %d, file %d" % (what, listing["tail_bytes"],
                                                  listing["file_bytes"]))
    info = run.ok_run(what, "info", nco, "--json")
    if info is not None:
        info = json.loads(info)
        run.check(info.get("format") == "nco" and len(info.get("objects", [])) == len(objects),
                  "%s: stash info --json: %s" % (what, info))


# ---- 3. nengo -> stash ------------------------------------------------------------

NENGO_METAS = [
    {"0": 237, "str": "foobar"},
    {"tuple": (1, 2, (3, "x"), ()), "bytes": b"\x00\xff\x80bytes", "empty": b"",
     "nan": float("nan"), "inf": float("inf"), "-inf": float("-inf"), "half": 0.5,
     "none": None, "yes": True, "no": False, "neg": -7, "big": 2 ** 62,
     "nested": [(b"in", None), {"k": (1.25,)}]},
    (1, "two", b"three", None),
    None,
    "\u00e9t\u00e9 \U0001f600",
]


def check_unpack(run, what, nco, index, array, meta):
    got = run.unpack(what, nco, index)
    if got is None:
        return
    got_array, got_meta, _ = got
    problems = array_problems(got_array, array)
    expected = to_stash_json(meta)
    if not same(got_meta, expected):
        problems.append("metadata %r != %r" % (got_meta, expected))
    run.check(not problems, "%s: %s" % (what, "; ".join(problems)))


def test_nengo_to_stash(run):
    # nengo's own round-trip test.
    nco = run.path("nengo.nco")
    array = np.array([[4, 3], [2, 1]])
    nengo_write_file(nco, [({"0": 237, "str": "foobar"}, array)])
    check_unpack(run, "nengo->stash round trip", nco, 0, array, {"0": 237, "str": "foobar"})

    for i, meta in enumerate(NENGO_METAS):
        nco = run.path("nengo_meta.nco")
        array = make_array(DTYPES[i % len(DTYPES)], *SHAPES[(i + 3) % len(SHAPES)])
        nengo_write_file(nco, [(meta, array)])
        check_unpack(run, "nengo->stash metadata %d" % i, nco, 0, array, meta)

    # A legacy chain: objects back to back, none of them aligned to the file.
    nco = run.path("nengo_chain.nco")
    objects = [(NENGO_METAS[i % len(NENGO_METAS)], make_array(dtype, shape, order))
               for i, (dtype, (shape, order)) in enumerate(zip(DTYPES, SHAPES))]
    nengo_write_file(nco, objects)
    starts = [o[0] for o in walk(nco)[0]]
    listing = run.ls_json("nengo chain", nco)
    if listing is not None:
        run.check([o["start"] for o in listing["objects"]] == starts and
                  listing["tail_bytes"] == 0,
                  "nengo chain: ls starts %s tail %d, nengo wrote %s" % (
                      [o["start"] for o in listing["objects"]], listing["tail_bytes"], starts))
    for i, (meta, array) in enumerate(objects):
        check_unpack(run, "nengo chain object %d" % i, nco, i, array, meta)


# ---- 4. Metadata pickles that would call code -------------------------------------

class CallsCode:
    """Unpickling this runs a shell command: it must never be unpickled by stash."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def opaque_problems(meta, pickled):
    """{"$opaque_pickle": {"$bytes": base64 of exactly the pickle's bytes}}, as documented:
    the pickle is a bytes value, which stash's JSON mapping always tags as $bytes."""
    if not (isinstance(meta, dict) and list(meta) == ["$opaque_pickle"]):
        return ["metadata is %.80r, not {\"$opaque_pickle\": {\"$bytes\": base64}}" % (meta,)]
    value = meta["$opaque_pickle"]
    if not (isinstance(value, dict) and list(value) == ["$bytes"] and isinstance(value["$bytes"], str)):
        return ["$opaque_pickle is %.60r, not {\"$bytes\": base64}" % (value,)]
    try:
        decoded = base64.b64decode(value["$bytes"], validate=True)
    except ValueError:
        return ["$opaque_pickle is not valid base64"]
    return [] if decoded == pickled else ["$opaque_pickle is not the pickle's bytes"]


def touch_command(path):
    return "touch " + shlex.quote(path)


def test_unsafe_meta(run):
    canary = os.path.join(run.tmp, "CANARY")
    control = os.path.join(run.tmp, "CONTROL")
    # The payload is live: Python's own pickle runs it.
    pickle.loads(pickle.dumps(CallsCode(touch_command(control)), pickle.HIGHEST_PROTOCOL))
    run.check(os.path.exists(control), "unsafe meta: the control payload did not run")

    cases = [("os.system", CallsCode(touch_command(canary))),
             ("a set", {1, 2})]
    for name, meta in cases:
        what = "unsafe meta (%s)" % name
        nco = run.path("unsafe.nco")
        array = np.arange(6, dtype="int32").reshape(2, 3)
        nengo_write_file(nco, [(meta, array)])
        with open(nco, "rb") as f:
            header = read_header(f)
            pickled = read_range(f, header.pickle_start, header.pickle_end)
        got = run.unpack(what, nco, 0)
        if got is not None:
            got_array, got_meta, err = got
            problems = array_problems(got_array, array)
            problems += opaque_problems(got_meta, pickled)
            if not err.strip():
                problems.append("no note on stderr")
            run.check(not problems, "%s: %s" % (what, "; ".join(problems)))
        listing = run.ls_json(what, nco)
        if listing is not None:
            meta = listing["objects"][0].get("meta") if listing["objects"] else None
            problems = opaque_problems(meta, pickled)
            run.check(not problems, "%s: ls --json: %s" % (what, "; ".join(problems)))
        run.check(not os.path.exists(canary), "%s: the canary was created" % what)


def test_array_meta(run):
    """Metadata holding NumPy arrays (nengo's decoders, say) is read, nothing run."""
    meta = {"gain": np.arange(4.0), "shape": np.array([[1, 2], [3, 4]], dtype=">i2"),
            "scale": np.float32(0.5)}
    for protocol in (2, 4, 5):
        what = "array meta (protocol %d)" % protocol
        nco = run.path("arrays.nco")
        array = np.arange(6, dtype="int32").reshape(2, 3)
        with open(nco, "wb") as f:
            start = f.tell()
            pickle_start = start + HEADER_SIZE
            f.seek(pickle_start)
            pickle.dump(meta, f, protocol)
            pickle_end = f.tell()
            array_start = (pickle_end + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT
            f.seek(array_start)
            np.save(f, array)
            array_end = f.tell()
            f.seek(start)
            f.write(struct.pack(HEADER_FORMAT, MAGIC_STRING, 0, pickle_start, pickle_end,
                                array_start, array_end))
        got = run.unpack(what, nco, 0)
        if got is None:
            continue
        _, got_meta, _ = got
        for key, want in meta.items():
            tagged = got_meta.get(key, {}).get("$array") if isinstance(got_meta, dict) else None
            ok = isinstance(tagged, dict)
            if ok:
                raw = base64.b64decode(tagged["data"])
                back = np.frombuffer(raw, dtype=np.dtype(tagged["descr"]))
                back = back.reshape(tagged["shape"], order="F" if tagged["fortran_order"] else "C")
                ok = np.array_equal(back, np.asarray(want))
            run.check(ok, "%s: %s read back as %.80r" % (what, key, got_meta.get(key)))


# ---- 5. Damaged files -----------------------------------------------------------------

def patch_header(data, **fields):
    header = Header(*struct.unpack(HEADER_FORMAT, data[:HEADER_SIZE]))._replace(**fields)
    return struct.pack(HEADER_FORMAT, *header) + data[HEADER_SIZE:]


CORRUPT = ("corrupt", "magic", "not an nco", "format")
SHORT = ("shorter", "truncat", "past the end", "end of")
RANGE = ("range", "overlap", "order")


def damaged_files():
    """[(name, bytes, words the message must contain one of)]."""
    buf = io.BytesIO()
    write(buf, {"0": 237, "str": "foobar"}, np.arange(100, dtype="float64"))
    good = buf.getvalue()
    h = Header(*struct.unpack(HEADER_FORMAT, good[:HEADER_SIZE]))
    return [
        ("magic BAD", b"BAD" + good[3:], CORRUPT),
        ("version 255", patch_header(good, version=255), ("version",)),
        ("truncated in the array", good[:(h.array_start + h.array_end) // 2], SHORT),
        ("array_end past the end", patch_header(good, array_end=len(good) + 100), SHORT),
        ("array_start < pickle_end", patch_header(good, array_start=h.pickle_end - 8), RANGE),
        ("pickle_start inside the header", patch_header(good, pickle_start=16), RANGE),
    ]


def check_one_line_failure(run, what, rc, err, path, words):
    """Non-zero exit; one line on stderr naming the file and the problem."""
    lines = err.splitlines()
    run.check(rc != 0 and len(lines) == 1 and path in lines[0] and
              any(word in lines[0].lower() for word in words),
              "%s: exit %d, stderr %r (expected one line naming the file and one of %s)"
              % (what, rc, err, "/".join(words)))


def test_damaged(run):
    for name, data, words in damaged_files():
        nco = run.path("bad.nco")
        with open(nco, "wb") as f:
            f.write(data)
        if name in ("magic BAD", "version 255"):
            try:
                with open(nco, "rb") as f:
                    read(f)
                run.check(False, "damaged %s: nengo's reader accepted it" % name)
            except CacheIOError:
                pass
        out = run.path("bad_out.npy")
        rc, _, err = run.stash("nco", "unpack", nco, out)
        check_one_line_failure(run, "damaged %s: unpack" % name, rc, err, nco, words)
        run.check(not os.path.exists(out), "damaged %s: unpack left %s" % (name, out))
        rc, _, err = run.stash("nco", "ls", nco, "--json")
        check_one_line_failure(run, "damaged %s: ls" % name, rc, err, nco, words)


# ---- 6. An append that never committed ---------------------------------------------

def test_uncommitted_append(run):
    what = "uncommitted append"
    nco = run.path("torn.nco")
    objects = chain_objects()[:3]
    for i, (array, (meta_json, _)) in enumerate(objects[:2]):
        if not run.pack("%s: object %d" % (what, i), nco, array, meta_json, append=i > 0):
            return
    torn = b"\0" * HEADER_SIZE + b"garbage of an append cut short \xff\xfe"
    with open(nco, "ab") as f:
        f.write(torn)
    listing = run.ls_json(what, nco)
    if listing is not None:
        run.check(len(listing["objects"]) == 2 and listing["tail_bytes"] == len(torn),
                  "%s: ls reports %d objects, tail %d (expected 2, %d)" % (
                      what, len(listing["objects"]), listing["tail_bytes"], len(torn)))
    array, (meta_json, _) = objects[2]
    if run.pack("%s: append after the tail" % what, nco, array, meta_json, append=True):
        check_walk(run, what, nco, [(a, meta) for a, (_, meta) in objects])


# ---- Main -----------------------------------------------------------------------------

TESTS = [test_stash_to_nengo, test_stash_chain, test_nengo_to_stash, test_unsafe_meta,
         test_array_meta, test_damaged, test_uncommitted_append]


def main():
    if len(sys.argv) != 2:
        print("usage: nco_interop.py PATH_TO_stash")
        return 2
    tool = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        run = Run(tool, tmp)
        for test in TESTS:
            test(run)
        print("%d checks, %d failures" % (run.checks, run.failures))
        return 1 if run.failures else 0


if __name__ == "__main__":
    sys.exit(main())
