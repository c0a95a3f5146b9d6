"""The engine's own float32 product (``_gemm.pxi``), which the AVX2 builds
use for products of batches of up to 128 rows: every shape class (its
register tiles, edge tiles, masked columns, blocks of rows and of the
shared side) matches the float64 product within float32 rounding; each
element has the same bits whichever part of a larger product computes it;
and training that goes through it matches the reference and gives the same
bits on 1 and 2 threads."""

import numpy as np
import pytest

import fastnn
from conftest import fit_at_threads, make_net, make_targets, ref_layers
from fastnn import _dispatch
from reference import loss_and_grads, train

K = _dispatch.kernels  # the build that runs
pytestmark = pytest.mark.skipif(
    not K.own_gemm_available(),
    reason=f"the {fastnn.build_info()['isa']} build has no own product (no AVX2 and FMA)",
)

# rows: 1..8 (edge tiles of each height; 7 and 8 as 4 + 3 and 4 + 4), 12,
# 13, 14, 150 (two blocks of rows);
# columns: masked (1, 7, 9, 15), whole vectors (8, 16), 17 and 33 (a masked
# strip after whole ones); shared side: 0, 1, 256, 257 and 600 (blocks of it)
ROWS = (1, 2, 3, 4, 5, 6, 7, 8, 12, 13, 14, 150)
COLS = (1, 7, 8, 9, 15, 16, 17, 33)
SIDES = (0, 1, 5, 256, 257, 600)


def _bound(A, B, C, k):
    """Float32 rounding bound of C + A @ B summed one term at a time: (k + 1)
    roundings of at most 2**-24 each, relative to the sum of |terms|."""
    return ((np.abs(A) @ np.abs(B)) + np.abs(C)) * (k + 1) * 2.0**-24


@pytest.mark.parametrize("transpose_a", [False, True])
@pytest.mark.parametrize("accumulate", [False, True])
def test_every_shape_class_matches_float64(transpose_a, accumulate, rng):
    for m in ROWS:
        for n in COLS:
            for k in SIDES:
                A = rng.normal(size=(k, m) if transpose_a else (m, k)).astype(np.float32)
                B = rng.normal(size=(k, n)).astype(np.float32)
                C0 = rng.normal(size=(m, n)).astype(np.float32)
                C = C0.copy()
                K.own_matmul(A, B, C, transpose_a, accumulate)
                A64 = (A.T if transpose_a else A).astype(np.float64)
                start = C0.astype(np.float64) if accumulate else np.zeros((m, n))
                want = start + A64 @ B.astype(np.float64)
                err = np.abs(C - want)
                assert np.all(err <= _bound(A64, B.astype(np.float64), start, k)), (m, n, k)


def test_an_element_has_the_same_bits_in_any_part_of_a_product(rng):
    # the cut parts of a product, the halves of a batch and the tiles of
    # either size all compute an element the same way
    m, n, k = 150, 41, 600
    A = rng.normal(size=(m, k)).astype(np.float32)
    B = rng.normal(size=(k, n)).astype(np.float32)
    whole = np.empty((m, n), np.float32)
    K.own_matmul(A, B, whole)
    for r0, r1 in ((0, 1), (5, 11), (7, 150), (144, 150), (0, 75)):
        part = np.empty((r1 - r0, n), np.float32)
        K.own_matmul(np.ascontiguousarray(A[r0:r1]), B, part)
        np.testing.assert_array_equal(part, whole[r0:r1])
    for c0, c1 in ((0, 1), (3, 20), (16, 41), (0, 21)):
        part = np.empty((m, c1 - c0), np.float32)
        K.own_matmul(A, np.ascontiguousarray(B[:, c0:c1]), part)
        np.testing.assert_array_equal(part, whole[:, c0:c1])
    # A read by its columns (a weight gradient) sums in the same order
    by_cols = np.empty((m, n), np.float32)
    K.own_matmul(np.ascontiguousarray(A.T), B, by_cols, transpose_a=True)
    np.testing.assert_array_equal(by_cols, whole)


@pytest.mark.parametrize(
    "m, n, k",
    # a full panel (144 rows by 256 steps), blocks of both, 7 or 8 rows at
    # a block's end (tiles of 4), one strip and a half, a single row
    [(144, 40, 256), (289, 33, 600), (128, 256, 128), (392, 17, 129), (1, 48, 300)],
)
def test_a_weight_gradient_reads_a_by_its_columns_with_the_same_bits(m, n, k, rng):
    # A read by its columns (X^T in a weight gradient) is copied block by
    # block into each thread's panel before its tiles read it; the sums run
    # in the same order, so every bit equals that of A read by its rows, and
    # with C between sentinel rows nothing outside C is written
    A = rng.normal(size=(m, k)).astype(np.float32)
    B = rng.normal(size=(k, n)).astype(np.float32)
    by_rows = np.empty((m, n), np.float32)
    K.own_matmul(A, B, by_rows)
    for accumulate in (False, True):
        start = rng.normal(size=(m, n)).astype(np.float32)
        buf = np.full((m + 2, n), 7.0, np.float32)
        buf[1:-1] = start
        K.own_matmul(
            np.ascontiguousarray(A.T), B, buf[1:-1], transpose_a=True, accumulate=accumulate
        )
        want = by_rows.copy()
        if accumulate:
            want = start.copy()
            K.own_matmul(A, B, want, accumulate=True)
        np.testing.assert_array_equal(buf[1:-1], want)
        assert np.all(buf[0] == 7.0) and np.all(buf[-1] == 7.0)


def test_accumulate_adds_to_what_is_there_and_never_past_it(rng):
    # C inside a larger buffer: the product writes its rows and columns only
    A = rng.normal(size=(13, 257)).astype(np.float32)
    B = rng.normal(size=(257, 9)).astype(np.float32)
    big = rng.normal(size=(13, 9)).astype(np.float32)
    before = big.copy()
    K.own_matmul(A, B, big, False, True)
    want = before.astype(np.float64) + A.astype(np.float64) @ B.astype(np.float64)
    assert np.all(np.abs(big - want) <= _bound(A, B, before, 257))


@pytest.mark.parametrize("relu", [False, True])
def test_the_bias_and_relu_are_those_of_the_separate_passes(relu, rng):
    # starting from the bias gives the bits of starting from its copies in
    # C; ReLU keeps NaN and -0 and puts +0 below 0, as _activate_rows does
    for m, n, k in ((13, 33, 257), (6, 16, 600), (150, 7, 1), (5, 9, 0)):
        A = rng.normal(size=(m, k)).astype(np.float32)
        B = rng.normal(size=(k, n)).astype(np.float32)
        bias = rng.normal(size=n).astype(np.float32)
        bias[: min(n, 3)] = [np.nan, -0.0, 0.0][: min(n, 3)]
        got = np.empty((m, n), np.float32)
        K.own_matmul(A, B, got, bias=bias, relu=relu)
        want = np.tile(bias, (m, 1))
        K.own_matmul(A, B, want, accumulate=True)
        if relu:
            want = np.where(want < 0, np.float32(0), want)
        np.testing.assert_array_equal(got, want)
        assert np.array_equal(np.signbit(got), np.signbit(want))
        if relu:
            assert np.all((got >= 0) | np.isnan(got) | (got == 0))


@pytest.mark.parametrize("k", [10_000, 100_000])
def test_a_long_shared_side_is_summed_in_blocks(k, rng):
    # each block of at most 256 steps is summed from 0 and then added: the
    # error stays near (256 + k / 256) roundings, not k of them (a single
    # running sum of 100,000 terms of 0.1 was off by 1.4e-4)
    A = np.ones((7, k), np.float32)
    B = np.full((k, 3), 0.1, np.float32)
    C = np.empty((7, 3), np.float32)
    K.own_matmul(A, B, C)
    exact = k * float(np.float32(0.1))
    blocks = -(-k // 256)
    assert np.all(np.abs(C / exact - 1) <= (256 + blocks + 1) * 2.0**-24)
    # random terms too, against float64
    A = rng.random(size=(5, k)).astype(np.float32)
    B = rng.random(size=(k, 17)).astype(np.float32)
    C = np.empty((5, 17), np.float32)
    K.own_matmul(A, B, C)
    want = A.astype(np.float64) @ B.astype(np.float64)
    assert np.all(np.abs(C - want) <= (256 + blocks + 1) * 2.0**-24 * want)


def test_bad_shapes_are_refused():
    A = np.zeros((3, 4), np.float32)
    B = np.zeros((4, 5), np.float32)
    with pytest.raises(ValueError, match="shapes do not agree"):
        K.own_matmul(A, B, np.zeros((3, 4), np.float32))
    with pytest.raises(ValueError, match="shapes do not agree"):
        K.own_matmul(A, B, np.zeros((3, 5), np.float32), transpose_a=True)
    with pytest.raises(ValueError, match="one value per column"):
        K.own_matmul(A, B, np.zeros((3, 5), np.float32), bias=np.zeros(4, np.float32))
    with pytest.raises(TypeError):
        K.own_matmul(None, B, np.zeros((3, 5), np.float32))
    with pytest.raises(TypeError):
        K.own_matmul(A, B, None)
    with pytest.raises(ValueError, match="must be 0 or more"):
        K.set_own_max_side(-1)


@pytest.fixture
def own_limit():
    old = K.set_own_max_side(128)
    yield
    K.set_own_max_side(old)


def test_batches_of_up_to_128_rows_go_through_it(own_limit, rng):
    # the same float32 gradients through BLAS differ in their last bits:
    # proof that the own product is on the path, both match float64
    net = make_net((300, 96, 10), ["relu", "softmax"], "cross_entropy", dtype="float32", seed=2)
    X = rng.normal(size=(64, 300)).astype(np.float32)
    y = make_targets(rng, "cross_entropy", 64, 10)
    own = net.loss_and_grads(X, y)[1]
    K.set_own_max_side(0)
    blas = net.loss_and_grads(X, y)[1]
    _, want = loss_and_grads(ref_layers(net), X.astype(np.float64), y, "cross_entropy")
    differ = False
    for (gw, gb), (bw, bb), (ww, wb) in zip(own, blas, want):
        for got in (gw, bw):
            np.testing.assert_allclose(got, ww, rtol=2e-5, atol=2e-6)
        for got in (gb, bb):
            np.testing.assert_allclose(got, wb, rtol=2e-5, atol=2e-6)
        differ = differ or not np.array_equal(gw, bw)
    assert differ


def test_batches_of_up_to_512_rows_go_through_it_and_longer_ones_not(own_limit, rng):
    # a forward pass and a weight gradient of up to 4 x 128 rows (per part
    # of the product) take the own product whatever their other sides: the
    # gradients' bits differ from BLAS's, both within float32 rounding of
    # float64; with more rows and a shared side above 128, BLAS computes
    # them (the same bits as with the own product switched off)
    net = make_net((300, 200, 10), ["relu", "softmax"], "cross_entropy", dtype="float32", seed=2)
    for rows, own in ((300, True), (512, True), (1100, False)):
        X = rng.normal(size=(rows, 300)).astype(np.float32)
        y = make_targets(rng, "cross_entropy", rows, 10)
        K.set_own_max_side(128)
        got = net.loss_and_grads(X, y)[1]
        K.set_own_max_side(0)
        blas = net.loss_and_grads(X, y)[1]
        _, want = loss_and_grads(ref_layers(net), X.astype(np.float64), y, "cross_entropy")
        for g, w in zip(got, want):
            np.testing.assert_allclose(g[0], w[0], rtol=2e-5, atol=2e-6)
        # the first layer's weight gradient: 300 x 200, from `rows` rows
        assert np.array_equal(got[0][0], blas[0][0]) != own, rows


@pytest.mark.parametrize("batch", [128, 256])  # 256: two halves of 128 rows
def test_training_through_it_matches_the_reference_on_1_and_2_threads(batch, own_limit, rng):
    sizes, acts, loss = (784, 256, 128, 10), ["relu", "relu", "softmax"], "cross_entropy"
    n = 2 * batch + 37
    X = rng.random(size=(n, sizes[0])).astype(np.float32)
    y = make_targets(rng, loss, n, sizes[-1])
    after = {}
    for threads in (1, 2):
        net, layers, losses = fit_at_threads(threads, sizes, acts, loss, X, y, batch, "float32", 4)
        after[threads] = (net.params.copy(), losses)
    batches = [np.arange(s, min(s + batch, n)) for s in range(0, n, batch)] * 2
    want = train(layers, X.astype(np.float64), y, loss, batches, lr=0.05, momentum=0.9)
    np.testing.assert_allclose(after[1][1], want, rtol=2e-4, atol=2e-4)
    np.testing.assert_array_equal(after[2][0], after[1][0])
    assert after[2][1] == after[1][1]


def test_every_avx2_build_has_it():
    # the AVX2 and AVX-512 builds are compiled with AVX2 and FMA
    for isa in _dispatch.available():
        if isa != "baseline":
            assert _dispatch.load(isa).own_gemm_available()
    assert not _dispatch.load("baseline").own_gemm_available()
