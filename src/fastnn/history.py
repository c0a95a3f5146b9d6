"""What a training call did: ``History``, its losses, rates and accuracy per
epoch and step, and the check that a finished run did not blow up."""

from __future__ import annotations

import warnings

import numpy as np

from .exceptions import DivergenceWarning

__all__ = ["History", "warn_if_blown_up"]


class History:
    """What a call to ``fit`` or ``partial_fit`` did.

    Attributes
    ----------
    loss : list of float
        Mean training loss of each epoch: the mean of that epoch's step
        losses, weighted by batch size.
    step_loss : list of float
        Loss of every gradient step, computed on its batch before the update.
    batch_sizes : list of int
        Rows in each step's batch (the last batch of an epoch may be smaller).
    steps_per_epoch : int
        Gradient updates per epoch: 1 for full batch, n for online learning.
    lr : list of float
        Learning rate of each epoch (changes only under a schedule).
    accuracy : list of float
        Per epoch, for classification losses (cross-entropy, binary
        cross-entropy): the fraction of the epoch's rows that their step
        classified right, before its update (measured like ``loss``, in the
        compiled loop; a row is right when the largest output is its label's,
        or for binary cross-entropy when every output is on its target's side
        of 0.5). Empty for ``mse``.
    val_loss, val_accuracy : list of float
        Per epoch, with validation data (accuracy for classification losses).
    stopped_early : bool
        True if a callback (such as ``EarlyStopping``) ended training.
    interrupted : bool
        True if Ctrl-C stopped training early (the model holds the weights
        after the last completed step).
    """

    _FIELDS = (
        "loss",
        "step_loss",
        "batch_sizes",
        "steps_per_epoch",
        "lr",
        "accuracy",
        "val_loss",
        "val_accuracy",
        "stopped_early",
        "interrupted",
    )

    def __init__(
        self,
        loss=None,
        step_loss=None,
        batch_sizes=None,
        steps_per_epoch=0,
        lr=None,
        val_loss=None,
        val_accuracy=None,
        stopped_early=False,
        interrupted=False,
        accuracy=None,
    ):
        self.loss = [] if loss is None else loss
        self.step_loss = [] if step_loss is None else step_loss
        self.batch_sizes = [] if batch_sizes is None else batch_sizes
        self.steps_per_epoch = steps_per_epoch
        self.lr = [] if lr is None else list(lr)
        self.accuracy = [] if accuracy is None else list(accuracy)
        self.val_loss = [] if val_loss is None else list(val_loss)
        self.val_accuracy = [] if val_accuracy is None else list(val_accuracy)
        self.stopped_early = stopped_early
        self.interrupted = interrupted

    # After a compiled run the step losses stay in the array the kernel
    # wrote, and the batch sizes as one epoch's pattern: both become lists
    # only when read (a long run of tiny steps would otherwise spend more
    # time building lists than training).
    @property
    def loss(self) -> list:
        if self._loss is None:
            sizes = np.asarray(self._sizes_pattern[0], dtype=np.float64)
            full = len(self._step_array) // len(sizes)
            per_epoch = self._step_array[: full * len(sizes)].reshape(full, len(sizes))
            self._loss = ((per_epoch @ sizes) / sizes.sum()).tolist()
        return self._loss

    @loss.setter
    def loss(self, value) -> None:
        self._loss = value if isinstance(value, list) else list(value)

    @property
    def step_loss(self) -> list:
        if self._step_loss is None:
            self._step_loss = self._step_array.tolist()
        return self._step_loss

    @step_loss.setter
    def step_loss(self, value) -> None:
        self._step_loss = value if isinstance(value, list) else list(value)
        self._step_array = None

    @property
    def _step_loss_array(self) -> np.ndarray:
        """The step losses as a float64 array (for callers inside fastnn)."""
        if self._step_array is None:
            self._step_array = np.asarray(self._step_loss, dtype=np.float64)
        return self._step_array

    @property
    def batch_sizes(self) -> list:
        if self._batch_sizes is None:
            one_epoch, done = self._sizes_pattern
            full, rest = divmod(done, len(one_epoch))
            self._batch_sizes = one_epoch * full + one_epoch[:rest]
        return self._batch_sizes

    @batch_sizes.setter
    def batch_sizes(self, value) -> None:
        self._batch_sizes = value if isinstance(value, list) else list(value)

    def _set_steps(self, losses: np.ndarray, one_epoch: list) -> None:
        """The steps of a compiled run: their losses, one epoch's batch sizes."""
        self._loss, self._step_loss, self._step_array = None, None, losses
        self._batch_sizes, self._sizes_pattern = None, (one_epoch, len(losses))

    @classmethod
    def _one_step(
        cls, value: float, rows: int, lr: float, accuracy: float | None = None
    ) -> History:
        """The History of one step that was a whole epoch (a chunk)."""
        hist = cls.__new__(cls)
        hist.__dict__.update(
            _loss=[value],
            _step_loss=[value],
            _step_array=None,
            _batch_sizes=[rows],
            steps_per_epoch=1,
            lr=[lr],
            accuracy=[] if accuracy is None else [accuracy],
            val_loss=[],
            val_accuracy=[],
            stopped_early=False,
            interrupted=False,
        )
        return hist

    @property
    def epochs(self) -> int:
        return len(self.loss)

    def __eq__(self, other) -> bool:
        if not isinstance(other, History):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in self._FIELDS)

    def __repr__(self) -> str:
        # a few lines whatever the length of the run: sizes, and the ends of each list
        steps = len(self._step_array) if self._step_loss is None else len(self._step_loss)
        parts = [
            f"epochs={self.epochs}",
            f"steps={steps}",
            f"steps_per_epoch={self.steps_per_epoch}",
        ]
        for name in ("loss", "accuracy", "val_loss", "val_accuracy", "lr"):
            values = getattr(self, name)
            if values:
                parts.append(f"{name}={_ends(values)}")
        parts += [f"stopped_early={self.stopped_early}", f"interrupted={self.interrupted}"]
        return "History(" + ", ".join(parts) + ")"


def _ends(values: list) -> str:
    """[first, ..., last] in short form: the whole list if it has up to 4 values."""
    shown = [f"{v:.4g}" for v in (values if len(values) <= 4 else values[:2] + values[-2:])]
    if len(values) > 4:
        shown[2:2] = [f"... ({len(values)} values)"]
    return "[" + ", ".join(shown) + "]"


# A run whose loss at its end is this many times its loss at its start has
# blown up: a healthy run lowers its loss, and noise or a schedule's restart
# moves it by a small factor, never a thousandfold.
_BLOWUP_FACTOR = 1e3


def warn_if_blown_up(hist: History, lr: float | None = None) -> None:
    """Warn (DivergenceWarning) when the mean step loss over the last steps
    of a run is at least _BLOWUP_FACTOR times that over its first steps
    (the first and last epoch, or a tenth of a one-epoch run's steps)."""
    losses = hist._step_loss_array
    n = len(losses)
    if n < 2:
        return
    k = max(1, min(hist.steps_per_epoch or 1, n // 10))
    first, last = float(losses[:k].mean()), float(losses[-k:].mean())
    if not (first > 0 and np.isfinite(last) and last >= _BLOWUP_FACTOR * first):
        return
    rate = f" (now {lr:g})" if lr is not None else ""
    warnings.warn(
        f"training blew up: the mean loss of the last {k} step(s) is {last:.3g}, "
        f"{last / first:.2g} times the {first:.3g} of the first {k}; the weights are "
        f"unlikely to be of use. Try a lower learning rate{rate} or standardise X.",
        DivergenceWarning,
        stacklevel=3,
    )
