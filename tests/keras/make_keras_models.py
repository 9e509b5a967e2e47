#!/usr/bin/python3
"""Small Keras-format models and their float64 references, for the Keras importer's tests.

TensorFlow and Keras are not installable here, so the files are written with h5py in the layouts Keras itself writes:

  .keras (Keras 3):  a zip of config.json (the model's config), metadata.json and model.weights.h5, whose variables sit
                     at layers/<snake_case class name, numbered from the second: lstm, lstm_1>/[cell/]vars/<index>
                     (Bidirectional: layers/bidirectional/forward_layer/cell/vars/..., backward_layer/...);
  .h5 (legacy Keras 2): root attribute model_config (JSON), group model_weights with attribute layer_names, and per
                     layer a group with attribute weight_names ("lstm/lstm_cell/kernel:0", ...) naming its datasets.

Variables in Keras' layout: kernel [I, G·H] and recurrent_kernel [H, G·H] with gate columns LSTM i,f,c,o, GRU z,r,h;
bias [G·H], or [2, 3H] (input bias, recurrent bias) for GRU with reset_after=True; Dense kernel [in, out], bias [out].

Each model gets a golden file (<model>.golden.safetensors: input [T, B, I] float32, output [T, B, O] float64, the
format of embedded-rnn import --golden) from a float64 NumPy implementation of Keras' equations:
  SimpleRNN  h' = act(x W + h U + b)
  LSTM       i, f, c~, o = σ, σ, tanh, σ of x W + h U + b (columns i, f, c, o); c' = f c + i c~; h' = o tanh(c')
  GRU        z, r = σ(x W_z + h U_z + b_z), σ(x W_r + h U_r + b_r)
             reset_after=True:  h~ = tanh(x W_h + b_h + r ⊙ (h U_h + b'_h))   (b: input bias, b': recurrent bias)
             reset_after=False: h~ = tanh(x W_h + b_h + (r ⊙ h) U_h)
             h' = z ⊙ h + (1 − z) ⊙ h~
  Bidirectional(merge_mode="concat")  [forward outputs, backward outputs aligned to the input steps]
  return_sequences=False              only the last step's output (the golden output keeps every step's for the
                                      layers below; the last layer's per-step output is what our Run returns)
  Dense      y = act(x K + b), act in linear, sigmoid, tanh, softmax

Run from the repository root:  /usr/bin/python3 tests/keras/make_keras_models.py   (needs numpy and h5py)
"""
import io
import json
import os
import struct
import zipfile

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
STEPS, BATCH = 6, 2
GATES = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


ACTIVATIONS = {"tanh": np.tanh, "relu": lambda a: np.maximum(a, 0), "sigmoid": sigmoid, "linear": lambda a: a}


def softmax(a):
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# --- the models: a list of layer descriptions -------------------------------------------------------------------------

def rnn(kind, units, return_sequences=True, activation="tanh", recurrent_activation="sigmoid", use_bias=True, reset_after=True, go_backwards=False):
    config = {"name": None, "trainable": True, "units": units, "activation": activation, "use_bias": use_bias,
              "return_sequences": return_sequences, "return_state": False, "go_backwards": go_backwards, "stateful": False,
              "unroll": False, "dropout": 0.0, "recurrent_dropout": 0.0}
    if kind != "SimpleRNN":
        config["recurrent_activation"] = recurrent_activation
    if kind == "GRU":
        config["reset_after"] = reset_after
    return {"class_name": kind, "config": config}


def bidirectional(layer, merge_mode="concat", backward_units=None):
    backward = json.loads(json.dumps(layer))
    backward["config"]["go_backwards"] = True
    if backward_units is not None:
        backward["config"]["units"] = backward_units
    return {"class_name": "Bidirectional", "config": {"name": None, "merge_mode": merge_mode, "layer": layer, "backward_layer": backward}}


def dense(units, activation="linear"):
    return {"class_name": "Dense", "config": {"name": None, "units": units, "activation": activation, "use_bias": True}}


def conv1d():
    return {"class_name": "Conv1D", "config": {"name": None, "filters": 2, "kernel_size": 2}}


MODELS = [
    # name, input features, layers, format ("keras" or "h5"), whether the importer should accept it
    ("lstm_i3_h5_dense_softmax", 3, [rnn("LSTM", 5), dense(4, "softmax")], "keras"),
    ("gru_after_i3_h6", 3, [rnn("GRU", 6, reset_after=True)], "keras"),
    ("gru_before_i3_h6_l2_dense_sigmoid", 3, [rnn("GRU", 6, reset_after=False), rnn("GRU", 6, reset_after=False), dense(2, "sigmoid")], "keras"),
    ("simplernn_relu_i2_h4_last_dense", 2, [rnn("SimpleRNN", 4, activation="relu", return_sequences=False), dense(1)], "keras"),
    ("bidir_lstm_i3_h4_dense_tanh", 3, [bidirectional(rnn("LSTM", 4)), dense(2, "tanh")], "keras"),
    ("gru_nobias_i2_h3", 2, [rnn("GRU", 3, use_bias=False)], "keras"),
    ("legacy_lstm_i3_h5_dense", 3, [rnn("LSTM", 5), dense(3)], "h5"),
    ("legacy_bidir_gru_before_i2_h4", 2, [bidirectional(rnn("GRU", 4, reset_after=False))], "h5"),
    ("legacy_simplernn_i2_h3", 2, [rnn("SimpleRNN", 3)], "h5"),
    # refused, each for one reason the importer must name
    ("refused_hard_sigmoid", 3, [rnn("LSTM", 4, recurrent_activation="hard_sigmoid")], "keras"),
    ("refused_go_backwards", 3, [rnn("GRU", 4, go_backwards=True)], "keras"),
    ("refused_conv1d", 3, [conv1d(), rnn("LSTM", 4)], "keras"),
    ("refused_merge_sum", 3, [bidirectional(rnn("LSTM", 4), merge_mode="sum")], "keras"),
    ("refused_widths_differ", 3, [rnn("LSTM", 4), rnn("LSTM", 5)], "keras"),
    ("refused_bidir_last_step", 3, [bidirectional(rnn("GRU", 4, return_sequences=False))], "keras"),
    ("refused_bidir_backward_differs", 3, [bidirectional(rnn("LSTM", 4), backward_units=5)], "keras"),
]


def snake(class_name):
    return {"LSTM": "lstm", "GRU": "gru", "SimpleRNN": "simple_rnn", "Bidirectional": "bidirectional", "Dense": "dense", "Conv1D": "conv1d"}[class_name]


def cell_variables(kind, units, features, use_bias, reset_after, rng):
    gates = GATES[kind]
    bound = 1 / np.sqrt(units)
    variables = [rng.uniform(-0.6, 0.6, (features, gates * units)), rng.uniform(-bound * 1.5, bound * 1.5, (units, gates * units))]
    if use_bias:
        shape = (2, 3 * units) if kind == "GRU" and reset_after else (gates * units,)
        variables.append(rng.uniform(-0.3, 0.3, shape))
    return [v.astype(np.float32) for v in variables]


def build(layers, features, rng):
    """Names each layer as Keras does, gives it variables, and returns (layers with 'name', 'path' and 'variables')."""
    used = {}
    built = []
    width = features
    for layer in layers:
        layer = json.loads(json.dumps(layer))
        base = snake(layer["class_name"])
        used[base] = used.get(base, -1) + 1
        name = base if used[base] == 0 else f"{base}_{used[base]}"
        layer["config"]["name"] = name
        c = layer["config"]
        if layer["class_name"] in GATES:
            layer["variables"] = cell_variables(layer["class_name"], c["units"], width, c["use_bias"], c.get("reset_after", True), rng)
            width = c["units"]
        elif layer["class_name"] == "Bidirectional":
            inner = c["layer"]["config"]
            kind = c["layer"]["class_name"]
            layer["variables"] = [cell_variables(kind, inner["units"], width, inner["use_bias"], inner.get("reset_after", True), rng) for _ in range(2)]
            c["layer"]["config"]["name"] = "forward_" + snake(kind)
            c["backward_layer"]["config"]["name"] = "backward_" + snake(kind)
            width = 2 * inner["units"]
        elif layer["class_name"] == "Dense":
            layer["variables"] = [rng.uniform(-0.5, 0.5, (width, c["units"])).astype(np.float32), rng.uniform(-0.2, 0.2, c["units"]).astype(np.float32)]
            width = c["units"]
        else:
            layer["variables"] = [rng.uniform(-0.5, 0.5, (2, width, 2)).astype(np.float32)]
            width = 2
        layer["name"] = name
        built.append(layer)
    return built


# --- float64 forward of Keras' equations ------------------------------------------------------------------------------

def run_cell(kind, config, variables, xs):
    """xs [B, T, F] -> outputs [B, T, H] (every step; go_backwards reverses the time axis first, as Keras does)."""
    units = config["units"]
    w, u = (v.astype(np.float64) for v in variables[:2])
    b = variables[2].astype(np.float64) if len(variables) > 2 else None
    act = ACTIVATIONS[config["activation"]]
    rec = ACTIVATIONS[config.get("recurrent_activation", "sigmoid")]
    if config["go_backwards"]:
        xs = xs[:, ::-1]
    batch, steps, _ = xs.shape
    h = np.zeros((batch, units))
    c = np.zeros((batch, units))
    outputs = []
    for t in range(steps):
        x = xs[:, t]
        if kind == "SimpleRNN":
            h = act(x @ w + h @ u + (b if b is not None else 0))
        elif kind == "LSTM":
            a = x @ w + h @ u + (b if b is not None else 0)
            i, f, g, o = (a[:, k * units:(k + 1) * units] for k in range(4))
            c = rec(f) * c + rec(i) * act(g)
            h = rec(o) * act(c)
        else:
            bi, bh = (np.zeros(3 * units), np.zeros(3 * units)) if b is None else ((b[0], b[1]) if b.ndim == 2 else (b, np.zeros(3 * units)))
            xz, xr, xh = (x @ w[:, k * units:(k + 1) * units] + bi[k * units:(k + 1) * units] for k in range(3))
            hz, hr = (h @ u[:, k * units:(k + 1) * units] + bh[k * units:(k + 1) * units] for k in range(2))
            z, r = rec(xz + hz), rec(xr + hr)
            if config["reset_after"]:
                candidate = act(xh + r * (h @ u[:, 2 * units:] + bh[2 * units:]))
            else:
                candidate = act(xh + (r * h) @ u[:, 2 * units:])
            h = z * h + (1 - z) * candidate
        outputs.append(h)
    return np.stack(outputs, axis=1)


def forward(layers, xs):
    """[B, T, I] -> [B, T, O]: every step's output of the last layer (return_sequences=False keeps the steps here)."""
    for layer in layers:
        c = layer["config"]
        if layer["class_name"] in GATES:
            xs = run_cell(layer["class_name"], c, layer["variables"], xs)
        elif layer["class_name"] == "Bidirectional":
            inner = c["layer"]
            forward_out = run_cell(inner["class_name"], dict(inner["config"], go_backwards=False), layer["variables"][0], xs)
            backward_out = run_cell(inner["class_name"], dict(inner["config"], go_backwards=True), layer["variables"][1], xs)[:, ::-1]
            xs = np.concatenate([forward_out, backward_out], axis=-1)
        else:
            kernel, bias = (v.astype(np.float64) for v in layer["variables"])
            a = xs @ kernel + bias
            xs = softmax(a) if c["activation"] == "softmax" else ACTIVATIONS[c["activation"]](a)
    return xs


# --- writers ----------------------------------------------------------------------------------------------------------

def input_layer(features):
    return {"class_name": "InputLayer", "config": {"batch_shape": [None, None, features], "dtype": "float32", "name": "input_layer"}}


def keras3_file(path, name, features, layers):
    def public(layer):
        return {"module": "keras.layers", "class_name": layer["class_name"], "config": layer["config"], "registered_name": None}

    config = {"module": "keras", "class_name": "Sequential", "config": {"name": name, "trainable": True,
              "layers": [dict(input_layer(features), module="keras.layers")] + [public(l) for l in layers]}, "registered_name": None}
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        for layer in layers:
            base = f"layers/{layer['name']}"
            if layer["class_name"] == "Bidirectional":
                groups = [(f"{base}/forward_layer/cell/vars", layer["variables"][0]), (f"{base}/backward_layer/cell/vars", layer["variables"][1])]
            elif layer["class_name"] in GATES:
                groups = [(f"{base}/cell/vars", layer["variables"])]
            else:
                groups = [(f"{base}/vars", layer["variables"])]
            for group, variables in groups:
                g = f.create_group(group)
                for i, v in enumerate(variables):
                    g.create_dataset(str(i), data=v)
        f.create_group("optimizer/vars")
    with zipfile.ZipFile(path, "w") as z:
        # Fixed entry times: the same script writes the same bytes.
        for name, data in (("metadata.json", json.dumps({"keras_version": "3.15.1", "date_saved": "2026-11-30@00:00:00"})),
                           ("config.json", json.dumps(config)), ("model.weights.h5", buffer.getvalue())):
            z.writestr(zipfile.ZipInfo(name, date_time=(2026, 11, 30, 0, 0, 0)), data)


def legacy_file(path, name, features, layers):
    def legacy(layer):
        config = dict(layer["config"])
        if layer is layers[0]:
            config["batch_input_shape"] = [None, None, features]
        return {"class_name": layer["class_name"], "config": config}

    config = {"class_name": "Sequential", "config": {"name": name, "layers": [legacy(l) for l in layers]}}
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config)
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["backend"] = "tensorflow"
        weights = f.create_group("model_weights")
        weights.attrs["layer_names"] = np.array([l["name"].encode() for l in layers])
        for layer in layers:
            group = weights.create_group(layer["name"])
            kind = layer["class_name"]
            if kind == "Bidirectional":
                inner = snake(layer["config"]["layer"]["class_name"])
                cell = inner.replace("simple_rnn", "simple_rnn") + "_cell"
                names = [f"{layer['name']}/{direction}_{inner}/{cell}/{v}:0" for direction in ("forward", "backward")
                         for v in ("kernel", "recurrent_kernel", "bias")[:len(layer["variables"][0])]]
                values = layer["variables"][0] + layer["variables"][1]
            elif kind in GATES:
                cell = snake(kind) + "_cell"
                names = [f"{layer['name']}/{cell}/{v}:0" for v in ("kernel", "recurrent_kernel", "bias")[:len(layer["variables"])]]
                values = layer["variables"]
            else:
                names = [f"{layer['name']}/{v}:0" for v in ("kernel", "bias")]
                values = layer["variables"]
            group.attrs["weight_names"] = np.array([n.encode() for n in names])
            for n, v in zip(names, values):
                group.create_dataset(n, data=v)


def write_golden(path, xs32, expected):
    """input [T, B, I] float32 and output [T, B, O] float64, in refs/README.md's safetensors layout."""
    tensors = [("output", "F64", np.ascontiguousarray(expected.transpose(1, 0, 2)), "<f8"),
               ("input", "F32", np.ascontiguousarray(xs32.transpose(1, 0, 2)), "<f4")]
    header, blobs, offset = {"__metadata__": {"producer": "tests/keras/make_keras_models.py", "layout": "TBI"}}, [], 0
    for name, dtype, value, code in tensors:
        data = value.astype(code).tobytes()
        header[name] = {"dtype": dtype, "shape": list(value.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":"))
    text += " " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text.encode("ascii") + b"".join(blobs))


def main():
    for seed, (name, features, layers, fmt) in enumerate(MODELS):
        rng = np.random.default_rng(2000 + seed)
        built = build(layers, features, rng)
        path = os.path.join(HERE, name + (".keras" if fmt == "keras" else ".h5"))
        (keras3_file if fmt == "keras" else legacy_file)(path, name, features, built)
        if not name.startswith("refused_"):
            xs32 = rng.standard_normal((BATCH, STEPS, features)).astype(np.float32)
            write_golden(os.path.join(HERE, name + ".golden.safetensors"), xs32, forward(built, xs32.astype(np.float64)))
        print(name, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
