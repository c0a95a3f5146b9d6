"""fastnn on Dask: a search over 24 models, block-by-block training, model transfer.

Run on a ``LocalCluster`` of 2 worker processes x 1 thread (the machine's
2 cores), with the client process idle while the workers compute:

1. Search: ``GridSearchCV`` over 24 configurations of ``MLPClassifier``
   (hidden units x alpha x learning_rate_init), 3-fold, on the digits
   (1,797 x 64), each fit exactly ``max_iter`` epochs (``n_iter_no_change``
   = ``max_iter``, so neither library stops early and both do the same
   number of epochs): fastnn in one process (``n_jobs=1``), fastnn on the
   cluster (joblib's Dask backend), and the same two with scikit-learn's
   ``MLPClassifier`` (its BLAS held at one thread in the one-process run, as
   Dask's workers hold theirs). Reported: wall times and the ratios, and the
   CPU time per wall second of this process (the client, and a
   LocalCluster's scheduler) and of each worker (1.0 = one busy core).
2. Block-by-block training of ``MLPClassifier`` on a Dask array (blocks
   made on the workers, float32): samples per second of
   ``dask_ml.wrappers.Incremental``, of ``fastnn.dask.partial_fit_blocks``,
   and of ``partial_fit`` over the same blocks already in this process's
   memory; and, in a second run of each under tracemalloc, the peak memory
   traced on the workers, against the array's size.
3. Models as Dask moves them: pickled size of a fitted estimator against
   its parameters' size, and the time of a round trip (scatter to a worker,
   gather back).

    python bench/bench_dask.py [--quick] [--out FILE.json]

``--quick`` runs it all small in seconds (numbers not for comparison).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import statistics
import sys
import time
import tracemalloc
import warnings
from pathlib import Path


def _cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _traced_start() -> None:
    tracemalloc.start()
    tracemalloc.reset_peak()


def _traced_peak() -> int:
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def _make_block(block_info=None):
    import numpy as np

    rows = block_info[None]["chunk-shape"][0]
    i = block_info[None]["chunk-location"][0]
    X = np.random.default_rng(i).random((rows, 64), dtype=np.float32)
    X *= 2
    X -= 1
    return X


def _labels(X):
    import numpy as np

    return (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 0.5)


def search(args, client, results):
    import joblib
    import numpy as np
    from sklearn.model_selection import GridSearchCV
    from sklearn.neural_network import MLPClassifier as SkMLP
    from threadpoolctl import threadpool_limits

    import fastnn
    from fastnn.datasets import load_digits

    X, y = load_digits()
    X = (X / 16.0).astype(np.float32)
    if args.quick:
        X, y = X[:400], y[:400]
    epochs = 3 if args.quick else 30
    grid = {
        "hidden_layer_sizes": [(16,), (32,), (64,)],
        "alpha": [1e-4, 1e-2],
        "learning_rate_init": [1e-3, 3e-3, 1e-2, 3e-2],
    }  # 24 configurations
    common = dict(max_iter=epochs, n_iter_no_change=epochs, random_state=0)
    rows = {}
    with joblib.parallel_config(backend="dask"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # warm up: the workers import both libraries
        for cls in (fastnn.MLPClassifier, SkMLP):
            GridSearchCV(cls(max_iter=1), {"alpha": [1e-4, 1e-3]}, cv=2, n_jobs=-1).fit(X, y)
    for lib, cls in (("fastnn", fastnn.MLPClassifier), ("scikit-learn", SkMLP)):
        for where in ("one process", "2 workers"):
            s = GridSearchCV(cls(**common), grid, cv=3, n_jobs=1 if where == "one process" else -1)
            client.run(lambda: None)  # workers up and idle
            before = client.run(_cpu_seconds)
            here0 = _cpu_seconds()  # this process: the client, and the scheduler of a LocalCluster
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if where == "one process":
                    with threadpool_limits(1):
                        s.fit(X, y)
                else:
                    with joblib.parallel_config(backend="dask"):
                        s.fit(X, y)
            wall = time.perf_counter() - t0
            after = client.run(_cpu_seconds)
            busy = {w: round((after[w] - before[w]) / wall, 2) for w in after}
            here = round((_cpu_seconds() - here0) / wall, 2)
            rows[(lib, where)] = wall
            results["search"].append(
                dict(
                    library=lib,
                    where=where,
                    wall_s=wall,
                    best_score=float(s.best_score_),
                    worker_cpu_per_wall=busy if where != "one process" else None,
                    client_cpu_per_wall=here,
                )
            )
            print(
                f"| {lib} | {where} | {wall:.2f} s | {s.best_score_:.3f} | {here} | "
                f"{'' if where == 'one process' else ', '.join(map(str, busy.values()))} |",
                flush=True,
            )
    f1, f2 = rows[("fastnn", "one process")], rows[("fastnn", "2 workers")]
    s1, s2 = rows[("scikit-learn", "one process")], rows[("scikit-learn", "2 workers")]
    ratios = {
        "fastnn: 1 process / 2 workers": f1 / f2,
        "scikit-learn: 1 process / 2 workers": s1 / s2,
        "one process: scikit-learn / fastnn": s1 / f1,
        "2 workers: scikit-learn / fastnn": s2 / f2,
    }
    results["search_ratios"] = ratios
    print()
    for k, v in ratios.items():
        print(f"- {k}: {v:.2f}x")
    print(f"\n({len(X)} rows, 24 configurations x 3 folds, {epochs} epochs each)\n")


def blocks(args, client, results):
    import dask
    import dask.array as da
    import numpy as np
    from dask_ml.wrappers import Incremental

    import fastnn
    from fastnn.dask import partial_fit_blocks

    n_blocks, rows = (4, 5_000) if args.quick else (16, 50_000)
    n = n_blocks * rows
    X = da.map_blocks(
        _make_block,
        chunks=((rows,) * n_blocks, (64,)),
        dtype=np.float32,
        meta=np.empty((0, 64), np.float32),
    )
    y = X.map_blocks(_labels, drop_axis=1, dtype=np.int64)
    nbytes = n * (64 * 4 + 8)
    classes = [0, 1, 2]

    def est():
        return fastnn.MLPClassifier((32,), random_state=0, batch_size=200)

    # warm up: imports and first-call costs on the workers
    partial_fit_blocks(est(), X[: 2 * rows], y[: 2 * rows], classes=classes)
    Incremental(est(), shuffle_blocks=False).fit(X[: 2 * rows], y[: 2 * rows], classes=classes)

    def timed(label, fit):
        t0 = time.perf_counter()
        fit()
        wall = time.perf_counter() - t0
        client.run(_traced_start)  # again, traced (tracing slows Dask's own Python)
        fit()
        peak = max(client.run(_traced_peak).values())
        results["blocks"].append(
            dict(way=label, samples_per_s=n / wall, worker_peak_bytes=peak, array_bytes=nbytes)
        )
        print(
            f"| {label} | {n / wall:,.0f} | {peak / 1e6:.1f} MB "
            f"({peak / nbytes:.0%} of the array) |",
            flush=True,
        )

    timed(
        "dask_ml Incremental",
        lambda: Incremental(est(), shuffle_blocks=False).fit(X, y, classes=classes),
    )
    timed(
        "fastnn.dask.partial_fit_blocks", lambda: partial_fit_blocks(est(), X, y, classes=classes)
    )
    here = [dask.compute(X.blocks[i], y.blocks[i]) for i in range(n_blocks)]
    model = est()
    t0 = time.perf_counter()
    for xb, yb in here:
        model.partial_fit(xb, yb, classes=classes)
    wall = time.perf_counter() - t0
    results["blocks"].append(dict(way="partial_fit in process", samples_per_s=n / wall))
    print(f"| partial_fit, blocks in this process's memory | {n / wall:,.0f} | (the array) |")
    print(
        f"\n({n:,} rows x 64 float32 in {n_blocks} blocks of {rows:,}: "
        f"{nbytes / 1e6:.0f} MB with the labels; MLP 64-32-3, batch 200)\n"
    )


def transfer(args, client, results):
    import numpy as np

    import fastnn
    from fastnn.datasets import load_digits

    X, y = load_digits()
    X = (X / 16.0).astype(np.float32)
    for hidden in ((32,), (256, 128)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf = fastnn.MLPClassifier(hidden, random_state=0, max_iter=2).fit(X, y)
        size = len(pickle.dumps(clf))
        params = clf.net_.params.nbytes
        worker = sorted(client.scheduler_info()["workers"])[0]
        times = []
        for _ in range(5 if args.quick else 20):
            t0 = time.perf_counter()
            f = client.scatter(clf, workers=[worker], direct=True, hash=False)
            client.gather(f, direct=True)
            times.append(time.perf_counter() - t0)
            del f
        rt = statistics.median(times)
        results["transfer"].append(
            dict(hidden=hidden, pickle_bytes=size, param_bytes=params, round_trip_s=rt)
        )
        print(f"| {hidden} | {params:,} | {size:,} ({size / params:.2f}x) | {rt * 1e3:.1f} ms |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small and fast (a smoke run)")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    args = parser.parse_args()

    import cloudpickle
    import dask
    import dask_ml
    import distributed
    import sklearn

    import fastnn

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    client = distributed.Client(cluster)
    versions = {
        "fastnn": fastnn.__version__,
        "dask": dask.__version__,
        "distributed": distributed.__version__,
        "dask_ml": dask_ml.__version__,
        "scikit-learn": sklearn.__version__,
        "python": sys.version.split()[0],
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
    }
    print("# fastnn on Dask\n")
    print(", ".join(f"{k} {v}" for k, v in versions.items()), "\n")
    results = {
        "versions": versions,
        "quick": args.quick,
        "search": [],
        "blocks": [],
        "transfer": [],
    }
    try:
        print("## Search over 24 models\n")
        print(
            "| library | where | wall | best CV score | CPU s per wall s: this process "
            "| each worker |"
        )
        print("|---|---|---|---|---|---|")
        search(args, client, results)
        print("## Block-by-block training\n")
        print("| way | samples/s | peak traced on a worker |")
        print("|---|---|---|")
        blocks(args, client, results)
        print("## A fitted MLPClassifier on the move\n")
        print("| hidden | parameters (bytes) | pickled (bytes) | scatter + gather |")
        print("|---|---|---|---|")
        transfer(args, client, results)
    finally:
        client.close()
        cluster.close()
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
