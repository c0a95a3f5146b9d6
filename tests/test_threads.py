"""Results do not depend on the thread count: fit, partial_fit, predict,
evaluate and loss_and_grads give the same bits on 1, 2 and 3 threads, for
every size class (plain loops, BLAS, products cut in parts, split batches,
predictions of several blocks side by side),
both dtypes, dense and convolutional networks, and whichever kernels
OpenBLAS picks (OPENBLAS_CORETYPE set as on some machines, and unset)."""

import ctypes
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastnn
from fastnn import _threads

# Each case: (name, layers as a constructor, input shape of one sample, loss,
# batch sizes to train with). The sizes reach every path of the engine:
# plain loops (tiny), BLAS in one call, BLAS in parts (wide), split batches
# (batch 512 on the wide net), one-sample matrix-vector products in parts
# (the wide, binary and huge nets),
# every optimizer's update in parts (the wide net's 287k parameters).
SCRIPT = textwrap.dedent("""
    import hashlib, json, sys
    import numpy as np
    import fastnn

    def digest(*arrays):
        # the exact bits of the arrays, as a short string
        h = hashlib.sha256()
        for a in arrays:
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()

    def nets(dtype):
        # name, layers, one sample's shape, loss, (batch size, rows) per fit
        D = fastnn.Dense
        yield "tiny", [D(4, 8, activation="tanh"), D(8, 3, activation="softmax")], (4,), \
            "cross_entropy", ((1, 40), (7, 40), (None, 40))
        yield "mid", [D(64, 128, activation="relu"), D(128, 10, activation="softmax")], \
            (64,), "cross_entropy", ((1, 40), (64, 256), (256, 256))
        yield "wide", [D(300, 512, activation="relu"), D(512, 256, activation="sigmoid"),
                       D(256, 10)], (300,), "mse", ((1, 8), (128, 256), (512, 520))
        yield "binary", [D(200, 700, activation="tanh"), D(700, 3, activation="sigmoid")], \
            (200,), "binary_cross_entropy", ((1, 8), (100, 200))
        # a matrix-vector product of 2M multiply-adds (cut in two along x, as from 64k)
        yield "huge", [D(2048, 1024, activation="relu"), D(1024, 4)], (2048,), "mse", \
            ((1, 4), (8, 16))
        yield "conv", [fastnn.Conv2D(2, 16, 3, padding=1, activation="relu"),
                       fastnn.MaxPool2D(2), fastnn.Flatten(),
                       D(16 * 8 * 8, 10, activation="softmax")], (2, 16, 16), \
            "cross_entropy", ((1, 8), (32, 64))

    def targets(rng, loss, n, k):
        if loss == "cross_entropy":
            return rng.integers(0, k, size=n)
        if loss == "binary_cross_entropy":
            return rng.integers(0, 2, size=(n, k)).astype(float)
        return rng.normal(size=(n, k))

    def run(n_threads):
        fastnn.set_num_threads(n_threads)
        assert fastnn.get_num_threads() == n_threads
        out = {}
        for dtype in ("float32", "float64"):
            for name, layers, shape, loss, batches in nets(dtype):
                rng = np.random.default_rng(7)
                n = max(rows for _, rows in batches)
                X = rng.normal(size=(n,) + shape)
                k = layers[-1].n_out
                y = targets(rng, loss, n, k)
                net = fastnn.Sequential(layers, loss=loss, dtype=dtype, seed=3)
                rec = out.setdefault(f"{dtype}-{name}", {})
                rec["predict1"] = digest(net.predict(X[:1]))
                rec["predictor"] = digest(net.predictor()(X[:3].astype(dtype)))
                rec["predict"] = digest(net.predict(X))
                rec["evaluate"] = net.evaluate(X, y)
                # more rows than a block: blocks side by side, each in its own workspace
                big = 2 * fastnn._training.PREDICT_CHUNK + 77
                Xb = rng.normal(size=(big,) + shape)
                rec["predict_blocks"] = digest(net.predict(Xb))
                rec["evaluate_blocks"] = net.evaluate(Xb, targets(rng, loss, big, k))
                value, grads = net.loss_and_grads(X, y)
                rec["loss_and_grads"] = [value, digest(*[g for pair in grads for g in pair
                                                         if g is not None])]
                for bs, rows in batches:
                    assert net._splits(bs or rows) == (bs == 512)   # the split path is met
                    opt = fastnn.SGD(lr=0.01, momentum=0.9)
                    hist = net.fit(X[:rows], y[:rows], epochs=1, batch_size=bs, optimizer=opt)
                    rec[f"fit{bs}"] = [digest(np.array(hist.step_loss)), hist.accuracy,
                                       digest(net.params)]
                hist = net.partial_fit(X[:20], y[:20], optimizer=opt)
                rec["partial_fit"] = [hist.step_loss, digest(net.params)]
                if name == "wide":
                    # every optimizer's update over more parameters than one
                    # part (the engine updates them in parts side by side)
                    for oname, o in (("adam", fastnn.Adam(lr=1e-3)),
                                     ("rmsprop", fastnn.RMSprop(lr=1e-3, momentum=0.9,
                                                                centered=True)),
                                     ("rprop", fastnn.Rprop()),
                                     ("adagrad", fastnn.AdaGrad(lr=0.01))):
                        hist = net.fit(X[:256], y[:256], epochs=1, batch_size=128,
                                       optimizer=o)
                        rec[oname] = [digest(np.array(hist.step_loss)), digest(net.params)]
        return out

    json.dump({str(t): run(t) for t in map(int, sys.argv[1:])}, sys.stdout)
""")

ENVIRONMENTS = {
    "as-is": {},
    # kernels that sum in another order when OpenBLAS splits a product
    "haswell": {"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "512"},
    "unset": None,
}


@pytest.mark.parametrize("environment", sorted(ENVIRONMENTS))
def test_results_do_not_depend_on_the_thread_count(environment):
    env = dict(os.environ)
    extra = ENVIRONMENTS[environment]
    if extra is None:
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    else:
        env.update(extra)
    counts = ["1", "2", "3"] if environment == "as-is" else ["1", "2"]
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, *counts],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    runs = json.loads(done.stdout)
    one = runs.pop("1")
    for n_threads, other in runs.items():
        assert other.keys() == one.keys()
        for case, values in one.items():
            for path, expected in values.items():
                # exact equality, NaN-free by construction
                assert other[case][path] == expected, (n_threads, case, path)


def test_results_do_not_depend_on_the_thread_count_blas_starts_with():
    """A process whose BLAS starts single-threaded (OPENBLAS_NUM_THREADS=1,
    as Dask's workers and many schedulers set it) computes the same bits as
    one whose BLAS starts with every core: the engine holds the BLAS it
    calls at one thread either way."""
    runs = []
    for blas_threads in (None, "1"):
        env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS",)}
        env.pop("OMP_NUM_THREADS", None)
        if blas_threads is not None:
            env["OPENBLAS_NUM_THREADS"] = env["OMP_NUM_THREADS"] = blas_threads
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT, "2"],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr
        runs.append(json.loads(done.stdout)["2"])
    started_wide, started_serial = runs
    for case, values in started_wide.items():
        for path, expected in values.items():
            assert started_serial[case][path] == expected, (case, path)


def test_the_engine_holds_the_blas_that_scipy_uses():
    """The thread-count functions bound are those of the OpenBLAS in SciPy's
    own folder, not of NumPy's copy (whose file name also says scipy)."""
    get_addr, set_addr = _threads._blas_thread_functions()
    if not get_addr:
        pytest.skip("SciPy's BLAS is not an OpenBLAS this process can ask")

    class DlInfo(ctypes.Structure):
        _fields_ = [
            ("dli_fname", ctypes.c_char_p),
            ("dli_fbase", ctypes.c_void_p),
            ("dli_sname", ctypes.c_char_p),
            ("dli_saddr", ctypes.c_void_p),
        ]

    try:
        dladdr = ctypes.CDLL(None).dladdr
    except (OSError, AttributeError):
        pytest.skip("no dladdr here to name the library of a function")
    dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(DlInfo)]
    info = DlInfo()
    assert dladdr(ctypes.c_void_p(set_addr), ctypes.byref(info))
    library = os.fsdecode(info.dli_fname)
    import scipy

    scipy_root = os.path.dirname(os.path.dirname(os.path.abspath(scipy.__file__)))
    shipped = [
        p
        for p in _threads._scipy_blas_paths()
        if os.path.basename(os.path.dirname(p)).lower().startswith("scipy")
    ]
    if not shipped:
        pytest.skip("this SciPy links a system BLAS, not one in its own folder")
    assert os.path.realpath(library) == os.path.realpath(shipped[0]), library
    assert os.path.realpath(library).startswith(os.path.realpath(scipy_root))


def test_blas_keeps_the_thread_count_its_user_set():
    """The engine holds SciPy's BLAS at one thread only while it runs."""
    get_addr, set_addr = _threads._blas_thread_functions()
    if not get_addr:
        pytest.skip("SciPy's BLAS is not an OpenBLAS this process can ask")
    get = ctypes.CFUNCTYPE(ctypes.c_int)(get_addr)
    set_ = ctypes.CFUNCTYPE(None, ctypes.c_int)(set_addr)
    before = get()
    try:
        set_(2)
        rng = np.random.default_rng(0)
        X = rng.normal(size=(1100, 100))
        y = rng.integers(0, 10, size=1100)
        net = fastnn.Sequential(
            [
                fastnn.Dense(100, 256, activation="relu"),
                fastnn.Dense(256, 10, activation="softmax"),
            ],
            seed=0,
        )
        net.fit(X, y, epochs=1, batch_size=512)
        net.predict(X)
        net.evaluate(X, y)
        net.loss_and_grads(X, y)
        net.partial_fit(X[:600], y[:600])
        assert get() == 2
    finally:
        set_(before)


def test_threads_are_the_engines_own_setting():
    before = fastnn.get_num_threads()
    with fastnn.threads(1):
        assert fastnn.get_num_threads() == 1
        with fastnn.threads(3):
            assert fastnn.get_num_threads() == 3
        assert fastnn.get_num_threads() == 1
    assert fastnn.get_num_threads() == before
    with fastnn.threads(None):
        assert fastnn.get_num_threads() >= 1
    assert fastnn.get_num_threads() == before


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_thread_count_is_checked(bad):
    before = fastnn.get_num_threads()
    with pytest.raises(ValueError, match="n_threads must be a positive integer"):
        fastnn.set_num_threads(bad)
    assert fastnn.get_num_threads() == before
    with pytest.raises(RuntimeError):
        with fastnn.threads(1):
            raise RuntimeError("inside")
    assert fastnn.get_num_threads() == before
