"""fastnn on Dask (extra ``fastnn[dask]``), on a real LocalCluster.

Two worker processes of one thread each, as CI runs them; every result is
held against the same computation in one process, bit for bit.
"""

import os
import pickle
import resource
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import fastnn
from fastnn.datasets import load_digits

dask = pytest.importorskip("dask", reason="needs the extra fastnn[dask]")
da = pytest.importorskip("dask.array", reason="needs the extra fastnn[dask]")
distributed = pytest.importorskip("distributed", reason="needs the extra fastnn[dask]")
dask_ml_wrappers = pytest.importorskip("dask_ml.wrappers", reason="needs the extra fastnn[dask]")
sklearn_ms = pytest.importorskip("sklearn.model_selection", reason="needs the extra fastnn[dask]")
joblib = pytest.importorskip("joblib")
cloudpickle = pytest.importorskip("cloudpickle")

from fastnn.dask import partial_fit_blocks  # noqa: E402  (after the skips)

pytestmark = pytest.mark.filterwarnings("ignore::fastnn.ConvergenceWarning")

CLASSES = np.array([0, 1, 2])


# ---------------------------------------------------------------- the cluster
@pytest.fixture(scope="module")
def client():
    """A LocalCluster of 2 worker processes x 1 thread, shared by the module."""
    # the workers unpickle this module's functions by value: they cannot import it
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    # Dask's own worker environment (OPENBLAS_NUM_THREADS=1 and the like):
    # the workers compute the bits this process computes all the same
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    c = distributed.Client(cluster)
    c.wait_for_workers(2, timeout=120)
    yield c
    c.close()
    cluster.close()
    cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits()
    return (X / 16.0).astype(np.float32), y


def make_block(block_info=None) -> np.ndarray:
    """Rows of 16 float32 features, each block from its own seed (no float64 copy)."""
    rows = block_info[None]["chunk-shape"][0]
    i = block_info[None]["chunk-location"][0]
    X = np.random.default_rng(1000 + i).random((rows, 16), dtype=np.float32)
    X *= 2
    X -= 1  # in place: a block costs its own size to make, no more
    return X


def three_classes(X: np.ndarray) -> np.ndarray:
    return (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 0.5)


def stream(n: int, block: int) -> tuple:
    """A Dask array of n rows, computed block by block wherever it is used."""
    rows = (block,) * (n // block) + ((n % block,) if n % block else ())
    X = da.map_blocks(
        make_block, chunks=(rows, (16,)), dtype=np.float32, meta=np.empty((0, 16), np.float32)
    )
    return X, X.map_blocks(three_classes, drop_axis=1, dtype=np.int64)


def blocks_here(X, y) -> list:
    return [dask.compute(X.blocks[i], y.blocks[i], scheduler="sync") for i in range(X.numblocks[0])]


def small_net() -> fastnn.Sequential:
    return fastnn.Sequential(
        [fastnn.Dense(16, 12, activation="tanh"), fastnn.Dense(12, 3, activation="softmax")],
        seed=3,
    )


# ---------------------------------------------------------------- the extra is optional
def test_importing_fastnn_does_not_import_dask():
    src = str(Path(fastnn.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    code = (
        "import sys, fastnn, fastnn.estimators\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('dask', 'distributed', 'dask_ml', 'joblib')]\n"
        "sys.exit(f'imported {bad}' if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


# ---------------------------------------------------------------- 1. block by block
def test_sequential_blocks_on_workers_equal_one_process(client):
    X, y = stream(6_000, 1_000)
    net, opt = small_net(), fastnn.Adam(lr=0.01)
    before = net.params.copy()
    trained, trained_opt = partial_fit_blocks(net, X, y, optimizer=opt, batch_size=50)

    ref_net, ref_opt = small_net(), fastnn.Adam(lr=0.01)
    for xb, yb in blocks_here(X, y):
        ref_net.partial_fit(xb, yb, optimizer=ref_opt, batch_size=50)
    np.testing.assert_array_equal(trained.params, ref_net.params)
    assert not np.array_equal(trained.params, before)
    np.testing.assert_array_equal(net.params, before)  # the model given is left as it was
    assert opt.state_for(net).t == 0 and trained_opt.state_for(trained).t == 6_000 // 50
    # the optimizer came back paired with the network: one more block continues both
    xb, yb = blocks_here(X, y)[0]
    trained.partial_fit(xb, yb, optimizer=trained_opt, batch_size=50)
    ref_net.partial_fit(xb, yb, optimizer=ref_opt, batch_size=50)
    np.testing.assert_array_equal(trained.params, ref_net.params)


def test_estimator_blocks_and_incremental_equal_one_process(client):
    X, y = stream(5_000, 1_000)
    est = fastnn.MLPClassifier((10,), random_state=0, batch_size=100)
    by_blocks = partial_fit_blocks(est, X, y, classes=CLASSES)
    assert not hasattr(est, "net_")
    inc = dask_ml_wrappers.Incremental(
        fastnn.MLPClassifier((10,), random_state=0, batch_size=100), shuffle_blocks=False
    ).fit(X, y, classes=CLASSES)

    ref = fastnn.MLPClassifier((10,), random_state=0, batch_size=100)
    for xb, yb in blocks_here(X, y):
        ref.partial_fit(xb, yb, classes=CLASSES)
    for got in (by_blocks, inc.estimator_):
        for a, b in zip(got.coefs_ + got.intercepts_, ref.coefs_ + ref.intercepts_):
            np.testing.assert_array_equal(a, b)
        assert got.t_ == ref.t_ == 5_000


def _traced_start() -> None:
    tracemalloc.start()
    tracemalloc.reset_peak()


def _traced_peak() -> int:
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_blocks_peak_memory_stays_near_one_block(client):
    n, block = 24 * 50_000, 50_000  # 24 blocks of 3.2 MB (X) and 0.4 MB (y)
    X, y = stream(n, block)
    block_bytes = block * 16 * 4 + block * 8  # X and y of one block
    total = n * 16 * 4 + n * 8
    net = small_net()

    # on the workers: the processes holding the model as it trains (after a
    # first run, so that what the workers import once is not counted)
    partial_fit_blocks(net, X[: 2 * block], y[: 2 * block], optimizer=fastnn.SGD(lr=0.1))
    client.run(_traced_start)
    on_workers, _ = partial_fit_blocks(net, X, y, optimizer=fastnn.SGD(lr=0.1), batch_size=100)
    peaks = client.run(_traced_peak)
    # the block in training, the next one computed ahead, and their copies in transit
    assert max(peaks.values()) < min(6 * block_bytes, total / 4), (peaks, block_bytes, total)

    # without a Client: this process holds the model and computes one block at a time
    with dask.config.set(scheduler="sync"):
        _traced_start()
        here, _ = partial_fit_blocks(
            net, X, y, optimizer=fastnn.SGD(lr=0.1), batch_size=100, client=False
        )
        peak = _traced_peak()
    assert peak < 5 * block_bytes, (peak, block_bytes, total)
    np.testing.assert_array_equal(here.params, on_workers.params)


def test_partial_fit_blocks_refuses_bad_input(client):
    X, y = stream(2_000, 500)
    net = small_net()
    with pytest.raises(TypeError, match="X must be a dask.array.Array, got ndarray"):
        partial_fit_blocks(net, np.zeros((4, 16)), y)
    with pytest.raises(TypeError, match="y must be a dask.array.Array, got list"):
        partial_fit_blocks(net, X, [0, 1])
    with pytest.raises(ValueError, match=r"blocks of rows only.*rechunk"):
        partial_fit_blocks(net, X.rechunk((500, 8)), y)
    with pytest.raises(ValueError, match="same row blocks"):
        partial_fit_blocks(net, X, y.rechunk(400))
    with pytest.raises(ValueError, match="unknown block sizes"):
        partial_fit_blocks(net, X[X[:, 0] > 0], y[X[:, 0] > 0])
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        partial_fit_blocks(net, X[:, 0], y)
    with pytest.raises(ValueError, match="y must have 1 or 2 dimensions"):
        partial_fit_blocks(net, X, X.reshape(2_000, 4, 4))
    with pytest.raises(ValueError, match="X must have a first axis of rows, got a 0-d"):
        partial_fit_blocks(net, X.sum(), y)
    with pytest.raises(TypeError, match="must have a partial_fit method"):
        partial_fit_blocks(object(), X, y)
    with pytest.raises(TypeError, match="partial_fit method"):  # L-BFGS has none
        partial_fit_blocks(fastnn.MLPClassifier(solver="lbfgs"), X, y)
    with pytest.raises(ValueError, match="prefetch must be a non-negative integer"):
        partial_fit_blocks(net, X, y, prefetch=-1)
    with pytest.raises(TypeError, match="optimizer= is for a fastnn Sequential"):
        partial_fit_blocks(fastnn.MLPClassifier(), X, y, optimizer=fastnn.SGD(lr=0.1))
    with pytest.raises(TypeError, match="must be a fastnn optimizer"):
        partial_fit_blocks(net, X, y, optimizer="sgd")


def test_a_block_that_fails_leaves_the_model_unchanged(client):
    X, y = stream(3_000, 500)
    y = da.where(da.arange(3_000, chunks=500) == 1_700, 7, y)  # an unknown class in block 3
    est = fastnn.MLPClassifier((8,), random_state=0).partial_fit(
        np.zeros((3, 16)), [0, 1, 2], classes=CLASSES
    )
    before = pickle.dumps(est)
    with pytest.raises(ValueError, match="7"):
        partial_fit_blocks(est, X, y)
    assert pickle.dumps(est) == before


# ---------------------------------------------------------------- 2. prediction
def _tasks_done(dask_worker) -> int:
    return dask_worker.state.transition_counter


def test_parallel_post_fit_equals_in_process(client, digits):
    X, y = digits
    clf = fastnn.MLPClassifier((16,), random_state=0, max_iter=30).fit(X, y)
    reg = fastnn.MLPRegressor(hidden_layer_sizes=(16,), random_state=0, max_iter=30).fit(X, y / 9.0)
    dX, dy = da.from_array(X, chunks=300), da.from_array(y, chunks=300)

    def by_blocks(method):  # the same row blocks, one after the other, here
        return np.concatenate([method(X[i : i + 300]) for i in range(0, len(X), 300)])

    before = client.run(_tasks_done)
    pclf = dask_ml_wrappers.ParallelPostFit(clf)
    np.testing.assert_array_equal(pclf.predict(dX).compute(), by_blocks(clf.predict))
    np.testing.assert_array_equal(pclf.predict_proba(dX).compute(), by_blocks(clf.predict_proba))
    assert pclf.score(dX, dy) == np.mean(by_blocks(clf.predict) == y)
    preg = dask_ml_wrappers.ParallelPostFit(reg)
    np.testing.assert_array_equal(preg.predict(dX).compute(), by_blocks(reg.predict))
    assert preg.score(dX, dy / 9.0) == pytest.approx(reg.score(X, y / 9.0), rel=1e-6)
    # the blocks were predicted on both workers, not here
    after = client.run(_tasks_done)
    assert all(after[w] > before[w] for w in after), (before, after)
    # a block's rows give the same answer as the whole array's up to float32 rounding
    np.testing.assert_allclose(by_blocks(clf.predict_proba), clf.predict_proba(X), rtol=1e-5)


# ---------------------------------------------------------------- 3. searches
def _search_kinds():
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingRandomSearchCV

    grid = {"hidden_layer_sizes": [(8,), (16,)], "alpha": [1e-4, 1e-2]}
    dist = {"hidden_layer_sizes": [(8,), (16,), (24,)], "learning_rate_init": [1e-3, 3e-3, 1e-2]}
    base = fastnn.MLPClassifier(max_iter=15, random_state=0)
    return {
        "grid": sklearn_ms.GridSearchCV(base, grid, cv=3),
        "random": sklearn_ms.RandomizedSearchCV(base, dist, n_iter=4, cv=3, random_state=0),
        "halving": HalvingRandomSearchCV(
            base,
            dist,
            resource="max_iter",
            min_resources=5,
            max_resources=15,
            factor=3,
            cv=3,
            random_state=0,
        ),
    }


@pytest.mark.parametrize("kind", ["grid", "random", "halving"])
def test_search_under_joblib_dask_equals_one_process(client, digits, kind):
    X, y = digits[0][:600], digits[1][:600]
    here = _search_kinds()[kind].fit(X, y)
    search = _search_kinds()[kind].set_params(n_jobs=-1)
    with joblib.parallel_config(backend="dask"):
        there = search.fit(X, y)
    assert there.best_params_ == here.best_params_
    for key in ("mean_test_score", "split0_test_score", "split2_test_score"):
        np.testing.assert_array_equal(there.cv_results_[key], here.cv_results_[key])
    np.testing.assert_array_equal(there.predict_proba(X), here.predict_proba(X))


def _hyperband(X, y):
    from dask_ml.model_selection import HyperbandSearchCV

    params = {"hidden_layer_sizes": [(8,), (16,), (32,)], "learning_rate_init": [1e-3, 1e-2, 3e-2]}
    search = HyperbandSearchCV(
        fastnn.MLPClassifier(random_state=0), params, max_iter=9, random_state=0
    )
    # dask-ml computes inside Dask's event loop: give dask.persist the Client's own get
    with dask.config.set(scheduler=distributed.default_client().get):
        search.fit(X, y, classes=np.arange(10))
    return search


def test_hyperband_search_on_workers_equals_one_process(client, digits):
    X, y = digits
    dX, dy = da.from_array(X, chunks=300), da.from_array(y, chunks=300)
    there = _hyperband(dX, dy)
    with distributed.Client(
        processes=False, n_workers=1, threads_per_worker=1, dashboard_address=":0"
    ) as one:
        assert distributed.default_client() is one
        here = _hyperband(dX, dy)
    assert distributed.default_client() is client

    def record(search):
        return sorted((h["model_id"], h["partial_fit_calls"], h["score"]) for h in search.history_)

    assert record(there) == record(here)
    assert len(there.history_) > len(there.cv_results_["params"])  # it did adapt
    assert there.best_params_ == here.best_params_
    np.testing.assert_array_equal(there.predict(X), here.predict(X))


# ---------------------------------------------------------------- 4. well-behaved workers
def _fit_and_time(X, y):
    cpu0, wall0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    fastnn.MLPClassifier((256,), random_state=0, max_iter=40, batch_size=512).fit(X, y)
    cpu1, wall1 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return cpu / (wall1 - wall0), fastnn.get_num_threads(), os.getpid()


def test_a_worker_runs_fastnn_on_its_one_thread(client, digits):
    X, y = digits
    # batches of 512 rows are where the engine would use a second thread if allowed
    client.wait_for_workers(2, timeout=120)  # both, even if a loaded machine delayed one
    futures = [
        client.submit(_fit_and_time, X, y, pure=False, workers=[w])
        for w in client.scheduler_info()["workers"]
    ]
    results = client.gather(futures)
    assert len({pid for _, _, pid in results}) == 2  # one fit on each worker, side by side
    for cpu_per_wall, n_threads, _ in results:
        assert n_threads == 1
        assert cpu_per_wall < 1.3, results  # a second busy thread would give ~2


def test_models_pickle_compactly_and_travel(client, digits):
    X, y = digits
    clf = fastnn.MLPClassifier((32,), random_state=0, max_iter=20).fit(X, y)
    param_bytes = clf.net_.params.nbytes
    # the weights, Adam's two moments of the same size, and under 2 kB of attributes
    assert len(pickle.dumps(clf)) < 3 * param_bytes + 2_000
    net = small_net()
    assert len(pickle.dumps(net)) < net.params.nbytes + 2_000
    on_worker = client.submit(lambda m, X: m.predict_proba(X), clf, X, pure=False).result()
    np.testing.assert_array_equal(on_worker, clf.predict_proba(X))


def _fits_done(dask_scheduler) -> int:
    """Fits scored so far in dask-ml's search graph (its tasks named "...fit-score-...")."""
    return sum(
        ts.state == "memory" and "fit-score" in str(ts.key) for ts in dask_scheduler.tasks.values()
    )


def test_a_worker_killed_mid_search_loses_no_result(client, digits):
    # dask-ml's GridSearchCV: the search as one Dask graph, the data inside it, so
    # that Dask can compute again whatever a dead worker held. (joblib's Dask
    # backend scatters the data and the folds' indices to single workers: a
    # worker that dies with them fails the search, "already forgotten".)
    from dask_ml.model_selection import GridSearchCV as DaskGridSearchCV

    X, y = digits[0][:600], digits[1][:600]
    grid = {"hidden_layer_sizes": [(8,), (16,), (24,)], "alpha": [1e-4, 1e-3, 1e-2, 1e-1]}
    base = fastnn.MLPClassifier(max_iter=100, random_state=0)
    here = sklearn_ms.GridSearchCV(base, grid, cv=3).fit(X, y)
    pids = client.run(os.getpid)
    killed = {}

    def kill_one_worker_mid_search():
        # once some fits are done and others running, kill a worker process outright
        while not finished.is_set():
            done = client.run_on_scheduler(_fits_done)
            running = sum(len(v) for v in client.processing().values())
            if done >= 3 and running:
                break
            time.sleep(0.005)
        else:
            return  # the search ended first: the assertions below say so
        killed["done"], killed["running"] = done, running
        address, pid = sorted(pids.items())[0]
        os.kill(pid, signal.SIGKILL)
        killed["pid"] = pid

    finished = threading.Event()
    killer = threading.Thread(target=kill_one_worker_mid_search)
    killer.start()
    try:
        there = DaskGridSearchCV(base, grid, cv=3).fit(X, y)
    finally:
        finished.set()
        killer.join()
    assert killed, "the search ended before a worker could be killed"
    assert killed["running"] > 0 and killed["done"] >= 3
    client.wait_for_workers(2, timeout=60)
    assert killed["pid"] not in client.run(os.getpid).values()  # the nanny started another
    assert len(there.cv_results_["params"]) == 12
    assert there.best_params_ == here.best_params_
    for key in ("split0_test_score", "split1_test_score", "split2_test_score"):
        np.testing.assert_array_equal(there.cv_results_[key], here.cv_results_[key])
    # the mean of the same three scores, summed in another order (1 ulp)
    np.testing.assert_allclose(
        there.cv_results_["mean_test_score"], here.cv_results_["mean_test_score"], rtol=1e-15
    )


# ---------------------------------------------------------------- 5. one model per group
def sensor_frame(n_sensors: int = 6, rows: int = 120):
    import pandas as pd

    rng = np.random.default_rng(7)
    frames = []
    for s in range(n_sensors):
        t = np.arange(rows, dtype=np.float64)
        x = rng.normal(size=(rows, 2))
        target = (s + 1) * 0.1 * x[:, 0] - 0.2 * x[:, 1] + rng.normal(scale=0.01, size=rows)
        frames.append(
            pd.DataFrame({"sensor": f"s{s}", "time": t, "x0": x[:, 0], "x1": x[:, 1], "y": target})
        )
    return pd.concat(frames).sample(frac=1.0, random_state=0).reset_index(drop=True)


# The README's recipe, as written there
def fit_one_sensor(rows):
    rows = rows.sort_values("time")  # the same rows in the same order, wherever they land
    model = fastnn.MLPRegressor(hidden_layer_sizes=(8,), random_state=0, max_iter=50)
    return model.fit(rows[["x0", "x1"]].to_numpy(), rows["y"].to_numpy())


def test_one_model_per_group_recipe(client):
    import dask.dataframe as dd
    import pandas as pd

    df = sensor_frame()
    ddf = dd.from_pandas(df, npartitions=4)
    models = ddf.groupby("sensor").apply(fit_one_sensor, meta=("model", object)).compute()
    here = df.groupby("sensor")[["time", "x0", "x1", "y"]].apply(fit_one_sensor)
    assert sorted(models.index) == sorted(here.index) == [f"s{s}" for s in range(6)]
    probe = np.random.default_rng(0).normal(size=(5, 2))
    for sensor in here.index:
        np.testing.assert_array_equal(models[sensor].predict(probe), here[sensor].predict(probe))
    assert isinstance(models, pd.Series)


# ---------------------------------------------------------------- the README
def readme_section() -> str:
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    return text.split("## Beyond one machine", 1)[1].split("\n## ", 1)[0]


def test_readme_group_recipe_is_the_tested_one():
    import inspect
    import textwrap

    section = readme_section()
    recipe = textwrap.dedent(section.split("```python\n")[2].split("```")[0])
    assert inspect.getsource(fit_one_sensor) in recipe
    assert 'ddf.groupby("sensor").apply(fit_one_sensor, meta=("model", object))' in recipe


def test_readme_example_runs():
    example = readme_section().split("```python\n")[1].split("```")[0]
    src = str(Path(fastnn.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", example],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "hidden_layer_sizes" in done.stdout and "learning_rate_init" in done.stdout
