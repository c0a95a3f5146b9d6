"""The Hubble fit: 10,000 full-batch gradient steps of the regression machine.

Hubble's 24 galaxies (distance in Mpc, velocity in km/s, float64), the line
y = a·x + b fitted from a = b = 0 by plain gradient descent on
E(a, b) = mean of (a·x + b − y)² with lr 0.3 (the tour's rate), 10,000 steps.
fastnn's ``RegressionMachine.fit`` (the machine built once, outside the
timing, as JAX's function is compiled once) records the whole path (a, b
after every step) and the loss of every step; a second table times it as a
user calls it, ``RegressionMachine(seed=0).fit(x, y, lr=0.3, steps=10000)``
(built and checked in every call); the JAX baseline is one jitted
``lax.scan`` over the steps that records nothing (a second JAX row records
the path and loss as fastnn does); PyTorch eager runs autograd and
``torch.optim.SGD`` on two scalar tensors and records nothing; the NumPy
loop records the path. scikit-learn has no full-batch gradient descent on a
line (``SGDRegressor`` steps per sample), so it is not timed here.

    python bench/bench_hubble.py [--steps 10000] [--repeats 5] [--threads N] [--quick]
"""

from __future__ import annotations

from harness import Bench, Timing, alternate, per_call


def options(parser):
    parser.add_argument(
        "--steps", type=int, default=None, help="gradient steps (default 10000; 2000 with --quick)"
    )


bench = Bench("hubble", __doc__, options)
args = bench.args

import numpy as np  # noqa: E402

import fastnn  # noqa: E402
from fastnn.datasets import load_hubble  # noqa: E402

LR = 0.3
LABELS = {
    "jax": "JAX (jit, lax.scan), records nothing",
    "jax_path": "JAX (jit, lax.scan), records path and loss",
    "torch": "PyTorch eager (autograd, optim.SGD)",
    "numpy": "NumPy loop, records path and loss",
}


def fit_fastnn(x, y, steps):
    # The machine is built once, as JAX's function is compiled once; every
    # timed fit starts again from a = b = 0 and records the whole path.
    m = fastnn.RegressionMachine(seed=0)

    def run():
        m.fit(x, y, lr=LR, steps=steps)
        return m.a, m.b

    return run


def fit_fastnn_user(x, y, steps):
    # As a user calls it: the machine built, the data checked, every step's
    # a, b and loss recorded, in one line.
    def run():
        m = fastnn.RegressionMachine(seed=0).fit(x, y, lr=LR, steps=steps)
        return m.a, m.b

    return run


def fit_numpy(x, y, steps):
    def run():
        path = np.empty((steps, 2))
        losses = np.empty(steps)
        a = b = 0.0
        for i in range(steps):
            r = a * x + b - y
            losses[i] = np.mean(r * r)
            ga, gb = 2.0 * np.mean(r * x), 2.0 * np.mean(r)
            a, b = a - LR * ga, b - LR * gb
            path[i] = a, b
        return a, b

    return run


def fit_torch(x, y, steps):
    import torch

    torch.set_num_threads(bench.threads)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def run():
        a = torch.zeros((), dtype=torch.float64, requires_grad=True)
        b = torch.zeros((), dtype=torch.float64, requires_grad=True)
        opt = torch.optim.SGD([a, b], lr=LR)
        for _ in range(steps):
            opt.zero_grad()
            loss = ((a * xt + b - yt) ** 2).mean()
            loss.backward()
            opt.step()
        return a.item(), b.item()

    return run


def fit_jax(x, y, steps, record):
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)

    def E(p, x, y):
        r = p[0] * x + p[1] - y
        return jnp.mean(r * r)

    vg = jax.value_and_grad(E)

    @jax.jit
    def fit(x, y):
        def step(p, _):
            loss, g = vg(p, x, y)
            p = p - LR * g
            return p, ((p, loss) if record else None)

        p, trace = jax.lax.scan(step, jnp.zeros(2), None, length=steps)
        return p, trace

    xj, yj = jnp.asarray(x), jnp.asarray(y)
    jax.block_until_ready(fit(xj, yj))  # compile

    def run():
        p, trace = jax.block_until_ready(fit(xj, yj))
        if record:
            path, losses = np.asarray(trace[0]), np.asarray(trace[1])  # noqa: F841
        return float(p[0]), float(p[1])

    return run


def main() -> None:
    x, y = load_hubble()
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    steps = args.steps or (2000 if args.quick else 10_000)
    fits = {"fastnn": fit_fastnn(x, y, steps), "fastnn_user": fit_fastnn_user(x, y, steps)}
    for peer in bench.peers:
        try:
            if peer == "jax":
                fits["jax"] = fit_jax(x, y, steps, record=False)
                fits["jax_path"] = fit_jax(x, y, steps, record=True)
            elif peer == "torch":
                fits["torch"] = fit_torch(x, y, steps)
            elif peer == "numpy":
                fits["numpy"] = fit_numpy(x, y, steps)
            else:
                bench.skip(
                    peer,
                    "no full-batch gradient descent on a line "
                    "(SGDRegressor steps per sample): not the same work",
                )
        except Exception as exc:
            bench.skip(peer, f"failed to set up: {type(exc).__name__}: {exc}")
    ends = {}
    for name, f in list(fits.items()):
        try:
            ends[name] = f()
        except Exception as exc:
            bench.skip(name, f"failed: {type(exc).__name__}: {exc}")
            del fits[name]
    a0, b0 = ends["fastnn"]
    diffs = {
        k: max(abs(a - a0) / abs(a0), abs(b - b0) / max(abs(b0), 1e-12))
        for k, (a, b) in ends.items()
        if k != "fastnn"
    }
    note = (
        f"same work: fastnn ends at a = {a0:.6g}, b = {b0:.6g}; the peers agree to a "
        "relative " + ", ".join(f"{k} {v:.0e}" for k, v in diffs.items())
    )

    # Each sample is a loop of whole fits lasting about 0.1 s (at least
    # one), per fit: one fit of about a millisecond, timed alone just after
    # the harness's pause, measured the machine waking up as much as the fit.
    min_time = 0.02 if args.quick else 0.1

    def timed(f):
        loop = per_call(f, min_time)

        def run():
            return loop() / steps

        return run

    repeats = bench.repeats(5, 2)
    bench.log(f"{steps} steps, {repeats} alternated rounds")
    timing = alternate({k: timed(f) for k, f in fits.items()}, repeats)
    user = timing.samples.pop("fastnn_user", None)
    bench.workload(
        "hubble",
        "Hubble fit",
        f"Hubble fit: {steps:,} full-batch gradient steps on 24 points",
        "time per step",
        "µs",
        1e6,
        timing,
        lower_is_better=True,
        labels=LABELS,
        columns={f"ms for {steps:,} steps": lambda n, v: v * steps * 1e3},
        notes=[note],
    )
    if user:
        samples = {"fastnn": user, "fastnn_built": timing.samples["fastnn"]}
        samples.update({k: v for k, v in timing.samples.items() if k.startswith("jax")})
        bench.workload(
            "hubble_user",
            "Hubble fit as called",
            f"Hubble fit as the user calls it: RegressionMachine().fit(x, y, steps={steps:,})",
            "time per fit",
            "ms",
            steps * 1e3,
            Timing(samples, timing.errors, timing.other_load),
            lower_is_better=True,
            labels=dict(
                LABELS,
                fastnn="fastnn: built, checked, path and loss recorded",
                fastnn_built="fastnn, the machine built once before",
            ),
            references=("fastnn_built",),
            notes=[
                "the same runs as the Hubble fit above; fastnn's row here also builds the "
                "machine and checks the data in every timed call"
            ],
        )
    bench.finish()


if __name__ == "__main__":
    main()
