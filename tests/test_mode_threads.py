"""The engine's switches belong to a thread: no_grad in one thread leaves another recording."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import wengert as wg
from wengert import losses, nn, optim
from wengert.train import fit


def test_no_grad_in_one_thread_leaves_another_thread_recording():
    entered, done = threading.Event(), threading.Event()

    def hold_no_grad():
        with wg.no_grad():
            entered.set()
            done.wait(10)

    holder = threading.Thread(target=hold_no_grad)
    holder.start()
    try:
        assert entered.wait(10)
        w = wg.tensor(3.0, requires_grad=True)
        y = w * w * 2.0  # dy/dw = 4w = 12
        assert wg.is_grad_enabled() and y.requires_grad
        y.backward()
        assert w.grad == 12.0
    finally:
        done.set()
        holder.join()


def test_a_new_thread_starts_recording_whatever_its_parent_does():
    seen = []
    with wg.no_grad():
        thread = threading.Thread(target=lambda: seen.append(wg.is_grad_enabled()))
        thread.start()
        thread.join()
        assert not wg.is_grad_enabled()
    assert seen == [True] and wg.is_grad_enabled()


def _train(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(64, 3))
    y = (X @ np.array([1.0, -2.0, 0.5]) > 0).astype(np.int64)
    model = nn.MLP([3, 8, 2], seed=seed, dtype=np.float64)
    opt = optim.SGD(model.parameters(), lr=0.1)
    # Validation runs under no_grad after each epoch: in threads, the other runs' steps go on.
    fit(model, losses.cross_entropy, opt, (X, y), 5, val_data=(X, y), batch_size=4, seed=seed,
        progress=False)  # fmt: skip
    return np.concatenate([p.data.ravel() for p in model.parameters()])


def test_runs_in_threads_end_with_the_weights_of_runs_one_after_the_other():
    seeds = range(4)
    alone = [_train(s) for s in seeds]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(_train, seeds))
    for a, b in zip(alone, together, strict=True):
        np.testing.assert_array_equal(a, b)
