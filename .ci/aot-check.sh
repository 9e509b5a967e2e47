#!/usr/bin/env bash
# The NativeAOT edge binary (samples/EdgeAot): publishes it for linux-x64 (x86-64-v3, warnings are errors, so
# zero AOT/trim warnings), then checks its size (<= 3 MB) and that its output on a PyTorch reference input
# equals the JIT build's and PyTorch's. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
out=artifacts/aot-check
passed=0
failed=0
check() { # name, command...
  if "${@:2}"; then echo "PASS $1"; passed=$((passed + 1)); else echo "FAIL $1"; failed=$((failed + 1)); fi
}

echo "== publish samples/EdgeAot (NativeAOT, linux-x64)"
if ! dotnet publish samples/EdgeAot -c Release -r linux-x64 -warnaserror --artifacts-path "$out" -o "$out/publish" -v quiet -nologo; then
  echo "aot-check: publish failed"
  echo "0 passed, 1 failed"
  exit 1
fi

binary=$out/publish/EdgeAot
size=$(stat -c %s "$binary")
echo "binary size: $size bytes"
check "binary size <= 3 MB" test "$size" -le $((3 * 1024 * 1024))

data=samples/EdgeAot/data
"$binary" "$data/reference-input.csv" --state "$data/reference-state.txt" > "$out/aot.csv" 2> "$out/aot.err"
cat "$out/aot.err"
dotnet run --project samples/EdgeAot --no-build -- "$data/reference-input.csv" --state "$data/reference-state.txt" > "$out/jit.csv" 2>/dev/null

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
check "AOT output equals the JIT build's" compare "$out/aot.csv" "$out/jit.csv" 1e-6
check "AOT output matches PyTorch within 1e-5" compare "$out/aot.csv" "$data/reference-output.csv" 1e-5
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
