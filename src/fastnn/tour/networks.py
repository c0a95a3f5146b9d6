"""Steps 7-9: networks trained by backpropagation, from XOR to digits read by LeNet."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from .. import models
from .._text import percent
from ..layers import Dense
from ..logic import CORNERS
from ..network import Sequential
from ..optim import SGD, Adam
from ._core import _arch, _digits_net, _digits_split, _Tour
from .neurons import GATE_TARGETS

# ================================================================== 7. backprop
_XOR: dict[str, Any] = {"hidden": 4, "lr": 0.05, "epochs": 500, "max_tries": 10}


def step_backprop(tour: _Tour) -> dict:
    T = "backprop"
    tour.say(T, "title")
    X, y = CORNERS, np.array(GATE_TARGETS["XOR"], dtype=float)
    h = _XOR["hidden"]

    def make(seed: int) -> Sequential:
        return Sequential(
            [Dense(2, h, activation="tanh"), Dense(h, 1, activation="sigmoid")],
            loss="binary_cross_entropy",
            dtype="float64",
            seed=seed,
        )

    tour.say(T, "setup", arch=_arch(make(tour.seed)), lr=_XOR["lr"], epochs=_XOR["epochs"])
    for seed in range(tour.seed, tour.seed + _XOR["max_tries"]):
        net = make(seed)
        hist = net.fit(X, y, epochs=_XOR["epochs"], optimizer=Adam(lr=_XOR["lr"]))
        probs = net.predict(X)[:, 0]
        acc = float(np.mean((probs >= 0.5) == (y == 1)))
        if acc == 1.0:
            break
        tour.say(T, "restart", seed=seed, acc=acc, loss=hist.loss[-1])
    tour.say(
        T,
        "result",
        seed=seed,
        l0=hist.loss[0],
        l1=hist.loss[-1],
        probs="[" + ", ".join(f"{p:.3f}" for p in probs) + "]",
        acc=acc,
    )
    tour.say(T, "why", hidden=h)
    files: list = []
    if tour.out_dir is not None:
        plot, lang, fw = tour.plot, tour.figure_lang, tour.figure_words(T)
        tour.save(
            plot.decision_regions(
                net, X, y, title=fw["regions"].format(arch=_arch(net)), lang=lang
            ),
            "backprop_xor_regions.png",
            files,
        )
        tour.save(
            plot.network_drawing(net, title=fw["network"], lang=lang),
            "backprop_xor_network.png",
            files,
        )
    return {
        "seed": seed,
        "accuracy": acc,
        "probabilities": probs.tolist(),
        "loss_start": hist.loss[0],
        "loss_end": hist.loss[-1],
        "figures": files,
    }


# ==================================================================== 8. digits
_DIGITS_TRAINING: dict[str, Any] = {"batch_size": 32, "lr": 0.1, "momentum": 0.9, "epochs": 30}


def _top(p: np.ndarray, k: int = 3) -> str:
    """The k most probable classes, e.g. "7: 93%, 1: 4%, 9: 1%"."""
    order = np.argsort(-p)[:k]
    return ", ".join(f"{j}: {percent(float(p[j]))}" for j in order)


def step_digits(tour: _Tour) -> dict:
    T = "digits"
    tour.say(T, "title")
    d = _digits_split(tour)
    Xtr, ytr, Xte, yte = d["X_train"], d["y_train"], d["X_test"], d["y_test"]
    net = _digits_net(tour.seed)
    tour.say(
        T,
        "setup",
        n_train=len(Xtr),
        n_test=len(Xte),
        seed=tour.seed,
        arch=_arch(net),
        n_params=net.n_params,
    )
    P0 = net.predict(Xte)  # (n_test, 10)
    acc0 = float(np.mean(P0.argmax(axis=1) == yte))
    loss0 = net.evaluate(Xte, yte)
    tour.say(
        T,
        "before",
        acc=acc0,
        loss=loss0,
        ln10=math.log(10),
        index=0,
        label=int(yte[0]),
        top=_top(P0[0]),
    )
    cfg = _DIGITS_TRAINING
    t0 = time.perf_counter()
    hist = net.fit(
        Xtr,
        ytr,
        epochs=cfg["epochs"],
        batch_size=cfg["batch_size"],
        optimizer=SGD(lr=cfg["lr"], momentum=cfg["momentum"]),
    )
    seconds = time.perf_counter() - t0
    tour.say(
        T,
        "train",
        bs=cfg["batch_size"],
        lr=cfg["lr"],
        mom=cfg["momentum"],
        epochs=cfg["epochs"],
        seconds=seconds,
    )
    P1 = net.predict(Xte)
    pred = P1.argmax(axis=1)
    acc1 = float(np.mean(pred == yte))
    loss1 = net.evaluate(Xte, yte)
    tour.say(T, "after", acc=acc1, loss=loss1, top=_top(P1[0]))
    wrong = np.nonzero(pred != yte)[0]
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (yte, pred), 1)
    most: list = []  # (true, read as) of the most frequent mistakes, as in the figure
    if len(wrong):
        off = confusion - np.diag(np.diag(confusion))
        count = int(off.max())
        most = [(int(t), int(p)) for t, p in np.argwhere(off == count)]
        table = tour.words(T)
        name = table["digit_names"]  # a digit as a sentence says it: "an 8" in English
        pairs = table["pair_sep"].join(
            table["pair"].format(t=name[str(t)], p=name[str(p)]) for t, p in most
        )
        key = "errors_once" if count == 1 else ("errors" if len(most) == 1 else "errors_tied")
        tour.say(T, key, wrong=len(wrong), n_test=len(yte), pairs=pairs, count=count)
    else:
        tour.say(T, "perfect", n_test=len(yte))
    files: list = []
    if tour.out_dir is not None:
        plot, lang, fw = tour.plot, tour.figure_lang, tour.figure_words(T)
        # the first test image of five different digits, and the first misread one
        show: list = []
        for i, label in enumerate(yte):
            if len(show) == 5:
                break
            if label not in yte[show]:
                show.append(i)
        extra = [int(i) for i in wrong if i not in show] or [
            i for i in range(len(yte)) if i not in show
        ]
        show.append(extra[0])
        tour.save(
            plot.probability_bars(
                Xte[show],
                P0[show],
                yte[show],
                ncols=3,
                title=fw["before"],
                lang=lang,
            ),
            "digits_before.png",
            files,
        )
        tour.save(
            plot.probability_bars(
                Xte[show],
                P1[show],
                yte[show],
                ncols=3,
                title=fw["after"].format(acc=100 * acc1),
                lang=lang,
            ),
            "digits_after.png",
            files,
        )
        tour.save(plot.confusion_matrix(yte, pred, 10, lang=lang), "digits_confusion.png", files)
    return {
        "arch": _arch(net),
        "n_params": net.n_params,
        "n_train": len(Xtr),
        "n_test": len(Xte),
        "accuracy_before": acc0,
        "accuracy": acc1,
        "loss_before": loss0,
        "loss_after": loss1,
        "train_loss": hist.loss,
        "confusion": confusion,
        "wrong": int(len(wrong)),
        "most_frequent_mistakes": most,
        "train_seconds": seconds,
        "figures": files,
    }


# ===================================================================== 9. lenet
def _layers_text(net: Sequential) -> str:
    """'Conv2D(1, 6, kernel_size=3, ...) -> (6, 8, 8), MaxPool2D(2) -> (6, 4, 4), ...'"""
    return ", ".join(f"{layer!r} -> {layer.describe_output()}" for layer in net.layers)


def _settings_text(tour: _Tour, settings: dict) -> str:
    """How a network of fastnn.models was trained, in the tour's language."""
    return tour.words("lenet")["settings"].format(**settings)


def step_lenet(tour: _Tour) -> dict:
    T = "lenet"
    tour.say(T, "title")
    tour.say(T, "history")
    cnn = models.lenet_digits(seed=tour.seed)  # the tour's split (models.digits_images)
    dense = models.dense_digits(seed=tour.seed)
    net = cnn.net
    conv = net.layers[0]
    k = conv.kernel_size[0]
    tour.say(
        T,
        "arch",
        n_params=net.n_params,
        n_conv=conv.n_params,
        n_filters=conv.out_channels,
        k=k,
        layers=_layers_text(net),
    )
    d = models.digits_images(tour.seed)
    n_test = len(d["y_test"])
    tour.say(T, "data", seed=tour.seed, n_train=len(d["y_train"]), n_test=n_test)
    tour.say(
        T,
        "train",
        settings=_settings_text(tour, cnn.settings),
        seconds=cnn.seconds,
        acc=cnn.test_accuracy,
        acc_train=cnn.train_accuracy,
    )
    tour.say(
        T,
        "dense",
        dense_arch=_arch(dense.net),
        dense_params=dense.n_params,
        dense_settings=_settings_text(tour, dense.settings),
        dense_seconds=dense.seconds,
        dense_acc=dense.test_accuracy,
        dense_train=dense.train_accuracy,
    )
    cnn_wrong = int(round((1 - cnn.test_accuracy) * n_test))
    dense_wrong = int(round((1 - dense.test_accuracy) * n_test))
    tour.say(T, "compare", n_test=n_test, cnn_wrong=cnn_wrong, dense_wrong=dense_wrong)
    index = 0
    label = int(d["y_test"][index])
    tour.say(T, "figures", n_filters=conv.out_channels, index=index, label=label)
    files: list = []
    if tour.out_dir is not None:
        plot, lang, fw = tour.plot, tour.figure_lang, tour.figure_words(T)
        tour.save(
            plot.conv_filters(net, title=fw["filters"], lang=lang), "lenet_filters.png", files
        )
        tour.save(
            plot.feature_maps(
                net,
                d["X_test"][index],
                label=label,
                title=fw["maps"].format(index=index),
                lang=lang,
            ),
            "lenet_feature_maps.png",
            files,
        )
    return {
        "n_params": net.n_params,
        "accuracy": cnn.test_accuracy,
        "train_accuracy": cnn.train_accuracy,
        "train_seconds": cnn.seconds,
        "settings": cnn.settings,
        "wrong": cnn_wrong,
        "dense": {
            "arch": _arch(dense.net),
            "n_params": dense.n_params,
            "accuracy": dense.test_accuracy,
            "train_accuracy": dense.train_accuracy,
            "train_seconds": dense.seconds,
            "settings": dense.settings,
            "wrong": dense_wrong,
        },
        "filters": np.array(conv.W),
        "figures": files,
    }
