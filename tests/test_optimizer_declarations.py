"""What every registered optimizer gets from its declarations and from the base class, tested over
the registry, so that a new optimizer is covered by its module and its fixture rows alone:
maximize, init_state, each declared hyperparameter validated by name, the constructor's
signature and repr, the command line's and the picture's tables, and registering a new class.
"""

import inspect
import math
import re

import numpy as np
import pytest
from optimizer_helpers import leaf, load_fixture, problem_gradient

from wengert import optim
from wengert._checks import check, what_came
from wengert.cli import runs
from wengert.optim.hyperparameters import REQUIRED
from wengert.plot import paths

RULE_BASED = [cls for cls in optim.OPTIMIZERS.values() if not getattr(cls, "needs_closure", False)]
FIXTURE = load_fixture()
RUNS_BY_CLASS = [
    (cls, run)
    for cls in RULE_BASED
    for run in FIXTURE["runs"]
    if run["optimizer"] == cls.__name__ and run["groups"] is None
]


def kwargs_of(run: dict) -> dict:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in run["kwargs"].items()}


def trajectory(cls, kwargs: dict, sign: float, steps: int = 10) -> list:
    """The fixture problem's iterates when the gradient given is sign·∇L."""
    problem = FIXTURE["problem"]
    w, W = leaf(problem["w0"]), leaf(problem["W0"])
    opt = cls([w, W], **kwargs)
    out = []
    for _ in range(steps):
        gw, gW = problem_gradient(problem, w.data, W.data)
        w.grad, W.grad = sign * gw, sign * gW
        opt.step()
        out.append((w.data.copy(), W.data.copy()))
    return out


# ------------------------------------------------------------------------ the base's work
@pytest.mark.parametrize(("cls", "run"), RUNS_BY_CLASS, ids=[r["name"] for _, r in RUNS_BY_CLASS])
def test_maximize_follows_the_negated_loss_bit_for_bit(cls, run):
    # maximize=True on L takes the steps of minimizing −L: g ← −g before everything else.
    kwargs = kwargs_of(run)
    up = trajectory(cls, {**kwargs, "maximize": True}, sign=1.0)
    down = trajectory(cls, {**kwargs, "maximize": False}, sign=-1.0)
    for (w_up, W_up), (w_down, W_down) in zip(up, down, strict=True):
        np.testing.assert_array_equal(w_up, w_down)
        np.testing.assert_array_equal(W_up, W_down)
    descent = trajectory(cls, {**kwargs, "maximize": False}, sign=1.0)
    assert not np.allclose(up[-1][0], descent[-1][0])


def test_every_rule_based_optimizer_has_fixture_rows_and_maximize():
    assert {cls.__name__ for cls, _ in RUNS_BY_CLASS} == {cls.__name__ for cls in RULE_BASED}
    for cls in RULE_BASED:
        assert {"lr", "weight_decay", "maximize"} <= {h.name for h in cls.hyperparameters}


@pytest.mark.parametrize(("cls", "run"), RUNS_BY_CLASS, ids=[r["name"] for _, r in RUNS_BY_CLASS])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_init_state_builds_every_state_entry_in_the_parameters_dtype(cls, run, dtype):
    w = leaf(np.ones((2, 3)), dtype=dtype)
    opt = cls([w], **kwargs_of(run))
    hyper = {k: v for k, v in opt.param_groups[0].items()
             if k not in ("params", "t", "lr", "maximize", "weight_decay")}  # fmt: skip
    start = cls.init_state(w.data, **hyper)
    w.grad = np.full((2, 3), 0.5, dtype=dtype)
    opt.step()
    after = opt.state[w]
    assert set(after) == set(start), run["name"]  # the rule adds no key that init_state lacks
    for name, value in start.items():
        if isinstance(value, np.ndarray):
            assert value.shape == (2, 3) and value.dtype == dtype, name
            assert after[name].dtype == dtype, name
        elif name == "step":
            assert (value, after[name]) == (0, 1)


def test_init_state_of_the_accumulators_that_do_not_start_at_zero():
    theta = np.zeros(3)
    np.testing.assert_array_equal(
        optim.Adagrad.init_state(theta, lr_decay=0.0, initial_accumulator_value=0.5, eps=1e-10)[
            "sum"
        ],
        [0.5, 0.5, 0.5],
    )
    # PyTorch's buffer starts at g itself at the first step: None until then.
    sgd = {"momentum": 0.9, "dampening": 0.0, "nesterov": False}
    assert optim.SGD.init_state(theta, **sgd, momentum_form="pytorch") == {"momentum_buffer": None}
    assert optim.SGD.init_state(theta, **{**sgd, "momentum": 0.0}, momentum_form="pytorch") == {}
    velocity = optim.SGD.init_state(theta, **sgd, momentum_form="lecture")["velocity"]
    np.testing.assert_array_equal(velocity, np.zeros(3))


# ------------------------------------------------------------------------ the declarations
DECLARED = [(cls, h) for cls in optim.OPTIMIZERS.values() for h in cls.hyperparameters]
IDS = [f"{cls.__name__}.{h.name}" for cls, h in DECLARED]


class Odd:
    """A value of no kind any hyperparameter takes."""

    def __repr__(self) -> str:
        return "Odd()"


def expected_words(h) -> str:
    words = [c.description if c is not None else "None" for c in h.allowed]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


@pytest.mark.parametrize(("cls", "h"), DECLARED, ids=IDS)
def test_every_declared_hyperparameter_is_validated_by_name(cls, h):
    lr = {"lr": 0.1} if h.name != "lr" else {}
    message = f"{cls.__name__}: {h.name} must be {expected_words(h)}; got {what_came(Odd())}."
    with pytest.raises(TypeError, match=re.escape(message) + "$"):
        cls([leaf([1.0])], **lr, **{h.name: Odd()})
    numbers = [c for c in h.allowed if c is not None and hasattr(c, "low")]
    if any(c.kind is not int and "float" in c.description for c in numbers):
        with pytest.raises(ValueError, match=rf"^{cls.__name__}: {h.name} must be .*; got nan\.$"):
            cls([leaf([1.0])], **lr, **{h.name: math.nan})


@pytest.mark.parametrize(("cls", "h"), DECLARED, ids=IDS)
def test_every_default_passes_its_own_constraints_and_has_a_meaning(cls, h):
    assert h.doc and "\n" not in h.doc and len(h.doc) < 70
    if h.default is not REQUIRED:
        assert check(cls.__name__, h.name, h.default, *h.allowed) is h.default


def test_sgd_needs_its_lr_and_refuses_unknown_or_repeated_arguments():
    with pytest.raises(
        TypeError, match=r"^SGD: lr must be given \(η, the step size, .*\); got nothing\.$"
    ):
        optim.SGD([leaf([1.0])])
    with pytest.raises(TypeError, match=r"^Adam: each keyword argument must be one of \['lr', "):
        optim.Adam([leaf([1.0])], momentum=0.9)
    with pytest.raises(
        TypeError, match=r"^Adam: lr must be given once; got it by position and by name\.$"
    ):
        optim.Adam([leaf([1.0])], 0.1, lr=0.1)
    with pytest.raises(TypeError, match=r"^Adagrad: the positional arguments must be at most 7 "):
        optim.Adagrad([leaf([1.0])], *range(1, 8))


def test_positional_arguments_follow_the_declared_order_as_in_pytorch():
    opt = optim.Adam([leaf([1.0])], 0.01, (0.8, 0.9), 1e-6, 0.1, True)
    group = opt.param_groups[0]
    assert (group["lr"], group["betas"], group["eps"], group["weight_decay"]) == (
        0.01, (0.8, 0.9), 1e-6, 0.1)  # fmt: skip
    assert group["amsgrad"] is True and group["maximize"] is False


@pytest.mark.parametrize("cls", list(optim.OPTIMIZERS.values()), ids=list(optim.OPTIMIZERS))
def test_signature_repr_and_state_dict_read_the_declarations(cls):
    names = [h.name for h in cls.hyperparameters]
    assert list(inspect.signature(cls).parameters)[: len(names) + 1] == ["params", *names]
    opt = cls([leaf([1.0])], lr=0.5)
    lines = repr(opt).splitlines()
    assert lines[:3] == [f"{cls.__name__} (", "Parameter Group 0", "    lr: 0.5"]
    assert [line.split(":")[0].strip() for line in lines[2:-1]] == [*names, "t"]
    assert list(opt.state_dict()["param_groups"][0]) == [*names, "t", "params"]


def test_adam_signature_shows_fused_as_a_keyword_option():
    assert str(inspect.signature(optim.AdamW)) == (
        "(params, lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.01, amsgrad=False, "
        "maximize=False, *, fused=None)"
    )


# ------------------------------------------------------------------------ the registry
def test_the_command_line_and_the_picture_read_the_registry():
    assert runs.OPTIMIZERS is optim.OPTIMIZERS
    assert list(runs.OPTIMIZERS) == ["sgd", "adagrad", "adadelta", "rmsprop", "adam", "adamw",
                                     "lbfgs"]  # fmt: skip
    pictured = ["SGD", "momentum", "Nesterov", "Adagrad", "Adadelta", "RMSprop", "Adam", "L-BFGS"]
    assert list(paths.OPTIMIZERS) == pictured
    assert paths.OPTIMIZERS["Nesterov"] == (optim.SGD, optim.SGD.path_examples["Nesterov"])


def test_a_new_optimizer_needs_only_its_class():
    def sign_rule(g, state, *, lr):
        return np.sign(g), {}

    try:

        class SignDescent(optim.Optimizer):
            name = "signsgd"
            rule = staticmethod(sign_rule)
            init_state = staticmethod(lambda theta, **hyper: {})
            hyperparameters = (
                optim.Hyper("lr", 0.1, (optim.hyperparameters.POSITIVE,), "η"),
                optim.hyperparameters.weight_decay(),
                optim.hyperparameters.MAXIMIZE,
            )

        assert runs.OPTIMIZERS["signsgd"] is SignDescent
        config = {"optimizer": "signsgd", "lr": 0.5, "schedule": "constant", "momentum": 0.0}
        w = leaf([1.0, -2.0])
        opt = runs._optimizer(config, [w], steps=1)
        w.grad = np.array([3.0, -0.5])
        opt.step()
        np.testing.assert_array_equal(w.data, [0.5, -1.5])
        with pytest.raises(ValueError, match=r"^Duplicate: name 'signsgd' is SignDescent's"):

            class Duplicate(SignDescent):
                name = "signsgd"
    finally:
        optim.OPTIMIZERS.pop("signsgd", None)
    assert "signsgd" not in runs.OPTIMIZERS


def test_a_rule_without_the_hyperparameters_the_base_applies_is_refused_at_definition():
    message = (
        "Bare: hyperparameters must declare lr, weight_decay and maximize, which the base class "
        "applies; got ['lr']."
    )
    with pytest.raises(TypeError, match=re.escape(message) + "$"):

        class Bare(optim.Optimizer):
            rule = staticmethod(lambda g, state, *, lr: (g, {}))
            hyperparameters = (optim.hyperparameters.learning_rate(),)
