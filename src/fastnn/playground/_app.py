"""The page of one browser tab: Bokeh widgets and figures around one :class:`Run`.

Bokeh draws everything (BokehJS, served by the Bokeh server itself); the
server sends only the data of what is drawn. A periodic callback trains the
run one tick per frame while "play" is on and refreshes the views and the
tab's title (``fastnn · step 120 · loss 0.231``).
"""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np
from bokeh.document import Document
from bokeh.layouts import column, row
from bokeh.models import (
    Button,
    ColumnDataSource,
    Div,
    LinearColorMapper,
    Select,
    Slider,
    Spinner,
    TextInput,
    Toggle,
)
from bokeh.palettes import Greys256, interp_palette
from bokeh.plotting import figure

from ._session import DIGITS_SHOWN, NEGATIVE, POSITIVE, RESTART_ON, Run
from ._state import (
    ACTIVATIONS,
    DATASETS,
    OPTIMIZERS,
    PLANE_SETS,
    Notice,
    Settings,
    defaults_for,
    format_value,
    from_query,
    parse_one,
    to_query,
)
from ._words import chapter, notice_text, words

__all__ = ["Playground", "make_document", "MAX_SESSIONS", "FRAME_MS", "SPEEDS"]

FRAME_MS = 40  # one frame every 40 ms: 25 frames per second at most (the target is 20)
MAX_SESSIONS = 16  # open tabs one server trains at a time
# A browser redraws a few hundred weighted edges in no time, thousands
# slowly: a network of n weights is redrawn every 1 + n // EDGES_PER_FRAME
# frames while training plays (the digits' 2,368: every 3rd frame).
EDGES_PER_FRAME = 1000
SPEEDS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000)

# the lecture's palette (fastnn.plot): class 0 blue, class 1 orange, and the
# regions' colours between them
CLASS_COLORS = ("#1f77b4", "#ff7f0e")
REGION_PALETTE = interp_palette(("#c6dbef", "#f7f7f7", "#fdd0a2"), 256)
TOOLS = "pan,wheel_zoom,box_zoom,reset,save"

_open_sessions = 0  # tabs open now (the Bokeh server runs documents in one thread)


def open_sessions() -> int:
    """How many tabs the server is training for now."""
    return _open_sessions


class Playground:
    """One tab's playground: its settings, its run, its widgets and views.

    Parameters
    ----------
    doc : bokeh.document.Document
        The tab's document; the playground adds its root and its frame callback.
    settings : Settings
        The starting settings (usually from the URL, :func:`from_query`).
    """

    def __init__(self, doc: Document, settings: Settings):
        self.doc = doc
        self.settings = settings
        self.run: Run | None = Run(settings)
        self.playing = settings.autoplay
        self.messages = [notice_text(n, settings.lang) for n in settings.notices]
        self._quiet = False  # True while the page's own values are set back
        self._sent = 0  # points of the loss curves already in the browser
        self._frames = 0  # frames refreshed
        self.build()
        self._frame_callback = doc.add_periodic_callback(self.frame, FRAME_MS)

    # ------------------------------------------------------------ the page
    def build(self) -> None:
        """(Re)build the page for the current settings and run."""
        s, w = self.settings, words(self.settings.lang)
        k = w["knobs"]
        self.doc.clear()
        self.widgets: dict[str, Any] = {}

        def select(name: str, options: list, value: str, title: str) -> Select:
            widget = Select(title=title, value=value, options=options, name=name, width=260)
            widget.on_change("value", lambda _a, _o, new: self.knob(name, new))
            self.widgets[name] = widget
            return widget

        dataset = Select(
            title=k["dataset"],
            value=s.dataset,
            options=[(d, w["datasets"][d]) for d in DATASETS],
            name="dataset",
            width=260,
        )
        dataset.on_change("value", lambda _a, _o, new: self.change_dataset(new))
        lr = TextInput(
            title=k["lr"],
            value=format_value("lr", s.lr),
            name="lr",
            width=260,
            css_classes=["fastnn-lr"],
        )
        lr.on_change("value", lambda _a, _o, new: self.knob("lr", new))
        self.widgets.update(dataset=dataset, lr=lr)
        mode_value = "full" if s.batch is None else ("online" if s.batch == 1 else "mini")
        mode = Select(
            title=k["mode"],
            value=mode_value,
            options=[(m, w["modes"][m]) for m in ("full", "mini", "online")],
            name="mode",
            width=260,
        )
        mode.on_change("value", lambda _a, _o, new: self.change_mode())
        batch = Spinner(
            title=k["batch"],
            low=1,
            high=4096,
            step=1,
            value=s.batch if s.batch and s.batch > 1 else 32,
            name="batch",
            width=260,
            visible=mode_value == "mini",
        )
        batch.on_change("value", lambda _a, _o, new: self.change_mode())
        self.widgets.update(mode=mode, batch=batch)
        optimizer = select(
            "optimizer",
            [(o, w["optimizers"][o]) for o in OPTIMIZERS],
            s.optimizer,
            k["optimizer"],
        )
        knobs: list[Any] = [dataset, lr, mode, batch, optimizer]
        if s.dataset != "hubble":
            hidden = TextInput(
                title=k["hidden"], value=format_value("hidden", s.hidden), name="hidden", width=260
            )
            hidden.on_change("value", lambda _a, _o, new: self.knob("hidden", new))
            self.widgets["hidden"] = hidden
            knobs += [
                hidden,
                select("activation", list(ACTIVATIONS), s.activation, k["activation"]),
                self._spinner("l2", k["l2"], 0.0, 1.0, 0.0001),
                self._spinner("dropout", k["dropout"], 0.0, 0.9, 0.05),
            ]
            if s.dataset in PLANE_SETS:
                knobs.append(self._slider("noise", k["noise"], 0.0, 1.0, 0.05))
            knobs.append(self._slider("test", k["test"], 0.0, 0.8, 0.05))
        speeds = sorted(set(SPEEDS) | {s.speed})
        knobs.append(select("speed", [str(v) for v in speeds], str(s.speed), k["speed"]))
        knobs.append(select("lang", [("en", "English"), ("ja", "日本語")], s.lang, k["lang"]))
        play = Toggle(label=k["pause"] if self.playing else k["play"], active=self.playing)
        play.name = "play"
        play.on_change("active", lambda _a, _o, new: self.set_playing(new))
        one = Button(label=k["step"], name="step", width=80)
        one.on_click(self.one_step)
        reset = Button(label=k["reset"], name="reset", width=80)
        reset.on_click(self.reset)
        self.widgets.update(play=play, step=one, reset=reset)
        self.share = Div(name="share", width=260, css_classes=["fastnn-share"])
        controls = column(row(play, one, reset), *knobs, self.share, width=280)

        self.heading = Div(
            text=f"<h2 style='margin:4px 0'>{html.escape(w['heading'])}</h2>"
            f"<div style='color:#555'>{html.escape(chapter(s.dataset, s.lang))}</div>",
            width=940,
        )
        self.status = Div(name="status", width=940, css_classes=["fastnn-status"])
        self.notes = Div(name="messages", width=940, css_classes=["fastnn-messages"])
        views = [self._loss_view(w)]
        if self.run.net is not None:
            views.append(self._network_view(w))
        data_views = self._data_views(w)
        main = column(self.heading, self.status, self.notes, row(*views), row(*data_views))
        self.doc.add_root(row(controls, main))
        self._sent = 0
        self.run.curve_restarted = True
        self.refresh()

    def _spinner(self, name: str, title: str, low: float, high: float, step: float) -> Spinner:
        widget = Spinner(
            title=title,
            low=low,
            high=high,
            step=step,
            value=getattr(self.settings, name),
            name=name,
            width=260,
        )
        widget.on_change("value", lambda _a, _o, new: self.knob(name, new))
        self.widgets[name] = widget
        return widget

    def _slider(self, name: str, title: str, low: float, high: float, step: float) -> Slider:
        widget = Slider(
            title=title,
            start=low,
            end=high,
            step=step,
            value=getattr(self.settings, name),
            name=name,
            width=260,
        )
        widget.on_change("value_throttled", lambda _a, _o, new: self.knob(name, new))
        self.widgets[name] = widget
        return widget

    def _loss_view(self, w: dict) -> Any:
        v = w["views"]
        self.loss_source = ColumnDataSource({"step": [], "train": [], "test": []})
        fig = figure(
            title=v["loss"],
            height=280,
            width=460,
            y_axis_type="log",
            x_axis_label=v["step"],
            tools=TOOLS,
            name="loss",
        )
        fig.line("step", "train", source=self.loss_source, color="#d62728", legend_label=v["train"])
        if self.run.net is not None and len(self.run.data.X_test):
            fig.line(
                "step", "test", source=self.loss_source, color="#1a1a1a", legend_label=v["test"]
            )
        fig.legend.location = "top_right"
        return fig

    def _network_view(self, w: dict) -> Any:
        layout = self.run.network_layout()
        style = self.run.edge_style()
        self.edge_source = ColumnDataSource(
            {k: layout[k] for k in ("x0", "y0", "x1", "y1")} | style
        )
        n_layers = int(layout["x"].max())
        fig = figure(
            title=w["views"]["network"],
            height=280,
            width=460,
            x_range=(-0.3, n_layers + 0.3),
            y_range=(-0.05, 1.05),
            tools="save",
            toolbar_location=None,
            name="network",
        )
        fig.axis.visible = False
        fig.grid.visible = False
        fig.segment(
            "x0",
            "y0",
            "x1",
            "y1",
            source=self.edge_source,
            line_color={
                "field": "sign",
                "transform": LinearColorMapper(palette=[NEGATIVE, POSITIVE], low=-1, high=1),
            },
            line_width="width",
            line_alpha="alpha",
        )
        size = 9 if len(layout["x"]) < 40 else 5
        fig.scatter(layout["x"], layout["y"], size=size, fill_color="white", line_color="#333333")
        return fig

    def _data_views(self, w: dict) -> list:
        v, run, s = w["views"], self.run, self.settings
        if s.dataset in PLANE_SETS:
            low, high = run.data.extent
            fig = figure(
                title=v["regions"],
                height=420,
                width=460,
                x_range=(low, high),
                y_range=(low, high),
                tools=TOOLS,
                name="regions",
            )
            self.region_source = ColumnDataSource({"image": [run.regions()]})
            mapper = LinearColorMapper(palette=REGION_PALETTE, low=0.0, high=1.0)
            fig.image(
                "image", source=self.region_source, x=low, y=low, dw=high - low, dh=high - low,
                color_mapper=mapper,
            )  # fmt: skip
            for X, y, hollow in (
                (run.data.X_train, run.data.y_train, False),
                (run.data.X_test, run.data.y_test, True),
            ):
                colors = [CLASS_COLORS[int(c)] for c in y]
                fig.scatter(
                    X[:, 0],
                    X[:, 1],
                    size=6,
                    fill_color=None if hollow else colors,
                    line_color=colors if hollow else "white",
                    line_width=1.5 if hollow else 0.5,
                )
            return [fig]
        if s.dataset == "digits":
            return [self._digits_view(v)]
        return self._hubble_views(v)

    def _digits_view(self, v: dict) -> Any:
        run = self.run
        rows = run.digits_shown()
        fig = figure(
            title=v["digits"],
            height=300,
            width=940,
            x_range=(-1, 12 * DIGITS_SHOWN),
            y_range=(-2.5, 22),
            tools="save",
            toolbar_location=None,
            name="digits",
        )
        fig.axis.visible = False
        fig.grid.visible = False
        images = [run.data.X_test[r].reshape(8, 8)[::-1] for r in rows]  # row 0 at the top
        fig.image(
            images,
            x=[12.0 * i for i in range(len(rows))],
            y=11.0,
            dw=10,
            dh=10,
            palette=Greys256[::-1],
        )
        labels = run.data.y_test[rows]
        xs = [12 * i + c + 0.5 for i in range(len(rows)) for c in range(10)]
        colors = [
            CLASS_COLORS[1] if c == labels[i] else CLASS_COLORS[0]
            for i in range(len(rows))
            for c in range(10)
        ]
        self.bar_source = ColumnDataSource({"x": xs, "top": [0.0] * len(xs), "color": colors})
        fig.vbar(x="x", top="top", width=0.8, color="color", source=self.bar_source)
        self.guess_source = ColumnDataSource(
            {"x": [12.0 * i for i in range(len(rows))], "text": [""] * len(rows)}
        )
        fig.text(x="x", y=-2.2, text="text", source=self.guess_source, text_font_size="12px")
        return fig

    def _hubble_views(self, v: dict) -> list:
        run = self.run
        x, y = run.data.X_train[:, 0], run.data.y_train
        pad = 0.1 * (y.max() - y.min())
        fit = figure(
            title=v["fit"],
            height=360,
            width=460,
            x_range=(0.0, 2.2),
            y_range=(y.min() - pad, y.max() + pad),  # a line gone wild leaves the view
            x_axis_label=v["distance"],
            y_axis_label=v["velocity"],
            tools=TOOLS,
            name="fit",
        )
        fit.scatter(x, y, size=7, color=CLASS_COLORS[0])
        self.line_source = ColumnDataSource({"x": [0.0, 2.2], "y": [0.0, 0.0]})
        fit.line("x", "y", source=self.line_source, color="#d62728", line_width=2)
        a, b, E = run.surface()
        surface = figure(
            title=v["surface"],
            height=360,
            width=460,
            x_range=(a[0], a[-1]),
            y_range=(b[0], b[-1]),
            x_axis_label="a (km/s/Mpc)",
            y_axis_label="b (km/s)",
            tools=TOOLS,
            name="surface",
        )
        logE = np.log10(E)
        mapper = LinearColorMapper(
            palette=REGION_PALETTE[:128][::-1], low=logE.min(), high=logE.max()
        )
        surface.image([logE], x=a[0], y=b[0], dw=a[-1] - a[0], dh=b[-1] - b[0], color_mapper=mapper)
        levels = np.linspace(logE.min(), logE.max(), 12)[1:-1]
        surface.contour(a, b, logE, levels, line_color="#888888", line_width=1)
        best = run.machine.closed_form()
        surface.scatter([best[0]], [best[1]], marker="x", size=12, line_width=2, color="#1a1a1a")
        self.path_source = ColumnDataSource({"a": [0.0], "b": [0.0]})
        self.ball_source = ColumnDataSource({"a": [0.0], "b": [0.0]})
        surface.line("a", "b", source=self.path_source, color="#d62728", line_width=1.5)
        surface.scatter("a", "b", source=self.ball_source, size=11, color="#d62728")
        return [fit, surface]

    # ------------------------------------------------------------ updates
    def refresh(self) -> None:
        """Send the run's current state to the page: curves, views, status, title."""
        run, s = self.run, self.settings
        if run is None:
            return
        if run.curve_restarted or self._sent > len(run.steps):
            self.loss_source.data = {
                "step": list(run.steps),
                "train": list(run.train_loss),
                "test": list(run.test_loss),
            }
            run.curve_restarted = False
        elif self._sent < len(run.steps):
            n = self._sent
            self.loss_source.stream(
                {"step": run.steps[n:], "train": run.train_loss[n:], "test": run.test_loss[n:]}
            )
        self._sent = len(run.steps)
        self._frames += 1
        if run.net is not None and (
            self._frames % (1 + len(self.edge_source.data["sign"]) // EDGES_PER_FRAME) == 0
            or not self.playing
        ):
            self.edge_source.data.update(run.edge_style())
        if s.dataset in PLANE_SETS:
            self.region_source.data = {"image": [run.regions()]}
        elif s.dataset == "digits":
            P = run.digits_probabilities()  # (shown, 10)
            self.bar_source.data.update(top=(10.0 * P).ravel().tolist())
            digit_names = [str(d) for d in range(10)]
            self.guess_source.data.update(
                text=[f"→ {digit_names[int(p.argmax())]} {_percent(p.max())}" for p in P]
            )
        else:
            m = run.machine
            self.line_source.data = {"x": [0.0, 2.2], "y": [m.b, 2.2 * m.a + m.b]}
            path = run.path()
            self.path_source.data = {"a": path[:, 0].tolist(), "b": path[:, 1].tolist()}
            self.ball_source.data = {"a": path[-1:, 0].tolist(), "b": path[-1:, 1].tolist()}
        self.status.text = self._status_html()
        self.notes.text = "".join(
            f"<div style='color:#a50f15'>{html.escape(m)}</div>" for m in self.messages[-6:]
        )
        k = words(s.lang)["knobs"]
        self.share.text = (
            f"<a href='?{html.escape(to_query(s), quote=True)}'>{html.escape(k['share'])}</a>"
        )
        title = run.title()
        if self.doc.title != title:
            self.doc.title = title

    def _status_html(self) -> str:
        run, s = self.run, self.settings
        st = words(s.lang)["status"]
        if run.status == "diverged":
            text = st["diverged"].format(at=run.diverged_at, lr=s.lr, step=run.step)
            return f"<b style='color:#a50f15'>{html.escape(text)}</b>"
        test = run.test_loss[-1]
        text = st["ok"].format(
            step=run.step,
            loss=_number(run.loss),
            test="" if math.isnan(test) else st["test"].format(loss=_number(test)),
        )
        if run.net is not None:
            train_acc, test_acc = run.accuracy()
            more = (
                "" if math.isnan(test_acc) else st["accuracy_test"].format(test=_percent(test_acc))
            )
            text += st["accuracy"].format(train=_percent(train_acc), test=more)
        else:
            text += st["dials"].format(a=_dial(run.machine.a), b=_dial(run.machine.b))
        out = html.escape(text)
        if run.status == "growing":
            out += f"<br><b style='color:#a50f15'>{html.escape(st['growing'].format(lr=s.lr))}</b>"
        elif run.status == "limit":
            out += f"<br><b>{html.escape(st['limit'].format(steps=run.step))}</b>"
        return out

    # ------------------------------------------------------------ events
    def frame(self) -> None:
        """One frame: while playing, a training tick and a refresh."""
        if not self.playing or self.run is None:
            return
        self.run.tick()
        self.refresh()
        if self.run.status in ("diverged", "limit"):
            self.set_playing(False)

    def set_playing(self, on: bool) -> None:
        self.playing = bool(on)
        play = self.widgets["play"]
        k = words(self.settings.lang)["knobs"]
        play.label = k["pause"] if self.playing else k["play"]
        if play.active != self.playing:
            play.active = self.playing

    def one_step(self) -> None:
        self.run.tick(1)
        self.refresh()

    def reset(self) -> None:
        self.restart(self.settings)

    def knob(self, name: str, value: Any) -> None:
        """A knob was turned: check the value, then apply it or say why not."""
        if self._quiet or self.run is None:
            return
        new, notice = parse_one(self.settings, name, value)
        if notice is not None:
            self.messages.append(notice_text(notice, self.settings.lang))
            self._set_widget(name, getattr(self.settings, name))
            self.refresh()
            return
        self.apply(new)

    def change_mode(self) -> None:
        if self._quiet:
            return
        mode = self.widgets["mode"].value
        batch = self.widgets["batch"]
        batch.visible = mode == "mini"
        value = {"full": "full", "online": "1"}.get(mode, str(batch.value))
        self.knob("batch", value)

    def change_dataset(self, name: str) -> None:
        if self._quiet:
            return
        if name not in DATASETS:  # only a forged message can send this
            notice = Notice("dataset", str(name)[:64], self.settings.dataset, "choice")
            self.messages.append(notice_text(notice, self.settings.lang))
            self.refresh()
            return
        self.restart(defaults_for(name, self.settings.lang))

    def apply(self, new: Settings) -> None:
        """Use ``new`` settings: a fresh run if the data or the network change."""
        old = self.settings
        if any(getattr(new, n) != getattr(old, n) for n in RESTART_ON):
            self.restart(new)
        elif new.lang != old.lang:
            self.settings = new
            self.build()
        else:
            self.settings = new
            self.run.retune(new)
            self.refresh()

    def restart(self, settings: Settings) -> None:
        """A fresh run (new data and weights) with ``settings``; the page is rebuilt."""
        self.run = None  # the old model is freed before the new one is made
        self.settings = settings
        self.run = Run(settings)
        self.messages = []
        self.build()

    def _set_widget(self, name: str, value: Any) -> None:
        widget = self.widgets.get(name)
        if widget is None:
            return
        self._quiet = True
        try:
            if name == "batch":
                self.widgets["mode"].value = (
                    "full" if value is None else ("online" if value == 1 else "mini")
                )
            elif isinstance(widget, (Select, TextInput)):
                widget.value = format_value(name, value)
            else:
                widget.value = value
        finally:
            self._quiet = False

    def close(self) -> None:
        """The tab closed: free the model (the frames stop with the session)."""
        global _open_sessions
        if self.run is None:
            return
        self.playing = False
        self.run = None
        _open_sessions -= 1


def _number(v: float) -> str:
    """A loss as the page writes it: "12,345" from 100 up, "1.234e+08" from a
    million, else four significant digits."""
    if not math.isfinite(v) or abs(v) >= 1e6:
        return f"{v:.4g}"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.4g}"


def _dial(v: float) -> str:
    """a or b of the regression machine: "454.16", or "-3.019e+153" once it flies off."""
    return f"{v:.2f}" if abs(v) < 1e6 else f"{v:.4g}"


def _percent(p: float) -> str:
    from .._text import percent

    return percent(float(p))


def make_document(
    doc: Document, lang: str = "en", arguments: dict | None = None
) -> Playground | None:
    """Fill one tab's document: settings from its URL, a run, the page.

    Parameters
    ----------
    doc : bokeh.document.Document
        The new session's document (its ``session_context.request`` holds
        the URL query).
    lang : str
        The page's language when the URL does not give ``lang``.
    arguments : dict, optional
        The query, instead of the session's request (for use without a server).

    Returns
    -------
    Playground or None
        None when :data:`MAX_SESSIONS` tabs are open already (the page then
        says so).
    """
    global _open_sessions
    context = doc.session_context
    request = getattr(context, "request", None) if context is not None else None
    if arguments is None:
        arguments = getattr(request, "arguments", None) or {}
    settings = from_query(arguments, lang)
    if _open_sessions >= MAX_SESSIONS:
        text = words(settings.lang)["status"]["busy"].format(n=_open_sessions)
        doc.add_root(Div(text=html.escape(text), name="busy"))
        doc.title = "fastnn"
        return None
    playground = Playground(doc, settings)
    _open_sessions += 1
    doc.on_session_destroyed(lambda _context: playground.close())
    return playground
