#!/usr/bin/env bash
# Round trip to PyTorch: the C# trainer trains and exports an LSTM and a GRU (tools/Embedded.Rnn.ExportCheck);
# Debian's python3-torch loads the weights with nn.LSTM / nn.GRU load_state_dict(strict=True) and must
# reproduce the generated kernels' outputs (tools/pytorch_check.py). Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

fail_step() {
  echo "pytorch-check: $1 failed"
  echo "0 passed, 1 failed"
  exit 1
}

if ! /usr/bin/python3 -c "import torch, numpy" >/dev/null 2>&1; then
  echo "== apt-get install python3-torch python3-numpy"
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq || fail_step "apt-get update"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-torch python3-numpy >/dev/null \
    || fail_step "apt-get install python3-torch"
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
dotnet run --project tools/Embedded.Rnn.ExportCheck --no-build -- "$out" || fail_step "training and exporting"
/usr/bin/python3 tools/pytorch_check.py "$out"
