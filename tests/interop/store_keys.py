"""Content keys recomputed from docs/store.md's specification, independently of
stash's C code, with Python's xxhash and NumPy; compared with `stash store hash`.

usage: /usr/bin/python3 store_keys.py STASH_BINARY [--print-vectors]
Exits 77 (skipped) if NumPy or xxhash is missing.
"""
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import xxhash
except ImportError as e:
    print(f"skipped: {e}")
    sys.exit(77)


def encode(v):
    """The canonical encoding, version 1 (docs/store.md, "Content keys")."""
    if v is None:
        return b"N"
    if isinstance(v, bool):
        return b"B" + bytes([v])
    if isinstance(v, int):
        return b"I" + struct.pack("<q", v)
    if isinstance(v, float):
        if math.isnan(v):
            bits = 0x7FF8000000000000
        elif v == 0.0:
            bits = 0
        else:
            bits = struct.unpack("<Q", struct.pack("<d", v))[0]
        return b"F" + struct.pack("<Q", bits)
    if isinstance(v, str):
        b = v.encode("utf-8")
        return b"S" + struct.pack("<Q", len(b)) + b
    if isinstance(v, bytes):
        return b"Y" + struct.pack("<Q", len(v)) + v
    if isinstance(v, (list, tuple)):
        out = (b"L" if isinstance(v, list) else b"T") + struct.pack("<Q", len(v))
        return out + b"".join(encode(x) for x in v)
    if isinstance(v, dict):
        items = sorted((k.encode("utf-8"), x) for k, x in v.items())
        out = b"D" + struct.pack("<Q", len(items))
        for k, x in items:
            out += struct.pack("<Q", len(k)) + k + encode(x)
        return out
    if isinstance(v, np.ndarray):
        little = v.dtype.newbyteorder("<") if v.dtype.itemsize > 1 else v.dtype
        descr = little.str.encode()
        out = b"A" + bytes([len(descr)]) + descr + bytes([v.ndim])
        out += b"".join(struct.pack("<Q", n) for n in v.shape)
        return out + v.astype(little).tobytes(order="C")
    raise TypeError(type(v))


def key(v):
    return "xxh3-128:" + xxhash.xxh3_128_hexdigest(b"STASHKEY\x01" + encode(v))


def stash_hash(stash, path, meta):
    cmd = [stash, "store", "hash", path] + (["--meta", json.dumps(meta)] if meta is not None else [])
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()


def arrays():
    a = np.arange(12, dtype="<f8").reshape(3, 4)
    yield "c-order float64", a
    yield "big-endian", a.astype(">f8")
    yield "fortran order", np.asfortranarray(a)
    yield "fortran big-endian 3-d", np.asfortranarray(np.arange(24, dtype=">i4").reshape(2, 3, 4))
    yield "0-d", np.array(3.5)
    yield "empty", np.zeros((0, 5), dtype="<i2")
    yield "bool", np.array([True, False, True])
    yield "uint8", np.arange(7, dtype=np.uint8)
    yield "complex64 big-endian", np.array([1 + 2j, -3j], dtype=">c8")
    yield "complex128 fortran", np.asfortranarray(np.arange(6).reshape(2, 3) * (1 + 1j))
    yield "float16", np.linspace(0, 1, 5, dtype=np.float16)
    yield "int64 large fortran", np.asfortranarray(np.arange(300_000, dtype="<i8").reshape(600, 500))


METAS = [None, {"rate": 1000, "labels": ["a", "b"], "gain": 0.5},
         {"z": 1, "a": [None, True, -0.0, "é"]}]


def main():
    stash = sys.argv[1]
    failures = 0
    checks = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, a in arrays():
            path = os.path.join(tmp, "a.npy")
            np.save(path, a)
            for meta in METAS:
                want = key((a, meta))
                got = stash_hash(stash, path, meta)
                checks += 1
                if got != want:
                    failures += 1
                    print(f"FAIL {name} meta={meta}: stash {got}, spec {want}")
    # Layout does not matter: the same values, the same key.
    a = np.arange(12, dtype="<f8").reshape(3, 4)
    same = {key((x, None)) for x in (a, a.astype(">f8"), np.asfortranarray(a))}
    checks += 1
    if len(same) != 1:
        failures += 1
        print("FAIL: layouts of the same values give different keys")
    if "--print-vectors" in sys.argv:
        for v in [None, True, 0, -1, 2**63 - 1, 1.5, float("nan"), -0.0, "", "héllo", b"\x00\xff",
                  [], (), {}, [1, [2, (3,)]], {"b": 1, "a": 2}, np.arange(3, dtype="<i4")]:
            print(repr(v), key(v))
    print(f"{checks - failures}/{checks} keys match the specification")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
