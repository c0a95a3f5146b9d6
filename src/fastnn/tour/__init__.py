"""The lecture, step by step: how deep learning learns, run end to end.

Each step computes what the lecture shows, prints it in a few plain
sentences with the numbers of this very run, and writes its figures as PNG
files::

    import fastnn.tour
    results = fastnn.tour.run("tour_out", lang="en", only=["regression"])
    results["regression"]["a"]        # the slope gradient descent found

or from the command line: ``python -m fastnn tour`` (figures into ``./tour``;
``--out DIR`` for another directory).

The steps, in order (:data:`STEPS`):

1. ``data``: data and tasks are numbers
2. ``machine``: the prediction machine ŷ = f(x; w), parameters as dials
3. ``regression``: a line through Hubble's galaxies by gradient descent
4. ``modes``: full batch, mini-batch and online learning
5. ``neuron``: McCulloch-Pitts neurons, logic from NAND, adders
6. ``perceptron``: Rosenblatt's perceptron learns AND, OR, NAND, not XOR
7. ``backprop``: a hidden layer learns XOR
8. ``digits``: a softmax classifier reads handwritten digits
9. ``lenet``: a convolutional network (LeNet) against a dense one of the
   same size; its filters and feature maps
10. ``optimizers``: SGD, momentum, Nesterov, AdaGrad, RMSprop and Adam on
    Hubble's error surface and on the digits
11. ``scaling``: standardising the input makes the error surface round
12. ``initialisation``: small, Glorot and He weights; activations layer by
    layer, and the training that follows
13. ``overfitting``: a large network on 200 digits; weight decay, dropout
    and early stopping
14. ``summary``: data, model, minimised error

All narration lives in one table per step (``_TEXT_<STEP>``), in English
(``"en"``) and Japanese (``"ja"``). Figure text is English.
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from . import datasets, logic, models
from .callbacks import EarlyStopping
from .layers import Dense, Dropout
from .network import Sequential, TrainingDiverged
from .optim import SGD, AdaGrad, Adam, RMSprop
from .perceptron import ConvergenceWarning, Perceptron
from .regression import RegressionMachine, steps_within

__all__ = ["run", "STEPS", "LANGUAGES"]

LANGUAGES = ("en", "ja")

_COMMON = {
    "en": {
        "figure": "  figure: {path}",
        "done": "The tour ran {n} step(s) in {seconds:.1f} s; figures are in {out}.",
    },
    "ja": {
        "figure": "  図: {path}",
        "done": "{n} ステップを {seconds:.1f} 秒で実行しました。図は {out} にあります。",
    },
}


@dataclass
class _Tour:
    """What the steps share: where to write, how to speak, what came before."""

    out_dir: Path | None
    lang: str
    stream: TextIO | None
    seed: int = 0
    results: dict = field(default_factory=dict)
    cache: dict = field(default_factory=dict)

    def say(self, table: dict, key: str, **values: Any) -> None:
        if self.stream is not None:
            print(table[self.lang][key].format(**values), file=self.stream)

    def raw(self, text: str) -> None:
        if self.stream is not None:
            print(text, file=self.stream)

    def save(self, fig: Any, name: str, files: list) -> None:
        """Write a figure as ``out_dir/name`` (nothing when running quietly)."""
        if self.out_dir is None:
            return
        path = self.out_dir / name
        fig.savefig(path, dpi=110)
        files.append(name)
        self.say(_COMMON, "figure", path=path)

    @property
    def plot(self) -> Any:
        from . import plot  # matplotlib only when a figure is made

        return plot

    def quiet(self) -> _Tour:
        """The same tour, silent and without figures (for prerequisites)."""
        return _Tour(None, self.lang, None, self.seed, self.results, self.cache)


def _arch(net: Sequential) -> str:
    sizes = [net.layers[0].n_in] + [layer.n_out for layer in net.layers]
    acts = ", ".join(layer.activation for layer in net.layers)
    return f"{'-'.join(map(str, sizes))} ({acts})"


def _percent(p: float) -> str:
    if p < 0.005:
        return "<1%"
    if 0.995 < p < 1.0:
        return ">99%"
    return f"{100 * p:.0f}%"


def _top(p: np.ndarray, k: int = 3) -> str:
    """The k most probable classes, e.g. "7: 93%, 1: 4%, 9: 1%"."""
    order = np.argsort(-p)[:k]
    return ", ".join(f"{j}: {_percent(float(p[j]))}" for j in order)


def _article(digit: int) -> str:
    """The English article before a digit's name: "an 8", "a 7"."""
    return "an" if digit == 8 else "a"


def _digits_split(tour: _Tour) -> dict:
    """The digits, scaled to 0..1, split once into train and held-out test."""
    if "digits" not in tour.cache:
        X, y = datasets.load_digits()
        X = X / 16.0  # (1797, 64), pixels in 0..1
        perm = np.random.default_rng(tour.seed).permutation(len(X))
        n_test = len(X) // 4
        test, train = perm[:n_test], perm[n_test:]
        tour.cache["digits"] = {"X": X, "y": y, "X_train": X[train], "y_train": y[train],
                                "X_test": X[test], "y_test": y[test], "test_index": test}
    return tour.cache["digits"]


def _digits_net(seed: int, hidden: int = 32) -> Sequential:
    return Sequential([Dense(64, hidden, activation="relu"),
                       Dense(hidden, 10, activation="softmax")],
                      loss="cross_entropy", seed=seed)


# ========================================================================= 1
_TEXT_DATA = {
    "en": {
        "title": "== 1. Data: to a machine, data and tasks are numbers ==",
        "image": "A handwritten digit is an {h}x{w} grid of {n} numbers (ink, 0 to 16). "
                 "Image #{index}:",
        "label": "Its label, the answer of the task, is a number too: {label}.",
        "dataset": "The data set holds {n_images} such images. Hubble's table is numbers as "
                   "well: {n_galaxies} galaxies, each a pair (distance, velocity).",
    },
    "ja": {
        "title": "== 1. データ: 機械にとって、データもタスクも数である ==",
        "image": "手書き数字は {h}x{w} のマス目に並んだ {n} 個の数(インクの濃さ 0〜16)です。"
                 "画像 #{index}:",
        "label": "その正解ラベル、つまりタスクの答えも数です: {label}。",
        "dataset": "データセットにはこうした画像が {n_images} 枚あります。ハッブルの表も数です: "
                   "銀河 {n_galaxies} 個、それぞれが (距離, 速度) の組です。",
    },
}


def _step_data(tour: _Tour) -> dict:
    T = _TEXT_DATA
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
        tour.save(tour.plot.digit_image(image, label=int(y[index])), "data_digit.png", files)
    return {"n_images": len(X), "n_pixels": X.shape[1], "n_galaxies": len(distance),
            "index": index, "image": image, "label": int(y[index]), "figures": files}


# ========================================================================= 2
_TEXT_MACHINE = {
    "en": {
        "title": "== 2. The machine: a prediction ŷ = f(x; w) whose parameters w are dials ==",
        "net": "A small network {arch} has {n_params} parameters: {n_params} dials that "
               "shape its answer.",
        "dial": "For the input x = {x}, turning one dial (the weight w[0][0]) changes the "
                "prediction:",
        "row": "    w[0][0] = {w:+.1f}   ->   ŷ = {y:+.4f}",
        "learn": "Learning means setting the dials so that the predictions match the data. "
                 "The regression machine ŷ = a·x + b has just 2 dials, a and b.",
    },
    "ja": {
        "title": "== 2. 予測マシン: 予測 ŷ = f(x; w)、パラメータ w はダイヤル ==",
        "net": "小さなネットワーク {arch} には {n_params} 個のパラメータ、つまり答えを決める "
               "{n_params} 個のダイヤルがあります。",
        "dial": "入力 x = {x} に対して、ダイヤルを 1 つ(重み w[0][0])回すと予測が変わります:",
        "row": "    w[0][0] = {w:+.1f}   ->   ŷ = {y:+.4f}",
        "learn": "学習とは、予測がデータに合うようにダイヤルを合わせることです。"
                 "回帰マシン ŷ = a·x + b のダイヤルは a と b の 2 つだけです。",
    },
}


def _step_machine(tour: _Tour) -> dict:
    T = _TEXT_MACHINE
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


# ========================================================================= 3
_TEXT_REGRESSION = {
    "en": {
        "title": "== 3. Regression: a line through Hubble's galaxies, found by rolling "
                 "down the error ==",
        "data": "{n} galaxies: distances {dmin:.2f} to {dmax:.2f} Mpc, velocities {vmin:.0f} "
                "to {vmax:.0f} km/s.",
        "start": "At the start, a = b = 0, the error E(a, b) = mean of (a·x + b - y)² is "
                 "{e0:,.0f} (km/s)².",
        "fit": "Gradient descent (full batch, lr = {lr}, {steps} steps) rolls down to "
               "a = {a:.2f} km/s/Mpc, b = {b:.2f} km/s, where E = {e:,.0f}.",
        "closed": "The closed-form least-squares answer is a = {a:.2f}, b = {b:.2f}: gradient "
                  "descent ended {dist:.2g} away from it.",
        "origin": "The best line through the origin has slope {slope:.1f} km/s/Mpc: Hubble's "
                  "constant from this 1929 table (today's value is about 70).",
        "modes": "On the same error surface, mini-batch descent ({bs} galaxies per step, "
                 "lr = {lr_mb}) ends at a = {a_mb:.1f}, b = {b_mb:.1f}, and online learning "
                 "(one galaxy per step, lr = {lr_on}) at a = {a_on:.1f}, b = {b_on:.1f}: they "
                 "need a smaller lr and keep wandering around the minimum.",
        "limit": "The error surface's steepest curvature (the Hessian's largest eigenvalue) "
                 "is {lmax:.3f}, so full-batch descent is stable only for "
                 "lr < 2/λmax = {limit:.3f}.",
        "big": "With lr = {lr}, above that limit, every step overshoots the valley: E grows "
               "from {e0:,.0f} to {e1:.3g} in {steps} steps instead of falling.",
        "diverged": "Run for {steps} steps, the numbers overflow: at step {at} the error is no "
                    "longer a finite number, so the engine stopped and restored the weights. "
                    "The ball flies out of the valley instead of rolling into it: the learning "
                    "rate is too large.",
        "growing": "Run for {steps} steps, E reaches {e:.3g}: it keeps growing; the learning "
                   "rate is too large.",
    },
    "ja": {
        "title": "== 3. 回帰: ハッブルの銀河に直線を引く(誤差の坂道を転がす)==",
        "data": "銀河 {n} 個: 距離 {dmin:.2f}〜{dmax:.2f} Mpc、速度 {vmin:.0f}〜{vmax:.0f} km/s。",
        "start": "出発点 a = b = 0 での誤差 E(a, b) = (a·x + b - y)² の平均 は "
                 "{e0:,.0f} (km/s)² です。",
        "fit": "勾配降下法で坂道を転がすと(フルバッチ、学習率 {lr}、{steps} ステップ)、"
               "a = {a:.2f} km/s/Mpc、b = {b:.2f} km/s に着き、E = {e:,.0f} です。",
        "closed": "最小二乗法の解析解は a = {a:.2f}、b = {b:.2f}。勾配降下法の終点との距離は "
                  "{dist:.2g} です。",
        "origin": "原点を通る最良の直線の傾きは {slope:.1f} km/s/Mpc。これがこの 1929 年の表から"
                  "求めたハッブル定数です(現在の値は約 70)。",
        "modes": "同じ誤差の地形の上で、ミニバッチ学習(1 ステップに銀河 {bs} 個、学習率 {lr_mb})"
                 "は a = {a_mb:.1f}、b = {b_mb:.1f} に、オンライン学習(1 ステップに銀河 1 個、"
                 "学習率 {lr_on})は a = {a_on:.1f}、b = {b_on:.1f} に着きます。"
                 "学習率を小さくする必要があり、最小点の周りをふらつき続けます。",
        "limit": "誤差の地形の最も急な曲がり具合(ヘッセ行列の最大固有値)は {lmax:.3f} なので、"
                 "フルバッチの勾配降下が安定なのは 学習率 < 2/λmax = {limit:.3f} のときだけです。",
        "big": "この限界を超える学習率 {lr} では、一歩ごとに谷を飛び越えてしまいます: "
               "E は {steps} ステップで {e0:,.0f} から {e1:.3g} へ、減るどころか増えていきます。",
        "diverged": "{steps} ステップ続けると数値があふれます: {at} ステップ目で誤差が有限の数で"
                    "なくなり、エンジンは停止して重みを元に戻しました。ボールは谷へ転がり落ちずに"
                    "外へ飛び出します: 学習率が大きすぎるのです。",
        "growing": "{steps} ステップ続けると E は {e:.3g} に達し、増え続けます: "
                   "学習率が大きすぎるのです。",
    },
}

# Settings of the three descents drawn on one map: each converges visibly.
_FULL: dict[str, Any] = {"lr": 0.3, "steps": 100, "batch_size": None}
_MINI: dict[str, Any] = {"lr": 0.05, "steps": 600, "batch_size": 4}
_ONLINE: dict[str, Any] = {"lr": 0.02, "steps": 960, "batch_size": 1}
_TOO_LARGE: dict[str, Any] = {"lr": 0.6, "steps": 30, "long_steps": 2000}


def _step_regression(tour: _Tour) -> dict:
    T = _TEXT_REGRESSION
    tour.say(T, "title")
    x, y = datasets.load_hubble()
    tour.say(T, "data", n=len(x), dmin=x.min(), dmax=x.max(), vmin=y.min(), vmax=y.max())
    full = RegressionMachine(seed=tour.seed).fit(x, y, **_FULL)
    e0 = full.loss(0.0, 0.0)
    e_final = full.loss(full.a, full.b)
    tour.say(T, "start", e0=e0)
    tour.say(T, "fit", lr=_FULL["lr"], steps=_FULL["steps"], a=full.a, b=full.b, e=e_final)
    a_cf, b_cf = full.closed_form()
    tour.say(T, "closed", a=a_cf, b=b_cf, dist=math.hypot(full.a - a_cf, full.b - b_cf))
    slope = full.through_origin()
    tour.say(T, "origin", slope=slope)

    mini = RegressionMachine(seed=tour.seed).fit(x, y, **_MINI)
    online = RegressionMachine(seed=tour.seed).fit(x, y, **_ONLINE)
    tour.say(T, "modes", bs=_MINI["batch_size"], lr_mb=_MINI["lr"], a_mb=mini.a, b_mb=mini.b,
             lr_on=_ONLINE["lr"], a_on=online.a, b_on=online.b)

    lmax = float(np.linalg.eigvalsh(full.hessian()).max())
    limit = full.stability_limit()
    tour.say(T, "limit", lmax=lmax, limit=limit)
    lr_big = _TOO_LARGE["lr"]
    big = RegressionMachine(seed=tour.seed).fit(x, y, lr=lr_big, steps=_TOO_LARGE["steps"])
    big_start, big_end = big.loss(*big.start), big.loss(big.a, big.b)  # before, after the steps
    tour.say(T, "big", lr=lr_big, e0=big_start, e1=big_end, steps=_TOO_LARGE["steps"])
    diverged, message = False, ""
    try:
        longer = RegressionMachine(seed=tour.seed).fit(x, y, lr=lr_big,
                                                       steps=_TOO_LARGE["long_steps"])
    except TrainingDiverged as exc:  # the engine refuses to go on with non-finite numbers
        diverged, message = True, str(exc)
        tour.say(T, "diverged", steps=_TOO_LARGE["long_steps"], at=exc.step)
    else:
        tour.say(T, "growing", steps=_TOO_LARGE["long_steps"], e=longer.loss(longer.a, longer.b))

    files: list = []
    if tour.out_dir is not None:
        plot = tour.plot
        tour.save(plot.regression_fit(x, y, full.a, full.b, origin_slope=slope,
                                      title="Hubble (1929): velocity grows with distance"),
                  "regression_fit.png", files)
        paths = {f"full batch, lr={_FULL['lr']}": full.path,
                 f"mini-batch of {_MINI['batch_size']}, lr={_MINI['lr']}": mini.path,
                 f"online, lr={_ONLINE['lr']}": online.path}
        tour.save(plot.loss_surface(full, paths, a_label="slope a (km/s per Mpc)",
                                    b_label="intercept b (km/s)",
                                    loss_label="E(a, b)  ((km/s)²)"),
                  "regression_loss_surface.png", files)
        small = RegressionMachine(seed=tour.seed).fit(x, y, lr=_FULL["lr"],
                                                      steps=_TOO_LARGE["steps"])
        steps = _TOO_LARGE["steps"]
        small_end = small.loss(small.a, small.b)
        tour.save(plot.loss_per_step(
            {f"lr = {_FULL['lr']} (below 2/λmax = {limit:.3f}): E = {small_end:,.0f} after "
             f"{steps} steps": small,
             f"lr = {lr_big} (above 2/λmax): E = {big_end:.3g} after {steps} steps": big},
            logx=False, xlabel="steps taken (0: the start, a = b = 0)",
            ylabel="E(a, b) on all the data  ((km/s)²)", details=False,
            title="Too large a learning rate: the error grows"),
            "regression_learning_rate.png", files)
    return {"a": full.a, "b": full.b, "closed_form": (a_cf, b_cf), "origin_slope": slope,
            "loss_start": e0, "loss_end": e_final, "lambda_max": lmax,
            "stability_limit": limit,
            "paths": {"full batch": (full.a, full.b), "mini-batch": (mini.a, mini.b),
                      "online": (online.a, online.b)},
            "too_large": {"lr": lr_big, "steps": _TOO_LARGE["steps"],
                          "loss_start": float(big_start),
                          "loss_end": float(big_end), "diverged": diverged,
                          "message": message},
            "figures": files}


# ========================================================================= 4
_TEXT_MODES = {
    "en": {
        "title": "== 4. Three ways to train: full batch, mini-batch, online ==",
        "setup": "The same network {arch} ({n_params} parameters), from the same starting "
                 "weights (seed {seed}), trained for {epochs} epochs on {n} digit images with "
                 "plain SGD:",
        "row": "    {mode:<10} batch {bs:>4}, lr {lr:<5}: {spe:>4} update(s) per epoch "
               "({total:>5} in all); mean loss {l0:.3f} (epoch 1) -> {l1:.3f} "
               "(epoch {epochs}); test accuracy {acc:.1%}",
        "point": "Full batch takes one careful step per epoch; online learning one small, "
                 "noisy step per sample. With {ratio}x more updates, the noisy small steps "
                 "get further in the same number of epochs.",
        "names": {"full": "full batch", "mini": "mini-batch", "online": "online"},
    },
    "ja": {
        "title": "== 4. 学習の 3 つのやり方: フルバッチ、ミニバッチ、オンライン ==",
        "setup": "同じネットワーク {arch}(パラメータ {n_params} 個)を、同じ初期重み"
                 "(シード {seed})から、数字画像 {n} 枚で {epochs} エポック、素朴な SGD で学習します:",
        "row": "    {mode}: バッチ {bs}、学習率 {lr}: 1 エポックに {spe} 回更新(合計 {total} 回); "
               "平均損失 {l0:.3f}(1 エポック目)→ {l1:.3f}({epochs} エポック目); "
               "テスト正解率 {acc:.1%}",
        "point": "フルバッチは 1 エポックに慎重な 1 歩、オンライン学習はサンプルごとに小さくノイズの"
                 "多い 1 歩。更新回数が {ratio} 倍あるので、同じエポック数でより遠くまで坂道を下ります。",
        "names": {"full": "フルバッチ", "mini": "ミニバッチ", "online": "オンライン"},
    },
}

_MODES: tuple[tuple[str, int | None, float], ...] = (("full", None, 0.5), ("mini", 32, 0.1), ("online", 1, 0.01))
_MODE_EPOCHS = 10


def _step_modes(tour: _Tour) -> dict:
    T = _TEXT_MODES
    names: dict[str, str] = T[tour.lang]["names"]  # type: ignore[assignment]
    tour.say(T, "title")
    d = _digits_split(tour)
    probe = _digits_net(tour.seed)
    tour.say(T, "setup", arch=_arch(probe), n_params=probe.n_params, seed=tour.seed,
             epochs=_MODE_EPOCHS, n=len(d["X_train"]))
    histories, rows = {}, {}
    for key, batch_size, lr in _MODES:
        net = _digits_net(tour.seed)  # same seed: the same starting weights
        hist = net.fit(d["X_train"], d["y_train"], epochs=_MODE_EPOCHS,
                       batch_size=batch_size, optimizer=SGD(lr=lr))
        acc = float(np.mean(net.predict(d["X_test"]).argmax(axis=1) == d["y_test"]))
        bs = len(d["X_train"]) if batch_size is None else batch_size
        tour.say(T, "row", mode=names[key], bs=bs, lr=lr, spe=hist.steps_per_epoch,
                 total=len(hist.step_loss), l0=hist.loss[0], l1=hist.loss[-1],
                 epochs=_MODE_EPOCHS, acc=acc)
        histories[key] = hist
        rows[key] = {"batch_size": bs, "lr": lr, "steps_per_epoch": hist.steps_per_epoch,
                     "updates": len(hist.step_loss), "loss_first_epoch": hist.loss[0],
                     "loss_last_epoch": hist.loss[-1], "test_accuracy": acc}
    ratio = rows["online"]["steps_per_epoch"] // rows["full"]["steps_per_epoch"]
    tour.say(T, "point", ratio=ratio)
    files: list = []
    if tour.out_dir is not None:
        english: dict[str, str] = _TEXT_MODES["en"]["names"]  # type: ignore[assignment]  # figure text stays English
        named = {f"{english[key]}, lr={lr}": histories[key] for key, _, lr in _MODES}
        tour.save(tour.plot.loss_per_step(
            named, title=f"Same network, same start, {_MODE_EPOCHS} epochs each",
            ylabel="cross-entropy loss of the step's batch"),
            "modes_loss_per_step.png", files)
    return {**rows, "figures": files}


# ========================================================================= 5
_TEXT_NEURON = {
    "en": {
        "title": "== 5. The McCulloch-Pitts neuron (1943): logic from one kind of neuron ==",
        "nand": "A neuron with weights {w} and threshold {t} fires (outputs 1) when "
                "w1·x1 + w2·x2 ≥ {t}. It computes NAND:",
        "table": "    {name:<4} {rows}",
        "built": "From NAND neurons alone: NOT uses {NOT}, AND {AND}, OR {OR}, XOR {XOR} of them.",
        "half": "Half adder, {n} NANDs (a + b = sum + 2·carry):",
        "full": "Full adder, {n} NANDs (a + b + carry in = sum + 2·carry out):",
        "adder_row": "    {inputs} -> sum {s}, carry {c}",
        "ripple": "A 4-bit ripple adder, {n} NAND neurons: {a} + {b} is bits {bits_a} + "
                  "{bits_b} (least significant first) -> {bits_s} = {s}.",
    },
    "ja": {
        "title": "== 5. マカロック=ピッツのニューロン(1943): 1 種類のニューロンから論理回路へ ==",
        "nand": "重み {w}、しきい値 {t} のニューロンは w1·x1 + w2·x2 ≥ {t} のとき発火(1 を出力)"
                "します。これは NAND を計算します:",
        "table": "    {name:<4} {rows}",
        "built": "NAND ニューロンだけで作ると: NOT は {NOT} 個、AND は {AND} 個、OR は {OR} 個、"
                 "XOR は {XOR} 個。",
        "half": "半加算器、NAND {n} 個(a + b = 和 + 2·桁上がり):",
        "full": "全加算器、NAND {n} 個(a + b + 下からの桁上がり = 和 + 2·上への桁上がり):",
        "adder_row": "    {inputs} -> 和 {s}、桁上がり {c}",
        "ripple": "4 ビットのリプルキャリー加算器、NAND ニューロン {n} 個: {a} + {b} はビット "
                  "{bits_a} + {bits_b}(下位ビットから)→ {bits_s} = {s}。",
    },
}


def _count(fn: Callable[..., Any], *args: int) -> int:
    with logic.nand_count() as tally:
        fn(*args)
    return tally.count


def _bits(n: int, width: int) -> list:
    return [(n >> i) & 1 for i in range(width)]


def _step_neuron(tour: _Tour) -> dict:
    T = _TEXT_NEURON
    tour.say(T, "title")
    nand = logic.NAND_NEURON
    tour.say(T, "nand", w=list(nand.weights), t=nand.threshold)
    tables = {}
    gates: dict[str, Callable[..., int]] = {"NAND": logic.NAND, "NOT": logic.NOT, "AND": logic.AND, "OR": logic.OR,
             "XOR": logic.XOR}
    for name, gate in gates.items():
        tables[name] = logic.truth_table(gate)
        tour.say(T, "table", name=name, rows="  ".join(
            f"{''.join(map(str, inputs))}->{out}" for inputs, out in tables[name]))
    counts = {name: _count(gate, *([0] * (1 if name == "NOT" else 2)))
              for name, gate in gates.items() if name != "NAND"}
    tour.say(T, "built", **counts)
    adders: tuple[tuple[str, Callable[..., tuple[int, int]], int], ...] = (
        ("half", logic.half_adder, 2), ("full", logic.full_adder, 3))
    for key, fn, n_in in adders:
        tour.say(T, key, n=_count(fn, *([0] * n_in)))
        for inputs, (s, c) in logic.truth_table(fn, n_in):
            tour.say(T, "adder_row", inputs=" + ".join(map(str, inputs)), s=s, c=c)
    a, b = 11, 6
    bits_a, bits_b = _bits(a, 4), _bits(b, 4)
    with logic.nand_count() as tally:
        bits_s = logic.ripple_adder(bits_a, bits_b)
    total = sum(bit << i for i, bit in enumerate(bits_s))
    tour.say(T, "ripple", n=tally.count, a=a, b=b, bits_a=bits_a, bits_b=bits_b,
             bits_s=bits_s, s=total)
    files: list = []
    if tour.out_dir is not None:
        neurons = {"NAND": logic.NAND_NEURON, "AND": logic.AND_NEURON, "OR": logic.OR_NEURON}
        tour.save(tour.plot.gate_decision_lines(neurons), "neuron_decision_lines.png", files)
    return {"truth_tables": tables, "nand_counts": counts, "ripple": (a, b, bits_s, total),
            "figures": files}


# ========================================================================= 6
_TEXT_PERCEPTRON = {
    "en": {
        "title": "== 6. The perceptron (Rosenblatt, 1957): a neuron that learns its weights ==",
        "rule": "When it is wrong: w += lr·(y - ŷ)·x and b += lr·(y - ŷ). From zero weights, "
                "at most {max_epochs} epochs:",
        "ok": "    {name:<4} converged_ = {conv}: learned in {epochs} epochs, w = {w}, b = {b:g}; "
              "predicts {pred} for targets {y}",
        "bad": "    {name:<4} converged_ = {conv}: after {epochs} epochs it still corrects itself "
               "every epoch, and its last line gets {wrong} of the {n} points wrong: predicts "
               "{pred} for targets {y}",
        "why": "XOR cannot be learned: its 1s, (0,1) and (1,0), lie on one diagonal and its 0s "
               "on the other, and no straight line puts both 1s on one side and both 0s on "
               "the other. One neuron draws one line; XOR needs two, that is, a hidden layer.",
    },
    "ja": {
        "title": "== 6. パーセプトロン(ローゼンブラット, 1957): 重みを学習するニューロン ==",
        "rule": "間違えたとき w += 学習率·(y - ŷ)·x、b += 学習率·(y - ŷ)。重み 0 から始め、"
                "最大 {max_epochs} エポック:",
        "ok": "    {name:<4} converged_ = {conv}: {epochs} エポックで学習完了、w = {w}、b = {b:g}; "
              "予測 {pred}(正解 {y})",
        "bad": "    {name:<4} converged_ = {conv}: {epochs} エポック後も毎エポック重みを直し続け、"
               "最後の直線は {n} 点のうち {wrong} 点を間違える: 予測 {pred}(正解 {y})",
        "why": "XOR は学習できません。1 になる (0,1) と (1,0) は一方の対角線上に、0 になる点は"
               "もう一方の対角線上にあり、1 の点どうしと 0 の点どうしを分ける直線は存在しないから"
               "です(線形分離不可能)。ニューロン 1 個は直線を 1 本しか引けません。XOR には 2 本、"
               "つまり隠れ層が必要です。",
    },
}

_CORNERS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
_GATE_TARGETS = {"AND": [0, 0, 0, 1], "OR": [0, 1, 1, 1], "NAND": [1, 1, 1, 0],
                 "XOR": [0, 1, 1, 0]}


def _step_perceptron(tour: _Tour) -> dict:
    T = _TEXT_PERCEPTRON
    tour.say(T, "title")
    max_epochs = 100
    tour.say(T, "rule", max_epochs=max_epochs)
    results, fitted = {}, {}
    for name, target in _GATE_TARGETS.items():
        y = np.array(target)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # XOR: said in words below
            p = Perceptron(lr=1.0, max_epochs=max_epochs, seed=tour.seed).fit(_CORNERS, y)
        pred = p.predict(_CORNERS).tolist()
        wrong = int(np.sum(np.array(pred) != y))   # of the final line, as the figure rings them
        fitted[name] = (_CORNERS, y, p)
        if p.converged_:
            tour.say(T, "ok", name=name, conv=p.converged_, epochs=p.n_epochs_,
                     w=p.coef_.tolist(), b=p.intercept_, pred=pred, y=target)
        else:
            tour.say(T, "bad", name=name, conv=p.converged_, epochs=p.n_epochs_,
                     wrong=wrong, n=len(target), pred=pred, y=target)
        results[name] = {"converged": bool(p.converged_), "epochs": p.n_epochs_,
                         "coef": p.coef_.tolist(), "intercept": p.intercept_,
                         "predictions": pred, "wrong": wrong}
    if not results["XOR"]["converged"]:
        tour.say(T, "why")
    files: list = []
    if tour.out_dir is not None:
        tour.save(tour.plot.perceptron_lines(fitted), "perceptron_lines.png", files)
    return {**results, "figures": files}


# ========================================================================= 7
_TEXT_BACKPROP = {
    "en": {
        "title": "== 7. Backpropagation: a hidden layer learns XOR ==",
        "setup": "Network {arch}, binary cross-entropy loss, full batch, Adam (lr = {lr}), "
                 "{epochs} epochs; backpropagation gives the gradient of every weight.",
        "restart": "    seed {seed}: stuck at {acc:.0%} accuracy (loss {loss:.3f}) in a local "
                   "minimum; starting again from other weights.",
        "result": "Seed {seed}: loss {l0:.3f} -> {l1:.4f}. Outputs {probs} for (0,0), (0,1), "
                  "(1,0), (1,1): accuracy {acc:.0%}.",
        "why": "Each of the {hidden} hidden units draws its own line; the output unit combines "
               "them. What one perceptron could not do, a network with a hidden layer does.",
    },
    "ja": {
        "title": "== 7. 誤差逆伝播法: 隠れ層が XOR を学ぶ ==",
        "setup": "ネットワーク {arch}、損失は二値交差エントロピー、フルバッチ、Adam(学習率 {lr})、"
                 "{epochs} エポック。すべての重みの勾配は誤差逆伝播法で求めます。",
        "restart": "    シード {seed}: 正解率 {acc:.0%}(損失 {loss:.3f})で局所最小に捕まりました。"
                   "別の初期重みからやり直します。",
        "result": "シード {seed}: 損失 {l0:.3f} → {l1:.4f}。(0,0), (0,1), (1,0), (1,1) への出力 "
                  "{probs}: 正解率 {acc:.0%}。",
        "why": "{hidden} 個の隠れユニットがそれぞれ自分の直線を引き、出力ユニットがそれらを組み合わせ"
               "ます。パーセプトロン 1 個にできなかったことが、隠れ層を持つネットワークにはできます。",
    },
}

_XOR: dict[str, Any] = {"hidden": 4, "lr": 0.05, "epochs": 500, "max_tries": 10}


def _step_backprop(tour: _Tour) -> dict:
    T = _TEXT_BACKPROP
    tour.say(T, "title")
    X, y = _CORNERS, np.array(_GATE_TARGETS["XOR"], dtype=float)
    h = _XOR["hidden"]

    def make(seed: int) -> Sequential:
        return Sequential([Dense(2, h, activation="tanh"), Dense(h, 1, activation="sigmoid")],
                          loss="binary_cross_entropy", dtype="float64", seed=seed)

    tour.say(T, "setup", arch=_arch(make(tour.seed)), lr=_XOR["lr"], epochs=_XOR["epochs"])
    for seed in range(tour.seed, tour.seed + _XOR["max_tries"]):
        net = make(seed)
        hist = net.fit(X, y, epochs=_XOR["epochs"], optimizer=Adam(lr=_XOR["lr"]))
        probs = net.predict(X)[:, 0]
        acc = float(np.mean((probs >= 0.5) == (y == 1)))
        if acc == 1.0:
            break
        tour.say(T, "restart", seed=seed, acc=acc, loss=hist.loss[-1])
    tour.say(T, "result", seed=seed, l0=hist.loss[0], l1=hist.loss[-1],
             probs="[" + ", ".join(f"{p:.3f}" for p in probs) + "]", acc=acc)
    tour.say(T, "why", hidden=h)
    files: list = []
    if tour.out_dir is not None:
        plot = tour.plot
        tour.save(plot.decision_regions(net, X, y, title=f"XOR learned by a {_arch(net)} "
                                        "network"), "backprop_xor_regions.png", files)
        tour.save(plot.network_drawing(net, title="The XOR network after training"),
                  "backprop_xor_network.png", files)
    return {"seed": seed, "accuracy": acc, "probabilities": probs.tolist(),
            "loss_start": hist.loss[0], "loss_end": hist.loss[-1], "figures": files}


# ========================================================================= 8
_TEXT_DIGITS = {
    "en": {
        "title": "== 8. Handwritten digits: a softmax classifier ==",
        "setup": "{n_train} images to learn from, {n_test} held out for testing (split with seed "
                 "{seed}), pixels scaled to 0..1. Network {arch} with {n_params} parameters; its "
                 "softmax output gives ten probabilities that sum to 1.",
        "before": "Before training (random weights): test accuracy {acc:.1%}, loss {loss:.3f} "
                  "(guessing among 10 classes gives 10% and ln 10 = {ln10:.3f}). Test image "
                  "#{index}, a {label}: {top}.",
        "train": "Training: mini-batches of {bs}, SGD (lr = {lr}, momentum {mom}), {epochs} "
                 "epochs, in {seconds:.2f} s.",
        "after": "After training: test accuracy {acc:.1%}, loss {loss:.3f}. The same image: {top}.",
        "errors": "{wrong} of {n_test} test images are misread; the most frequent mistake is "
                  "{pairs} ({count} times).",
        "errors_tied": "{wrong} of {n_test} test images are misread; the most frequent "
                       "mistakes, {count} times each: {pairs}.",
        "errors_once": "{wrong} of {n_test} test images are misread, no two in the same way.",
        "pair": "{a_t} {t} read as {a_p} {p}",
        "pair_sep": ", ",
        "perfect": "Not one of the {n_test} test images is misread.",
    },
    "ja": {
        "title": "== 8. 手書き数字: ソフトマックス分類器 ==",
        "setup": "学習用 {n_train} 枚、テスト用に取り分けた {n_test} 枚(シード {seed} で分割)、"
                 "画素は 0〜1 にスケール。ネットワーク {arch}、パラメータ {n_params} 個。"
                 "出力のソフトマックスは合計 1 になる 10 個の確率を出します。",
        "before": "学習前(ランダムな重み): テスト正解率 {acc:.1%}、損失 {loss:.3f}"
                  "(10 クラスの当てずっぽうなら 10%、ln 10 = {ln10:.3f})。"
                  "テスト画像 #{index}(正解 {label}): {top}。",
        "train": "学習: ミニバッチ {bs} 枚、SGD(学習率 {lr}、モーメンタム {mom})、{epochs} エポック、"
                 "{seconds:.2f} 秒。",
        "after": "学習後: テスト正解率 {acc:.1%}、損失 {loss:.3f}。同じ画像: {top}。",
        "errors": "テスト画像 {n_test} 枚のうち {wrong} 枚を読み誤りました。最も多い間違いは、"
                  "{pairs}({count} 回)です。",
        "errors_tied": "テスト画像 {n_test} 枚のうち {wrong} 枚を読み誤りました。最も多い間違いは"
                       "それぞれ {count} 回の {pairs} です。",
        "errors_once": "テスト画像 {n_test} 枚のうち {wrong} 枚を読み誤りました。同じ読み誤りは"
                       "二度ありません。",
        "pair": "{t} を {p} と読んだもの",
        "pair_sep": "、",
        "perfect": "テスト画像 {n_test} 枚をすべて正しく読みました。",
    },
}

_DIGITS_TRAINING: dict[str, Any] = {"batch_size": 32, "lr": 0.1, "momentum": 0.9, "epochs": 30}


def _step_digits(tour: _Tour) -> dict:
    T = _TEXT_DIGITS
    tour.say(T, "title")
    d = _digits_split(tour)
    Xtr, ytr, Xte, yte = d["X_train"], d["y_train"], d["X_test"], d["y_test"]
    net = _digits_net(tour.seed)
    tour.say(T, "setup", n_train=len(Xtr), n_test=len(Xte), seed=tour.seed, arch=_arch(net),
             n_params=net.n_params)
    P0 = net.predict(Xte)  # (n_test, 10)
    acc0 = float(np.mean(P0.argmax(axis=1) == yte))
    loss0 = net.evaluate(Xte, yte)
    tour.say(T, "before", acc=acc0, loss=loss0, ln10=math.log(10), index=0, label=int(yte[0]),
             top=_top(P0[0]))
    cfg = _DIGITS_TRAINING
    t0 = time.perf_counter()
    hist = net.fit(Xtr, ytr, epochs=cfg["epochs"], batch_size=cfg["batch_size"],
                   optimizer=SGD(lr=cfg["lr"], momentum=cfg["momentum"]))
    seconds = time.perf_counter() - t0
    tour.say(T, "train", bs=cfg["batch_size"], lr=cfg["lr"], mom=cfg["momentum"],
             epochs=cfg["epochs"], seconds=seconds)
    P1 = net.predict(Xte)
    pred = P1.argmax(axis=1)
    acc1 = float(np.mean(pred == yte))
    loss1 = net.evaluate(Xte, yte)
    tour.say(T, "after", acc=acc1, loss=loss1, top=_top(P1[0]))
    wrong = np.nonzero(pred != yte)[0]
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (yte, pred), 1)
    most: list = []   # (true, read as) of the most frequent mistakes, as in the figure
    if len(wrong):
        off = confusion - np.diag(np.diag(confusion))
        count = int(off.max())
        most = [(int(t), int(p)) for t, p in np.argwhere(off == count)]
        table: dict = T[tour.lang]
        pairs = table["pair_sep"].join(
            table["pair"].format(t=t, p=p, a_t=_article(t), a_p=_article(p)) for t, p in most)
        key = "errors_once" if count == 1 else ("errors" if len(most) == 1 else "errors_tied")
        tour.say(T, key, wrong=len(wrong), n_test=len(yte), pairs=pairs, count=count)
    else:
        tour.say(T, "perfect", n_test=len(yte))
    files: list = []
    if tour.out_dir is not None:
        plot = tour.plot
        # the first test image of five different digits, and the first misread one
        show: list = []
        for i, label in enumerate(yte):
            if len(show) == 5:
                break
            if label not in yte[show]:
                show.append(i)
        extra = [int(i) for i in wrong if i not in show] or \
            [i for i in range(len(yte)) if i not in show]
        show.append(extra[0])
        tour.save(plot.probability_bars(Xte[show], P0[show], yte[show], ncols=3,
                                        title="Before training: random weights, near-uniform "
                                              "guesses"),
                  "digits_before.png", files)
        tour.save(plot.probability_bars(Xte[show], P1[show], yte[show], ncols=3,
                                        title=f"After training: {100 * acc1:.1f}% of the test "
                                              "images right"),
                  "digits_after.png", files)
        tour.save(plot.confusion_matrix(yte, pred, 10), "digits_confusion.png", files)
    return {"arch": _arch(net), "n_params": net.n_params, "n_train": len(Xtr),
            "n_test": len(Xte), "accuracy_before": acc0, "accuracy": acc1,
            "loss_before": loss0, "loss_after": loss1, "train_loss": hist.loss,
            "confusion": confusion, "wrong": int(len(wrong)), "most_frequent_mistakes": most,
            "train_seconds": seconds, "figures": files}


# ========================================================================= 9
_TEXT_LENET = {
    "en": {
        "title": "== 9. LeNet: a convolutional network reads the digits ==",
        "history": "The lecture's history runs from Fukushima's neocognitron (1979) to LeCun's "
                   "LeNet (1989), the network that learned by backpropagation to read "
                   "handwritten digits. Its idea: slide one small filter over the whole "
                   "image, so a stroke learned in one place is recognised everywhere.",
        "arch": "This LeNet ({n_params} parameters, {n_conv} of them in {n_filters} filters "
                "of {k}x{k}): {layers}.",
        "data": "The same split as step 8, seed {seed}: {n_train} images to learn from, "
                "{n_test} held out, each a (1, 8, 8) image in 0..1.",
        "train": "Training: {settings}, in {seconds:.2f} s. Held-out accuracy {acc:.1%} "
                 "(training {acc_train:.1%}).",
        "dense": "The best dense network we found within the same budget, {dense_arch} "
                 "({dense_params} parameters), trained on the same split ({dense_settings}, "
                 "{dense_seconds:.2f} s): held-out accuracy {dense_acc:.1%} (training "
                 "{dense_train:.1%}).",
        "compare": "Of the {n_test} held-out images, LeNet misreads {cnn_wrong} and the dense "
                   "network {dense_wrong}.",
        "figures": "The figures show the {n_filters} learned 3x3 filters, and held-out image "
                   "#{index} (a {label}) after each filter and relu, and after pooling.",
        "settings": "{optimizer}, mini-batches of {batch_size}, {epochs} epochs",
    },
    "ja": {
        "title": "== 9. LeNet: 畳み込みネットワークが数字を読む ==",
        "history": "講義の歴史は、福島邦彦のネオコグニトロン(1979)から、誤差逆伝播法で手書き数字の"
                   "読み方を学んだ LeCun の LeNet(1989)へと続きます。その発想: 小さなフィルタ 1 つを"
                   "画像全体に滑らせれば、ある場所で学んだ筆の線をどこにあっても見分けられます。",
        "arch": "この LeNet(パラメータ {n_params} 個、うち {n_conv} 個が {k}x{k} のフィルタ "
                "{n_filters} 枚): {layers}。",
        "data": "ステップ 8 と同じ分割(シード {seed}): 学習用 {n_train} 枚、テスト用 {n_test} 枚、"
                "それぞれ 0〜1 の (1, 8, 8) 画像。",
        "train": "学習: {settings}、{seconds:.2f} 秒。テスト正解率 {acc:.1%}"
                 "(学習データでは {acc_train:.1%})。",
        "dense": "同じパラメータ数の範囲で見つけた最良の全結合ネットワーク {dense_arch}"
                 "(パラメータ {dense_params} 個)を同じ分割で学習({dense_settings}、"
                 "{dense_seconds:.2f} 秒): テスト正解率 {dense_acc:.1%}"
                 "(学習データでは {dense_train:.1%})。",
        "compare": "テスト画像 {n_test} 枚のうち、LeNet は {cnn_wrong} 枚、全結合ネットワークは "
                   "{dense_wrong} 枚を読み誤ります。",
        "figures": "図は、学習した 3x3 フィルタ {n_filters} 枚と、テスト画像 #{index}(正解 {label})"
                   "が各フィルタと relu を通った後、プーリングの後の姿です。",
        "settings": "{optimizer}、ミニバッチ {batch_size} 枚、{epochs} エポック",
    },
}


def _layers_text(net: Sequential) -> str:
    """'Conv2D(1, 6, kernel_size=3, ...) -> (6, 8, 8), MaxPool2D(2) -> (6, 4, 4), ...'"""
    return ", ".join(f"{layer!r} -> {layer.describe_output()}" for layer in net.layers)


def _settings_text(tour: _Tour, settings: dict) -> str:
    """How a network of fastnn.models was trained, in the tour's language."""
    return _TEXT_LENET[tour.lang]["settings"].format(**settings)


def _step_lenet(tour: _Tour) -> dict:
    T = _TEXT_LENET
    tour.say(T, "title")
    tour.say(T, "history")
    cnn = models.lenet_digits(seed=tour.seed)    # the tour's split (models.digits_images)
    dense = models.dense_digits(seed=tour.seed)
    net = cnn.net
    conv = net.layers[0]
    k = conv.kernel_size[0]
    tour.say(T, "arch", n_params=net.n_params, n_conv=conv.n_params, n_filters=conv.out_channels,
             k=k, layers=_layers_text(net))
    d = models.digits_images(tour.seed)
    n_test = len(d["y_test"])
    tour.say(T, "data", seed=tour.seed, n_train=len(d["y_train"]), n_test=n_test)
    tour.say(T, "train", settings=_settings_text(tour, cnn.settings), seconds=cnn.seconds,
             acc=cnn.test_accuracy, acc_train=cnn.train_accuracy)
    tour.say(T, "dense", dense_arch=_arch(dense.net), dense_params=dense.n_params,
             dense_settings=_settings_text(tour, dense.settings), dense_seconds=dense.seconds,
             dense_acc=dense.test_accuracy, dense_train=dense.train_accuracy)
    cnn_wrong = int(round((1 - cnn.test_accuracy) * n_test))
    dense_wrong = int(round((1 - dense.test_accuracy) * n_test))
    tour.say(T, "compare", n_test=n_test, cnn_wrong=cnn_wrong, dense_wrong=dense_wrong)
    index = 0
    label = int(d["y_test"][index])
    tour.say(T, "figures", n_filters=conv.out_channels, index=index, label=label)
    files: list = []
    if tour.out_dir is not None:
        plot = tour.plot
        tour.save(plot.conv_filters(net, title="LeNet's learned filters"),
                  "lenet_filters.png", files)
        tour.save(plot.feature_maps(net, d["X_test"][index], label=label,
                                    title=f"Held-out image #{index} through LeNet"),
                  "lenet_feature_maps.png", files)
    return {"n_params": net.n_params, "accuracy": cnn.test_accuracy,
            "train_accuracy": cnn.train_accuracy, "train_seconds": cnn.seconds,
            "settings": cnn.settings, "wrong": cnn_wrong,
            "dense": {"arch": _arch(dense.net), "n_params": dense.n_params,
                      "accuracy": dense.test_accuracy, "train_accuracy": dense.train_accuracy,
                      "train_seconds": dense.seconds, "settings": dense.settings,
                      "wrong": dense_wrong},
            "filters": np.array(conv.W), "figures": files}


# ======================================================================== 10
_TEXT_OPTIMIZERS = {
    "en": {
        "title": "== 10. Optimizers: better ways down the same slope ==",
        "surface": "Back on Hubble's error surface E(a, b), distances unscaled: it curves "
                   "{ratio:.1f} times more steeply in one direction than in the other "
                   "(Hessian eigenvalues {lmin:.3f} and {lmax:.3f}), a long, narrow valley.",
        "rule": "Each optimizer starts from (0, 0) and takes at most {budget} full-batch "
                "steps, with the learning rate of {grid} that gets it down in the fewest "
                "steps. Down means: E stays within 1% of its minimum {emin:,.0f}, below "
                "{target:,.0f}.",
        "row": "    {name:<15} lr = {lr:<6g} {steps:>4} steps",
        "row_not": "    {name:<15} lr = {lr:<6g} not within 1% after {budget} steps "
                   "(E = {e:,.0f})",
        "row_diverged": "    {name:<15} diverged at every learning rate tried",
        "adaptive": "Fastest: {best} ({steps} steps). The adaptive methods' best rates "
                    "({adaptive}) are far above plain descent's {sgd_lr:g}: they divide each "
                    "step by a running size of the gradient, so a step is about lr in every "
                    "parameter whatever the slope, and lr is measured in the units of a and b.",
        "digits": "On the digits: network {arch}, mini-batches of {bs}, {epochs} epochs, the "
                  "same starting weights for all, each optimizer at the learning rate of "
                  "{grid} with the lowest training loss in the last epoch:",
        "digits_row": "    {name:<15} lr = {lr:<6g} training loss {l0:.3f} (epoch 1) -> "
                      "{l1:.4f} (epoch {epochs}), held-out accuracy {acc:.1%}",
        "seconds": "All {runs} runs (both grids) took {seconds:.2f} s.",
    },
    "ja": {
        "title": "== 10. 最適化アルゴリズム: 同じ坂道のよりよい下り方 ==",
        "surface": "ハッブルの誤差の地形 E(a, b) に戻ります(距離はスケールしないまま)。ある方向の"
                   "曲がり具合はもう一方の {ratio:.1f} 倍(ヘッセ行列の固有値 {lmin:.3f} と "
                   "{lmax:.3f}): 細長い谷です。",
        "rule": "どの最適化手法も (0, 0) から出発し、フルバッチで最大 {budget} ステップ。学習率は "
                "{grid} のうち最も少ないステップで下りきるものを使います。下りきるとは、E が最小値 "
                "{emin:,.0f} の 1% 以内({target:,.0f} 未満)にとどまることです。",
        "row": "    {name:<15} 学習率 {lr:<6g} {steps:>4} ステップ",
        "row_not": "    {name:<15} 学習率 {lr:<6g} {budget} ステップ後も 1% 以内に入らず"
                   "(E = {e:,.0f})",
        "row_diverged": "    {name:<15} 試したどの学習率でも発散",
        "adaptive": "最速は {best}({steps} ステップ)。適応的な手法の最良の学習率({adaptive})は"
                    "素朴な勾配降下の {sgd_lr:g} よりはるかに大きい: 各ステップを勾配の大きさの"
                    "移動平均で割るので、1 ステップは坂の急さによらず各パラメータについてほぼ学習率"
                    "の大きさになり、学習率は a と b の単位で測られるからです。",
        "digits": "数字では: ネットワーク {arch}、ミニバッチ {bs} 枚、{epochs} エポック、初期重みは"
                  "すべて同じ。各手法の学習率は {grid} のうち最終エポックの学習損失が最も低いもの:",
        "digits_row": "    {name:<15} 学習率 {lr:<6g} 学習損失 {l0:.3f}(1 エポック目)→ "
                      "{l1:.4f}({epochs} エポック目)、テスト正解率 {acc:.1%}",
        "seconds": "{runs} 回の学習(両方のグリッド)に {seconds:.2f} 秒かかりました。",
    },
}

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
_HUBBLE_LRS = tuple(f * 10.0 ** e for e in range(-3, 4) for f in (1, 3))   # 0.001 .. 3000
_DIGITS_LRS = tuple(f * 10.0 ** e for e in range(-4, 1) for f in (1, 3))   # 0.0001 .. 3
_HUBBLE_BUDGET = 2000
_OPT_DIGITS: dict[str, Any] = {"batch_size": 32, "epochs": 10}
_TOL = 0.01  # "down": within 1% of the minimum loss


def _grid_text(lrs: tuple) -> str:
    return f"{{{lrs[0]:g}, {lrs[1]:g}, ..., {lrs[-1]:g}}}"


def _path_losses(machine: RegressionMachine) -> np.ndarray:
    """E(a, b) after each step of the machine's path."""
    return np.asarray(machine.loss(machine.path[:, 0], machine.path[:, 1]), dtype=float)


def _best_hubble_run(x: np.ndarray, y: np.ndarray, make: Callable[[float], Any],
                     e_min: float, seed: int) -> dict:
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


def _step_optimizers(tour: _Tour) -> dict:
    T = _TEXT_OPTIMIZERS
    tour.say(T, "title")
    t0 = time.perf_counter()
    x, y = datasets.load_hubble()
    ref = RegressionMachine(seed=tour.seed).fit(x, y, steps=0)   # the surface, no steps
    a_min, b_min = ref.closed_form()
    e_min = ref.loss(a_min, b_min)
    lmin, lmax = np.linalg.eigvalsh(ref.hessian())
    tour.say(T, "surface", ratio=lmax / lmin, lmin=lmin, lmax=lmax)
    tour.say(T, "rule", budget=_HUBBLE_BUDGET, grid=_grid_text(_HUBBLE_LRS), emin=e_min,
             target=(1 + _TOL) * e_min)
    hubble: dict = {}
    for name, make in _OPTIMIZERS.items():
        run = _best_hubble_run(x, y, make, e_min, tour.seed)
        hubble[name] = run
        if run["machine"] is None:
            tour.say(T, "row_diverged", name=name)
        elif run["steps"] is None:
            tour.say(T, "row_not", name=name, lr=run["lr"], budget=_HUBBLE_BUDGET,
                     e=run["loss_end"])
        else:
            tour.say(T, "row", name=name, lr=run["lr"], steps=run["steps"])
    down = {name: run for name, run in hubble.items() if run["steps"] is not None}
    if down:
        best = min(down, key=lambda name: down[name]["steps"])
        tour.say(T, "adaptive", best=best, steps=down[best]["steps"],
                 adaptive=", ".join(f"{name} {hubble[name]['lr']:g}" for name in _ADAPTIVE
                                    if hubble[name]["lr"] is not None),
                 sgd_lr=hubble["SGD"]["lr"])

    d = _digits_split(tour)
    cfg = _OPT_DIGITS
    tour.say(T, "digits", arch=_arch(_digits_net(tour.seed)), bs=cfg["batch_size"],
             epochs=cfg["epochs"], grid=_grid_text(_DIGITS_LRS))
    digits: dict = {}
    runs = len(_OPTIMIZERS) * (len(_HUBBLE_LRS) + len(_DIGITS_LRS))
    for name, make in _OPTIMIZERS.items():
        best = None
        for lr in _DIGITS_LRS:
            net = _digits_net(tour.seed)
            try:
                hist = net.fit(d["X_train"], d["y_train"], epochs=cfg["epochs"],
                               batch_size=cfg["batch_size"], optimizer=make(lr))
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
        tour.say(T, "digits_row", name=name, lr=lr, l0=hist.loss[0], l1=hist.loss[-1],
                 epochs=cfg["epochs"], acc=acc)
        digits[name] = {"lr": lr, "history": hist, "loss_first_epoch": hist.loss[0],
                        "loss_last_epoch": hist.loss[-1], "test_accuracy": acc}
    seconds = time.perf_counter() - t0
    tour.say(T, "seconds", runs=runs, seconds=seconds)
    files: list = []
    if tour.out_dir is not None:
        plot = tour.plot
        paths = {f"{name}, lr={run['lr']:g}": run["machine"].path
                 for name, run in hubble.items() if run["machine"] is not None}
        tour.save(plot.optimizer_paths(ref, paths, tol=_TOL, a_label="slope a (km/s per Mpc)",
                                       b_label="intercept b (km/s)",
                                       loss_label="E(a, b)  ((km/s)²)",
                                       gap_label="E - E_min  ((km/s)²)",
                                       colors=plot.PATH_COLORS,
                                       title="Six optimizers on Hubble's error surface, "
                                             "each at its best learning rate"),
                  "optimizers_hubble.png", files)
        named = {f"{name}, lr={run['lr']:g}": run["history"] for name, run in digits.items()
                 if run["lr"] is not None}
        per_epoch = -(-len(d["X_train"]) // cfg["batch_size"])
        window = per_epoch // 2
        tour.save(plot.loss_per_step(named, logx=False, smooth=window, details=False,
                                     colors=plot.PATH_COLORS,
                                     title=f"Six optimizers on the digits, {cfg['epochs']} "
                                           "epochs from the same start",
                                     xlabel=f"update number ({per_epoch} per epoch; bold: "
                                            f"running mean of {window})",
                                     ylabel="cross-entropy loss of the step's batch"),
                  "optimizers_digits.png", files)
    return {"hubble": {name: {"lr": run["lr"], "steps": run["steps"],
                              "loss_end": run["loss_end"]} for name, run in hubble.items()},
            "digits": {name: {k: v for k, v in run.items() if k != "history"}
                       for name, run in digits.items()},
            "loss_min": e_min, "hessian_eigenvalues": (float(lmin), float(lmax)),
            "budget": _HUBBLE_BUDGET, "figures": files}


# ======================================================================== 11
_TEXT_SCALING = {
    "en": {
        "title": "== 11. Scaling the input: make the bowl round ==",
        "raw": "Distances run from {dmin:.3f} to {dmax:.2f} Mpc: mean μ = {mu:.3f}, standard "
               "deviation σ = {sigma:.3f}. On them E(a, b) has curvatures {l1:.3f} and "
               "{l2:.3f}: a valley {ratio:.1f} times steeper across than along.",
        "scaled": "Standardise the input: z = (distance - μ) / σ has mean 0 and standard "
                  "deviation 1. Fit ŷ = a'·z + b'; now both curvatures are {l:.3f}: a round "
                  "bowl, where the steepest way down points straight at the minimum.",
        "fast": "Plain gradient descent with lr = {lr}, the rate that diverged in step 3, gets "
                "within 1% of the minimum (below {target:,.0f}) in {steps} step(s): E goes "
                "{losses}. After {steps_all} steps it ends at a' = {a2:.2f}, b' = {b2:.2f}; in "
                "the original units a = a'/σ = {a:.2f} km/s/Mpc and b = b' - a'·μ/σ = {b:.2f} "
                "km/s, the least-squares line.",
        "diverged": "On the unscaled distances the same lr = {lr} diverges: the engine stopped "
                    "at step {at} with TrainingDiverged. There, the regression step's "
                    "lr = {lr_ok} needs {steps_ok} steps.",
        "growing": "On the unscaled distances the same lr = {lr} does not converge: after "
                   "{steps} steps E is {e:.3g}. There, the regression step's lr = {lr_ok} "
                   "needs {steps_ok} steps.",
    },
    "ja": {
        "title": "== 11. 入力のスケーリング: お椀を丸くする ==",
        "raw": "距離は {dmin:.3f}〜{dmax:.2f} Mpc: 平均 μ = {mu:.3f}、標準偏差 σ = {sigma:.3f}。"
               "このままだと E(a, b) の曲がり具合は {l1:.3f} と {l2:.3f}: 横切る向きが沿う向きの "
               "{ratio:.1f} 倍急な谷です。",
        "scaled": "入力を標準化します: z = (距離 - μ) / σ は平均 0、標準偏差 1。ŷ = a'·z + b' を"
                  "当てはめると、曲がり具合はどちらも {l:.3f}: 丸いお椀になり、最も急な下り方向が"
                  "まっすぐ最小点を指します。",
        "fast": "ステップ 3 で発散した学習率 {lr} の素朴な勾配降下が、{steps} ステップで最小値の "
                "1% 以内({target:,.0f} 未満)に入ります: E は {losses}。{steps_all} ステップ後の"
                "終点は a' = {a2:.2f}、b' = {b2:.2f}。元の単位に戻すと a = a'/σ = {a:.2f} km/s/Mpc、"
                "b = b' - a'·μ/σ = {b:.2f} km/s で、最小二乗法の直線です。",
        "diverged": "スケールしない距離では、同じ学習率 {lr} は発散します: エンジンは {at} ステップ目"
                    "で TrainingDiverged を出して止まりました。そちらではステップ 3 の学習率 "
                    "{lr_ok} で {steps_ok} ステップかかります。",
        "growing": "スケールしない距離では、同じ学習率 {lr} は収束しません: {steps} ステップ後の E は "
                   "{e:.3g}。そちらではステップ 3 の学習率 {lr_ok} で {steps_ok} ステップかかります。",
    },
}

_SCALED_STEPS = 20


def _step_scaling(tour: _Tour) -> dict:
    T = _TEXT_SCALING
    tour.say(T, "title")
    x, y = datasets.load_hubble()
    mu, sigma = float(x.mean()), float(x.std())
    raw = RegressionMachine(seed=tour.seed).fit(x, y, lr=_FULL["lr"], steps=_HUBBLE_BUDGET)
    a_cf, b_cf = raw.closed_form()
    e_min = raw.loss(a_cf, b_cf)
    l1, l2 = np.linalg.eigvalsh(raw.hessian())
    tour.say(T, "raw", dmin=x.min(), dmax=x.max(), mu=mu, sigma=sigma, l1=l1, l2=l2,
             ratio=l2 / l1)
    z = (x - mu) / sigma  # mean 0, standard deviation 1
    lr = _TOO_LARGE["lr"]
    scaled = RegressionMachine(seed=tour.seed).fit(z, y, lr=lr, steps=_SCALED_STEPS)
    ls = np.linalg.eigvalsh(scaled.hessian())
    tour.say(T, "scaled", l=float(ls.mean()))
    a2, b2 = scaled.a, scaled.b
    E = _path_losses(scaled)
    steps = steps_within(E, e_min, _TOL)
    # the start, then E after each step up to the one narrated (the figure draws as many)
    said = np.concatenate([[scaled.loss(*scaled.start)], E[:steps or len(E)]])
    tour.say(T, "fast", lr=lr, steps=steps, losses=" -> ".join(f"{e:,.0f}" for e in said),
             a2=a2, b2=b2, a=a2 / sigma, b=b2 - a2 * mu / sigma,
             target=(1 + _TOL) * e_min, steps_all=_SCALED_STEPS)
    steps_ok = steps_within(_path_losses(raw), e_min, _TOL)
    diverged_at = None
    try:
        long = RegressionMachine(seed=tour.seed).fit(x, y, lr=lr, steps=_HUBBLE_BUDGET)
    except TrainingDiverged as exc:  # the engine refuses to go on with non-finite numbers
        diverged_at = exc.step
        tour.say(T, "diverged", lr=lr, at=exc.step, lr_ok=_FULL["lr"], steps_ok=steps_ok)
    else:
        tour.say(T, "growing", lr=lr, steps=_HUBBLE_BUDGET, e=long.loss(long.a, long.b),
                 lr_ok=_FULL["lr"], steps_ok=steps_ok)
    files: list = []
    if tour.out_dir is not None:
        flying = RegressionMachine(seed=tour.seed).fit(x, y, lr=lr, steps=3)
        ok_steps = steps_ok or _HUBBLE_BUDGET
        a_s, b_s = scaled.closed_form()
        half = 520.0  # both maps: the same window around their minimum, a and b to scale
        panels = {
            "Distance in Mpc: a narrow valley": {
                "machine": raw, "a_label": "slope a (km/s per Mpc)",
                "b_label": "intercept b (km/s)", "loss_label": "E(a, b)  ((km/s)²)",
                "paths": {f"lr={_FULL['lr']}, until within 1%": raw.path[:ok_steps],
                          f"lr={lr}: flies out of the valley, diverges": flying.path},
                "a_range": (a_cf - half, a_cf + half), "b_range": (b_cf - half, b_cf + half)},
            "Standardised distance z: a round bowl": {
                "machine": scaled, "a_label": "slope a' (km/s per σ of distance)",
                "b_label": "intercept b' (km/s)", "loss_label": "E(a', b')  ((km/s)²)",
                "paths": {f"lr={lr}, until within 1%": scaled.path[:steps or len(E)]},
                "a_range": (a_s - half, a_s + half), "b_range": (b_s - half, b_s + half)},
        }
        tour.save(tour.plot.loss_surfaces(
            panels, title="The same data, the same descent: scaling the input rounds the "
                          "bowl (both maps: a and b to the same scale)"),
            "scaling_surfaces.png", files)
    return {"mean": mu, "std": sigma, "lr": lr, "steps": steps, "losses": said.tolist(),
            "curvatures_raw": (float(l1), float(l2)),
            "curvatures_scaled": (float(ls[0]), float(ls[1])),
            "a_scaled": a2, "b_scaled": b2, "a": a2 / sigma, "b": b2 - a2 * mu / sigma,
            "raw_diverged_at": diverged_at, "raw_lr": _FULL["lr"], "raw_steps": steps_ok,
            "figures": files}


# ======================================================================== 12
_TEXT_INIT = {
    "en": {
        "title": "== 12. Initialisation: where the weights start decides whether signals "
                 "get through ==",
        "setup": "A deep network {arch}: five hidden layers of 100. Its weights are drawn "
                 "from N(0, std²), biases 0, with std = 0.01 (small), sqrt(2/(n_in + n_out)) "
                 "(Glorot) or sqrt(2/n_in) (He). The {n} training images go in; the standard "
                 "deviation of each hidden layer's outputs, and the mean |gradient| of the "
                 "first and the last layer's weights:",
        "row": "    {name:<16} std {stds}; |dW| {g_first:.1e} (layer 1), {g_last:.1e} "
               "(output layer)",
        "train": "Each then trains for {epochs} epochs of plain SGD (lr = {lr}, mini-batches "
                 "of {bs}):",
        "train_row": "    {name:<16} loss {l0:.3f} (epoch 1) -> {l1:.3f} (epoch {epochs}), "
                     "held-out accuracy {acc:.1%}",
        "learned": "Learned (loss below 1): {names}.",
        "stuck": "Still near the loss of guessing, ln 10 = {ln10:.3f}: {names}.",
        "point": "With small weights the signal dies: ReLU's last hidden layer has std "
                 "{relu_small:.1e} against {relu_he:.2f} with He's initialisation, and with "
                 "sigmoid every unit says about 0.5 to every image (std {sig_small:.3f}). "
                 "Through sigmoid layers the gradient shrinks layer by layer "
                 "(a sigmoid's slope is at most 1/4).",
    },
    "ja": {
        "title": "== 12. 重みの初期値: どこから始めるかで信号が届くかが決まる ==",
        "setup": "深いネットワーク {arch}: 100 ユニットの隠れ層が 5 つ。重みは N(0, std²) から、"
                 "バイアスは 0。std = 0.01(小さい)、sqrt(2/(n_in + n_out))(Glorot)、"
                 "sqrt(2/n_in)(He)。学習用画像 {n} 枚を入れたときの各隠れ層の出力の標準偏差と、"
                 "最初と最後の層の重みの勾配の平均 |dW|:",
        "row": "    {name:<16} 標準偏差 {stds}; |dW| {g_first:.1e}(第 1 層)、{g_last:.1e}(出力層)",
        "train": "それぞれを素朴な SGD(学習率 {lr}、ミニバッチ {bs} 枚)で {epochs} エポック学習:",
        "train_row": "    {name:<16} 損失 {l0:.3f}(1 エポック目)→ {l1:.3f}({epochs} エポック目)、"
                     "テスト正解率 {acc:.1%}",
        "learned": "学習できた(損失 1 未満): {names}。",
        "stuck": "当てずっぽうの損失 ln 10 = {ln10:.3f} 付近のまま: {names}。",
        "point": "重みが小さいと信号が消えます: ReLU の最後の隠れ層の標準偏差は {relu_small:.1e}、"
                 "He の初期値なら {relu_he:.2f}。sigmoid ではどのユニットもどの画像にもほぼ 0.5 を"
                 "返します(標準偏差 {sig_small:.3f})。sigmoid の層を通るたびに勾配は小さくなります"
                 "(sigmoid の傾きは最大 1/4)。",
    },
}

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
    layers = [Dense(n_in, n_out, activation=activation)
              for n_in, n_out in zip(sizes[:-2], sizes[1:-1])]
    layers.append(Dense(sizes[-2], sizes[-1], activation="softmax"))
    net = Sequential(layers, loss="cross_entropy", seed=seed)
    rng = np.random.default_rng(seed)
    for layer in net.layers:
        layer.W[...] = rng.normal(0.0, _init_std(scheme, layer.n_in, layer.n_out),
                                  size=layer.W.shape)
        layer.b[...] = 0.0
    return net


def _step_initialisation(tour: _Tour) -> dict:
    T = _TEXT_INIT
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
        tour.say(T, "row", name=name, stds=" ".join(f"{s:.2g}" for s in stds),
                 g_first=g[0], g_last=g[-1])
    files: list = []
    if tour.out_dir is not None:  # drawn now, before training changes the weights
        tour.save(plot.activation_histograms(
            nets, Xtr, title="What each hidden layer outputs for the training images, "
                             "before training"),
            "initialisation_activations.png", files)
    cfg = _INIT_TRAINING
    tour.say(T, "train", epochs=cfg["epochs"], lr=cfg["lr"], bs=cfg["batch_size"])
    histories = {}
    learned, stuck = [], []
    for name, net in nets.items():
        try:
            hist = net.fit(Xtr, d["y_train"], epochs=cfg["epochs"], batch_size=cfg["batch_size"],
                           optimizer=SGD(lr=cfg["lr"]))
        except TrainingDiverged:  # not seen with these settings; said if it happens
            stats[name].update(loss_first_epoch=math.nan, loss_last_epoch=math.nan,
                               test_accuracy=math.nan, diverged=True)
            continue
        acc = float(np.mean(net.predict(d["X_test"]).argmax(axis=1) == d["y_test"]))
        histories[name] = hist
        stats[name].update(loss_first_epoch=hist.loss[0], loss_last_epoch=hist.loss[-1],
                           test_accuracy=acc, diverged=False)
        tour.say(T, "train_row", name=name, l0=hist.loss[0], l1=hist.loss[-1],
                 epochs=cfg["epochs"], acc=acc)
        if hist.loss[-1] < 1.0:
            learned.append(name)
        elif hist.loss[-1] > 2.0:
            stuck.append(name)
    if learned:
        tour.say(T, "learned", names=", ".join(learned))
    if stuck:
        tour.say(T, "stuck", ln10=math.log(10), names=", ".join(stuck))
    tour.say(T, "point", relu_small=stats["relu + small"]["activation_std"][-1],
             relu_he=stats["relu + He"]["activation_std"][-1],
             sig_small=stats["sigmoid + small"]["activation_std"][-1])
    if tour.out_dir is not None:
        tour.save(plot.loss_per_epoch(
            histories, title=f"Training from each initialisation: plain SGD, lr={cfg['lr']}"),
            "initialisation_training.png", files)
    return {**stats, "figures": files}


# ======================================================================== 13
_TEXT_OVERFITTING = {
    "en": {
        "title": "== 13. Overfitting, and three regularisers ==",
        "setup": "A large network {arch} ({n_params:,} parameters) learns from only "
                 "{n_small} digit images: {epochs} epochs of SGD (lr = {lr}, momentum {mom}, "
                 "mini-batches of {bs}). The {n_test} held-out images test it; {n_val} other "
                 "images are validation data for early stopping, so that nothing is chosen "
                 "by the held-out images.",
        "plain": "No regulariser: training accuracy {tr:.1%} (loss {trl:.3g}), held-out "
                 "accuracy {te:.1%} (loss {tel:.3f}); held-out accuracy was {peak:.1%} at "
                 "best (epoch {peak_epoch}). It knows its {n_small} images by heart: the "
                 "held-out loss is {ratio:,.0f} times the training loss.",
        "with": "The same network, the same start, with a regulariser:",
        "row": "    {name:<38} training {tr:.1%}, held-out {te:.1%} ({delta:+.1f} points, "
               "{images:+d} of {n_test} images), "
               "loss {trl:.4f} / held-out {tel:.3f}",
        "early": "Early stopping ran {ran} epochs and kept the weights of epoch {best}, where "
                 "the validation loss was lowest ({val:.3f}).",
        "gap": "The gap between held-out and training loss: {gaps}.",
        "sep": "; ",
        "moved": "On these {n_small} training images the regularisers changed the number of "
                 "held-out images read right by {lo_images:+d} to {hi_images:+d} of {n_test} "
                 "({lo:+.1f} to {hi:+.1f} points).",
        "more": "More data does more: the plain network trained on all {n_train} training "
                "images for {epochs_full} epochs reaches {full:.1%} held-out accuracy.",
        "compare": "For comparison, the plain network trained on all {n_train} training "
                   "images for {epochs_full} epochs reaches {full:.1%} held-out accuracy.",
        "names": {"plain": "no regulariser", "decay": "weight decay {wd:g}",
                  "dropout": "dropout p = {p:g} after each hidden layer",
                  "early": "early stopping (patience {patience})"},
    },
    "ja": {
        "title": "== 13. 過学習と 3 つの正則化 ==",
        "setup": "大きなネットワーク {arch}(パラメータ {n_params:,} 個)が、わずか {n_small} 枚の"
                 "数字画像から学びます: SGD(学習率 {lr}、モーメンタム {mom}、ミニバッチ {bs} 枚)で "
                 "{epochs} エポック。テスト用の {n_test} 枚で評価し、別の {n_val} 枚を早期終了の"
                 "ための検証データにします(テスト画像では何も選びません)。",
        "plain": "正則化なし: 学習データの正解率 {tr:.1%}(損失 {trl:.3g})、テスト正解率 {te:.1%}"
                 "(損失 {tel:.3f})。テスト正解率の最高は {peak:.1%}({peak_epoch} エポック目)。"
                 "{n_small} 枚を丸暗記しています: テスト損失は学習損失の {ratio:,.0f} 倍です。",
        "with": "同じネットワーク、同じ初期重みに正則化を加えると:",
        "row": "    {name}: 学習 {tr:.1%}、テスト {te:.1%}({delta:+.1f} ポイント、"
               "{n_test} 枚中 {images:+d} 枚)、"
               "損失 {trl:.4f} / テスト {tel:.3f}",
        "early": "早期終了は {ran} エポックで止まり、検証損失が最小({val:.3f})だった {best} "
                 "エポック目の重みを残しました。",
        "gap": "テスト損失と学習損失の差: {gaps}。",
        "sep": "、",
        "moved": "この {n_small} 枚では、正則化によって正しく読めたテスト画像の数が "
                 "{n_test} 枚のうち {lo_images:+d}〜{hi_images:+d} 枚({lo:+.1f}〜{hi:+.1f} "
                 "ポイント)変わりました。",
        "more": "データを増やすほうが効きます: 正則化なしのネットワークを学習用画像 {n_train} 枚"
                "すべてで {epochs_full} エポック学習すると、テスト正解率は {full:.1%} です。",
        "compare": "比べると、正則化なしのネットワークを学習用画像 {n_train} 枚すべてで "
                   "{epochs_full} エポック学習すると、テスト正解率は {full:.1%} です。",
        "names": {"plain": "正則化なし", "decay": "荷重減衰 {wd:g}",
                  "dropout": "各隠れ層の後にドロップアウト p = {p:g}",
                  "early": "早期終了(patience {patience})"},
    },
}

_OVERFIT: dict[str, Any] = {"n_small": 200, "n_val": 200, "hidden": 256, "epochs": 60,
                            "lr": 0.05, "momentum": 0.9, "batch_size": 32,
                            "weight_decay": 1e-3, "dropout": 0.2, "patience": 10,
                            "epochs_full": 30}


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


def _step_overfitting(tour: _Tour) -> dict:
    T = _TEXT_OVERFITTING
    names: dict[str, str] = T[tour.lang]["names"]  # type: ignore[assignment]
    english: dict[str, str] = _TEXT_OVERFITTING["en"]["names"]  # type: ignore[assignment]
    tour.say(T, "title")
    cfg = _OVERFIT
    d = _digits_split(tour)
    n, n_val = cfg["n_small"], cfg["n_val"]
    Xs, ys = d["X_train"][:n], d["y_train"][:n]
    Xv, yv = d["X_train"][n:n + n_val], d["y_train"][n:n + n_val]  # validation, not test
    Xte, yte = d["X_test"], d["y_test"]
    probe = _overfit_net(tour.seed)
    tour.say(T, "setup", arch=_arch(probe), n_params=probe.n_params, n_small=n,
             epochs=cfg["epochs"], lr=cfg["lr"], mom=cfg["momentum"], bs=cfg["batch_size"],
             n_test=len(yte), n_val=n_val)

    def train(net: Sequential, weight_decay: float = 0.0,
              stopper: EarlyStopping | None = None) -> dict:
        curves: dict = {"train": [], "held-out": []}

        def record(epoch: int, logs: dict, net: Sequential) -> None:  # after every epoch
            curves["train"].append(_accuracy(net, Xs, ys))
            curves["held-out"].append(_accuracy(net, Xte, yte))

        hist = net.fit(Xs, ys, epochs=cfg["epochs"], batch_size=cfg["batch_size"],
                       optimizer=SGD(lr=cfg["lr"], momentum=cfg["momentum"],
                                     weight_decay=weight_decay),
                       validation_data=(Xv, yv),
                       callbacks=[record] + ([stopper] if stopper is not None else []))
        return {"train_accuracy": _accuracy(net, Xs, ys), "test_accuracy": _accuracy(net, Xte, yte),
                "train_loss": net.evaluate(Xs, ys), "test_loss": net.evaluate(Xte, yte),
                "epochs": hist.epochs, "curves": curves, "val_loss": hist.val_loss}

    rows: dict = {}
    rows["plain"] = train(_overfit_net(tour.seed))
    plain = rows["plain"]
    held = plain["curves"]["held-out"]
    peak_epoch = int(np.argmax(held))
    tour.say(T, "plain", tr=plain["train_accuracy"], trl=plain["train_loss"],
             te=plain["test_accuracy"], tel=plain["test_loss"], peak=held[peak_epoch],
             peak_epoch=peak_epoch + 1, n_small=n,
             ratio=plain["test_loss"] / max(plain["train_loss"], 1e-12))
    rows["decay"] = train(_overfit_net(tour.seed), weight_decay=cfg["weight_decay"])
    rows["dropout"] = train(_overfit_net(tour.seed, dropout=cfg["dropout"]))
    stopper = EarlyStopping(monitor="val_loss", patience=cfg["patience"],
                            restore_best_weights=True)
    rows["early"] = train(_overfit_net(tour.seed), stopper=stopper)
    rows["early"]["best_epoch"] = stopper.best_epoch
    tour.say(T, "with")
    labels = {key: names[key].format(wd=cfg["weight_decay"], p=cfg["dropout"],
                                     patience=cfg["patience"]) for key in rows}
    for key, row in rows.items():
        if key == "plain":
            continue
        # the difference of the accuracies as printed, and in images: no rounding apart
        row["delta_points"] = round(_shown_percent(row["test_accuracy"])
                                    - _shown_percent(plain["test_accuracy"]), 1)
        row["delta_images"] = int(round((row["test_accuracy"] - plain["test_accuracy"])
                                        * len(yte)))
        tour.say(T, "row", name=labels[key], tr=row["train_accuracy"], te=row["test_accuracy"],
                 delta=row["delta_points"], images=row["delta_images"], n_test=len(yte),
                 trl=row["train_loss"], tel=row["test_loss"])
    tour.say(T, "early", ran=rows["early"]["epochs"], best=stopper.best_epoch + 1,
             val=stopper.best)
    for row in rows.values():
        row["loss_gap"] = row["test_loss"] - row["train_loss"]
    sep: str = T[tour.lang]["sep"]  # type: ignore[assignment]
    tour.say(T, "gap", gaps=sep.join(f"{labels[key]}: {row['loss_gap']:.3f}"
                                     for key, row in rows.items()))
    full_net = _overfit_net(tour.seed)
    full_net.fit(d["X_train"], d["y_train"], epochs=cfg["epochs_full"],
                 batch_size=cfg["batch_size"], optimizer=SGD(lr=cfg["lr"],
                                                              momentum=cfg["momentum"]))
    full = _accuracy(full_net, Xte, yte)
    deltas = [rows[key]["delta_points"] for key in ("decay", "dropout", "early")]
    images = [rows[key]["delta_images"] for key in ("decay", "dropout", "early")]
    tour.say(T, "moved", n_small=n, lo=min(deltas), hi=max(deltas), lo_images=min(images),
             hi_images=max(images), n_test=len(yte))
    best_regularised = max(rows[key]["test_accuracy"] for key in ("decay", "dropout", "early"))
    tour.say(T, "more" if full > best_regularised else "compare", n_train=len(d["y_train"]),
             epochs_full=cfg["epochs_full"], full=full)
    files: list = []
    if tour.out_dir is not None:
        en_labels = {key: english[key].format(wd=cfg["weight_decay"], p=cfg["dropout"],
                                              patience=cfg["patience"]) for key in rows}
        runs = {en_labels[key]: {"train": row["curves"]["train"],
                                 "held-out": row["curves"]["held-out"]}
                for key, row in rows.items()}
        tour.save(tour.plot.learning_curves(
            runs, marks={en_labels["early"]: stopper.best_epoch}, ylim=(80, 100.5),
            title=f"{n} training images, {probe.n_params:,} parameters: train against "
                  "held-out accuracy"),
            "overfitting_curves.png", files)
    out = {key: {k: v for k, v in row.items() if k != "curves"} for key, row in rows.items()}
    for key, row in rows.items():
        out[key]["curves"] = row["curves"]
    return {**out, "n_small": n, "n_params": probe.n_params, "full_data_accuracy": full,
            "figures": files}


# ======================================================================== 14
_TEXT_SUMMARY = {
    "en": {
        "title": "== 14. Summary: data, model, minimised error ==",
        "data": "Data: numbers. {n_galaxies} galaxies as (distance, velocity) pairs, "
                "{n_images} digit images of {n_pixels} numbers each.",
        "model": "Model: a machine with dials. ŷ = a·x + b has 2; the digits network "
                 "{arch} has {n_params}.",
        "error": "Minimised error: rolling downhill took E(a, b) from {e0:,.0f} to {e1:,.0f} "
                 "(a = {a:.2f}, b = {b:.2f}) and the digits' test loss from {l0:.3f} to "
                 "{l1:.3f}, test accuracy {acc0:.1%} -> {acc1:.1%}.",
    },
    "ja": {
        "title": "== 14. まとめ: データ、モデル、誤差の最小化 ==",
        "data": "データ: 数。銀河 {n_galaxies} 個の (距離, 速度) の組と、{n_pixels} 個の数から"
                "なる数字画像 {n_images} 枚。",
        "model": "モデル: ダイヤル付きの機械。ŷ = a·x + b のダイヤルは 2 個、数字のネットワーク "
                 "{arch} は {n_params} 個。",
        "error": "誤差の最小化: 坂道を転がして、E(a, b) は {e0:,.0f} から {e1:,.0f} へ"
                 "(a = {a:.2f}、b = {b:.2f})、数字のテスト損失は {l0:.3f} から {l1:.3f} へ、"
                 "テスト正解率は {acc0:.1%} → {acc1:.1%}。",
    },
}


def _step_summary(tour: _Tour) -> dict:
    T = _TEXT_SUMMARY
    # The numbers come from the steps that ran; a step not chosen runs quietly.
    for name in ("data", "regression", "digits"):
        if name not in tour.results:
            tour.results[name] = STEPS[name](tour.quiet())
    data, reg, dig = tour.results["data"], tour.results["regression"], tour.results["digits"]
    tour.say(T, "title")
    tour.say(T, "data", n_galaxies=data["n_galaxies"], n_images=data["n_images"],
             n_pixels=data["n_pixels"])
    tour.say(T, "model", arch=dig["arch"], n_params=dig["n_params"])
    tour.say(T, "error", e0=reg["loss_start"], e1=reg["loss_end"], a=reg["a"], b=reg["b"],
             l0=dig["loss_before"], l1=dig["loss_after"], acc0=dig["accuracy_before"],
             acc1=dig["accuracy"])
    return {"loss_start": reg["loss_start"], "loss_end": reg["loss_end"],
            "accuracy": dig["accuracy"], "figures": []}


# ============================================================== the tour
STEPS: dict[str, Callable[[_Tour], dict]] = {
    "data": _step_data,
    "machine": _step_machine,
    "regression": _step_regression,
    "modes": _step_modes,
    "neuron": _step_neuron,
    "perceptron": _step_perceptron,
    "backprop": _step_backprop,
    "digits": _step_digits,
    "lenet": _step_lenet,
    "optimizers": _step_optimizers,
    "scaling": _step_scaling,
    "initialisation": _step_initialisation,
    "overfitting": _step_overfitting,
    "summary": _step_summary,
}
"""The steps of the tour, in the lecture's order."""


def select_steps(only: Iterable[str] | None = None) -> list:
    """The steps to run, in the tour's order.

    Parameters
    ----------
    only : iterable of str, optional
        Step names (a name may also hold several, comma-separated). None
        means every step.

    Raises
    ------
    ValueError
        For an unknown step name; the message lists the steps.
    """
    if only is None:
        return list(STEPS)
    if isinstance(only, str):
        only = [only]
    wanted = [name.strip() for item in only for name in str(item).split(",") if name.strip()]
    unknown = [name for name in wanted if name not in STEPS]
    if unknown:
        raise ValueError(f"unknown step{'s' if len(unknown) > 1 else ''} "
                         f"{', '.join(map(repr, unknown))}; the steps are: {', '.join(STEPS)}")
    if not wanted:
        raise ValueError(f"no step given; the steps are: {', '.join(STEPS)}")
    return [name for name in STEPS if name in wanted]


def run(out_dir: str | Path = "tour", lang: str = "en", only: Iterable[str] | None = None,
        stream: TextIO | None = None, seed: int = 0) -> dict:
    """Run the lecture's steps, narrating and writing figures.

    Parameters
    ----------
    out_dir : str or Path
        Directory for the PNG figures; created if missing. Default
        ``./tour``, as on the command line.
    lang : {"en", "ja"}
        Language of the narration (figures are in English).
    only : iterable of str, optional
        Run just these steps (in the tour's order); default all of
        :data:`STEPS`.
    stream : text file, optional
        Where the narration goes; default ``sys.stdout``.
    seed : int
        Seeds every split, initialisation and shuffle: the same seed gives
        the same numbers.

    Returns
    -------
    dict
        One entry per step run, each a dict of the numbers it narrated and
        ``"figures"``, the file names it wrote into ``out_dir``.
    """
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}, got {lang!r}")
    steps = select_steps(only)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tour = _Tour(out, lang, sys.stdout if stream is None else stream, seed=seed)
    start = time.perf_counter()
    for i, name in enumerate(steps):
        if i:
            tour.raw("")
        t0 = time.perf_counter()
        tour.results[name] = STEPS[name](tour)
        tour.results[name]["seconds"] = time.perf_counter() - t0
    seconds = time.perf_counter() - start
    tour.raw("")
    tour.say(_COMMON, "done", n=len(steps), seconds=seconds, out=out)
    return {name: tour.results[name] for name in steps}
