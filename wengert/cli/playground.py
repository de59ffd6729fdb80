"""`wengert playground`: serve the browser playground on this machine.

The server binds 127.0.0.1 unless --host says otherwise; --port 0 takes a free port. It needs
the `playground` extra (Starlette and uvicorn), imported only when the command runs.
"""

from __future__ import annotations

import errno
import socket
import webbrowser

import click

from wengert.cli.boundary import UserError

__all__ = ["playground"]

COMMAND = "playground"
EXTRA = "wengert playground needs the playground extra: pip install 'wengert[playground]'"


def _listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port) and listening, or a one-line UserError saying why not."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except socket.gaierror as exc:
        raise UserError(
            COMMAND, f"--host {host!r} is not an address of this machine ({exc})"
        ) from None
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            fix = "pick another with --port N, or --port 0 for a free one"
            raise UserError(COMMAND, f"port {port} on {host} is taken; {fix}") from None
        raise UserError(COMMAND, f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(128)
    return sock


@click.command(COMMAND)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8765,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on; 0 takes a free one.",
)
@click.option("--no-browser", is_flag=True, help="Do not open the page in a browser.")
def playground(host: str, port: int, no_browser: bool) -> None:
    """Serve the playground, a page to train a network and watch it learn, on localhost."""
    try:
        import uvicorn

        from wengert.playground.server import create_app
    except ImportError as exc:
        raise UserError(COMMAND, f"{EXTRA} ({exc})") from None
    sock = _listening_socket(host, port)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{bound}/"
    click.echo(f"wengert playground: serving on {url} (Ctrl-C stops it)")
    config = uvicorn.Config(create_app(), log_level="warning")
    server = uvicorn.Server(config)
    if not no_browser:
        webbrowser.open(url)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
