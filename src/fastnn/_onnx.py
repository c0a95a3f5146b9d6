"""ONNX export and import, and the estimators' converters for skl2onnx:
the implementation behind ``fastnn.onnx``, which documents it. Importing
this module imports onnx only (skl2onnx when an estimator is converted)."""

from __future__ import annotations

import io
import json
import os
from typing import Any, BinaryIO

import numpy as np

from ._interop import NetworkBuilder, require

require("onnx", "fastnn's ONNX export and import")  # a clear ImportError naming the extra if absent
import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from . import __version__  # noqa: E402
from .layers import AvgPool2D, Conv2D, Dense, Dropout, Flatten, MaxPool2D  # noqa: E402
from .network import Sequential  # noqa: E402

__all__ = ["to_onnx", "from_onnx", "register", "OPSET", "INPUT_NAME", "OUTPUT_NAME"]

OPSET = 17  # ai.onnx opset of the exported graphs (onnxruntime >= 1.13 runs it)
IR_VERSION = 8  # the IR version that goes with opset 17
INPUT_NAME = "X"
OUTPUT_NAME = "Y"
METADATA_KEY = "fastnn.config"

_ELEM = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE}
_DTYPE = {TensorProto.FLOAT: "float32", TensorProto.DOUBLE: "float64"}
_ACT_OPS = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softmax": "Softmax"}


# ----------------------------------------------------------------- graphs
class _Graph:
    """Nodes and initializers of a graph being written, with unique names."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._taken: set[str] = {INPUT_NAME, OUTPUT_NAME}

    def name(self, base: str) -> str:
        name, k = base, 1
        while name in self._taken:
            name, k = f"{base}_{k}", k + 1
        self._taken.add(name)
        return name

    def const(self, base: str, array: np.ndarray) -> str:
        name = self.name(base)
        self.initializers.append(numpy_helper.from_array(np.array(array, order="C"), name))
        return name

    def node(
        self, op: str, inputs: list[str], base: str, out: str | None = None, **attrs: Any
    ) -> str:
        out = self.name(base) if out is None else out
        self.nodes.append(helper.make_node(op, inputs, [out], name=self.name(op + "_" + base)))
        for key, value in attrs.items():
            self.nodes[-1].attribute.append(helper.make_attribute(key, value))
        return out


class _ConverterGraph(_Graph):
    """The same calls, written into skl2onnx's container (inside a converter)."""

    def __init__(self, scope: Any, container: Any) -> None:
        self.scope, self.container = scope, container

    def name(self, base: str) -> str:
        return self.scope.get_unique_variable_name(base)

    def const(self, base: str, array: np.ndarray) -> str:
        name = self.name(base)
        array = np.asarray(array)
        if array.dtype.kind in "UO":  # strings
            content = [str(v).encode("utf-8") for v in array.ravel()]
            self.container.add_initializer(name, TensorProto.STRING, list(array.shape), content)
        else:
            tensor = numpy_helper.from_array(np.array(array, order="C"))
            self.container.add_initializer(name, tensor.data_type, list(array.shape), tensor)
        return name

    def node(
        self, op: str, inputs: list[str], base: str, out: str | None = None, **attrs: Any
    ) -> str:
        out = self.name(base) if out is None else out
        self.container.add_node(
            op, inputs, out, name=self.scope.get_unique_operator_name(op), **attrs
        )
        return out


def _param(array: np.ndarray | None) -> np.ndarray:
    if array is None:  # pragma: no cover - a network's layers have their views
        raise ValueError("the layer does not belong to a network")
    return array


def _emit_network(g: _Graph, net: Sequential, x: str) -> str:
    """Write the nodes of ``net`` on the tensor ``x``; the name of its output."""
    dtype = net.dtype
    for i, layer in enumerate(net.layers):
        at = f"layer{i}"
        if isinstance(layer, Dense):
            W = g.const(f"{at}.W", _param(layer.W))  # (n_in, n_out)
            b = g.const(f"{at}.b", _param(layer.b))  # (n_out,)
            x = g.node("Gemm", [x, W, b], f"{at}.dense")
        elif isinstance(layer, Conv2D):
            W = g.const(f"{at}.W", _param(layer.W))  # (out, in, kh, kw)
            b = g.const(f"{at}.b", _param(layer.b))  # (out,)
            (ph, pw), (sh, sw) = layer.padding, layer.stride
            x = g.node(
                "Conv",
                [x, W, b],
                f"{at}.conv",
                kernel_shape=list(layer.kernel_size),
                strides=[sh, sw],
                pads=[ph, pw, ph, pw],  # x1_begin, x2_begin, x1_end, x2_end
                dilations=[1, 1],
                group=1,
            )
        elif isinstance(layer, (MaxPool2D, AvgPool2D)):
            attrs: dict[str, Any] = dict(kernel_shape=list(layer.size), strides=list(layer.size))
            if layer.kind == "avgpool2d":
                attrs["count_include_pad"] = 0
            op = "MaxPool" if layer.kind == "maxpool2d" else "AveragePool"
            x = g.node(op, [x], f"{at}.pool", **attrs)
        elif isinstance(layer, Flatten):
            x = g.node("Flatten", [x], f"{at}.flatten", axis=1)
        elif isinstance(layer, Dropout):
            ratio = g.const(f"{at}.ratio", np.array(layer.p, dtype=np.float64))
            x = g.node("Dropout", [x, ratio], f"{at}.dropout")
        else:  # pragma: no cover - every layer kind is listed above
            raise TypeError(f"layer {i} ({layer!r}) has no ONNX form")
        act = layer.activation
        if act == "softmax":
            x = g.node("Softmax", [x], f"{at}.softmax", axis=-1)
        elif act == "step":  # Heaviside: 1 where x >= 0
            zero = g.const(f"{at}.zero", np.zeros((), dtype=dtype))
            fires = g.node("GreaterOrEqual", [x, zero], f"{at}.fires")
            x = g.node("Cast", [fires], f"{at}.step", to=_ELEM[dtype])
        elif act != "identity":
            x = g.node(_ACT_OPS[act], [x], f"{at}.{act}")
    return x


def _sequential_model(net: Sequential) -> onnx.ModelProto:
    if net._spec is None:
        raise ValueError(
            "the network does not know the shape of its input yet: give the first "
            "Conv2D an input_shape=(c, h, w), or call predict or fit once, before exporting"
        )
    elem = _ELEM[net.dtype]
    g = _Graph()
    _emit_network(g, net, INPUT_NAME)
    g.nodes[-1].output[0] = OUTPUT_NAME
    in_dims: list[Any] = ["N", *[int(v) for v in net._input_shape or ()]]
    graph = helper.make_graph(
        g.nodes,
        "fastnn_sequential",
        [helper.make_tensor_value_info(INPUT_NAME, elem, in_dims)],
        [helper.make_tensor_value_info(OUTPUT_NAME, elem, ["N", int(net.n_out)])],
        g.initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="fastnn",
        producer_version=__version__,
        ir_version=IR_VERSION,
        doc_string=repr(net),
    )
    helper.set_model_props(model, {METADATA_KEY: json.dumps(net.config())})
    return model


def to_onnx(
    model: Any,
    path: str | os.PathLike | BinaryIO | None = None,
    *,
    zipmap: bool | str = False,
) -> onnx.ModelProto:
    """Export a ``Sequential`` or a fitted estimator (``fastnn.to_onnx`` documents it)."""
    from .estimators import MLPClassifier, MLPRegressor

    if isinstance(model, Sequential):
        proto = _sequential_model(model)
    elif isinstance(model, (MLPClassifier, MLPRegressor)):
        proto = _estimator_model(model, zipmap)
    else:
        raise TypeError(
            "to_onnx takes a fastnn Sequential, MLPClassifier or MLPRegressor, "
            f"got {type(model).__name__}"
        )
    onnx.checker.check_model(proto, full_check=True)
    if path is not None:
        data = proto.SerializeToString()
        if hasattr(path, "write"):
            if isinstance(path, io.TextIOBase):
                raise TypeError("the file object must be open in binary mode ('wb')")
            path.write(data)
        elif isinstance(path, (str, os.PathLike)):
            with open(path, "wb") as f:
                f.write(data)
        else:
            raise TypeError(f"path must be a file name or a binary file object, got {path!r}")
    return proto


# ----------------------------------------------------------------- estimators
def _label_classes(est: Any, nocl: bool = False) -> np.ndarray:
    """The classes as ONNX labels: int64 for numbers and booleans (skl2onnx
    casts float labels to integers too), str for strings; with skl2onnx's
    option ``nocl``, the class indices 0 .. n_classes - 1."""
    classes = np.asarray(est.classes_)
    if nocl:
        return np.arange(len(classes), dtype=np.int64)
    if classes.dtype.kind in "biuf":
        return classes.astype(np.int64)
    if classes.dtype.kind == "U":
        return classes
    values = classes.tolist()
    if all(isinstance(v, str) for v in values):
        return np.array(values, dtype=str)
    if all(isinstance(v, (int, np.integer, bool, np.bool_)) for v in values):
        return np.array(values, dtype=np.int64)
    raise TypeError(
        f"class labels {values!r} are neither all numbers nor all strings: "
        "ONNX labels must be int64 or strings"
    )


def _check_fitted(est: Any) -> None:
    if "net_" not in vars(est):
        raise ValueError(
            f"this {type(est).__name__} is not fitted yet: call fit before exporting it"
        )


def _input_to_net(g: _Graph, x: str, input_elem: int | None, net: Sequential) -> str:
    """The converter's input in the network's dtype (a Cast when it differs)."""
    if input_elem == _ELEM[net.dtype]:
        return x
    return g.node("Cast", [x], "cast_input", to=_ELEM[net.dtype])


def _elem_of(variable: Any) -> int | None:
    try:
        return variable.type.to_onnx_type().tensor_type.elem_type
    except AttributeError:
        return None


def _convert_classifier(scope: Any, operator: Any, container: Any) -> None:
    est = operator.raw_operator
    net = est.net_
    g = _ConverterGraph(scope, container)
    x = _input_to_net(g, operator.inputs[0].full_name, _elem_of(operator.inputs[0]), net)
    p = _emit_network(g, net, x)  # (N, n_out)
    label_out, proba_out = operator.outputs[0].full_name, operator.outputs[1].full_name
    if est._kind == "binary":  # one logistic output: P = [1 - p, p]
        one = g.const("one", np.ones((), dtype=net.dtype))
        q = g.node("Sub", [one, p], "negative_proba")
        g.node("Concat", [q, p], "probabilities", out=proba_out, axis=1)
    else:
        g.node("Identity", [p], "probabilities", out=proba_out)
    if est._kind == "multilabel":  # each label where its probability > 0.5
        half = g.const("half", np.array(0.5, dtype=net.dtype))
        on = g.node("Greater", [proba_out, half], "label_on")
        g.node("Cast", [on], "label", out=label_out, to=TensorProto.INT64)
    else:  # the first most probable class, as numpy's argmax
        best = g.node("ArgMax", [proba_out], "argmax", axis=1, keepdims=0)
        labels = _label_classes(est, getattr(operator, "fastnn_nocl", False))
        classes = g.const("classes", labels)
        g.node("Gather", [classes, best], "label", out=label_out, axis=0)


def _convert_regressor(scope: Any, operator: Any, container: Any) -> None:
    net = operator.raw_operator.net_
    g = _ConverterGraph(scope, container)
    x = _input_to_net(g, operator.inputs[0].full_name, _elem_of(operator.inputs[0]), net)
    y = _emit_network(g, net, x)
    g.node("Identity", [y], "variable", out=operator.outputs[0].full_name)


def _tensor_type(dtype: np.dtype) -> Any:
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    return DoubleTensorType if dtype == np.float64 else FloatTensorType


def _classifier_shapes(operator: Any) -> None:
    from skl2onnx.common.data_types import Int64TensorType, StringTensorType

    est = operator.raw_operator
    n = operator.inputs[0].get_first_dimension()
    k = len(est.classes_)
    if est._kind == "multilabel":
        operator.outputs[0].type = Int64TensorType([n, k])
    elif _label_classes(est, getattr(operator, "fastnn_nocl", False)).dtype.kind == "U":
        operator.outputs[0].type = StringTensorType([n])
    else:
        operator.outputs[0].type = Int64TensorType([n])
    operator.outputs[1].type = _tensor_type(est.net_.dtype)([n, k])


def _regressor_shapes(operator: Any) -> None:
    net = operator.raw_operator.net_
    n = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = _tensor_type(net.dtype)([n, int(net.n_out)])


def _parse_classifier(scope: Any, model: Any, inputs: list, custom_parsers: Any = None) -> list:
    """Declare the outputs label and probabilities, then skl2onnx's ZipMap
    unless the option zipmap is False."""
    from skl2onnx._parse import _apply_zipmap, _get_sklearn_operator_name
    from skl2onnx.common.data_types import Int64TensorType

    _check_fitted(model)
    operator = scope.declare_local_operator(_get_sklearn_operator_name(type(model)), model)
    operator.inputs = inputs
    label = scope.declare_local_variable("label", Int64TensorType())
    proba = scope.declare_local_variable("probabilities", _tensor_type(model.net_.dtype)())
    operator.outputs.extend([label, proba])
    options = scope.get_options(model, dict(zipmap=True, nocl=False))
    operator.fastnn_nocl = bool(options["nocl"])
    if options["zipmap"] is False:
        return list(operator.outputs)
    if model._kind == "multilabel":
        raise ValueError("a multilabel classifier converts only with the option zipmap=False")
    return _apply_zipmap(options["zipmap"], scope, model, inputs[0].type, operator.outputs)


def _parse_regressor(scope: Any, model: Any, inputs: list, custom_parsers: Any = None) -> list:
    from skl2onnx._parse import _get_sklearn_operator_name

    _check_fitted(model)
    operator = scope.declare_local_operator(_get_sklearn_operator_name(type(model)), model)
    operator.inputs = inputs
    y = scope.declare_local_variable("variable", _tensor_type(model.net_.dtype)())
    operator.outputs.append(y)
    return list(operator.outputs)


def register() -> None:
    """Register fastnn's estimators with skl2onnx (converter, shape calculator
    and parser for each), so that ``skl2onnx.to_onnx`` and
    ``convert_sklearn`` convert them, alone or inside a ``Pipeline``.

    Done when ``fastnn.onnx`` is imported with skl2onnx installed; calling
    it again is harmless. The classifier takes skl2onnx's option
    ``zipmap`` (True, False or "columns"), as scikit-learn's classifiers do.

    Raises
    ------
    ImportError
        skl2onnx is not installed.
    """
    skl2onnx = require("skl2onnx", "fastnn.onnx.register")
    from .estimators import MLPClassifier, MLPRegressor

    skl2onnx.update_registered_converter(
        MLPClassifier,
        "FastnnMLPClassifier",
        _classifier_shapes,
        _convert_classifier,
        parser=_parse_classifier,
        options={"zipmap": [True, False, "columns"], "nocl": [False, True]},
    )
    skl2onnx.update_registered_converter(
        MLPRegressor,
        "FastnnMLPRegressor",
        _regressor_shapes,
        _convert_regressor,
        parser=_parse_regressor,
    )


def _estimator_model(est: Any, zipmap: bool | str) -> onnx.ModelProto:
    from .estimators import MLPClassifier

    _check_fitted(est)
    if zipmap not in (True, False, "columns"):
        raise ValueError(f"zipmap must be True, False or 'columns', got {zipmap!r}")
    register()
    from skl2onnx import convert_sklearn

    net = est.net_
    initial = [(INPUT_NAME, _tensor_type(net.dtype)([None, int(est.n_features_in_)]))]
    options = {id(est): {"zipmap": zipmap}} if isinstance(est, MLPClassifier) else None
    proto = convert_sklearn(est, initial_types=initial, options=options, target_opset=OPSET)
    config = {"estimator": type(est).__name__, "network": net.config()}
    helper.set_model_props(model=proto, dict_value={METADATA_KEY: json.dumps(config)})
    return proto


# ----------------------------------------------------------------- import
def _load(model: Any) -> onnx.ModelProto:
    """A checked ModelProto from a path, bytes, a file object or a ModelProto."""
    if isinstance(model, onnx.ModelProto):
        proto = model
    else:
        if isinstance(model, (bytes, bytearray, memoryview)):
            data = bytes(model)
        elif isinstance(model, (str, os.PathLike)):
            if os.path.isdir(model):
                raise ValueError(f"{os.fspath(model)!r} is a directory, not an ONNX file")
            with open(model, "rb") as f:
                data = f.read()
        elif hasattr(model, "read"):
            data = model.read()
            if isinstance(data, str):
                raise TypeError("the file object must be open in binary mode ('rb')")
        else:
            raise TypeError(
                "from_onnx takes a file name, bytes, a binary file object or an "
                f"onnx.ModelProto, got {type(model).__name__}"
            )
        if not data:
            raise ValueError("the ONNX file is empty")
        proto = onnx.ModelProto()
        try:
            proto.ParseFromString(data)
        except Exception as exc:  # protobuf's DecodeError and the like
            raise ValueError(f"not a readable ONNX model (truncated or not ONNX): {exc}") from None
    for tensor in proto.graph.initializer:
        if tensor.data_location == TensorProto.EXTERNAL:
            raise ValueError(
                f"initializer {tensor.name!r} keeps its data in an external file; "
                "fastnn reads only self-contained models"
            )
    try:
        onnx.checker.check_model(proto)  # the shapes: checked as the layers are read
    except Exception as exc:  # onnx.checker.ValidationError, and the like
        raise ValueError(f"not a valid ONNX model (onnx.checker): {exc}") from None
    return proto


def _attrs(node: onnx.NodeProto) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _where(node: onnx.NodeProto) -> str:
    return f"node {node.name!r} ({node.op_type})" if node.name else f"a {node.op_type} node"


class _Reader:
    """Walk a graph's nodes as one chain, feeding a NetworkBuilder."""

    def __init__(self, proto: onnx.ModelProto):
        graph = proto.graph
        self.opset = next(
            (o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None
        )
        self.consts: dict[str, np.ndarray] = {}
        for tensor in graph.initializer:
            try:
                self.consts[tensor.name] = numpy_helper.to_array(tensor)
            except Exception as exc:
                raise ValueError(f"initializer {tensor.name!r} cannot be read: {exc}") from None
        inputs = [v for v in graph.input if v.name not in self.consts]
        if len(inputs) != 1 or len(graph.output) != 1:
            raise ValueError(
                f"fastnn reads graphs with one input and one output; this one has "
                f"{len(inputs)} inputs ({[v.name for v in inputs]}) and "
                f"{len(graph.output)} outputs ({[v.name for v in graph.output]})"
            )
        tensor_type = inputs[0].type.tensor_type
        if tensor_type.elem_type not in _DTYPE:
            raise ValueError(
                f"the input {inputs[0].name!r} has element type "
                f"{TensorProto.DataType.Name(tensor_type.elem_type)}; fastnn reads float "
                "and double graphs"
            )
        self.elem = tensor_type.elem_type
        self.dtype = _DTYPE[self.elem]
        dims = [d.dim_value if d.HasField("dim_value") else None for d in tensor_type.shape.dim]
        if len(dims) not in (2, 4):
            raise ValueError(
                f"the input {inputs[0].name!r} has {len(dims)} dimensions; fastnn reads "
                "(N, features) and (N, channels, height, width)"
            )
        self.shape: tuple = tuple(dims[1:])  # one sample's shape, None where unknown
        self.input_shape = None if None in self.shape else tuple(int(v) for v in self.shape)
        self.current = inputs[0].name
        self.output = graph.output[0].name
        self.nodes = list(graph.node)
        self.builder = NetworkBuilder()
        self.pending_bias = False  # the last Dense came from a MatMul: an Add may follow

    def const(self, node: onnx.NodeProto, name: str, what: str) -> np.ndarray:
        if name not in self.consts:
            raise ValueError(
                f"{_where(node)}: its {what} {name!r} is computed, not a constant; "
                "fastnn reads weights from initializers and Constant nodes"
            )
        return self.consts[name]

    def weight(self, node: onnx.NodeProto, name: str, what: str) -> np.ndarray:
        """A constant parameter, of the graph's float type as ONNX requires."""
        value = self.const(node, name, what)
        if value.dtype != np.dtype(self.dtype):
            raise ValueError(
                f"{_where(node)}: its {what} {name!r} is {value.dtype.name} in a graph whose "
                f"input is {self.dtype}; ONNX needs them to be of one type"
            )
        return value

    def take(self, node: onnx.NodeProto, n_in: tuple[int, ...]) -> None:
        """The node reads the running tensor first and writes the next one."""
        if not node.input or node.input[0] != self.current:
            raise ValueError(
                f"{_where(node)} does not read the output of the node before it "
                f"({self.current!r}): fastnn reads a chain of layers"
            )
        if len(node.input) not in n_in:
            raise ValueError(f"{_where(node)} has {len(node.input)} inputs")
        self.current = node.output[0]

    def read(self) -> None:
        i = 0
        while i < len(self.nodes):
            node = self.nodes[i]
            i += 1
            if node.domain not in ("", "ai.onnx"):
                raise ValueError(
                    f"{_where(node)} of the domain {node.domain!r} is not supported: "
                    "fastnn reads standard ONNX operators only"
                )
            if node.op_type == "Constant":
                self.constant(node)
                continue
            if node.op_type == "GreaterOrEqual" and i < len(self.nodes):
                self.step(node, self.nodes[i])
                i += 1
                continue
            handler = getattr(self, "op_" + node.op_type, None)
            if handler is None:
                raise ValueError(
                    f"{_where(node)}: the operator {node.op_type} is not supported; fastnn "
                    "reads Gemm, MatMul, Add (a bias), Conv, MaxPool, AveragePool, "
                    "Flatten, Reshape (to flatten), Relu, Sigmoid, Tanh, Softmax, "
                    "Identity, Dropout and Cast"
                )
            if node.op_type != "Add":
                self.pending_bias = False
            handler(node)
        if self.current != self.output:
            raise ValueError(
                f"the graph's output {self.output!r} is not the end of its chain of "
                f"nodes ({self.current!r})"
            )

    # -- operators
    def constant(self, node: onnx.NodeProto) -> None:
        attrs = _attrs(node)
        if "value" not in attrs:
            raise ValueError(f"{_where(node)}: only Constant nodes with a tensor value are read")
        self.consts[node.output[0]] = numpy_helper.to_array(attrs["value"])

    def op_Gemm(self, node: onnx.NodeProto) -> None:
        a = _attrs(node)
        self.take(node, (2, 3))
        if a.get("transA", 0):
            raise ValueError(f"{_where(node)}: transA=1 transposes the data, not the weights")
        B = self.weight(node, node.input[1], "weight")
        W = B.T if a.get("transB", 0) else B  # (n_in, n_out)
        if W.ndim != 2:
            raise ValueError(f"{_where(node)}: the weight has shape {B.shape}, not 2-D")
        alpha, beta = float(a.get("alpha", 1.0)), float(a.get("beta", 1.0))
        W = W * alpha if alpha != 1.0 else W
        b = None
        if len(node.input) == 3 and node.input[2]:
            C = self.weight(node, node.input[2], "bias")
            b = self._bias(node, C, W.shape[1]) * beta
        self._flat(node)
        self.builder.add_dense(W, b, _where(node))
        self.shape = (W.shape[1],)

    def _bias(self, node: onnx.NodeProto, C: np.ndarray, n_out: int) -> np.ndarray:
        if C.size == 1:
            return np.full(n_out, C.ravel()[0])
        if C.shape in ((n_out,), (1, n_out)):
            return C.reshape(n_out)
        raise ValueError(f"{_where(node)}: a bias of shape {C.shape} does not fit {n_out} outputs")

    def _flat(self, node: onnx.NodeProto) -> None:
        if len(self.shape) != 1:
            raise ValueError(
                f"{_where(node)} takes (N, features) but is given a tensor of per-sample "
                f"shape {self.shape}: flatten it first"
            )

    def op_MatMul(self, node: onnx.NodeProto) -> None:
        self.take(node, (2,))
        W = self.weight(node, node.input[1], "weight")
        if W.ndim != 2:
            raise ValueError(f"{_where(node)}: the weight has shape {W.shape}, not 2-D")
        self._flat(node)
        self.builder.add_dense(W, None, _where(node))
        self.shape = (W.shape[1],)
        self.pending_bias = True

    def op_Add(self, node: onnx.NodeProto) -> None:
        if len(node.input) != 2 or self.current not in node.input:
            self.take(node, (2,))  # names the problem
        other = node.input[1] if node.input[0] == self.current else node.input[0]
        if not self.pending_bias:
            raise ValueError(
                f"{_where(node)}: fastnn reads Add only as the bias just after a MatMul"
            )
        self.current = node.output[0]
        name, kwargs, W, _, at = self.builder.layers[-1]
        b = self._bias(node, self.weight(node, other, "bias"), W.shape[1])
        self.builder.layers[-1] = (name, kwargs, W, b, at)
        self.pending_bias = False

    def op_Conv(self, node: onnx.NodeProto) -> None:
        a = _attrs(node)
        self.take(node, (2, 3))
        W = self.weight(node, node.input[1], "kernel")
        b = self.weight(node, node.input[2], "bias") if len(node.input) == 3 else None
        if W.ndim != 4 or len(self.shape) != 3:
            raise ValueError(
                f"{_where(node)}: fastnn computes 2-D convolutions of (N, c, h, w) images; "
                f"the kernel has shape {W.shape}, the input per-sample shape {self.shape}"
            )
        if a.get("group", 1) != 1:
            raise ValueError(f"{_where(node)}: grouped convolution (group={a['group']})")
        if any(d != 1 for d in a.get("dilations", [1, 1])):
            raise ValueError(f"{_where(node)}: dilated convolution ({a['dilations']})")
        if list(a.get("kernel_shape", W.shape[2:])) != list(W.shape[2:]):
            raise ValueError(f"{_where(node)}: kernel_shape does not match the kernel")
        pads = self._pads(node, a)
        strides = tuple(a.get("strides", [1, 1]))
        self.builder.add_conv(W, b, strides, pads, _where(node))
        self._image_after(node)

    def _pads(self, node: onnx.NodeProto, a: dict) -> tuple[int, int]:
        auto_pad = a.get("auto_pad", b"NOTSET")
        auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
        if auto_pad not in ("NOTSET", "VALID"):
            raise ValueError(f"{_where(node)}: auto_pad={auto_pad} is not supported")
        pads = list(a.get("pads", [0, 0, 0, 0])) if auto_pad == "NOTSET" else [0, 0, 0, 0]
        if len(pads) != 4 or pads[0] != pads[2] or pads[1] != pads[3]:
            raise ValueError(
                f"{_where(node)}: pads {pads} are not the same at both ends of each axis"
            )
        return pads[0], pads[1]

    def _image_after(self, node: onnx.NodeProto) -> None:
        """The per-sample shape after the layer just added."""
        layer = self.builder._types[self.builder.layers[-1][0]](**self.builder.layers[-1][1])
        self.shape = tuple(layer.output_shape(self.shape))

    def _pool(self, node: onnx.NodeProto, kind: str) -> None:
        a = _attrs(node)
        self.take(node, (1,))
        if len(node.output) > 1 and node.output[1]:
            raise ValueError(f"{_where(node)}: the Indices output is not supported")
        size = tuple(a.get("kernel_shape", []))
        strides = tuple(a.get("strides", [1] * len(size)))
        if len(size) != 2 or strides != size:
            raise ValueError(
                f"{_where(node)}: fastnn pools 2-D non-overlapping windows (strides equal "
                f"to kernel_shape), not kernel_shape={list(size)}, strides={list(strides)}"
            )
        if self._pads(node, a) != (0, 0):
            raise ValueError(f"{_where(node)}: padded pooling is not supported")
        if any(d != 1 for d in a.get("dilations", [1, 1])):
            raise ValueError(f"{_where(node)}: dilated pooling ({a['dilations']})")
        if a.get("ceil_mode", 0) and not self._divides(size):
            raise ValueError(f"{_where(node)}: ceil_mode=1 is not supported")
        if a.get("storage_order", 0):
            raise ValueError(f"{_where(node)}: storage_order=1 is not supported")
        if len(self.shape) != 3:
            raise ValueError(f"{_where(node)} takes images but is given {self.shape}")
        self.builder.add_pool(kind, size, _where(node))
        self._image_after(node)

    def _divides(self, size: tuple) -> bool:
        return all(s is not None and s % k == 0 for s, k in zip(self.shape[1:], size))

    def op_MaxPool(self, node: onnx.NodeProto) -> None:
        self._pool(node, "max")

    def op_AveragePool(self, node: onnx.NodeProto) -> None:
        self._pool(node, "avg")

    def op_Flatten(self, node: onnx.NodeProto) -> None:
        a = _attrs(node)
        self.take(node, (1,))
        if a.get("axis", 1) != 1:
            raise ValueError(f"{_where(node)}: only Flatten(axis=1) is read")
        self._to_flat(node)

    def _to_flat(self, node: onnx.NodeProto) -> None:
        if len(self.shape) == 1:
            return  # already (N, features): nothing to do
        self.builder.add_flatten(_where(node))
        self.shape = (None,) if None in self.shape else (int(np.prod(self.shape)),)

    def op_Reshape(self, node: onnx.NodeProto) -> None:
        self.take(node, (2,))
        target = [int(v) for v in self.const(node, node.input[1], "shape").ravel()]
        size = None if None in self.shape else int(np.prod(self.shape))
        flattens = len(target) == 2 and (
            (target[0] == 0 and target[1] == -1)
            or (target[0] in (0, -1) and size is not None and target[1] == size)
        )
        if not flattens:
            raise ValueError(
                f"{_where(node)}: only a Reshape that flattens each sample, to (N, -1), "
                f"is read, not to {target}"
            )
        self._to_flat(node)

    def _activation(self, node: onnx.NodeProto, name: str) -> None:
        self.take(node, (1,))
        self.builder.add_activation(name, _where(node))

    def op_Relu(self, node: onnx.NodeProto) -> None:
        self._activation(node, "relu")

    def op_Sigmoid(self, node: onnx.NodeProto) -> None:
        self._activation(node, "sigmoid")

    def op_Tanh(self, node: onnx.NodeProto) -> None:
        self._activation(node, "tanh")

    def op_Softmax(self, node: onnx.NodeProto) -> None:
        axis = _attrs(node).get("axis", -1 if (self.opset or 13) >= 13 else 1)
        if len(self.shape) != 1 or axis not in (1, -1):
            raise ValueError(
                f"{_where(node)}: fastnn computes softmax over the features of (N, features), "
                f"not over axis {axis} of per-sample shape {self.shape}"
            )
        self._activation(node, "softmax")

    def op_Identity(self, node: onnx.NodeProto) -> None:
        self.take(node, (1,))

    def op_Dropout(self, node: onnx.NodeProto) -> None:
        a = _attrs(node)
        self.take(node, (1, 2, 3))
        if len(node.output) > 1 and node.output[1]:
            raise ValueError(f"{_where(node)}: the mask output is not supported")
        p = float(a.get("ratio", 0.5))
        if len(node.input) > 1 and node.input[1]:
            p = float(self.const(node, node.input[1], "ratio").ravel()[0])
        if len(node.input) > 2 and node.input[2]:
            if self.const(node, node.input[2], "training_mode").any():
                raise ValueError(f"{_where(node)}: dropout in training mode is not a model")
        self.builder.add_dropout(p, _where(node))

    def op_Cast(self, node: onnx.NodeProto) -> None:
        to = _attrs(node).get("to")
        self.take(node, (1,))
        if to != self.elem:
            raise ValueError(
                f"{_where(node)}: a Cast to {TensorProto.DataType.Name(to)} changes the "
                f"values; fastnn reads only a Cast to the input's type "
                f"({TensorProto.DataType.Name(self.elem)})"
            )

    def step(self, node: onnx.NodeProto, cast: onnx.NodeProto) -> None:
        """fastnn's step: GreaterOrEqual(x, 0), then Cast back to the float type."""
        self.take(node, (2,))
        zero = self.const(node, node.input[1], "threshold")
        if zero.size != 1 or float(zero.ravel()[0]) != 0.0:
            raise ValueError(f"{_where(node)}: only a comparison with 0 (a step) is read")
        if cast.op_type != "Cast" or cast.input[0] != self.current:
            raise ValueError(f"{_where(node)}: a comparison must be cast back to numbers")
        self.op_Cast(cast)
        self.builder.add_activation("step", _where(node))


def from_onnx(model: Any, *, seed: int | None = None) -> Sequential:
    """Read an ONNX model into a ``Sequential`` (``fastnn.from_onnx`` documents it)."""
    proto = _load(model)
    reader = _Reader(proto)
    reader.read()
    loss, saved_seed = None, 0
    props = {p.key: p.value for p in proto.metadata_props}
    if METADATA_KEY in props:
        try:
            config = json.loads(props[METADATA_KEY])
            config = config.get("network", config)
            loss = config.get("loss")
            saved_seed = config.get("seed", 0)
        except (ValueError, AttributeError):
            loss, saved_seed = None, 0
    if not isinstance(saved_seed, int) or saved_seed < 0:
        saved_seed = 0
    try:
        return reader.builder.build(
            reader.dtype,
            input_shape=reader.input_shape,
            loss=loss,
            seed=saved_seed if seed is None else seed,
        )
    except (ValueError, TypeError):
        if loss is None:
            raise
        # a loss in the metadata that does not fit the graph: the default
        return reader.builder.build(
            reader.dtype,
            input_shape=reader.input_shape,
            seed=saved_seed if seed is None else seed,
        )
