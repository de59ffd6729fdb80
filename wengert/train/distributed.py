"""Synchronous data-parallel training over MPI (mpi4py): fit(..., distributed=True).

Every rank holds the same model, optimizer and data (X, y). At the start the parameters are
broadcast from rank 0, and so is the seed of the data order, so ranks whose models or loaders
were seeded differently start equal. Each global minibatch of B rows, taken from the loader's
seeded permutation (DataLoader.batch_indices), is split into k nearly equal shards
(np.array_split); rank r computes the loss and gradients on shard r, then one Allreduce over a
single flat buffer sums, over the ranks, every gradient and the loss weighted by the shard's
row count, and the count itself. Divided by the global count, these are exactly the mean over
the global batch, as one process with batch B computes them (the loss must be a mean over the
rows, as wengert.losses' default reduction is), also when the shards are unequal. Every rank
then takes the same optimizer step, so the weights stay equal.

Before anything moves, the ranks compare what they were given (fit_settings: the model's
parameters, the optimizer, the loss, the data's shape, batching and a sample of its rows,
fit's other arguments): a difference is refused on every rank, by name, and so is fit's
refusal of one rank's arguments or data. After each epoch they agree on stopping (a
callback that stops one rank stops all), and a Ctrl-C on one rank travels with the next
gradients, so that every rank stops before the same step. A parameter that no rank's loss
reaches keeps .grad None, as in one process.

Waiting is bounded: each collective is non-blocking and polled until a deadline (`timeout`
seconds, 60 by default, or the environment variable WENGERT_MPI_TIMEOUT). A rank that stops
taking part (it died, or left fit early) makes the others raise DistributedError naming the
step, and the communicator is aborted when the process exits, so that no rank hangs.
"""

from __future__ import annotations

import atexit
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from numbers import Real

import numpy as np

from wengert._checks import Interval, check, refusal, what_came
from wengert.data import DataLoader
from wengert.nn.module import Module
from wengert.train.distributed_settings import digest, fit_settings

TIMEOUT_VARIABLE = "WENGERT_MPI_TIMEOUT"
DEFAULT_TIMEOUT = 60.0
_SEED_BYTES = 64  # a seed drawn by the loader has 128 bits; a chosen one may be larger


_SAME_FIX = (
    "Build the same model, optimizer, data and fit arguments on every rank (only the seeds may "
    "differ: rank 0's are used); give each rank the whole data set, of which fit itself gives "
    "each rank its part of every batch."
)


class DistributedError(RuntimeError):
    """A collective operation did not complete within the timeout: a rank died or left."""


def load_mpi() -> object:
    """mpi4py's MPI module, imported on first use; a clear ImportError when it is missing."""
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise ImportError(
            "fit(distributed=True) needs mpi4py and an MPI library; install them with "
            'pip install "wengert[mpi]" (the mpich wheel brings mpiexec).'
        ) from error
    return MPI


def _timeout_from_environment() -> float:
    text = os.environ.get(TIMEOUT_VARIABLE)
    if text is None:
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise refusal(
            "fit(distributed=True)", TIMEOUT_VARIABLE, "a number of seconds > 0", repr(text)
        )
    return value


class Distributed:
    """The communicator fit(distributed=...) trains over, with bounded waits.

    comm: an mpi4py communicator; None: MPI.COMM_WORLD. timeout: seconds a rank waits for the
    others at any collective before raising DistributedError; None: the environment variable
    WENGERT_MPI_TIMEOUT, else 60. Attributes: comm, rank, size, timeout, step (the step being
    synchronised, for messages).
    """

    def __init__(self, comm: object = None, timeout: float | None = None) -> None:
        check("Distributed", "timeout", timeout, Interval(Real, 0, None, closed="neither"), None)
        self.timeout = _timeout_from_environment() if timeout is None else float(timeout)
        self.MPI = load_mpi()
        if comm is None:
            comm = self.MPI.COMM_WORLD
        if not isinstance(comm, self.MPI.Comm):
            raise refusal(
                "Distributed", "comm", "an mpi4py communicator", what_came(comm), TypeError
            )
        self.comm = comm
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self.step = 0
        self.interrupted = False

    def wait(self, request: object, what: str) -> None:
        """Poll `request` until it completes; past the timeout raise DistributedError (and
        abort the communicator when the process exits)."""
        start = time.monotonic()
        while not request.Test():  # each Test also moves the collective on
            # Yield the core to another process (ranks may outnumber the cores), and once
            # the wait is long, sleep between polls rather than spin.
            waited = time.monotonic() - start
            if waited < 0.05:
                os.sched_yield()
            elif waited > self.timeout:
                self._fail(what)
            else:
                time.sleep(0.001)

    def _fail(self, what: str) -> None:
        message = (
            f"fit(distributed=True): rank {self.rank} of {self.size} waited {self.timeout:g} s "
            f"for the other ranks at {what} (step {self.step}); a rank has probably died or "
            f"left fit early (see its own error). The communicator is aborted at exit."
        )
        abort_at_exit(self.comm)
        raise DistributedError(message)

    def allreduce(self, buffer: np.ndarray, what: str, op: object = None) -> None:
        """Sum (or `op`) `buffer` over the ranks, in place, within the timeout."""
        op = self.MPI.SUM if op is None else op
        self.wait(self.comm.Iallreduce(self.MPI.IN_PLACE, buffer, op=op), what)

    def broadcast(self, buffer: np.ndarray, what: str) -> None:
        """Overwrite `buffer` with rank 0's, within the timeout."""
        self.wait(self.comm.Ibcast(buffer, root=0), what)

    def broadcast_parameters(self, model: Module) -> None:
        """Make every rank's parameters rank 0's (one broadcast of a flat buffer)."""
        params = list(model.parameters())
        flat = np.concatenate([p.data.reshape(-1) for p in params])
        self.broadcast(flat, "the broadcast of the parameters")
        start = 0
        for p in params:
            p.data[...] = flat[start : start + p.data.size].reshape(p.data.shape)
            start += p.data.size

    def check_agreement(self, settings: dict[str, str], fix: str = _SAME_FIX) -> None:
        """Refuse, on every rank, a setting (what -> its description) that differs between
        the ranks: one small Allreduce of a digest of each."""
        digests = np.array([digest(text) for text in settings.values()], np.int64)
        both = np.concatenate([digests, -digests])
        self.allreduce(both, "the check that every rank trains alike", self.MPI.MAX)
        count = len(digests)
        for (what, text), high, low in zip(
            settings.items(), both[:count], both[count:], strict=True
        ):
            if high != -low:
                shown = text if len(text) <= 300 else text[:300] + "..."
                raise refusal(
                    "fit(distributed=True)",
                    what,
                    "the same on every rank",
                    f"{shown} on rank {self.rank} and something else on another rank",
                    fix=fix,
                )

    @contextmanager
    def sharing_interrupts(self) -> Iterator[None]:
        """Within: a Ctrl-C (SIGINT) on this rank sets `interrupted` instead of raising, and
        the next gradient Allreduce shares it, so that every rank stops before the same step
        with the same weights; a second Ctrl-C raises KeyboardInterrupt at once. Outside the
        main thread, where no signal handler can be set, Ctrl-C is left as it is."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def interrupt(signum: int, frame: object) -> None:
            if self.interrupted:
                raise KeyboardInterrupt
            self.interrupted = True

        self.interrupted = False
        previous = signal.signal(signal.SIGINT, interrupt)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def check_resumed(self, epoch: int, step: int) -> None:
        """Refuse, on every rank, a resume that reached another epoch and step on some rank
        (its checkpoint_dir held another checkpoint, or none)."""
        where = {"the epoch and step resumed from": f"epoch {epoch}, step {step}"}
        fix = "Resume from a checkpoint_dir that every rank reads (rank 0 writes it)."
        self.check_agreement(where, fix)

    def failed(self, failed: bool, what: str) -> bool:
        """Whether `failed` is true on any rank (every rank calls this: it is also a barrier)."""
        return self.first_rank(failed, what) is not None

    def first_rank(self, flag: bool, what: str) -> int | None:
        """The lowest rank whose `flag` is true, or None when no rank's is (every rank calls
        this at the same point)."""
        buffer = np.array([self.rank if flag else self.size], np.int64)
        self.allreduce(buffer, what, self.MPI.MIN)
        return None if buffer[0] >= self.size else int(buffer[0])

    def same_order(self, loader: DataLoader) -> None:
        """Make the loader's seed and epoch rank 0's, so every rank draws the same orders."""
        seed = int(loader.seed)
        if seed.bit_length() > 8 * _SEED_BYTES - 64:
            raise refusal(
                "fit(distributed=True)", "seed", f"below 2**{8 * _SEED_BYTES - 64}", repr(seed)
            )
        words = np.frombuffer(seed.to_bytes(_SEED_BYTES - 8, "little"), np.uint8)
        buffer = np.concatenate([words, np.frombuffer(np.int64(loader.epoch).tobytes(), np.uint8)])
        self.broadcast(buffer, "the broadcast of the data order's seed")
        loader.seed = int.from_bytes(buffer[: _SEED_BYTES - 8].tobytes(), "little")
        loader.set_epoch(int(buffer[_SEED_BYTES - 8 :].view(np.int64)[0]))

    def shards(self, loader: DataLoader) -> Iterator:
        """This rank's part of each global batch of one pass over `loader`: (X, y) rows of
        np.array_split(batch, size)[rank]. An in-memory DataLoader gathers only those rows;
        another loader (one that reads chunks from a file, or transforms them) yields each
        whole batch, of which this rank keeps its part."""
        X, y = loader.X, loader.y
        if type(loader) is not DataLoader:
            yield from self._parts(loader)
            return
        for rows in loader.batch_indices():
            mine = np.array_split(rows, self.size)[self.rank]
            yield (X[mine], None if y is None else y[mine])

    def _parts(self, loader: DataLoader) -> Iterator:
        for batch in loader:
            xb, yb = (batch, None) if loader.y is None else batch
            mine = np.array_split(np.arange(len(xb)), self.size)[self.rank]
            part = slice(mine[0], mine[0] + len(mine)) if len(mine) else slice(0, 0)
            yield (xb[part], None if yb is None else yb[part])

    def sum_metrics(self, sums: dict) -> dict:
        """The per-rank metric sums of an epoch, summed over the ranks (one small Allreduce)."""
        if not sums:
            return sums
        values = np.array(list(sums.values()), dtype=np.float64)
        self.allreduce(values, "the sum of the epoch's metrics")
        return dict(zip(sums, values.tolist(), strict=True))


_ABORTS: list = []


def abort_at_exit(comm: object) -> None:
    """Abort `comm` when this process exits (once), so that no other rank waits on it."""
    if _ABORTS:
        return
    _ABORTS.append(comm)

    def abort() -> None:
        sys.stderr.flush()
        comm.Abort(1)

    atexit.register(abort)


def join_distributed(distributed: object, optimizer: object) -> Distributed | None:
    """fit's `distributed` argument as a Distributed (None for False): MPI is started here,
    before fit checks anything that one rank alone might refuse. Refused for an optimizer
    with a line search, and for a value of another kind (before MPI is loaded)."""
    if distributed is False:
        return None
    if getattr(optimizer, "needs_closure", False):
        raise refusal(
            "fit",
            "distributed",
            f"False with {type(optimizer).__name__}, whose line search re-evaluates the loss "
            f"on the whole batch",
            repr(distributed),
            fix="Use SGD, Adam or another first-order optimizer to train on several ranks.",
        )
    if isinstance(distributed, Distributed):
        return distributed
    if distributed is True or hasattr(distributed, "Iallreduce"):
        return Distributed(None if distributed is True else distributed)
    expected = "True or an mpi4py communicator"
    raise refusal("fit", "distributed", expected, what_came(distributed), TypeError)


@contextmanager
def refusals_shared(dist: Distributed | None) -> Iterator[None]:
    """Within: fit's checks of its arguments and data. A refusal on one rank is raised there
    and reaches the other ranks, which raise DistributedError at once instead of waiting for
    it at the first collective until the timeout."""
    if dist is None:
        yield
        return
    what = "the check of fit's arguments and data"
    try:
        yield
    except Exception:
        dist.first_rank(True, what)
        raise
    refused = dist.first_rank(False, what)
    if refused is not None:
        raise DistributedError(
            f"fit(distributed=True): rank {refused} refused its arguments or data (its own "
            f"error says why); every rank stops before training."
        )


def start_distributed(dist: Distributed, arguments: dict, loader: DataLoader) -> None:
    """Check that every rank trains alike (fit_settings of fit's `arguments`), then make
    every rank's parameters and data order rank 0's."""
    dist.check_agreement(fit_settings(arguments, loader))
    dist.broadcast_parameters(arguments["model"])
    dist.same_order(loader)


__all__ = [
    "DEFAULT_TIMEOUT",
    "Distributed",
    "DistributedError",
    "fit_settings",
    "join_distributed",
    "load_mpi",
    "refusals_shared",
    "start_distributed",
]
