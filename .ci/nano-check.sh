#!/usr/bin/env bash
# The nanoFramework flavour ("target": "nanoFramework"): compile the generated code for every nano spec against
# the real nanoFramework.CoreLibrary 1.17.11 mscorlib with warnings as errors (tools/NanoCheck/Compile), check it
# is the very source the desktop parity tests run (tests/obj, when built), build the device sample, then scan the
# assemblies with System.Reflection.Metadata for what nanoFramework rejects but the compiler accepts
# (tools/NanoCheck/Scanner), and require the scanner to reject a negative control (tools/NanoCheck/BadProbe).
# Not run on a device: nanoCLR is not available here. Ends with the line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

passed=0
failed=0
pass() { echo "PASS: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $1"; failed=$((failed + 1)); }

out=netstandard2.0
nano=tools/NanoCheck

echo "== compile the nano specs against nanoFramework's mscorlib (warnings are errors)"
if dotnet build $nano/Compile -warnaserror -nologo -v:q; then
  pass "nano compile check builds"
else
  fail "nano compile check builds"
fi

generated=$nano/Compile/obj/Debug/$out/generated/Embedded.Rnn.Generator/Embedded.Rnn.Generator.RnnGenerator
specs=$(( $(ls tests/Models/nano_*.rnn.json | wc -l) + $(ls $nano/Compile/models/*.rnn.json | wc -l) ))
emitted=$(ls "$generated"/*.Rnn.g.cs 2>/dev/null | wc -l)
if [ "$emitted" -eq "$specs" ] && ! grep -l '#error' "$generated"/*.Rnn.g.cs >/dev/null 2>&1; then
  pass "a model for every nano spec ($emitted of $specs)"
else
  fail "a model for every nano spec ($emitted of $specs)"
fi

# The desktop parity tests compile the same specs bound by the same declarations: the generated files must be identical.
desktop=tests/obj/Debug/net10.0/generated/Embedded.Rnn.Generator/Embedded.Rnn.Generator.RnnGenerator
if [ -d "$desktop" ]; then
  differ=0
  for f in "$generated"/Embedded.Rnn.Tests.Models.Nano*.Rnn.g.cs; do
    cmp -s "$f" "$desktop/$(basename "$f")" || { echo "differs from the desktop build: $(basename "$f")"; differ=1; }
  done
  if [ "$differ" -eq 0 ]; then pass "nano sources identical to the ones the desktop parity tests run"; else fail "nano sources identical to the desktop parity tests'"; fi
else
  echo "(tests not built: skipping the comparison with the desktop parity tests' generated sources)"
fi

echo "== device sample (samples/NanoDevice)"
if dotnet build samples/NanoDevice -warnaserror -nologo -v:q; then
  pass "nanoFramework sample builds"
else
  fail "nanoFramework sample builds"
fi

echo "== negative control (must compile, and be rejected by the scanner)"
if dotnet build $nano/BadProbe -warnaserror -nologo -v:q; then
  pass "negative control builds"
else
  fail "negative control builds"
fi

echo "== metadata scan"
if dotnet build $nano/Scanner -warnaserror -nologo -v:q; then
  scanner() { dotnet run --project $nano/Scanner --no-build -- "$@"; }
  scan_counts() {
    local log
    log=$(mktemp)
    scanner "$@" | tee "$log"
    if [[ $(tail -n 1 "$log") =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
      passed=$((passed + BASH_REMATCH[1]))
      failed=$((failed + BASH_REMATCH[2]))
    else
      fail "scanner reported no counts"
    fi
  }
  scan_counts $nano/Compile/bin/Debug/$out/Embedded.Rnn.NanoCheck.dll samples/NanoDevice/bin/Debug/$out/NanoDevice.dll
  scan_counts --expect-reject $nano/BadProbe/bin/Debug/$out/Embedded.Rnn.NanoBadProbe.dll
else
  fail "scanner builds"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
