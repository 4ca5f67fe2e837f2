"""hdf5: files whose writers were SIGKILLed mid-put, recovered by stash, then read by h5py.

    store_h5py_crash.py STASH STORE_CRASH_WRITER

A writer process (store_crash_writer) puts 64 B and 1 MiB arrays under eight
slots and prints each item once its put returned; this script kills it after
a random number of puts and a random pause, so most kills land inside a put.
Then stash recovers the file (`stash store recover`, or any writable open:
both are tried), and only then does h5py open it, as docs/store.md asks: every
slot must hold exactly its newest committed item, or the item that was in
flight, and the file must open without complaint. Shared and exclusive
writers, KILLS kills each (STASH_CRASH_KILLS, default 40; the seed is printed).
Exit 77 if h5py or NumPy is missing.
"""
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

try:
    import h5py
    import numpy as np
except ImportError:
    print("h5py or numpy missing: skipped")
    sys.exit(77)

SLOTS = 8


def item(i):
    count = (1 << 20) // 8 if i % 2 else 64 // 8
    return np.arange(count, dtype=np.float64) + float(i * 1000003)


def kill_one(writer, uri, first, exclusive, rng):
    """Starts a writer at item first, kills it; gives (committed items, the last item begun)."""
    args = [writer, uri, str(first)] + (["exclusive"] if exclusive else [])
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    want = rng.randrange(0, 3)
    committed = []
    while len(committed) < want:
        line = p.stdout.readline()
        if not line:
            break
        committed.append(int(line))
    time.sleep(rng.random() * 0.004)
    p.send_signal(signal.SIGKILL)
    # The rest through the same buffered reader (communicate would miss what it holds).
    out, err = p.stdout.read(), p.stderr.read()
    p.wait()
    committed += [int(x) for x in out.split()]
    if p.returncode != -signal.SIGKILL:
        sys.exit(f"FAIL: the writer stopped by itself ({p.returncode}): {err}")
    begun = (committed[-1] + 1) if committed else first
    return committed, begun


def recover(stash, uri, n):
    """The kill's file made whole by stash before h5py sees it: by the CLI, or a plain open."""
    if n % 2 == 0:
        r = subprocess.run([stash, "store", "recover", uri, "--json"], capture_output=True,
                           text=True)
        if r.returncode != 0:
            sys.exit(f"FAIL: stash store recover {uri}: {r.stderr}")
        return json.loads(r.stdout)["rolled_back"]
    # A writable open that changes nothing: the delete of a key that is never there.
    r = subprocess.run([stash, "store", "rm", uri, "absent"], capture_output=True, text=True)
    if r.returncode != 1 or "no such entry" not in r.stderr:
        sys.exit(f"FAIL: a writable open of {uri} after a kill: {r.stderr}")
    return None


def check_with_h5py(path, have, in_flight):
    """Every slot holds its newest committed item, or the one in flight; gives the new model."""
    with h5py.File(path, "r") as f:
        for slot in range(SLOTS):
            key = f"slot-{slot}"
            allowed = [i for i in (have[slot], in_flight) if i is not None and i % SLOTS == slot]
            if key not in f:
                if have[slot] is not None:
                    sys.exit(f"FAIL: {path}: committed item {have[slot]} under {key} is lost")
                continue
            got = f[key][()]
            match = [i for i in allowed if got.shape == item(i).shape and
                     np.array_equal(got, item(i))]
            if not match:
                held = int(got[0]) // 1000003 if got.size else None
                sys.exit(f"FAIL: {path}: {key} holds item {held} ({got.size} elements), neither "
                         f"item {have[slot]} nor {in_flight}")
            have[slot] = match[0]


def run(stash, writer, work, exclusive, kills, rng):
    path = os.path.join(work, "crash-held.h5" if exclusive else "crash.h5")
    uri = "hdf5:" + path
    have = [None] * SLOTS
    first, rolled = 0, 0
    for n in range(kills):
        committed, begun = kill_one(writer, uri, first, exclusive, rng)
        for i in committed:
            have[i % SLOTS] = i
        in_flight = begun  # killed during its put, or just before it began
        if not os.path.exists(path) and not committed and all(h is None for h in have):
            first = begun + 1
            continue  # killed before the first writer had made the file
        rolled += bool(recover(stash, uri, n))
        check_with_h5py(path, have, in_flight)
        first = begun + 1
    mode = "exclusive" if exclusive else "shared"
    print(f"{mode}: {kills} kills, {first} items begun, {rolled} puts rolled back by "
          f"`stash store recover`; h5py read every committed item")


def main():
    stash, writer = sys.argv[1:3]
    kills = int(os.environ.get("STASH_CRASH_KILLS") or 40)
    seed = int(os.environ.get("STASH_CRASH_SEED") or str(random.randrange(1 << 32)), 0)
    print(f"STASH_CRASH_SEED={seed}")
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as work:
        for exclusive in (False, True):
            run(stash, writer, work, exclusive, kills, rng)
    print("ok")


main()
