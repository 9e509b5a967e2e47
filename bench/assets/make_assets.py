#!/usr/bin/python3
"""Makes the benchmark assets: for every (cell, input, hidden) of the grid, one set of random weights written
twice, as PyTorch state_dict tensors in safetensors (for Embedded.Rnn and the C# baselines) and as an ONNX
model (for ONNX Runtime), plus the model spec under bench/models/.

Run from anywhere with Debian's python3-onnx and python3-numpy (use /usr/bin/python3 if a pyenv shadows it):
    /usr/bin/python3 bench/assets/make_assets.py
Deterministic: the same seed gives byte-identical files.

Gate orders: PyTorch rows are LSTM i,f,g,o and GRU r,z,n; ONNX wants LSTM i,o,f,c and GRU z,r,h. The ONNX GRU
uses linear_before_reset=1, which is PyTorch's n = tanh(W_in x + b_in + r * (W_hn h + b_hn)).
"""
import json
import os
import struct

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(os.path.dirname(HERE), "models")
SIZES = [(1, 8), (8, 32), (16, 64), (32, 128)]
CELLS = {"lstm": 4, "gru": 3, "rnn": 1}
OPSET = 14


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, array in tensors:
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def reorder(m, cell, hidden):
    """PyTorch gate row blocks -> ONNX gate row blocks (first axis)."""
    blocks = [m[k * hidden:(k + 1) * hidden] for k in range(CELLS[cell])]
    if cell == "lstm":  # i f g o -> i o f c
        blocks = [blocks[0], blocks[3], blocks[1], blocks[2]]
    elif cell == "gru":  # r z n -> z r h
        blocks = [blocks[1], blocks[0], blocks[2]]
    return np.concatenate(blocks, axis=0)


def onnx_model(cell, inp, hid, w_ih, w_hh, b_ih, b_hh):
    gates = CELLS[cell]
    W = reorder(w_ih, cell, hid)[None]
    R = reorder(w_hh, cell, hid)[None]
    B = np.concatenate([reorder(b_ih, cell, hid), reorder(b_hh, cell, hid)])[None]
    inits = [numpy_helper.from_array(W.astype(np.float32), "W"),
             numpy_helper.from_array(R.astype(np.float32), "R"),
             numpy_helper.from_array(B.astype(np.float32), "B")]
    inputs = [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["T", 1, inp]),
              helper.make_tensor_value_info("initial_h", TensorProto.FLOAT, [1, 1, hid])]
    outputs = [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["T", 1, 1, hid]),
               helper.make_tensor_value_info("Y_h", TensorProto.FLOAT, [1, 1, hid])]
    node_inputs = ["X", "W", "R", "B", "", "initial_h"]
    node_outputs = ["Y", "Y_h"]
    attrs = {"hidden_size": hid}
    if cell == "lstm":
        inputs.append(helper.make_tensor_value_info("initial_c", TensorProto.FLOAT, [1, 1, hid]))
        outputs.append(helper.make_tensor_value_info("Y_c", TensorProto.FLOAT, [1, 1, hid]))
        node_inputs.append("initial_c")
        node_outputs.append("Y_c")
        op = "LSTM"
    elif cell == "gru":
        attrs["linear_before_reset"] = 1
        op = "GRU"
    else:
        attrs["activations"] = ["Tanh"]
        op = "RNN"
    node = helper.make_node(op, node_inputs, node_outputs, name=op.lower(), **attrs)
    graph = helper.make_graph([node], f"{cell}_i{inp}_h{hid}", inputs, outputs, inits)
    model = helper.make_model(graph, producer_name="embedded-rnn-bench", opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    assert W.shape == (1, gates * hid, inp) and R.shape == (1, gates * hid, hid)
    return model


def main():
    rng = np.random.default_rng(20261124)
    os.makedirs(MODELS, exist_ok=True)
    for cell, gates in CELLS.items():
        for inp, hid in SIZES:
            k = 1.0 / np.sqrt(hid)  # PyTorch's init range
            w_ih = rng.uniform(-k, k, (gates * hid, inp)).astype(np.float32)
            w_hh = rng.uniform(-k, k, (gates * hid, hid)).astype(np.float32)
            b_ih = rng.uniform(-k, k, (gates * hid,)).astype(np.float32)
            b_hh = rng.uniform(-k, k, (gates * hid,)).astype(np.float32)
            name = f"{cell}_i{inp}_h{hid}"
            write_safetensors(os.path.join(HERE, name + ".safetensors"),
                              [("weight_ih_l0", w_ih), ("weight_hh_l0", w_hh), ("bias_ih_l0", b_ih), ("bias_hh_l0", b_hh)])
            model = onnx_model(cell, inp, hid, w_ih, w_hh, b_ih, b_hh)
            with open(os.path.join(HERE, name + ".onnx"), "wb") as f:
                f.write(model.SerializeToString())
            with open(os.path.join(MODELS, name + ".rnn.json"), "w") as f:
                f.write(json.dumps({"cell": cell, "input": inp, "hidden": hid}) + "\n")
            print(name)


if __name__ == "__main__":
    main()
