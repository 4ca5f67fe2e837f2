"""The shared ring's layout, from docs/ring.md alone, in Python: another language can attach.

1. stash creates and fills a ring; Python maps the file, parses the header by the table in
   docs/ring.md, and reads the newest window out of the slots itself.
2. Python builds a ring by the same table (a pocket ring: the data held twice); `stash ring
   info` and `stash ring read` attach to it and read it.
3. Python damages that header field by field; stash refuses each with a clear message.

usage: /usr/bin/python3 ring_python.py STASH_BINARY
Exits 77 (skipped) if NumPy is missing.
"""
import json
import mmap
import os
import struct
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError as e:
    print(f"skipped: {e}")
    sys.exit(77)

STASH = sys.argv[1]
failures = 0


def check(ok, what):
    global failures
    if not ok:
        failures += 1
        print(f"FAIL: {what}")


def stash(*args, stdin=None):
    return subprocess.run([STASH, "ring", *args], input=stdin, capture_output=True, timeout=30)


# ---- The header, by docs/ring.md's table ------------------------------------------------------

FIELDS = [  # (offset, struct format, name)
    (0, "8s", "magic"), (8, "<I", "version"), (12, "<I", "header_bytes"),
    (16, "<I", "channels"), (20, "<I", "frame_bytes"), (24, "8s", "dtype"),
    (32, "<Q", "capacity_samples"), (40, "<Q", "data_bytes"), (48, "<I", "flags"),
    (52, "<I", "meta_bytes"), (56, "<d", "rate_hz"), (64, "<Q", "created_unix_ns"),
    (128, "<Q", "written"), (136, "<Q", "announced"), (144, "<Q", "valid_from"),
    (192, "<I", "writer_state"), (196, "<i", "writer_pid"), (200, "<I", "writer_sessions"),
    (208, "<Q", "writer_claimed_unix_ns"), (216, "<i", "wake_shmid"), (224, "<Q", "wake_cookie"),
]


def parse(buf):
    h = {name: struct.unpack_from(fmt, buf, off)[0] for off, fmt, name in FIELDS}
    h["dtype"] = h["dtype"].rstrip(b"\0").decode()
    meta = bytes(buf[512:512 + h["meta_bytes"]]).split(b"\0")[:-1]
    n = h["channels"]
    h["labels"] = [s.decode() for s in meta[:n]]
    h["units"] = [s.decode() for s in meta[n:]]
    return h


def build(channels, capacity, descr, rate, labels, units, frames, pocket):
    """A ring file's bytes with frames (samples x channels) written, as a writer leaves it."""
    item = np.dtype(descr).itemsize
    meta = b"".join(s.encode() + b"\0" for s in labels + units)
    header_bytes = (512 + len(meta) + 4095) // 4096 * 4096
    frame = channels * item
    data_bytes = capacity * frame * (2 if pocket else 1)
    h = bytearray(header_bytes)
    h[0:8] = b"STASHRNG"
    struct.pack_into("<IIII", h, 8, 2, header_bytes, channels, frame)
    h[24:24 + len(descr)] = descr.encode()
    struct.pack_into("<QQIId", h, 32, capacity, data_bytes, int(pocket), len(meta), rate)
    n = len(frames)
    struct.pack_into("<QQQ", h, 128, n, n, 0)
    struct.pack_into("<IiI", h, 192, 2, 4242, 1)  # detached: its writer closed
    struct.pack_into("<iIQ", h, 216, -1, 0, 0)  # and left no wake segment
    h[512:512 + len(meta)] = meta
    data = np.zeros((capacity * (2 if pocket else 1), channels), dtype=descr)
    for k in range(max(0, n - capacity), n):
        data[k % capacity] = frames[k]
        if pocket:
            data[k % capacity + capacity] = frames[k]
    return bytes(h) + data.tobytes()


# ---- 1. stash writes, Python reads -----------------------------------------------------------

def stash_to_python(work):
    path = os.path.join(work, "eeg.ring")
    labels, units = ["Fz", "Cz", "Pz", "Oz"], ["uV", "uV", "uV", "µV"]
    r = stash("create", path, "--channels", "4", "--capacity", "1024", "--dtype", "int16",
              "--rate", "250", "--labels", ",".join(labels), "--units", ",".join(units))
    check(r.returncode == 0, f"create: {r.stderr.decode()}")
    frames = (np.arange(3000 * 4, dtype="<i2") * 7).reshape(3000, 4)
    r = stash("write", path, stdin=frames.tobytes())
    check(r.returncode == 0, f"write: {r.stderr.decode()}")
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        h = parse(m)
        want = {"magic": b"STASHRNG", "version": 2, "header_bytes": 4096, "channels": 4,
                "frame_bytes": 8, "dtype": "<i2", "capacity_samples": 1024,
                "data_bytes": 8192, "flags": 0, "rate_hz": 250.0, "written": 3000,
                "announced": 3000, "valid_from": 0, "writer_state": 2, "writer_sessions": 1,
                "labels": labels, "units": units}
        for key, value in want.items():
            check(h[key] == value, f"header {key}: {h[key]!r}, want {value!r}")
        check(h["wake_shmid"] >= 0 and h["wake_cookie"] != 0, "the writer's wake segment named")
        cap, hb = h["capacity_samples"], h["header_bytes"]
        data = np.frombuffer(m[hb:hb + cap * 8], dtype="<i2").reshape(cap, 4)
        slots = [k % cap for k in range(3000 - cap, 3000)]
        check(np.array_equal(data[slots], frames[-cap:]), "the newest window from the slots")


# ---- 2. Python writes, stash reads -----------------------------------------------------------

def python_to_stash(work):
    path = os.path.join(work, "py.ring")
    frames = np.arange(25 * 2, dtype="<f8").reshape(25, 2) / 3
    image = build(2, 10, "<f8", 100.0, ["x", "y"], ["m", "s"], frames, pocket=True)
    with open(path, "wb") as f:
        f.write(image)
    r = stash("info", path, "--json")
    check(r.returncode == 0, f"info of a Python-built ring: {r.stderr.decode()}")
    if r.returncode == 0:
        info = json.loads(r.stdout)
        for key, value in {"channels": 2, "capacity_samples": 10, "written_samples": 25,
                           "mapping": "pocket", "labels": ["x", "y"], "units": ["m", "s"],
                           "rate_hz": 100.0, "readable_from": 15}.items():
            check(info.get(key) == value, f"info {key}: {info.get(key)!r}, want {value!r}")
    for first, end in ((15, 25), (18, 25), (15, 21)):  # wrapped and not
        r = stash("read", path, "--first", str(first), "--end", str(end))
        check(r.returncode == 0 and r.stdout == frames[first:end].tobytes(),
              f"read {first}..{end}: {r.returncode} {r.stderr.decode()}")
    r = stash("read", path, "--first", "10", "--end", "20")
    check(r.returncode == 1 and b"overwritten" in r.stderr, f"overwritten window: {r.stderr}")
    return path, image


# ---- 3. Damaged headers ----------------------------------------------------------------------

def damaged(work, path, image):
    cases = [(0, b"NOTARING"), (8, struct.pack("<I", 1)), (8, struct.pack("<I", 3)), (16, struct.pack("<I", 0)),
             (24, b">f8\0"), (32, struct.pack("<Q", 2**62)), (48, struct.pack("<I", 6)),
             (52, struct.pack("<I", 4000)), (128, struct.pack("<Q", 99))]
    for offset, patch in cases:
        bad = bytearray(image)
        bad[offset:offset + len(patch)] = patch
        with open(path, "wb") as f:
            f.write(bad)
        r = stash("info", path)
        check(r.returncode == 1 and r.stderr.startswith(b"stash ring") and
              b"Traceback" not in r.stderr and len(r.stderr.splitlines()) == 1,
              f"damaged at {offset}: exit {r.returncode}, {r.stderr!r}")
    with open(path, "wb") as f:
        f.write(image[:4200])  # the header and part of the data
    r = stash("info", path)
    check(r.returncode == 1, "a cut ring file")


def main():
    with tempfile.TemporaryDirectory() as work:
        stash_to_python(work)
        path, image = python_to_stash(work)
        damaged(work, path, image)
    print("ring layout interop: " + ("ok" if failures == 0 else f"{failures} failures"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
