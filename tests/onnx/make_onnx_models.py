"""Writes the small ONNX models the ONNX import tests read (issue 17 item 2). Run with Debian's python3-torch and
python3-onnx (the pyenv python3 on PATH has neither):
    /usr/bin/python3 tests/onnx/make_onnx_models.py
Outputs, beside this script:
  exported_*.onnx   torch.onnx.export (opset 14, constant folding, dynamic time and batch axes) of nn.LSTM / GRU /
                    RNN (tanh, relu) modules: 1-3 layers, bidirectional, bias=False, batch_first, with and without an
                    nn.Linear head (+ sigmoid / tanh / softmax). The tests import each and compare the compiled model
                    with ONNX Runtime running the file.
  built_*.onnx      graphs made with onnx.helper for what torch does not export: layout=1, a Gemm head over
                    time x batch, and one graph per refused feature (the file name says which).
Weights are drawn from fixed seeds, so the files are the same on every run with the same torch and onnx."""
import io
import os

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OPSET = 14
I, H = 3, 5


class Net(torch.nn.Module):
    """A recurrent module, optionally followed by a dense head and its activation, returning every step."""

    def __init__(self, rnn, head=None, activation=None):
        super().__init__()
        self.rnn = rnn
        self.head = head
        self.activation = activation

    def forward(self, x):
        y, _ = self.rnn(x)
        if self.head is not None:
            y = self.head(y)
        if self.activation == "sigmoid":
            y = torch.sigmoid(y)
        elif self.activation == "tanh":
            y = torch.tanh(y)
        elif self.activation == "softmax":
            y = torch.softmax(y, dim=-1)
        return y


def export(name, rnn, head=None, activation=None, seed=0):
    torch.manual_seed(seed)
    for p in list(rnn.parameters()) + (list(head.parameters()) if head is not None else []):
        torch.nn.init.uniform_(p, -0.6, 0.6)  # larger than PyTorch's default, so every gate matters
    net = Net(rnn, head, activation).eval()
    batch_first = rnn.batch_first
    x = torch.randn((2, 4, I) if batch_first else (4, 2, I))
    axes = {0: "batch", 1: "time"} if batch_first else {0: "time", 1: "batch"}
    buffer = io.BytesIO()
    torch.onnx.export(net, x, buffer, opset_version=OPSET, do_constant_folding=True, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": axes, "y": axes})
    write(name, onnx.load_from_string(buffer.getvalue()))


def write(name, model):
    onnx.checker.check_model(model)
    path = os.path.join(HERE, name + ".onnx")
    onnx.save(model, path)
    print(f"{name}.onnx: {os.path.getsize(path)} bytes")


def exported():
    nn = torch.nn
    export("exported_lstm", nn.LSTM(I, H), seed=1)
    export("exported_lstm_l2_bidir_batchfirst_head_softmax", nn.LSTM(I, H, num_layers=2, bidirectional=True, batch_first=True), nn.Linear(2 * H, 4), "softmax", seed=2)
    export("exported_lstm_l2_nobias_head", nn.LSTM(I, H, num_layers=2, bias=False), nn.Linear(H, 2), seed=3)
    export("exported_gru_head_sigmoid", nn.GRU(I, H), nn.Linear(H, 3), "sigmoid", seed=4)
    export("exported_gru_l3_bidir", nn.GRU(I, H, num_layers=3, bidirectional=True), seed=5)
    export("exported_gru_nobias_bidir_batchfirst", nn.GRU(I, H, bidirectional=True, bias=False, batch_first=True), seed=6)
    export("exported_rnn_tanh_l2_head_tanh", nn.RNN(I, H, num_layers=2), nn.Linear(H, 1), "tanh", seed=7)
    export("exported_rnn_relu_bidir_batchfirst", nn.RNN(I, H, nonlinearity="relu", bidirectional=True, batch_first=True), seed=8)


# ---- hand-built graphs -------------------------------------------------------------------------------------------

rng = np.random.default_rng(17)


def weights(name, *shape):
    return numpy_helper.from_array((rng.standard_normal(shape) * 0.5).astype(np.float32), name)


def sequence_input(layout=0):
    dims = ["time", "batch", I] if layout == 0 else ["batch", "time", I]
    return helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)


def recurrent(op, gates, name="cell", directions=1, inputs_extra=(), bias=True, **attributes):
    """A recurrent node reading x, with W, R (and B) as initializers; returns (node, initializers)."""
    inits = [weights(name + "_W", directions, gates * H, I), weights(name + "_R", directions, gates * H, H)]
    inputs = ["x", name + "_W", name + "_R"]
    if bias:
        inits.append(weights(name + "_B", directions, 2 * gates * H))
        inputs.append(name + "_B")
    inputs += list(inputs_extra)
    node = helper.make_node(op, inputs, [name + "_Y"], name=name, hidden_size=H, **attributes)
    return node, inits


def model(nodes, inits, output, output_dims, inputs=None):
    graph = helper.make_graph(nodes, "g", inputs or [sequence_input()], [helper.make_tensor_value_info(output, TensorProto.FLOAT, output_dims)], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="make_onnx_models.py")
    m.ir_version = 7
    return m


def built():
    # layout=1: a bidirectional LSTM reading [batch, time, features]; its raw Y [batch, time, 2, hidden] is the output.
    node, inits = recurrent("LSTM", 4, directions=2, direction="bidirectional", layout=1)
    write("built_lstm_layout1_bidir", model([node], inits, "cell_Y", ["batch", "time", 2, H], [sequence_input(layout=1)]))

    # A GRU stated as PyTorch's (linear_before_reset=1), Y squeezed, time and batch merged for a Gemm head (transB=1).
    node, inits = recurrent("GRU", 3, linear_before_reset=1)
    glue = [
        helper.make_node("Squeeze", ["cell_Y", "axis1"], ["s"], name="squeeze"),
        helper.make_node("Reshape", ["s", "rows"], ["r"], name="rows"),
        helper.make_node("Gemm", ["r", "head_W", "head_b"], ["y"], name="head", transB=1),
    ]
    inits += [numpy_helper.from_array(np.array([1], np.int64), "axis1"), numpy_helper.from_array(np.array([-1, H], np.int64), "rows"),
              weights("head_W", 2, H), weights("head_b", 2)]
    write("built_gru_gemm_head", model([node] + glue, inits, "y", ["rows", 2]))

    # The reset-before GRU: ONNX's default linear_before_reset=0 stated, and left to the default in a bidirectional node.
    node, inits = recurrent("GRU", 3, linear_before_reset=0)
    write("built_gru_reset_before", model([node], inits, "cell_Y", ["time", 1, "batch", H]))
    node, inits = recurrent("GRU", 3, directions=2, direction="bidirectional")
    write("built_gru_reset_before_default_bidir", model([node], inits, "cell_Y", ["time", 2, "batch", H]))

    # Refused: peepholes (input P, index 7 of LSTM).
    node, inits = recurrent("LSTM", 4, inputs_extra=["", "", "", "cell_P"])
    inits.append(weights("cell_P", 1, 3 * H))
    write("built_refused_lstm_peepholes", model([node], inits, "cell_Y", ["time", 1, "batch", H]))

    # Refused: input_forget=1 (coupled input and forget gates).
    node, inits = recurrent("LSTM", 4, input_forget=1)
    write("built_refused_lstm_input_forget", model([node], inits, "cell_Y", ["time", 1, "batch", H]))

    # Refused: clip.
    node, inits = recurrent("LSTM", 4, clip=3.0)
    write("built_refused_lstm_clip", model([node], inits, "cell_Y", ["time", 1, "batch", H]))

    # Refused: an activation other than the defaults (HardSigmoid gates).
    node, inits = recurrent("GRU", 3, linear_before_reset=1, activations=["HardSigmoid", "Tanh"])
    write("built_refused_gru_hardsigmoid", model([node], inits, "cell_Y", ["time", 1, "batch", H]))

    # Refused: direction="reverse" alone.
    node, inits = recurrent("RNN", 1, direction="reverse")
    write("built_refused_rnn_reverse", model([node], inits, "cell_Y", ["time", 1, "batch", H]))

    # Refused: an operator the importer does not read (LeakyRelu) between the layer and the output.
    node, inits = recurrent("RNN", 1)
    extra = helper.make_node("LeakyRelu", ["cell_Y"], ["y"], name="leaky")
    write("built_refused_rnn_unsupported_op", model([node, extra], inits, "y", ["time", 1, "batch", H]))

    # Refused: the weights W given as a graph input instead of an initializer.
    node, inits = recurrent("RNN", 1)
    inits = [t for t in inits if t.name != "cell_W"]
    w_input = helper.make_tensor_value_info("cell_W", TensorProto.FLOAT, [1, H, I])
    write("built_refused_rnn_weights_as_input", model([node], inits, "cell_Y", ["time", 1, "batch", H], [sequence_input(), w_input]))

    # Refused: a second recurrent chain from the same input that does not reach the output (it would be lost).
    first, inits = recurrent("RNN", 1, name="kept")
    second, more = recurrent("RNN", 1, name="lost")
    write("built_refused_two_chains", model([first, second], inits + more, "kept_Y", ["time", 1, "batch", H]))

    # Refused: the last step only (a Slice on the time axis), which the imported model (every step) cannot reproduce.
    node, inits = recurrent("RNN", 1)
    last = helper.make_node("Slice", ["cell_Y", "starts", "ends", "axes"], ["y"], name="last_step")
    inits += [numpy_helper.from_array(np.array([-1], np.int64), "starts"), numpy_helper.from_array(np.array([2**62], np.int64), "ends"),
              numpy_helper.from_array(np.array([0], np.int64), "axes")]
    write("built_refused_last_step", model([node, last], inits, "y", [1, 1, "batch", H]))

    # Refused: a dynamic feature axis in the input's shape.
    node, inits = recurrent("RNN", 1)
    dynamic = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["time", "batch", "features"])
    write("built_refused_dynamic_features", model([node], inits, "cell_Y", ["time", 1, "batch", H], [dynamic]))


if __name__ == "__main__":
    exported()
    built()
