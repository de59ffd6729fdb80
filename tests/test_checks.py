"""The one argument checker's message shape: one row per kind of constraint and per public family.

Every refusal reads "{owner}: {argument} must be {expected}; got {what came}." (plus a fix);
TypeError for a value of the wrong kind, ValueError for one out of range. The constraint classes
themselves are tested in test_check_constraints.py.
"""

import math
import re
import warnings
from numbers import Integral, Real

import numpy as np
import pytest
from checks_helpers import UNIT, X3

import wengert as wg
from wengert import classic, nn, optim, plot
from wengert._checks import (
    Boolean,
    Callable,
    ConvergenceWarning,
    InstanceOf,
    Interval,
    Options,
    TupleOf,
    as_generator,
    check,
    check_finite,
)
from wengert.autodiff import ops
from wengert.optim.line_search import strong_wolfe
from wengert.sklearn import MLPClassifier, MLPRegressor
from wengert.train import EarlyStopping

SHAPE = re.compile(r"^[\w.()=',\[\] -]+: .+ must be .+; got .+\.( .+)?$", re.DOTALL)


UNIT_PAIR = TupleOf(UNIT, 2)


def leaf():
    return [wg.tensor([1.0, 2.0], requires_grad=True)]


XY = (np.array([[0.0], [1.0]]), np.array([0.0, 1.0]))


def model():
    return nn.Perceptron(1, dtype=np.float64)


def deep_list(depth):
    nested = []
    for _ in range(depth - 1):
        nested = [nested]
    return nested


def newton_cg_without_graph():
    (x,) = leaf()
    opt = optim.NewtonCG([x])

    def closure():
        opt.zero_grad()
        loss = wg.sum(x * x)
        loss.backward()
        return loss

    opt.step(closure)


def sgd():
    return optim.SGD(leaf(), lr=0.1)


def lbfgs_with_a_misshapen_grad():
    (x,) = leaf()
    opt = optim.LBFGS([x])

    def closure():
        loss = wg.sum(x * x)
        x.grad = np.ones((2, 1))
        return loss

    opt.step(closure)


def regressor_fitted_on_one_column():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MLPRegressor(hidden_layer_sizes=(2,), max_iter=1).partial_fit([[0.0]], [1.0])


# One row per kind of constraint and per public family: (call, exception type, message).
TABLE = [
    # the constraint kinds, through check()
    (lambda: check("f", "x", -1, Interval(Real, 0, None)), ValueError,
     "f: x must be a float >= 0; got -1."),
    (lambda: check("f", "x", True, Interval(Real, 0, None)), TypeError,
     "f: x must be a float >= 0; got True (bool)."),
    (lambda: check("f", "n", 2.0, Interval(Integral, 1, None)), TypeError,
     "f: n must be an int >= 1; got 2.0. Pass 2 (an int)."),
    (lambda: check("f", "n", 0, Interval(Integral, 1, 9, closed="both")), ValueError,
     "f: n must be an int in [1, 9]; got 0."),
    (lambda: check("f", "p", math.nan, Interval(Real, 0, 1, closed="neither")), ValueError,
     "f: p must be a float in (0, 1); got nan."),
    (lambda: check("f", "p", math.inf, Interval(Real, 0, None)), ValueError,
     "f: p must be a float >= 0; got inf."),
    (lambda: check("f", "mode", "x", Options(["a", "b"])), ValueError,
     "f: mode must be one of 'a', 'b'; got 'x'."),
    (lambda: check("f", "mode", 3, Options(["a", "b"]), None), TypeError,
     "f: mode must be one of 'a', 'b' or None; got 3."),
    (lambda: check("f", "flag", 0, Boolean()), TypeError,
     "f: flag must be a bool (True or False); got 0. Pass False (a bool)."),
    (lambda: check("f", "fn", 3, Callable("a function of t")), TypeError,
     "f: fn must be a function of t; got 3."),
    (lambda: check("f", "rng", "r", InstanceOf(np.random.Generator, "a Generator")), TypeError,
     "f: rng must be a Generator; got 'r'."),
    (lambda: check("f", "betas", (0.5, 2), UNIT_PAIR), ValueError,
     "f: betas must be a pair of values, each a float in [0, 1]; got (0.5, 2)."),
    (lambda: check("f", "betas", (0.5,), UNIT_PAIR), TypeError,
     "f: betas must be a pair of values, each a float in [0, 1]; got (0.5,)."),
    (lambda: check("f", "x", np.float32(-2), Interval(Real, 0, None)), ValueError,
     "f: x must be a float >= 0; got np.float32(-2.0) (float32)."),
    (lambda: check_finite("f", "X", np.array([[1.0, 2.0], [np.nan, 3.0]])), ValueError,
     "f: X must be finite; got 1 NaN or infinite value(s), the first at index (1, 0). "
     "Remove or impute them."),
    (lambda: as_generator(-1, "g"), ValueError,
     "g: seed must be an int >= 0, a numpy.random.Generator or None; got -1."),
    (lambda: as_generator(None, "g", allow_none=False), TypeError,
     "g: seed must be an int >= 0 or a numpy.random.Generator; got None."),
    # one row per public family
    (lambda: optim.SGD(leaf(), lr=-1), ValueError,
     "SGD: lr must be a float > 0 or a schedule (a callable of the step t); got -1."),
    (lambda: optim.Adam(leaf(), amsgrad=1), TypeError,
     "Adam: amsgrad must be a bool (True or False); got 1. Pass True (a bool)."),
    (lambda: optim.LBFGS(leaf(), history_size=2.5), TypeError,
     "LBFGS: history_size must be an int >= 1; got 2.5."),
    (lambda: optim.minimize(lambda x: wg.sum(x * x), [1.0], tol=-1), ValueError,
     "minimize(method='lbfgs'): tol must be a float >= 0; got -1."),
    (lambda: optim.schedules.cosine(1.0, total_steps=0), ValueError,
     "cosine: total_steps must be an int >= 1; got 0."),
    (lambda: optim.SGD(leaf(), lr=0.1).load_state_dict([]), TypeError,
     "SGD.load_state_dict: state_dict must be a dict with the keys 'param_groups' and 'state' "
     "(from state_dict()); got []."),
    (lambda: strong_wolfe(lambda a: (1.0, 1.0), 1.0, 0.5), ValueError,
     "strong_wolfe: dphi0 must be a float < 0; got 0.5. φ'(0) < 0: d must be a descent "
     "direction."),
    (lambda: strong_wolfe(lambda a: (1.0, 1.0), 1.0, -1.0, c1=0.9, c2=0.5), ValueError,
     "strong_wolfe: c2 must be greater than c1 = 0.9 (0 < c1 < c2 < 1); got 0.5."),
    (lambda: strong_wolfe(lambda a: (1.0, 1.0), 1.0, -1.0, max_eval=0.5), TypeError,
     "strong_wolfe: max_eval must be an int >= 1; got 0.5."),
    (lambda: newton_cg_without_graph(), ValueError,
     "NewtonCG: the closure's gradients must be Tensors that carry their graph (for "
     "Hessian-vector products); got plain arrays in .grad. Call "
     "loss.backward(create_graph=True) in the closure."),
    (lambda: nn.Linear(2, 0), ValueError, "Linear: n_outputs must be an int >= 1; got 0."),
    (lambda: nn.Linear(2, 1, bias="no"), TypeError,
     "Linear: bias must be a bool (True or False); got 'no'."),
    (lambda: nn.Linear(2, 1, dtype=np.int64), TypeError,
     "Linear: dtype must be a floating dtype such as numpy.float32 or numpy.float64; got "
     "<class 'numpy.int64'> (type), dtype int64."),
    (lambda: nn.Perceptron(2, bias=None), TypeError,
     "Perceptron: bias must be a bool (True or False); got None."),
    (lambda: nn.Perceptron(2, init="glorot"), ValueError,
     "Perceptron: init must be one of 'he_normal', 'he_uniform', 'xavier_normal', "
     "'xavier_uniform', 'zeros'; got 'glorot'."),
    (lambda: nn.MLP([2, 3, 1], bias=0), TypeError,
     "MLP: bias must be a bool (True or False); got 0. Pass False (a bool)."),
    (lambda: nn.MLP([2, 0, 1]), ValueError, "MLP: sizes[1] must be an int >= 1; got 0."),
    (lambda: nn.MLP(3), TypeError,
     "MLP: sizes must be a list of at least 2 layer sizes (inputs and outputs), e.g. [2, 4, 1]; "
     "got 3."),
    (lambda: nn.MLP([2, 1], dtype="foo"), TypeError,
     "MLP: dtype must be a floating dtype such as numpy.float32 or numpy.float64; got 'foo'."),
    (lambda: nn.Sequential(3), TypeError,
     "Sequential: modules[0] must be a Module (e.g. Linear or Activation); got 3."),
    (lambda: nn.Sequential([nn.Linear(1, 1)]), TypeError,
     "Sequential: modules[0] must be a Module (e.g. Linear or Activation); got [Linear(1, 1, "
     "bias=True)]. Pass the modules one by one: Sequential(*layers)."),
    (lambda: nn.Linear(1, 1).train("no"), TypeError,
     "Linear.train: mode must be a bool (True or False); got 'no'."),
    (lambda: nn.MLP([2, 1], seed=1.5), TypeError,
     "MLP: seed must be an int >= 0, a numpy.random.Generator or None; got 1.5."),
    (lambda: nn.utils.clip_grad_norm_(leaf(), -1.0), ValueError,
     "clip_grad_norm_: max_norm must be a float in [0, inf]; got -1.0."),
    (lambda: classic.Perceptron(seed=-1).fit([[0.0], [1.0]], [0, 1]), ValueError,
     "Perceptron: seed must be an int >= 0, a numpy.random.Generator or None; got -1."),
    (lambda: classic.Perceptron().fit(X3, [[1], [2, 3], [1]]), ValueError,
     "Perceptron.fit: y must be 1-D, of shape (n_samples,); got a ragged sequence."),
    (lambda: classic.Perceptron().fit(X3, [None, "a", "b"]), TypeError,
     "Perceptron.fit: y must be labels of one kind (all numbers or all strings); got a mix of "
     "NoneType, str."),
    (lambda: classic.LMS().fit(X3, ["a", "b", "a"]), TypeError,
     "LMS.fit: y must be real numbers; got an array of dtype <U1."),
    # training
    (lambda: wg.fit(model(), wg.losses.l2, sgd(), XY, epochs=2.0), TypeError,
     "fit: epochs must be an int >= 1; got 2.0. Pass 2 (an int)."),
    (lambda: wg.fit("net", wg.losses.l2, sgd(), XY), TypeError,
     "fit: model must be a wengert.nn.Module; got 'net'."),
    (lambda: wg.fit(model(), wg.losses.l2, sgd(), XY, metrics=[3]), TypeError,
     "fit: metrics[0] must be 'accuracy' or a function (y_hat, y) -> float; got 3."),
    (lambda: wg.fit(model(), wg.losses.l2, sgd(), XY, batch_size=1.5), TypeError,
     "fit: batch_size must be an int >= 1 or None; got 1.5."),
    (lambda: wg.fit(model(), wg.losses.l2, sgd(), XY, checkpoint_every=0), ValueError,
     "fit: checkpoint_every must be an int >= 1; got 0."),
    (lambda: EarlyStopping(patience=0), ValueError,
     "EarlyStopping: patience must be an int >= 1; got 0."),
    (lambda: EarlyStopping(monitor="val_acc"), ValueError,
     "EarlyStopping: monitor must be one of 'loss', 'val_loss'; got 'val_acc'."),
    (lambda: EarlyStopping(restore_best=1), TypeError,
     "EarlyStopping: restore_best must be a bool (True or False); got 1. Pass True (a bool)."),
    # derivatives
    (lambda: wg.derivatives.numerical_grad(np.sum, np.ones(2), eps="1e-6"), TypeError,
     "numerical_grad: eps must be a float > 0 or None; got '1e-6'. eps is the step h; None "
     "gives a step scaled to the dtype and |x|."),
    (lambda: wg.derivatives.gradcheck(np.sum, np.ones(2), order=3), ValueError,
     "gradcheck: order must be one of 1, 2; got 3."),
    (lambda: wg.derivatives.compare_derivatives(np.sum, 1.0, repeats=2.0), TypeError,
     "compare_derivatives: repeats must be an int >= 1; got 2.0. Pass 2 (an int)."),
    (lambda: wg.derivatives.symbolic_grad(np.sum, "x", max_ops=0), ValueError,
     "symbolic_grad: max_ops must be an int >= 1; got 0."),
    (lambda: wg.derivatives.step_size_sweep(np.exp, 1.0, points=0), ValueError,
     "step_size_sweep: points must be an int >= 1; got 0."),
    (lambda: wg.derivatives.depth_sweep(max_depth=31), ValueError,
     "depth_sweep: max_depth must be an int in [1, 30]; got 31."),
    (lambda: wg.derivatives.step_size_sweep(np.exp, 1.0, steps=["a"]), TypeError,
     "step_size_sweep: steps must be a 1-D array of positive finite steps; got ['a']."),
    (lambda: wg.derivatives.numerical_grad(np.sum, "a"), TypeError,
     "numerical_grad: argument 0 must be numbers; got an array of dtype <U1 (string). Convert "
     "it first, e.g. np.asarray(x, dtype=float)."),
    (lambda: wg.derivatives.gradcheck(np.sum, ["a"]), TypeError,
     "gradcheck: argument 0 (a) must be numbers; got an array of dtype <U1 (string). Convert "
     "it first, e.g. np.asarray(x, dtype=float)."),
    (lambda: wg.derivatives.gradcheck(np.sum, np.ones(2), raise_on_fail=0), TypeError,
     "gradcheck: raise_on_fail must be a bool (True or False); got 0. Pass False (a bool)."),
    (lambda: wg.derivatives.symbolic_grad(lambda x: x * 2.0, ["a"]), TypeError,
     "symbolic_grad: argument 0 must be numbers; got an array of dtype <U1 (string). Convert "
     "it first, e.g. np.asarray(x, dtype=float)."),
    (lambda: wg.derivatives.symbolic_grad(lambda x: x * 2.0, "x")(["a"]), TypeError,
     "SymbolicGradient: argument x must be numbers; got an array of dtype <U1 (string). "
     "Convert it first, e.g. np.asarray(x, dtype=float)."),
    (lambda: wg.derivatives.compare_derivatives(lambda x: x * x, 1.0, reference=["a"]), TypeError,
     "compare_derivatives: reference must be numbers; got an array of dtype <U1 (string). "
     "Convert it first, e.g. np.asarray(x, dtype=float)."),
    # pictures
    (lambda: plot.plot_descent(w0=math.inf), ValueError,
     "plot_descent: w0 must be a float; got inf."),
    (lambda: plot.plot_optimizer_paths(steps=True), TypeError,
     "plot_optimizer_paths: steps must be an int >= 1; got True (bool)."),
    (lambda: plot.plot_boundary_evolution(grid=2.0), TypeError,
     "plot_boundary_evolution: grid must be an int >= 2; got 2.0. Pass 2 (an int)."),
    (lambda: plot.plot_losses(save=b"x.png"), TypeError,
     "plot_losses: save must be a path (str or os.PathLike) or None; got b'x.png' (bytes)."),
    # model files: the arguments (a malformed file is a ModelFileError, tested in test_io)
    (lambda: wg.io.save("net", "m.safetensors"), TypeError,
     "save: model must be a wengert.nn.Module; got 'net'."),
    (lambda: wg.io.save(model(), "m.safetensors", deep=deep_list(300)), ValueError,
     "save: metadata must be nested at most 200 levels of lists and dicts deep; got deeper "
     "nesting. Flatten it."),
    (lambda: wg.io.load(3), TypeError, "load: path must be a path (str or os.PathLike); got 3."),
    (lambda: wg.io.save_checkpoint("c.safetensors", model(), step=-1), ValueError,
     "save_checkpoint: step must be an int >= 0; got -1."),
    (lambda: wg.io.load_checkpoint("c.safetensors", optimizer="sgd"), TypeError,
     "load_checkpoint: optimizer must be a wengert.optim optimizer or None; got 'sgd'."),
    # the engine: Tensors
    (lambda: wg.tensor(["a", "b"]), TypeError,
     "tensor: data must be numbers; got an array of dtype <U1 (string). Convert it first, "
     "e.g. np.asarray(x, dtype=float)."),
    (lambda: wg.Tensor(["a", "b"]), TypeError,
     "Tensor: data must be numbers; got an array of dtype <U1 (string). Convert it first, "
     "e.g. np.asarray(x, dtype=float)."),
    (lambda: wg.tensor([1, 2], requires_grad=True), TypeError,
     "tensor: data must be floating-point when requires_grad=True; got dtype int64. Pass "
     "float data or dtype=np.float64."),
    (lambda: wg.tensor([1.0], requires_grad=True, dtype=int), TypeError,
     "tensor: dtype must be floating-point when requires_grad=True; got dtype int64. Pass "
     "float data or dtype=np.float64."),
    (lambda: wg.tensor([1.0], requires_grad="yes"), TypeError,
     "tensor: requires_grad must be a bool (True or False); got 'yes'."),
    (lambda: wg.Tensor([1.0], requires_grad=1), TypeError,
     "Tensor: requires_grad must be a bool (True or False); got 1. Pass True (a bool)."),
    (lambda: wg.tensor([1.0], dtype="foo"), TypeError,
     "tensor: dtype must be a NumPy dtype or a name of one; got 'foo'."),
    (lambda: wg.Tensor([1.0], dtype=str), TypeError,
     "Tensor: dtype must be a dtype of numbers (bool, integer, floating or complex); got "
     "<class 'str'> (type), a string dtype. Pass e.g. np.float64."),
    (lambda: setattr(wg.tensor([1.0]), "data", "abc"), TypeError,
     "Tensor.data: the new value must be numbers; got an array of dtype <U3 (string). Convert "
     "it first, e.g. np.asarray(x, dtype=float)."),
    (lambda: wg.tensor([1.0, 2.0]).item(), ValueError,
     "Tensor.item: the Tensor must be of one element; got shape (2,)."),
    (lambda: len(wg.tensor(1.0)), TypeError,
     "len: the Tensor must be of at least 1 dimension; got a 0-d Tensor."),
    (lambda: bool(wg.tensor([1.0, 2.0])), ValueError,
     "bool: the Tensor must be of one element (the truth value of more is ambiguous); got "
     "shape (2,). Use (t > 0).numpy().any() or .all()."),
    (lambda: (wg.tensor(np.ones((2, 3)), requires_grad=True) * 2.0).backward(np.ones(6)),
     ValueError, "backward: gradient must be of the Tensor's shape (2, 3); got shape (6,)."),
    (lambda: (wg.tensor([1.0], requires_grad=True) * 2.0).sum().backward(retain_graph="yes"),
     TypeError, "backward: retain_graph must be a bool (True or False) or None; got 'yes'."),
    (lambda: (wg.tensor([1.0], requires_grad=True) * 2.0).sum().backward(create_graph=1),
     TypeError, "backward: create_graph must be a bool (True or False); got 1. Pass True (a "
     "bool)."),
    # the engine: transforms
    (lambda: wg.hessian(lambda x: wg.sum(x * x), argnums=5)(np.ones(2)), ValueError,
     "hessian: argnums must be in [-1, 1) for a call with 1 positional argument; got 5."),
    (lambda: wg.hessian(lambda x: x * x)(np.ones(2)), ValueError,
     "hessian: the result of f (<lambda>) must be a scalar (one element); got shape (2,). For "
     "a vector-valued function use wg.jacobian, or reduce the output (e.g. .sum())."),
    (lambda: wg.hvp(lambda x: x * x, np.ones(2), np.ones(2)), ValueError,
     "hvp: the result of f (<lambda>) must be a scalar (one element); got shape (2,). For a "
     "vector-valued function use wg.jacobian, or reduce the output (e.g. .sum())."),
    (lambda: wg.grad(lambda x, y: x * y, argnums=1.0)(1.0, 2.0), TypeError,
     "grad: argnums must be an int or a non-empty tuple of ints; got 1.0."),
    (lambda: wg.value_and_grad(lambda x, y: x * y, argnums=(0, 2))(1.0, 2.0), ValueError,
     "value_and_grad: argnums must be in [-2, 2) for a call with 2 positional arguments; got "
     "(0, 2)."),
    (lambda: wg.grad(lambda x, y: x * y, argnums=(0, -2))(1.0, 2.0), ValueError,
     "grad: argnums must be distinct arguments; got (0, -2), which names argument 0 twice."),
    (lambda: wg.grad(lambda x: x * 2.0)(np.ones(3)), ValueError,
     "grad: the result of f (<lambda>) must be a scalar (one element); got shape (3,). For a "
     "vector-valued function use wg.jacobian, or reduce the output (e.g. .sum())."),
    (lambda: wg.jacobian(lambda x: x)("a"), TypeError,
     "jacobian: argument 0 must be numbers; got an array of dtype <U1 (string). Convert it "
     "first, e.g. np.asarray(x, dtype=float)."),
    (lambda: wg.hvp(lambda x: wg.sum(x * x), np.ones(2), np.ones(3)), ValueError,
     "hvp: v must be of the shape of x, (2,); got shape (3,)."),
    (lambda: wg.jvp(lambda x: x, np.zeros(2), np.zeros(3)), ValueError,
     "jvp: v must be of the shape of x, (2,); got shape (3,)."),
    (lambda: wg.jvp(lambda x: x, 2, 1.0), TypeError,
     "jvp: x must be floating-point (a tangent is a direction in a real space); got dtype "
     "int64. Pass float data, e.g. 2.0 rather than 2, or np.asarray(x, dtype=float)."),
    (lambda: wg.jacfwd(lambda x: "a")(np.ones(2)), TypeError,
     "jacfwd: the result of f (<lambda>) must be a Tensor, an array or a number; got a str. For "
     "several outputs return one Tensor, e.g. wg.stack([a, b]) or wg.concatenate([a, b])."),
    (lambda: wg.trace(lambda x: 3, 1.0), TypeError,
     "trace: the result of f must be a Tensor computed from its arguments; got 3."),
    (lambda: wg.trace(lambda x: x * 2.0, np.ones(3)).backward(), ValueError,
     "Trace.backward: gradient must be an array of shape (3,) (the cotangent of the output); got "
     "None. It may be left out only when f returns one number."),
    # the engine: operations
    (lambda: wg.sum(np.ones((2, 3)), axis=2), ValueError,
     "sum: axis must be an int in [-2, 2) (or a tuple of them) for an array of shape (2, 3); "
     "got 2."),
    (lambda: wg.max(np.ones((2, 3)), axis=1.5), TypeError,
     "max: axis must be an int in [-2, 2) (or a tuple of them) for an array of shape (2, 3); "
     "got 1.5."),
    (lambda: wg.sum(np.ones(2), keepdims="no"), TypeError,
     "sum: keepdims must be a bool (True or False); got 'no'."),
    (lambda: wg.mean(np.ones((2, 3)), axis=(0, -2)), ValueError,
     "mean: axis must be distinct axes; got (0, -2), which repeats an axis."),
    (lambda: wg.softmax(np.ones((2, 3)), axis=(0, 1)), TypeError,
     "softmax: axis must be one int; got (0, 1)."),
    (lambda: wg.mean(np.ones(0)), ValueError,
     "mean: x must be non-empty (the mean of no values has no value); got an empty array of "
     "shape (0,)."),
    (lambda: wg.reshape(np.ones((2, 3)), (4, -1)), ValueError,
     "reshape: shape must be a shape of 6 elements, as x has shape (2, 3) (one dimension may "
     "be -1); got (4, -1)."),
    (lambda: wg.broadcast_to(np.ones((2, 3)), (4, 3)), ValueError,
     "broadcast_to: shape must be a shape that x's shape (2, 3) broadcasts to; got (4, 3)."),
    (lambda: wg.clip(wg.tensor(1.0)), ValueError,
     "clip: lo or hi must be given (or both); got neither."),
    (lambda: wg.transpose(np.ones((2, 3)), (0, 0)), ValueError,
     "transpose: axes must be a permutation of 0..1 for an array of shape (2, 3); got (0, 0)."),
    (lambda: wg.concatenate([]), ValueError,
     "concatenate: xs must be at least one array; got an empty sequence."),
    (lambda: wg.concatenate([wg.tensor(1.0)]), ValueError,
     "concatenate: xs must be arrays of at least 1 dimension; got 0-d arrays. Join them with "
     "stack()."),
    (lambda: wg.concatenate([np.ones((2, 3)), np.ones((3, 4))], axis=1), ValueError,
     "concatenate: xs must be arrays of equal shapes but along axis 1; got shapes [(2, 3), "
     "(3, 4)]."),
    (lambda: wg.stack([np.ones(2), np.ones(3)]), ValueError,
     "stack: xs must be arrays of one shape; got shapes [(2,), (3,)]."),
    (lambda: wg.tensor(2.0) @ wg.tensor([1.0]), ValueError,
     "matmul: a and b must be arrays of at least 1 dimension; got shapes () and (1,)."),
    (lambda: wg.tensor(np.ones((2, 3))) @ np.ones((4, 5)), ValueError,
     "matmul: the second-last axis of b must be 3, the length of the last axis of a (shape "
     "(2, 3)); got 4 (shape (4, 5))."),
    (lambda: wg.matmul(np.ones((2, 3, 4)), np.ones((5, 4, 2))), ValueError,
     "matmul: a and b must be arrays whose batch axes broadcast; got batch axes (2,) and (5,) "
     "(shapes (2, 3, 4) and (5, 4, 2))."),
    (lambda: ops.linear(np.ones((2, 3)), np.ones((3, 5)), np.ones(4)), ValueError,
     "linear: b must be of shape (5,) (one bias per output); got shape (4,)."),
    (lambda: ops.cross_entropy(np.ones((2, 3)), np.array([0, 3])), ValueError,
     "cross_entropy: labels must be in [0, 3) for 3 classes; got 3."),
    # the rest: modules, losses, closure optimizers, scikit-learn
    (lambda: model().load_state_dict({"weight": np.ones((2, 1)), "bias": np.ones(1)}),
     ValueError, "load_state_dict: state['weight'] must be of shape (1,), the shape of that "
     "parameter in the model; got shape (2, 1)."),
    (lambda: nn.Module().config(), TypeError,
     "Module.config: the module must be one that a model file can store (Linear, Perceptron, "
     "MLP, Sequential or Activation); got a Module, which defines no config()."),
    (lambda: nn.Perceptron(1, activation=abs).config(), ValueError,
     "Perceptron: activation must be one of 'identity', 'sigmoid', 'tanh', 'relu', "
     "'leaky_relu', 'softplus', 'sign', 'step' to be saved; got the custom activation 'abs', "
     "which cannot be saved in a model file (a file stores activations by name, never code)."),
    (lambda: nn.utils.clip_grad_value_([np.ones(2)], 1.0), TypeError,
     "clip_grad_value_: parameters must be a Tensor or an iterable of Tensors; got an item of "
     "type ndarray. Pass model.parameters()."),
    (lambda: wg.losses.l2(np.zeros((5, 1)), np.zeros(5)), ValueError,
     "l2: y must be of shape (5, 1), the shape of y_hat; got shape (5,). NumPy would broadcast "
     "the two to (5, 5) and compare every prediction with every target. Make them agree: "
     "y.reshape(-1, 1), or y_hat.reshape(-1)."),
    (lambda: lbfgs_with_a_misshapen_grad(), ValueError,
     "LBFGS.step: the .grad of parameter 0 must be of the parameter's shape (2,); got shape "
     "(2, 1). The parameters keep their last accepted values."),
    (lambda: MLPClassifier(max_iter=1).fit([[0.0], [1.0]], [1, 1]), ValueError,
     "MLPClassifier: y must be labels of at least 2 classes to learn from; got one class: "
     "[1]."),
    (lambda: MLPClassifier().partial_fit([[0.0]], [1]), ValueError,
     "MLPClassifier.partial_fit: classes must be every label, e.g. np.unique(y_all), on the "
     "first call; got None."),
    (lambda: MLPClassifier().partial_fit([[0.0]], [5], classes=[0, 1]), ValueError,
     "MLPClassifier.partial_fit: y must be labels among classes_ [0, 1]; got [5]. Pass every "
     "label in classes= on the first call to partial_fit."),
    (lambda: regressor_fitted_on_one_column().partial_fit([[0.0]], [[1.0, 2.0]]), ValueError,
     "MLPRegressor: y must be of 1 output column(s), as in the first fit; got 2 column(s)."),
]  # fmt: skip


@pytest.mark.parametrize(("call", "error", "message"), TABLE)
def test_every_refusal_has_the_one_shape_and_the_right_type(call, error, message):
    with pytest.raises(error) as caught:
        call()
    assert type(caught.value) is error
    assert str(caught.value) == message
    assert SHAPE.match(message), message
