"""fit(): the training loop of the lecture, with the boring cases handled.

For each epoch, for each minibatch (x_i, y_i) of the loader:
    1. forward pass  y_hat = model(x_i);  loss L_i = loss(y_hat, y_i)
    2. backward pass dL_i/dtheta by backpropagation;  update theta by the optimizer

and around it: the epoch loss as the mean of the batch losses weighted by batch size; progress
on stderr (`progress.py`: a live bar and a line per epoch); validation loss and metrics after
each epoch; callbacks (early stopping that restores the best weights, a learning-rate schedule
on plateaus); a guard that stops at the first non-finite loss, gradient or weight
(`stopping.py`); checkpoints and resume (`checkpoints.py`); Ctrl-C, which ends training and
keeps the weights; and a warning when the epochs run out before the loss settled (`tol`).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import numpy as np

from wengert._checks import Boolean, check
from wengert.autodiff.mode import no_grad
from wengert.data import DataLoader
from wengert.nn.module import Module
from wengert.optim.optimizer import Optimizer
from wengert.train.arguments import as_arrays, as_loader, check_fit_arguments
from wengert.train.callbacks import Callback, call_hook
from wengert.train.checkpoints import FitCheckpoints
from wengert.train.compiled_step import CompiledTrainStep
from wengert.train.distributed import (
    Distributed,
    join_distributed,
    refusals_shared,
    start_distributed,
)
from wengert.train.distributed_step import DistributedStep
from wengert.train.metrics import metric_functions
from wengert.train.progress import Progress
from wengert.train.state import ConvergenceWarning, History, Run, series_names
from wengert.train.step import NonFinite, Step
from wengert.train.stopping import Plateau, stop_on_non_finite


def fit(
    model: Module,
    loss: Callable,
    optimizer: Optimizer,
    data: DataLoader | tuple,
    epochs: int = 10,
    *,
    val_data: tuple | None = None,
    batch_size: int | None = 32,
    shuffle: bool = True,
    seed: int | None = None,
    callbacks: Sequence[Callback] = (),
    metrics: Sequence[str | Callable] = (),
    tol: float | None = None,
    n_iter_no_change: int = 10,
    progress: bool | str | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    checkpoint_every: int = 1,
    resume: bool = False,
    resume_other_data: bool = False,
    on_nonfinite: str = "stop",
    clip_grad_norm: float | None = None,
    compile: bool = False,
    distributed: bool | object = False,
) -> History:
    """Train `model` on `data` with `optimizer`, minimising `loss`; return the run's History.

    model, loss, optimizer: loss(y_hat, y) returns a scalar Tensor (e.g.
        wengert.losses.cross_entropy); the optimizer holds model.parameters().
    data: a DataLoader, or (X, y) arrays (X converted to the model's dtype) that fit batches
        by `batch_size` (None: the whole set, full-batch gradient descent; 1 with shuffle:
        the lecture's per-sample SGD), `shuffle` and `seed`.
    seed: a non-negative int or None, the seed of the order in which (X, y) is shuffled into
        batches (a DataLoader has its own). The same seed, data, seeded model (e.g.
        nn.MLP(..., seed=0)) and optimizer give the same History on every run; None, the
        default, draws a new order each run, so the numbers differ from run to run.
    val_data: (X, y), evaluated after each epoch.
    metrics: "accuracy" or functions (y_hat, y) -> float of NumPy arrays. History.history
        keeps one series per epoch for "loss" and each metric, and with val_data for
        "val_loss" and "val_<metric>" (Keras's keys).
    tol, n_iter_no_change: stop when the training loss has not improved by tol for
        n_iter_no_change epochs (scikit-learn's rule); with tol set, running out of epochs
        first warns (ConvergenceWarning).
    progress: None (default), a live bar and a line per epoch that stays, on a terminal, and
        nothing elsewhere; True, the lines wherever stderr goes; "epochs", the lines alone;
        False, nothing (wengert.train.progress).
    checkpoint_dir, checkpoint_every: write checkpoint_dir/checkpoint.safetensors atomically
        every checkpoint_every epochs and when training ends (not after a non-finite step or
        Ctrl-C, which keep the last one).
    resume: with a checkpoint in checkpoint_dir, restore the weights, optimizer state,
        History, counters and data order into `model` and `optimizer` (built as they were
        saved: a difference is refused by name) and continue to `epochs` in total; the result
        is the uninterrupted run's, bit for bit (wengert.train.checkpoints). Callbacks start
        afresh. resume_other_data=True resumes although X and y differ from the checkpoint's.
    on_nonfinite: at a NaN or infinite loss, gradient (checked before the update) or weight
        (after it), "stop" ends training with a NonFiniteLossWarning and keeps finite weights;
        "raise" raises NonFiniteError (epoch, step, quantity, value) instead. Both record
        where in history.stop_reason and history.nonfinite (wengert.train.stopping).
    clip_grad_norm: rescale the gradients to this total 2-norm at most before each update
        (wengert.nn.utils.clip_grad_norm_); None: no clipping.
    compile: run each step's forward, loss and backward as one program generated by
        wg.compile_step (traced at the first batch of each shape), then the optimizer's own
        step: the same History, checkpoints and resume as the eager steps, faster on small
        models. Refused for L-BFGS, whose step re-evaluates the loss through a closure.

    distributed: True trains data-parallel over MPI.COMM_WORLD (mpi4py; run the script under
        `mpiexec -n K`); an mpi4py communicator, or a wengert.train.distributed.Distributed
        (a communicator and a timeout), trains over that one. Each global batch of
        `batch_size` rows is split over the ranks and the gradients averaged: the result is
        one process's with the same batch size (wengert.train.distributed). The ranks must
        build the same model, optimizer, loss, data and arguments (only seeds may differ:
        rank 0's are used); a difference is refused on every rank by name. Every rank
        returns the same History; rank 0 alone shows progress and writes checkpoints, and
        resuming needs the saved number of ranks. Refused for L-BFGS.

    Ctrl-C ends training, keeps the weights reached and warns.
    """
    # Here, before any other name is bound, locals() holds exactly fit's arguments.
    arguments = dict(locals())
    dist = join_distributed(distributed, optimizer)  # every rank starts MPI before any check
    with refusals_shared(dist):
        check_fit_arguments(arguments)
        check("fit", "compile", compile, Boolean())
        step = (CompiledTrainStep if compile else Step)(model, loss, optimizer, clip_grad_norm)
        loader = as_loader(data, model, batch_size, shuffle, seed)
        val = None if val_data is None else as_arrays(val_data, model, "val_data")
        metric_fns = metric_functions(metrics, loss, loader)
        saver = FitCheckpoints.for_fit(checkpoint_dir, checkpoint_every, resume, resume_other_data)
    if dist is not None:
        start_distributed(dist, arguments, loader)
        step = DistributedStep(step, dist)
        progress = progress if dist.rank == 0 else False
        if saver is not None:
            saver.distribute(dist.size, dist.rank == 0, dist.failed, dist.check_resumed)
    history = History.for_series(series_names(metric_fns, val is not None))
    run = Run(model, optimizer, history, val_data=val)
    plateau = Plateau(tol, n_iter_no_change)
    loop = _Training(
        run, step, loader, metric_fns, list(callbacks), saver, plateau, on_nonfinite, dist
    )
    loop.train(epochs, Progress(progress, epochs))
    return history


@dataclass
class _Training:
    """One fit() run: what it trains and checks, and the loop over its epochs and batches."""

    run: Run
    step: Step
    loader: DataLoader
    metric_fns: dict[str, Callable]
    callbacks: list
    checkpoints: FitCheckpoints | None
    plateau: Plateau
    on_nonfinite: str
    dist: Distributed | None = None

    def train(self, epochs: int, display: Progress) -> None:
        """Run the epochs, resuming first if asked; Ctrl-C ends them and keeps the weights."""
        run, model = self.run, self.run.model
        with refusals_shared(self.dist):  # a callback may still refuse: nothing changed
            call_hook(self.callbacks, "on_train_begin", run)
        if self.checkpoints is not None:
            self.checkpoints.restore(run, self.loader)  # refused, by name, unless all fits
        for epoch_loss in run.history.epoch_loss:  # a resumed run's plateau count, replayed
            self.plateau.settled(epoch_loss)
        was_training = model.training
        model.train()
        try:
            # Overflow in the forward pass shows as a non-finite loss, which the guard reports
            # with the step and a remedy; NumPy's own warnings would only say "overflow".
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"), self._interrupts():
                self._epochs(epochs, display)
        except KeyboardInterrupt:
            display.close()
            run.history.stop_reason = f"interrupted by the user at step {run.step}; weights kept"
            warnings.warn(f"fit: {run.history.stop_reason}", ConvergenceWarning, stacklevel=3)
        finally:
            display.close()
            model.train(was_training)
        call_hook(self.callbacks, "on_train_end", run)
        self.plateau.warn_at_epoch_limit(run.history, epochs)

    def _interrupts(self) -> AbstractContextManager:
        """Distributed, a Ctrl-C on one rank stops every rank at the same step."""
        return nullcontext() if self.dist is None else self.dist.sharing_interrupts()

    def _epochs(self, epochs: int, display: Progress) -> None:
        run = self.run
        if run.history.stop_reason:  # resumed from a run that had already stopped
            return
        if self.dist is not None:  # its messages count the steps as the run does
            self.dist.step = run.step
        for epoch in range(run.epoch + 1, epochs + 1):
            run.epoch = epoch
            safe = run.model.state_dict()  # finite weights to fall back on, once per epoch
            display.start_epoch(epoch, len(self.loader))
            try:
                totals = self._train_epoch(display)
            except NonFinite as bad:  # no checkpoint: the last one is the last good epoch's
                display.close()
                stop_on_non_finite(run, bad, safe, self.on_nonfinite)
                return
            display.close()  # before validation and callbacks, which may print
            self._end_epoch(totals)
            call_hook(self.callbacks, "on_epoch_end", run)
            last = self._stopped() or epoch == epochs
            display.end_epoch(epoch, run.history)
            if self.checkpoints is not None:
                self.checkpoints.after_epoch(run, self.loader, last)
            if last:
                return

    def _stopped(self) -> bool:
        """Whether a callback or the plateau rule ends training after this epoch (and why)."""
        history = self.run.history
        if self.run.stop:
            history.stop_reason = self.run.stop_reason or "stopped by a callback"
        elif self.plateau.settled(history.epoch_loss[-1]):
            history.stop_reason = self.plateau.reason
        if self.dist is not None:  # a callback on one rank stops them all, at the same epoch
            first = self.dist.first_rank(bool(history.stop_reason), "the end of the epoch")
            if first is not None and not history.stop_reason:
                history.stop_reason = f"stopped by a callback on rank {first}"
        return bool(history.stop_reason)

    def _train_epoch(self, display: Progress) -> tuple[float, dict, int]:
        """One pass over the loader: (loss sum, metric sums, samples)."""
        run, history, metric_fns = self.run, self.run.history, self.metric_fns
        total, seen = 0.0, 0
        sums = dict.fromkeys(metric_fns, 0.0)
        for xb, yb in self._batches():
            value, out = self.step(xb, yb)
            run.step += 1
            n = len(xb) if self.dist is None else self.step.global_count
            history.step_loss.append(value)
            history.lr.append(_current_lr(run.optimizer))
            total += value * n
            seen += n
            for name, fn in metric_fns.items() if len(xb) else ():
                sums[name] += fn(out.data, yb) * len(xb)
            display.step(total, seen)
            if self.callbacks:
                call_hook(self.callbacks, "on_step_end", run)
        if self.dist is not None:
            sums = self.dist.sum_metrics(sums)
        return total, sums, seen

    def _batches(self) -> Iterable:
        """The loader's batches; distributed, this rank's shard of each."""
        return self.loader if self.dist is None else self.dist.shards(self.loader)

    def _end_epoch(self, totals: tuple[float, dict, int]) -> None:
        """Record the epoch's training loss and metrics, then those on the validation data."""
        total, sums, seen = totals
        series = self.run.history.history
        series["loss"].append(total / seen)
        for name in self.metric_fns:
            series[name].append(sums[name] / seen)
        if self.run.val_data is None:
            return
        X, y = self.run.val_data
        model = self.run.model
        model.eval()
        with no_grad():
            out = model(X)
            series["val_loss"].append(float(self.step.loss(out, y).data))
        model.train()
        for name, fn in self.metric_fns.items():
            series["val_" + name].append(fn(out.data, y))


def _current_lr(optimizer: Optimizer) -> float:
    """The learning rate the first parameter group used at the step just taken."""
    group = optimizer.param_groups[0]
    lr = group["lr"]
    return float(lr(group["t"])) if callable(lr) else float(lr)


__all__ = ["fit"]
