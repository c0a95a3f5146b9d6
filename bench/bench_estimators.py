"""What the scikit-learn-style estimators cost on top of the engine.

1. ``MLPClassifier.partial_fit`` on one-row chunks of the digits (64-32-10,
   solver="sgd"): the time per call, against scikit-learn's
   ``MLPClassifier.partial_fit`` on the same rows and against the engine's
   own ``Sequential.partial_fit`` (the floor under the estimator).
2. ``MLPClassifier.fit`` on the digits against ``Sequential.fit`` doing the
   same work (same seed, optimizer and batches: the weights come out equal,
   which the report says): the estimator layer's overhead in percent, once
   with its default stopping rule (several epochs per engine call) and once
   with one engine call per epoch (as early stopping needs).

One thread by default (``--threads``): multithreaded BLAS inside the
training loop is much slower for these small products on a busy machine.

    python bench/bench_estimators.py [--epochs 50] [--repeats 11] [--threads 1]
"""

from __future__ import annotations

import time
import warnings

from harness import Bench, Timing, alternate, median


def options(parser):
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="epochs of the fit comparison (default 50; 5 with --quick)",
    )


bench = Bench("estimators", __doc__, options, threads=1, peers=("sklearn",))
args = bench.args

import numpy as np  # noqa: E402

import fastnn  # noqa: E402
from fastnn.datasets import load_digits  # noqa: E402
from fastnn.estimators import MLPClassifier  # noqa: E402
from fastnn.estimators._base import _glorot_weights  # noqa: E402  (the estimators' start)

HIDDEN = 32
CLASSES = np.arange(10)


def bare_net(seed: int = 0) -> fastnn.Sequential:
    return fastnn.Sequential(
        [
            fastnn.Dense(64, HIDDEN, activation="relu"),
            fastnn.Dense(HIDDEN, 10, activation="softmax"),
        ],
        loss="cross_entropy",
        seed=seed,
    )


# ------------------------------------------------------------ 1. partial_fit
def estimator_per_call(make, X, y, calls: int):
    """Seconds per partial_fit call on one-row chunks (after a first call)."""

    def run() -> float:
        est = make()
        est.partial_fit(X[:1], y[:1], classes=CLASSES)
        t = time.perf_counter()
        for i in range(1, calls + 1):
            j = i % len(X)
            est.partial_fit(X[j : j + 1], y[j : j + 1])
        return (time.perf_counter() - t) / calls

    return run


def engine_per_call(X, y, calls: int):
    X32 = X.astype(np.float32)

    def run() -> float:
        net = bare_net()
        opt = fastnn.SGD(lr=0.001, momentum=0.9, nesterov=True)
        t = time.perf_counter()
        for i in range(calls):
            j = i % len(X)
            net.partial_fit(X32[j : j + 1], y[j : j + 1], optimizer=opt)
        return (time.perf_counter() - t) / calls

    return run


def partial_fit_part(X, y, repeats: int) -> None:
    params = dict(hidden_layer_sizes=(HIDDEN,), solver="sgd", random_state=0)
    calls = 300 if args.quick else len(X)
    runners = {
        "fastnn": estimator_per_call(lambda: MLPClassifier(**params), X, y, calls),
        "engine": engine_per_call(X, y, calls),
    }
    if "sklearn" in bench.peers:
        from sklearn.neural_network import MLPClassifier as SkMLP

        runners["sklearn"] = estimator_per_call(lambda: SkMLP(**params), X, y, 100)
    bench.log(f"partial_fit: {repeats} alternated rounds")
    wl = bench.workload(
        "partial_fit",
        "partial_fit 1 row",
        f"MLPClassifier.partial_fit on one-row chunks of the digits (64-{HIDDEN}-10, solver='sgd')",
        "time per call",
        "µs",
        1e6,
        alternate(runners, repeats),
        lower_is_better=True,
        references=("engine",),
        labels={
            "fastnn": "fastnn MLPClassifier.partial_fit",
            "engine": "fastnn Sequential.partial_fit (the engine alone)",
            "sklearn": "scikit-learn MLPClassifier.partial_fit",
        },
    )
    bench.measures["partial_fit-us"] = wl.rows["fastnn"].value


# ------------------------------------------------------------ 2. fit overhead
def fit_runners(X, y, epochs: int, ends: dict) -> dict:
    """The estimator and a bare Sequential doing the same training, each
    building its network inside the timing (as the estimator's fit does)."""

    def bare():
        net = bare_net()  # the estimator's starting weights: RandomState(seed)
        start = _glorot_weights([64, HIDDEN, 10], np.random.RandomState(0), "relu")
        for layer, (W, b) in zip(net.layers, start):
            layer.W[...] = W
            layer.b[...] = b
        return net, fastnn.Adam(lr=0.001, eps=1e-8, l2=0.0001)  # alpha, weights only

    def seq():
        net, opt = bare()
        net.fit(X, y, epochs=epochs, batch_size=200, optimizer=opt, shuffle=True)
        ends["seq"] = net.params.copy()

    def est():
        model = MLPClassifier(
            hidden_layer_sizes=(HIDDEN,), max_iter=epochs, tol=0.0, random_state=0
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # max_iter reached
            model.fit(X, y)
        ends["est"] = model.net_.params.copy() if model.n_iter_ == epochs else None

    def seq1():
        net, opt = bare()
        for _ in range(epochs):
            net.fit(X, y, epochs=1, batch_size=200, optimizer=opt, shuffle=True)
        ends["seq1"] = net.params.copy()

    def est1():
        model = MLPClassifier(hidden_layer_sizes=(HIDDEN,), random_state=0)
        for _ in range(epochs):
            model.partial_fit(X, y, classes=CLASSES)
        ends["est1"] = model.net_.params.copy()

    def timed(fn):
        def run() -> float:
            t = time.perf_counter()
            fn()
            return time.perf_counter() - t

        return run

    return {k: timed(f) for k, f in (("seq", seq), ("est", est), ("seq1", seq1), ("est1", est1))}


def fit_part(X, y, epochs: int, repeats: int) -> None:
    ends: dict[str, np.ndarray | None] = {}
    bench.log(f"fit overhead: {epochs} epochs, {repeats} alternated rounds")
    timing = alternate(fit_runners(X, y, epochs, ends), repeats)
    same = all(
        ends.get(k) is not None and np.array_equal(ends[k], ends["seq"])
        for k in ("est", "seq1", "est1")
    )
    note = "same work: the four trainings end with the same weights: " + (
        "yes" if same else "**no**"
    )
    for key, title, engine, estimator in (
        (
            "fit",
            "one engine call (Sequential.fit(epochs=E)) against "
            "MLPClassifier.fit(max_iter=E), default stopping rule",
            "seq",
            "est",
        ),
        (
            "fit_per_epoch",
            "one engine call per epoch: Sequential.fit(epochs=1) and "
            "MLPClassifier.partial_fit(X, y), E calls each",
            "seq1",
            "est1",
        ),
    ):
        pair = {"fastnn": estimator, "engine": engine}
        part = Timing(
            {name: timing.samples[k] for name, k in pair.items() if k in timing.samples},
            {name: timing.errors[k] for name, k in pair.items() if k in timing.errors},
            timing.other_load,
        )
        base = median(timing.samples[engine]) if engine in timing.samples else None
        bench.workload(
            key,
            f"estimator {key.replace('_', ' ')}",
            f"Training on the digits, E={epochs} epochs, batch 200, Adam, 64-{HIDDEN}-10: " + title,
            "time",
            "ms",
            1e3,
            part,
            lower_is_better=True,
            references=("engine",),
            chart=False,
            notes=[note],
            columns={"over the engine (%)": lambda n, v, b=base: (v / b - 1) * 100 if b else None},
            labels={"fastnn": "fastnn MLPClassifier", "engine": "fastnn Sequential"},
        )


def main() -> None:
    X, y = load_digits()
    X = X / 16.0  # float64, as a user passes them
    repeats = bench.repeats(11, 2)
    partial_fit_part(X, y, repeats)
    fit_part(X, y, args.epochs or (5 if args.quick else 50), repeats)
    bench.finish()


if __name__ == "__main__":
    main()
