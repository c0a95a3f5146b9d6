"""The browser playground: fastnn's engine learning live while a student turns the knobs.

``python -m fastnn playground`` serves it (see :func:`serve`); it needs the
optional extra ``fastnn[playground]`` (Bokeh). Importing this package does
not import Bokeh: only :func:`serve` and :mod:`fastnn.playground._app` do.
"""

from __future__ import annotations

from ._state import DATASETS, OPTIMIZERS, Settings, from_query, to_query

__all__ = ["DATASETS", "OPTIMIZERS", "Settings", "from_query", "to_query", "serve"]


def serve(*args, **kwargs):
    """Serve the playground; see :func:`fastnn.playground._server.serve`."""
    from ._server import serve as _serve

    return _serve(*args, **kwargs)
