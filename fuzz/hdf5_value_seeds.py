#!/usr/bin/python3
"""Writes the seed corpus of fuzz_hdf5_value from real HDF5 files.

    /usr/bin/python3 fuzz/hdf5_value_seeds.py STASH STORE_TOOL OUTDIR

The target's inputs are programs that build a file (fuzz/fuzz_hdf5_value.c
says why, and gives the format). This makes small files with stash's own
hdf5: store (STASH is the stash program, STORE_TOOL tests/interop's
store_tool, both in a build tree) and with h5py, then writes each as the
program that rebuilds it: its groups, datasets (type, shape, layout, filters,
the first bytes of the data), stash:type words and links, in the order the
file lists them. A link name is URL-unquoted first, so an h5py file can ask
for names only a forged file holds ("%2Fext%2Fx" becomes "/ext/x").
"""
import json
import os
import subprocess
import sys
import tempfile
from urllib.parse import unquote

import h5py
import numpy as np

WORDS = ["tuple", "list", "bytes", "null", "array", "dict", "", "frob"]


class Program:
    def __init__(self, f):
        self.out = bytearray()
        root = f["/"]
        self.objects = {h5py.h5o.get_info(root.id).addr: 0}
        self.count = 1
        tracked = root.id.get_create_plist().get_link_creation_order() & \
            h5py.h5p.CRT_ORDER_TRACKED
        self.out.append((1 if tracked else 0) | (2 if f.libver[0] == "latest" else 0))

    def byte(self, v):
        self.out.append(v & 0xFF)

    def string(self, s):
        s = s[:31]
        self.byte(len(s))
        self.out += s

    def made(self, addr):
        self.objects[addr] = self.count
        self.count += 1


def type_code(p, t):
    """TYPE bytes for the HDF5 type t (make_type in the target)."""
    cls, size = t.get_class(), t.get_size()
    big = hasattr(t, "get_order") and t.get_order() == h5py.h5t.ORDER_BE
    if cls == h5py.h5t.INTEGER:
        v = [1, 2, 4, 8].index(size) + (4 if t.get_sign() == h5py.h5t.SGN_NONE else 0)
        p.byte(0), p.byte(v + (8 if big else 0))
    elif cls == h5py.h5t.FLOAT:
        p.byte(1), p.byte({4: 0, 8: 1, 2: 2}.get(size, 4) + (8 if big and size != 2 else 0))
    elif cls == h5py.h5t.ENUM:
        p.byte(2), p.byte(0)
    elif cls == h5py.h5t.COMPOUND:
        names = [t.get_member_name(i) for i in range(t.get_nmembers())]
        if names == [b"r", b"i"]:
            part = t.get_member_type(0)
            big = part.get_order() == h5py.h5t.ORDER_BE
            p.byte(3), p.byte((1 if part.get_size() == 8 else 0) | (2 if big else 0))
        else:
            p.byte(4), p.byte(0)
    elif cls == h5py.h5t.STRING:
        utf8 = 1 if t.get_cset() == h5py.h5t.CSET_UTF8 else 0
        pad = {h5py.h5t.STR_NULLTERM: 0, h5py.h5t.STR_NULLPAD: 2, h5py.h5t.STR_SPACEPAD: 4}
        if t.is_variable_str():
            p.byte(6), p.byte(utf8)
        else:
            p.byte(5), p.byte(utf8 | pad[t.get_strpad()]), p.byte(size - 1)
    elif cls == h5py.h5t.VLEN:
        p.byte(7), p.byte(0)
    elif cls == h5py.h5t.ARRAY:
        p.byte(8), p.byte(t.get_array_dims()[0] - 1)
    elif cls == h5py.h5t.OPAQUE:
        p.byte(9), p.byte(next(v for v in range(0, 48, 3) if 1 + v % 8 == size))
    elif cls == h5py.h5t.BITFIELD:
        p.byte(9), p.byte(1)
    else:
        p.byte(9), p.byte(2)  # a reference


def dim_code(d):
    if d < 64:
        return d
    k = max(0, min(15, (d.bit_length() - 25) // 2))
    return 0xF0 + k


def dataset(p, ds):
    t, space = ds.id.get_type(), ds.id.get_space()
    type_code(p, t)
    kind = space.get_simple_extent_type()
    if kind == h5py.h5s.SCALAR:
        p.byte(0)
    elif kind == h5py.h5s.NULL:
        p.byte(2)
    else:
        dims = space.shape
        p.byte(3), p.byte(len(dims))
        for d in dims:
            p.byte(dim_code(d))
    dcpl = ds.id.get_create_plist()
    layout = {h5py.h5d.CONTIGUOUS: 0, h5py.h5d.COMPACT: 1, h5py.h5d.CHUNKED: 2}[dcpl.get_layout()]
    filters = [dcpl.get_filter(i)[0] for i in range(dcpl.get_nfilters())]
    layout |= (4 if h5py.h5z.FILTER_DEFLATE in filters else 0) | \
        (8 if h5py.h5z.FILTER_SHUFFLE in filters else 0) | \
        (16 if h5py.h5z.FILTER_FLETCHER32 in filters else 0)
    written = ds.id.get_storage_size() > 0 and kind != h5py.h5s.NULL
    p.byte(layout | (32 if written else 0))
    if layout & 3 == 2:
        for c in dcpl.get_chunk():
            p.byte(min(c, 16) - 1)
    if not written:
        return
    if t.get_class() == h5py.h5t.STRING and t.is_variable_str():
        for s in np.ravel(ds[()]):
            p.string(s if isinstance(s, bytes) else s.encode())
    elif t.get_class() == h5py.h5t.VLEN:
        for s in np.ravel(ds[()]):
            p.byte(len(s))
    else:
        raw = np.asarray(ds[()], dtype=ds.dtype).tobytes()[:63]
        p.byte(len(raw))
        p.out += raw


def word(p, obj):
    """A stash:type attribute on obj, as the word operation that makes it."""
    if "stash:type" not in obj.attrs:
        return
    a = h5py.h5a.open(obj.id, b"stash:type")
    t, space = a.get_type(), a.get_space()
    value = obj.attrs["stash:type"]
    text = value if isinstance(value, (bytes, str)) else np.ravel(value)[0] \
        if space.get_simple_extent_type() != h5py.h5s.NULL else b""
    text = text.encode() if isinstance(text, str) else bytes(text) if isinstance(text, bytes) else b""
    variable = t.get_class() == h5py.h5t.STRING and t.is_variable_str()
    if t.get_class() == h5py.h5t.INTEGER:
        form = 4
    elif space.get_simple_extent_type() == h5py.h5s.NULL:
        form = 5
    elif space.get_simple_extent_type() == h5py.h5s.SIMPLE:
        form = 3 if variable else 2
    else:
        form = 1 if variable else 0
    utf8 = t.get_class() == h5py.h5t.STRING and t.get_cset() == h5py.h5t.CSET_UTF8
    p.byte(3), p.byte(form)
    known = text.decode(errors="replace") in WORDS
    p.byte(WORDS.index(text.decode()) if known else 0xC0)
    p.byte(1 if utf8 else 0)
    if not known:
        p.string(text)
    if form == 0:
        p.byte(max(0, t.get_size() - len(text)))


def members(g):
    order = h5py.h5.INDEX_NAME
    if g.id.get_create_plist().get_link_creation_order() & h5py.h5p.CRT_ORDER_TRACKED:
        order = h5py.h5.INDEX_CRT_ORDER
    names = []
    g.id.links.iterate(names.append, idx_type=order)
    return names


def group(p, g):
    for raw in members(g):
        name = unquote(raw.decode()).encode()
        info = g.id.links.get_info(raw)
        if info.type == h5py.h5l.TYPE_SOFT:
            p.byte(5), p.string(name), p.byte(0), p.string(g.id.links.get_val(raw))
            continue
        if info.type == h5py.h5l.TYPE_EXTERNAL:
            file, path = g.id.links.get_val(raw)
            p.byte(6), p.string(name), p.string(file), p.string(path)
            continue
        obj = h5py.h5o.open(g.id, raw)
        addr = h5py.h5o.get_info(obj).addr
        if addr in p.objects:
            p.byte(4), p.string(name), p.byte(p.objects[addr])
            continue
        kind = h5py.h5o.get_info(obj).type
        if kind == h5py.h5o.TYPE_GROUP:
            sub = g[raw.decode()]
            tracked = sub.id.get_create_plist().get_link_creation_order() & \
                h5py.h5p.CRT_ORDER_TRACKED
            p.byte(0), p.string(name), p.byte(1 if tracked else 0)
            p.made(addr)
            word(p, sub)
            group(p, sub)
            p.byte(1)
        elif kind == h5py.h5o.TYPE_DATASET:
            ds = g[raw.decode()]
            p.byte(2), p.string(name)
            dataset(p, ds)
            p.made(addr)
            word(p, ds)
        else:
            p.byte(7), p.string(name)
            type_code(p, h5py.h5t.open(g.id, raw))
            p.made(addr)


def program(path):
    with h5py.File(path, "r") as f:
        p = Program(f)
        group(p, f["/"])
        return bytes(p.out)


# ---- The files ------------------------------------------------------------------------------

def h5py_file(path, fill, latest=False):
    with h5py.File(path, "w", libver="latest" if latest else "earliest") as f:
        fill(f)


def scalars(f):
    f["n"], f["x"], f["t"] = 3, 2.5, True
    f["s"] = "héllo"
    f["raw"] = b"raw\xff"
    f.create_dataset("padded", data=np.bytes_(b"abc"), dtype="S6")


def corelay(f):
    g = f.create_group("pair")
    g["0"], g["1"], g["2"] = np.arange(3.0), 7, "s"
    f["be"] = np.arange(4, dtype=">u2")
    f["c"] = np.complex64(1 + 2j)
    f["f16"] = np.arange(6, dtype="<f2").reshape(2, 3)


def marked(f):
    g = f.create_group("t")
    g.attrs["stash:type"] = "tuple"
    g["1"], g["0"] = 1, 0
    g = f.create_group("l")
    g.attrs.create("stash:type", np.bytes_(b"list"))
    g["0"] = "a"
    f["b"] = np.frombuffer(b"\x00ab", dtype="u1")
    f["b"].attrs["stash:type"] = "bytes"
    f["z"] = np.float32(2.5)
    f["z"].attrs["stash:type"] = "array"
    f["e"] = h5py.Empty("f8")
    f["e"].attrs["stash:type"] = "null"


def filtered(f):
    f.create_dataset("gz", data=np.arange(48, dtype="<i4"), compression="gzip", shuffle=True,
                     fletcher32=True, chunks=(16,))
    f.create_dataset("chunked", data=np.arange(10, dtype="<c8"), chunks=(3,))
    f.create_dataset("flags", data=np.arange(50) % 3 == 0, compression="gzip")


def links(f):
    f["v"] = np.arange(2.0)
    f["soft"] = h5py.SoftLink("/v")
    f["ext"] = h5py.ExternalLink("other.h5", "/x")
    g = f.create_group("g")
    g["alias"], g["up"] = f["v"], f["/"]
    f["alias"] = g


def types(f):
    f["compound"] = np.zeros(1, dtype=[("a", "<i4"), ("b", "<f8")])
    f.create_dataset("enum", data=np.arange(2, dtype="i1"),
                     dtype=h5py.enum_dtype({"A": 0, "B": 1}, basetype="i1"))
    f.create_dataset("vlen", (1,), dtype=h5py.vlen_dtype(np.int32))
    f.create_dataset("refs", (1,), dtype=h5py.ref_dtype)
    f["opaque"] = np.void(b"\x01\x02\x03")
    f["named"] = np.dtype("<f8")
    f.create_dataset("strs", data=["x", "yz"], dtype=h5py.string_dtype())


def hashed(f):
    g = f.create_group("xxh3-128:" + "a1" * 16)
    d = g.create_group("data")
    d["000"], d["001"] = np.arange(2, dtype="<f4"), 5
    g["meta"] = "{}"


def tracked(f):
    g = f.create_group("d", track_order=True)
    g["zeta"], g["alpha"] = 1, 2
    g.create_group("mid", track_order=True)["a"] = "x"


def hostile(f):
    f["sibling"] = 1
    f["ext"] = h5py.ExternalLink("other.h5", "/secret")
    f.create_group("through_ext")["%2Fext%2Fx"] = 0
    f.create_group("to_sibling")["%2Fsibling"] = 0
    f.create_group("dot")["%2E"] = 0
    prev = f.create_group("l3")
    prev["v"] = 1
    for i in (2, 1, 0):  # shared groups, each linked twice from the level above
        g = f.create_group(f"l{i}")
        g["a"], g["b"] = prev, prev
        prev = g
    f.create_dataset("huge", shape=(2**40,), dtype="f8")
    f.create_dataset("huge_gzip", shape=(2**30,), dtype="f8", chunks=(2**16,), compression="gzip")


def stash_files(stash, tool, out, work):
    def put(name, key, value, via_tool=False):
        src = os.path.join(work, "value.json")
        with open(src, "w") as fh:
            json.dump(value, fh)
        cmd = [tool, "put"] if via_tool else [stash, "store", "put"]
        subprocess.run(cmd + ["hdf5:" + os.path.join(out, name), key, src], check=True)

    put("stash_dict", "d", {"n": 3, "x": 2.5, "s": "text", "t": True, "z": None,
                            "b": {"$bytes": "AAEC"}})
    put("stash_array", "a", {"$array": {"descr": ">f4", "fortran_order": False,
                                        "shape": [2, 2], "data": "AACAPwAAAEAAAEBAAACAQA=="}})
    put("stash_nested", "k/n", {"$tuple": [[1, "x"], {"$tuple": []}, {"e": {}}]},
        via_tool=True)
    inputs, meta, result = (os.path.join(work, n) for n in ("in.json", "meta.json", "res.json"))
    for path, value in ((inputs, [1]), (meta, {"r": 1}), (result, {"$tuple": [1, 2.5]})):
        with open(path, "w") as fh:
            json.dump(value, fh)
    subprocess.run([tool, "memo", "hdf5:" + os.path.join(out, "stash_memo"), inputs, meta,
                    result], check=True, stdout=subprocess.DEVNULL)


def main():
    stash, tool, out = sys.argv[1:4]
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        stash_files(stash, tool, work, work)
        for name, fill, latest in (("h5py_scalars", scalars, False),
                                   ("h5py_corelay", corelay, False),
                                   ("h5py_marked", marked, True),
                                   ("h5py_filtered", filtered, False),
                                   ("h5py_links", links, False),
                                   ("h5py_types", types, True),
                                   ("h5py_hashed", hashed, False),
                                   ("h5py_tracked", tracked, True),
                                   ("h5py_hostile", hostile, False)):
            h5py_file(os.path.join(work, name), fill, latest)
        for name in sorted(os.listdir(work)):
            if name.endswith(".lock") or name.endswith(".json"):
                continue
            code = program(os.path.join(work, name))
            with open(os.path.join(out, name), "wb") as fh:
                fh.write(code)
            print(f"{len(code):5d}  {name}")


if __name__ == "__main__":
    main()
