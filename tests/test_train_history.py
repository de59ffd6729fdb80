"""History: every per-epoch series in one dict keyed as Keras's, views for older code, and files
written before that dict still read (as a History and as a checkpoint to resume from)."""

import json

import numpy as np
import pytest

from wengert import data, io, losses, nn, optim
from wengert.train import History, fit

# What History.as_dict() wrote before History.history held every series.
OLD_SHAPE = {
    "step_loss": [1.2, 0.8, 0.6, 0.4],
    "lr": [0.1, 0.1, 0.1, 0.1],
    "epoch_loss": [1.0, 0.5],
    "val_loss": [1.1, 0.7],
    "metrics": {"accuracy": [0.5, 0.75], "val_accuracy": [0.25, 1.0]},
    "stop_reason": "",
    "best_epoch": None,
}


def test_from_dict_reads_the_shape_written_before_history():
    history = History.from_dict(OLD_SHAPE)
    assert history.history == {
        "loss": [1.0, 0.5],
        "accuracy": [0.5, 0.75],
        "val_loss": [1.1, 0.7],
        "val_accuracy": [0.25, 1.0],
    }
    assert list(history.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert history.step_loss == OLD_SHAPE["step_loss"] and history.epochs == 2
    assert history.as_dict() == {
        "history": history.history,
        "step_loss": OLD_SHAPE["step_loss"],
        "lr": OLD_SHAPE["lr"],
        "stop_reason": "",
        "best_epoch": None,
    }
    without_val = {**OLD_SHAPE, "val_loss": [], "metrics": {"accuracy": [0.5, 0.75]}}
    assert History.from_dict(without_val).history == {"loss": [1.0, 0.5], "accuracy": [0.5, 0.75]}


def test_the_old_names_are_views_of_history():
    history = History.from_dict(OLD_SHAPE)
    assert history.epoch_loss is history.history["loss"]
    assert history.val_loss is history.history["val_loss"]
    assert history.metrics == {"accuracy": [0.5, 0.75], "val_accuracy": [0.25, 1.0]}
    assert History(step_loss=[1.0]).val_loss == []
    with pytest.raises(AttributeError):
        history.epoch_loss = [0.0]
    built = History(epoch_loss=[1.0, 0.5], val_loss=[1.1, 0.7], metrics=OLD_SHAPE["metrics"])
    assert built.history == history.history


def test_history_and_the_old_fields_together_are_refused():
    with pytest.raises(TypeError) as caught:
        History({"loss": [1.0]}, epoch_loss=[2.0])
    assert str(caught.value) == (
        "History: history must be the only record of the epochs; got history and epoch_loss, "
        "val_loss or metrics. Pass history={'loss': [...], ...} alone."
    )


def _blobs_run(epochs, **kwargs):
    X, y = data.blobs(n=64, seed=2)
    model = nn.MLP([2, 4, 2], seed=1, dtype=np.float64)
    opt = optim.SGD(model.parameters(), lr=0.1)
    history = fit(
        model, losses.cross_entropy, opt, (X, y), epochs, val_data=(X[:16], y[:16]),
        batch_size=16, seed=3, metrics=["accuracy"], progress=False, **kwargs,
    )  # fmt: skip
    return model, history


def test_as_dict_round_trips_through_json():
    _, history = _blobs_run(2)
    saved = json.loads(json.dumps(history.as_dict()))
    assert list(saved["history"]) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert History.from_dict(saved) == history


def _as_dict_before_history(self):
    return {
        "step_loss": list(self.step_loss),
        "lr": list(self.lr),
        "epoch_loss": list(self.history["loss"]),
        "val_loss": list(self.history.get("val_loss", [])),
        "metrics": {k: list(v) for k, v in self.metrics.items()},
        "stop_reason": self.stop_reason,
        "best_epoch": self.best_epoch,
    }


def test_a_checkpoint_written_before_history_loads_and_resumes(tmp_path, monkeypatch):
    whole_model, whole = _blobs_run(4)
    with monkeypatch.context() as patch:
        patch.setattr(History, "as_dict", _as_dict_before_history)
        _blobs_run(2, checkpoint_dir=tmp_path)
    _, metadata = io.read_safetensors(tmp_path / "checkpoint.safetensors")
    saved = json.loads(metadata["state"])["history"]
    assert "epoch_loss" in saved and "history" not in saved  # the old shape, on file
    old = io.load_checkpoint(tmp_path / "checkpoint.safetensors").history
    assert old.history == {k: v[:2] for k, v in whole.history.items()}
    model, resumed = _blobs_run(4, checkpoint_dir=tmp_path, resume=True)
    assert resumed == whole
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, whole_model.state_dict()[name], err_msg=name)


def test_plot_loss_curve_reads_both_shapes_of_as_dict(tmp_path):
    pytest.importorskip("matplotlib")
    from wengert.plot import plot_loss_curve

    for saved in (OLD_SHAPE, History.from_dict(OLD_SHAPE).as_dict()):
        drawn = plot_loss_curve(saved, save=tmp_path / "curve.png").wengert_data
        np.testing.assert_array_equal(drawn["epoch_loss"], [1.0, 0.5])
        np.testing.assert_array_equal(drawn["val_loss"], [1.1, 0.7])


def test_resuming_with_other_series_is_refused_before_anything_changes(tmp_path):
    _blobs_run(2, checkpoint_dir=tmp_path)
    X, y = data.blobs(n=64, seed=2)
    model = nn.MLP([2, 4, 2], seed=1, dtype=np.float64)
    before = model.state_dict()
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError) as caught:
        fit(model, losses.cross_entropy, opt, (X, y), 4, batch_size=16, seed=3, progress=False,
            checkpoint_dir=tmp_path, resume=True)  # fmt: skip
    assert str(caught.value) == (
        "fit(resume=True): the metrics and val_data must be those of the saved run, whose "
        "History records ['loss', 'accuracy', 'val_loss', 'val_accuracy']; got a run that "
        "records ['loss']. Resume with the saved run's metrics and val_data, or start afresh."
    )
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)
