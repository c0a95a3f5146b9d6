"""partial_fit on a stream of small chunks: the same step with less Python.

``MLPClassifier.partial_fit`` checks its settings, its input and its labels,
snapshots what it may change, runs one engine step and records the epoch,
in some dozens of Python calls: on a one-row chunk of a small network those
cost more than the step. Once a call has gone through all of that, a
``OneStepStream`` keeps what the next call of the same kind needs (the
settings it was made under, the network's Stepper and optimizer state, the
label table; setting a parameter drops it); a later call that is of that kind (an ndarray chunk of
floats, labels of the dtype seen at the first fit and all known, no more
rows than one step takes) takes the step and records it as the full
path would, to the bit. Anything else, or anything changed since (a
parameter set, the optimizer replaced), goes the full way, which also
raises every error. A call that raises changes nothing, as the full way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._dispatch import kernels as _kernels


class OneStepStream:
    """What a one-step ``partial_fit`` of a multiclass MLPClassifier needs,
    taken after a full call; ``step`` returns False for any call it does not
    take (the caller then goes the full way)."""

    __slots__ = (
        "opt",
        "state",
        "stepper",
        "dtype",
        "n_in",
        "rows",
        "y_dtype",
        "index",
        "labels",
        "empty",
        "tol",
    )

    @classmethod
    def make(cls, est: Any) -> OneStepStream | None:
        """The stream for est's next calls, or None when the full path
        has something to do that this one does not (early stopping, a
        learning-rate schedule, verbose output, feature names, labels that
        are not one class per row of three or more, mutable settings)."""
        s = est._settings()  # caches the settings unless one holds a mutable container
        d = est.__dict__
        opt = d.get("_optimizer")
        net = d.get("net_")
        if (
            net is None
            or opt is None
            or d.get("_settings_cache") is None
            or s.early_stopping
            or s.verbose
            or (s.solver == "sgd" and s.learning_rate != "constant")
            or s.solver not in ("sgd", "adam")
            or "feature_names_in_" in d
            or d.get("_kind") != "multiclass"
            or est._grad_scale != 1.0
            or est._loss_scale != 1.0
        ):
            return None
        state = opt._state_for(net)
        stepper = state.stepper
        if stepper is None or stepper.params is not net.params:
            return None
        self = cls.__new__(cls)
        self.opt, self.state, self.stepper = opt, state, stepper
        self.dtype, self.n_in = net.dtype, net.n_in
        # one step per call: no more rows than the stepper and a batch take
        bs = 200 if s.batch_size == "auto" else s.batch_size
        self.rows = min(stepper.rows, bs)
        if s.shuffle:  # a chunk of several rows would be shuffled: the full way
            self.rows = 1
        self.y_dtype = d["_y_dtype"]
        self.index = d["_class_index"]
        self.labels = np.empty(self.rows, dtype=np.int64)
        self.empty = np.empty((0, net.n_out), dtype=net.dtype)
        self.tol = s.tol
        return self

    def step(self, est: Any, X: Any, y: Any) -> bool:
        if not (
            type(X) is np.ndarray
            and type(y) is np.ndarray
            and X.ndim == 2
            and y.ndim == 1
            and X.dtype.kind == "f"
            and y.dtype == self.y_dtype
            and X.shape[1] == self.n_in
            and 0 < X.shape[0] <= self.rows
            and y.shape[0] == X.shape[0]
        ):
            return False
        d = est.__dict__
        state, stepper, opt = self.state, self.stepper, self.opt
        if (
            d.get("_stream") is not self
            or d.get("_optimizer") is not opt
            or state.stepper is not stepper
            or stepper.opt_buffer is not state.buffer
        ):
            return False
        if X.dtype != self.dtype or not X.flags.c_contiguous:
            if X.dtype != np.float64 or self.dtype != np.float32 or not X.flags.c_contiguous:
                return False
            # float64 rows into a float32 model (the default), as the full way
            # rounds them; a value that is not finite in float32 goes the full way
            X32 = np.empty(X.shape, dtype=np.float32)
            if not _kernels.cast_finite(X, X32):
                return False
            X = X32
        n = X.shape[0]
        labels = self.labels
        index = self.index
        for i, label in enumerate(y.tolist()):
            k = index.get(label)
            if k is None:  # an unknown label: the full way says so
                return False
            labels[i] = k
        value = stepper.step(
            X, labels[:n] if n < len(labels) else labels, self.empty, opt._hyper(), state.t
        )
        if stepper.status == _kernels.DIVERGED:  # the stepper undid its step
            # NaN or infinity in X makes the loss NaN: the full way names it
            if not _kernels.all_finite(X.reshape(-1)):
                return False
            raise est._diverged(1, True)
        state.t += 1
        # the records of one epoch, as BaseMLP._end_epoch keeps them
        best = d["best_loss_"]
        d["_no_improvement_count"] = (
            d["_no_improvement_count"] + 1 if value > best - self.tol else 0
        )
        d["_rng"] = None
        d["loss_"] = value
        d["loss_curve_"].append(value)
        d["n_iter_"] = 1
        d["t_"] += n
        if value < best:
            d["best_loss_"] = value
        return True
