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

check "digits classification (GRU, test accuracy >= 90 % in fast mode)" \
  dotnet run -c Release --project samples/DigitsClassification -- --fast --out "$tmp/digits"
check "digits confusion-matrix chart" test -s "$tmp/digits/digits_confusion.png"
check "character language models (every model below the unigram bpc)" \
  dotnet run -c Release --project samples/CharLanguageModel -- --fast --out "$tmp/charlm"
check "language-model chart" test -s "$tmp/charlm/charlm_bpc.png"
check "vanishing gradients (tanh RNN gradient at distance 100 < 1e-6 of the loss's; GRU starts learning)" \
  dotnet run -c Release --project samples/VanishingGradients -- --fast --out "$tmp/vanishing"
check "gradient-flow charts" test -s "$tmp/vanishing/gradient_flow_init.png" -a -s "$tmp/vanishing/gradient_flow_trained.png"

rm -rf "$tmp"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
