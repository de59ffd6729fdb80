"""Module and Parameter: what a model is made of, and how its weights are found and saved."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from wengert._checks import Boolean, check, refusal
from wengert.autodiff.tensor import Tensor


class Parameter(Tensor):
    """A Tensor that a Module trains: a leaf that always requires grad.

    Parameters default to float32, the precision models train in; pass dtype=np.float64 for
    gradient checks and for the lecture's hand calculations.
    """

    __slots__ = ()

    def __init__(self, data: ArrayLike | Tensor, dtype: DTypeLike = np.float32) -> None:
        super().__init__(data, requires_grad=True, dtype=dtype)

    def __repr__(self) -> str:
        return "Parameter" + super().__repr__()[len("Tensor") :]


class Module:
    """A function with weights: subclasses set Parameters and sub-Modules as attributes in
    __init__ and write `forward`. Calling the module calls forward.

    Parameters are found by walking the attributes in the order they were set (lists and tuples
    of Modules included), so `named_parameters()` gives stable names such as "layers.0.weight".
    """

    training: bool = True

    def forward(self, *args: object, **kwargs: object) -> Tensor:
        """What the module computes; every subclass defines it (calling the module calls it)."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: object, **kwargs: object) -> Tensor:
        return self.forward(*args, **kwargs)

    def __init_subclass__(cls, **kwargs: object) -> None:
        """Calling an instance of a subclass that writes `forward` calls that function itself,
        with no layer of *args and **kwargs between (half a microsecond per module and step).
        So a call runs the class's forward: one assigned to an instance is not called."""
        super().__init_subclass__(**kwargs)
        if "forward" in cls.__dict__ and "__call__" not in cls.__dict__:
            cls.__call__ = cls.__dict__["forward"]

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(attribute name, module) for each Module held directly as an attribute, in order."""
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, Module):
                        yield f"{name}.{i}", item

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """(name, parameter) pairs of this module and its sub-modules, depth first."""
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
        for name, child in self.named_children():
            yield from child.named_parameters(f"{prefix}{name}.")

    def parameters(self) -> list[Parameter]:
        """The trainable parameters, in a stable order (for an optimizer)."""
        return [p for _, p in self.named_parameters()]

    def modules(self) -> Iterator[Module]:
        """This module and every module under it, depth first."""
        yield self
        for _, child in self.named_children():
            yield from child.modules()

    def train(self, mode: bool = True) -> Module:
        """Set training mode (mode=True, the default) or evaluation mode (False) on this module
        and every sub-module."""
        check(f"{type(self).__name__}.train", "mode", mode, Boolean())
        for m in self.modules():
            m.training = bool(mode)
        return self

    def eval(self) -> Module:
        """Set evaluation mode: train(False)."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Forget the gradient of every parameter (set `grad` to None)."""
        for p in self.parameters():
            p.grad = None

    @property
    def dtype(self) -> np.dtype | None:
        """The dtype of the parameters (of the first one), or None for a module without any."""
        params = self.parameters()
        return params[0].dtype if params else None

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter's value, by name."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state: dict) -> None:
        """Copy the values of `state` into the parameters of the same names.

        Every name and shape is checked before anything is written: a refused state changes
        nothing. Values are converted to each parameter's dtype.
        """
        params = dict(self.named_parameters())
        missing = sorted(set(params) - set(state))
        unexpected = sorted(set(state) - set(params))
        if missing or unexpected:
            raise KeyError(
                f"load_state_dict: the state does not fit {type(self).__name__}: "
                f"missing {missing}, unexpected {unexpected}"
            )
        for name, p in params.items():
            shape = np.shape(state[name])
            if shape != p.shape:
                expected = f"of shape {p.shape}, the shape of that parameter in the model"
                raise refusal("load_state_dict", f"state[{name!r}]", expected, f"shape {shape}")
        for name, p in params.items():
            p.data[...] = np.asarray(state[name], dtype=p.dtype)

    def config(self) -> dict:
        """The constructor arguments, as JSON values, that rebuild this module (for model files).

        Each saveable module defines it; wengert.io.MODULES maps class names to classes.
        """
        kind = type(self).__name__
        expected = "one that a model file can store (Linear, Perceptron, MLP, Sequential or "
        expected += "Activation)"
        got = f"a {kind}, which defines no config()"
        raise refusal(f"{kind}.config", "the module", expected, got, TypeError)

    def extra_repr(self) -> str:
        """What repr() shows inside the parentheses; subclasses say their sizes and options."""
        return ""

    def __repr__(self) -> str:
        children = list(self.named_children())
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not children:
            return head + ")"
        lines = [head]
        for name, child in children:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        return "\n".join(lines) + "\n)"


__all__ = ["Module", "Parameter"]
