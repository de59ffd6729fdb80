"""The optimizers' bookkeeping: state dicts that round-trip and refuse a mismatch, zero_grad, the
in-place step, param groups and closures. Gradients are written by hand in NumPy.
"""

import pickle

import numpy as np
import pytest
from optimizer_helpers import leaf, load_fixture, problem_gradient

import wengert as wg
from wengert import optim
from wengert.optim import SGD, Adam, RMSprop, schedules


# ------------------------------------------------------------- level 4: the bookkeeping
def fixture_problem_run(make, steps, params=None, opt=None):
    """`steps` steps on the fixture's problem; returns (params, optimizer)."""
    problem = load_fixture()["problem"]
    if params is None:
        params = [leaf(problem["w0"]), leaf(problem["W0"])]
    opt = opt or make(params)
    for _ in range(steps):
        params[0].grad, params[1].grad = problem_gradient(problem, params[0].data, params[1].data)
        opt.step()
    return params, opt


def fixture_maker(run: dict):
    """The optimizer of a fixture run (its class by name in the registry), on given params."""
    cls = next(c for c in optim.OPTIMIZERS.values() if c.__name__ == run["optimizer"])
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in run["kwargs"].items()}
    return lambda p: cls(p, **kwargs)


# Every fixture run without groups, and schedules, which must pickle with the state dict.
ROUND_TRIP = {
    **{run["name"]: fixture_maker(run) for run in load_fixture()["runs"] if not run["groups"]},
    "sgd_lecture_schedule": lambda p: SGD(
        p, lr=schedules.inverse_sqrt(0.1), momentum=0.9, momentum_form="lecture"
    ),
    "adam_amsgrad_schedule": lambda p: Adam(p, lr=schedules.cosine(0.05, 20), amsgrad=True),
}


@pytest.mark.parametrize("make", ROUND_TRIP.values(), ids=ROUND_TRIP.keys())
def test_state_dict_round_trip_continues_the_same_trajectory(make):
    straight, _ = fixture_problem_run(make, 10)
    params, opt = fixture_problem_run(make, 5)
    saved = pickle.loads(pickle.dumps(opt.state_dict()))  # a schedule pickles too
    resumed = [leaf(p.data) for p in params]
    fresh = make(resumed)
    fresh.load_state_dict(saved)
    fixture_problem_run(make, 5, resumed, fresh)
    for a, b in zip(resumed, straight, strict=True):
        np.testing.assert_array_equal(a.data, b.data)


def test_state_dict_layout_and_snapshot():
    w, b = leaf([1.0, 2.0]), leaf(0.5)
    opt = Adam([{"params": [w]}, {"params": [b], "lr": 0.1}], lr=0.01)
    w.grad = np.array([1.0, -1.0])
    opt.step()  # b has no gradient: no state for it
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert [g["lr"] for g in sd["param_groups"]] == [0.01, 0.1]
    assert [g["t"] for g in sd["param_groups"]] == [1, 1]
    assert set(sd["state"]) == {0}
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq"} and sd["state"][0]["step"] == 1
    before = sd["state"][0]["exp_avg"].copy()
    opt.step()
    np.testing.assert_array_equal(sd["state"][0]["exp_avg"], before)  # a copy, not live


def test_load_state_dict_casts_to_the_parameter_dtype_and_copies():
    w = leaf([1.0, 2.0], dtype=np.float32)
    opt = SGD([w], lr=0.1, momentum=0.9)
    buf = np.array([0.5, 0.25])  # float64
    opt.load_state_dict(
        {
            "state": {0: {"momentum_buffer": buf}},
            "param_groups": [{**opt.state_dict()["param_groups"][0], "lr": 0.2}],
        }
    )
    assert opt.state[w]["momentum_buffer"].dtype == np.float32
    assert opt.state[w]["momentum_buffer"] is not buf
    assert opt.param_groups[0]["lr"] == 0.2 and opt.param_groups[0]["params"] == [w]


def _saved_sgd():
    w, W = leaf([1.0, 2.0, 3.0]), leaf(np.ones((2, 2)))
    opt = SGD([w, W], lr=0.1, momentum=0.9)
    w.grad, W.grad = np.ones(3), np.ones((2, 2))
    opt.step()
    return opt, opt.state_dict()


def _two_groups(sd):
    g = sd["param_groups"][0]
    return {**sd, "param_groups": [{**g, "params": [0]}, {**g, "params": [1]}]}


def _three_params(sd):
    g = sd["param_groups"][0]
    return {**sd, "param_groups": [{**g, "params": [0, 1, 2]}]}


def _wrong_shape(sd):
    return {**sd, "state": {0: {"momentum_buffer": np.zeros(4)}, 1: sd["state"][1]}}


def _bad_hyper(sd):
    return {**sd, "param_groups": [{**sd["param_groups"][0], "momentum": 2.0}]}


def _unknown_key(sd):
    return {**sd, "param_groups": [{**sd["param_groups"][0], "betas": (0.9, 0.99)}]}


LOAD_REFUSED = [
    (
        _two_groups,
        r"^SGD\.load_state_dict: state_dict must be of 1 param group, as this SGD has; got 2\.$",
    ),
    (
        _three_params,
        r"^SGD\.load_state_dict: param group 0 of state_dict must be of 2 parameters, as in this "
        r"SGD; got 3\.$",
    ),
    (
        _wrong_shape,
        r"^SGD\.load_state_dict: state 'momentum_buffer' of parameter 0 must be of the "
        r"parameter's shape \(3,\); got shape \(4,\)\.$",
    ),
    (_bad_hyper, r"SGD: momentum must be a float in \[0, 1\); got 2\.0\.$"),
    (_unknown_key, r"SGD: a param group's keys must be among \['dampening', .*; got 'betas'\.$"),
    (
        lambda sd: {"state": {}},
        r"^SGD\.load_state_dict: state_dict must be a dict with the keys 'param_groups' and "
        r"'state' \(from state_dict\(\)\); got the keys \['state'\]\.$",
    ),
]


@pytest.mark.parametrize(("corrupt", "message"), LOAD_REFUSED)
def test_load_state_dict_refuses_a_mismatch_and_changes_nothing(corrupt, message):
    opt, sd = _saved_sgd()
    groups_before = [dict(g) for g in opt.param_groups]
    state_before = {id(p): {k: v.copy() for k, v in s.items()} for p, s in opt.state.items()}
    with pytest.raises(ValueError, match=message):
        opt.load_state_dict(corrupt(sd))
    assert opt.param_groups == groups_before
    for p, s in opt.state.items():
        np.testing.assert_array_equal(s["momentum_buffer"], state_before[id(p)]["momentum_buffer"])


def test_zero_grad_sets_none_and_step_skips_parameters_without_gradient():
    w, b = leaf([1.0, 2.0]), leaf([3.0])
    opt = SGD([w, b], lr=0.1, momentum=0.9)
    w.grad, b.grad = np.array([1.0, 1.0]), np.array([1.0])
    opt.zero_grad()
    assert w.grad is None and b.grad is None
    w.grad = np.array([1.0, -1.0])
    data = b.data
    opt.step()
    np.testing.assert_allclose(w.data, [0.9, 2.1])
    assert b.data is data and b.data[0] == 3.0 and b not in opt.state
    assert opt.param_groups[0]["t"] == 1


def test_step_updates_data_in_place_and_records_no_graph():
    w = leaf([1.0, 2.0], dtype=np.float32)
    data = w.data
    for make in (lambda p: SGD(p, lr=0.1), lambda p: Adam(p), lambda p: RMSprop(p)):
        opt = make([w])
        w.grad = np.array([1.0, 1.0])  # a float64 gradient is cast to the parameter's dtype
        opt.step()
        assert w.data is data and w.data.dtype == np.float32 and w.is_leaf
        assert all(v.dtype == np.float32 for v in opt.state[w].values() if hasattr(v, "dtype"))


def test_a_tensor_gradient_from_create_graph_is_used_as_its_values():
    w = leaf([1.0, 2.0])
    opt = SGD([w], lr=0.5)
    w.grad = wg.tensor([2.0, 2.0])
    opt.step()
    np.testing.assert_allclose(w.data, [0.0, 1.0])


def test_param_groups_take_their_own_hyperparameters():
    w, b = leaf([1.0, 1.0]), leaf([1.0])
    opt = SGD([{"params": [w]}, {"params": [b], "lr": 0.01, "momentum": 0.5}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    assert [g["momentum"] for g in opt.param_groups] == [0.0, 0.5]
    for _ in range(2):
        w.grad, b.grad = np.array([1.0, 2.0]), np.array([1.0])
        opt.step()
    np.testing.assert_allclose(w.data, [1 - 0.2, 1 - 0.4])
    np.testing.assert_allclose(b.data, [1 - 0.01 * (1 + 1.5)])  # buffers 1, then 0.5 + 1
    extra = leaf([0.0])
    opt.add_param_group({"params": [extra], "lr": 1.0})
    assert opt.param_groups[2]["momentum"] == 0.0 and opt.param_groups[2]["t"] == 0


def test_closure_is_called_with_grad_on_and_its_loss_returned():
    w = leaf([3.0])
    opt = SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        assert wg.is_grad_enabled()
        loss = wg.sum(w * w)
        loss.backward()
        return loss

    with wg.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 9.0
    np.testing.assert_allclose(w.data, [3.0 - 0.25 * 6.0])
    assert opt.step() is None
