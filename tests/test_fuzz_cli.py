"""The command line under random input: never a traceback, never a raw warning, and an exit status
that says what happened (0 done, 1 a gradient check that failed, 2 bad input, 3 a diverged run).

Cases are drawn from a seeded generator: bad numbers, files that are not what they claim (empty,
binary, not UTF-8, a cell of 200,000 characters, no header, strings, 1e308), model files that
are truncated or flipped, and expressions that are deep, long, unbalanced or outside their
domain. Most cases run in this process through click's runner; a share of them also runs as a
real `wengert` process, where Python's own traceback and warning printers would show. A refused
`wengert train` must leave no directory behind.
"""

from __future__ import annotations

import os
import random
import re
import resource
import shutil
import subprocess
import sys
import warnings

import pytest
from click.testing import CliRunner

from wengert.cli import main

WENGERT = os.path.join(os.path.dirname(sys.executable), "wengert")
ALLOWED = {"train": {0, 2, 3}, "resume": {0, 2, 3}, "gradcheck": {0, 1, 2}}
MEMORY_LIMIT = 4 * 2**30
HUGE = "100000000"
RAW_WARNING = re.compile(r"\.py:\d+: \w*Warning")
NUMBERS = ["0", "-1", "1", "0.5", "3", "1e400", "-1e400", "1e-320", "nan", "inf", "-inf", "abc"]
VALUES = ["0", "-1", "1", "0.5", "3", "-2.5", "1e-320", "1e30", "-0", "1e300"]
NUMBERS += ["", " 2", "1_0", "0x10", "1e30", "1e300", "2**3", "-0", "1e6"]
FUNCTIONS = ["exp", "log", "sqrt", "sigmoid", "tanh", "relu", "abs", "softplus", "foo"]
OPERATORS = ["+", "-", "*", "/", "**"]


# ------------------------------------------------------------------------------ expressions
def _expression(rng: random.Random) -> str:
    kind = rng.randrange(7)
    if kind == 0:  # deep nesting
        depth = rng.choice([50, 200, 1000, 5000])
        return "(" * depth + "x" + ")" * depth
    if kind == 1:  # long flat sums
        return " + ".join(f"x*{i}" for i in range(rng.choice([100, 1000, 10_000])))
    if kind == 2:  # outside the domain
        return rng.choice(["1/x", "log(x)", "x**0.5", "x**10**10", "sqrt(x)", "exp(x)**x"])
    if kind == 3:  # token soup
        pieces = ["x", "w", "(", ")", ",", "1", "2.5", "e", "$", "**", "*", "-", "/", "log("]
        return " ".join(rng.choice(pieces) for _ in range(rng.randrange(1, 12)))
    return _formula(rng, rng.randrange(1, 5))


def _formula(rng: random.Random, depth: int) -> str:
    if depth == 0:
        return rng.choice(["x", "w", rng.choice(NUMBERS[:5])])
    if rng.random() < 0.4:
        return f"{rng.choice(FUNCTIONS)}({_formula(rng, depth - 1)})"
    op = rng.choice(OPERATORS)
    return f"({_formula(rng, depth - 1)} {op} {_formula(rng, depth - 1)})"


def _point(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return f"x={rng.choice(VALUES)},w={rng.choice(VALUES)}"
    choices = [
        f"x={rng.choice(NUMBERS)},w={rng.choice(NUMBERS)}",
        f"x={rng.choice(NUMBERS)}",
        "x=1,x=2,w=0",
        "x",
        "=1",
        "x=1,,w=2",
        "",
    ]
    return rng.choice(choices)


def _calculus(rng: random.Random) -> list[str]:
    command = rng.choice(["trace", "gradcheck", "derivatives"])
    args = [command, "--at", _point(rng)]
    if command == "derivatives":
        args += ["--repeats", rng.choice(["1", "2", "0", "-3", "x"])]
    if command == "gradcheck":
        args += ["--order", rng.choice(["1", "2", "3", "nan"])]
    return [*args, "--", _expression(rng)]


# ------------------------------------------------------------------------------------ files
def _csv(rng: random.Random, folder: str, i: int) -> str:
    path = os.path.join(folder, f"data{i}.csv")
    kind = rng.randrange(13)
    body = {
        0: b"",
        1: b"a,b,y\n",
        2: b"a,b,y\n1,2,0\n\xff\xfe,3,1\n",
        3: b"a,b,y\n" + b"1," * 3 + b"\n" + b"7" * 200_000 + b",1,0\n",
        4: b"1,2,0\n3,4,1\n5,6,0\n7,8,1\n",
        5: b"a,b,y\n1,x,0\n2,3,1\n",
        6: b"a,b,y\n1e308,2,0\n-1e308,3,1\n1,2,0\n4,5,1\n",
        7: b"a,b,y\n1,2\n3,4,1\n",
        8: bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400))),
        9: b"a,b,y\n" + b"".join(b"%d,%d,%d\n" % (j, j % 3, j % 2) for j in range(40)),
        10: b"x2,x1,extra\n0.5,1,7\n-1,2,8\n",
        11: b"0.5,1\n-1,2\n3,1e308\n",
        12: b"x1,x2\n1,nan\n2,3\n",
    }[kind]
    with open(path, "wb") as file:
        file.write(body)
    return path


def _model_file(rng: random.Random, folder: str, good: str, i: int) -> str:
    kind = rng.randrange(5)
    if kind == 0:
        return os.path.join(folder, "missing.safetensors")
    if kind == 1:
        return folder
    with open(good, "rb") as file:
        data = bytearray(file.read())
    if kind == 2:
        data = data[: rng.randrange(len(data))]
    elif kind == 3:
        position = rng.randrange(len(data))
        data[position] ^= 1 << rng.randrange(8)
    path = os.path.join(folder, f"model{i}.safetensors")
    with open(path, "wb") as file:
        file.write(bytes(data))
    return path


# ---------------------------------------------------------------------------------- commands
def _train(rng: random.Random, folder: str, i: int) -> list[str]:
    data = rng.choice(["xor", "seed_table", "moons", "nope", _csv(rng, folder, i)])
    args = ["train", "--data", data, "--out", os.path.join(folder, f"run{i}")]
    args += ["--epochs", rng.choice(["1", "2", "1", "2", "1", "0", "x"])]
    options = {
        "--lr": NUMBERS,
        "--hidden": ["4", "2,2", "0", "-3", HUGE, "a", "4,", "1e3"],
        "--optimizer": ["sgd", "adam", "lbfgs", "adagrad", "newton"],
        "--model": ["mlp", "perceptron", "lms", "svm", "tree"],
        "--loss": ["l1", "hinge", "cross_entropy", "zero_one", "logistic"],
        "--batch-size": ["1", "8", "0", "-2", "1e9"],
        "--val-split": ["0", "0.2", "1", "-0.5", "nan"],
        "--momentum": ["0", "0.9", "1", "nan"],
        "--target": ["y", "b", "0", "-1", "99", "nope"],
        "--seed": ["0", "-1", "x"],
    }
    for option in rng.sample(sorted(options), rng.randrange(0, 3)):
        args += [option, rng.choice(options[option])]
    return args


def _predict(rng: random.Random, folder: str, good: str, i: int) -> list[str]:
    model = rng.choice([_model_file(rng, folder, good, i), os.path.dirname(good)])
    return ["predict", "--model", model, "--data", _csv(rng, folder, i)]


def _resume(rng: random.Random, folder: str, good: str, i: int) -> list[str]:
    copy = shutil.copytree(os.path.dirname(good), os.path.join(folder, f"resumed{i}"))
    directory = rng.choice([folder, copy, copy, os.path.join(folder, "nowhere")])
    return ["resume", directory, "--epochs", rng.choice(["1", "1", "0", "x"])]


def _plot(rng: random.Random, folder: str) -> list[str]:
    name = rng.choice(["losses", "nope", "", "margins"])
    out = rng.choice([os.path.join(folder, "p.txt"), folder, os.path.join(folder, "no", "p.png")])
    return ["plot", name, "--out", out]


def draw(rng: random.Random, folder: str, good: str, i: int) -> list[str]:
    """One random command line; `good` is a model file to mutate."""
    kind = rng.choices(["calculus", "train", "predict", "resume", "plot"], [5, 4, 3, 1, 1])[0]
    if kind == "calculus":
        return _calculus(rng)
    if kind == "train":
        return _train(rng, folder, i)
    if kind == "predict":
        return _predict(rng, folder, good, i)
    return _resume(rng, folder, good, i) if kind == "resume" else _plot(rng, folder)


# ------------------------------------------------------------------------------------ checks
def _check(args: list[str], code: int, output: str) -> None:
    command = args[0]
    assert "Traceback" not in output, (args, output)
    assert not RAW_WARNING.search(output), (args, output)
    assert code in ALLOWED.get(command, {0, 2}), (args, code, output)
    if command == "train" and code == 2:
        out = args[args.index("--out") + 1]
        assert not os.path.exists(out), (args, "a refused run left", os.listdir(out))
    if command == "train" and code == 3:
        out = args[args.index("--out") + 1]
        assert os.path.isfile(os.path.join(out, "config.json")), (args, output)


def run_in_process(args: list[str]) -> tuple[int, str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = CliRunner().invoke(main, args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError((args, result.output)) from result.exception
    leaked = [f"{w.filename}:{w.lineno}: {w.category.__name__}: {w.message}" for w in caught]
    assert not leaked, (args, leaked)
    return result.exit_code, result.output


def _limit_memory() -> None:
    # A size the command should refuse must fail as MemoryError, not take the machine down.
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_process(args: list[str]) -> tuple[int, str]:
    done = subprocess.run(
        [WENGERT, *args], capture_output=True, text=True, timeout=120, preexec_fn=_limit_memory
    )
    return done.returncode, done.stdout + done.stderr


@pytest.fixture(scope="module")
def good_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("good")
    out = str(folder / "run")
    code, output = run_in_process(
        ["train", "--data", "xor", "--hidden", "4", "--epochs", "2", "--out", out]
    )
    assert code == 0, output
    return os.path.join(out, "model.safetensors")


def _fuzz(seed: int, cases: int, processes: int, folder: str, good: str) -> dict:
    rng = random.Random(seed)
    counts = {"cases": 0, "processes": 0, "codes": {}}
    for i in range(cases):
        args = draw(rng, folder, good, i)
        in_process = i >= processes and HUGE not in args
        code, output = run_in_process(args) if in_process else run_process(args)
        _check(args, code, output)
        counts["cases"] += 1
        counts["processes"] += not in_process
        counts["codes"][code] = counts["codes"].get(code, 0) + 1
    return counts


def test_random_command_lines(tmp_path, good_model):
    counts = _fuzz(seed=0, cases=60, processes=6, folder=str(tmp_path), good=good_model)
    assert counts["cases"] == 60 and counts["codes"].get(2, 0) > 20


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(1, 6))
def test_random_command_lines_many(tmp_path, good_model, seed):
    counts = _fuzz(seed=seed, cases=300, processes=30, folder=str(tmp_path), good=good_model)
    print(counts)
    assert counts["cases"] == 300
