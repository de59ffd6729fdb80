"""`wengert sweep` on the local backend: each point equals `wengert train` typed by hand, the
summary ranks the points, a failing point is recorded while the others finish, and every bad
grid file or address is refused in one line with nothing written."""

import contextlib
import json
import math
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sweep_helpers import (
    FIXED,
    GRID,
    NAMES,
    assert_points_by_hand,
    by_hand,
    numbers,
    run,
    search_on,
    summary,
    sweep,
    write_grid,
)

from wengert.cli import sweep_backends
from wengert.cli.sweep_backends import run_point
from wengert.cli.sweep_grid import command_line
from wengert.cli.train import train

pytest.importorskip("joblib", reason="the sweep runs its points through joblib")


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    """The small grid swept in this process, one point after the other."""
    d = tmp_path_factory.mktemp("local")
    return d, sweep(write_grid(d / "grid.json"), d / "sweep")


def test_each_point_is_the_run_of_wengert_train_typed_by_hand(local, tmp_path):
    d, _ = local
    assert sorted(os.listdir(d / "sweep")) == [*NAMES, "summary.csv"]
    assert_points_by_hand(d / "sweep", tmp_path)
    config = json.loads((d / "sweep" / NAMES[2] / "config.json").read_text())
    assert (config["lr"], config["hidden"], config["epochs"]) == (0.2, "4", 15)


def test_the_summary_holds_each_points_metrics_best_first_by_validation_loss(local):
    d, rows = local
    assert [row["point"] for row in rows] == sorted(NAMES, key=lambda n: _val_loss(d, n))
    for row in rows:
        metrics = json.loads((d / "sweep" / row["point"] / "metrics.json").read_text())
        assert float(row["val_loss"]) == metrics["val_loss"]
        assert float(row["loss"]) == metrics["loss"]
        assert float(row["accuracy"]) == metrics["accuracy"]
        assert int(row["epochs"]) == 15
        assert (row["status"], row["message"]) == ("ok", "")
        assert 0 < float(row["seconds"]) < 30
    assert [(row["--lr"], row["--hidden"]) for row in rows if row["point"] == NAMES[2]] == [
        ("0.2", "4")
    ]


def _val_loss(d, name):
    return json.loads((d / "sweep" / name / "metrics.json").read_text())["val_loss"]


def test_the_printed_table_is_the_summary_in_the_same_order(tmp_path):
    grid = write_grid(tmp_path / "grid.json", FIXED | {"epochs": 2}, {"lr": [0.05, 0.2]})
    result = run("sweep", grid, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "point", "--lr", "loss", "val_loss", "accuracy", "val_accuracy", "epochs", "status",
        "seconds", "message",
    ]  # fmt: skip
    rows = summary(tmp_path / "out")
    assert [line.split()[0] for line in lines[1:]] == [row["point"] for row in rows]
    assert [line.split()[2] for line in lines[1:]] == [f"{float(r['loss']):.6g}" for r in rows]


def test_options_named_as_results_keep_columns_of_their_own(tmp_path):
    fixed = {"data": "moons", "hidden": "4", "lr": 0.05, "optimizer": "sgd"}
    grid = {"epochs": [1, 2], "loss": ["logistic", "mse"], "batch_size": [16]}
    rows = sweep(write_grid(tmp_path / "g.json", fixed, grid), tmp_path / "out")
    assert list(rows[0]) == [
        "point", "--epochs", "--loss", "--batch-size", "loss", "val_loss", "accuracy",
        "val_accuracy", "epochs", "status", "seconds", "message",
    ]  # fmt: skip
    asked = {row["point"]: (row["--epochs"], row["--loss"], row["epochs"]) for row in rows}
    assert asked == {
        "000-epochs=1-loss=logistic-batch-size=16": ("1", "logistic", "1"),
        "001-epochs=1-loss=mse-batch-size=16": ("1", "mse", "1"),
        "002-epochs=2-loss=logistic-batch-size=16": ("2", "logistic", "2"),
        "003-epochs=2-loss=mse-batch-size=16": ("2", "mse", "2"),
    }
    for row in rows:
        metrics = json.loads((tmp_path / "out" / row["point"] / "metrics.json").read_text())
        assert float(row["loss"]) == metrics["loss"]


def test_a_point_runs_wengert_predict(local):
    d, rows = local
    points_csv = d / "points.csv"
    points_csv.write_text("x1,x2\n0.9,0.9\n-0.9,0.9\n")
    result = run("predict", "--model", d / "sweep" / rows[0]["point"], "--data", points_csv)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "prediction"
    assert len(result.stdout.splitlines()) == 3


def test_a_diverging_point_and_a_refused_value_are_recorded_while_the_others_finish(tmp_path):
    fixed = {"data": "moons", "optimizer": "sgd", "epochs": 3, "hidden": "4"}
    grid = write_grid(tmp_path / "g.json", fixed, {"lr": [0.05, 1e30, "fast"]})
    result = run("sweep", grid, "--out", tmp_path / "out")
    assert result.exit_code == 1, result.output
    rows = {row["point"]: row for row in summary(tmp_path / "out")}
    assert list(rows) == ["000-lr=0.05", "001-lr=1e+30", "002-lr=fast"]  # failures last
    assert rows["000-lr=0.05"]["status"] == "ok"
    assert int(rows["000-lr=0.05"]["epochs"]) == 3
    diverged = rows["001-lr=1e+30"]
    assert diverged["status"] == "diverged"
    assert diverged["message"].startswith("training diverged: the loss became nan at epoch 2")
    assert int(diverged["epochs"]) == 1  # the epochs before the bad one, from its metrics.json
    refused = rows["002-lr=fast"]
    assert refused["status"] == "error"
    assert refused["message"] == "Invalid value for '--lr': 'fast' is not a valid float."
    assert not (tmp_path / "out" / "002-lr=fast").exists()
    assert result.stderr.splitlines() == [
        f"wengert sweep: error: 2 of 3 points did not train (001-lr=1e+30: diverged); see "
        f"{tmp_path / 'out' / 'summary.csv'}"
    ]


def test_a_flag_given_other_than_true_or_false_is_that_points_error(tmp_path):
    grid = write_grid(tmp_path / "g.json", FIXED | {"epochs": 1}, {"shuffle": [False, "yes"]})
    result = run("sweep", grid, "--out", tmp_path / "out")
    assert result.exit_code == 1, result.output
    rows = {row["point"]: row for row in summary(tmp_path / "out")}
    assert rows["000-shuffle=False"]["status"] == "ok"
    assert (rows["001-shuffle=yes"]["status"], rows["001-shuffle=yes"]["message"]) == (
        "error",
        "--shuffle must be true or false; got 'yes'",
    )
    config = json.loads((tmp_path / "out" / "000-shuffle=False" / "config.json").read_text())
    assert config["shuffle"] is False


NOT_TRAINS = "'grid' names 'speed', which is not an option of wengert train"
NOT_SCALAR = "grid.lr must be a string, a number or true/false; got a list [0.1]"
OWN = "sets 'out'; --out is the sweep's own"
BAD_GRIDS = [  # the file's content, the one line that refuses it
    ({"train": FIXED, "grid": {"lr": [0.1], "speed": [1]}}, NOT_TRAINS),
    ({"train": FIXED, "grid": {"lr": []}}, "grid.lr must be a list of at least one value; got []"),
    ({"train": FIXED, "grid": {"lr": 0.1}}, "grid.lr must be a list of values to try; got float"),
    ({"train": FIXED, "grid": {"lr": [[0.1]]}}, NOT_SCALAR),
    ({"train": FIXED, "grid": {"out": ["a", "b"]}}, f"'grid' {OWN}"),
    ({"train": FIXED | {"out": "x"}, "grid": {"lr": [0.1]}}, f"'train' {OWN}"),
    ({"train": FIXED | {"lr": 0.1}, "grid": {"lr": [0.1]}}, "'lr' is both in 'train' and in"),
    ({"train": {"epochs": 2}, "grid": {"lr": [0.1]}}, "'data' is required by wengert train"),
    ({"train": FIXED}, "has no 'grid' section"),
    ({"grid": {"lr": [0.1]}, "seeds": [1]}, "unknown section 'seeds'"),
    ([1, 2], "must hold a mapping with 'train' and 'grid'; got a list [1, 2]"),
    ({"train": ["xor"], "grid": {"lr": [1]}}, "'train' must be a mapping of option names; got"),
    (
        {"train": FIXED, "grid": {"lr": list(range(1000)), "batch-size": list(range(1, 12))}},
        "a sweep has at most 10000 points; got 1000 x 11 = 11000",
    ),
]


@pytest.mark.parametrize(("content", "message"), BAD_GRIDS)
def test_a_bad_grid_is_refused_by_name_and_nothing_is_written(tmp_path, content, message):
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps(content))
    result = run("sweep", grid, "--out", tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("wengert sweep: error: GRID: "), result.stderr
    assert message in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("grid.txt", "{}", "must end in .json, .yaml or .yml; got '.txt'"),
        ("grid.json", "{'lr': [1]}", "is not valid JSON"),
        ("grid.yaml", "grid: {lr: [0.1\n", "is not valid YAML at line 2, column 1"),
        ("grid.yaml", "grid:\n  lr: 0.1\n", "grid.lr must be a list of values to try; got float"),
    ],
)
def test_a_grid_file_that_cannot_be_read_is_refused(tmp_path, name, text, message):
    if name.endswith(".yaml"):
        pytest.importorskip("yaml", reason="YAML grids need PyYAML (wengert[sweep])")
    (tmp_path / name).write_text(text)
    result = run("sweep", tmp_path / name, "--out", tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert message in result.stderr, result.stderr
    assert not (tmp_path / "out").exists()


def test_a_yaml_grid_sweeps_as_its_json_twin(tmp_path, local):
    pytest.importorskip("yaml", reason="YAML grids need PyYAML (wengert[sweep])")
    text = "train: {data: xor, model: mlp, epochs: 15, optimizer: sgd, seed: 4}\n"
    text += "grid:\n  lr: [0.05]\n  hidden: ['8']\n"
    (tmp_path / "grid.yaml").write_text(text)
    rows = sweep(tmp_path / "grid.yaml", tmp_path / "out")
    assert numbers(rows)["000-lr=0.05-hidden=8"] == numbers(local[1])[NAMES[1]]


def test_an_out_directory_that_is_not_empty_is_refused(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    result = run("sweep", write_grid(tmp_path / "g.json"), "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert result.stderr == (
        f"wengert sweep: error: --out: {tmp_path / 'out'} is not empty; give a new or empty "
        "directory\n"
    )
    assert os.listdir(tmp_path / "out") == ["notes.txt"]


@contextlib.contextmanager
def dead_address(kind: str):
    """A local address where nothing answers: a closed port, or one that listens (connections
    open) and never writes."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        port = server.getsockname()[1]
        if kind == "silent":
            server.listen()
        else:
            server.close()
        yield f"127.0.0.1:{port}"


WHY = {"closed": "Connection refused", "silent": "a connection opened, but nothing was said on it"}


@pytest.mark.parametrize("kind", ["closed", "silent"])
@pytest.mark.parametrize("backend", ["dask", "ray"])
def test_an_address_where_nothing_answers_is_refused_in_one_line(
    tmp_path, monkeypatch, backend, kind
):
    pytest.importorskip("distributed" if backend == "dask" else "ray")
    monkeypatch.setattr(sweep_backends, "CONNECT_TIMEOUT_S", 0.5)
    with dead_address(kind) as address:
        started = time.perf_counter()
        result = run("sweep", write_grid(tmp_path / "g.json"), "--out", tmp_path / "out",
                     "--backend", backend, "--address", address)  # fmt: skip
        assert time.perf_counter() - started < 5
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        f"wengert sweep: error: --address: nothing answers at {address} ({WHY[kind]} within "
        "0.5 s); start the scheduler there, or leave --address out to start a local one\n"
    )
    assert not (tmp_path / "out").exists()


def test_an_address_is_refused_for_the_local_backend(tmp_path):
    result = run("sweep", write_grid(tmp_path / "g.json"), "--out", tmp_path / "out",
                 "--address", "127.0.0.1:8786")  # fmt: skip
    assert result.exit_code == 2
    assert "--address: only for --backend dask or ray; got --backend local" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_local_processes_give_the_sequential_numbers(tmp_path, local):
    rows = sweep(write_grid(tmp_path / "g.json"), tmp_path / "out", "--jobs", "2")
    assert numbers(rows) == numbers(local[1])


@pytest.mark.parametrize("which", [0, 1], ids=["GridSearchCV", "RandomizedSearchCV"])
def test_a_search_in_threads_equals_the_sequential_search(tmp_path, which):
    # The engine's recording switch is the process's: the estimators take turns in threads.
    assert search_on("threading", tmp_path, which, n_jobs=8) == {os.getpid()}


def test_points_run_in_threads_of_one_process_are_the_sequential_runs(local, tmp_path):
    d, _ = local
    values = [(lr, hidden) for lr in GRID["lr"] for hidden in GRID["hidden"]]
    args = [command_line(FIXED | {"lr": lr, "hidden": h}, train) for lr, h in values]
    stdout = sys.stdout
    with ThreadPoolExecutor(4) as pool:
        rows = list(pool.map(run_point, args, [str(tmp_path / name) for name in NAMES]))
    assert sys.stdout is stdout  # each run's capture undone, in turn
    assert [row["status"] for row in rows] == ["ok"] * 4
    for name in NAMES:
        expected = (d / "sweep" / name / "metrics.json").read_bytes()
        assert (tmp_path / name / "metrics.json").read_bytes() == expected, name


@pytest.mark.parametrize(
    ("module", "options", "message"),
    [
        ("distributed", ["--backend", "dask"], "--backend dask needs distributed, which is not "
         "installed: pip install 'wengert[dask]'"),
        ("ray", ["--backend", "ray"], "--backend ray needs ray, which is not installed: pip "
         "install 'wengert[ray]'"),
        ("yaml", [], "GRID: a YAML grid needs PyYAML: pip install 'wengert[sweep]' (or write it "
         "as JSON)"),
    ],
)  # fmt: skip
def test_a_missing_package_names_its_extra(tmp_path, monkeypatch, module, options, message):
    monkeypatch.setitem(sys.modules, module, None)  # as if it were not installed
    grid = tmp_path / "grid.yaml"
    grid.write_text(json.dumps({"train": FIXED, "grid": GRID}))  # JSON is YAML
    if module != "yaml":
        grid = write_grid(tmp_path / "grid.json")
    result = run("sweep", grid, "--out", tmp_path / "out", *options)
    assert result.exit_code == 2, result.output
    assert result.stderr == f"wengert sweep: error: {message}\n"
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_ray_sweep_starts_and_shuts_down_its_own_instance(tmp_path, local):
    pytest.importorskip("ray")
    grid = write_grid(tmp_path / "g.json")
    command = "from wengert.cli import main; main()"
    args = ["sweep", grid, "--out", tmp_path / "out", "--backend", "ray", "--jobs", "2"]
    done = subprocess.run(  # a process of its own, which no Ray instance of a test has joined
        [sys.executable, "-c", command, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert numbers(summary(tmp_path / "out")) == numbers(local[1])


def test_a_point_whose_worker_fails_is_an_error_row():
    def died() -> dict:
        raise ConnectionError("the worker at tcp://10.0.0.5:40000 went away")

    row = sweep_backends._outcome(died)
    assert (row["status"], row["message"]) == (
        "error",
        "its worker failed: ConnectionError: the worker at tcp://10.0.0.5:40000 went away",
    )
    assert all(math.isnan(row[key]) for key in ("seconds", "loss", "val_loss", "epochs"))


def test_a_csv_named_relative_to_here_is_found_by_every_worker(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rows = ["x1,x2,y"] + [
        f"{i % 7 / 7:.3f},{i % 5 / 5:.3f},{int(i % 7 > i % 5)}" for i in range(60)
    ]
    (tmp_path / "table.csv").write_text("\n".join(rows) + "\n")
    fixed = {"data": "table.csv", "epochs": 3, "hidden": "4"}
    sweep(write_grid(tmp_path / "g.json", fixed, {"lr": [0.05]}), "out")
    config = json.loads((tmp_path / "out" / "000-lr=0.05" / "config.json").read_text())
    assert config["data"] == str(tmp_path / "table.csv")  # as the workers may run elsewhere
    expected = by_hand(tmp_path / "by-hand", fixed | {"lr": 0.05})
    assert (tmp_path / "out" / "000-lr=0.05" / "metrics.json").read_bytes() == expected
