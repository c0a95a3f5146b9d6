"""McCulloch-Pitts neurons and the logic built from them.

In 1943 Warren McCulloch and Walter Pitts described a neuron as a threshold
unit: it adds up its binary inputs, each multiplied by a fixed weight, and
fires (outputs 1) when the sum reaches its threshold. One such neuron, with
weights (-2, -2) and threshold -3, computes NAND. NAND is universal: every
other gate, and so every circuit, can be wired from NAND neurons alone. This
module does exactly that, from NOT up to an n-bit adder.

>>> NAND(1, 1), XOR(1, 0)
(0, 1)
>>> ripple_adder([1, 1, 0], [1, 0, 0])   # 3 + 1 = 4, little-endian bits
[0, 0, 1, 0]
"""

from __future__ import annotations

import contextlib
import inspect
import itertools
import math
import numbers
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

__all__ = [
    "CORNERS",
    "McCullochPitts",
    "NAND_NEURON",
    "AND_NEURON",
    "OR_NEURON",
    "NOT_NEURON",
    "NAND",
    "NOT",
    "AND",
    "OR",
    "XOR",
    "half_adder",
    "full_adder",
    "ripple_adder",
    "truth_table",
    "nand_count",
]

# The four inputs of a two-input gate, in binary counting order (as truth_table lists them): (4, 2).
CORNERS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)


def _check_bit(value: Any, what: str) -> int:
    """Return ``value`` as the int 0 or 1, or raise naming ``what``."""
    # bool and NumPy integers are numbers.Integral; floats such as 1.0 are not.
    if not isinstance(value, numbers.Integral):
        raise TypeError(f"{what} must be 0 or 1, got {value!r} of type {type(value).__name__}")
    if value not in (0, 1):
        raise ValueError(f"{what} must be 0 or 1, got {value!r}")
    return int(value)


class McCullochPitts:
    """A McCulloch-Pitts neuron: binary inputs, fixed weights, a threshold.

    It fires, returning 1, when ``sum(w * x) >= threshold``, else returns 0.

    Parameters
    ----------
    weights : sequence of float, length n_inputs
        One weight per input: positive excites, negative inhibits.
    threshold : float
        The neuron fires when the weighted sum reaches this value.

    Attributes
    ----------
    weights : tuple of float
    threshold : float
    evaluations : int
        How many times this neuron has been called: a counter that lets a
        test see how many neurons a circuit used (see :func:`nand_count`).

    Examples
    --------
    >>> nand = McCullochPitts(weights=[-2, -2], threshold=-3)
    >>> [nand([a, b]) for a, b in [(0, 0), (0, 1), (1, 0), (1, 1)]]
    [1, 1, 1, 0]
    """

    def __init__(self, weights: Sequence[float], threshold: float) -> None:
        weights = list(weights)
        if not weights:
            raise ValueError("weights must hold at least one weight, got an empty sequence")
        for w in [*weights, threshold]:
            if isinstance(w, bool) or not isinstance(w, numbers.Real):
                raise TypeError(f"weights and threshold must be real numbers, got {w!r}")
            if not math.isfinite(w):
                raise ValueError(f"weights and threshold must be finite, got {w!r}")
        self.weights = tuple(weights)
        self.threshold = threshold
        self.evaluations = 0

    def __call__(self, inputs: Sequence[int]) -> int:
        """Return 1 if ``sum(w * x) >= threshold`` for the 0/1 ``inputs``, else 0."""
        if isinstance(inputs, (str, bytes)) or not hasattr(inputs, "__iter__"):
            raise TypeError(f"inputs must be a sequence of 0 and 1, got {inputs!r}")
        inputs = list(inputs)
        n_weights, n_inputs = len(self.weights), len(inputs)
        if n_inputs != n_weights:
            raise ValueError(
                f"this neuron has {n_weights} weights but got {n_inputs} inputs: {inputs!r}"
            )
        x = [_check_bit(value, f"input {i}") for i, value in enumerate(inputs)]
        self.evaluations += 1
        total = sum(w * xi for w, xi in zip(self.weights, x))
        return 1 if total >= self.threshold else 0

    def decision_line(self, lo: float = -0.5, hi: float = 1.5) -> tuple[list[float], list[float]]:
        """Two points of the line ``w1*x1 + w2*x2 = threshold``, for plotting.

        The line separates the inputs where the neuron fires from those where
        it does not. Only a neuron with two inputs has one.

        Parameters
        ----------
        lo, hi : float
            The range of x1 (or of x2, for a vertical line) to cover.

        Returns
        -------
        xs, ys : list of float, each of length 2
            ``plt.plot(*neuron.decision_line())`` draws the line.
        """
        n = len(self.weights)
        if n != 2:
            raise ValueError(f"a decision line needs a neuron with 2 inputs, not {n}")
        w1, w2 = self.weights
        t = self.threshold
        if w2 != 0:  # solve for x2 (adding 0.0 turns a -0.0 into 0.0)
            return [lo, hi], [(t - w1 * lo) / w2 + 0.0, (t - w1 * hi) / w2 + 0.0]
        if w1 != 0:  # vertical line x1 = t / w1
            return [t / w1 + 0.0, t / w1 + 0.0], [lo, hi]
        raise ValueError("both weights are 0: the output does not depend on the inputs, so no line")

    def __repr__(self) -> str:
        weights, threshold = list(self.weights), self.threshold
        return f"McCullochPitts(weights={weights!r}, threshold={threshold!r})"


# The one neuron the gates below are wired from: -2a - 2b >= -3 fails only
# for a = b = 1.
NAND_NEURON = McCullochPitts(weights=[-2, -2], threshold=-3)

# Single neurons for the other gates, to draw each gate's decision line.
# (The gate functions do not use them: they are built from NAND only.)
AND_NEURON = McCullochPitts(weights=[1, 1], threshold=2)
OR_NEURON = McCullochPitts(weights=[1, 1], threshold=1)
NOT_NEURON = McCullochPitts(weights=[-1], threshold=0)


# ---- Gates: every one is a wiring of NAND neurons ---------------------------


def NAND(a: int, b: int) -> int:
    """NOT (a AND b): one evaluation of the NAND neuron."""
    # Looked up at call time, so swapping NAND_NEURON changes every gate.
    return NAND_NEURON([a, b])


def NOT(a: int) -> int:
    """NOT a = NAND(a, a): 1 NAND."""
    return NAND(a, a)


def AND(a: int, b: int) -> int:
    """a AND b = NOT(NAND(a, b)): 2 NANDs."""
    return NOT(NAND(a, b))


def OR(a: int, b: int) -> int:
    """a OR b = NAND(NOT a, NOT b) (De Morgan): 3 NANDs."""
    return NAND(NOT(a), NOT(b))


def XOR(a: int, b: int) -> int:
    """a XOR b from 4 NANDs: NAND(NAND(a, n), NAND(b, n)) with n = NAND(a, b)."""
    n = NAND(a, b)
    return NAND(NAND(a, n), NAND(b, n))


# ---- Circuits ----------------------------------------------------------------


def half_adder(a: int, b: int) -> tuple[int, int]:
    """Add two bits: 5 NANDs.

    Returns
    -------
    (sum, carry) : tuple of int
        ``a + b == sum + 2 * carry``.
    """
    n = NAND(a, b)  # shared by the XOR that makes the sum and by the carry
    total = NAND(NAND(a, n), NAND(b, n))  # a XOR b
    carry = NAND(n, n)  # NOT n = a AND b
    return total, carry


def full_adder(a: int, b: int, c: int) -> tuple[int, int]:
    """Add three bits (two and a carry in): 9 NANDs.

    Two half adders in a row, whose two carries are joined by an OR; sharing
    the inverted carries between the gates saves four NANDs.

    Returns
    -------
    (sum, carry) : tuple of int
        ``a + b + c == sum + 2 * carry``.
    """
    n1 = NAND(a, b)  # NOT (a AND b): the first inverted carry
    s1 = NAND(NAND(a, n1), NAND(b, n1))  # a XOR b
    n2 = NAND(s1, c)  # NOT (s1 AND c): the second inverted carry
    total = NAND(NAND(s1, n2), NAND(c, n2))  # s1 XOR c
    carry = NAND(n1, n2)  # (a AND b) OR (s1 AND c)
    return total, carry


def ripple_adder(bits_a: Sequence[int], bits_b: Sequence[int]) -> list[int]:
    """Add two n-bit numbers with a chain of n full adders (9n NANDs).

    Parameters
    ----------
    bits_a, bits_b : sequence of int, each of length n >= 1
        The numbers' bits, 0 or 1, little-endian (least significant first).

    Returns
    -------
    list of int, length n + 1
        The sum's bits, little-endian; the final carry is the last bit.

    Examples
    --------
    >>> ripple_adder([1, 0, 1], [1, 1, 0])   # 5 + 3 = 8
    [0, 0, 0, 1]
    """
    bits_a, bits_b = list(bits_a), list(bits_b)
    if len(bits_a) != len(bits_b):
        n_a, n_b = len(bits_a), len(bits_b)
        raise ValueError(f"bits_a and bits_b must have equal length, got {n_a} and {n_b}")
    if not bits_a:
        raise ValueError("bits_a and bits_b must hold at least one bit, got empty sequences")
    for name, bits in [("bits_a", bits_a), ("bits_b", bits_b)]:
        for i, bit in enumerate(bits):
            _check_bit(bit, f"{name}[{i}]")
    out = []
    carry = 0
    for a, b in zip(bits_a, bits_b):
        total, carry = full_adder(a, b, carry)
        out.append(total)
    return out + [carry]


# ---- Tools -------------------------------------------------------------------


def _arity(gate: Callable[..., Any]) -> int:
    """Number of inputs of a gate: a neuron's weights, or a function's parameters."""
    if isinstance(gate, McCullochPitts):
        return len(gate.weights)
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    params = inspect.signature(gate).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        raise ValueError(
            f"cannot tell how many inputs {gate!r} takes (it has *args): pass n_inputs"
        )
    return sum(p.kind in kinds and p.default is inspect.Parameter.empty for p in params)


def truth_table(
    gate: Callable[..., Any], n_inputs: int | None = None
) -> list[tuple[tuple[int, ...], Any]]:
    """Evaluate a gate on every combination of 0/1 inputs.

    Parameters
    ----------
    gate : callable or McCullochPitts
        A function of n bits (``gate(a, b)``), or a neuron (``gate([a, b])``).
    n_inputs : int, optional
        The number of inputs; by default the gate's required positional
        parameters, or the neuron's number of weights.

    Returns
    -------
    list of (inputs, output)
        The 2**n rows in binary counting order: (0, 0), (0, 1), (1, 0), (1, 1).

    Examples
    --------
    >>> truth_table(NAND)
    [((0, 0), 1), ((0, 1), 1), ((1, 0), 1), ((1, 1), 0)]
    """
    n = _arity(gate) if n_inputs is None else n_inputs
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"a gate needs at least one input, got n_inputs={n!r}")
    rows = []
    for inputs in itertools.product((0, 1), repeat=int(n)):
        out = gate(list(inputs)) if isinstance(gate, McCullochPitts) else gate(*inputs)
        rows.append((inputs, out))
    return rows


class _Tally:
    """The count of NAND-neuron evaluations in a ``with nand_count()`` block."""

    def __init__(self, neuron: McCullochPitts) -> None:
        self._neuron = neuron
        self._start = neuron.evaluations
        self._stop: int | None = None  # set when the block ends

    @property
    def count(self) -> int:
        end = self._neuron.evaluations if self._stop is None else self._stop
        return end - self._start

    def __repr__(self) -> str:
        return f"<{self.count} NAND evaluations>"


@contextlib.contextmanager
def nand_count() -> Iterator[_Tally]:
    """Count the evaluations of the NAND neuron inside a ``with`` block.

    Examples
    --------
    >>> with nand_count() as tally:
    ...     _ = XOR(0, 1)
    >>> tally.count
    4
    """
    tally = _Tally(NAND_NEURON)
    try:
        yield tally
    finally:
        tally._stop = tally._neuron.evaluations
