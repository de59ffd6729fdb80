"""Train a small MLP with fit(distributed=True) on every rank; write each rank's result.

Run under mpiexec by tests/test_distributed.py; imported by it for the one-process reference.
Each rank seeds its model and data order differently (rank r: model seed r, data seed 7 + r),
so that equal results show the broadcast from rank 0 at work. Options:
  --out DIR        write DIR/rank{r}.npz (weights) and DIR/rank{r}.json (History)
  --dtype NAME     float64 or float32
  --rows N --batch B --epochs E
  --checkpoint DIR [--resume]   checkpoint (and resume) in DIR
  --compile        fit(compile=True)
  --die-at STEP    rank 1 leaves the program (sys.exit(1)) at that step
  --memmap         train from a DataLoader over a memory-mapped .npy file (read by chunks)
  --poison ROW     make training row ROW huge, so that only the rank whose shard holds it
                   sees a non-finite loss
"""

import argparse
import json
import sys

import numpy as np

import wengert as wg
from wengert.train import Callback, fit


def dataset(rows, dtype, poison=None):
    """The training and validation data: 5 features, 3 classes; row `poison` made huge."""
    rng = np.random.default_rng(123)
    X = rng.normal(size=(rows + 20, 5)).astype(dtype)
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(np.int64) + (X[:, 3] > 1)
    if poison is not None:
        X[poison] = np.finfo(dtype).max
    return (X[:rows], y[:rows]), (X[rows:], y[rows:])


def train(rows, batch, epochs, dtype, rank=0, distributed=False, poison=None, memmap=None, **kw):
    """fit() on the data set; the model seeded by `rank`; (model, History). memmap: a folder
    where X is saved as X.npy and read back memory-mapped, by chunks of 30 rows."""
    model = wg.nn.MLP([5, 16, 3], seed=rank, dtype=dtype)
    optimizer = wg.optim.Adam(model.parameters(), lr=0.01)
    data, val = dataset(rows, dtype, poison)
    if memmap is not None:
        path = f"{memmap}/X{rank}.npy"
        np.save(path, data[0])
        X = np.load(path, mmap_mode="r")
        data = wg.data.DataLoader(X, data[1], batch_size=batch, seed=7 + rank, chunk_size=30)
    history = fit(
        model,
        wg.losses.cross_entropy,
        optimizer,
        data,
        epochs,
        batch_size=batch,
        seed=7 + rank,
        val_data=val,
        metrics=["accuracy"],
        progress=False,
        distributed=distributed,
        **kw,
    )
    return model, history


class Leave(Callback):
    """Rank 1 exits, as a crashed program would, at a given step."""

    def __init__(self, step):
        self.at = step

    def on_step_end(self, run):
        if run.step == self.at:
            print(f"rank 1 leaves at step {run.step}", file=sys.stderr, flush=True)
            sys.exit(1)


def main():
    parser = argparse.ArgumentParser()
    for name, kind in (("--out", str), ("--dtype", str), ("--rows", int), ("--batch", int)):
        parser.add_argument(name, type=kind, required=True)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--checkpoint")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--die-at", type=int)
    parser.add_argument("--poison", type=int)
    parser.add_argument("--memmap", action="store_true")
    args = parser.parse_args()
    from mpi4py import MPI

    rank = MPI.COMM_WORLD.Get_rank()
    kwargs = {"compile": args.compile, "poison": args.poison}
    if args.memmap:
        kwargs["memmap"] = args.out
    if args.checkpoint:
        kwargs.update(checkpoint_dir=args.checkpoint, resume=args.resume)
    if args.die_at and rank == 1:
        kwargs["callbacks"] = [Leave(args.die_at)]
    model, history = train(
        args.rows, args.batch, args.epochs, args.dtype, rank, distributed=True, **kwargs
    )
    np.savez(f"{args.out}/rank{rank}.npz", **model.state_dict())
    with open(f"{args.out}/rank{rank}.json", "w") as f:
        saved = {"step_loss": history.step_loss, "history": history.history}
        json.dump(saved | {"stop_reason": history.stop_reason}, f)


if __name__ == "__main__":
    main()
