"""The lecture, step by step: how deep learning learns, run end to end.

Each step computes what the lecture shows, prints it in a few plain
sentences with the numbers of this very run, and writes its figures as PNG
files::

    import fastnn.tour
    results = fastnn.tour.run("tour_out", lang="en", only=["regression"])
    results["regression"]["a"]        # the slope gradient descent found

or from the command line: ``python -m fastnn tour --out tour_out``.

The steps, in order (:data:`STEPS`):

1. ``data``: data and tasks are numbers
2. ``machine``: the prediction machine ŷ = f(x; w), parameters as dials
3. ``regression``: a line through Hubble's galaxies by gradient descent
4. ``modes``: full batch, mini-batch and online learning
5. ``neuron``: McCulloch-Pitts neurons, logic from NAND, adders
6. ``perceptron``: Rosenblatt's perceptron learns AND, OR, NAND, not XOR
7. ``backprop``: a hidden layer learns XOR
8. ``digits``: a softmax classifier reads handwritten digits
9. ``summary``: data, model, minimised error

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

from . import datasets, logic
from .layers import Dense
from .network import Sequential, TrainingDiverged
from .optim import SGD, Adam
from .perceptron import ConvergenceWarning, Perceptron
from .regression import RegressionMachine

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
    big_losses = np.asarray(big.loss_history)
    big_end = big.loss(big.a, big.b)
    tour.say(T, "big", lr=lr_big, e0=big_losses[0], e1=big_end, steps=_TOO_LARGE["steps"])
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
        tour.save(plot.loss_per_step(
            {f"lr = {_FULL['lr']} (below 2/λmax = {limit:.2f})": small.history,
             f"lr = {lr_big} (above 2/λmax)": big.history},
            logx=False, ylabel="E(a, b)  ((km/s)²)",
            title="Too large a learning rate: the error grows"),
            "regression_learning_rate.png", files)
    return {"a": full.a, "b": full.b, "closed_form": (a_cf, b_cf), "origin_slope": slope,
            "loss_start": e0, "loss_end": e_final, "lambda_max": lmax,
            "stability_limit": limit,
            "paths": {"full batch": (full.a, full.b), "mini-batch": (mini.a, mini.b),
                      "online": (online.a, online.b)},
            "too_large": {"lr": lr_big, "loss_start": float(big_losses[0]),
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
        "bad": "    {name:<4} converged_ = {conv}: after {epochs} epochs still {mistakes} "
               "mistakes per epoch; predicts {pred} for targets {y}",
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
        "bad": "    {name:<4} converged_ = {conv}: {epochs} エポック後も 1 エポックに {mistakes} 回"
               "間違える; 予測 {pred}(正解 {y})",
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
        fitted[name] = (_CORNERS, y, p)
        if p.converged_:
            tour.say(T, "ok", name=name, conv=p.converged_, epochs=p.n_epochs_,
                     w=p.coef_.tolist(), b=p.intercept_, pred=pred, y=target)
        else:
            tour.say(T, "bad", name=name, conv=p.converged_, epochs=p.n_epochs_,
                     mistakes=p.errors_[-1], pred=pred, y=target)
        results[name] = {"converged": bool(p.converged_), "epochs": p.n_epochs_,
                         "coef": p.coef_.tolist(), "intercept": p.intercept_,
                         "predictions": pred}
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
                  "a {t} read as a {p} ({count} times).",
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
                  "{t} を {p} と読んだもの({count} 回)です。",
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
    if len(wrong):
        off = confusion - np.diag(np.diag(confusion))
        t, p = np.unravel_index(off.argmax(), off.shape)
        tour.say(T, "errors", wrong=len(wrong), n_test=len(yte), t=t, p=p, count=off[t, p])
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
            "confusion": confusion, "train_seconds": seconds, "figures": files}


# ========================================================================= 9
_TEXT_SUMMARY = {
    "en": {
        "title": "== 9. Summary: data, model, minimised error ==",
        "data": "Data: numbers. {n_galaxies} galaxies as (distance, velocity) pairs, "
                "{n_images} digit images of {n_pixels} numbers each.",
        "model": "Model: a machine with dials. ŷ = a·x + b has 2; the digits network "
                 "{arch} has {n_params}.",
        "error": "Minimised error: rolling downhill took E(a, b) from {e0:,.0f} to {e1:,.0f} "
                 "(a = {a:.2f}, b = {b:.2f}) and the digits' test loss from {l0:.3f} to "
                 "{l1:.3f}, test accuracy {acc0:.1%} -> {acc1:.1%}.",
    },
    "ja": {
        "title": "== 9. まとめ: データ、モデル、誤差の最小化 ==",
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


def run(out_dir: str | Path, lang: str = "en", only: Iterable[str] | None = None,
        stream: TextIO | None = None, seed: int = 0) -> dict:
    """Run the lecture's steps, narrating and writing figures.

    Parameters
    ----------
    out_dir : str or Path
        Directory for the PNG figures; created if missing.
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
