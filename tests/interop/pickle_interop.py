"""Pickle interop with Python's own pickle module (run by CTest).

  - Python pickles plain values in protocols 0 to 5; stash reads each one
    (through pickle_tool, which prints stash's JSON of the tree) and gives
    back the same value.
  - stash writes pickles in protocols 3, 4 and 5 of values Python sends it as
    JSON; pickle.loads gives back the same value.
  - Pickles that import or call, and types the value tree lacks, are refused
    with the expected status and never executed.
"""
import base64
import json
import math
import os
import pickle
import subprocess
import sys
import tempfile

UNSAFE, UNSUPPORTED, LIMIT, CORRUPT = -40017, -40007, -40014, -40011

VALUES = [
    None, True, False, 0, 1, -1, 255, 256, 65535, 65536, -129, 2**31 - 1, -2**31,
    2**31, 2**40, -2**40, 2**63 - 1, -2**63, 0.0, -0.0, 1.5, 0.1, 1e300, -2.5e-310,
    float("nan"), float("inf"), float("-inf"),
    "", "foobar", "é€😀", "a\nb\\c\"'", "x" * 300, "\x00nul",
    b"", b"\x00\x01\xff", bytes(range(256)), b"y" * 70000, bytearray(b"ba"), bytearray(),
    [], [1, [2, [3, []]]], list(range(2500)), (), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4),
    {}, {"0": 237, "str": "foobar"}, {"k%d" % i: i for i in range(1500)},
    {"nested": {"list": [1.5, None, (True, b"z")], "": "empty key"}},
]


def expected_json(v):
    """The JSON stash's mapping gives for a Python value (see stash/value.h)."""
    if isinstance(v, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(bytes(v)).decode()}
    if isinstance(v, float) and not math.isfinite(v):
        return {"$float": "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")}
    if isinstance(v, (list, tuple)):
        return [expected_json(x) for x in v]
    if isinstance(v, dict):
        return {k: expected_json(x) for k, x in v.items()}
    return v


def same(a, b):
    """Equality where NaN equals NaN and -0.0 keeps its sign."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def tool(*args):
    return subprocess.run([TOOL, *args], capture_output=True, text=True)


def python_to_stash(work):
    failures = 0
    for protocol in range(6):
        for i, v in enumerate(VALUES):
            path = os.path.join(work, "p%d-%d.pkl" % (protocol, i))
            with open(path, "wb") as f:
                pickle.dump(v, f, protocol)
            r = tool("read", path)
            got = json.loads(r.stdout) if r.returncode == 0 else r.stdout.strip()
            if not same(got, expected_json(v)):
                print(("protocol %d, value %r: stash read %r" % (protocol, v, got))[:300])
                failures += 1
    return failures


def to_tagged_json(v):
    return json.dumps(expected_json(v), allow_nan=False)


def plain(v):
    """What comes back through JSON: tuples as lists, bytearray as bytes."""
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, bytearray):
        return bytes(v)
    return v


def stash_to_python(work):
    failures = 0
    for protocol in (3, 4, 5):
        for i, v in enumerate(VALUES):
            src = os.path.join(work, "v%d.json" % i)
            out = os.path.join(work, "s%d-%d.pkl" % (protocol, i))
            with open(src, "w") as f:
                f.write(to_tagged_json(v))
            r = tool("write", src, out, str(protocol))
            if r.returncode != 0:
                print(("protocol %d, value %r: stash refused: %s" % (protocol, v, r.stdout))[:300])
                failures += 1
                continue
            with open(out, "rb") as f:
                data = f.read()
            back = pickle.loads(data)
            if data[1] != protocol or not same(back, plain(v)):
                print(("protocol %d, value %r: Python loaded %r" % (protocol, v, back))[:300])
                failures += 1
    return failures


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > %s" % CANARY,))


class Plain:
    pass


def refusals(work):
    a = []
    a.append(a)
    cases = [
        ("os.system via REDUCE", lambda p: pickle.dumps(Evil(), p), UNSAFE, range(6)),
        ("a class instance", lambda p: pickle.dumps(Plain(), p), UNSAFE, range(6)),
        ("a bare function", lambda p: pickle.dumps(os.getcwd, p), UNSAFE, range(6)),
        ("a set", lambda p: pickle.dumps({1, 2}, p), None, range(6)),
        ("a frozenset", lambda p: pickle.dumps(frozenset({1}), p), None, range(6)),
        ("a self-referencing list", lambda p: pickle.dumps(a, p), UNSUPPORTED, range(6)),
        ("an int past int64", lambda p: pickle.dumps(2**64, p), UNSUPPORTED, range(6)),
        ("a dict with an int key", lambda p: pickle.dumps({1: 2}, p), UNSUPPORTED, range(6)),
        ("a complex number", lambda p: pickle.dumps(1j, p), UNSAFE, range(6)),
    ]
    failures = 0
    for name, make, status, protocols in cases:
        for p in protocols:
            path = os.path.join(work, "bad.pkl")
            with open(path, "wb") as f:
                f.write(make(p))
            r = tool("read", path)
            got = int(r.stdout.split()[1]) if r.returncode == 2 else None
            # Sets are opcodes of their own from protocol 4, REDUCE calls before.
            want = status if status is not None else (UNSUPPORTED if p >= 4 else UNSAFE)
            if got != want:
                print("%s, protocol %d: expected %s, got %r" % (name, p, want, r.stdout))
                failures += 1
    if os.path.exists(CANARY):
        print("a pickle ran code!")
        failures += 1
    return failures


def main():
    global TOOL, CANARY
    TOOL = sys.argv[1]
    with tempfile.TemporaryDirectory() as work:
        CANARY = os.path.join(work, "canary")
        failures = python_to_stash(work) + stash_to_python(work) + refusals(work)
    total = len(VALUES) * 9
    print("pickle interop: %d values x 9 protocol directions, %d failures" % (total, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
