"""Loads weights exported by Embedded.Rnn's trainer into torch.nn.LSTM / nn.GRU with load_state_dict(strict=True)
and checks PyTorch's outputs against the generated kernels' outputs for the same probe input.
Prints 'N passed, N failed' (one check per model) and exits non-zero on any failure."""
import json
import struct
import sys

import numpy as np
import torch


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dtype = {"F32": np.float32, "F64": np.float64}[info["dtype"]]
        tensors[name] = np.frombuffer(data[8 + n + begin:8 + n + end], dtype=dtype).reshape(info["shape"]).copy()
    return tensors


def check(directory, name, module):
    weights = read_safetensors(f"{directory}/{name}.safetensors")
    module.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()}, strict=True)
    probe = read_safetensors(f"{directory}/{name}.probe.safetensors")
    with torch.no_grad():
        expected, _ = module(torch.from_numpy(probe["input"]).double())
    ours = probe["output"].astype(np.float64)
    error = float(np.max(np.abs(ours - expected.numpy()) / np.maximum(1.0, np.abs(expected.numpy()))))
    ok = error <= 1e-5
    print(f"{'PASS' if ok else 'FAIL'} {name}: PyTorch {torch.__version__} load_state_dict(strict=True), max scaled error {error:.2e}")
    return ok


def main():
    directory = sys.argv[1]
    results = [
        check(directory, "lstm", torch.nn.LSTM(3, 10, num_layers=2).double()),
        check(directory, "gru", torch.nn.GRU(2, 6, bidirectional=True).double()),
    ]
    print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
