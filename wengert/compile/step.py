"""`compile_step(model, loss, optimizer)`: one training step with its forward and backward compiled.

`step(X, y)` runs one program that `wg.compile` traced for the batch's shapes and dtypes: the
model's forward pass, the loss, and the reverse sweep to every parameter the optimizer holds,
with the parameters as arguments of the program, read at each call (so a new array put in
`p.data`, or one of another shape or dtype, is never stale: the latter traces again), then the
optimizer's update, in place, on the same arrays as ever, so `p.data`, `optimizer.state` and
`state_dict()` are those of an eager step, and equal to them in value. On NumPy the update
lines call the optimizer's own rule functions (update.py); on numba they are loops written
from the optimizer's rule, traced (numba_update.py). The gradients the program returns go into
each parameter's `.grad`.

Optimizers that re-evaluate the loss through a closure (L-BFGS) are refused: their line search
calls the model several times per step, which a training step of one forward and one backward
is not.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from wengert._checks import refusal, what_came
from wengert.autodiff.mode import MODE
from wengert.autodiff.tensor import Tensor
from wengert.compile import numba_backend, numba_update, update
from wengert.compile.compiled import Compiled
from wengert.nn.module import Module
from wengert.optim.optimizer import Optimizer


class CompiledStep:
    """A compiled training step: call it on a batch (X, y); it returns the loss (a float) from
    before the update. `gradients(X, y)` runs the program alone (loss, output, `.grad` set);
    `source` and `show()` give the program of the last call."""

    def __init__(
        self, model: Module, loss: Callable, optimizer: Optimizer, backend: str = "auto"
    ) -> None:
        _check(model, loss, optimizer)
        self.backend = numba_backend.check("compile_step", backend)
        self.model, self.loss, self.optimizer = model, loss, optimizer
        self.params = [p for group in optimizer.param_groups for p in group["params"]]
        self.names = {id(p): name.replace(".", "_") for name, p in model.named_parameters()}
        self._updating = [False]  # set by the program where its update begins
        self.program = self._compiled(self.gradient_step)
        self.fused = self._fused()
        self._last = self.program

    def _compiled(self, f: Callable, finish=None, numba_finish=None) -> Compiled:
        program = Compiled(f, (1,), finish, self.backend, numba_finish)
        program.external_names.update(self.names)
        return program

    def _fused(self) -> Compiled:
        """The program of a whole step, its update written for the optimizer as it is now: in
        the numba program where numba runs it and the rule is elementwise (numba_update.py),
        else as the optimizer's own Python objects (update.py), which numba cannot compile."""
        opt, params = self.optimizer, self.params
        numba = self.backend != "numpy" and numba_backend.available()
        why = numba_update.unsupported(opt, params) if numba else ""
        self.eager_update = self.backend == "numba" and bool(why)
        self.update_note = f"the update runs eagerly: {why}" if self.eager_update else ""
        numba_finish = why if why else numba_update.writer(opt, params)
        return self._compiled(
            self.train_step, update.writer(opt, params, self._updating), numba_finish
        )

    def gradient_step(self, X: Tensor, y: Tensor) -> tuple:
        """What the program computes: (loss, model output, a gradient or None per parameter)."""
        out = self.model(X)
        value = self.loss(out, y)
        if not isinstance(value, Tensor) or value.size != 1:
            got = what_came(value) if not isinstance(value, Tensor) else f"shape {value.shape}"
            raise refusal("compile_step", "loss(model(X), y)", "a scalar Tensor", got, TypeError)
        if MODE.compiler is not None:  # traced: the sweep is written into the program
            return value, out, MODE.compiler.gradients(value, self.params)
        # Run eagerly (compile's answer to underflow raised in an inline rule).
        for p in self.params:
            p.grad = None
        value.backward()
        return value, out, [p.grad for p in self.params]

    def train_step(self, X: Tensor, y: Tensor) -> tuple:
        """What the program of a whole step computes: (loss, the gradients), and the update."""
        if MODE.compiler is None and self._updating[0]:
            raise FloatingPointError(  # as the eager step, which stops there too
                "compile_step: the optimizer's update raised FloatingPointError under "
                "np.errstate; the parameters before the one it stopped at moved, as they do "
                "in an eager step (optimizer.step() raises at the same parameter)."
            )
        value, _, grads = self.gradient_step(X, y)
        if MODE.compiler is None:  # run eagerly: the optimizer's own step
            self.optimizer.step()
        return value, grads

    def gradients(self, X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """Run the program on the batch: set each parameter's `.grad` (None where the loss does
        not reach it, as backward() leaves it) and return (the loss, the model's output)."""
        value, out, grads = self.program(X, y)
        self._last = self.program
        _set_grads(self.params, grads)
        return value, out

    def __call__(self, X: np.ndarray, y: np.ndarray) -> float:
        """One step on the batch (X, y): forward, loss, backward and the optimizer's update, one
        program; `.grad` is set as an eager step leaves it. The loss before the update."""
        if self.eager_update:  # numba asked for, and an update numba does not write
            return self._eager_step(X, y)
        self._updating[0] = False
        try:  # the guard of its last program (guard.py): no Python call before it
            value, grads = self.fused(X, y)
        except update.Changed:  # hyperparameters or groups changed by hand: write it again
            self.fused = self._fused()
            if self.eager_update:
                return self._eager_step(X, y)
            try:
                value, grads = self.fused(X, y)
            except numba_update.Fresh:
                return self._eager_step(X, y)
        except numba_update.Fresh:  # a state entry the rule reads is no array yet
            return self._eager_step(X, y)
        self._last = self.fused
        for p, g in zip(self.params, grads, strict=True):  # _set_grads, written out: each step
            p.grad = g if type(g) is _NDARRAY or g is None else np.asarray(g, p._data.dtype)
        return value

    def _eager_step(self, X: np.ndarray, y: np.ndarray) -> float:
        """The gradient program, then the optimizer's own step()."""
        value, _ = self.gradients(X, y)
        self.optimizer.step()
        return value

    @property
    def note(self) -> str:
        """Which backend runs the last call's program and why (its compile time on numba), and
        why the update runs eagerly where it does."""
        notes = [self._last.note, getattr(self, "update_note", "")]
        return "; ".join(n for n in notes if n)

    @property
    def source(self) -> str:
        """The program of the last call (forward pass, loss, reverse sweep and the update)."""
        return self._last.source

    def show(self) -> None:
        """Print the program of the last call."""
        self._last.show()


_NDARRAY = np.ndarray


def _set_grads(params: list[Tensor], grads: list) -> None:
    """Each parameter's `.grad`, an array as backward() leaves it (the program returns the
    gradient of a 0-d parameter as a float, as it returns every one-value result)."""
    for p, g in zip(params, grads, strict=True):
        p.grad = g if type(g) is _NDARRAY or g is None else np.asarray(g, p._data.dtype)


def _check(model: object, loss: object, optimizer: object) -> None:
    owner = "compile_step"
    if not isinstance(model, Module):
        raise refusal(owner, "model", "a wengert.nn.Module", what_came(model), TypeError)
    if not callable(loss):
        expected = "a function (y_hat, y) -> scalar Tensor"
        raise refusal(owner, "loss", expected, what_came(loss), TypeError)
    if not isinstance(optimizer, Optimizer):
        expected = "a wengert.optim optimizer"
        raise refusal(owner, "optimizer", expected, what_came(optimizer), TypeError)
    if getattr(optimizer, "needs_closure", False):
        raise refusal(
            owner,
            "optimizer",
            "one that steps from the gradients (SGD, Adagrad, Adadelta, RMSprop, Adam, AdamW)",
            f"{type(optimizer).__name__}, whose step re-evaluates the loss through a closure",
            TypeError,
            fix="Train it eagerly: optimizer.step(closure), or fit(..., compile=False).",
        )


def compile_step(
    model: Module, loss: Callable, optimizer: Optimizer, *, backend: str = "auto"
) -> CompiledStep:
    """One training step of `model` on `loss` with `optimizer`, compiled: `step(X, y)` -> loss.

    >>> step = wg.compile_step(model, wg.losses.cross_entropy, wg.optim.Adam(model.parameters()))
    >>> for X, y in loader:
    ...     value = step(X, y)          # traced at the first batch of each shape
    >>> step.show()                     # the forward lines and the reverse sweep

    The forward pass, the loss and the backward sweep are one program generated by `wg.compile`
    (traced again for a new batch shape or dtype, or a parameter's new shape or dtype); the
    update is the optimizer's own step() on the gradients, in place: the model's arrays and the
    optimizer's state and `state_dict()` are those of an eager step, and equal in value. The
    parameters are read at each call. L-BFGS (a closure-based optimizer) is refused.

    `backend` as for `wg.compile`: "auto" (the default) is numba where it is installed. On
    numba the update runs inside the numba program, one loop per parameter written from the
    optimizer's own rule (numba_update.py), equal to the eager step to rounding; a rule that is
    not elementwise, or a parameter with no axes, keeps the optimizer's own step() (under
    "numba", after the numba gradient program; under "auto", the whole step on NumPy), and
    `step.note` says why. On numba, no update raises under np.errstate.
    """
    return CompiledStep(model, loss, optimizer, backend)


__all__ = ["CompiledStep", "compile_step"]
