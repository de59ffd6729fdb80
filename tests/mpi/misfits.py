"""Train with fit(distributed=True) where the ranks differ, or the model has parameters that
no gradient reaches; write each rank's result or error. Run under mpiexec by
tests/test_distributed.py, and imported by it for the one-process reference.

  --out DIR        write DIR/rank{r}.json: {"error": message, "kind": its class} or
                   {"weights", "history", "stop_reason"}
  --case NAME      frozen: a model with a frozen and an unused parameter, weight decay and
                   momentum (the same on every rank); stop-on-rank-0: a callback stops
                   training after epoch 2 on rank 0 only; wider, lr, epochs, drop-last: rank 1
                   builds a wider model, another learning rate, more epochs, or a loader that
                   drops the last batch; interrupt: rank 1 gets a Ctrl-C (SIGINT) after step 6;
                   resume-elsewhere: 4 epochs with checkpoints, then a resume to 6 where rank
                   1's checkpoint_dir holds none; unsaveable: checkpoints of a model that
                   model files cannot hold (rank 0 fails to write the first); nan: rank 1's
                   X holds a NaN, which fit refuses there; chunks: X memory-mapped, read
                   by chunks of 30 rows, of 20 on rank 1; values: rank 1's X in reverse order;
                   callback-refuses: rank 1's EarlyStopping refuses to start (no val_data)
"""

import argparse
import json
import os
import signal
from pathlib import Path

import numpy as np

import wengert as wg
from wengert.train import fit


class Partly(wg.nn.Module):
    """A linear layer and a frozen one that the output goes through, and one never used."""

    def __init__(self, seed, width=2):
        super().__init__()
        self.first = wg.nn.Linear(4, width, seed=seed, dtype="float64")
        self.frozen = wg.nn.Linear(width, 2, seed=seed + 1, dtype="float64")
        self.unused = wg.nn.Linear(4, 2, seed=seed + 2, dtype="float64")
        for p in self.frozen.parameters():
            p.requires_grad = False

    def forward(self, x):
        return self.frozen(wg.tanh(self.first(x)))


class StopAfter(wg.train.Callback):
    """Stop training after the given epoch."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, run):
        if run.epoch == self.epoch:
            run.stop = True


class Interrupt(wg.train.Callback):
    """Ctrl-C after the given step: a SIGINT to this process under MPI, else the
    KeyboardInterrupt that Python's own handler raises."""

    def __init__(self, step, signal_it):
        self.step, self.signal_it = step, signal_it

    def on_step_end(self, run):
        if run.step == self.step and self.signal_it:
            os.kill(os.getpid(), signal.SIGINT)
        elif run.step == self.step:
            raise KeyboardInterrupt


def train(case, rank=0, distributed=False, **kwargs):
    """fit() for `case` as rank `rank` builds it (`kwargs`: more fit arguments):
    (model, History)."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] > 0).astype(np.int64)
    odd = rank == 1
    if case == "values" and odd:  # the same shape, other values
        X = X[::-1].copy()
    if case == "nan" and odd:  # given to fit as arrays: fit's own check refuses them
        X[7, 2] = np.nan
    model = Partly(rank, width=3 if case == "wider" and odd else 2)
    if case == "resume-elsewhere":  # a model that checkpoint files can hold
        model = wg.nn.MLP([4, 2, 2], seed=rank, dtype="float64")
    lr = 0.2 if case == "lr" and odd else 0.1
    optimizer = wg.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=0.1)
    data = (
        wg.data.DataLoader(
            X, y, batch_size=16, seed=3 + rank, drop_last=case == "drop-last" and odd
        )
        if case != "nan"
        else (X, y)
    )
    if case == "chunks":  # memory-mapped, read by chunks of another size on rank 1
        np.save(kwargs["out"] / f"X{rank}.npy", X)
        X = np.load(kwargs.pop("out") / f"X{rank}.npy", mmap_mode="r")
        data = wg.data.DataLoader(X, y, batch_size=16, seed=3, chunk_size=20 if odd else 30)
    callbacks = [StopAfter(2)] if case == "stop-on-rank-0" and rank == 0 else []
    if case == "callback-refuses" and odd:  # no val_data to monitor
        callbacks = [wg.train.EarlyStopping(monitor="val_loss")]
    if case == "interrupt" and (odd or not distributed):
        callbacks = [Interrupt(6, signal_it=distributed)]
    epochs = kwargs.pop("epochs", 5 if case == "epochs" and odd else 4)
    kwargs.update(callbacks=callbacks, progress=False, distributed=distributed)
    history = fit(model, wg.losses.cross_entropy, optimizer, data, epochs, **kwargs)
    return model, history


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--case", required=True)
    args = parser.parse_args()
    from mpi4py import MPI

    rank = MPI.COMM_WORLD.Get_rank()
    kwargs = {}
    if args.case == "resume-elsewhere":  # 4 epochs, then 2 more where rank 1 finds no file
        train(args.case, rank, True, checkpoint_dir=f"{args.out}/run")
        where = f"{args.out}/run" + ("-elsewhere" if rank == 1 else "")
        kwargs.update(checkpoint_dir=where, resume=True, epochs=6)
    if args.case == "chunks":
        kwargs.update(out=Path(args.out))
    if args.case == "unsaveable":  # a checkpoint of a model that files cannot hold
        kwargs.update(checkpoint_dir=f"{args.out}/run")
    try:
        model, history = train(args.case, rank, distributed=True, **kwargs)
    except (ValueError, TypeError, RuntimeError) as error:
        saved = {"error": str(error), "kind": type(error).__name__}
    else:
        weights = {k: v.tolist() for k, v in model.state_dict().items()}
        saved = {"weights": weights, "history": history.history}
        saved["stop_reason"] = history.stop_reason
    with open(f"{args.out}/rank{rank}.json", "w") as f:
        json.dump(saved, f)


if __name__ == "__main__":
    main()
