"""The one place wengert imports matplotlib, and what every picture does with its Figure."""

from __future__ import annotations

import pathlib

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
    if not isinstance(save, (str, pathlib.Path)):
        raise TypeError(f"{owner}: save must be None or a path (str or Path); got {save!r}")
    path = pathlib.Path(save)
    if path.suffix.lower() not in FORMATS:
        raise ValueError(
            f"{owner}: save must end in .png or .svg (the format follows the extension); "
            f"got {str(save)!r}"
        )
    return path


def finish(fig, data: dict, save: pathlib.Path | None):
    """Attach `data` as fig.wengert_data and write the figure to `save` if given."""
    fig.wengert_data = data
    if save is not None:
        save.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(save, dpi=120)
    return fig
