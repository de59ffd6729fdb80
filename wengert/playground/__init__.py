"""The browser playground: a local web app to train a perceptron or an MLP and watch it learn.

`wengert playground` serves it (see wengert/cli/playground.py); `create_app()` builds the
Starlette app, whose JSON API (server.py) drives one `Run` (run.py) per browser tab. It needs
the `playground` extra: pip install 'wengert[playground]'.

Layer: interfaces, the last row of the layers; it may import every layer but cli.
"""

from wengert.playground.config import ConfigError, defaults, validate
from wengert.playground.run import Run

__all__ = ["ConfigError", "Run", "create_app", "defaults", "validate"]


def create_app(*args: object, **kwargs: object) -> object:
    """The Starlette app (server.create_app); imported here only when called, so that the
    package loads without Starlette."""
    from wengert.playground.server import create_app as make

    return make(*args, **kwargs)
