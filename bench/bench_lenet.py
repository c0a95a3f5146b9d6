"""Training throughput of the digits LeNet: fastnn against PyTorch eager.

The network of ``fastnn.models.lenet`` (Conv2D(1, 6, 3, padding=1, relu),
MaxPool2D(2), Flatten, Dense(96, 10, softmax); 1030 parameters) on the 8x8
digits, trained with SGD(lr=0.1, momentum=0.9) in float32, in both
libraries on identical work: same starting weights, same sample order (no
shuffling), same batches. One thread by default (``--threads``). Runs
alternate between the two; each reports samples per second over whole
epochs, and the table shows the medians.

    python bench/bench_lenet.py [--epochs 3] [--repeats 7] [--batch-sizes 32 1]
"""

from __future__ import annotations

import time

from harness import Bench, alternate


def options(parser):
    parser.add_argument(
        "--epochs", type=int, default=None, help="epochs per timed run (default 3; 1 with --quick)"
    )
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 1])


bench = Bench("lenet", __doc__, options, threads=1, peers=("torch",))
args = bench.args

import numpy as np  # noqa: E402

import _peers  # noqa: E402
import fastnn  # noqa: E402
from fastnn.models import digits_images, lenet  # noqa: E402

LR, MOMENTUM = 0.1, 0.9


def fastnn_runner(X, y, batch_size, epochs, ends):
    def run() -> float:
        net = lenet(seed=0)
        opt = fastnn.SGD(lr=LR, momentum=MOMENTUM)
        t = time.perf_counter()
        net.fit(X, y, epochs=epochs, batch_size=batch_size, optimizer=opt, shuffle=False)
        rate = epochs * len(X) / (time.perf_counter() - t)
        ends["fastnn"] = [np.ravel(layer.W) for layer in net.layers if layer.W is not None]
        return rate

    return run


def torch_runner(X, y, batch_size, epochs, ends):
    """The same network in torch, from the fastnn network's starting weights."""
    import torch

    torch.set_num_threads(bench.threads)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))

    def run() -> float:
        net = lenet(seed=0)
        conv, dense = net.layers[0], net.layers[3]
        model = torch.nn.Sequential(
            torch.nn.Conv2d(1, 6, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Flatten(),
            torch.nn.Linear(96, 10),
        )
        with torch.no_grad():
            model[0].weight.copy_(torch.from_numpy(conv.W.copy()))
            model[0].bias.copy_(torch.from_numpy(conv.b.copy()))
            model[4].weight.copy_(torch.from_numpy(dense.W.T.copy()))
            model[4].bias.copy_(torch.from_numpy(dense.b.copy()))
        opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
        loss_fn = torch.nn.CrossEntropyLoss()
        t = time.perf_counter()
        _peers.torch_train(model, opt, loss_fn, Xt, yt, batch_size, epochs)
        rate = epochs * len(X) / (time.perf_counter() - t)
        W = model[4].weight.detach().numpy().T
        ends["torch"] = [np.ravel(model[0].weight.detach().numpy()), np.ravel(W)]
        return rate

    return run


def main() -> None:
    d = digits_images(seed=0)
    X = np.ascontiguousarray(d["X_train"], dtype=np.float32)  # (1348, 1, 8, 8)
    y = d["y_train"]
    epochs = args.epochs or (1 if args.quick else 3)
    repeats = bench.repeats(7, 2)
    for bs in args.batch_sizes:
        ends: dict[str, list] = {}
        runners = {"fastnn": fastnn_runner(X, y, bs, epochs, ends)}
        if "torch" in bench.peers:
            runners["torch"] = torch_runner(X, y, bs, epochs, ends)
        bench.log(f"batch {bs}: {repeats} alternated rounds of {epochs} epoch(s)")
        timing = alternate(runners, repeats)
        notes = []
        if "torch" in ends:
            diff = max(
                float(np.max(np.abs(a - b)) / np.max(np.abs(a)))
                for a, b in zip(ends["fastnn"], ends["torch"])
            )
            notes.append(
                f"same work: after {epochs} epoch(s), PyTorch's weights match "
                f"fastnn's to {diff:.0e} of the largest weight"
            )
        bench.workload(
            f"lenet{bs}",
            f"LeNet batch {bs}",
            f"LeNet on the 8x8 digits ({len(X)} images, {lenet().n_params} parameters), "
            f"batch {bs}, SGD momentum, {epochs} epoch(s) per run",
            "throughput",
            "samples/s",
            1.0,
            timing,
            lower_is_better=False,
            notes=notes,
        )
    bench.finish()


if __name__ == "__main__":
    main()
