#!/usr/bin/env bash
# A/B timing of streaming Step and Run (T = 100) between a base commit and the working tree, in one run on one machine:
#   bash bench/ab.sh BASE [ROUNDS]        e.g. bash bench/ab.sh 6000eed 9
# Builds bench/Embedded.Rnn.Bench.Aot (the Step/Run timing program, JIT) at BASE (in a temporary worktree) and here, then
# runs the two alternately, ROUNDS processes each (base first in odd rounds, new first in even ones), so that drift on a
# shared host hits both alike (not pinned to a core: the JIT's tier-1 compilation runs on a thread of its own). Each
# process reports, per model, the median of 15 rounds of ~20 ms. A process's JIT output and code placement vary from
# run to run (a model can settle at one of two speeds for a whole run), so the table gives, per side, the median of
# those medians over the ROUNDS processes and new / base, then the same for the fastest process.
# Extra environment (e.g. DOTNET_EnableAVX512F=0) applies to both sides.
set -euo pipefail
# Call counting from the start: with the runtime's default delay the first model a process times was sometimes caught
# before its loop's tier-1 code replaced the on-stack-replacement version (lstm_i1_h8 Step at 60, 78 or 100 ns by
# process, on either side). Steady-state code is the same; only when it arrives changes. The timing program now
# compiles its loops fully optimised at once (8d6ace9), which settles this in every process; a BASE older than that
# still needs this.
export DOTNET_TC_CallCountingDelayMs=0
base=${1:?usage: bash bench/ab.sh BASE [ROUNDS]}
rounds=${2:-5}
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'git worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add --detach "$work/base" "$base" >/dev/null
dotnet build -c Release "$work/base/bench/Embedded.Rnn.Bench.Aot" -o "$work/base-bin" -nologo -v q >/dev/null
dotnet build -c Release bench/Embedded.Rnn.Bench.Aot -o "$work/new-bin" -nologo -v q >/dev/null
for ((r = 1; r <= rounds; r++)); do
  order="base new"; ((r % 2 == 0)) && order="new base"   # who goes first alternates between rounds
  for side in $order; do
    dotnet "$work/$side-bin/Embedded.Rnn.Bench.Aot.dll" | grep '^| [a-z]*_i' >"$work/$side.$r"
  done
  echo "round $r of $rounds done" >&2
done
head -n 3 <(dotnet "$work/new-bin/Embedded.Rnn.Bench.Aot.dll" rnn_i1_h8) | sed -n 1,2p
echo
echo "| model | Step base ns | Step new ns | new / base | fastest run: new / base | Run/step base ns | Run/step new ns | new / base | fastest run: new / base |"
echo "|---|--:|--:|--:|--:|--:|--:|--:|--:|"
python3 - "$work" "$rounds" <<'EOF'
import statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
def load(side):
    rows = {}
    for r in range(1, rounds + 1):
        for line in open(f"{work}/{side}.{r}"):
            cells = [c.strip() for c in line.strip().strip('|').split('|')]
            rows.setdefault(cells[0], []).append((float(cells[1]), float(cells[3])))
    return rows
base, new = load("base"), load("new")
for model in base:
    b_step = statistics.median(s for s, _ in base[model]); n_step = statistics.median(s for s, _ in new[model])
    b_run = statistics.median(r for _, r in base[model]); n_run = statistics.median(r for _, r in new[model])
    fast_step = min(s for s, _ in new[model]) / min(s for s, _ in base[model])
    fast_run = min(r for _, r in new[model]) / min(r for _, r in base[model])
    print(f"| {model} | {b_step:,.1f} | {n_step:,.1f} | {n_step / b_step:.3f} | {fast_step:.3f} | {b_run:,.1f} | {n_run:,.1f} | {n_run / b_run:.3f} | {fast_run:.3f} |")
EOF
