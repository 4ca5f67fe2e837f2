"""The demo's features.nco, read as nengo reads it and checked with NumPy
(run by tests/cli/demo.sh with /usr/bin/python3).

  1. nengo's reader (nco.read, reproduced in nco_interop.py) loads the file:
     the metadata unpickles to the dict stash wrote and the array is
     (windows, channels, 5) float64.
  2. NumPy recomputes the features of some windows on its own: it regenerates
     the signal from its definition in tools/demo/demo_signal.c (integer-frequency
     sines plus splitmix64 noise), applies a Hann window and np.fft.rfft, and
     sums the periodogram over each band. stash's FFT is its own, so the two
     must agree to rounding, not to the bit.

usage: demo_features.py FEATURES.nco
"""
import os
import sys

try:
    import numpy as np
except ImportError:
    print("NumPy is not installed for this python; skipping")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nco_interop  # noqa: E402  (nengo's reader, reproduced)

RATE = 1000
BANDS = [(1, 4), (4, 8), (8, 13), (13, 30), (30, 100)]
BAND_HZ = [(2, 3), (5, 6), (9, 11), (17, 22), (37, 44)]
M64 = (1 << 64) - 1


def mix64(z):
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9 & M64
    z = (z ^ (z >> 27)) * 0x94D049BB133111EB & M64
    return z ^ (z >> 31)


def signal(first, n, channels):
    """demo_signal: samples [first, first + n) x channels, float32."""
    table = np.sin(2 * np.pi * np.arange(RATE) / RATE).astype(np.float32)
    out = np.empty((n, channels), np.float32)
    samples = np.arange(first, first + n, dtype=np.uint64)
    for c in range(channels):
        hz = BAND_HZ[c % 5][(c // 5) % 2]
        amp = np.float32(1.0 + 0.25 * (c % 7))
        counters = [(int(s) * 0x10001 + c + 0x9E3779B97F4A7C15) & M64 for s in samples]
        bits = np.array([mix64(z) >> 40 for z in counters], dtype=np.float32)
        noise = bits * np.float32(2.0 ** -24) - np.float32(0.5)
        out[:, c] = amp * table[(samples * hz) % RATE] + noise
    return out


def band_power(frames):
    n = frames.shape[0]
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)
    spectrum = np.fft.rfft(frames.astype(np.float64) * hann[:, None], axis=0)
    power = np.abs(spectrum) ** 2
    scale = 2.0 / (np.sum(hann ** 2) * RATE)
    out = np.empty((frames.shape[1], len(BANDS)))
    for b, (lo, hi) in enumerate(BANDS):
        first, end = int(np.ceil(lo * n / RATE)), min(int(np.ceil(hi * n / RATE)), n // 2)
        out[:, b] = power[first:end].sum(axis=0) * scale
    return out


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    failures = 0
    with open(sys.argv[1], "rb") as f:
        meta, features, _ = nco_interop.read(f)
    channels, hop = meta["channels"], meta["hop"]
    window = meta["parameters"]["window"]
    expected_shape = ((meta["samples"] - window) // hop + 1, channels, 5)
    if features.shape != expected_shape or features.dtype != np.float64:
        print("FAIL: array %s %s, wanted %s float64" % (features.shape, features.dtype,
                                                         expected_shape))
        return 1
    windows = features.shape[0]
    picks = sorted({0, 1, windows // 2, windows - 1})
    for w in picks:
        want = band_power(signal(w * hop, window, channels))
        if not np.allclose(features[w], want, rtol=1e-9, atol=1e-12):
            worst = np.max(np.abs(features[w] - want) / np.maximum(np.abs(want), 1e-300))
            print("FAIL: window %d differs from NumPy's recomputation (relative %.3g)"
                  % (w, worst))
            failures += 1
    strongest = features.sum(axis=0).argmax(axis=1)
    if list(strongest) != [c % 5 for c in range(channels)]:
        print("FAIL: a channel's strongest band is not its sine's: %s" % list(strongest))
        failures += 1
    print("features.nco: %d windows x %d channels x 5 bands read as nengo does; windows %s "
          "match NumPy's rfft; %d failures" % (windows, channels, picks, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
