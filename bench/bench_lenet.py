"""Training throughput of the digits LeNet: fastnn against PyTorch eager.

The network of ``fastnn.models.lenet`` (Conv2D(1, 6, 3, padding=1, relu),
MaxPool2D(2), Flatten, Dense(96, 10, softmax); 1030 parameters) on the 8x8
digits, trained with SGD(lr=0.1, momentum=0.9) in float32, in both
libraries on identical work: same starting weights, same sample order (no
shuffling), same batches. Both run on one thread (``torch.set_num_threads``
and the BLAS pools set to fastnn's count). Runs alternate between the two;
each reports samples per second over whole epochs, and the table shows the
medians.

    python bench/bench_lenet.py [--epochs 3] [--repeats 7] [--batch-sizes 32 1]

Run it with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset in the command
(``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/...``).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

THREADS = 1          # fastnn's training loop is single-threaded
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, str(THREADS))

from _common import require_fastnn  # noqa: E402

require_fastnn()

import numpy as np  # noqa: E402

import fastnn  # noqa: E402
from fastnn.models import digits_images, lenet  # noqa: E402

LR, MOMENTUM = 0.1, 0.9


def run_fastnn(net, X, y, batch_size, epochs):
    opt = fastnn.SGD(lr=LR, momentum=MOMENTUM)
    t = time.perf_counter()
    net.fit(X, y, epochs=epochs, batch_size=batch_size, optimizer=opt, shuffle=False)
    return epochs * len(X) / (time.perf_counter() - t)


def torch_lenet(net):
    """The same network in torch, with the fastnn network's weights."""
    import torch
    conv, dense = net.layers[0], net.layers[3]
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(96, 10))
    with torch.no_grad():
        model[0].weight.copy_(torch.from_numpy(conv.W.copy()))
        model[0].bias.copy_(torch.from_numpy(conv.b.copy()))
        model[4].weight.copy_(torch.from_numpy(dense.W.T.copy()))
        model[4].bias.copy_(torch.from_numpy(dense.b.copy()))
    return model


def run_torch(net, X, y, batch_size, epochs):
    import torch
    model = torch_lenet(net)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt = torch.from_numpy(X)
    yt = torch.from_numpy(y.astype(np.int64))
    n = len(X)
    t = time.perf_counter()
    for _ in range(epochs):
        for s in range(0, n, batch_size):
            opt.zero_grad()
            loss = loss_fn(model(Xt[s:s + batch_size]), yt[s:s + batch_size])
            loss.backward()
            opt.step()
    return epochs * n / (time.perf_counter() - t)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 1])
    args = parser.parse_args(argv)

    try:
        import torch
    except ImportError:
        torch = None  # fastnn alone, with a note
    if torch is not None:
        torch.set_num_threads(THREADS)
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(THREADS)
    except ImportError:
        pass

    d = digits_images(seed=0)
    X = np.ascontiguousarray(d["X_train"], dtype=np.float32)   # (1348, 1, 8, 8)
    y = d["y_train"]
    rows = []
    for bs in args.batch_sizes:
        # warm-up (first calls allocate workspaces and load code)
        run_fastnn(lenet(seed=0), X, y, bs, 1)
        if torch is not None:
            run_torch(lenet(seed=0), X, y, bs, 1)
        fn, tt = [], []
        for _ in range(args.repeats):
            fn.append(run_fastnn(lenet(seed=0), X, y, bs, args.epochs))
            if torch is not None:
                tt.append(run_torch(lenet(seed=0), X, y, bs, args.epochs))
        rows.append((bs, statistics.median(fn), statistics.median(tt) if tt else None))

    print(f"LeNet on the 8x8 digits ({len(X)} training images, {lenet().n_params} "
          f"parameters), float32, SGD(lr={LR}, momentum={MOMENTUM}), {args.epochs} epochs "
          f"per run, median of {args.repeats} alternating runs, {THREADS} thread")
    print(f"{platform.processor() or platform.machine()}, Python "
          f"{platform.python_version()}, numpy {np.__version__}, "
          f"torch {torch.__version__ if torch is not None else '(not installed)'}, "
          f"fastnn {fastnn.__version__}")
    if torch is None:
        print("skipped PyTorch: not installed (pip install torch)")
    print()
    print("| batch size | fastnn (samples/s) | PyTorch eager (samples/s) | speed-up |")
    print("|---:|---:|---:|---:|")
    for bs, f, t in rows:
        if t is None:
            print(f"| {bs} | {f:,.0f} | — | — |")
        else:
            print(f"| {bs} | {f:,.0f} | {t:,.0f} | {f / t:.1f}x |")


if __name__ == "__main__":
    main()
