"""Serving one model two ways: fastnn's predict and onnxruntime on its ONNX export.

The network of the prediction benchmark (784-256-128-10, ReLU, ReLU,
softmax, float32; fastnn's starting weights for seed 0) is exported with
``fastnn.to_onnx`` and served by an onnxruntime ``InferenceSession`` (CPU
provider, all graph optimisations, ``inter_op_num_threads=1``) with
``intra_op_num_threads`` 1 and 2, against ``net.predict`` with fastnn's
engine on 1 and 2 threads (``fastnn.threads(n)``). Each is asked for the
class probabilities of one sample (a (1, 784) float32 array) and of 10,000
rows, taking and returning NumPy arrays, as a service would. Runs alternate;
each times a loop of calls long enough to be read (about 0.1 s) and reports
the time per call. The outputs are compared first (float32 rounding apart).

    python bench/bench_serving.py [--repeats 7] [--rows 10000] [--quick]

``--quick`` (2,000 rows, two rounds, short loops) runs in a few seconds and
checks that everything works; its numbers are not for comparison.
"""

from __future__ import annotations

from harness import Bench, alternate, per_call


def options(parser):
    parser.add_argument(
        "--rows", type=int, default=10_000, help="rows of the batch prediction (default 10000)"
    )


bench = Bench("serving", __doc__, options, peers=("onnxruntime",))
args = bench.args

import numpy as np  # noqa: E402

import _peers  # noqa: E402
import fastnn  # noqa: E402

SIZES = (784, 256, 128, 10)
LABELS = {
    "fastnn": "fastnn predict, 1 thread",
    "fastnn_2t": "fastnn predict, 2 threads",
    "ort_1t": "onnxruntime, 1 intra-op thread",
    "ort_2t": "onnxruntime, 2 intra-op threads",
}


def fastnn_threads(net, n: int):
    def f(X):
        with fastnn.threads(n):
            return net.predict(X)

    return f


def ort_session(model, threads: int):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name

    def f(X):
        return sess.run(None, {name: X})[0]

    return f


def main() -> None:
    net = _peers.make_net(SIZES)
    rows = 2000 if args.quick else args.rows
    X, _ = _peers.synthetic(rows, SIZES[0], SIZES[-1], seed=1)
    preds = {"fastnn": fastnn_threads(net, 1), "fastnn_2t": fastnn_threads(net, 2)}
    if "onnxruntime" in bench.peers:
        model = fastnn.to_onnx(net)
        for t in (1, 2):
            if t <= bench.threads:
                preds[f"ort_{t}t"] = ort_session(model, t)
    ref = net.predict(X[:256])
    diffs = {n: float(np.max(np.abs(f(X[:256]) - ref))) for n, f in preds.items() if n != "fastnn"}
    note = "same output: the probabilities match fastnn's 1-thread predict to within " + ", ".join(
        f"{k} {v:.0e}" for k, v in diffs.items()
    )
    min_time = 0.01 if args.quick else 0.1
    repeats = bench.repeats(7, 2)
    for key, short, title, data, unit, scale in (
        ("serve1", "serve 1 sample", "One sample (784-256-128-10)", X[:1].copy(), "µs", 1e6),
        (
            "serve10k",
            f"serve {rows:,} samples",
            f"{rows:,} samples (784-256-128-10)",
            X,
            "ms",
            1e3,
        ),
    ):
        bench.log(f"{short}: {repeats} alternated rounds")
        runners = {name: per_call(lambda f=f, d=data: f(d), min_time) for name, f in preds.items()}
        timing = alternate(runners, repeats, warmup=False)
        n = data.shape[0]
        bench.workload(
            key,
            short,
            title,
            "time per call",
            unit,
            scale,
            timing,
            lower_is_better=True,
            columns={"samples/s": lambda name, v, n=n: n / v},
            labels=LABELS,
            notes=[note],
        )
    bench.finish()


if __name__ == "__main__":
    main()
