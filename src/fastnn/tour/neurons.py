"""Steps 5-6: one kind of neuron computes all of logic; a perceptron learns its weights."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import logic
from ..logic import CORNERS
from ..perceptron import ConvergenceWarning, Perceptron
from ._core import _Tour


# ==================================================================== 5. neuron
def _count(fn: Callable[..., Any], *args: int) -> int:
    with logic.nand_count() as tally:
        fn(*args)
    return tally.count


def _bits(n: int, width: int) -> list:
    return [(n >> i) & 1 for i in range(width)]


def step_neuron(tour: _Tour) -> dict:
    T = "neuron"
    tour.say(T, "title")
    nand = logic.NAND_NEURON
    tour.say(T, "nand", w=list(nand.weights), t=nand.threshold)
    tables = {}
    gates: dict[str, Callable[..., int]] = {
        "NAND": logic.NAND,
        "NOT": logic.NOT,
        "AND": logic.AND,
        "OR": logic.OR,
        "XOR": logic.XOR,
    }
    for name, gate in gates.items():
        tables[name] = logic.truth_table(gate)
        tour.say(
            T,
            "table",
            name=name,
            rows="  ".join(f"{''.join(map(str, inputs))}->{out}" for inputs, out in tables[name]),
        )
    counts = {
        name: _count(gate, *([0] * (1 if name == "NOT" else 2)))
        for name, gate in gates.items()
        if name != "NAND"
    }
    tour.say(T, "built", **counts)
    adders: tuple[tuple[str, Callable[..., tuple[int, int]], int], ...] = (
        ("half", logic.half_adder, 2),
        ("full", logic.full_adder, 3),
    )
    for key, fn, n_in in adders:
        tour.say(T, key, n=_count(fn, *([0] * n_in)))
        for inputs, (s, c) in logic.truth_table(fn, n_in):
            tour.say(T, "adder_row", inputs=" + ".join(map(str, inputs)), s=s, c=c)
    a, b = 11, 6
    bits_a, bits_b = _bits(a, 4), _bits(b, 4)
    with logic.nand_count() as tally:
        bits_s = logic.ripple_adder(bits_a, bits_b)
    total = sum(bit << i for i, bit in enumerate(bits_s))
    tour.say(
        T, "ripple", n=tally.count, a=a, b=b, bits_a=bits_a, bits_b=bits_b, bits_s=bits_s, s=total
    )
    files: list = []
    if tour.out_dir is not None:
        neurons = {"NAND": logic.NAND_NEURON, "AND": logic.AND_NEURON, "OR": logic.OR_NEURON}
        tour.save(
            tour.plot.gate_decision_lines(neurons, lang=tour.figure_lang),
            "neuron_decision_lines.png",
            files,
        )
    return {
        "truth_tables": tables,
        "nand_counts": counts,
        "ripple": (a, b, bits_s, total),
        "figures": files,
    }


# ================================================================ 6. perceptron
# what each gate outputs for the inputs CORNERS, in the same order
GATE_TARGETS = {"AND": [0, 0, 0, 1], "OR": [0, 1, 1, 1], "NAND": [1, 1, 1, 0], "XOR": [0, 1, 1, 0]}


def step_perceptron(tour: _Tour) -> dict:
    T = "perceptron"
    tour.say(T, "title")
    max_epochs = 100
    tour.say(T, "rule", max_epochs=max_epochs)
    results, fitted = {}, {}
    for name, target in GATE_TARGETS.items():
        y = np.array(target)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # XOR: said in words below
            p = Perceptron(lr=1.0, max_epochs=max_epochs, seed=tour.seed).fit(CORNERS, y)
        pred = p.predict(CORNERS).tolist()
        wrong = int(np.sum(np.array(pred) != y))  # of the final line, as the figure rings them
        fitted[name] = (CORNERS, y, p)
        if p.converged_:
            tour.say(
                T,
                "ok",
                name=name,
                conv=p.converged_,
                epochs=p.n_epochs_,
                w=p.coef_.tolist(),
                b=p.intercept_,
                pred=pred,
                y=target,
            )
        else:
            tour.say(
                T,
                "bad",
                name=name,
                conv=p.converged_,
                epochs=p.n_epochs_,
                wrong=wrong,
                n=len(target),
                pred=pred,
                y=target,
            )
        results[name] = {
            "converged": bool(p.converged_),
            "epochs": p.n_epochs_,
            "coef": p.coef_.tolist(),
            "intercept": p.intercept_,
            "predictions": pred,
            "wrong": wrong,
        }
    if not results["XOR"]["converged"]:
        tour.say(T, "why")
    files: list = []
    if tour.out_dir is not None:
        tour.save(
            tour.plot.perceptron_lines(fitted, lang=tour.figure_lang), "perceptron_lines.png", files
        )
    return {**results, "figures": files}
