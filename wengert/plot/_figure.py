"""The one place wengert imports matplotlib, and what every picture does with its Figure."""

from __future__ import annotations

import pathlib

from wengert._checks import PATH, check, refusal

__all__ = ["check_save", "finish", "new_figure"]

FORMATS = (".png", ".svg")


def new_figure(figsize: tuple[float, float]):
    """A matplotlib Figure outside pyplot's global state (no backend, nothing to close).

    Raises ImportError naming the extra to install when matplotlib is missing.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as err:
        raise ImportError(
            "wengert.plot needs matplotlib, which is not installed: pip install 'wengert[plot]'"
        ) from err
    return Figure(figsize=figsize, layout="constrained")


def check_save(save, owner: str) -> pathlib.Path | None:
    """None, or the path to write, which must end in .png or .svg; checked before any work."""
    if save is None:
        return None
    check(owner, "save", save, PATH, None)
    path = pathlib.Path(save)
    if path.suffix.lower() not in FORMATS:
        raise refusal(
            owner,
            "save",
            "a path ending in .png or .svg (the format follows the extension)",
            repr(str(save)),
        )
    return path


def finish(fig, data: dict, save: pathlib.Path | None):
    """Attach `data` as fig.wengert_data and write the figure to `save` if given."""
    fig.wengert_data = data
    if save is not None:
        save.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(save, dpi=120)
    return fig
