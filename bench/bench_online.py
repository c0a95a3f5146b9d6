"""Online learning (batch of one) of a 64-32-10 network on the digits.

fastnn against every installed peer, on identical work: the 1797 digits
(pixels / 16, float32), ReLU hidden layer, softmax output, cross-entropy,
plain SGD (lr 0.01), one update per sample in row order, the same starting
weights. Runs are alternated round after round and the median time per
update of each implementation is reported with fastnn's speed-up over it.
fastnn and JAX (one jitted ``lax.scan`` per epoch) run ``--epochs`` epochs
per timed run, the slower peers ``--peer-epochs``.

    python bench/bench_online.py [--epochs 3] [--repeats 5] [--threads N] [--quick]

Run it with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset in the command
(``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/...``).
"""

from __future__ import annotations

from harness import Bench, alternate


def options(parser):
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="epochs per timed run of fastnn and JAX (default 3)",
    )
    parser.add_argument(
        "--peer-epochs", type=int, default=1, help="epochs per timed run of the slower peers"
    )


bench = Bench("online", __doc__, options)
args = bench.args

import numpy as np  # noqa: E402

import _peers  # noqa: E402
from fastnn.datasets import load_digits  # noqa: E402

SIZES = (64, 32, 10)
LR = 0.01


def main() -> None:
    X, y = load_digits()
    X = (X / 16.0).astype(np.float32)
    y = y.astype(np.int64)
    if args.quick:
        X, y = X[:600], y[:600]
    n = len(X)
    fast_epochs = args.epochs or (1 if args.quick else 3)
    weights = _peers.initial_weights(SIZES)
    names = ["fastnn"] + bench.peers
    trainers = {p: _peers.TRAINERS[p](SIZES, LR, 0.0, bench.threads) for p in names}

    same = _peers.check_same_work(trainers, weights, X[:200], y[:200], 1, bench)
    runners = {}
    for p, tr in trainers.items():
        epochs = fast_epochs if p in ("fastnn", "jax") else args.peer_epochs
        runners[p] = _peers.timed_runner(tr, weights, X, y, 1, epochs, epochs * n)
    bench.log(f"timing {', '.join(names)} ({bench.repeats(5)} alternated rounds)")
    timing = alternate(runners, bench.repeats(5))
    bench.workload(
        "online",
        "online 64-32-10",
        f"Online learning 64-32-10 on the digits ({n} samples, batch 1, SGD)",
        "time per update",
        "µs",
        1e6,
        timing,
        lower_is_better=True,
        notes=[_peers.same_work_note(same, "one epoch on 200 digits")],
    )
    bench.finish()


if __name__ == "__main__":
    main()
