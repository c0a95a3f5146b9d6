"""McCulloch-Pitts neurons, the gates built from NAND neurons, and adders."""

import itertools

import numpy as np
import pytest

from fastnn import logic
from fastnn.logic import (
    AND,
    AND_NEURON,
    NAND,
    NAND_NEURON,
    NOT,
    NOT_NEURON,
    OR,
    OR_NEURON,
    XOR,
    McCullochPitts,
    full_adder,
    half_adder,
    nand_count,
    ripple_adder,
    truth_table,
)

PAIRS = [(0, 0), (0, 1), (1, 0), (1, 1)]

# The truth tables written out by hand, rows in binary counting order.
EXPECTED = {
    "NAND": [((0, 0), 1), ((0, 1), 1), ((1, 0), 1), ((1, 1), 0)],
    "AND": [((0, 0), 0), ((0, 1), 0), ((1, 0), 0), ((1, 1), 1)],
    "OR": [((0, 0), 0), ((0, 1), 1), ((1, 0), 1), ((1, 1), 1)],
    "XOR": [((0, 0), 0), ((0, 1), 1), ((1, 0), 1), ((1, 1), 0)],
    "NOT": [((0,), 1), ((1,), 0)],
}
GATES = {"NAND": NAND, "AND": AND, "OR": OR, "XOR": XOR, "NOT": NOT}


# ---- The neuron -------------------------------------------------------------


def test_nand_neuron_by_hand():
    # -2a - 2b >= -3 holds unless a = b = 1 (sum -4).
    assert NAND_NEURON.weights == (-2, -2)
    assert NAND_NEURON.threshold == -3
    assert [NAND_NEURON([a, b]) for a, b in PAIRS] == [1, 1, 1, 0]


def test_neuron_fires_at_the_threshold():
    n = McCullochPitts(weights=[1, 1], threshold=1)
    assert n([1, 0]) == 1  # sum 1 == threshold: fires
    assert n([0, 0]) == 0


@pytest.mark.parametrize(
    ("neuron", "name"),
    [
        (AND_NEURON, "AND"),
        (OR_NEURON, "OR"),
        (NAND_NEURON, "NAND"),
        (NOT_NEURON, "NOT"),
    ],
)
def test_single_neuron_gates(neuron, name):
    assert truth_table(neuron) == EXPECTED[name]


def test_neuron_accepts_bools_numpy_and_tuples():
    assert NAND_NEURON((True, True)) == 0
    assert NAND_NEURON(np.array([1, 0])) == 1
    assert NAND_NEURON([np.int64(1), np.int8(1)]) == 0
    assert isinstance(NAND_NEURON([True, False]), int)


def test_neuron_repr():
    assert repr(NAND_NEURON) == "McCullochPitts(weights=[-2, -2], threshold=-3)"


@pytest.mark.parametrize(
    ("inputs", "error", "match"),
    [
        ([1], ValueError, "2 weights but got 1 inputs"),
        ([1, 0, 1], ValueError, "2 weights but got 3 inputs"),
        ([2, 0], ValueError, r"input 0 must be 0 or 1, got 2"),
        ([0, -1], ValueError, r"input 1 must be 0 or 1, got -1"),
        ([1.0, 0], TypeError, r"input 0 must be 0 or 1, got 1.0 of type float"),
        ([0, "1"], TypeError, r"input 1 must be 0 or 1, got '1' of type str"),
        ([None, 0], TypeError, r"input 0 must be 0 or 1, got None"),
        (1, TypeError, "inputs must be a sequence"),
        ("10", TypeError, "inputs must be a sequence"),
    ],
)
def test_neuron_rejects_bad_inputs(inputs, error, match):
    with pytest.raises(error, match=match):
        NAND_NEURON(inputs)


@pytest.mark.parametrize(
    ("weights", "threshold", "error", "match"),
    [
        ([], 0, ValueError, "at least one weight"),
        (["a", 1], 0, TypeError, "must be real numbers, got 'a'"),
        ([True, 1], 0, TypeError, "must be real numbers, got True"),
        ([1, 1], None, TypeError, "must be real numbers, got None"),
        ([1, float("nan")], 0, ValueError, "must be finite, got nan"),
        ([1, 1], float("inf"), ValueError, "must be finite, got inf"),
    ],
)
def test_neuron_rejects_bad_parameters(weights, threshold, error, match):
    with pytest.raises(error, match=match):
        McCullochPitts(weights, threshold)


def test_rejected_inputs_are_not_counted():
    before = NAND_NEURON.evaluations
    with pytest.raises(ValueError):
        NAND_NEURON([2, 2])
    assert NAND_NEURON.evaluations == before


@pytest.mark.parametrize(
    "neuron", [NAND_NEURON, AND_NEURON, OR_NEURON, McCullochPitts([0.5, 2.0], 1.0)]
)
def test_decision_line_lies_on_the_threshold(neuron):
    xs, ys = neuron.decision_line()
    assert len(xs) == len(ys) == 2
    assert xs[0] != xs[1] or ys[0] != ys[1]
    w1, w2 = neuron.weights
    for x1, x2 in zip(xs, ys):
        assert w1 * x1 + w2 * x2 == pytest.approx(neuron.threshold)


def test_decision_line_of_nand_by_hand():
    # -2*x1 - 2*x2 = -3  <=>  x2 = 1.5 - x1
    assert NAND_NEURON.decision_line(0, 1.5) == ([0, 1.5], [1.5, 0.0])


def test_decision_line_vertical_and_degenerate():
    assert McCullochPitts([2, 0], 1).decision_line(0, 1) == ([0.5, 0.5], [0, 1])
    with pytest.raises(ValueError, match="both weights are 0"):
        McCullochPitts([0, 0], 1).decision_line()
    with pytest.raises(ValueError, match="needs a neuron with 2 inputs, not 1"):
        NOT_NEURON.decision_line()


# ---- Gates ------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(GATES))
def test_gate_truth_tables(name):
    assert truth_table(GATES[name]) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(GATES))
def test_gates_return_plain_ints(name):
    for _, out in truth_table(GATES[name]):
        assert type(out) is int


def test_gates_validate_their_inputs():
    with pytest.raises(ValueError, match="must be 0 or 1, got 3"):
        AND(3, 1)
    with pytest.raises(TypeError, match="got 0.5 of type float"):
        XOR(0.5, 1)


# ---- Construction: the gates are wirings of the NAND neuron -------------------


@pytest.mark.parametrize(
    ("circuit", "n_inputs", "n_nands"),
    [
        (NAND, 2, 1),
        (NOT, 1, 1),
        (AND, 2, 2),
        (OR, 2, 3),
        (XOR, 2, 4),
        (half_adder, 2, 5),
        (full_adder, 3, 9),
    ],
)
def test_nand_evaluations_per_circuit(circuit, n_inputs, n_nands):
    for inputs in itertools.product((0, 1), repeat=n_inputs):
        with nand_count() as tally:
            circuit(*inputs)
        assert tally.count == n_nands


def test_ripple_adder_uses_nine_nands_per_bit():
    with nand_count() as tally:
        ripple_adder([1, 0, 1, 1], [0, 1, 1, 1])
    assert tally.count == 4 * 9


def test_nand_count_stops_at_the_end_of_the_block():
    with nand_count() as tally:
        XOR(1, 1)
        assert tally.count == 4
    NAND(0, 0)
    assert tally.count == 4


class _RecordingNeuron(McCullochPitts):
    """A NAND neuron that records every input it sees."""

    def __init__(self):
        super().__init__(weights=[-2, -2], threshold=-3)
        self.seen = []

    def __call__(self, inputs):
        self.seen.append(tuple(inputs))
        return super().__call__(inputs)


def test_gates_call_whatever_neuron_is_the_nand_neuron(monkeypatch):
    recorder = _RecordingNeuron()
    monkeypatch.setattr(logic, "NAND_NEURON", recorder)
    # Still correct, and every gate went through the recording neuron.
    for name, gate in GATES.items():
        recorder.seen.clear()
        assert truth_table(gate) == EXPECTED[name]
        assert recorder.seen
    recorder.seen.clear()
    XOR(1, 0)
    # n = NAND(1, 0) = 1; NAND(1, n) = 0; NAND(0, n) = 1; NAND(0, 1) = 1
    assert recorder.seen == [(1, 0), (1, 1), (0, 1), (0, 1)]


def test_gates_change_when_the_neuron_is_swapped(monkeypatch):
    # A dead neuron that never fires: every gate and circuit goes silent.
    monkeypatch.setattr(logic, "NAND_NEURON", McCullochPitts([0, 0], threshold=1))
    for name, gate in GATES.items():
        assert [out for _, out in truth_table(gate)] == [0] * len(EXPECTED[name]), name
    assert half_adder(1, 0) == (0, 0)
    assert full_adder(1, 1, 1) == (0, 0)
    assert ripple_adder([1, 1], [1, 1]) == [0, 0, 0]


def test_wiring_nor_neurons_swaps_and_with_or(monkeypatch):
    # The same wiring on a NOR neuron (the dual of NAND): AND and OR trade places.
    monkeypatch.setattr(logic, "NAND_NEURON", McCullochPitts([-1, -1], threshold=0))
    assert truth_table(NOT) == EXPECTED["NOT"]  # NOR(a, a) = NOT a as well
    assert truth_table(AND) == EXPECTED["OR"]
    assert truth_table(OR) == EXPECTED["AND"]


# ---- Adders -----------------------------------------------------------------


def test_half_adder_truth_table():
    assert truth_table(half_adder) == [
        ((0, 0), (0, 0)),
        ((0, 1), (1, 0)),
        ((1, 0), (1, 0)),
        ((1, 1), (0, 1)),
    ]


def test_full_adder_adds_three_bits():
    rows = truth_table(full_adder)
    assert [inputs for inputs, _ in rows] == list(itertools.product((0, 1), repeat=3))
    for (a, b, c), (total, carry) in rows:
        assert a + b + c == total + 2 * carry


def _bits(n, width):
    return [(n >> i) & 1 for i in range(width)]


def test_ripple_adder_every_pair_of_4_bit_numbers():
    for x, y in itertools.product(range(16), repeat=2):
        out = ripple_adder(_bits(x, 4), _bits(y, 4))
        assert len(out) == 5
        assert out == _bits(x + y, 5), (x, y)
        assert sum(bit << i for i, bit in enumerate(out)) == x + y


def test_ripple_adder_by_hand():
    assert ripple_adder([1], [1]) == [0, 1]  # 1 + 1 = 2
    assert ripple_adder([1, 0, 1], [1, 1, 0]) == [0, 0, 0, 1]  # 5 + 3 = 8
    assert ripple_adder([True, False], (0, 1)) == [1, 1, 0]  # 1 + 2 = 3


@pytest.mark.parametrize(
    ("bits_a", "bits_b", "error", "match"),
    [
        ([1, 0], [1], ValueError, "equal length, got 2 and 1"),
        ([], [], ValueError, "at least one bit"),
        ([1, 2], [0, 0], ValueError, r"bits_a\[1\] must be 0 or 1, got 2"),
        ([0, 0], [0, 1.0], TypeError, r"bits_b\[1\] must be 0 or 1, got 1.0"),
    ],
)
def test_ripple_adder_rejects_bad_bits(bits_a, bits_b, error, match):
    with pytest.raises(error, match=match):
        ripple_adder(bits_a, bits_b)


# ---- truth_table --------------------------------------------------------------


def test_truth_table_of_a_three_input_neuron():
    majority = McCullochPitts([1, 1, 1], 2)
    rows = truth_table(majority)
    assert [inputs for inputs, _ in rows] == list(itertools.product((0, 1), repeat=3))
    assert [out for _, out in rows] == [0, 0, 0, 1, 0, 1, 1, 1]


def test_truth_table_arity_from_the_signature():
    assert len(truth_table(lambda a, b, c, d=0: a)) == 8
    assert truth_table(lambda *bits: sum(bits) % 2, n_inputs=1) == [
        ((0,), 0),
        ((1,), 1),
    ]
    with pytest.raises(ValueError, match=r"\*args"):
        truth_table(lambda *bits: 0)
    with pytest.raises(ValueError, match="at least one input"):
        truth_table(lambda: 0)
