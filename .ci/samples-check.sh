#!/usr/bin/env bash
# The application samples, each run in --fast mode (fewer epochs or steps, the same checks): a sample exits
# non-zero and prints why when its headline claim fails, and must write its chart (samples build optimised
# in Debug too: samples/Directory.Build.props). Ends with "N passed, N failed".
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
  dotnet run --project samples/Forecasting -- --fast --out "$tmp/forecasting"
check "forecasting charts" test -s "$tmp/forecasting/co2-forecast.png" -a -s "$tmp/forecasting/co2-rmse-by-horizon.png"
check "CO2 forecasting with bf16 weights (mean RMSE within 1 % of float32)" \
  dotnet run --project samples/Forecasting -- --fast --precision bf16 --out "$tmp/forecasting-bf16"
check "CO2 forecasting with int8 weights (within 5 % of float32; and with quantisation-aware training)" \
  dotnet run --project samples/Forecasting -- --fast --precision int8 --out "$tmp/forecasting-int8"
check "anomaly detection (Nile 1899 shift: precision >= 50 %, recall 100 %; injected CO2 anomalies: both >= 75 %)" \
  dotnet run --project samples/AnomalyDetection -- --fast --out "$tmp/anomaly"
check "anomaly charts" test -s "$tmp/anomaly/nile-anomalies.png" -a -s "$tmp/anomaly/co2-anomalies.png"
check "digits classification (GRU, test accuracy >= 90 % in fast mode)" \
  dotnet run --project samples/DigitsClassification -- --fast --out "$tmp/digits"
check "digits confusion-matrix chart" test -s "$tmp/digits/digits_confusion.png"
check "digits classification with bf16 weights (test accuracy within 1 % of float32)" \
  dotnet run --project samples/DigitsClassification -- --fast --precision bf16 --out "$tmp/digits-bf16"
check "digits classification with int8 weights (within 1 accuracy point of float32; and with quantisation-aware training)" \
  dotnet run --project samples/DigitsClassification -- --fast --precision int8 --out "$tmp/digits-int8"
check "character language models (every model below the unigram bpc)" \
  dotnet run --project samples/CharLanguageModel -- --fast --out "$tmp/charlm"
check "language-model chart" test -s "$tmp/charlm/charlm_bpc.png"
check "character language models with bf16 weights (each model's bpc within 1 % of float32)" \
  dotnet run --project samples/CharLanguageModel -- --fast --precision bf16 --out "$tmp/charlm-bf16"
check "character language models with int8 weights (each within 0.05 bpc of float32; and with quantisation-aware training)" \
  dotnet run --project samples/CharLanguageModel -- --fast --precision int8 --out "$tmp/charlm-int8"
check "vanishing gradients (tanh RNN gradient at distance 100 < 1e-6 of the loss's; GRU starts learning)" \
  dotnet run --project samples/VanishingGradients -- --fast --out "$tmp/vanishing"
check "gradient-flow charts" test -s "$tmp/vanishing/gradient_flow_init.png" -a -s "$tmp/vanishing/gradient_flow_trained.png"

rm -rf "$tmp"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
