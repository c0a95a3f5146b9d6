"""The benchmark harness: options, threads, alternated timing, records, output.

Every script in ``bench/`` follows the same pattern::

    from harness import Bench, alternate
    bench = Bench("minibatch", __doc__)      # parses --threads/--quick/...,
    args = bench.args                        # pins the threads *before*
    import numpy as np                       # numpy, torch or jax load

then times fastnn and each installed peer on identical work with
``alternate`` (runs interleaved round after round), records each workload
with ``bench.workload(...)`` and ends with ``bench.finish()``, which prints
the markdown report and writes ``bench/results/NAME.json``.

Threads: every library gets ``--threads`` (default: all cores). The process
is pinned to that many cores (inherited by every thread, and read by XLA),
the BLAS/OpenMP variables are set before any BLAS loads (threadpoolctl
reports the pools that ran); PyTorch gets ``torch.set_num_threads``.
fastnn's engine keeps its own setting (its default: the cores it is
given, through ``OMP_NUM_THREADS``); the report states what each
library used.

OpenBLAS: ``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` are removed from the
environment before NumPy loads, so OpenBLAS picks its own kernel; the report
says what was set and which kernel ran.

This module imports nothing heavy, so that it runs before numpy, torch or jax.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import machine
import report

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
PEERS = ("jax", "torch", "sklearn", "numpy")
OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)
SETTLE_SECONDS = 0.15  # OpenBLAS threads spin ~0.1 s after a call


# ----------------------------------------------------------------- threads
def all_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def configure_threads(threads: int) -> None:
    """Give every library ``threads`` threads. Call before numpy loads."""
    for name in ("torch", "jax", "numpy"):
        if name in sys.modules:
            raise RuntimeError(f"configure_threads must run before {name} is imported")
    for var in THREAD_VARS:
        os.environ[var] = str(threads)
    if threads == 1:
        os.environ["XLA_FLAGS"] = (
            os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"
            " intra_op_parallelism_threads=1"
        ).strip()
    if hasattr(os, "sched_setaffinity") and threads < all_cores():
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:threads])


def child_env(**overrides: str | None) -> dict:
    """This environment for a child interpreter: the OpenBLAS override
    variables removed, then ``overrides`` applied (None removes a variable)."""
    env = {k: v for k, v in os.environ.items() if k not in OPENBLAS_VARS}
    for k, v in overrides.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def run_child(script: Path, args: list[str], env: dict | None = None, timeout: float = 900) -> dict:
    """Run a bench script in a fresh interpreter (``child_env()`` unless
    ``env`` is given) and return the JSON object it prints last."""
    proc = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        env=child_env() if env is None else env,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"{script.name} {' '.join(args)} failed "
            f"({proc.returncode}): {proc.stderr.strip()[-2000:]}"
        )
    last = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if not last:
        raise RuntimeError(f"{script.name} {' '.join(args)} printed no JSON")
    return json.loads(last[-1])


def require_fastnn() -> None:
    """Import fastnn as installed, or exit saying how to install it."""
    try:
        import fastnn  # noqa: F401
    except ImportError as exc:
        sys.exit(
            f"error: cannot import fastnn in {sys.executable}: {exc}\n"
            "The benchmarks run against the installed package: install it first, "
            "from the repository root, with `pip install .`."
        )


def available(peer: str) -> tuple[bool, str]:
    """(True, version) if the peer imports, else (False, why)."""
    try:
        module = __import__(peer)
    except Exception as exc:  # ImportError, or a broken install
        return False, f"{peer} is not installed ({type(exc).__name__}: {exc})"
    return True, str(getattr(module, "__version__", "?"))


# ----------------------------------------------------------------- timing
@dataclass
class Timing:
    """What ``alternate`` measured: samples per runner, the runners that
    failed (dropped, with their error) and the other processes' load."""

    samples: dict[str, list[float]]
    errors: dict[str, str] = field(default_factory=dict)
    other_load: float | None = None


def alternate(runners: dict[str, Callable[[], float]], repeats: int, warmup: bool = True) -> Timing:
    """Call each runner once per round, ``repeats`` rounds, rotating the
    order (and reversing it every other round) so that no runner always runs
    first or after the same neighbour; sleep ``SETTLE_SECONDS`` before each
    call, so that the previous runner's BLAS and OpenMP threads stop
    spinning. Each runner returns its own measurement (seconds per unit, or
    a rate). A runner that raises is dropped and its error kept."""
    names = list(runners)
    samples: dict[str, list[float]] = {n: [] for n in names}
    errors: dict[str, str] = {}
    watch = machine.CpuWatch()

    def call(name: str) -> float | None:
        try:
            return float(runners[name]())
        except Exception as exc:
            errors[name] = f"{type(exc).__name__}: {exc}"
            return None

    if warmup:
        for n in names:
            call(n)
    for r in range(repeats):
        k = r % len(names) if names else 0
        order = names[k:] + names[:k]
        for n in reversed(order) if r % 2 else order:
            if n in errors:
                continue
            time.sleep(SETTLE_SECONDS)
            value = call(n)
            if value is not None:
                samples[n].append(value)
    kept = {n: s for n, s in samples.items() if s and n not in errors}
    return Timing(kept, errors, watch.other_share())


def per_call(fn: Callable[[], Any], min_time: float = 0.05) -> Callable[[], float]:
    """A runner timing ``fn`` in a loop of about ``min_time`` seconds
    (calibrated once); it returns seconds per call."""
    fn()
    calls = 1
    while True:
        t = time.perf_counter()
        for _ in range(calls):
            fn()
        elapsed = time.perf_counter() - t
        if elapsed >= min_time / 4 or calls >= 10**7:
            break
        calls *= 4
    calls = max(1, int(calls * min_time / max(elapsed, 1e-9)))

    def run() -> float:
        t = time.perf_counter()
        for _ in range(calls):
            fn()
        return (time.perf_counter() - t) / calls

    return run


def median(xs: list[float]) -> float:
    return float(statistics.median(xs))


def spread(xs: list[float]) -> float:
    """Half the interquartile range relative to the median (0.05 = ±5 %)."""
    m = median(xs)
    if not m:
        return 0.0
    if len(xs) < 3:
        return (max(xs) - min(xs)) / 2 / m
    q = statistics.quantiles(xs, n=4)
    return (q[2] - q[0]) / 2 / m


# ----------------------------------------------------------------- records
@dataclass
class Row:
    label: str
    median: float  # raw, in the runner's unit
    value: float  # median converted to the workload's unit
    spread: float
    n: int
    samples: list[float]
    reference: bool
    speedup: float | None  # fastnn's speed-up over this row (> 1: fastnn faster)
    columns: dict[str, float | None]


@dataclass
class Workload:
    key: str
    short: str
    title: str
    metric: str
    unit: str
    lower_is_better: bool
    threads: int
    rows: dict[str, Row]
    columns: list[str]
    notes: list[str]
    other_load: float | None
    contended: bool
    chart: bool = True


class Bench:
    """One benchmark script: its options, its workloads, its report."""

    def __init__(
        self,
        name: str,
        doc: str | None,
        add_options: Callable | None = None,
        threads: int | None = None,
        peers: tuple[str, ...] = PEERS,
    ):
        self.name = name
        self.title = (doc or name).strip().splitlines()[0].rstrip(".")
        parser = argparse.ArgumentParser(
            description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=threads or all_cores(),
            help="threads for every library (default %(default)s)",
        )
        parser.add_argument(
            "--quick", action="store_true", help="a smoke run: small sizes, few repeats"
        )
        parser.add_argument(
            "--repeats", type=int, default=None, help="timed rounds per implementation (alternated)"
        )
        parser.add_argument(
            "--peers",
            default=",".join(peers),
            help="comma-separated peers to time (default: %(default)s)",
        )
        parser.add_argument(
            "--out",
            type=Path,
            default=None,
            help=f"JSON output (default: bench/results/{name}.json)",
        )
        parser.add_argument("--no-write", action="store_true", help="print only")
        if add_options is not None:
            add_options(parser)
        self.args = parser.parse_args()
        if self.args.threads < 1:
            parser.error("--threads must be at least 1")
        self.threads = self.args.threads
        self.openblas_env = {v: os.environ.pop(v, None) for v in OPENBLAS_VARS}
        configure_threads(self.threads)
        self.started = time.time()
        self.watch = machine.CpuWatch()
        self.workloads: list[Workload] = []
        self.skipped: dict[str, str] = {}
        self.notes: list[str] = []
        self.sections: list[str] = []  # markdown of tables that are not workloads
        self.measures: dict[str, float] = {}  # values that targets.py checks
        self.extra: dict[str, Any] = {}
        self.blas: list[dict] | None = None  # else: this process's, at the end
        self._peers: list[str] | None = None
        require_fastnn()

    def repeats(self, default: int, quick: int = 2) -> int:
        if self.args.repeats is not None:
            return self.args.repeats
        return quick if self.args.quick else default

    @property
    def peers(self) -> list[str]:
        """The requested peers that are installed; the others noted as skipped."""
        if self._peers is None:
            self._peers = []
            for p in filter(None, (p.strip() for p in self.args.peers.split(","))):
                ok, why = available(p)
                if ok:
                    self._peers.append(p)
                else:
                    self.skip(p, why)
        return self._peers

    def skip(self, peer: str, why: str) -> None:
        self.skipped[peer] = why
        self.log(f"skipping {peer}: {why}")

    def log(self, msg: str) -> None:
        print(f"[{self.name}] {msg}", file=sys.stderr, flush=True)

    def workload(
        self,
        key: str,
        short: str,
        title: str,
        metric: str,
        unit: str,
        scale: float,
        timing: Timing,
        lower_is_better: bool,
        references: tuple[str, ...] = (),
        notes: list[str] | None = None,
        columns: dict[str, Callable[[str, float], float | None]] | None = None,
        labels: dict[str, str] | None = None,
        chart: bool = True,
    ) -> Workload:
        """Record a workload from ``timing`` (``fastnn`` among its runners);
        ``scale`` converts the raw samples to ``unit``. ``references`` are rows
        that are not peers (a floor or a ceiling). ``columns``: derived
        columns, name -> f(runner, median)."""
        samples = timing.samples
        base = median(samples["fastnn"]) if samples.get("fastnn") else None
        rows = {}
        for name, xs in samples.items():
            med = median(xs)
            speedup = None
            if base and name != "fastnn":
                speedup = med / base if lower_is_better else base / med
            rows[name] = Row(
                label=(labels or {}).get(name) or report.describe(name),
                median=med,
                value=med * scale,
                spread=spread(xs),
                n=len(xs),
                samples=xs,
                reference=name in references,
                speedup=speedup,
                columns={c: f(name, med) for c, f in (columns or {}).items()},
            )
        errors = [f"{n} failed and was dropped: {e}" for n, e in timing.errors.items()]
        wl = Workload(
            key,
            short,
            title,
            metric,
            unit,
            lower_is_better,
            self.threads,
            rows,
            list(columns or {}),
            errors + (notes or []),
            timing.other_load,
            machine.contended(timing.other_load, self.threads),
            chart,
        )
        self.workloads.append(wl)
        return wl

    def finish(self) -> dict:
        other = self.watch.other_share()
        payload = {
            "benchmark": self.name,
            "title": self.title,
            "quick": bool(self.args.quick),
            "threads": self.threads,
            "seconds": round(time.time() - self.started, 1),
            "other_load": other,
            "contended": machine.contended(other, self.threads),
            "machine": machine.machine_info(self.threads, self.openblas_env),
            "blas": self.blas if self.blas is not None else machine.blas_info(),
            "skipped": self.skipped,
            "notes": self.notes,
            "workloads": [asdict(wl) for wl in self.workloads],
            "sections": self.sections,
            "measures": self.measures,
            "extra": self.extra,
        }
        print(report.render_benchmark(payload), flush=True)
        if not self.args.no_write:
            out = self.args.out or RESULTS_DIR / f"{self.name}.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(payload, indent=1, default=str))
            self.log(f"wrote {out}")
        return payload
