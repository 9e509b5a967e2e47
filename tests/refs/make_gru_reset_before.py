#!/usr/bin/python3
"""Reference cases for the reset-before GRU (ONNX linear_before_reset=0, Keras reset_after=False), which PyTorch lacks.

Writes refs/gru_before_*.safetensors in the format of refs/README.md (cell "gru_reset_before") and, for each case, the
same model as an ONNX graph (refs/onnx/<case>.onnx: one GRU node per layer with linear_before_reset=0) that the tests run
through ONNX Runtime: the ground truth for the forward values comes from outside the project.

  forward:   NumPy, float64, on the float32 parameters and inputs cast exactly to float64;
  gradients: the complex-step derivative of the same NumPy code (complex128): d loss/dp = Im f(p + i·s) / s with s = 1e-30,
             exact to float64 rounding because no difference of nearby values is taken. The script checks it against
             central finite differences before writing anything.

Needs numpy and onnx (Debian: python3-numpy python3-onnx). Run from the repository root:
  /usr/bin/python3 tests/refs/make_gru_reset_before.py
"""
import json
import os
import struct

import numpy as np
import onnx
from onnx import TensorProto, helper

HERE = os.path.dirname(os.path.abspath(__file__))

# name, I, H, T, B, layers, bidirectional, bias
CASES = [
    ("gru_before_i5_h12_t7_b3", 5, 12, 7, 3, 1, False, True),
    ("gru_before_i6_h16_t9_b2_bidir", 6, 16, 9, 2, 1, True, True),
    ("gru_before_i4_h20_t6_b2_l2_nobias", 4, 20, 6, 2, 2, False, False),
]


def parameter_names(layers, directions, bias):
    names = []
    for layer in range(layers):
        for direction in range(directions):
            suffix = f"l{layer}" + ("_reverse" if direction == 1 else "")
            names += [f"weight_ih_{suffix}", f"weight_hh_{suffix}"]
            if bias:
                names += [f"bias_ih_{suffix}", f"bias_hh_{suffix}"]
    return names


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def forward(p, x, h0, H, layers, directions, bias):
    """output [T, B, D·H] and h_n [L·D, B, H]; p maps names to arrays (float64 or complex128)."""
    steps = x.shape[0]
    layer_input = x
    h_n = []
    for layer in range(layers):
        outputs = []
        for direction in range(directions):
            suffix = f"l{layer}" + ("_reverse" if direction == 1 else "")
            w, r = p[f"weight_ih_{suffix}"], p[f"weight_hh_{suffix}"]
            bi = p[f"bias_ih_{suffix}"] if bias else np.zeros(3 * H)
            bh = p[f"bias_hh_{suffix}"] if bias else np.zeros(3 * H)
            h = h0[layer * directions + direction]
            ys = [None] * steps
            for t in (range(steps) if direction == 0 else reversed(range(steps))):
                xt = layer_input[t]
                reset = sigmoid(xt @ w[0:H].T + bi[0:H] + h @ r[0:H].T + bh[0:H])
                update = sigmoid(xt @ w[H:2 * H].T + bi[H:2 * H] + h @ r[H:2 * H].T + bh[H:2 * H])
                candidate = np.tanh(xt @ w[2 * H:].T + bi[2 * H:] + (reset * h) @ r[2 * H:].T + bh[2 * H:])
                h = (1 - update) * candidate + update * h
                ys[t] = h
            outputs.append(np.stack(ys))
            h_n.append(h)
        layer_input = np.concatenate(outputs, axis=-1)
    return layer_input, np.stack(h_n)


def loss(p, x, h0, grad_output, case):
    output, _ = forward(p, x, h0, *case)
    return np.sum(output * grad_output)


def complex_step_gradients(p, x, h0, grad_output, case):
    """d loss / d every parameter, the input and h0 (float64)."""
    step = 1e-30
    values = dict(p, input=x, h0=h0)
    grads = {}
    for name, value in values.items():
        grad = np.zeros(value.shape)
        for index in np.ndindex(value.shape):
            perturbed = {k: v.astype(np.complex128) for k, v in values.items()}
            perturbed[name][index] += 1j * step
            inputs = {k: v for k, v in perturbed.items() if k not in ("input", "h0")}
            grad[index] = loss(inputs, perturbed["input"], perturbed["h0"], grad_output, case).imag / step
        grads[name] = grad
    return grads


def check_by_finite_differences(p, x, h0, grad_output, case, grads, rng):
    """A few central differences per tensor: the complex step must agree (catches a wrong derivative)."""
    values = dict(p, input=x, h0=h0)
    for name, value in values.items():
        for _ in range(3):
            index = tuple(rng.integers(0, n) for n in value.shape)
            step = 1e-6
            plus = {k: v.copy() for k, v in values.items()}
            minus = {k: v.copy() for k, v in values.items()}
            plus[name][index] += step
            minus[name][index] -= step
            f = lambda v: loss({k: a for k, a in v.items() if k not in ("input", "h0")}, v["input"], v["h0"], grad_output, case)
            numeric = (f(plus) - f(minus)) / (2 * step)
            assert abs(numeric - grads[name][index]) <= 1e-6 * max(1.0, abs(numeric)), (name, index, numeric, grads[name][index])


def write_safetensors(path, metadata, f64, f32):
    """refs/README.md's layout: F64 tensors, then F32, each sorted by name; header padded with spaces to a multiple of 8."""
    header = {"__metadata__": metadata}
    blobs = []
    offset = 0
    for dtype, tensors, code in (("F64", f64, "<f8"), ("F32", f32, "<f4")):
        for name in sorted(tensors):
            data = np.ascontiguousarray(tensors[name], dtype=code).tobytes()
            header[name] = {"dtype": dtype, "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
            blobs.append(data)
            offset += len(data)
    text = json.dumps(header, separators=(",", ":"))
    text += " " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text.encode("ascii"))
        for blob in blobs:
            f.write(blob)


def onnx_model(p32, name, I, H, T, B, layers, directions, bias):
    """One GRU node per layer (gate rows z, r, h; B = [Wb, Rb]), Y [T, D, B, H] reshaped to [T, B, D·H] between layers."""
    def onnx_order(rows):  # PyTorch r, z, n -> ONNX z, r, h
        return np.concatenate([rows[H:2 * H], rows[0:H], rows[2 * H:]])

    nodes, initializers, inputs, outputs = [], [], [helper.make_tensor_value_info("input", TensorProto.FLOAT, [T, B, I])], []
    layer_input = "input"
    for layer in range(layers):
        suffixes = [f"l{layer}" + ("_reverse" if d == 1 else "") for d in range(directions)]
        tensors = {
            "W": np.stack([onnx_order(p32[f"weight_ih_{s}"]) for s in suffixes]),
            "R": np.stack([onnx_order(p32[f"weight_hh_{s}"]) for s in suffixes]),
        }
        if bias:
            tensors["B"] = np.stack([np.concatenate([onnx_order(p32[f"bias_ih_{s}"]), onnx_order(p32[f"bias_hh_{s}"])]) for s in suffixes])
        for key, value in tensors.items():
            initializers.append(helper.make_tensor(f"{key}_l{layer}", TensorProto.FLOAT, value.shape, value.astype(np.float32).flatten().tolist()))
        h0 = f"h0_l{layer}"
        inputs.append(helper.make_tensor_value_info(h0, TensorProto.FLOAT, [directions, B, H]))
        nodes.append(helper.make_node(
            "GRU", [layer_input, f"W_l{layer}", f"R_l{layer}", f"B_l{layer}" if bias else "", "", h0], [f"Y_l{layer}", f"h_n_l{layer}"],
            name=f"gru_l{layer}", hidden_size=H, direction="bidirectional" if directions == 2 else "forward", linear_before_reset=0))
        nodes.append(helper.make_node("Transpose", [f"Y_l{layer}"], [f"Yt_l{layer}"], perm=[0, 2, 1, 3]))
        initializers.append(helper.make_tensor(f"shape_l{layer}", TensorProto.INT64, [3], [T, B, directions * H]))
        out = "output" if layer == layers - 1 else f"X_l{layer + 1}"
        nodes.append(helper.make_node("Reshape", [f"Yt_l{layer}", f"shape_l{layer}"], [out]))
        outputs.append(helper.make_tensor_value_info(f"h_n_l{layer}", TensorProto.FLOAT, [directions, B, H]))
        layer_input = out
    outputs.insert(0, helper.make_tensor_value_info("output", TensorProto.FLOAT, [T, B, directions * H]))
    graph = helper.make_graph(nodes, name, inputs, outputs, initializers)
    model = helper.make_model(graph, producer_name="tests/refs/make_gru_reset_before.py", opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main():
    for seed, (name, I, H, T, B, layers, bidirectional, bias) in enumerate(CASES):
        rng = np.random.default_rng(1000 + seed)
        directions = 2 if bidirectional else 1
        names = parameter_names(layers, directions, bias)
        bound = 1 / np.sqrt(H)  # PyTorch's initialisation range
        p32 = {}
        for n in names:
            columns = I if "ih_l0" in n else (directions * H if "weight_ih" in n else H)
            shape = (3 * H, columns) if n.startswith("weight") else (3 * H,)
            p32[n] = rng.uniform(-bound, bound, shape).astype(np.float32)
        x32 = rng.standard_normal((T, B, I)).astype(np.float32)
        h032 = (0.5 * rng.standard_normal((layers * directions, B, H))).astype(np.float32)
        g32 = rng.standard_normal((T, B, directions * H)).astype(np.float32)
        p = {k: v.astype(np.float64) for k, v in p32.items()}
        x, h0, grad_output = x32.astype(np.float64), h032.astype(np.float64), g32.astype(np.float64)
        case = (H, layers, directions, bias)
        output, h_n = forward(p, x, h0, *case)
        grads = complex_step_gradients(p, x, h0, grad_output, case)
        check_by_finite_differences(p, x, h0, grad_output, case, grads, rng)

        metadata = {
            "format_version": "1", "case": name, "cell": "gru_reset_before", "input_size": str(I), "hidden_size": str(H),
            "num_layers": str(layers), "bidirectional": "true" if bidirectional else "false", "num_directions": str(directions),
            "bias": "true" if bias else "false", "seq_len": str(T), "batch": str(B), "layout": "TBI", "batch_first": "false",
            "gates": "3", "param_names": ",".join(names),
            "gate_order": "gru_reset_before: r,z,n rows as PyTorch's GRU; n = tanh(W_in x + b_in + W_hn (r*h) + b_hn), "
                          "r,z = sigmoid(W_i* x + b_i* + W_h* h + b_h*), h' = (1-z)*n + z*h (ONNX linear_before_reset=0)",
            "loss": "loss = sum over all T*B*D*H elements of output * grad_output; grad.X = d loss / d X by the complex-step "
                    "derivative of a float64 NumPy implementation (tests/refs/make_gru_reset_before.py)",
            "h_n_order": "h_n/h0 index = layer*num_directions + direction (direction 0 = forward, 1 = reverse)",
            "generator": "tests/refs/make_gru_reset_before.py (NumPy float64; ONNX graph in refs/onnx for ONNX Runtime)",
        }
        f64 = {"output": output, "h_n": h_n, "grad.input": grads["input"], "grad.h0": grads["h0"]}
        f64.update({f"grad.{n}": grads[n] for n in names})
        f32 = dict(p32, input=x32, h0=h032, grad_output=g32)
        write_safetensors(os.path.join(HERE, name + ".safetensors"), metadata, f64, f32)
        onnx.save(onnx_model(p32, name, I, H, T, B, layers, directions, bias), os.path.join(HERE, "onnx", name + ".onnx"))
        print(f"{name}: output max |{np.abs(output).max():.3f}|, {sum(v.size for v in p32.values())} parameters")


if __name__ == "__main__":
    main()
