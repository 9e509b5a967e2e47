#!/usr/bin/env bash
# What baking weights in their stored type does to the NativeAOT edge binary at a realistic size: copies
# samples/EdgeAot to a temporary directory, swaps its sensor spec for a model of bench/assets (default: the
# LSTM with 32 inputs and 128 hidden units, 82,944 weights), publishes it with f32, bf16 and int8 weights, and
# prints each binary's size and the peak RSS of a run over 1,000 random steps (GNU time: Debian's "time").
#   bash bench/edge/binary-size.sh [cell] [input] [hidden]        e.g. bash bench/edge/binary-size.sh gru 16 64
set -euo pipefail
cd "$(dirname "$0")/../.."
cell=${1:-lstm}
input=${2:-32}
hidden=${3:-128}
asset=bench/assets/${cell}_i${input}_h${hidden}.safetensors
[ -f "$asset" ] || { echo "no asset $asset"; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$(pwd)
cp -r samples/EdgeAot "$work/EdgeAot"
rm -rf "$work/EdgeAot/bin" "$work/EdgeAot/obj"
sed -i "s#\.\./\.\./#$root/#g" "$work/EdgeAot/EdgeAot.csproj"
base64 -w0 "$asset" > "$work/EdgeAot/models/sensor.safetensors.b64"
for precision in f32 bf16 int8; do
  spec=$work/EdgeAot/models/sensor$([ $precision = f32 ] || echo ".$precision").rnn.json
  echo "{ \"cell\": \"$cell\", \"input\": $input, \"hidden\": $hidden, \"precision\": \"$precision\", \"weights\": \"sensor.safetensors.b64\" }" > "$spec"
done
python3 -c "
import random
random.seed(1)
print('\n'.join(','.join(f'{random.uniform(-1, 1):.4f}' for _ in range($input)) for _ in range(1000)))" > "$work/input.csv"
echo "$cell ($input, $hidden), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u '+%Y-%m-%d %H:%M UTC')"
for precision in f32 bf16 int8; do
  dotnet publish "$work/EdgeAot" -c Release -r linux-x64 -p:WeightPrecision=$precision --artifacts-path "$work/out-$precision" \
    -o "$work/publish-$precision" -v quiet -nologo >/dev/null
  binary=$work/publish-$precision/EdgeAot
  rss=$(/usr/bin/time -f %M "$binary" "$work/input.csv" 2>&1 >/dev/null | tail -1)
  printf '%5s: binary %9d bytes, peak RSS %d KB\n' "$precision" "$(stat -c %s "$binary")" "$rss"
done
