"""What the benchmarks ran on: CPU, load, BLAS, threads, versions; the sgemm rate.

Nothing heavy is imported at load time (the harness imports this module
before it pins the threads).
"""

from __future__ import annotations

import os
import platform
import sys
import time
from typing import Callable

CONTENDED = 0.10  # other load on the benchmark's cores above which timings are suspect
LIBRARIES = ("numpy", "scipy", "torch", "jax", "jaxlib", "sklearn", "threadpoolctl")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


class CpuWatch:
    """How busy other processes kept the machine over an interval: the CPU
    time of all processes (``/proc/stat``) minus this process's and its
    finished children's, as a share of all cores over the wall time."""

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
        return busy, t.user + t.system + t.children_user + t.children_system, time.monotonic()

    def other_share(self) -> float | None:
        end = self._read()
        if end is None or self.begin is None:
            return None
        busy, own, wall = (e - b for e, b in zip(end, self.begin))
        return max(0.0, busy - own) / (wall * (os.cpu_count() or 1)) if wall > 0 else None


def contended(share: float | None, threads: int) -> bool:
    """Did other processes take more than CONTENDED of the cores this run
    used? With fewer threads than cores, the spare cores are theirs."""
    if share is None:
        return False
    cores = os.cpu_count() or 1
    spare = max(0, cores - threads) / cores
    return share - spare > CONTENDED * min(threads, cores) / cores


def blas_info() -> list[dict]:
    """The BLAS and OpenMP pools loaded in this process (threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [{"error": "threadpoolctl is not installed"}]
    keep = ("user_api", "internal_api", "version", "architecture", "num_threads")
    out = []
    for info in threadpool_info():
        row = {k: info[k] for k in keep if info.get(k) is not None}
        path = info.get("filepath", "")
        row["library"] = os.path.basename(path)
        owners = ("numpy", "scipy", "torch", "jaxlib", "sklearn")
        tags = ("numpy", "scipy", "torch", "jaxlib", "scikit_learn")
        row["loaded_by"] = next(
            (o for o, t in zip(owners, tags) if f"/{t}/" in path or f"/{t}.libs/" in path), "?"
        )
        out.append(row)
    return out


def blas_line(info: list[dict]) -> str:
    parts = []
    for i in info:
        if "error" in i:
            return i["error"]
        kernel = (
            f" {i.get('version')} [{i.get('architecture', '?')}]"
            if i.get("user_api") == "blas"
            else ""
        )
        parts.append(
            f"{i.get('internal_api')}{kernel} {i.get('num_threads')} threads "
            f"({i.get('loaded_by')}: {i.get('library')})"
        )
    return "; ".join(parts) or "no BLAS loaded"


def library_threads(threads: int) -> dict[str, str]:
    """The thread count each loaded library used."""
    out = {}
    fastnn = sys.modules.get("fastnn")
    if fastnn is not None and hasattr(fastnn, "get_num_threads"):
        out["fastnn engine"] = str(fastnn.get_num_threads())
    torch = sys.modules.get("torch")
    if torch is not None:
        out["torch"] = str(torch.get_num_threads())
    if "jax" in sys.modules:
        out["jax"] = f"{threads} cores" + (" (Eigen pool off)" if threads == 1 else "")
    return out


def machine_info(threads: int, openblas_env: dict[str, str | None]) -> dict:
    """CPU, cores, threads, load, versions; the OpenBLAS variables that were
    set when the benchmark started (it unset them)."""
    try:
        allowed = len(os.sched_getaffinity(0))
    except AttributeError:
        allowed = os.cpu_count()
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        module = sys.modules.get(name)
        if module is not None:
            versions[name] = str(getattr(module, "__version__", "?"))
    fastnn = sys.modules.get("fastnn")
    if fastnn is not None:
        versions["fastnn"] = (
            f"{getattr(fastnn, '__version__', '?')} ({os.path.dirname(fastnn.__file__)})"
        )
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "cores_allowed": allowed,
        "threads": threads,
        "library_threads": library_threads(threads),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
        "versions": versions,
        "openblas_env": openblas_env,
    }


# ----------------------------------------------------------------- sgemm
MATMUL_LIBS = ("numpy", "scipy", "torch")


def matmul_runner(
    lib: str, m: int, k: int, n: int, threads: int, min_time: float = 0.2
) -> Callable[[], float] | None:
    """A runner returning the float32 rate (FLOP/s, 2*m*k*n per product) of
    ``A (m, k) @ B (k, n)`` through NumPy's BLAS, SciPy's (the one fastnn's
    kernels call) or PyTorch's; None if the library is missing."""
    import numpy as np

    from harness import per_call

    rng = np.random.default_rng(0)
    A = rng.random((m, k), dtype=np.float32)
    B = rng.random((k, n), dtype=np.float32)
    if lib == "numpy":
        C = np.empty((m, n), dtype=np.float32)

        def fn():
            np.matmul(A, B, out=C)
    elif lib == "scipy":
        from scipy.linalg.blas import sgemm

        Af, Bf = np.asfortranarray(A), np.asfortranarray(B)
        Cf = np.zeros((m, n), dtype=np.float32, order="F")

        def fn():
            sgemm(1.0, Af, Bf, beta=0.0, c=Cf, overwrite_c=True)
    elif lib == "torch":
        try:
            import torch
        except ImportError:
            return None
        torch.set_num_threads(threads)
        At, Bt = torch.from_numpy(A), torch.from_numpy(B)
        Ct = torch.empty((m, n), dtype=torch.float32)

        def fn():
            torch.mm(At, Bt, out=Ct)
    else:
        raise ValueError(lib)
    timed = per_call(fn, min_time)
    return lambda: 2.0 * m * k * n / timed()
