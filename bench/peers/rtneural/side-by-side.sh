#!/usr/bin/env bash
# Ours against RTNeural, one streaming step at batch 1, in one run on one machine (issue 16, item 1):
#   RTNEURAL_DIR=/path/to/RTNeural bash bench/peers/rtneural/side-by-side.sh [ROUNDS]     (default 5; ~1 minute a round)
# Builds the Step/Run timing program bench/Embedded.Rnn.Bench.Aot under the JIT (dotnet build) and with NativeAOT
# (dotnet publish; its csproj compiles for this host, IlcInstructionSet=native), and the RTNeural harness (build.sh
# beside this script), then runs the three ROUNDS times, rotating which goes first, so drift on a shared host hits all
# alike. Every process reports per model the median of 15 rounds of ~20 ms after a 300 ms warm-up (the same loop in C#
# and C++). The table gives per side the median of those medians over the ROUNDS processes, and ours / RTNeural; a
# second table lists every process's median. LSTM and GRU only: RTNeural has no plain tanh RNN layer.
# Logs: bench/BenchmarkDotNet.Artifacts/rtneural/.
set -euo pipefail
rounds=${1:-5}
cd "$(dirname "$0")/../../.."
out=bench/BenchmarkDotNet.Artifacts/rtneural
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

bash bench/peers/rtneural/build.sh
dotnet build -c Release bench/Embedded.Rnn.Bench.Aot -o "$work/jit" -nologo -v q >/dev/null
dotnet publish -c Release bench/Embedded.Rnn.Bench.Aot -o "$work/aot" -nologo -v q >/dev/null

run() {
  case $1 in
    jit) dotnet "$work/jit/Embedded.Rnn.Bench.Aot.dll" lstm; dotnet "$work/jit/Embedded.Rnn.Bench.Aot.dll" gru ;;
    aot) "$work/aot/Embedded.Rnn.Bench.Aot" lstm; "$work/aot/Embedded.Rnn.Bench.Aot" gru ;;
    rtneural) bench/peers/rtneural/build/rtneural_bench ;;
  esac
}

load_start=$(uptime)
sides=(jit aot rtneural)
for ((r = 1; r <= rounds; r++)); do
  for ((k = 0; k < 3; k++)); do
    side=${sides[(r - 1 + k) % 3]}   # who goes first rotates between rounds
    run "$side" >"$out/$side.$r.log"
    grep -E '^\| (lstm|gru)_i' "$out/$side.$r.log" >"$work/$side.$r"
  done
  echo "round $r of $rounds done" >&2
done
load_end=$(uptime)

echo "Ours (bench/Embedded.Rnn.Bench.Aot) and RTNeural, streaming Step, batch 1, float32; rounds: $rounds; $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) CPUs; .NET $(dotnet --version)"
head -n 2 "$out/jit.1.log"
head -n 2 "$out/aot.1.log"
head -n 1 "$out/rtneural.1.log"
echo "Load (uptime) at start: ${load_start##*load average: }; at end: ${load_end##*load average: }"
echo
python3 - "$work" "$rounds" <<'PY'
import statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
sides = ["jit", "aot", "rtneural"]
# per side, per model: the Step median of every process
medians = {s: {} for s in sides}
for s in sides:
    for r in range(1, rounds + 1):
        for line in open(f"{work}/{s}.{r}"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            medians[s].setdefault(cells[0], []).append(float(cells[1]))
target = lambda model: 0.67 if model.endswith(("_i1_h8", "_i8_h32")) else 1.0
print("| model | ours JIT ns | ours NativeAOT ns | RTNeural ns | JIT / RTNeural | NativeAOT / RTNeural | target |")
print("|---|--:|--:|--:|--:|--:|--:|")
for model in medians["rtneural"]:
    jit, aot, rt = (statistics.median(medians[s][model]) for s in sides)
    print(f"| {model} | {jit:,.1f} | {aot:,.1f} | {rt:,.1f} | {jit / rt:.2f} | {aot / rt:.2f} | ≤ {target(model):.2f} |")
print()
print("Every process's Step median, ns, in round order:")
print()
print("| model | ours JIT | ours NativeAOT | RTNeural |")
print("|---|---|---|---|")
for model in medians["rtneural"]:
    print(f"| {model} | " + " | ".join(", ".join(f"{v:,.1f}" for v in medians[s][model]) for s in sides) + " |")
PY
