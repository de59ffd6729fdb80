"""Training: fit() and what it records.

The loop is in `loop.py` (fit), its arguments' checks in `arguments.py`, one checked step in
`step.py`, how a run stops (non-finite values, tol) in `stopping.py`, what it prints on stderr
in `progress.py`, what a run records and what callbacks see in `state.py` (History, Run,
NonFiniteError), the callbacks in `callbacks.py` (Callback, EarlyStopping), the per-epoch
metrics in `metrics.py` (accuracy), data-parallel training over MPI (fit(distributed=True)) in
`distributed.py` and `distributed_step.py` (Distributed, DistributedError).

Layer: training, below data; it imports only the layers above it (checks through data),
never classic, the integrations or the interfaces. The model-file format (wengert.io) installs
its checkpoint reader and writer here, in `checkpoints.py`, when it is imported.
"""

from wengert.train.callbacks import Callback, EarlyStopping
from wengert.train.distributed import Distributed, DistributedError
from wengert.train.loop import fit
from wengert.train.metrics import accuracy
from wengert.train.state import (
    ConvergenceWarning,
    History,
    NonFiniteError,
    NonFiniteLossWarning,
    Run,
)

__all__ = [
    "Callback",
    "ConvergenceWarning",
    "Distributed",
    "DistributedError",
    "EarlyStopping",
    "History",
    "NonFiniteError",
    "NonFiniteLossWarning",
    "Run",
    "accuracy",
    "fit",
]
