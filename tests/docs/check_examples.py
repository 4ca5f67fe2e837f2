#!/usr/bin/python3
"""Compiles, and runs, every complete C example in the docs.

A complete example is a fenced block whose info string is `c example`:

    ```c example
    #include <stash/stash.h>
    int main(void) { ... }
    ```

Plain `c` blocks are fragments and are left alone. Each example is compiled
as a user would compile it (the compiler's default C dialect) with -Wall
-Wextra -Wpedantic -Werror against the build's headers and static library,
then run in a directory of its own, where it must exit 0 within a minute.

The files read are ROOT/README.md and ROOT/docs/*.md.

usage: check_examples.py --root ROOT --cc CC --include DIR --lib LIBSTASH_A
                         [--libs "LIBS"] [--cflags "FLAGS"] --work DIR
"""
import argparse
import glob
import os
import re
import shlex
import shutil
import subprocess
import sys

FENCE = re.compile(r"^```(.*)$")
RUN_SECONDS = 60


def examples(path):
    """(line, text) of each `c example` block of the Markdown file at path."""
    found, block, start = [], None, 0
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            fence = FENCE.match(line.rstrip("\n"))
            if block is None:
                if fence and fence.group(1).split() == ["c", "example"]:
                    block, start = [], number + 1
            elif fence and not fence.group(1).strip():
                found.append((start, "".join(block)))
                block = None
            else:
                block.append(line)
    if block is not None:
        sys.exit(f"{path}:{start}: a `c example` block is never closed")
    return found


def check(args, path, line, text):
    """Compiles and runs one example; returns a failure message or None."""
    name = re.sub(r"[^A-Za-z0-9]+", "_", os.path.relpath(path, args.root)) + f"_{line}"
    where = f"{os.path.relpath(path, args.root)}:{line}"
    workdir = os.path.join(args.work, name)
    os.makedirs(workdir)
    source = os.path.join(workdir, "example.c")
    with open(source, "w", encoding="utf-8") as f:
        f.write(f'#line {line} "{where.split(":")[0]}"\n{text}')
    program = os.path.join(workdir, "example")
    command = ([args.cc] + shlex.split(args.cflags)
               + ["-Wall", "-Wextra", "-Wpedantic", "-Werror", "-I", args.include,
                  source, "-o", program, args.lib] + shlex.split(args.libs)
               + ["-pthread", "-lm"])
    built = subprocess.run(command, capture_output=True, text=True)
    if built.returncode != 0:
        return f"{where}: does not compile:\n{built.stderr}"
    try:
        ran = subprocess.run([program], cwd=workdir, capture_output=True, text=True,
                             timeout=RUN_SECONDS)
    except subprocess.TimeoutExpired:
        return f"{where}: still running after {RUN_SECONDS} s"
    if ran.returncode != 0:
        return f"{where}: exits {ran.returncode}:\n{ran.stdout}{ran.stderr}"
    print(f"{where}: compiles and runs")
    return None


def main():
    parser = argparse.ArgumentParser()
    for option in ("--cc", "--include", "--lib", "--work", "--root"):
        parser.add_argument(option, required=True)
    parser.add_argument("--libs", default="")
    parser.add_argument("--cflags", default="")
    args = parser.parse_args()

    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    failures, count = [], 0
    files = [os.path.join(args.root, "README.md")]
    files += sorted(glob.glob(os.path.join(args.root, "docs", "*.md")))
    for path in files:
        for line, text in examples(path):
            count += 1
            failure = check(args, path, line, text)
            if failure:
                failures.append(failure)
    if count == 0:
        sys.exit("no `c example` block found: has the marker changed?")
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    if failures:
        sys.exit(1)
    shutil.rmtree(args.work)
    print(f"{count} examples compiled and ran")


if __name__ == "__main__":
    main()
