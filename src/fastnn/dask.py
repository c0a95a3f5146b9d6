"""Training on a Dask array one block at a time (extra ``fastnn[dask]``).

Everything else that fastnn does on Dask is done by Dask's and dask-ml's own
tools (README, "Beyond one machine"): ``dask_ml.wrappers.Incremental`` and
``ParallelPostFit``, scikit-learn's searches under joblib's Dask backend,
dask-ml's adaptive searches, ``groupby(...).apply`` for one model per group.
This module adds the one thing they do not: ``partial_fit_blocks`` drives
``partial_fit`` of any fastnn model (``Sequential`` with its optimizer, or an
estimator) over the row blocks of a Dask array, in order, with at most
``1 + prefetch`` blocks in memory at any time. ``Incremental`` builds its
whole graph at once, so idle workers compute blocks ahead of the training
and hold them (measured in bench/bench_dask.py).

``import fastnn`` does not import this module, nor Dask.
"""

from __future__ import annotations

import copy
import numbers
from typing import Any

import dask
import dask.array as da

__all__ = ["partial_fit_blocks"]


class _Training:
    """A model and its optimizer as one object, so that they travel between
    processes in one pickle: the optimizer's state for the network is found
    again only if both are unpickled together (Dask would send the two
    items of a tuple apart)."""

    def __init__(self, model: Any, optimizer: Any):
        self.model = model
        self.optimizer = optimizer


def _train_block(state: _Training, X: Any, y: Any, fit_params: dict) -> _Training:
    """One block's ``partial_fit`` on a copy of the model (and optimizer).

    The copy keeps a task pure: a task that Dask runs again (a worker died,
    a result was lost) starts from the same model, never from one it had
    already trained.
    """
    state = copy.deepcopy(state)
    if state.optimizer is not None:
        fit_params = dict(fit_params, optimizer=state.optimizer)
    state.model.partial_fit(X, y, **fit_params)
    return state


def _current_client() -> Any:
    """The distributed Client in use, or None (Dask's local schedulers)."""
    try:
        from distributed import default_client
    except ImportError:  # pragma: no cover - distributed is part of the extra
        return None
    try:
        return default_client()
    except ValueError:
        return None


def _check_blocks(X: Any, y: Any) -> tuple[da.Array, da.Array]:
    """X and y, checked to be Dask arrays cut into the same blocks of rows."""
    for name, arr in (("X", X), ("y", y)):
        if not isinstance(arr, da.Array):
            raise TypeError(
                f"{name} must be a dask.array.Array, got {type(arr).__name__} "
                "(a Dask DataFrame converts with .to_dask_array(lengths=True); "
                "a NumPy array needs no Dask: call partial_fit on it)"
            )
        if arr.ndim == 0:
            raise ValueError(f"{name} must have a first axis of rows, got a 0-d array")
        if any(map(lambda c: c != c, arr.chunks[0])):  # NaN: unknown sizes
            raise ValueError(
                f"{name} has unknown block sizes {arr.chunks[0]}; call "
                f"{name}.compute_chunk_sizes() first"
            )
    if X.ndim < 2:
        raise ValueError(f"X must have at least 2 dimensions (rows, features), got shape {X.shape}")
    if any(n != 1 for n in X.numblocks[1:]):
        raise ValueError(
            f"X must be cut into blocks of rows only, got blocks {X.chunks}: use "
            "X.rechunk({0: rows, 1: -1}) (one block spans every column)"
        )
    if y.ndim == 2 and y.numblocks[1] != 1:
        y = y.rechunk({1: -1})
    if y.ndim not in (1, 2):
        raise ValueError(f"y must have 1 or 2 dimensions, got shape {y.shape}")
    if X.chunks[0] != y.chunks[0]:
        raise ValueError(
            f"X and y must be cut into the same row blocks, got {X.chunks[0]} and "
            f"{y.chunks[0]}: rechunk y with y.rechunk({{0: X.chunks[0]}})"
        )
    return X, y


def partial_fit_blocks(
    model: Any,
    X: da.Array,
    y: da.Array,
    *,
    optimizer: Any = None,
    prefetch: int = 1,
    client: Any = None,
    **fit_params: Any,
) -> Any:
    """Train ``model`` by ``partial_fit`` on each row block of a Dask array, in order.

    The result is that of calling ``model.partial_fit`` on the blocks one
    after the other in one process, bit for bit. With a distributed
    ``Client``, each block's step runs as a task on a worker, mostly the
    one that holds the block: the model (kilobytes) travels to the data
    (megabytes). Without one, the blocks are computed here, one at a time,
    by Dask's local scheduler. Either way only the block in training and
    ``prefetch`` blocks being computed ahead exist at any time (with their
    copies in transit between processes: 4 blocks measured on a worker,
    bench/bench_dask.py), so the array may be far larger than any
    machine's memory.

    Parameters
    ----------
    model : fastnn.Sequential, fastnn.MLPClassifier or fastnn.MLPRegressor
        Anything with ``partial_fit(X, y, **fit_params)``; left unchanged.
    X : dask.array.Array of shape (n_samples, n_features) or (n_samples, c, h, w)
        Cut into blocks of rows only (one block spans all other axes).
    y : dask.array.Array of shape (n_samples,) or (n_samples, n_outputs)
        Cut into the same row blocks as X.
    optimizer : fastnn.Optimizer, optional
        For a ``Sequential``: the optimizer to step with. It travels with
        the network, so its state (momentum, moments, step count) continues
        from block to block; it is left unchanged too, and its trained copy
        is returned. ``None``: the network's own ``SGD(lr=0.01)``.
    prefetch : int, default 1
        With a Client: blocks computed ahead of the one in training (0:
        none). Without one, each block is computed when its turn comes.
    client : distributed.Client or False, optional
        Where to run the steps; default the current Client if there is one.
        ``False``: here, even when there is a Client (the blocks are then
        computed by Dask's current scheduler and sent here).
    **fit_params
        Passed to every ``partial_fit`` call: ``batch_size=`` for a
        ``Sequential``, ``classes=`` for ``MLPClassifier`` (needed for its
        first call).

    Returns
    -------
    model or (model, optimizer)
        The trained copy of ``model`` (with ``optimizer``: of both, as a
        pair that continues training together).

    Raises
    ------
    TypeError
        X or y is not a Dask array; ``model`` has no ``partial_fit``;
        ``optimizer`` given for a model that does not take one.
    ValueError
        X is cut across its columns, X and y have different row blocks or
        unknown block sizes, ``prefetch`` is not a non-negative integer; and
        whatever ``partial_fit`` raises on a block (the model is unchanged).

    Examples
    --------
    >>> import dask.array as da, numpy as np, fastnn
    >>> from fastnn.dask import partial_fit_blocks
    >>> X = da.random.default_rng(0).standard_normal((10_000, 8), chunks=(1_000, 8))
    >>> y = (X[:, 0] > 0).astype(np.int64)
    >>> net = fastnn.Sequential([fastnn.Dense(8, 2, activation="softmax")], seed=0)
    >>> net, opt = partial_fit_blocks(net, X, y, optimizer=fastnn.SGD(lr=0.1), batch_size=100)
    """
    if not callable(getattr(model, "partial_fit", None)):
        raise TypeError(
            f"model must have a partial_fit method (a fastnn Sequential or an "
            f"estimator with solver 'sgd' or 'adam'), got {type(model).__name__}"
        )
    if isinstance(prefetch, bool) or not isinstance(prefetch, numbers.Integral) or prefetch < 0:
        raise ValueError(f"prefetch must be a non-negative integer, got {prefetch!r}")
    if optimizer is not None:
        from .network import Sequential
        from .optim import Optimizer

        if not isinstance(model, Sequential):
            raise TypeError(
                f"optimizer= is for a fastnn Sequential; {type(model).__name__} "
                "keeps its own (its solver and learning_rate_init parameters)"
            )
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"optimizer must be a fastnn optimizer such as SGD(lr=0.1), got {optimizer!r}"
            )
    X, y = _check_blocks(X, y)
    state = _Training(model, optimizer)
    if client is None:
        client = _current_client()
    if client is None or client is False:
        for i in range(X.numblocks[0]):  # X.blocks[i]: that block's tasks only
            X_block, y_block = dask.compute(X.blocks[i], y.blocks[i])
            state = _train_block(state, X_block, y_block, fit_params)
            del X_block, y_block  # before the next block is made
    else:
        state = _on_workers(client, state, X, y, prefetch, fit_params)
    return state.model if optimizer is None else (state.model, state.optimizer)


def _on_workers(
    client: Any, state: _Training, X: da.Array, y: da.Array, prefetch: int, params: dict
) -> _Training:
    """The block loop as a chain of tasks, ``prefetch`` blocks computed ahead."""
    from distributed import wait

    n = X.numblocks[0]
    blocks: dict[int, list] = {}

    def compute(i: int) -> None:
        if i < n and i not in blocks:
            blocks[i] = client.compute([X.blocks[i], y.blocks[i]])

    future = None
    for i in range(n):
        for j in range(i, i + prefetch + 1):
            compute(j)
        X_block, y_block = blocks.pop(i)
        future = client.submit(
            _train_block,
            future if future is not None else state,
            X_block,
            y_block,
            params,
            pure=False,
        )
        wait(future)
        del X_block, y_block  # this block's step is done: Dask may drop it
        if future.status == "error":
            break
    for pending in blocks.values():
        client.cancel(pending)
    if future is None:
        return copy.deepcopy(state)
    return future.result()
