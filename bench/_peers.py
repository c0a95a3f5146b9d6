"""The same dense classifier trained by fastnn and by each peer.

A network of ``sizes`` (e.g. ``(784, 256, 128, 10)``): ReLU hidden layers, a
softmax output, the mean cross-entropy of each batch, SGD with optional
(heavy-ball, PyTorch-style) momentum. Every trainer starts from the same
weights (those fastnn draws for its seed), walks the rows in their order
(no shuffling) and so sees the same batches, the last smaller batch of an
epoch included. ``check_same_work`` trains them all for one epoch on a few
rows and compares the weights they end with, to show that they really do
identical work.

Each trainer has ``prepare(weights, X, y, batch_size)`` (untimed: builds the
model, copies the weights, compiles) and ``run(epochs)`` (timed: what a
user's training loop does). Import this module after ``harness.Bench(...)``
has pinned the threads.
"""

from __future__ import annotations

import warnings

import numpy as np

import fastnn


def make_net(sizes, seed: int = 0) -> fastnn.Sequential:
    layers = [fastnn.Dense(a, b, activation="relu") for a, b in zip(sizes[:-2], sizes[1:-1])]
    layers.append(fastnn.Dense(sizes[-2], sizes[-1], activation="softmax"))
    return fastnn.Sequential(layers, loss="cross_entropy", dtype="float32", seed=seed)


def initial_weights(sizes, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """fastnn's starting weights for this seed: [(W (n_in, n_out), b), ...]."""
    net = make_net(sizes, seed)
    return [(layer.W.copy(), layer.b.copy()) for layer in net.layers]


def synthetic(n: int, n_in: int, n_classes: int, seed: int = 0):
    """n rows of pixel-like features in [0, 1) (float32, built in chunks so
    that no float64 copy of the whole set exists) and labels from a random
    linear teacher, so the task is learnable."""
    rng = np.random.default_rng(seed)
    teacher = rng.standard_normal((n_in, n_classes)).astype(np.float32)
    X = np.empty((n, n_in), dtype=np.float32)
    y = np.empty(n, dtype=np.int64)
    for s in range(0, n, 8192):
        block = rng.random((min(8192, n - s), n_in), dtype=np.float32)
        X[s : s + len(block)] = block
        y[s : s + len(block)] = np.argmax((block - 0.5) @ teacher, axis=1)
    return X, y


def executed_flops(sizes) -> int:
    """Floating-point operations of the matrix products of one sample's
    training step: forward 2*W, weight gradient 2*W, input gradient 2*W for
    every layer but the first (its input gradient is not needed); W = the
    layer's weight count. Biases, activations, the loss and the update are
    O(widths) or O(params per batch) and not counted."""
    w = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    return 6 * sum(w) - 2 * w[0]


def forward_flops(sizes) -> int:
    return 2 * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


# ----------------------------------------------------------------- trainers
def torch_mlp(weights):
    """torch.nn.Sequential of Linear layers with these weights [(W (n_in,
    n_out), b), ...] and ReLU between them; the output is the logits."""
    import torch

    mods = []
    for W, b in weights:
        lin = torch.nn.Linear(*W.shape)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T)))
            lin.bias.copy_(torch.from_numpy(b))
        mods += [lin, torch.nn.ReLU()]
    return torch.nn.Sequential(*mods[:-1])


def torch_train(model, opt, loss_fn, X, y, batch_size, epochs):
    """PyTorch's training loop as its users write it: slices of the tensors
    ``X``, ``y`` in row order, ``epochs`` times."""
    n = X.shape[0]
    for _ in range(epochs):
        for s in range(0, n, batch_size):
            opt.zero_grad()
            loss = loss_fn(model(X[s : s + batch_size]), y[s : s + batch_size])
            loss.backward()
            opt.step()


class FastnnTrainer:
    name = "fastnn"

    def __init__(self, sizes, lr, momentum, threads):
        self.sizes, self.lr, self.momentum = sizes, lr, momentum

    def prepare(self, weights, X, y, batch_size):
        self.net = make_net(self.sizes)
        for layer, (W, b) in zip(self.net.layers, weights):
            layer.W[...] = W
            layer.b[...] = b
        self.opt = fastnn.SGD(lr=self.lr, momentum=self.momentum)
        self.X, self.y, self.bs = X, y, batch_size

    def run(self, epochs):
        self.net.fit(
            self.X,
            self.y,
            epochs=epochs,
            batch_size=self.bs,
            optimizer=self.opt,
            shuffle=False,
        )

    def weights(self):
        return [(layer.W.copy(), layer.b.copy()) for layer in self.net.layers]


class TorchTrainer:
    """PyTorch as its users write it: nn.Sequential, CrossEntropyLoss on the
    logits, torch.optim.SGD, a Python loop over slices of the data."""

    name = "torch"

    def __init__(self, sizes, lr, momentum, threads):
        import torch

        torch.set_num_threads(threads)
        self.torch = torch
        self.sizes, self.lr, self.momentum = sizes, lr, momentum

    def prepare(self, weights, X, y, batch_size):
        torch = self.torch
        self.model = torch_mlp(weights)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=self.lr, momentum=self.momentum)
        self.loss_fn = torch.nn.CrossEntropyLoss()
        self.X, self.y = torch.from_numpy(X), torch.from_numpy(y)
        self.bs = batch_size

    def run(self, epochs):
        torch_train(self.model, self.opt, self.loss_fn, self.X, self.y, self.bs, epochs)

    def weights(self):
        lins = [m for m in self.model if isinstance(m, self.torch.nn.Linear)]
        return [(m.weight.detach().numpy().T.copy(), m.bias.detach().numpy().copy()) for m in lins]


class JaxTrainer:
    """JAX as its users write it for speed: one jitted function per epoch, a
    ``lax.scan`` over the full batches and one more step for the last,
    smaller batch; compiled ahead of time (not timed)."""

    name = "jax"

    def __init__(self, sizes, lr, momentum, threads):
        import jax
        import jax.numpy as jnp

        self.jax, self.jnp = jax, jnp
        self.sizes, self.lr, self.momentum = sizes, lr, momentum
        self._compiled: dict = {}
        self._data: tuple | None = None
        lr_, mom = lr, momentum

        def loss_fn(params, xb, yb):
            h = xb
            for i, (W, b) in enumerate(params):
                h = h @ W + b
                if i < len(params) - 1:
                    h = jnp.maximum(h, 0.0)
            picked = jnp.take_along_axis(h, yb[:, None], axis=1)[:, 0]
            return jnp.mean(jax.nn.logsumexp(h, axis=1) - picked)

        grad = jax.grad(loss_fn)

        def step(carry, batch):
            params, vel = carry
            g = grad(params, batch[0], batch[1])
            if mom:
                vel = jax.tree_util.tree_map(lambda v, d: mom * v + d, vel, g)
                g = vel
            params = jax.tree_util.tree_map(lambda p, d: p - lr_ * d, params, g)
            return (params, vel), None

        def epoch(params, vel, X, y, bs):
            n = X.shape[0]
            full = n // bs
            carry = (params, vel)
            if full:
                xs = X[: full * bs].reshape(full, bs, X.shape[1])
                ys = y[: full * bs].reshape(full, bs)
                carry, _ = jax.lax.scan(step, carry, (xs, ys))
            if n > full * bs:
                carry, _ = step(carry, (X[full * bs :], y[full * bs :]))
            return carry

        self._epoch = jax.jit(epoch, static_argnums=4)

    def prepare(self, weights, X, y, batch_size):
        jax, jnp = self.jax, self.jnp
        if self._data is None or self._data[0] is not X:
            self._data = (X, jnp.asarray(X), jnp.asarray(y.astype(np.int32)))
        _, self.X, self.y = self._data
        self.params = [(jnp.asarray(W), jnp.asarray(b)) for W, b in weights]
        self.vel = jax.tree_util.tree_map(jnp.zeros_like, self.params)
        key = (X.shape, batch_size)
        if key not in self._compiled:
            self._compiled[key] = self._epoch.lower(
                self.params, self.vel, self.X, self.y, batch_size
            ).compile()
        self.fn = self._compiled[key]

    def run(self, epochs):
        params, vel = self.params, self.vel
        for _ in range(epochs):
            params, vel = self.fn(params, vel, self.X, self.y)
        self.jax.block_until_ready(params)
        self.params, self.vel = params, vel

    def weights(self):
        return [(np.asarray(W), np.asarray(b)) for W, b in self.params]


class NumpyTrainer:
    """The same maths in plain NumPy, float32 throughout, in the bench."""

    name = "numpy"

    def __init__(self, sizes, lr, momentum, threads):
        self.sizes, self.lr, self.momentum = sizes, lr, momentum

    def prepare(self, weights, X, y, batch_size):
        self.params = [(W.copy(), b.copy()) for W, b in weights]
        self.vel = [(np.zeros_like(W), np.zeros_like(b)) for W, b in weights]
        self.X, self.y, self.bs = X, y, batch_size

    def run(self, epochs):
        params, vel, lr, mom = self.params, self.vel, self.lr, self.momentum
        X, y, bs = self.X, self.y, self.bs
        n, last = X.shape[0], len(params) - 1
        for _ in range(epochs):
            for s in range(0, n, bs):
                xb, yb = X[s : s + bs], y[s : s + bs]
                m = xb.shape[0]
                acts = [xb]
                for i, (W, b) in enumerate(params):
                    z = acts[-1] @ W  # (m, n_out)
                    z += b
                    if i < last:
                        np.maximum(z, 0.0, out=z)
                    acts.append(z)
                delta = acts[-1]  # softmax - onehot, / m
                delta -= delta.max(axis=1, keepdims=True)
                np.exp(delta, out=delta)
                delta /= delta.sum(axis=1, keepdims=True)
                delta[np.arange(m), yb] -= 1.0
                delta /= m
                for i in range(last, -1, -1):
                    W, b = params[i]
                    dW = acts[i].T @ delta  # (n_in, n_out)
                    db = delta.sum(axis=0)
                    if i > 0:
                        delta = delta @ W.T
                        delta *= acts[i] > 0
                    if mom:
                        vW, vb = vel[i]
                        vW *= mom
                        vW += dW
                        vb *= mom
                        vb += db
                        dW, db = vW, vb
                    W -= lr * dW
                    b -= lr * db

    def weights(self):
        return [(W.copy(), b.copy()) for W, b in self.params]


class SklearnTrainer:
    """scikit-learn's MLPClassifier (solver="sgd", no shuffling, no L2 term,
    plain momentum), started from the shared weights: a ``partial_fit`` on
    one batch sets the estimator up (untimed), its ``coefs_`` are then
    overwritten and ``fit`` runs with ``warm_start=True``."""

    name = "sklearn"

    def __init__(self, sizes, lr, momentum, threads):
        from sklearn.neural_network import MLPClassifier

        self.cls = MLPClassifier
        self.sizes, self.lr, self.momentum = sizes, lr, momentum

    def prepare(self, weights, X, y, batch_size):
        self.X, self.y = X, y
        self.clf = self.cls(
            hidden_layer_sizes=tuple(self.sizes[1:-1]),
            activation="relu",
            solver="sgd",
            batch_size=batch_size,
            learning_rate_init=self.lr,
            momentum=self.momentum,
            nesterovs_momentum=False,
            alpha=0.0,
            shuffle=False,
            tol=0.0,
            n_iter_no_change=10**9,
            max_iter=1,
            random_state=0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.clf.partial_fit(X[:batch_size], y[:batch_size], classes=np.arange(self.sizes[-1]))
        self.clf.set_params(warm_start=True)
        dtype = self.clf.coefs_[0].dtype
        self.clf.coefs_ = [W.astype(dtype, copy=True) for W, _ in weights]
        self.clf.intercepts_ = [b.astype(dtype, copy=True) for _, b in weights]

    def run(self, epochs):
        self.clf.set_params(max_iter=epochs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.clf.fit(self.X, self.y)

    def weights(self):
        return [(W.copy(), b.copy()) for W, b in zip(self.clf.coefs_, self.clf.intercepts_)]


TRAINERS = {
    "fastnn": FastnnTrainer,
    "jax": JaxTrainer,
    "torch": TorchTrainer,
    "sklearn": SklearnTrainer,
    "numpy": NumpyTrainer,
}


def timed_runner(trainer, weights, X, y, batch_size, epochs, per: float):
    """A runner for ``harness.alternate``: prepare (untimed), train ``epochs``
    epochs (timed), return seconds divided by ``per`` (updates, samples...)."""
    import time

    def run() -> float:
        trainer.prepare(weights, X, y, batch_size)
        t = time.perf_counter()
        trainer.run(epochs)
        return (time.perf_counter() - t) / per

    return run


def check_same_work(trainers: dict, weights, X, y, batch_size, bench=None) -> dict[str, float]:
    """Train each for one epoch from the same weights on (X, y) and return,
    per peer, the largest difference of its final weights from fastnn's,
    relative to the largest weight (float32 rounding gives ~1e-6). A peer
    that fails here is removed from ``trainers`` (and noted as skipped)."""
    ref = None
    out = {}
    for name, tr in list(trainers.items()):
        try:
            tr.prepare(weights, X, y, batch_size)
            tr.run(1)
            ws = tr.weights()
        except Exception as exc:
            if name == "fastnn":
                raise
            del trainers[name]
            if bench is not None:
                bench.skip(name, f"failed: {type(exc).__name__}: {exc}")
            continue
        flat = np.concatenate(
            [np.ravel(np.asarray(a, dtype=np.float64)) for W, b in ws for a in (W, b)]
        )
        if ref is None:
            ref = flat
            continue
        out[name] = float(np.max(np.abs(flat - ref)) / np.max(np.abs(ref)))
    return out


def same_work_note(diffs: dict[str, float], what: str) -> str:
    if not diffs:
        return "no peer to check the work against"
    worst = max(diffs.values())
    return (
        f"same work: after {what}, every peer's weights match fastnn's to "
        f"{worst:.1e} of the largest weight ("
        + ", ".join(f"{k} {v:.0e}" for k, v in diffs.items())
        + ")"
    )
