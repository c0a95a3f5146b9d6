"""The lecture's figures, one function each, one module per chapter.

Every function draws on a new :class:`matplotlib.figure.Figure` and returns
it: nothing is shown and pyplot's global state is never touched, so the
functions work the same in a script, a notebook (a returned figure displays
itself) and on a server without a display. Save with ``fig.savefig(path)``.

Each works on its own with a user's own model or data, and takes what fastnn
returns as it comes: a ``History`` (or a list of them), a ``Sequential``, a
fitted estimator or ``Perceptron``, a ``RegressionMachine``, a result of
:mod:`fastnn.models`; anything else is refused with a ``TypeError`` or
``ValueError`` that names it.

:mod:`~fastnn.plot.regression`, the regression machine:

- :func:`regression_fit`: data, the fitted line and the line through the origin
- :func:`loss_surface`: the error E(a, b) as a contour map, with the
  gradient-descent paths rolling down into its minimum
- :func:`loss_per_step`: the loss of every gradient step, for several runs

:mod:`~fastnn.plot.neurons`, neurons and perceptrons:

- :func:`gate_decision_lines`: McCulloch-Pitts neurons and their decision lines
- :func:`perceptron_lines`: the lines a perceptron learned (or failed to)
- :func:`decision_regions`: the regions of a 2-D classifier

:mod:`~fastnn.plot.networks`, networks and digits:

- :func:`digit_image`: an 8x8 image as the numbers it is made of
- :func:`network_drawing`: a network as circles and weighted edges
- :func:`probability_bars`: digit images with their predicted probabilities
- :func:`confusion_matrix`: true against predicted classes, with counts
- :func:`conv_filters`: the kernels of a convolution layer as small images
- :func:`feature_maps`: an image and each channel of every image layer

:mod:`~fastnn.plot.practice`, training in practice:

- :func:`optimizer_paths`: several optimizers on one error surface, and how
  many steps each needs to get down
- :func:`loss_surfaces`: error surfaces side by side (e.g. raw and scaled input)
- :func:`learning_curves`: train against held-out curves, one panel per run
- :func:`loss_per_epoch`: the mean training loss of each epoch, several runs
- :func:`activation_histograms`: what each layer outputs, one row per network

:mod:`~fastnn.plot._style` holds the shared palette (``CLASS_COLORS``,
``NEGATIVE``, ``POSITIVE``, ``PATH_COLORS``) and figure setup.
:func:`layer_outputs`, the output of every layer of a network, is computed
in :mod:`fastnn.inspection` and offered here too.

Every function takes ``lang="en"`` (the default) or ``lang="ja"``: all its
titles, labels, legends and notes come from one text table per language
(``text/en.json``, ``text/ja.json``), and a Japanese figure draws them in the
IPAexGothic font of matplotlib-fontja (``pip install "fastnn[ja]"``), Latin
letters and symbols in matplotlib's DejaVu Sans; matplotlib's own defaults
are left as they were. Without the font a Japanese figure is drawn in
English, with one ``UserWarning`` saying how to get it. Text given as an
argument (``title=``, ``xlabel=`` ...) is drawn as given; ``title=None``
draws none.

This package imports matplotlib; ``import fastnn`` does not import it, and
nothing imports matplotlib-fontja until a Japanese figure is drawn.
"""

from ..inspection import layer_outputs
from ._style import CLASS_COLORS, NEGATIVE, PATH_COLORS, POSITIVE
from .networks import (
    confusion_matrix,
    conv_filters,
    digit_image,
    feature_maps,
    network_drawing,
    probability_bars,
)
from .neurons import decision_regions, gate_decision_lines, perceptron_lines
from .practice import (
    activation_histograms,
    learning_curves,
    loss_per_epoch,
    loss_surfaces,
    optimizer_paths,
)
from .regression import loss_per_step, loss_surface, regression_fit

__all__ = [
    "digit_image",
    "regression_fit",
    "loss_surface",
    "loss_per_step",
    "gate_decision_lines",
    "perceptron_lines",
    "decision_regions",
    "network_drawing",
    "probability_bars",
    "confusion_matrix",
    "layer_outputs",
    "conv_filters",
    "feature_maps",
    "optimizer_paths",
    "loss_surfaces",
    "learning_curves",
    "loss_per_epoch",
    "activation_histograms",
    "CLASS_COLORS",
    "NEGATIVE",
    "POSITIVE",
    "PATH_COLORS",
]
