"""Helpers shared by the test files that list refused input in a table."""

import pytest


def assert_refused(make, error, message):
    """Calling make() raises an `error` (that class itself, not a subclass) whose whole text is
    `message`."""
    with pytest.raises(error) as caught:
        make()
    assert type(caught.value) is error, f"{type(caught.value).__name__}: {caught.value}"
    assert str(caught.value) == message
