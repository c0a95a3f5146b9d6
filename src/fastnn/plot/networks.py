"""Networks and digits: the drawn network, images, probabilities, filters and feature maps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Patch

from .._validation import check_images
from ..inspection import layer_outputs, network_of
from ._runs import _is_numbers, _kind
from ._style import NEGATIVE, OWN, POSITIVE, figure, localized, percent, symmetric_limit, words

_COLUMN_GAP = 2.6  # horizontal distance between layers, in drawing units


@localized
def digit_image(
    image: Any, label: Any = None, show_values: bool = True, *, lang: str = "en"
) -> Figure:
    """An image as what the machine sees: a grid of numbers.

    Parameters
    ----------
    image : array-like of shape (h, w) or (h * w,) for a square image
        Pixel values (for the digits, 0..16 ink counts). One row of ``X``
        as a network takes it, (1, h * w) or (1, h, w) or (1, 1, h, w),
        is drawn as that image.
    label : int or str, optional
        The task's answer for this image, shown in the title.
    show_values : bool
        Write each pixel's number in its cell.
    lang : {"en", "ja"}
        Language of every text in the figure (Japanese needs ``fastnn[ja]``;
        without it the figure is drawn in English, with one warning).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        For an image that is not 2-D or a flat square.
    """
    t = words(lang)["digit_image"]
    img = np.asarray(image, dtype=float)
    while img.ndim > 2 and img.shape[0] == 1:  # (1, h, w), (1, 1, h, w): one sample
        img = img[0]
    if img.ndim == 2 and img.shape[0] == 1 and img.shape[1] > 1:  # one flat row of X
        img = img[0]
    if img.ndim == 1:
        side = int(round(np.sqrt(img.size)))
        if side * side != img.size:
            raise ValueError(f"a 1-D image must have a square number of pixels, got {img.size}")
        img = img.reshape(side, side)
    if img.ndim != 2:
        raise ValueError(f"image must be 2-D (h, w) or a flat square image, got shape {img.shape}")
    fig = figure(5.2, 4.6)
    ax = fig.add_subplot()
    vmax = max(float(img.max()), 1e-12)
    shown = ax.imshow(img, cmap="gray_r", vmin=min(0.0, float(img.min())), vmax=vmax)
    if show_values:
        for (r, c), v in np.ndenumerate(img):
            ax.text(
                c,
                r,
                f"{v:g}",
                ha="center",
                va="center",
                fontsize=9,
                color="white" if v > 0.55 * vmax else "black",
            )
    ax.set_xticks(range(img.shape[1]))
    ax.set_yticks(range(img.shape[0]))
    ax.set_xlabel(t["column"])
    ax.set_ylabel(t["row"])
    title = t["title"].format(h=img.shape[0], w=img.shape[1], n=img.size)
    if label is not None:
        title += t["label"].format(label=label)
    ax.set_title(title)
    fig.colorbar(shown, ax=ax, label=t["ink"], shrink=0.9)
    return fig


def _label_spot(
    x0: float,
    y0: float,
    x1: float,
    y1: float,
    placed: list,
    size: tuple[float, float] = (0.5, 0.24),
) -> tuple[float, float]:
    """A point on the edge (x0, y0)-(x1, y1) whose label box overlaps no placed label."""
    candidates = (0.3, 0.42, 0.2, 0.54, 0.66, 0.12, 0.78, 0.88)
    for t in candidates:
        x, y = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
        if all(abs(x - px) > size[0] or abs(y - py) > size[1] for px, py in placed):
            break
    else:
        t = candidates[0]
        x, y = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
    placed.append((x, y))
    return x, y


@localized
def network_drawing(
    net: Any,
    *,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    max_neurons: int = 12,
    show_values: bool | None = None,
    title: str | None = OWN,
    lang: str = "en",
) -> Figure:
    """A network as the lecture draws it: neurons as circles, weights as edges.

    An edge's colour gives the sign of its weight (red positive, blue
    negative) and its width the magnitude. Each neuron after the inputs
    shows its bias and activation.

    Parameters
    ----------
    net : Sequential, fitted MLPClassifier / MLPRegressor / Perceptron, or RegressionMachine
        A network of ``Dense`` layers (anything with ``layers`` whose ``W``
        has shape (n_in, n_out) and ``b`` shape (n_out,)); a model is drawn
        as the network that holds its weights.
    input_names, output_names : sequence of str, optional
        Labels of the input and output neurons (default x1.., ŷ1..).
    max_neurons : int
        Wider layers show their first and last neurons around a "⋮".
    show_values : bool, optional
        Write each weight on its edge; default: only for small networks.
    title : str or None
        Default: the figure's own title; None for none.
    lang : {"en", "ja"}
        Language of every text in the figure (Japanese needs ``fastnn[ja]``;
        without it the figure is drawn in English, with one warning).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError, ValueError
        For a network that is not made of ``Dense`` layers, or has none.
    """
    t = words(lang)["network_drawing"]
    if not hasattr(net, "layers"):
        net = network_of(net)
    layers = list(net.layers)
    if not layers:
        raise ValueError("net has no layers to draw")
    for i, layer in enumerate(layers):
        W = getattr(layer, "W", None)
        if W is None or np.ndim(W) != 2:
            raise TypeError(f"network_drawing draws Dense layers only; layer {i} is {layer!r}")
    sizes = [layers[0].W.shape[0]] + [layer.W.shape[1] for layer in layers]
    max_neurons = max(3, int(max_neurons))

    def shown(n: int) -> list:
        """Indices of the neurons drawn (None for the ellipsis)."""
        if n <= max_neurons:
            return list(range(n))
        head = (max_neurons - 1) // 2
        return list(range(head)) + [None] + list(range(n - (max_neurons - 1 - head), n))

    columns = [shown(n) for n in sizes]
    tallest = max(len(c) for c in columns)
    n_edges = sum(min(a, max_neurons) * min(b, max_neurons) for a, b in zip(sizes, sizes[1:]))
    if show_values is None:
        show_values = n_edges <= 16
    pos = []
    for col, idx in enumerate(columns):
        ys = np.linspace(0, -(len(idx) - 1), len(idx)) + (len(idx) - 1) / 2.0
        pos.append({j: (_COLUMN_GAP * col, y) for j, y in zip(idx, ys)})

    weights = [np.asarray(layer.W, dtype=float) for layer in layers]
    w_max = max(float(np.abs(W).max()) for W in weights) or 1.0
    last = len(sizes) - 1
    x_lo, x_hi = -0.8, _COLUMN_GAP * last + 1.2
    y_lo, y_hi = -(tallest - 1) / 2.0 - 0.6, (tallest - 1) / 2.0 + 1.7
    scale = 0.95  # inches per unit of the drawing
    fig = figure(max(4.8, scale * (x_hi - x_lo)), max(3.4, scale * (y_hi - y_lo) + 0.9))
    ax = fig.add_subplot()
    radius = 0.3
    placed: list = []  # boxes (x, y) of weight labels already written
    for li, W in enumerate(weights):
        for i, (x0, y0) in pos[li].items():
            for j, (x1, y1) in pos[li + 1].items():
                if i is None or j is None:
                    continue
                w = W[i, j]
                ax.plot(
                    [x0 + radius, x1 - radius],
                    [y0, y1],
                    zorder=1,
                    solid_capstyle="round",
                    color=POSITIVE if w > 0 else NEGATIVE,
                    lw=0.4 + 5.0 * abs(w) / w_max,
                    alpha=0.35 + 0.55 * abs(w) / w_max,
                )
                if show_values:
                    xm, ym = _label_spot(x0 + radius, y0, x1 - radius, y1, placed)
                    ax.text(
                        xm,
                        ym,
                        f"{w:.2f}",
                        fontsize=8,
                        ha="center",
                        va="center",
                        zorder=2,
                        bbox={
                            "boxstyle": "round,pad=0.15",
                            "facecolor": "white",
                            "edgecolor": "none",
                            "alpha": 0.85,
                        },
                    )
    for col in range(len(columns)):
        for j, (x, y) in pos[col].items():
            if j is None:
                ax.text(x, y, "⋮", ha="center", va="center", fontsize=18)
                continue
            face = "#e8e8e8" if col == 0 else ("#fff3d6" if col == last else "white")
            ax.add_patch(
                Circle((x, y), radius, facecolor=face, edgecolor="black", lw=1.5, zorder=3)
            )
            if col == 0:
                name = input_names[j] if input_names is not None else f"x{j + 1}"
                ax.text(x, y, name, ha="center", va="center", fontsize=10, zorder=4)
            else:
                b = float(layers[col - 1].b[j])
                ax.text(
                    x,
                    y,
                    f"{b:+.2f}" if show_values else "",
                    ha="center",
                    va="center",
                    fontsize=7.5,
                    zorder=4,
                )
            if col == last:
                name = (
                    output_names[j]
                    if output_names is not None
                    else ("ŷ" if sizes[-1] == 1 else f"ŷ{j + 1}")
                )
                ax.text(x + radius + 0.15, y, name, ha="left", va="center", fontsize=11)
    for col, n in enumerate(sizes):
        what = (
            t["input"] if col == 0 else (t["output"] if col == last else t["hidden"].format(i=col))
        )
        act = "" if col == 0 else f"\n{layers[col - 1].activation}"
        ax.text(
            _COLUMN_GAP * col,
            (tallest - 1) / 2.0 + 0.75,
            f"{what} ({n}){act}",
            ha="center",
            va="bottom",
            fontsize=10,
        )
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
    ax.set_aspect("equal")
    ax.axis("off")
    handles: list[Any] = [
        Line2D([], [], color=POSITIVE, lw=3, label=t["positive"]),
        Line2D([], [], color=NEGATIVE, lw=3, label=t["negative"]),
        Line2D([], [], color="0.5", lw=0.8, label=t["width"]),
    ]
    if show_values:
        handles.append(
            Circle(
                (0, 0),
                0.1,
                facecolor="white",
                edgecolor="black",
                label=t["bias"],
            )
        )
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncols=2,
        fontsize=9,
        frameon=False,
    )
    title = t["title"] if title is OWN else title
    if title:
        ax.set_title(title)
    return fig


@localized
def probability_bars(
    images: Any,
    probs: Any,
    labels: Any = None,
    top: int = 3,
    *,
    ncols: int = 3,
    class_names: Sequence[str] | None = None,
    title: str | None = None,
    lang: str = "en",
) -> Figure:
    """Digit images next to the probabilities a classifier gives each class.

    Each image is titled with its ``top`` most probable classes, e.g.
    "7: 93%, 1: 4%, 9: 1%". Its bars are green where the most probable
    class is the true label, red where it is not (grey without labels).

    Parameters
    ----------
    images : array-like of shape (n, h, w), (n, h*w) or (n, 1, h, w)
    probs : array-like of shape (n, n_classes), or a fitted classifier
        Predicted probabilities, e.g. ``net.predict(X)`` of a softmax
        network; or the network (a Sequential, an MLPClassifier) itself,
        which is asked for them on ``images`` as given.
    labels : array-like of shape (n,), optional
        True classes.
    top : int
        How many classes to name above each image.
    ncols : int
        Image-and-bars pairs per row.
    class_names : sequence of str, optional
        Default: the class indices 0, 1, ...
    title : str, optional
    lang : {"en", "ja"}
        Language of every text in the figure (Japanese needs ``fastnn[ja]``;
        without it the figure is drawn in English, with one warning).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError, ValueError
        For images, probabilities or labels that do not fit together.
    """
    t = words(lang)["probability_bars"]
    imgs = check_images(images)
    if hasattr(probs, "predict") or hasattr(probs, "predict_proba"):
        predict = getattr(probs, "predict_proba", None) or probs.predict
        probs = predict(np.asarray(images, dtype=float))
    elif not _is_numbers(probs):
        raise TypeError(
            f"probs must be an array of probabilities (n, n_classes) or a fitted "
            f"classifier, got {_kind(probs)}"
        )
    P = np.asarray(probs, dtype=float)
    if P.ndim != 2 or len(P) != len(imgs):
        raise ValueError(f"probs must have shape ({len(imgs)}, n_classes), got {P.shape}")
    n, k = P.shape
    names = [str(c) for c in (class_names if class_names is not None else range(k))]
    if len(names) != k:
        raise ValueError(f"{len(names)} class names for {k} classes")
    truth = None if labels is None else np.asarray(labels).ravel()
    if truth is not None and len(truth) != n:
        raise ValueError(f"{n} images but {len(truth)} labels")
    ncols = max(1, min(int(ncols), n))
    rows = -(-n // ncols)
    fig = figure(4.3 * ncols, 2.55 * rows)
    gs = fig.add_gridspec(rows, 2 * ncols, width_ratios=[1, 1.5] * ncols)
    for i in range(n):
        r, c = divmod(i, ncols)
        ax_img = fig.add_subplot(gs[r, 2 * c])
        ax_bar = fig.add_subplot(gs[r, 2 * c + 1])
        ax_img.imshow(imgs[i], cmap="gray_r")
        ax_img.set_xticks([])
        ax_img.set_yticks([])
        order = np.argsort(-P[i])[: max(1, int(top))]
        best = order[0]
        if truth is None:
            colors = ["0.6"] * k
            colors[best] = "0.25"
            ax_img.set_xlabel(t["image"], fontsize=9)
        else:
            right = names[best] == str(truth[i])
            colors = ["0.75"] * k
            colors[best] = "#2ca02c" if right else "#d62728"
            ax_img.set_xlabel(t["true"].format(label=truth[i]), fontsize=10)
        ax_bar.bar(range(k), P[i], color=colors)
        ax_bar.set_ylim(0, 1)
        ax_bar.set_xticks(range(k), names, fontsize=8)
        ax_bar.set_yticks([0, 0.5, 1], ["0", "50%", "100%"], fontsize=8)
        ax_bar.set_xlabel(t["class"], fontsize=9)
        ax_bar.set_title(
            ", ".join(f"{names[j]}: {percent(P[i, j])}" for j in order), fontsize=9.5, loc="left"
        )
        ax_bar.grid(axis="y", alpha=0.3)
    if truth is not None:
        fig.legend(
            handles=[
                Patch(color="#2ca02c", label=t["right"]),
                Patch(color="#d62728", label=t["wrong"]),
                Patch(color="0.75", label=t["other"]),
            ],
            loc="outside lower center",
            ncols=3,
            fontsize=9,
        )
    if title:
        fig.suptitle(title)
    return fig


@localized
def confusion_matrix(
    y_true: Any,
    y_pred: Any,
    n_classes: int | None = None,
    *,
    class_names: Sequence[str] | None = None,
    title: str | None = None,
    lang: str = "en",
) -> Figure:
    """True against predicted classes, the count written in every cell.

    Parameters
    ----------
    y_true, y_pred : array-like of int, shape (n_samples,)
        Class indices 0 .. n_classes - 1. ``y_pred`` may also be the
        probabilities (n_samples, n_classes) that ``net.predict`` gives;
        each row's most probable class is taken.
    n_classes : int, optional
        Default: the columns of probabilities, else one more than the
        largest class seen.
    class_names : sequence of str, optional
    title : str, optional
        Default: the accuracy.
    lang : {"en", "ja"}
        Language of every text in the figure (Japanese needs ``fastnn[ja]``;
        without it the figure is drawn in English, with one warning).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        For labels that are not class indices, or do not pair up.
    """
    words_ = words(lang)["confusion_matrix"]
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if p.ndim == 2 and p.shape[1] > 1 and t.ndim == 1:  # probabilities, one column a class
        if n_classes is None:
            n_classes = p.shape[1]
        p = p.argmax(axis=1)
    for name, v in (("y_true", t), ("y_pred", p)):
        if v.dtype.kind not in "biuf" or (v.dtype.kind == "f" and not np.all(v == np.round(v))):
            raise ValueError(
                f"{name} must hold class indices 0, 1, ... (integers), got dtype {v.dtype}"
            )
    t, p = t.ravel().astype(np.int64), p.ravel().astype(np.int64)
    if len(t) != len(p):
        raise ValueError(f"y_true has {len(t)} labels but y_pred has {len(p)}")
    if len(t) == 0:
        raise ValueError("no labels to count")
    k = int(max(t.max(), p.max()) + 1) if n_classes is None else int(n_classes)
    if min(t.min(), p.min()) < 0 or max(t.max(), p.max()) >= k:
        raise ValueError(f"labels must lie in 0..{k - 1}")
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (t, p), 1)
    names = [str(c) for c in (class_names if class_names is not None else range(k))]
    fig = figure(max(4.5, 0.55 * k + 2.5), max(4.0, 0.5 * k + 1.8))
    ax = fig.add_subplot()
    shown = ax.imshow(counts, cmap="Blues")
    top = counts.max() or 1
    for (r, c), v in np.ndenumerate(counts):
        if v:
            ax.text(
                c,
                r,
                str(v),
                ha="center",
                va="center",
                fontsize=11 if k <= 12 else 7,
                color="white" if v > 0.6 * top else ("#b00000" if r != c else "black"),
            )
    ax.set_xticks(range(k), names)
    ax.set_yticks(range(k), names)
    ax.set_xlabel(words_["predicted"])
    ax.set_ylabel(words_["true"])
    acc = float(np.trace(counts)) / len(t)
    ax.set_title(
        title
        if title is not None
        else words_["title"].format(right=np.trace(counts), n=len(t), acc=100 * acc)
    )
    fig.colorbar(shown, ax=ax, label=words_["count"], shrink=0.85)
    return fig


@localized
def conv_filters(
    layer: Any,
    *,
    show_values: bool | None = None,
    cmap: str = "RdBu_r",
    title: str | None = OWN,
    lang: str = "en",
) -> Figure:
    """Each kernel of a convolution layer as a small image.

    Positive weights are red, negative blue, zero white (one colour scale,
    centred at 0, for every kernel), so a kernel reads as the pattern of
    ink it responds to: red where ink adds to the response, blue where it
    subtracts.

    Parameters
    ----------
    layer : Conv2D, Sequential or array-like of shape (out, in, kh, kw)
        A convolution layer (its ``W`` and ``b``), a network (its first
        ``Conv2D``; also the network of a ``fastnn.models`` result), or the
        kernels themselves.
    show_values : bool, optional
        Write each weight in its cell; default when kernels are at most 5x5.
    cmap : str
        A diverging colormap.
    title : str or None
        Default: the figure's own title; None for none.
    lang : {"en", "ja"}
        Language of every text in the figure (Japanese needs ``fastnn[ja]``;
        without it the figure is drawn in English, with one warning).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        For kernels not of shape (out, in, kh, kw), or a network without ``Conv2D``.
    """
    t = words(lang)["conv_filters"]
    title = t["title"] if title is OWN else title
    b = None
    if not (hasattr(layer, "W") or hasattr(layer, "layers") or _is_numbers(layer)):
        layer = network_of(layer, "layer")
    if hasattr(layer, "layers"):
        convs = [each for each in layer.layers if getattr(each, "kind", "") == "conv2d"]
        if not convs:
            raise ValueError("the network has no Conv2D layer")
        layer = convs[0]
    if hasattr(layer, "W"):
        if layer.W is None:
            raise ValueError(f"{layer!r} has no weights yet: put it in a network first")
        W = np.asarray(layer.W, dtype=float)
        b = np.asarray(layer.b, dtype=float)
    else:
        W = np.asarray(layer, dtype=float)
    if W.ndim != 4:
        raise ValueError(f"kernels must have shape (out, in, kh, kw), got {W.shape}")
    n_out, n_in, kh, kw = W.shape
    if show_values is None:
        show_values = kh * kw <= 25
    limit = symmetric_limit(W)
    cell = max(1.25, 0.42 * max(kh, kw))
    fig = figure(cell * n_out + 1.3, cell * n_in + (1.3 if n_in == 1 else 1.0))
    axes = fig.subplots(n_in, n_out, squeeze=False)
    shown = None
    for i in range(n_in):
        for o in range(n_out):
            ax = axes[i, o]
            kernel = W[o, i]
            shown = ax.imshow(kernel, cmap=cmap, vmin=-limit, vmax=limit)
            if show_values:
                for (r, c), v in np.ndenumerate(kernel):
                    ax.text(
                        c,
                        r,
                        f"{v:.2f}",
                        ha="center",
                        va="center",
                        fontsize=7.5,
                        color="white" if abs(v) > 0.6 * limit else "black",
                    )
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                head = t["filter"].format(i=o + 1)
                if b is not None:
                    head += "\n" + t["bias"].format(b=b[o])
                ax.set_title(head, fontsize=9)
            if o == 0 and n_in > 1:
                ax.set_ylabel(t["channel"].format(i=i + 1), fontsize=9)
    fig.colorbar(shown, ax=axes, label=t["weight"], shrink=0.9)
    if title:
        fig.suptitle(
            f"{title}\n"
            + t["kernels"].format(n=n_out, kh=kh, kw=kw)
            + (t["on_channels"].format(n=n_in) if n_in > 1 else ""),
            fontsize=11,
        )
    return fig


def _shape_text(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(int(v)) for v in shape) + ")"


def _layer_name(layer: Any, t: dict) -> str:
    """A short name for a row label: "conv 3x3, relu", "max pool 2x2"."""
    kind = getattr(layer, "kind", "")
    if kind == "conv2d":
        kh, kw = layer.kernel_size
        act = "" if layer.activation == "identity" else f", {layer.activation}"
        return t["conv"].format(kh=kh, kw=kw) + act
    if kind in ("maxpool2d", "avgpool2d"):
        kh, kw = layer.size
        return t[kind].format(kh=kh, kw=kw)
    return repr(layer)


@localized
def feature_maps(
    net: Any,
    image: Any,
    *,
    label: Any = None,
    max_channels: int = 8,
    title: str | None = OWN,
    lang: str = "en",
) -> Figure:
    """An image and what each image layer of a network makes of it.

    Row 1 is the input; then one row per layer whose output is still an
    image (convolutions, pooling), one panel per channel. A row shares one
    colour scale, so its channels compare: dark is strong. Layers whose
    output is flat (``Flatten``, ``Dense``) are not drawn; the title tells
    what the network finally reads.

    Parameters
    ----------
    net : Sequential, or a fastnn.models result holding one
        A network whose first layer is ``Conv2D``.
    image : array-like of shape (c, h, w), or (h, w) for one channel
        One sample as the network takes it (for the digits in 0..1); also
        (1, c, h, w), or (h * w,) for one square channel.
    label : int or str, optional
        Its true class, shown in the title.
    max_channels : int
        Panels per row at most (the first channels).
    title : str or None
        Default: the figure's own title; None for none.
    lang : {"en", "ja"}
        Language of every text in the figure (Japanese needs ``fastnn[ja]``;
        without it the figure is drawn in English, with one warning).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError, ValueError
        For a network without image layers, or an image of the wrong shape.
    """
    t = words(lang)["feature_maps"]
    title = t["title"] if title is OWN else title
    net = network_of(net)
    img = np.asarray(image, dtype=float)
    if img.ndim == 4 and img.shape[0] == 1:
        img = img[0]
    if img.ndim == 1:
        side = int(round(np.sqrt(img.size)))
        if side * side != img.size:
            raise ValueError(f"a flat image must have a square number of pixels, got {img.size}")
        img = img.reshape(side, side)
    if img.ndim == 2:
        img = img[None]
    if img.ndim != 3:
        raise ValueError(f"image must have shape (c, h, w) or (h, w), got {img.shape}")
    outputs = layer_outputs(net, img[None])
    rows = [(f"{t['input']}\n{_shape_text(img.shape)}", img)]
    for layer, out in zip(net.layers, outputs):
        if out.ndim == 4 and getattr(layer, "kind", "") != "dropout":
            rows.append((f"{_layer_name(layer, t)}\n→ {_shape_text(out.shape[1:])}", out[0]))
    if len(rows) == 1:
        raise ValueError("the network has no layer whose output is an image")
    ncols = max(1, min(int(max_channels), max(len(maps) for _, maps in rows)))
    fig = figure(1.45 * ncols + 2.3, 1.75 * len(rows) + 1.0)
    axes = fig.subplots(len(rows), ncols, squeeze=False)
    for r, (name, maps) in enumerate(rows):
        lo, hi = float(maps.min()), float(maps.max())
        if r == 0:
            cmap, vmin, vmax = "gray_r", min(0.0, lo), max(hi, 1e-12)
        elif lo < 0:
            cmap, vmax = "RdBu_r", symmetric_limit(maps)
            vmin = -vmax
        else:
            cmap, vmin, vmax = "magma_r", 0.0, max(hi, 1e-12)
        shown = None
        for c in range(ncols):
            ax = axes[r, c]
            if c >= len(maps):
                ax.set_visible(False)
                continue
            shown = ax.imshow(maps[c], cmap=cmap, vmin=vmin, vmax=vmax)
            ax.set_xticks([])
            ax.set_yticks([])
            h, w = maps[c].shape
            ax.set_title(
                (t["image"] if r == 0 else t["channel"].format(c=c + 1)) + f" ({h}x{w})",
                fontsize=8.5,
            )
        axes[r, 0].set_ylabel(name, fontsize=9)
        if r:  # the input's grey scale needs no bar (and one would shift column 1)
            fig.colorbar(shown, ax=list(axes[r]), label=t["output"], shrink=0.9, aspect=10)
    if ncols >= 3:  # the free space next to the input: how to read the rows
        note = axes[0, 1]
        note.set_visible(True)
        note.axis("off")
        note.text(
            0.02,
            0.5,
            t["note"],
            transform=note.transAxes,
            ha="left",
            va="center",
            fontsize=9,
            clip_on=False,
            in_layout=False,
        )  # it may run over the empty panels beside it
    if title:
        P = outputs[-1][0]
        text = title
        if label is not None:
            text += t["label"].format(label=label)
        if getattr(net.layers[-1], "activation", "") == "softmax":
            text += t["read"].format(c=int(np.argmax(P)), p=percent(float(P.max())))
        fig.suptitle(text, fontsize=11)
    return fig
