"""Write tests/fixtures/optimizers.json: 20-step PyTorch trajectories of every optimizer option.

Rerun with `make fixtures` (which runs scripts/make_fixtures.py, which calls this), or alone:

    .venv/bin/python scripts/make_optimizer_fixtures.py

Needs torch==2.13.0 (`pip install -e ".[peers]"`); the tests that read the file need neither
torch nor the engine: they recompute the gradient of the problem below analytically in NumPy.

The problem, in float64: parameters w (3,) and W (2, 2); for samples i = 1..n with features
x_i (3,), u_i (2,), v_i (2,) and labels y_i = ±1, the score z_i = x_i·w + u_iᵀ W v_i and

    L(w, W) = mean_i log(1 + exp(−y_i z_i)) + c/2 · mean_i (z_i − y_i)²

(a logistic loss with a squared one, so that the gradient never vanishes and has a minimum).
Each run starts from the same w0, W0 and takes 20 steps; every iterate is stored. Floats are
written with repr, so they read back exactly.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "optimizers.json"
STEPS = 20
SEED = 20240607
N_SAMPLES = 8
SQUARED_WEIGHT = 0.5

# (name, torch class, keyword arguments, groups): groups, when given, lists per parameter
# group the parameter names and the overrides.
RUNS = [
    ("sgd", "SGD", {"lr": 0.1}, None),
    ("sgd_momentum", "SGD", {"lr": 0.1, "momentum": 0.9}, None),
    ("sgd_dampening", "SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.5}, None),
    ("sgd_nesterov", "SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}, None),
    ("sgd_weight_decay", "SGD", {"lr": 0.1, "weight_decay": 0.1}, None),
    ("sgd_momentum_weight_decay", "SGD", {"lr": 0.1, "momentum": 0.5, "weight_decay": 0.1}, None),
    ("sgd_maximize", "SGD", {"lr": 0.02, "momentum": 0.5, "maximize": True}, None),
    ("adagrad", "Adagrad", {"lr": 0.1}, None),
    ("adagrad_lr_decay", "Adagrad", {"lr": 0.1, "lr_decay": 0.05}, None),
    ("adagrad_initial_accumulator", "Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.5}, None),
    ("adagrad_weight_decay", "Adagrad", {"lr": 0.1, "weight_decay": 0.1, "eps": 1e-6}, None),
    ("adadelta", "Adadelta", {}, None),
    ("adadelta_options", "Adadelta", {"lr": 0.5, "rho": 0.95, "eps": 1e-4}, None),
    ("adadelta_weight_decay", "Adadelta", {"weight_decay": 0.1}, None),
    ("rmsprop", "RMSprop", {"lr": 0.01}, None),
    ("rmsprop_momentum", "RMSprop", {"lr": 0.01, "momentum": 0.9}, None),
    ("rmsprop_centered", "RMSprop", {"lr": 0.01, "centered": True}, None),
    ("rmsprop_centered_momentum", "RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.5}, None),
    ("rmsprop_weight_decay", "RMSprop", {"lr": 0.01, "alpha": 0.9, "weight_decay": 0.1}, None),
    ("adam", "Adam", {"lr": 0.05}, None),
    ("adam_amsgrad", "Adam", {"lr": 0.05, "amsgrad": True}, None),
    ("adam_weight_decay", "Adam", {"lr": 0.05, "weight_decay": 0.1}, None),
    ("adam_betas", "Adam", {"lr": 0.05, "betas": (0.5, 0.9), "eps": 1e-3}, None),
    ("adamw", "AdamW", {"lr": 0.05}, None),
    ("adamw_amsgrad", "AdamW", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1}, None),
    ("adamw_weight_decay", "AdamW", {"lr": 0.05, "weight_decay": 0.5}, None),
    (
        "sgd_two_groups",
        "SGD",
        {"lr": 0.1, "momentum": 0.9},
        [{"params": ["w"]}, {"params": ["W"], "lr": 0.01}],
    ),
    (
        "adam_two_groups",
        "Adam",
        {"lr": 0.05},
        [{"params": ["w"], "lr": 0.1}, {"params": ["W"], "lr": 0.01, "betas": (0.8, 0.99)}],
    ),
]


def make_problem() -> dict:
    rng = np.random.default_rng(SEED)
    return {
        "X": rng.normal(size=(N_SAMPLES, 3)),
        "U": rng.normal(size=(N_SAMPLES, 2)),
        "V": rng.normal(size=(N_SAMPLES, 2)),
        "y": rng.choice([-1.0, 1.0], size=N_SAMPLES),
        "c": SQUARED_WEIGHT,
        "w0": rng.normal(size=3),
        "W0": rng.normal(size=(2, 2)),
    }


def torch_loss(torch, problem: dict, w, W):
    t = {k: torch.as_tensor(v, dtype=torch.float64) for k, v in problem.items() if k in "XUVy"}
    z = t["X"] @ w + torch.einsum("ij,jk,ik->i", t["U"], W, t["V"])
    logistic = torch.nn.functional.softplus(-t["y"] * z).mean()
    return logistic + problem["c"] / 2 * ((z - t["y"]) ** 2).mean()


def trajectory(torch, problem: dict, name: str, kwargs: dict, groups) -> list:
    w = torch.tensor(problem["w0"], dtype=torch.float64, requires_grad=True)
    W = torch.tensor(problem["W0"], dtype=torch.float64, requires_grad=True)
    by_name = {"w": w, "W": W}
    if groups is None:
        params = [w, W]
    else:
        params = [{**g, "params": [by_name[p] for p in g["params"]]} for g in groups]
    # foreach=False: the single-tensor loop, PyTorch's reference implementation on CPU.
    opt = getattr(torch.optim, name)(params, foreach=False, **kwargs)
    iterates = []
    for _ in range(STEPS):
        opt.zero_grad()
        torch_loss(torch, problem, w, W).backward()
        opt.step()
        iterates.append([w.detach().numpy().tolist(), W.detach().numpy().tolist()])
    return iterates


def main() -> None:
    import torch

    torch.set_default_dtype(torch.float64)
    problem = make_problem()
    runs = []
    for label, name, kwargs, groups in RUNS:
        runs.append(
            {
                "name": label,
                "optimizer": name,
                "kwargs": kwargs,
                "groups": groups,
                "trajectory": trajectory(torch, problem, name, kwargs, groups),
            }
        )
    fixture = {
        "made_by": "scripts/make_optimizer_fixtures.py",
        "torch": torch.__version__,
        "steps": STEPS,
        "problem": {k: np.asarray(v).tolist() for k, v in problem.items()},
        "runs": runs,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(fixture, indent=1) + "\n")
    print(f"wrote {OUT} ({len(runs)} runs of {STEPS} steps, torch {torch.__version__})")


if __name__ == "__main__":
    main()
