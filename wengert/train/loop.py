"""fit(): the training loop of the lecture, with the boring cases handled.

For each epoch, for each minibatch (x_i, y_i) of the loader:
    1. forward pass  y_hat = model(x_i);  loss L_i = loss(y_hat, y_i)
    2. backward pass dL_i/dtheta by backpropagation;  update theta by the optimizer

and around it: the epoch loss as the mean of the batch losses weighted by batch size; a progress
bar on stderr (off when stderr is not a terminal); validation loss and metrics after each
epoch; callbacks (early stopping that restores the best weights, a learning-rate schedule on
plateaus); a guard that stops at the first non-finite loss; Ctrl-C, which ends training and
keeps the weights; and a warning when the epochs run out before the loss settled (`tol`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence

import numpy as np

from wengert.autodiff.mode import no_grad
from wengert.autodiff.tensor import Tensor
from wengert.data import DataLoader
from wengert.data.validation import check_X_y
from wengert.nn.module import Module
from wengert.train.callbacks import Callback, call_hook
from wengert.train.metrics import metric_fn, metric_keys, metric_name
from wengert.train.state import ConvergenceWarning, History, NonFiniteLossWarning, Run


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
) -> History:
    """Train `model` on `data` and return its History.

    data: a DataLoader, or (X, y) arrays that fit() batches with `batch_size` (None for the
    whole set: full-batch gradient descent; 1 with shuffle: the lecture's per-sample SGD),
    `shuffle` and `seed`. X is converted to the model's dtype. val_data: (X, y) evaluated after
    each epoch. loss(y_hat, y) returns a scalar Tensor, e.g. wengert.losses.cross_entropy.
    metrics: "accuracy" or functions (y_hat, y) -> float of NumPy arrays.
    tol: stop when the training loss has not improved by tol for n_iter_no_change epochs
    (scikit-learn's rule); with tol set, running out of epochs first warns.
    checkpoint_dir: write checkpoint_dir/checkpoint.safetensors (wengert.io.save_checkpoint,
    atomically) every `checkpoint_every` epochs and when training ends (not after a non-finite
    loss or Ctrl-C, which leave the last one). resume=True with a checkpoint there restores
    into `model` and `optimizer` (built as they were saved: a difference is refused by name)
    the weights, optimizer state, History, counters and the data order (the loader needs the
    same seed), and continues to `epochs` in total: the result is the uninterrupted run's, bit
    for bit. Callbacks start afresh (EarlyStopping's patience counts from the resume).
    """
    _check_fit_arguments(model, loss, epochs, tol, n_iter_no_change)
    loader = _as_loader(data, model, batch_size, shuffle, seed)
    val = None if val_data is None else _as_arrays(val_data, model, "val_data")
    metric_fns = {metric_name(m): metric_fn(m, loss, loader) for m in metrics}
    history = History(metrics={k: [] for k in metric_keys(metric_fns, val)})
    run = Run(model, optimizer, history, val_data=val)
    checkpoints = None
    if checkpoint_dir is not None or resume:
        from wengert.io import FitCheckpoints  # io sits above training: imported when used

        checkpoints = FitCheckpoints(checkpoint_dir, checkpoint_every, resume)
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
            _epochs(
                run, loss, loader, val, metric_fns, epochs, callbacks, bar, plateau, checkpoints
            )
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


def _epochs(run, loss, loader, val, metric_fns, epochs, callbacks, bar, plateau, checkpoints):
    if run.history.stop_reason:  # resumed from a run that had already stopped
        return
    for epoch in range(run.epoch + 1, epochs + 1):
        run.epoch = epoch
        safe = run.model.state_dict()  # finite weights to fall back on, once per epoch
        totals = _train_epoch(run, loss, loader, metric_fns, callbacks, bar, safe)
        if totals is None:
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


def _train_epoch(run, loss, loader, metric_fns, callbacks, bar, safe):
    """One pass over the loader; (loss sum, metric sums, samples), or None after a bad loss."""
    history, model, optimizer = run.history, run.model, run.optimizer
    total, seen = 0.0, 0
    sums = dict.fromkeys(metric_fns, 0.0)
    needs_closure = getattr(optimizer, "needs_closure", False)  # L-BFGS and the like
    for xb, yb in loader:
        if needs_closure:
            value, out = _closure_step(optimizer, model, loss, xb, yb)
            if not math.isfinite(value):
                _stop_on_non_finite(run, value, safe)
                return None
        else:
            optimizer.zero_grad()
            out = model(xb)
            batch_loss = loss(out, yb)
            value = float(batch_loss.data)
            if not math.isfinite(value):
                _stop_on_non_finite(run, value, safe)
                return None
            batch_loss.backward()
            optimizer.step()
        run.step += 1
        n = len(xb)
        history.step_loss.append(value)
        history.lr.append(_current_lr(optimizer))
        total += value * n
        seen += n
        for name, fn in metric_fns.items():
            sums[name] += fn(out.data, yb) * n
        bar.update(1)
        if callbacks:
            call_hook(callbacks, "on_step_end", run)
    return total, sums, seen


def _closure_step(optimizer, model, loss, xb, yb):
    """One step of an optimizer that re-evaluates the loss itself (L-BFGS): (the loss before
    the step, the model's output then), as the other optimizers' steps record them."""
    outputs = []
    create_graph = getattr(optimizer, "create_graph", False)  # Newton-CG's Hessian products

    def closure():
        optimizer.zero_grad()
        out = model(xb)
        batch_loss = loss(out, yb)
        batch_loss.backward(create_graph=create_graph)
        if not outputs:
            outputs.append(out)
        return batch_loss

    first_loss = optimizer.step(closure)
    return float(first_loss.data), outputs[0]


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


def _stop_on_non_finite(run: Run, value: float, safe: dict) -> None:
    model = run.model
    restored = not all(np.isfinite(p.data).all() for p in model.parameters())
    if restored:
        model.load_state_dict(safe)
    kept = (
        f"the weights from the start of epoch {run.epoch} were restored"
        if restored
        else "the last weights, all finite, were kept"
    )
    run.history.stop_reason = f"non-finite loss ({value}) at step {run.step + 1}"
    warnings.warn(
        f"fit: the loss became {value} at step {run.step + 1} (epoch {run.epoch}); training "
        f"stopped and {kept}. Try a smaller learning rate (or standardise the inputs).",
        NonFiniteLossWarning,
        stacklevel=4,
    )


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
def _check_fit_arguments(model, loss, epochs, tol, n_iter_no_change) -> None:
    if not isinstance(model, Module):
        raise TypeError(f"fit: model must be a wengert.nn.Module; got {type(model).__name__}")
    if not callable(loss):
        raise TypeError(f"fit: loss must be a function (y_hat, y) -> scalar Tensor; got {loss!r}")
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise ValueError(f"fit: epochs must be an int >= 1; got {epochs!r}")
    if tol is not None and not (isinstance(tol, (int, float)) and tol >= 0):
        raise ValueError(f"fit: tol must be a float >= 0 or None; got {tol!r}")
    if not isinstance(n_iter_no_change, int) or n_iter_no_change < 1:
        raise ValueError(f"fit: n_iter_no_change must be an int >= 1; got {n_iter_no_change!r}")


def _as_loader(data, model, batch_size, shuffle, seed) -> DataLoader:
    if isinstance(data, DataLoader):
        return data
    X, y = _as_arrays(data, model, "data")
    return DataLoader(X, y, batch_size=batch_size, shuffle=shuffle, seed=seed)


def _as_arrays(data, model, name: str):
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        raise TypeError(
            f"fit: {name} must be a DataLoader or a pair (X, y); got {type(data).__name__}"
        )
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
