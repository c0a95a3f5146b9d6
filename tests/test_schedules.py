"""Learning-rate schedules: torch's rates, epoch by epoch, in every state of
the optimizer (fresh, used, restored from a checkpoint, a schedule attached,
replaced or removed after training started, its lr changed)."""

import json
import math

import numpy as np
import pytest

import fastnn
from conftest import net3


# ------------------------------------------------------------ the rules, as torch documents them
class RefScheduler:
    """torch.optim.lr_scheduler's documented rules in plain Python, acting on
    a param group (a dict with "lr", and "initial_lr" once a scheduler set it).

    - StepLR: "Decays the learning rate of each parameter group by gamma every
      step_size epochs" (applied to the group's current lr: "such decay can
      happen simultaneously with other changes to the learning rate from
      outside this scheduler").
    - ExponentialLR: "Decays the learning rate ... by gamma every epoch".
    - CosineAnnealingLR: eta_{t+1} = eta_min + (eta_t - eta_min)
      (1 + cos((T_cur + 1) pi / T_max)) / (1 + cos(T_cur pi / T_max)), and
      eta_{t+1} = eta_t + (eta_max - eta_min)(1 - cos(pi / T_max)) / 2 when
      T_cur = (2k + 1) T_max, eta_max being the initial lr.
    - All three: "When last_epoch=-1, sets initial lr as lr" (setdefault).
    - ReduceLROnPlateau: its arguments' documentation (mode, threshold_mode,
      patience counted in bad epochs, cooldown, new_lr = lr * factor bounded
      by min_lr, changes smaller than eps ignored).
    """

    def __init__(self, kind, group, **kw):
        self.kind, self.group, self.kw = kind, group, kw
        self.t_cur = 0
        if kind != "plateau":
            group.setdefault("initial_lr", group["lr"])
        else:
            self.best = math.inf if kw.get("mode", "min") == "min" else -math.inf
            self.bad = self.cool = 0

    def step(self, metric):
        g, kw = self.group, self.kw
        t_cur, self.t_cur = self.t_cur, self.t_cur + 1
        if self.kind == "step":
            if self.t_cur % kw["step_size"] == 0:
                g["lr"] = g["lr"] * kw["gamma"]
        elif self.kind == "exp":
            g["lr"] = g["lr"] * kw["gamma"]
        elif self.kind == "cos":
            T, eta_min = kw["T_max"], kw.get("eta_min", 0.0)
            if (t_cur - T) % (2 * T) == 0:
                g["lr"] = g["lr"] + (g["initial_lr"] - eta_min) * (1 - math.cos(math.pi / T)) / 2
            else:
                g["lr"] = (1 + math.cos(math.pi * (t_cur + 1) / T)) / (
                    1 + math.cos(math.pi * t_cur / T)
                ) * (g["lr"] - eta_min) + eta_min
        else:
            self._plateau(metric)

    def _plateau(self, a):
        kw = self.kw
        mode, thr = kw.get("mode", "min"), kw.get("threshold", 1e-4)
        rel = kw.get("threshold_mode", "rel") == "rel"
        if mode == "min":
            better = a < (self.best * (1 - thr) if rel else self.best - thr)
        else:
            better = a > (self.best * (thr + 1) if rel else self.best + thr)
        self.bad = 0 if better else self.bad + 1
        if better:
            self.best = a
        if self.cool > 0:
            self.cool -= 1
            self.bad = 0
        if self.bad > kw.get("patience", 10):
            old = self.group["lr"]
            new = max(old * kw.get("factor", 0.1), kw.get("min_lr", 0.0))
            if old - new > kw.get("eps", 1e-8):
                self.group["lr"] = new
            self.cool = kw.get("cooldown", 0)
            self.bad = 0


FASTNN = {
    "step": fastnn.StepDecay,
    "exp": fastnn.ExponentialDecay,
    "cos": fastnn.CosineAnnealing,
    "plateau": fastnn.ReduceOnPlateau,
}
TORCH = {
    "step": "StepLR",
    "exp": "ExponentialLR",
    "cos": "CosineAnnealingLR",
    "plateau": "ReduceLROnPlateau",
}

SPECS = [
    ("step", dict(step_size=3, gamma=0.5)),
    ("exp", dict(gamma=0.8)),
    ("cos", dict(T_max=3, eta_min=0.01)),
    ("cos", dict(T_max=1)),
    ("plateau", dict(factor=0.5, patience=1, threshold=0.05)),
    (
        "plateau",
        dict(mode="max", factor=0.3, patience=0, threshold_mode="abs", threshold=0.0, cooldown=2),
    ),
    (
        "plateau",
        dict(factor=0.5, patience=0, threshold=0.5, threshold_mode="rel", min_lr=0.02, eps=1e-3),
    ),
    ("plateau", dict(min_lr=0.5)),  # above the rate: torch never raises it
]
SPEC_IDS = [f"{k}-{'-'.join(f'{a}={v}' for a, v in kw.items())}" for k, kw in SPECS]

# Each scenario: what is done to one optimizer, in order. ("schedule", spec)
# sets its schedule (None: removes it), ("fit", epochs) trains, ("lr", value)
# sets its lr, ("checkpoint",) saves the network with it and loads both back.
OTHER = ("step", dict(step_size=2, gamma=0.5))
PLATEAU = ("plateau", dict(factor=0.5, patience=0, threshold=0.5))


def scenarios(spec):
    return {
        "fresh": [("schedule", spec), ("fit", 9)],
        "used": [("schedule", spec), ("fit", 4), ("fit", 6)],
        "restored": [("schedule", spec), ("fit", 4), ("checkpoint",), ("fit", 6)],
        "attached": [("fit", 3), ("schedule", spec), ("fit", 8)],
        "replaced": [("schedule", OTHER), ("fit", 5), ("schedule", spec), ("fit", 8)],
        "after-plateau": [("schedule", PLATEAU), ("fit", 5), ("schedule", spec), ("fit", 8)],
        "lr-set": [("schedule", spec), ("fit", 4), ("lr", 0.05), ("fit", 6)],
        "removed": [
            ("schedule", OTHER),
            ("fit", 5),
            ("schedule", None),
            ("fit", 2),
            ("schedule", spec),
            ("fit", 7),
        ],
    }


def run_fastnn(steps, data, tmp_path, validation, lr=0.2):
    """The rates fit used and the monitored values it saw, epoch by epoch."""
    X, y = data
    net, opt = net3(), fastnn.SGD(lr=lr, momentum=0.5)
    kwargs = dict(validation_data=(X[45:], y[45:])) if validation else {}
    rates, metrics = [], []
    for step in steps:
        if step[0] == "schedule":
            opt.schedule = None if step[1] is None else FASTNN[step[1][0]](**step[1][1])
        elif step[0] == "lr":
            opt.lr = step[1]
        elif step[0] == "checkpoint":
            net.save(tmp_path / "ckpt.npz", optimizer=opt)
            net, opt = fastnn.load_checkpoint(tmp_path / "ckpt.npz")
        else:
            hist = net.fit(
                X[:45],
                y[:45],
                epochs=step[1],
                batch_size=8,
                optimizer=opt,
                verbose=False,
                callbacks=lambda e, logs, n: None,
                **kwargs,
            )
            rates += hist.lr
            metrics += hist.val_loss if validation else hist.loss
    return rates, metrics


def run_reference(steps, metrics, lr=0.2):
    group, sched, rates, metrics = {"lr": lr}, None, [], iter(metrics)
    for step in steps:
        if step[0] == "schedule":
            sched = None if step[1] is None else RefScheduler(step[1][0], group, **step[1][1])
            if sched is None:
                group["lr"] = lr  # without a schedule fastnn trains at opt.lr
        elif step[0] == "lr":
            group["lr"] = lr = step[1]
        elif step[0] == "fit":
            for _ in range(step[1]):
                rates.append(group["lr"])
                value = next(metrics)
                if sched is not None:
                    sched.step(value)
    return rates


def run_torch(torch, steps, metrics, lr=0.2):
    param = torch.nn.Parameter(torch.zeros(1))
    opt, sched, spec = torch.optim.SGD([param], lr=lr), None, None
    rates, metrics = [], iter(metrics)

    def make(spec, opt):
        return getattr(torch.optim.lr_scheduler, TORCH[spec[0]])(opt, **spec[1])

    for step in steps:
        if step[0] == "schedule":
            spec = step[1]
            sched = None if spec is None else make(spec, opt)
            if sched is None:
                opt.param_groups[0]["lr"] = lr
        elif step[0] == "lr":
            opt.param_groups[0]["lr"] = lr = step[1]
        elif step[0] == "checkpoint":  # torch's way: scheduler first, then both states
            opt_state = opt.state_dict()
            sched_state = None if sched is None else sched.state_dict()
            opt = torch.optim.SGD([param], lr=lr)
            if sched is not None:
                sched = make(spec, opt)
                opt.load_state_dict(opt_state)
                sched.load_state_dict(sched_state)
        else:
            for _ in range(step[1]):
                rates.append(opt.param_groups[0]["lr"])
                value = next(metrics)
                opt.step()
                if sched is not None:
                    sched.step(value) if spec[0] == "plateau" else sched.step()
    return rates


SCENARIOS = list(scenarios(None))


@pytest.mark.parametrize("validation", [False, True], ids=["train-loss", "val-loss"])
@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
def test_rates_follow_torchs_documented_rule(data, tmp_path, spec, scenario, validation):
    steps = scenarios(spec)[scenario]
    rates, metrics = run_fastnn(steps, data, tmp_path, validation)
    assert len(rates) == len(metrics) == sum(s[1] for s in steps if s[0] == "fit")
    assert rates == run_reference(steps, metrics)


@pytest.mark.torch
@pytest.mark.parametrize("validation", [False, True], ids=["train-loss", "val-loss"])
@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
def test_rates_are_torchs(data, tmp_path, spec, scenario, validation):
    torch = pytest.importorskip("torch")
    steps = scenarios(spec)[scenario]
    rates, metrics = run_fastnn(steps, data, tmp_path, validation)
    assert rates == run_torch(torch, steps, metrics)


@pytest.mark.torch
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(
    "spec",
    [s for s in SPECS if s[0] == "plateau"]
    + [
        ("plateau", dict(factor=0.7, patience=2, cooldown=1, threshold=0.02)),
        ("plateau", dict(mode="max", factor=0.5, patience=1, threshold=0.1)),
        ("plateau", dict(factor=0.5, patience=0, threshold=0.0, threshold_mode="abs", eps=0.0)),
    ],
    ids=str,
)
def test_plateau_on_any_sequence_is_torchs(seed, spec):
    """Monitored values with plateaus, rises and ties, fed one by one."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    metrics = np.round(np.cumsum(rng.normal(size=40)) * 2) / 2  # ties and plateaus
    net, opt = net3(), fastnn.SGD(lr=0.3, schedule=FASTNN[spec[0]](**spec[1]))
    state = opt.state_for(net)
    ours = [opt.current_lr(state)] + [opt.step_schedule(state, m) for m in metrics]
    steps = [("schedule", spec), ("fit", len(metrics) + 1)]
    expected = run_torch(torch, steps, list(metrics) + [0.0], lr=0.3)
    assert ours == expected == run_reference(steps, list(metrics) + [0.0], lr=0.3)
    assert len(set(ours)) > 1 or spec[1].get("min_lr", 0) >= 0.3


def test_fresh_rates_are_the_closed_forms_of_torchs_docs(data):
    """StepLR: lr * gamma ** (e // step_size); ExponentialLR: lr * gamma ** e;
    CosineAnnealingLR: eta_min + (lr - eta_min)(1 + cos(pi e / T_max)) / 2."""
    X, y = data
    cases = [
        (fastnn.StepDecay(3, 0.5), lambda e: 0.2 * 0.5 ** (e // 3)),
        (fastnn.ExponentialDecay(0.9), lambda e: 0.2 * 0.9**e),
        (
            fastnn.CosineAnnealing(5, 0.01),
            lambda e: 0.01 + (0.2 - 0.01) * (1 + math.cos(math.pi * e / 5)) / 2,
        ),
        (fastnn.Constant(), lambda e: 0.2),
    ]
    for schedule, formula in cases:
        hist = net3().fit(
            X, y, epochs=17, batch_size=10, optimizer=fastnn.SGD(lr=0.2, schedule=schedule)
        )
        np.testing.assert_allclose(hist.lr, [formula(e) for e in range(17)], rtol=1e-12, atol=1e-15)
        if hasattr(schedule, "lr"):
            np.testing.assert_allclose(
                [schedule.lr(0.2, e) for e in range(17)],
                [formula(e) for e in range(17)],
                rtol=1e-14,
            )


def test_schedule_changes_the_steps_taken(data):
    X, y = data
    a, b = net3(), net3()
    a.fit(
        X,
        y,
        epochs=4,
        optimizer=fastnn.SGD(lr=0.2, schedule=fastnn.StepDecay(2, 0.1)),
        shuffle=False,
    )
    # the same by hand: two epochs at 0.2, two at 0.02, momentum-free
    b.fit(X, y, epochs=2, optimizer=fastnn.SGD(lr=0.2), shuffle=False)
    b.fit(X, y, epochs=2, optimizer=fastnn.SGD(lr=0.2 * 0.1), shuffle=False)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-14)


# ------------------------------------------------------------ the plateau rule's edges
def test_plateau_never_raises_a_rate_below_min_lr(data):
    X, y = data
    opt = fastnn.SGD(
        lr=0.001, schedule=fastnn.ReduceOnPlateau(min_lr=0.01, patience=0, threshold=0.9)
    )
    hist = net3().fit(X, y, epochs=6, optimizer=opt)
    assert hist.lr == [0.001] * 6


def test_plateau_ignores_changes_smaller_than_eps():
    # factor 0.5 from 1e-7: cuts of 5e-8, 2.5e-8 and 1.25e-8 exceed eps=1e-8;
    # the next (6.25e-9) does not, and the rate stays
    net, opt = (
        net3(),
        fastnn.SGD(lr=1e-7, schedule=fastnn.ReduceOnPlateau(factor=0.5, patience=0, eps=1e-8)),
    )
    state = opt.state_for(net)
    rates = [opt.step_schedule(state, 1.0) for _ in range(7)]
    assert rates == [1e-7] + [1e-7 * 0.5**k for k in (1, 2, 3)] + [1e-7 * 0.5**3] * 3


def test_plateau_in_cooldown_counts_no_bad_epoch():
    net, opt = (
        net3(),
        fastnn.SGD(lr=1.0, schedule=fastnn.ReduceOnPlateau(factor=0.5, patience=1, cooldown=2)),
    )
    state = opt.state_for(net)
    rates = [opt.step_schedule(state, 1.0) for _ in range(8)]
    # best at step 1; bad 2, 3 -> cut at 3; cooldown 4, 5; bad 6, 7 -> cut at 7
    assert rates == [1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25]


# ------------------------------------------------------------ state kept and restored
def test_a_checkpoint_resumes_the_schedule_exactly(data, tmp_path):
    X, y = data
    straight = fastnn.SGD(
        lr=0.3, schedule=fastnn.ReduceOnPlateau(factor=0.5, patience=0, threshold=0.2, cooldown=1)
    )
    a = net3()
    ha = a.fit(X, y, epochs=10, batch_size=7, optimizer=straight)
    opt = fastnn.SGD(
        lr=0.3, schedule=fastnn.ReduceOnPlateau(factor=0.5, patience=0, threshold=0.2, cooldown=1)
    )
    b = net3()
    h1 = b.fit(X, y, epochs=4, batch_size=7, optimizer=opt)
    b.save(tmp_path / "c.npz", optimizer=opt)
    c, opt2 = fastnn.load_checkpoint(tmp_path / "c.npz")
    assert opt2.state_for(c).schedule_state == opt.state_for(b).schedule_state
    h2 = c.fit(X, y, epochs=6, batch_size=7, optimizer=opt2)
    assert h1.lr + h2.lr == ha.lr
    assert len(set(ha.lr)) > 1
    np.testing.assert_array_equal(c.params, a.params)


def test_an_equal_schedule_is_the_same_schedule(data):
    X, y = data
    opt = fastnn.SGD(lr=0.2, schedule=fastnn.StepDecay(2, 0.5))
    net = net3()
    h1 = net.fit(X, y, epochs=3, optimizer=opt)
    opt.schedule = fastnn.StepDecay(2, 0.5)
    h2 = net.fit(X, y, epochs=3, optimizer=opt)
    assert h1.lr + h2.lr == [0.2 * 0.5 ** (e // 2) for e in range(6)]


def test_a_schedule_attached_later_starts_from_the_rate_then(data):
    X, y = data
    opt = fastnn.SGD(lr=0.2, schedule=fastnn.ExponentialDecay(0.5))
    net = net3()
    net.fit(X, y, epochs=3, optimizer=opt)  # 0.2, 0.1, 0.05; next 0.025
    opt.schedule = fastnn.StepDecay(2, 0.1)
    hist = net.fit(X, y, epochs=4, optimizer=opt)
    assert hist.lr == [0.2 * 0.5**3, 0.2 * 0.5**3, 0.2 * 0.5**3 * 0.1, 0.2 * 0.5**3 * 0.1]
    opt.schedule = None
    assert net.fit(X, y, epochs=2, optimizer=opt).lr == [0.2, 0.2]


def test_a_checkpoint_from_before_the_rate_was_kept_still_loads(data, tmp_path):
    """Older files kept the plateau rule's cuts as a scale and no rate."""
    X, y = data
    opt = fastnn.SGD(lr=0.2, schedule=fastnn.ReduceOnPlateau(factor=0.5, patience=0))
    net = net3()
    net.fit(X, y, epochs=2, optimizer=opt)
    net.save(tmp_path / "new.npz", optimizer=opt)
    with np.load(tmp_path / "new.npz") as f:
        arrays = dict(f)
    info = json.loads(str(arrays["optimizer"]))
    info["schedule_state"] = {"best": 0.5, "bad_epochs": 0, "cooldown_left": 0, "scale": 0.25}
    arrays["optimizer"] = np.array(json.dumps(info))
    np.savez(tmp_path / "old.npz", **arrays)
    net2, opt2 = fastnn.load_checkpoint(tmp_path / "old.npz")
    assert net2.fit(X, y, epochs=1, optimizer=opt2).lr == [0.2 * 0.25]
    info["schedule_state"], info["epoch"] = {}, 5
    info["settings"]["schedule"] = {"type": "StepDecay", "step_size": 2, "gamma": 0.5}
    arrays["optimizer"] = np.array(json.dumps(info))
    np.savez(tmp_path / "old2.npz", **arrays)
    net3_, opt3 = fastnn.load_checkpoint(tmp_path / "old2.npz")
    assert net3_.fit(X, y, epochs=2, optimizer=opt3).lr == [0.2 * 0.5**2, 0.2 * 0.5**3]


def test_a_bad_schedule_state_is_refused_and_changes_nothing(data, tmp_path):
    X, y = data
    opt = fastnn.SGD(lr=0.2, momentum=0.9, schedule=fastnn.StepDecay(2, 0.5))
    net = net3()
    net.fit(X, y, epochs=2, optimizer=opt)
    net.save(tmp_path / "ok.npz", optimizer=opt)
    with np.load(tmp_path / "ok.npz") as f:
        arrays = dict(f)
    info = json.loads(str(arrays["optimizer"]))
    for bad, match in [
        ({**info["schedule_state"], "lr": "fast"}, "lr must be a finite number"),
        ({**info["schedule_state"], "lr": -1.0}, "lr must be a finite number"),
        ({**info["schedule_state"], "initial_lr": None}, "initial_lr must be"),
    ]:
        arrays["optimizer"] = np.array(json.dumps({**info, "schedule_state": bad}))
        np.savez(tmp_path / "bad.npz", **arrays)
        net2, opt2 = fastnn.load_checkpoint(tmp_path / "bad.npz")
        params, state = net2.params.copy(), opt2.state_for(net2)
        t, buffer = state.t, state.buffer.copy()
        with pytest.raises(ValueError, match=match):
            net2.fit(X, y, epochs=2, optimizer=opt2)
        np.testing.assert_array_equal(net2.params, params)
        np.testing.assert_array_equal(state.buffer, buffer)
        assert state.t == t and state.schedule_state == bad
    plateau = fastnn.SGD(lr=0.2, schedule=fastnn.ReduceOnPlateau())
    net.save(tmp_path / "p.npz", optimizer=plateau)
    with np.load(tmp_path / "p.npz") as f:
        arrays = dict(f)
    info = json.loads(str(arrays["optimizer"]))
    info["schedule_state"]["bad_epochs"] = -3
    arrays["optimizer"] = np.array(json.dumps(info))
    np.savez(tmp_path / "p2.npz", **arrays)
    net4, opt4 = fastnn.load_checkpoint(tmp_path / "p2.npz")
    with pytest.raises(ValueError, match="bad_epochs must be a count"):
        net4.fit(X, y, optimizer=opt4)


def test_partial_fit_trains_at_the_current_rate_without_stepping(data):
    X, y = data
    opt = fastnn.SGD(lr=0.2, schedule=fastnn.ExponentialDecay(0.5))
    net = net3()
    net.fit(X, y, epochs=2, optimizer=opt)
    assert net.partial_fit(X[:10], y[:10], optimizer=opt).lr == [0.05]
    assert net.partial_fit(X[10:20], y[10:20], optimizer=opt).lr == [0.05]
    assert net.fit(X, y, epochs=1, optimizer=opt).lr == [0.05]


# ------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: fastnn.StepDecay(step_size=0), ValueError, "step_size must be >= 1"),
        (lambda: fastnn.StepDecay(step_size=2.5), TypeError, "step_size must be an integer"),
        (lambda: fastnn.StepDecay(gamma=0.0), ValueError, "gamma must be > 0"),
        (lambda: fastnn.ExponentialDecay(gamma=-1.0), ValueError, "gamma must be > 0"),
        (lambda: fastnn.CosineAnnealing(T_max=0), ValueError, "T_max must be >= 1"),
        (lambda: fastnn.CosineAnnealing(eta_min=-0.1), ValueError, "eta_min must be >= 0"),
        (lambda: fastnn.ReduceOnPlateau(factor=1.0), ValueError, "factor must be < 1"),
        (lambda: fastnn.ReduceOnPlateau(patience=-1), ValueError, "patience must be >= 0"),
        (lambda: fastnn.ReduceOnPlateau(mode="avg"), ValueError, "mode must be 'min' or 'max'"),
        (
            lambda: fastnn.ReduceOnPlateau(threshold_mode="pct"),
            ValueError,
            "threshold_mode must be 'rel' or 'abs'",
        ),
        (lambda: fastnn.ReduceOnPlateau(eps=-1e-8), ValueError, "eps must be >= 0"),
        (lambda: fastnn.ReduceOnPlateau(min_lr=float("nan")), ValueError, "min_lr must be finite"),
        (
            lambda: fastnn.SGD(lr=0.1, schedule="cosine"),
            TypeError,
            "schedule must be a fastnn schedule",
        ),
    ],
)
def test_bad_schedule_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_a_refused_schedule_leaves_the_old_one(data):
    opt = fastnn.SGD(lr=0.1, schedule=fastnn.StepDecay(2))
    with pytest.raises(TypeError, match="schedule must be a fastnn schedule"):
        opt.schedule = "cosine"
    assert opt.schedule == fastnn.StepDecay(2)
