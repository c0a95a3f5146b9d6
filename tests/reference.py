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
        E = np.exp(-np.abs(Z))  # never overflows
        return np.where(Z >= 0, 1 / (1 + E), E / (1 + E))
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
        # torch's order, (max - z_y) + log(sum(exp(z - max))): exact at any size of z
        mx = Z.max(axis=1)
        value = np.mean((mx - Z[np.arange(n), y]) + np.log(np.exp(Z - mx[:, None]).sum(axis=1)))
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


def sgd_step(w, g, buf, t, lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
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


def adagrad_step(
    w, g, s, t, lr=0.01, lr_decay=0.0, weight_decay=0.0, eps=1e-10, initial_accumulator_value=0.0
):
    """One torch.optim.Adagrad step (s starts at initial_accumulator_value)."""
    g = g + weight_decay * w
    s = s + g * g
    return w - lr / (1 + t * lr_decay) * g / (np.sqrt(s) + eps), s


def rmsprop_step(
    w, g, sq, ga, buf, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False
):
    """One torch.optim.RMSprop step; returns (w, sq, ga, buf)."""
    g = g + weight_decay * w
    sq = alpha * sq + (1 - alpha) * g * g
    if centered:
        ga = alpha * ga + (1 - alpha) * g
        avg = np.sqrt(sq - ga * ga) + eps
    else:
        avg = np.sqrt(sq) + eps
    if momentum > 0:
        buf = momentum * buf + g / avg
        return w - lr * buf, sq, ga, buf
    return w - lr * g / avg, sq, ga, buf


def rprop_step(w, g, prev, step, lr=0.01, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0)):
    """One torch.optim.Rprop step (step starts at lr); returns (w, prev, step)."""
    prod = g * prev
    factor = np.where(prod > 0, etas[1], np.where(prod < 0, etas[0], 1.0))
    step = np.clip(step * factor, *step_sizes)
    g = np.where(prod < 0, 0.0, g)
    return w - np.sign(g) * step, g, step


def train(layers, X, y, loss, batches, opt="sgd", l2=0.0, **hyper):
    """Train (W, b, act) layers in place over the given list of row-index
    batches; returns the step losses. ``l2``: the gradient of each weight
    matrix (not the biases) gains l2 * W / rows of the batch, and the loss
    l2 / (2 rows) * sum(W**2)."""
    flat = [p for W, b, _ in layers for p in (W, b)]
    is_weight = [True, False] * len(layers)
    state = [
        dict(
            buf=np.zeros_like(p),
            m=np.zeros_like(p),
            v=np.zeros_like(p),
            s=np.full_like(p, hyper.get("initial_accumulator_value", 0.0)),
            step=np.full_like(p, hyper.get("lr", 0.01)),
        )
        for p in flat
    ]
    losses = []
    for t, rows in enumerate(batches):
        yb = y[rows]
        value, grads = loss_and_grads(layers, X[rows], yb, loss)
        if l2:
            value += 0.5 * l2 / len(rows) * sum(float(np.sum(W * W)) for W, _, _ in layers)
        losses.append(value)
        gflat = [
            g + l2 / len(rows) * p if (l2 and w) else g
            for g, p, w in zip((g for pair in grads for g in pair), flat, is_weight)
        ]
        for p, g, s in zip(flat, gflat, state):
            if opt == "sgd":
                new, s["buf"] = sgd_step(p, g, s["buf"], t, **hyper)
            elif opt == "adam":
                new, s["m"], s["v"] = adam_step(p, g, s["m"], s["v"], t, **hyper)
            elif opt == "adagrad":
                new, s["s"] = adagrad_step(p, g, s["s"], t, **hyper)
            elif opt == "rmsprop":
                new, s["m"], s["v"], s["buf"] = rmsprop_step(
                    p, g, s["m"], s["v"], s["buf"], **hyper
                )
            else:
                new, s["m"], s["step"] = rprop_step(p, g, s["m"], s["step"], **hyper)
            p[...] = new
    return losses


# ---------------------------------------------------------------- images
# Samples as (n, c, h, w) arrays; a network as a list of dicts:
#   {"kind": "dense", "W": (n_in, n_out), "b", "act"}
#   {"kind": "conv2d", "W": (c_out, c_in, kh, kw), "b", "act", "stride", "padding"}
#   {"kind": "maxpool2d" | "avgpool2d", "size": (kh, kw)}
#   {"kind": "flatten"}
# (pairs as tuples). Outputs keep their natural shape; the loss reads the
# output layer's rows flattened.


def conv2d_forward(X, W, b, stride=(1, 1), padding=(0, 0)):
    """out[i, co, oy, ox] := b[co] + sum W[co, :, :, :] * Xpad[i, :, oy*sh + ky, ox*sw + kx]"""
    (sh, sw), (ph, pw) = stride, padding
    n, _, h, w = X.shape
    c_out, _, kh, kw = W.shape
    Xp = np.pad(X, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    out = np.empty((n, c_out, oh, ow), dtype=X.dtype)
    for oy in range(oh):
        for ox in range(ow):
            patch = Xp[:, :, oy * sh : oy * sh + kh, ox * sw : ox * sw + kw]  # (n, c_in, kh, kw)
            out[:, :, oy, ox] = np.tensordot(patch, W, axes=([1, 2, 3], [1, 2, 3])) + b
    return out


def conv2d_backward(X, W, delta, stride=(1, 1), padding=(0, 0)):
    """dW, db, dX of the convolution for dL/dout = delta (dX before act')"""
    (sh, sw), (ph, pw) = stride, padding
    _, _, h, w = X.shape
    _, _, kh, kw = W.shape
    Xp = np.pad(X, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dXp = np.zeros_like(Xp)
    dW = np.zeros_like(W)
    for oy in range(delta.shape[2]):
        for ox in range(delta.shape[3]):
            ys, xs = slice(oy * sh, oy * sh + kh), slice(ox * sw, ox * sw + kw)
            d = delta[:, :, oy, ox]  # (n, c_out)
            dW += np.tensordot(d, Xp[:, :, ys, xs], axes=([0], [0]))
            dXp[:, :, ys, xs] += np.tensordot(d, W, axes=([1], [0]))  # (n, c_in, kh, kw)
    return dW, delta.sum(axis=(0, 2, 3)), dXp[:, :, ph : ph + h, pw : pw + w]


def _windows(X, size):
    """(n, c, oh, ow, kh*kw): the non-overlapping windows, row-major inside."""
    kh, kw = size
    n, c, h, w = X.shape
    oh, ow = h // kh, w // kw
    V = X[:, :, : oh * kh, : ow * kw].reshape(n, c, oh, kh, ow, kw)
    return V.transpose(0, 1, 2, 4, 3, 5).reshape(n, c, oh, ow, kh * kw)


def _unwindows(V, size, shape):
    """The inverse of _windows, zeros where no window reaches."""
    kh, kw = size
    n, c, oh, ow, _ = V.shape
    out = np.zeros(shape, dtype=V.dtype)
    out[:, :, : oh * kh, : ow * kw] = (
        V.reshape(n, c, oh, ow, kh, kw).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, oh * kh, ow * kw)
    )
    return out


def maxpool_forward(X, size):
    return _windows(X, size).max(axis=-1)


def maxpool_backward(X, delta, size):
    """dX: each window's delta to its first maximum (np.argmax: first in
    row-major order, as torch's CPU kernel on ties)."""
    V = _windows(X, size)
    onehot = np.zeros_like(V)
    np.put_along_axis(onehot, V.argmax(axis=-1)[..., None], 1, axis=-1)
    return _unwindows(onehot * delta[..., None], size, X.shape)


def avgpool_forward(X, size):
    return _windows(X, size).sum(axis=-1) / (size[0] * size[1])


def avgpool_backward(X, delta, size):
    V = np.broadcast_to((delta / (size[0] * size[1]))[..., None], _windows(X, size).shape)
    return _unwindows(np.ascontiguousarray(V), size, X.shape)


def net_forward(layers, X, logits=False):
    """Outputs of every layer of a network of dict layers (X first)."""
    outs = [X]
    for i, L in enumerate(layers):
        A = outs[-1]
        kind = L["kind"]
        act = L.get("act", "identity")
        if logits and i == len(layers) - 1:
            act = "identity"
        if kind == "dense":
            Z = A @ L["W"] + L["b"]
        elif kind == "conv2d":
            Z = conv2d_forward(A, L["W"], L["b"], L["stride"], L["padding"])
        elif kind == "maxpool2d":
            Z = maxpool_forward(A, L["size"])
        elif kind == "avgpool2d":
            Z = avgpool_forward(A, L["size"])
        elif kind == "flatten":
            Z = A.reshape(len(A), -1)
        else:
            raise ValueError(kind)
        outs.append(activate(Z, act))
    return outs


def net_loss_and_grads(layers, X, y, loss):
    """Mean loss and [(dW, db) or (None, None)] per layer."""
    outs = net_forward(layers, X, logits=True)
    Z = outs[-1]
    value, delta = loss_and_delta(Z.reshape(len(Z), -1), loss, layers[-1].get("act"), y)
    delta = delta.reshape(Z.shape)
    grads = [(None, None)] * len(layers)
    for i in range(len(layers) - 1, -1, -1):
        L, A = layers[i], outs[i]
        kind = L["kind"]
        if kind == "dense":
            dW, db, dX = dense_backward(A, L["W"], delta)
            grads[i] = (dW, db)
        elif kind == "conv2d":
            dW, db, dX = conv2d_backward(A, L["W"], delta, L["stride"], L["padding"])
            grads[i] = (dW, db)
        elif kind == "maxpool2d":
            dX = maxpool_backward(A, delta, L["size"])
        elif kind == "avgpool2d":
            dX = avgpool_backward(A, delta, L["size"])
        else:
            dX = delta.reshape(A.shape)
        if i > 0:
            delta = dX * act_grad(A, layers[i - 1].get("act", "identity"))
    return value, grads


def net_train(layers, X, y, loss, batches, opt="sgd", **hyper):
    """Train dict layers in place over the given row-index batches (as
    ``train``); returns the step losses."""
    flat = [L[k] for L in layers if "W" in L for k in ("W", "b")]
    state = [dict(buf=np.zeros_like(p), m=np.zeros_like(p), v=np.zeros_like(p)) for p in flat]
    losses = []
    for t, rows in enumerate(batches):
        value, grads = net_loss_and_grads(layers, X[rows], y[rows], loss)
        losses.append(value)
        gflat = [g for pair in grads if pair[0] is not None for g in pair]
        for p, g, s in zip(flat, gflat, state):
            if opt == "sgd":
                new, s["buf"] = sgd_step(p, g, s["buf"], t, **hyper)
            else:
                new, s["m"], s["v"] = adam_step(p, g, s["m"], s["v"], t, **hyper)
            p[...] = new
    return losses
