"""Where the command line meets the library: user mistakes become one line and exit status 2,
and the library's warnings one line each, `wengert <command>: warning: <message>`."""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Callable
from typing import IO, TypeVar

import click

__all__ = ["UserError", "boundary", "check_file"]

# Warnings meant for programmers, not for the person at the command line: Python's defaults.
_T = TypeVar("_T")

_QUIET = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)


class UserError(click.ClickException):
    """Bad input: printed as `wengert <command>: error: <message>`, exit status 2."""

    exit_code = 2

    def __init__(self, command: str, message: str) -> None:
        super().__init__(message)
        self.command = command

    def show(self, file: IO[str] | None = None) -> None:
        """Print the one-line error, `wengert <command>: error: <message>`, to stderr."""
        click.echo(f"wengert {self.command}: error: {self.message}", err=True)


def boundary(command: str) -> Callable[[Callable[..., _T]], Callable[..., _T]]:
    """Decorate a command's function: the library's ValueError, TypeError, KeyError and
    ImportError (its messages for bad input) become a UserError instead of a traceback, and
    each different warning raised while it runs is printed once, as one line on stderr, before
    its result or its error line."""

    def decorate(fn: Callable[..., _T]) -> Callable[..., _T]:
        @functools.wraps(fn)
        def wrapped(*args: object, **kwargs: object) -> _T:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")  # every one recorded; _echo removes repeats
                for category in _QUIET:
                    warnings.filterwarnings("ignore", category=category)
                try:
                    return fn(*args, **kwargs)
                except BrokenPipeError:  # the reader left (`| head`): click ends quietly
                    raise
                except (ValueError, TypeError, KeyError, ImportError, OSError) as exc:
                    raise UserError(command, _message(exc)) from exc
                except MemoryError as exc:  # a size the estimates let through, on a busy machine
                    raise UserError(command, f"out of memory: {exc}".rstrip(": ")) from exc
                finally:
                    _echo(command, caught)

        return wrapped

    return decorate


def _echo(command: str, caught: list) -> None:
    shown = set()
    for record in caught:
        message = " ".join(str(record.message).split())
        if message and message not in shown:
            shown.add(message)
            click.echo(f"wengert {command}: warning: {message}", err=True)


def _message(exc: Exception) -> str:
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return str(exc)


def check_file(option: str, path: str) -> None:
    """Refuse the `path` given to `option` (e.g. "--data") unless it names a file."""
    if os.path.isdir(path):
        raise ValueError(f"{option}: {path} is a directory; expected a file")
    if not os.path.isfile(path):
        raise ValueError(f"{option}: no such file: {path}")
