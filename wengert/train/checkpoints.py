"""fit()'s checkpoints: write one every few epochs and at the end, and resume a run from it.

fit(checkpoint_dir=DIR) writes DIR/checkpoint.safetensors (wengert.io.save_checkpoint,
atomically) every `checkpoint_every` epochs and when training ends; not after a non-finite loss
or Ctrl-C, which leave the last one. fit(resume=True) with a checkpoint there restores into the
model and optimizer (built as they were saved: a difference is refused by name) the weights,
the optimizer state, the History, the counters and the data order (the loader needs the same
seed; seed=None takes the checkpoint's), and continues to `epochs` in total: the result is the
uninterrupted run's, bit for bit. Callbacks start afresh (EarlyStopping's patience counts from
the resume). resume_other_data=True resumes although X and y differ from the checkpoint's.

The training layer decides when to write and what a resumed run must match (the data loader's
settings, the training data's fingerprint); the file format is the integrations' (wengert.io),
which installs its reader and writer here with `use_checkpoint_files` when it is imported.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from wengert._checks import refusal
from wengert.data import DataLoader
from wengert.train.state import History, Run

_FILES = []  # the one installed CheckpointFiles: wengert.io's


def use_checkpoint_files(files: object) -> None:
    """Install what reads and writes checkpoint files: an object with `fingerprint(X, y)`,
    `read_fit_state(path)` (the saved state, refused unless it is a fit() checkpoint),
    `load(path, model, optimizer)` (a wengert.io.Checkpoint) and `write(path, run, loader)`."""
    _FILES[:] = [files]


def checkpoint_files() -> object:
    """The installed checkpoint reader and writer (wengert.io's, installed on import)."""
    if not _FILES:
        import_hint = "import wengert.io (import wengert does) before fit(checkpoint_dir=...)"
        raise RuntimeError(f"fit: no checkpoint file format is installed; {import_hint}.")
    return _FILES[0]


def loader_state(loader: DataLoader) -> dict:
    """A DataLoader's position as JSON data: seed, epoch, settings and generator state."""
    return {
        "seed": loader.seed,
        "epoch": loader.epoch,
        "shuffle": bool(loader.shuffle),
        "batch_size": loader.batch_size,
        "n_samples": loader.n_samples,
        "rng": loader._rng.bit_generator.state,
    }


class FitCheckpoints:
    """fit()'s checkpointing: DIR/checkpoint.safetensors every `every` epochs and at the end;
    with resume, restore a run from it (weights, optimizer, History, counters, data order).

    Each checkpoint records a fingerprint of the training data (data_fingerprint: the SHA-256
    of X and y, computed once per fit); resuming on other data is refused unless
    `resume_other_data` is true. A loader whose seed was drawn (seed=None) takes the saved
    seed and generator state, so that the run continues bit for bit; a seed that was chosen
    must be the saved one."""

    FILENAME = "checkpoint.safetensors"

    def __init__(
        self,
        directory: str | os.PathLike | None,
        every: int,
        resume: bool,
        resume_other_data: bool = False,
        files: object = None,
    ) -> None:
        # fit() has checked the kinds of these (its constraint table); one relation is left.
        if resume and directory is None:
            raise refusal(
                "fit(resume=True)",
                "checkpoint_dir",
                "the directory to resume from",
                "None",
                fix="Pass checkpoint_dir=DIR, where an earlier fit wrote its checkpoints.",
            )
        self.path = Path(directory) / self.FILENAME
        self.every, self.resume = every, bool(resume)
        self.resume_other_data = resume_other_data
        self._fingerprints: dict[int, str] = {}
        self.files = checkpoint_files() if files is None else files
        self.ranks, self.writer, self.barrier, self.agree = 1, True, None, None

    def distribute(self, ranks: int, writer: bool, barrier: object, agree: object) -> None:
        """Checkpoint a run over `ranks` ranks: only the `writer` writes, then every rank calls
        `barrier(failed, what)`, which returns whether the writing failed on any rank, so that
        no rank reads a half-written file or trains on alone; resuming needs `ranks`, and
        every rank calls `agree(epoch, step)` with the position it would resume from (0, 0
        without a checkpoint), which refuses, before anything changes, unless all are equal."""
        self.ranks, self.writer, self.barrier, self.agree = ranks, writer, barrier, agree

    @classmethod
    def for_fit(
        cls, directory: str | os.PathLike | None, every: int, resume: bool, resume_other_data: bool
    ) -> FitCheckpoints | None:
        """fit()'s checkpointing, or None when it neither writes nor resumes checkpoints."""
        if directory is None and not resume:
            return None
        return cls(directory, every, resume, resume_other_data)

    def fingerprint(self, loader: DataLoader) -> str:
        """The fingerprint of `loader`'s X and y, computed once for this fit."""
        if id(loader) not in self._fingerprints:
            self._fingerprints[id(loader)] = self.files.fingerprint(loader.X, loader.y)
        return self._fingerprints[id(loader)]

    def restore(self, run: Run, loader: DataLoader) -> int:
        """Restore `run` from the checkpoint, if resuming and one exists; the epochs done."""
        if not self.resume:
            return 0
        state = self.files.read_fit_state(self.path) if self.path.is_file() else None
        if self.agree is not None:
            self.agree(*((state["epoch"], state["step"]) if state else (0, 0)))
        if state is None:
            return 0
        saved = state["loader"]
        self._check_ranks(saved.get("ranks", 1))
        self._check_loader(saved, loader)
        self._check_same_data(saved.get("fingerprint"), loader)
        self._check_series(History.from_dict(state["history"]), run.history)
        ckpt = self.files.load(self.path, run.model, run.optimizer)
        vars(run.history).update(vars(ckpt.history))
        run.epoch, run.step = ckpt.epoch, ckpt.step
        # The saved generator state is the position itself: no permutations are replayed. A
        # drawn seed (seed=None) becomes the saved one, which set_epoch() would re-seed with.
        loader.seed = saved["seed"]
        loader._rng = np.random.default_rng(loader.seed)
        loader._rng.bit_generator.state = saved["rng"]
        loader.epoch = saved["epoch"]
        return ckpt.epoch

    def _check_loader(self, saved: dict, loader: DataLoader) -> None:
        """The loader must batch as the saved run's did; its seed must be the saved one unless
        it was drawn (seed=None): then the run continues from the saved generator state."""
        here = loader_state(loader)
        drawn = getattr(loader, "_seed_drawn", False)
        for key in ("shuffle", "batch_size", "n_samples", *(() if drawn else ("seed",))):
            if saved[key] == here[key]:
                continue
            fix = "Resume with the settings of the saved run, or start afresh without resume."
            if key == "seed":
                fix = f"Pass seed={saved[key]}, or seed=None to take the saved run's."
            raise refusal(
                "fit(resume=True)",
                f"the data loader's {key}",
                f"{saved[key]!r}, as in {self.path}",
                repr(here[key]),
                fix=fix,
            )

    def _check_ranks(self, saved: int) -> None:
        """A run resumes on the number of ranks it was saved on (its data order and batches
        were split for them)."""
        if saved != self.ranks:
            raise refusal(
                "fit(resume=True)",
                "the number of ranks",
                f"{saved}, as in {self.path}",
                str(self.ranks),
                fix=f"Resume under mpiexec -n {saved}"
                + (" with distributed=True." if saved > 1 else " without distributed."),
            )

    def _check_same_data(self, saved: str | None, loader: DataLoader) -> None:
        if saved is None or self.resume_other_data:
            return  # a checkpoint from before fingerprints, or other data on purpose
        if saved != self.fingerprint(loader):
            raise refusal(
                "fit(resume=True)",
                "the training data",
                f"the data that {self.path} was trained on",
                f"other values of the same shape (fingerprint {self.fingerprint(loader)[:19]}... "
                f"here, {saved[:19]}... in the checkpoint)",
                fix="Resume on the same data; to resume anyway, pass resume_other_data=True "
                "to fit.",
            )

    def _check_series(self, saved: History, here: History) -> None:
        """The resumed run must record the series the saved one did (its metrics and whether
        it has validation data), or its History would hold series of unequal lengths."""
        if sorted(saved.history) == sorted(here.history):
            return
        raise refusal(
            "fit(resume=True)",
            "the metrics and val_data",
            f"those of the saved run, whose History records {list(saved.history)}",
            f"a run that records {list(here.history)}",
            fix="Resume with the saved run's metrics and val_data, or start afresh.",
        )

    def after_epoch(self, run: Run, loader: DataLoader, last: bool) -> None:
        """Write the checkpoint after every `every`-th epoch and after the `last` one."""
        if not (last or run.epoch % self.every == 0):
            return
        what = f"the checkpoint of epoch {run.epoch}"
        try:
            if self.writer:
                self._write(run, loader)
        except Exception:
            if self.barrier is not None:  # the other ranks stop with this one
                self.barrier(True, what)
            raise
        if self.barrier is not None and self.barrier(False, what):
            raise RuntimeError(
                f"fit(distributed=True): rank 0 could not write {what} (its own error says "
                f"why); every rank stops here."
            )

    def _write(self, run: Run, loader: DataLoader) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        loader_json = {**loader_state(loader), "fingerprint": self.fingerprint(loader)}
        if self.ranks > 1:
            loader_json["ranks"] = self.ranks
        self.files.write(self.path, run, loader_json)
