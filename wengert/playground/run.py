"""One playground run: its data, model and optimizer, stepped on request.

`Run(config)` builds everything from a validated config (see config.py). `step(n)` takes n
optimizer steps, one batch each (1 sample, B samples, or the whole training set), cycling
through the training set epoch after epoch, and returns the counters and the losses after
them. `boundary`, `trace`, `weights` and `history` read the run without changing it.
"""

from __future__ import annotations

import math
import threading

import numpy as np

from wengert.autodiff.mode import no_grad
from wengert.autodiff.tensor import Tensor
from wengert.autodiff.trace import trace as wengert_trace
from wengert.data import DataLoader
from wengert.playground import model as models
from wengert.playground.data import feature_matrix, make_data

__all__ = ["Run"]


class Run:
    """A run of the playground: `step`, `boundary`, `trace`, `weights`, `history`."""

    def __init__(self, config: dict) -> None:
        self.config = config
        self.data = make_data(config)
        self.X_train = feature_matrix(self.data.points_train, config["features"])
        self.X_val = feature_matrix(self.data.points_val, config["features"])
        self.model = models.build_model(config, self.X_train.shape[1])
        self.loss_fn = models.make_loss(config)
        self.weights_l2 = models.weight_matrices(self.model)
        self.optimizer = models.build_optimizer(config, self.model.parameters())
        batch = None if config["batch_size"] == "full" else config["batch_size"]
        self.loader = DataLoader(
            self.X_train,
            self.data.targets_train,
            batch_size=batch,
            shuffle=config["shuffle"],
            seed=config["seed"],
        )
        self.batches = iter(self.loader)
        self.steps, self.epochs, self.diverged = 0, 0, False
        self.lock = threading.Lock()
        self.curves: dict[str, list] = {k: [] for k in ("step", "loss", "val_loss", "accuracy")}
        self.curves["val_accuracy"] = []

    # ------------------------------------------------------------------------- training
    def objective(self, X: np.ndarray, t: np.ndarray) -> Tensor:
        """The batch loss the optimizer minimises: the loss's mean plus the L2 penalty."""
        loss = self.loss_fn(self.model(X), t)
        if self.config["l2"] > 0:
            loss = loss + models.penalty(self.weights_l2, self.config["l2"])
        return loss

    def step(self, n: int) -> dict:
        """Take n optimizer steps (stopping early once the loss is not finite); the new state.

        Overflow is no warning here: a diverging run says so in the state ("diverged")."""
        with self.lock, np.errstate(over="ignore", invalid="ignore"):
            for _ in range(n):
                if self.diverged:
                    break
                self._one_step()
            return self._record()

    def _next_batch(self) -> tuple[np.ndarray, np.ndarray]:
        try:
            return next(self.batches)
        except StopIteration:  # not reached: a finished pass starts the next one at once
            self.batches = iter(self.loader)
            return next(self.batches)

    def _one_step(self) -> None:
        X, t = self._next_batch()
        opt = self.optimizer

        def closure() -> Tensor:
            opt.zero_grad()
            loss = self.objective(X, t)
            loss.backward()
            return loss

        if getattr(opt, "needs_closure", False):
            loss = opt.step(closure)
        else:
            loss = closure()
            opt.step()
        self.steps += 1
        finite = all(np.all(np.isfinite(p.data)) for p in self.model.parameters())
        self.diverged = not (finite and math.isfinite(float(loss.item())))
        if self.steps % len(self.loader) == 0:  # the pass is done: count it now
            self.epochs += 1
            self.batches = iter(self.loader)

    def evaluate(self, X: np.ndarray, t: np.ndarray) -> tuple[float | None, float | None]:
        """The objective and the accuracy (1 − zero-one error) on (X, t); None when empty."""
        if len(X) == 0:
            return None, None
        with no_grad():
            out = self.model(X)
            loss = float(self.objective(X, t).item())
        if self.data.regression:
            return _finite(loss), None
        predicted = models.decision(self.config, out.data) > 0.5
        truth = t > 0
        return _finite(loss), float(np.mean(predicted == truth))

    def _record(self) -> dict:
        loss, acc = self.evaluate(self.X_train, self.data.targets_train)
        val_loss, val_acc = self.evaluate(self.X_val, self.data.targets_val)
        state = {"step": self.steps, "epoch": self.epochs, "loss": loss, "val_loss": val_loss}
        state |= {"accuracy": acc, "val_accuracy": val_acc, "diverged": self.diverged}
        for key in self.curves:
            self.curves[key].append(state[key])
        return state

    # ------------------------------------------------------------------------- views
    def history(self) -> dict:
        """The curves so far: one entry per step request (step, losses, accuracies)."""
        with self.lock:
            return {k: list(v) for k, v in self.curves.items()}

    def boundary(self, resolution: int) -> dict:
        """The model's decision value on a resolution × resolution grid over the points."""
        with self.lock:
            points = np.concatenate([self.data.points_train, self.data.points_val])
            labels = np.concatenate([self.data.labels_train, self.data.labels_val])
            if self.data.regression:
                return self._line(points[:, 0], labels, resolution)
            (x0, x1), (y0, y1) = _span(points[:, 0]), _span(points[:, 1])
            gx, gy = np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution)
            grid = np.column_stack([np.tile(gx, resolution), np.repeat(gy, resolution)])
            with no_grad():
                out = self.model(feature_matrix(grid, self.config["features"])).data
            values = models.decision(self.config, out).reshape(resolution, resolution)
            rows = np.column_stack([points, labels])
        return _grid_json(resolution, (x0, x1), (y0, y1), values, rows, len(self.X_train))

    def _line(self, x: np.ndarray, y: np.ndarray, resolution: int) -> dict:
        """For the table: the plane (x, y), 1 above the model's line ŷ(x), 0 below, smooth."""
        (x0, x1), (y0, y1) = _span(x), _span(y)
        gx, gy = np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution)
        with no_grad():
            y_hat = self.model(feature_matrix(gx[:, None], self.config["features"])).data
        width = 0.02 * (y1 - y0)
        values = 0.5 * (1 + np.tanh((gy[:, None] - y_hat.reshape(1, -1)) / width))
        rows = np.column_stack([x, y, y])
        return _grid_json(resolution, (x0, x1), (y0, y1), values, rows, len(self.X_train))

    def trace(self, x: float, y: float, label: float | None = None) -> dict:
        """The Wengert list of the loss of the point (x, y) (its label: `label`, else the
        nearest data point's), forward and backward with values, and the printed text."""
        with self.lock:
            target = self._target_at(x, y, label)
            point = np.array([[x, y]]) if not self.data.regression else np.array([[x]])
            features = feature_matrix(point, self.config["features"])
            f = models.functional_loss(self.config, self.model)
            params = [p.data.copy() for p in self.model.parameters()]
            recorded = wengert_trace(
                f, *params, features, target, argnums=tuple(range(len(params)))
            )
            sweep = recorded.backward()
        return _trace_json(recorded, sweep, target, features)

    def _target_at(self, x: float, y: float, label: float | None) -> np.ndarray:
        if self.data.regression:
            return np.array([y], dtype=np.float64)  # the table's point is (x, y) itself
        if label is None:
            points = np.concatenate([self.data.points_train, self.data.points_val])
            labels = np.concatenate([self.data.labels_train, self.data.labels_val])
            label = labels[np.argmin(np.hypot(points[:, 0] - x, points[:, 1] - y))]
        code = models.LOSSES[self.config["loss"]].labels
        if code == "sign":
            return np.array([2.0 * float(label) - 1.0])
        return np.array([int(label)], dtype=np.int64)

    def weights(self) -> dict:
        """Per layer, the weight matrix (inputs × outputs) and the bias, for the network picture."""
        with self.lock:
            layers = getattr(self.model, "layers", [self.model])
            out = []
            for layer in layers:
                w = layer.weight.data
                w = w.reshape(-1, 1) if w.ndim == 1 else w
                bias = None if layer.bias is None else np.atleast_1d(layer.bias.data).tolist()
                out.append({"weights": w.tolist(), "bias": bias})
        return {"features": list(self.config["features"]), "layers": out}


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _span(values: np.ndarray) -> tuple[float, float]:
    low, high = float(values.min()), float(values.max())
    pad = 0.1 * (high - low) if high > low else 1.0
    return low - pad, high + pad


def _grid_json(resolution, x_range, y_range, values, rows, n_train) -> dict:
    return {
        "resolution": resolution,
        "x_range": list(x_range),
        "y_range": list(y_range),
        "values": np.round(values, 6).tolist(),
        "points": rows.tolist(),
        "n_train": n_train,
    }


def _trace_json(recorded, sweep, target, features) -> dict:
    forward = [
        {
            "name": s.name,
            "primitive": s.primitive,
            "expression": s.expression,
            "value": _json(s.value),
        }
        for s in recorded.steps
    ]
    backward = [
        {
            "name": a.name,
            "rule": a.rule,
            "value": _json(a.value),
            "accumulates": a.accumulates,
            "source": a.source,
        }
        for a in sweep.lines
    ]
    grads = {name: _json(g) for name, g in sweep.grads.items()}
    text = f"{recorded}\n{sweep}"
    return {
        "text": text,
        "forward": forward,
        "backward": backward,
        "gradients": grads,
        "inputs": features[0].tolist(),
        "target": target.tolist()[0],
    }


def _json(value) -> object:
    array = np.asarray(value, dtype=np.float64)
    return array.item() if array.ndim == 0 else array.tolist()
