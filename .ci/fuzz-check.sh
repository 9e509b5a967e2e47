#!/usr/bin/env bash
# Coverage-guided fuzzing, bounded for CI: each target (the spec parser through the generator, the safetensors
# loader) runs under AFL++ for FUZZ_SECONDS (default 75) from the committed corpus. fuzz/run.sh installs afl++
# (Debian) and the sharpfuzz instrumenter (NuGet) itself, prints the executions, and ends with "N passed, N failed"
# (a target passes when it ran and found no crash and no hang). The spec target compiles one generated model in 64
# (FuzzTargets.CompileEvery); then every model the spec corpus generates is compiled (errors and warnings fail).
# The long runs are recorded in fuzz/README.md. Ends with the combined "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
bash fuzz/run.sh "${FUZZ_SECONDS:-75}" spec safetensors | tee "$log"
passed=0
failed=1 # unless fuzz/run.sh reports its counts
if [[ $(tail -n 1 "$log") =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
  passed=${BASH_REMATCH[1]}
  failed=${BASH_REMATCH[2]}
fi

echo "== every model the spec corpus generates compiles cleanly"
harness=fuzz/Embedded.Rnn.Fuzz/bin/Debug/net10.0/Embedded.Rnn.Fuzz.dll
[ -f "$harness" ] || dotnet build fuzz/Embedded.Rnn.Fuzz -nologo -v q >/dev/null
if dotnet "$harness" replay spec --compile-all fuzz/corpus/spec | tail -n 1; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
