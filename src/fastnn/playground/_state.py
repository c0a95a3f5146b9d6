"""The playground's settings: read from the page's URL query, checked, capped.

Every value a browser sends is untrusted text. Each is parsed on its own; a
value that does not parse, or lies outside its range, is replaced by its
default and reported as a :class:`Notice` that the page shows, so a bad
link still opens a working playground. Sizes are capped (hidden units,
layers, steps per frame) so that one tab cannot exhaust the machine.
Nothing read here reaches the file system or ``eval``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any
from urllib.parse import urlencode

from .._text import LANGUAGES

__all__ = [
    "ACTIVATIONS",
    "DATASETS",
    "LIMITS",
    "OPTIMIZERS",
    "Notice",
    "Settings",
    "defaults_for",
    "from_query",
    "to_query",
]

DATASETS = ("hubble", "and", "or", "xor", "circles", "spirals", "blobs", "digits")
PLANE_SETS = ("and", "or", "xor", "circles", "spirals", "blobs")  # 2-D classification
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
ACTIVATIONS = ("relu", "tanh", "sigmoid")

# The caps: what one browser tab may ask of the server.
LIMITS: dict[str, Any] = {
    "lr": (0.0, 100.0),  # open below: lr > 0
    "batch": (1, 4096),  # rows per step (also capped at the training rows)
    "layers": 4,  # hidden layers
    "units": 64,  # units per hidden layer
    "l2": (0.0, 1.0),
    "dropout": (0.0, 0.9),
    "noise": (0.0, 1.0),
    "test": (0.0, 0.8),
    "speed": (1, 2000),  # gradient steps per frame
    "seed": (0, 2**31 - 1),
    "value_chars": 64,  # longest value read from the query
}


@dataclass(frozen=True)
class Notice:
    """A refused value: which setting, what was given, what is used instead.

    ``reason`` is a key of the page's texts (``"not_number"``,
    ``"not_integer"``, ``"range"``,
    ``"choice"``, ``"hidden"``, ``"unknown"``); the page words it in its
    language.
    """

    name: str
    given: str
    used: str
    reason: str


@dataclass(frozen=True)
class Settings:
    """Everything that defines a playground run; the page's URL holds it.

    Parameters
    ----------
    dataset : str
        One of :data:`DATASETS`.
    lr : float
        Learning rate, ``0 < lr <= 100``.
    batch : int or None
        Rows per gradient step: None is full batch, 1 online learning.
    optimizer : str
        One of :data:`OPTIMIZERS` (momentum and Nesterov use momentum 0.9).
    hidden : tuple of int
        Units of each hidden layer (up to 4 layers of up to 64 units); ()
        is no hidden layer.
    activation : str
        Activation of the hidden layers: ``relu``, ``tanh`` or ``sigmoid``.
    l2 : float
        Weight decay (L2 penalty) in [0, 1], as torch's ``weight_decay``.
    dropout : float
        Dropout rate after each hidden layer, in [0, 0.9].
    noise : float
        Spread of the 2-D sets' points, in [0, 1].
    test : float
        Fraction of the rows held out for the test loss, in [0, 0.8].
    speed : int
        Gradient steps per frame, 1 to 2000.
    autoplay : bool
        Start training when the page opens.
    seed : int
        Seeds the data, the split, the starting weights and the batches.
    lang : str
        ``en`` or ``ja``.

    Raises
    ------
    ValueError, TypeError
        On a value out of range or of the wrong type.
    """

    dataset: str = "xor"
    lr: float = 0.1
    batch: int | None = None
    optimizer: str = "sgd"
    hidden: tuple[int, ...] = (4, 4)
    activation: str = "tanh"
    l2: float = 0.0
    dropout: float = 0.0
    noise: float = 0.2
    test: float = 0.3
    speed: int = 10
    autoplay: bool = False
    seed: int = 0
    lang: str = "en"
    notices: tuple[Notice, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        for name, choices in (
            ("dataset", DATASETS),
            ("optimizer", OPTIMIZERS),
            ("activation", ACTIVATIONS),
            ("lang", LANGUAGES),
        ):
            if getattr(self, name) not in choices:
                raise ValueError(
                    f"{name} must be one of {', '.join(choices)}, got {getattr(self, name)!r}"
                )
        for name in ("lr", "l2", "dropout", "noise", "test"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"{name} must be a number, got {value!r}")
            _check_range(name, float(value))
        for name in ("speed", "seed"):
            _check_int(name, getattr(self, name))
        if self.batch is not None:
            _check_int("batch", self.batch)
        if not isinstance(self.hidden, tuple) or len(self.hidden) > LIMITS["layers"]:
            raise ValueError(
                f"hidden must be a tuple of at most {LIMITS['layers']} layer sizes, "
                f"got {self.hidden!r}"
            )
        for units in self.hidden:
            if isinstance(units, bool) or not isinstance(units, int):
                raise TypeError(f"hidden layer sizes must be integers, got {units!r}")
            if not 1 <= units <= LIMITS["units"]:
                raise ValueError(f"hidden layer sizes must be 1 to {LIMITS['units']}, got {units}")
        if not isinstance(self.autoplay, bool):
            raise TypeError(f"autoplay must be True or False, got {self.autoplay!r}")

    def with_(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied (checked as the constructor checks)."""
        return replace(self, notices=(), **changes)


def _check_range(name: str, value: float) -> None:
    low, high = LIMITS[name]
    low_ok = value > low if name == "lr" else value >= low
    if not (math.isfinite(value) and low_ok and value <= high):
        bound = f"> {low:g}" if name == "lr" else f">= {low:g}"
        raise ValueError(f"{name} must be {bound} and <= {high:g}, got {value!r}")


def _check_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    low, high = LIMITS[name]
    if not low <= value <= high:
        raise ValueError(f"{name} must be {low} to {high}, got {value}")


# Per data set, the settings that differ from Settings' defaults: values
# that learn visibly within a few seconds.
_DATASET_DEFAULTS: dict[str, dict[str, Any]] = {
    "hubble": {"lr": 0.3, "hidden": (), "speed": 2, "test": 0.0},
    "and": {"hidden": (), "lr": 0.5},
    "or": {"hidden": (), "lr": 0.5},
    "xor": {"optimizer": "adam", "lr": 0.05},
    "circles": {"optimizer": "adam", "lr": 0.05, "hidden": (8,)},
    "spirals": {"optimizer": "adam", "lr": 0.02, "hidden": (16, 16), "noise": 0.1},
    "blobs": {"hidden": (), "lr": 0.1, "noise": 0.5},
    "digits": {
        "lr": 0.1,
        "optimizer": "momentum",
        "batch": 32,
        "hidden": (32,),
        "activation": "relu",
        "test": 0.25,
        "speed": 5,
    },
}


def defaults_for(dataset: str, lang: str = "en") -> Settings:
    """The starting settings of a data set (its own learning rate, network...)."""
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, got {dataset!r}")
    return Settings(dataset=dataset, lang=lang, **_DATASET_DEFAULTS[dataset])


# ---------------------------------------------------------------- the query
def _text(raw: Any) -> str:
    """One query value as text: bytes decoded, cut to ``value_chars``."""
    if isinstance(raw, (list, tuple)):
        raw = raw[0] if raw else ""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    return str(raw).strip()[: LIMITS["value_chars"]]


def _float(text: str) -> float:
    value = float(text)  # ValueError on "abc"; "nan", "inf" are caught by the range
    return value


def _int(text: str) -> int:
    if not text.lstrip("+-").isascii() or not text.lstrip("+-").isdigit():
        raise ValueError(text)
    return int(text)


def _batch(text: str) -> int | None:
    return None if text.lower() == "full" else _int(text)


def _hidden(text: str) -> tuple[int, ...]:
    if text in ("", "0", "none"):
        return ()
    parts = text.split(",")
    if len(parts) > LIMITS["layers"]:
        raise ValueError(text)
    sizes = tuple(_int(p.strip()) for p in parts)
    if any(not 1 <= s <= LIMITS["units"] for s in sizes):
        raise ValueError(text)
    return sizes


def _flag(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(text)


_PARSERS = {
    "lr": _float,
    "batch": _batch,
    "hidden": _hidden,
    "l2": _float,
    "dropout": _float,
    "noise": _float,
    "test": _float,
    "speed": _int,
    "autoplay": _flag,
    "seed": _int,
}
_CHOICES = {"optimizer": OPTIMIZERS, "activation": ACTIVATIONS, "lang": LANGUAGES}
QUERY_NAMES = ("dataset", *_CHOICES, *_PARSERS)


def format_value(name: str, value: Any) -> str:
    """A setting as the URL writes it: ``batch=full``, ``hidden=4,4``, ``autoplay=1``."""
    if name == "batch":
        return "full" if value is None else str(value)
    if name == "hidden":
        return ",".join(map(str, value)) if value else "0"
    if name == "autoplay":
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back as the same float
    return str(value)


def parse_one(settings: Settings, name: str, text: Any) -> tuple[Settings, Notice | None]:
    """``settings`` with one setting read from text, as the URL or a knob gives it.

    Returns the new settings and None, or, when the value is refused, the
    unchanged settings and the :class:`Notice` saying why. Never raises on a
    bad value. ``dataset`` and ``lang`` are read by :func:`from_query`.
    """
    text = _text(text)
    default = getattr(settings, name, None)
    if name in _CHOICES:
        if text.lower() in _CHOICES[name]:
            return settings.with_(**{name: text.lower()}), None
        return settings, Notice(name, text, str(default), "choice")
    if name not in _PARSERS:
        return settings, Notice(name[:32], text, "", "unknown")
    try:
        value = _PARSERS[name](text)
        return settings.with_(**{name: value}), None  # with the range checks of Settings
    except (ValueError, TypeError, OverflowError):
        if name == "hidden":
            reason = "hidden"
        else:
            reason = "range" if _parses(name, text) else "not_number"
            if reason == "not_number" and _PARSERS[name] in (_int, _batch) and _is_float(text):
                reason = "not_integer"
        return settings, Notice(name, text, format_value(name, default), reason)


def from_query(arguments: Mapping[str, Any], lang: str = "en") -> Settings:
    """Settings from a URL query, each bad value replaced by its default.

    Parameters
    ----------
    arguments : mapping of str to str, bytes or a list of them
        The query, as ``tornado``'s ``request.arguments`` gives it (a list of
        bytes per name; the first is used) or as plain strings.
    lang : str
        The language when the query does not name one.

    Returns
    -------
    Settings
        The data set's defaults (:func:`defaults_for`) with the query's
        values; ``notices`` lists every value that was refused and why.
    """
    notices: list[Notice] = []
    lang = lang if lang in LANGUAGES else "en"
    given = {str(k)[:32]: _text(v) for k, v in list(arguments.items())[:64]}
    dataset = given.get("dataset", "xor").lower()
    if dataset not in DATASETS:
        notices.append(Notice("dataset", given["dataset"], "xor", "choice"))
        dataset = "xor"
    settings = defaults_for(dataset, lang)
    for name, text in given.items():
        if name == "dataset":
            continue
        settings, notice = parse_one(settings, name, text)
        if notice is not None:
            notices.append(notice)
    return replace(settings, notices=tuple(notices))


def limits_text(name: str) -> str:
    """The accepted values of a setting, as a message shows them: ``0 < lr <= 100``."""
    if name in _CHOICES:
        return ", ".join(_CHOICES[name])
    if name == "dataset":
        return ", ".join(DATASETS)
    if name == "batch":
        return f"full or {LIMITS['batch'][0]} to {LIMITS['batch'][1]}"
    low, high = LIMITS[name]
    if name == "lr":
        return f"{low:g} < lr <= {high:g}"
    return f"{low:g} to {high:g}"


def _parses(name: str, text: str) -> bool:
    try:
        _PARSERS[name](text)
    except (ValueError, OverflowError):
        return False
    return True


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def to_query(settings: Settings) -> str:
    """The URL query that gives back ``settings``: ``dataset=xor&lr=0.05&...``."""
    items = [(f.name, getattr(settings, f.name)) for f in fields(settings) if f.name != "notices"]
    return urlencode([(name, format_value(name, value)) for name, value in items])
