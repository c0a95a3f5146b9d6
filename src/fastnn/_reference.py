"""The engine's maths in plain NumPy: slow, obvious, the oracle of the tests.

Nothing in the package calls this module; the tests hold the compiled
kernels against it.
"""

from __future__ import annotations

import numpy as np


def activate(Z: np.ndarray, act: str) -> np.ndarray:
    if act == "identity":
        return Z.copy()
    if act == "relu":
        return np.maximum(Z, 0)
    if act == "sigmoid":
        return 1 / (1 + np.exp(-Z))
    if act == "tanh":
        return np.tanh(Z)
    if act == "step":
        return (Z >= 0).astype(Z.dtype)
    if act == "softmax":
        E = np.exp(Z - Z.max(axis=1, keepdims=True))
        return E / E.sum(axis=1, keepdims=True)
    raise ValueError(act)


def act_grad(A: np.ndarray, act: str) -> np.ndarray:
    """act'(Z) through A = act(Z)."""
    if act == "relu":
        return (A > 0).astype(A.dtype)
    if act == "sigmoid":
        return A * (1 - A)
    if act == "tanh":
        return 1 - A**2
    return np.ones_like(A)


def dense_forward(X, W, b, act):
    """out := act(X @ W + b)"""
    return activate(X @ W + b, act)


def dense_backward(X, W, delta):
    """dW := X^T delta, db := sum(delta), dX := delta W^T (before act')"""
    return X.T @ delta, delta.sum(axis=0), delta @ W.T


def loss_and_delta(Z, loss, act, y):
    """Mean loss of act(Z) against y and dloss/dZ."""
    n, k = Z.shape
    if loss == "cross_entropy":
        lse = Z.max(axis=1) + np.log(np.exp(Z - Z.max(axis=1, keepdims=True)).sum(axis=1))
        value = np.mean(lse - Z[np.arange(n), y])
        delta = activate(Z, "softmax")
        delta[np.arange(n), y] -= 1
        return value, delta / n
    Y = np.asarray(y, dtype=Z.dtype).reshape(n, k)
    if loss == "binary_cross_entropy":
        value = np.mean(np.maximum(Z, 0) - Z * Y + np.log1p(np.exp(-np.abs(Z))))
        return value, (activate(Z, "sigmoid") - Y) / (n * k)
    A = activate(Z, act)
    G = 2 * (A - Y) / (n * k)
    if act == "softmax":
        delta = A * (G - (G * A).sum(axis=1, keepdims=True))
    else:
        delta = G * act_grad(A, act)
    return np.mean((A - Y) ** 2), delta


def forward(layers, X, logits=False):
    """Outputs of every layer; layers are (W, b, act) triples."""
    outs = [X]
    for i, (W, b, act) in enumerate(layers):
        last = i == len(layers) - 1
        outs.append(dense_forward(outs[-1], W, b, "identity" if (logits and last) else act))
    return outs


def loss_and_grads(layers, X, y, loss):
    outs = forward(layers, X, logits=True)
    value, delta = loss_and_delta(outs[-1], loss, layers[-1][2], y)
    grads = [None] * len(layers)
    for i in range(len(layers) - 1, -1, -1):
        W = layers[i][0]
        dW, db, dX = dense_backward(outs[i], W, delta)
        grads[i] = (dW, db)
        if i > 0:
            delta = dX * act_grad(outs[i], layers[i - 1][2])
    return value, grads


def sgd_step(w, g, buf, t, lr, momentum=0.0, dampening=0.0, nesterov=False,
             weight_decay=0.0):
    """One torch.optim.SGD step on arrays; returns (w, buf)."""
    g = g + weight_decay * w
    if momentum:
        buf = g.copy() if t == 0 else momentum * buf + (1 - dampening) * g
        g = g + momentum * buf if nesterov else buf
    return w - lr * g, buf


def adam_step(w, g, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    """One torch.optim.Adam step (t = steps taken before); returns (w, m, v)."""
    b1, b2 = betas
    g = g + weight_decay * w
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    step = t + 1
    denom = np.sqrt(v) / np.sqrt(1 - b2**step) + eps
    return w - lr / (1 - b1**step) * m / denom, m, v


def train(layers, X, y, loss, batches, opt="sgd", **hyper):
    """Train (W, b, act) layers in place over the given list of row-index
    batches; returns the step losses."""
    flat = [p for W, b, _ in layers for p in (W, b)]
    state = [dict(buf=np.zeros_like(p), m=np.zeros_like(p), v=np.zeros_like(p)) for p in flat]
    losses = []
    for t, rows in enumerate(batches):
        yb = y[rows]
        value, grads = loss_and_grads(layers, X[rows], yb, loss)
        losses.append(value)
        gflat = [g for pair in grads for g in pair]
        for p, g, s in zip(flat, gflat, state):
            if opt == "sgd":
                new, s["buf"] = sgd_step(p, g, s["buf"], t, **hyper)
            else:
                new, s["m"], s["v"] = adam_step(p, g, s["m"], s["v"], t, **hyper)
            p[...] = new
    return losses
