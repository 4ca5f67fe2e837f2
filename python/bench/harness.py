"""The one way the Python benchmarks time things (python/bench/bench_*.py).

Each bench_<part>.py defines rows(quick) returning a list of Row. A row
times stash and a baseline in interleaved rounds (so load on a shared machine
hits both alike) and reports the median of each with its spread. A target is
a ratio to the baseline measured in the same run ("stash time <= 1/40 of
joblib's"); a budget in seconds is informational unless the issue set one.
Quick mode (what CI runs) gives figures without verdicts.
"""
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable, Optional


def per_call(fn: Callable[[], object], min_time: float) -> float:
    """Seconds per call of fn, calling it in batches until min_time has passed."""
    fn()  # warm: first-call costs (imports, page faults) are not the figure
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            return elapsed / number
        number *= 2 if elapsed <= 0 else max(2, min(10, int(min_time / elapsed) + 1))


@dataclass
class Row:
    figure: str                     # what is measured, e.g. "memoize hit, small arguments"
    stash: list = field(default_factory=list)      # seconds per call, one per round
    baseline_name: str = ""         # e.g. "joblib.Memory hit"
    baseline: list = field(default_factory=list)
    max_ratio: Optional[float] = None   # target: median(stash)/median(baseline) <= max_ratio
    budget: Optional[float] = None      # target: median(stash) <= budget seconds
    note: str = ""

    @property
    def ratio(self) -> Optional[float]:
        if not self.baseline:
            return None
        return statistics.median(self.stash) / statistics.median(self.baseline)

    def verdict(self) -> str:
        met = []
        if self.max_ratio is not None and self.ratio is not None:
            met.append(self.ratio <= self.max_ratio)
        if self.budget is not None:
            met.append(statistics.median(self.stash) <= self.budget)
        if not met:
            return ""
        return "met" if all(met) else "MISSED"


def compare(figure: str, stash_fn, baseline_name: str = "", baseline_fn=None, *,
            quick: bool, max_ratio=None, budget=None, note="") -> Row:
    """Times stash_fn and baseline_fn in interleaved rounds."""
    rounds, min_time = (1, 0.01) if quick else (7, 0.1)
    row = Row(figure, baseline_name=baseline_name, max_ratio=max_ratio, budget=budget, note=note)
    for _ in range(rounds):
        row.stash.append(per_call(stash_fn, min_time))
        if baseline_fn is not None:
            row.baseline.append(per_call(baseline_fn, min_time))
    return row


def seconds(value: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value / 1e-9:.3g} ns"


def spread(values: list) -> str:
    if len(values) < 2:
        return seconds(values[0])
    return f"{seconds(statistics.median(values))} ({seconds(min(values))}–{seconds(max(values))})"
