#!/usr/bin/env bash
# The application samples, each run in --fast mode (fewer epochs or steps, the same checks): a sample exits
# non-zero and prints why when its headline claim fails, and must write its chart. Release builds: the Debug
# JIT does not optimise the generated kernels. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
passed=0
failed=0

# check NAME COMMAND...: runs the command, counts it as passed when it exits 0.
check() {
  local name=$1
  shift
  echo "-- $name"
  local start=$SECONDS
  if "$@"; then
    passed=$((passed + 1))
    echo "-- $name: passed ($((SECONDS - start)) s)"
  else
    failed=$((failed + 1))
    echo "-- $name: FAILED ($((SECONDS - start)) s)"
  fi
}

check "CO2 forecasting (GRU RMSE below seasonal naive and linear trend at 1, 4, 13, 26, 52 weeks and on average)" \
  dotnet run -c Release --project samples/Forecasting -- --fast --out "$tmp/forecasting"
check "forecasting charts" test -s "$tmp/forecasting/co2-forecast.png" -a -s "$tmp/forecasting/co2-rmse-by-horizon.png"
check "anomaly detection (Nile 1899 shift: precision >= 50 %, recall 100 %; injected CO2 anomalies: both >= 75 %)" \
  dotnet run -c Release --project samples/AnomalyDetection -- --fast --out "$tmp/anomaly"
check "anomaly charts" test -s "$tmp/anomaly/nile-anomalies.png" -a -s "$tmp/anomaly/co2-anomalies.png"

rm -rf "$tmp"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
