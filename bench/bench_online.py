"""Online learning (batch of one) of a 64-32-10 network on the digits.

fastnn against every installed peer, on identical work: same sizes, same
starting weights, same sample order, plain SGD, one thread. Runs are
alternated and the median per-update time of each is reported, with the
ratio to fastnn.

    python bench/bench_online.py [--epochs 3] [--repeats 5]

Run it with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset in the command
(``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/...``).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import fastnn  # noqa: E402
from fastnn.datasets import load_digits  # noqa: E402

LR = 0.01


def setup(seed=0):
    X, y = load_digits()
    X = (X / 16.0).astype(np.float32)
    net = fastnn.Sequential([fastnn.Dense(64, 32, activation="relu"),
                             fastnn.Dense(32, 10, activation="softmax")],
                            loss="cross_entropy", dtype="float32", seed=seed)
    return X, y, net


def run_fastnn(X, y, net, epochs):
    opt = fastnn.SGD(lr=LR)
    t = time.perf_counter()
    net.fit(X, y, epochs=epochs, batch_size=1, optimizer=opt, shuffle=False)
    return (time.perf_counter() - t) / (epochs * len(X))


def make_torch(net):
    import torch
    torch.set_num_threads(1)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    with torch.no_grad():
        model[0].weight.copy_(torch.from_numpy(net.layers[0].W.T.copy()))
        model[0].bias.copy_(torch.from_numpy(net.layers[0].b.copy()))
        model[2].weight.copy_(torch.from_numpy(net.layers[1].W.T.copy()))
        model[2].bias.copy_(torch.from_numpy(net.layers[1].b.copy()))
    return model


def run_torch(X, y, net, epochs):
    import torch
    model = make_torch(net)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt = torch.from_numpy(X)
    yt = torch.from_numpy(y.astype(np.int64))
    t = time.perf_counter()
    for _ in range(epochs):
        for i in range(len(X)):
            loss = loss_fn(model(Xt[i:i + 1]), yt[i:i + 1])
            loss.backward()
            opt.step()
            opt.zero_grad()
    return (time.perf_counter() - t) / (epochs * len(X))


def run_numpy(X, y, net, epochs):
    W1, b1 = net.layers[0].W.copy(), net.layers[0].b.copy()
    W2, b2 = net.layers[1].W.copy(), net.layers[1].b.copy()
    t = time.perf_counter()
    for _ in range(epochs):
        for i in range(len(X)):
            x = X[i:i + 1]
            h = np.maximum(x @ W1 + b1, 0)
            z = h @ W2 + b2
            p = np.exp(z - z.max())
            p /= p.sum()
            p[0, y[i]] -= 1
            dh = (p @ W2.T) * (h > 0)
            W2 -= LR * (h.T @ p)
            b2 -= LR * p[0]
            W1 -= LR * (x.T @ dh)
            b1 -= LR * dh[0]
    return (time.perf_counter() - t) / (epochs * len(X))


def run_sklearn(X, y, net, epochs):
    import warnings

    from sklearn.neural_network import MLPClassifier
    clf = MLPClassifier(hidden_layer_sizes=(32,), solver="sgd", batch_size=1,
                        learning_rate_init=LR, momentum=0.0, alpha=0.0, max_iter=epochs,
                        shuffle=False, tol=0.0, n_iter_no_change=10**9, random_state=0)
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    return (time.perf_counter() - t) / (epochs * len(X))


def run_jax(X, y, net, epochs):
    import jax
    import jax.numpy as jnp

    params = [jnp.asarray(net.layers[0].W), jnp.asarray(net.layers[0].b),
              jnp.asarray(net.layers[1].W), jnp.asarray(net.layers[1].b)]

    def loss_fn(p, x, t):
        h = jnp.maximum(x @ p[0] + p[1], 0)
        z = h @ p[2] + p[3]
        return jax.nn.logsumexp(z) - z[t]

    grad = jax.grad(loss_fn)

    @jax.jit
    def epoch(p, Xs, ys):
        def step(p, xy):
            g = grad(p, xy[0], xy[1])
            return [a - LR * b for a, b in zip(p, g)], None
        p, _ = jax.lax.scan(step, p, (Xs, ys))
        return p

    Xj, yj = jnp.asarray(X), jnp.asarray(y)
    jax.block_until_ready(epoch(params, Xj, yj))  # compile
    t = time.perf_counter()
    for _ in range(epochs):
        params = epoch(params, Xj, yj)
    jax.block_until_ready(params)
    return (time.perf_counter() - t) / (epochs * len(X))


PEERS = {"torch": run_torch, "numpy": run_numpy, "sklearn": run_sklearn, "jax": run_jax}


def available(name):
    mod = {"torch": "torch", "sklearn": "sklearn", "jax": "jax", "numpy": "numpy"}[name]
    try:
        __import__(mod)
        return True
    except ImportError:
        return False


def blas_info():
    try:
        from threadpoolctl import threadpool_info
        return "; ".join(f"{i.get('internal_api')} {i.get('version')} "
                         f"({i.get('architecture')}, {i.get('num_threads')} threads)"
                         for i in threadpool_info() if i.get("user_api") == "blas")
    except ImportError:
        return "threadpoolctl not installed"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--peer-epochs", type=int, default=1,
                        help="epochs per timed run of the slow peers")
    args = parser.parse_args()
    X, y, net = setup()
    peers = [p for p in PEERS if available(p)]
    times = {"fastnn": [], **{p: [] for p in peers}}
    run_fastnn(X, y, setup()[2], 1)   # warm up
    for _ in range(args.repeats):
        times["fastnn"].append(run_fastnn(X, y, setup()[2], args.epochs))
        for p in peers:
            epochs = args.epochs if p == "jax" else args.peer_epochs
            times[p].append(PEERS[p](X, y, setup()[2], epochs))
    base = statistics.median(times["fastnn"])
    print(f"# Online learning, 64-32-10 on the digits ({len(X)} samples), SGD, batch 1\n")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"kernels: {fastnn._kernels.__name__}; BLAS: {blas_info()}\n")
    print("| implementation | µs per update (median) | fastnn is faster by |")
    print("|---|---:|---:|")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"| {name} | {med * 1e6:.3f} | {med / base:.1f}x |")


if __name__ == "__main__":
    main()
