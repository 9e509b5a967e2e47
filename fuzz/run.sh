#!/usr/bin/env bash
# Coverage-guided fuzzing of the spec parser (through the generator) and the safetensors loader with AFL++ and
# SharpFuzz. Usage: fuzz/run.sh <seconds per target> [spec|safetensors ...]   (default: both targets)
# Installs afl++ (Debian) and the sharpfuzz instrumenter (NuGet dotnet tool) if they are missing, publishes the
# harness, instruments the runtime and generator assemblies, runs each target in turn from fuzz/corpus/<target>,
# copies any crash or hang inputs to fuzz/findings/<target>/ and prints one line of figures per target, then
# "N passed, N failed" (a target passes when it ran and found no crash and no hang).
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(spec safetensors)
# FUZZ_WORK keeps the build and AFL's output (queue, crashes) in a folder of your choice; otherwise a temporary one
# is removed at the end (crash and hang inputs are copied into the repository first).
if [ -n "${FUZZ_WORK:-}" ]; then
  work=$FUZZ_WORK
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
tools=$work/tools
passed=0
failed=0

if ! command -v afl-fuzz >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq afl++ >/dev/null
fi
if ! command -v afl-fuzz >/dev/null 2>&1; then
  echo "fuzz: afl-fuzz is not available"
  echo "0 passed, ${#targets[@]} failed"
  exit 1
fi
dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$tools" >/dev/null 2>&1 || true
if [ ! -x "$tools/sharpfuzz" ]; then
  echo "fuzz: could not install the sharpfuzz tool"
  echo "0 passed, ${#targets[@]} failed"
  exit 1
fi

bin=$work/bin
rm -rf "$bin"  # sharpfuzz refuses an already instrumented assembly
dotnet publish fuzz/Embedded.Rnn.Fuzz/Embedded.Rnn.Fuzz.csproj -c Release -o "$bin" --nologo -v quiet || { echo "fuzz: publish failed"; echo "0 passed, ${#targets[@]} failed"; exit 1; }
# Only our code is instrumented: the coverage AFL steers by is the parser's, the emitter's and the loader's.
for dll in Embedded.Rnn.dll Embedded.Rnn.Generator.dll; do
  "$tools/sharpfuzz" "$bin/$dll" || { echo "fuzz: instrumenting $dll failed"; echo "0 passed, ${#targets[@]} failed"; exit 1; }
done

export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1
for target in "${targets[@]}"; do
  findings=$work/findings-$target
  echo "== fuzzing '$target' for $seconds s"
  # -t: an input that takes over 10 s is a hang (the largest valid spec generates in about 1 s); -m none: .NET
  # reserves far more address space than it uses.
  afl-fuzz -i "fuzz/corpus/$target" -o "$findings" -V "$seconds" -t 10000 -m none -x fuzz/dictionaries/$target.dict \
    -- dotnet "$bin/Embedded.Rnn.Fuzz.dll" fuzz "$target" > "$work/afl-$target.log" 2>&1
  stats=$findings/default/fuzzer_stats
  if [ ! -f "$stats" ]; then
    echo "fuzz: '$target' did not start; the last lines of its log:"
    tail -n 30 "$work/afl-$target.log"
    failed=$((failed + 1))
    continue
  fi
  field() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$stats"; }
  crashes=$(field saved_crashes)
  hangs=$(field saved_hangs)
  echo "fuzz: $target: $(field execs_done) executions in $(field run_time) s ($(field execs_per_sec) per s), corpus $(field corpus_count), edges $(field edges_found), crashes $crashes, hangs $hangs"
  if [ "$crashes" != 0 ] || [ "$hangs" != 0 ]; then
    mkdir -p "fuzz/findings/$target"
    cp "$findings"/default/crashes/id* "$findings"/default/hangs/id* "fuzz/findings/$target/" 2>/dev/null
    echo "fuzz: inputs copied to fuzz/findings/$target; replay them with: dotnet run --project fuzz/Embedded.Rnn.Fuzz -- replay $target fuzz/findings/$target"
    failed=$((failed + 1))
  else
    passed=$((passed + 1))
  fi
  # New coverage AFL found, for whoever wants to grow the committed corpus (fuzz/README.md says how).
  [ -n "${FUZZ_WORK:-}" ] && echo "fuzz: queue in $findings/default/queue"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
