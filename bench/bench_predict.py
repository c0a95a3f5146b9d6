"""Prediction: one sample and 10,000 samples of a 784-256-128-10 network, and
one sample of a tiny 64-32-10 one.

The network of the mini-batch benchmark (ReLU, ReLU, softmax; fastnn's
starting weights for seed 0, shared by everyone), asked for the class
probabilities of one sample (a (1, 784) float32 array) and of 10,000. Every
implementation takes a NumPy array and hands back a NumPy array, as a user
serving predictions would: ``net.predict(x)`` (fastnn's engine on its
default threads, the cores given); onnxruntime on fastnn's ONNX export
(``fastnn.to_onnx``; CPU provider, all graph optimisations, 1 and 2
intra-op threads, both shown: a target counts its best); PyTorch eager under
``torch.inference_mode()``; a jitted JAX function; scikit-learn's
``predict_proba``; the forward pass in plain NumPy. The reference row is the
floor: the three bare matrix products on the same weights (NumPy
``x @ W1 @ W2 @ W3``: matrix-vector products for one sample, no bias, no
activation, no checks).

The tiny network (64-32-10, ReLU, softmax; the digits' shape) shows what a
call costs from Python: fastnn's bound predictor (``f = net.predictor();
f(x)``, every check of the input kept), ``net.predict``, onnxruntime, and the
barest NumPy forward, ``np.maximum(x @ W1 + b1, 0) @ W2 + b2`` (no softmax,
no checks), as the reference.

Runs alternate; each times a loop of calls long enough to be read (about
0.1 s) and reports the time per call. Every output is compared with
fastnn's first.

    python bench/bench_predict.py [--repeats 7] [--threads N] [--quick]
"""

from __future__ import annotations

import warnings

from harness import Bench, alternate, per_call


def options(parser):
    parser.add_argument(
        "--rows", type=int, default=10_000, help="rows of the batch prediction (default 10000)"
    )


PEERS = ("jax", "torch", "sklearn", "numpy", "onnxruntime")
bench = Bench("predict", __doc__, options, peers=PEERS)
args = bench.args

import numpy as np  # noqa: E402

import _peers  # noqa: E402

SIZES = (784, 256, 128, 10)


def predictors(net, weights):
    """name -> f(X) returning the (n, 10) probabilities as a NumPy array."""
    out = {"fastnn": net.predict}
    for peer in bench.peers:
        try:
            if peer == "onnxruntime":
                for t in sorted({1, min(2, bench.threads)}):
                    out[f"ort_{t}t"] = ort_predict(net, t)
            else:
                out[peer] = PREDICTORS[peer](weights)
        except Exception as exc:
            bench.skip(peer, f"failed to set up: {type(exc).__name__}: {exc}")
    return out


def ort_predict(net, threads: int):
    import onnxruntime as ort

    import fastnn

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    model = fastnn.to_onnx(net).SerializeToString()
    sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name

    def f(X):
        return sess.run(None, {name: X})[0]

    return f


def numpy_predict(weights):
    (W1, b1), (W2, b2), (W3, b3) = weights

    def f(X):
        h = np.maximum(X @ W1 + b1, 0.0)
        h = np.maximum(h @ W2 + b2, 0.0)
        z = h @ W3 + b3
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        return z

    return f


def torch_predict(weights):
    import torch

    torch.set_num_threads(bench.threads)
    model = torch.nn.Sequential(*_peers.torch_mlp(weights), torch.nn.Softmax(dim=1)).eval()

    def f(X):
        with torch.inference_mode():
            return model(torch.from_numpy(X)).numpy()

    return f


def jax_predict(weights):
    import jax
    import jax.numpy as jnp

    params = [(jnp.asarray(W), jnp.asarray(b)) for W, b in weights]

    @jax.jit
    def forward(params, X):
        h = X
        for i, (W, b) in enumerate(params):
            h = h @ W + b
            if i < len(params) - 1:
                h = jnp.maximum(h, 0.0)
        return jax.nn.softmax(h, axis=1)

    def f(X):
        return np.asarray(forward(params, X))

    return f


def sklearn_predict(weights):
    from sklearn.neural_network import MLPClassifier

    X0 = np.random.default_rng(0).random((64, SIZES[0]), dtype=np.float32)
    clf = MLPClassifier(hidden_layer_sizes=SIZES[1:-1], max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.partial_fit(X0, np.arange(64) % SIZES[-1], classes=np.arange(SIZES[-1]))
    clf.coefs_ = [W.copy() for W, _ in weights]
    clf.intercepts_ = [b.copy() for _, b in weights]
    return clf.predict_proba


LABELS = {
    "ort_1t": "onnxruntime, 1 intra-op thread",
    "ort_2t": "onnxruntime, 2 intra-op threads",
    "jax": "JAX (jitted function)",
    "torch": "PyTorch eager, inference_mode",
    "sklearn": "scikit-learn predict_proba",
    "numpy": "NumPy forward (plain)",
}
PREDICTORS = {
    "numpy": numpy_predict,
    "torch": torch_predict,
    "jax": jax_predict,
    "sklearn": sklearn_predict,
}


def bare(weights, one: bool):
    W1, W2, W3 = (W for W, _ in weights)
    if one:

        def f(x):  # x: (784,), three matrix-vector products
            return ((x @ W1) @ W2) @ W3
    else:

        def f(X):
            return ((X @ W1) @ W2) @ W3

    return f


def main() -> None:
    net = _peers.make_net(SIZES)
    weights = [(layer.W.copy(), layer.b.copy()) for layer in net.layers]
    rows = 2000 if args.quick else args.rows
    X, _ = _peers.synthetic(rows, SIZES[0], SIZES[-1], seed=1)
    x1 = X[:1].copy()
    preds = predictors(net, weights)
    ref = preds["fastnn"](X[:256])
    diffs = {}
    for name, f in list(preds.items())[1:]:
        try:
            diffs[name] = float(np.max(np.abs(f(X[:256]) - ref)))
        except Exception as exc:
            bench.skip(name, f"failed: {type(exc).__name__}: {exc}")
            del preds[name]
    note = "same output: the probabilities of every peer match fastnn's to within " + ", ".join(
        f"{k} {v:.0e}" for k, v in diffs.items()
    )
    min_time = 0.02 if args.quick else 0.1
    repeats = bench.repeats(7, 2)
    fwd = _peers.forward_flops(SIZES)

    for key, short, title, data, unit, scale in (
        (
            "predict1",
            "predict 1 sample",
            "Prediction of one sample (784-256-128-10)",
            x1,
            "µs",
            1e6,
        ),
        (
            "predict10k",
            f"predict {rows:,} samples",
            f"Prediction of {rows:,} samples (784-256-128-10)",
            X,
            "ms",
            1e3,
        ),
    ):
        bench.log(f"{short}: {repeats} alternated rounds")
        one = data.shape[0] == 1
        runners = {name: per_call(lambda f=f, d=data: f(d), min_time) for name, f in preds.items()}
        arg = data[0] if one else data
        floor = bare(weights, one)
        runners["bare"] = per_call(lambda f=floor, a=arg: f(a), min_time)
        timing = alternate(runners, repeats, warmup=False)
        n = data.shape[0]
        cols = {
            "samples/s": lambda name, v, n=n: n / v,
            "GFLOP/s": lambda name, v, n=n: n * fwd / v / 1e9,
        }
        bench.workload(
            key,
            short,
            title,
            "time per call",
            unit,
            scale,
            timing,
            lower_is_better=True,
            references=("bare",),
            columns=cols,
            labels=LABELS,
            notes=[note if one else f"forward FLOPs per sample (matrix products): {fwd:,}"],
        )
    tiny(min_time, repeats)
    bench.finish()


TINY = (64, 32, 10)


def tiny(min_time: float, repeats: int) -> None:
    """One sample through a 64-32-10 network: the cost of a call."""
    net = _peers.make_net(TINY)
    (W1, b1), (W2, b2) = ((layer.W.copy(), layer.b.copy()) for layer in net.layers)
    x = _peers.synthetic(1, TINY[0], TINY[-1], seed=2)[0].copy()
    f = net.predictor()
    preds = {"fastnn": f, "predict": net.predict}
    if "onnxruntime" in bench.peers:
        preds["ort_1t"] = ort_predict(net, 1)
    ref = net.predict(x)
    assert np.array_equal(f(x), ref)
    z = np.maximum(x @ W1 + b1, 0) @ W2 + b2
    p = np.exp(z - z.max())
    diffs = {"numpy (+ softmax)": float(np.max(np.abs(p / p.sum() - ref)))}
    diffs.update({n: float(np.max(np.abs(g(x) - ref))) for n, g in preds.items() if n != "fastnn"})
    runners = {name: per_call(lambda g=g: g(x), min_time) for name, g in preds.items()}
    runners["bare"] = per_call(lambda: np.maximum(x @ W1 + b1, 0) @ W2 + b2, min_time)
    bench.log(f"tiny 64-32-10: {repeats} alternated rounds")
    timing = alternate(runners, repeats, warmup=False)
    bench.workload(
        "predict_tiny",
        "predict 1 sample, 64-32-10",
        "Prediction of one sample by a tiny network (64-32-10), from Python",
        "time per call",
        "µs",
        1e6,
        timing,
        lower_is_better=True,
        references=("bare",),
        labels={
            "fastnn": "fastnn, bound predictor (net.predictor())",
            "predict": "fastnn net.predict",
            "ort_1t": "onnxruntime, 1 intra-op thread",
            "bare": "bare NumPy forward, no softmax, no checks",
        },
        notes=[
            "same output: the predictor equals predict bit for bit; the others match to "
            + ", ".join(f"{k} {v:.0e}" for k, v in diffs.items())
        ],
    )


if __name__ == "__main__":
    main()
