"""Write tests/fixtures/losses.json: reference values of wengert.losses from PyTorch and sklearn.

Each case holds the inputs (y_hat, y, keyword arguments), the loss for every reduction and the
gradient with respect to y_hat for "mean" and "sum", computed by the peer in float64:

- mse, l1, huber, logistic, cross_entropy (labels and probabilities): torch.nn.functional;
- hinge: scikit-learn's hinge_loss for the mean value (margin 1, its only one); the other
  reductions, margin 0 and the gradients from torch, as relu(m - y*y_hat);
- zero_one: scikit-learn's zero_one_loss (normalize=True: the rate; False: the count).

The default tests read the JSON only; run this script again after changing a case:

    .venv/bin/python scripts/make_loss_fixtures.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import sklearn
import torch
import torch.nn.functional as F
from sklearn.metrics import hinge_loss, zero_one_loss

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "losses.json"
REDUCTIONS = ("mean", "sum", "none")


def _torch_case(name, fn, y_hat, y, **kwargs):
    """Values for every reduction and gradients for mean and sum of fn(y_hat, y, reduction)."""
    case = {"loss": name, "kwargs": kwargs, "y_hat": y_hat.tolist(), "y": y.tolist()}
    case["values"], case["grads"] = {}, {}
    target = torch.tensor(y)
    for reduction in REDUCTIONS:
        x = torch.tensor(y_hat, dtype=torch.float64, requires_grad=True)
        out = fn(x, target, reduction)
        case["values"][reduction] = out.detach().numpy().tolist()
        if reduction != "none":
            out.backward()
            case["grads"][reduction] = x.grad.numpy().tolist()
    return case


def _hinge_torch(margin):
    def fn(x, y, reduction):
        per = torch.relu(margin - y * x)
        return per if reduction == "none" else getattr(per, reduction)()

    return fn


def _cases(rng):
    y_hat = rng.normal(size=6) * 2
    y = rng.normal(size=6)
    y_hat[0] = y[0] + 3.0  # one residual beyond delta = 1 on each side, for huber
    y_hat[1] = y[1] - 2.5
    yield _torch_case("mse", lambda x, t, r: F.mse_loss(x, t, reduction=r), y_hat, y)
    yield _torch_case("l1", lambda x, t, r: F.l1_loss(x, t, reduction=r), y_hat, y)
    for delta in (1.0, 0.5):
        yield _torch_case(
            "huber",
            lambda x, t, r, d=delta: F.huber_loss(x, t, reduction=r, delta=d),
            y_hat,
            y,
            delta=delta,
        )

    logits = np.array([1000.0, -1000.0, 1000.0, -1000.0, 0.3, -2.0, 35.0, -40.0])
    labels01 = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0])
    yield _torch_case(
        "logistic",
        lambda x, t, r: F.binary_cross_entropy_with_logits(x, t, reduction=r),
        logits,
        labels01,
    )

    z = rng.normal(size=(4, 3)) * 2
    z[0] = [1000.0, -1000.0, 0.0]
    z[1] = [-1000.0, -1000.0, 1000.0]
    classes = np.array([1, 2, 0, 2])
    yield _torch_case(
        "cross_entropy", lambda x, t, r: F.cross_entropy(x, t, reduction=r), z, classes
    )
    probs = rng.dirichlet(np.ones(3), size=4)
    yield _torch_case("cross_entropy", lambda x, t, r: F.cross_entropy(x, t, reduction=r), z, probs)

    scores = rng.normal(size=8) * 1.5
    signs = np.where(rng.uniform(size=8) < 0.5, -1.0, 1.0)
    for margin in (1.0, 0.0):
        case = _torch_case("hinge", _hinge_torch(margin), scores, signs, margin=margin)
        if margin == 1.0:
            case["values"]["mean"] = float(hinge_loss(signs, scores))  # sklearn's own
        yield case

    scores[2] = 0.0  # a score of 0 picks no side: a mistake for either label
    labels = rng.integers(0, 4, size=10)
    predicted = np.where(rng.uniform(size=10) < 0.6, labels, rng.integers(0, 4, size=10))
    for y_hat_, y_ in ((scores, signs), (predicted, labels)):
        # real scores are compared by their sign, integer predictions by equality
        as_labels = np.sign(y_hat_) if y_hat_.dtype.kind == "f" else y_hat_
        values = {
            "mean": float(zero_one_loss(y_, as_labels)),
            "sum": float(zero_one_loss(y_, as_labels, normalize=False)),
        }
        yield {"loss": "zero_one", "kwargs": {}, "y_hat": y_hat_.tolist(), "y": y_.tolist()} | {
            "values": values,
            "grads": {},
        }


def main() -> None:
    rng = np.random.default_rng(20240519)
    fixture = {
        "source": f"scripts/make_loss_fixtures.py, torch {torch.__version__}, "
        f"scikit-learn {sklearn.__version__}, float64",
        "cases": list(_cases(rng)),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(fixture, indent=1) + "\n")
    print(f"wrote {len(fixture['cases'])} cases to {OUT}")


if __name__ == "__main__":
    main()
