"""Run every benchmark and write the report: markdown, JSON and a chart.

Each benchmark runs in its own interpreter, one after another, with the same
``--threads`` (default: all cores), and writes ``bench/results/NAME.json``;
this script then writes

- ``bench/results/results.md``: machine, BLAS, the targets of the speed
  issue with what this run measured, a table of fastnn's speed-ups, and
  every benchmark's tables;
- ``bench/results/results.json``: all of it, raw samples included;
- ``bench/results/ratios.png``: fastnn's speed-up over each peer, per
  workload (log axis, a line at 1x).

Run it with the OpenBLAS override variables unset in that command::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/run_all.py [--quick]

(``--threads N``, ``--only online,predict``, ``--skip scaling``, ``--out DIR``.)
A benchmark that fails is reported as failed; the others still run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from _common import (
    CONTENDED,
    OPENBLAS_VARS,
    RESULTS_DIR,
    _default_threads,
    all_targets,
    blas_line,
    child_env,
    fmt,
    machine_info,
    render_benchmark,
    render_targets,
    require_fastnn,
)

BENCH = Path(__file__).resolve().parent
ORDER = ("ceiling", "online", "minibatch", "predict", "hubble", "scaling")
COLORS = {
    "jax": "#4C72B0",
    "torch": "#DD8452",
    "sklearn": "#55A868",
    "numpy": "#8172B3",
    "jax_path": "#64B5CD",
    "ceiling": "#999999",
    "bare": "#999999",
}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=_default_threads())
    parser.add_argument("--quick", action="store_true", help="smoke run (< 1 minute)")
    parser.add_argument("--only", default="", help="comma-separated benchmarks to run")
    parser.add_argument("--skip", default="", help="comma-separated benchmarks to skip")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args()
    require_fastnn()  # here, once, rather than as a failure of every benchmark
    only = [s for s in args.only.split(",") if s] or list(ORDER)
    skip = {s for s in args.skip.split(",") if s}
    names = [n for n in ORDER if n in only and n not in skip]
    args.out.mkdir(parents=True, exist_ok=True)
    for var in OPENBLAS_VARS:
        if os.environ.get(var) is not None:
            print(
                f"warning: {var}={os.environ[var]} is set: the benchmarks will run "
                "OpenBLAS with that override, not the kernel it picks by itself. "
                "Run with `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE`.",
                file=sys.stderr,
            )
    started = time.time()
    load_start = [round(x, 2) for x in os.getloadavg()]
    payloads, failures = {}, {}
    for name in names:
        out = args.out / f"{name}.json"
        cmd = [
            sys.executable,
            str(BENCH / f"bench_{name}.py"),
            "--threads",
            str(args.threads),
            "--out",
            str(out),
        ]
        cmd += ["--quick"] if args.quick else []
        # bench_ceiling measures both configurations in full; the others skip
        # the short version they report when run on their own
        cmd += ["--no-ceiling"] if name != "ceiling" else []
        print(f"== {name}: {' '.join(cmd[1:])}", file=sys.stderr, flush=True)
        t = time.time()
        proc = subprocess.run(
            cmd, stdout=subprocess.PIPE, stderr=None, text=True, env=child_env()
        )
        if proc.returncode != 0 or not out.exists() or out.stat().st_mtime < t:
            failures[name] = f"exit code {proc.returncode}; see its output above"
            print(f"== {name} FAILED ({proc.returncode})", file=sys.stderr, flush=True)
            continue
        payloads[name] = json.loads(out.read_text())
        print(f"== {name}: {time.time() - t:.0f} s", file=sys.stderr, flush=True)
    seconds = time.time() - started
    report = {
        "quick": args.quick,
        "threads": args.threads,
        "seconds": round(seconds, 1),
        "load_average_start": load_start,
        "machine": machine_info(args.threads),
        "benchmarks": payloads,
        "failed": failures,
        "targets": [
            {"workload": w, **t} for p in payloads.values() for w, t in all_targets(p)
        ],
    }
    (args.out / "results.json").write_text(json.dumps(report, indent=1))
    chart = args.out / "ratios.png"
    chart_note = draw_chart(payloads, chart, args)
    (args.out / "results.md").write_text(render_report(report, chart, chart_note))
    print(
        f"wrote {args.out / 'results.md'}, results.json, "
        f"{chart.name if chart_note is None else '(no chart: ' + chart_note + ')'} "
        f"in {seconds:.0f} s",
        file=sys.stderr,
    )
    return 1 if failures else 0


# ----------------------------------------------------------------- report
def speedup_matrix(payloads: dict) -> str:
    cols = [
        p
        for p in ("jax", "jax_path", "torch", "sklearn", "numpy", "ceiling", "bare")
        if any(p in wl["rows"] for pl in payloads.values() for wl in pl["workloads"])
    ]
    head = {
        "ceiling": "sgemm ceiling (ref.)",
        "bare": "bare matmuls (ref.)",
        "jax_path": "JAX + path",
        "jax": "JAX",
        "torch": "PyTorch",
        "sklearn": "scikit-learn",
        "numpy": "NumPy",
    }
    lines = [
        "| workload | fastnn | "
        + " | ".join(head.get(c, c) for c in cols)
        + " | other load |",
        "|---|---:|" + "---:|" * len(cols) + "---:|",
    ]
    for pl in payloads.values():
        for wl in pl["workloads"]:
            f = wl["rows"].get("fastnn")
            if f is None:
                continue
            cells = []
            for c in cols:
                r = wl["rows"].get(c)
                cells.append(
                    "—" if r is None or r["speedup"] is None else f"{r['speedup']:.2f}x"
                )
            other = wl.get("other_load")
            lines.append(
                f"| {wl['short']} | {fmt(f['value'])} {wl['unit']} | "
                + " | ".join(cells)
                + (" | —" if other is None else f" | {other * 100:.0f}%")
                + (" (unreliable)" if wl.get("contended") else "")
                + " |"
            )
    return "\n".join(lines) + "\n"


def render_report(report: dict, chart: Path, chart_note: str | None) -> str:
    m = report["machine"]
    payloads = report["benchmarks"]
    blas = next(
        (p["blas"] for p in payloads.values() if p["benchmark"] != "ceiling"), []
    )
    env = ", ".join(
        f"{k}={v}" if v is not None else f"{k} unset"
        for k, v in m["openblas_env"].items()
    )
    out = [
        "# fastnn benchmarks"
        + (" (quick smoke run: not for comparison)" if report["quick"] else ""),
        "",
        "Produced by `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "
        "python bench/run_all.py"
        + (" --quick" if report["quick"] else "")
        + f"` in {report['seconds']:.0f} s.",
        "",
        f"- machine: {m['cpu']}, {m['cores']} cores; every implementation ran with "
        f"{report['threads']} thread(s)",
        f"- load average at the start {report['load_average_start']}, at the end "
        f"{m['load_average']} (anything above the thread count means other work "
        "shared the cores)",
        f"- BLAS that ran: {blas_line(blas)}",
        f"- environment: {env}",
        "- software: "
        + ", ".join(f"{k} {v}" for k, v in _versions(payloads).items())
        + f"; fastnn revision {m['fastnn_revision']}",
    ]
    for name, why in report["failed"].items():
        out.append(f"- **{name} failed**: {why}")
    skipped = {k: v for p in payloads.values() for k, v in p["skipped"].items()}
    for peer, why in skipped.items():
        out.append(f"- skipped {peer} (in at least one benchmark): {why}")
    out += [
        "",
        "## Targets of the speed issue, as measured in this run",
        "",
        "Reported, not asserted: each is a ratio measured in this same run.",
        "",
        render_targets([(t["workload"], t) for t in report["targets"]]),
        "## fastnn's speed-up over each implementation",
        "",
        "Speed-up = the peer's time / fastnn's time (or fastnn's rate / the peer's); "
        "above 1x fastnn is faster. The columns marked ref. are references, not "
        "peers: the float32 matrix-product ceiling and the bare matrix products. "
        "Other load: the share of the machine's cores that other processes used "
        "while the workload ran (from /proc/stat); where they took more than "
        f"{CONTENDED:.0%} of the cores the benchmark used, its timings are marked "
        "unreliable.",
        "",
        speedup_matrix(payloads),
    ]
    if chart_note is None:
        out += [f"![fastnn's speed-up over each peer]({chart.name})", ""]
    else:
        out += [f"(no chart: {chart_note})", ""]
    out += ["## The benchmarks", ""]
    for name in ORDER:
        if name in payloads:
            text = render_benchmark(payloads[name], heading="###", targets=False)
            # the machine lines repeat the header's; keep only what differs
            out.append(_drop_machine_lines(text))
    return "\n".join(out) + "\n"


def _versions(payloads: dict) -> dict:
    """The versions seen by the benchmark that loaded the most libraries."""
    found = [p["machine"]["versions"] for p in payloads.values()]
    return max(found, key=len) if found else {}


def _drop_machine_lines(text: str) -> str:
    keep = []
    for line in text.splitlines():
        if line.startswith(("- machine:", "- environment:", "- software:")):
            continue
        keep.append(line)
    return "\n".join(keep) + "\n"


# ----------------------------------------------------------------- chart
def draw_chart(payloads: dict, path: Path, args) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed"
    groups = []
    for pl in payloads.values():
        for wl in pl["workloads"]:
            if not wl.get("chart", True) or "fastnn" not in wl["rows"]:
                continue
            bars = []
            for name, row in wl["rows"].items():
                if name == "fastnn" or row["speedup"] is None:
                    continue
                goal = next(
                    (t["speedup_goal"] for t in wl["targets"] if t.get("peer") == name),
                    None,
                )
                bars.append(
                    (name, row["label"], row["speedup"], row["reference"], goal)
                )
            if bars:
                groups.append(
                    (
                        wl["short"],
                        f"{fmt(wl['rows']['fastnn']['value'])} {wl['unit']}"
                        + (
                            f"; other load {wl['other_load'] * 100:.0f}%: unreliable"
                            if wl.get("contended")
                            else ""
                        ),
                        bars,
                    )
                )
    if not groups:
        return "no workload with peers"
    n_bars = sum(len(b) for _, _, b in groups)
    values = [b[2] for _, _, bars in groups for b in bars]
    values += [b[4] for _, _, bars in groups for b in bars if b[4]]
    lo = min(min(values), 1.0) / 6
    hi = max(max(values), 1.0) * 5
    fig, ax = plt.subplots(figsize=(10, 1.3 + 0.3 * n_bars + 0.45 * len(groups)))
    y, ticks, labels, seps, marked = 0.0, [], [], [], False
    for short, fast, bars in groups:
        ax.text(
            lo * 1.08,
            y - 0.75,
            f"{short}  (fastnn: {fast})",
            ha="left",
            va="center",
            fontsize=9.5,
            fontweight="bold",
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.0},
            zorder=5,
        )
        for name, label, s, ref, goal in bars:
            color = COLORS.get(name, "#777777")
            ax.barh(
                y,
                s - 1.0,
                left=1.0,
                color=color,
                height=0.72,
                hatch="//" if ref else None,
                edgecolor="#555555" if ref else "white",
                alpha=0.6 if ref else 1.0,
            )
            if s >= 1:
                ax.text(
                    max(s, goal or 0) * 1.08,
                    y,
                    f"{s:.2f}x",
                    va="center",
                    ha="left",
                    fontsize=8.5,
                )
            else:
                ax.text(
                    min(s, goal or 1) / 1.08,
                    y,
                    f"{s:.2f}x",
                    va="center",
                    ha="right",
                    fontsize=8.5,
                )
            if goal is not None:
                ax.plot(
                    [goal],
                    [y],
                    marker="|",
                    color="#C44E52",
                    markersize=15,
                    mew=2.5,
                    label="target of the speed issue" if not marked else None,
                )
                marked = True
            ticks.append(y)
            labels.append(label + (" (ref.)" if ref else ""))
            y += 1
        seps.append(y + 0.2)
        y += 1.5
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    ax.axvline(1.0, color="black", lw=1.2)
    for s in seps[:-1]:
        ax.axhline(s, color="#dddddd", lw=0.8)
    ax.set_yticks(ticks)
    ax.set_yticklabels(labels, fontsize=8.5)
    ax.invert_yaxis()
    ax.set_ylim(y - 1.2, -1.4)
    ax.set_xlabel(
        "fastnn's speed-up over the implementation (log scale; right of 1x: "
        "fastnn is faster)"
    )
    if marked:
        ax.legend(loc="lower right", fontsize=8.5, framealpha=0.9)
    ax.grid(axis="x", which="both", color="#eeeeee", lw=0.6)
    ax.set_axisbelow(True)
    title = f"fastnn speed-up per workload, {args.threads} thread(s) each" + (
        " — quick smoke run" if args.quick else ""
    )
    ax.set_title(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


if __name__ == "__main__":
    sys.exit(main())
