"""Input the optimizers refuse: each bad setting with its message, and gradients of the wrong shape
refused before any parameter moves.
"""

import math

import numpy as np
import pytest
from optimizer_helpers import leaf, one_param
from refusal_helpers import assert_refused

import wengert as wg
from wengert.optim import SGD, Adadelta, Adagrad, Adam, AdamW, RMSprop


class NoGrad:
    data = np.zeros(2)


BAD_INPUT = [
    (lambda: SGD(one_param(), lr=-0.1), ValueError,
     "SGD: lr must be a float > 0 or a schedule (a callable of the step t); got -0.1."),
    (lambda: SGD(one_param(), lr=math.inf), ValueError, "SGD: lr must be a float > 0 or a "
     "schedule (a callable of the step t); got inf."),
    (lambda: Adam(one_param(), lr=math.nan), ValueError, "Adam: lr must be a float > 0 or a "
     "schedule (a callable of the step t); got nan."),
    (lambda: SGD(one_param(), lr="0.1"), TypeError, "SGD: lr must be a float > 0 or a schedule "
     "(a callable of the step t); got '0.1'."),
    (lambda: SGD(one_param(), lr=0.1, momentum=1.5), ValueError,
     "SGD: momentum must be a float in [0, 1); got 1.5."),
    (lambda: SGD(one_param(), lr=0.1, momentum=True), TypeError,
     "SGD: momentum must be a float in [0, 1); got True (bool)."),
    (lambda: SGD(one_param(), lr=0.1, momentum=0.5, dampening=2), ValueError,
     "SGD: dampening must be a float in [0, 1]; got 2."),
    (lambda: SGD(one_param(), lr=0.1, nesterov=True), ValueError,
     "SGD: momentum and dampening, with nesterov=True, must be > 0 and = 0; got momentum=0.0, "
     "dampening=0.0. Nesterov's form needs momentum and no dampening."),
    (lambda: SGD(one_param(), lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), ValueError,
     "SGD: momentum and dampening, with nesterov=True, must be > 0 and = 0; got momentum=0.9, "
     "dampening=0.1. Nesterov's form needs momentum and no dampening."),
    (lambda: SGD(one_param(), lr=0.1, nesterov="yes"), TypeError,
     "SGD: nesterov must be a bool (True or False); got 'yes'."),
    (lambda: SGD(one_param(), lr=0.1, maximize=1), TypeError,
     "SGD: maximize must be a bool (True or False); got 1. Pass True (a bool)."),
    (lambda: SGD(one_param(), lr=0.1, momentum_form="keras"), ValueError,
     "SGD: momentum_form must be one of 'lecture', 'pytorch'; got 'keras'."),
    (lambda: SGD(one_param(), lr=0.1, momentum=0.9, dampening=0.5, momentum_form="lecture"),
     ValueError, "SGD: dampening, with momentum_form='lecture' (v ← μ·v − η·g), must be 0; got "
     "0.5. Use momentum_form='pytorch' for dampening."),
    (lambda: SGD(one_param(), lr=0.1, weight_decay=-1), ValueError,
     "SGD: weight_decay must be a float >= 0; got -1."),
    (lambda: Adagrad(one_param(), lr_decay=-0.1), ValueError,
     "Adagrad: lr_decay must be a float >= 0; got -0.1."),
    (lambda: Adagrad(one_param(), initial_accumulator_value=-1.0), ValueError,
     "Adagrad: initial_accumulator_value must be a float >= 0; got -1.0."),
    (lambda: Adagrad(one_param(), eps=0.0), ValueError,
     "Adagrad: eps must be a float > 0; got 0.0."),
    (lambda: Adadelta(one_param(), rho=1.0), ValueError,
     "Adadelta: rho must be a float in [0, 1); got 1.0."),
    (lambda: RMSprop(one_param(), alpha=-0.5), ValueError,
     "RMSprop: alpha must be a float in [0, 1); got -0.5."),
    (lambda: RMSprop(one_param(), centered=1), TypeError,
     "RMSprop: centered must be a bool (True or False); got 1. Pass True (a bool)."),
    (lambda: Adam(one_param(), betas=(0.9, 1.0)), ValueError,
     "Adam: betas must be a pair of values, each a float in [0, 1); got (0.9, 1.0)."),
    (lambda: AdamW(one_param(), betas=0.9), TypeError,
     "AdamW: betas must be a pair of values, each a float in [0, 1); got 0.9."),
    (lambda: Adam(one_param(), eps=-1e-8), ValueError,
     "Adam: eps must be a float > 0; got -1e-08."),
    (lambda: Adam(one_param(), amsgrad=1), TypeError,
     "Adam: amsgrad must be a bool (True or False); got 1. Pass True (a bool)."),
    (lambda: Adam(one_param(), fused="yes"), TypeError,
     "Adam: fused must be a bool (True or False) or None; got 'yes'."),
    (lambda: SGD([], lr=0.1), ValueError, "SGD: params must be one Tensor or more; got none."),
    (lambda: Adam(iter([])), ValueError, "Adam: params must be one Tensor or more; got none."),
    (lambda: SGD([{"params": []}], lr=0.1), ValueError,
     "SGD: params must be one Tensor or more; got none."),
    (lambda: SGD(leaf([1.0]), lr=0.1), TypeError,
     "SGD: params must be an iterable of Tensors or of dicts (parameter groups); got a single "
     "Tensor. Wrap it in a list: SGD([w], ...)."),
    (lambda: SGD([wg.tensor([1, 2])], lr=0.1), TypeError,
     "SGD: params must be floating-point; got dtype int64 in parameter 0 of param group 0. Make "
     "it with dtype=np.float32 or np.float64."),
    (lambda: Adam([np.zeros(2)]), TypeError,
     "Adam: params must be Tensors (objects with an ndarray .data and a .grad) or dicts of "
     "parameter groups; got a ndarray as parameter 0 of param group 0."),
    (lambda: Adam([NoGrad()]), TypeError,
     "Adam: params must be Tensors (objects with an ndarray .data and a .grad) or dicts of "
     "parameter groups; got a NoGrad as parameter 0 of param group 0."),
    (lambda: SGD([{"params": one_param()}, 3], lr=0.1), TypeError,
     "SGD: params must be all Tensors or all dicts (parameter groups); got a int among dicts."),
    (lambda: SGD([{"params": one_param(), "momentom": 0.9}], lr=0.1), ValueError,
     "SGD: a param group's keys must be among ['dampening', 'lr', 'maximize', 'momentum', "
     "'momentum_form', 'nesterov', 'weight_decay']; got 'momentom'."),
    (lambda: SGD([{"params": one_param(), "momentum": 2.0}], lr=0.1), ValueError,
     "SGD: momentum must be a float in [0, 1); got 2.0."),
    (lambda: SGD([{"params": one_param(), "t": -1}], lr=0.1), ValueError,
     "SGD: t must be an int >= 0; got -1."),
    (lambda: SGD((lambda w: [w, w])(leaf([1.0])), lr=0.1), ValueError,
     "SGD: each parameter must be in one group, once; got parameter 1 of param group 0 a "
     "second time."),
]  # fmt: skip


@pytest.mark.parametrize(("make", "error", "message"), BAD_INPUT)
def test_bad_input_is_refused_with_a_message(make, error, message):
    assert_refused(make, error, message)


def test_a_gradient_of_the_wrong_shape_is_refused_before_any_parameter_moves():
    v, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    opt = SGD([v, w], lr=0.1)
    v.grad, w.grad = np.ones(2), np.ones(3)
    message = (
        r"^SGD\.step: the \.grad of parameter 1 of param group 0 must be of the parameter's "
        r"shape \(2,\); got shape \(3,\)\. Nothing was updated\.$"
    )
    with pytest.raises(ValueError, match=message):
        opt.step()
    assert v.data.tolist() == [1.0, 2.0] and w.data.tolist() == [3.0, 4.0]
    assert opt.param_groups[0]["t"] == 0


@pytest.mark.parametrize("cls", [wg.optim.LBFGS, wg.optim.BFGS, wg.optim.NewtonCG])
@pytest.mark.parametrize("bad_shape", [(3,), (1, 2)], ids=["other size", "same size"])
def test_a_closure_gradient_of_the_wrong_shape_is_refused_before_any_parameter_moves(
    cls, bad_shape
):
    v, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    opt = cls([v, w])

    def closure():
        opt.zero_grad()
        loss = wg.sum(v * v) + wg.sum(w * w)
        loss.backward(create_graph=cls.create_graph)
        w.grad = np.ones(bad_shape)  # (1, 2) has w's size: raveled, it would pass silently
        return loss

    with pytest.raises(ValueError) as caught:
        opt.step(closure)
    assert str(caught.value) == (
        f"{cls.__name__}.step: the .grad of parameter 1 must be of the parameter's shape (2,); "
        f"got shape {bad_shape}. The parameters keep their last accepted values."
    )
    assert v.data.tolist() == [1.0, 2.0] and w.data.tolist() == [3.0, 4.0]
    assert opt.n_iter == 0
