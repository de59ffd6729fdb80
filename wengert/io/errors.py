"""The error every unreadable model or checkpoint file raises."""

from __future__ import annotations


class ModelFileError(ValueError):
    """A model or checkpoint file that cannot be read: what is wrong, and where."""


__all__ = ["ModelFileError"]
