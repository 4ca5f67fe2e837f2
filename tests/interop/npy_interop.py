"""NPY interop with NumPy (run by CTest with /usr/bin/python3).

NumPy writes arrays of every dtype, byte order, memory order and shape stash
supports, in versions 1.0, 2.0 and 3.0; npy_roundtrip reads each with stash
and writes it back. Then:
  - NumPy loads every file stash wrote, with the same dtype, shape, order and
    values;
  - each file stash wrote is byte-for-byte what numpy.save writes for the
    array NumPy loaded (so stash writes as NumPy does, version 1.0).
Exits 77 (CTest's skip) if NumPy is missing.
"""
import io
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    from numpy.lib import format as npformat
except ImportError:
    print("numpy is not installed: skipping")
    sys.exit(77)

DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
          "uint64", "float16", "float32", "float64", "complex64", "complex128"]
SHAPES = [(), (0,), (5,), (3, 4), (2, 0, 3), (1, 7), (2, 3, 4), (1,) * 10]


def make(dtype, shape, order, byteorder):
    dt = np.dtype(dtype).newbyteorder(byteorder)
    count = int(np.prod(shape)) if shape else 1
    values = (np.arange(count) * 37 % 251).astype(dtype)
    if np.dtype(dtype).kind == "c":
        values = values + 1j * values[::-1]
    return np.asarray(values.reshape(shape), dtype=dt, order=order)


def write_inputs(folder):
    arrays = {}
    for dtype in DTYPES:
        for shape in SHAPES:
            for order in "CF":
                for byteorder in "<>":
                    a = make(dtype, shape, order, byteorder)
                    for version in (None, (2, 0), (3, 0)):
                        name = "%s_%s_%s_%s_%s.npy" % (
                            dtype, "x".join(map(str, shape)) or "scalar", order,
                            "le" if byteorder == "<" else "be",
                            "v%d" % version[0] if version else "default")
                        with open(os.path.join(folder, name), "wb") as f:
                            npformat.write_array(f, a, version=version)
                        arrays[name] = a
    return arrays


def main():
    tool = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "numpy"), os.path.join(tmp, "stash")
        os.mkdir(src)
        os.mkdir(dst)
        arrays = write_inputs(src)
        subprocess.run([tool, src, dst], check=True)
        failures = 0
        for name, expected in sorted(arrays.items()):
            path = os.path.join(dst, name)
            ours = open(path, "rb").read()
            got = np.load(path)
            reference = io.BytesIO()
            np.save(reference, got)
            problems = []
            if got.dtype != expected.dtype:
                problems.append("dtype %s != %s" % (got.dtype, expected.dtype))
            if got.shape != expected.shape:
                problems.append("shape %s != %s" % (got.shape, expected.shape))
            if not np.array_equal(got, expected):
                problems.append("values differ")
            if ours != reference.getvalue():
                problems.append("bytes differ from numpy.save")
            if problems:
                failures += 1
                print("%s: %s" % (name, "; ".join(problems)))
        print("%d files, %d failures" % (len(arrays), failures))
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
