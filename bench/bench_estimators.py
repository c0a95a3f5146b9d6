"""What the scikit-learn-style estimators cost on top of the engine.

1. ``MLPClassifier.partial_fit`` on one-row chunks of the digits (64-32-10,
   solver="sgd"): the time per call, against scikit-learn's
   ``MLPClassifier.partial_fit`` on the same rows and against the engine's
   own ``Sequential.partial_fit`` (the floor under the estimator).
2. ``MLPClassifier.fit`` on the digits against ``Sequential.fit`` doing the
   same work (same seed, optimizer and batches: the weights come out equal,
   which the table reports): the estimator layer's overhead in percent,
   once with its default stopping rule (several epochs per engine call) and
   once with one engine call per epoch (as early stopping needs).

Prints a markdown table. BLAS runs on one thread unless --threads says
otherwise (on a busy machine, multithreaded BLAS inside the training loop
is much slower for these small products)::

    python bench/bench_estimators.py [--epochs 50] [--repeats 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import sys


def _threads_from_argv() -> str:
    for i, arg in enumerate(sys.argv):
        if arg == "--threads" and i + 1 < len(sys.argv):
            return sys.argv[i + 1]
        if arg.startswith("--threads="):
            return arg.split("=", 1)[1]
    return "1"


_THREADS = _threads_from_argv()
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = _THREADS  # before NumPy loads BLAS

from _common import require_fastnn  # noqa: E402

require_fastnn()

import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

import fastnn  # noqa: E402
from fastnn.datasets import load_digits  # noqa: E402
from fastnn.estimators import MLPClassifier, _glorot_weights  # noqa: E402

HIDDEN = 32
CLASSES = np.arange(10)


def digits() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits()
    return X / 16.0, y  # float64, as a user passes them


# ------------------------------------------------------------ 1. partial_fit
def per_call(est, X, y, calls: int) -> float:
    """Seconds per partial_fit call on one-row chunks (after a first call)."""
    est.partial_fit(X[:1], y[:1], classes=CLASSES)
    n = len(X)
    t = time.perf_counter()
    for i in range(1, calls + 1):
        j = i % n
        est.partial_fit(X[j : j + 1], y[j : j + 1])
    return (time.perf_counter() - t) / calls


def engine_per_call(X, y, calls: int) -> float:
    net = fastnn.Sequential(
        [
            fastnn.Dense(64, HIDDEN, activation="relu"),
            fastnn.Dense(HIDDEN, 10, activation="softmax"),
        ],
        seed=0,
    )
    opt = fastnn.SGD(lr=0.001, momentum=0.9, nesterov=True)
    X32 = X.astype(np.float32)
    n = len(X)
    t = time.perf_counter()
    for i in range(calls):
        j = i % n
        net.partial_fit(X32[j : j + 1], y[j : j + 1], optimizer=opt)
    return (time.perf_counter() - t) / calls


def bench_partial_fit(X, y, repeats: int) -> list[tuple[str, float]]:
    try:
        from sklearn.neural_network import MLPClassifier as SkMLP
    except ImportError:
        SkMLP = None
    params = dict(hidden_layer_sizes=(HIDDEN,), solver="sgd", random_state=0)
    runs: dict[str, list[float]] = {"fastnn": [], "engine": [], "sklearn": []}
    for _ in range(repeats):  # alternate, so that load hits all alike
        runs["fastnn"].append(per_call(MLPClassifier(**params), X, y, len(X)))
        runs["engine"].append(engine_per_call(X, y, len(X)))
        if SkMLP is not None:
            runs["sklearn"].append(per_call(SkMLP(**params), X, y, 300))
    return [(k, statistics.median(v)) for k, v in runs.items() if v]


# ------------------------------------------------------------ 2. fit overhead
def same_work(X, y, epochs: int):
    """The estimator and a bare Sequential set up to do the same training."""
    est = MLPClassifier(
        hidden_layer_sizes=(HIDDEN,), max_iter=epochs, tol=0.0, random_state=0
    )
    seed = 0  # an int random_state seeds the weights and the network's shuffling

    def bare():
        net = fastnn.Sequential(
            [
                fastnn.Dense(64, HIDDEN, activation="relu"),
                fastnn.Dense(HIDDEN, 10, activation="softmax"),
            ],
            loss="cross_entropy",
            seed=seed,
        )
        # the estimator's starting weights: scikit-learn's draws from RandomState(seed)
        start = _glorot_weights([64, HIDDEN, 10], np.random.RandomState(seed), "relu")
        for layer, (W, b) in zip(net.layers, start):
            layer.W[...] = W
            layer.b[...] = b
        opt = fastnn.Adam(lr=0.001, eps=1e-8, l2=0.0001)  # alpha, weights only
        return net, opt

    return est, bare


def bench_fit(X, y, epochs: int, repeats: int):
    est, bare = same_work(X, y, epochs)
    ends: dict[str, np.ndarray] = {}

    # every network is built inside the timing, as the estimator's fit builds it
    def seq():
        net, opt = bare()
        net.fit(X, y, epochs=epochs, batch_size=200, optimizer=opt, shuffle=True)
        ends["seq"] = net.params.copy()

    def est_fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # max_iter reached
            est.fit(X, y)
        ends["est"] = est.net_.params.copy() if est.n_iter_ == epochs else None

    def seq1():
        net, opt = bare()
        for _ in range(epochs):
            net.fit(X, y, epochs=1, batch_size=200, optimizer=opt, shuffle=True)
        ends["seq1"] = net.params.copy()

    def est1():
        stream = MLPClassifier(hidden_layer_sizes=(HIDDEN,), random_state=0)
        for _ in range(epochs):
            stream.partial_fit(X, y, classes=CLASSES)
        ends["est1"] = stream.net_.params.copy()

    runs = {"seq": seq, "est": est_fit, "seq1": seq1, "est1": est1}
    times: dict[str, list[float]] = {k: [] for k in ROWS}
    same = True
    for r in range(repeats):  # rotate the order, so that load hits all alike
        names = list(runs)[r % 4:] + list(runs)[:r % 4]
        for name in names if r % 2 == 0 else names[::-1]:
            t = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - t)
        same = same and all(
            ends[k] is not None and np.array_equal(ends[k], ends["seq"]) for k in runs
        )
    return {k: statistics.median(v) for k, v in times.items()}, same


ROWS = {
    "seq": "Sequential.fit(epochs=E): one engine call",
    "est": "MLPClassifier.fit(max_iter=E): default stopping rule",
    "seq1": "Sequential.fit(epochs=1), E calls",
    "est1": "MLPClassifier.partial_fit(X, y), E calls (one epoch each)",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=11)
    ap.add_argument("--threads", default="1", help="BLAS threads (default 1)")
    args = ap.parse_args()
    X, y = digits()

    print(
        f"fastnn {fastnn.__version__}, numpy {np.__version__}, "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{platform.machine()}, BLAS threads {_THREADS}\n"
    )

    rows = dict(bench_partial_fit(X, y, args.repeats))
    print(
        "### partial_fit on one-row chunks of the digits "
        f"(64-{HIDDEN}-10, solver='sgd')\n"
    )
    print("| | µs per call | vs scikit-learn |")
    print("|---|---:|---:|")
    names = {
        "sklearn": "scikit-learn MLPClassifier.partial_fit",
        "fastnn": "fastnn MLPClassifier.partial_fit",
        "engine": "fastnn Sequential.partial_fit (the engine alone)",
    }
    for key in ("sklearn", "fastnn", "engine"):
        if key in rows:
            if key == "sklearn":
                versus = "1"
            elif "sklearn" in rows:
                versus = f"{rows['sklearn'] / rows[key]:.1f}x faster"
            else:
                versus = "—"
            print(f"| {names[key]} | {rows[key] * 1e6:.1f} | {versus} |")
    if "fastnn" in rows and "engine" in rows:
        layer = rows["fastnn"] - rows["engine"]
        print(f"| estimator layer on top of the engine | {layer * 1e6:.1f} | |")
    if "sklearn" not in rows:
        print("\nskipped scikit-learn: not installed (pip install scikit-learn)")

    times, same = bench_fit(X, y, args.epochs, args.repeats)
    print(
        f"\n### Training on the digits: E={args.epochs} epochs, batch 200, Adam, "
        f"64-{HIDDEN}-10 (all four end with the same weights: "
        f"{'yes' if same else 'NO'})\n"
    )
    print("| | ms | over one engine call | over the same engine calls |")
    print("|---|---:|---:|---:|")
    for key, label in ROWS.items():
        base = f"{(times[key] / times['seq'] - 1) * 100:+.1f}%" if key != "seq" else ""
        pair = {"est": "seq", "est1": "seq1"}.get(key)
        same_calls = f"{(times[key] / times[pair] - 1) * 100:+.1f}%" if pair else ""
        print(f"| {label} | {times[key] * 1e3:.1f} | {base} | {same_calls} |")


if __name__ == "__main__":
    main()
