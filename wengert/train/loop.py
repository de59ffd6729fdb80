"""fit(): the training loop of the lecture, with the boring cases handled.

For each epoch, for each minibatch (x_i, y_i) of the loader:
    1. forward pass  y_hat = model(x_i);  loss L_i = loss(y_hat, y_i)
    2. backward pass dL_i/dtheta by backpropagation;  update theta by the optimizer

and around it: the epoch loss as the mean of the batch losses weighted by batch size; a progress
bar on stderr (off when stderr is not a terminal); validation loss and metrics after each
epoch; callbacks (early stopping that restores the best weights, a learning-rate schedule on
plateaus); a guard that stops at the first non-finite loss, gradient or weight; Ctrl-C,
which ends training and keeps the weights; and a warning when the epochs run out before the
loss settled (`tol`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from numbers import Integral, Real

import numpy as np

from wengert import _checks
from wengert._checks import (
    PATH,
    Boolean,
    InstanceOf,
    Interval,
    Options,
    check_params,
    refusal,
    what_came,
)
from wengert.autodiff.mode import no_grad
from wengert.autodiff.tensor import Tensor
from wengert.data import DataLoader
from wengert.data.validation import check_X_y
from wengert.nn.module import Module
from wengert.train.callbacks import Callback, call_hook
from wengert.train.checkpoints import FitCheckpoints
from wengert.train.metrics import metric_fn, metric_keys, metric_name
from wengert.train.state import (
    ConvergenceWarning,
    History,
    NonFiniteError,
    NonFiniteLossWarning,
    Run,
)
from wengert.train.step import NonFinite, Step


def fit(
    model: Module,
    loss: Callable,
    optimizer,
    data,
    epochs: int = 10,
    *,
    val_data=None,
    batch_size: int | None = 32,
    shuffle: bool = True,
    seed=None,
    callbacks: Sequence[Callback] = (),
    metrics: Sequence[str | Callable] = (),
    tol: float | None = None,
    n_iter_no_change: int = 10,
    progress: bool = True,
    checkpoint_dir=None,
    checkpoint_every: int = 1,
    resume: bool = False,
    resume_other_data: bool = False,
    on_nonfinite: str = "stop",
    clip_grad_norm: float | None = None,
) -> History:
    """Train `model` on `data` and return its History.

    data: a DataLoader, or (X, y) arrays that fit() batches with `batch_size` (None for the
    whole set: full-batch gradient descent; 1 with shuffle: the lecture's per-sample SGD),
    `shuffle` and `seed`. X is converted to the model's dtype. val_data: (X, y) evaluated after
    each epoch. loss(y_hat, y) returns a scalar Tensor, e.g. wengert.losses.cross_entropy.
    seed: a non-negative int or None, the seed of the order in which (X, y) is shuffled into
    batches (unused when data is a DataLoader, which has its own). A fixed seed makes the run
    reproducible: the same seed, data, model (seeded, e.g. nn.MLP(..., seed=0)) and optimizer
    give the same History on every run. None, the default, draws a seed from the operating
    system's entropy, so each run sees its batches in a new order and ends at different numbers.
    metrics: "accuracy" or functions (y_hat, y) -> float of NumPy arrays.
    tol: stop when the training loss has not improved by tol for n_iter_no_change epochs
    (scikit-learn's rule); with tol set, running out of epochs first warns.
    checkpoint_dir: write checkpoint_dir/checkpoint.safetensors (wengert.io.save_checkpoint,
    atomically) every `checkpoint_every` epochs and when training ends (not after a non-finite
    loss or Ctrl-C, which leave the last one). resume=True with a checkpoint there restores
    into `model` and `optimizer` (built as they were saved: a difference is refused by name)
    the weights, optimizer state, History, counters and the data order (the loader needs the
    same seed; seed=None takes the checkpoint's), and continues to `epochs` in total: the
    result is the uninterrupted run's, bit for bit. Callbacks start afresh (EarlyStopping's
    patience counts from the resume).
    resume_other_data=True resumes although X and y differ from the checkpoint's (by hash).
    on_nonfinite: what to do when the loss, a gradient or a weight becomes NaN or infinite;
    each step checks the loss, then every gradient before the update (a NaN gradient never
    reaches the weights), then every weight after it. "stop" ends training with a
    NonFiniteLossWarning, keeps finite weights (the last ones, or the epoch's first if the
    update made a weight non-finite) and records the epoch, step and first non-finite quantity
    in history.stop_reason and history.nonfinite; "raise" does the same, then raises
    NonFiniteError (with attributes epoch, step, quantity, value) instead of warning.
    clip_grad_norm: rescale the gradients to this total 2-norm at most before each update
    (wengert.nn.utils.clip_grad_norm_); None: no clipping.
    """
    # Here, before any other name is bound, locals() holds exactly fit's arguments.
    _check_fit_arguments(locals(), optimizer)
    loader = _as_loader(data, model, batch_size, shuffle, seed)
    val = None if val_data is None else _as_arrays(val_data, model, "val_data")
    metric_fns = {metric_name(m): metric_fn(m, loss, loader, i) for i, m in enumerate(metrics)}
    history = History(metrics={k: [] for k in metric_keys(metric_fns, val)})
    run = Run(model, optimizer, history, val_data=val)
    step = Step(model, loss, optimizer, clip_grad_norm)
    checkpoints = None
    if checkpoint_dir is not None or resume:
        checkpoints = FitCheckpoints(checkpoint_dir, checkpoint_every, resume, resume_other_data)
    callbacks = list(callbacks)
    call_hook(callbacks, "on_train_begin", run)  # a callback may still refuse: nothing has changed
    if checkpoints is not None:
        checkpoints.restore(run, loader)  # refused, by name, unless everything fits
    was_training = model.training
    model.train()
    bar = _progress_bar(progress, epochs * len(loader), initial=run.step)
    plateau = _Plateau(tol, n_iter_no_change)
    for epoch_loss in history.epoch_loss:  # a resumed run's plateau count, replayed exactly
        plateau.settled(epoch_loss)
    try:
        # Overflow in the forward pass shows as a non-finite loss, which the guard reports with
        # the step and a remedy; NumPy's own warnings would only say "overflow in power".
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            loop = (loss, loader, val, metric_fns, callbacks, bar, plateau, checkpoints)
            _epochs(run, step, epochs, loop, on_nonfinite)
    except KeyboardInterrupt:
        history.stop_reason = f"interrupted by the user at step {run.step}; weights kept"
        warnings.warn(f"fit: {history.stop_reason}", ConvergenceWarning, stacklevel=2)
    finally:
        bar.close()
        model.train(was_training)
    call_hook(callbacks, "on_train_end", run)
    if tol is not None and not history.stop_reason:
        history.stop_reason = "epoch limit"
        warnings.warn(
            f"fit: reached epochs={epochs} before the training loss stopped improving by "
            f"tol={tol:g} for {n_iter_no_change} epochs; train longer or raise the learning "
            f"rate",
            ConvergenceWarning,
            stacklevel=2,
        )
    return history


def _epochs(run, step, epochs, loop, on_nonfinite):
    loss, loader, val, metric_fns, callbacks, bar, plateau, checkpoints = loop
    if run.history.stop_reason:  # resumed from a run that had already stopped
        return
    for epoch in range(run.epoch + 1, epochs + 1):
        run.epoch = epoch
        safe = run.model.state_dict()  # finite weights to fall back on, once per epoch
        try:
            totals = _train_epoch(run, step, loader, metric_fns, callbacks, bar)
        except NonFinite as bad:  # no checkpoint: the last one is the last good epoch's
            _stop_on_non_finite(run, bad, safe, on_nonfinite)
            return
        _end_epoch(run, loss, val, metric_fns, totals)
        bar.set_postfix(loss=f"{run.history.epoch_loss[-1]:.4g}", refresh=False)
        call_hook(callbacks, "on_epoch_end", run)
        if run.stop:
            run.history.stop_reason = run.stop_reason or "stopped by a callback"
        elif plateau.settled(run.history.epoch_loss[-1]):
            run.history.stop_reason = plateau.reason
        last = bool(run.history.stop_reason) or epoch == epochs
        if checkpoints is not None:
            checkpoints.after_epoch(run, loader, last)
        if last:
            return


def _train_epoch(run, step, loader, metric_fns, callbacks, bar):
    """One pass over the loader: (loss sum, metric sums, samples)."""
    history = run.history
    total, seen = 0.0, 0
    sums = dict.fromkeys(metric_fns, 0.0)
    for xb, yb in loader:
        value, out = step(xb, yb)
        run.step += 1
        n = len(xb)
        history.step_loss.append(value)
        history.lr.append(_current_lr(run.optimizer))
        total += value * n
        seen += n
        for name, fn in metric_fns.items():
            sums[name] += fn(out.data, yb) * n
        bar.update(1)
        if callbacks:
            call_hook(callbacks, "on_step_end", run)
    return total, sums, seen


def _end_epoch(run, loss, val, metric_fns, totals) -> None:
    total, sums, seen = totals
    history = run.history
    history.epoch_loss.append(total / seen)
    for name in metric_fns:
        history.metrics[name].append(sums[name] / seen)
    if val is None:
        return
    X, y = val
    run.model.eval()
    with no_grad():
        out = run.model(X)
        history.val_loss.append(float(loss(out, y).data))
    run.model.train()
    for name, fn in metric_fns.items():
        history.metrics["val_" + name].append(fn(out.data, y))


def _stop_on_non_finite(run: Run, bad: NonFinite, safe: dict, policy: str) -> None:
    """Keep finite weights (those of the epoch's start if the update made any non-finite),
    record what happened, then warn ("stop") or raise NonFiniteError ("raise")."""
    model, step = run.model, run.step + 1
    restored = not all(np.isfinite(p.data).all() for p in model.parameters())
    if restored:
        model.load_state_dict(safe)
    kept = (
        f"the weights from the start of epoch {run.epoch} were restored"
        if restored
        else "the last weights, all finite, were kept"
    )
    where = f"at epoch {run.epoch}, step {step}"
    if bad.quantity.startswith("parameter"):
        became = f"the {bad.quantity} became {bad.value} after the update {where}"
    else:
        became = f"the {bad.quantity} became {bad.value} {where}"
    run.history.stop_reason = f"non-finite {bad.quantity} ({bad.value}) {where}"
    run.history.nonfinite = {
        "epoch": run.epoch,
        "step": step,
        "quantity": bad.quantity,
        "value": bad.value,
    }
    message = (
        f"fit: {became}; training stopped and {kept}. Try a smaller learning rate (or "
        f"standardise the inputs)."
    )
    if policy == "raise":
        raise NonFiniteError(
            message, epoch=run.epoch, step=step, quantity=bad.quantity, value=bad.value
        )
    warnings.warn(message, NonFiniteLossWarning, stacklevel=4)


class _Plateau:
    """scikit-learn's stopping rule: no improvement by tol for n_iter_no_change epochs."""

    def __init__(self, tol, n_iter_no_change) -> None:
        self.tol, self.patience = tol, n_iter_no_change
        self.best, self.count, self.reason = math.inf, 0, ""

    def settled(self, loss: float) -> bool:
        if self.tol is None:
            return False
        self.count = self.count + 1 if loss > self.best - self.tol else 0
        self.best = min(self.best, loss)
        if self.count >= self.patience:
            self.reason = (
                f"converged: the training loss improved by less than tol={self.tol:g} "
                f"for {self.patience} epochs"
            )
            return True
        return False


# ----------------------------------------------------------------------------- helpers
FIT_CONSTRAINTS = {
    "model": [InstanceOf(Module, "a wengert.nn.Module")],
    "loss": [_checks.Callable("a function (y_hat, y) -> scalar Tensor")],
    "epochs": [Interval(Integral, 1, None)],
    # Checked here as well as by DataLoader, so that a refusal names fit, which was called.
    "batch_size": [Interval(Integral, 1, None), None],
    "shuffle": [Boolean()],
    "seed": [Interval(Integral, 0, None), None],
    "tol": [Interval(Real, 0, None), None],
    "n_iter_no_change": [Interval(Integral, 1, None)],
    "on_nonfinite": [Options(["stop", "raise"])],
    "clip_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
    "progress": [Boolean()],
    "checkpoint_dir": [PATH, None],
    "checkpoint_every": [Interval(Integral, 1, None)],
    "resume": [Boolean()],
    "resume_other_data": [Boolean()],
}


def _check_fit_arguments(values: dict, optimizer) -> None:
    check_params("fit", values, FIT_CONSTRAINTS)
    clip = values["clip_grad_norm"]
    if clip is not None and getattr(optimizer, "needs_closure", False):
        raise refusal(
            "fit",
            "clip_grad_norm",
            f"None with {type(optimizer).__name__}, whose line search chooses each step",
            repr(clip),
            fix="Leave it None.",
        )


def _as_loader(data, model, batch_size, shuffle, seed) -> DataLoader:
    if isinstance(data, DataLoader):
        return data
    X, y = _as_arrays(data, model, "data")
    return DataLoader(X, y, batch_size=batch_size, shuffle=shuffle, seed=seed)


def _as_arrays(data, model, name: str):
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        expected = "a DataLoader or a pair (X, y)" if name == "data" else "a pair (X, y)"
        raise refusal("fit", name, expected, what_came(data), TypeError)
    X, y = (d.data if isinstance(d, Tensor) else d for d in data)
    x_name = "X" if name == "data" else f"{name} X"
    return check_X_y(X, y, owner="fit", dtype=model.dtype, x_name=x_name)


def _current_lr(optimizer) -> float:
    """The learning rate the first parameter group used at the step just taken."""
    group = optimizer.param_groups[0]
    lr = group["lr"]
    return float(lr(group["t"])) if callable(lr) else float(lr)


def _progress_bar(progress: bool, total: int, initial: int = 0):
    from tqdm.auto import tqdm

    # disable=None: tqdm switches itself off when stderr is not a terminal.
    disable = None if progress else True
    return tqdm(total=total, initial=initial, disable=disable, unit="step", leave=False)


__all__ = ["fit"]
