"""Growth of cost: time per epoch against samples and width, peak memory of a fit.

1. Samples: one epoch of the 784-256-128-10 network (batch 128, SGD with
   momentum, the mini-batch benchmark's work) on the first 1,000 ... 100,000
   rows of one synthetic set. Linear cost means time = fixed + k * samples:
   reported are the log-log slope over 10,000 rows and up, fastnn's
   least-squares line, and its marginal cost per sample (the time added per
   extra row) from 10k to 30k rows and from 30k to 100k; these two agree
   when the cost grows linearly (no cache cliff, nothing quadratic).
2. Width: one epoch of 784-w-w-10 (w = 32 ... 1024) on 4,096 rows, batch
   128, with the executed FLOPs (see ``bench_minibatch.py``) and rate.
3. Peak memory of a fit on 60,000 x 784 float32, one epoch at batch 128,
   each implementation in its own fresh interpreter (``--memory-child``),
   run with glibc's ``MALLOC_MMAP_THRESHOLD_=65536`` so that freed large
   blocks go back to the system at once instead of lingering in the heap
   (else memory freed while building the data would be reused by the fit
   and hide its allocations). After the imports and a warm-up fit on 1,024
   rows (thread pools, BLAS buffers, allocator arenas; JAX also compiles the
   60,000-row epoch ahead of time), the data are built in chunks (no
   float64 copy of the whole set), the kernel's peak-RSS counter is reset
   (``echo 5 > /proc/self/clear_refs``: VmHWM becomes the current VmRSS),
   the model is built from the shared weights, the epoch runs, and the peak
   (VmHWM) is read. The footprint of the fit is the data's exact size plus
   the growth of the resident set from the reset to the peak: everything
   the fit needs resident at its worst moment, the data it was handed
   included (a copy it makes counts twice). It is compared with the budget:
   data (X and the int64 labels) + parameters + gradients + optimizer state
   (momentum) + one batch's activations and deltas. Where clear_refs cannot
   be written, ``ru_maxrss`` minus the resident set before the data were
   built is used instead (the report says so). For the implementations that
   allocate through NumPy (fastnn's Python layer, scikit-learn, the NumPy
   trainer) a second, fresh fit runs under ``tracemalloc`` and its peak is
   reported: the bytes allocated through NumPy during the fit, the data
   excluded (they were allocated before tracing started).

    python bench/bench_scaling.py [--repeats 5] [--threads N] [--quick]
"""

from __future__ import annotations

import gc
import json
import os
import sys

from harness import Bench, alternate, child_env, median, run_child
from machine import contended
from report import describe, fmt


def options(parser):
    import argparse

    parser.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    parser.add_argument(
        "--skip",
        default="",
        help="comma-separated parts to skip: samples, width, memory",
    )


bench = Bench("scaling", __doc__, options)
args = bench.args

import numpy as np  # noqa: E402

import _peers  # noqa: E402

SIZES = (784, 256, 128, 10)
LR, MOMENTUM, BATCH = 0.01, 0.9, 128
MEMORY_ROWS = 60_000


# ----------------------------------------------------------------- time
def sweep(what, points, make, repeats):
    """points: [(label, sizes, n_rows)]; returns {label: {impl: [s/epoch]}}.

    Every (point, implementation) pair is one runner, and the rounds
    alternate over all of them, so that a slow spell of the machine touches
    every size alike instead of bending the curve. Each pair first runs one
    untimed epoch (a warm-up, which also tells how long an epoch takes); a
    timed run then trains as many epochs as fill about 0.2 s and reports the
    time per epoch, since a run of a few milliseconds is at the mercy of one
    descheduled thread."""
    names = ["fastnn"] + bench.peers
    runners, keys = {}, {}
    for label, sizes, n in points:
        X, y = make(n)
        weights = _peers.initial_weights(sizes)
        for p in names:
            tr = _peers.TRAINERS[p](sizes, LR, MOMENTUM, bench.threads)
            try:
                took = _peers.timed_runner(tr, weights, X, y, BATCH, 1, 1.0)()
            except Exception as exc:
                bench.notes.append(f"{what} {label}: {p} failed: {exc}")
                continue
            k = 1 if args.quick else max(1, min(50, round(0.2 / max(took, 1e-4))))
            key = f"{label}|{p}"
            runners[key] = _peers.timed_runner(tr, weights, X, y, BATCH, k, k)
            keys[key] = (label, p)
    bench.log(f"  {len(runners)} runs per round, {repeats} alternated rounds")
    timing = alternate(runners, repeats, warmup=False)
    bench.extra.setdefault("other_load", {})[what] = timing.other_load
    for key, error in timing.errors.items():
        bench.notes.append(f"{what}: {key} failed and was dropped: {error}")
    out = {label: {} for label, _, _ in points}
    for key, xs in timing.samples.items():
        label, p = keys[key]
        out[label][p] = xs
    return out


def _load(what: str) -> str:
    v = bench.extra.get("other_load", {}).get(what)
    if v is None:
        return ""
    return f"Other processes used {v * 100:.0f}% of the machine's cores during these runs" + (
        ": the timings are not reliable." if contended(v, bench.threads) else "."
    )


def slope(xs, ys) -> float:
    lx, ly = np.log(np.asarray(xs, float)), np.log(np.asarray(ys, float))
    return float(np.polyfit(lx, ly, 1)[0])


def samples_part(repeats):
    ns = [1000, 3000] if args.quick else [1000, 3000, 10_000, 30_000, 100_000]
    Xall, yall = _peers.synthetic(max(ns), SIZES[0], SIZES[-1])
    bench.log(f"time per epoch against samples ({repeats} alternated rounds)")
    res = sweep("samples", [(n, SIZES, n) for n in ns], lambda n: (Xall[:n], yall[:n]), repeats)
    impls = [i for i in ["fastnn"] + bench.peers if all(i in res[n] for n in ns)]
    lines = [
        "#### Time per epoch against the number of samples (784-256-128-10, batch 128)",
        "",
        "| samples | "
        + " | ".join(f"{describe(i)} ms/epoch (best: µs/sample)" for i in impls)
        + " |",
        "|---:|" + "---:|" * len(impls),
    ]
    med = {i: {n: median(res[n][i]) for n in ns} for i in impls}
    best = {i: {n: min(res[n][i]) for n in ns} for i in impls}
    for n in ns:
        lines.append(
            f"| {n:,} | "
            + " | ".join(f"{fmt(med[i][n] * 1e3)} ({fmt(best[i][n] / n * 1e6)})" for i in impls)
            + " |"
        )
    big = [n for n in ns if n >= 10_000]
    slopes = {i: slope(big, [best[i][n] for n in big]) for i in impls} if len(big) > 1 else {}
    if slopes:
        lines.append(
            "| log-log slope, >= 10,000 | " + " | ".join(f"{slopes[i]:.3f}" for i in impls) + " |"
        )
    lines.append("")
    lines.append(
        "*ms/epoch: median of alternated runs (sizes and implementations "
        "interleaved); in brackets and for the slope, the best run: interference "
        "from the machine only ever adds time, so the growth of the cost itself is "
        "read from the fastest run of each size. Slope 1.0 = time linear in "
        "samples (a fixed cost per epoch pulls it below 1). " + _load("samples") + "*\n"
    )
    bench.sections.append("\n".join(lines))
    bench.extra["samples"] = {
        "rows": ns,
        "seconds_per_epoch": med,
        "best_seconds_per_epoch": best,
        "slopes": slopes,
        "samples": {str(n): res[n] for n in ns},
    }
    if "fastnn" in best and len(big) >= 3:
        t = best["fastnn"]
        fixed, per = np.polyfit(np.asarray(ns, float), [t[n] for n in ns], 1)[::-1]
        early = (t[big[1]] - t[big[0]]) / (big[1] - big[0])
        late = (t[big[-1]] - t[big[-2]]) / (big[-1] - big[-2])
        ratio = late / early if early > 0 else float("inf")
        lines_fit = (
            f"fastnn, best runs: least-squares line {fixed * 1e3:.1f} ms + "
            f"{per * 1e6:.2f} µs x samples; marginal cost per sample "
            f"{early * 1e6:.2f} µs from {big[0]:,} to {big[1]:,} rows and "
            f"{late * 1e6:.2f} µs from {big[-2]:,} to {big[-1]:,}"
        )
        bench.sections[-1] += f"- {lines_fit}\n"
        bench.extra["samples"]["fastnn_fit"] = {
            "fixed_s": fixed,
            "per_sample_s": per,
            "marginal_early": early,
            "marginal_late": late,
        }
        bench.measures["scaling-samples"] = ratio


def width_part(repeats):
    widths = [32, 256] if args.quick else [32, 64, 128, 256, 512, 1024]
    n = 512 if args.quick else 4096
    Xall, yall = _peers.synthetic(n, SIZES[0], SIZES[-1], seed=2)
    bench.log(f"time per epoch against width ({repeats} alternated rounds)")
    points = [(w, (SIZES[0], w, w, SIZES[-1]), n) for w in widths]
    res = sweep("width", points, lambda n: (Xall, yall), repeats)
    impls = [i for i in ["fastnn"] + bench.peers if all(i in res[w] for w in widths)]
    med = {i: {w: median(res[w][i]) for w in widths} for i in impls}
    best = {i: {w: min(res[w][i]) for w in widths} for i in impls}
    flops = {w: _peers.executed_flops((SIZES[0], w, w, SIZES[-1])) for w in widths}
    lines = [
        f"#### Time per epoch against the layer width (784-w-w-10, {n:,} samples, batch 128)",
        "",
        "| width | MFLOP/sample | "
        + " | ".join(f"{describe(i)} ms/epoch (GFLOP/s)" for i in impls)
        + " |",
        "|---:|---:|" + "---:|" * len(impls),
    ]
    for w in widths:
        lines.append(
            f"| {w} | {flops[w] / 1e6:.3f} | "
            + " | ".join(
                f"{fmt(med[i][w] * 1e3)} ({fmt(n * flops[w] / med[i][w] / 1e9)})" for i in impls
            )
            + " |"
        )
    wide = [w for w in widths if w >= 256]
    if len(wide) > 1:
        lines.append(
            "| log-log slope, w >= 256 | "
            + f"{slope(wide, [flops[w] for w in wide]):.2f} | "
            + " | ".join(f"{slope(wide, [best[i][w] for w in wide]):.2f}" for i in impls)
            + " |"
        )
    lines.append("")
    lines.append(
        "*median of alternated runs (widths and implementations interleaved); the "
        "slope of the FLOPs column is what the work grows by, the others what the "
        "time of the best runs grows by. " + _load("width") + "*\n"
    )
    bench.sections.append("\n".join(lines))
    bench.extra["width"] = {
        "widths": widths,
        "rows": n,
        "seconds_per_epoch": med,
        "best_seconds_per_epoch": best,
        "flops_per_sample": flops,
        "samples": {str(w): res[w] for w in widths},
    }


# ----------------------------------------------------------------- memory
def _status(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def memory_child(peer: str) -> None:
    import resource
    import tracemalloc

    n = 2000 if args.quick else MEMORY_ROWS
    weights = _peers.initial_weights(SIZES)
    tr = _peers.TRAINERS[peer](SIZES, LR, MOMENTUM, bench.threads)
    if not args.quick:  # warm-up fit (a smoke run skips it)
        Xw, yw = _peers.synthetic(1024, SIZES[0], SIZES[-1], seed=3)
        tr.prepare(weights, Xw, yw, BATCH)
        tr.run(1)
        del Xw, yw
    if peer == "jax":  # compile the big epoch ahead: not the fit's memory
        import jax

        shapes = (
            jax.ShapeDtypeStruct((n, SIZES[0]), np.float32),
            jax.ShapeDtypeStruct((n,), np.int32),
        )
        params = [(jax.numpy.asarray(W), jax.numpy.asarray(b)) for W, b in weights]
        vel = jax.tree_util.tree_map(jax.numpy.zeros_like, params)
        tr._compiled[((n, SIZES[0]), BATCH)] = tr._epoch.lower(
            params, vel, *shapes, BATCH
        ).compile()
    tr._data = None
    gc.collect()
    base = _status("VmRSS")
    X, y = _peers.synthetic(n, SIZES[0], SIZES[-1])
    gc.collect()
    reset = _reset_peak()
    start = _status("VmRSS")
    tr.prepare(weights, X, y, BATCH)
    tr.run(1)
    if reset:
        growth = _status("VmHWM") - start
    else:
        growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base
        start = base
    traced = None
    if peer in ("fastnn", "numpy", "sklearn"):
        fresh = _peers.TRAINERS[peer](SIZES, LR, MOMENTUM, bench.threads)
        gc.collect()
        tracemalloc.start()
        fresh.prepare(weights, X, y, BATCH)
        fresh.run(1)
        traced = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    data = X.nbytes + y.nbytes
    print(
        json.dumps(
            {
                "peer": peer,
                "rows": n,
                "rss_before_data": base,
                "rss_at_fit_start": start,
                "growth": growth,
                "footprint": growth + (data if reset else 0),
                "data": data,
                "method": "VmHWM after clear_refs"
                if reset
                else "ru_maxrss - RSS before the data (data building included)",
                "traced": traced,
            }
        )
    )


def memory_part():
    n = 2000 if args.quick else MEMORY_ROWS
    n_params = sum(a * b + b for a, b in zip(SIZES[:-1], SIZES[1:]))
    parts = {
        "data (X float32 + y int64)": n * SIZES[0] * 4 + n * 8,
        "parameters": n_params * 4,
        "gradients": n_params * 4,
        "optimizer state (momentum)": n_params * 4,
        "one batch's activations and deltas": 2 * BATCH * sum(SIZES[1:]) * 4,
    }
    budget = sum(parts.values())
    here = os.path.abspath(__file__)
    names = ["fastnn"] + bench.peers

    def measure(peer):
        try:
            return run_child(
                here,
                ["--memory-child", peer, "--threads", str(bench.threads)]
                + (["--quick"] if args.quick else []),
                env=child_env(MALLOC_MMAP_THRESHOLD_="65536"),
                timeout=600,
            )
        except Exception as exc:
            bench.notes.append(f"peak memory of {peer} could not be measured: {exc}")
            return None

    # Memory does not depend on timing, so the children run two at a time.
    bench.log(f"peak memory: {', '.join(names)}, each in a fresh interpreter")
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        found = list(pool.map(measure, names))
    rows = {peer: r for peer, r in zip(names, found) if r is not None}
    mb = 1e6
    lines = [
        f"#### Peak memory of a fit on {n:,} x 784 float32 (one epoch, batch 128)",
        "",
        "| implementation | footprint: data + RSS growth to the peak (MB) | "
        "RSS growth during the fit (MB) | footprint / budget | NumPy allocations "
        "during the fit, tracemalloc (MB) |",
        "|---|---:|---:|---:|---:|",
    ]
    for peer, r in rows.items():
        traced = "—" if r["traced"] is None else f"{r['traced'] / mb:.1f}"
        lines.append(
            f"| {describe(peer)} | {r['footprint'] / mb:.1f} | "
            f"{r['growth'] / mb:.1f} | {r['footprint'] / budget:.2f} | {traced} |"
        )
    lines += [
        "",
        f"Budget {budget / mb:.1f} MB = "
        + " + ".join(f"{k} {v / mb:.2f}" for k, v in parts.items())
        + ".",
        f"Method: {next(iter(rows.values()))['method'] if rows else '?'}; see the "
        "script's docstring. MB = 10^6 bytes.\n",
    ]
    bench.sections.append("\n".join(lines))
    bench.extra["memory"] = {"rows": rows, "budget": budget, "budget_parts": parts}
    if "fastnn" in rows:
        bench.measures["peak-memory"] = rows["fastnn"]["footprint"] / budget


def main() -> None:
    if args.memory_child:
        memory_child(args.memory_child)
        return
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    repeats = bench.repeats(5, 1)
    if "samples" not in skip:
        samples_part(repeats)
    if "width" not in skip:
        width_part(repeats)
    if "memory" not in skip:
        memory_part()
    bench.finish()


if __name__ == "__main__":
    sys.exit(main())
