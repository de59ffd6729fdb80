"""`wengert sweep --out DIR` where DIR cannot be made, and an --address that cannot be: refused in
one line naming the option, before any point runs, and nothing is written."""

import importlib
import os
import re

import pytest
from sweep_helpers import run, write_grid

GRID_FIXED = {"data": "xor", "model": "perceptron", "epochs": 1}

pytest.importorskip("joblib", reason="the sweep runs its points through joblib")


@pytest.mark.parametrize("below", ["sub", "sub/deeper"])
def test_an_out_below_a_file_is_refused_by_name(tmp_path, below):
    (tmp_path / "file").write_text("mine")
    out = tmp_path / "file" / below
    result = run("sweep", write_grid(tmp_path / "g.json"), "--out", out)
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        f"wengert sweep: error: --out: {out} cannot be made: {tmp_path / 'file'} is a file, not "
        "a directory\n"
    )
    assert (tmp_path / "file").read_text() == "mine"


def test_an_out_the_system_will_not_make_is_refused_by_name(tmp_path, monkeypatch):
    def refuse(path, exist_ok=False):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(os, "makedirs", refuse)
    result = run("sweep", write_grid(tmp_path / "g.json"), "--out", tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        f"wengert sweep: error: --out: {tmp_path / 'out'} cannot be made: Permission denied\n"
    )


def test_no_more_local_workers_are_started_than_there_are_points(tmp_path, monkeypatch):
    sweep_module = importlib.import_module(
        "wengert.cli.sweep"
    )  # the package's `sweep` is the command
    asked = []
    real = sweep_module.connect

    def recording(backend, address, jobs):
        asked.append(jobs)
        return real(backend, address, 1)

    monkeypatch.setattr(sweep_module, "connect", recording)
    grid = write_grid(tmp_path / "g.json", GRID_FIXED, {"lr": [0.1, 0.2]})
    result = run("sweep", grid, "--out", tmp_path / "out", "--jobs", "500")
    assert result.exit_code == 0, result.output
    assert asked == [2]


def test_an_empty_out_is_refused_by_name(tmp_path):
    result = run("sweep", write_grid(tmp_path / "g.json"), "--out", "")
    assert result.exit_code == 2, result.output
    assert result.stderr == "wengert sweep: error: --out must be a directory's path; got ''\n"


def test_an_address_whose_host_cannot_exist_is_refused_by_name():
    from wengert.cli.sweep_backends import _check_answers

    address = "a" * 64 + ".example:8786"  # a label may have at most 63 characters
    message = f"--address must name a host that can exist; got '{address}'"
    with pytest.raises(ValueError, match=re.escape(message)):
        _check_answers(address)
