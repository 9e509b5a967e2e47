#!/usr/bin/env bash
# The packages as users get them: packs Embedded.Rnn, Embedded.Rnn.Training, Embedded.Rnn.Import and Embedded.Rnn.Tool into a local
# feed (no warnings allowed), checks what they hold, installs the embedded-rnn tool from that feed only into a
# temporary tool path, and runs its commands on the PyTorch reference files: inspect, import with a golden run (and an
# ONNX model against ONNX Runtime),
# export (loaded back by PyTorch with load_state_dict(strict=True) and run against PyTorch's own output),
# train, and the errors users meet. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 DOTNET_CLI_WORKLOAD_UPDATE_NOTIFY_DISABLE=1
out=artifacts/package-check
rm -rf "$out"
mkdir -p "$out/feed" "$out/work"
passed=0
failed=0
check() { # name, command...
  if "${@:2}"; then echo "PASS $1"; passed=$((passed + 1)); else echo "FAIL $1"; failed=$((failed + 1)); fi
}
contains() { grep -qF -- "$2" "$1" || { echo "  '$2' not in $1:"; sed 's/^/  | /' "$1"; false; }; }

for project in runtime/Embedded.Rnn.csproj training/Embedded.Rnn.Training.csproj import/Embedded.Rnn.Import/Embedded.Rnn.Import.csproj tools/Embedded.Rnn.Tool/Embedded.Rnn.Tool.csproj; do
  name=$(basename "$project" .csproj)
  dotnet pack "$project" -c Release -o "$out/feed" --artifacts-path "$out/build" -nologo > "$out/pack-$name.txt" 2>&1
  status=$?
  cat "$out/pack-$name.txt"
  check "dotnet pack $name" test "$status" -eq 0
  check "dotnet pack $name: no warnings" bash -c "! grep -qi 'warning' '$out/pack-$name.txt'"
done

nuspec() { unzip -p "$out/feed/$1.0.1.0.nupkg" "$1.nuspec" > "$out/$1.nuspec"; }
nuspec Embedded.Rnn; nuspec Embedded.Rnn.Training; nuspec Embedded.Rnn.Tool
check "Embedded.Rnn holds the generator under analyzers/dotnet/cs" bash -c "unzip -l '$out/feed/Embedded.Rnn.0.1.0.nupkg' | grep -q ' analyzers/dotnet/cs/Embedded.Rnn.Generator.dll$'"
check "Embedded.Rnn.Training depends on all of Embedded.Rnn 0.1.0 (generator and build rules too)" contains "$out/Embedded.Rnn.Training.nuspec" '<dependency id="Embedded.Rnn" version="0.1.0" include="All" />'
check "Embedded.Rnn.Training's build rules turn on training kernels (EmbeddedRnnTraining)" bash -c "unzip -p '$out/feed/Embedded.Rnn.Training.0.1.0.nupkg' build/Embedded.Rnn.Training.props | grep -q '<EmbeddedRnnTraining Condition=' && unzip -l '$out/feed/Embedded.Rnn.Training.0.1.0.nupkg' | grep -q ' buildTransitive/Embedded.Rnn.Training.props$'"
check "Embedded.Rnn.Tool is a dotnet tool" contains "$out/Embedded.Rnn.Tool.nuspec" '<packageType name="DotnetTool" />'
check "symbol packages" test -f "$out/feed/Embedded.Rnn.0.1.0.snupkg" -a -f "$out/feed/Embedded.Rnn.Training.0.1.0.snupkg"

# Install from the local feed only, into a private packages folder (a cached 0.1.0 from an earlier run must not win).
cat > "$out/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration><packageSources><clear /><add key="local" value="$(pwd)/$out/feed" /></packageSources></configuration>
XML
NUGET_PACKAGES=$(pwd)/$out/packages dotnet tool install Embedded.Rnn.Tool --version 0.1.0 --tool-path "$out/tools" --configfile "$out/nuget.config"
check "dotnet tool install Embedded.Rnn.Tool from the local feed" test -x "$out/tools/embedded-rnn"
tool=$out/tools/embedded-rnn
data=tests/Embedded.Rnn.PackageTests/Data
work=$out/work

"$tool" --help > "$work/help.txt" 2>&1
check "embedded-rnn --help lists the commands" bash -c "grep -q '^  inspect' '$work/help.txt' && grep -q '^  import' '$work/help.txt' && grep -q '^  train' '$work/help.txt' && grep -q '^  export' '$work/help.txt'"

"$tool" inspect tests/refs/lstm_i8_h16_t10_b2_l2.safetensors > "$work/inspect.txt" 2>&1
check "inspect infers the reference LSTM and its spec" contains "$work/inspect.txt" '{ "cell": "lstm", "input": 8, "hidden": 16, "layers": 2 }'

"$tool" import tests/refs/gru_i6_h16_t9_b2_bidir.safetensors --name gru --out "$work" --golden tests/refs/gru_i6_h16_t9_b2_bidir.safetensors > "$work/import-gru.txt" 2>&1
check "import a bidirectional GRU reference case with its golden run" contains "$work/import-gru.txt" "golden check passed"

"$tool" import tests/onnx/exported_lstm_l2_bidir_batchfirst_head_softmax.onnx --name onnx --out "$work" > "$work/import-onnx.txt" 2>&1
check "import an ONNX model with its ONNX Runtime golden run (the tool's native ONNX Runtime loads)" contains "$work/import-onnx.txt" "golden check passed against ONNX Runtime"
check "the tool package leaves out ONNX Runtime's iOS and Android builds" bash -c "! unzip -l '$out/feed/Embedded.Rnn.Tool.0.1.0.nupkg' | grep -q 'runtimes/\(ios\|android\)/'"

"$tool" import "$data/gesture.module.safetensors" --name gesture --out "$work" --head-prefix fc. --head-activation softmax \
  --golden "$data/gesture.golden.safetensors" > "$work/import-gesture.txt" 2>&1
check "import a PyTorch module's state_dict (lstm. and fc. prefixes) with its golden run" contains "$work/import-gesture.txt" "golden check passed"

"$tool" export "$work/gesture.safetensors" --spec "$work/gesture.rnn.json" --out "$work/torch.safetensors" --prefix lstm. --head-prefix fc. --python \
  > "$work/export.txt" 2>&1
check "export for PyTorch prints the loading code" contains "$work/export.txt" 'model.load_state_dict(load_file("torch.safetensors"), strict=True)'

if ! /usr/bin/python3 -c "import torch, numpy" >/dev/null 2>&1; then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-torch python3-numpy >/dev/null
fi
check "PyTorch loads the exported file strictly and reproduces the golden output" /usr/bin/python3 - "$work/torch.safetensors" "$data/gesture.golden.safetensors" <<'PY'
import json, struct, sys
import numpy as np
import torch

def read(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    dtypes = {"F32": np.float32, "F64": np.float64}
    return {k: torch.from_numpy(np.frombuffer(data[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]], dtype=dtypes[v["dtype"]]).reshape(v["shape"]).copy())
            for k, v in header.items() if k != "__metadata__"}

class Net(torch.nn.Module):  # the module the export's --python snippet describes
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(6, 32, num_layers=2)
        self.fc = torch.nn.Linear(32, 4)

net = Net()
net.load_state_dict(read(sys.argv[1]), strict=True)
golden = read(sys.argv[2])
with torch.no_grad():
    out, _ = net.lstm(golden["input"])
    y = torch.softmax(net.fc(out), dim=-1).double()
error = float(((y - golden["output"]).abs() / golden["output"].abs().clamp(min=1.0)).max())
print(f"  PyTorch {torch.__version__}: load_state_dict(strict=True), max scaled error {error:.2e}")
sys.exit(0 if error <= 1e-5 else 1)
PY

printf 'year,volume\n' > "$work/nile-scaled.csv"
awk -F, 'NR > 1 { printf "%s,%.4f\n", $1, $2 / 1000 }' samples/data/nile.csv >> "$work/nile-scaled.csv"
echo '{ "cell": "gru", "input": 1, "hidden": 8, "head": { "output": 1 } }' > "$work/nile.rnn.json"
"$tool" train "$work/nile-scaled.csv" --spec "$work/nile.rnn.json" --inputs volume --targets volume --window 10 --horizon 1 --epochs 5 \
  --out "$work/nile.safetensors" > "$work/train.txt" 2>&1
check "train a GRU forecaster from a CSV file" bash -c "grep -q 'epoch 5/5' '$work/train.txt' && test -s '$work/nile.safetensors'"

printf 'year,volume\n1871,1.12\n1872,x\n' > "$work/bad.csv"
"$tool" train "$work/bad.csv" --spec "$work/nile.rnn.json" --targets volume --window 1 --out "$work/bad.safetensors" > "$work/bad.txt" 2>&1
check "a bad CSV value is reported with its line and column" contains "$work/bad.txt" "bad.csv, line 3, column 2"
"$tool" import "$work/missing.safetensors" --name x > "$work/missing.txt" 2>&1
check "a missing file is a clear error" contains "$work/missing.txt" "File does not exist"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
