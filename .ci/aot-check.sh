#!/usr/bin/env bash
# The NativeAOT edge binary (samples/EdgeAot), with float32 and with int8 baked weights: publishes each for
# linux-x64 (x86-64-v3, warnings are errors, so zero AOT/trim warnings), then checks its size (<= 3 MB), prints
# its peak RSS, and checks that its output on a PyTorch reference input equals the JIT build's and is within its
# bar of PyTorch's. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
out=artifacts/aot-check
passed=0
failed=0
check() { # name, command...
  if "${@:2}"; then echo "PASS $1"; passed=$((passed + 1)); else echo "FAIL $1"; failed=$((failed + 1)); fi
}

data=samples/EdgeAot/data

compare() { # got, expected, bound (scaled)
  python3 - "$1" "$2" "$3" <<'PY'
import sys
got = [[float(v) for v in l.split(",")] for l in open(sys.argv[1]) if l.strip()]
exp = [[float(v) for v in l.split(",")] for l in open(sys.argv[2]) if l.strip() and not l.startswith("#")]
bound = float(sys.argv[3])
ok = len(got) == len(exp) and all(len(a) == len(b) for a, b in zip(got, exp))
worst = max((abs(a - b) / max(1.0, abs(b)) for ra, rb in zip(got, exp) for a, b in zip(ra, rb)), default=float("inf")) if ok else float("inf")
print(f"max scaled difference {worst:.2e} (bound {bound:g})")
sys.exit(0 if ok and worst <= bound else 1)
PY
}

# Runs the binary on the reference input, with its peak RSS by GNU time when the machine has it (Debian's "time").
run_measured() { # binary, output csv, error log
  local measure=()
  [ -x /usr/bin/time ] && measure=(/usr/bin/time -f "peak RSS %M KB, %e s wall" -a -o "$3")
  "${measure[@]}" "$1" "$data/reference-input.csv" --state "$data/reference-state.txt" > "$2" 2> "$3"
}

# float32 weights (the sample's default), then the same weights baked as int8 (WeightPrecision=int8): each published
# NativeAOT with zero warnings, within 3 MB, equal to its own JIT build and within its bar of PyTorch's output
# (float32: 1e-5; int8: 2e-2, the bar tests/QuantisedWeightsTests.cs derives for int8 against float32).
for precision in f32 int8; do
  echo "== publish samples/EdgeAot (NativeAOT, linux-x64, weights $precision)"
  if ! dotnet publish samples/EdgeAot -c Release -r linux-x64 -p:WeightPrecision=$precision -warnaserror \
      --artifacts-path "$out/$precision" -o "$out/$precision/publish" -v quiet -nologo; then
    check "publish with $precision weights" false
    continue
  fi

  binary=$out/$precision/publish/EdgeAot
  size=$(stat -c %s "$binary")
  echo "binary size ($precision weights): $size bytes"
  check "binary size <= 3 MB ($precision)" test "$size" -le $((3 * 1024 * 1024))

  check "AOT binary runs ($precision)" run_measured "$binary" "$out/$precision/aot.csv" "$out/$precision/aot.err"
  cat "$out/$precision/aot.err"
  # The JIT build of the same sources, beside the AOT one.
  dotnet build samples/EdgeAot -p:WeightPrecision=$precision --artifacts-path "$out/$precision/jit" -v quiet -nologo >/dev/null \
    && dotnet "$out/$precision/jit/bin/EdgeAot/debug/EdgeAot.dll" "$data/reference-input.csv" --state "$data/reference-state.txt" > "$out/$precision/jit.csv" 2>/dev/null
  check "AOT output equals the JIT build's ($precision)" compare "$out/$precision/aot.csv" "$out/$precision/jit.csv" 1e-6
  bar=$([ "$precision" = f32 ] && echo 1e-5 || echo 2e-2)
  check "AOT output matches PyTorch within $bar ($precision)" compare "$out/$precision/aot.csv" "$data/reference-output.csv" "$bar"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
