"""Steps 10-14: the craft of training (optimizers, scaling, initialisation, overfitting)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import datasets
from ..callbacks import EarlyStopping
from ..exceptions import TrainingDiverged
from ..layers import Dense, Dropout
from ..network import Sequential
from ..optim import SGD, AdaGrad, Adam, RMSprop
from ..regression import RegressionMachine, steps_within
from ._core import _arch, _digits_net, _digits_split, _Tour
from .learning import FULL, TOO_LARGE, step_data, step_regression
from .networks import step_digits

# =============================================================== 10. optimizers
# name -> optimizer for a learning rate; the settings other than lr are torch's defaults
_OPTIMIZERS: dict[str, Callable[[float], Any]] = {
    "SGD": lambda lr: SGD(lr=lr),
    "momentum 0.9": lambda lr: SGD(lr=lr, momentum=0.9),
    "Nesterov 0.9": lambda lr: SGD(lr=lr, momentum=0.9, nesterov=True),
    "AdaGrad": lambda lr: AdaGrad(lr=lr),
    "RMSprop": lambda lr: RMSprop(lr=lr),
    "Adam": lambda lr: Adam(lr=lr),
}
_ADAPTIVE = ("AdaGrad", "RMSprop", "Adam")
_HUBBLE_LRS = tuple(f * 10.0**e for e in range(-3, 4) for f in (1, 3))  # 0.001 .. 3000
_DIGITS_LRS = tuple(f * 10.0**e for e in range(-4, 1) for f in (1, 3))  # 0.0001 .. 3
_HUBBLE_BUDGET = 2000
_OPT_DIGITS: dict[str, Any] = {"batch_size": 32, "epochs": 10}
_TOL = 0.01  # "down": within 1% of the minimum loss


def _grid_text(lrs: tuple) -> str:
    return f"{{{lrs[0]:g}, {lrs[1]:g}, ..., {lrs[-1]:g}}}"


def _path_losses(machine: RegressionMachine) -> np.ndarray:
    """E(a, b) after each step of the machine's path."""
    return np.asarray(machine.loss(machine.path[:, 0], machine.path[:, 1]), dtype=float)


def _best_hubble_run(
    x: np.ndarray, y: np.ndarray, make: Callable[[float], Any], e_min: float, seed: int
) -> dict:
    """The learning rate of the grid that gets down in the fewest steps (the
    smallest such rate on a tie; the lowest final E if none gets down)."""
    best: dict | None = None
    for lr in _HUBBLE_LRS:
        try:
            m = RegressionMachine(seed=seed).fit(x, y, steps=_HUBBLE_BUDGET, optimizer=make(lr))
        except TrainingDiverged:
            continue
        E = _path_losses(m)
        steps = steps_within(E, e_min, _TOL)
        key = (0, steps, 0.0) if steps is not None else (1, 0, float(E[-1]))
        if best is None or key < best["key"]:
            best = {"key": key, "lr": lr, "steps": steps, "machine": m, "loss_end": float(E[-1])}
    return best or {"lr": None, "steps": None, "machine": None, "loss_end": math.inf}


def step_optimizers(tour: _Tour) -> dict:
    T = "optimizers"
    tour.say(T, "title")
    t0 = time.perf_counter()
    x, y = datasets.load_hubble()
    ref = RegressionMachine(seed=tour.seed).fit(x, y, steps=0)  # the surface, no steps
    a_min, b_min = ref.closed_form()
    e_min = ref.loss(a_min, b_min)
    lmin, lmax = np.linalg.eigvalsh(ref.hessian())
    tour.say(T, "surface", ratio=lmax / lmin, lmin=lmin, lmax=lmax)
    tour.say(
        T,
        "rule",
        budget=_HUBBLE_BUDGET,
        grid=_grid_text(_HUBBLE_LRS),
        emin=e_min,
        target=(1 + _TOL) * e_min,
    )
    hubble: dict = {}
    for name, make in _OPTIMIZERS.items():
        run = _best_hubble_run(x, y, make, e_min, tour.seed)
        hubble[name] = run
        if run["machine"] is None:
            tour.say(T, "row_diverged", name=name)
        elif run["steps"] is None:
            tour.say(
                T, "row_not", name=name, lr=run["lr"], budget=_HUBBLE_BUDGET, e=run["loss_end"]
            )
        else:
            tour.say(T, "row", name=name, lr=run["lr"], steps=run["steps"])
    down = {name: run for name, run in hubble.items() if run["steps"] is not None}
    if down:
        best = min(down, key=lambda name: down[name]["steps"])
        tour.say(
            T,
            "adaptive",
            best=best,
            steps=down[best]["steps"],
            adaptive=", ".join(
                f"{name} {hubble[name]['lr']:g}"
                for name in _ADAPTIVE
                if hubble[name]["lr"] is not None
            ),
            sgd_lr=hubble["SGD"]["lr"],
        )

    d = _digits_split(tour)
    cfg = _OPT_DIGITS
    tour.say(
        T,
        "digits",
        arch=_arch(_digits_net(tour.seed)),
        bs=cfg["batch_size"],
        epochs=cfg["epochs"],
        grid=_grid_text(_DIGITS_LRS),
    )
    digits: dict = {}
    runs = len(_OPTIMIZERS) * (len(_HUBBLE_LRS) + len(_DIGITS_LRS))
    for name, make in _OPTIMIZERS.items():
        best = None
        for lr in _DIGITS_LRS:
            net = _digits_net(tour.seed)
            try:
                hist = net.fit(
                    d["X_train"],
                    d["y_train"],
                    epochs=cfg["epochs"],
                    batch_size=cfg["batch_size"],
                    optimizer=make(lr),
                )
            except TrainingDiverged:
                continue
            if np.isfinite(hist.loss[-1]) and (best is None or hist.loss[-1] < best[1].loss[-1]):
                best = (lr, hist, net)
        if best is None:
            tour.say(T, "row_diverged", name=name)
            digits[name] = {"lr": None}
            continue
        lr, hist, net = best
        acc = float(np.mean(net.predict(d["X_test"]).argmax(axis=1) == d["y_test"]))
        tour.say(
            T,
            "digits_row",
            name=name,
            lr=lr,
            l0=hist.loss[0],
            l1=hist.loss[-1],
            epochs=cfg["epochs"],
            acc=acc,
        )
        digits[name] = {
            "lr": lr,
            "history": hist,
            "loss_first_epoch": hist.loss[0],
            "loss_last_epoch": hist.loss[-1],
            "test_accuracy": acc,
        }
    seconds = time.perf_counter() - t0
    tour.say(T, "seconds", runs=runs, seconds=seconds)
    files: list = []
    if tour.out_dir is not None:
        plot, lang, fw = tour.plot, tour.figure_lang, tour.figure_words(T)
        axes = tour.figure_words("regression")
        paths = {
            fw["run"].format(name=fw["names"][name], lr=run["lr"]): run["machine"].path
            for name, run in hubble.items()
            if run["machine"] is not None
        }
        tour.save(
            plot.optimizer_paths(
                ref,
                paths,
                tol=_TOL,
                a_label=axes["a_label"],
                b_label=axes["b_label"],
                loss_label=axes["loss_label"],
                gap_label=fw["gap_label"],
                colors=plot.PATH_COLORS,
                title=fw["hubble"],
                lang=lang,
            ),
            "optimizers_hubble.png",
            files,
        )
        named = {
            fw["run"].format(name=fw["names"][name], lr=run["lr"]): run["history"]
            for name, run in digits.items()
            if run["lr"] is not None
        }
        per_epoch = -(-len(d["X_train"]) // cfg["batch_size"])
        window = per_epoch // 2
        tour.save(
            plot.loss_per_step(
                named,
                logx=False,
                smooth=window,
                details=False,
                colors=plot.PATH_COLORS,
                title=fw["digits"].format(epochs=cfg["epochs"]),
                xlabel=fw["xlabel"].format(per_epoch=per_epoch, window=window),
                ylabel=tour.figure_words("modes")["ylabel"],
                lang=lang,
            ),
            "optimizers_digits.png",
            files,
        )
    return {
        "hubble": {
            name: {"lr": run["lr"], "steps": run["steps"], "loss_end": run["loss_end"]}
            for name, run in hubble.items()
        },
        "digits": {
            name: {k: v for k, v in run.items() if k != "history"} for name, run in digits.items()
        },
        "loss_min": e_min,
        "hessian_eigenvalues": (float(lmin), float(lmax)),
        "budget": _HUBBLE_BUDGET,
        "figures": files,
    }


# ================================================================== 11. scaling
_SCALED_STEPS = 20


def step_scaling(tour: _Tour) -> dict:
    T = "scaling"
    tour.say(T, "title")
    x, y = datasets.load_hubble()
    mu, sigma = float(x.mean()), float(x.std())
    raw = RegressionMachine(seed=tour.seed).fit(x, y, lr=FULL["lr"], steps=_HUBBLE_BUDGET)
    a_cf, b_cf = raw.closed_form()
    e_min = raw.loss(a_cf, b_cf)
    l1, l2 = np.linalg.eigvalsh(raw.hessian())
    tour.say(T, "raw", dmin=x.min(), dmax=x.max(), mu=mu, sigma=sigma, l1=l1, l2=l2, ratio=l2 / l1)
    z = (x - mu) / sigma  # mean 0, standard deviation 1
    lr = TOO_LARGE["lr"]
    scaled = RegressionMachine(seed=tour.seed).fit(z, y, lr=lr, steps=_SCALED_STEPS)
    ls = np.linalg.eigvalsh(scaled.hessian())
    tour.say(T, "scaled", l=float(ls.mean()))
    a2, b2 = scaled.a, scaled.b
    E = _path_losses(scaled)
    steps = steps_within(E, e_min, _TOL)
    # the start, then E after each step up to the one narrated (the figure draws as many)
    said = np.concatenate([[scaled.loss(*scaled.start)], E[: steps or len(E)]])
    tour.say(
        T,
        "fast",
        lr=lr,
        steps=steps,
        losses=" -> ".join(f"{e:,.0f}" for e in said),
        a2=a2,
        b2=b2,
        a=a2 / sigma,
        b=b2 - a2 * mu / sigma,
        target=(1 + _TOL) * e_min,
        steps_all=_SCALED_STEPS,
    )
    steps_ok = steps_within(_path_losses(raw), e_min, _TOL)
    diverged_at = None
    try:
        long = RegressionMachine(seed=tour.seed).fit(x, y, lr=lr, steps=_HUBBLE_BUDGET)
    except TrainingDiverged as exc:  # the engine refuses to go on with non-finite numbers
        diverged_at = exc.step
        tour.say(T, "diverged", lr=lr, at=exc.step, lr_ok=FULL["lr"], steps_ok=steps_ok)
    else:
        tour.say(
            T,
            "growing",
            lr=lr,
            steps=_HUBBLE_BUDGET,
            e=long.loss(long.a, long.b),
            lr_ok=FULL["lr"],
            steps_ok=steps_ok,
        )
    files: list = []
    if tour.out_dir is not None:
        flying = RegressionMachine(seed=tour.seed).fit(x, y, lr=lr, steps=3)
        ok_steps = steps_ok or _HUBBLE_BUDGET
        a_s, b_s = scaled.closed_form()
        half = 520.0  # both maps: the same window around their minimum, a and b to scale
        fw, axes = tour.figure_words(T), tour.figure_words("regression")
        panels = {
            fw["raw"]: {
                "machine": raw,
                "a_label": axes["a_label"],
                "b_label": axes["b_label"],
                "loss_label": axes["loss_label"],
                "paths": {
                    fw["within"].format(lr=FULL["lr"]): raw.path[:ok_steps],
                    fw["flies"].format(lr=lr): flying.path,
                },
                "a_range": (a_cf - half, a_cf + half),
                "b_range": (b_cf - half, b_cf + half),
            },
            fw["scaled"]: {
                "machine": scaled,
                "a_label": fw["a_scaled"],
                "b_label": fw["b_scaled"],
                "loss_label": fw["loss_scaled"],
                "paths": {fw["within"].format(lr=lr): scaled.path[: steps or len(E)]},
                "a_range": (a_s - half, a_s + half),
                "b_range": (b_s - half, b_s + half),
            },
        }
        tour.save(
            tour.plot.loss_surfaces(panels, title=fw["title"], lang=tour.figure_lang),
            "scaling_surfaces.png",
            files,
        )
    return {
        "mean": mu,
        "std": sigma,
        "lr": lr,
        "steps": steps,
        "losses": said.tolist(),
        "curvatures_raw": (float(l1), float(l2)),
        "curvatures_scaled": (float(ls[0]), float(ls[1])),
        "a_scaled": a2,
        "b_scaled": b2,
        "a": a2 / sigma,
        "b": b2 - a2 * mu / sigma,
        "raw_diverged_at": diverged_at,
        "raw_lr": FULL["lr"],
        "raw_steps": steps_ok,
        "figures": files,
    }


# =========================================================== 12. initialisation
_INIT_TRAINING: dict[str, Any] = {"epochs": 10, "lr": 0.1, "batch_size": 32}


def _init_std(scheme: str, n_in: int, n_out: int) -> float:
    if scheme == "small":
        return 0.01
    if scheme == "Glorot":
        return math.sqrt(2.0 / (n_in + n_out))
    return math.sqrt(2.0 / n_in)  # He


def _deep_net(activation: str, scheme: str, seed: int) -> Sequential:
    """64-100-100-100-100-100-10 with Gaussian weights of the scheme's std."""
    sizes = [64, 100, 100, 100, 100, 100, 10]
    layers = [
        Dense(n_in, n_out, activation=activation) for n_in, n_out in zip(sizes[:-2], sizes[1:-1])
    ]
    layers.append(Dense(sizes[-2], sizes[-1], activation="softmax"))
    net = Sequential(layers, loss="cross_entropy", seed=seed)
    rng = np.random.default_rng(seed)
    for layer in net.layers:
        layer.W[...] = rng.normal(
            0.0, _init_std(scheme, layer.n_in, layer.n_out), size=layer.W.shape
        )
        layer.b[...] = 0.0
    return net


def step_initialisation(tour: _Tour) -> dict:
    T = "initialisation"
    tour.say(T, "title")
    d = _digits_split(tour)
    Xtr = d["X_train"]
    configs = [(act, scheme) for act in ("sigmoid", "relu") for scheme in ("small", "Glorot", "He")]
    nets = {f"{act} + {scheme}": _deep_net(act, scheme, tour.seed) for act, scheme in configs}
    probe = next(iter(nets.values()))
    sizes = [probe.layers[0].n_in] + [layer.n_out for layer in probe.layers]
    tour.say(T, "setup", arch="-".join(map(str, sizes)), n=len(Xtr))
    plot = tour.plot  # layer_outputs: the engine has no call for hidden outputs (yet)
    stats: dict = {}
    for name, net in nets.items():
        stds = [float(a.std()) for a in plot.layer_outputs(net, Xtr)[:-1]]
        _, grads = net.loss_and_grads(Xtr, d["y_train"])
        g = [float(np.abs(dW).mean()) for dW, _ in grads]
        stats[name] = {"activation_std": stds, "grad_mean_abs": g}
        tour.say(
            T, "row", name=name, stds=" ".join(f"{s:.2g}" for s in stds), g_first=g[0], g_last=g[-1]
        )
    files: list = []
    fw = tour.figure_words(T) if tour.out_dir is not None else {}
    if tour.out_dir is not None:  # drawn now, before training changes the weights
        drawn = {
            fw["net"].format(act=act, scheme=fw["schemes"][scheme]): nets[f"{act} + {scheme}"]
            for act, scheme in configs
        }
        tour.save(
            plot.activation_histograms(drawn, Xtr, title=fw["activations"], lang=tour.figure_lang),
            "initialisation_activations.png",
            files,
        )
    cfg = _INIT_TRAINING
    tour.say(T, "train", epochs=cfg["epochs"], lr=cfg["lr"], bs=cfg["batch_size"])
    histories = {}
    learned, stuck = [], []
    for name, net in nets.items():
        try:
            hist = net.fit(
                Xtr,
                d["y_train"],
                epochs=cfg["epochs"],
                batch_size=cfg["batch_size"],
                optimizer=SGD(lr=cfg["lr"]),
            )
        except TrainingDiverged:  # not seen with these settings; said if it happens
            stats[name].update(
                loss_first_epoch=math.nan,
                loss_last_epoch=math.nan,
                test_accuracy=math.nan,
                diverged=True,
            )
            continue
        acc = float(np.mean(net.predict(d["X_test"]).argmax(axis=1) == d["y_test"]))
        histories[name] = hist
        stats[name].update(
            loss_first_epoch=hist.loss[0],
            loss_last_epoch=hist.loss[-1],
            test_accuracy=acc,
            diverged=False,
        )
        tour.say(
            T,
            "train_row",
            name=name,
            l0=hist.loss[0],
            l1=hist.loss[-1],
            epochs=cfg["epochs"],
            acc=acc,
        )
        if hist.loss[-1] < 1.0:
            learned.append(name)
        elif hist.loss[-1] > 2.0:
            stuck.append(name)
    if learned:
        tour.say(T, "learned", names=", ".join(learned))
    if stuck:
        tour.say(T, "stuck", ln10=math.log(10), names=", ".join(stuck))
    tour.say(
        T,
        "point",
        relu_small=stats["relu + small"]["activation_std"][-1],
        relu_he=stats["relu + He"]["activation_std"][-1],
        sig_small=stats["sigmoid + small"]["activation_std"][-1],
    )
    if tour.out_dir is not None:
        figure_names = {
            f"{act} + {scheme}": fw["net"].format(act=act, scheme=fw["schemes"][scheme])
            for act, scheme in configs
        }
        tour.save(
            plot.loss_per_epoch(
                {figure_names[name]: hist for name, hist in histories.items()},
                title=fw["training"].format(lr=cfg["lr"]),
                lang=tour.figure_lang,
            ),
            "initialisation_training.png",
            files,
        )
    return {**stats, "figures": files}


# ============================================================== 13. overfitting
_OVERFIT: dict[str, Any] = {
    "n_small": 200,
    "n_val": 200,
    "hidden": 256,
    "epochs": 60,
    "lr": 0.05,
    "momentum": 0.9,
    "batch_size": 32,
    "weight_decay": 1e-3,
    "dropout": 0.2,
    "patience": 10,
    "epochs_full": 30,
}


def _overfit_net(seed: int, dropout: float = 0.0) -> Sequential:
    h = _OVERFIT["hidden"]
    layers: list = [Dense(64, h, activation="relu")]
    if dropout:
        layers.append(Dropout(dropout))
    layers.append(Dense(h, h, activation="relu"))
    if dropout:
        layers.append(Dropout(dropout))
    layers.append(Dense(h, 10, activation="softmax"))
    return Sequential(layers, loss="cross_entropy", seed=seed)


def _shown_percent(p: float) -> float:
    """A fraction as the narration prints it with ``:.1%``, in percent: 0.94209 -> 94.2."""
    return round(float(f"{100 * p:.1f}"), 1)


def _accuracy(net: Sequential, X: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(net.predict(X).argmax(axis=1) == y))


def step_overfitting(tour: _Tour) -> dict:
    T = "overfitting"
    names = tour.words(T)["names"]
    tour.say(T, "title")
    cfg = _OVERFIT
    d = _digits_split(tour)
    n, n_val = cfg["n_small"], cfg["n_val"]
    Xs, ys = d["X_train"][:n], d["y_train"][:n]
    Xv, yv = d["X_train"][n : n + n_val], d["y_train"][n : n + n_val]  # validation, not test
    Xte, yte = d["X_test"], d["y_test"]
    probe = _overfit_net(tour.seed)
    tour.say(
        T,
        "setup",
        arch=_arch(probe),
        n_params=probe.n_params,
        n_small=n,
        epochs=cfg["epochs"],
        lr=cfg["lr"],
        mom=cfg["momentum"],
        bs=cfg["batch_size"],
        n_test=len(yte),
        n_val=n_val,
    )

    def train(
        net: Sequential, weight_decay: float = 0.0, stopper: EarlyStopping | None = None
    ) -> dict:
        curves: dict = {"train": [], "held-out": []}

        def record(epoch: int, logs: dict, net: Sequential) -> None:  # after every epoch
            curves["train"].append(_accuracy(net, Xs, ys))
            curves["held-out"].append(_accuracy(net, Xte, yte))

        hist = net.fit(
            Xs,
            ys,
            epochs=cfg["epochs"],
            batch_size=cfg["batch_size"],
            optimizer=SGD(lr=cfg["lr"], momentum=cfg["momentum"], weight_decay=weight_decay),
            validation_data=(Xv, yv),
            callbacks=[record] + ([stopper] if stopper is not None else []),
        )
        return {
            "train_accuracy": _accuracy(net, Xs, ys),
            "test_accuracy": _accuracy(net, Xte, yte),
            "train_loss": net.evaluate(Xs, ys),
            "test_loss": net.evaluate(Xte, yte),
            "epochs": hist.epochs,
            "curves": curves,
            "val_loss": hist.val_loss,
        }

    rows: dict = {}
    rows["plain"] = train(_overfit_net(tour.seed))
    plain = rows["plain"]
    held = plain["curves"]["held-out"]
    peak_epoch = int(np.argmax(held))
    tour.say(
        T,
        "plain",
        tr=plain["train_accuracy"],
        trl=plain["train_loss"],
        te=plain["test_accuracy"],
        tel=plain["test_loss"],
        peak=held[peak_epoch],
        peak_epoch=peak_epoch + 1,
        n_small=n,
        ratio=plain["test_loss"] / max(plain["train_loss"], 1e-12),
    )
    rows["decay"] = train(_overfit_net(tour.seed), weight_decay=cfg["weight_decay"])
    rows["dropout"] = train(_overfit_net(tour.seed, dropout=cfg["dropout"]))
    stopper = EarlyStopping(monitor="val_loss", patience=cfg["patience"], restore_best_weights=True)
    rows["early"] = train(_overfit_net(tour.seed), stopper=stopper)
    rows["early"]["best_epoch"] = stopper.best_epoch
    tour.say(T, "with")
    labels = {
        key: names[key].format(wd=cfg["weight_decay"], p=cfg["dropout"], patience=cfg["patience"])
        for key in rows
    }
    for key, row in rows.items():
        if key == "plain":
            continue
        # the difference of the accuracies as printed, and in images: no rounding apart
        row["delta_points"] = round(
            _shown_percent(row["test_accuracy"]) - _shown_percent(plain["test_accuracy"]), 1
        )
        row["delta_images"] = int(round((row["test_accuracy"] - plain["test_accuracy"]) * len(yte)))
        tour.say(
            T,
            "row",
            name=labels[key],
            tr=row["train_accuracy"],
            te=row["test_accuracy"],
            delta=row["delta_points"],
            images=row["delta_images"],
            n_test=len(yte),
            trl=row["train_loss"],
            tel=row["test_loss"],
        )
    tour.say(T, "early", ran=rows["early"]["epochs"], best=stopper.best_epoch + 1, val=stopper.best)
    for row in rows.values():
        row["loss_gap"] = row["test_loss"] - row["train_loss"]
    sep = tour.words(T)["sep"]
    tour.say(
        T,
        "gap",
        gaps=sep.join(f"{labels[key]}: {row['loss_gap']:.3f}" for key, row in rows.items()),
    )
    full_net = _overfit_net(tour.seed)
    full_net.fit(
        d["X_train"],
        d["y_train"],
        epochs=cfg["epochs_full"],
        batch_size=cfg["batch_size"],
        optimizer=SGD(lr=cfg["lr"], momentum=cfg["momentum"]),
    )
    full = _accuracy(full_net, Xte, yte)
    deltas = [rows[key]["delta_points"] for key in ("decay", "dropout", "early")]
    images = [rows[key]["delta_images"] for key in ("decay", "dropout", "early")]
    tour.say(
        T,
        "moved",
        n_small=n,
        lo=min(deltas),
        hi=max(deltas),
        lo_images=min(images),
        hi_images=max(images),
        n_test=len(yte),
    )
    best_regularised = max(rows[key]["test_accuracy"] for key in ("decay", "dropout", "early"))
    tour.say(
        T,
        "more" if full > best_regularised else "compare",
        n_train=len(d["y_train"]),
        epochs_full=cfg["epochs_full"],
        full=full,
    )
    files: list = []
    if tour.out_dir is not None:
        fw = tour.figure_words(T)
        drawn_names = fw["names"]
        fig_labels = {
            key: drawn_names[key].format(
                wd=cfg["weight_decay"], p=cfg["dropout"], patience=cfg["patience"]
            )
            for key in rows
        }
        runs = {
            fig_labels[key]: {
                fw["train"]: row["curves"]["train"],
                fw["held_out"]: row["curves"]["held-out"],
            }
            for key, row in rows.items()
        }
        tour.save(
            tour.plot.learning_curves(
                runs,
                marks={fig_labels["early"]: stopper.best_epoch},
                ylim=(80, 100.5),
                title=fw["title"].format(n=n, n_params=probe.n_params),
                lang=tour.figure_lang,
            ),
            "overfitting_curves.png",
            files,
        )
    out = {key: {k: v for k, v in row.items() if k != "curves"} for key, row in rows.items()}
    for key, row in rows.items():
        out[key]["curves"] = row["curves"]
    return {
        **out,
        "n_small": n,
        "n_params": probe.n_params,
        "full_data_accuracy": full,
        "figures": files,
    }


# ================================================================== 14. summary
def step_summary(tour: _Tour) -> dict:
    T = "summary"
    # The numbers come from the steps that ran; a step not chosen runs quietly.
    needed = {"data": step_data, "regression": step_regression, "digits": step_digits}
    for name, step in needed.items():
        if name not in tour.results:
            tour.results[name] = step(tour.quiet())
    data, reg, dig = tour.results["data"], tour.results["regression"], tour.results["digits"]
    tour.say(T, "title")
    tour.say(
        T,
        "data",
        n_galaxies=data["n_galaxies"],
        n_images=data["n_images"],
        n_pixels=data["n_pixels"],
    )
    tour.say(T, "model", arch=dig["arch"], n_params=dig["n_params"])
    tour.say(
        T,
        "error",
        e0=reg["loss_start"],
        e1=reg["loss_end"],
        a=reg["a"],
        b=reg["b"],
        l0=dig["loss_before"],
        l1=dig["loss_after"],
        acc0=dig["accuracy_before"],
        acc1=dig["accuracy"],
    )
    return {
        "loss_start": reg["loss_start"],
        "loss_end": reg["loss_end"],
        "accuracy": dig["accuracy"],
        "figures": [],
    }
