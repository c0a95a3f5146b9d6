"""fastnn: how deep learning gets smart, runnable, visual and fast.

A lecture on how neural networks learn, made into a package: the
regression machine on Hubble's galaxies, McCulloch-Pitts neurons and logic
gates, Rosenblatt's perceptron, multilayer networks trained by
backpropagation, softmax classification of handwritten digits; on an engine
whose dense forward/backward passes and training loop are compiled (Cython)
and run without the GIL.
"""

try:
    from . import _dispatch
except ImportError as exc:  # pragma: no cover - only without a build
    raise ImportError(
        "fastnn's compiled core (fastnn._kernels) could not be imported: "
        f"{exc}. Install fastnn with `pip install .` from a source checkout "
        "(or build in place with `python setup.py build_ext --inplace`)."
    ) from exc

from . import datasets, logic, models
from ._interop import from_onnx, from_torch, to_onnx
from ._threads import get_num_threads, set_num_threads, threads
from .callbacks import Callback, EarlyStopping
from .estimators import MLPClassifier, MLPRegressor
from .exceptions import ConvergenceWarning, DivergenceWarning, TrainingDiverged
from .history import History
from .io import load, load_checkpoint
from .layers import AvgPool2D, Conv2D, Dense, Dropout, Flatten, Layer, MaxPool2D
from .network import Sequential
from .optim import SGD, AdaGrad, Adam, Optimizer, RMSprop, Rprop
from .perceptron import Perceptron
from .regression import RegressionMachine
from .schedules import (
    Constant,
    CosineAnnealing,
    ExponentialDecay,
    ReduceOnPlateau,
    Schedule,
    StepDecay,
)

__version__ = "0.1.0"


def build_info() -> dict:
    """Which build of the compiled core runs, and which others this CPU could run.

    ``{"isa": "avx2", "available": ["baseline", "avx2", "avx512"]}``; set
    ``FASTNN_ISA`` before importing fastnn to force one.
    """
    return {
        "isa": _dispatch.ISA,
        "available": _dispatch.available(),
        "module": _dispatch.kernels.__name__,
    }


def __getattr__(name: str):
    # fastnn.plot and fastnn.tour import matplotlib: load them only when used.
    if name in ("plot", "tour"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'fastnn' has no attribute {name!r}")


__all__ = [
    "Dense",
    "Conv2D",
    "MaxPool2D",
    "AvgPool2D",
    "Flatten",
    "Dropout",
    "Layer",
    "Sequential",
    "History",
    "TrainingDiverged",
    "DivergenceWarning",
    "load",
    "load_checkpoint",
    "SGD",
    "Adam",
    "AdaGrad",
    "RMSprop",
    "Rprop",
    "Optimizer",
    "Callback",
    "EarlyStopping",
    "Schedule",
    "Constant",
    "StepDecay",
    "ExponentialDecay",
    "CosineAnnealing",
    "ReduceOnPlateau",
    "RegressionMachine",
    "MLPClassifier",
    "MLPRegressor",
    "Perceptron",
    "ConvergenceWarning",
    "datasets",
    "logic",
    "models",
    "build_info",
    "set_num_threads",
    "get_num_threads",
    "threads",
    "to_onnx",
    "from_onnx",
    "from_torch",
    "__version__",
]
