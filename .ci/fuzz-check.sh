#!/usr/bin/env bash
# Coverage-guided fuzzing, bounded for CI: each target (the spec parser through the generator, the safetensors
# loader) runs under AFL++ for FUZZ_SECONDS (default 75) from the committed corpus. fuzz/run.sh installs afl++
# (Debian) and the sharpfuzz instrumenter (NuGet) itself, prints the executions, and ends with "N passed, N failed"
# (a target passes when it ran and found no crash and no hang). The long runs are recorded in fuzz/README.md.
set -uo pipefail
cd "$(dirname "$0")/.."
bash fuzz/run.sh "${FUZZ_SECONDS:-75}" spec safetensors
