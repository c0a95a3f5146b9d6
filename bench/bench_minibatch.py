"""Mini-batch training of a 784-256-128-10 network at batch 128 and 1024,
and of a narrow 64-32-32-10 one at batch 32.

60,000 synthetic samples (784 pixel-like features in [0, 1), float32;
labels 0..9 from a random linear teacher), ReLU hidden layers, softmax
output, cross-entropy, SGD (lr 0.01, momentum 0.9), one epoch per timed run
over the rows in order (the same 469 or 59 batches for everyone, the last
smaller batch included), the same starting weights. fastnn, each installed
peer and the float32 matrix-product ceiling (the best of NumPy's, SciPy's
and PyTorch's sgemm on 2048 x 2048 matrices, same threads) are timed in
alternation; the table gives samples per second, the executed GFLOP/s and
the fraction of the ceiling.

Executed FLOPs per sample (the matrix products only): forward 2*W, weight
gradient 2*W, input gradient 2*W for every layer but the first, whose input
gradient is not needed; W = the layer's weight count. For 784-256-128-10
that is 6 * 234,752 - 2 * 200,704 = 1,007,104 FLOPs per sample.

    python bench/bench_minibatch.py [--samples 60000] [--repeats 3] [--threads N]
                                    [--quick]
"""

from __future__ import annotations

from harness import Bench, alternate, median
from machine import MATMUL_LIBS, matmul_runner


def options(parser):
    parser.add_argument(
        "--samples", type=int, default=None, help="training rows (default 60000; 2048 with --quick)"
    )
    parser.add_argument("--batch-sizes", type=int, nargs="*", default=[128, 1024])


bench = Bench("minibatch", __doc__, options)
args = bench.args

import _peers  # noqa: E402

SIZES = (784, 256, 128, 10)
LR, MOMENTUM = 0.01, 0.9
CEILING_N = 2048


def ceiling_runner(flops_per_sample: float, seen: dict):
    """The best float32 sgemm rate of the installed libraries, expressed as
    the samples per second a trainer running at that rate would reach."""
    size = 1024 if args.quick else CEILING_N
    runners = {
        lib: r
        for lib in MATMUL_LIBS
        if (r := matmul_runner(lib, size, size, size, bench.threads, 0.05 if args.quick else 0.15))
    }

    def run() -> float:
        rates = {lib: r() for lib, r in runners.items()}
        for lib, v in rates.items():
            seen.setdefault(lib, []).append(v)
        return max(rates.values()) / flops_per_sample

    return run


def main() -> None:
    n = args.samples or (2048 if args.quick else 60000)
    X, y = _peers.synthetic(n, SIZES[0], SIZES[-1])
    weights = _peers.initial_weights(SIZES)
    fps = _peers.executed_flops(SIZES)
    names = ["fastnn"] + bench.peers
    trainers = {p: _peers.TRAINERS[p](SIZES, LR, MOMENTUM, bench.threads) for p in names}
    same = _peers.check_same_work(trainers, weights, X[:1024], y[:1024], 128, bench)
    bench.notes.append(_peers.same_work_note(same, "one epoch on 1,024 rows at batch 128"))
    bench.notes.append(
        f"executed FLOPs per sample: {fps:,} (matrix products only; "
        f"see the script's docstring); {n * fps / 1e9:.1f} GFLOP per epoch"
    )

    for bs in args.batch_sizes:
        bench.log(f"batch {bs}: warming up, then {bench.repeats(3, 1)} alternated rounds")
        warm = min(n, 8 * bs)
        for tr in trainers.values():  # a short untimed run: caches, pools, pages
            if not args.quick:
                _peers.timed_runner(tr, weights, X[:warm], y[:warm], bs, 1, 1.0)()
        seen: dict[str, list[float]] = {}
        runners = {p: rate_runner(tr, weights, X, y, bs, n) for p, tr in trainers.items()}
        runners["ceiling"] = ceiling_runner(fps, seen)
        timing = alternate(runners, bench.repeats(3, 1), warmup=False)
        ceiling = median(timing.samples["ceiling"]) if "ceiling" in timing.samples else None
        libs = ", ".join(f"{lib} {median(v) / 1e9:.1f}" for lib, v in seen.items())
        notes = [
            f"ceiling: float32 sgemm {1024 if args.quick else CEILING_N} squared, "
            "GFLOP/s by library "
            f"(median): {libs}; the row shows it as samples/s at {fps:,} FLOPs/sample"
        ]
        cols = {
            "GFLOP/s": lambda name, v: v * fps / 1e9,
            "% of ceiling": (lambda name, v, c=ceiling: 100 * v / c if c else None),
        }
        bench.workload(
            f"batch{bs}",
            f"mini-batch {bs}",
            f"Mini-batch 784-256-128-10, batch {bs}, {n:,} samples, SGD momentum",
            "throughput",
            "samples/s",
            1.0,
            timing,
            lower_is_better=False,
            references=("ceiling",),
            notes=notes,
            columns=cols,
        )
    narrow(n)
    bench.finish()


# Width-32 hidden layers at batch 32 (the digits' shape with two hidden
# layers): products too small for BLAS to pay off, where per-step work and
# the loops of the engine decide. The first round's figure, measured with the
# same script on the same machine (AMD EPYC, 2 cores, commit 61f721a, engine
# on 1 thread, its default then): the median GFLOP/s of 3 runs.
NARROW = (64, 32, 32, 10)
NARROW_BATCH = 32
NARROW_BEFORE_GFLOPS = 17.3


def narrow(n: int) -> None:
    X, y = _peers.synthetic(n, NARROW[0], NARROW[-1], seed=3)
    weights = _peers.initial_weights(NARROW)
    fps = _peers.executed_flops(NARROW)
    names = ["fastnn"] + [p for p in bench.peers if p in ("jax", "torch")]
    trainers = {p: _peers.TRAINERS[p](NARROW, LR, MOMENTUM, bench.threads) for p in names}
    same = _peers.check_same_work(trainers, weights, X[:1024], y[:1024], NARROW_BATCH, bench)
    bench.log(f"narrow 64-32-32-10, batch {NARROW_BATCH}: {bench.repeats(5, 1)} alternated rounds")
    for tr in trainers.values():
        if not args.quick:
            _peers.timed_runner(tr, weights, X[:4096], y[:4096], NARROW_BATCH, 1, 1.0)()
    runners = {p: rate_runner(tr, weights, X, y, NARROW_BATCH, n) for p, tr in trainers.items()}
    timing = alternate(runners, bench.repeats(5, 1), warmup=False)
    gflops = median(timing.samples["fastnn"]) * fps / 1e9 if timing.samples.get("fastnn") else None
    notes = [
        _peers.same_work_note(same, f"one epoch on 1,024 rows at batch {NARROW_BATCH}"),
        f"executed FLOPs per sample: {fps:,} (matrix products only)",
    ]
    if gflops and NARROW_BEFORE_GFLOPS:
        gain = gflops / NARROW_BEFORE_GFLOPS
        bench.measures["narrow-gain"] = gain
        notes.append(
            f"fastnn {gflops:.2f} GFLOP/s here against {NARROW_BEFORE_GFLOPS:.2f} in the first "
            f"round (same script and machine): {gain:.2f}x"
        )
    bench.workload(
        "narrow32",
        f"narrow, batch {NARROW_BATCH}",
        f"Mini-batch 64-32-32-10, batch {NARROW_BATCH}, {n:,} samples, SGD momentum",
        "throughput",
        "samples/s",
        1.0,
        timing,
        lower_is_better=False,
        notes=notes,
        columns={"GFLOP/s": lambda name, v: v * fps / 1e9},
    )


def rate_runner(trainer, weights, X, y, bs, n):
    timed = _peers.timed_runner(trainer, weights, X, y, bs, 1, 1.0)

    def run() -> float:
        return n / timed()

    return run


if __name__ == "__main__":
    main()
