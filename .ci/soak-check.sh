#!/usr/bin/env bash
# Soak, bounded: tests/Soak runs one model over SOAK_STEPS steps (default 10,000,000) of the weekly CO2 series in 8
# streams on every core, checks at 10 checkpoints that every stream is bit for bit a sequential single-thread run, and
# that memory does not grow and the stepping threads allocate nothing. Killed after SOAK_TIMEOUT seconds (default
# 900), which counts as a failure. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
# Release: in a Debug build the runtime assembly is not optimised by the JIT (its pointwise operators run far slower).
dotnet build -c Release tests/Soak -nologo -v q >/dev/null || { echo "building tests/Soak failed"; echo "0 passed, 1 failed"; exit 1; }
timeout "${SOAK_TIMEOUT:-900}" dotnet tests/Soak/bin/Release/net10.0/Embedded.Rnn.Soak.dll "${SOAK_STEPS:-10000000}"
status=$?
if [ "$status" -eq 124 ]; then
  echo "the soak run did not finish within ${SOAK_TIMEOUT:-900} s"
  echo "0 passed, 1 failed"
fi
exit "$status"
