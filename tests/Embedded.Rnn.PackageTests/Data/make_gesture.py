"""Writes the PyTorch golden data for the README's quick-start model (GestureNet: LSTM, input 6, hidden 32,
2 layers, dense head of 4 with softmax), used by the package and tool tests. Run with Debian's python3-torch:
    /usr/bin/python3 tests/Embedded.Rnn.PackageTests/Data/make_gesture.py
Outputs (beside this script):
  gesture.safetensors          the weights under the names the generated model loads (weight_ih_l0 ..., head.weight)
  gesture.module.safetensors   the same weights as a PyTorch module's state_dict (lstm.weight_ih_l0 ..., fc.weight)
  gesture.golden.safetensors   reference-case format (tests/refs/README.md): input [T,1,6] F32, output [T,1,4] F64
  input.csv, expected-output.csv   the same input and output, one step per line (the quick-start program's I/O)
  gesture.onnx                 the same module exported by torch.onnx.export (opset 14; time and batch dynamic)
The expected output is torch's float64 forward pass from a zero initial state (PyTorch's default)."""
import json
import os
import struct

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
STEPS = 12


class GestureNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(6, 32, num_layers=2)
        self.fc = torch.nn.Linear(32, 4)

    def forward(self, x):
        out, _ = self.lstm(x)
        return torch.softmax(self.fc(out), dim=-1)


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    offset = 0
    blobs = []
    for name, array in tensors:
        dtype = {np.float32: "F32", np.float64: "F64"}[array.dtype.type]
        blob = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header, separators=(",", ":")).encode("ascii")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def main():
    torch.manual_seed(20261125)
    net = GestureNet()
    with torch.no_grad():
        net.fc.weight.mul_(4.0)  # a livelier softmax, so the golden output depends clearly on every hidden unit
    state = {k: v.detach().numpy().astype(np.float32) for k, v in net.state_dict().items()}
    x = torch.randn(STEPS, 1, 6).numpy().astype(np.float32)
    with torch.no_grad():
        expected = net.double()(torch.from_numpy(x).double()).numpy()

    meta = {"producer": "make_gesture.py", "torch_version": torch.__version__}
    ours = [(k.replace("lstm.", "").replace("fc.", "head."), v) for k, v in state.items()]
    write_safetensors(os.path.join(HERE, "gesture.safetensors"), ours, meta)
    write_safetensors(os.path.join(HERE, "gesture.module.safetensors"), list(state.items()), meta)
    write_safetensors(os.path.join(HERE, "gesture.golden.safetensors"), [("input", x), ("output", expected)],
                      dict(meta, layout="TBI", note="zero initial state; output = softmax(fc(lstm(input)))"))
    with open(os.path.join(HERE, "input.csv"), "w") as f:
        for row in x[:, 0, :]:
            f.write(",".join(repr(float(v)) for v in row) + "\n")
    with open(os.path.join(HERE, "expected-output.csv"), "w") as f:
        for row in expected[:, 0, :]:
            f.write(",".join(repr(float(v)) for v in row) + "\n")
    # net.double() above converted in place; back to float32 (exact: the weights began as float32).
    torch.onnx.export(net.float(), torch.from_numpy(x), os.path.join(HERE, "gesture.onnx"), input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "time", 1: "batch"}, "y": {0: "time", 1: "batch"}}, opset_version=14)


if __name__ == "__main__":
    main()
