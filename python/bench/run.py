"""Runs the Python package's benchmarks and prints a Markdown table.

    python3 run.py [--quick] [--out FILE] [part ...]

Parts are the bench_<part>.py files beside this one. Every figure is the
median of interleaved rounds with its spread, beside a baseline measured in
the same run; verdicts are given only in full runs (quick runs are smoke
figures).
"""
import argparse
import importlib
import os
import pathlib
import platform
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import harness  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke figures, no verdicts")
    parser.add_argument("--out", help="write the table here as well")
    parser.add_argument("parts", nargs="*")
    args = parser.parse_args()
    here = pathlib.Path(__file__).resolve().parent
    parts = args.parts or sorted(p.stem[len("bench_"):] for p in here.glob("bench_*.py"))
    lines = [f"Python {platform.python_version()}, {os.cpu_count()} CPUs"
             + (", quick run: smoke figures, no verdicts" if args.quick else ""), "",
             "| figure | stash | baseline | baseline time | ratio | target | verdict |",
             "|---|---|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    missed = 0
    for part in parts:
        module = importlib.import_module(f"bench_{part}")
        for row in module.rows(args.quick):
            target = []
            if row.max_ratio is not None:
                target.append(f"ratio ≤ {row.max_ratio:.3g}")
            if row.budget is not None:
                target.append(f"≤ {harness.seconds(row.budget)}")
            verdict = "" if args.quick else row.verdict()
            missed += verdict == "MISSED"
            ratio = f"{row.ratio:.3g}" if row.ratio is not None else ""
            base = harness.spread(row.baseline) if row.baseline else ""
            lines.append(f"| {row.figure} | {harness.spread(row.stash)} | {row.baseline_name} "
                         f"| {base} | {ratio} | {', '.join(target)} | {verdict} |")
            print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    if args.out:
        pathlib.Path(args.out).write_text(text)
    print(f"{missed} target(s) missed" if not args.quick else "quick run: no verdicts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
