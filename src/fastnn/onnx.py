"""ONNX export and import, and fastnn's converters for skl2onnx (extra ``fastnn[onnx]``).

Export (``to_onnx``)
    A ``Sequential`` becomes a graph of standard ONNX operators (opset
    ``OPSET``): ``Dense`` -> ``Gemm`` (``W`` as ``B``, ``(n_in, n_out)``);
    ``Conv2D`` -> ``Conv`` (``pads = [ph, pw, ph, pw]``, begins then ends);
    ``MaxPool2D`` -> ``MaxPool`` and ``AvgPool2D`` -> ``AveragePool`` with
    ``kernel_shape = strides = size`` and no padding; ``Flatten`` ->
    ``Flatten(axis=1)``; ``Dropout(p)`` -> ``Dropout`` with ratio ``p``
    (the identity at inference); activations ``Relu``, ``Sigmoid``, ``Tanh``,
    ``Softmax(axis=-1)`` and, for ``"step"``, ``GreaterOrEqual(x, 0)`` cast
    back to the float type. Input ``"X"`` (batch dimension ``"N"``),
    output ``"Y"``, element type ``float`` (float32) or ``double`` (float64),
    the network's ``config()`` as JSON under the metadata key
    ``"fastnn.config"``. Operator specifications:
    https://onnx.ai/onnx/operators/.

    onnxruntime's CPU provider has no ``double`` kernel for ``Conv`` and
    ``AveragePool``: a float64 network with those layers exports to a valid
    graph (``onnx.checker`` passes, ``onnx.reference`` runs it) that
    onnxruntime refuses to load; export such a network in float32 to serve
    it with onnxruntime.

Estimators
    ``MLPClassifier`` and ``MLPRegressor`` convert through skl2onnx, with
    the outputs of skl2onnx's converters for scikit-learn's MLP: a
    classifier gives ``label`` (int64, or string for string classes; for a
    multilabel indicator, int64 of shape ``(N, n_labels)``) then
    ``probabilities`` (``(N, n_classes)``; with ``zipmap=True`` skl2onnx's
    ``output_label`` and ``output_probability`` instead); a regressor gives
    ``variable`` of shape ``(N, n_outputs)``. Importing this module
    registers the converters with skl2onnx when skl2onnx is installed
    (``register()`` does it again), so that ``skl2onnx.to_onnx`` converts a
    ``Pipeline`` that holds fastnn estimators.

Import (``from_onnx``)
    A chain of layers, one running tensor from the input to the output:
    ``Gemm`` (``transA = 0``), ``MatMul`` (+ ``Add`` of a bias), ``Conv``
    (symmetric pads, no dilation, one group), ``MaxPool``/``AveragePool``
    (non-overlapping, unpadded), ``Flatten(axis=1)``, ``Reshape`` to
    ``(N, -1)``, ``Relu``, ``Sigmoid``, ``Tanh``, ``Softmax`` over the last
    axis, ``Identity``, ``Dropout``, ``Cast`` to the input's float type, and
    fastnn's step (``GreaterOrEqual(x, 0)`` then ``Cast``). Weights come from
    initializers or ``Constant`` nodes. Anything else is refused with an
    error naming the node and its operator.
"""

from ._onnx import INPUT_NAME, OPSET, OUTPUT_NAME, from_onnx, register, to_onnx

__all__ = ["to_onnx", "from_onnx", "register", "OPSET", "INPUT_NAME", "OUTPUT_NAME"]

try:  # register the estimators' converters when skl2onnx is there
    import skl2onnx as _skl2onnx  # noqa: F401
except ImportError:
    pass
else:
    register()
