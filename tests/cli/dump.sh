#!/usr/bin/env bash
# stash dump: every type reads what Python's struct reads from the same bytes,
# at any offset and count, as text and as JSON; standard input works; a range
# the file does not hold, a FIFO and bad usage are refused with one line.
# usage: dump.sh STASH WORK_DIR
set -uo pipefail
stash=$1 work=$2
rm -rf "$work"
mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
python=/usr/bin/python3

# 1 KiB of fixed pseudo-random bytes, with NaN, infinities, -0.0 and the
# extreme integers in it, so every type meets its awkward values.
"$python" - "$work/data.bin" <<'EOF' || fail "could not write the test file"
import random, struct, sys
rng = random.Random(18)
data = bytearray(rng.randbytes(1024))
specials = struct.pack("<d", float("nan")) + struct.pack(">d", float("-inf")) \
    + struct.pack("<f", float("inf")) + struct.pack("<d", -0.0) + b"\xff" * 8 + b"\x80" + b"\0" * 7
data[100:100 + len(specials)] = specials
open(sys.argv[1], "wb").write(data)
EOF

# Compares stash's lines (OFFSET  VALUE) with struct's reading of the same bytes.
"$python" - "$stash" "$work/data.bin" <<'EOF' || fail "stash dump disagrees with struct"
import json, math, struct, subprocess, sys
stash, path = sys.argv[1], sys.argv[2]
data = open(path, "rb").read()
formats = {"u8": "B", "i8": "b"}
for name, code in [("u16", "H"), ("u32", "I"), ("u64", "Q"), ("i16", "h"), ("i32", "i"),
                   ("i64", "q"), ("f32", "f"), ("f64", "d")]:
    formats[name + "le"], formats[name + "be"] = "<" + code, ">" + code

def same(text, want, code):
    if code[-1] not in "fd":
        return int(text) == want
    got = float(text)
    if math.isnan(want):
        return math.isnan(got)
    # The fewest digits that read back as the same value of the type.
    return struct.pack(code, got) == struct.pack(code, want) and math.copysign(1, got) == math.copysign(1, want)

for name, code in formats.items():
    size = struct.calcsize(code)
    for offset, count in [(0, None), (3, 5), (100, 6), (1024 - size, 1), (1024, 0)]:
        args = [stash, "dump", path, "--type", name, "--offset", str(offset)]
        if count is not None:
            args += ["--count", str(count)]
        out = subprocess.run(args, capture_output=True, text=True)
        whole = (len(data) - offset) // size
        n = whole if count is None else count
        want = [struct.unpack_from(code, data, offset + i * size)[0] for i in range(n)]
        lines = out.stdout.splitlines()
        if out.returncode != 0 or len(lines) != n:
            sys.exit(f"{args}: exit {out.returncode}, {len(lines)} lines for {n}: {out.stderr}")
        for i, (line, value) in enumerate(zip(lines, want)):
            at, text = line.split("  ")
            if int(at) != offset + i * size or not same(text, value, code):
                sys.exit(f"{args}: line {i} is '{line}', struct reads {value}")
        leftover = (len(data) - offset) % size if count is None else 0
        if bool(leftover) != ("not shown" in out.stderr):
            sys.exit(f"{args}: {leftover} bytes left over, stderr '{out.stderr}'")
        # JSON: the same values, in one object.
        out = subprocess.run(args + ["--json"], capture_output=True, text=True)
        got = json.loads(out.stdout)
        if (got["type"], got["offset"], got["count"]) != (name, offset, n):
            sys.exit(f"{args} --json: {out.stdout}")
        for i, (item, value) in enumerate(zip(got["values"], want)):
            if isinstance(item, dict):
                item = item["$float"]
            elif isinstance(item, str):  # a u64 past 2^63 - 1
                item = int(item)
            if not same(str(item), value, code):
                sys.exit(f"{args} --json: value {i} is {item}, struct reads {value}")
print("dump agrees with struct on every type")
EOF

# Standard input: the same as the file.
[[ $("$stash" dump - --type i32be --offset 8 --count 4 <"$work/data.bin") == \
   $("$stash" dump "$work/data.bin" --type i32be --offset 8 --count 4) ]] ||
  fail "standard input reads differently"

# The example in the help text, exactly.
"$python" -c 'import struct, sys; sys.stdout.buffer.write(struct.pack("<8d", *[i / 2 for i in range(8)]))' \
  >"$work/run.bin"
out=$("$stash" dump "$work/run.bin" --type f64le --offset 16 --count 3) || fail "example exited $?"
[[ $out == $'16  1\n24  1.5\n32  2' ]] || fail "example printed: $out"

# Refusals: one line on stderr, nothing on stdout, exit 1 (or 2 for usage).
refused() {
  local want=$1 pattern=$2; shift 2
  local out err code=0
  out=$(timeout 10 "$stash" dump "$@" 2>"$work/err") || code=$?
  err=$(<"$work/err")
  [[ $code == "$want" ]] || fail "dump $*: exit $code, not $want ($err)"
  [[ -z $out ]] || fail "dump $*: printed '$out'"
  [[ $err == *"$pattern"* && $(wc -l <"$work/err") == 1 ]] || fail "dump $*: said '$err'"
}
refused 1 "the file holds only 8 whole values of f64le" "$work/run.bin" --type f64le --count 9
refused 1 "--offset 65 is past the end (64 bytes)" "$work/run.bin" --offset 65
refused 1 "No such file" "$work/missing.bin"
mkfifo "$work/fifo"
refused 1 "not a regular file" "$work/fifo"
refused 2 "unknown option --bogus" "$work/run.bin" --bogus
refused 2 "'f16' is not a type" "$work/run.bin" --type f16
refused 2 "'u32' is not a type" "$work/run.bin" --type u32
refused 2 "--count needs a value" "$work/run.bin" --count
refused 2 "'-1' is not a whole number" "$work/run.bin" --offset -1
refused 2 "not also" "$work/run.bin" "$work/run.bin"
refused 2 "needs a FILE" --type u8
rm -rf "$work"
echo "dump: ok"
