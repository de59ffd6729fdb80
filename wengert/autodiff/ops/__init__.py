"""The primitive operations and the public functions that apply them.

Each module lists its public names, primitives (`*_p`) and functions, in its `__all__`; this
package offers the union of them. A new operation is written in its module and named in that
module's `__all__`, and nowhere else here.
"""

from wengert.autodiff.ops import (
    activations,
    arithmetic,
    fused,
    linalg,
    metrics,
    reductions,
    shapes,
    squared,
)
from wengert.autodiff.ops.activations import *  # noqa: F403
from wengert.autodiff.ops.arithmetic import *  # noqa: F403
from wengert.autodiff.ops.fused import *  # noqa: F403
from wengert.autodiff.ops.linalg import *  # noqa: F403
from wengert.autodiff.ops.metrics import *  # noqa: F403
from wengert.autodiff.ops.reductions import *  # noqa: F403
from wengert.autodiff.ops.shapes import *  # noqa: F403
from wengert.autodiff.ops.squared import *  # noqa: F403

__all__ = sorted(
    {
        name
        for module in (activations, arithmetic, fused, linalg, metrics, reductions, shapes, squared)
        for name in module.__all__
    }
)
