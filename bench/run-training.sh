#!/usr/bin/env bash
# Training throughput (forward + backward + Adam update) for LSTM and GRU at (8,32), (16,64), (32,128),
# batch 32 x 25 steps, all cores. Results: bench/BenchmarkDotNet.Artifacts/training/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet run -c Release --project bench/Embedded.Rnn.Bench.Training -- --filter '*' --artifacts bench/BenchmarkDotNet.Artifacts/training
