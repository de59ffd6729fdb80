"""fit(distributed=True): data-parallel training over MPI equals one process with the same batch.

The MPI runs launch tests/mpi/train_mlp.py under mpiexec (a subprocess with a timeout; its
process group is killed if it overruns) and compare what each rank wrote with the same training
in this process, without MPI. Every rank seeds its model and data order differently, so equal
results also show the broadcast of the parameters and of the seed from rank 0.

float32 tolerance: the ranks sum their gradients in another order than one process's matmul
does, so each averaged gradient differs by a few units in the last place (2**-23 relative);
through 20 Adam steps of lr 0.01 this leaves weights and losses within 1e-5 relative (plus
1e-6 absolute) of the one-process run. Measured: 1.2e-7 on the weights, 4.8e-7 on the losses.
"""

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from io_helpers import rewrite_header

import wengert as wg
from wengert.cli import main
from wengert.train import fit
from wengert.train.distributed import Distributed

HERE = Path(__file__).parent
SCRIPT = HERE / "mpi" / "train_mlp.py"
_spec = importlib.util.spec_from_file_location("train_mlp", SCRIPT)
train_mlp = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(train_mlp)


def mpiexec():
    """The mpiexec beside this Python (the mpich wheel's), else one on PATH; skip without."""
    pytest.importorskip("mpi4py", reason="fit(distributed=True) needs mpi4py: wengert[mpi]")
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    found = here if os.path.exists(here) else shutil.which("mpiexec")
    if found is None:
        pytest.skip("no mpiexec: pip install 'wengert[mpi]' brings MPICH's")
    return found


def launch(ranks, args, timeout=30, env=None):
    """Run `args` under mpiexec -n ranks, one BLAS thread each: (exit status, stderr, s)."""
    environment = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    environment.update(MKL_NUM_THREADS="1", **(env or {}))
    command = [mpiexec(), "-n", str(ranks), *args]
    start = time.monotonic()
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise AssertionError(f"{command} ran past {timeout} s") from None
    return process.returncode, out + err, time.monotonic() - start


def run_script(ranks, out, dtype="float64", rows=96, batch=24, epochs=5, *extra):
    """Train under mpiexec; each rank's (weights, step losses, history)."""
    args = [sys.executable, str(SCRIPT), "--out", str(out), "--dtype", dtype]
    args += ["--rows", str(rows), "--batch", str(batch), "--epochs", str(epochs), *extra]
    status, output, _ = launch(ranks, args)
    assert status == 0, output
    return [read_rank(out, r) for r in range(ranks)]


def read_rank(out, rank):
    with open(out / f"rank{rank}.json") as f:
        saved = json.load(f)
    return dict(np.load(out / f"rank{rank}.npz")), saved["step_loss"], saved["history"]


def assert_like_one_process(results, dtype, rows, batch, epochs, rtol, atol):
    model, history = train_mlp.train(rows, batch, epochs, dtype)
    expected = model.state_dict()
    assert len(history.step_loss) == 20
    for weights, step_loss, series in results:
        for name, value in expected.items():
            np.testing.assert_allclose(weights[name], value, rtol=rtol, atol=atol)
        np.testing.assert_allclose(step_loss, history.step_loss, rtol=rtol, atol=atol)
        for name, values in history.history.items():
            np.testing.assert_allclose(series[name], values, rtol=rtol, atol=atol)


@pytest.mark.parametrize("ranks", [1, 2, 3])
def test_k_ranks_equal_one_process_with_the_global_batch(ranks, tmp_path):
    results = run_script(ranks, tmp_path)  # 96 rows, batch 24: 4 steps per epoch, 5 epochs
    assert_like_one_process(results, "float64", 96, 24, 5, rtol=0, atol=1e-10)


def test_unequal_and_empty_shards_with_the_compiled_step(tmp_path):
    # 101 rows in batches of 25 over 3 ranks: shards of 9, 8, 8 rows, and the last batch of
    # one row leaves two ranks with none; 5 batches per epoch, 4 epochs.
    results = run_script(3, tmp_path, "float64", 101, 25, 4, "--compile")
    assert_like_one_process(results, "float64", 101, 25, 4, rtol=0, atol=1e-10)


def test_a_loader_that_reads_a_memory_mapped_file_by_chunks(tmp_path):
    # A DataLoader over a memory-mapped X (read in chunks of 30 rows, shuffled chunk by chunk)
    # yields whole batches; each rank keeps its part. 101 rows, batch 25, 2 ranks: 13 and 12.
    out, reference = tmp_path / "ranks", tmp_path / "one"
    out.mkdir(), reference.mkdir()
    results = run_script(2, out, "float64", 101, 25, 4, "--memmap")
    model, history = train_mlp.train(101, 25, 4, "float64", memmap=reference)
    assert len(history.step_loss) == 20
    for weights, step_loss, _ in results:
        np.testing.assert_allclose(step_loss, history.step_loss, rtol=0, atol=1e-10)
        for name, value in model.state_dict().items():
            np.testing.assert_allclose(weights[name], value, rtol=0, atol=1e-10)


def test_float32_within_its_stated_tolerance(tmp_path):
    results = run_script(2, tmp_path, "float32")
    assert_like_one_process(results, "float32", 96, 24, 5, rtol=1e-5, atol=1e-6)


def test_a_non_finite_loss_on_one_rank_stops_every_rank_at_the_same_step(tmp_path):
    # The row at place 60 of epoch 1's order is in batch 3, in rank 1's half: only rank 1's
    # shard loss is NaN, and the guard, which sees the averaged loss, stops both ranks there.
    row = int(np.random.default_rng(7).permutation(96)[60])
    results = run_script(2, tmp_path, "float64", 96, 24, 5, "--poison", str(row))
    with pytest.warns(wg.train.NonFiniteLossWarning):
        model, history = train_mlp.train(96, 24, 5, "float64", poison=row)
    assert history.stop_reason == "non-finite loss (nan) at epoch 1, step 3"
    for rank in range(2):
        with open(tmp_path / f"rank{rank}.json") as f:
            assert json.load(f)["stop_reason"] == history.stop_reason
    for weights, step_loss, _ in results:
        np.testing.assert_allclose(step_loss, history.step_loss, rtol=0, atol=1e-10)
        for name, value in model.state_dict().items():
            np.testing.assert_allclose(weights[name], value, rtol=0, atol=1e-10)


def test_resume_on_the_same_ranks_continues_and_another_number_is_refused(tmp_path):
    checkpoint = tmp_path / "ckpt"
    run_script(2, tmp_path, "float64", 96, 24, 2, "--checkpoint", str(checkpoint))
    resumed = run_script(
        2, tmp_path, "float64", 96, 24, 5, "--checkpoint", str(checkpoint), "--resume"
    )
    assert_like_one_process(resumed, "float64", 96, 24, 5, rtol=0, atol=1e-10)

    # Another number of ranks: refused by name before any step (here 1, the same check as
    # for 3 ranks under mpiexec, which `wengert resume` is tested with by hand).
    with pytest.raises(ValueError, match=r"the number of ranks must be 2, as in .*; got 1\."):
        train_mlp.train(96, 24, 6, "float64", checkpoint_dir=checkpoint, resume=True)


def test_a_rank_that_leaves_stops_the_others_within_the_timeout(tmp_path):
    # Rank 1 exits at step 6; its MPI_Finalize then waits for rank 0, which would wait for
    # rank 1's gradients for ever in a blocking Allreduce.
    args = [sys.executable, str(SCRIPT), "--out", str(tmp_path), "--dtype", "float64"]
    args += ["--rows", "96", "--batch", "24", "--die-at", "6"]
    status, output, seconds = launch(2, args, env={"WENGERT_MPI_TIMEOUT": "1"})
    assert status != 0
    assert "DistributedError: fit(distributed=True): rank 0 of 2 waited 1 s" in output
    assert "at the gradient Allreduce (step 7); a rank has probably died" in output
    assert seconds < 15
    assert not (tmp_path / "rank0.npz").exists()


def test_the_cli_trains_the_same_model_and_writes_it_once(tmp_path):
    wengert = os.path.join(os.path.dirname(sys.executable), "wengert")
    common = ["train", "--data", "iris", "--epochs", "2", "--batch-size", "25"]
    status, output, _ = launch(
        2, [wengert, *common, "--out", str(tmp_path / "two"), "--distributed"]
    )
    assert status == 0, output
    assert output.count("val_accuracy:") == 1  # rank 0 alone prints
    single = CliRunner().invoke(main, [*common, "--out", str(tmp_path / "one")])
    assert single.exit_code == 0, single.output
    one = wg.io.load(tmp_path / "one" / "model.safetensors").state_dict()
    two = wg.io.load(tmp_path / "two" / "model.safetensors").state_dict()
    for name, value in one.items():
        np.testing.assert_allclose(two[name], value, rtol=1e-5, atol=1e-6)
    assert "distributed" not in json.loads((tmp_path / "two" / "config.json").read_text())


def test_refusals_name_the_argument():
    model = wg.nn.MLP([5, 3], seed=0, dtype="float64")
    data = train_mlp.dataset(20, "float64")[0]
    lbfgs = wg.optim.LBFGS(model.parameters())
    loss = wg.losses.cross_entropy
    with pytest.raises(ValueError, match=r"fit: distributed must be False with LBFGS, whose"):
        fit(model, loss, lbfgs, data, 1, distributed=True, progress=False)
    adam = wg.optim.Adam(model.parameters())
    with pytest.raises(TypeError, match=r"fit: distributed must be True or an mpi4py commu"):
        fit(model, loss, adam, data, 1, distributed="yes", progress=False)


def test_a_missing_mpi4py_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    model = wg.nn.MLP([5, 3], seed=0, dtype="float64")
    adam = wg.optim.Adam(model.parameters())
    data = train_mlp.dataset(20, "float64")[0]
    with pytest.raises(ImportError, match=r'pip install "wengert\[mpi\]"'):
        fit(model, wg.losses.cross_entropy, adam, data, 1, distributed=True, progress=False)


@pytest.mark.parametrize(("ranks", "shown"), [(0, "0"), ("two", "'two'"), (1.5, "1.5")])
def test_a_malformed_number_of_ranks_in_a_checkpoint_is_refused(tmp_path, ranks, shown):
    train_mlp.train(20, 10, 1, "float64", checkpoint_dir=tmp_path)
    path = tmp_path / "checkpoint.safetensors"

    def edit(header):
        state = json.loads(header["__metadata__"]["state"])
        state["loader"]["ranks"] = ranks
        header["__metadata__"]["state"] = json.dumps(state)

    path.write_bytes(rewrite_header(path.read_bytes(), edit))
    with pytest.raises(
        wg.io.ModelFileError, match=f"state.loader.ranks must be an int >= 1; got {shown}"
    ):
        train_mlp.train(20, 10, 2, "float64", checkpoint_dir=tmp_path, resume=True)


def test_a_bad_timeout_is_refused_before_mpi_starts(monkeypatch):
    with pytest.raises(
        ValueError, match=r"Distributed: timeout must be a float > 0 or None; got 0\."
    ):
        Distributed(timeout=0)
    with pytest.raises(TypeError, match=r"timeout must be a float > 0 or None; got True \(bool\)"):
        Distributed(timeout=True)
    monkeypatch.setenv("WENGERT_MPI_TIMEOUT", "soon")
    with pytest.raises(
        ValueError, match="WENGERT_MPI_TIMEOUT must be a number of seconds > 0; got 'soon'"
    ):
        Distributed()


def test_the_cli_without_mpi4py_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    out = tmp_path / "run"
    args = ["train", "--data", "xor", "--epochs", "1", "--out", str(out), "--distributed"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert result.output.startswith("wengert train: error: fit(distributed=True) needs mpi4py")
    assert 'pip install "wengert[mpi]"' in result.output
    assert not out.exists()


def test_the_cli_refuses_lbfgs_on_several_ranks_before_it_writes(tmp_path):
    out = tmp_path / "run"
    args = ["train", "--data", "iris", "--optimizer", "lbfgs", "--out", str(out), "--distributed"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert result.output == (
        "wengert train: error: --distributed: --optimizer lbfgs cannot train on several ranks "
        "(its line search evaluates the loss on the whole batch); use sgd, adam or another "
        "first-order optimizer, or leave --distributed out\n"
    )
    assert not out.exists()


MISFITS = HERE / "mpi" / "misfits.py"
_spec = importlib.util.spec_from_file_location("misfits", MISFITS)
misfits = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(misfits)


def run_misfit(ranks, case, out):
    """misfits.py's `case` under mpiexec: what each rank wrote."""
    args = [sys.executable, str(MISFITS), "--out", str(out), "--case", case]
    status, output, _ = launch(ranks, args, env={"WENGERT_MPI_TIMEOUT": "5"})
    assert status == 0, output
    return [json.loads((out / f"rank{r}.json").read_text()) for r in range(ranks)]


def test_frozen_and_unused_parameters_train_as_in_one_process(tmp_path):
    # With weight decay and momentum, a parameter without a gradient must stay as it is: one
    # process leaves its .grad None, and so must the average over the ranks.
    model, history = misfits.train("frozen")
    start = misfits.Partly(0).state_dict()
    for name in ("frozen.weight", "frozen.bias", "unused.weight", "unused.bias"):
        np.testing.assert_array_equal(model.state_dict()[name], start[name])
    for saved in run_misfit(3, "frozen", tmp_path):
        for name, value in model.state_dict().items():
            np.testing.assert_allclose(saved["weights"][name], value, rtol=0, atol=1e-10)
        np.testing.assert_allclose(saved["history"]["loss"], history.history["loss"], atol=1e-10)


def test_a_callback_that_stops_one_rank_stops_every_rank_at_that_epoch(tmp_path):
    model, history = misfits.train("stop-on-rank-0")  # as rank 0 alone would train
    assert len(history.history["loss"]) == 2
    reasons = []
    for saved in run_misfit(2, "stop-on-rank-0", tmp_path):
        reasons.append(saved["stop_reason"])
        np.testing.assert_allclose(saved["history"]["loss"], history.history["loss"], atol=1e-10)
        for name, value in model.state_dict().items():
            np.testing.assert_allclose(saved["weights"][name], value, rtol=0, atol=1e-10)
    assert reasons == ["stopped by a callback", "stopped by a callback on rank 0"]


@pytest.mark.parametrize(
    ("case", "what", "rank_1"),
    [
        (
            "wider",
            "the model's parameters (names, shapes, dtypes)",
            "first.weight (4, 3) float64, first.bias (3,) float64, frozen.weight (3, 2) float64,",
        ),
        ("lr", "the optimizer", "SGD(lr=0.2, momentum=0.9, dampening=0.0, nesterov=False,"),
        ("epochs", "epochs", "5"),
        ("values", "the data's values (a sample of rows)", "digest "),
        ("chunks", "the data's chunks (start and stop rows)", "[(0, 20), (20, 40), (40, 60)]"),
        (
            "drop-last",
            "the data (rows, features, batch size, shuffle, drop_last)",
            "DataLoader of 60 rows, 4 features, batch size 16, shuffle=True, drop_last=True",
        ),
    ],
)
def test_ranks_that_differ_are_refused_on_every_rank_by_what_differs(tmp_path, case, what, rank_1):
    saved = run_misfit(2, case, tmp_path)
    head = f"fit(distributed=True): {what} must be the same on every rank; got "
    for rank in range(2):
        message = saved[rank]["error"]
        assert message.startswith(head), message
        assert f" on rank {rank} and something else on another rank. Build the same" in message
    assert saved[1]["error"].startswith(head + rank_1)


def test_a_ctrl_c_on_one_rank_stops_every_rank_at_the_same_step(tmp_path):
    with pytest.warns(wg.train.ConvergenceWarning, match="interrupted by the user at step 6"):
        model, history = misfits.train("interrupt")
    assert len(history.step_loss) == 6
    for saved in run_misfit(2, "interrupt", tmp_path):
        # The Ctrl-C after step 6 reaches the other rank with step 7's gradients: both stop
        # before its update, with the weights of step 6.
        assert saved["stop_reason"] == "interrupted by the user at step 6; weights kept"
        for name, value in model.state_dict().items():
            np.testing.assert_allclose(saved["weights"][name], value, rtol=0, atol=1e-10)


def test_a_resume_that_finds_another_checkpoint_on_one_rank_is_refused_on_every_rank(tmp_path):
    # Rank 1's checkpoint_dir holds no checkpoint (as a node-local directory would not): it
    # would start afresh while rank 0 continues from epoch 4.
    saved = run_misfit(2, "resume-elsewhere", tmp_path)
    head = "fit(distributed=True): the epoch and step resumed from must be the same on every "
    fix = "Resume from a checkpoint_dir that every rank reads (rank 0 writes it)."
    for rank, position in enumerate(["epoch 4, step 16", "epoch 0, step 0"]):
        assert saved[rank]["error"] == (
            f"{head}rank; got {position} on rank {rank} and something else on another rank. {fix}"
        )


def test_a_checkpoint_that_rank_0_cannot_write_stops_every_rank_at_once(tmp_path):
    saved = run_misfit(2, "unsaveable", tmp_path)
    assert saved[0]["kind"] == "TypeError"
    assert saved[0]["error"].startswith("save: model must be built of Activation, Linear, MLP")
    assert saved[1] == {
        "error": "fit(distributed=True): rank 0 could not write the checkpoint of epoch 1 (its "
        "own error says why); every rank stops here.",
        "kind": "RuntimeError",
    }


def test_a_rank_refused_at_the_command_line_stops_the_others_at_once(tmp_path):
    # Rank 1 runs where the CSV file is missing: before every rank joined MPI first, rank 0
    # waited for it in MPI's start-up for ever.
    wengert = os.path.join(os.path.dirname(sys.executable), "wengert")
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    here.mkdir(), elsewhere.mkdir()
    X = np.random.default_rng(0).normal(size=(40, 3))
    np.savetxt(here / "d.csv", np.c_[X, X[:, 0] > 0], delimiter=",", header="a,b,c,y")
    command = [wengert, "train", "--data", "d.csv", "--epochs", "2", "--out", "run"]
    command.append("--distributed")
    args = ["-wdir", str(here), *command, ":", "-n", "1", "-wdir", str(elsewhere), *command]
    status, output, seconds = launch(1, args, timeout=20, env={"WENGERT_MPI_TIMEOUT": "30"})
    assert status != 0
    assert output.count("wengert train: error: --data: no such file: d.csv\n") == 1
    assert seconds < 10
    assert not (here / "run").exists()


@pytest.mark.parametrize(("case", "refusal"), [("nan", "NaN"), ("callback-refuses", "val_data")])
def test_a_refusal_on_one_rank_stops_the_others_before_training(tmp_path, case, refusal):
    # Rank 1 refuses its X (rank 0, which had not started MPI yet, waited for it for ever), or
    # its EarlyStopping refuses to start (rank 0 trained on until the timeout).
    saved = run_misfit(2, case, tmp_path)
    assert saved[1]["kind"] == "ValueError"
    assert refusal in saved[1]["error"]
    assert saved[0] == {
        "error": "fit(distributed=True): rank 1 refused its arguments or data (its own error "
        "says why); every rank stops before training.",
        "kind": "DistributedError",
    }
