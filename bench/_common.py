"""Shared machinery of the benchmark suite: threads, timing, machine, results.

Every script in ``bench/`` follows the same pattern::

    from _common import Bench
    bench = Bench("minibatch", __doc__)      # parses --threads/--quick/...,
    args = bench.args                        # pins the threads *before*
    import numpy as np                       # numpy, torch or jax load

and then times fastnn and each installed peer on identical work with
``alternate`` (runs interleaved round after round, medians reported), puts
each workload into ``bench.workload(...)`` and ends with ``bench.finish()``,
which prints a markdown report and writes ``bench/results/NAME.json``.

The thread rule: every implementation gets the same number of threads
(``--threads``, default: all cores). It is enforced four ways, because each
library listens to a different knob: the process is pinned to that many
cores (``sched_setaffinity``, inherited by every thread created later, and
read by XLA to size its pool); ``OMP_NUM_THREADS``/``OPENBLAS_NUM_THREADS``/
``MKL_NUM_THREADS`` are set before any BLAS loads and ``threadpoolctl``
limits them again at run time; ``torch.set_num_threads``; and for one
thread XLA's Eigen pool is switched off (``--xla_cpu_multi_thread_eigen=false
intra_op_parallelism_threads=1``).

This module imports nothing heavy at load time, so that it can configure
the threads before numpy, torch or jax are imported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
REPO_DIR = BENCH_DIR.parent
PEERS = ("jax", "torch", "sklearn", "numpy")
OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
_MODULE_OF = {"jax": "jax", "torch": "torch", "sklearn": "sklearn", "numpy": "numpy"}
_DESCRIBE = {
    "fastnn": "fastnn",
    "jax": "JAX (jit, lax.scan epochs)",
    "torch": "PyTorch eager",
    "sklearn": "scikit-learn MLPClassifier",
    "numpy": "NumPy (plain, in the bench)",
    "ceiling": "float32 sgemm ceiling, same threads",
    "bare": "NumPy bare matrix products x @ W1 @ W2 @ W3",
    "jax_path": "JAX (jit, lax.scan) recording the path",
}


# ----------------------------------------------------------------- threads
def configure_threads(threads: int) -> None:
    """Give every library ``threads`` threads. Call before numpy loads."""
    for name in ("torch", "jax", "numpy"):
        if name in sys.modules:  # pragma: no cover - a programming error
            raise RuntimeError(f"configure_threads must run before {name} is imported")
    n = str(threads)
    for var in (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "NUMEXPR_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS",
    ):
        os.environ[var] = n
    if threads == 1:
        os.environ["XLA_FLAGS"] = (
            os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"
            " intra_op_parallelism_threads=1"
        ).strip()
    if hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))
        if threads < len(cores):
            os.sched_setaffinity(0, cores[:threads])
    os.environ["FASTNN_BENCH_THREADS"] = n


def limit_blas(threads: int):
    """threadpoolctl's limit on every BLAS/OpenMP pool loaded so far (a
    context manager; a no-op without threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=threads)


def torch_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


# ----------------------------------------------------------------- peers
def available(peer: str) -> tuple[bool, str]:
    """(True, version) if the peer imports, else (False, why)."""
    mod = _MODULE_OF.get(peer, peer)
    try:
        m = __import__(mod)
    except Exception as exc:  # ImportError, or a broken install
        return False, f"{mod} is not installed ({type(exc).__name__}: {exc})"
    return True, str(getattr(m, "__version__", "?"))


def describe(name: str) -> str:
    return _DESCRIBE.get(name, name)


# ----------------------------------------------------------------- timing
SETTLE_SECONDS = 0.15


def alternate(
    runners: dict[str, Callable[[], float]], repeats: int, warmup: bool = True
) -> dict[str, list[float]]:
    """Call each runner once per round, ``repeats`` rounds, rotating the order
    so that no implementation always runs first (or right after the same
    neighbour). Each runner returns its own measurement (seconds per unit,
    or a rate). A runner that raises is dropped, its error kept in
    ``alternate.errors``.
    """
    names = list(runners)
    samples: dict[str, list[float]] = {n: [] for n in names}
    errors: dict[str, str] = {}
    watch = CpuWatch()
    if warmup:
        for n in names:
            try:
                runners[n]()
            except Exception as exc:
                errors[n] = f"{type(exc).__name__}: {exc}"
    for r in range(repeats):
        order = names[r % len(names) :] + names[: r % len(names)] if names else []
        if r % 2:
            order.reverse()
        for n in order:
            if n in errors:
                continue
            # Let the previous runner's worker threads go to sleep first:
            # OpenBLAS's spin for about 2**28 cycles (~0.1 s) after a call,
            # OpenMP's and JAX's for less, and a spinning thread of one
            # library takes a core from the next one's threads.
            time.sleep(SETTLE_SECONDS)
            try:
                samples[n].append(float(runners[n]()))
            except Exception as exc:
                errors[n] = f"{type(exc).__name__}: {exc}"
    alternate.errors = errors  # type: ignore[attr-defined]
    alternate.other_load = watch.other_share()  # type: ignore[attr-defined]
    return {n: s for n, s in samples.items() if s and n not in errors}


class CpuWatch:
    """How busy other processes kept the machine over an interval: the CPU
    time of all processes (``/proc/stat``: user, nice, system, irq, softirq
    and the hypervisor's steal) minus this process's and its finished
    children's (``os.times``), as a share of all cores over the wall time.
    0 means the benchmark had the machine to itself; on a shared machine a
    few percent is normal, tens of percent make timings unreliable (threads
    that wait for each other are descheduled)."""

    def __init__(self) -> None:
        self.begin = self._read()

    @staticmethod
    def _read() -> tuple[float, float, float] | None:
        try:
            with open("/proc/stat") as f:
                v = [int(x) for x in f.readline().split()[1:9]]
        except (OSError, ValueError):
            return None
        busy = (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / os.sysconf("SC_CLK_TCK")
        t = os.times()
        own = t.user + t.system + t.children_user + t.children_system
        return busy, own, time.monotonic()

    def other_share(self) -> float | None:
        end = self._read()
        if end is None or self.begin is None:
            return None
        busy, own, wall = (e - b for e, b in zip(end, self.begin))
        if wall <= 0:
            return None
        return max(0.0, busy - own) / (wall * (os.cpu_count() or 1))


def per_call(fn: Callable[[], Any], min_time: float = 0.05) -> Callable[[], float]:
    """A runner that times ``fn`` in a loop long enough to be read reliably
    (calibrated once to about ``min_time`` seconds) and returns seconds per
    call."""
    fn()
    calls, elapsed = 1, 0.0
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
    """Half the range between the 25th and 75th percentile, relative to the
    median (0.05 = ±5 %)."""
    if len(xs) < 3:
        return (max(xs) - min(xs)) / 2 / median(xs) if median(xs) else 0.0
    q = statistics.quantiles(xs, n=4)
    return (q[2] - q[0]) / 2 / median(xs) if median(xs) else 0.0


# ----------------------------------------------------------------- machine
def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_info() -> list[dict]:
    """The BLAS and OpenMP pools loaded in this process (threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [{"error": "threadpoolctl is not installed"}]
    keep = (
        "user_api",
        "internal_api",
        "version",
        "architecture",
        "num_threads",
        "threading_layer",
        "filepath",
    )
    out = []
    for info in threadpool_info():
        row = {k: info.get(k) for k in keep if info.get(k) is not None}
        if "filepath" in row:
            row["library"] = os.path.basename(row.pop("filepath"))
            row["loaded_by"] = _owner_of(info.get("filepath", ""))
        out.append(row)
    return out


def _owner_of(path: str) -> str:
    for name, tag in (
        ("numpy", "numpy"),
        ("scipy", "scipy"),
        ("torch", "torch"),
        ("jaxlib", "jaxlib"),
        ("sklearn", "scikit_learn"),
    ):
        if f"/{tag}/" in path or f"/{tag}.libs/" in path:
            return name
    return "?"


def blas_line(info: list[dict]) -> str:
    parts = []
    for i in info:
        if "error" in i:
            return i["error"]
        if i.get("user_api") == "blas":
            parts.append(
                f"{i.get('internal_api')} {i.get('version')} "
                f"[{i.get('architecture', '?')}] {i.get('num_threads')} threads "
                f"({i.get('loaded_by')}: {i.get('library')})"
            )
        else:
            parts.append(
                f"{i.get('internal_api')} {i.get('num_threads')} threads "
                f"({i.get('loaded_by')}: {i.get('library')})"
            )
    return "; ".join(parts) or "no BLAS loaded"


def git_revision(part: str = "src") -> str:
    """The repository's revision, marked when ``part`` has changes since."""
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_DIR,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", part],
            cwd=REPO_DIR,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return rev + (f" ({part} modified)" if dirty else "") if rev else "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def fastnn_revision() -> str:
    """The repository's revision when the fastnn that runs is this
    repository's ``src`` (an editable install). Of an installed copy it
    cannot tell: the versions say which fastnn ran and where it lives."""
    fastnn = sys.modules.get("fastnn")
    if fastnn is not None and fastnn.__file__:
        where = Path(fastnn.__file__).resolve().parent
        if where.is_relative_to((REPO_DIR / "src").resolve()):
            return git_revision("src")
    return f"unknown (an installed package; bench/ at {git_revision('bench')})"


def machine_info(threads: int) -> dict:
    """CPU, cores, threads, load, software versions and the OpenBLAS env vars."""
    try:
        allowed = len(os.sched_getaffinity(0))
    except AttributeError:
        allowed = os.cpu_count()
    versions = {"python": platform.python_version()}
    for mod in ("numpy", "scipy", "torch", "jax", "jaxlib", "sklearn", "threadpoolctl"):
        m = sys.modules.get(mod)
        if m is not None:
            versions[mod] = str(getattr(m, "__version__", "?"))
    fastnn = sys.modules.get("fastnn")
    if fastnn is not None:
        versions["fastnn"] = (
            f"{getattr(fastnn, '__version__', '?')} "
            f"({os.path.dirname(fastnn.__file__)})"
        )
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "cores_allowed": allowed,
        "threads": threads,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
        "versions": versions,
        "fastnn_revision": fastnn_revision(),
        "openblas_env": {v: os.environ.get(v) for v in OPENBLAS_VARS},
    }


# ----------------------------------------------------------------- results
def speedup(fastnn: float, peer: float, lower_is_better: bool) -> float:
    """How many times faster fastnn is than the peer (> 1: fastnn wins)."""
    return peer / fastnn if lower_is_better else fastnn / peer


class Bench:
    """One benchmark script: its options, its workloads, its report."""

    def __init__(
        self,
        name: str,
        doc: str | None,
        add_options: Callable | None = None,
        argv: list[str] | None = None,
    ):
        self.name = name
        self.title = (doc or name).strip().splitlines()[0].rstrip(".")
        parser = argparse.ArgumentParser(
            description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=_default_threads(),
            help="threads for every implementation (default: all cores, "
            "%(default)s here)",
        )
        parser.add_argument(
            "--quick", action="store_true", help="a smoke run: small sizes, few repeats"
        )
        parser.add_argument(
            "--repeats",
            type=int,
            default=None,
            help="timed rounds per implementation (alternated)",
        )
        parser.add_argument(
            "--peers",
            default=",".join(PEERS),
            help="comma-separated peers to time (default: all installed)",
        )
        parser.add_argument(
            "--out",
            type=Path,
            default=None,
            help=f"JSON output (default: bench/results/{name}.json)",
        )
        parser.add_argument("--no-write", action="store_true", help="print only")
        parser.add_argument(
            "--no-ceiling",
            action="store_true",
            help="skip the matrix-product ceiling (OpenBLAS variables unset and "
            "as set, in two fresh interpreters) reported at the end",
        )
        if add_options is not None:
            add_options(parser)
        self.args = parser.parse_args(argv)
        if self.args.threads < 1:
            parser.error("--threads must be at least 1")
        configure_threads(self.args.threads)
        self.threads = self.args.threads
        self.started = time.time()
        self.watch = CpuWatch()
        self.workloads: list[dict] = []
        self.skipped: dict[str, str] = {}
        self.notes: list[str] = []
        self.extra: dict[str, Any] = {}
        self.sections: list[str] = []
        self.blas: list[dict] | None = None  # else: this process's, at the end
        self.targets: list[tuple[str, dict]] = []
        self.ceiling_pair: dict | None = None  # (workload, target) not in a table
        self._peers: list[str] | None = None

    def repeats(self, default: int, quick: int = 2) -> int:
        if self.args.repeats is not None:
            return self.args.repeats
        return quick if self.args.quick else default

    @property
    def peers(self) -> list[str]:
        """The requested peers that are installed; the others noted as skipped."""
        if self._peers is None:
            self._peers = []
            for p in [p.strip() for p in self.args.peers.split(",") if p.strip()]:
                ok, why = available(p)
                if ok:
                    self._peers.append(p)
                else:
                    self.skip(p, why)
        return self._peers

    def skip(self, peer: str, why: str) -> None:
        self.skipped[peer] = why
        print(f"[{self.name}] skipping {peer}: {why}", file=sys.stderr, flush=True)

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
        samples: dict[str, list[float]],
        lower_is_better: bool,
        references: tuple[str, ...] = (),
        targets: list[dict] | None = None,
        notes: list[str] | None = None,
        extra: dict | None = None,
        chart: bool = True,
        columns: dict[str, Callable[[str, float], float | None]] | None = None,
        labels: dict[str, str] | None = None,
    ) -> dict:
        """Record a workload: samples per implementation (``fastnn`` first),
        with ``scale`` converting the raw samples to ``unit`` for display.
        ``references`` are rows that are not peers (a floor or a ceiling):
        shown, but not drawn in the speed-up chart. ``columns`` adds derived
        columns: name -> f(implementation, median) (None leaves it blank);
        ``labels`` names the implementations where ``describe`` does not fit."""
        rows = {}
        other = getattr(alternate, "other_load", None)
        alternate.other_load = None  # type: ignore[attr-defined]
        base = median(samples["fastnn"]) if samples.get("fastnn") else None
        for name, xs in samples.items():
            med = median(xs)
            rows[name] = {
                "median": med,
                "value": med * scale,
                "unit": unit,
                "spread": spread(xs),
                "n": len(xs),
                "samples": xs,
                "reference": name in references,
                "speedup": (
                    speedup(base, med, lower_is_better)
                    if base and name != "fastnn"
                    else None
                ),
                "columns": {c: f(name, med) for c, f in (columns or {}).items()},
                "label": (labels or {}).get(name) or describe(name),
            }
        wl = {
            "key": key,
            "short": short,
            "title": title,
            "metric": metric,
            "unit": unit,
            "lower_is_better": lower_is_better,
            "rows": rows,
            "targets": targets or [],
            "notes": notes or [],
            "chart": chart,
            "extra": extra or {},
            "columns": list(columns or {}),
            "other_load": other,
            "threads": self.threads,
            "contended": contended(other, self.threads),
        }
        self.workloads.append(wl)
        return wl

    def errors_as_notes(self) -> list[str]:
        """Failures of the last ``alternate`` call, as notes (never a crash)."""
        errs = getattr(alternate, "errors", {})
        alternate.errors = {}  # type: ignore[attr-defined]
        return [f"{n} failed and was dropped: {e}" for n, e in errs.items()]

    def finish(self) -> dict:
        if not self.args.no_ceiling and self.name != "ceiling":
            self.log("matrix-product ceiling, OpenBLAS variables unset and as set")
            self.ceiling_pair = ceiling_pair(self.threads, self.args.quick)
        payload = {
            "benchmark": self.name,
            "title": self.title,
            "quick": bool(self.args.quick),
            "threads": self.threads,
            "seconds": round(time.time() - self.started, 1),
            "other_load": (other := self.watch.other_share()),
            "contended": contended(other, self.threads),
            "machine": machine_info(self.threads),
            "blas": self.blas if self.blas is not None else blas_info(),
            "skipped": self.skipped,
            "notes": self.notes,
            "workloads": self.workloads,
            "sections": self.sections,
            "extra": self.extra,
            "targets": [{"workload": w, **t} for w, t in self.targets],
            "ceiling_pair": self.ceiling_pair,
        }
        print(render_benchmark(payload), flush=True)
        if not self.args.no_write:
            out = self.args.out or RESULTS_DIR / f"{self.name}.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(payload, indent=1, default=_jsonable))
            self.log(f"wrote {out}")
        return payload


def _default_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _jsonable(x: Any) -> Any:
    if hasattr(x, "tolist"):
        return x.tolist()
    if isinstance(x, Path):
        return str(x)
    return str(x)


def target(
    what: str,
    goal: str,
    measured: float,
    ok: bool,
    shown: str,
    peer: str | None = None,
    speedup_goal: float | None = None,
) -> dict:
    """A target of the speed issue and what this run measured (not asserted).
    ``peer``/``speedup_goal``: the row of the workload it is about and the
    goal as a speed-up over that row (for the chart's target marks)."""
    return {
        "what": what,
        "goal": goal,
        "measured": measured,
        "shown": shown,
        "met": ok,
        "peer": peer,
        "speedup_goal": speedup_goal,
    }


def speedup_target(wl: dict, peer: str, at_least: float, what: str) -> dict | None:
    row = wl["rows"].get(peer)
    if row is None or row["speedup"] is None:
        return None
    s = row["speedup"]
    return target(
        what, f">= {at_least:g}x", s, s >= at_least, f"{s:.2f}x", peer, at_least
    )


# ----------------------------------------------------------------- markdown
def fmt(v: float) -> str:
    if v == 0 or v != v:
        return f"{v:g}"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.1f}"
    if a >= 10:
        return f"{v:.2f}"
    if a >= 1:
        return f"{v:.3f}"
    return f"{v:.3g}"


def render_workload(wl: dict) -> str:
    better = "lower is better" if wl["lower_is_better"] else "higher is better"
    cols = wl.get("columns", [])
    lines = [
        f"#### {wl['title']}",
        "",
        f"| implementation | {wl['metric']} ({wl['unit']}, median) | ± | "
        + "".join(f"{c} | " for c in cols)
        + "fastnn speed-up |",
        "|---|---:|---:|" + "---:|" * len(cols) + "---:|",
    ]
    for row in wl["rows"].values():
        label = row["label"] + (" *(reference)*" if row["reference"] else "")
        s = "—" if row["speedup"] is None else f"{row['speedup']:.2f}x"
        extra = "".join(
            (
                "— | "
                if row["columns"].get(c) is None
                else f"{fmt(row['columns'][c])} | "
            )
            for c in cols
        )
        lines.append(
            f"| {label} | {fmt(row['value'])} | {row['spread'] * 100:.0f}% | "
            f"{extra}{s} |"
        )
    lines.append("")
    lines.append(
        f"*{better}; ± is half the interquartile range over "
        f"{max((r['n'] for r in wl['rows'].values()), default=0)} alternated "
        "runs; speed-up > 1 means fastnn is faster.*"
    )
    if wl.get("other_load") is not None:
        lines.append("")
        lines.append(f"*{load_note(wl['other_load'], wl['threads'])}*")
    if wl["notes"]:
        lines.append("")
    for note in wl["notes"]:
        lines.append(f"- {note}")
    return "\n".join(lines) + "\n"


CONTENDED = 0.10  # other load on our cores above which timings are suspect


def contended(share: float | None, threads: int) -> bool:
    """Did other processes take more than CONTENDED of the cores this run
    used? With fewer threads than cores, the spare cores are theirs to use."""
    if share is None:
        return False
    cores = os.cpu_count() or 1
    spare = max(0, cores - threads) / cores
    return share - spare > CONTENDED * min(threads, cores) / cores


def load_note(share: float, threads: int) -> str:
    text = (
        f"other processes used {share * 100:.0f}% of the machine's cores during "
        "these runs"
    )
    if contended(share, threads):
        text += ": they shared this run's cores, the timings are not reliable"
    return text


def render_targets(targets: list[tuple[str, dict]]) -> str:
    if not targets:
        return ""
    lines = ["| workload | target | goal | measured | met |", "|---|---|---:|---:|:-:|"]
    for wl_title, t in targets:
        lines.append(
            f"| {wl_title} | {t['what']} | {t['goal']} | {t['shown']} | "
            f"{'yes' if t['met'] else '**no**'} |"
        )
    return "\n".join(lines) + "\n"


def render_machine(payload: dict) -> str:
    m = payload["machine"]
    env = ", ".join(
        f"{k}={v}" if v is not None else f"{k} unset"
        for k, v in m["openblas_env"].items()
    )
    vers = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    other = payload.get("other_load")
    return (
        f"- machine: {m['cpu']}, {m['cores']} cores ({m['cores_allowed']} allowed), "
        f"{payload['threads']} thread(s) for every implementation\n"
        f"- took {payload['seconds']} s; load average at the end {m['load_average']}"
        + (f"; {load_note(other, payload['threads'])}" if other is not None else "")
        + "\n"
        f"- BLAS that ran: {blas_line(payload['blas'])}\n"
        f"- environment: {env}\n- software: {vers}; fastnn revision "
        f"{m['fastnn_revision']}\n"
    )


def all_targets(payload: dict) -> list[tuple[str, dict]]:
    out = [(wl["short"], t) for wl in payload["workloads"] for t in wl["targets"]]
    out += [(t["workload"], t) for t in payload.get("targets", [])]
    return out


def render_benchmark(payload: dict, heading: str = "###", targets: bool = True) -> str:
    out = [
        f"{heading} {payload['title']}" + (" (quick)" if payload["quick"] else ""),
        "",
    ]
    out.append(render_machine(payload))
    if payload.get("ceiling_pair"):
        out.append(render_ceiling_pair(payload["ceiling_pair"]))
    for peer, why in payload["skipped"].items():
        out.append(f"- skipped {peer}: {why}")
    for note in payload["notes"]:
        out.append(f"- {note}")
    out.append("")
    found = all_targets(payload) if targets else []
    for wl in payload["workloads"]:
        out.append(render_workload(wl))
    for section in payload.get("sections", []):
        out.append(section)
    if found:
        out.append("Targets of the speed issue, measured in this run:\n")
        out.append(render_targets(found))
    return "\n".join(out)


def run_child(
    script: Path, args: list[str], env: dict | None = None, timeout: float = 900
) -> dict:
    """Run a bench script (or one of its child modes) in a fresh interpreter
    and return the JSON object it prints on its last line of stdout."""
    proc = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        env=env,
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


def child_env(**overrides: str | None) -> dict:
    """This process's environment with some variables set (or, for None,
    removed), for a child interpreter."""
    env = dict(os.environ)
    for k, v in overrides.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def require_fastnn() -> None:
    """Import fastnn as installed in this interpreter (``pip install .``), or
    exit saying how to install it: the benchmarks measure the package a user
    gets, never the repository's ``src/``. Call after ``Bench(...)`` (fastnn
    loads numpy)."""
    try:
        import fastnn  # noqa: F401
    except ImportError as exc:
        sys.exit(
            f"error: cannot import fastnn in {sys.executable}: {exc}\n"
            "The benchmarks run against the installed package: install it first, "
            "from the repository root, with `pip install .` (the peers: "
            "`pip install jax scikit-learn threadpoolctl`)."
        )


# ----------------------------------------------------------------- ceiling
MATMUL_LIBS = ("numpy", "scipy", "torch")


def matmul_runner(
    lib: str, m: int, k: int, n: int, min_time: float = 0.2
) -> Callable[[], float] | None:
    """A runner returning the float32 rate (FLOP/s, 2*m*k*n per product) of
    ``A (m, k) @ B (k, n)`` through ``lib``: NumPy's BLAS, SciPy's BLAS (the
    one fastnn's kernels call, through ``scipy.linalg.cython_blas``) or
    PyTorch's. The thread count is whatever the process was given. None if
    the library is missing."""
    import numpy as np

    rng = np.random.default_rng(0)
    A = rng.random((m, k), dtype=np.float32)
    B = rng.random((k, n), dtype=np.float32)
    if lib == "numpy":
        C = np.empty((m, n), dtype=np.float32)

        def fn():
            np.matmul(A, B, out=C)
    elif lib == "scipy":
        try:
            from scipy.linalg.blas import sgemm
        except ImportError:
            return None
        Af, Bf = np.asfortranarray(A), np.asfortranarray(B)
        Cf = np.zeros((m, n), dtype=np.float32, order="F")

        def fn():
            sgemm(1.0, Af, Bf, beta=0.0, c=Cf, overwrite_c=True)
    elif lib == "torch":
        if not available("torch")[0]:
            return None
        import torch

        torch.set_num_threads(int(os.environ.get("FASTNN_BENCH_THREADS", "1")))
        At, Bt = torch.from_numpy(A), torch.from_numpy(B)
        Ct = torch.empty((m, n), dtype=torch.float32)

        def fn():
            torch.mm(At, Bt, out=Ct)
    else:
        raise ValueError(lib)
    timed = per_call(fn, min_time)
    flops = 2.0 * m * k * n

    def run() -> float:
        return flops / timed()

    return run


# ----------------------------------------------------------------- OpenBLAS env
ASSUMED = {"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "2048"}


def from_parents() -> dict[str, str]:
    """The two variables in the environment of the processes that started
    this one (up to 6 levels, never init)."""
    found: dict[str, str] = {}
    pid = os.getppid()
    for _ in range(6):
        if pid <= 1:
            break
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                for item in f.read().split(b"\0"):
                    key, _, value = item.partition(b"=")
                    if key.decode(errors="replace") in OPENBLAS_VARS:
                        found.setdefault(key.decode(), value.decode(errors="replace"))
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
        if found:
            break
    return found


def from_etc_environment() -> dict[str, str]:
    found = {}
    try:
        with open("/etc/environment") as f:
            for line in f:
                key, _, value = line.strip().removeprefix("export ").partition("=")
                if key in OPENBLAS_VARS:
                    found[key] = value.strip().strip("'\"")
    except OSError:
        pass
    return found


def machine_openblas_values(
    coretype: str | None = None, l2_size: str | None = None
) -> tuple[dict[str, str], str]:
    """The OpenBLAS override variables "as set on the machine", and where
    they were found: the arguments, this process's environment, the
    environment of the processes that started it, /etc/environment; else
    ASSUMED (the common AVX-512 Zen override), said so."""
    if coretype or l2_size:
        vals = {
            k: v
            for k, v in (("OPENBLAS_CORETYPE", coretype), ("OPENBLAS_L2_SIZE", l2_size))
            if v
        }
        return vals, "given on the command line"
    own = {v: os.environ[v] for v in OPENBLAS_VARS if v in os.environ}
    if own:
        return own, "this command's environment"
    for source, finder in (
        ("the environment of the shell that started the run", from_parents),
        ("/etc/environment", from_etc_environment),
    ):
        vals = finder()
        if vals:
            return vals, source
    return dict(ASSUMED), (
        "assumed: nothing on this machine sets them, so the common "
        "AVX-512 Zen override was used"
    )


def ceiling_pair(threads: int, quick: bool) -> dict:
    """The float32 matrix-product rate (NumPy's and SciPy's sgemm, 2048
    squared; 1024 with ``quick``) in two fresh interpreters: the OpenBLAS
    variables unset, and as set on the machine. Never raises: a failure is
    reported in the result."""
    values, source = machine_openblas_values()
    script = BENCH_DIR / "bench_ceiling.py"
    args = ["--child", "--pair", "--threads", str(threads)] + (
        ["--quick"] if quick else []
    )
    out: dict[str, Any] = {"set_values": values, "set_source": source}
    for name, env in (
        ("unset", child_env(**{v: None for v in OPENBLAS_VARS})),
        ("set", child_env(**{v: values.get(v) for v in OPENBLAS_VARS})),
    ):
        try:
            res = run_child(script, args, env=env, timeout=300)
            out[name] = {
                "gflops": max(res["rates"].values()) / 1e9,
                "rates": res["rates"],
                "kernels": ", ".join(
                    f"{b.get('loaded_by')} {b.get('architecture')}"
                    for b in res["blas"]
                    if b.get("user_api") == "blas"
                ),
            }
        except Exception as exc:
            out[name] = {"error": str(exc)[-300:]}
    return out


def render_ceiling_pair(pair: dict) -> str:
    def one(name: str) -> str:
        r = pair.get(name, {})
        if "error" in r or "gflops" not in r:
            return f"failed ({r.get('error', '?')})"
        return f"{r['gflops']:.1f} GFLOP/s [{r['kernels']}]"

    vals = ", ".join(f"{k}={v}" for k, v in pair["set_values"].items())
    return (
        "- float32 matrix-product ceiling, same threads, fresh interpreters: "
        f"OpenBLAS variables unset {one('unset')}; as set on the machine ({vals}; "
        f"{pair['set_source']}) {one('set')}\n"
    )
