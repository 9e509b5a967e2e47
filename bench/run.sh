#!/usr/bin/env bash
# Runs the whole benchmark suite of issue 4 from the repository root (about 10 minutes on 2 cores):
#   bash bench/run.sh
# 1. agreement check: ours, scalar, TensorPrimitives and ONNX Runtime agree within 1e-4 on every cell and size;
# 2. the BenchmarkDotNet suites (LSTM/GRU/RNN × 4 sizes × Step/Sequence × 4 competitors + machine limits),
#    ending in the ratio table (bench/BenchmarkDotNet.Artifacts/results/ratios.md);
# 3. the generator benchmark;
# 4. the Step/Run timing program under the JIT, then published with NativeAOT and run again;
# 5. when RTNEURAL_DIR points at an RTNeural checkout, the RTNeural peer (bench/peers/rtneural): agreement check, then
#    its Step timing (for ours / RTNeural in one run, alternating, use bench/peers/rtneural/side-by-side.sh).
# Logs go to bench/BenchmarkDotNet.Artifacts/. Assets are committed; bench/assets/make_assets.py remakes them.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/BenchmarkDotNet.Artifacts
mkdir -p "$out"
dotnet run -c Release --project bench/Embedded.Rnn.Bench -- --verify | tee "$out/verify.log"
dotnet run -c Release --project bench/Embedded.Rnn.Bench -- --filter '*' --artifacts "$out" | tee "$out/suite.log"
dotnet run -c Release --project bench/Embedded.Rnn.Bench.Generator -- --filter '*' --artifacts "$out/generator" | tee "$out/generator.log"
dotnet run -c Release --project bench/Embedded.Rnn.Bench.Aot | tee "$out/jit.log"
dotnet publish -c Release bench/Embedded.Rnn.Bench.Aot -o bench/Embedded.Rnn.Bench.Aot/publish
bench/Embedded.Rnn.Bench.Aot/publish/Embedded.Rnn.Bench.Aot | tee "$out/aot.log"
if [[ -n "${RTNEURAL_DIR:-}" ]]; then
  bash bench/peers/rtneural/build.sh
  bench/peers/rtneural/build/rtneural_bench | tee "$out/rtneural.log"
else
  echo "RTNeural peer skipped: RTNEURAL_DIR is not set (see bench/README.md, \"RTNeural side by side\")"
fi
