"""Helpers shared by the optimizer test files."""

import json
import pathlib

import numpy as np

import wengert as wg

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "optimizers.json"


def leaf(values, dtype=np.float64):
    """A leaf tensor that requires grad."""
    return wg.tensor(np.array(values, dtype=dtype), requires_grad=True)


def one_param():
    """A one-parameter list for an optimizer."""
    return [leaf([1.0])]


def load_fixture():
    """The committed PyTorch optimizer fixture."""
    return json.loads(FIXTURE.read_text())


def problem_gradient(problem, w, W):
    """The fixture's loss, mean log(1 + exp(-y z)) + c/2 mean (z - y)^2, differentiated by hand."""
    X, U, V, y = (np.asarray(problem[k]) for k in "XUVy")
    z = X @ w + np.einsum("ij,jk,ik->i", U, W, V)
    dz = (-y / (1 + np.exp(y * z)) + problem["c"] * (z - y)) / len(y)
    return X.T @ dz, np.einsum("i,ij,ik->jk", dz, U, V)
