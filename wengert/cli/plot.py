"""`wengert plot NAME --out FILE`: the lecture's pictures, from wengert.plot.PICTURES."""

from __future__ import annotations

import click

from wengert.cli.boundary import UserError, boundary

__all__ = ["plot"]


def _pictures() -> dict | None:
    try:
        from wengert import plot as plots
    except ImportError:
        return None
    return getattr(plots, "PICTURES", None)


def _help() -> str:
    pictures = _pictures()
    names = ", ".join(sorted(pictures)) if pictures else "(wengert.plot is not available yet)"
    return f"Draw one of the lecture's pictures to FILE. NAME is one of: {names}."


class _PlotCommand(click.Command):
    # The names come from wengert.plot, which imports matplotlib: only when help is shown.
    def format_help_text(self, ctx, formatter) -> None:
        self.help = _help()
        super().format_help_text(ctx, formatter)


@click.command(
    cls=_PlotCommand,
    short_help="Draw one of the lecture's pictures to a file.",
    epilog="\b\nExample:\n  wengert plot optimizer-paths --out paths.png",
)
@click.argument("name")
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False), help="The image: FILE.png or .svg."
)
@boundary("plot")
def plot(name: str, out: str) -> None:
    """`wengert plot`: draw the picture NAME of wengert.plot.PICTURES to the file `out`."""
    pictures = _pictures()
    if not pictures:
        raise UserError("plot", "the pictures (wengert.plot.PICTURES) are not available yet")
    if name not in pictures:
        known = ", ".join(sorted(pictures))
        raise UserError("plot", f"unknown picture {name!r}; the pictures are: {known}")
    pictures[name](save=out)
    click.echo(f"wrote {out}", err=True)
