"""Output of the benchmarks: markdown of one benchmark and of a whole run, the
targets checked against a run, the README's table and the ratio chart.

Everything here reads the JSON the benchmarks write (plain dicts).
"""

from __future__ import annotations

from pathlib import Path

from machine import CONTENDED, blas_line
from targets import README_PEERS, README_ROWS, TARGETS

LABELS = {
    "fastnn": "fastnn",
    "jax": "JAX (jit, lax.scan epochs)",
    "torch": "PyTorch eager",
    "sklearn": "scikit-learn MLPClassifier",
    "numpy": "NumPy (plain, in the bench)",
    "ceiling": "float32 sgemm ceiling, same threads",
    "bare": "NumPy bare matrix products x @ W1 @ W2 @ W3",
    "jax_path": "JAX (jit, lax.scan) recording the path",
    "engine": "fastnn Sequential (the engine alone)",
}
HEADS = {
    "jax": "JAX",
    "jax_path": "JAX + path",
    "torch": "PyTorch",
    "sklearn": "scikit-learn",
    "numpy": "NumPy",
    "engine": "engine (ref.)",
    "ceiling": "sgemm ceiling (ref.)",
    "bare": "bare matmuls (ref.)",
}
COLORS = {
    "jax": "#4C72B0",
    "torch": "#DD8452",
    "sklearn": "#55A868",
    "numpy": "#8172B3",
    "jax_path": "#64B5CD",
}


def describe(name: str) -> str:
    return LABELS.get(name, name)


def fmt(v: float) -> str:
    if v == 0 or v != v:
        return f"{v:g}"
    a = abs(v)
    for bound, spec in ((1000, ",.0f"), (100, ".1f"), (10, ".2f"), (1, ".3f")):
        if a >= bound:
            return format(v, spec)
    return f"{v:.3g}"


def load_note(share: float, contended: bool) -> str:
    text = f"other processes used {share * 100:.0f}% of the machine's cores during these runs"
    return text + (
        ": they shared this run's cores, the timings are not reliable" if contended else ""
    )


# ----------------------------------------------------------------- targets
def check_targets(payloads: list[dict]) -> list[dict]:
    """Every target of targets.py that these benchmarks measured, checked."""
    workloads = {wl["key"]: wl for p in payloads for wl in p["workloads"]}
    measures = {k: v for p in payloads for k, v in p.get("measures", {}).items()}
    out = []
    for t in TARGETS:
        wl = workloads.get(t.workload)
        if t.kind in ("measure", "least"):
            measured = measures.get(t.workload)
        else:
            s = peer_speedup(wl, t.row) if wl else None
            measured = (1 / s if t.kind == "time" else s) if s else None
        if measured is None:
            continue
        at_most = t.kind in ("time", "measure")
        share = t.kind == "share"
        micro = t.workload.endswith("-us")  # a measure in microseconds
        out.append(
            {
                "workload": wl["short"] if wl else t.workload.replace("-", " "),
                "row": t.row,
                "what": t.what,
                "goal": f"{'<=' if at_most else '>='} "
                + (f"{t.goal:.0%}" if share else f"{t.goal:g} µs" if micro else f"{t.goal:g}x"),
                "measured": measured,
                "shown": f"{measured:.1%}"
                if share
                else f"{measured:.3g} µs"
                if micro
                else f"{measured:.2f}x",
                "met": measured <= t.goal if at_most else measured >= t.goal,
                "speedup_goal": {"time": 1 / t.goal, "measure": None, "least": None}.get(
                    t.kind, t.goal
                ),
            }
        )
    return out


def peer_speedup(wl: dict, row) -> float | None:
    """fastnn's speed-up over ``row``; over a tuple of rows (one peer at
    several settings), over the fastest of them."""
    names = row if isinstance(row, tuple) else (row,)
    found = [wl["rows"][n]["speedup"] for n in names if wl["rows"].get(n, {}).get("speedup")]
    return min(found) if found else None


def render_targets(checked: list[dict]) -> str:
    if not checked:
        return ""
    lines = ["| workload | target | goal | measured | met |", "|---|---|---:|---:|:-:|"]
    lines += [
        f"| {t['workload']} | {t['what']} | {t['goal']} | {t['shown']} | "
        f"{'yes' if t['met'] else '**no**'} |"
        for t in checked
    ]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------- one benchmark
def render_workload(wl: dict) -> str:
    cols = wl["columns"]
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
            "— | " if row["columns"].get(c) is None else f"{fmt(row['columns'][c])} | "
            for c in cols
        )
        lines.append(f"| {label} | {fmt(row['value'])} | {row['spread'] * 100:.0f}% | {extra}{s} |")
    runs = max((r["n"] for r in wl["rows"].values()), default=0)
    better = "lower is better" if wl["lower_is_better"] else "higher is better"
    lines += [
        "",
        f"*{better}; ± is half the interquartile range over {runs} alternated "
        f"runs; speed-up > 1 means fastnn is faster; {wl['threads']} thread(s).*",
    ]
    if wl["other_load"] is not None:
        lines += ["", f"*{load_note(wl['other_load'], wl['contended'])}*"]
    if wl["notes"]:
        lines.append("")
    lines += [f"- {note}" for note in wl["notes"]]
    return "\n".join(lines) + "\n"


def machine_lines(m: dict, threads: int) -> list[str]:
    env = ", ".join(
        f"{k}={v} (unset for the run)" if v is not None else f"{k} unset"
        for k, v in m["openblas_env"].items()
    )
    used = ", ".join(f"{k} {v}" for k, v in m["library_threads"].items())
    return [
        f"- machine: {m['cpu']}, {m['cores']} cores ({m['cores_allowed']} allowed)",
        f"- threads: {threads} for every library (pinned cores, BLAS pools, torch); used: {used}",
        f"- OpenBLAS variables at the start: {env}",
        "- software: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()),
    ]


def render_benchmark(payload: dict, full: bool = True) -> str:
    """One benchmark's markdown; ``full=False`` leaves out what a whole run's
    header already says (machine, software, targets)."""
    out = [f"### {payload['title']}" + (" (quick)" if payload["quick"] else ""), ""]
    if full:
        out += machine_lines(payload["machine"], payload["threads"])
    other = payload["other_load"]
    out.append(
        f"- took {payload['seconds']} s"
        + (f"; {load_note(other, payload['contended'])}" if other is not None else "")
    )
    out.append(f"- BLAS that ran: {blas_line(payload['blas'])}")
    out += [f"- skipped {peer}: {why}" for peer, why in payload["skipped"].items()]
    out += [f"- {note}" for note in payload["notes"]]
    out.append("")
    out += [render_workload(wl) for wl in payload["workloads"]]
    out += payload["sections"]
    checked = check_targets([payload]) if full else []
    if checked:
        out += ["Targets of the speed issue, measured in this run:\n", render_targets(checked)]
    return "\n".join(out)


# ----------------------------------------------------------------- a whole run
def speedup_matrix(payloads: list[dict]) -> str:
    workloads = [wl for p in payloads for wl in p["workloads"] if "fastnn" in wl["rows"]]
    cols = [c for c in HEADS if any(c in wl["rows"] for wl in workloads)]
    lines = [
        "| workload | fastnn | " + " | ".join(HEADS[c] for c in cols) + " | threads | other load |",
        "|---|---:|" + "---:|" * len(cols) + "---:|---:|",
    ]
    for wl in workloads:
        cells = []
        for c in cols:
            r = wl["rows"].get(c)
            cells.append("—" if r is None or r["speedup"] is None else f"{r['speedup']:.2f}x")
        other = wl["other_load"]
        load = "—" if other is None else f"{other * 100:.0f}%"
        lines.append(
            f"| {wl['short']} | {fmt(wl['rows']['fastnn']['value'])} {wl['unit']} | "
            + " | ".join(cells)
            + f" | {wl['threads']} | {load}"
            + (" (unreliable)" if wl["contended"] else "")
            + " |"
        )
    return "\n".join(lines) + "\n"


def readme_table(payloads: list[dict]) -> str:
    """The table of the README's Speed section, in its shape."""
    workloads = {wl["key"]: wl for p in payloads for wl in p["workloads"]}
    lines = [
        "| workload | fastnn | " + " | ".join(README_PEERS.values()) + " |",
        "|---|---:|" + "---:|" * len(README_PEERS),
    ]
    for key, label in README_ROWS.items():
        wl = workloads.get(key)
        if wl is None or "fastnn" not in wl["rows"]:
            continue
        cells = []
        for peer in README_PEERS:
            s = peer_speedup(wl, peer)
            cells.append("" if s is None else f"{s:.2f}x" if s < 10 else f"{s:.0f}x")
        v = wl["rows"]["fastnn"]["value"]
        value = f"{float(f'{v:.4g}'):,.0f}" if v >= 1000 else f"{v:.3g}"
        lines.append(f"| {label} | {value} {wl['unit']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def render_report(run: dict, chart: Path, chart_note: str | None) -> str:
    payloads = list(run["benchmarks"].values())
    machine = max((p["machine"] for p in payloads), key=lambda m: len(m["versions"]), default=None)
    blas = next((p["blas"] for p in payloads if p["benchmark"] != "ceiling"), [])
    out = [
        "# fastnn benchmarks" + (" (quick smoke run: not for comparison)" if run["quick"] else ""),
        "",
        f"Produced by `{run['command']}` in {run['seconds']:.0f} s.",
        "",
    ]
    if machine is not None:
        lines = machine_lines(dict(machine, openblas_env=run["openblas_env"]), run["threads"])
        del lines[1]  # threads: per benchmark, below
        out += lines
    out += [
        f"- load average at the start {run['load_average_start']}, at the end "
        f"{run['load_average_end']} (above the thread count: other work shared the cores)",
        f"- BLAS that ran: {blas_line(blas)}",
    ]
    out += [
        f"- threads in {p['benchmark']}: {p['threads']} for every library; used: "
        + ", ".join(f"{k} {v}" for k, v in p["machine"]["library_threads"].items())
        for p in payloads
    ]
    out += [f"- **{name} failed**: {why}" for name, why in run["failed"].items()]
    skipped = {k: v for p in payloads for k, v in p["skipped"].items()}
    out += [f"- skipped {peer} (in at least one benchmark): {why}" for peer, why in skipped.items()]
    out += [
        "",
        "## Targets of the speed issue, as measured in this run",
        "",
        "Reported, not asserted: each is a ratio measured in this same run "
        "(the targets are listed in `bench/targets.py`).",
        "",
        render_targets(check_targets(payloads)),
        "## fastnn's speed-up over each implementation",
        "",
        "Speed-up = the peer's time / fastnn's time (or fastnn's rate / the peer's); "
        "above 1x fastnn is faster. The columns marked ref. are references, not "
        "peers. Other load: the share of the machine's cores that other processes "
        "used while the workload ran (from /proc/stat); where they took more than "
        f"{CONTENDED:.0%} of the cores the benchmark used, its timings are marked "
        "unreliable.",
        "",
        speedup_matrix(payloads),
        "## README table",
        "",
        "The table of the README's Speed section, from this run:",
        "",
        readme_table(payloads),
    ]
    out += (
        [f"![fastnn's speed-up over each peer]({chart.name})", ""]
        if chart_note is None
        else [f"(no chart: {chart_note})", ""]
    )
    out += ["## The benchmarks", ""]
    out += [render_benchmark(p, full=False) for p in payloads]
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------- chart
def chart_groups(payloads: list[dict]) -> list[tuple[str, list[tuple]]]:
    """[(heading, [(name, label, speed-up, reference, goal)])] per charted workload."""
    goals = {}
    for t in check_targets(payloads):
        for row in t["row"] if isinstance(t["row"], tuple) else (t["row"],):
            goals[(t["workload"], row)] = t["speedup_goal"]
    groups = []
    for wl in (wl for p in payloads for wl in p["workloads"]):
        if not wl["chart"] or "fastnn" not in wl["rows"]:
            continue
        bars = [
            (name, row["label"], row["speedup"], row["reference"], goals.get((wl["short"], name)))
            for name, row in wl["rows"].items()
            if row["speedup"] is not None
        ]
        heading = f"{wl['short']}  (fastnn: {fmt(wl['rows']['fastnn']['value'])} {wl['unit']}"
        if wl["contended"]:
            heading += f"; other load {wl['other_load'] * 100:.0f}%: unreliable"
        if bars:
            groups.append((heading + ")", bars))
    return groups


def draw_chart(payloads: list[dict], path: Path, title: str) -> str | None:
    """fastnn's speed-up over each row, per workload (log axis); None when
    drawn, else why not."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed"
    groups = chart_groups(payloads)
    if not groups:
        return "no workload with peers"
    values = [v for _, bars in groups for b in bars for v in (b[2], b[4]) if v]
    lo, hi = min(min(values), 1.0) / 6, max(max(values), 1.0) * 5
    n_bars = sum(len(bars) for _, bars in groups)
    fig, ax = plt.subplots(figsize=(10, 1.3 + 0.3 * n_bars + 0.45 * len(groups)))
    y, ticks, labels, marked = 0.0, [], [], False
    for heading, bars in groups:
        ax.text(
            lo * 1.08,
            y - 0.75,
            heading,
            ha="left",
            va="center",
            fontsize=9.5,
            fontweight="bold",
            zorder=5,
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.0},
        )
        for name, label, s, ref, goal in bars:
            ax.barh(
                y,
                s - 1.0,
                left=1.0,
                color=COLORS.get(name, "#999999"),
                height=0.72,
                hatch="//" if ref else None,
                alpha=0.6 if ref else 1.0,
                edgecolor="#555555" if ref else "white",
            )
            right = s >= 1
            x = max(s, goal or 0) * 1.08 if right else min(s, goal or 1) / 1.08
            ax.text(x, y, f"{s:.2f}x", va="center", ha="left" if right else "right", fontsize=8.5)
            if goal is not None:
                ax.plot(
                    [goal],
                    [y],
                    marker="|",
                    color="#C44E52",
                    markersize=15,
                    mew=2.5,
                    label=None if marked else "target of the speed issue",
                )
                marked = True
            ticks.append(y)
            labels.append(label + (" (ref.)" if ref else ""))
            y += 1
        ax.axhline(y + 0.2, color="#dddddd", lw=0.8)
        y += 1.5
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    ax.axvline(1.0, color="black", lw=1.2)
    ax.set_yticks(ticks)
    ax.set_yticklabels(labels, fontsize=8.5)
    ax.invert_yaxis()
    ax.set_ylim(y - 1.2, -1.4)
    ax.set_xlabel(
        "fastnn's speed-up over the implementation (log scale; right of 1x: fastnn is faster)"
    )
    if marked:
        ax.legend(loc="lower right", fontsize=8.5, framealpha=0.9)
    ax.grid(axis="x", which="both", color="#eeeeee", lw=0.6)
    ax.set_axisbelow(True)
    ax.set_title(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None
