"""fit()'s step with distributed=True: local gradients, one Allreduce, then the checked update.

Each rank computes the loss and the gradients on its shard of the global batch (eagerly, or
with compile=True by the compiled program, which returns them before any update). Into one
flat buffer, allocated once, go every gradient times the shard's row count n_r, the loss
times n_r, and n_r; one Allreduce sums it over the ranks and the division by the global count
N = sum n_r gives the mean over the global batch. The averaged gradients are written back into
each parameter's .grad, and only then does the guard look at them (the global loss, then each
gradient, then each weight after the update), so every rank stops at the same step. A shard
with no rows (a last batch smaller than the number of ranks) contributes zeros.
"""

from __future__ import annotations

import math

import numpy as np

from wengert.autodiff.tensor import Tensor
from wengert.train.distributed import Distributed
from wengert.train.step import NonFinite, Step


class DistributedStep:
    """Wrap `step` (a Step or CompiledTrainStep): the same call, with gradients averaged over
    the ranks of `dist`. After each call, `global_count` is the global batch's row count."""

    def __init__(self, step: Step, dist: Distributed) -> None:
        self.step, self.dist = step, dist
        self.loss = step.loss
        params = step.params
        self.sizes = [p.data.size for p in params]
        dtype = np.result_type(*(p.data.dtype for p in params))
        # The gradients, one flag per parameter (1 where it has a gradient), then whether a
        # rank was interrupted (Ctrl-C), the loss and the count.
        self.buffer = np.zeros(sum(self.sizes) + len(params) + 3, dtype=dtype)
        self.flags = self.buffer[sum(self.sizes) : -3]
        ends = np.cumsum(self.sizes)
        self.views = [
            self.buffer[end - size : end].reshape(p.data.shape)
            for p, size, end in zip(params, self.sizes, ends, strict=True)
        ]
        self.global_count = 0
        step._gradients = self._averaged  # the step's own clipping, update and checks follow

    def __call__(self, xb: np.ndarray, yb: np.ndarray) -> tuple[float, Tensor | None]:
        """One step on this rank's shard: (the global batch's loss before the update, this
        rank's output, None for an empty shard); the wrapped step clips, updates and checks."""
        return self.step(xb, yb)

    def _averaged(self, xb: np.ndarray, yb: np.ndarray) -> tuple[float, Tensor | None]:
        """The wrapped step's gradients: the shard's, summed over the ranks in one Allreduce
        and divided by the global count, then checked (the global loss, each gradient)."""
        n = len(xb)
        value, out = self._local(xb, yb) if n else (0.0, None)
        self._pack(value, n)
        self.dist.step += 1
        self.dist.allreduce(self.buffer, "the gradient Allreduce")
        value = self._unpack()
        if self.buffer[-3]:  # Ctrl-C on a rank: every rank stops here, before the update
            raise KeyboardInterrupt
        if not math.isfinite(value):
            raise NonFinite("loss", value)
        self.step._check("gradient of", "grad")
        return value, out

    def _local(self, xb: np.ndarray, yb: np.ndarray) -> tuple[float, Tensor]:
        """The shard's loss and gradients, unchecked (the guard sees the averaged ones)."""
        step = self.step
        compiled = getattr(step, "compiled", None)
        if compiled is not None:
            value, out = compiled.gradients(xb, yb)
            return float(value), Tensor._make(out, False, None, None, None)
        step.optimizer.zero_grad()
        out = step.model(xb)
        batch_loss = step.loss(out, yb)
        batch_loss.backward(create_graph=step.create_graph)
        return float(batch_loss._data), out

    def _pack(self, value: float, n: int) -> None:
        for i, (p, view) in enumerate(zip(self.step.params, self.views, strict=True)):
            has_grad = bool(n) and p.grad is not None
            if has_grad:
                np.multiply(p.grad, n, out=view)
            else:
                view[...] = 0
            self.flags[i] = has_grad
        self.buffer[-3] = self.dist.interrupted
        self.buffer[-2] = value * n
        self.buffer[-1] = n

    def _unpack(self) -> float:
        """Divide the sums by the global count, write the gradients back; the mean loss."""
        count = float(self.buffer[-1])
        self.global_count = round(count)
        self.buffer /= count
        # The gradients are views of the buffer: the next step's zero_grad() (or compiled
        # program) replaces them before anything is written into the buffer again.
        # A parameter that no rank's loss reached (unused, or frozen) keeps .grad None, as in
        # one process, so that the optimizer leaves it alone (no weight decay, no momentum).
        for p, view, flag in zip(self.step.params, self.views, self.flags, strict=True):
            if not flag:
                p.grad = None
            else:
                p.grad = view if view.dtype == p.data.dtype else view.astype(p.data.dtype)
        return float(self.buffer[-2])


__all__ = ["DistributedStep"]
