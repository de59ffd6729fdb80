"""`wengert train --distributed` and `wengert resume --distributed`: joining the MPI ranks.

Every rank joins MPI before it reads or checks anything: a rank refused at the command line
(a missing file, a bad option) would otherwise exit without ever starting MPI, and the others
would wait for it in MPI's start-up for ever. A refusal before training then aborts the other
ranks when this one exits, so that they stop at once instead of waiting out their timeout.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


def join_ranks(distributed: bool) -> int:
    """With `distributed`, start MPI (mpi4py) and return this process's rank in
    MPI.COMM_WORLD; without, 0."""
    if not distributed:
        return 0
    from wengert.train.distributed import load_mpi

    return load_mpi().COMM_WORLD.Get_rank()


@contextmanager
def others_stop_with_this(distributed: bool) -> Iterator[None]:
    """Within: an error (a refusal of the command line) aborts the other ranks when this
    process exits, after it has printed its message; with `distributed` and several ranks."""
    try:
        yield
    except Exception:
        if distributed:
            from wengert.train.distributed import abort_at_exit, load_mpi

            world = load_mpi().COMM_WORLD
            if world.Get_size() > 1:
                abort_at_exit(world)
        raise


__all__ = ["join_ranks", "others_stop_with_this"]
