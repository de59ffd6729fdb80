"""Grid files that a careless or hostile hand may write: keys given twice, a tag that would run
code, aliases that make a huge value of a few lines, bytes that are not UTF-8, a file too large
to be a grid. Each is refused in one line naming GRID, before anything is written."""

import json
import os
import time

import pytest
from sweep_helpers import run

pytest.importorskip("joblib", reason="the sweep runs its points through joblib")

TRAIN = "train: {data: xor, model: perceptron, epochs: 1}\n"


def _refused(tmp_path, name: str, content: str | bytes) -> str:
    """`wengert sweep` of a grid file `name` holding `content`: its one error line."""
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    result = run("sweep", path, "--out", tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert not (tmp_path / "out").exists()
    return result.stderr


SKIP_YAML = "YAML grids need PyYAML (wengert[sweep])"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "g.yaml",
            TRAIN + "grid: {lr: [0.1]}\ngrid: {lr: [0.2]}\n",
            "is not valid YAML at line 3, column 1 ('grid' is named twice in one mapping; "
            "keep one)",
        ),
        (
            "g.yaml",
            "train: {data: xor, epochs: 1, epochs: 2}\ngrid: {lr: [0.1]}\n",
            "line 1, column 31 ('epochs' is named twice in one mapping; keep one)",
        ),
        (
            "g.json",
            '{"train": {"data": "xor"}, "grid": {"lr": [0.1]}, "grid": {"lr": [0.2]}}',
            "g.json names 'grid' twice in one mapping; keep one",
        ),
        (
            "g.json",
            '{"train": {"data": "xor", "batch-size": 4, "batch_size": 8}, "grid": {"lr": [1]}}',
            "GRID: 'train' names 'batch-size' and 'batch_size', both --batch-size; keep one",
        ),
        (
            "g.yaml",
            TRAIN + "grid: {lr: [0.1], --lr: [0.2]}\n",
            "GRID: 'grid' names 'lr' and '--lr', both --lr; keep one",
        ),
    ],
)
def test_a_key_given_twice_is_refused_not_overwritten(tmp_path, name, content, message):
    if name.endswith(".yaml"):
        pytest.importorskip("yaml", reason=SKIP_YAML)
    assert message in _refused(tmp_path, name, content)


def test_a_merge_key_may_be_set_again(tmp_path):
    pytest.importorskip("yaml", reason=SKIP_YAML)
    from wengert.cli.sweep_grid import read_grid
    from wengert.cli.train import train

    path = tmp_path / "g.yaml"
    path.write_text("train:\n  <<: {data: xor, epochs: 1}\n  epochs: 2\ngrid: {lr: [0.1]}\n")
    assert read_grid(str(path), train)[0] == {"data": "xor", "epochs": 2}


def test_a_tag_that_would_run_code_is_refused_and_never_run(tmp_path):
    pytest.importorskip("yaml", reason=SKIP_YAML)
    marker = tmp_path / "ran"
    text = f"train: !!python/object/apply:os.system ['touch {marker}']\ngrid: {{lr: [0.1]}}\n"
    stderr = _refused(tmp_path, "g.yaml", text)
    assert "at line 1, column 8 (could not determine a constructor for the tag " in stderr
    assert "python/object/apply:os.system" in stderr
    assert not marker.exists()


def test_aliases_that_make_a_huge_value_are_refused_at_once(tmp_path):
    pytest.importorskip("yaml", reason=SKIP_YAML)
    # Nine levels of ten aliases each: a list of 10**9 numbers, written in 300 bytes.
    text = TRAIN + "grid:\n  lr: [[&a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"
    for level in range(1, 9):
        text += f", &a{level} [" + ", ".join([f"*a{level - 1}"] * 10) + "]"
    started = time.perf_counter()
    stderr = _refused(tmp_path, "g.yaml", text + "]]\n")
    assert time.perf_counter() - started < 5
    assert "GRID: grid.lr must be a string, a number or true/false; got a list [[1, 1, " in stderr


def test_a_list_that_holds_itself_is_refused(tmp_path):
    pytest.importorskip("yaml", reason=SKIP_YAML)
    stderr = _refused(tmp_path, "g.yaml", "train: {data: xor}\ngrid: {lr: &a [*a]}\n")
    assert "GRID: grid.lr must be a string, a number or true/false; got a list [[[[...]]]]" in (
        stderr
    )


def test_a_file_that_is_not_utf8_text_is_refused_by_name(tmp_path):
    stderr = _refused(tmp_path, "g.json", b'{"grid": {"lr": [0.1]}, "x": "\xff"}')
    path = tmp_path / "g.json"
    assert stderr == (
        f"wengert sweep: error: GRID: {path} must be UTF-8 text; got byte 0xff at offset 30\n"
    )


def test_a_file_too_large_to_be_a_grid_is_refused_unread(tmp_path):
    stderr = _refused(tmp_path, "g.json", " " * (2**20 + 1))
    assert "must be a grid file of at most 1024 KiB; got 1,024 KiB" in stderr


def test_a_directory_is_not_a_grid_file(tmp_path):
    (tmp_path / "g.json").mkdir()
    result = run("sweep", tmp_path / "g.json", "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert result.stderr == (
        f"wengert sweep: error: GRID: {tmp_path / 'g.json'} must be a file; got a directory or "
        "a device\n"
    )


def test_a_grid_of_many_options_names_its_points_within_a_file_names_length(tmp_path):
    # Named in full, each point's directory would be 257 characters: more than a file name may
    # have (255 bytes), so that every point would fail.
    options = {
        "data": ["xor"], "model": ["mlp"], "epochs": [1], "bias": [True],
        "hidden": ["16," * 20 + "16"], "activation": ["tanh"], "optimizer": ["sgd"],
        "schedule": ["inverse_scaling"], "batch-size": [320], "val-split": [0.125],
        "momentum": [0.5], "standardize": [True], "shuffle": [True], "seed": [12345],
        "lr": [0.001, 0.002], "loss": ["cross_entropy"],
    }  # fmt: skip
    grid = tmp_path / "g.json"
    grid.write_text(json.dumps({"train": {}, "grid": options}))
    result = run("sweep", grid, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    names = sorted(os.listdir(tmp_path / "out"))
    assert [len(name) for name in names] == [120, 120, len("summary.csv")]
    assert names[0].startswith("000-data=xor-model=mlp-epochs=1-bias=True-hidden=16,16,16,16,")
    assert names[1].startswith("001-data=xor-")


@pytest.mark.parametrize("name", ["g.json", "g.yaml"])
def test_a_grid_file_that_starts_with_a_byte_order_mark_is_read(tmp_path, name):
    if name.endswith(".yaml"):
        pytest.importorskip("yaml", reason=SKIP_YAML)
    text = json.dumps({"train": {"data": "xor", "model": "perceptron", "epochs": 1},
                       "grid": {"lr": [0.1]}})  # fmt: skip
    (tmp_path / name).write_bytes(b"\xef\xbb\xbf" + text.encode())
    result = run("sweep", tmp_path / name, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert sorted(os.listdir(tmp_path / "out")) == ["000-lr=0.1", "summary.csv"]
