"""The float32 matrix-product ceiling: OpenBLAS variables unset, and as set.

The ceiling of the machine, with ``OPENBLAS_CORETYPE``/``OPENBLAS_L2_SIZE``
unset and as set.

Measures float32 matrix products (``2*m*k*n`` FLOPs each) with the same
thread count as every other benchmark: NumPy's OpenBLAS on square 1024
and 2048 matrices and on the first layer's forward shape at batch
1024 (1024 x 784 @ 784 x 256); SciPy's OpenBLAS (``scipy.linalg.blas.sgemm``,
the library fastnn's kernels call through ``scipy.linalg.cython_blas``) and
PyTorch's ``torch.mm`` on 2048 x 2048. The ceiling is the best of these
rates with the variables unset, the configuration every benchmark runs in.

Each configuration runs in a fresh interpreter (OpenBLAS reads
``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` once, when it loads), the
two alternating, and each child reports which kernel OpenBLAS picked
(threadpoolctl's ``architecture``). "As set" means ``--coretype``/
``--l2-size``, else the values this command was started with, else
``OPENBLAS_CORETYPE=Haswell OPENBLAS_L2_SIZE=2048`` (the override used on
AVX-512 Zen machines); the report says which.

    python bench/bench_ceiling.py [--repeats 2] [--threads N] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from harness import OPENBLAS_VARS, Bench, child_env, configure_threads, median, run_child
from machine import blas_info, matmul_runner
from report import fmt

ASSUMED = {"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "2048"}


def options(parser):
    parser.add_argument(
        "--coretype",
        default=None,
        help="OPENBLAS_CORETYPE for the 'as set' run (default: as found on the machine)",
    )
    parser.add_argument(
        "--l2-size",
        default=None,
        help="OPENBLAS_L2_SIZE (KiB) for the 'as set' run (default: as found on the machine)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)


def products(quick: bool) -> list[tuple[str, int, int, int]]:
    if quick:
        return [
            ("numpy", 1024, 1024, 1024),
            ("numpy", 1024, 784, 256),
            ("scipy", 1024, 1024, 1024),
            ("torch", 1024, 1024, 1024),
        ]
    return [
        ("numpy", 1024, 1024, 1024),
        ("numpy", 2048, 2048, 2048),
        ("numpy", 1024, 784, 256),
        ("scipy", 2048, 2048, 2048),
        ("torch", 2048, 2048, 2048),
    ]


def child() -> None:
    """Measure every product once (each timed for ~0.15 s) and print JSON. The
    OpenBLAS variables are left as the parent set them."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    configure_threads(args.threads)
    rates = {}
    for lib, m, k, n in products(args.quick):
        run = matmul_runner(lib, m, k, n, args.threads, 0.05 if args.quick else 0.15)
        if run is not None:
            run()  # warm
            rates[f"{lib} {m}x{k} @ {k}x{n}"] = run()
    print(
        json.dumps(
            {
                "rates": rates,
                "blas": blas_info(),
                "env": {v: os.environ.get(v) for v in OPENBLAS_VARS},
            }
        )
    )


def as_set(args, started_with: dict[str, str | None]) -> tuple[dict[str, str], str]:
    """The OpenBLAS values of the "as set" run, and where they come from."""
    given = {"OPENBLAS_CORETYPE": args.coretype, "OPENBLAS_L2_SIZE": args.l2_size}
    for values, source in (
        (given, "given on the command line"),
        (started_with, "this command's environment"),
    ):
        if any(values.values()):
            return {k: v for k, v in values.items() if v}, source
    return dict(ASSUMED), "assumed: the common AVX-512 Zen override"


def main() -> None:
    if "--child" in sys.argv:
        child()
        return
    bench = Bench("ceiling", __doc__, options)
    args = bench.args
    values, source = as_set(args, bench.openblas_env)
    unset = child_env()
    setenv = child_env(**values)
    here = Path(__file__).resolve()
    base = ["--child", "--threads", str(bench.threads)] + (["--quick"] if args.quick else [])
    runs: dict[str, list[dict]] = {"unset": [], "set": []}
    repeats = bench.repeats(2, 1)
    bench.log(
        f"{repeats} alternated rounds of fresh interpreters, variables unset / "
        f"set ({', '.join(f'{k}={v}' for k, v in values.items())}: {source})"
    )
    for r in range(repeats):
        order = [("unset", unset), ("set", setenv)]
        for name, env in order if r % 2 == 0 else order[::-1]:
            try:
                runs[name].append(run_child(here, base, env=env, timeout=600))
            except Exception as exc:  # report, never crash
                bench.notes.append(f"a child run with the variables {name} failed: {exc}")
    rates = {name: _medians([r["rates"] for r in rs]) for name, rs in runs.items()}
    kernels = {name: _kernels(rs[-1]["blas"]) if rs else "?" for name, rs in runs.items()}
    ceiling = {name: max(rs.values()) if rs else None for name, rs in rates.items()}
    lines = [
        f"#### Float32 matrix-product rates, {bench.threads} thread(s) "
        "(GFLOP/s, median of fresh interpreters)",
        "",
        "| product | variables unset | as set | set / unset |",
        "|---|---:|---:|---:|",
    ]
    for key in rates["unset"] or rates["set"]:
        u, s = rates["unset"].get(key), rates["set"].get(key)
        ratio = f"{s / u:.2f}" if u and s else "—"
        lines.append(
            f"| {key} | {fmt(u / 1e9) if u else '—'} | {fmt(s / 1e9) if s else '—'} | {ratio} |"
        )
    cu, cs = ceiling["unset"], ceiling["set"]
    lines.append(
        f"| **ceiling** (best of the above) | **{fmt(cu / 1e9) if cu else '—'}** | "
        f"**{fmt(cs / 1e9) if cs else '—'}** | "
        f"{f'{cs / cu:.2f}' if cu and cs else '—'} |"
    )
    lines += [
        "",
        f"- variables unset: OpenBLAS ran {kernels['unset']}",
        f"- as set ({', '.join(f'{k}={v}' for k, v in values.items())}; source: "
        f"{source}): OpenBLAS ran {kernels['set']}",
        "- the ceiling every other benchmark compares with is the one with the "
        "variables unset (they are run that way), re-measured in the same run",
    ]
    bench.sections.append("\n".join(lines) + "\n")
    if runs["unset"]:
        bench.blas = runs["unset"][-1]["blas"]
    bench.extra = {
        "rates_unset": rates["unset"],
        "rates_set": rates["set"],
        "ceiling_unset": cu,
        "ceiling_set": cs,
        "set_values": values,
        "set_source": source,
        "kernels": kernels,
    }
    bench.finish()


def _medians(dicts: list[dict]) -> dict:
    keys = dicts[0].keys() if dicts else []
    return {k: median([d[k] for d in dicts if k in d]) for k in keys}


def _kernels(blas: list[dict]) -> str:
    return "; ".join(
        f"{b.get('internal_api')} {b.get('version')} [{b.get('architecture')}]"
        f" ({b.get('loaded_by')})"
        for b in blas
        if b.get("user_api") == "blas"
    )


if __name__ == "__main__":
    sys.exit(main())
