"""Every buffer the compiled core works on starts on a 64-byte boundary
(``fastnn._buffers``): parameters, gradients, optimizer state, workspaces,
also after a pickle round trip."""

import pickle

import numpy as np
import pytest

import fastnn
from fastnn import _buffers


@pytest.mark.parametrize("n", [0, 1, 7, 255, 256, 1000, 4099])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_aligned_buffers(n, dtype):
    a = _buffers.empty(n, dtype)
    z = _buffers.zeros(n, dtype)
    big = n * np.dtype(dtype).itemsize >= _buffers.SMALL  # smaller ones: as NumPy has them
    for buf in (a, z):
        assert buf.shape == (n,) and buf.dtype == np.dtype(dtype)
        assert not big or buf.ctypes.data % 64 == 0
    assert not z.any()
    c = _buffers.aligned_copy(np.arange(n, dtype=dtype))
    assert not big or c.ctypes.data % 64 == 0
    np.testing.assert_array_equal(c, np.arange(n, dtype=dtype))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_network_and_optimizer_buffers_are_aligned(rng, dtype):
    net = fastnn.Sequential(
        [fastnn.Dense(25, 17, activation="relu"), fastnn.Dense(17, 3, activation="softmax")],
        dtype=dtype,
        seed=0,
    )
    opt = fastnn.Adam(lr=1e-3)
    X = rng.normal(size=(40, 25))
    y = rng.integers(0, 3, size=40)
    net.fit(X, y, epochs=1, batch_size=8, optimizer=opt)
    net.predict(X)
    state = opt._state_for(net)
    buffers = [net.params, net._grads, state.buffer, *net._work.values()]
    assert all(b.ctypes.data % 64 == 0 for b in buffers)
    net2, opt2 = pickle.loads(pickle.dumps((net, opt)))
    np.testing.assert_array_equal(net2.params, net.params)
    assert net2.params.ctypes.data % 64 == 0
    assert opt2._state_for(net2).buffer.ctypes.data % 64 == 0
    np.testing.assert_array_equal(opt2._state_for(net2).buffer, state.buffer)
