"""The browser playground's logic, without a browser: settings from the URL,
one training tick, the views' data, every refusal of a bad value, the page's
reactions to its knobs, and the server's origin check."""

import gc
import re
import socket
import subprocess
import sys
import weakref
from urllib.parse import parse_qs

import numpy as np
import pytest

import fastnn
from fastnn.playground import _data
from fastnn.playground._session import (
    GRID,
    HUBBLE_MAX_STEPS,
    MAX_CURVE,
    MAX_ROWS_PER_FRAME,
    TICK_BUDGET_S,
    Run,
    make_network,
    make_optimizer,
)
from fastnn.playground._state import (
    LIMITS,
    Settings,
    defaults_for,
    from_query,
    parse_one,
    to_query,
)
from fastnn.playground._words import notice_text, words

TITLE = re.compile(r"^fastnn · step (\d+) · loss (\S+)$")


def query(**values):
    """A query as tornado gives it: a list of bytes per name."""
    return {k: [str(v).encode()] for k, v in values.items()}


# ---------------------------------------------------------------- settings
def test_the_api_example_url_reads_as_written():
    s = from_query(
        query(dataset="xor", lr=0.1, batch=1, optimizer="adam", hidden="4,4", autoplay=1)
    )
    assert (s.dataset, s.lr, s.batch, s.optimizer, s.hidden, s.autoplay) == (
        "xor",
        0.1,
        1,
        "adam",
        (4, 4),
        True,
    )
    assert s.notices == ()


def test_an_empty_query_gives_the_defaults_and_each_dataset_its_own():
    assert from_query({}) == defaults_for("xor")
    digits = from_query(query(dataset="digits"))
    assert digits == defaults_for("digits")
    assert digits.batch == 32 and digits.hidden == (32,)
    assert from_query(query(dataset="hubble")).hidden == ()
    assert from_query({}, lang="ja").lang == "ja"
    assert from_query(query(lang="en"), lang="ja").lang == "en"


def test_the_query_of_a_setting_reads_back_the_same():
    s = from_query(
        query(dataset="spirals", lr=0.0123, batch="full", optimizer="rmsprop", hidden="7,5,3")
    ).with_(l2=0.001, dropout=0.25, noise=0.35, test=0.15, speed=200, seed=9, lang="ja")
    again = from_query(parse_qs(to_query(s)))
    assert again == s and again.notices == ()
    assert "hidden=7%2C5%2C3" in to_query(s) and "batch=full" in to_query(s)


# (name, given value, the reason, the value used instead) for xor's defaults
REFUSALS = [
    ("lr", "abc", "not_number", 0.05),
    ("lr", "0", "range", 0.05),
    ("lr", "-1", "range", 0.05),
    ("lr", "nan", "range", 0.05),
    ("lr", "inf", "range", 0.05),
    ("lr", "1e9", "range", 0.05),
    ("hidden", "100000,100000", "hidden", (4, 4)),
    ("hidden", "1,2,3,4,5", "hidden", (4, 4)),
    ("hidden", "4;4", "hidden", (4, 4)),
    ("hidden", "-4", "hidden", (4, 4)),
    ("optimizer", "adamw", "choice", "adam"),
    ("activation", "softmax", "choice", "tanh"),
    ("batch", "0", "range", None),
    ("batch", "-3", "range", None),
    ("batch", "99999", "range", None),
    ("batch", "2.5", "not_integer", None),
    ("batch", "half", "not_number", None),
    ("speed", "1e9", "not_integer", 10),
    ("speed", "100000", "range", 10),
    ("speed", "0", "range", 10),
    ("l2", "2", "range", 0.0),
    ("dropout", "0.95", "range", 0.0),
    ("noise", "-1", "range", 0.2),
    ("test", "0.9", "range", 0.3),
    ("seed", "-1", "range", 0),
    ("seed", "99999999999999999999", "range", 0),
    ("autoplay", "maybe", "not_number", False),
    ("lang", "fr", "choice", "en"),
]


@pytest.mark.parametrize("name, given, reason, used", REFUSALS)
def test_every_bad_value_falls_back_to_its_default_with_a_notice(name, given, reason, used):
    s = from_query(query(dataset="xor", **{name: given}))
    assert getattr(s, name) == used
    assert s.with_() == defaults_for("xor")  # nothing else moved
    (notice,) = s.notices
    assert (notice.name, notice.given, notice.reason) == (name, given, reason)
    for lang in ("en", "ja"):
        text = notice_text(notice, lang)
        assert name in text and repr(given) in text


def test_an_unknown_dataset_or_setting_is_named_and_ignored():
    s = from_query(query(dataset="mnist", foo="bar"))
    assert s.dataset == "xor"
    assert [(n.name, n.reason) for n in s.notices] == [("dataset", "choice"), ("foo", "unknown")]
    assert "hubble, and, or, xor" in notice_text(s.notices[0], "en")
    assert "foo" in notice_text(s.notices[1], "en")


def test_hostile_values_are_cut_short_and_stay_text():
    long = "9" * 10_000
    s = from_query(query(lr=long, hidden="<script>alert(1)</script>"))
    assert len(s.notices[0].given) == LIMITS["value_chars"]
    assert s.lr == 0.05 and s.hidden == (4, 4)
    many = {f"k{i}": [b"1"] for i in range(1000)}
    assert len(from_query(many).notices) <= 64  # a query of any length is read in bounded time


def test_parse_one_returns_the_settings_unchanged_on_refusal():
    s = defaults_for("xor")
    same, notice = parse_one(s, "lr", "fast")
    assert same is s and notice.reason == "not_number"
    new, notice = parse_one(s, "lr", "0.5")
    assert new.lr == 0.5 and notice is None


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"lr": 0.0}, ValueError, "lr must be > 0"),
        ({"lr": "0.1"}, TypeError, "lr must be a number"),
        ({"dataset": "mnist"}, ValueError, "dataset must be one of"),
        ({"optimizer": "lbfgs"}, ValueError, "optimizer must be one of"),
        ({"hidden": (4,) * 5}, ValueError, "at most 4 layer sizes"),
        ({"hidden": (65,)}, ValueError, "1 to 64"),
        ({"hidden": (4.0,)}, TypeError, "must be integers"),
        ({"speed": 5000}, ValueError, "speed must be 1 to 2000"),
        ({"batch": 0}, ValueError, "batch must be 1 to 4096"),
        ({"batch": 2.0}, TypeError, "batch must be an integer"),
        ({"autoplay": 1}, TypeError, "autoplay must be True or False"),
        ({"lang": "de"}, ValueError, "lang must be one of"),
    ],
)
def test_settings_check_themselves(kwargs, error, match):
    with pytest.raises(error, match=match):
        Settings(**kwargs)


def test_the_page_texts_exist_in_both_languages_alike():
    def keys(d, prefix=""):
        out = set()
        for k, v in d.items():
            out |= keys(v, prefix + k + ".") if isinstance(v, dict) else {prefix + k}
        return out

    assert keys(words("en")) == keys(words("ja"))
    with pytest.raises(ValueError, match="lang must be one of en, ja, got 'fr'"):
        words("fr")


# ---------------------------------------------------------------- data
def test_the_gate_sets_take_their_labels_from_the_gates():
    X, y = _data.make_plane("xor", 40, noise=0.0, seed=0)
    corners = np.rint(X).astype(int)
    assert np.array_equal(y, corners[:, 0] ^ corners[:, 1])
    X, y = _data.make_plane("and", 40, noise=0.0, seed=0)
    assert np.array_equal(y, np.rint(X).astype(int).min(axis=1))


@pytest.mark.parametrize("name", ["and", "or", "xor", "circles", "spirals", "blobs"])
def test_the_plane_sets_are_seeded_and_balanced(name):
    X, y = _data.make_plane(name, 200, noise=0.3, seed=4)
    X2, _ = _data.make_plane(name, 200, noise=0.3, seed=4)
    X3, _ = _data.make_plane(name, 200, noise=0.3, seed=5)
    assert X.shape == (200, 2) and set(np.unique(y)) == {0, 1}
    assert np.array_equal(X, X2) and not np.array_equal(X, X3)
    if name not in ("and", "or"):
        assert y.sum() == 100


def test_an_unknown_plane_set_is_refused():
    with pytest.raises(ValueError, match="name must be one of"):
        _data.make_plane("moons", 10, 0.1, 0)


def test_the_split_holds_out_the_test_fraction():
    split = _data.load(defaults_for("digits").with_(test=0.5))
    assert len(split.X_test) == round(0.5 * 1797)
    assert len(split.X_train) + len(split.X_test) == 1797
    assert split.X_train.max() <= 1.0


# ---------------------------------------------------------------- training
def test_a_tick_is_the_engines_fit_through_the_public_api():
    s = defaults_for("xor").with_(speed=25)
    run = Run(s)
    assert run.tick() == 25 and run.step == 25
    run.tick()
    # the same network, data and optimizer, trained by hand
    net = make_network(s, 2)
    opt = make_optimizer(s)
    X, y = run.data.X_train, run.data.y_train.reshape(-1, 1)
    for _ in range(2):
        hist = net.fit(X, y, 25, optimizer=opt, shuffle=False)
    assert np.array_equal(net.params, run.net.params)
    assert run.train_loss[-1] == pytest.approx(np.mean(hist.step_loss))


def test_mini_batch_ticks_visit_every_row_once_an_epoch():
    s = defaults_for("circles").with_(batch=10, speed=7)
    run = Run(s)
    n = len(run.data.X_train)  # 140 rows: 14 steps an epoch, two ticks
    seen = np.concatenate([run._next_rows(70), run._next_rows(70)])
    assert np.array_equal(np.sort(seen), np.arange(n))
    run = Run(s)
    assert run.tick() == 7 and run.step == 7


def test_online_learning_takes_one_row_per_step():
    run = Run(defaults_for("blobs").with_(batch=1, speed=50))
    assert run.tick() == 50
    assert len(run.steps) == 2  # one point per tick: before training, after it


def test_one_tick_never_passes_more_than_its_row_budget():
    run = Run(defaults_for("digits").with_(batch=4096, speed=2000))
    assert run.batch_size == len(run.data.X_train)
    run.tick(1)  # measures the pace
    pace = run._step_seconds
    taken = run.tick()
    assert 1 <= taken <= MAX_ROWS_PER_FRAME // len(run.data.X_train)
    assert taken <= max(1, int(TICK_BUDGET_S / pace))


def test_the_loss_falls_as_the_network_learns():
    for name in ("xor", "circles", "digits"):
        run = Run(defaults_for(name))
        start = run.loss
        for _ in range(40):
            run.tick()
        assert run.loss < 0.5 * start, name
        assert run.status == "ok"
        assert TITLE.match(run.title())


def test_digits_start_from_near_uniform_guesses_and_end_confident():
    run = Run(defaults_for("digits"))
    P = run.digits_probabilities()
    assert P.shape == (8, 10) and np.allclose(P.sum(axis=1), 1.0, atol=1e-5)
    assert P.max() < 0.5  # random weights: no class is sure
    for _ in range(100):
        run.tick()
    P = run.digits_probabilities()
    labels = run.data.y_test[run.digits_shown()]
    assert list(labels) == list(range(8))
    assert (P.argmax(axis=1) == labels).mean() >= 0.75 and P.max(axis=1).mean() > 0.8


def test_a_too_large_learning_rate_is_reported_never_raised():
    run = Run(defaults_for("xor").with_(optimizer="sgd", lr=100.0, speed=50))
    for _ in range(40):
        run.tick()
    assert run.status in ("growing", "diverged")
    assert np.all(np.isfinite(run.net.params))
    # a lower rate goes on from the weights it has
    before = run.net.params.copy()
    run.retune(run.settings.with_(lr=0.05))
    assert run.status == "ok" and np.array_equal(run.net.params, before)
    assert run.tick() == 50


def test_hubble_replays_the_machine_and_its_path():
    s = defaults_for("hubble").with_(speed=30)
    run = Run(s)
    run.tick()
    run.tick()
    m = fastnn.RegressionMachine(seed=0)
    x, v = fastnn.datasets.load_hubble()
    m.fit(x, v, lr=s.lr, steps=60)
    assert run.step == 60
    assert np.array_equal(run.machine.path, m.path)
    assert np.array_equal(run.path()[1:], m.path) and np.array_equal(run.path()[0], [0, 0])
    assert run.train_loss[1:] == m.loss_history.tolist()
    a, b, E = run.surface()
    assert E.shape == (len(b), len(a)) and E.min() >= m.loss(*m.closed_form()) - 1e-6


def test_hubble_diverges_above_its_stability_limit_and_says_where():
    s = defaults_for("hubble").with_(speed=400)
    limit = Run(s).machine.stability_limit()
    run = Run(s.with_(lr=1.3 * limit))
    for _ in range(10):
        run.tick()
    assert run.status == "diverged" and run.title().endswith("· diverged")
    assert run.step == run.diverged_at - 1 and np.all(np.isfinite(run.path()))
    # the drawn path stops one point after it left the map far behind
    far = 1000 * max(np.abs(run.machine.closed_form()))
    path = run.path()
    assert np.abs(path[:-1]).max() <= far < np.abs(path[-1]).max()
    assert np.array_equal(path[:-1], np.vstack([[0, 0], run.machine.path])[: len(path) - 1])
    assert run.tick() == 0  # stays stopped
    stopped = run.step
    run.retune(run.settings.with_(lr=0.5 * limit))  # the path is replayed at the new rate
    assert run.status == "ok" and run.diverged_at is None and run.step == stopped
    assert run.loss < run.train_loss[0] and run.tick() == 400


def test_hubble_stops_at_its_step_limit():
    run = Run(defaults_for("hubble").with_(speed=2000))
    while run.tick():
        pass
    assert run.step == HUBBLE_MAX_STEPS and run.status == "limit"
    assert len(run.steps) <= MAX_CURVE + 1 and len(run.path()) <= MAX_CURVE + 1


def test_the_loss_curve_stays_bounded_and_keeps_its_start():
    run = Run(defaults_for("and").with_(speed=1))
    first = run.train_loss[0]
    for _ in range(MAX_CURVE + 10):
        run.tick()
    assert len(run.steps) <= MAX_CURVE
    assert run.steps[0] == 0 and run.train_loss[0] == first and run.steps[-1] == run.step


def test_retune_keeps_the_weights_and_refuses_a_new_network():
    run = Run(defaults_for("xor"))
    run.tick()
    opt, weights = run.optimizer, run.net.params.copy()
    run.retune(run.settings.with_(lr=0.01, speed=3))
    assert run.optimizer is opt and opt.lr == 0.01
    run.retune(run.settings.with_(optimizer="rmsprop"))
    assert isinstance(run.optimizer, fastnn.RMSprop) and run.optimizer is not opt
    assert np.array_equal(run.net.params, weights)
    with pytest.raises(ValueError, match="hidden changed: start a new Run"):
        run.retune(run.settings.with_(hidden=(8,)))


@pytest.mark.parametrize(
    "name, cls, extra",
    [
        ("sgd", fastnn.SGD, {"momentum": 0.0}),
        ("momentum", fastnn.SGD, {"momentum": 0.9, "nesterov": False}),
        ("nesterov", fastnn.SGD, {"momentum": 0.9, "nesterov": True}),
        ("adagrad", fastnn.AdaGrad, {}),
        ("rmsprop", fastnn.RMSprop, {}),
        ("adam", fastnn.Adam, {}),
    ],
)
def test_each_optimizer_knob_builds_that_optimizer(name, cls, extra):
    opt = make_optimizer(defaults_for("xor").with_(optimizer=name, lr=0.2, l2=0.01))
    assert type(opt) is cls and opt.lr == 0.2 and opt.weight_decay == 0.01
    for key, value in extra.items():
        assert getattr(opt, key) == value


def test_dropout_follows_each_hidden_layer():
    net = make_network(defaults_for("xor").with_(dropout=0.2, hidden=(5, 3)), 2)
    kinds = [type(layer).__name__ for layer in net.layers]
    assert kinds == ["Dense", "Dropout", "Dense", "Dropout", "Dense"]


# ---------------------------------------------------------------- views
def test_the_views_data():
    run = Run(defaults_for("xor"))
    P = run.regions()
    assert P.shape == (GRID, GRID) and 0 <= P.min() and P.max() <= 1
    low, high = run.data.extent
    # row i of the image is the i-th y: the corner (low, high) is row -1, column 0
    corner = run.net.predict(np.array([[low, high]]))[0, 0]
    assert P[-1, 0] == pytest.approx(corner, rel=1e-5)
    layout, style = run.network_layout(), run.edge_style()
    assert len(layout["x"]) == 2 + 4 + 4 + 1
    assert len(layout["x0"]) == len(style["sign"]) == 2 * 4 + 4 * 4 + 4 * 1
    W = np.concatenate([layer.W.ravel() for layer in run.net.layers])
    assert np.array_equal(style["sign"] > 0, W >= 0)
    assert style["width"][np.argmax(np.abs(W))] == pytest.approx(4.0)
    with pytest.raises(ValueError, match="2-D sets only"):
        Run(defaults_for("digits")).regions()


# ---------------------------------------------------------------- the page
def needs_bokeh():
    pytest.importorskip("bokeh", reason="the playground's page needs the extra fastnn[playground]")


def make_page(**values):
    needs_bokeh()
    from bokeh.document import Document

    from fastnn.playground import _app

    doc = Document()
    return _app.make_document(doc, arguments=query(**values)), doc


def test_the_page_trains_a_frame_at_a_time_and_titles_the_tab():
    page, doc = make_page(dataset="xor", autoplay=1)
    start = page.run.loss
    for _ in range(20):
        page.frame()
    m = TITLE.match(doc.title)
    assert m and int(m.group(1)) == 20 * page.settings.speed
    assert float(m.group(2)) < start
    assert page.loss_source.data["step"][-1] == page.run.step
    page.set_playing(False)
    step = page.run.step
    page.frame()
    assert page.run.step == step  # paused
    page.one_step()
    assert page.run.step == step + 1


def test_a_bad_knob_value_is_refused_in_the_page_and_changes_nothing():
    page, _ = make_page(dataset="xor")
    run, weights = page.run, page.run.net.params.copy()
    page.widgets["lr"].value = "abc"
    assert page.settings.lr == 0.05 and page.widgets["lr"].value == "0.05"
    assert "lr=&#x27;abc&#x27; is not a number" in page.notes.text
    page.widgets["hidden"].value = "100000"
    assert page.run is run and np.array_equal(run.net.params, weights)
    page.widgets["lr"].value = "0.5"
    assert page.run is run and run.optimizer.lr == 0.5  # same weights, new rate
    page.widgets["hidden"].value = "8"
    assert page.run is not run and page.run.net.layers[0].n_out == 8


def test_the_knobs_reach_the_run():
    page, _ = make_page(dataset="xor")
    page.widgets["mode"].value = "online"
    assert page.run.batch_size == 1
    page.widgets["mode"].value = "mini"
    page.widgets["batch"].value = 16
    assert page.run.batch_size == 16
    page.widgets["optimizer"].value = "nesterov"
    assert page.run.optimizer.nesterov
    page.widgets["speed"].value = "200"
    page.frame()
    page.set_playing(True)
    page.frame()
    assert page.run.step == 200
    page.widgets["dataset"].value = "digits"
    assert page.run.settings == defaults_for("digits") and page.run.net.layers[-1].n_out == 10
    page.widgets["lang"].value = "ja"
    assert "ハイパー" not in page.heading.text and "プレイグラウンド" in page.heading.text


def test_a_forged_dataset_is_refused_in_the_page():
    page, _ = make_page(dataset="xor")
    run = page.run
    page.change_dataset("<img src=x>")
    assert page.run is run and page.settings.dataset == "xor"
    assert "&lt;img src=x&gt;" in page.notes.text and "is not one of" in page.notes.text


def test_the_page_escapes_what_it_was_given():
    page, _ = make_page(dataset="xor", lr="<script>alert(1)</script>")
    assert "<script>" not in page.notes.text and "&lt;script&gt;" in page.notes.text
    assert "href='?dataset=xor&amp;" in page.share.text


def test_the_status_writes_numbers_of_any_size_briefly():
    page, _ = make_page(dataset="hubble", lr=0.55, speed=300, autoplay=1)
    for _ in range(3):
        page.frame()
    assert page.run.status == "growing" and page.run.loss > 1e100
    assert len(page.status.text) < 400 and "too large" in page.status.text
    assert re.search(r"a = -?\d\.\d+e\+\d+ km/s/Mpc", page.status.text), page.status.text


def test_every_dataset_opens_and_plays():
    for name in ("hubble", "and", "or", "xor", "circles", "spirals", "blobs", "digits"):
        page, doc = make_page(dataset=name, autoplay=1)
        for _ in range(3):
            page.frame()
        assert TITLE.match(doc.title), name
        page.close()


def test_a_closed_tab_frees_its_model_and_its_place():
    needs_bokeh()
    from fastnn.playground import _app

    before = _app.open_sessions()
    page, _ = make_page(dataset="digits")
    assert _app.open_sessions() == before + 1
    net = weakref.ref(page.run.net)
    page.close()
    gc.collect()
    assert net() is None and _app.open_sessions() == before
    page.frame()  # a late frame of a closed tab does nothing


def test_a_full_server_says_so_instead_of_training(monkeypatch):
    needs_bokeh()
    from fastnn.playground import _app

    monkeypatch.setattr(_app, "_open_sessions", _app.MAX_SESSIONS)
    page, doc = make_page(dataset="xor")
    assert page is None
    (root,) = doc.roots
    assert "Too many playgrounds" in root.text


# ---------------------------------------------------------------- serving
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_server_serves_its_own_javascript_and_refuses_other_origins():
    needs_bokeh()
    from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
    from tornado.websocket import websocket_connect

    from fastnn.playground._server import make_server

    port = free_port()
    server = make_server(port=port)
    server.start()
    base = f"127.0.0.1:{port}"

    async def check():
        page = await AsyncHTTPClient().fetch(f"http://{base}/?dataset=xor")
        text = page.body.decode()
        scripts = re.findall(r'<script[^>]*src="([^"]+)"', text)
        assert scripts and all(s.startswith("/static/js/bokeh") for s in scripts)
        assert "cdn." not in text and "https://" not in text
        foreign = HTTPRequest(f"ws://{base}/ws", headers={"Origin": "http://evil.example"})
        with pytest.raises(HTTPClientError, match="403"):
            await websocket_connect(foreign)

    try:
        server.io_loop.run_sync(check, timeout=30)
    finally:
        server.stop()


def test_websocket_origins_are_the_served_address_only():
    needs_bokeh()
    from fastnn.playground._server import local_addresses, websocket_origins

    assert websocket_origins("127.0.0.1", 5006) == [
        "127.0.0.1:5006",
        "localhost:5006",
    ]
    assert websocket_origins("192.168.1.20", 80) == ["192.168.1.20:80"]
    wide = websocket_origins("0.0.0.0", 8000)
    assert "localhost:8000" in wide and all(o.endswith(":8000") for o in wide)
    assert {f"{a}:8000" for a in local_addresses()} <= set(wide)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"port": 0}, "port must be an integer from 1 to 65535"), ({"lang": "fr"}, "lang")],
)
def test_make_server_refuses_bad_arguments(kwargs, match):
    needs_bokeh()
    from fastnn.playground._server import make_server

    with pytest.raises(ValueError, match=match):
        make_server(**kwargs)


def run_python(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_import_fastnn_and_the_command_line_help_do_not_import_bokeh():
    done = run_python(
        "import sys, fastnn, fastnn.playground\n"
        "from fastnn.__main__ import main\n"
        "main(['--help']); main(['playground', '--help'])\n"
        "sys.exit(3 if 'bokeh' in sys.modules else 0)"
    )
    assert done.returncode == 0, done.stderr
    assert "--no-browser" in done.stdout and "--host ADDR" in done.stdout


def test_without_bokeh_the_command_says_which_extra_to_install():
    done = run_python(
        "import sys; sys.modules['bokeh'] = None\n"
        "from fastnn.__main__ import main\n"
        "sys.exit(main(['playground', '--no-browser']))"
    )
    assert done.returncode == 2
    assert 'pip install "fastnn[playground]"' in done.stderr


def test_the_command_refuses_a_bad_port():
    done = run_python(
        "import sys\nfrom fastnn.__main__ import main\n"
        "sys.exit(main(['playground', '--no-browser', '--port', '70000']))"
    )
    assert done.returncode == 2 and "port must be an integer from 1 to 65535" in done.stderr


def test_accuracy_comes_from_the_history_and_a_periodic_score():
    run = Run(defaults_for("xor"))
    train, test = run.accuracy()
    assert train == run.net.score(run.data.X_train, run._y_train)
    hist_run = Run(defaults_for("xor"))
    for _ in range(30):
        run.tick()
    # the last tick's rows, scored in the compiled loop: what fit's History says
    net, opt = make_network(hist_run.settings, 2), make_optimizer(hist_run.settings)
    X, y = hist_run.data.X_train, hist_run._y_train
    for _ in range(30):
        hist = net.fit(X, y, hist_run.settings.speed, optimizer=opt, shuffle=False)
    train, test = run.accuracy()
    assert train == hist.accuracy[-1] == 1.0
    assert test == run.net.score(run.data.X_test, run._y_test)


def test_two_tabs_are_independent_sessions():
    first, doc1 = make_page(dataset="xor", autoplay=1)
    second, doc2 = make_page(dataset="xor", autoplay=1, lr=0.2)
    assert first.run.net is not second.run.net
    before = second.run.net.params.copy()
    for _ in range(5):
        first.frame()
    assert np.array_equal(second.run.net.params, before) and second.run.step == 0
    assert doc1.title != doc2.title
    first.widgets["hidden"].value = "3"
    assert second.run.net.layers[0].n_out == 4 and second.settings.lr == 0.2
    first.close()
    second.close()


def test_a_large_network_is_redrawn_every_few_frames_a_small_one_every_frame():
    needs_bokeh()
    from fastnn.playground._app import EDGES_PER_FRAME

    def record(page, sent):
        page.edge_source.on_change("data", lambda attr, old, new: sent.append(page.run.step))

    for name, every in (("xor", 1), ("digits", 1 + (64 * 32 + 32 * 10) // EDGES_PER_FRAME)):
        page, _ = make_page(dataset=name, autoplay=1)
        sent: list = []
        record(page, sent)
        for _ in range(12):
            page.frame()
        assert len(sent) == 12 // every, name
        page.set_playing(False)
        page.one_step()  # paused: each step is drawn
        assert sent[-1] == page.run.step
        page.close()
