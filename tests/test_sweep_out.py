"""`wengert sweep --out DIR` where DIR cannot be made: refused in one line naming --out, before
any point runs, and nothing is written."""

import os

import pytest
from sweep_helpers import run, write_grid

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
