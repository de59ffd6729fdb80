"""Every registered primitive is complete, and registering one has no surprising side effects.

Complete: a tangent rule per differentiable argument (or an explicit `Without` mark), a SymPy
form (or a `Without` with its reason), a row in tests/test_primitives.py's gradient table, and
the expression language's functions are exactly the primitives that offer themselves to it.
Each check is a function that lists what is missing, so that the tests can also show it
catching a primitive that lacks something.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_primitives import CASES  # tests/test_primitives.py: the gradient table

import wengert as wg
from wengert.autodiff import ops
from wengert.autodiff.elementwise import elementwise
from wengert.autodiff.mode import recording
from wengert.autodiff.primitive import (
    REGISTRY,
    Primitive,
    Variadic,
    Without,
    apply,
    registry_restored,
)
from wengert.autodiff.sympy_forms import objects
from wengert.cli.expr import FUNCTIONS


def _negate(g, ans, x):
    return -g


def without_tangent_rules(registry) -> list[str]:
    """Primitives with no tangent rule for an argument that has a reverse rule, unmarked."""
    missing = []
    for name, prim in registry.items():
        if isinstance(prim.jvps, Without) and prim.jvps.reason:
            continue
        if isinstance(prim.vjps, Variadic) or isinstance(prim.jvps, Variadic):
            if not (isinstance(prim.vjps, Variadic) and isinstance(prim.jvps, Variadic)):
                missing.append(f"{name}: variadic in one direction only")
            continue
        if prim.jvps is None or len(prim.jvps) != len(prim.vjps):
            missing.append(f"{name}: jvps={prim.jvps!r} for {len(prim.vjps)} arguments")
            continue
        for i, (vjp, jvp) in enumerate(zip(prim.vjps, prim.jvps, strict=True)):
            if (vjp is None) != (jvp is None):
                missing.append(f"{name}: argument {i}")
    return missing


def without_sympy_forms(registry) -> list[str]:
    """Primitives with neither a SymPy form nor a Without that gives the reason."""
    return sorted(
        name
        for name, prim in registry.items()
        if not callable(prim.sympy) and not (isinstance(prim.sympy, Without) and prim.sympy.reason)
    )


def without_rows(registry) -> list[str]:
    """Primitives that no row of the gradient table exercises."""
    covered = {case.primitive for case in CASES}
    return sorted(name for name in registry if name not in covered)


def test_every_primitive_has_a_tangent_rule_or_a_mark():
    assert without_tangent_rules(REGISTRY) == []


def test_every_primitive_has_a_sympy_form_or_an_exclusion():
    assert without_sympy_forms(REGISTRY) == []
    excluded = {n: p.sympy.reason for n, p in REGISTRY.items() if isinstance(p.sympy, Without)}
    assert sorted(excluded) == ["zero_one"]


def test_every_primitive_has_a_row_in_the_gradient_table():
    assert without_rows(REGISTRY) == []


def test_the_checks_catch_a_primitive_that_lacks_each_part():
    with registry_restored():
        Primitive("test_bare", np.negative, (_negate,))
        Primitive("test_half", np.add, (_negate, _negate), (_negate, None), sympy=Without(""))
        Primitive("test_marked", np.negative, (_negate,), Without("why"), sympy=Without("why"))
        assert without_tangent_rules(REGISTRY) == [
            "test_bare: jvps=None for 1 arguments",
            "test_half: argument 1",
        ]
        assert without_sympy_forms(REGISTRY) == ["test_bare", "test_half"]
        assert without_rows(REGISTRY) == ["test_bare", "test_half", "test_marked"]
    assert "test_bare" not in REGISTRY


def test_the_expression_language_offers_the_primitives_that_ask_for_it():
    offered = {name: len(p.vjps) for name, p in REGISTRY.items() if p.expression}
    assert {name: arity for name, (_, arity) in FUNCTIONS.items()} == offered
    assert list(FUNCTIONS) == sorted(offered)
    assert {"exp", "leaky_relu", "maximum", "sigmoid", "tanh"} <= set(offered)
    for name, (function, arity) in FUNCTIONS.items():
        assert function is getattr(ops, name)
        nodes = []
        with recording(nodes):
            function(*[wg.tensor([0.5, 2.0], requires_grad=True)] * arity)
        assert [n._prim.name for n in nodes] == [name]


# ----------------------------------------------------------------------------- registration
def test_a_name_registered_twice_is_refused_with_the_fix():
    with registry_restored():
        first = Primitive("test_twice", np.negative, (_negate,))
        with pytest.raises(ValueError) as caught:
            Primitive("test_twice", np.negative, (_negate,))
        assert REGISTRY["test_twice"] is first
    assert str(caught.value) == (
        "Primitive: name must be a name no other primitive has; got 'test_twice', which names "
        "<primitive test_twice> already. Pass register=False for a primitive outside the library "
        "(a test's), or choose another name."
    )
    assert "test_twice" not in REGISTRY


def test_register_false_leaves_the_registry_alone_and_the_primitive_works():
    before = dict(REGISTRY)
    # the library's name, twice: as a test module imported again would define it
    Primitive("exp", np.exp, (lambda g, ans, x: g * ans,), register=False)
    again = Primitive("exp", np.exp, (lambda g, ans, x: g * ans,), register=False)
    assert before == REGISTRY and REGISTRY["exp"] is ops.exp_p
    x = wg.tensor(0.5, requires_grad=True)
    apply(again, x).backward()
    assert x.grad == np.exp(0.5)


def test_registry_restored_puts_back_what_was_removed_and_drops_what_was_added():
    before = dict(REGISTRY)
    with registry_restored() as registry:
        del registry["exp"]
        Primitive("exp", np.exp, (lambda g, ans, x: g * ans,))
        assert REGISTRY["exp"] is not ops.exp_p
    assert before == REGISTRY and REGISTRY["exp"] is ops.exp_p


# ----------------------------------------------------------------------------- elementwise
def test_an_elementwise_primitive_has_one_rule_for_both_directions():
    cube = elementwise("test_cube", lambda x: x**3, (lambda ans, x: 3 * x * x,), register=False)
    assert cube.vjps == cube.jvps and cube.vjps[0] is cube.jvps[0]
    x0 = np.array([0.5, -2.0])

    def total(x):
        return wg.sum(apply(cube, x))

    np.testing.assert_allclose(wg.grad(total)(x0), 3 * x0**2, rtol=1e-15)
    np.testing.assert_allclose(wg.hessian(total)(x0), np.diag(6 * x0), rtol=1e-15)
    _, tangent = wg.jvp(lambda x: apply(cube, x), (x0,), (np.array([1.0, 10.0]),))
    np.testing.assert_allclose(tangent, [0.75, 120.0], rtol=1e-15)


def test_elementwise_rules_of_every_arity_and_parameters():
    def form(x, y, z, scale=1.0):
        return scale * x * y * z

    derivatives = (
        lambda ans, x, y, z, scale=1.0: scale * y * z,
        None,  # y carries no gradient
        lambda ans, x, y, z, scale=1.0: scale * x * y,
    )
    prim = elementwise("test_triple", form, derivatives, params=True, register=False)
    assert prim.vjps[1] is None
    g = np.array([1.0, 2.0])
    x, y, z = np.array([1.0, 3.0]), np.array([2.0, 5.0]), np.array([7.0, 11.0])
    np.testing.assert_array_equal(prim.vjps[0](g, None, x, y, z, scale=2.0), [28.0, 220.0])
    np.testing.assert_array_equal(prim.vjps[2](g, None, x, y, z, scale=2.0), [4.0, 60.0])


# ----------------------------------------------------------------------------- SymPy forms
def _symbolic_operand(sp, a):
    """An argument as symbolic_grad's replay hands it over: numbers as SymPy numbers, a mask
    (the condition of where) as it is."""
    data = a._data if isinstance(a, wg.Tensor) else a
    if isinstance(data, np.ndarray) and data.dtype == bool:
        return data
    return objects(sp, data)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_each_sympy_form_computes_what_its_forward_computes(case):
    sp = pytest.importorskip("sympy")
    nodes = []
    with recording(nodes):
        case.fn(*[wg.tensor(a, requires_grad=True) for a in case.inputs(seed=3)])
    for node in nodes:
        if isinstance(node._prim.sympy, Without):
            continue
        args = [_symbolic_operand(sp, a) for a in node._inputs]
        value = objects(sp, node._prim.sympy(sp, *args, **node._params))
        got = np.vectorize(lambda e: float(sp.N(e, 20)), otypes=[float])(value)
        np.testing.assert_allclose(got, node._data, rtol=1e-13, atol=1e-300)
