"""Steps 1-4: data as numbers, the machine's dials, and learning as rolling down the error."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import datasets
from ..exceptions import TrainingDiverged
from ..layers import Dense
from ..network import Sequential
from ..optim import SGD
from ..regression import RegressionMachine
from ._core import _arch, _digits_net, _digits_split, _Tour, narration


# ====================================================================== 1. data
def step_data(tour: _Tour) -> dict:
    T = "data"
    tour.say(T, "title")
    X, y = datasets.load_digits()
    distance, _ = datasets.load_hubble()
    index = 0
    image = X[index].reshape(8, 8).astype(int)
    tour.say(T, "image", h=8, w=8, n=image.size, index=index)
    for row in image:
        tour.raw("    " + " ".join(f"{v:2d}" for v in row))
    tour.say(T, "label", label=int(y[index]))
    tour.say(T, "dataset", n_images=len(X), n_galaxies=len(distance))
    files: list = []
    if tour.out_dir is not None:
        tour.save(
            tour.plot.digit_image(image, label=int(y[index]), lang=tour.figure_lang),
            "data_digit.png",
            files,
        )
    return {
        "n_images": len(X),
        "n_pixels": X.shape[1],
        "n_galaxies": len(distance),
        "index": index,
        "image": image,
        "label": int(y[index]),
        "figures": files,
    }


# =================================================================== 2. machine
def step_machine(tour: _Tour) -> dict:
    T = "machine"
    tour.say(T, "title")
    net = Sequential([Dense(2, 3, activation="tanh"), Dense(3, 1)], seed=tour.seed)
    tour.say(T, "net", arch=_arch(net), n_params=net.n_params)
    x = np.array([[1.0, 0.5]])
    tour.say(T, "dial", x=x[0].tolist())
    dials = [-2.0, -1.0, 0.0, 1.0, 2.0]
    outputs = []
    for w in dials:
        net.layers[0].W[0, 0] = w  # a writable view: turning the dial changes the model
        outputs.append(float(net.predict(x)[0, 0]))
        tour.say(T, "row", w=w, y=outputs[-1])
    tour.say(T, "learn")
    return {"n_params": net.n_params, "dials": dials, "outputs": outputs, "figures": []}


# ================================================================ 3. regression
# Settings of the three descents drawn on one map: each converges visibly.
FULL: dict[str, Any] = {"lr": 0.3, "steps": 100, "batch_size": None}
_MINI: dict[str, Any] = {"lr": 0.05, "steps": 600, "batch_size": 4}
_ONLINE: dict[str, Any] = {"lr": 0.02, "steps": 960, "batch_size": 1}
TOO_LARGE: dict[str, Any] = {"lr": 0.6, "steps": 30, "long_steps": 2000}


def step_regression(tour: _Tour) -> dict:
    T = "regression"
    tour.say(T, "title")
    x, y = datasets.load_hubble()
    tour.say(T, "data", n=len(x), dmin=x.min(), dmax=x.max(), vmin=y.min(), vmax=y.max())
    full = RegressionMachine(seed=tour.seed).fit(x, y, **FULL)
    e0 = full.loss(0.0, 0.0)
    e_final = full.loss(full.a, full.b)
    tour.say(T, "start", e0=e0)
    tour.say(T, "fit", lr=FULL["lr"], steps=FULL["steps"], a=full.a, b=full.b, e=e_final)
    a_cf, b_cf = full.closed_form()
    tour.say(T, "closed", a=a_cf, b=b_cf, dist=math.hypot(full.a - a_cf, full.b - b_cf))
    slope = full.through_origin()
    tour.say(T, "origin", slope=slope)

    mini = RegressionMachine(seed=tour.seed).fit(x, y, **_MINI)
    online = RegressionMachine(seed=tour.seed).fit(x, y, **_ONLINE)
    tour.say(
        T,
        "modes",
        bs=_MINI["batch_size"],
        lr_mb=_MINI["lr"],
        a_mb=mini.a,
        b_mb=mini.b,
        lr_on=_ONLINE["lr"],
        a_on=online.a,
        b_on=online.b,
    )

    lmax = float(np.linalg.eigvalsh(full.hessian()).max())
    limit = full.stability_limit()
    tour.say(T, "limit", lmax=lmax, limit=limit)
    lr_big = TOO_LARGE["lr"]
    big = RegressionMachine(seed=tour.seed).fit(x, y, lr=lr_big, steps=TOO_LARGE["steps"])
    big_start, big_end = big.loss(*big.start), big.loss(big.a, big.b)  # before, after the steps
    tour.say(T, "big", lr=lr_big, e0=big_start, e1=big_end, steps=TOO_LARGE["steps"])
    diverged, message = False, ""
    try:
        longer = RegressionMachine(seed=tour.seed).fit(
            x, y, lr=lr_big, steps=TOO_LARGE["long_steps"]
        )
    except TrainingDiverged as exc:  # the engine refuses to go on with non-finite numbers
        diverged, message = True, str(exc)
        tour.say(T, "diverged", steps=TOO_LARGE["long_steps"], at=exc.step)
    else:
        tour.say(T, "growing", steps=TOO_LARGE["long_steps"], e=longer.loss(longer.a, longer.b))

    files: list = []
    if tour.out_dir is not None:
        plot, lang, fw = tour.plot, tour.figure_lang, tour.figure_words(T)
        tour.save(
            plot.regression_fit(
                x, y, full.a, full.b, origin_slope=slope, title=fw["title"], lang=lang
            ),
            "regression_fit.png",
            files,
        )
        paths = {
            fw["full"].format(lr=FULL["lr"]): full.path,
            fw["mini"].format(bs=_MINI["batch_size"], lr=_MINI["lr"]): mini.path,
            fw["online"].format(lr=_ONLINE["lr"]): online.path,
        }
        tour.save(
            plot.loss_surface(
                full,
                paths,
                a_label=fw["a_label"],
                b_label=fw["b_label"],
                loss_label=fw["loss_label"],
                lang=lang,
            ),
            "regression_loss_surface.png",
            files,
        )
        small = RegressionMachine(seed=tour.seed).fit(x, y, lr=FULL["lr"], steps=TOO_LARGE["steps"])
        steps = TOO_LARGE["steps"]
        small_end = small.loss(small.a, small.b)
        tour.save(
            plot.loss_per_step(
                {
                    fw["small"].format(lr=FULL["lr"], limit=limit, e=small_end, steps=steps): small,
                    fw["big"].format(lr=lr_big, e=big_end, steps=steps): big,
                },
                logx=False,
                xlabel=fw["rate_xlabel"],
                ylabel=fw["rate_ylabel"],
                details=False,
                title=fw["rate_title"],
                lang=lang,
            ),
            "regression_learning_rate.png",
            files,
        )
    return {
        "a": full.a,
        "b": full.b,
        "closed_form": (a_cf, b_cf),
        "origin_slope": slope,
        "loss_start": e0,
        "loss_end": e_final,
        "lambda_max": lmax,
        "stability_limit": limit,
        "paths": {
            "full batch": (full.a, full.b),
            "mini-batch": (mini.a, mini.b),
            "online": (online.a, online.b),
        },
        "too_large": {
            "lr": lr_big,
            "steps": TOO_LARGE["steps"],
            "loss_start": float(big_start),
            "loss_end": float(big_end),
            "diverged": diverged,
            "message": message,
        },
        "figures": files,
    }


# ===================================================================== 4. modes
# (name, batch size, learning rate); a batch size of None is the full batch
_MODES: tuple[tuple[str, int | None, float], ...] = (
    ("full", None, 0.5),
    ("mini", 32, 0.1),
    ("online", 1, 0.01),
)
_MODE_EPOCHS = 10


def step_modes(tour: _Tour) -> dict:
    T = "modes"
    names = tour.words(T)["names"]
    tour.say(T, "title")
    d = _digits_split(tour)
    probe = _digits_net(tour.seed)
    tour.say(
        T,
        "setup",
        arch=_arch(probe),
        n_params=probe.n_params,
        seed=tour.seed,
        epochs=_MODE_EPOCHS,
        n=len(d["X_train"]),
    )
    histories, rows = {}, {}
    for key, batch_size, lr in _MODES:
        net = _digits_net(tour.seed)  # same seed: the same starting weights
        hist = net.fit(
            d["X_train"],
            d["y_train"],
            epochs=_MODE_EPOCHS,
            batch_size=batch_size,
            optimizer=SGD(lr=lr),
        )
        acc = float(np.mean(net.predict(d["X_test"]).argmax(axis=1) == d["y_test"]))
        bs = len(d["X_train"]) if batch_size is None else batch_size
        tour.say(
            T,
            "row",
            mode=names[key],
            bs=bs,
            lr=lr,
            spe=hist.steps_per_epoch,
            total=len(hist.step_loss),
            l0=hist.loss[0],
            l1=hist.loss[-1],
            epochs=_MODE_EPOCHS,
            acc=acc,
        )
        histories[key] = hist
        rows[key] = {
            "batch_size": bs,
            "lr": lr,
            "steps_per_epoch": hist.steps_per_epoch,
            "updates": len(hist.step_loss),
            "loss_first_epoch": hist.loss[0],
            "loss_last_epoch": hist.loss[-1],
            "test_accuracy": acc,
        }
    ratio = rows["online"]["steps_per_epoch"] // rows["full"]["steps_per_epoch"]
    tour.say(T, "point", ratio=ratio)
    files: list = []
    if tour.out_dir is not None:
        mode_names = narration(tour.figure_lang)["modes"]["names"]
        fw = tour.figure_words(T)
        named = {
            fw["run"].format(mode=mode_names[key], lr=lr): histories[key] for key, _, lr in _MODES
        }
        tour.save(
            tour.plot.loss_per_step(
                named,
                title=fw["title"].format(epochs=_MODE_EPOCHS),
                ylabel=fw["ylabel"],
                lang=tour.figure_lang,
            ),
            "modes_loss_per_step.png",
            files,
        )
    return {**rows, "figures": files}
