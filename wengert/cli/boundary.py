"""Where the command line meets the library: user mistakes become one line and exit status 2."""

from __future__ import annotations

import functools

import click

__all__ = ["UserError", "boundary"]


class UserError(click.ClickException):
    """Bad input: printed as `wengert <command>: error: <message>`, exit status 2."""

    exit_code = 2

    def __init__(self, command: str, message: str) -> None:
        super().__init__(message)
        self.command = command

    def show(self, file=None) -> None:
        click.echo(f"wengert {self.command}: error: {self.message}", err=True)


def boundary(command: str):
    """Decorate a command's function: the library's ValueError, TypeError, KeyError and
    ImportError (its messages for bad input) become a UserError instead of a traceback."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except (ValueError, TypeError, KeyError, ImportError, OSError) as exc:
                raise UserError(command, _message(exc)) from exc
            except MemoryError as exc:  # a size the estimates let through, on a busy machine
                raise UserError(command, f"out of memory: {exc}".rstrip(": ")) from exc

        return wrapped

    return decorate


def _message(exc: Exception) -> str:
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return str(exc)
