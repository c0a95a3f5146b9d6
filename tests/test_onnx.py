"""ONNX export and import (fastnn.onnx), and the estimators through skl2onnx.

onnxruntime is the reference for what an exported graph computes; where its
CPU provider has no kernel (Conv and AveragePool in double), onnx's own
reference evaluator runs the graph instead.
"""

import io
import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

import fastnn

onnx = pytest.importorskip("onnx", reason="needs the extra fastnn[onnx]")
ort = pytest.importorskip("onnxruntime", reason="needs the extra fastnn[onnx]")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402

import fastnn.onnx as fonnx  # noqa: E402

ACTIVATIONS = ["identity", "sigmoid", "tanh", "relu", "step"]
TOL = {"float32": 1e-5, "float64": 1e-12}


def run_graph(model, X):
    """All outputs of the graph on X, by onnxruntime (onnx.reference where
    onnxruntime has no double kernel)."""
    ops = {n.op_type for n in model.graph.node}
    elem = model.graph.input[0].type.tensor_type.elem_type
    if elem == TensorProto.DOUBLE and ops & {"Conv", "AveragePool"}:
        return ReferenceEvaluator(model).run(None, {"X": X})
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: X})


def assert_close(actual, expected, dtype):
    """Within TOL[dtype] relative to the size of the outputs."""
    scale = max(float(np.abs(expected).max()), 1e-30)
    np.testing.assert_allclose(actual, expected, rtol=TOL[dtype], atol=TOL[dtype] * scale)


def dense_net(hidden, out, dtype, seed):
    n_out = 3 if out == "softmax" else 2
    layers = [
        fastnn.Dense(6, 7, activation=hidden),
        fastnn.Dropout(0.25),
        fastnn.Dense(7, 5, activation=hidden),
        fastnn.Dense(5, n_out, activation=out),
    ]
    net = fastnn.Sequential(layers, dtype=dtype, seed=seed)
    rng = np.random.default_rng(seed)
    net.params[...] = rng.normal(scale=0.8, size=net.n_params)  # away from the init's pattern
    return net


def image_net(act, dtype, seed, stride, padding):
    net = fastnn.Sequential(
        [
            fastnn.Conv2D(
                2, 3, 3, stride=stride, padding=padding, activation=act, input_shape=(2, 11, 11)
            ),
            fastnn.MaxPool2D(2),
            fastnn.Conv2D(3, 4, (2, 1), padding=(1, 0), activation=act),
            fastnn.AvgPool2D((2, 1)),
            fastnn.Flatten(),
            fastnn.Dropout(0.5),
            fastnn.Dense(4 * _hw(stride, padding), 3, activation="softmax"),
        ],
        dtype=dtype,
        seed=seed,
    )
    net.params[...] = np.random.default_rng(seed).normal(scale=0.5, size=net.n_params)
    return net


def _hw(stride, padding):
    """h*w after conv(3, stride, padding) on 11x11, pool 2, conv (2, 1) pad (1, 0), pool (2, 1)."""
    s = (11 + 2 * padding - 3) // stride + 1
    s //= 2
    return ((s + 1) // 2) * s


@pytest.fixture
def X6():
    return np.random.default_rng(7).normal(size=(40, 6))


# ------------------------------------------------------------------ export
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("out", ["identity", "sigmoid", "softmax"])
@pytest.mark.parametrize("hidden", ACTIVATIONS)
def test_dense_networks_export_import(hidden, out, dtype, X6):
    net = dense_net(hidden, out, dtype, seed=ACTIVATIONS.index(hidden))
    X = X6.astype(dtype)
    model = fastnn.to_onnx(net)
    onnx.checker.check_model(model, full_check=True)
    (Y,) = run_graph(model, X)
    expected = net.predict(X)
    assert Y.dtype == np.dtype(dtype) and Y.shape == expected.shape
    assert_close(Y, expected, dtype)
    back = fastnn.from_onnx(model)
    assert repr(back.layers) == repr(net.layers)
    assert back.dtype == net.dtype and back.loss == net.loss
    np.testing.assert_array_equal(back.params, net.params)
    np.testing.assert_array_equal(back.predict(X), expected)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "act,stride,padding", [("relu", 1, 0), ("tanh", 2, 1), ("sigmoid", 1, 2), ("step", 2, 0)]
)
def test_image_networks_export_import(act, stride, padding, dtype):
    net = image_net(act, dtype, seed=stride + padding, stride=stride, padding=padding)
    X = np.random.default_rng(3).normal(size=(9, 2, 11, 11)).astype(dtype)
    model = fastnn.to_onnx(net)
    onnx.checker.check_model(model, full_check=True)
    ops = [n.op_type for n in model.graph.node]
    assert {"Conv", "MaxPool", "AveragePool", "Flatten", "Dropout", "Gemm", "Softmax"} <= set(ops)
    (Y,) = run_graph(model, X)
    assert_close(Y, net.predict(X), dtype)
    back = fastnn.from_onnx(model)
    assert repr(back.layers) == repr(net.layers)
    np.testing.assert_array_equal(back.predict(X), net.predict(X))


def test_conv_attributes_follow_the_spec():
    net = fastnn.Sequential(
        [
            fastnn.Conv2D(1, 2, (3, 2), stride=(2, 1), padding=(1, 0), input_shape=(1, 6, 5)),
            fastnn.AvgPool2D(2),
            fastnn.Flatten(),
            fastnn.Dense(4, 1),
        ]
    )
    nodes = {n.op_type: n for n in fastnn.to_onnx(net).graph.node}
    conv = {a.name: helper.get_attribute_value(a) for a in nodes["Conv"].attribute}
    assert conv["pads"] == [1, 0, 1, 0]  # x1_begin, x2_begin, x1_end, x2_end
    assert conv["strides"] == [2, 1] and conv["kernel_shape"] == [3, 2]
    pool = {a.name: helper.get_attribute_value(a) for a in nodes["AveragePool"].attribute}
    assert pool["strides"] == pool["kernel_shape"] == [2, 2]


def test_graph_interface_and_metadata(tmp_path, X6):
    net = dense_net("relu", "softmax", "float64", seed=1)
    model = fastnn.to_onnx(net, tmp_path / "m.onnx")
    (inp,), (out,) = model.graph.input, model.graph.output
    assert (inp.name, out.name) == ("X", "Y")
    assert inp.type.tensor_type.elem_type == TensorProto.DOUBLE
    dims = inp.type.tensor_type.shape.dim
    assert dims[0].dim_param == "N" and dims[1].dim_value == 6
    assert [o.version for o in model.opset_import if o.domain == ""] == [fonnx.OPSET]
    props = {p.key: p.value for p in model.metadata_props}
    assert json.loads(props["fastnn.config"]) == net.config()
    # the file holds the same model, and reads back by name, bytes or file object
    assert (tmp_path / "m.onnx").read_bytes() == model.SerializeToString()
    for source in (
        tmp_path / "m.onnx",
        str(tmp_path / "m.onnx"),
        model.SerializeToString(),
        open(tmp_path / "m.onnx", "rb"),
    ):
        np.testing.assert_array_equal(fastnn.from_onnx(source).predict(X6), net.predict(X6))
    buf = io.BytesIO()
    fastnn.to_onnx(net, buf)
    assert buf.getvalue() == model.SerializeToString()


def test_any_batch_size_runs(X6):
    net = dense_net("tanh", "identity", "float32", seed=2)
    model = fastnn.to_onnx(net)
    for n in (1, 3, 40):
        (Y,) = run_graph(model, X6[:n].astype(np.float32))
        assert Y.shape == (n, 2)


def test_export_refusals():
    with pytest.raises(TypeError, match="takes a fastnn Sequential"):
        fastnn.to_onnx("model")
    unbuilt = fastnn.Sequential([fastnn.Conv2D(1, 2, 3), fastnn.Flatten()])
    with pytest.raises(ValueError, match="does not know the shape of its input"):
        fastnn.to_onnx(unbuilt)
    with pytest.raises(ValueError, match="not fitted"):
        fastnn.to_onnx(fastnn.MLPClassifier())
    net = dense_net("relu", "identity", "float32", seed=0)
    with pytest.raises(TypeError, match="binary mode"):
        fastnn.to_onnx(net, io.StringIO())
    with pytest.raises(TypeError, match="file name or a binary file object"):
        fastnn.to_onnx(net, 3)


# ------------------------------------------------------------------ import of others' graphs
def _model(nodes, inits, in_dims, out_dims=None, elem=TensorProto.FLOAT, opset=17, inputs=None):
    graph = helper.make_graph(
        nodes,
        "g",
        inputs or [helper.make_tensor_value_info("X", elem, in_dims)],
        [helper.make_tensor_value_info("Y", elem, out_dims or ["N", "K"])],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def test_matmul_add_reshape_identity_graph():
    rng = np.random.default_rng(0)
    W1, b1 = rng.normal(size=(12, 4)), rng.normal(size=(1, 4))
    W2 = rng.normal(size=(4, 3))
    inits = {
        "W1": W1,
        "b1": b1,
        "W2": W2,
        "shape": np.array([0, -1], dtype=np.int64),
    }
    nodes = [
        helper.make_node("Reshape", ["X", "shape"], ["f"]),
        helper.make_node("MatMul", ["f", "W1"], ["h"]),
        helper.make_node("Add", ["b1", "h"], ["hb"]),
        helper.make_node("Identity", ["hb"], ["hi"]),
        helper.make_node("Tanh", ["hi"], ["t"]),
        helper.make_node("MatMul", ["t", "W2"], ["z"]),
        helper.make_node("Softmax", ["z"], ["Y"], axis=1),
    ]
    model = _model(nodes, inits, ["N", 3, 2, 2], elem=TensorProto.DOUBLE)
    net = fastnn.from_onnx(model)
    assert [layer.kind for layer in net.layers] == ["flatten", "dense", "dense"]
    X = rng.normal(size=(5, 3, 2, 2))
    (Y,) = run_graph(model, X)
    assert_close(net.predict(X), Y, "float64")


def test_graphs_written_by_torch():
    torch = pytest.importorskip("torch", reason="needs the extra fastnn[torch]")
    nn = torch.nn
    torch.manual_seed(0)
    models = [
        (
            nn.Sequential(
                nn.Linear(6, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 4), nn.Sigmoid()
            ),
            (5, 6),
        ),
        (nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3), nn.Softmax(dim=1)), (5, 6)),
        (
            nn.Sequential(
                nn.Conv2d(1, 4, 3, stride=2, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Conv2d(4, 2, 2, padding=1),
                nn.AvgPool2d(2),
                nn.Flatten(),
                nn.Linear(2, 3),
            ),
            (5, 1, 8, 8),
        ),
    ]
    for module, shape in models:
        module.eval()
        x = torch.randn(*shape)
        buf = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module,
                (x,),
                buf,
                dynamo=False,
                input_names=["X"],
                output_names=["Y"],
                dynamic_axes={"X": {0: "N"}, "Y": {0: "N"}},
            )
        net = fastnn.from_onnx(buf.getvalue())
        again = fastnn.to_onnx(net)  # the input shape is known from the graph: exports at once
        assert [d.dim_value for d in again.graph.input[0].type.tensor_type.shape.dim[1:]] == list(
            shape[1:]
        )
        with torch.no_grad():
            expected = module(x).numpy()
        assert_close(net.predict(x.numpy()), expected, "float32")


def test_graph_written_by_skl2onnx_for_scikit_learns_mlp_regressor():
    pytest.importorskip("sklearn", reason="needs scikit-learn")
    skl2onnx = pytest.importorskip("skl2onnx", reason="needs the extra fastnn[onnx]")
    from sklearn.neural_network import MLPRegressor

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 4)), rng.normal(size=60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg = MLPRegressor(hidden_layer_sizes=(7, 5), activation="tanh", max_iter=30).fit(X, y)
    model = skl2onnx.to_onnx(reg, X[:1].astype(np.float32))
    net = fastnn.from_onnx(model)
    X32 = X.astype(np.float32)
    assert_close(net.predict(X32)[:, 0], reg.predict(X32), "float32")


# ------------------------------------------------------------------ refusals
def test_unsupported_op_is_named():
    W = np.ones((3, 2), dtype=np.float32)
    nodes = [
        helper.make_node("Gemm", ["X", "W"], ["h"], name="fc"),
        helper.make_node("LeakyRelu", ["h"], ["Y"], name="act"),
    ]
    with pytest.raises(ValueError, match=r"node 'act' \(LeakyRelu\).*not supported"):
        fastnn.from_onnx(_model(nodes, {"W": W}, ["N", 3]))


def test_truncated_empty_and_garbage_files(tmp_path):
    net = dense_net("relu", "softmax", "float32", seed=0)
    data = fastnn.to_onnx(net).SerializeToString()
    for cut in (len(data) // 2, len(data) - 3, 7):
        with pytest.raises(ValueError, match="truncated|not a valid ONNX model|not the end"):
            fastnn.from_onnx(data[:cut])
    with pytest.raises(ValueError, match="empty"):
        fastnn.from_onnx(b"")
    (tmp_path / "junk.onnx").write_bytes(b"\x00\xff" * 50 + b"PK\x03\x04")
    with pytest.raises(ValueError, match="truncated|not a valid ONNX model"):
        fastnn.from_onnx(tmp_path / "junk.onnx")
    with pytest.raises(ValueError, match="is a directory"):
        fastnn.from_onnx(tmp_path)
    with pytest.raises(TypeError, match="takes a file name"):
        fastnn.from_onnx(42)


def test_hostile_tensor_sizes_are_refused():
    # an initializer that claims a million values but holds four
    tensor = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[1000, 1000])
    tensor.float_data.extend([1.0, 2.0, 3.0, 4.0])
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["X", "W"], ["Y"])],
        "g",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", 1000])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["N", 1000])],
        [tensor],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(ValueError, match="not a valid ONNX model|cannot be read"):
        fastnn.from_onnx(model.SerializeToString())


def test_shapes_that_do_not_chain():
    nodes = [
        helper.make_node("Gemm", ["X", "W1"], ["h"], name="fc1"),
        helper.make_node("Gemm", ["h", "W2"], ["Y"], name="fc2"),
    ]
    inits = {"W1": np.ones((4, 3), np.float32), "W2": np.ones((5, 2), np.float32)}
    with pytest.raises(ValueError, match=r"do not chain at node 'fc2' \(Gemm\)"):
        fastnn.from_onnx(_model(nodes, inits, ["N", 4]))
    with pytest.raises(ValueError, match=r"do not chain at node 'fc1'.*takes 4 inputs"):
        one = [helper.make_node("Gemm", ["X", "W1"], ["Y"], name="fc1")]
        fastnn.from_onnx(_model(one, inits, ["N", 6]))


@pytest.mark.parametrize(
    "node,inits,dims,match",
    [
        (
            helper.make_node("Conv", ["X", "W"], ["Y"], pads=[1, 0, 0, 0], name="c"),
            {"W": np.ones((2, 1, 3, 3), np.float32)},
            ["N", 1, 6, 6],
            "pads .* not the same at both ends",
        ),
        (
            helper.make_node("Conv", ["X", "W"], ["Y"], group=2, name="c"),
            {"W": np.ones((2, 1, 3, 3), np.float32)},
            ["N", 2, 6, 6],
            "grouped convolution",
        ),
        (
            helper.make_node("MaxPool", ["X"], ["Y"], kernel_shape=[3, 3], strides=[1, 1]),
            {},
            ["N", 1, 6, 6],
            "non-overlapping",
        ),
        (
            helper.make_node("Softmax", ["X"], ["Y"], axis=0),
            {},
            ["N", 3],
            "softmax over the features",
        ),
        (helper.make_node("Relu", ["X"], ["Y"], name="r"), {}, ["N", 3], "follows the input"),
        (
            helper.make_node("Flatten", ["X"], ["Y"], axis=2),
            {},
            ["N", 1, 2, 2],
            r"only Flatten\(axis=1\)",
        ),
    ],
)
def test_attributes_fastnn_does_not_compute(node, inits, dims, match):
    with pytest.raises(ValueError, match=match):
        fastnn.from_onnx(_model([node], inits, dims))


def test_graphs_that_are_not_a_chain():
    W = np.ones((3, 3), np.float32)
    # Y = relu(X W) + X: a residual connection
    nodes = [
        helper.make_node("MatMul", ["X", "W"], ["h"]),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("Add", ["r", "X"], ["Y"], name="skip"),
    ]
    with pytest.raises(ValueError, match=r"node 'skip' \(Add\).*not a constant|only as the bias"):
        fastnn.from_onnx(_model(nodes, {"W": W}, ["N", 3]))
    # a weight computed from the input
    nodes = [helper.make_node("MatMul", ["X", "X"], ["Y"], name="mm")]
    with pytest.raises(ValueError, match="computed, not a constant"):
        fastnn.from_onnx(_model(nodes, {}, ["N", 3]))
    # two outputs: the graph of a classifier
    nodes = [helper.make_node("Gemm", ["X", "W"], ["Y"]), helper.make_node("Relu", ["Y"], ["Z"])]
    model = _model(nodes, {"W": W}, ["N", 3])
    model.graph.output.append(helper.make_tensor_value_info("Z", TensorProto.FLOAT, ["N"]))
    with pytest.raises(ValueError, match="one input and one output"):
        fastnn.from_onnx(model)
    # weights of another type than the input's
    nodes = [helper.make_node("MatMul", ["X", "W"], ["Y"], name="mm")]
    with pytest.raises(ValueError, match=r"\(MatMul\): its weight .W. is float64 in a graph whose"):
        fastnn.from_onnx(_model(nodes, {"W": W.astype(np.float64)}, ["N", 3]))
    # an integer input
    nodes = [helper.make_node("Identity", ["X"], ["Y"])]
    with pytest.raises(ValueError, match="element type INT64"):
        fastnn.from_onnx(_model(nodes, {}, ["N", 3], elem=TensorProto.INT64))


# ------------------------------------------------------------------ estimators
def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning after a few iterations
        return est.fit(X, y)


@pytest.fixture(scope="module")
def digits():
    from fastnn.datasets import load_digits

    X, y = load_digits()
    return X[:300] / 16.0, y[:300]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("labels", ["int", "str", "binary", "bool", "multilabel"])
def test_classifier_label_and_probabilities(labels, dtype, digits):
    X, y = digits
    y = {
        "int": y + 10,
        "str": np.array([f"digit {v}" for v in y]),
        "binary": np.where(y > 4, 7, -3),
        "bool": y % 2 == 0,
        "multilabel": np.stack([y > 4, y % 2 == 0, y == 3], axis=1).astype(int),
    }[labels]
    clf = _fit(fastnn.MLPClassifier((12,), max_iter=15, random_state=0, dtype=dtype), X, y)
    model = fastnn.to_onnx(clf)
    assert [o.name for o in model.graph.output] == ["label", "probabilities"]
    label_elem = model.graph.output[0].type.tensor_type.elem_type
    assert label_elem == (TensorProto.STRING if labels == "str" else TensorProto.INT64)
    Xq = X.astype(dtype)
    label, proba = run_graph(model, Xq)
    assert proba.dtype == np.dtype(dtype)
    assert_close(proba, clf.predict_proba(X), dtype)
    np.testing.assert_array_equal(label, clf.predict(X))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("two_d", [False, True])
def test_regressor_predictions(two_d, dtype, digits):
    X, y = digits
    t = np.stack([y, X[:, 20]], axis=1) if two_d else y.astype(float)
    reg = fastnn.MLPRegressor(hidden_layer_sizes=(9,), max_iter=15, random_state=0, dtype=dtype)
    _fit(reg, X, t)
    model = fastnn.to_onnx(reg)
    assert [o.name for o in model.graph.output] == ["variable"]
    (pred,) = run_graph(model, X.astype(dtype))
    assert_close(pred, reg.predict(X).reshape(len(X), -1), dtype)


def test_zipmap_gives_skl2onnx_default_outputs(digits):
    X, y = digits
    clf = _fit(fastnn.MLPClassifier((8,), max_iter=5, random_state=0), X, y)
    model = fastnn.to_onnx(clf, zipmap=True)
    assert [o.name for o in model.graph.output] == ["output_label", "output_probability"]
    label, maps = run_graph(model, X[:4].astype(np.float32))
    proba = clf.predict_proba(X[:4])
    assert list(maps[0]) == clf.classes_.tolist()
    np.testing.assert_allclose([maps[i][3] for i in range(4)], proba[:, 3], rtol=1e-5)
    with pytest.raises(ValueError, match="zipmap must be"):
        fastnn.to_onnx(clf, zipmap="rows")


def test_skl2onnx_classifier_options_nocl_and_columns():
    skl2onnx = pytest.importorskip("skl2onnx", reason="needs the extra fastnn[onnx]")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 5)).astype(np.float32)
    y = np.array(["a", "b", "c", "d"])[np.arange(40) % 4]
    clf = _fit(fastnn.MLPClassifier((6,), max_iter=20, random_state=0), X, y)
    expected = clf.predict(X)
    model = skl2onnx.to_onnx(clf, X[:1], options={"zipmap": False, "nocl": True})
    label, _ = run_graph(model, X)
    np.testing.assert_array_equal(clf.classes_[label], expected)  # indices, not names
    model = skl2onnx.to_onnx(clf, X[:1], options={"zipmap": "columns"})
    assert [o.name for o in model.graph.output] == ["output_label", "sa", "sb", "sc", "sd"]
    out = run_graph(model, X)
    np.testing.assert_array_equal(out[0], expected)
    assert_close(np.stack(out[1:], axis=1), clf.predict_proba(X), "float32")


def test_pipeline_with_a_scaler_converts(digits):
    pytest.importorskip("sklearn", reason="needs scikit-learn")
    skl2onnx = pytest.importorskip("skl2onnx", reason="needs the extra fastnn[onnx]")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = digits
    for est in (
        fastnn.MLPClassifier((10,), max_iter=10, random_state=0),
        fastnn.MLPRegressor(hidden_layer_sizes=(10,), max_iter=10, random_state=0),
    ):
        target = y if isinstance(est, fastnn.MLPClassifier) else y / 9.0
        pipe = _fit(make_pipeline(StandardScaler(), est), X, target)
        options = {"zipmap": False} if isinstance(est, fastnn.MLPClassifier) else None
        model = skl2onnx.to_onnx(pipe, X[:1].astype(np.float32), options=options)
        out = run_graph(model, X.astype(np.float32))
        if isinstance(est, fastnn.MLPClassifier):
            np.testing.assert_array_equal(out[0], pipe.predict(X))
            assert_close(out[1], pipe.predict_proba(X), "float32")
        else:
            assert_close(out[0][:, 0], pipe.predict(X), "float32")


def test_importing_fastnn_onnx_registers_the_converters():
    pytest.importorskip("skl2onnx", reason="needs the extra fastnn[onnx]")
    code = (
        "import numpy as np, warnings, fastnn.onnx, skl2onnx\n"
        "clf = fastnn.MLPClassifier((4,), max_iter=2, random_state=0)\n"
        "with warnings.catch_warnings():\n"
        "    warnings.simplefilter('ignore')\n"
        "    clf.fit(np.eye(6), [0, 1, 2, 0, 1, 2])\n"
        "m = skl2onnx.to_onnx(clf, np.eye(6)[:1].astype(np.float32))\n"
        "print([o.name for o in m.graph.output])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['output_label', 'output_probability']"


def test_readme_examples_run(tmp_path, monkeypatch):
    pytest.importorskip("torch", reason="needs the extra fastnn[torch]")
    pytest.importorskip("sklearn", reason="needs scikit-learn")
    pytest.importorskip("skl2onnx", reason="needs the extra fastnn[onnx]")
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = text.split("## Serving and interop", 1)[1].split("\n## ", 1)[0]
    code = "\n".join(re.findall(r"```python\n(.*?)```", section, re.S))
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(code, "README.md", "exec"), scope)
    X, net = scope["X"], scope["net"]
    assert_close(scope["P"], net.predict(X), "float32")
    np.testing.assert_array_equal(scope["net2"].predict(X), net.predict(X))
    np.testing.assert_array_equal(scope["net3"].predict(X), net.predict(X))
    np.testing.assert_array_equal(scope["label"], scope["clf"].predict(X))
    assert_close(scope["proba"], scope["clf"].predict_proba(X), "float32")
    assert (tmp_path / "digits.onnx").exists()
    assert [o.name for o in scope["onx"].graph.output] == ["label", "probabilities"]
