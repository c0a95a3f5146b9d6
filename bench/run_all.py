"""Run every benchmark and write the report: markdown, JSON and a chart.

Each benchmark runs in its own interpreter, one after another, with the
OpenBLAS override variables removed from its environment, and writes
``NAME.json`` into the output folder (default ``bench/results/``); this
script then writes there

- ``results.md``: machine, BLAS, the targets of ``targets.py`` with what this
  run measured, a table of fastnn's speed-ups, the README's table, and every
  benchmark's tables;
- ``results.json``: all of it, raw samples included;
- ``ratios.png``: fastnn's speed-up over each peer, per workload.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/run_all.py [--quick]

(``--threads N``, ``--only online,predict``, ``--skip scaling``, ``--out DIR``.)
Without ``--threads`` each benchmark uses its own default: all cores, one
for ``lenet`` and ``estimators``. A benchmark that fails is reported as
failed; the others still run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from harness import BENCH_DIR, OPENBLAS_VARS, RESULTS_DIR, child_env, require_fastnn
from report import draw_chart, render_report

ORDER = (
    "ceiling",
    "online",
    "minibatch",
    "predict",
    "hubble",
    "scaling",
    "lenet",
    "estimators",
    "serving",
)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads for every benchmark (default: each its own)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run (a few minutes), numbers not for comparison"
    )
    parser.add_argument("--only", default="", help="comma-separated benchmarks to run")
    parser.add_argument("--skip", default="", help="comma-separated benchmarks to skip")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args()
    require_fastnn()  # here, once, rather than as a failure of every benchmark
    only = [s for s in args.only.split(",") if s] or list(ORDER)
    skip = {s for s in args.skip.split(",") if s}
    unknown = (set(only) | skip) - set(ORDER)
    if unknown:
        parser.error(f"unknown benchmarks {sorted(unknown)}; choose from {ORDER}")
    args.out.mkdir(parents=True, exist_ok=True)
    openblas_env = {v: os.environ.get(v) for v in OPENBLAS_VARS}
    for var, value in openblas_env.items():
        if value is not None:
            print(
                f"note: {var}={value} is set here; the benchmarks run without it", file=sys.stderr
            )
    started = time.time()
    load_start = [round(x, 2) for x in os.getloadavg()]
    payloads, failed = {}, {}
    for name in (n for n in ORDER if n in only and n not in skip):
        out = args.out / f"{name}.json"
        cmd = [sys.executable, str(BENCH_DIR / f"bench_{name}.py"), "--out", str(out)]
        cmd += ["--threads", str(args.threads)] if args.threads else []
        cmd += ["--quick"] if args.quick else []
        print(f"== {name}: {' '.join(cmd[1:])}", file=sys.stderr, flush=True)
        t = time.time()
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=child_env())
        if proc.returncode != 0 or not out.exists() or out.stat().st_mtime < t:
            failed[name] = f"exit code {proc.returncode}; see its output above"
            print(f"== {name} FAILED ({proc.returncode})", file=sys.stderr, flush=True)
            continue
        payloads[name] = json.loads(out.read_text())
        print(f"== {name}: {time.time() - t:.0f} s", file=sys.stderr, flush=True)
    seconds = time.time() - started
    command = (
        "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/run_all.py"
        + (" --quick" if args.quick else "")
        + (f" --threads {args.threads}" if args.threads else "")
    )
    run = {
        "command": command,
        "quick": args.quick,
        "threads": args.threads,
        "seconds": round(seconds, 1),
        "load_average_start": load_start,
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "openblas_env": openblas_env,
        "benchmarks": payloads,
        "failed": failed,
    }
    (args.out / "results.json").write_text(json.dumps(run, indent=1))
    chart = args.out / "ratios.png"
    title = "fastnn speed-up per workload" + (" — quick smoke run" if args.quick else "")
    chart_note = draw_chart(list(payloads.values()), chart, title)
    (args.out / "results.md").write_text(render_report(run, chart, chart_note))
    print(
        f"wrote {args.out / 'results.md'}, results.json, "
        + (chart.name if chart_note is None else f"(no chart: {chart_note})")
        + f" in {seconds:.0f} s",
        file=sys.stderr,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
